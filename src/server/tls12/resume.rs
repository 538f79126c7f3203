//! Resumption on the TLS 1.2 server: finding the offered session (RFC 5077 ticket first, then
//! the session ID), the RFC 7627 §5.3 rules, the abbreviated handshake, and issuing tickets.

use std::time::Duration;

use super::{hello_extensions, server_hello, Context, ExpectResumedFinished, Hello, State};
use crate::config::TicketMode;
use crate::conn::tls12::{log_master_secret, protection, send_finished};
use crate::conn::Transcript;
use crate::conn::{EarlyDataStatus, HandshakeKind, ResumptionMechanism};
use crate::error::Error;
use crate::error::PeerIncompatible;
use crate::kdf::tls12::KeyMaterial;
use crate::kdf::Side;
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{self, ExtensionType, ProtocolVersion};
use crate::msgs::extensions::ClientExtension;
use crate::msgs::handshake::HandshakePayload;
use crate::msgs::ticket::NewSessionTicket12;
use crate::session::{SessionState, Tls12Session};
use crate::store::Fetch;
use crate::suites::Tls12CipherSuite;
use crate::ticket::{open_session, seal_session};

use crate::server::lookup::read;

/// A session the client offered and the server can resume.
pub(super) struct Resumable {
    session: Tls12Session,
    suite: Tls12CipherSuite,
    mechanism: ResumptionMechanism,
    renew: bool,
}

/// The length of the session IDs this server issues: the only ones a pending lookup asks for.
pub(super) const SESSION_ID_LEN: usize = 32;

/// The TLS 1.2 session in the client's RFC 5077 ticket, if it opens (and whether to renew it).
pub(super) fn ticket_session(
    cx: &Context<'_>,
    hello: &ClientHello,
) -> Option<(Tls12Session, bool)> {
    let (Some(ClientExtension::SessionTicket(ticket)), TicketMode::Stateless(sealer)) = (
        hello.extension(ExtensionType::SessionTicket),
        &cx.host.tickets,
    ) else {
        return None;
    };
    if ticket.is_empty() {
        return None;
    }
    match open_session(sealer.as_ref(), ticket, cx.now) {
        Ok((SessionState::Tls12(session), renew)) => Some((session, renew)),
        _ => None,
    }
}

/// What [`find_session`] would read from the session cache, for a pending lookup: the
/// session ID when a cache keeps sessions, no ticket opens first, and the ID has the length
/// this server issues (no other is in the cache). Nothing on the inline path.
pub(super) fn lookup_keys(
    cx: &Context<'_>,
    hello: &ClientHello,
    ticket_opened: bool,
) -> Vec<(Fetch, Vec<u8>)> {
    if !cx.config.pending_lookups
        || cx.host.session_cache.is_none()
        || hello.session_id.len() != SESSION_ID_LEN
        || ticket_opened
    {
        return Vec::new();
    }
    vec![(Fetch::Get, hello.session_id.clone())]
}

/// Looks up the session the client offers: its ticket first (RFC 5077 §3.4), then its
/// session ID. A session that cannot be used means a full handshake, except for the one case
/// RFC 7627 §5.3 makes fatal.
/// `ticket` is what [`ticket_session`] found, opened once per ClientHello by the caller.
pub(super) fn find_session(
    cx: &mut Context<'_>,
    hello: &ClientHello,
    ems: bool,
    ticket: Option<(Tls12Session, bool)>,
) -> Result<Option<Resumable>, Error> {
    let config = cx.config;
    let mut found = ticket.map(|(session, renew)| (session, ResumptionMechanism::Ticket, renew));
    if found.is_none() && !hello.session_id.is_empty() {
        if let Some(cache) = &cx.host.session_cache {
            // A cache failure is a miss (the cache contract): a full handshake follows.
            // The cache checks expiry on its own clock; the session is also checked against
            // this connection's `now`, as tickets are. With pending lookups the caller's
            // answer stands for the cache.
            match read(
                config,
                &cx.outcome.lookup,
                cache.as_ref(),
                &hello.session_id,
            ) {
                Ok(Some(state)) if state.is_expired(cx.now) => {}
                Ok(Some(SessionState::Tls12(session))) => {
                    found = Some((session, ResumptionMechanism::SessionId, false));
                }
                _ => {}
            }
        }
    }
    let Some((session, mechanism, renew)) = found else {
        return Ok(None);
    };

    // RFC 7627 §5.3: a session made with the extended master secret is never resumed by a
    // hello without it; OpenSSL and this server abort the handshake.
    if session.extended_master_secret && !ems {
        return Err(PeerIncompatible::ExtendedMasterSecretRequired.into());
    }
    // RFC 7627 §5.3: a session without it is not resumed (a full handshake follows).
    if !session.extended_master_secret {
        return Ok(None);
    }
    let Some(suite) = Tls12CipherSuite::from_u16(session.cipher_suite) else {
        return Ok(None);
    };
    let offered = hello
        .cipher_suites
        .contains(&enums::CipherSuite::from(suite));
    let same_name = session.server_name == cx.outcome.server_name;
    if session.protocol_version != u16::from(ProtocolVersion::Tls12)
        || !offered
        || !config.tls12_suites.contains(&suite)
        || !same_name
    {
        return Ok(None);
    }
    Ok(Some(Resumable {
        session,
        suite,
        mechanism,
        renew,
    }))
}

/// The abbreviated handshake (RFC 5246 §7.3): the same master secret, keys from the new
/// randoms, and the server's Finished first.
pub(super) fn resume(
    cx: &mut Context<'_>,
    parsed: &Hello,
    r: Resumable,
    server_random: [u8; 32],
    secure_renegotiation: bool,
    ems: bool,
) -> Result<State, Error> {
    let hello = &parsed.hello;
    let suite = r.suite;
    let issue_ticket = r.mechanism == ResumptionMechanism::Ticket && r.renew;
    let mut transcript = Transcript::new(suite.hash());
    transcript.add(&parsed.bytes);
    let extensions = hello_extensions(
        hello,
        secure_renegotiation,
        ems,
        issue_ticket,
        cx.outcome.alpn.as_deref(),
    );
    // RFC 5246 §7.4.1.3 and RFC 5077 §3.4: resuming, the server echoes the client's ID.
    crate::conn::send(
        cx.core,
        &mut transcript,
        server_hello(server_random, hello.session_id.clone(), suite, extensions),
    )?;
    // A TLS 1.2 session keeps its first issue time across resumptions.
    cx.outcome.auth_time = Some(r.session.issued_at);
    let ms = r.session.master_secret.duplicate();
    if issue_ticket {
        send_ticket(cx, &mut transcript, &SessionState::Tls12(r.session))?;
    }
    log_master_secret(cx.config.key_log.as_ref(), &hello.random, &ms);
    let keys = KeyMaterial::derive(
        suite.hash(),
        suite.aead(),
        &ms,
        &server_random,
        &hello.random,
    );
    send_finished(cx.core, &mut transcript, suite, &ms, &keys, Side::Server)?;
    cx.core
        .expect_change_cipher_spec(protection(&keys, Side::Client)?);
    cx.outcome.kind = Some(HandshakeKind::Resumed {
        mechanism: r.mechanism,
        early_data: EarlyDataStatus::NotOffered,
    });
    cx.outcome.tls12_suite = Some(suite);
    Ok(State::ExpectResumedFinished(Box::new(
        ExpectResumedFinished {
            transcript,
            suite,
            master_secret: ms,
            session_id: match r.mechanism {
                ResumptionMechanism::SessionId => hello.session_id.clone(),
                _ => Vec::new(),
            },
        },
    )))
}

/// Seals `session` and sends it in a NewSessionTicket (RFC 5077 §3.3). A sealing failure
/// sends an empty ticket, which RFC 5077 §3.3 allows: the client simply cannot resume.
pub(super) fn send_ticket(
    cx: &mut Context<'_>,
    transcript: &mut Transcript,
    state: &SessionState,
) -> Result<(), Error> {
    let TicketMode::Stateless(sealer) = &cx.host.tickets else {
        return Err(Error::InvalidState("ticket without a sealer"));
    };
    // The session lives `tls12_session_lifetime` from its full handshake; the state sealed
    // ends with the hint sent (the sealer's lifetime bounds what it seals), since the key's
    // decrypt window alone would keep the ticket openable past it. A renewal does not
    // extend the session: its end stays anchored at the original `issued_at`; only the
    // lifetime sealed (and the hint) is recomputed from now.
    let session_end = state
        .issued_at()
        .saturating_add(cx.config.tls12_session_lifetime);
    let remaining = session_end.saturating_duration_since(cx.now);
    let hint = u32::try_from(remaining.min(sealer.lifetime()).as_secs()).unwrap_or(u32::MAX);
    let mut sealed = state.duplicate();
    if let SessionState::Tls12(s) = &mut sealed {
        let end = cx.now.saturating_add(Duration::from_secs(u64::from(hint)));
        let secs = end.saturating_duration_since(s.issued_at).as_secs();
        s.lifetime_secs = u32::try_from(secs).unwrap_or(u32::MAX);
    }
    let (ticket, hint) = match seal_session(sealer.as_ref(), &sealed) {
        Ok(ticket) => (ticket, hint),
        Err(_) => (Vec::new(), 0),
    };
    crate::conn::send(
        cx.core,
        transcript,
        HandshakePayload::NewSessionTicket12(NewSessionTicket12 {
            lifetime_hint: hint,
            ticket,
        }),
    )
}

//! The server's side of TLS 1.3 resumption: finding the session state behind a PSK identity,
//! deciding whether it may be used, verifying its binder, deciding on 0-RTT, and issuing
//! NewSessionTickets (RFC 8446 §4.2.11, §4.2.10, §4.6.1).

use std::time::Duration;

use crate::antireplay::{ticket_age, EarlyDataAttempt};
use crate::config::{KeyDomain, ServerConfig, TicketMode, VirtualHost, MAX_LOOKUP_KEYS};
use crate::conn::Transcript;
use crate::error::{Error, PeerMisbehaved};
use crate::kdf::tls13::EarlySecret;
use crate::kdf::tls13::{BinderKind, BinderVerified, KeySchedule, ResumptionMasterSecret};
use crate::msgs::enums::{ExtensionType, PskKeyExchangeMode};
use crate::msgs::extensions::ClientExtension;
use crate::msgs::extensions::OfferedPsks;
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::ticket::NewSessionTicket13;
use crate::session::{SessionState, Tls13Session, MAX_TLS13_LIFETIME_SECS};
use crate::store::Fetch;
use crate::suites::CipherSuite;
use crate::ticket::{open_session, seal_session};
use crate::time::Timestamp;

use super::hello::Hello;
use super::lookup::{keep, read, PendingStore};
use super::Context;

/// How many PSK identities are looked at: each costs a ticket decryption or a cache lookup,
/// and an honest client offers one or two. A pending lookup names no more of them.
const MAX_IDENTITIES_TRIED: usize = MAX_LOOKUP_KEYS;

/// The length of the stateful ticket identities this server issues: the only ones a pending
/// lookup asks for.
const TICKET_ID_LEN: usize = 32;

/// A PSK the server found and will use, its binder not yet checked.
struct Candidate {
    index: usize,
    state: Tls13Session,
    obfuscated_age: u32,
    /// The ticket as the client presented it: what the replay guard records.
    identity: Vec<u8>,
    /// Whether the identity is a cache key to take once the binder verified.
    stateful: bool,
}

/// Finds the first offered identity whose state opens, has not expired, was issued for this
/// server name and fits `suite`'s hash. Anything that does not is skipped: an unusable ticket
/// means a full handshake, never a failure (RFC 8446 §4.2.11).
///
/// Stateful tickets are only looked at here; [`claim`] takes them once the binder verified,
/// so an identity replayed with a forged binder cannot burn the client's ticket. With pending
/// lookups the store took them already, in the one round trip the lookup makes (see
/// [`ServerConfig::with_pending_lookups`]).
fn find(
    cx: &Context<'_>,
    offered: &OfferedPsks,
    suite: CipherSuite,
    server_name: Option<&str>,
) -> Option<Candidate> {
    let (tickets, now) = (&cx.host.tickets, cx.now);
    for (index, identity) in offered
        .identities
        .iter()
        .enumerate()
        .take(MAX_IDENTITIES_TRIED)
    {
        let (state, stateful) = match tickets {
            TicketMode::Disabled => return None,
            TicketMode::Stateless(sealer) => {
                match open_session(sealer.as_ref(), &identity.identity, now) {
                    Ok((state, _renew)) => (state, false),
                    Err(_) => continue,
                }
            }
            // With pending lookups the caller's answer stands for the cache.
            TicketMode::Stateful { cache, .. } => {
                match read(
                    cx.config,
                    &cx.outcome.lookup,
                    cache.as_ref(),
                    &identity.identity,
                ) {
                    Ok(Some(state)) if !state.is_expired(now) => (state, true),
                    _ => continue,
                }
            }
        };
        let SessionState::Tls13(state) = state else {
            continue;
        };
        // A session resumes only under the name it was made for: its certificate was checked
        // for that name, and for no other.
        if state.server_name.as_deref() != server_name {
            continue;
        }
        // RFC 8446 §4.6.1: a ticket is not used past its lifetime, by the client's clock too.
        let client_age_ms = ticket_age(identity.obfuscated_ticket_age, state.ticket_age_add);
        if u64::from(client_age_ms) > u64::from(state.lifetime_secs) * 1000 {
            continue;
        }
        // RFC 8446 §4.6.1: no resumption past the original authentication's limit.
        let auth_time = state.auth_time();
        if now >= auth_time.saturating_add(cx.config.max_auth_lifetime) {
            continue;
        }
        // RFC 8446 §4.2.11: a PSK may only be used with a suite of the same hash.
        let same_hash =
            CipherSuite::from_u16(state.cipher_suite).is_some_and(|s| s.hash() == suite.hash());
        if !same_hash {
            continue;
        }
        return Some(Candidate {
            index,
            state,
            obfuscated_age: identity.obfuscated_ticket_age,
            identity: identity.identity.clone(),
            stateful,
        });
    }
    None
}

/// The PSK this handshake resumes with: its binder verified and, for a stateful ticket, its
/// cache entry taken. Only [`accept`] makes one and its fields are private, so the PSK's
/// early secret leaves this module only after those checks, and the 0-RTT decision only as
/// [`accept_early_data`] (with the replay guard) made it.
pub(super) struct Accepted {
    index: u16,
    dhe: bool,
    early_data: bool,
    auth_time: Timestamp,
    max_early_data: u32,
    early: EarlySecret,
}

impl Accepted {
    /// Its position among the offered identities (what the ServerHello names).
    pub(super) fn index(&self) -> u16 {
        self.index
    }

    /// Whether the client allows `psk_dhe_ke` (else this is `psk_ke`).
    pub(super) fn dhe(&self) -> bool {
        self.dhe
    }

    /// Whether 0-RTT is accepted on it.
    pub(super) fn early_data(&self) -> bool {
        self.early_data
    }

    /// When the full handshake that authenticated the session happened (RFC 8446 §4.6.1).
    pub(super) fn auth_time(&self) -> Timestamp {
        self.auth_time
    }

    /// The ticket's own max_early_data_size: the most early data accepted on it
    /// (RFC 8446 §4.2.10), whatever the configuration says now.
    pub(super) fn max_early_data(&self) -> u32 {
        self.max_early_data
    }

    /// The Early Secret, to continue the key schedule with.
    pub(super) fn into_early_secret(self) -> EarlySecret {
        self.early
    }
}

/// Resumption (RFC 8446 §4.2.11): the key exchange modes the client allows, the first usable
/// PSK, its binder over `transcript` (any HelloRetryRequest exchange, then the ClientHello up
/// to the binders), the claim on a stateful ticket and the 0-RTT decision.
/// `None` means a full handshake. `has_key_share` is false for a hello with no key share,
/// which only `psk_ke` can serve.
///
/// # Errors
/// `missing_extension` for PSKs without psk_key_exchange_modes (RFC 8446 §4.2.9);
/// [`crate::error::PeerMisbehaved::BadPskBinder`] for a binder that does not verify.
pub(super) fn accept(
    cx: &Context<'_>,
    hello: &Hello,
    suite: CipherSuite,
    transcript: &Transcript,
    has_key_share: bool,
) -> Result<Option<Accepted>, Error> {
    let config = cx.config;
    let Some((offered, dhe)) = usable_offer(config, hello, has_key_share)? else {
        return Ok(None);
    };
    let name = hello.server_name.as_deref();
    let Some(candidate) = find(cx, offered, suite, name) else {
        return Ok(None);
    };
    // The caller hashed the hello up to the binders; a hello offering PSKs has them last.
    hello
        .binder_prefix()
        .ok_or(PeerMisbehaved::UnexpectedMessage)?;
    let verified = verify_binder(candidate, offered, suite, transcript.current().as_ref())?;
    // Another handshake may have taken this stateful ticket first: then this one is a full
    // handshake.
    if !claim(config, &cx.host.tickets, &verified) {
        return Ok(None);
    }
    let early_data = hello.has(ExtensionType::EarlyData)
        && accept_early_data(config, &verified, suite, cx.outcome.alpn.as_deref(), cx.now);
    Ok(Some(Accepted {
        // At most MAX_IDENTITIES_TRIED, so the index fits.
        index: verified.candidate.index as u16,
        dhe,
        early_data,
        auth_time: verified.candidate.state.auth_time(),
        max_early_data: verified.candidate.state.max_early_data,
        early: verified.early,
    }))
}

/// The offered PSKs, if the key exchange modes the client allows leave one usable, and
/// whether it is `psk_dhe_ke` (else `psk_ke`).
///
/// # Errors
/// `missing_extension` for PSKs without psk_key_exchange_modes (RFC 8446 §4.2.9).
fn usable_offer<'h>(
    config: &ServerConfig,
    hello: &'h Hello,
    has_key_share: bool,
) -> Result<Option<(&'h OfferedPsks, bool)>, Error> {
    let modes: &[PskKeyExchangeMode] =
        match hello.hello.extension(ExtensionType::PskKeyExchangeModes) {
            Some(ClientExtension::PskKeyExchangeModes(m)) => m,
            // RFC 8446 §4.2.9: a client offering a PSK must say how it may be used.
            _ if hello.hello.offered_psks().is_some() => {
                return Err(PeerMisbehaved::MissingExtension("psk_key_exchange_modes").into())
            }
            _ => &[],
        };
    // Without a key share only psk_ke is possible (RFC 8446 §4.2.9).
    let dhe = has_key_share && modes.contains(&PskKeyExchangeMode::PskDheKe);
    let ke = !dhe && config.allow_psk_ke && modes.contains(&PskKeyExchangeMode::PskKe);
    Ok(hello
        .hello
        .offered_psks()
        .filter(|_| dhe || ke)
        .map(|offered| (offered, dhe)))
}

/// What [`accept`] would read from the stateful ticket cache, for a pending lookup: among
/// the identities it looks at, those of the length this server issues, each once, at most
/// the configured number of them, to take (RFC 8446 §8.1: single use). Nothing for
/// stateless tickets, which open without a store.
///
/// # Errors
/// As [`accept`] for a hello offering PSKs without psk_key_exchange_modes.
pub(super) fn lookup_keys(
    cx: &Context<'_>,
    hello: &Hello,
    has_key_share: bool,
) -> Result<Vec<(Fetch, Vec<u8>)>, Error> {
    let config = cx.config;
    if !config.pending_lookups || !matches!(cx.host.tickets, TicketMode::Stateful { .. }) {
        return Ok(Vec::new());
    }
    let Some((offered, _)) = usable_offer(config, hello, has_key_share)? else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<(Fetch, Vec<u8>)> = Vec::new();
    for identity in offered.identities.iter().take(MAX_IDENTITIES_TRIED) {
        let id = &identity.identity;
        if keys.len() == config.max_lookup_keys {
            break;
        }
        if id.len() == TICKET_ID_LEN && !keys.iter().any(|(_, k)| k == id) {
            keys.push((Fetch::Take, id.clone()));
        }
    }
    Ok(keys)
}

/// A PSK whose binder verified: the candidate, its Early Secret, and the proof.
struct Verified {
    candidate: Candidate,
    early: EarlySecret,
    _proof: BinderVerified,
}

/// Checks `candidate`'s binder over `binder_transcript_hash` (the truncated ClientHello,
/// after any retry).
///
/// # Errors
/// [`crate::error::PeerMisbehaved::BadPskBinder`] (decrypt_error) when the binder does not
/// verify: the server accepted this PSK, so the RFC demands the alert.
fn verify_binder(
    candidate: Candidate,
    offered: &OfferedPsks,
    suite: CipherSuite,
    binder_transcript_hash: &[u8],
) -> Result<Verified, Error> {
    let early = KeySchedule::with_psk(suite.hash(), candidate.state.resumption_psk.expose_secret());
    let received = offered
        .binders
        .get(candidate.index)
        .ok_or(PeerMisbehaved::BadPskBinder)?;
    let proof = early
        .binder_key(BinderKind::Resumption)
        .verify(binder_transcript_hash, received)?;
    Ok(Verified {
        candidate,
        early,
        _proof: proof,
    })
}

/// Makes a verified PSK this handshake's: a stateful ticket is taken from the cache, and of
/// any number of handshakes presenting it only the one whose take succeeds resumes (the
/// others fall back to a full handshake). Stateless tickets need nothing, nor does a ticket
/// a pending lookup found: the caller took it from the store (`Fetch::Take`).
fn claim(config: &ServerConfig, tickets: &TicketMode, verified: &Verified) -> bool {
    let candidate = &verified.candidate;
    match tickets {
        TicketMode::Stateful { .. } if config.pending_lookups => true,
        TicketMode::Stateful { cache, .. } if candidate.stateful => {
            matches!(cache.take_encoded(&candidate.identity), Ok(Some(_)))
        }
        _ => true,
    }
}

/// Whether 0-RTT may be accepted for this PSK (RFC 8446 §4.2.10, §8): the server takes
/// early data, the ticket allowed it, it is the first PSK, the suite is the ticket's own,
/// the application protocol selected now is the ticket's own (§4.2.10), the ticket age is
/// plausible, and the replay guard sees this ticket for the first time.
/// The guard records the ticket identity rather than the binder: a replayed ClientHello has
/// the same identity, and so does a client reusing a ticket with a new ClientHello, so early
/// data rides on each ticket at most once (RFC 8446 §8.1), which also covers §8.2's
/// ClientHello recording. The guard is asked last, so nothing is recorded for an attempt
/// refused anyway.
fn accept_early_data(
    config: &ServerConfig,
    verified: &Verified,
    suite: CipherSuite,
    alpn: Option<&[u8]>,
    now: Timestamp,
) -> bool {
    let candidate = &verified.candidate;
    let Some(guard) = &config.replay_guard else {
        return false;
    };
    // A ticket promising more than the server takes now (the limit was lowered since) is
    // refused rather than cut short mid-stream.
    if config.max_early_data == 0
        || candidate.state.max_early_data == 0
        || candidate.state.max_early_data > config.max_early_data
        || candidate.index != 0
        || candidate.state.cipher_suite != suite.to_u16()
        || candidate.state.alpn.as_deref() != alpn
    {
        return false;
    }
    let client_age = u64::from(ticket_age(
        candidate.obfuscated_age,
        candidate.state.ticket_age_add,
    ));
    let server_age = now
        .saturating_duration_since(candidate.state.issued_at)
        .as_millis() as u64;
    let skew = config.max_ticket_age_skew.as_millis() as u64;
    if client_age.abs_diff(server_age) > skew {
        return false;
    }
    let attempt = EarlyDataAttempt {
        id: &candidate.identity,
        issued_at: candidate.state.issued_at,
        client_ticket_age_ms: ticket_age(candidate.obfuscated_age, candidate.state.ticket_age_add),
    };
    guard.check_and_record(&attempt, now).accepts_early_data()
}

/// What a ticket carries beyond its PSK.
pub(super) struct TicketContext<'a> {
    pub(super) suite: CipherSuite,
    pub(super) server_name: Option<&'a str>,
    /// The application protocol selected, which 0-RTT on the ticket must select again.
    pub(super) alpn: Option<&'a [u8]>,
    /// On a resumed connection, when the full handshake that authenticated it happened
    /// (RFC 8446 §4.6.1); `None` on a full handshake.
    pub(super) auth_time: Option<Timestamp>,
    pub(super) now: Timestamp,
}

/// Makes `count` NewSessionTickets from the resumption master secret for `host`. A ticket
/// that cannot be sealed or stored is left out: the connection works, it just resumes less.
/// With pending lookups, stateful tickets' state goes to `stores` instead of the cache.
pub(super) fn issue_tickets(
    config: &ServerConfig,
    host: &VirtualHost,
    stores: &mut Vec<PendingStore>,
    resumption: &ResumptionMasterSecret,
    count: usize,
    cx: &TicketContext<'_>,
) -> Vec<NewSessionTicket13> {
    let tickets = &host.tickets;
    let lifetime = match tickets {
        TicketMode::Disabled => return Vec::new(),
        TicketMode::Stateless(sealer) => sealer.lifetime(),
        TicketMode::Stateful { lifetime, .. } => *lifetime,
    };
    // RFC 8446 §4.6.1: a ticket never outlives the authentication its chain started with.
    let auth_time = cx.auth_time.unwrap_or(cx.now);
    let auth_left = auth_time
        .saturating_add(config.max_auth_lifetime)
        .saturating_duration_since(cx.now);
    let lifetime_secs = u32::try_from(lifetime.min(auth_left).as_secs())
        .unwrap_or(u32::MAX)
        .min(MAX_TLS13_LIFETIME_SECS);
    if lifetime_secs == 0 {
        return Vec::new();
    }
    let max_early_data = if config.replay_guard.is_some() {
        config.max_early_data
    } else {
        0
    };
    let mut out = Vec::new();
    // Each ticket's nonce is its index: distinct within the connection, as RFC 8446 §4.6.1
    // requires, so each ticket has its own PSK.
    for i in 0..count.min(usize::from(u8::MAX)) {
        let nonce = vec![i as u8];
        let Ok(psk) = resumption.resumption_psk(&nonce) else {
            continue;
        };
        let mut age_add = [0u8; 4];
        if config.rng.fill(&mut age_add).is_err() {
            continue;
        }
        let state = SessionState::Tls13(Tls13Session {
            cipher_suite: cx.suite.to_u16(),
            resumption_psk: psk,
            ticket_age_add: u32::from_be_bytes(age_add),
            lifetime_secs,
            max_early_data,
            server_name: cx.server_name.map(str::to_owned),
            alpn: cx.alpn.map(<[u8]>::to_vec),
            issued_at: cx.now,
            auth_time: cx.auth_time,
        });
        let Some(ticket) = make_ticket(config, host, stores, &state, cx.now) else {
            continue;
        };
        let extensions = if max_early_data > 0 {
            vec![ServerExtension::MaxEarlyDataSize(max_early_data)]
        } else {
            Vec::new()
        };
        out.push(NewSessionTicket13 {
            lifetime: lifetime_secs,
            age_add: u32::from_be_bytes(age_add),
            nonce,
            ticket,
            extensions,
        });
    }
    out
}

fn make_ticket(
    config: &ServerConfig,
    host: &VirtualHost,
    stores: &mut Vec<PendingStore>,
    state: &SessionState,
    now: Timestamp,
) -> Option<Vec<u8>> {
    match &host.tickets {
        TicketMode::Disabled => None,
        TicketMode::Stateless(sealer) => seal_session(sealer.as_ref(), state).ok(),
        TicketMode::Stateful { cache, .. } => {
            let mut id = [0u8; TICKET_ID_LEN];
            config.rng.fill(&mut id).ok()?;
            let expires = now.saturating_add(Duration::from_secs(u64::from(match state {
                SessionState::Tls13(s) => s.lifetime_secs,
                SessionState::Tls12(s) => s.lifetime_secs,
            })));
            let key = (KeyDomain::Ticket, id.as_slice());
            keep(config, host, cache.as_ref(), stores, key, state, expires).ok()?;
            Some(id.to_vec())
        }
    }
}

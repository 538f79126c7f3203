//! The server's HelloRetryRequest (RFC 8446 §4.1.4), and skipping the early data a retry (or
//! a refusal) leaves behind.

use crate::conn::{self, Transcript};
use crate::crypto::kx::KxGroup;
use crate::error::{Error, PeerMisbehaved};
use crate::msgs::enums::{self, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::ClientExtension;
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload};
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::{ServerHello, HELLO_RETRY_REQUEST_RANDOM};
use crate::suites::CipherSuite;

use super::cookie;
use super::hello::Hello;
use super::Context;

/// The most early data bytes skipped when 0-RTT is refused, if the configuration allows less
/// (RFC 8446 §4.2.10: a server that does not take early data skips it).
const MIN_EARLY_DATA_SKIP: usize = 16384;

/// Per-record overhead a skipped early-data record may carry beyond its plaintext (content
/// type, AEAD tag, some padding).
const SKIP_SLACK: usize = 4096;

/// The most a resumed ticket's own max_early_data_size raises the skipping beyond the
/// configuration's (tickets issued before the limit was lowered).
const MAX_TICKET_EARLY_DATA_SKIP: usize = 1 << 20;

/// Lets the record layer skip the early data of a refused 0-RTT attempt: records that fail
/// to decrypt, up to the configured maximum (RFC 8446 §4.2.10) or, when larger, the
/// `ticket_limit` of the PSK resumed (its client may send that much; capped), 0 for none.
pub(super) fn skip_refused_early_data(cx: &mut Context<'_>, ticket_limit: u32) {
    let ticket = (ticket_limit as usize).min(MAX_TICKET_EARLY_DATA_SKIP);
    let budget = (cx.config.max_early_data as usize)
        .max(ticket)
        .max(MIN_EARLY_DATA_SKIP);
    cx.core.set_skip_budget(budget + SKIP_SLACK);
}

/// What a HelloRetryRequest fixed for the second ClientHello (RFC 8446 §4.1.4).
pub(super) struct Retry {
    pub(super) transcript: Transcript,
    pub(super) suite: CipherSuite,
    pub(super) group: KxGroup,
    /// The cookie sent, empty when the server does not do stateless retry.
    pub(super) cookie: Vec<u8>,
    /// Whether the first ClientHello offered early data (skipped, so reported as rejected).
    pub(super) offered_early: bool,
    /// The first ClientHello's extensions, in order, that the second must repeat
    /// ([`kept_extensions`]); `None` after a stateless retry, whose cookie does not hold them.
    pub(super) first_extensions: Option<Vec<u16>>,
}

/// The extension types of `hello`, in order, that RFC 8446 §4.1.2 lets no second ClientHello
/// add, drop or move: all but early_data (dropped), cookie (added) and padding (either).
/// key_share and pre_shared_key change content, not place.
pub(super) fn kept_extensions(hello: &Hello) -> Vec<u16> {
    use enums::ExtensionType as T;
    hello
        .hello
        .extensions
        .iter()
        .map(ClientExtension::typ)
        .filter(|t| !matches!(t, T::EarlyData | T::Cookie) && u16::from(*t) != PADDING)
        .map(u16::from)
        .collect()
}

/// The padding extension (RFC 7685).
const PADDING: u16 = 21;

/// Answers a ClientHello without a usable key share with a HelloRetryRequest naming `group`
/// (RFC 8446 §4.1.4, §4.2.8), carrying a cookie only when the server does stateless retry
/// (RFC 8446 §4.2.2).
pub(super) fn send_retry(
    cx: &mut Context<'_>,
    hello: &Hello,
    suite: CipherSuite,
    group: KxGroup,
) -> Result<Retry, Error> {
    let offered_early = hello.has(enums::ExtensionType::EarlyData);
    // Hash(ClientHello1), once: for the transcript and, statelessly, for the cookie.
    let hello_hash = Transcript::new(suite.hash()).hash_with(&hello.bytes);
    let cookie = match &cx.config.retry_cookie_key {
        Some(key) => {
            let contents = cookie::Contents {
                suite,
                group,
                offered_early,
                server_name: cookie::server_name_digest(hello.server_name.as_deref()),
                hello_hash: hello_hash.as_ref().to_vec(),
            };
            cookie::seal(key, &contents, cx.now)
        }
        None => Vec::new(),
    };
    let mut transcript = Transcript::after_retry_hash(suite.hash(), hello_hash.as_ref());
    let retry = retry_payload(&hello.hello.session_id, suite, group, &cookie);
    conn::send(cx.core, &mut transcript, retry)?;
    if hello.wants_compat_ccs() {
        cx.core.send_compat_change_cipher_spec()?;
    }
    if offered_early {
        // Early data sent with the first ClientHello is skipped (RFC 8446 §4.2.10); its PSK
        // is not looked at before the retry.
        skip_refused_early_data(cx, 0);
    }
    Ok(Retry {
        transcript,
        suite,
        group,
        cookie,
        offered_early,
        first_extensions: Some(kept_extensions(hello)),
    })
}

/// Stateless retry (RFC 8446 §4.2.2): the retry state a valid cookie in this connection's
/// first ClientHello carries, the HelloRetryRequest rebuilt from it for the transcript.
/// `None` when the server does not do stateless retry or the hello has no cookie.
///
/// # Errors
/// `illegal_parameter` for a cookie that is not a valid one of ours.
pub(super) fn stateless_retry(cx: &mut Context<'_>, hello: &Hello) -> Result<Option<Retry>, Error> {
    let Some(key) = &cx.config.retry_cookie_key else {
        return Ok(None);
    };
    let Some(ClientExtension::Cookie(cookie)) = hello.hello.extension(enums::ExtensionType::Cookie)
    else {
        return Ok(None);
    };
    let contents = cookie::open(key, cookie, cx.now)?;
    if !cx.config.suites.contains(&contents.suite) || !cx.config.groups.contains(&contents.group) {
        return Err(PeerMisbehaved::IllegalParameter("cookie of another configuration").into());
    }
    // RFC 8446 §4.1.2: the host was resolved from this hello; it must be the first's.
    if contents.server_name != cookie::server_name_digest(hello.server_name.as_deref()) {
        return Err(PeerMisbehaved::IllegalParameter("server_name changed after retry").into());
    }
    let mut transcript = Transcript::after_retry_hash(contents.suite.hash(), &contents.hello_hash);
    let retry = retry_payload(
        &hello.hello.session_id,
        contents.suite,
        contents.group,
        cookie,
    );
    // Not sent again: the client has it; only the transcript takes it.
    transcript.add(&HandshakeMessage { payload: retry }.encode()?);
    if hello.wants_compat_ccs() {
        // The dummy change_cipher_spec followed the HelloRetryRequest (RFC 8446 §D.4).
        cx.core.note_compat_change_cipher_spec_sent();
    }
    Ok(Some(Retry {
        transcript,
        suite: contents.suite,
        group: contents.group,
        cookie: cookie.clone(),
        offered_early: contents.offered_early,
        first_extensions: None,
    }))
}

/// The HelloRetryRequest: a ServerHello with the special random (RFC 8446 §4.1.3), the
/// group for the second key share and, when not empty, the cookie.
fn retry_payload(
    session_id: &[u8],
    suite: CipherSuite,
    group: KxGroup,
    cookie: &[u8],
) -> HandshakePayload {
    let mut extensions = vec![
        ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
        ServerExtension::KeyShareRetry(NamedGroup::from(group.code_point())),
    ];
    if !cookie.is_empty() {
        extensions.push(ServerExtension::Cookie(cookie.to_vec()));
    }
    HandshakePayload::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::Tls12,
        random: HELLO_RETRY_REQUEST_RANDOM,
        session_id: session_id.to_vec(),
        cipher_suite: enums::CipherSuite::from(suite),
        compression_method: 0,
        extensions,
        empty_extensions_block: false,
    })
}

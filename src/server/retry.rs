//! The server's HelloRetryRequest (RFC 8446 §4.1.4), and skipping the early data a retry (or
//! a refusal) leaves behind.

use crate::conn::{Message, Transcript};
use crate::crypto::kx::KxGroup;
use crate::error::Error;
use crate::kdf::tls13::CipherSuite;
use crate::msgs::enums::{self, NamedGroup, ProtocolVersion};
use crate::msgs::handshake::HandshakePayload;
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::{ServerHello, HELLO_RETRY_REQUEST_RANDOM};

use super::hello::Hello;
use super::Context;

/// The most early data bytes skipped when 0-RTT is refused, if the configuration allows less
/// (RFC 8446 §4.2.10: a server that does not take early data skips it).
const MIN_EARLY_DATA_SKIP: usize = 16384;

/// Per-record overhead a skipped early-data record may carry beyond its plaintext (content
/// type, AEAD tag, some padding).
const SKIP_SLACK: usize = 4096;

/// Lets the record layer skip the early data of a refused 0-RTT attempt: records that fail
/// to decrypt, up to the configured maximum (RFC 8446 §4.2.10).
pub(super) fn skip_refused_early_data(cx: &mut Context<'_>) {
    let budget = (cx.config.max_early_data as usize).max(MIN_EARLY_DATA_SKIP);
    cx.core.set_skip_budget(budget + SKIP_SLACK);
}

/// What a HelloRetryRequest fixed for the second ClientHello (RFC 8446 §4.1.4).
pub(super) struct Retry {
    pub(super) transcript: Transcript,
    pub(super) suite: CipherSuite,
    pub(super) group: KxGroup,
    pub(super) cookie: Vec<u8>,
    /// Whether the first ClientHello offered early data (skipped, so reported as rejected).
    pub(super) offered_early: bool,
}

/// Answers a ClientHello without a usable key share with a HelloRetryRequest naming `group`
/// and carrying a cookie the second ClientHello must echo (RFC 8446 §4.1.4, §4.2.2).
pub(super) fn send_retry(
    cx: &mut Context<'_>,
    hello: &Hello,
    suite: CipherSuite,
    group: KxGroup,
) -> Result<Retry, Error> {
    let mut cookie = vec![0u8; 16];
    cx.config
        .rng
        .fill(&mut cookie)
        .map_err(|_| crate::crypto::CryptoError::Random)?;
    let mut transcript = Transcript::after_retry(suite.hash(), &hello.bytes);
    let retry = Message::encode(HandshakePayload::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::Tls12,
        random: HELLO_RETRY_REQUEST_RANDOM,
        session_id: hello.hello.session_id.clone(),
        cipher_suite: enums::CipherSuite::from(suite),
        compression_method: 0,
        extensions: vec![
            ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
            ServerExtension::KeyShareRetry(NamedGroup::from(group.code_point())),
            ServerExtension::Cookie(cookie.clone()),
        ],
        empty_extensions_block: false,
    }))?;
    cx.core.send_handshake(&retry.bytes)?;
    if hello.wants_compat_ccs() {
        cx.core.send_compat_change_cipher_spec()?;
    }
    transcript.add(&retry.bytes);
    let offered_early = hello.has(enums::ExtensionType::EarlyData);
    if offered_early {
        // Early data sent with the first ClientHello is skipped (RFC 8446 §4.2.10).
        skip_refused_early_data(cx);
    }
    Ok(Retry {
        transcript,
        suite,
        group,
        cookie,
        offered_early,
    })
}

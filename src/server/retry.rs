//! The server's HelloRetryRequest (RFC 8446 §4.1.4) and small helpers its states share.

use crate::conn::{Message, Transcript};
use crate::crypto::kx::KxGroup;
use crate::error::Error;
use crate::kdf::tls13::CipherSuite;
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{self, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::ClientExtension;
use crate::msgs::handshake::HandshakePayload;
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::{ServerHello, HELLO_RETRY_REQUEST_RANDOM};

use super::tls13::{Context, ExpectClientHello, State, MIN_EARLY_DATA_SKIP, SKIP_SLACK};

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
    hello: &ClientHello,
    hello_bytes: &[u8],
    suite: CipherSuite,
    group: KxGroup,
) -> Result<State, Error> {
    let mut cookie = vec![0u8; 16];
    cx.config
        .rng
        .fill(&mut cookie)
        .map_err(|_| crate::crypto::CryptoError::Random)?;
    let mut transcript = Transcript::after_retry(suite.hash(), hello_bytes);
    let retry = Message::encode(HandshakePayload::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::Tls12,
        random: HELLO_RETRY_REQUEST_RANDOM,
        session_id: hello.session_id.clone(),
        cipher_suite: wire_suite(suite),
        compression_method: 0,
        extensions: vec![
            ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
            ServerExtension::KeyShareRetry(NamedGroup::from(group.code_point())),
            ServerExtension::Cookie(cookie.clone()),
        ],
        empty_extensions_block: false,
    }))?;
    cx.core.send_handshake(&retry.bytes)?;
    transcript.add(&retry.bytes);
    let offered_early = hello.extension(enums::ExtensionType::EarlyData).is_some();
    if offered_early {
        // Early data sent with the first ClientHello is skipped (RFC 8446 §4.2.10).
        let budget = (cx.config.max_early_data as usize).max(MIN_EARLY_DATA_SKIP);
        cx.core.set_skip_budget(budget + SKIP_SLACK);
    }
    Ok(State::ExpectClientHello(ExpectClientHello::after_retry(
        Retry {
            transcript,
            suite,
            group,
            cookie,
            offered_early,
        },
    )))
}

pub(super) fn server_name(hello: &ClientHello) -> Option<String> {
    match hello.extension(enums::ExtensionType::ServerName) {
        Some(ClientExtension::ServerName(names)) => names
            .iter()
            .find(|n| n.name_type == 0)
            .and_then(|n| String::from_utf8(n.name.clone()).ok()),
        _ => None,
    }
}

/// The wire code of a suite.
pub(crate) fn wire_suite(suite: CipherSuite) -> enums::CipherSuite {
    enums::CipherSuite::from(suite.to_u16())
}

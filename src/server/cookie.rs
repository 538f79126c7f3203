//! The HelloRetryRequest cookie of a server configured for stateless retry (RFC 8446 §4.2.2):
//! what the server must remember of the first ClientHello, carried by the client and
//! protected by an HMAC under the server's cookie key, so the second ClientHello can be
//! answered by a connection that never saw the first.
//!
//! ```text
//! cookie = version(1) ‖ suite(2) ‖ group(2) ‖ flags(1) ‖ issued(8, seconds)
//!          ‖ name(32) ‖ hash_len(1) ‖ Hash(ClientHello1) ‖ HMAC-SHA256(key, label ‖ all before)
//! ```
//!
//! `name` is SHA-256 of the first hello's server name in lower case (or of a marker for
//! none): the second hello must keep it (RFC 8446 §4.1.2), and a connection that never saw
//! the first learns it from here only.

use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::crypto::kx::KxGroup;
use crate::crypto::secret::SecretArray;
use crate::crypto::{hmac_key, hmac_sign_parts, HashAlgorithm};
use crate::error::{Error, PeerMisbehaved};
use crate::suites::CipherSuite;
use crate::time::Timestamp;

/// Domain separation for the cookie's tag.
const LABEL: &[u8] = b"tls-resumption retry cookie v2";
const VERSION: u8 = 2;
/// Bytes before the hello hash: version, suite, group, flags, issued, name, hash_len.
const HEAD_LEN: usize = 47;
const TAG_LEN: usize = 32;
/// Set in `flags` when the first ClientHello offered early data.
const OFFERED_EARLY: u8 = 1;
/// How long a cookie is accepted after it was issued: a second ClientHello follows the
/// HelloRetryRequest within one round trip.
const COOKIE_LIFETIME: Duration = Duration::from_secs(60);

/// What a valid cookie says about the first ClientHello and the retry.
pub(super) struct Contents {
    pub(super) suite: CipherSuite,
    pub(super) group: KxGroup,
    pub(super) offered_early: bool,
    /// [`server_name_digest`] of the first ClientHello's server name.
    pub(super) server_name: [u8; 32],
    /// Hash(ClientHello1), for the `message_hash` that replaces it (RFC 8446 §4.4.1).
    pub(super) hello_hash: Vec<u8>,
}

/// The cookie for a retry choosing `suite` and `group` after a first ClientHello hashing to
/// `hello_hash`.
pub(super) fn seal(key: &SecretArray<32>, contents: &Contents, now: Timestamp) -> Vec<u8> {
    let mut body = vec![VERSION];
    body.extend_from_slice(&contents.suite.to_u16().to_be_bytes());
    body.extend_from_slice(&contents.group.code_point().to_be_bytes());
    body.push(if contents.offered_early {
        OFFERED_EARLY
    } else {
        0
    });
    body.extend_from_slice(&now.as_secs().to_be_bytes());
    body.extend_from_slice(&contents.server_name);
    // Hash lengths (32, 48) fit one byte.
    body.push(contents.hello_hash.len() as u8);
    body.extend_from_slice(&contents.hello_hash);
    let tag = tag(key, &body);
    body.extend_from_slice(tag.as_ref());
    body
}

/// Checks a cookie's tag and age and reads it.
///
/// # Errors
/// `illegal_parameter` for a cookie that is not one of ours, is malformed, or has expired.
pub(super) fn open(
    key: &SecretArray<32>,
    cookie: &[u8],
    now: Timestamp,
) -> Result<Contents, Error> {
    let bad = || Error::from(PeerMisbehaved::IllegalParameter("cookie"));
    let split = cookie.len().checked_sub(TAG_LEN).ok_or_else(bad)?;
    let (body, received) = cookie.split_at(split);
    let expected = tag(key, body);
    if !bool::from(expected.as_ref().ct_eq(received)) {
        return Err(bad());
    }
    // The tag is ours: the body is well formed unless the key was used for something else.
    let (head, hash) = body.split_at_checked(HEAD_LEN).ok_or_else(bad)?;
    if head[0] != VERSION || usize::from(head[HEAD_LEN - 1]) != hash.len() {
        return Err(bad());
    }
    let issued = Timestamp::from_secs(u64::from_be_bytes(
        head[6..14].try_into().map_err(|_| bad())?,
    ));
    let age = now.checked_duration_since(issued).ok_or_else(bad)?;
    if age > COOKIE_LIFETIME {
        return Err(bad());
    }
    let suite = CipherSuite::from_u16(u16::from_be_bytes([head[1], head[2]])).ok_or_else(bad)?;
    let group = KxGroup::from_code_point(u16::from_be_bytes([head[3], head[4]])).ok_or_else(bad)?;
    if hash.len() != suite.hash().output_len() {
        return Err(bad());
    }
    Ok(Contents {
        suite,
        group,
        offered_early: head[5] & OFFERED_EARLY != 0,
        server_name: head[14..46].try_into().map_err(|_| bad())?,
        hello_hash: hash.to_vec(),
    })
}

/// What the cookie records of a server name: SHA-256 of a presence byte and the name in
/// lower case (DNS names compare without regard to ASCII case, RFC 4343).
pub(super) fn server_name_digest(name: Option<&str>) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    match name {
        Some(name) => {
            ctx.update(&[1]);
            ctx.update(name.to_ascii_lowercase().as_bytes());
        }
        None => ctx.update(&[0]),
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn tag(key: &SecretArray<32>, body: &[u8]) -> impl AsRef<[u8]> {
    let key = hmac_key(HashAlgorithm::Sha256, key.expose_secret());
    hmac_sign_parts(&key, &[LABEL, body])
}

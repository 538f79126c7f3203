//! The second ClientHello after a HelloRetryRequest is the first one again, changed only where
//! RFC 8446 §4.1.2 allows (a new key_share, early_data removed, the cookie added, the
//! pre_shared_key updated, padding added or removed); any other change, reordering its
//! extensions included, is illegal_parameter.

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConnection, ServerConnection};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn take(write: impl FnOnce(&mut Vec<u8>) -> usize) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    out
}

/// The client's second ClientHello record (no middlebox compatibility, so it is the whole
/// flight) and the server waiting for it. The server takes only P-384 and our client's first
/// share is X25519, so it always retries.
fn second_hello() -> (ServerConnection, Vec<u8>) {
    let c = Arc::new(ours::client_config("server").with_middlebox_compat(false));
    let s = Arc::new(ours::server_config("server").with_groups(&[KxGroup::Secp384r1]));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s);
    ours::feed_server(&mut server, &take(|o| client.write_tls(o)), NOW).unwrap();
    ours::feed_client(&mut client, &take(|o| server.write_tls(o)), NOW).unwrap();
    (server, take(|o| client.write_tls(o)))
}

/// The extensions of the ClientHello record `record`: where the block starts, and each
/// extension's bytes.
fn extensions(record: &[u8]) -> (usize, Vec<Vec<u8>>) {
    let hello = &record[5 + 4..];
    let mut at = 2 + 32;
    at += 1 + usize::from(hello[at]);
    at += 2 + usize::from(u16::from_be_bytes([hello[at], hello[at + 1]]));
    at += 1 + usize::from(hello[at]);
    let start = 5 + 4 + at + 2;
    let mut list = Vec::new();
    let mut pos = start;
    while pos < record.len() {
        let len = usize::from(u16::from_be_bytes([record[pos + 2], record[pos + 3]]));
        list.push(record[pos..pos + 4 + len].to_vec());
        pos += 4 + len;
    }
    (start, list)
}

#[test]
fn the_unchanged_second_client_hello_is_answered() {
    let (mut server, second) = second_hello();
    ours::feed_server(&mut server, &second, NOW).unwrap();
}

#[test]
fn a_second_client_hello_with_its_extensions_reordered_is_illegal_parameter_rfc8446_4_1_2() {
    let (mut server, mut second) = second_hello();
    let (start, mut list) = extensions(&second);
    assert!(list.len() > 2);
    list.reverse();
    second.truncate(start);
    second.extend(list.concat());
    let err = ours::feed_server(&mut server, &second, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::IllegalParameter);
}

#[test]
fn a_second_client_hello_without_one_of_its_extensions_is_illegal_parameter_rfc8446_4_1_2() {
    let (mut server, second) = second_hello();
    let (start, list) = extensions(&second);
    // Drop extended_master_secret (type 23), which a TLS 1.3 server otherwise ignores: the
    // record and the message shrink by its length, and so does the extension block.
    let dropped = list.iter().position(|e| e[..2] == [0, 23]).unwrap();
    let cut = list[dropped].len();
    let mut rest = list.clone();
    rest.remove(dropped);
    let mut out = second[..start].to_vec();
    out.extend(rest.concat());
    let shrink = |at: usize, width: usize, out: &mut Vec<u8>| {
        let mut v = 0usize;
        for b in &out[at..at + width] {
            v = (v << 8) | usize::from(*b);
        }
        let bytes = (v - cut).to_be_bytes();
        out[at..at + width].copy_from_slice(&bytes[bytes.len() - width..]);
    };
    shrink(3, 2, &mut out); // record length
    shrink(6, 3, &mut out); // handshake message length
    shrink(start - 2, 2, &mut out); // extension block length
    let err = ours::feed_server(&mut server, &out, NOW).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::IllegalParameter);
}

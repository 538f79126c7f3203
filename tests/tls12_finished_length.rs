//! A TLS 1.2 Finished whose verify_data is not 12 bytes (RFC 5246 §7.4.9: the length of every
//! suite this crate has) is a malformed message, decode_error (RFC 5246 §7.2.2), not a
//! Finished that failed its check (decrypt_error). The client's Finished is rewritten under
//! its real keys, from the master secret the server's key log gives.

mod peers;

use std::sync::Arc;

use peers::ours::{self, RecordingKeyLog};
use tls_resumption::alert::AlertDescription;
use tls_resumption::kdf::tls12::{KeyMaterial, MasterSecret};
use tls_resumption::kdf::Side;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConnection, ServerConnection, Tls12CipherSuite, TlsVersion};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const SUITE: Tls12CipherSuite = Tls12CipherSuite::EcdheEcdsaChaCha20Poly1305Sha256;

fn take(write: impl FnOnce(&mut Vec<u8>) -> usize) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    out
}

/// Each record of `flight`: its header and body.
fn records(mut flight: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    while flight.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
        out.push((flight[..5].to_vec(), flight[5..5 + len].to_vec()));
        flight = &flight[5 + len..];
    }
    out
}

/// The server's answer to a client whose Finished carries `verify_data` (sealed under the
/// client's keys as sequence number 0, as a ChaCha20-Poly1305 record, RFC 7905).
fn server_alert_for_client_finished(verify_data: &[u8]) -> AlertDescription {
    let log = Arc::new(RecordingKeyLog::default());
    let c = Arc::new(
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tls12_suites(&[SUITE]),
    );
    let s = Arc::new(ours::server_config("server").with_key_log(log.clone()));
    let mut client = ClientConnection::new(c, "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s);
    let hello = take(|o| client.write_tls(o));
    ours::feed_server(&mut server, &hello, NOW).unwrap();
    let answer = take(|o| server.write_tls(o));
    ours::feed_client(&mut client, &answer, NOW).unwrap();
    let second = records(&take(|o| client.write_tls(o)));
    // ClientKeyExchange, ChangeCipherSpec, then the protected Finished.
    assert_eq!(second.len(), 3);
    // Handshake header (4), version (2), then the random, in both hellos.
    // The ClientKeyExchange and ChangeCipherSpec as sent: the server logs the master secret.
    let head = [
        second[0].0.clone(),
        second[0].1.clone(),
        second[1].0.clone(),
        second[1].1.clone(),
    ]
    .concat();
    ours::feed_server(&mut server, &head, NOW).unwrap();
    let client_random: [u8; 32] = records(&hello)[0].1[6..38].try_into().unwrap();
    let server_random: [u8; 32] = records(&answer)[0].1[6..38].try_into().unwrap();
    let ms = MasterSecret::from_slice(&log.secrets("CLIENT_RANDOM").pop().unwrap()).unwrap();
    let keys = KeyMaterial::derive(
        SUITE.hash(),
        SUITE.aead(),
        &ms,
        &server_random,
        &client_random,
    );
    let write = keys.write_keys(Side::Client);
    let key = write.aead_key(SUITE.aead()).unwrap();
    let len = verify_data.len() as u32;
    let mut finished = [&[20u8][..], &len.to_be_bytes()[1..], verify_data].concat();
    // RFC 5246 §6.2.3.3: seq_num ‖ type ‖ version ‖ length of the plaintext.
    let aad = [
        &0u64.to_be_bytes()[..],
        &[22, 3, 3],
        &(finished.len() as u16).to_be_bytes(),
    ]
    .concat();
    key.seal_in_place(write.iv.nonce(0), &aad, &mut finished)
        .unwrap();
    let forged = [
        &[22u8, 3, 3][..],
        &(finished.len() as u16).to_be_bytes(),
        &finished,
    ]
    .concat();
    ours::feed_server(&mut server, &forged, NOW)
        .unwrap_err()
        .alert()
}

#[test]
fn a_client_finished_of_the_right_length_and_wrong_content_is_decrypt_error_rfc5246_7_4_9() {
    assert_eq!(
        server_alert_for_client_finished(&[0; 12]),
        AlertDescription::DecryptError
    );
}

#[test]
fn a_client_finished_of_the_wrong_length_is_decode_error_rfc5246_7_4_9() {
    for len in [11, 13, 32] {
        assert_eq!(
            server_alert_for_client_finished(&vec![0; len]),
            AlertDescription::DecodeError,
            "{len} bytes"
        );
    }
}

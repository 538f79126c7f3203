//! RFC 5246 §7.2.2 makes a session unresumable only when its connection ends with a *fatal*
//! alert. A TLS 1.2 warning-level alert the peer sends (here `no_renegotiation`, RFC 5746
//! §4.4) ends our connection too, but the session stays resumable on both sides; the same
//! alert at fatal level takes it back.

mod peers;

use std::sync::Arc;

use peers::ours::{self, RecordingKeyLog};
use tls_resumption::kdf::tls12::{KeyMaterial, MasterSecret, WriteIv};
use tls_resumption::store::{ClientSessionStore, MemoryCache, MemoryClientStore};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    AlertDescription, ClientConfig, ClientConnection, Error, ServerConfig, ServerConnection, Side,
    TicketMode, TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const WARNING: u8 = 1;
const FATAL: u8 = 2;
const NO_RENEGOTIATION: u8 = 100;

struct Setup {
    client: Arc<ClientConfig>,
    store: Arc<MemoryClientStore>,
    server: Arc<ServerConfig>,
    cache: Arc<MemoryCache>,
    log: Arc<RecordingKeyLog>,
}

/// A TLS 1.2 pair resuming by session ID, the server logging its master secrets.
fn setup() -> Setup {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let clock = Arc::new(ManualClock::new(NOW));
    let cache = Arc::new(MemoryCache::builder().capacity(64).clock(clock).build());
    let log = Arc::new(RecordingKeyLog::default());
    let client = Arc::new(
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_store(Some(store.clone())),
    );
    let server = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_tickets(TicketMode::Disabled)
            .with_session_cache(Some(cache.clone()))
            .with_key_log(log.clone()),
    );
    Setup {
        client,
        store,
        server,
        cache,
        log,
    }
}

/// A completed full handshake and its key block (RFC 5246 §6.3). Neither side has sent a
/// record since its Finished, the first (sequence number 0) under the new keys.
fn handshake(s: &Setup) -> (ClientConnection, ServerConnection, KeyMaterial) {
    let mut client = ClientConnection::new(s.client.clone(), "localhost", NOW).unwrap();
    let mut server = ServerConnection::new(s.server.clone());
    let mut hello = Vec::new();
    client.write_tls(&mut hello);
    let client_random: [u8; 32] = hello[11..43].try_into().unwrap();
    ours::feed_server(&mut server, &hello, NOW).unwrap();
    let mut answer = Vec::new();
    server.write_tls(&mut answer);
    let server_random: [u8; 32] = answer[11..43].try_into().unwrap();
    ours::feed_client(&mut client, &answer, NOW).unwrap();
    ours::pump(&mut client, &mut server, NOW).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
    let ms = s.log.secrets("CLIENT_RANDOM").pop().unwrap();
    let ms = MasterSecret::new(ms.try_into().unwrap());
    let suite = server.tls12_cipher_suite().unwrap();
    let keys = KeyMaterial::derive(
        suite.hash(),
        suite.aead(),
        &ms,
        &server_random,
        &client_random,
    );
    (client, server, keys)
}

/// An alert record `from` one side, protected as its second record after the Finished
/// (RFC 5246 §6.2.3.3; RFC 5288 §3 and RFC 7905 §2 for the nonce).
fn alert_record(keys: &KeyMaterial, from: Side, level: u8) -> Vec<u8> {
    let seq: u64 = 1;
    let w = keys.write_keys(from);
    let mut body = vec![level, NO_RENEGOTIATION];
    let mut aad = seq.to_be_bytes().to_vec();
    aad.extend_from_slice(&[21, 3, 3, 0, 2]);
    w.aead_key(keys.aead)
        .unwrap()
        .seal_in_place(w.iv.nonce(seq), &aad, &mut body)
        .unwrap();
    let explicit: &[u8] = match w.iv {
        WriteIv::GcmSalt(_) => &seq.to_be_bytes(),
        WriteIv::ChaCha(_) => &[],
    };
    let len = (explicit.len() + body.len()) as u16;
    let mut record = vec![21, 3, 3];
    record.extend_from_slice(&len.to_be_bytes());
    record.extend_from_slice(explicit);
    record.extend_from_slice(&body);
    record
}

const ENDED: Error = Error::AlertReceived(AlertDescription::NoRenegotiation);

#[test]
fn a_warning_alert_the_server_receives_leaves_the_session_resumable_rfc5246_7_2_2() {
    for (level, kept) in [(WARNING, true), (FATAL, false)] {
        let s = setup();
        let (_client, mut server, keys) = handshake(&s);
        assert_eq!(s.cache.len(), 1);
        let err = ours::feed_server(&mut server, &alert_record(&keys, Side::Client, level), NOW)
            .unwrap_err();
        assert_eq!(err, ENDED);
        assert_eq!(s.cache.len(), usize::from(kept), "level {level}");
        let next = ours::connect(&s.client, &s.server, NOW, None).unwrap();
        assert_eq!(
            next.server_kind.unwrap().is_resumed(),
            kept,
            "level {level}"
        );
    }
}

#[test]
fn a_warning_alert_the_client_receives_leaves_the_session_stored_rfc5246_7_2_2() {
    for (level, kept) in [(WARNING, true), (FATAL, false)] {
        let s = setup();
        let (mut client, _server, keys) = handshake(&s);
        let err = ours::feed_client(&mut client, &alert_record(&keys, Side::Server, level), NOW)
            .unwrap_err();
        assert_eq!(err, ENDED);
        let stored = s.store.take_tls12_session("localhost", NOW).unwrap();
        assert_eq!(stored.is_some(), kept, "level {level}");
    }
}

/// RFC 8446 §6: in TLS 1.3 the level field can be ignored; every alert but close_notify and
/// user_canceled is an error alert closing the connection abortively, and §6.2 asks that the
/// PSKs of tickets be discarded then. A TLS 1.3 alert sent at warning level still takes the
/// server's stateful tickets back.
#[test]
fn a_tls13_alert_at_warning_level_still_ends_the_sessions_rfc8446_6() {
    use std::time::Duration;
    use tls_resumption::crypto::aead::{xor_nonce, AeadKey};
    use tls_resumption::kdf::tls13::hkdf_expand_label;

    let clock = Arc::new(ManualClock::new(NOW));
    let cache = Arc::new(MemoryCache::builder().capacity(64).clock(clock).build());
    let log = Arc::new(RecordingKeyLog::default());
    let client = Arc::new(
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls13])
            .with_session_store(Some(Arc::new(MemoryClientStore::new(4, 4)))),
    );
    let server = Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls13])
            .with_tickets(TicketMode::Stateful {
                cache: cache.clone(),
                lifetime: Duration::from_secs(3600),
            })
            .with_key_log(log.clone()),
    );
    let mut c = ClientConnection::new(client, "localhost", NOW).unwrap();
    let mut s = ServerConnection::new(server);
    ours::pump(&mut c, &mut s, NOW).unwrap();
    assert!(!cache.is_empty());
    // The client's first record under its application traffic secret (RFC 8446 §5.2, §7.3).
    let suite = s.cipher_suite().unwrap();
    let secret = log.secrets("CLIENT_TRAFFIC_SECRET_0").pop().unwrap();
    let mut key = vec![0u8; suite.aead().key_len()];
    let mut iv = [0u8; 12];
    hkdf_expand_label(suite.hash(), &secret, b"key", b"", &mut key).unwrap();
    hkdf_expand_label(suite.hash(), &secret, b"iv", b"", &mut iv).unwrap();
    let mut inner = vec![WARNING, NO_RENEGOTIATION, 21];
    let len = (inner.len() + 16) as u16;
    let mut record = vec![23, 3, 3];
    record.extend_from_slice(&len.to_be_bytes());
    AeadKey::new(suite.aead(), &key)
        .unwrap()
        .seal_in_place(xor_nonce(&iv, 0), &record, &mut inner)
        .unwrap();
    record.extend_from_slice(&inner);
    let err = ours::feed_server(&mut s, &record, NOW).unwrap_err();
    assert_eq!(err, ENDED);
    assert!(cache.is_empty(), "{} tickets left", cache.len());
}

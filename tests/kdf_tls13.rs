//! The TLS 1.3 key schedule against RFC 8448 §3 (Simple 1-RTT Handshake), from the X25519
//! private keys to the resumption PSK, plus the properties RFC 8446 §7.1 fixes.

mod common;

use common::json::Value;
use common::{hex, load_json, unhex, unhex_array, x25519};
use proptest::prelude::*;
use ring::digest;
use tls_resumption::crypto::aead::{xor_nonce, AeadAlgorithm, TAG_LEN};
use tls_resumption::crypto::CryptoError;
use tls_resumption::kdf::tls13::{
    self, BinderKind, CipherSuite, KeySchedule, TrafficKeys, MAX_CONTEXT_LEN, MAX_LABEL_LEN,
};
use tls_resumption::kdf::HashAlgorithm;

const SHA256: HashAlgorithm = HashAlgorithm::Sha256;

fn trace() -> Value {
    load_json("rfc8448_full.json")
}

fn field(v: &Value, name: &str) -> Vec<u8> {
    unhex(v.get(name).str())
}

fn transcript(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

/// The handshake messages of the trace and the transcript hashes at each point RFC 8446 §7.1
/// names.
struct Transcripts {
    ch_sh: Vec<u8>,
    through_certificate_verify: Vec<u8>,
    through_server_finished: Vec<u8>,
    through_client_finished: Vec<u8>,
}

fn transcripts(t: &Value) -> Transcripts {
    let ch = field(t, "client_hello");
    let sh = field(t, "server_hello");
    let flight = field(t, "server_flight");
    let cf = field(t, "client_finished");
    // The server flight ends with Finished: a 4-byte header and a SHA-256-long verify_data.
    let before_finished = &flight[..flight.len() - 4 - 32];
    Transcripts {
        ch_sh: transcript(&[&ch, &sh]),
        through_certificate_verify: transcript(&[&ch, &sh, before_finished]),
        through_server_finished: transcript(&[&ch, &sh, &flight]),
        through_client_finished: transcript(&[&ch, &sh, &flight, &cf]),
    }
}

fn assert_hex(name: &str, got: &[u8], t: &Value) {
    assert_eq!(hex(got), t.get(name).str(), "RFC 8448 §3 value {name}");
}

#[test]
fn rfc8448_x25519_keys_and_shared_secret_are_reproduced() {
    let t = trace();
    let client_private = unhex_array(t.get("client_x25519_private").str());
    let server_private = unhex_array(t.get("server_x25519_private").str());
    let client_public = x25519::public_key(&client_private);
    let server_public = x25519::public_key(&server_private);
    assert_hex("client_x25519_public", &client_public, &t);
    assert_hex("server_x25519_public", &server_public, &t);
    assert_hex(
        "ecdhe_shared_secret",
        &x25519::x25519(&client_private, &server_public),
        &t,
    );
    assert_hex(
        "ecdhe_shared_secret",
        &x25519::x25519(&server_private, &client_public),
        &t,
    );
}

#[test]
fn rfc8448_every_secret_key_iv_and_finished_is_reproduced() {
    let t = trace();
    let th = transcripts(&t);
    assert_hex("transcript_hash_ch_sh", &th.ch_sh, &t);
    assert_hex(
        "transcript_hash_through_client_finished",
        &th.through_client_finished,
        &t,
    );
    let client_private = unhex_array(t.get("client_x25519_private").str());
    let server_public = unhex_array(t.get("server_x25519_public").str());
    let shared = x25519::x25519(&client_private, &server_public);
    let suite = CipherSuite::Aes128GcmSha256;
    let aead = suite.aead();

    // The free functions, formula by formula (RFC 8446 §7.1).
    let early = tls13::early_secret(SHA256, None);
    assert_hex("early_secret", early.expose_secret(), &t);
    let derived =
        tls13::derive_secret(SHA256, early.expose_secret(), b"derived", &transcript(&[])).unwrap();
    assert_hex("derived_for_handshake", derived.expose_secret(), &t);
    let hs = tls13::hkdf_extract(SHA256, derived.expose_secret(), &shared);
    assert_hex("handshake_secret", hs.expose_secret(), &t);

    // The typed schedule gives the same values.
    let handshake = KeySchedule::full_handshake(suite.hash(), &shared);
    assert_hex("handshake_secret", handshake.secret().expose_secret(), &t);
    let hs_traffic = handshake.traffic_secrets(&th.ch_sh).unwrap();
    assert_hex(
        "client_handshake_traffic_secret",
        hs_traffic.client.secret().expose_secret(),
        &t,
    );
    assert_hex(
        "server_handshake_traffic_secret",
        hs_traffic.server.secret().expose_secret(),
        &t,
    );
    let check_keys = |keys: &TrafficKeys, key_name: &str, iv_name: &str| {
        assert_hex(key_name, keys.key.expose_secret(), &t);
        assert_hex(iv_name, keys.iv.expose_secret(), &t);
    };
    check_keys(
        &hs_traffic.server.traffic_keys(aead),
        "server_handshake_key",
        "server_handshake_iv",
    );
    check_keys(
        &hs_traffic.client.traffic_keys(aead),
        "client_handshake_key",
        "client_handshake_iv",
    );

    let server_finished = hs_traffic
        .server
        .finished_verify_data(&th.through_certificate_verify)
        .unwrap();
    assert_hex("server_finished_verify_data", server_finished.as_ref(), &t);
    assert!(hs_traffic
        .server
        .verify_finished(&th.through_certificate_verify, server_finished.as_ref())
        .is_ok());

    let master = handshake.into_master_secret();
    assert_hex("master_secret", master.secret().expose_secret(), &t);
    let app = master
        .application_secrets(&th.through_server_finished)
        .unwrap();
    assert_hex(
        "client_application_traffic_secret_0",
        app.traffic.client.secret().expose_secret(),
        &t,
    );
    assert_hex(
        "server_application_traffic_secret_0",
        app.traffic.server.secret().expose_secret(),
        &t,
    );
    assert_hex(
        "exporter_master_secret",
        app.exporter_master_secret.expose_secret(),
        &t,
    );
    check_keys(
        &app.traffic.server.traffic_keys(aead),
        "server_application_key",
        "server_application_iv",
    );
    check_keys(
        &app.traffic.client.traffic_keys(aead),
        "client_application_key",
        "client_application_iv",
    );

    // The client's Finished covers the transcript through the server's Finished.
    let client_finished = hs_traffic
        .client
        .finished_verify_data(&th.through_server_finished)
        .unwrap();
    assert_hex("client_finished_verify_data", client_finished.as_ref(), &t);

    let resumption = master
        .into_resumption_master_secret(&th.through_client_finished)
        .unwrap();
    assert_hex(
        "resumption_master_secret",
        resumption.secret().expose_secret(),
        &t,
    );
    let nonce = field(&t, "ticket_nonce");
    let psk = resumption.resumption_psk(&nonce).unwrap();
    assert_hex("resumption_psk", psk.expose_secret(), &t);
    let psk_again = tls13::resumption_psk(SHA256, resumption.secret(), &nonce).unwrap();
    assert!(psk.ct_eq(&psk_again));
}

/// Opens one TLS 1.3 record (RFC 8446 §5.2): the AAD is the 5-byte record header; the
/// plaintext is content ‖ content type ‖ zero padding.
fn open_record(keys: &TrafficKeys, sequence_number: u64, record: &[u8]) -> (Vec<u8>, u8) {
    assert_eq!(record[0], 0x17, "protected records are application_data");
    let (header, body) = record.split_at(5);
    assert_eq!(
        usize::from(u16::from_be_bytes([header[3], header[4]])),
        body.len()
    );
    assert!(body.len() >= TAG_LEN);
    let key = keys.aead_key().unwrap();
    let mut buf = body.to_vec();
    let plain = key
        .open_in_place(keys.nonce(sequence_number), header, &mut buf)
        .unwrap();
    let end = plain.iter().rposition(|&b| b != 0).expect("a content type");
    (plain[..end].to_vec(), plain[end])
}

#[test]
fn rfc8448_every_protected_record_decrypts_with_the_derived_keys() {
    let t = trace();
    let th = transcripts(&t);
    let records = t.get("records");
    let record = |name: &str| unhex(records.get(name).str());
    let shared = field(&t, "ecdhe_shared_secret");
    let aead = AeadAlgorithm::Aes128Gcm;

    let handshake = KeySchedule::full_handshake(SHA256, &shared);
    let hs = handshake.traffic_secrets(&th.ch_sh).unwrap();
    let master = handshake.into_master_secret();
    let app = master
        .application_secrets(&th.through_server_finished)
        .unwrap();
    let (server_hs, client_hs) = (hs.server.traffic_keys(aead), hs.client.traffic_keys(aead));
    let (server_app, client_app) = (
        app.traffic.server.traffic_keys(aead),
        app.traffic.client.traffic_keys(aead),
    );

    // The unprotected records carry the messages the transcript hashes.
    assert_eq!(record("client_hello")[5..], field(&t, "client_hello")[..]);
    assert_eq!(record("server_hello")[5..], field(&t, "server_hello")[..]);

    let handshake_type = 0x16;
    let application_data = 0x17;
    let cases: [(&TrafficKeys, u64, &str, Vec<u8>, u8); 5] = [
        (
            &server_hs,
            0,
            "server_flight_protected",
            field(&t, "server_flight"),
            handshake_type,
        ),
        (
            &client_hs,
            0,
            "client_finished_protected",
            field(&t, "client_finished"),
            handshake_type,
        ),
        (
            &server_app,
            0,
            "new_session_ticket_protected",
            field(&t, "new_session_ticket"),
            handshake_type,
        ),
        (
            &client_app,
            0,
            "client_app_data_protected",
            unhex(records.get("app_payload").str()),
            application_data,
        ),
        (
            &server_app,
            1,
            "server_app_data_protected",
            unhex(records.get("app_payload").str()),
            application_data,
        ),
    ];
    for (keys, seq, name, expected, content_type) in cases {
        let (plain, ty) = open_record(keys, seq, &record(name));
        assert_eq!(hex(&plain), hex(&expected), "{name}");
        assert_eq!(ty, content_type, "{name}");
    }

    // A wrong sequence number gives a wrong nonce: the record must not open.
    let rec = record("client_finished_protected");
    let mut buf = rec[5..].to_vec();
    let key = client_hs.aead_key().unwrap();
    assert_eq!(
        key.open_in_place(
            xor_nonce(client_hs.iv.expose_secret(), 1),
            &rec[..5],
            &mut buf
        )
        .unwrap_err(),
        CryptoError::DecryptFailed
    );
}

#[test]
fn rfc8448_ticket_psk_drives_psk_ke_and_psk_dhe_ke_to_different_handshake_secrets() {
    let t = trace();
    let psk = field(&t, "resumption_psk");
    let shared = field(&t, "ecdhe_shared_secret");
    let psk_ke = KeySchedule::with_psk(SHA256, &psk).psk_ke();
    let psk_dhe_ke = KeySchedule::with_psk(SHA256, &psk).psk_dhe_ke(&shared);
    let full = KeySchedule::full_handshake(SHA256, &shared);
    assert!(!psk_ke.secret().ct_eq(psk_dhe_ke.secret()));
    assert!(!psk_dhe_ke.secret().ct_eq(full.secret()));
    // psk_ke is the PSK alone: the same PSK always gives the same handshake secret.
    assert!(psk_ke
        .secret()
        .ct_eq(KeySchedule::with_psk(SHA256, &psk).psk_ke().secret()));

    // The free functions and the typed stage agree on the early secret and binder key.
    let early = KeySchedule::with_psk(SHA256, &psk);
    let free_early = tls13::early_secret(SHA256, Some(&psk));
    assert!(early.secret().ct_eq(&free_early));
    let bk = tls13::binder_key(SHA256, &free_early, BinderKind::Resumption).unwrap();
    assert!(early.binder_key(BinderKind::Resumption).secret().ct_eq(&bk));
    let truncated_hello_hash = transcript(&[b"truncated ClientHello"]);
    let binder = tls13::psk_binder(SHA256, &bk, &truncated_hello_hash).unwrap();
    assert!(early
        .binder_key(BinderKind::Resumption)
        .verify(&truncated_hello_hash, binder.as_ref())
        .is_ok());
    assert!(early
        .binder_key(BinderKind::External)
        .verify(&truncated_hello_hash, binder.as_ref())
        .is_err());
}

#[test]
fn every_derivation_rejects_a_wrong_length_transcript_hash() {
    let shared = [1u8; 32];
    let hs = KeySchedule::full_handshake(SHA256, &shared);
    let short = [0u8; 31];
    let expect = CryptoError::InvalidLength {
        expected: 32,
        got: 31,
    };
    assert_eq!(hs.traffic_secrets(&short).unwrap_err(), expect);
    let early = KeySchedule::with_psk(SHA256, &[2; 32]);
    assert_eq!(
        early.client_early_traffic_secret(&short).unwrap_err(),
        expect
    );
    assert_eq!(
        early.early_exporter_master_secret(&short).unwrap_err(),
        expect
    );
    assert!(tls13::derive_secret(SHA256, &[0; 32], b"x", &short).is_err());
    let master = hs.into_master_secret();
    assert_eq!(master.application_secrets(&short).unwrap_err(), expect);
    assert_eq!(
        master.into_resumption_master_secret(&short).unwrap_err(),
        expect
    );
    let rms = KeySchedule::with_psk(HashAlgorithm::Sha384, &[3; 48])
        .psk_ke()
        .into_master_secret()
        .into_resumption_master_secret(&[0; 48])
        .unwrap();
    assert!(rms.resumption_psk(&[0; MAX_CONTEXT_LEN]).is_ok());
    assert!(rms.resumption_psk(&[0; MAX_CONTEXT_LEN + 1]).is_err());
}

#[test]
fn sha384_schedule_yields_48_byte_secrets_and_32_byte_aes256_keys() {
    let suite = CipherSuite::Aes256GcmSha384;
    let hs = KeySchedule::with_psk(suite.hash(), &[9; 48]).psk_dhe_ke(&[8; 32]);
    let traffic = hs.traffic_secrets(&[0; 48]).unwrap();
    assert_eq!(traffic.client.secret().len(), 48);
    let keys = traffic.server.traffic_keys(suite.aead());
    assert_eq!(keys.key.len(), 32);
    assert!(keys.aead_key().is_ok());
    // A KeyUpdate (RFC 8446 §7.2) gives a new secret of the same length.
    let old = traffic.client.secret().duplicate();
    let next = traffic.client.into_next_generation();
    assert_eq!(next.secret().len(), 48);
    assert!(!next.secret().ct_eq(&old));
}

/// HKDF-Expand-Label computed the long way: the HkdfLabel built byte by byte as RFC 8446 §7.1
/// lays it out, then HKDF-Expand through ring.
fn reference_expand_label(secret: &[u8], label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    struct Len(usize);
    impl ring::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let prk = ring::hkdf::Prk::new_less_safe(ring::hkdf::HKDF_SHA256, secret);
    let mut out = vec![0u8; len];
    prk.expand(&[&info], Len(len))
        .unwrap()
        .fill(&mut out)
        .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hkdf_label_is_length_prefixed_as_rfc8446_section_7_1_says(
        secret in proptest::collection::vec(any::<u8>(), 32),
        label in proptest::collection::vec(any::<u8>(), 1..=MAX_LABEL_LEN),
        context in proptest::collection::vec(any::<u8>(), 0..=MAX_CONTEXT_LEN),
        len in 1usize..200,
    ) {
        let mut ours = vec![0u8; len];
        tls13::hkdf_expand_label(SHA256, &secret, &label, &context, &mut ours).unwrap();
        prop_assert_eq!(ours, reference_expand_label(&secret, &label, &context, len));
    }

    #[test]
    fn hkdf_expand_output_of_length_n_is_a_prefix_of_length_m(
        prk in proptest::collection::vec(any::<u8>(), 48),
        info in proptest::collection::vec(any::<u8>(), 0..64),
        n in 0usize..300,
        extra in 1usize..200,
    ) {
        let h = HashAlgorithm::Sha384;
        let mut short = vec![0u8; n];
        let mut long = vec![0u8; n + extra];
        tls13::hkdf_expand(h, &prk, &info, &mut short).unwrap();
        tls13::hkdf_expand(h, &prk, &info, &mut long).unwrap();
        prop_assert_eq!(&long[..n], &short[..]);
    }

    /// The flip side of the prefix property: HkdfLabel starts with the output length (RFC
    /// 8446 §7.1), so Expand-Label outputs of different lengths are unrelated. An
    /// implementation that left the length out would make them prefixes of each other.
    #[test]
    fn expand_label_outputs_of_different_lengths_are_not_prefixes(
        secret in proptest::collection::vec(any::<u8>(), 32),
        n in 8usize..100,
        extra in 1usize..100,
    ) {
        let mut short = vec![0u8; n];
        let mut long = vec![0u8; n + extra];
        tls13::hkdf_expand_label(SHA256, &secret, b"key", b"", &mut short).unwrap();
        tls13::hkdf_expand_label(SHA256, &secret, b"key", b"", &mut long).unwrap();
        prop_assert_ne!(&long[..n], &short[..]);
    }

    #[test]
    fn too_long_outputs_labels_and_contexts_are_errors_never_panics(
        over in 1usize..100,
        sha384 in any::<bool>(),
    ) {
        let h = if sha384 { HashAlgorithm::Sha384 } else { SHA256 };
        let max = 255 * h.output_len();
        let mut out = vec![0u8; max + over];
        prop_assert_eq!(
            tls13::hkdf_expand_label(h, &[0; 48], b"k", &[], &mut out),
            Err(CryptoError::OutputTooLong { requested: max + over, max })
        );
        let mut out = [0u8; 16];
        let long_label = vec![b'l'; MAX_LABEL_LEN + over];
        prop_assert!(tls13::hkdf_expand_label(h, &[0; 48], &long_label, &[], &mut out).is_err());
        let long_context = vec![0u8; MAX_CONTEXT_LEN + over];
        prop_assert!(tls13::hkdf_expand_label(h, &[0; 48], b"k", &long_context, &mut out).is_err());
    }

    #[test]
    fn schedule_secrets_debug_never_shows_their_bytes(psk in proptest::collection::vec(any::<u8>(), 32)) {
        let early = KeySchedule::with_psk(SHA256, &psk);
        let bytes = hex(early.secret().expose_secret());
        let shown = format!("{early:?} {:?}", early.binder_key(BinderKind::External));
        prop_assert!(!shown.contains(&bytes));
        let as_list = format!("{:?}", early.secret().expose_secret());
        prop_assert!(!shown.contains(&as_list));
        let traffic = early.psk_ke().traffic_secrets(&[0; 32]).unwrap();
        let keys = traffic.client.traffic_keys(AeadAlgorithm::ChaCha20Poly1305);
        let shown = format!("{traffic:?} {keys:?}");
        prop_assert!(!shown.contains(&hex(traffic.client.secret().expose_secret())));
        prop_assert!(!shown.contains(&hex(keys.key.expose_secret())));
    }
}

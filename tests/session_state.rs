//! The versioned session-state encoding: round trips, canonical form, and a table of malformed
//! inputs each rejected with its own typed error.

use proptest::prelude::*;
use tls_resumption::crypto::secret::{Secret, SecretArray};
use tls_resumption::session::{SessionError, SessionState, Tls12Session, Tls13Session};
use tls_resumption::time::Timestamp;

fn tls12() -> SessionState {
    SessionState::Tls12(Tls12Session {
        protocol_version: 0x0303,
        cipher_suite: 0xc02f,
        master_secret: SecretArray::new([0x42; 48]),
        extended_master_secret: true,
        server_name: Some("example.com".into()),
        alpn: Some(b"h2".to_vec()),
        issued_at: Timestamp::from_secs(1_700_000_000),
        lifetime_secs: 7200,
    })
}

fn tls13() -> SessionState {
    SessionState::Tls13(Tls13Session {
        cipher_suite: 0x1301,
        resumption_psk: Secret::from_slice(&[0x17; 32]).unwrap(),
        ticket_age_add: 0xdead_beef,
        lifetime_secs: 3600,
        max_early_data: 16384,
        server_name: None,
        alpn: None,
        issued_at: Timestamp::from_millis(1_700_000_000_123),
        auth_time: None,
    })
}

fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=max))
}

fn opt_name() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-z0-9.-]{1,60}")
}

fn arb_state() -> impl Strategy<Value = SessionState> {
    let t12 = (
        any::<u16>(),
        any::<u16>(),
        any::<[u8; 32]>(),
        any::<bool>(),
        opt_name(),
        opt_bytes(255),
        any::<u64>(),
        any::<u32>(),
    )
        .prop_map(|(v, cs, ms, ems, sni, alpn, at, life)| {
            let mut full = [0u8; 48];
            full[..32].copy_from_slice(&ms);
            SessionState::Tls12(Tls12Session {
                protocol_version: v,
                cipher_suite: cs,
                master_secret: SecretArray::new(full),
                extended_master_secret: ems,
                server_name: sni,
                alpn,
                issued_at: Timestamp::from_millis(at),
                lifetime_secs: life,
            })
        });
    let t13 = (
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 1..=64),
        any::<u32>(),
        0..=7 * 24 * 3600u32,
        any::<u32>(),
        opt_name(),
        opt_bytes(255),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(cs, psk, add, life, early, sni, alpn, at, auth)| {
            SessionState::Tls13(Tls13Session {
                cipher_suite: cs,
                resumption_psk: Secret::from_slice(&psk).unwrap(),
                ticket_age_add: add,
                lifetime_secs: life,
                max_early_data: early,
                server_name: sni,
                alpn,
                issued_at: Timestamp::from_millis(at),
                auth_time: auth.map(Timestamp::from_millis),
            })
        });
    prop_oneof![t12, t13]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn every_state_round_trips_to_the_same_bytes(state in arb_state()) {
        let bytes = state.encode().unwrap();
        prop_assert_eq!(bytes.len(), state.encoded_len());
        let decoded = SessionState::decode(bytes.expose_secret()).unwrap();
        let again = decoded.encode().unwrap();
        prop_assert_eq!(again.expose_secret(), bytes.expose_secret());
        prop_assert_eq!(decoded.issued_at(), state.issued_at());
        prop_assert_eq!(decoded.server_name(), state.server_name());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        tls_resumption::fuzzing::session_state(&data);
        tls_resumption::fuzzing::ticket_open(&data);
    }

    #[test]
    fn one_byte_changes_either_fail_or_decode_canonically(
        state in arb_state(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = state.encode().unwrap().expose_secret().to_vec();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        // Panics if a decodable input does not encode back to itself.
        tls_resumption::fuzzing::session_state(&bytes);
    }
}

#[test]
fn decoded_fields_equal_the_originals() {
    let bytes = tls12().encode().unwrap();
    let SessionState::Tls12(s) = SessionState::decode(bytes.expose_secret()).unwrap() else {
        panic!("kind changed");
    };
    assert!(s.master_secret.ct_eq(&SecretArray::new([0x42; 48])));
    assert!(s.extended_master_secret);
    assert_eq!(s.cipher_suite, 0xc02f);
    assert_eq!(s.alpn.as_deref(), Some(&b"h2"[..]));
    let bytes = tls13().encode().unwrap();
    let SessionState::Tls13(s) = SessionState::decode(bytes.expose_secret()).unwrap() else {
        panic!("kind changed");
    };
    assert!(s.resumption_psk.ct_eq_bytes(&[0x17; 32]));
    assert_eq!(s.ticket_age_add, 0xdead_beef);
    assert_eq!(s.max_early_data, 16384);
    assert_eq!(s.server_name, None);
}

#[test]
fn tls12_encoding_is_compact() {
    // version, kind, protocol, suite, master secret, flags, issued_at, lifetime, sni, alpn
    assert_eq!(
        tls12().encoded_len(),
        1 + 1 + 2 + 2 + 48 + 1 + 8 + 4 + 12 + 3
    );
}

fn with(mut bytes: Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    f(&mut bytes);
    bytes
}

#[test]
fn malformed_encodings_are_typed_errors() {
    let t12 = tls12().encode().unwrap().expose_secret().to_vec();
    let t13 = tls13().encode().unwrap().expose_secret().to_vec();
    // Offsets in the TLS 1.3 encoding: version 0, kind 1, suite 2..4, psk length 4.
    let psk_len_at = 4;
    let lifetime_at = psk_len_at + 1 + 32 + 4;
    // TLS 1.2: flags after version, kind, protocol, suite and the master secret.
    let flags_at = 1 + 1 + 2 + 2 + 48;
    let sni_at = flags_at + 1 + 8 + 4;
    let table: Vec<(&str, Vec<u8>, SessionError)> = vec![
        ("empty", vec![], SessionError::Truncated("format version")),
        (
            "unknown version",
            with(t12.clone(), |b| b[0] = 3),
            SessionError::UnknownVersion(3),
        ),
        (
            "version 2 (auth_time) of TLS 1.2 state",
            with(t12.clone(), |b| b[0] = 2),
            SessionError::InvalidField("kind of a version 2 encoding"),
        ),
        (
            "version 2 without its auth_time",
            with(t13.clone(), |b| b[0] = 2),
            SessionError::Truncated("auth_time"),
        ),
        (
            "version zero",
            with(t12.clone(), |b| b[0] = 0),
            SessionError::UnknownVersion(0),
        ),
        (
            "unknown kind",
            with(t12.clone(), |b| b[1] = 3),
            SessionError::UnknownKind(3),
        ),
        (
            "kind only",
            vec![1, 1],
            SessionError::Truncated("protocol_version"),
        ),
        (
            "short master secret",
            t12[..30].to_vec(),
            SessionError::Truncated("master_secret"),
        ),
        (
            "trailing byte",
            with(t12.clone(), |b| b.push(0)),
            SessionError::TrailingBytes,
        ),
        (
            "tls13 trailing",
            with(t13.clone(), |b| b.push(0)),
            SessionError::TrailingBytes,
        ),
        (
            "unknown flag",
            with(t12.clone(), |b| b[flags_at] = 0x02),
            SessionError::InvalidField("flags"),
        ),
        (
            "sni not utf-8",
            with(t12.clone(), |b| b[sni_at + 1] = 0xff),
            SessionError::InvalidField("server_name"),
        ),
        (
            "overlong sni length",
            with(t12.clone(), |b| b[sni_at] = 200),
            SessionError::Truncated("server_name"),
        ),
        (
            "empty psk",
            with(t13.clone(), |b| {
                b[psk_len_at] = 0;
                b.drain(psk_len_at + 1..psk_len_at + 33);
            }),
            SessionError::InvalidField("resumption_psk"),
        ),
        (
            "psk over 64 bytes",
            with(t13.clone(), |b| {
                b[psk_len_at] = 65;
                b.splice(psk_len_at + 1..psk_len_at + 1, [0u8; 33]);
            }),
            SessionError::InvalidField("resumption_psk"),
        ),
        (
            "lifetime over 7 days",
            with(t13.clone(), |b| {
                b[lifetime_at..lifetime_at + 4].copy_from_slice(&(7 * 86400u32 + 1).to_be_bytes())
            }),
            SessionError::InvalidField("lifetime"),
        ),
    ];
    for (what, bytes, expected) in table {
        assert_eq!(SessionState::decode(&bytes).err(), Some(expected), "{what}");
    }
}

#[test]
fn every_strict_prefix_is_truncated() {
    for full in [tls12().encode().unwrap(), tls13().encode().unwrap()] {
        let full = full.expose_secret();
        for len in 0..full.len() {
            assert!(
                matches!(
                    SessionState::decode(&full[..len]),
                    Err(SessionError::Truncated(_))
                ),
                "prefix of {len} bytes"
            );
        }
    }
}

#[test]
fn empty_optional_fields_cannot_be_encoded() {
    let SessionState::Tls12(mut s) = tls12() else {
        unreachable!()
    };
    s.alpn = Some(Vec::new());
    assert!(SessionState::Tls12(s).encode().is_err());
}

#[test]
fn expiry_follows_issue_time_and_lifetime() {
    let s = tls13();
    let issued = s.issued_at();
    assert!(!s.is_expired(issued));
    assert!(!s.is_expired(Timestamp::from_millis(issued.as_millis() + 3_599_999)));
    assert!(s.is_expired(Timestamp::from_millis(issued.as_millis() + 3_600_000)));
}

#[test]
fn debug_output_hides_secrets() {
    let shown = format!("{:?}", tls12());
    assert!(!shown.contains("66, 66, 66"));
    assert!(shown.contains("redacted"));
}

/// Encodings made before the authentication time existed (format version 1) still decode,
/// to a state without it; a state with one round-trips through format version 2
/// (RFC 8446 §4.6.1's authentication time kept across resumptions).
#[test]
fn version_1_encodings_still_decode_and_auth_time_uses_version_2() {
    let v1 = tls13().encode().unwrap().expose_secret().to_vec();
    assert_eq!(v1[0], 1);
    let SessionState::Tls13(decoded) = SessionState::decode(&v1).unwrap() else {
        panic!("TLS 1.3 state");
    };
    assert_eq!(decoded.auth_time, None);
    let SessionState::Tls13(mut with_auth) = tls13() else {
        unreachable!()
    };
    with_auth.auth_time = Some(Timestamp::from_secs(1_600_000_000));
    let state = SessionState::Tls13(with_auth);
    let v2 = state.encode().unwrap().expose_secret().to_vec();
    assert_eq!(v2[0], 2);
    assert_eq!(v2.len(), v1.len() + 8);
    assert_eq!(&v2[1..v1.len()], &v1[1..]);
    let back = SessionState::decode(&v2).unwrap();
    assert_eq!(back.auth_time(), Timestamp::from_secs(1_600_000_000));
}

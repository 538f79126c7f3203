//! AeadSealer: ticket layout, each rejection distinct, nonce uniqueness, key files.

use std::collections::HashSet;
use std::time::Duration;

use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::crypto::secret::Secret;
use tls_resumption::session::{SessionState, Tls13Session};
use tls_resumption::ticket::keyfile::{
    decode_key_file, encode_key_file, import_nginx_key, import_nginx_keys, KeyFileEntry,
};
use tls_resumption::ticket::{
    open_session, seal_session, AeadSealer, KeyFileError, TicketError, TicketKeyMaterial,
    TicketSealer, MIN_TICKET_LEN,
};
use tls_resumption::time::Timestamp;

const HOUR: Duration = Duration::from_secs(3600);

fn material(name: u8) -> TicketKeyMaterial {
    TicketKeyMaterial::new([name; 16], &[0x5a; 32]).unwrap()
}

fn sealer(name: u8) -> AeadSealer {
    AeadSealer::new(material(name), HOUR).unwrap()
}

fn state(issued_at: Timestamp) -> SessionState {
    SessionState::Tls13(Tls13Session {
        cipher_suite: 0x1301,
        resumption_psk: Secret::from_slice(&[9; 32]).unwrap(),
        ticket_age_add: 1,
        lifetime_secs: 3600,
        max_early_data: 0,
        server_name: Some("example.com".into()),
        alpn: None,
        issued_at,
        auth_time: None,
    })
}

#[test]
fn ticket_is_name_nonce_ciphertext_tag() {
    let s = sealer(1);
    let ticket = s.seal(b"hello state").unwrap();
    assert_eq!(ticket.len(), 16 + 12 + 11 + 16);
    assert_eq!(&ticket[..16], &[1u8; 16]);
    assert!(
        !ticket.windows(11).any(|w| w == b"hello state"),
        "plaintext visible"
    );
    let opened = s.open(&ticket).unwrap();
    assert_eq!(opened.plaintext.expose_secret(), b"hello state");
    assert!(!opened.renew);
    assert_eq!(s.lifetime(), HOUR);
}

#[test]
fn both_aeads_round_trip_and_do_not_open_each_other() {
    let aes = AeadSealer::with_algorithm(material(1), AeadAlgorithm::Aes256Gcm, HOUR).unwrap();
    let chacha =
        AeadSealer::with_algorithm(material(1), AeadAlgorithm::ChaCha20Poly1305, HOUR).unwrap();
    let t_aes = aes.seal(b"x").unwrap();
    let t_chacha = chacha.seal(b"x").unwrap();
    assert_eq!(aes.open(&t_aes).unwrap().plaintext.expose_secret(), b"x");
    assert_eq!(
        chacha.open(&t_chacha).unwrap().plaintext.expose_secret(),
        b"x"
    );
    assert_eq!(chacha.open(&t_aes).err(), Some(TicketError::TagMismatch));
    assert_eq!(aes.open(&t_chacha).err(), Some(TicketError::TagMismatch));
}

#[test]
fn servers_sharing_material_open_each_others_tickets() {
    let (a, b) = (sealer(4), sealer(4));
    let t = a.seal(b"shared").unwrap();
    assert_eq!(b.open(&t).unwrap().plaintext.expose_secret(), b"shared");
    // Nonces are synthetic: different counts (or plaintexts) give different nonces.
    assert_ne!(a.seal(b"").unwrap()[16..28], b.seal(b"").unwrap()[16..28]);
}

#[test]
fn nonces_never_repeat_under_one_key() {
    let s = sealer(2);
    let mut seen = HashSet::new();
    for _ in 0..20_000 {
        let t = s.seal(b"").unwrap();
        assert!(seen.insert(t[16..28].to_vec()), "nonce repeated");
    }
}

/// Fork-safe nonces: two sealers holding the same key material and the same nonce state —
/// what `fork()` or a restored VM snapshot gives — each sealing its own plaintexts on a fresh
/// thread, never seal two tickets with the same (key, nonce).
#[test]
#[allow(deprecated)] // ring keeps its fixed-bytes generator under a deprecated name.
fn fork_safe_nonces_sealers_with_identical_key_and_counter_state_never_share_a_nonce() {
    use ring::test::rand::FixedByteRandom;
    use std::sync::Arc;
    use tls_resumption::ticket::{KeySource, RotatingSealer, Schedule};
    use tls_resumption::time::ManualClock;

    const TICKETS: u32 = 50_000;
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_700_000_000)));
    let twin = |tag: u8| {
        let sealer = RotatingSealer::with_rng(
            clock.clone(),
            Schedule::default(),
            AeadAlgorithm::Aes256Gcm,
            KeySource::Generate,
            Arc::new(FixedByteRandom { byte: 7 }),
        )
        .unwrap();
        std::thread::spawn(move || {
            (0..TICKETS)
                .map(|i| {
                    let mut plaintext = vec![tag; 100];
                    plaintext[..4].copy_from_slice(&i.to_be_bytes());
                    let t = sealer.seal(&plaintext).unwrap();
                    (t[..16].to_vec(), t[16..28].to_vec())
                })
                .collect::<Vec<_>>()
        })
    };
    let (a, b) = (twin(b'a'), twin(b'b'));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(a[0].0, b[0].0, "both sealers hold the same key");
    let mut seen = HashSet::new();
    for pair in a.into_iter().chain(b) {
        assert!(seen.insert(pair), "a (key, nonce) pair repeated");
    }
    assert_eq!(seen.len(), 2 * TICKETS as usize);
}

#[test]
fn each_bad_ticket_has_its_own_rejection() {
    let s = sealer(3);
    let now = Timestamp::from_secs(1_000);
    let good = seal_session(&s, &state(now)).unwrap();
    assert!(open_session(&s, &good, now).is_ok());

    assert_eq!(
        s.open(&good[..MIN_TICKET_LEN - 1]).err(),
        Some(TicketError::BadLength)
    );
    assert_eq!(s.open(&[]).err(), Some(TicketError::BadLength));
    assert_eq!(
        s.open(&vec![3u8; 70_000]).err(),
        Some(TicketError::BadLength)
    );

    let mut other_name = good.clone();
    other_name[0] ^= 1;
    assert_eq!(s.open(&other_name).err(), Some(TicketError::UnknownKeyName));

    for at in [16, 27, 28, good.len() - 17, good.len() - 1] {
        let mut tampered = good.clone();
        tampered[at] ^= 0x80;
        assert_eq!(
            s.open(&tampered).err(),
            Some(TicketError::TagMismatch),
            "byte {at}"
        );
    }
    let mut truncated = good.clone();
    truncated.pop();
    assert_eq!(s.open(&truncated).err(), Some(TicketError::TagMismatch));

    let expired_at = now.saturating_add(HOUR);
    assert_eq!(
        open_session(&s, &good, expired_at).err(),
        Some(TicketError::Expired)
    );

    let junk = s.seal(b"\x01\x09not state").unwrap();
    assert!(matches!(
        open_session(&s, &junk, now).err(),
        Some(TicketError::Undecodable(_))
    ));
}

#[test]
fn nginx_key_files_import_by_length() {
    let mut f48 = vec![0xaa; 16];
    f48.extend([1u8; 32]);
    let mut f80 = vec![0xbb; 16];
    f80.extend([2u8; 64]);
    let k48 = import_nginx_key(&f48).unwrap();
    let k80 = import_nginx_key(&f80).unwrap();
    assert_eq!(k48.name(), &[0xaa; 16]);
    assert_eq!(k80.expose_secret().len(), 64);
    let s = AeadSealer::new(k80, HOUR).unwrap();
    let t = s.seal(b"from nginx keys").unwrap();
    assert_eq!(&t[..16], &[0xbb; 16]);
    assert!(s.open(&t).is_ok());

    for len in [0, 32, 47, 49, 79, 81] {
        assert_eq!(
            import_nginx_key(&vec![0; len]).err(),
            Some(KeyFileError::UnknownLength(len))
        );
    }
    assert_eq!(
        import_nginx_keys(&[&f48, &f48]).err(),
        Some(KeyFileError::DuplicateKeyName([0xaa; 16]))
    );
    assert_eq!(import_nginx_keys(&[&f48, &f80]).unwrap().len(), 2);
}

fn entries() -> Vec<KeyFileEntry> {
    (1u8..=3)
        .map(|i| KeyFileEntry {
            material: TicketKeyMaterial::new([i; 16], &[i; 32]).unwrap(),
            activates_at: Timestamp::from_secs(u64::from(i) * 3600),
        })
        .collect()
}

#[test]
fn own_key_file_round_trips() {
    let file = encode_key_file(&entries()).unwrap();
    assert_eq!(&file.expose_secret()[..7], b"TRSTEK\x01");
    let back = decode_key_file(file.expose_secret()).unwrap();
    assert_eq!(back.len(), 3);
    for (i, e) in back.iter().enumerate() {
        let n = i as u8 + 1;
        assert_eq!(e.material.name(), &[n; 16]);
        assert_eq!(e.material.expose_secret(), &[n; 32]);
        assert_eq!(e.activates_at, Timestamp::from_secs(u64::from(n) * 3600));
    }
}

#[test]
fn own_key_file_problems_are_named() {
    let good = encode_key_file(&entries())
        .unwrap()
        .expose_secret()
        .to_vec();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        decode_key_file(&b).err()
    };
    assert_eq!(edit(&|b| b[0] = b'X'), Some(KeyFileError::BadMagic));
    assert_eq!(decode_key_file(b"TRS").err(), Some(KeyFileError::BadMagic));
    assert_eq!(edit(&|b| b[6] = 2), Some(KeyFileError::UnknownVersion(2)));
    assert_eq!(edit(&|b| b[7] = 0), Some(KeyFileError::BadKeyCount(0)));
    // Any count up to 255 (a ring's capacity) is read; the missing keys are a truncation.
    assert_eq!(
        edit(&|b| b[7] = 255),
        Some(KeyFileError::Truncated("key name"))
    );
    assert_eq!(
        edit(&|b| b[7] = 4),
        Some(KeyFileError::Truncated("key name"))
    );
    assert_eq!(edit(&|b| b.push(0)), Some(KeyFileError::TrailingBytes));
    assert_eq!(
        edit(&|b| b.truncate(b.len() - 1)),
        Some(KeyFileError::Truncated("master key"))
    );
    // Second key's name made equal to the first's.
    assert_eq!(
        edit(&|b| b[8 + 57..8 + 57 + 16].copy_from_slice(&[1; 16])),
        Some(KeyFileError::DuplicateKeyName([1; 16]))
    );
    assert_eq!(encode_key_file(&[]).err(), Some(KeyFileError::NoKeys));
    let msg = KeyFileError::DuplicateKeyName([0xab; 16]).to_string();
    assert!(msg.contains("abababab"), "{msg}");
}

#[test]
fn committed_tickets_still_open_so_key_derivation_is_stable() {
    // Sealed once under the fixed fuzzing key (name 00…00, master 01…01); a change to the HKDF
    // derivation or the ticket layout would strand every ticket already issued, and this one.
    let s = AeadSealer::new(TicketKeyMaterial::new([0; 16], &[1; 32]).unwrap(), HOUR).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/ticket_open/tls13");
    let ticket = std::fs::read(path).unwrap();
    let (state, renew) = open_session(&s, &ticket, Timestamp::from_secs(1_000_000)).unwrap();
    assert!(!renew);
    assert_eq!(state.issued_at(), Timestamp::from_secs(999_500));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn any_plaintext_round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..600)) {
            let s = sealer(8);
            let t = s.seal(&plaintext).unwrap();
            prop_assert_eq!(t.len(), MIN_TICKET_LEN + plaintext.len());
            let opened = s.open(&t).unwrap();
            prop_assert_eq!(opened.plaintext.expose_secret(), &plaintext[..]);
        }

        #[test]
        fn arbitrary_tickets_are_rejected_without_panicking(
            tail in proptest::collection::vec(any::<u8>(), 0..200),
            known_name in any::<bool>(),
        ) {
            let s = sealer(8);
            let mut ticket = if known_name { vec![8u8; 16] } else { Vec::new() };
            ticket.extend(tail);
            prop_assert!(s.open(&ticket).is_err());
            prop_assert!(open_session(&s, &ticket, Timestamp::EPOCH).is_err());
        }
    }
}

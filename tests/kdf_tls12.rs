//! TLS 1.2 key derivation (RFC 5246 §5, §6.3, §7.4.9, §8.1; RFC 7627 §4) against the published
//! vectors, against OpenSSL as an independent oracle, and for its properties.

mod common;

use std::process::Command;

use common::json::Value;
use common::{hex, load_json, unhex, unhex_array};
use proptest::prelude::*;
use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::crypto::CryptoError;
use tls_resumption::kdf::tls12::{self, KeyMaterial, MasterSecret, WriteIv};
use tls_resumption::kdf::{HashAlgorithm, Side};

fn hash_named(name: &str) -> HashAlgorithm {
    match name {
        "sha256" => HashAlgorithm::Sha256,
        "sha384" => HashAlgorithm::Sha384,
        other => panic!("unknown hash {other}"),
    }
}

fn aead_of(vector_name: &str) -> AeadAlgorithm {
    if vector_name.contains("aes128gcm") {
        AeadAlgorithm::Aes128Gcm
    } else if vector_name.contains("aes256gcm") {
        AeadAlgorithm::Aes256Gcm
    } else if vector_name.contains("chacha20poly1305") {
        AeadAlgorithm::ChaCha20Poly1305
    } else {
        panic!("no AEAD in {vector_name}")
    }
}

#[test]
fn every_published_prf_vector_is_reproduced() {
    let data = load_json("tls12_prf.json");
    let vectors = data.get("vectors").array();
    assert!(vectors.len() >= 4);
    for v in vectors {
        let expected = unhex(v.get("output").str());
        let mut out = vec![0u8; expected.len()];
        tls12::prf(
            hash_named(v.get("hash").str()),
            &unhex(v.get("secret").str()),
            v.get("label").str().as_bytes(),
            &unhex(v.get("seed").str()),
            &mut out,
        );
        assert_eq!(hex(&out), hex(&expected), "{}", v.get("name").str());
    }
}

fn check_key_block(v: &Value, hash: HashAlgorithm, ms: &MasterSecret, randoms: &Value) {
    let name = v.get("name").str();
    let aead = aead_of(name);
    let client_random = unhex_array(randoms.get("client_random").str());
    let server_random = unhex_array(randoms.get("server_random").str());
    let expected = unhex(randoms.get("key_block").str());
    assert_eq!(expected.len(), tls12::key_block_len(aead), "{name}");
    let block = tls12::key_block(hash, ms, &server_random, &client_random, expected.len()).unwrap();
    assert_eq!(hex(block.expose_secret()), hex(&expected), "{name}");

    // The typed split follows the layout the vector states.
    let keys = KeyMaterial::derive(hash, aead, ms, &server_random, &client_random);
    let (k, i) = (aead.key_len(), tls12::iv_len(aead));
    assert_eq!(
        v.get("key_block_layout").str(),
        format!("client_write_key({k}) server_write_key({k}) client_iv({i}) server_iv({i})")
    );
    assert_eq!(keys.client.key.expose_secret(), &expected[..k]);
    assert_eq!(keys.server.key.expose_secret(), &expected[k..2 * k]);
    let ivs = [
        (&keys.client.iv, &expected[2 * k..2 * k + i]),
        (&keys.server.iv, &expected[2 * k + i..]),
    ];
    for (iv, bytes) in ivs {
        let nonce = iv.nonce(0);
        assert_eq!(&nonce[..i], bytes, "{name}");
        match iv {
            WriteIv::GcmSalt(_) => assert_eq!(iv.nonce(7)[4..], 7u64.to_be_bytes()),
            WriteIv::ChaCha(_) => assert_eq!(iv.nonce(7)[11], bytes[11] ^ 7),
        }
    }
    assert!(keys.write_keys(Side::Client).aead_key(aead).is_ok());
}

#[test]
fn every_published_master_secret_key_block_and_finished_is_reproduced() {
    let data = load_json("tls12_keys.json");
    let vectors = data.get("vectors").array();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let name = v.get("name").str();
        let hash = hash_named(v.get("hash").str());
        let pms = unhex(v.get("pre_master_secret").str());
        let ms = match v.try_get("session_hash") {
            Some(session_hash) => {
                tls12::extended_master_secret(hash, &pms, &unhex(session_hash.str())).unwrap()
            }
            None => tls12::master_secret(
                hash,
                &pms,
                &unhex_array(v.get("client_random").str()),
                &unhex_array(v.get("server_random").str()),
            ),
        };
        assert_eq!(
            hex(ms.expose_secret()),
            v.get("master_secret").str(),
            "{name}"
        );
        check_key_block(v, hash, &ms, v);

        let hh = unhex(v.get("handshake_hash").str());
        for (side, field) in [
            (Side::Client, "client_verify_data"),
            (Side::Server, "server_verify_data"),
        ] {
            let vd = tls12::finished_verify_data(hash, &ms, side, &hh).unwrap();
            assert_eq!(hex(&vd), v.get(field).str(), "{name} {field}");
            assert!(tls12::verify_finished(hash, &ms, side, &hh, &vd).is_ok());
        }
    }
}

#[test]
fn each_resumption_keeps_the_master_secret_and_gets_a_different_key_block() {
    let data = load_json("tls12_keys.json");
    for v in data.get("vectors").array() {
        let name = v.get("name").str();
        let hash = hash_named(v.get("hash").str());
        // An abbreviated handshake (RFC 5246 §7.3) reuses the cached master secret as is.
        let ms = MasterSecret::from_slice(&unhex(v.get("master_secret").str())).unwrap();
        let resumptions = v.get("resumptions").array();
        assert_eq!(resumptions.len(), 2, "{name}");
        let mut seen = vec![v.get("key_block").str().to_string()];
        for r in resumptions {
            check_key_block(v, hash, &ms, r);
            let kb = r.get("key_block").str().to_string();
            assert!(
                !seen.contains(&kb),
                "{name}: a resumption reused a key block"
            );
            seen.push(kb);
        }
    }
}

#[test]
fn wrong_lengths_are_errors_or_impossible_by_type() {
    let h = HashAlgorithm::Sha384;
    // Randoms are `[u8; 32]` and the master secret is 48 bytes by type; these are the
    // lengths a caller can still get wrong.
    assert!(MasterSecret::from_slice(&[0; 47]).is_err());
    assert_eq!(
        tls12::extended_master_secret(h, b"pms", &[0; 32]).unwrap_err(),
        CryptoError::InvalidLength {
            expected: 48,
            got: 32
        }
    );
    let ms = MasterSecret::zeroed();
    assert!(tls12::finished_verify_data(h, &ms, Side::Server, &[0; 32]).is_err());
    assert!(tls12::key_block(h, &ms, &[0; 32], &[0; 32], tls12::MAX_KEY_BLOCK_LEN).is_ok());
    assert!(matches!(
        tls12::key_block(h, &ms, &[0; 32], &[0; 32], tls12::MAX_KEY_BLOCK_LEN + 1),
        Err(CryptoError::OutputTooLong { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prf_output_of_length_n_is_a_prefix_of_length_m(
        secret in proptest::collection::vec(any::<u8>(), 0..100),
        seed in proptest::collection::vec(any::<u8>(), 0..100),
        n in 0usize..200,
        extra in 1usize..200,
        sha384 in any::<bool>(),
    ) {
        let h = if sha384 { HashAlgorithm::Sha384 } else { HashAlgorithm::Sha256 };
        let mut short = vec![0u8; n];
        let mut long = vec![0u8; n + extra];
        tls12::prf(h, &secret, b"prefix", &seed, &mut short);
        tls12::prf(h, &secret, b"prefix", &seed, &mut long);
        prop_assert_eq!(&long[..n], &short[..]);
    }

    #[test]
    fn master_secret_is_the_prf_over_client_then_server_random(
        pms in proptest::collection::vec(any::<u8>(), 1..64),
        client_random in any::<[u8; 32]>(),
        server_random in any::<[u8; 32]>(),
    ) {
        let h = HashAlgorithm::Sha256;
        let mut seed = client_random.to_vec();
        seed.extend_from_slice(&server_random);
        let mut expected = [0u8; 48];
        tls12::prf(h, &pms, b"master secret", &seed, &mut expected);
        let ms = tls12::master_secret(h, &pms, &client_random, &server_random);
        prop_assert!(ms.ct_eq_bytes(&expected));
    }
}

/// The TLS1-PRF of the `openssl` command line, or `None` when there is no openssl.
fn openssl_prf(
    hash: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let digest = match hash {
        HashAlgorithm::Sha256 => "SHA256",
        HashAlgorithm::Sha384 => "SHA384",
    };
    let mut full_seed = label.to_vec();
    full_seed.extend_from_slice(seed);
    let output = Command::new("openssl")
        .args(["kdf", "-keylen", &len.to_string()])
        .args(["-kdfopt", &format!("digest:{digest}")])
        .args(["-kdfopt", &format!("hexsecret:{}", hex(secret))])
        .args(["-kdfopt", &format!("hexseed:{}", hex(&full_seed))])
        .arg("TLS1-PRF")
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "openssl kdf failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // openssl prints colon-separated uppercase hex.
    let text: String = String::from_utf8_lossy(&output.stdout)
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    Some(unhex(&text))
}

fn openssl_present() -> bool {
    let present = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !present {
        assert!(
            std::env::var("REQUIRE_INTEROP").as_deref() != Ok("1"),
            "REQUIRE_INTEROP=1 but the openssl command is not available"
        );
        println!(
            "skipped: the openssl command is not available (set REQUIRE_INTEROP=1 to fail instead)"
        );
    }
    present
}

#[test]
fn prf_agrees_with_openssl_tls1_prf_on_random_inputs() {
    if !openssl_present() {
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(32));
    let inputs = (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 1..80),
        proptest::collection::vec(any::<u8>(), 1..24),
        // Up to 200 bytes so both the short (joined on the stack) and the long path run.
        proptest::collection::vec(any::<u8>(), 0..200),
        1usize..300,
    );
    runner
        .run(&inputs, |(sha384, secret, label, seed, len)| {
            let h = if sha384 {
                HashAlgorithm::Sha384
            } else {
                HashAlgorithm::Sha256
            };
            let mut ours = vec![0u8; len];
            tls12::prf(h, &secret, &label, &seed, &mut ours);
            let theirs = openssl_prf(h, &secret, &label, &seed, len).expect("openssl ran before");
            prop_assert_eq!(hex(&ours), hex(&theirs));
            Ok(())
        })
        .unwrap();
}

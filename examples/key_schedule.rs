//! What resumption reuses and what it renews: a TLS 1.2 session resumed twice and a TLS 1.3
//! PSK resumed twice, derived with `tls_resumption::kdf`.
//!
//! Every value is shown as a fingerprint, the first 8 hex digits of SHA-256 of the secret,
//! never the secret itself. Run with `cargo run --example key_schedule`.

use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::digest::{self, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use tls_resumption::crypto::secret::Secret;
use tls_resumption::kdf::tls12::{self, KeyMaterial, MasterSecret, Random};
use tls_resumption::kdf::tls13::{BinderKind, CipherSuite, KeySchedule};
use tls_resumption::kdf::HashAlgorithm;

/// First 8 hex digits of SHA-256 of `secret`: enough to tell values apart, useless to an
/// attacker.
fn fingerprint(secret: &[u8]) -> String {
    digest::digest(&SHA256, secret).as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random<const N: usize>(rng: &SystemRandom) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill(&mut out).expect("the system RNG works");
    out
}

/// A fresh X25519 exchange between a client and a server, as each handshake makes: the
/// shared secret both sides compute.
fn x25519_shared_secret(rng: &SystemRandom) -> Secret {
    let client = EphemeralPrivateKey::generate(&X25519, rng).expect("key generation");
    let server = EphemeralPrivateKey::generate(&X25519, rng).expect("key generation");
    let server_public = server.compute_public_key().expect("public key");
    agreement::agree_ephemeral(
        client,
        &UnparsedPublicKey::new(&X25519, server_public.as_ref()),
        |shared| Secret::from_slice(shared).expect("32 bytes fit"),
    )
    .expect("agreement")
}

/// Marks a fingerprint as the same as in the first row of its table, or new. The first row
/// itself has nothing to compare with.
fn compare(first: Option<&[String]>, now: &[String]) -> Vec<String> {
    now.iter()
        .enumerate()
        .map(|(i, n)| match first {
            None => n.clone(),
            Some(f) if f[i] == *n => format!("{n} same"),
            Some(_) => format!("{n} new"),
        })
        .collect()
}

fn tls12(rng: &SystemRandom) {
    let hash = HashAlgorithm::Sha256;
    let aead = tls_resumption::crypto::aead::AeadAlgorithm::Aes128Gcm;
    println!("TLS 1.2, ECDHE with AES-128-GCM and SHA-256, extended master secret (RFC 7627)");
    println!();

    // The full handshake: a fresh pre-master secret and a hash of its transcript.
    let pre_master_secret: [u8; 32] = random(rng);
    let session_hash = digest::digest(&SHA256, &random::<64>(rng));
    let master_secret: MasterSecret =
        tls12::extended_master_secret(hash, &pre_master_secret, session_hash.as_ref())
            .expect("SHA-256 session hash");

    println!("  connection       master_secret   client_key      server_key      client_iv       server_iv");
    let mut first: Option<Vec<String>> = None;
    for name in ["full handshake", "resumption 1", "resumption 2"] {
        // Each connection, resumed or not, brings its own randoms (RFC 5246 §7.4.1.2); an
        // abbreviated handshake (§7.3) keeps the master secret and runs the key expansion
        // (§6.3) again over them.
        let client_random: Random = random(rng);
        let server_random: Random = random(rng);
        let keys = KeyMaterial::derive(hash, aead, &master_secret, &server_random, &client_random);
        let iv = |iv: &tls12::WriteIv| fingerprint(&iv.nonce(0)[..iv.len()]);
        let now = [
            fingerprint(master_secret.expose_secret()),
            fingerprint(keys.client.key.expose_secret()),
            fingerprint(keys.server.key.expose_secret()),
            iv(&keys.client.iv),
            iv(&keys.server.iv),
        ];
        let cells = compare(first.as_deref(), &now);
        first.get_or_insert(now.to_vec());
        println!(
            "  {:<16} {:<15} {:<15} {:<15} {:<15} {}",
            name, cells[0], cells[1], cells[2], cells[3], cells[4]
        );
    }
    println!();
    println!("  The master secret is the session: every resumption reuses it. The write keys and");
    println!("  IVs come from it and the new connection's randoms, so they change every time;");
    println!("  but whoever learns the master secret (or the ticket key sealing it) learns all.");
    println!();
}

fn tls13(rng: &SystemRandom) {
    let suite = CipherSuite::Aes128GcmSha256;
    let (hash, aead) = (suite.hash(), suite.aead());
    let transcript = |rng: &SystemRandom| digest::digest(&SHA256, &random::<64>(rng));
    println!("TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, psk_dhe_ke (RFC 8446 §4.2.9)");
    println!();

    // The full handshake that issues the ticket.
    let handshake = KeySchedule::full_handshake(hash, x25519_shared_secret(rng).expose_secret());
    let master = handshake.into_master_secret();
    let resumption_master_secret = master
        .into_resumption_master_secret(transcript(rng).as_ref())
        .expect("SHA-256 transcript");
    let ticket_nonce = [0u8, 0];
    let psk = resumption_master_secret
        .resumption_psk(&ticket_nonce)
        .expect("short nonce");
    println!(
        "  full handshake: resumption_master_secret {}, ticket PSK (nonce 0000) {}",
        fingerprint(resumption_master_secret.secret().expose_secret()),
        fingerprint(psk.expose_secret())
    );
    println!();
    println!("  connection     early_secret   binder_key     hs_secret      c_ap_key       s_ap_key       next_PSK");

    let mut first: Option<Vec<String>> = None;
    for name in ["resumption 1", "resumption 2"] {
        // The client offers the same ticket both times here (a client should rather use each
        // ticket once, RFC 8446 §C.4), to show what the PSK alone fixes.
        let early = KeySchedule::with_psk(hash, psk.expose_secret());
        let early_fp = fingerprint(early.secret().expose_secret());
        let binder_fp = fingerprint(
            early
                .binder_key(BinderKind::Resumption)
                .secret()
                .expose_secret(),
        );
        // Fresh X25519 for this connection: psk_dhe_ke.
        let handshake = early.psk_dhe_ke(x25519_shared_secret(rng).expose_secret());
        let hs_fp = fingerprint(handshake.secret().expose_secret());
        let master = handshake.into_master_secret();
        let app = master
            .application_secrets(transcript(rng).as_ref())
            .expect("SHA-256 transcript");
        let c_key = app.traffic.client.traffic_keys(aead);
        let s_key = app.traffic.server.traffic_keys(aead);
        let next_psk = master
            .into_resumption_master_secret(transcript(rng).as_ref())
            .and_then(|rms| rms.resumption_psk(&ticket_nonce))
            .expect("SHA-256 transcript");
        let now = [
            early_fp,
            binder_fp,
            hs_fp,
            fingerprint(c_key.key.expose_secret()),
            fingerprint(s_key.key.expose_secret()),
            fingerprint(next_psk.expose_secret()),
        ];
        let cells = compare(first.as_deref(), &now);
        first.get_or_insert(now.to_vec());
        println!(
            "  {:<14} {:<14} {:<14} {:<14} {:<14} {:<14} {}",
            name, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
        );
    }
    println!();
    println!("  The PSK fixes the early secret and binder key (and would fix 0-RTT keys): they");
    println!("  repeat whenever a ticket is reused. The fresh X25519 secret enters at the");
    println!("  handshake secret, so from there on every secret and key is new, and a later leak");
    println!("  of the PSK does not open these connections. The next ticket's PSK is new too.");
}

fn main() {
    let rng = SystemRandom::new();
    println!("Randoms, pre-master secrets and X25519 keys come from ring's SystemRandom, so the");
    println!("fingerprints differ on every run; transcript hashes are hashes of random bytes");
    println!("standing in for handshake messages. Fingerprint = first 8 hex digits of SHA-256;");
    println!("\"same\"/\"new\" compare each value with the first row of its table.");
    println!();
    tls12(&rng);
    tls13(&rng);
}

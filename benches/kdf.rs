//! Key derivations of a resumed connection, three lines per group measured in the same run:
//!
//! - `ours`: `tls_resumption::kdf`;
//! - `rustls`: the same derivation through rustls's public provider API (`Prf::for_secret`,
//!   `Hkdf`), the anchor;
//! - `floor`: the bare ring HMAC calls the derivation cannot avoid (one key setup per secret,
//!   one HMAC per output block, labels prebuilt), the floor.
//!
//! Inputs are fixed; only the derivation is timed.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use ring::hmac;
use rustls::crypto::ring::cipher_suite;
use rustls::crypto::tls13::{Hkdf, HkdfExpander, OkmBlock};
use rustls::SupportedCipherSuite;
use std::hint::black_box;
use tls_resumption::crypto::aead::AeadAlgorithm;
use tls_resumption::kdf::tls12::{self, KeyMaterial, MasterSecret};
use tls_resumption::kdf::tls13::{BinderKind, KeySchedule};
use tls_resumption::kdf::HashAlgorithm;

fn tls12_suite(s: SupportedCipherSuite) -> &'static rustls::Tls12CipherSuite {
    match s {
        SupportedCipherSuite::Tls12(s) => s,
        _ => unreachable!("a TLS 1.2 suite"),
    }
}

fn tls13_suite(s: SupportedCipherSuite) -> &'static rustls::Tls13CipherSuite {
    match s {
        SupportedCipherSuite::Tls13(s) => s,
        _ => unreachable!("a TLS 1.3 suite"),
    }
}

/// The floor of the TLS 1.2 PRF: `label ‖ seed` joined once, A(1), then per block P(i) and
/// (if another follows) A(i+1).
fn floor_prf(key: &hmac::Key, label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let mut joined = [0u8; 128];
    let mut len = 0;
    for piece in std::iter::once(&label).chain(seed) {
        joined[len..len + piece.len()].copy_from_slice(piece);
        len += piece.len();
    }
    let joined = &joined[..len];
    let mut a = hmac::sign(key, joined);
    let block_len = key.algorithm().digest_algorithm().output_len();
    let blocks = out.len().div_ceil(block_len);
    for (i, chunk) in out.chunks_mut(block_len).enumerate() {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(a.as_ref());
        ctx.update(joined);
        let p = ctx.sign();
        chunk.copy_from_slice(&p.as_ref()[..chunk.len()]);
        if i + 1 < blocks {
            a = hmac::sign(key, a.as_ref());
        }
    }
}

fn tls12_key_block(c: &mut Criterion) {
    let ms = MasterSecret::new([0x42; 48]);
    let client_random = [0x11u8; 32];
    let server_random = [0x22u8; 32];
    let cases = [
        (
            "sha256_aes128gcm",
            HashAlgorithm::Sha256,
            AeadAlgorithm::Aes128Gcm,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            hmac::HMAC_SHA256,
        ),
        (
            "sha384_aes256gcm",
            HashAlgorithm::Sha384,
            AeadAlgorithm::Aes256Gcm,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            hmac::HMAC_SHA384,
        ),
    ];
    for (name, hash, aead, suite, hmac_alg) in cases {
        let mut g = c.benchmark_group(format!("tls12_resumption_key_block/{name}"));
        let len = tls12::key_block_len(aead);
        let prf = tls12_suite(suite).prf_provider;
        // The three lines must compute the same bytes, or the comparison means nothing.
        {
            let ours = tls12::key_block(hash, &ms, &server_random, &client_random, len).unwrap();
            let mut seed = server_random.to_vec();
            seed.extend_from_slice(&client_random);
            let mut anchor = vec![0u8; len];
            prf.for_secret(&mut anchor, ms.expose_secret(), b"key expansion", &seed);
            let mut floor = vec![0u8; len];
            let key = hmac::Key::new(hmac_alg, ms.expose_secret());
            floor_prf(
                &key,
                b"key expansion",
                &[&server_random, &client_random],
                &mut floor,
            );
            assert_eq!(ours.expose_secret(), &anchor[..]);
            assert_eq!(anchor, floor);
        }
        g.bench_function("ours", |b| {
            b.iter(|| {
                KeyMaterial::derive(
                    hash,
                    aead,
                    black_box(&ms),
                    black_box(&server_random),
                    black_box(&client_random),
                )
            })
        });
        g.bench_function("rustls", |b| {
            b.iter(|| {
                let mut seed = [0u8; 64];
                seed[..32].copy_from_slice(black_box(&server_random));
                seed[32..].copy_from_slice(black_box(&client_random));
                let mut out = [0u8; 88];
                prf.for_secret(
                    &mut out[..len],
                    black_box(ms.expose_secret()),
                    b"key expansion",
                    &seed,
                );
                out
            })
        });
        g.bench_function("floor", |b| {
            b.iter(|| {
                let key = hmac::Key::new(hmac_alg, black_box(ms.expose_secret()));
                let mut out = [0u8; 88];
                floor_prf(
                    &key,
                    b"key expansion",
                    &[black_box(&server_random), black_box(&client_random)],
                    &mut out[..len],
                );
                out
            })
        });
        g.finish();
    }
}

fn tls12_ems(c: &mut Criterion) {
    let pms = [0x33u8; 32];
    let session_hash = [0x44u8; 32];
    let mut g = c.benchmark_group("tls12_ems_master_secret/sha256");
    g.bench_function("ours", |b| {
        b.iter(|| {
            tls12::extended_master_secret(
                HashAlgorithm::Sha256,
                black_box(&pms),
                black_box(&session_hash),
            )
        })
    });
    let prf = tls12_suite(cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256).prf_provider;
    g.bench_function("rustls", |b| {
        b.iter(|| {
            let mut out = [0u8; 48];
            prf.for_secret(
                &mut out,
                black_box(&pms),
                b"extended master secret",
                black_box(&session_hash),
            );
            out
        })
    });
    g.bench_function("floor", |b| {
        b.iter(|| {
            let key = hmac::Key::new(hmac::HMAC_SHA256, black_box(&pms));
            let mut out = [0u8; 48];
            floor_prf(
                &key,
                b"extended master secret",
                &[black_box(&session_hash)],
                &mut out,
            );
            out
        })
    });
    g.finish();
}

/// An HkdfLabel (RFC 8446 §7.1), built once outside the timed loop for the floor.
fn hkdf_label(len: usize, label: &[u8], context: &[u8]) -> Vec<u8> {
    let mut info = (len as u16).to_be_bytes().to_vec();
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    info.push(1); // HKDF-Expand's block counter: every output here is one block or less.
    info
}

/// HKDF-Expand-Label through rustls's provider: the info pieces as rustls's key schedule
/// passes them.
fn rustls_label(expander: &dyn HkdfExpander, label: &[u8], context: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    let label_len = [(6 + label.len()) as u8];
    let context_len = [context.len() as u8];
    let info: [&[u8]; 6] = [&len, &label_len, b"tls13 ", label, &context_len, context];
    expander
        .expand_slice(&info, out)
        .unwrap_or_else(|_| unreachable!("outputs here are one block"));
}

fn rustls_block(expander: &dyn HkdfExpander, label: &[u8], context: &[u8]) -> OkmBlock {
    let mut out = [0u8; 32];
    rustls_label(expander, label, context, &mut out);
    OkmBlock::new(&out)
}

const EMPTY_SHA256: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

fn tls13_binder(c: &mut Criterion) {
    let psk = [0x55u8; 32];
    let truncated_hello_hash = [0x66u8; 32];
    let mut g = c.benchmark_group("tls13_binder/sha256");
    g.bench_function("ours", |b| {
        b.iter(|| {
            KeySchedule::with_psk(HashAlgorithm::Sha256, black_box(&psk))
                .binder_key(BinderKind::Resumption)
                .binder(black_box(&truncated_hello_hash))
        })
    });
    let hkdf: &dyn Hkdf = tls13_suite(cipher_suite::TLS13_AES_128_GCM_SHA256).hkdf_provider;
    g.bench_function("rustls", |b| {
        b.iter(|| {
            let early = hkdf.extract_from_secret(None, black_box(&psk));
            let binder_key = rustls_block(early.as_ref(), b"res binder", &EMPTY_SHA256);
            let finished_key = rustls_block(
                hkdf.expander_for_okm(&binder_key).as_ref(),
                b"finished",
                &[],
            );
            hkdf.hmac_sign(&finished_key, black_box(&truncated_hello_hash))
        })
    });
    let binder_info = hkdf_label(32, b"res binder", &EMPTY_SHA256);
    let finished_info = hkdf_label(32, b"finished", &[]);
    {
        let ours = KeySchedule::with_psk(HashAlgorithm::Sha256, &psk)
            .binder_key(BinderKind::Resumption)
            .binder(&truncated_hello_hash)
            .unwrap();
        let early = hkdf.extract_from_secret(None, &psk);
        let bk = rustls_block(early.as_ref(), b"res binder", &EMPTY_SHA256);
        let fk = rustls_block(hkdf.expander_for_okm(&bk).as_ref(), b"finished", &[]);
        assert_eq!(
            ours.as_ref(),
            hkdf.hmac_sign(&fk, &truncated_hello_hash).as_ref()
        );
    }
    let zero_salt = hmac::Key::new(hmac::HMAC_SHA256, &[]);
    g.bench_function("floor", |b| {
        b.iter(|| {
            let early = hmac::sign(&zero_salt, black_box(&psk));
            let bk = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, early.as_ref()),
                &binder_info,
            );
            let fk = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, bk.as_ref()),
                &finished_info,
            );
            hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, fk.as_ref()),
                black_box(&truncated_hello_hash),
            )
        })
    });
    g.finish();
}

/// The transcript hashes a resumed handshake feeds the schedule, as fixed inputs.
struct Transcript {
    truncated_hello: [u8; 32],
    ch_sh: [u8; 32],
    through_cv: [u8; 32],
    through_sf: [u8; 32],
    through_cf: [u8; 32],
}

const T: Transcript = Transcript {
    truncated_hello: [1; 32],
    ch_sh: [2; 32],
    through_cv: [3; 32],
    through_sf: [4; 32],
    through_cf: [5; 32],
};

/// What one resumed psk_dhe_ke handshake derives, through the PSK of the next ticket: binder,
/// handshake traffic secrets and keys, both Finished, application traffic secrets and keys,
/// exporter and resumption master secrets, next PSK.
fn ours_resumed_schedule(psk: &[u8], ecdhe: &[u8]) -> tls_resumption::crypto::secret::Secret {
    let aead = AeadAlgorithm::Aes128Gcm;
    let early = KeySchedule::with_psk(HashAlgorithm::Sha256, psk);
    let binder = early
        .binder_key(BinderKind::Resumption)
        .binder(&T.truncated_hello);
    let handshake = early.psk_dhe_ke(ecdhe);
    let hs = handshake.traffic_secrets(&T.ch_sh).ok();
    let hs_keys = hs
        .as_ref()
        .map(|s| (s.client.traffic_keys(aead), s.server.traffic_keys(aead)));
    let finished = hs.as_ref().map(|s| {
        (
            s.server.finished_verify_data(&T.through_cv),
            s.client.finished_verify_data(&T.through_sf),
        )
    });
    let master = handshake.into_master_secret();
    let app = master.application_secrets(&T.through_sf).ok();
    let app_keys = app.as_ref().map(|a| {
        (
            a.traffic.client.traffic_keys(aead),
            a.traffic.server.traffic_keys(aead),
        )
    });
    let _ = black_box((binder, hs_keys, finished, app_keys));
    master
        .into_resumption_master_secret(&T.through_cf)
        .and_then(|rms| rms.resumption_psk(&[0, 1]))
        .unwrap_or_else(|_| unreachable!())
}

fn rustls_resumed_schedule(hkdf: &dyn Hkdf, psk: &[u8], ecdhe: &[u8]) -> OkmBlock {
    let early = hkdf.extract_from_secret(None, psk);
    let binder_key = rustls_block(early.as_ref(), b"res binder", &EMPTY_SHA256);
    let fk = rustls_block(
        hkdf.expander_for_okm(&binder_key).as_ref(),
        b"finished",
        &[],
    );
    let binder = hkdf.hmac_sign(&fk, &T.truncated_hello);
    let derived = rustls_block(early.as_ref(), b"derived", &EMPTY_SHA256);
    let handshake = hkdf.extract_from_secret(Some(derived.as_ref()), ecdhe);
    let keys = |secret: &OkmBlock| {
        let e = hkdf.expander_for_okm(secret);
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        rustls_label(e.as_ref(), b"key", &[], &mut key);
        rustls_label(e.as_ref(), b"iv", &[], &mut iv);
        black_box((key, iv));
    };
    let c_hs = rustls_block(handshake.as_ref(), b"c hs traffic", &T.ch_sh);
    let s_hs = rustls_block(handshake.as_ref(), b"s hs traffic", &T.ch_sh);
    keys(&c_hs);
    keys(&s_hs);
    let finished = |secret: &OkmBlock, th: &[u8]| {
        let fk = rustls_block(hkdf.expander_for_okm(secret).as_ref(), b"finished", &[]);
        hkdf.hmac_sign(&fk, th)
    };
    let sf = finished(&s_hs, &T.through_cv);
    let cf = finished(&c_hs, &T.through_sf);
    let derived = rustls_block(handshake.as_ref(), b"derived", &EMPTY_SHA256);
    let master = hkdf.extract_from_zero_ikm(Some(derived.as_ref()));
    let c_ap = rustls_block(master.as_ref(), b"c ap traffic", &T.through_sf);
    let s_ap = rustls_block(master.as_ref(), b"s ap traffic", &T.through_sf);
    let exporter = rustls_block(master.as_ref(), b"exp master", &T.through_sf);
    keys(&c_ap);
    keys(&s_ap);
    let rms = rustls_block(master.as_ref(), b"res master", &T.through_cf);
    black_box((binder, sf, cf, exporter));
    rustls_block(hkdf.expander_for_okm(&rms).as_ref(), b"resumption", &[0, 1])
}

/// The same derivations as bare HMACs: one key setup per secret, one HMAC per output.
struct FloorInfos {
    res_binder: Vec<u8>,
    finished: Vec<u8>,
    derived: Vec<u8>,
    c_hs: Vec<u8>,
    s_hs: Vec<u8>,
    key: Vec<u8>,
    iv: Vec<u8>,
    c_ap: Vec<u8>,
    s_ap: Vec<u8>,
    exp: Vec<u8>,
    res: Vec<u8>,
    resumption: Vec<u8>,
}

fn floor_infos() -> FloorInfos {
    FloorInfos {
        res_binder: hkdf_label(32, b"res binder", &EMPTY_SHA256),
        finished: hkdf_label(32, b"finished", &[]),
        derived: hkdf_label(32, b"derived", &EMPTY_SHA256),
        c_hs: hkdf_label(32, b"c hs traffic", &T.ch_sh),
        s_hs: hkdf_label(32, b"s hs traffic", &T.ch_sh),
        key: hkdf_label(16, b"key", &[]),
        iv: hkdf_label(12, b"iv", &[]),
        c_ap: hkdf_label(32, b"c ap traffic", &T.through_sf),
        s_ap: hkdf_label(32, b"s ap traffic", &T.through_sf),
        exp: hkdf_label(32, b"exp master", &T.through_sf),
        res: hkdf_label(32, b"res master", &T.through_cf),
        resumption: hkdf_label(32, b"resumption", &[0, 1]),
    }
}

fn floor_resumed_schedule(
    i: &FloorInfos,
    zero_salt: &hmac::Key,
    psk: &[u8],
    ecdhe: &[u8],
) -> hmac::Tag {
    let alg = hmac::HMAC_SHA256;
    let key = |secret: &[u8]| hmac::Key::new(alg, secret);
    let early_secret = hmac::sign(zero_salt, psk);
    let early = key(early_secret.as_ref());
    let bk = hmac::sign(&early, &i.res_binder);
    let fk = hmac::sign(&key(bk.as_ref()), &i.finished);
    let binder = hmac::sign(&key(fk.as_ref()), &T.truncated_hello);
    let derived = hmac::sign(&early, &i.derived);
    let handshake = key(hmac::sign(&key(derived.as_ref()), ecdhe).as_ref());
    let traffic = |k: &hmac::Key, th: Option<&[u8]>| {
        let fk = hmac::sign(k, &i.finished);
        black_box((
            hmac::sign(k, &i.key),
            hmac::sign(k, &i.iv),
            th.map(|th| hmac::sign(&key(fk.as_ref()), th)),
        ));
    };
    let c_hs = key(hmac::sign(&handshake, &i.c_hs).as_ref());
    let s_hs = key(hmac::sign(&handshake, &i.s_hs).as_ref());
    traffic(&c_hs, Some(&T.through_sf));
    traffic(&s_hs, Some(&T.through_cv));
    let derived = hmac::sign(&handshake, &i.derived);
    let master = key(hmac::sign(&key(derived.as_ref()), &[0u8; 32]).as_ref());
    let c_ap = hmac::sign(&master, &i.c_ap);
    let s_ap = hmac::sign(&master, &i.s_ap);
    let exp = hmac::sign(&master, &i.exp);
    // Application secrets need no Finished key: only their key and IV.
    for s in [&c_ap, &s_ap] {
        let k = key(s.as_ref());
        black_box((hmac::sign(&k, &i.key), hmac::sign(&k, &i.iv)));
    }
    let rms = hmac::sign(&master, &i.res);
    black_box((binder, exp));
    hmac::sign(&key(rms.as_ref()), &i.resumption)
}

fn tls13_resumed_schedule(c: &mut Criterion) {
    let psk = [0x77u8; 32];
    let ecdhe = [0x88u8; 32];
    let mut g: BenchmarkGroup<'_, _> =
        c.benchmark_group("tls13_resumed_psk_dhe_ke_schedule/sha256");
    g.bench_function("ours", |b| {
        b.iter(|| ours_resumed_schedule(black_box(&psk), black_box(&ecdhe)))
    });
    let hkdf: &dyn Hkdf = tls13_suite(cipher_suite::TLS13_AES_128_GCM_SHA256).hkdf_provider;
    g.bench_function("rustls", |b| {
        b.iter(|| rustls_resumed_schedule(hkdf, black_box(&psk), black_box(&ecdhe)))
    });
    let infos = floor_infos();
    // The HMAC key of the zero salt of every early secret is a constant: set up once.
    let zero_salt = hmac::Key::new(hmac::HMAC_SHA256, &[]);
    {
        let ours = ours_resumed_schedule(&psk, &ecdhe);
        let anchor = rustls_resumed_schedule(hkdf, &psk, &ecdhe);
        let floor = floor_resumed_schedule(&infos, &zero_salt, &psk, &ecdhe);
        assert_eq!(ours.expose_secret(), anchor.as_ref());
        assert_eq!(anchor.as_ref(), floor.as_ref());
    }
    g.bench_function("floor", |b| {
        b.iter(|| floor_resumed_schedule(&infos, &zero_salt, black_box(&psk), black_box(&ecdhe)))
    });
    g.finish();
}

criterion_group!(
    benches,
    tls12_key_block,
    tls12_ems,
    tls13_binder,
    tls13_resumed_schedule
);
criterion_main!(benches);

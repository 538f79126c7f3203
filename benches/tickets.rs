//! Seal + open of a TLS 1.3 session state (~100 bytes): ours (one key and the rotating ring),
//! the anchor (rustls's `Ticketer`, sealing the same bytes) and the floor (the ring calls our
//! construction cannot avoid: one HMAC-SHA256 over count ‖ plaintext for the synthetic nonce,
//! one AEAD seal and one AEAD open), on 1 and 2 threads in the same run.
//!
//! Goals: at least 1.5× rustls's throughput, at most 1.3× the floor's time.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ring::{aead, hmac};
use tls_resumption::crypto::secret::Secret;
use tls_resumption::session::{SessionState, Tls13Session};
use tls_resumption::ticket::{
    AeadSealer, RotatingSealer, Schedule, TicketKeyMaterial, TicketSealer,
};
use tls_resumption::time::{CoarseClock, SystemClock, Timestamp};

fn tls13_state() -> Vec<u8> {
    let state = SessionState::Tls13(Tls13Session {
        cipher_suite: 0x1302,
        resumption_psk: Secret::from_slice(&[7; 48]).unwrap(),
        ticket_age_add: 0x1234_5678,
        lifetime_secs: 7 * 86400,
        max_early_data: 16384,
        server_name: Some("www.example.com".into()),
        alpn: Some(b"http/1.1".to_vec()),
        issued_at: Timestamp::from_secs(1_700_000_000),
        auth_time: None,
    });
    state.encode().unwrap().expose_secret().to_vec()
}

/// Runs `op` `iters` times on each of `threads` threads at once; the wall time of the whole.
fn parallel(threads: usize, iters: u64, op: &(dyn Fn() + Sync)) -> Duration {
    if threads == 1 {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        return start.elapsed();
    }
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..iters {
                    op();
                }
            });
        }
    });
    start.elapsed()
}

struct Floor {
    key: aead::LessSafeKey,
    nonce_key: hmac::Key,
}

thread_local! {
    static FLOOR_COUNT: Cell<u64> = const { Cell::new(0) };
}

impl Floor {
    fn seal_open(&self, plaintext: &[u8]) {
        let n = FLOOR_COUNT.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        let mut ctx = hmac::Context::with_key(&self.nonce_key);
        ctx.update(&n.to_be_bytes());
        ctx.update(plaintext);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&ctx.sign().as_ref()[..12]);
        let mut buf = Vec::with_capacity(plaintext.len() + 16);
        buf.extend_from_slice(plaintext);
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&[0u8; 16]),
                &mut buf,
            )
            .unwrap();
        let out = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&[0u8; 16]),
                &mut buf,
            )
            .unwrap();
        black_box(out);
    }
}

fn seal_open(c: &mut Criterion) {
    let plaintext = tls13_state();
    let ours = AeadSealer::new(
        TicketKeyMaterial::new([1; 16], &[2; 32]).unwrap(),
        Duration::from_secs(3600),
    )
    .unwrap();
    let rotating = RotatingSealer::new(Arc::new(SystemClock), Schedule::default()).unwrap();
    // The same ring on the cached system clock (an atomic load per read): the difference to
    // the line above is the system clock (two reads per seal + open).
    let coarse = CoarseClock::start(Duration::from_millis(10)).unwrap();
    let rotating_coarse = RotatingSealer::new(Arc::new(coarse), Schedule::default()).unwrap();
    let rustls = rustls::crypto::ring::Ticketer::new().unwrap();
    let floor = Floor {
        key: aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &[3; 32]).unwrap()),
        nonce_key: hmac::Key::new(hmac::HMAC_SHA256, &[4; 32]),
    };

    let mut group = c.benchmark_group(format!("seal_open_tls13_state_{}B", plaintext.len()));
    for threads in [1usize, 2] {
        group.throughput(Throughput::Elements(threads as u64));
        let p = &plaintext;
        group.bench_function(BenchmarkId::new("ours_aead_sealer", threads), |b| {
            b.iter_custom(|iters| {
                parallel(threads, iters, &|| {
                    let t = ours.seal(black_box(p)).unwrap();
                    black_box(ours.open(&t).unwrap());
                })
            })
        });
        group.bench_function(BenchmarkId::new("ours_rotating_sealer", threads), |b| {
            b.iter_custom(|iters| {
                parallel(threads, iters, &|| {
                    let t = rotating.seal(black_box(p)).unwrap();
                    black_box(rotating.open(&t).unwrap());
                })
            })
        });
        group.bench_function(
            BenchmarkId::new("ours_rotating_coarse_clock", threads),
            |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, &|| {
                        let t = rotating_coarse.seal(black_box(p)).unwrap();
                        black_box(rotating_coarse.open(&t).unwrap());
                    })
                })
            },
        );
        group.bench_function(BenchmarkId::new("rustls_ticketer", threads), |b| {
            b.iter_custom(|iters| {
                parallel(threads, iters, &|| {
                    let t = rustls.encrypt(black_box(p)).unwrap();
                    black_box(rustls.decrypt(&t).unwrap());
                })
            })
        });
        group.bench_function(BenchmarkId::new("ring_floor", threads), |b| {
            b.iter_custom(|iters| parallel(threads, iters, &|| floor.seal_open(black_box(p))))
        });
    }
    group.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);

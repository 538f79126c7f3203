//! Session-cache operation mix on 10k and 1M entries, 1 and 2 threads: ours (`MemoryCache`,
//! byte-level API, system clock) and the anchor (rustls's `ServerSessionMemoryCache`) in the
//! same run. One iteration = a `get` of a random cached session, a `put` of a new one and a
//! `take` of it (a TLS 1.2 resumption, a new full handshake, a single-use TLS 1.3 ticket).
//! rustls's `take` scans its eviction queue (linear in the entries held), so a second group
//! without `take` (a `get` and a `put`) compares the two where both are constant time.
//!
//! Goals: get+put at 1 thread no slower than rustls at either size; at least 2× rustls at 2
//! threads; no slowdown from 10k to 1M beyond cache effects. Instruction and cache-miss counts
//! per get + put, which do not depend on machine load, come from `examples/cache_ops.rs` (the
//! same loop) under `valgrind --tool=callgrind`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use tls_resumption::store::MemoryCache;
use tls_resumption::time::{SystemClock, Timestamp};

const VALUE_LEN: usize = 86; // an encoded TLS 1.2 session with SNI and ALPN

fn key(i: u64) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&i.to_be_bytes());
    k[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    k
}

/// xorshift64: a cheap per-thread random index, so lookups touch the whole cache.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A key no other thread and no prefilled entry uses.
fn fresh_key(thread: u64, i: u64) -> [u8; 32] {
    key((1 << 40) + (thread << 36) + i)
}

fn parallel(threads: usize, iters: u64, op: &(dyn Fn(u64, u64, &mut u64) + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let mut rng = 0x2545_f491_4f6c_dd1d ^ (t as u64 + 1);
                for i in 0..iters {
                    op(t as u64, i, &mut rng);
                }
            });
        }
    });
    start.elapsed()
}

fn cache_mix(c: &mut Criterion) {
    let value = vec![0x5a; VALUE_LEN];
    let expires = Timestamp::from_secs(u64::MAX / 2000);
    for entries in [10_000u64, 1_000_000] {
        // Room for the prefill plus the (taken-again) fresh entries, so the mix measures hits.
        let ours = MemoryCache::builder()
            .capacity(entries as usize * 2)
            .clock(Arc::new(SystemClock))
            .build();
        let theirs = ServerSessionMemoryCache::new(entries as usize * 2);
        for i in 0..entries {
            ours.put_bytes(&key(i), &value, expires).unwrap();
            theirs.put(key(i).to_vec(), value.clone());
        }
        let mut group = c.benchmark_group(format!("cache_get_put_take_{entries}"));
        group.sample_size(20);
        for threads in [1usize, 2] {
            group.throughput(Throughput::Elements(threads as u64));
            group.bench_function(BenchmarkId::new("ours_memory_cache", threads), |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, &|t, i, rng| {
                        let hit = ours.get_bytes(&key(next(rng) % entries)).unwrap();
                        black_box(hit);
                        let k = fresh_key(t, i);
                        ours.put_bytes(&k, &value, expires).unwrap();
                        black_box(ours.take_bytes(&k).unwrap());
                    })
                })
            });
            group.bench_function(BenchmarkId::new("rustls_memory_cache", threads), |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, &|t, i, rng| {
                        black_box(theirs.get(&key(next(rng) % entries)));
                        let k = fresh_key(t, i);
                        theirs.put(k.to_vec(), value.clone());
                        black_box(theirs.take(&k));
                    })
                })
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("cache_get_put_{entries}"));
        group.sample_size(20);
        for threads in [1usize, 2] {
            group.throughput(Throughput::Elements(threads as u64));
            group.bench_function(BenchmarkId::new("ours_memory_cache", threads), |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, &|t, i, rng| {
                        black_box(ours.get_bytes(&key(next(rng) % entries)).unwrap());
                        ours.put_bytes(&fresh_key(t, i % entries), &value, expires)
                            .unwrap();
                    })
                })
            });
            group.bench_function(BenchmarkId::new("rustls_memory_cache", threads), |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, &|t, i, rng| {
                        black_box(theirs.get(&key(next(rng) % entries)));
                        theirs.put(fresh_key(t, i % entries).to_vec(), value.clone());
                    })
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, cache_mix);
criterion_main!(benches);

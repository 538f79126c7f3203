//! A fixed number of `benches/cache.rs` get + put operations on one thread, for instruction
//! and cache-miss counts that do not depend on machine load:
//!
//! ```text
//! cargo build --release --example cache_ops
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='cache_ops::measured_*' \
//!     target/release/examples/cache_ops ours|rustls ENTRIES OPS
//! ```
//!
//! Fills the cache with `ENTRIES` sessions (capacity twice that, as the bench), runs one warm-up
//! round of `2 × ENTRIES` operations (at most 1,000,000), then `OPS` measured ones inside
//! `measured_ours` or `measured_rustls`; divide the collected counts by `OPS`. Add
//! `--cache-sim=yes --LL=33554432,16,64` for simulated cache misses. Also prints the wall time
//! per operation, which on a busy machine is only a direction.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use tls_resumption::store::MemoryCache;
use tls_resumption::time::{SystemClock, Timestamp};

const VALUE_LEN: usize = 86;

fn key(i: u64) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&i.to_be_bytes());
    k[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    k
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn fresh_key(i: u64) -> [u8; 32] {
    key((1 << 40) + i)
}

/// The operations of one round: what the bench's get + put group does per iteration.
struct Round {
    entries: u64,
    start: u64,
    ops: u64,
}

fn ours(c: &MemoryCache, r: &Round, value: &[u8], expires: Timestamp) {
    let mut rng = 0x2545_f491_4f6c_dd1d ^ 1;
    for i in r.start..r.start + r.ops {
        black_box(c.get_bytes(&key(next(&mut rng) % r.entries)).unwrap());
        c.put_bytes(&fresh_key(i % r.entries), value, expires)
            .unwrap();
    }
}

fn theirs(c: &ServerSessionMemoryCache, r: &Round, value: &[u8]) {
    let mut rng = 0x2545_f491_4f6c_dd1d ^ 1;
    for i in r.start..r.start + r.ops {
        black_box(c.get(&key(next(&mut rng) % r.entries)));
        c.put(fresh_key(i % r.entries).to_vec(), value.to_vec());
    }
}

#[inline(never)]
fn measured_ours(c: &MemoryCache, r: &Round, value: &[u8], expires: Timestamp) {
    ours(c, r, value, expires);
}

#[inline(never)]
fn measured_rustls(c: &ServerSessionMemoryCache, r: &Round, value: &[u8]) {
    theirs(c, r, value);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "ours".into());
    let number =
        |a: Option<String>, default: u64| a.and_then(|a| a.parse().ok()).unwrap_or(default);
    let entries = number(args.next(), 10_000).max(1);
    let ops = number(args.next(), 100_000).max(1);
    let warm = Round {
        entries,
        start: 0,
        ops: (2 * entries).min(1_000_000),
    };
    let round = Round {
        entries,
        start: warm.ops,
        ops,
    };
    let value = vec![0x5a; VALUE_LEN];
    let expires = Timestamp::from_secs(u64::MAX / 2000);
    let capacity = usize::try_from(entries * 2).expect("entries fit in memory");
    let elapsed = if which == "rustls" {
        let c = ServerSessionMemoryCache::new(capacity);
        for i in 0..entries {
            c.put(key(i).to_vec(), value.clone());
        }
        theirs(&c, &warm, &value);
        let start = Instant::now();
        measured_rustls(&c, &round, &value);
        start.elapsed()
    } else {
        let c = MemoryCache::builder()
            .capacity(capacity)
            .clock(Arc::new(SystemClock))
            .build();
        for i in 0..entries {
            c.put_bytes(&key(i), &value, expires).unwrap();
        }
        ours(&c, &warm, &value, expires);
        let start = Instant::now();
        measured_ours(&c, &round, &value, expires);
        start.elapsed()
    };
    println!(
        "{which}: {entries} entries, {ops} get + put: {:.0} ns each",
        elapsed.as_nanos() as f64 / ops as f64
    );
}

//! Heap bytes per cached TLS 1.2 session in `MemoryCache`, measured with a counting allocator.
//!
//! ```text
//! cargo run --release --example cache_memory [entries]
//! ```
//!
//! Fills a cache of `entries` (default 1,000,000) with TLS 1.2 sessions under 32-byte session
//! IDs and prints the heap the cache holds per entry, total and beyond the encoded state. The
//! count is of bytes requested from the allocator; the allocator's own per-block overhead comes
//! on top.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use tls_resumption::crypto::secret::SecretArray;
use tls_resumption::session::{SessionState, Tls12Session};
use tls_resumption::store::{MemoryCache, SessionCache};
use tls_resumption::time::{ManualClock, Timestamp};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let entries: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let state = SessionState::Tls12(Tls12Session {
        protocol_version: 0x0303,
        cipher_suite: 0xc02f,
        master_secret: SecretArray::new([7; 48]),
        extended_master_secret: true,
        server_name: Some("www.example.com".into()),
        alpn: Some(b"h2".to_vec()),
        issued_at: Timestamp::from_secs(1_700_000_000),
        lifetime_secs: 7200,
    });
    let encoded_len = state.encoded_len();
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_700_000_000)));
    let expires = Timestamp::from_secs(1_700_007_200);

    let before = LIVE.load(Ordering::Relaxed);
    let cache = MemoryCache::builder()
        .capacity(entries)
        .clock(clock)
        .build();
    for i in 0..entries as u64 {
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&i.to_be_bytes());
        id[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
        cache.put(&id, &state, expires).expect("put");
    }
    let held = (LIVE.load(Ordering::Relaxed) - before) as f64;
    // Shards fill unevenly, so a few of the fullest evict before the cache as a whole is full;
    // the figure is per entry actually held.
    let held_entries = cache.len();
    let per_entry = held / held_entries as f64;
    println!("capacity:                     {}", cache.capacity());
    println!("entries held:                 {held_entries}");
    println!("encoded TLS 1.2 state:        {encoded_len} bytes");
    println!("heap per entry:               {per_entry:.1} bytes");
    println!(
        "heap per entry beyond state:  {:.1} bytes",
        per_entry - encoded_len as f64
    );
}

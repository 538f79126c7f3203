//! Heap held by MemoryCache per TLS 1.2 session stays within budget: at most 150 bytes beyond
//! the encoded state (nginx's shared cache needs about 256 in all). Counted with a counting
//! allocator, alone in this test binary so no other test's allocations are counted. The full
//! 1,000,000-entry figure comes from `cargo run --release --example cache_memory`.

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

#[test]
fn heap_per_session_beyond_the_encoded_state_is_at_most_150_bytes() {
    let entries = 200_000usize;
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
        cache.put(&id, &state, expires).unwrap();
    }
    let held = (LIVE.load(Ordering::Relaxed) - before) as f64;
    let per_entry = held / cache.len() as f64;
    let overhead = per_entry - encoded_len as f64;
    assert!(cache.len() > entries * 99 / 100);
    assert!(
        overhead <= 150.0,
        "{overhead:.1} bytes per session beyond the state"
    );
    assert!(overhead > 72.0, "the count missed the nodes: {overhead:.1}");
}

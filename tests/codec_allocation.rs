//! Untrusted input never makes the wire layer allocate more than its limits: 16 MiB of
//! garbage, and a handshake header announcing 0xFFFFFF bytes, go through every wire fuzz entry
//! point while a counting allocator records the peak of live heap bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most extra heap an entry point may use on any input: the deframer's buffer (two
/// maximum-size records), one record's payload, a 64 KiB handshake message, and change.
const LIMIT: usize = 512 * 1024;

fn peak_during(f: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst) - before
}

#[test]
fn sixteen_mib_inputs_stay_within_the_allocation_limit() {
    let mut x = 0x9e37_79b9u32;
    let noise: Vec<u8> = (0..16 << 20)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 24) as u8
        })
        .collect();
    // A handshake record stream whose message header claims 0xFFFFFF bytes, followed by
    // valid-looking records carrying the rest.
    let mut huge_message = Vec::with_capacity(16 << 20);
    while huge_message.len() < 16 << 20 {
        huge_message.extend_from_slice(&[22, 3, 3, 0x40, 0x00]);
        let start = huge_message.len();
        huge_message.resize(start + 0x4000, 0x41);
        if start == 5 {
            huge_message[5..9].copy_from_slice(&[1, 0xff, 0xff, 0xff]);
        }
    }
    let mut u24_max = vec![1, 0xff, 0xff, 0xff];
    u24_max.extend_from_slice(&noise[..0xff_ffff]);

    for (name, target) in tls_resumption::fuzzing::TARGETS.iter().filter(|(name, _)| {
        [
            "deframer",
            "handshake_message",
            "client_hello",
            "record_open",
        ]
        .contains(name)
    }) {
        for (input_name, input) in [
            ("noise", &noise),
            ("huge message", &huge_message),
            ("u24 max", &u24_max),
        ] {
            let peak = peak_during(|| target(input));
            println!("{name} on {input_name}: peak {peak} bytes");
            assert!(
                peak <= LIMIT,
                "{name} on {input_name}: {peak} bytes at peak, limit {LIMIT}"
            );
        }
    }
}

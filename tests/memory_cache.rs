//! MemoryCache: the SessionCache contract, CLOCK (approximate LRU) eviction, expiry on an
//! injected clock, bounds, single-use `take` under concurrency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tls_resumption::crypto::secret::SecretArray;
use tls_resumption::session::{SessionState, Tls12Session};
use tls_resumption::store::{MemoryCache, SessionCache, StoreError, MAX_KEY_LEN};
use tls_resumption::time::{ManualClock, Timestamp};

const START: Timestamp = Timestamp::from_secs(1_000_000);

fn cache(capacity: usize, shards: usize) -> (MemoryCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let cache = MemoryCache::builder()
        .capacity(capacity)
        .shards(shards)
        .clock(clock.clone())
        .build();
    (cache, clock)
}

fn state(tag: u8) -> SessionState {
    SessionState::Tls12(Tls12Session {
        protocol_version: 0x0303,
        cipher_suite: 0xc02f,
        master_secret: SecretArray::new([tag; 48]),
        extended_master_secret: true,
        server_name: None,
        alpn: None,
        issued_at: START,
        lifetime_secs: 3600,
    })
}

fn master_of(s: &SessionState) -> u8 {
    match s {
        SessionState::Tls12(s) => s.master_secret.expose_secret()[0],
        SessionState::Tls13(_) => panic!("wrong kind"),
    }
}

fn later(secs: u64) -> Timestamp {
    START.saturating_add(Duration::from_secs(secs))
}

#[test]
fn put_then_get_returns_the_state_and_get_leaves_it() {
    let (cache, _) = cache(100, 1);
    cache.put(b"id-1", &state(7), later(60)).unwrap();
    assert_eq!(master_of(&cache.get(b"id-1").unwrap().unwrap()), 7);
    assert_eq!(master_of(&cache.get(b"id-1").unwrap().unwrap()), 7);
    assert!(cache.get(b"id-2").unwrap().is_none());
}

#[test]
fn take_returns_the_state_once() {
    let (cache, _) = cache(100, 1);
    cache.put(b"ticket", &state(3), later(60)).unwrap();
    assert_eq!(master_of(&cache.take(b"ticket").unwrap().unwrap()), 3);
    assert!(cache.take(b"ticket").unwrap().is_none());
    assert!(cache.get(b"ticket").unwrap().is_none());
}

#[test]
fn remove_forgets_and_put_replaces() {
    let (cache, _) = cache(100, 1);
    cache.put(b"a", &state(1), later(60)).unwrap();
    cache.put(b"a", &state(2), later(60)).unwrap();
    assert_eq!(master_of(&cache.get(b"a").unwrap().unwrap()), 2);
    assert_eq!(cache.len(), 1);
    cache.remove(b"a").unwrap();
    assert!(cache.get(b"a").unwrap().is_none());
    assert!(cache.is_empty());
}

#[test]
fn entries_expire_on_the_injected_clock() {
    let (cache, clock) = cache(100, 1);
    cache.put(b"short", &state(1), later(10)).unwrap();
    cache.put(b"long", &state(2), later(100)).unwrap();
    clock.advance(Duration::from_millis(9_999));
    assert!(cache.get(b"short").unwrap().is_some());
    clock.advance(Duration::from_millis(1));
    assert!(cache.get(b"short").unwrap().is_none());
    assert!(cache.take(b"long").unwrap().is_some());
    cache.put(b"long", &state(2), later(100)).unwrap();
    clock.advance(Duration::from_secs(90));
    assert!(
        cache.take(b"long").unwrap().is_none(),
        "expired entries are not taken"
    );
}

#[test]
fn an_entry_stored_already_expired_is_never_returned() {
    let (cache, _) = cache(10, 1);
    cache.put(b"x", &state(1), START).unwrap();
    assert!(cache.get(b"x").unwrap().is_none());
    assert!(cache.take(b"x").unwrap().is_none());
}

#[test]
fn least_recently_used_is_evicted_first() {
    let (cache, _) = cache(3, 1);
    for id in [b"a", b"b", b"c"] {
        cache.put(id, &state(id[0]), later(60)).unwrap();
    }
    // Touch "a" so "b" becomes the least recently used.
    assert!(cache.get(b"a").unwrap().is_some());
    cache.put(b"d", &state(b'd'), later(60)).unwrap();
    assert!(cache.get(b"b").unwrap().is_none());
    for id in [b"a", b"c", b"d"] {
        assert!(cache.get(id).unwrap().is_some(), "{:?}", id);
    }
    assert_eq!(cache.len(), 3);
}

#[test]
fn entry_count_stays_bounded_across_shards() {
    let (cache, _) = cache(1024, 8);
    for i in 0u32..20_000 {
        cache
            .put_bytes(&i.to_be_bytes(), &[1, 2, 3], later(60))
            .unwrap();
    }
    assert!(cache.len() <= cache.capacity());
    assert_eq!(cache.capacity(), 1024);
    // The most recent entries are still there.
    assert!(cache.get_bytes(&19_999u32.to_be_bytes()).unwrap().is_some());
}

#[test]
fn bad_keys_are_typed_errors() {
    let (cache, _) = cache(10, 1);
    assert_eq!(cache.get(b"").err(), Some(StoreError::EmptyKey));
    let long = [0u8; MAX_KEY_LEN + 1];
    assert_eq!(cache.get(&long).err(), Some(StoreError::KeyTooLong(33)));
    assert!(cache.put(&[9u8; MAX_KEY_LEN], &state(1), later(5)).is_ok());
}

#[test]
fn corrupt_values_are_an_error_not_a_session() {
    let (cache, _) = cache(10, 1);
    cache
        .put_bytes(b"rustls-owned", b"not our encoding", later(5))
        .unwrap();
    assert!(matches!(
        cache.get(b"rustls-owned"),
        Err(StoreError::Corrupt(_))
    ));
    // The byte-level view sees exactly what was stored.
    assert_eq!(
        cache
            .get_bytes(b"rustls-owned")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"not our encoding"
    );
}

#[test]
fn concurrent_takes_of_one_key_succeed_exactly_once() {
    let (cache, _) = cache(1000, 4);
    let cache = Arc::new(cache);
    for round in 0u8..50 {
        let key = [round, 1, 2, 3];
        cache.put(&key, &state(round), later(60)).unwrap();
        let wins = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (cache, wins) = (cache.clone(), wins.clone());
                std::thread::spawn(move || {
                    if cache.take(&key).unwrap().is_some() {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(wins.load(Ordering::SeqCst), 1, "round {round}");
    }
}

#[test]
fn usable_as_a_shared_trait_object() {
    let (cache, _) = cache(10, 1);
    let shared: Arc<dyn SessionCache> = Arc::new(cache);
    shared.put(b"k", &state(5), later(1)).unwrap();
    assert!(shared.get(b"k").unwrap().is_some());
}

#[test]
fn a_full_shard_whose_entries_were_all_read_still_evicts_and_stays_bounded() {
    // Every entry referenced: each eviction spares a bounded number, then evicts anyway.
    let (cache, _) = cache(100, 1);
    for i in 0u8..100 {
        cache.put_bytes(&[i, 1], &[i], later(60)).unwrap();
    }
    for i in 0u8..100 {
        assert!(cache.get_bytes(&[i, 1]).unwrap().is_some());
    }
    for i in 0u8..50 {
        cache.put_bytes(&[i, 2], &[i], later(60)).unwrap();
        assert_eq!(cache.len(), 100);
        assert!(cache.get_bytes(&[i, 2]).unwrap().is_some(), "{i}");
    }
    let old = (0u8..100)
        .filter(|i| cache.get_bytes(&[*i, 1]).unwrap().is_some())
        .count();
    assert_eq!(old, 50);
}

#[test]
fn an_entry_put_into_a_freed_node_is_spared_by_the_next_eviction() {
    let (cache, _) = cache(3, 1);
    for id in [b"a", b"b", b"c"] {
        cache.put(id, &state(id[0]), later(60)).unwrap();
    }
    assert!(cache.take(b"a").unwrap().is_some());
    cache.put(b"d", &state(b'd'), later(60)).unwrap();
    cache.put(b"e", &state(b'e'), later(60)).unwrap();
    // "b" is the least recently used and goes; "d", just stored, stays.
    assert!(cache.get(b"b").unwrap().is_none());
    for id in [b"c", b"d", b"e"] {
        assert!(cache.get(id).unwrap().is_some(), "{:?}", id);
    }
}

#[test]
fn a_replaced_value_of_another_length_is_returned_whole() {
    let (cache, _) = cache(4, 1);
    for value in [&[1u8, 2, 3][..], &[4, 5], &[6, 7], &[8, 9, 10, 11]] {
        cache.put_bytes(b"k", value, later(60)).unwrap();
        assert_eq!(
            cache.get_bytes(b"k").unwrap().unwrap().expose_secret(),
            value
        );
    }
    // Values of an evicted entry's length reuse its buffer; the bytes are the new entry's.
    for i in 0u8..8 {
        cache.put_bytes(&[i], &[i; 3], later(60)).unwrap();
    }
    for i in 4u8..8 {
        assert_eq!(
            cache.get_bytes(&[i]).unwrap().unwrap().expose_secret(),
            &[i; 3]
        );
    }
    assert_eq!(cache.len(), 4);
}

#[test]
fn keys_differing_only_in_trailing_zero_bytes_are_different_keys() {
    let (cache, _) = cache(10, 1);
    cache.put_bytes(&[7], b"short", later(60)).unwrap();
    cache.put_bytes(&[7, 0], b"longer", later(60)).unwrap();
    cache
        .put_bytes(&[7; MAX_KEY_LEN], b"full", later(60))
        .unwrap();
    assert_eq!(
        cache.get_bytes(&[7]).unwrap().unwrap().expose_secret(),
        b"short"
    );
    assert_eq!(
        cache.get_bytes(&[7, 0]).unwrap().unwrap().expose_secret(),
        b"longer"
    );
    assert_eq!(
        cache
            .get_bytes(&[7; MAX_KEY_LEN])
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"full"
    );
    assert_eq!(cache.len(), 3);
}

//! [`MemoryCache`]: a bounded, sharded LRU cache of encoded sessions with per-entry expiry.
//!
//! Layout, chosen for memory per entry (a busy server keeps millions) and O(1) operations:
//! each shard holds a slab of nodes (`Vec<Node>`, the key inline, the value in one boxed
//! slice) linked into an LRU list by `u32` indices, and a hash map from a 64-bit keyed hash of
//! the key to the node's index. The key's bytes are stored once, in the node; a lookup checks
//! them, so two keys whose hashes collide never see each other's value (the newer simply
//! replaces the older, which a cache may always do). The hash is SipHash with per-process
//! random keys (`RandomState`), so a client choosing session IDs cannot steer collisions.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use super::{SessionCache, StoreError};
use crate::crypto::secret::SecretVec;
use crate::time::{Clock, SystemClock, Timestamp};

/// The longest key the cache accepts: a TLS 1.2 session ID is at most 32 bytes (RFC 5246
/// §7.4.1.2), and 32 random bytes are ample for a TLS 1.3 stateful ticket identity.
pub const MAX_KEY_LEN: usize = 32;

/// The largest value the cache keeps; a ticket or state larger than a TLS extension can carry
/// is a bug, not something to cache.
const MAX_VALUE_LEN: usize = u16::MAX as usize;

const NIL: u32 = u32::MAX;

/// The map's keys are already SipHash outputs; hashing them again would only cost time.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

struct Node {
    value: Zeroizing<Box<[u8]>>,
    expires_at: u64,
    prev: u32,
    next: u32,
    key: [u8; MAX_KEY_LEN],
    key_len: u8,
}

impl Node {
    fn key(&self) -> &[u8] {
        &self.key[..usize::from(self.key_len)]
    }
}

struct Shard {
    map: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    nodes: Vec<Node>,
    /// Head of the list of free nodes, linked through `next`.
    free: u32,
    /// Most recently used.
    head: u32,
    /// Least recently used: evicted first.
    tail: u32,
    len: usize,
    capacity: usize,
}

impl Shard {
    fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::default(),
            nodes: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
            capacity,
        }
    }

    fn node(&mut self, i: u32) -> &mut Node {
        &mut self.nodes[i as usize]
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let n = self.node(i);
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.node(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.node(next).prev = prev;
        }
    }

    fn push_front(&mut self, i: u32) {
        let old_head = self.head;
        {
            let n = self.node(i);
            n.prev = NIL;
            n.next = old_head;
        }
        if old_head == NIL {
            self.tail = i;
        } else {
            self.node(old_head).prev = i;
        }
        self.head = i;
    }

    fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let i = *self.map.get(&hash)?;
        (self.nodes[i as usize].key() == key).then_some(i)
    }

    /// Unlinks node `i` (whose key hashes to `hash`) and returns its value; the node goes to the
    /// free list.
    fn remove_node(&mut self, i: u32, hash: u64) -> Zeroizing<Box<[u8]>> {
        self.unlink(i);
        self.map.remove(&hash);
        self.len -= 1;
        let free = self.free;
        let n = self.node(i);
        n.next = free;
        n.key_len = 0;
        let value = core::mem::take(&mut n.value);
        self.free = i;
        value
    }

    /// A node to fill: a free one, a new one, or (when full) the least recently used one,
    /// whose entry is dropped (and its value zeroized).
    fn allocate(&mut self, hasher: &RandomState) -> u32 {
        if self.free != NIL {
            let i = self.free;
            self.free = self.nodes[i as usize].next;
            return i;
        }
        if self.len >= self.capacity && self.tail != NIL {
            let i = self.tail;
            let hash = hasher.hash_one(self.nodes[i as usize].key());
            drop(self.remove_node(i, hash));
            self.free = self.nodes[i as usize].next;
            return i;
        }
        if self.nodes.len() == self.nodes.capacity() {
            // Grow geometrically but never past the bound, so a full shard wastes no slots.
            let cap = self.nodes.capacity();
            let extra = cap.max(16).min(self.capacity.saturating_sub(cap)).max(1);
            self.nodes.reserve_exact(extra);
        }
        self.nodes.push(Node {
            value: Zeroizing::new(Box::default()),
            expires_at: 0,
            prev: NIL,
            next: NIL,
            key: [0; MAX_KEY_LEN],
            key_len: 0,
        });
        (self.nodes.len() - 1) as u32
    }

    fn put(&mut self, hasher: &RandomState, hash: u64, key: &[u8], value: &[u8], expires: u64) {
        let boxed = Zeroizing::new(Box::<[u8]>::from(value));
        let i = if let Some(&i) = self.map.get(&hash) {
            // Same key, or (with negligible probability) a colliding one: replace it either way.
            self.unlink(i);
            i
        } else {
            let i = self.allocate(hasher);
            self.map.insert(hash, i);
            self.len += 1;
            i
        };
        let n = self.node(i);
        n.value = boxed;
        n.expires_at = expires;
        n.key[..key.len()].copy_from_slice(key);
        n.key_len = key.len() as u8;
        self.push_front(i);
    }

    fn get(&mut self, hash: u64, key: &[u8], now: u64) -> Option<SecretVec> {
        let i = self.find(hash, key)?;
        if self.nodes[i as usize].expires_at <= now {
            drop(self.remove_node(i, hash));
            return None;
        }
        self.unlink(i);
        self.push_front(i);
        Some(SecretVec::from_slice(&self.nodes[i as usize].value))
    }

    fn take(&mut self, hash: u64, key: &[u8], now: u64) -> Option<SecretVec> {
        let i = self.find(hash, key)?;
        let expired = self.nodes[i as usize].expires_at <= now;
        let mut value = self.remove_node(i, hash);
        if expired {
            return None;
        }
        // Moves the allocation out without copying; the empty box left behind owns nothing.
        let bytes = core::mem::take(&mut *value).into_vec();
        Some(SecretVec::new(bytes))
    }
}

/// Configures a [`MemoryCache`].
pub struct MemoryCacheBuilder {
    capacity: usize,
    shards: Option<usize>,
    clock: Arc<dyn Clock>,
}

impl MemoryCacheBuilder {
    /// The most entries the cache holds (rounded up to a multiple of the shard count).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How many independently locked shards (rounded up to a power of two, at least 1).
    /// Default: 16, or 1 for caches under 1,024 entries.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// The clock expiry is checked against. Default: [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cache.
    pub fn build(self) -> MemoryCache {
        let capacity = self.capacity.max(1);
        let wanted = self.shards.unwrap_or(if capacity < 1024 { 1 } else { 16 });
        let shards = wanted.clamp(1, 1 << 16).next_power_of_two();
        let per_shard = capacity.div_ceil(shards).min(NIL as usize - 1);
        MemoryCache {
            shards: (0..shards)
                .map(|_| Mutex::new(Shard::new(per_shard)))
                .collect(),
            mask: (shards - 1) as u64,
            hasher: RandomState::new(),
            clock: self.clock,
            capacity: per_shard * shards,
        }
    }
}

/// An in-process [`SessionCache`]: bounded entry count, least-recently-used eviction,
/// per-entry expiry checked against an injected [`Clock`], sharded locks, O(1) `put`, `get`,
/// `take` and `remove`.
///
/// Values are held in buffers zeroized when replaced, evicted, expired or taken. Besides the
/// typed [`SessionCache`] methods, the byte-level [`put_bytes`](Self::put_bytes),
/// [`get_bytes`](Self::get_bytes) and [`take_bytes`](Self::take_bytes) serve callers that bring
/// their own value encoding (they are what the trait's `*_encoded` methods call).
///
/// Memory: per entry, the encoded value plus about 110 bytes (a 72-byte node and about 36
/// bytes of hash table), measured by `examples/cache_memory.rs`.
pub struct MemoryCache {
    shards: Box<[Mutex<Shard>]>,
    mask: u64,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
    capacity: usize,
}

impl core::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl MemoryCache {
    /// A cache of at most `capacity` entries on the system clock.
    pub fn new(capacity: usize) -> Self {
        Self::builder().capacity(capacity).build()
    }

    /// A builder, for the shard count and the clock.
    pub fn builder() -> MemoryCacheBuilder {
        MemoryCacheBuilder {
            capacity: 10_000,
            shards: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The most entries the cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Entries held now (expired entries not yet noticed included).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.len).unwrap_or(0))
            .sum()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &[u8]) -> Result<(u64, std::sync::MutexGuard<'_, Shard>), StoreError> {
        if key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        if key.len() > MAX_KEY_LEN {
            return Err(StoreError::KeyTooLong(key.len()));
        }
        let hash = self.hasher.hash_one(key);
        // Bits 32.. pick the shard: the map uses the low bits for its bucket and the top seven
        // for its tag, so the shard choice leaves both evenly spread within a shard.
        let index = ((hash >> 32) & self.mask) as usize;
        let guard = self.shards[index]
            .lock()
            .map_err(|_| StoreError::Unavailable)?;
        Ok((hash, guard))
    }

    /// Stores `value` under `key` until `expires_at`; evicts the shard's least recently used
    /// entry when it is full.
    ///
    /// # Errors
    /// [`StoreError::EmptyKey`], [`StoreError::KeyTooLong`] (over [`MAX_KEY_LEN`]),
    /// [`StoreError::Rejected`] for a value over 64 KiB,
    /// [`StoreError::Unavailable`] if a lock was poisoned.
    pub fn put_bytes(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(StoreError::Rejected("value too large"));
        }
        // No clock read here: an entry stored already expired is simply never returned, and
        // a put is the hottest path of a server making new sessions.
        let (hash, mut shard) = self.shard(key)?;
        shard.put(&self.hasher, hash, key, value, expires_at.as_millis());
        Ok(())
    }

    /// The value under `key` if present and unexpired; marks it most recently used.
    ///
    /// # Errors
    /// As [`put_bytes`](Self::put_bytes) for the key; a caller treats errors as a miss.
    pub fn get_bytes(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        let now = self.clock.now().as_millis();
        let (hash, mut shard) = self.shard(key)?;
        Ok(shard.get(hash, key, now))
    }

    /// Removes the value under `key` and returns it if it was unexpired. Of concurrent `take`s
    /// of one key, exactly one can succeed (the shard lock serializes them).
    ///
    /// # Errors
    /// As [`get_bytes`](Self::get_bytes).
    pub fn take_bytes(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        let now = self.clock.now().as_millis();
        let (hash, mut shard) = self.shard(key)?;
        Ok(shard.take(hash, key, now))
    }

    /// Removes the value under `key`, if any.
    ///
    /// # Errors
    /// As [`get_bytes`](Self::get_bytes).
    pub fn remove_bytes(&self, key: &[u8]) -> Result<(), StoreError> {
        let (hash, mut shard) = self.shard(key)?;
        if let Some(i) = shard.find(hash, key) {
            drop(shard.remove_node(i, hash));
        }
        Ok(())
    }
}

impl SessionCache for MemoryCache {
    fn put_encoded(
        &self,
        key: &[u8],
        value: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.put_bytes(key, value, expires_at)
    }

    fn get_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.get_bytes(key)
    }

    fn take_encoded(&self, key: &[u8]) -> Result<Option<SecretVec>, StoreError> {
        self.take_bytes(key)
    }

    fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        self.remove_bytes(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_stays_compact() {
        // The memory budget per entry depends on this; a field added carelessly shows here.
        assert!(core::mem::size_of::<Node>() <= 72);
    }

    #[test]
    fn evicted_slot_is_reused_and_list_stays_consistent() {
        let clock = Arc::new(crate::time::ManualClock::new(Timestamp::from_secs(1)));
        let cache = MemoryCache::builder().capacity(2).clock(clock).build();
        let exp = Timestamp::from_secs(100);
        for i in 0u8..10 {
            cache.put_bytes(&[i + 1], &[i], exp).unwrap();
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get_bytes(&[10]).unwrap().is_some());
        assert!(cache.get_bytes(&[9]).unwrap().is_some());
        assert!(cache.get_bytes(&[8]).unwrap().is_none());
    }
}

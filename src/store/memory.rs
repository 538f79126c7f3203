//! [`MemoryCache`]: a bounded, sharded cache of encoded sessions with per-entry expiry and
//! CLOCK (second-chance) eviction.
//!
//! Layout, chosen for memory per entry (a busy server keeps millions) and for few cache misses
//! per operation: each shard holds a slab of 64-byte nodes (`Vec<Node>`, the key inline, the
//! value in one boxed slice) and a hash map from a 64-bit keyed hash of the key to the node's
//! index. The key's bytes are stored once, in the node; a lookup checks them, so two keys whose
//! hashes collide never see each other's value (the newer simply replaces the older, which a
//! cache may always do).
//!
//! Eviction is CLOCK, the classic approximation of least-recently-used: a read sets the node's
//! `referenced` bit, and when a full shard needs a node, a hand sweeps the slab, clearing set
//! bits and evicting the first node whose bit is clear. A read touches only the node it reads
//! (an LRU list would also write both neighbours, two more cache misses per read and per
//! write), and the sweep walks the slab in order. A sweep clears at most
//! `MAX_SECOND_CHANCES` bits before it evicts, so every operation is O(1).
//!
//! The hash is a keyed multiply-fold over the (at most 32-byte) key with per-process random
//! keys. Keys are made by the server from a CSPRNG, so the table is evenly filled whatever the
//! hash; a client choosing the session ID it presents only chooses where one lookup probes,
//! and cannot predict the hash without the per-process keys. SipHash cost more than every other
//! part of a `get` and a `put` together.

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

/// The most `referenced` bits one eviction clears before it evicts regardless, which bounds
/// the work of a `put` into a full shard whose entries were all read recently.
const MAX_SECOND_CHANCES: usize = 32;

const NIL: u32 = u32::MAX;

/// The map's keys are already [`KeyHash`] outputs; hashing them again would only cost time.
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

/// The 128-bit product of `a` and `b`, its halves folded together by XOR.
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A keyed hash of keys of at most [`MAX_KEY_LEN`] bytes (module docs).
struct KeyHash {
    keys: [u64; 6],
}

impl KeyHash {
    /// Keys drawn from the per-process randomness of the standard library's `RandomState`.
    fn random() -> Self {
        let state = RandomState::new();
        let mut keys = [0u64; 6];
        for (i, k) in (0u64..).zip(keys.iter_mut()) {
            *k = state.hash_one(i);
        }
        Self { keys }
    }

    /// The hash of `key`, which is at most [`MAX_KEY_LEN`] bytes long.
    fn hash(&self, key: &[u8]) -> u64 {
        // Full-length keys (every session ID this crate makes) are read in place.
        let mut padded = [0u8; MAX_KEY_LEN];
        let padded = match <&[u8; MAX_KEY_LEN]>::try_from(key) {
            Ok(full) => full,
            Err(_) => {
                padded[..key.len()].copy_from_slice(key);
                &padded
            }
        };
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&padded[8 * i..8 * i + 8]);
            u64::from_le_bytes(w)
        };
        let k = &self.keys;
        let a = fold_mul(word(0) ^ k[0], word(1) ^ k[1]);
        let b = fold_mul(word(2) ^ k[2], word(3) ^ k[3]);
        // The length keeps a key and the same key with trailing zero bytes apart.
        fold_mul(a ^ k[4] ^ key.len() as u64, b ^ k[5])
    }
}

/// One cache line per entry.
#[repr(align(64))]
struct Node {
    value: Zeroizing<Box<[u8]>>,
    expires_at: u64,
    key: [u8; MAX_KEY_LEN],
    key_len: u8,
    /// Read since the eviction hand last passed: spared once.
    referenced: bool,
    /// The next free node, while this one is on the free list.
    next_free: u32,
}

impl Node {
    fn key(&self) -> &[u8] {
        &self.key[..usize::from(self.key_len)]
    }

    /// Stores `value`, reusing the node's buffer when the lengths match (the old bytes are
    /// overwritten); otherwise the old buffer is zeroized and freed.
    fn set_value(&mut self, value: &[u8]) {
        if self.value.len() == value.len() {
            self.value.copy_from_slice(value);
        } else {
            self.value = Zeroizing::new(Box::from(value));
        }
    }
}

/// A shard's lock and state on cache lines of their own (128 bytes: the unit adjacent-line
/// prefetchers pull in), so threads working in different shards never write the same line.
#[repr(align(128))]
struct PaddedShard(Mutex<Shard>);

struct Shard {
    map: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    nodes: Vec<Node>,
    /// Head of the list of free nodes, linked through `next_free`.
    free: u32,
    /// The eviction hand: the next node the sweep looks at.
    hand: u32,
    len: usize,
    capacity: usize,
}

impl Shard {
    fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::default(),
            nodes: Vec::new(),
            free: NIL,
            hand: 0,
            len: 0,
            capacity,
        }
    }

    fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let i = *self.map.get(&hash)?;
        (self.nodes[i as usize].key() == key).then_some(i)
    }

    /// Forgets node `i` (whose key hashes to `hash`) and returns its value; the node goes to
    /// the free list.
    fn remove_node(&mut self, i: u32, hash: u64) -> Zeroizing<Box<[u8]>> {
        self.map.remove(&hash);
        self.len -= 1;
        let free = self.free;
        let n = &mut self.nodes[i as usize];
        n.next_free = free;
        n.key_len = 0;
        n.referenced = false;
        let value = core::mem::take(&mut n.value);
        self.free = i;
        value
    }

    /// The node the hand evicts: the first unreferenced one, or the one after
    /// [`MAX_SECOND_CHANCES`] referenced ones. Its entry leaves the map; its value buffer stays
    /// for the caller to overwrite or drop (zeroized).
    fn evict(&mut self, hasher: &KeyHash) -> u32 {
        let slots = self.nodes.len() as u32;
        let mut spared = 0;
        loop {
            let i = if self.hand >= slots { 0 } else { self.hand };
            self.hand = i + 1;
            // Every node is live: a shard evicts only when its free list is empty.
            let n = &mut self.nodes[i as usize];
            if n.referenced && spared < MAX_SECOND_CHANCES {
                n.referenced = false;
                spared += 1;
                continue;
            }
            let hash = hasher.hash(n.key());
            self.map.remove(&hash);
            self.len -= 1;
            return i;
        }
    }

    /// A node to fill and whether it was taken from the free list (anywhere in the slab, so
    /// not where the hand will reach last); when the shard is full, the evicted one.
    fn allocate(&mut self, hasher: &KeyHash) -> (u32, bool) {
        if self.free != NIL {
            let i = self.free;
            self.free = self.nodes[i as usize].next_free;
            return (i, true);
        }
        if self.len >= self.capacity && self.len > 0 {
            return (self.evict(hasher), false);
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
            key: [0; MAX_KEY_LEN],
            key_len: 0,
            referenced: false,
            next_free: NIL,
        });
        ((self.nodes.len() - 1) as u32, false)
    }

    fn put(&mut self, hasher: &KeyHash, hash: u64, key: &[u8], value: &[u8], expires: u64) {
        let (i, referenced) = if let Some(&i) = self.map.get(&hash) {
            // Same key, or (with negligible probability) a colliding one: replace it either
            // way; a replacement counts as a use.
            (i, true)
        } else {
            let (i, from_free_list) = self.allocate(hasher);
            self.map.insert(hash, i);
            self.len += 1;
            // A new entry in the node just evicted or just added is the last the hand
            // reaches; one placed in a freed node anywhere in the slab gets a second chance.
            (i, from_free_list)
        };
        let n = &mut self.nodes[i as usize];
        n.set_value(value);
        n.expires_at = expires;
        n.key[..key.len()].copy_from_slice(key);
        n.key_len = key.len() as u8;
        n.referenced = referenced;
    }

    fn get(&mut self, hash: u64, key: &[u8], now: u64) -> Option<SecretVec> {
        let i = self.find(hash, key)?;
        let n = &mut self.nodes[i as usize];
        if n.expires_at <= now {
            drop(self.remove_node(i, hash));
            return None;
        }
        n.referenced = true;
        Some(SecretVec::from_slice(&n.value))
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
                .map(|_| PaddedShard(Mutex::new(Shard::new(per_shard))))
                .collect(),
            mask: (shards - 1) as u64,
            hasher: KeyHash::random(),
            clock: self.clock,
            capacity: per_shard * shards,
        }
    }
}

/// An in-process [`SessionCache`]: bounded entry count, CLOCK eviction (an approximation of
/// least-recently-used: an entry read since the eviction sweep last passed it is spared once),
/// per-entry expiry checked against an injected [`Clock`], sharded locks, O(1) `put`, `get`,
/// `take` and `remove`.
///
/// Values are held in buffers zeroized when evicted, expired or taken, and zeroized or
/// overwritten by the new value when replaced. Besides the
/// typed [`SessionCache`] methods, the byte-level [`put_bytes`](Self::put_bytes),
/// [`get_bytes`](Self::get_bytes) and [`take_bytes`](Self::take_bytes) serve callers that bring
/// their own value encoding (they are what the trait's `*_encoded` methods call).
///
/// Memory: per entry, the encoded value plus about 100 bytes (a 64-byte node and about 36
/// bytes of hash table), measured by `examples/cache_memory.rs`.
pub struct MemoryCache {
    shards: Box<[PaddedShard]>,
    mask: u64,
    hasher: KeyHash,
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
            .map(|s| s.0.lock().map(|s| s.len).unwrap_or(0))
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
        let hash = self.hasher.hash(key);
        // Bits 32.. pick the shard: the map uses the low bits for its bucket and the top seven
        // for its tag, so the shard choice leaves both evenly spread within a shard.
        let index = ((hash >> 32) & self.mask) as usize;
        let guard = self.shards[index]
            .0
            .lock()
            .map_err(|_| StoreError::Unavailable)?;
        Ok((hash, guard))
    }

    /// Stores `value` under `key` until `expires_at`; when the shard is full, evicts the first
    /// entry the CLOCK sweep finds unread since it last passed (module docs).
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

    /// The value under `key` if present and unexpired; marks it referenced, so the next
    /// eviction sweep spares it.
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
        assert_eq!(core::mem::size_of::<Node>(), 64);
    }

    #[test]
    fn evicted_node_is_reused_and_the_newest_entries_stay() {
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

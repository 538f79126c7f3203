//! Server session-ID caches and client session stores.

/// A session cache or store failed. A server treats every such failure as a cache miss.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unavailable.
    #[error("session store unavailable")]
    Unavailable,
}

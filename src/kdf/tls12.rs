//! TLS 1.2 key derivation (RFC 5246 §5, §8.1, §6.3; RFC 7627).

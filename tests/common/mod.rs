//! Helpers shared by the integration tests: reading `tests/data/`, hex, a small JSON reader
//! and a reference X25519.
#![allow(dead_code)] // Each test crate uses a different subset.

pub mod json;
pub mod x25519;

use std::path::Path;

/// The parsed contents of `tests/data/<name>`.
pub fn load_json(name: &str) -> json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    json::parse(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Decodes lowercase or uppercase hex; panics on anything else (test data is trusted).
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex: {s}")))
        .collect()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `unhex` into a fixed-size array.
pub fn unhex_array<const N: usize>(s: &str) -> [u8; N] {
    unhex(s)
        .try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("expected {N} bytes, got {}", v.len()))
}

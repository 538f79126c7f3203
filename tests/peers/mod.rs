//! Real peers for interop tests: rustls driven in memory, and the `openssl` command-line tool.
#![allow(dead_code)] // Each test binary uses the part it needs.

pub mod fault_proxy;
pub mod openssl;
pub mod openssl_server;
pub mod ours;
pub mod rustls_pair;

/// The test PKI in `tests/data/pki/`: a CA and a P-256 server certificate for `localhost` and
/// 127.0.0.1, both valid for a century so the tests never expire.
pub mod pki {
    use std::path::PathBuf;

    /// Path of a file in `tests/data/pki/`.
    pub fn path(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/pki")
            .join(name)
    }
}

/// The path of an example binary, which `cargo test` builds beside the test binaries
/// (`target/<profile>/examples/<name>`).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

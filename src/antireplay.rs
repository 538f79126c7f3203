//! Anti-replay for TLS 1.3 0-RTT early data.

//! The form of a received Finished, checked before its MAC.

use crate::codec::InvalidMessage;
use crate::error::Error;

/// Checks that a received Finished carries `expected` bytes of verify_data: Hash.length in
/// TLS 1.3 (RFC 8446 §4.4.4), 12 in TLS 1.2 (RFC 5246 §7.4.9). Another length is a malformed
/// message, `decode_error` (RFC 8446 §6), not a Finished that failed its check
/// (`decrypt_error`).
pub(crate) fn check_length(verify_data: &[u8], expected: usize) -> Result<(), Error> {
    if verify_data.len() == expected {
        Ok(())
    } else {
        Err(InvalidMessage::LengthOutOfRange {
            what: "Finished verify_data",
            len: verify_data.len(),
        }
        .into())
    }
}

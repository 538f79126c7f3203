//! Fuzz entry points for the state layer: tickets and encoded session state.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::session::SessionState;
use crate::ticket::{
    open_session, AeadSealer, KeySource, RotatingSealer, Schedule, TicketKeyMaterial, TicketSealer,
};
use crate::time::{ManualClock, Timestamp};

struct Sealers {
    single: AeadSealer,
    ring: RotatingSealer,
}

/// Fixed keys, so a corpus file sealed under them (name `00…00`, master `01…01`) reaches the
/// decoding of the plaintext rather than stopping at an unknown key name.
fn sealers() -> &'static Sealers {
    static SEALERS: OnceLock<Sealers> = OnceLock::new();
    SEALERS.get_or_init(|| {
        let material = || TicketKeyMaterial::new([0; 16], &[1; 32]);
        let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_000_000)));
        let ring = RotatingSealer::with_options(
            clock,
            Schedule::default(),
            crate::crypto::aead::AeadAlgorithm::Aes256Gcm,
            KeySource::External,
        );
        match (material(), material(), ring) {
            (Some(a), Some(b), Ok(ring)) => {
                let single = AeadSealer::new(a, Duration::from_secs(3600));
                let imported = ring.import_key(b, Timestamp::EPOCH);
                match (single, imported) {
                    (Ok(single), Ok(())) => Sealers { single, ring },
                    _ => unreachable!("fixed fuzzing keys are valid"),
                }
            }
            _ => unreachable!("fixed fuzzing keys are valid"),
        }
    })
}

/// Opens arbitrary bytes as a session ticket under fixed keys.
pub fn ticket_open(data: &[u8]) {
    let s = sealers();
    let now = Timestamp::from_secs(1_000_000);
    for sealer in [&s.single as &dyn TicketSealer, &s.ring] {
        if let Ok(opened) = sealer.open(data) {
            // Only a ticket sealed under the fixed key can open; its plaintext still goes through
            // the decoder, as a server's would.
            let _ = SessionState::decode(opened.plaintext.expose_secret());
        }
        let _ = open_session(sealer, data, now);
    }
}

/// Decodes arbitrary bytes as encoded session state; whatever decodes must encode back to the
/// same bytes (the encoding is canonical).
pub fn session_state(data: &[u8]) {
    if let Ok(state) = SessionState::decode(data) {
        match state.encode() {
            Ok(encoded) => assert_eq!(encoded.expose_secret(), data, "encoding not canonical"),
            Err(e) => panic!("decoded state failed to encode: {e}"),
        }
    }
}

//! Fuzz entry points for the state layer: tickets and encoded session state.

/// Opens arbitrary bytes as a session ticket under fixed keys.
pub fn ticket_open(_data: &[u8]) {}

/// Decodes arbitrary bytes as encoded session state.
pub fn session_state(_data: &[u8]) {}

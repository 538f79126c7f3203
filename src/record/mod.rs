//! The record layer: deframing, handshake-message joining and record protection.

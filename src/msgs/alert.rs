//! The two non-handshake control records: Alert (RFC 8446 §6, RFC 5246 §7.2) and
//! ChangeCipherSpec (RFC 5246 §7.1, RFC 8446 §5 and appendix D.4).

use super::enums::AlertLevel;
use super::Codec;
use crate::alert::AlertDescription;
use crate::codec::{InvalidMessage, Reader, Writer};

/// An alert record's body: level and description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AlertMessage {
    /// The level (TLS 1.3 ignores it; the description decides).
    pub(crate) level: AlertLevel,
    /// The description.
    pub(crate) description: AlertDescription,
}

impl Codec for AlertMessage {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.level.encode(w);
        w.u8(self.description.into());
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let level = AlertLevel::read(r)?;
        let description = AlertDescription::from(r.u8("alert description")?);
        Ok(Self { level, description })
    }
}

/// A ChangeCipherSpec record's body: always the single byte 1.
// The TLS 1.2 handshake sends it; in TLS 1.3 it is only the one middlebox-compatibility record
// each side may send (RFC 8446 §D.4).
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChangeCipherSpec;

impl Codec for ChangeCipherSpec {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u8(1);
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        // RFC 8446 §5: any other value is unexpected_message.
        match r.u8("ChangeCipherSpec")? {
            1 => Ok(Self),
            _ => Err(InvalidMessage::InvalidChangeCipherSpec),
        }
    }
}

//! NewSessionTicket in its RFC 5077 form (TLS 1.2) and its TLS 1.3 form (RFC 8446 §4.6.1).

use super::enums::ExtensionType;
use super::server_extensions::{
    encode_server_extensions, read_server_extensions, ServerContext, ServerExtension,
};
use super::Codec;
use crate::codec::{InvalidMessage, Reader, Writer};

/// RFC 5077 §3.3 NewSessionTicket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewSessionTicket12 {
    /// `uint32 ticket_lifetime_hint` in seconds; 0 means unspecified.
    pub(crate) lifetime_hint: u32,
    /// `opaque ticket<0..2^16-1>`.
    pub(crate) ticket: Vec<u8>,
}

impl Codec for NewSessionTicket12 {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u32(self.lifetime_hint);
        w.u16_prefixed_bytes(&self.ticket)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let lifetime_hint = r.u32("ticket_lifetime_hint")?;
        let ticket = r.u16_prefixed("ticket")?.to_vec();
        Ok(Self {
            lifetime_hint,
            ticket,
        })
    }
}

/// RFC 8446 §4.6.1 NewSessionTicket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewSessionTicket13 {
    /// `uint32 ticket_lifetime` in seconds.
    pub(crate) lifetime: u32,
    /// `uint32 ticket_age_add`.
    pub(crate) age_add: u32,
    /// `opaque ticket_nonce<0..255>`.
    pub(crate) nonce: Vec<u8>,
    /// `opaque ticket<1..2^16-1>`.
    pub(crate) ticket: Vec<u8>,
    /// `Extension extensions<0..2^16-2>`; only early_data is recognised.
    pub(crate) extensions: Vec<ServerExtension>,
}

impl NewSessionTicket13 {
    /// The early_data extension's `max_early_data_size`, if present (RFC 8446 §4.2.10).
    pub(crate) fn max_early_data_size(&self) -> Option<u32> {
        self.extensions.iter().find_map(|e| match e {
            ServerExtension::MaxEarlyDataSize(size) => Some(*size),
            _ => None,
        })
    }

    // Tests and later extensions of the ticket use it.
    #[allow(dead_code)]
    /// The extension of type `typ`, if present.
    pub(crate) fn extension(&self, typ: ExtensionType) -> Option<&ServerExtension> {
        self.extensions.iter().find(|e| e.typ() == typ)
    }
}

impl Codec for NewSessionTicket13 {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u32(self.lifetime);
        w.u32(self.age_add);
        w.u8_prefixed_bytes(&self.nonce)?;
        w.u16_prefixed_bytes(&self.ticket)?;
        encode_server_extensions(w, &self.extensions)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let lifetime = r.u32("ticket_lifetime")?;
        let age_add = r.u32("ticket_age_add")?;
        let nonce = r.u8_prefixed("ticket_nonce")?.to_vec();
        let ticket = r.sub_u16_nonempty("ticket")?.rest().to_vec();
        let extensions = read_server_extensions(r, ServerContext::NewSessionTicket)?;
        Ok(Self {
            lifetime,
            age_add,
            nonce,
            ticket,
            extensions,
        })
    }
}

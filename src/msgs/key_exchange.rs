//! TLS 1.2 ECDHE key exchange messages (RFC 8422 §5.4, §5.7; RFC 5246 §7.4.3, §7.4.7).

use super::certificate::CertificateVerify;
use super::enums::NamedGroup;
use super::Codec;
use crate::codec::{InvalidMessage, Reader, Writer};

/// `ECCurveType named_curve`: the only curve type RFC 8422 §5.4 leaves in use.
pub(crate) const NAMED_CURVE: u8 = 3;

/// `ServerECDHParams`: the curve and the server's ephemeral public point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EcdheParams {
    /// The named group (curve_type is always named_curve).
    pub(crate) group: NamedGroup,
    /// `opaque point <1..2^8-1>`.
    pub(crate) public: Vec<u8>,
}

impl Codec for EcdheParams {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u8(NAMED_CURVE);
        self.group.encode(w);
        w.u8_prefixed_bytes(&self.public)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let curve_type = r.u8("ECCurveType")?;
        if curve_type != NAMED_CURVE {
            return Err(InvalidMessage::UnsupportedCurveType(curve_type));
        }
        let group = NamedGroup::read(r)?;
        let public = r.sub_u8_nonempty("ECPoint")?.rest().to_vec();
        Ok(Self { group, public })
    }
}

/// ServerKeyExchange for ECDHE suites: the parameters and the signature over
/// `client_random ‖ server_random ‖ params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerKeyExchange {
    /// The ECDHE parameters.
    pub(crate) params: EcdheParams,
    /// The `digitally-signed` struct, same shape as a CertificateVerify.
    pub(crate) signed: CertificateVerify,
}

impl Codec for ServerKeyExchange {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.params.encode(w)?;
        self.signed.encode(w)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let params = EcdheParams::read(r)?;
        let signed = CertificateVerify::read(r)?;
        Ok(Self { params, signed })
    }
}

/// ClientKeyExchange for ECDHE suites: `ECPoint ecdh_Yc` (`opaque point <1..2^8-1>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientKeyExchange {
    /// The client's ephemeral public point.
    pub(crate) public: Vec<u8>,
}

impl Codec for ClientKeyExchange {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u8_prefixed_bytes(&self.public)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let public = r.sub_u8_nonempty("ecdh_Yc")?.rest().to_vec();
        Ok(Self { public })
    }
}

//! TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2) as an open wire enum.

macro_rules! alert_descriptions {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        /// An alert description. Unknown values survive as [`AlertDescription::Unknown`], so a
        /// decoder never fails on a value it does not recognise.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AlertDescription {
            $($(#[$doc])* $name,)*
            /// A value this crate has no name for.
            Unknown(u8),
        }

        impl From<u8> for AlertDescription {
            fn from(value: u8) -> Self {
                match value {
                    $($value => Self::$name,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<AlertDescription> for u8 {
            fn from(value: AlertDescription) -> Self {
                match value {
                    $(AlertDescription::$name => $value,)*
                    AlertDescription::Unknown(other) => other,
                }
            }
        }
    };
}

alert_descriptions! {
    /// `close_notify` (0).
    CloseNotify = 0,
    /// `unexpected_message` (10).
    UnexpectedMessage = 10,
    /// `bad_record_mac` (20).
    BadRecordMac = 20,
    /// `record_overflow` (22).
    RecordOverflow = 22,
    /// `handshake_failure` (40).
    HandshakeFailure = 40,
    /// `bad_certificate` (42).
    BadCertificate = 42,
    /// `unsupported_certificate` (43).
    UnsupportedCertificate = 43,
    /// `certificate_revoked` (44).
    CertificateRevoked = 44,
    /// `certificate_expired` (45).
    CertificateExpired = 45,
    /// `certificate_unknown` (46).
    CertificateUnknown = 46,
    /// `illegal_parameter` (47).
    IllegalParameter = 47,
    /// `unknown_ca` (48).
    UnknownCa = 48,
    /// `access_denied` (49).
    AccessDenied = 49,
    /// `decode_error` (50).
    DecodeError = 50,
    /// `decrypt_error` (51).
    DecryptError = 51,
    /// `protocol_version` (70).
    ProtocolVersion = 70,
    /// `insufficient_security` (71).
    InsufficientSecurity = 71,
    /// `internal_error` (80).
    InternalError = 80,
    /// `inappropriate_fallback` (86).
    InappropriateFallback = 86,
    /// `user_canceled` (90).
    UserCanceled = 90,
    /// `no_renegotiation` (100), TLS 1.2 only.
    NoRenegotiation = 100,
    /// `missing_extension` (109).
    MissingExtension = 109,
    /// `unsupported_extension` (110).
    UnsupportedExtension = 110,
    /// `unrecognized_name` (112).
    UnrecognizedName = 112,
    /// `bad_certificate_status_response` (113).
    BadCertificateStatusResponse = 113,
    /// `unknown_psk_identity` (115).
    UnknownPskIdentity = 115,
    /// `certificate_required` (116).
    CertificateRequired = 116,
    /// `no_application_protocol` (120).
    NoApplicationProtocol = 120,
}

#[cfg(test)]
mod tests {
    use super::AlertDescription;

    #[test]
    fn every_byte_round_trips() {
        for byte in 0..=u8::MAX {
            assert_eq!(u8::from(AlertDescription::from(byte)), byte);
        }
        assert_eq!(AlertDescription::from(51), AlertDescription::DecryptError);
        assert_eq!(AlertDescription::from(200), AlertDescription::Unknown(200));
    }
}

//! Open wire enums: a name for every value this crate acts on, and `Unknown(..)` for the rest,
//! so decoding never fails on a value it does not recognise and re-encoding gives the same
//! bytes back. Alert descriptions live in [`crate::alert`].

use crate::codec::{InvalidMessage, Reader, Writer};

/// Declares an open enum over a `u8` or `u16` wire value, with its conversions and codec.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident: $repr:ident {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub(crate) enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value without a name here, kept as sent.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }

        impl $name {
            // Not every enum is read by the handshakes (alert levels are written only).
            #[allow(dead_code)]
            /// Reads one value.
            pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
                r.$repr(stringify!($name)).map(Self::from)
            }

            /// Writes one value.
            pub(crate) fn encode(self, w: &mut Writer) {
                w.$repr(self.into());
            }
        }
    };
}

wire_enum! {
    /// `ProtocolVersion` (RFC 8446 §4.1.2, RFC 5246 §6.2.1).
    ProtocolVersion: u16 {
        /// SSL 3.0, only ever seen as a legacy record version.
        Ssl3 = 0x0300,
        /// TLS 1.0.
        Tls10 = 0x0301,
        /// TLS 1.1.
        Tls11 = 0x0302,
        /// TLS 1.2.
        Tls12 = 0x0303,
        /// TLS 1.3.
        Tls13 = 0x0304,
    }
}

wire_enum! {
    /// `CipherSuite` (RFC 8446 §B.4, RFC 5289, RFC 7905).
    CipherSuite: u16 {
        /// TLS_AES_128_GCM_SHA256.
        Tls13Aes128GcmSha256 = 0x1301,
        /// TLS_AES_256_GCM_SHA384.
        Tls13Aes256GcmSha384 = 0x1302,
        /// TLS_CHACHA20_POLY1305_SHA256.
        Tls13Chacha20Poly1305Sha256 = 0x1303,
        /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.
        EcdheEcdsaAes128GcmSha256 = 0xc02b,
        /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.
        EcdheEcdsaAes256GcmSha384 = 0xc02c,
        /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
        EcdheRsaAes128GcmSha256 = 0xc02f,
        /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384.
        EcdheRsaAes256GcmSha384 = 0xc030,
        /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256.
        EcdheRsaChacha20Poly1305Sha256 = 0xcca8,
        /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.
        EcdheEcdsaChacha20Poly1305Sha256 = 0xcca9,
        /// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3).
        EmptyRenegotiationInfoScsv = 0x00ff,
        /// TLS_FALLBACK_SCSV (RFC 7507).
        FallbackScsv = 0x5600,
    }
}

wire_enum! {
    /// `NamedGroup` (RFC 8446 §4.2.7, RFC 8422 §5.1.1).
    NamedGroup: u16 {
        /// secp256r1 (P-256).
        Secp256r1 = 0x0017,
        /// secp384r1 (P-384).
        Secp384r1 = 0x0018,
        /// secp521r1 (P-521).
        Secp521r1 = 0x0019,
        /// X25519.
        X25519 = 0x001d,
        /// X448.
        X448 = 0x001e,
        /// ffdhe2048 (RFC 7919).
        Ffdhe2048 = 0x0100,
        /// ffdhe3072.
        Ffdhe3072 = 0x0101,
        /// ffdhe4096.
        Ffdhe4096 = 0x0102,
    }
}

wire_enum! {
    /// `SignatureScheme` (RFC 8446 §4.2.3); in TLS 1.2 the same two bytes are the
    /// `SignatureAndHashAlgorithm` pair (RFC 5246 §7.4.1.4.1).
    SignatureScheme: u16 {
        /// rsa_pkcs1_sha1 (legacy).
        RsaPkcs1Sha1 = 0x0201,
        /// ecdsa_sha1 (legacy).
        EcdsaSha1 = 0x0203,
        /// rsa_pkcs1_sha256.
        RsaPkcs1Sha256 = 0x0401,
        /// ecdsa_secp256r1_sha256.
        EcdsaSecp256r1Sha256 = 0x0403,
        /// rsa_pkcs1_sha384.
        RsaPkcs1Sha384 = 0x0501,
        /// ecdsa_secp384r1_sha384.
        EcdsaSecp384r1Sha384 = 0x0503,
        /// rsa_pkcs1_sha512.
        RsaPkcs1Sha512 = 0x0601,
        /// ecdsa_secp521r1_sha512.
        EcdsaSecp521r1Sha512 = 0x0603,
        /// rsa_pss_rsae_sha256.
        RsaPssRsaeSha256 = 0x0804,
        /// rsa_pss_rsae_sha384.
        RsaPssRsaeSha384 = 0x0805,
        /// rsa_pss_rsae_sha512.
        RsaPssRsaeSha512 = 0x0806,
        /// ed25519.
        Ed25519 = 0x0807,
        /// ed448.
        Ed448 = 0x0808,
        /// rsa_pss_pss_sha256.
        RsaPssPssSha256 = 0x0809,
        /// rsa_pss_pss_sha384.
        RsaPssPssSha384 = 0x080a,
        /// rsa_pss_pss_sha512.
        RsaPssPssSha512 = 0x080b,
    }
}

wire_enum! {
    /// `ExtensionType` (RFC 8446 §4.2 and the RFCs named on each value). Only the extensions
    /// this crate decodes have names; every other type is kept raw.
    ExtensionType: u16 {
        /// server_name (RFC 6066 §3).
        ServerName = 0,
        /// supported_groups (RFC 8446 §4.2.7).
        SupportedGroups = 10,
        /// ec_point_formats (RFC 8422 §5.1.2).
        EcPointFormats = 11,
        /// signature_algorithms (RFC 8446 §4.2.3).
        SignatureAlgorithms = 13,
        /// application_layer_protocol_negotiation (RFC 7301).
        Alpn = 16,
        /// extended_master_secret (RFC 7627).
        ExtendedMasterSecret = 23,
        /// session_ticket (RFC 5077).
        SessionTicket = 35,
        /// pre_shared_key (RFC 8446 §4.2.11).
        PreSharedKey = 41,
        /// early_data (RFC 8446 §4.2.10).
        EarlyData = 42,
        /// supported_versions (RFC 8446 §4.2.1).
        SupportedVersions = 43,
        /// cookie (RFC 8446 §4.2.2).
        Cookie = 44,
        /// psk_key_exchange_modes (RFC 8446 §4.2.9).
        PskKeyExchangeModes = 45,
        /// key_share (RFC 8446 §4.2.8).
        KeyShare = 51,
        /// renegotiation_info (RFC 5746).
        RenegotiationInfo = 0xff01,
    }
}

wire_enum! {
    /// `HandshakeType` (RFC 8446 §4, RFC 5246 §7.4).
    HandshakeType: u8 {
        /// hello_request (TLS 1.2).
        HelloRequest = 0,
        /// client_hello.
        ClientHello = 1,
        /// server_hello (also the HelloRetryRequest).
        ServerHello = 2,
        /// new_session_ticket (RFC 5077, RFC 8446 §4.6.1).
        NewSessionTicket = 4,
        /// end_of_early_data.
        EndOfEarlyData = 5,
        /// encrypted_extensions.
        EncryptedExtensions = 8,
        /// certificate.
        Certificate = 11,
        /// server_key_exchange (TLS 1.2).
        ServerKeyExchange = 12,
        /// certificate_request.
        CertificateRequest = 13,
        /// server_hello_done (TLS 1.2).
        ServerHelloDone = 14,
        /// certificate_verify.
        CertificateVerify = 15,
        /// client_key_exchange (TLS 1.2).
        ClientKeyExchange = 16,
        /// finished.
        Finished = 20,
        /// key_update.
        KeyUpdate = 24,
        /// message_hash, the synthetic message of the HelloRetryRequest transcript (§4.4.1).
        MessageHash = 254,
    }
}

wire_enum! {
    /// `ContentType` of a record (RFC 8446 §5.1).
    ContentType: u8 {
        /// change_cipher_spec.
        ChangeCipherSpec = 20,
        /// alert.
        Alert = 21,
        /// handshake.
        Handshake = 22,
        /// application_data.
        ApplicationData = 23,
    }
}

wire_enum! {
    /// `PskKeyExchangeMode` (RFC 8446 §4.2.9).
    PskKeyExchangeMode: u8 {
        /// psk_ke: PSK-only key establishment, not forward secret.
        PskKe = 0,
        /// psk_dhe_ke: PSK with (EC)DHE key establishment.
        PskDheKe = 1,
    }
}

wire_enum! {
    /// `AlertLevel` (RFC 5246 §7.2; ignored in TLS 1.3 except for the description).
    AlertLevel: u8 {
        /// warning.
        Warning = 1,
        /// fatal.
        Fatal = 2,
    }
}

impl From<crate::suites::CipherSuite> for CipherSuite {
    fn from(suite: crate::suites::CipherSuite) -> Self {
        Self::from(suite.to_u16())
    }
}

impl From<crate::suites::Tls12CipherSuite> for CipherSuite {
    fn from(suite: crate::suites::Tls12CipherSuite) -> Self {
        Self::from(suite.to_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u8_value_round_trips_through_each_u8_enum() {
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(HandshakeType::from(v)), v);
            assert_eq!(u8::from(ContentType::from(v)), v);
            assert_eq!(u8::from(PskKeyExchangeMode::from(v)), v);
            assert_eq!(u8::from(AlertLevel::from(v)), v);
        }
    }

    #[test]
    fn every_u16_value_round_trips_through_each_u16_enum() {
        for v in 0..=u16::MAX {
            assert_eq!(u16::from(ProtocolVersion::from(v)), v);
            assert_eq!(u16::from(CipherSuite::from(v)), v);
            assert_eq!(u16::from(NamedGroup::from(v)), v);
            assert_eq!(u16::from(SignatureScheme::from(v)), v);
            assert_eq!(u16::from(ExtensionType::from(v)), v);
        }
    }

    #[test]
    fn known_values_get_their_names_and_unknown_ones_are_kept() {
        assert_eq!(ProtocolVersion::from(0x0304), ProtocolVersion::Tls13);
        assert_eq!(ExtensionType::from(41), ExtensionType::PreSharedKey);
        assert_eq!(ExtensionType::from(28), ExtensionType::Unknown(28));
        assert_eq!(ContentType::from(24), ContentType::Unknown(24));
        let mut w = Writer::new();
        CipherSuite::Tls13Aes128GcmSha256.encode(&mut w);
        assert_eq!(w.as_slice(), [0x13, 0x01]);
        let mut r = Reader::new(&[0x13]);
        assert_eq!(
            CipherSuite::read(&mut r),
            Err(InvalidMessage::Truncated("CipherSuite"))
        );
    }
}

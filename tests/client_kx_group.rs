//! `ClientConnection::kx_group`: the (EC)DHE group a handshake used, in either version, and
//! none for a TLS 1.2 abbreviated handshake.

mod peers;

use std::sync::Arc;

use peers::ours;
use tls_resumption::crypto::kx::KxGroup;
use tls_resumption::store::MemoryClientStore;
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConfig, ClientConnection, ServerConnection, TlsVersion};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn group_of(client: &Arc<ClientConfig>, version: TlsVersion) -> (Option<KxGroup>, bool) {
    let server = Arc::new(ours::server_config("server").with_versions(&[version]));
    let mut c = ClientConnection::new(client.clone(), "localhost", NOW).unwrap();
    let mut s = ServerConnection::new(server);
    ours::pump(&mut c, &mut s, NOW).unwrap();
    assert!(!c.is_handshaking());
    (c.kx_group(), c.handshake_kind().unwrap().is_resumed())
}

#[test]
fn the_group_used_is_reported_in_both_versions() {
    for group in KxGroup::ALL {
        let client = Arc::new(
            ours::client_config("server")
                .with_versions(&[TlsVersion::Tls13])
                .with_groups(&[group]),
        );
        assert_eq!(group_of(&client, TlsVersion::Tls13), (Some(group), false));
    }
    // TLS 1.2: the server picks in its own order (X25519 first); P-256 is offered always,
    // for the certificate's curve (RFC 8422 §5.1).
    for (offered, picked) in [
        (KxGroup::X25519, KxGroup::X25519),
        (KxGroup::Secp384r1, KxGroup::Secp256r1),
    ] {
        let client = Arc::new(
            ours::client_config("server")
                .with_versions(&[TlsVersion::Tls12])
                .with_groups(&[offered, KxGroup::Secp256r1]),
        );
        assert_eq!(group_of(&client, TlsVersion::Tls12), (Some(picked), false));
    }
}

#[test]
fn a_tls12_abbreviated_handshake_has_no_group() {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let client = Arc::new(
        ours::client_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_store(Some(store)),
    );
    let server = Arc::new(ours::server_config("server").with_versions(&[TlsVersion::Tls12]));
    for resumed in [false, true] {
        let mut c = ClientConnection::new(client.clone(), "localhost", NOW).unwrap();
        let mut s = ServerConnection::new(server.clone());
        ours::pump(&mut c, &mut s, NOW).unwrap();
        assert_eq!(c.handshake_kind().unwrap().is_resumed(), resumed);
        assert_eq!(c.kx_group().is_some(), !resumed);
    }
}

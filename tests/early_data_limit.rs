//! The 0-RTT limit is the ticket's own max_early_data_size (RFC 8446 §4.2.10, §4.6.1), not
//! whatever the server's configuration says when the ticket comes back.

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours;
use tls_resumption::alert::AlertDescription;
use tls_resumption::antireplay::StrikeRegister;
use tls_resumption::store::MemoryClientStore;
use tls_resumption::ticket::{AeadSealer, TicketKeyMaterial};
use tls_resumption::time::Timestamp;
use tls_resumption::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, TicketMode};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

fn early_server(max: u32, tickets: &TicketMode) -> Arc<ServerConfig> {
    Arc::new(
        ours::server_config("server")
            .with_tickets(tickets.clone())
            .with_early_data(
                max,
                Arc::new(StrikeRegister::new(1000, Duration::from_secs(10))),
            ),
    )
}

#[test]
fn early_data_beyond_the_tickets_own_limit_is_refused_after_the_server_raised_its_limit() {
    let rng = ring::rand::SystemRandom::new();
    let sealer = AeadSealer::new(
        TicketKeyMaterial::generate(&rng).unwrap(),
        Duration::from_secs(3600),
    )
    .unwrap();
    let tickets = TicketMode::Stateless(Arc::new(sealer));
    // A client that sends more early data than its ticket allows: its store claims a larger
    // max_early_data than the server gave.
    let store = Arc::new(ours::RewritingStore::new(|t| t.state.max_early_data = 5000));
    let client: Arc<ClientConfig> = Arc::new(
        ours::client_config("server")
            .with_session_store(Some(store))
            .with_early_data(true),
    );
    // The ticket is issued allowing 100 bytes.
    ours::connect(&client, &early_server(100, &tickets), NOW, None).unwrap();
    // The server's limit is raised; the ticket still says 100 (RFC 8446 §4.2.10).
    let raised = early_server(10_000, &tickets);
    let mut c = ClientConnection::new(client, "localhost", NOW).unwrap();
    c.send_early_data(&[b'x'; 5000]).unwrap();
    let mut s = ServerConnection::new(raised);
    let result = ours::pump(&mut c, &mut s, NOW);
    let accepted = s.take_early_data().len();
    assert!(
        accepted <= 100,
        "accepted {accepted} early bytes on a ticket allowing 100"
    );
    assert_eq!(
        result.unwrap_err().alert(),
        AlertDescription::UnexpectedMessage
    );
}

/// RFC 8446 §4.2.10: a server that refuses 0-RTT skips the early data, up to the size the
/// client may send. A ticket issued when the server took 40,000 early bytes is refused for
/// 0-RTT once the limit is lowered to 1,000, but its client may still send up to 40,000: the
/// server skips all of it and completes the handshake instead of failing on a record it
/// cannot open (bad_record_mac).
#[test]
fn refused_early_data_up_to_the_tickets_own_larger_limit_is_skipped_after_the_server_lowered_its_limit(
) {
    let rng = ring::rand::SystemRandom::new();
    let sealer = AeadSealer::new(
        TicketKeyMaterial::generate(&rng).unwrap(),
        Duration::from_secs(3600),
    )
    .unwrap();
    let tickets = TicketMode::Stateless(Arc::new(sealer));
    let client: Arc<ClientConfig> = Arc::new(
        ours::client_config("server")
            .with_session_store(Some(Arc::new(MemoryClientStore::new(4, 4))))
            .with_early_data(true),
    );
    ours::connect(&client, &early_server(40_000, &tickets), NOW, None).unwrap();
    let lowered = early_server(1_000, &tickets);
    let mut c = ClientConnection::new(client, "localhost", NOW).unwrap();
    c.send_early_data(&[b'x'; 36_000]).unwrap();
    let mut s = ServerConnection::new(lowered);
    ours::pump(&mut c, &mut s, NOW).expect("refused early data is skipped");
    assert!(!c.is_handshaking() && !s.is_handshaking());
    assert!(s.take_early_data().is_empty());
    c.send_plaintext(b"after").unwrap();
    ours::pump(&mut c, &mut s, NOW).unwrap();
    assert_eq!(s.take_plaintext(), b"after");
}

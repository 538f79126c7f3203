//! A TLS 1.2 ticket is accepted no longer than the lifetime hint the server sent with it
//! (RFC 5077 §3.3), even while the key that sealed it still decrypts.
//!
//! A rotating sealer's key opens tickets for its whole decrypt window, which is longer than the
//! lifetime of a ticket sealed late in it: a ticket sealed as the key starts is still openable
//! a rotation period after its advertised lifetime ended. The server must hold tickets to the
//! lifetime it announced (the sealer's `lifetime()` is the bound it gives the state inside),
//! as it already does for TLS 1.3 tickets. The client here ignores the hint, as RFC 5077 lets
//! it, to see what the server accepts.

mod peers;

use std::sync::Arc;
use std::time::Duration;

use peers::ours;
use tls_resumption::store::{ClientSessionStore, MemoryClientStore};
use tls_resumption::ticket::{RotatingSealer, Schedule};
use tls_resumption::time::{ManualClock, Timestamp};
use tls_resumption::{
    ClientConfig, EarlyDataStatus, HandshakeKind, ResumptionMechanism, ServerConfig, TicketMode,
    TlsVersion,
};

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const MIN: Duration = Duration::from_secs(60);

const BY_TICKET: Option<HandshakeKind> = Some(HandshakeKind::Resumed {
    mechanism: ResumptionMechanism::Ticket,
    early_data: EarlyDataStatus::NotOffered,
});
const FULL: Option<HandshakeKind> = Some(HandshakeKind::Full);

/// Keys rotate every 10 minutes and decrypt for an hour: tickets live 50 minutes. Sessions
/// live two hours (the default), so only the ticket's lifetime bounds a ticket.
fn server(clock: &Arc<ManualClock>) -> Arc<ServerConfig> {
    let schedule = Schedule {
        rotation_period: 10 * MIN,
        decrypt_window: 60 * MIN,
    };
    let sealer = Arc::new(RotatingSealer::new(clock.clone(), schedule).unwrap());
    Arc::new(
        ours::server_config("server")
            .with_versions(&[TlsVersion::Tls12])
            .with_session_cache(None)
            .with_tickets(TicketMode::Stateless(sealer)),
    )
}

fn new_client() -> (Arc<ClientConfig>, Arc<MemoryClientStore>) {
    let store = Arc::new(MemoryClientStore::new(4, 4));
    let config = ours::client_config("server")
        .with_versions(&[TlsVersion::Tls12])
        .with_session_store(Some(store.clone()));
    (Arc::new(config), store)
}

/// How long the stored ticket lives, counted from the session's full handshake (its hint
/// counts from its arrival); the stored session is then made to outlive it, so the client
/// offers the ticket past it.
fn hint_then_ignore_it(store: &MemoryClientStore) -> u32 {
    let mut session = store
        .take_tls12_session("localhost", NOW)
        .unwrap()
        .expect("a stored session");
    assert!(session.ticket.is_some(), "a ticket was issued");
    let hint = session.state.lifetime_secs;
    session.state.lifetime_secs = 24 * 3600;
    store.set_tls12_session("localhost", session).unwrap();
    hint
}

fn at(clock: &ManualClock, since_start: Duration) -> Timestamp {
    let now = NOW.saturating_add(since_start);
    clock.set(now);
    now
}

#[test]
fn a_tls12_ticket_is_refused_past_its_advertised_lifetime_while_its_key_still_decrypts() {
    let clock = Arc::new(ManualClock::new(NOW));
    let server = server(&clock);
    let (client, store) = new_client();
    assert_eq!(
        ours::connect(&client, &server, NOW, None)
            .unwrap()
            .server_kind,
        FULL
    );
    let hint = hint_then_ignore_it(&store);
    assert_eq!(hint, 50 * 60, "the hint is the sealer's ticket lifetime");
    // Within the hint the ticket resumes (and is renewed: its key only decrypts by now)...
    let now = at(&clock, Duration::from_secs(u64::from(hint) - 1));
    assert_eq!(
        ours::connect(&client, &server, now, None)
            .unwrap()
            .server_kind,
        BY_TICKET
    );
    // ...but the ticket first issued, offered once the hint has passed, does not, although
    // the key that sealed it decrypts for another 10 minutes.
    let (late_client, late_store) = new_client();
    ours::connect(&late_client, &server, NOW, None).unwrap();
    hint_then_ignore_it(&late_store);
    let now = at(&clock, Duration::from_secs(u64::from(hint) + 1));
    assert_eq!(
        ours::connect(&late_client, &server, now, None)
            .unwrap()
            .server_kind,
        FULL,
        "a TLS 1.2 ticket was accepted past its advertised lifetime"
    );
}

#[test]
fn a_renewed_tls12_ticket_is_refused_past_the_lifetime_advertised_with_it() {
    let clock = Arc::new(ManualClock::new(NOW));
    let server = server(&clock);
    let (client, store) = new_client();
    ours::connect(&client, &server, NOW, None).unwrap();
    hint_then_ignore_it(&store);
    // 25 minutes on, the first key only decrypts: the ticket is renewed under the key active
    // since 20 minutes, for the sealer's lifetime from now.
    let renewed_at = 25 * MIN;
    let now = at(&clock, renewed_at);
    assert_eq!(
        ours::connect(&client, &server, now, None)
            .unwrap()
            .server_kind,
        BY_TICKET
    );
    let end = hint_then_ignore_it(&store);
    assert_eq!(
        end,
        75 * 60,
        "a 50-minute hint from the renewal at 25 minutes"
    );
    // The renewed ticket's key decrypts until 80 minutes; its hint ends at 75.
    let now = at(&clock, Duration::from_secs(u64::from(end) + 1));
    assert_eq!(
        ours::connect(&client, &server, now, None)
            .unwrap()
            .server_kind,
        FULL,
        "a renewed TLS 1.2 ticket was accepted past the lifetime advertised with it"
    );
}

/// The hint of a renewed ticket counts from when it arrives (RFC 5077 §3.3), not from the
/// session's first full handshake: the client keeps offering it for that long.
#[test]
fn the_client_offers_a_renewed_tls12_ticket_for_its_whole_hint() {
    let clock = Arc::new(ManualClock::new(NOW));
    let server = server(&clock);
    let (client, _store) = new_client();
    ours::connect(&client, &server, NOW, None).unwrap();
    // Renewed at 25 minutes (its key only decrypts by then), for another 50.
    let now = at(&clock, 25 * MIN);
    assert_eq!(
        ours::connect(&client, &server, now, None)
            .unwrap()
            .server_kind,
        BY_TICKET
    );
    // 60 minutes: past the first ticket's hint, within the renewed one's.
    let now = at(&clock, 60 * MIN);
    assert_eq!(
        ours::connect(&client, &server, now, None)
            .unwrap()
            .client_kind,
        BY_TICKET,
        "the client dropped a renewed ticket before the end of its hint"
    );
}

//! MemoryClientStore: single-use TLS 1.3 tickets, oldest dropped first, one TLS 1.2 session,
//! bounds in servers and tickets, expiry.

use std::time::Duration;

use tls_resumption::crypto::secret::{Secret, SecretArray};
use tls_resumption::session::{Tls12Session, Tls13Session};
use tls_resumption::store::{
    ClientSessionStore, ClientTls12Session, ClientTls13Ticket, MemoryClientStore,
};
use tls_resumption::time::Timestamp;

const NOW: Timestamp = Timestamp::from_secs(1_000_000);

fn ticket(id: u8, lifetime_secs: u32) -> ClientTls13Ticket {
    ClientTls13Ticket {
        ticket: vec![id; 8],
        state: Tls13Session {
            cipher_suite: 0x1301,
            resumption_psk: Secret::from_slice(&[id; 32]).unwrap(),
            ticket_age_add: 0,
            lifetime_secs,
            max_early_data: 0,
            server_name: None,
            alpn: None,
            issued_at: NOW,
            auth_time: None,
        },
    }
}

fn tls12(id: u8) -> ClientTls12Session {
    ClientTls12Session {
        session_id: vec![id; 32],
        ticket: None,
        state: Tls12Session {
            protocol_version: 0x0303,
            cipher_suite: 0xc02f,
            master_secret: SecretArray::new([id; 48]),
            extended_master_secret: true,
            server_name: None,
            alpn: None,
            issued_at: NOW,
            lifetime_secs: 60,
        },
    }
}

fn take_id(store: &MemoryClientStore, server: &str) -> Option<u8> {
    store
        .take_tls13_ticket(server, NOW)
        .unwrap()
        .map(|t| t.ticket[0])
}

#[test]
fn each_tls13_ticket_is_returned_once_newest_first() {
    let store = MemoryClientStore::new(8, 4);
    for id in 1..=3 {
        store
            .insert_tls13_ticket("a.example", ticket(id, 60))
            .unwrap();
    }
    assert_eq!(take_id(&store, "a.example"), Some(3));
    assert_eq!(take_id(&store, "a.example"), Some(2));
    assert_eq!(take_id(&store, "a.example"), Some(1));
    assert_eq!(take_id(&store, "a.example"), None);
    assert_eq!(store.server_count(), 0, "empty servers are forgotten");
}

#[test]
fn oldest_ticket_is_dropped_when_a_server_is_full() {
    let store = MemoryClientStore::new(8, 2);
    for id in 1..=5 {
        store
            .insert_tls13_ticket("a.example", ticket(id, 60))
            .unwrap();
    }
    assert_eq!(store.tls13_ticket_count("a.example"), 2);
    assert_eq!(take_id(&store, "a.example"), Some(5));
    assert_eq!(take_id(&store, "a.example"), Some(4));
    assert_eq!(take_id(&store, "a.example"), None);
}

#[test]
fn expired_tickets_are_never_returned() {
    let store = MemoryClientStore::new(8, 4);
    store
        .insert_tls13_ticket("a.example", ticket(1, 10))
        .unwrap();
    store
        .insert_tls13_ticket("a.example", ticket(2, 100))
        .unwrap();
    store
        .insert_tls13_ticket("a.example", ticket(3, 5))
        .unwrap();
    let later = NOW.saturating_add(Duration::from_secs(50));
    assert_eq!(
        store
            .take_tls13_ticket("a.example", later)
            .unwrap()
            .map(|t| t.ticket[0]),
        Some(2)
    );
    assert!(store
        .take_tls13_ticket("a.example", later)
        .unwrap()
        .is_none());
}

#[test]
fn tickets_are_kept_per_server() {
    let store = MemoryClientStore::new(8, 4);
    store
        .insert_tls13_ticket("a.example", ticket(1, 60))
        .unwrap();
    store
        .insert_tls13_ticket("b.example", ticket(2, 60))
        .unwrap();
    assert_eq!(take_id(&store, "b.example"), Some(2));
    assert_eq!(take_id(&store, "b.example"), None);
    assert_eq!(take_id(&store, "a.example"), Some(1));
}

#[test]
fn least_recently_used_server_is_dropped_when_full() {
    let store = MemoryClientStore::new(2, 4);
    store.insert_tls13_ticket("a", ticket(1, 60)).unwrap();
    store.insert_tls13_ticket("b", ticket(2, 60)).unwrap();
    store.insert_tls13_ticket("a", ticket(3, 60)).unwrap();
    store.insert_tls13_ticket("c", ticket(4, 60)).unwrap();
    assert_eq!(store.server_count(), 2);
    assert_eq!(take_id(&store, "b"), None);
    assert_eq!(take_id(&store, "a"), Some(3));
    assert_eq!(take_id(&store, "c"), Some(4));
}

#[test]
fn one_tls12_session_per_server_replaced_by_the_newest() {
    let store = MemoryClientStore::default();
    store.set_tls12_session("a", tls12(1)).unwrap();
    store.set_tls12_session("a", tls12(2)).unwrap();
    let s = store.take_tls12_session("a", NOW).unwrap().unwrap();
    assert_eq!(s.session_id, vec![2; 32]);
    assert!(store.take_tls12_session("a", NOW).unwrap().is_none());
    store.set_tls12_session("a", tls12(3)).unwrap();
    let expired = NOW.saturating_add(Duration::from_secs(60));
    assert!(store.take_tls12_session("a", expired).unwrap().is_none());
}

#[test]
fn tls12_and_tls13_state_coexist_for_one_server() {
    let store = MemoryClientStore::default();
    store.set_tls12_session("a", tls12(1)).unwrap();
    store.insert_tls13_ticket("a", ticket(9, 60)).unwrap();
    assert_eq!(take_id(&store, "a"), Some(9));
    assert!(store.take_tls12_session("a", NOW).unwrap().is_some());
}

#[test]
fn usable_as_a_shared_trait_object() {
    let store: std::sync::Arc<dyn ClientSessionStore> =
        std::sync::Arc::new(MemoryClientStore::new(1, 1));
    store.insert_tls13_ticket("a", ticket(1, 60)).unwrap();
    assert!(store.take_tls13_ticket("a", NOW).unwrap().is_some());
}

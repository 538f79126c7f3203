//! # Architecture: how the crate is built, and where things go
//!
//! This module holds no code: it is the map of the source, kept next to it. The layering it
//! describes is checked by `tests/layering.rs`, which reads `src/` and fails when a module
//! imports a layer above its own; change the two together.
//!
//! ## Layers
//!
//! Bottom first. A module may import its own layer and the layers below it, always by path
//! (`crate::error::Error`, never the crate root's `crate::Error`, which is for users and for
//! the integrations). `super::` and `self::` paths count as the `crate::` paths they stand
//! for. Unit tests (`#[cfg(test)] mod` blocks and the files they declare) may import anything.
//!
//! | layer | modules | what it knows |
//! |---|---|---|
//! | primitives | [`alert`](crate::alert), [`time`](crate::time), [`keylog`](crate::keylog), `codec`, [`crypto`](crate::crypto), [`suites`](crate::suites) | bytes, clocks, secrets, AEAD/HMAC/signatures, the cipher suites of both versions |
//! | protocol data | [`kdf`](crate::kdf), `msgs`, `record` | the key schedules of both versions (and [`Side`](crate::kdf::Side)), every handshake message's wire form, records and their protection |
//! | resumption state | [`session`](crate::session), [`store`](crate::store), [`ticket`](crate::ticket), [`antireplay`](crate::antireplay), [`verify`](crate::verify) | what a resumable session is, where it is kept, how tickets are sealed and rotated, 0-RTT replay, certificate trust |
//! | handshake support | [`config`](crate::config), `conn` | configurations; what both sides share (record plumbing in `conn::core`, the transcript, `send`, key-log lines, KeyUpdate, the TLS 1.2 Finished/master secret/connected state) |
//! | handshake | `client`, `server` | the two state machines; neither imports the other |
//! | integrations | `rustls_adapter` (feature `rustls`), `fleet` (feature `redis`), `fuzzing` | the crate's pieces plugged into others |
//!
//! [`error`](crate::error) stands beside the layers: the one [`Error`](crate::Error) names
//! the errors of every layer and every layer returns it. It imports no layer above the
//! resumption state (the handshake's failures are its own `PeerMisbehaved` and
//! `PeerIncompatible`, not imported types). It is also the one place that maps
//! an error to the alert sent on the wire (`alert()` on each error type); codec, crypto and
//! verification know nothing of alerts.
//!
//! ## One side, top to bottom
//!
//! Each side has a front (`client/mod.rs`, `server/mod.rs`: the public connection type, one
//! state enum, the `Context` a step works with and the `Outcome` the connection reports), a
//! version-neutral `hello.rs`, and one half per version (`tls12.rs`, `tls13.rs`). The halves
//! never import each other; `hello.rs` imports neither, and neither do the server's
//! `psk.rs` and `retry.rs`, which the TLS 1.3 half uses. Each state is a value named for the
//! message it expects next; handling a message consumes it and returns the next state.
//! Checks that guard a step return proofs the step requires: the peer's Finished proof is
//! the only way into a `Connected` state. On the server a PSK never leaves `psk.rs`
//! unverified: its early secret goes out only inside the `psk::Accepted` that `psk::accept`
//! returns once the binder verified (and a stateful ticket was claimed), and that value's
//! fields, the 0-RTT decision made with the replay guard among them, are private to
//! `psk.rs` (read through getters).
//!
//! ```text
//! server:  ServerState::ExpectClientHello ──hello.rs: decode once, choose version──┐
//!            ├─► Tls13(tls13::State)  ExpectClientHello(after retry) / ExpectEarlyData /
//!            │                        ExpectFinished / Connected
//!            └─► Tls12(tls12::State)  ExpectClientKeyExchange / ExpectFinished / Connected
//! client:  ClientState::ExpectServerHello(hello::Offer) ──ServerHello decoded once──┐
//!            ├─► Tls13(tls13::State)  ExpectServerHello(after retry) / ExpectEncryptedExtensions
//!            │                        / ExpectCertificate / … / Connected
//!            └─► Tls12(tls12::State)  ExpectCertificate / … / ExpectFinished / Connected
//! ```
//!
//! ## A resumed TLS 1.3 handshake (RFC 8446 §2.2)
//!
//! 1. Client, `client/hello.rs` `start`: takes the newest stored ticket (and the TLS 1.2
//!    session, offered in the same hello), builds the ClientHello with `pre_shared_key` last,
//!    computes the binder over the hello's own truncated encoding, queues it, and — with
//!    0-RTT — installs the early traffic keys.
//! 2. Server, `server/hello.rs`: decodes the ClientHello once, keeping its bytes and the slice
//!    the binder covers, reads the server name, resolves the host for it (`resolve_host`: a
//!    [`VirtualHost`](crate::config::VirtualHost) of that name, else the default), and
//!    chooses TLS 1.3. The halves get that host's certificate, key, tickets and session
//!    cache in their `Context`, and know nothing of other hosts.
//! 3. `server/tls13.rs` `ExpectClientHello::handle`: chooses the suite and key share (or sends
//!    a HelloRetryRequest, `retry.rs`), then `psk::accept` (`server/psk.rs`): modes, the
//!    ticket opened (`ticket`) or looked up (`store`), its binder verified, a stateful
//!    ticket claimed, 0-RTT decided with the replay guard (`antireplay`).
//! 4. The server's flight, each step named for what it sends: `emit_server_hello`, the key
//!    schedule (`kdf::tls13`), `emit_encrypted_extensions`, (no certificate when resuming),
//!    `emit_finished`; then `ExpectEarlyData` or `ExpectFinished`.
//! 5. Client, `client/tls13.rs` `ExpectServerHello`: checks what was selected, derives the
//!    handshake secret from the PSK (and the (EC)DHE share), then EncryptedExtensions and the
//!    server's Finished, answers with its own, and keeps the NewSessionTickets that follow
//!    (`store`).
//!
//! ## A resumed TLS 1.2 handshake (RFC 5246 §7.3, RFC 5077, RFC 7627)
//!
//! 1. The same ClientHello as above carries the TLS 1.2 session: its ticket in
//!    `session_ticket`, or its ID as `legacy_session_id`.
//! 2. Server, `server/hello.rs` chooses TLS 1.2; `server/tls12.rs` `start` checks the hello
//!    (compression, renegotiation info, EMS) and `tls12/resume.rs` `find_session` finds the
//!    session (ticket first, then ID, each checked against this connection's time), applies
//!    RFC 7627 §5.3, and `resume` sends ServerHello, an optional new ticket, ChangeCipherSpec
//!    and Finished.
//! 3. Client, `client/mod.rs` sees a ServerHello without `supported_versions` and hands it to
//!    `client/tls12.rs` `start`, which recognises the echoed session ID, derives keys from the
//!    stored master secret, and checks the server's Finished before sending its own.
//!
//! ## Where a new thing goes
//!
//! - **An extension** (ALPN, say): the client offers it in `client/hello.rs`
//!   `common_extensions` (both versions see the same hello). The server reads it through a
//!   method on `server/hello.rs` `Hello`, negotiates it there next to `choose_group` /
//!   `choose_scheme` (the negotiation both versions share), and answers it in
//!   `emit_encrypted_extensions` (`server/tls13.rs`) and `hello_extensions`
//!   (`server/tls12.rs`). Its wire form goes in `msgs/extensions.rs` (client) and
//!   `msgs/server_extensions.rs` (server); what a session must remember of it goes in
//!   [`session`](crate::session) (its `alpn` field is the place for ALPN).
//! - **A cipher suite**: [`suites`](crate::suites), then the defaults in
//!   [`config`](crate::config).
//! - **A store backend**: implement [`store::SessionCache`](crate::store::SessionCache) (server)
//!   or [`store::ClientSessionStore`](crate::store::ClientSessionStore) (client) in an
//!   integration module, as `fleet` does for Redis; the handshake sees only the trait.
//! - **A fuzz target**: an entry point in `src/fuzzing` (hidden, public for the fuzz crate),
//!   a target in `fuzz/fuzz_targets/`, and its seeds in `fuzz/corpus/`.

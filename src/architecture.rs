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
//! | integrations | `rustls_adapter` (feature `rustls`), `fleet` (feature `redis`, Redis Cluster included; async with `redis-async`), `fuzzing` | the crate's pieces plugged into others |
//!
//! [`error`](crate::error) stands beside the layers: the one [`Error`](crate::Error) names
//! the errors of every layer and every layer returns it. It imports no layer above the
//! resumption state (the handshake's failures are its own `PeerMisbehaved` and
//! `PeerIncompatible`, not imported types). It is also the one place that maps
//! an error to the alert sent on the wire (`alert()` on each error type); codec, crypto and
//! verification know nothing of alerts. The other layers' errors it wraps are named in their
//! own modules (`crypto::CryptoError`, `ticket::TicketError`, …) and imported from there;
//! `error` re-exports only `InvalidMessage`, whose `codec` module is internal.
//!
//! ## One side, top to bottom
//!
//! Each side has a front (`client/mod.rs`, `server/mod.rs`: the public connection type, one
//! state enum, the `Context` a step works with and the `Outcome` the connection reports), a
//! version-neutral `hello.rs`, and one half per version (`tls12.rs`, `tls13.rs`). The halves
//! never import each other; `hello.rs` imports neither, and neither do the server's
//! `psk.rs` and `retry.rs`, which the TLS 1.3 half uses. Each state is a value named for the
//! message it expects next; handling a message consumes it and returns the next state.
//!
//! What the two fronts share is written once in `conn::front`: `Front` holds the record
//! core (`conn::core`), the state, the outcome and the application data queued before the
//! handshake ends; its `process` loop hands each record to the state (the `SideState` trait
//! each front's enum implements) and turns an error into the alert and a failed state. The
//! `front::Outcome` trait is what both outcomes report alike (kind, suites: the protocol
//! version and the `Debug` form come from it), and `shared_connection_methods!` writes the
//! public methods both connection types have word for word. A front keeps only what is its
//! own: the client's 0-RTT allowance and store clean-up, the server's host and cache
//! clean-up.
//!
//! Checks that guard a step return proofs the step requires: the peer's Finished proof is
//! the only way into a `Connected` state. On the server a PSK never leaves `psk.rs`
//! unverified: its early secret goes out only inside the `psk::Accepted` that `psk::accept`
//! returns once the binder verified (and a stateful ticket was claimed), and that value's
//! fields, the 0-RTT decision made with the replay guard among them, are private to
//! `psk.rs` (read through getters).
//!
//! ```text
//! server:  ServerState::ExpectClientHello ──hello.rs: decode once, resolve host, version──┐
//!            ├─► Tls13(host, tls13::State)  ExpectClientHello(after retry) / ExpectEarlyData
//!            │                              / ExpectFinished / Connected
//!            └─► Tls12(host, tls12::State)  ExpectClientKeyExchange / ExpectFinished (full)
//!                                           / ExpectResumedFinished (abbreviated) / Connected
//! client:  ClientState::ExpectServerHello(hello::Offer) ──ServerHello decoded once──┐
//!            ├─► Tls13(tls13::State)  ExpectServerHello(after retry) / ExpectEncryptedExtensions
//!            │                        / ExpectCertificate / … / Connected
//!            └─► Tls12(tls12::State)  ExpectCertificate / … / ExpectFinished / Connected
//!                 (takes the offer's `hello::Sent` and TLS 1.2 session by move)
//! ```
//!
//! ## Where each rule lives
//!
//! - **Records, alerts, the sticky error**: `conn/core.rs` (`Core`); messages are sent
//!   through `conn::send` (into the transcript) or `conn::send_untracked` (NewSessionTicket,
//!   KeyUpdate), nowhere else.
//! - **Middlebox compatibility** (RFC 8446 §D.4): the dummy change_cipher_spec a peer sends
//!   is dropped (one, between the first ClientHello and the Finished) in `conn/core.rs`
//!   `next_incoming`; ours goes out once through `Core::send_compat_change_cipher_spec`,
//!   called by the client (`client/hello.rs` with 0-RTT, `client/tls13.rs` before its
//!   second flight) and by the server when `server/hello.rs` `Hello::wants_compat_ccs`
//!   (after the ServerHello or the HelloRetryRequest).
//! - **Virtual hosts**: `server/hello.rs` `resolve_host` picks the
//!   [`VirtualHost`](crate::config::VirtualHost) for the ClientHello's server name (else the
//!   default) once; the server state keeps it, and every step reads the certificate, key,
//!   ticket mode and session cache from `Context.host`, never from the configuration.
//! - **Version choice and TLS_FALLBACK_SCSV**: `server/hello.rs` `choose_version`.
//! - **HelloRetryRequest and stateless retry cookies**: `server/retry.rs` sends the retry
//!   (`send_retry`) or rebuilds it from a cookie (`stateless_retry`); the cookie's format,
//!   sealing and opening are `server/cookie.rs`.
//! - **PSK acceptance, 0-RTT and ticket issue**: `server/psk.rs`; the replay guard itself is
//!   [`antireplay`](crate::antireplay).
//! - **Negotiation both versions share** (server): `server/hello.rs` `choose_group`,
//!   `choose_scheme`, `choose_alpn`; the client's offer is `client/hello.rs`
//!   `common_extensions` (plus `tls12_extensions` for what only TLS 1.2 reads).
//!
//! ## A resumed TLS 1.3 handshake (RFC 8446 §2.2)
//!
//! 1. Client, `client/hello.rs` `start`: takes the newest stored ticket (and the TLS 1.2
//!    session, offered in the same hello), builds the ClientHello with `pre_shared_key` last,
//!    computes the binder over the hello's own truncated encoding, queues it, and — with
//!    0-RTT — installs the early traffic keys.
//! 2. Server, `server/hello.rs`: decodes the ClientHello once, keeping its bytes and the slice
//!    the binder covers, reads the server name, resolves the host for it (`resolve_host`),
//!    and chooses TLS 1.3 (`choose_version`). The halves get that host's certificate, key,
//!    tickets and session cache in their `Context`, and know nothing of other hosts.
//! 3. `server/tls13.rs` `start`: a hello carrying one of our cookies continues a stateless
//!    retry (`retry.rs` `stateless_retry`). `ExpectClientHello::handle` then chooses the
//!    suite, the key share (`choose_key_share`, or a HelloRetryRequest: `send_retry`), the
//!    application protocol (`choose_alpn`), and calls `psk::accept` (`server/psk.rs`): modes,
//!    the ticket opened (`ticket`) or looked up (`store`), its binder verified, a stateful
//!    ticket claimed, 0-RTT decided with the replay guard (`antireplay`).
//! 4. The server's flight, each step named for what it sends: `emit_server_hello`, the key
//!    schedule (`kdf::tls13`), `emit_encrypted_extensions`, (no certificate when resuming),
//!    `emit_finished`; then `ExpectEarlyData` or `ExpectFinished`, whose end issues the
//!    NewSessionTickets (`psk::issue_tickets`).
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
//!    (compression, renegotiation info, EMS), chooses the application protocol, and
//!    `tls12/resume.rs` `find_session` finds the session (ticket first, then ID, each checked
//!    against this connection's time), applies RFC 7627 §5.3, and `resume` sends
//!    ServerHello, an optional new ticket, ChangeCipherSpec and Finished, then waits in
//!    `ExpectResumedFinished` (a full handshake waits in `ExpectFinished`, which holds the
//!    keys its own Finished goes out under).
//! 3. Client, `client/mod.rs` sees a ServerHello without `supported_versions` and hands the
//!    first flight (`hello::Sent`) and the offered session to `client/tls12.rs` `start`,
//!    which recognises the echoed session ID, derives keys from the stored master secret,
//!    and checks the server's Finished before sending its own.
//!
//! ## Where a new thing goes
//!
//! **An extension**: follow ALPN (RFC 7301), which goes through every place one touches.
//!
//! 1. Configuration: `ClientConfig::with_alpn_protocols` and
//!    `ServerConfig::with_alpn_protocols` ([`config`](crate::config)).
//! 2. Wire form: `ClientExtension::Alpn` in `msgs/extensions.rs` and `ServerExtension::Alpn`
//!    in `msgs/server_extensions.rs` (which also says in which server message it may
//!    appear), sharing `read_alpn` / `encode_alpn`.
//! 3. Client offer: `client/hello.rs` `common_extensions`, so both versions see it in the one
//!    ClientHello. Its 0-RTT rule is there too: `early_alpn_ok` offers early data only while
//!    the ticket's protocol is still offered (RFC 8446 §4.2.10).
//! 4. Server choice: a `Hello` accessor (`alpn_protocols`) and the one negotiation both
//!    halves call, `choose_alpn` in `server/hello.rs`; the halves put the result in
//!    `Outcome.alpn` (`server/tls13.rs` before `psk::accept`, which refuses 0-RTT when the
//!    protocol differs from the ticket's; `server/tls12.rs` `start`).
//! 5. Server answer: `emit_encrypted_extensions` (`server/tls13.rs`) and `hello_extensions`
//!    (`server/tls12.rs`).
//! 6. Client check: `selected_alpn` in `client/tls13.rs` (EncryptedExtensions, where
//!    accepted 0-RTT must also keep the ticket's protocol) and in `client/tls12.rs`
//!    (ServerHello), both through `check_selected_alpn` in `client/mod.rs`.
//! 7. Memory: the [`session`](crate::session) states' `alpn` field, written where each side
//!    stores a session (server: `psk::issue_tickets` and the TLS 1.2 `ExpectFinished`;
//!    client: `client/tls13.rs` on a NewSessionTicket, `client/tls12.rs` `store`), and
//!    reported by `alpn_protocol()` on both connection types.
//!
//! **Elsewhere**:
//!
//! - **A cipher suite**: [`suites`](crate::suites), then the defaults in
//!   [`config`](crate::config). Code inside the crate imports suites from `crate::suites`
//!   only; `kdf::tls13::CipherSuite` and the root's `Tls12CipherSuite` are re-exports for
//!   users.
//! - **A store backend**: implement [`store::SessionCache`](crate::store::SessionCache) (server)
//!   or [`store::ClientSessionStore`](crate::store::ClientSessionStore) (client) in an
//!   integration module, as `fleet` does for Redis; the handshake sees only the trait.
//! - **A fuzz target**: an entry point in `src/fuzzing` (hidden, public for the fuzz crate),
//!   a target in `fuzz/fuzz_targets/` listed in `fuzz/Cargo.toml`, and its committed seeds
//!   in `fuzz/seeds/<target>/`, which `tests/fuzz_corpus.rs` replays (`fuzz/corpus/` is
//!   the fuzzer's own working corpus, not committed).

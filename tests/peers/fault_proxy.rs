//! A TCP proxy on loopback that passes a connection through to a real server and corrupts
//! what the server sends in plaintext: a TLS 1.2 NewSessionTicket travels before the server's
//! change_cipher_spec (RFC 5077 §3.3), so it can be rewritten on the way.
//!
//! The proxy stops accepting when dropped; connections in flight end with their peers.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

const HANDSHAKE: u8 = 22;
const CHANGE_CIPHER_SPEC: u8 = 20;
const NEW_SESSION_TICKET: u8 = 4;

/// What the proxy does to the server's plaintext handshake messages.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// A TLS 1.2 NewSessionTicket's ticket length set to 0xffff: the length overruns the
    /// message (whose own length stays, so the records still frame).
    TicketLengthOverrun,
}

/// A running proxy.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    corrupted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards each connection to `upstream`.
    pub fn start(upstream: SocketAddr, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let corrupted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopping) = (corrupted.clone(), stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let count = count.clone();
                thread::spawn(move || relay(client, server, fault, &count));
            }
        });
        Self {
            addr,
            corrupted,
            stop,
        }
    }

    /// How many messages the proxy has corrupted so far.
    pub fn corrupted(&self) -> usize {
        self.corrupted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Client to server unchanged (on its own thread), server to client record by record.
fn relay(client: TcpStream, server: TcpStream, fault: Fault, count: &AtomicUsize) {
    let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut server_out);
        let _ = server_out.shutdown(Shutdown::Write);
    });
    let (mut from, mut to) = (server, client);
    let mut pending = Vec::new();
    let mut switched = false;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        // Whole records only; a partial one waits for the rest.
        let mut at = 0;
        while pending.len() >= at + 5 {
            let len = usize::from(u16::from_be_bytes([pending[at + 3], pending[at + 4]]));
            let end = at + 5 + len;
            if pending.len() < end {
                break;
            }
            match pending[at] {
                CHANGE_CIPHER_SPEC => switched = true,
                HANDSHAKE if !switched => {
                    let n = corrupt(&mut pending[at + 5..end], fault);
                    count.fetch_add(n, Ordering::SeqCst);
                }
                _ => {}
            }
            at = end;
        }
        if to.write_all(&pending[..at]).is_err() {
            break;
        }
        pending.drain(..at);
    }
    let _ = to.write_all(&pending);
    let _ = to.shutdown(Shutdown::Write);
}

/// Applies `fault` to the handshake messages wholly inside one plaintext record; returns how
/// many it changed.
fn corrupt(fragment: &mut [u8], fault: Fault) -> usize {
    let mut changed = 0;
    let mut at = 0;
    while fragment.len() >= at + 4 {
        let typ = fragment[at];
        let len = usize::from(fragment[at + 1]) << 16
            | usize::from(fragment[at + 2]) << 8
            | usize::from(fragment[at + 3]);
        let body = at + 4;
        if fragment.len() < body + len {
            break;
        }
        // lifetime_hint (4 bytes), then the ticket's u16 length.
        match fault {
            Fault::TicketLengthOverrun if typ == NEW_SESSION_TICKET && len >= 6 => {
                fragment[body + 4..body + 6].copy_from_slice(&[0xff, 0xff]);
                changed += 1;
            }
            Fault::TicketLengthOverrun => {}
        }
        at = body + len;
    }
    changed
}

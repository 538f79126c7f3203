//! Fork-safe ticket nonces, in a real `fork()`: a sealer made before the fork seals in the
//! child and in the parent, and the two tickets must not share a nonce. A prefork server does
//! exactly this; a repeated AES-GCM nonce under one key would let either ticket's holder read
//! the other's session secrets.
//!
//! Kept alone in its own test binary: forking a process that runs other tests' threads would
//! copy them mid-flight.

use std::time::Duration;

use tls_resumption::ticket::{AeadSealer, TicketKeyMaterial, TicketSealer};

/// Reads exactly `buf.len()` bytes from `fd`.
fn read_exact(fd: libc::c_int, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        assert!(n > 0, "pipe closed after {got} bytes");
        got += n as usize;
    }
}

#[test]
fn fork_safe_nonces_parent_and_child_of_a_fork_seal_with_different_nonces() {
    let sealer = AeadSealer::new(
        TicketKeyMaterial::new([3; 16], &[4; 32]).unwrap(),
        Duration::from_secs(3600),
    )
    .unwrap();
    // Warm up before forking, as a server that already issued tickets would be.
    let first = sealer.seal(b"before the fork").unwrap();
    let plaintext_len = 64;
    let ticket_len = first.len() - b"before the fork".len() + plaintext_len;

    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read_fd, write_fd) = (fds[0], fds[1]);
    // SAFETY: the child only seals, writes to the pipe and leaves with _exit, which runs no
    // destructor or atexit handler of the parent's.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ticket = sealer.seal(&[b'c'; 64]).unwrap_or_default();
        let mut written = 0;
        while written < ticket.len() {
            // SAFETY: the pointer and length describe the unwritten tail of `ticket`.
            let n = unsafe {
                libc::write(
                    write_fd,
                    ticket[written..].as_ptr().cast(),
                    ticket.len() - written,
                )
            };
            if n <= 0 {
                break;
            }
            written += n as usize;
        }
        // SAFETY: ends the child at once, without unwinding into the test harness.
        unsafe { libc::_exit(if written == ticket_len { 0 } else { 1 }) };
    }
    let parent_ticket = sealer.seal(&[b'p'; 64]).unwrap();
    let mut child_ticket = vec![0u8; ticket_len];
    read_exact(read_fd, &mut child_ticket);
    let mut status = 0;
    // SAFETY: waits for the child forked above; `status` receives its exit status.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    // SAFETY: closes the two descriptors pipe() gave this test.
    unsafe {
        libc::close(read_fd);
        libc::close(write_fd);
    }

    assert_eq!(parent_ticket.len(), ticket_len);
    assert_eq!(parent_ticket[..16], child_ticket[..16], "same key");
    assert_eq!(
        sealer
            .open(&child_ticket)
            .unwrap()
            .plaintext
            .expose_secret(),
        [b'c'; 64],
        "the child's ticket is genuine"
    );
    assert_ne!(
        parent_ticket[16..28],
        child_ticket[16..28],
        "parent and child sealed under the same key and nonce"
    );
}

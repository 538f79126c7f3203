//! What the example servers share: loading the certificate and key, and the `s_server -www`
//! style page that says how the session was made.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tls_resumption::kdf::tls13::CipherSuite;
use tls_resumption::{HandshakeKind, ServerConnection};

/// Reads a PEM certificate chain and private key.
pub fn load(
    cert: &str,
    key: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{cert}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    Ok((certs, key))
}

/// Whether an HTTP request is whole: its header ends with a blank line. Like `s_server -www`,
/// the page is sent only then.
pub fn request_complete(early: &[u8], request: &[u8]) -> bool {
    let all = [early, request].concat();
    all.windows(4).any(|w| w == b"\r\n\r\n") || all.windows(2).any(|w| w == b"\n\n")
}

/// The page for a connection whose handshake is done, and the line that sums it up for the
/// server's log: new or reused, version and suite, how it was made, the application protocol
/// and the early data received.
pub fn page(conn: &ServerConnection, early: &[u8]) -> (String, String) {
    let kind = conn.handshake_kind().unwrap_or(HandshakeKind::Full);
    let status = if kind.is_resumed() { "Reused" } else { "New" };
    let first = match conn.tls12_cipher_suite() {
        Some(suite) => format!("{status}, TLSv1.2, Cipher is {suite}"),
        None => format!(
            "{status}, TLSv1.3, Cipher is {}",
            conn.cipher_suite().map_or("(none)", CipherSuite::name)
        ),
    };
    let mut page = format!("HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n{first}\n{kind}\n");
    if let Some(protocol) = conn.alpn_protocol() {
        page.push_str("ALPN protocol: ");
        page.push_str(&String::from_utf8_lossy(protocol));
        page.push('\n');
    }
    if !early.is_empty() {
        page.push_str("early data: ");
        page.push_str(&String::from_utf8_lossy(early));
        page.push('\n');
    }
    (format!("{first}; {kind}"), page)
}

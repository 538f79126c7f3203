//! The record plumbing both sides share: bytes in and out, record protection in each
//! direction, handshake message reassembly, alerts, and the sticky error.

use crate::alert::AlertDescription;
use crate::codec::InvalidMessage;
use crate::error::Error;
use crate::error::PeerMisbehaved;
use crate::kdf::tls13::TrafficKeys;
use crate::msgs::alert::AlertMessage;
use crate::msgs::enums::{AlertLevel, ContentType, ProtocolVersion};
use crate::msgs::Codec;
use crate::record::{
    Deframer, HandshakeJoiner, PlainMessage, Record, RecordProtection, MAX_PLAINTEXT_LEN,
};

/// How many change_cipher_spec records a TLS 1.3 handshake tolerates: the one dummy record a
/// peer in middlebox compatibility mode sends before its second flight (RFC 8446 §5, §D.4).
/// Any further one is unexpected_message.
const MAX_CHANGE_CIPHER_SPECS: usize = 1;

/// How many empty application_data records in a row are tolerated before the peer is taken
/// for one that tries to keep this side busy.
const MAX_EMPTY_RECORDS: usize = 32;

/// The most application data buffered for the application before it reads; beyond this,
/// `read_tls` takes no more bytes.
pub(crate) const MAX_RECEIVED_PLAINTEXT: usize = 64 * 1024;

/// One thing the record layer has for the state machine.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A whole handshake message, header included.
    Handshake(Vec<u8>),
    /// Application data (or early data, depending on the read keys).
    ApplicationData(Vec<u8>),
}

/// The record layer state of one connection.
#[derive(Debug)]
pub(crate) struct Core {
    deframer: Deframer,
    joiner: HandshakeJoiner,
    read: Option<RecordProtection>,
    write: Option<RecordProtection>,
    outgoing: Vec<u8>,
    /// Application data received, not yet taken.
    pub(crate) plaintext: Vec<u8>,
    error: Option<Error>,
    peer_closed: bool,
    sent_close: bool,
    /// While early data is being skipped (RFC 8446 §4.2.10): how many more bytes of records
    /// that fail to open (or, after a HelloRetryRequest, unprotected application_data records)
    /// may be dropped.
    skip_budget: usize,
    change_cipher_specs: usize,
    empty_records: usize,
    /// Whether a handshake message was sent or received yet: before the first ClientHello a
    /// change_cipher_spec is an unexpected record (RFC 8446 §5).
    handshake_started: bool,
    /// Whether this side's dummy change_cipher_spec went out (RFC 8446 §D.4: one per
    /// connection).
    sent_compat_ccs: bool,
    /// TLS 1.2 rules for change_cipher_spec: it switches the read keys, once, where the
    /// handshake expects it.
    tls12: bool,
    /// TLS 1.2: the read protection the next change_cipher_spec installs; `None` while no
    /// change_cipher_spec is expected (RFC 5246 §7.1).
    pending_read: Option<RecordProtection>,
    /// Whether the alert that ended the connection came at warning level in TLS 1.2:
    /// RFC 5246 §7.2.2 makes a session unresumable after a fatal alert only.
    ended_by_warning: bool,
}

impl Core {
    pub(crate) fn new() -> Self {
        Self {
            deframer: Deframer::new(),
            joiner: HandshakeJoiner::new(),
            read: None,
            write: None,
            outgoing: Vec::new(),
            plaintext: Vec::new(),
            error: None,
            peer_closed: false,
            sent_close: false,
            skip_budget: 0,
            change_cipher_specs: 0,
            empty_records: 0,
            handshake_started: false,
            sent_compat_ccs: false,
            tls12: false,
            pending_read: None,
            ended_by_warning: false,
        }
    }

    /// Takes bytes from the peer; returns how many were taken (the rest must be offered
    /// again after `process`). Nothing is taken after an error or while too much received
    /// plaintext waits for the application.
    pub(crate) fn read_tls(&mut self, data: &[u8]) -> usize {
        if self.error.is_some()
            || self.peer_closed
            || self.plaintext.len() >= MAX_RECEIVED_PLAINTEXT
        {
            return 0;
        }
        self.deframer.push(data)
    }

    /// Moves every pending outgoing byte into `out`; returns how many.
    pub(crate) fn write_tls(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.outgoing.len();
        out.append(&mut self.outgoing);
        n
    }

    pub(crate) fn wants_write(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// The error that ended the connection, if any.
    pub(crate) fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Records `error` as final and queues the alert it names (unless the peer's alert is what
    /// ended it). Every later call reports the same error.
    pub(crate) fn fail(&mut self, error: Error) -> Error {
        if self.error.is_none() {
            if !matches!(error, Error::AlertReceived(_)) {
                // Best effort: a failure to encode the alert leaves nothing better to send.
                let _ = self.send_alert(error.alert());
            }
            self.error = Some(error.clone());
        }
        error
    }

    pub(crate) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    pub(crate) fn set_skip_budget(&mut self, bytes: usize) {
        self.skip_budget = bytes;
    }

    /// Installs new read keys. RFC 8446 §5.1: a handshake message must not span a key change.
    pub(crate) fn set_read_keys(&mut self, keys: &TrafficKeys) -> Result<(), Error> {
        if !self.joiner.is_empty() {
            return Err(PeerMisbehaved::KeyChangeMidMessage.into());
        }
        self.read = Some(RecordProtection::tls13(
            keys.aead(),
            keys.key.expose_secret(),
            keys.iv.expose_secret(),
        )?);
        Ok(())
    }

    /// Installs new write keys; `None` goes back to plaintext (a client whose early data was
    /// cut short by a HelloRetryRequest).
    pub(crate) fn set_write_keys(&mut self, keys: Option<&TrafficKeys>) -> Result<(), Error> {
        self.write = match keys {
            Some(keys) => Some(RecordProtection::tls13(
                keys.aead(),
                keys.key.expose_secret(),
                keys.iv.expose_secret(),
            )?),
            None => None,
        };
        Ok(())
    }

    /// The next handshake message or application data record, `None` when more bytes are
    /// needed (or the peer closed).
    pub(crate) fn next_incoming(&mut self, handshaking: bool) -> Result<Option<Incoming>, Error> {
        loop {
            if let Some(message) = self.joiner.pop() {
                self.handshake_started = true;
                return Ok(Some(Incoming::Handshake(message)));
            }
            if self.peer_closed {
                return Ok(None);
            }
            let Some(record) = self.deframer.pop()? else {
                return Ok(None);
            };
            if record.typ == ContentType::ChangeCipherSpec && self.tls12 {
                self.tls12_change_cipher_spec(&record.payload)?;
                continue;
            }
            if record.typ == ContentType::ChangeCipherSpec {
                // RFC 8446 §5: between the first ClientHello and the peer's Finished a
                // change_cipher_spec of the single byte 1 is dropped unprotected; anything
                // else, or one before the ClientHello or after the Finished, is
                // unexpected_message.
                self.change_cipher_specs += 1;
                if !handshaking || !self.handshake_started || record.payload != [1] {
                    return Err(InvalidMessage::InvalidChangeCipherSpec.into());
                }
                // RFC 8446 §5.1: no other record between the fragments of a handshake message.
                if !self.joiner.is_empty() {
                    return Err(PeerMisbehaved::UnexpectedMessage.into());
                }
                if self.change_cipher_specs > MAX_CHANGE_CIPHER_SPECS {
                    return Err(PeerMisbehaved::TooMany("change_cipher_spec records").into());
                }
                continue;
            }
            if record.typ == ContentType::Alert && handshaking && !self.tls12 && self.read.is_some()
            {
                // A TLS 1.3 peer that fails on our flight may alert before it has switched to
                // its handshake keys: the alert is its, and ends the connection (RFC 8446 §6).
                if !self.joiner.is_empty() {
                    return Err(PeerMisbehaved::UnexpectedMessage.into());
                }
                self.receive_alert(&record.payload)?;
                continue;
            }
            let Some(plain) = self.open(record)? else {
                continue;
            };
            match plain.typ {
                ContentType::Handshake => self.joiner.push(&plain.payload)?,
                ContentType::Alert => {
                    // RFC 8446 §5.1: nothing may interleave with a fragmented handshake message.
                    if !self.joiner.is_empty() {
                        return Err(PeerMisbehaved::UnexpectedMessage.into());
                    }
                    self.receive_alert(&plain.payload)?
                }
                ContentType::ApplicationData => {
                    if !self.joiner.is_empty() {
                        return Err(PeerMisbehaved::UnexpectedMessage.into());
                    }
                    if plain.payload.is_empty() {
                        self.empty_records += 1;
                        if self.empty_records > MAX_EMPTY_RECORDS {
                            return Err(PeerMisbehaved::TooMany("empty records").into());
                        }
                        // RFC 8446 §5.1: zero-length application data is padding once data
                        // may flow; during the handshake the state decides, as for any
                        // application data (early data takes it, the other states refuse it).
                        if !handshaking {
                            continue;
                        }
                        return Ok(Some(Incoming::ApplicationData(plain.payload)));
                    }
                    self.empty_records = 0;
                    return Ok(Some(Incoming::ApplicationData(plain.payload)));
                }
                _ => return Err(PeerMisbehaved::UnexpectedMessage.into()),
            }
        }
    }

    /// Removes record protection, or drops the record when it is early data being skipped.
    fn open(&mut self, record: Record) -> Result<Option<PlainMessage>, Error> {
        let len = record.payload.len();
        match &mut self.read {
            None => {
                if record.typ == ContentType::ApplicationData {
                    // Protected records before this side has keys: only early data a server
                    // skips after a HelloRetryRequest (RFC 8446 §4.2.10). Without a budget
                    // (no retry), even an empty one is unexpected.
                    if self.skip_budget > 0 && len <= self.skip_budget {
                        self.skip_budget -= len;
                        return Ok(None);
                    }
                    return Err(PeerMisbehaved::UnexpectedMessage.into());
                }
                Ok(Some(PlainMessage {
                    typ: record.typ,
                    payload: record.payload,
                }))
            }
            Some(protection) => match protection.open(record) {
                Ok(plain) => {
                    // The first record that opens ends the skipping (RFC 8446 §4.2.10).
                    self.skip_budget = 0;
                    Ok(Some(plain))
                }
                Err(Error::Crypto(crate::crypto::CryptoError::DecryptFailed))
                    if self.skip_budget > 0 && len <= self.skip_budget =>
                {
                    self.skip_budget -= len;
                    Ok(None)
                }
                Err(e) => Err(e),
            },
        }
    }

    fn receive_alert(&mut self, payload: &[u8]) -> Result<(), Error> {
        // RFC 8446 §5.1: an alert record holds exactly one alert; an empty one holds none.
        if payload.is_empty() {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        let alert = AlertMessage::from_bytes(payload)?;
        match alert.description {
            AlertDescription::CloseNotify => {
                self.peer_closed = true;
                Ok(())
            }
            // RFC 8446 §6.1: user_canceled is followed by close_notify; it ends nothing alone.
            AlertDescription::UserCanceled => Ok(()),
            other => {
                // RFC 8446 §6: TLS 1.3 ignores the level; every error alert is fatal.
                self.ended_by_warning = self.tls12 && alert.level == AlertLevel::Warning;
                Err(Error::AlertReceived(other))
            }
        }
    }

    /// Queues one handshake message (already encoded, header included), split into records
    /// of at most 2^14 bytes.
    pub(crate) fn send_handshake(&mut self, message: &[u8]) -> Result<(), Error> {
        self.handshake_started = true;
        for chunk in message.chunks(MAX_PLAINTEXT_LEN) {
            self.send_record(ContentType::Handshake, chunk)?;
        }
        Ok(())
    }

    /// Queues application data, split into records.
    pub(crate) fn send_application_data(&mut self, data: &[u8]) -> Result<(), Error> {
        for chunk in data.chunks(MAX_PLAINTEXT_LEN) {
            self.send_record(ContentType::ApplicationData, chunk)?;
        }
        Ok(())
    }

    pub(crate) fn send_alert(&mut self, description: AlertDescription) -> Result<(), Error> {
        let level = match description {
            AlertDescription::CloseNotify | AlertDescription::UserCanceled => AlertLevel::Warning,
            _ => AlertLevel::Fatal,
        };
        let body = AlertMessage { level, description }.to_bytes()?;
        self.send_record(ContentType::Alert, &body)
    }

    /// Sends close_notify once.
    pub(crate) fn send_close_notify(&mut self) -> Result<(), Error> {
        if self.sent_close || self.error.is_some() {
            return Ok(());
        }
        self.sent_close = true;
        self.send_alert(AlertDescription::CloseNotify)
    }

    pub(crate) fn sent_close(&self) -> bool {
        self.sent_close
    }

    fn send_record(&mut self, typ: ContentType, payload: &[u8]) -> Result<(), Error> {
        let bytes = match &mut self.write {
            Some(protection) => protection.seal(typ, payload, 0)?,
            None => Record {
                typ,
                // RFC 8446 §5.1: 0x0301 for an initial ClientHello is allowed, 0x0303
                // everywhere; 0x0303 is what every peer accepts.
                version: ProtocolVersion::Tls12,
                payload: payload.to_vec(),
            }
            .encode()?,
        };
        self.outgoing.extend_from_slice(&bytes);
        Ok(())
    }

    /// Switches this connection to TLS 1.2 record rules (RFC 5246 §7.1).
    pub(crate) fn set_tls12(&mut self) {
        self.tls12 = true;
    }

    /// TLS 1.2: the read protection the peer's next change_cipher_spec switches to; until it
    /// arrives [`Self::read_switched`] is false.
    pub(crate) fn expect_change_cipher_spec(&mut self, read: RecordProtection) {
        self.pending_read = Some(read);
    }

    /// TLS 1.2: true when no change_cipher_spec is pending, i.e. the one expected arrived.
    pub(crate) fn read_switched(&self) -> bool {
        self.pending_read.is_none()
    }

    /// A TLS 1.2 change_cipher_spec: valid only as the single byte 1, only when the handshake
    /// expects one, and not in the middle of a handshake message (RFC 5246 §7.1).
    fn tls12_change_cipher_spec(&mut self, payload: &[u8]) -> Result<(), Error> {
        if payload != [1] {
            return Err(InvalidMessage::InvalidChangeCipherSpec.into());
        }
        if !self.joiner.is_empty() {
            return Err(PeerMisbehaved::KeyChangeMidMessage.into());
        }
        let read = self
            .pending_read
            .take()
            .ok_or(PeerMisbehaved::UnexpectedMessage)?;
        self.read = Some(read);
        Ok(())
    }

    /// TLS 1.2: sends change_cipher_spec under the current keys, then protects every later
    /// record with `write` (RFC 5246 §7.1).
    pub(crate) fn send_change_cipher_spec(&mut self, write: RecordProtection) -> Result<(), Error> {
        self.send_record(ContentType::ChangeCipherSpec, &[1])?;
        self.write = Some(write);
        Ok(())
    }

    /// TLS 1.3 middlebox compatibility (RFC 8446 §D.4): queues one unprotected dummy
    /// change_cipher_spec, whatever the write keys are; later calls send nothing.
    pub(crate) fn send_compat_change_cipher_spec(&mut self) -> Result<(), Error> {
        if self.sent_compat_ccs {
            return Ok(());
        }
        self.sent_compat_ccs = true;
        let record = Record {
            typ: ContentType::ChangeCipherSpec,
            version: ProtocolVersion::Tls12,
            payload: vec![1],
        }
        .encode()?;
        self.outgoing.extend_from_slice(&record);
        Ok(())
    }

    /// Records that this side's dummy change_cipher_spec went out earlier (a stateless
    /// server's HelloRetryRequest, on a connection before this one).
    pub(crate) fn note_compat_change_cipher_spec_sent(&mut self) {
        self.sent_compat_ccs = true;
    }

    /// True when the connection ended because the peer sent a TLS 1.2 warning-level alert,
    /// the only error that is not fatal (RFC 5246 §7.2.2): what it made resumable stays so.
    pub(crate) fn ended_by_warning(&self) -> bool {
        self.ended_by_warning && matches!(self.error, Some(Error::AlertReceived(_)))
    }

    /// How many change_cipher_spec records were dropped so far (TLS 1.3 rules, RFC 8446 §5):
    /// read when the first ClientHello arrives, any counted came before it.
    pub(crate) fn change_cipher_specs_received(&self) -> usize {
        self.change_cipher_specs
    }

    /// Accepts the peer's dummy change_cipher_spec before the first handshake message (a
    /// stateless server's second ClientHello may be its first).
    pub(crate) fn allow_change_cipher_spec_before_hello(&mut self) {
        self.handshake_started = true;
    }

    /// Sends a warning-level alert (TLS 1.2 `no_renegotiation`, RFC 5746 §4.2).
    pub(crate) fn send_warning(&mut self, description: AlertDescription) -> Result<(), Error> {
        let body = AlertMessage {
            level: AlertLevel::Warning,
            description,
        }
        .to_bytes()?;
        self.send_record(ContentType::Alert, &body)
    }
}

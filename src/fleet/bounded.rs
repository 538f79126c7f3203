//! Reads of session values that never receive more than a bound, by a plain read or a
//! single-use take, as commands both Redis handles send and the replies they interpret.
//!
//! Whoever can write to Redis may store a value of up to 512 MB where a lookup will find it.
//! A read is `GETRANGE key 0 max_len`: a value longer than `max_len` arrives cut at
//! `max_len + 1` bytes and is reported as [`Bounded::TooLarge`]; a missing key reads as
//! empty, which no caller stores. A take is a script (atomic in Redis, like `GETDEL`) that
//! reads the same range, deletes the key and sends back nothing of an oversized value; it is
//! named by its hash (`EVALSHA`) and sent whole (`EVAL`) only when Redis answers `NOSCRIPT`
//! (first take a server sees, restart, `SCRIPT FLUSH`; in a Redis Cluster, once per node).

/// What a bounded read found.
#[derive(Debug)]
pub(crate) enum Bounded {
    /// No value under the key.
    Missing,
    /// The value, within the size bound.
    Value(Vec<u8>),
    /// A value over the bound: not sent (and deleted when taken).
    TooLarge,
}

/// `KEYS[1]`: the key; `ARGV[1]`: the largest length sent back. Replies nil (missing), the
/// value (deleted), or the integer -1 (too large, deleted unsent). Only `GETRANGE` and `DEL`
/// are called, so an ACL user needs no more than a read needs (Redis checks the commands a
/// script calls against the caller's ACL); `GETRANGE` reads at most `ARGV[1] + 1` bytes into
/// the script, whatever the value's size, is empty for a missing key and an error for a key
/// that holds no string. The script runs atomically, as `GETDEL` would, and touches its one
/// declared key only, so it runs unchanged on a Redis Cluster node.
const TAKE_BOUNDED: &str = "\
local v = redis.call('GETRANGE', KEYS[1], 0, ARGV[1])
if #v == 0 then return nil end
redis.call('DEL', KEYS[1])
if #v > tonumber(ARGV[1]) then return -1 end
return v";

/// The take script's SHA-1 in hex, by which `EVALSHA` names it once Redis has it (Redis
/// names scripts by SHA-1; no security rests on it here).
static TAKE_SHA1: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        TAKE_BOUNDED.as_bytes(),
    );
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
});

/// The command reading `key` (`take`: reading and deleting it), by the script's hash.
pub(crate) fn command(key: &[u8], max_len: usize, take: bool) -> redis::Cmd {
    if take {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(TAKE_SHA1.as_str()).arg(1).arg(key).arg(max_len);
        cmd
    } else {
        let mut cmd = redis::cmd("GETRANGE");
        cmd.arg(key).arg(0).arg(max_len);
        cmd
    }
}

/// The take sent as the script's text, after Redis answered [`command`] with `NOSCRIPT`.
pub(crate) fn take_by_text(key: &[u8], max_len: usize) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(TAKE_BOUNDED).arg(1).arg(key).arg(max_len);
    cmd
}

/// Whether the reply to a take by hash is Redis saying it lacks the script (the take did not
/// run: sending its text is safe), as an error or as an error value among a pipeline's
/// replies.
pub(crate) fn lacks_script(reply: Result<&redis::Value, &redis::RedisError>) -> bool {
    let no_script = redis::ServerErrorKind::NoScript;
    match reply {
        Err(e) => e.kind() == redis::ErrorKind::Server(no_script),
        Ok(redis::Value::ServerError(e)) => e.kind() == Some(no_script),
        Ok(_) => false,
    }
}

/// The meaning of the reply to [`command`] or [`take_by_text`]; `Err` with a description for
/// an error reply or a reply of the wrong type (a key holding no string, say).
pub(crate) fn interpret(
    reply: redis::Value,
    max_len: usize,
    take: bool,
) -> Result<Bounded, String> {
    match (reply, take) {
        (redis::Value::ServerError(e), _) => Err(redis::RedisError::from(e).to_string()),
        (redis::Value::BulkString(value), false) => Ok(match value.len() {
            0 => Bounded::Missing,
            n if n > max_len => Bounded::TooLarge,
            _ => Bounded::Value(value),
        }),
        (redis::Value::Nil, true) => Ok(Bounded::Missing),
        (redis::Value::BulkString(value), true) if value.len() <= max_len => {
            Ok(Bounded::Value(value))
        }
        (redis::Value::Int(_), true) => Ok(Bounded::TooLarge),
        _ => Err("unexpected reply to a bounded read".to_owned()),
    }
}

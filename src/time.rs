//! Time as an input: the [`Clock`] trait, the system clock (read directly, or cached by a
//! background thread), and a manual clock for tests.
//!
//! Nothing in this crate reads the system time by itself. Expiry, ticket ages, key rotation and
//! anti-replay windows all take a [`Timestamp`] from the caller or from a [`Clock`] in the
//! configuration, so tests of "expired after 7 days" run in microseconds and never flake.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch. Millisecond resolution because TLS 1.3 ticket ages are
/// counted in milliseconds (RFC 8446 §4.2.11.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);

    /// From milliseconds since the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// From seconds since the epoch (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// `self + d`, saturating at the far future.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(d.as_millis().min(u128::from(u64::MAX)) as u64),
        )
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(d.as_millis().min(u128::from(u64::MAX)) as u64),
        )
    }

    /// The time from `earlier` to `self`, or `None` when `earlier` is later.
    pub fn checked_duration_since(self, earlier: Self) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_millis)
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        self.checked_duration_since(earlier).unwrap_or_default()
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis().min(u128::from(u64::MAX)) as u64)
    }
}

/// The system clock, read every `resolution` by a background thread and cached, so that
/// [`now`](Clock::now) is one atomic load rather than a system clock read. For hot paths that
/// need time only to the second or so, such as a [`RotatingSealer`] whose keys change state
/// once an hour: readings lag the system clock by up to the resolution (more if the thread is
/// descheduled). The thread ends after the clock is dropped, within one resolution.
///
/// [`RotatingSealer`]: crate::ticket::RotatingSealer
#[derive(Debug)]
pub struct CoarseClock {
    millis: Arc<AtomicU64>,
}

impl CoarseClock {
    /// Starts the thread that refreshes the cached reading every `resolution` (at least 1 ms).
    ///
    /// # Errors
    /// The error of a thread that could not be spawned.
    pub fn start(resolution: Duration) -> std::io::Result<Self> {
        let millis = Arc::new(AtomicU64::new(SystemClock.now().0));
        let cached = Arc::downgrade(&millis);
        let resolution = resolution.max(Duration::from_millis(1));
        std::thread::Builder::new()
            .name("coarse-clock".into())
            .spawn(move || loop {
                std::thread::sleep(resolution);
                let Some(millis) = cached.upgrade() else {
                    return;
                };
                millis.store(SystemClock.now().0, Ordering::Relaxed);
            })?;
        Ok(Self { millis })
    }
}

impl Clock for CoarseClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::Relaxed))
    }
}

/// A clock that moves only when told to: for tests and benchmarks. Shared freely between
/// threads (`&self` methods).
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicU64,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            millis: AtomicU64::new(start.0),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let add = d.as_millis().min(u128::from(u64::MAX)) as u64;
        self.millis.fetch_add(add, Ordering::SeqCst);
    }

    /// Sets the clock to `t` (backwards too, to test clock steps).
    pub fn set(&self, t: Timestamp) {
        self.millis.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_clock_follows_the_system_clock() {
        let coarse = CoarseClock::start(Duration::from_millis(1)).unwrap();
        let first = coarse.now();
        let lag = SystemClock.now().saturating_duration_since(first);
        assert!(lag < Duration::from_secs(5), "lags {lag:?}");
        // It moves on by itself (generous bound: the machine may be busy).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while coarse.now() == first {
            assert!(std::time::Instant::now() < deadline, "never ticked");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_secs(10));
        assert_eq!(clock.now().as_millis(), 10_000);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now().as_secs(), 11);
        assert_eq!(
            clock.now().checked_duration_since(Timestamp::from_secs(10)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            Timestamp::from_secs(1).checked_duration_since(clock.now()),
            None
        );
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp::from_secs(1_577_836_800));
    }
}

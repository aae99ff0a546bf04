//! Talking to systemd (`Type=notify`, `WatchdogSec=`) through the `sd-notify` crate:
//! READY=1 once every task is up, STATUS= lines for `systemctl status`, WATCHDOG=1 pings,
//! RELOADING=1 ... READY=1 around a SIGHUP reload, STOPPING=1 on shutdown.
//!
//! Everything is a no-op when not started by systemd (`NOTIFY_SOCKET` unset), so `run`
//! behaves the same in a terminal, in tests and under the service manager.
//!
//! The watchdog is driven from the run loop on purpose ([`Notifier::tick`]), not from a
//! timer task of its own: a timer task keeps pinging while the loop that does the work is
//! wedged, which defeats the point. If the loop stops turning, the pings stop and systemd
//! restarts the service (`Restart=on-failure`).

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// The daemon's side of the sd_notify protocol. One per process, owned by the run loop.
#[derive(Debug)]
pub struct Notifier {
    /// `NOTIFY_SOCKET` was set: we run under systemd (or something speaking its protocol).
    enabled: bool,
    /// `WATCHDOG_USEC` for this process, if the unit has `WatchdogSec=`.
    watchdog_timeout: Option<Duration>,
    last_ping: Option<Instant>,
    /// Log a failing socket once, not on every tick.
    warned: bool,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    pub fn from_env() -> Notifier {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            watchdog_timeout: sd_notify::watchdog_enabled(),
            last_ping: None,
            warned: false,
        }
    }

    /// Whether notifications go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The unit's watchdog timeout (`WatchdogSec=`), if any.
    pub fn watchdog_timeout(&self) -> Option<Duration> {
        self.watchdog_timeout
    }

    /// How often the run loop should call [`Notifier::tick`]: half the watchdog timeout,
    /// as sd_watchdog_enabled(3) recommends, so one late tick is not fatal. `None` when
    /// there is no watchdog (the loop can then tick at its own pace).
    pub fn tick_interval(&self) -> Option<Duration> {
        self.watchdog_timeout.map(|t| t / 2)
    }

    /// Startup finished: sources subscribed, store open, HTTP bound.
    pub fn ready(&mut self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A one-line state for `systemctl status` (e.g. "3 pipelines, 120 readings/min").
    pub fn status(&mut self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// A SIGHUP reload begins. systemd >= 253 requires MONOTONIC_USEC with RELOADING=1
    /// (`Type=notify-reload`); older versions ignore it, so it is always sent.
    pub fn reloading(&mut self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[
                NotifyState::Reloading,
                now,
                NotifyState::Status("reloading configuration"),
            ]),
            Err(_) => self.send(&[
                NotifyState::Reloading,
                NotifyState::Status("reloading configuration"),
            ]),
        }
    }

    /// The reload is over (successfully or not: a failed reload keeps the old config,
    /// and `status` says so).
    pub fn reloaded(&mut self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// The shutdown has begun; systemd stops waiting for READY and starts the stop timer.
    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("shutting down")]);
    }

    /// Called by the run loop on every turn: sends WATCHDOG=1 when half the watchdog
    /// timeout has passed since the last ping. Returns whether a ping was sent.
    pub fn tick(&mut self) -> bool {
        self.tick_at(Instant::now())
    }

    /// [`Notifier::tick`] with an explicit clock, so the rate limit can be tested.
    pub fn tick_at(&mut self, now: Instant) -> bool {
        let Some(every) = self.tick_interval() else {
            return false;
        };
        if !self.enabled {
            return false;
        }
        let due = match self.last_ping {
            None => true,
            Some(last) => now.saturating_duration_since(last) >= every,
        };
        if due {
            self.last_ping = Some(now);
            self.send(&[NotifyState::Watchdog]);
        }
        due
    }

    fn send(&mut self, states: &[NotifyState<'_>]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            // Never fatal: the daemon's work matters more than systemd's bookkeeping.
            if !self.warned {
                self.warned = true;
                tracing::warn!(error = %e, "cannot notify systemd (NOTIFY_SOCKET)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_watchdog(timeout: Duration) -> Notifier {
        Notifier {
            // Not under systemd. The real socket, and that a notifier made outside systemd
            // sends nothing even when a socket listens, are tested in tests/systemd_notify.rs.
            enabled: false,
            watchdog_timeout: Some(timeout),
            last_ping: None,
            warned: false,
        }
    }

    #[test]
    fn tick_interval_is_half_the_watchdog_timeout() {
        let n = with_watchdog(Duration::from_secs(30));
        assert_eq!(n.tick_interval(), Some(Duration::from_secs(15)));
        let none = Notifier {
            enabled: true,
            watchdog_timeout: None,
            last_ping: None,
            warned: false,
        };
        assert_eq!(none.tick_interval(), None);
    }
}

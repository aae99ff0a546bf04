//! Graceful shutdown and reload requests, one small type every task takes (mini-redis
//! style) instead of ad-hoc flags.
//!
//! [`Shutdown`] wraps a [`CancellationToken`]: cloning it is cheap, every clone sees the
//! same trigger, and a task waits for it with [`Shutdown::wait`] inside its `select!`.
//! [`install_signal_handlers`] turns SIGTERM/SIGINT into a shutdown and SIGHUP into a
//! [`ReloadRequests`] notification the run loop listens to (config + pipelines reload).
//!
//! Order of a shutdown (DESIGN.md "SIGTERM: stop sources, flush, commit, exit < 10 s"):
//! sources stop taking new messages, the store commits what it holds (only then are the
//! last MQTT messages acked), the publisher stops; whatever was not committed is
//! redelivered by the broker's persistent session on the next start (at-least-once).
//! A second SIGTERM/SIGINT during a shutdown exits at once: an operator who insists
//! should not have to reach for SIGKILL, and the at-least-once guarantee still holds.

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The exit status used when a second signal cuts a graceful shutdown short
/// (128 + SIGINT, the shell convention for "interrupted").
pub const FORCED_EXIT_STATUS: i32 = 130;

/// One shared "stop now, cleanly" switch. Clone it into every task.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A new, untriggered switch (the root of the daemon).
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Starts the shutdown; idempotent. Every clone and child sees it.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether the shutdown has started (for loops that poll between batches).
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once the shutdown has started; use it as one arm of a `select!`.
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn wait(&self) {
        self.token.cancelled().await
    }

    /// A switch that is triggered with this one, but can also be triggered alone: on a
    /// reload, the run loop stops one generation of sources with their child switch
    /// while the daemon (store, publisher, HTTP) keeps running.
    pub fn child(&self) -> Shutdown {
        Shutdown {
            token: self.token.child_token(),
        }
    }

    /// The underlying token, for APIs that take one (e.g. axum's graceful shutdown via
    /// `token.cancelled_owned()`).
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Runs `fut` to completion unless the shutdown starts first; `None` then.
    pub async fn run_until<F: Future>(&self, fut: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            _ = self.wait() => None,
            out = fut => Some(out),
        }
    }
}

/// Awaits `task` for at most `limit` after a shutdown; tells whether it finished in time.
/// The run loop uses it to keep the whole shutdown under the 10 s systemd budget: a task
/// that overruns is logged and abandoned rather than holding the process.
pub async fn join_within<T>(name: &str, task: JoinHandle<T>, limit: Duration) -> Option<T> {
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(out)) => Some(out),
        Ok(Err(e)) => {
            tracing::error!(task = name, error = %e, "task ended abnormally during shutdown");
            None
        }
        Err(_) => {
            tracing::warn!(
                task = name,
                limit_ms = limit.as_millis() as u64,
                "task did not stop in time; abandoning it"
            );
            None
        }
    }
}

/// SIGHUP notifications for the run loop. Several SIGHUPs that arrive while a reload is
/// in progress collapse into one further reload (a `watch` channel keeps only the
/// latest generation), which is what an operator means by "reload".
#[derive(Debug, Clone)]
pub struct ReloadRequests {
    rx: watch::Receiver<u64>,
}

impl ReloadRequests {
    /// A sender/receiver pair not tied to signals (tests, `envwatch demo`).
    pub fn channel() -> (ReloadTrigger, ReloadRequests) {
        let (tx, rx) = watch::channel(0);
        (ReloadTrigger { tx }, ReloadRequests { rx })
    }

    /// Waits for the next reload request and returns its generation (1, 2, ...).
    /// `None` once no more can come (the signal task has ended with the shutdown).
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<u64> {
        match self.rx.changed().await {
            Ok(()) => Some(*self.rx.borrow_and_update()),
            Err(_) => None,
        }
    }
}

/// The sending side of [`ReloadRequests`].
#[derive(Debug, Clone)]
pub struct ReloadTrigger {
    tx: watch::Sender<u64>,
}

impl ReloadTrigger {
    /// Asks for a reload (what SIGHUP does).
    pub fn request(&self) {
        self.tx.send_modify(|generation| *generation += 1);
    }
}

/// Installs the daemon's signal handlers and returns the reload notifications:
/// SIGTERM and SIGINT trigger `shutdown` (a second one during the shutdown exits the
/// process with [`FORCED_EXIT_STATUS`]); SIGHUP requests a reload. Must be called inside
/// a tokio runtime. Once installed, these signals no longer kill the process by default,
/// so call it only from the daemon (`run`, `demo`), never from one-shot commands.
pub fn install_signal_handlers(shutdown: &Shutdown) -> std::io::Result<ReloadRequests> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (trigger, requests) = ReloadRequests::channel();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        // Phase 1: until the shutdown starts (by a signal or by the daemon itself).
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                _ = term.recv() => {
                    tracing::info!("SIGTERM received: shutting down");
                    shutdown.trigger();
                    break;
                }
                _ = int.recv() => {
                    tracing::info!("SIGINT received: shutting down");
                    shutdown.trigger();
                    break;
                }
                _ = hup.recv() => {
                    tracing::info!("SIGHUP received: reloading configuration");
                    trigger.request();
                }
            }
        }
        // The reload channel closes here: reloads during a shutdown are meaningless.
        drop(trigger);
        // Phase 2: a second stop signal means "now".
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::warn!("second stop signal during shutdown: exiting at once");
        std::process::exit(FORCED_EXIT_STATUS);
    });
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_and_children_see_the_trigger_but_a_child_alone_does_not_stop_the_parent() {
        let root = Shutdown::new();
        let clone = root.clone();
        let child = root.child();
        let grandchild_sibling = root.child();
        grandchild_sibling.trigger();
        assert!(grandchild_sibling.is_triggered());
        assert!(
            !root.is_triggered(),
            "a child's trigger must not stop the daemon"
        );
        assert!(!child.is_triggered());

        clone.trigger();
        assert!(root.is_triggered());
        assert!(child.is_triggered());
        // wait() resolves immediately once triggered.
        tokio::time::timeout(Duration::from_secs(1), child.wait())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn run_until_returns_none_after_the_trigger() {
        let s = Shutdown::new();
        assert_eq!(s.run_until(async { 7 }).await, Some(7));
        s.trigger();
        let never = std::future::pending::<u8>();
        assert_eq!(s.run_until(never).await, None);
    }

    #[tokio::test]
    async fn reload_requests_coalesce_and_close() {
        let (trigger, mut requests) = ReloadRequests::channel();
        trigger.request();
        trigger.request();
        // Two requests before the loop looked: one reload, at generation 2.
        assert_eq!(requests.recv().await, Some(2));
        trigger.request();
        assert_eq!(requests.recv().await, Some(3));
        drop(trigger);
        assert_eq!(requests.recv().await, None);
    }

    #[tokio::test]
    async fn join_within_abandons_a_task_that_overruns() {
        let quick = tokio::spawn(async { 5 });
        assert_eq!(
            join_within("quick", quick, Duration::from_secs(1)).await,
            Some(5)
        );
        let slow = tokio::spawn(std::future::pending::<()>());
        assert_eq!(
            join_within("slow", slow, Duration::from_millis(20)).await,
            None
        );
    }
}

//! Readiness state the daemon's tasks report into, and `/readyz` reads: is the store
//! writable, is every source connected, is the Influx outbox draining?
//!
//! Tasks push their state ([`Health::set_store`], [`Health::set_source`],
//! [`Health::set_outbox`]) as it changes; the HTTP handler only reads. A task that
//! stops reporting does not look healthy forever: the outbox's age keeps growing from
//! its last report, so a dead publisher turns into "outbox stuck".

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Thresholds for the readiness checks.
#[derive(Debug, Clone, Copy)]
pub struct HealthPolicy {
    /// The outbox counts as stuck when its oldest point has waited longer than this.
    /// Default 15 min: long enough for an InfluxDB restart or a short network cut
    /// (the outbox exists to ride those out), short enough to page someone the same hour.
    pub outbox_stuck_after: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            outbox_stuck_after: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone)]
enum StoreState {
    /// The store task has not reported yet (startup).
    Unknown,
    Writable,
    Failing(String),
}

#[derive(Debug, Clone)]
struct SourceState {
    connected: bool,
    detail: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct OutboxState {
    points: u64,
    oldest_age: Option<Duration>,
    reported_at: Instant,
}

#[derive(Debug)]
struct State {
    store: StoreState,
    sources: BTreeMap<String, SourceState>,
    /// `None` until the publisher reports (or forever when Influx is disabled).
    outbox: Option<OutboxState>,
}

/// Shared readiness state: `Arc<Health>` in every task that reports, and in the server.
#[derive(Debug)]
pub struct Health {
    policy: HealthPolicy,
    // A std Mutex: critical sections are a few field writes, never held across .await.
    state: Mutex<State>,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `store`, `source:<pipeline>` or `outbox`.
    pub name: String,
    pub ok: bool,
    /// Why, in words an operator can act on.
    pub detail: String,
}

/// What `/readyz` answers: ready only when every check passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// Names of the failing checks (empty when ready).
    pub failing: Vec<String>,
    pub checks: Vec<Check>,
}

impl Default for Health {
    fn default() -> Self {
        Health::new(HealthPolicy::default())
    }
}

impl Health {
    pub fn new(policy: HealthPolicy) -> Health {
        Health {
            policy,
            state: Mutex::new(State {
                store: StoreState::Unknown,
                sources: BTreeMap::new(),
                outbox: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere must not take the health endpoint down with it.
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The store committed successfully (`Ok`) or failed to (`Err(reason)`, e.g.
    /// "disk full"). Report after each commit or failure.
    pub fn set_store(&self, result: Result<(), String>) {
        self.lock().store = match result {
            Ok(()) => StoreState::Writable,
            Err(reason) => StoreState::Failing(reason),
        };
    }

    /// Declares a pipeline's source, not yet connected: readiness waits for it.
    /// Called by the run loop for every enabled pipeline before starting them.
    pub fn register_source(&self, pipeline: &str) {
        self.lock()
            .sources
            .entry(pipeline.to_string())
            .or_insert(SourceState {
                connected: false,
                detail: Some("not connected yet".into()),
            });
    }

    /// Forgets a pipeline (removed by a reload).
    pub fn remove_source(&self, pipeline: &str) {
        self.lock().sources.remove(pipeline);
    }

    /// A source connected (`detail` may name the broker) or lost its connection
    /// (`detail` says why, e.g. "connection refused; retrying in 4 s").
    pub fn set_source(&self, pipeline: &str, connected: bool, detail: Option<String>) {
        self.lock()
            .sources
            .insert(pipeline.to_string(), SourceState { connected, detail });
    }

    /// The outbox holds `points`, the oldest of which has waited `oldest_age`.
    pub fn set_outbox(&self, points: u64, oldest_age: Option<Duration>) {
        self.set_outbox_at(points, oldest_age, Instant::now());
    }

    /// [`Health::set_outbox`] with an explicit clock (tests).
    pub fn set_outbox_at(&self, points: u64, oldest_age: Option<Duration>, now: Instant) {
        self.lock().outbox = Some(OutboxState {
            points,
            oldest_age,
            reported_at: now,
        });
    }

    /// Evaluates every check now.
    pub fn readiness(&self) -> Readiness {
        self.readiness_at(Instant::now())
    }

    /// [`Health::readiness`] with an explicit clock (tests).
    pub fn readiness_at(&self, now: Instant) -> Readiness {
        let state = self.lock();
        let mut checks = Vec::with_capacity(state.sources.len() + 2);
        checks.push(match &state.store {
            StoreState::Unknown => Check {
                name: "store".into(),
                ok: false,
                detail: "store not opened yet".into(),
            },
            StoreState::Writable => Check {
                name: "store".into(),
                ok: true,
                detail: "writable".into(),
            },
            StoreState::Failing(reason) => Check {
                name: "store".into(),
                ok: false,
                detail: format!("not writable: {reason}"),
            },
        });
        for (name, s) in &state.sources {
            let detail = match (&s.detail, s.connected) {
                (Some(d), _) => d.clone(),
                (None, true) => "connected".into(),
                (None, false) => "not connected".into(),
            };
            checks.push(Check {
                name: format!("source:{name}"),
                ok: s.connected,
                detail,
            });
        }
        checks.push(match state.outbox {
            None => Check {
                name: "outbox".into(),
                ok: true,
                detail: "no publisher report (Influx disabled or starting)".into(),
            },
            Some(o) => {
                let age = o
                    .oldest_age
                    .map(|a| a + now.saturating_duration_since(o.reported_at));
                match age {
                    None => Check {
                        name: "outbox".into(),
                        ok: true,
                        detail: "empty".into(),
                    },
                    Some(age) if age > self.policy.outbox_stuck_after => Check {
                        name: "outbox".into(),
                        ok: false,
                        detail: format!(
                            "stuck: {} points, oldest waiting {} s (limit {} s)",
                            o.points,
                            age.as_secs(),
                            self.policy.outbox_stuck_after.as_secs()
                        ),
                    },
                    Some(age) => Check {
                        name: "outbox".into(),
                        ok: true,
                        detail: format!(
                            "draining: {} points, oldest waiting {} s",
                            o.points,
                            age.as_secs()
                        ),
                    },
                }
            }
        });
        let failing: Vec<String> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.clone())
            .collect();
        Readiness {
            ready: failing.is_empty(),
            failing,
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_ready_until_the_store_reports_and_sources_connect() {
        let h = Health::default();
        h.register_source("air-hj212-mqtt");
        let r = h.readiness();
        assert!(!r.ready);
        assert_eq!(r.failing, vec!["store", "source:air-hj212-mqtt"]);

        h.set_store(Ok(()));
        h.set_source("air-hj212-mqtt", true, None);
        let r = h.readiness();
        assert!(r.ready, "{r:?}");
        assert!(r.failing.is_empty());

        h.set_store(Err("database or disk is full".into()));
        let r = h.readiness();
        assert_eq!(r.failing, vec!["store"]);
        assert_eq!(r.checks[0].detail, "not writable: database or disk is full");
    }

    #[test]
    fn outbox_is_stuck_past_the_limit_even_when_the_publisher_stops_reporting() {
        let h = Health::new(HealthPolicy {
            outbox_stuck_after: Duration::from_secs(600),
        });
        h.set_store(Ok(()));
        let t0 = Instant::now();
        h.set_outbox_at(10, Some(Duration::from_secs(590)), t0);
        assert!(h.readiness_at(t0).ready);
        // No new report for 11 s: the oldest point is now 601 s old.
        let r = h.readiness_at(t0 + Duration::from_secs(11));
        assert_eq!(r.failing, vec!["outbox"]);
        assert!(r.checks[1].detail.starts_with("stuck: 10 points"), "{r:?}");
        // An empty outbox is never stuck.
        h.set_outbox_at(0, None, t0);
        assert!(h.readiness_at(t0 + Duration::from_secs(3600)).ready);
    }

    #[test]
    fn a_removed_source_no_longer_blocks_readiness() {
        let h = Health::default();
        h.set_store(Ok(()));
        h.register_source("old-feed");
        assert!(!h.readiness().ready);
        h.remove_source("old-feed");
        assert!(h.readiness().ready);
    }
}

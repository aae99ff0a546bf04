//! [`AlertEngine`]: the library API the daemon uses. Judges and the pipeline call the
//! `observe_*` methods (synchronous, one short SQLite transaction each); the daemon runs
//! [`AlertEngine::run_notifiers`] as a task that drains the outbox per channel, paced
//! and retried, until its cancellation token fires.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::config::{AlertsConfig, ChannelSettings, RuleCommon};
use super::input::{
    AirDayObservation, AirTargetObservation, DeadLetterRate, OutboxBacklog, SiteSilence,
    WaterObservation,
};
use super::notification::{Notification, NotificationKind};
use super::notify::{BuildError, Notifier, SendError, http_client, influx};
use super::ratelimit::{SlidingWindow, backoff};
use super::rules::{self, Fact, RuleKind, Verdict};
use super::state::{self, AlertState, Hysteresis, Transition};
use super::{outbox, templates};

/// Why the engine could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("alert store: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("alert store: stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("unknown rule \"{0}\" (known: {known})", known = RuleKind::ALL.map(|r| r.name()).join(", "))]
    UnknownRule(String),
    #[error("rule {0} is not configured under [alerts.rules]")]
    RuleNotConfigured(String),
}

/// How often the notifier task looks for due repeats and prunes delivered rows.
const TICK: Duration = Duration::from_secs(30);
/// How long an in-flight send may finish after cancellation.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Delivered outbox rows are kept this long (for `alerts list`), then pruned.
const KEEP_DELIVERED: chrono::Duration = chrono::Duration::days(7);

/// What a notification is about, before it is worded.
struct Draft<'a> {
    rule: RuleKind,
    subject: &'a str,
    kind: NotificationKind,
    at: DateTime<Utc>,
    fact: &'a Fact,
    /// The state's notification count: numbers the id.
    seq: u32,
}

/// Stateful alerting over the store's SQLite file. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct AlertEngine {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: AlertsConfig,
    tz: Tz,
    db: Mutex<Connection>,
    /// One wake-up per enabled channel: set when rows are queued for it.
    wake: BTreeMap<String, Arc<Notify>>,
    influx: Mutex<Option<mpsc::UnboundedSender<String>>>,
    /// When set, `envwatch_alert` lines go into the publish outbox in the same
    /// transaction as the alert state, and this wakes the publisher after the commit.
    publish_wake: Mutex<Option<Arc<Notify>>>,
}

/// Opens a SQLite connection the way the engine wants it (WAL, waits for other writers).
pub fn open_db(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Creates the engine's tables (`alert_state`, `alert_outbox`) if missing.
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    state::create_tables(conn)?;
    outbox::create_tables(conn)
}

impl AlertEngine {
    /// Opens (creating if needed) the store file at `path` with its own connection.
    pub fn open(path: &Path, cfg: AlertsConfig, tz: Tz) -> Result<AlertEngine, AlertError> {
        AlertEngine::with_connection(open_db(path)?, cfg, tz)
    }

    /// Uses a connection the caller opened (creates the tables on it).
    pub fn with_connection(
        conn: Connection,
        cfg: AlertsConfig,
        tz: Tz,
    ) -> Result<AlertEngine, AlertError> {
        create_tables(&conn)?;
        let wake = cfg
            .channels
            .iter()
            .filter(|(_, c)| c.settings().enabled)
            .map(|(n, _)| (n.clone(), Arc::new(Notify::new())))
            .collect();
        Ok(AlertEngine {
            inner: Arc::new(Inner {
                cfg,
                tz,
                db: Mutex::new(conn),
                wake,
                influx: Mutex::new(None),
                publish_wake: Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.inner.cfg
    }

    /// Every notification also becomes an `envwatch_alert` line sent here (for the
    /// Influx publisher's outbox).
    pub fn set_influx_sink(&self, tx: mpsc::UnboundedSender<String>) {
        *lock(&self.inner.influx) = Some(tx);
    }

    /// Queue every notification's `envwatch_alert` line in the store's publish outbox,
    /// atomically with the alert state (a crash cannot lose a Grafana annotation), and
    /// poke `publisher` after each commit. The store must be the daemon's (outbox table).
    pub fn set_influx_outbox(&self, publisher: Arc<Notify>) {
        *lock(&self.inner.publish_wake) = Some(publisher);
    }

    fn with_db<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut g = lock(&self.inner.db);
        f(&mut g)
    }

    /// A section's class result (per reading or per day): water_inferior_v,
    /// water_target_missed, drinking_source_noncompliant.
    pub fn observe_water(&self, obs: &WaterObservation) -> Result<Vec<Notification>, AlertError> {
        self.apply(rules::evaluate_water(&self.inner.cfg, obs))
    }

    /// A city's daily AQI: air_polluted_day.
    pub fn observe_air_day(
        &self,
        obs: &AirDayObservation,
    ) -> Result<Vec<Notification>, AlertError> {
        self.apply(rules::evaluate_air_day(&self.inner.cfg, obs))
    }

    /// A city's year-to-date good-day ratio: air_target_at_risk.
    pub fn observe_air_target(
        &self,
        obs: &AirTargetObservation,
    ) -> Result<Vec<Notification>, AlertError> {
        self.apply(rules::evaluate_air_target(&self.inner.cfg, obs))
    }

    /// A site's last valid reading, sampled periodically: station_silent.
    pub fn observe_silence(&self, obs: &SiteSilence) -> Result<Vec<Notification>, AlertError> {
        self.apply(rules::evaluate_silence(&self.inner.cfg, obs))
    }

    /// A pipeline's dead-letter rate: pipeline_dead_letters.
    pub fn observe_dead_letters(
        &self,
        obs: &DeadLetterRate,
    ) -> Result<Vec<Notification>, AlertError> {
        self.apply(rules::evaluate_dead_letters(&self.inner.cfg, obs))
    }

    /// An outbox's size: outbox_backlog.
    pub fn observe_outbox(&self, obs: &OutboxBacklog) -> Result<Vec<Notification>, AlertError> {
        self.apply(rules::evaluate_backlog(&self.inner.cfg, obs))
    }

    /// Current state of every (rule, subject).
    pub fn states(&self) -> Result<Vec<AlertState>, AlertError> {
        Ok(self.with_db(|c| state::list(c))?)
    }

    fn rule(&self, rule: RuleKind) -> Option<&RuleCommon> {
        self.inner.cfg.rules.get(rule.name())
    }

    fn hysteresis(&self, common: &RuleCommon) -> Hysteresis {
        Hysteresis {
            fire_after: common.fire_after.max(1),
            resolve_after: common.resolve_after.max(1),
            hold_for: common
                .hold_for
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .unwrap_or_else(chrono::Duration::zero),
            repeat_every: self
                .inner
                .cfg
                .repeat_for(common)
                .and_then(|d| chrono::Duration::from_std(d).ok()),
        }
    }

    /// Words a notification.
    fn notification(&self, d: Draft<'_>, now: DateTime<Utc>) -> Notification {
        let severity = self.rule(d.rule).map(|c| c.severity).unwrap_or_default();
        let (title, text) = templates::render(
            self.inner.cfg.language,
            self.inner.tz,
            d.rule,
            d.kind,
            severity,
            d.subject,
            d.fact,
        );
        Notification {
            id: format!("{}/{}/{}", d.rule.name(), d.subject, d.seq),
            rule: d.rule,
            subject: d.subject.to_string(),
            kind: d.kind,
            severity,
            at: d.at,
            created_at: now,
            title,
            text,
            fact: d.fact.clone(),
        }
    }

    /// The enabled channels a rule sends to.
    fn channels_of(&self, rule: RuleKind) -> Vec<String> {
        self.rule(rule)
            .map(|c| {
                c.channels
                    .iter()
                    .filter(|ch| self.inner.wake.contains_key(*ch))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Steps the state machines and queues notifications, all in one transaction.
    fn apply(&self, verdicts: Vec<Verdict>) -> Result<Vec<Notification>, AlertError> {
        if verdicts.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let mut out = Vec::new();
        {
            let mut g = lock(&self.inner.db);
            let tx = g.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for v in verdicts {
                let Some(common) = self.rule(v.rule) else {
                    continue;
                };
                let h = self.hysteresis(common);
                let prev = state::load(&tx, v.rule.name(), &v.subject)?;
                let (mut s, tr) =
                    state::step(prev, v.rule.name(), &v.subject, v.at, v.bad, &h, now);
                if v.bad {
                    s.fact = Some(serde_json::to_string(&v.fact)?);
                }
                state::save(&tx, &s)?;
                if let Some(tr) = tr {
                    let kind = match tr {
                        Transition::Fired => NotificationKind::Firing,
                        Transition::Resolved => NotificationKind::Resolved,
                        Transition::Repeated => NotificationKind::Repeat,
                    };
                    let n = self.notification(
                        Draft {
                            rule: v.rule,
                            subject: &v.subject,
                            kind,
                            at: v.at,
                            fact: &v.fact,
                            seq: s.notifications,
                        },
                        now,
                    );
                    self.enqueue(&tx, &n, now)?;
                    if lock(&self.inner.publish_wake).is_some() {
                        let queued =
                            crate::publish::outbox::enqueue_lines(&tx, &[influx::line(&n)])?;
                        if queued.dropped > 0 {
                            tracing::error!(id = %n.id, "outbox full: alert annotation not queued");
                        }
                    }
                    out.push(n);
                }
            }
            tx.commit()?;
        }
        self.after_enqueue(&out);
        Ok(out)
    }

    fn enqueue(
        &self,
        conn: &Connection,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        let json = serde_json::to_string(n)?;
        for ch in self.channels_of(n.rule) {
            outbox::enqueue(conn, &ch, &json, now)?;
        }
        Ok(())
    }

    /// Wakes the channels and emits Influx lines, after the commit.
    fn after_enqueue(&self, sent: &[Notification]) {
        for n in sent {
            for ch in self.channels_of(n.rule) {
                if let Some(w) = self.inner.wake.get(&ch) {
                    w.notify_one();
                }
            }
            tracing::info!(rule = %n.rule, subject = %n.subject, kind = n.kind.as_str(), id = %n.id, "alert");
            if let Some(tx) = lock(&self.inner.influx).as_ref() {
                let _ = tx.send(influx::line(n));
            }
        }
        if !sent.is_empty()
            && let Some(w) = lock(&self.inner.publish_wake).as_ref()
        {
            w.notify_one();
        }
    }

    /// Queues repeat notifications of alerts that have fired for longer than their
    /// repeat interval without a new fact (called by the notifier task periodically).
    pub fn tick(&self, now: DateTime<Utc>) -> Result<Vec<Notification>, AlertError> {
        let mut out = Vec::new();
        {
            let mut g = lock(&self.inner.db);
            let tx = g.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for mut s in state::list(&tx)? {
                let Some(rule) = RuleKind::from_name(&s.rule) else {
                    continue;
                };
                let Some(common) = self.rule(rule) else {
                    continue;
                };
                if !common.enabled || !state::repeat_due(&s, &self.hysteresis(common), now) {
                    continue;
                }
                let Some(fact) = s
                    .fact
                    .as_deref()
                    .and_then(|f| serde_json::from_str::<Fact>(f).ok())
                else {
                    continue;
                };
                state::mark_repeated(&mut s, now);
                state::save(&tx, &s)?;
                let at = s.last_at.unwrap_or(now);
                let n = self.notification(
                    Draft {
                        rule,
                        subject: &s.subject,
                        kind: NotificationKind::Repeat,
                        at,
                        fact: &fact,
                        seq: s.notifications,
                    },
                    now,
                );
                self.enqueue(&tx, &n, now)?;
                out.push(n);
            }
            outbox::prune(&tx, now - KEEP_DELIVERED)?;
            tx.commit()?;
        }
        self.after_enqueue(&out);
        Ok(out)
    }

    /// A test message for `rule` (see [`test_notification`]).
    pub fn test_notification(&self, rule: &str) -> Result<(Notification, Vec<String>), AlertError> {
        test_notification(&self.inner.cfg, self.inner.tz, rule)
    }

    /// Runs one delivery worker per enabled channel plus the repeat tick, until
    /// `cancel` fires. Channels that cannot be built (a secret vanished) are logged
    /// and skipped; their messages stay queued for the next start.
    pub async fn run_notifiers(&self, cancel: CancellationToken) -> Result<(), AlertError> {
        let http = http_client();
        let mut tasks = tokio::task::JoinSet::new();
        for (name, cfg) in &self.inner.cfg.channels {
            let Some(wake) = self.inner.wake.get(name).cloned() else {
                continue;
            };
            match Notifier::build(name, cfg, &http) {
                Ok(notifier) => {
                    let engine = self.clone();
                    let name = name.clone();
                    let settings = cfg.settings();
                    let cancel = cancel.clone();
                    tasks.spawn(async move {
                        engine
                            .channel_worker(name, notifier, settings, wake, cancel)
                            .await
                    });
                }
                Err(e) => tracing::error!(error = %e, "alert channel not started"),
            }
        }
        let engine = self.clone();
        let tick_cancel = cancel.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = tick_cancel.cancelled() => return,
                    _ = tokio::time::sleep(TICK) => {}
                }
                if let Err(e) = engine.tick(Utc::now()) {
                    tracing::error!(error = %e, "alert repeat tick failed");
                }
            }
        });
        while tasks.join_next().await.is_some() {}
        Ok(())
    }

    async fn channel_worker(
        &self,
        name: String,
        notifier: Notifier,
        settings: ChannelSettings,
        wake: Arc<Notify>,
        cancel: CancellationToken,
    ) {
        let mut window = SlidingWindow::new(settings.rate_limit);
        loop {
            if cancel.is_cancelled() {
                return;
            }
            let row = match self.with_db(|c| outbox::head(c, &name)) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!(channel = %name, error = %e, "alert outbox unreadable");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                }
            };
            let now = Utc::now();
            if row.next_attempt_at > now {
                let d = (row.next_attempt_at - now).to_std().unwrap_or_default();
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(d) => {}
                }
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = window.acquire() => {}
            }
            let result = match serde_json::from_str::<Notification>(&row.notification) {
                Ok(n) => {
                    // A send in flight at shutdown is given a short grace to finish and
                    // be marked, rather than dropped half-way (which would resend it).
                    let send = tokio::time::timeout(settings.timeout, notifier.send(&n));
                    tokio::pin!(send);
                    let r = tokio::select! {
                        r = &mut send => r,
                        _ = cancel.cancelled() => {
                            match tokio::time::timeout(SHUTDOWN_GRACE, &mut send).await {
                                Ok(r) => r,
                                Err(_) => return,
                            }
                        }
                    };
                    r.unwrap_or_else(|_| {
                        Err(SendError(format!(
                            "no answer within {:?}",
                            settings.timeout
                        )))
                    })
                }
                Err(e) => {
                    let msg = format!("stored notification is not readable: {e}");
                    tracing::error!(channel = %name, id = row.id, "{msg}");
                    let _ = self.with_db(|c| outbox::mark_failed(c, row.id, Utc::now(), &msg));
                    continue;
                }
            };
            window.record(tokio::time::Instant::now());
            let now = Utc::now();
            let marked = match result {
                Ok(()) => self.with_db(|c| outbox::mark_delivered(c, row.id, now)),
                Err(e) => {
                    let attempts = row.attempts.saturating_add(1);
                    let max = settings.retry.max_attempts;
                    if max > 0 && attempts >= max {
                        tracing::error!(channel = %name, id = row.id, attempts, error = %e, "alert notification given up");
                        self.with_db(|c| outbox::mark_failed(c, row.id, now, &e.0))
                    } else {
                        let wait = backoff(&settings.retry, attempts);
                        tracing::warn!(channel = %name, id = row.id, attempts, retry_in = ?wait, error = %e, "alert notification failed; will retry");
                        let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                        self.with_db(|c| outbox::mark_retry(c, row.id, next, &e.0))
                    }
                }
            };
            if let Err(e) = marked {
                tracing::error!(channel = %name, error = %e, "alert outbox update failed");
            }
        }
    }
}

/// A test message for `rule` and the channels it names. Not queued:
/// `envwatch alerts test` sends it directly so the operator sees each channel's answer.
pub fn test_notification(
    cfg: &AlertsConfig,
    tz: Tz,
    rule: &str,
) -> Result<(Notification, Vec<String>), AlertError> {
    let kind =
        RuleKind::from_name(rule).ok_or_else(|| AlertError::UnknownRule(rule.to_string()))?;
    let common = cfg
        .rules
        .get(rule)
        .ok_or_else(|| AlertError::RuleNotConfigured(rule.to_string()))?;
    let now = Utc::now();
    let fact = Fact::Test { rule: kind };
    let (title, text) = templates::render(
        cfg.language,
        tz,
        kind,
        NotificationKind::Test,
        common.severity,
        "test",
        &fact,
    );
    let n = Notification {
        id: format!("{rule}/test/{}", now.timestamp_millis()),
        rule: kind,
        subject: "test".into(),
        kind: NotificationKind::Test,
        severity: common.severity,
        at: now,
        created_at: now,
        title,
        text,
        fact,
    };
    Ok((n, common.channels.clone()))
}

/// Locks a mutex, recovering from poisoning (a panicked holder cannot leave a SQLite
/// connection half-updated: transactions roll back on drop).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::input::OutboxBacklog;
    use chrono::TimeZone;

    fn engine(extra: &str) -> AlertEngine {
        let cfg = AlertsConfig::from_toml_str(&format!(
            r#"
            repeat_interval = "4h"
            [channels.on]
            kind = "webhook"
            url = "http://127.0.0.1:9/none"
            [channels.off]
            kind = "webhook"
            enabled = false
            url = "http://127.0.0.1:9/none"
            [rules.outbox_backlog]
            channels = ["on", "off"]
            max_points = 1000
            {extra}
            "#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        AlertEngine::with_connection(conn, cfg, chrono_tz::Asia::Shanghai)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn backlog(points: u64, minute: u32) -> OutboxBacklog {
        OutboxBacklog {
            outbox: "influx".into(),
            points,
            now: Utc
                .with_ymd_and_hms(2026, 7, 1, 0, minute, 0)
                .single()
                .unwrap_or_default(),
        }
    }

    fn queued(e: &AlertEngine) -> Vec<(String, i64)> {
        e.with_db(|c| outbox::summary(c))
            .unwrap_or_default()
            .into_iter()
            .map(|q| (q.channel, q.waiting))
            .collect()
    }

    #[test]
    fn fires_once_queues_only_enabled_channels_and_repeats_on_tick() {
        let e = engine("");
        let fired = e.observe_outbox(&backlog(5000, 0)).unwrap_or_default();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].id, "outbox_backlog/influx/1");
        // Still above: no second notification before the repeat interval.
        assert!(
            e.observe_outbox(&backlog(6000, 1))
                .unwrap_or_default()
                .is_empty()
        );
        assert_eq!(queued(&e), vec![("on".to_string(), 1)]);
        let now = Utc::now();
        assert!(
            e.tick(now + chrono::Duration::hours(1))
                .unwrap_or_default()
                .is_empty()
        );
        let repeats = e.tick(now + chrono::Duration::hours(5)).unwrap_or_default();
        assert_eq!(repeats.len(), 1);
        assert_eq!(repeats[0].kind, NotificationKind::Repeat);
        // The repeat quotes the latest bad fact (6000 points).
        assert!(repeats[0].text.contains("6000"), "{}", repeats[0].text);
        assert!(
            e.tick(now + chrono::Duration::hours(6))
                .unwrap_or_default()
                .is_empty()
        );
        let resolved = e.observe_outbox(&backlog(10, 2)).unwrap_or_default();
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].kind, NotificationKind::Resolved);
        assert_eq!(queued(&e), vec![("on".to_string(), 3)]);
    }

    #[test]
    fn unknown_and_unconfigured_rules_are_refused_for_tests() {
        let e = engine("");
        assert!(matches!(
            e.test_notification("nope"),
            Err(AlertError::UnknownRule(_))
        ));
        assert!(matches!(
            e.test_notification("station_silent"),
            Err(AlertError::RuleNotConfigured(_))
        ));
        let (n, channels) = e
            .test_notification("outbox_backlog")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.kind, NotificationKind::Test);
        assert_eq!(channels, vec!["on".to_string(), "off".to_string()]);
    }
}

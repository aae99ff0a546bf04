//! The publisher task: drains the outbox to InfluxDB in order, forever, until cancelled.
//!
//! One write request is in flight at a time — that is what keeps delivery in order (a
//! recomputed day must overwrite the older value, never the other way round) and bounds
//! the load on Influx (the Node-RED pitfall in DESIGN.md). Throughput comes from large
//! batches and from overlapping the SQLite work (settling the previous batch, reading the
//! next) with the HTTP request of the current one.
//!
//! A batch goes out when it is full (`batch_size` points or `max_batch_bytes`) or when its
//! oldest point has waited `flush_interval`. Failures:
//! - network errors, 5xx, 408, 429: retry the same body with exponential backoff and
//!   jitter, never sooner than the server's `Retry-After`;
//! - 401/403/404 and other refusals: the config is wrong, not the data — retry with
//!   backoff (and log loudly) without losing or reordering anything;
//! - 413: split the batch in halves;
//! - 400/422: bisect until the bad points are isolated; each one goes to
//!   `outbox_dead_letters` with the server's message, the rest are written.

use std::collections::VecDeque;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::influx::{ClientError, InfluxClient, InfluxTarget, WriteError};
use super::metrics::PublishMetrics;
use super::outbox::{self, OutboxRow, Rejection};
use crate::config::daemon::InfluxSettings;

/// How often gauges are refreshed while a write is being retried.
const GAUGE_REFRESH: Duration = Duration::from_millis(500);

/// Tuning of the publisher; [`PublisherOptions::from_settings`] maps `[influx]`.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    /// Points per write request.
    pub batch_size: usize,
    /// Uncompressed body size limit per request (InfluxDB 1.x defaults to 25 MB).
    pub max_batch_bytes: usize,
    /// A partial batch waits at most this long for more points.
    pub flush_interval: Duration,
    /// How often an idle publisher looks for new points when nobody wakes it.
    pub poll_interval: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Upper bound on a server's Retry-After (a misconfigured proxy may say "1 day").
    pub max_retry_after: Duration,
    /// The outbox bound written into the store (`influx.outbox_max_points`).
    pub outbox_max_points: u64,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        PublisherOptions {
            batch_size: 5000,
            max_batch_bytes: 8 << 20,
            flush_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(200),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            outbox_max_points: outbox::DEFAULT_MAX_POINTS,
        }
    }
}

impl PublisherOptions {
    pub fn from_settings(s: &InfluxSettings) -> PublisherOptions {
        PublisherOptions {
            batch_size: s.batch_size.max(1),
            flush_interval: s.flush_interval,
            poll_interval: s
                .flush_interval
                .clamp(Duration::from_millis(10), Duration::from_millis(200)),
            outbox_max_points: s.outbox_max_points,
            ..PublisherOptions::default()
        }
    }
}

/// Why the publisher could not run.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("outbox store {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("outbox store {path}: background task failed: {reason}")]
    Task { path: String, reason: String },
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The publisher. Build it, hand [`Publisher::metrics`] to the `/metrics` registry and
/// [`Publisher::waker`] to the store (poke it after a commit that queued points), then
/// `tokio::spawn(publisher.run(cancel))`.
#[derive(Debug)]
pub struct Publisher {
    client: InfluxClient,
    db_path: PathBuf,
    options: PublisherOptions,
    metrics: PublishMetrics,
    wake: Arc<Notify>,
}

impl Publisher {
    pub fn new(
        client: InfluxClient,
        db_path: impl Into<PathBuf>,
        options: PublisherOptions,
    ) -> Publisher {
        let metrics = PublishMetrics::default();
        metrics
            .outbox_capacity
            .set(i64::try_from(options.outbox_max_points).unwrap_or(i64::MAX));
        Publisher {
            client,
            db_path: db_path.into(),
            options,
            metrics,
            wake: Arc::new(Notify::new()),
        }
    }

    /// From the `[influx]` section (secrets resolved here) and the store's SQLite file.
    pub fn from_settings(
        settings: &InfluxSettings,
        db_path: impl Into<PathBuf>,
    ) -> Result<Publisher, PublishError> {
        let client = InfluxClient::new(InfluxTarget::from_settings(settings)?)?;
        Ok(Publisher::new(
            client,
            db_path,
            PublisherOptions::from_settings(settings),
        ))
    }

    /// A handle on the metrics (clones share the same atomics).
    pub fn metrics(&self) -> PublishMetrics {
        self.metrics.clone()
    }

    /// Notify this after committing points to the outbox: the publisher then looks at
    /// once instead of at its next poll.
    /// Uses `wake` (shared with the commit hook and the alerts) instead of its own, so a
    /// publisher rebuilt on reload is woken by the same producers.
    pub fn with_waker(mut self, wake: Arc<Notify>) -> Publisher {
        self.wake = wake;
        self
    }

    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub fn client(&self) -> &InfluxClient {
        &self.client
    }

    /// Runs until `cancel` fires. Returns an error only when the store cannot be opened;
    /// every later failure is retried. On cancel, an in-flight request is abandoned
    /// (its points stay queued and are resent next time: writes are idempotent).
    pub async fn run(self, cancel: CancellationToken) -> Result<(), PublishError> {
        let path = self.db_path.clone();
        let max = self.options.outbox_max_points;
        let conn = blocking(&path, move |p| {
            let c = Connection::open(p)?;
            c.busy_timeout(Duration::from_secs(10))?;
            // The store sets WAL for the file; NORMAL sync is durable in WAL mode.
            c.pragma_update(None, "synchronous", "NORMAL")?;
            outbox::init_schema(&c, max)?;
            outbox::resync_depth(&c)?;
            Ok(c)
        })
        .await?;
        let runner = Runner {
            db: Db {
                conn: Arc::new(Mutex::new(conn)),
                path,
            },
            publisher: self,
            backoff: Backoff::default(),
        };
        runner.run(cancel).await;
        Ok(())
    }
}

async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce(&Path) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, PublishError> {
    let p = path.to_path_buf();
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || f(&p)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(PublishError::Store {
            path: shown,
            source,
        }),
        Err(e) => Err(PublishError::Task {
            path: shown,
            reason: e.to_string(),
        }),
    }
}

/// The publisher's own SQLite connection, used from blocking threads one call at a time.
struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Db {
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, PublishError> {
        let conn = self.conn.clone();
        blocking(&self.path, move |_| {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
    }
}

/// A delivered batch whose rows still have to leave the outbox.
struct Settlement {
    first: i64,
    last: i64,
    rejected: Vec<Rejection>,
}

struct Runner {
    db: Db,
    publisher: Publisher,
    backoff: Backoff,
}

impl Runner {
    fn opts(&self) -> &PublisherOptions {
        &self.publisher.options
    }

    fn metrics(&self) -> &PublishMetrics {
        &self.publisher.metrics
    }

    async fn run(mut self, cancel: CancellationToken) {
        let mut cursor = 0i64;
        let mut next: Option<Vec<OutboxRow>> = None;
        let mut pending: Option<Settlement> = None;
        loop {
            let batch = match next.take() {
                Some(b) if self.is_full(&b) => b,
                _ => {
                    if let Some(s) = pending.take() {
                        self.settle_now(s, &cancel).await;
                    }
                    match self.wait_for_batch(cursor, &cancel).await {
                        Some(b) => b,
                        None => return,
                    }
                }
            };
            let (Some(first), Some(last)) =
                (batch.first().map(|r| r.id), batch.last().map(|r| r.id))
            else {
                continue;
            };
            // Settle the previous batch and read the next one while this one is sent.
            let (bs, bytes) = (self.opts().batch_size, self.opts().max_batch_bytes);
            let settle = pending.take();
            let db_work = self.db.call(move |c| {
                let unsettled = match settle {
                    Some(s) => match outbox::settle(c, s.first, s.last, &s.rejected) {
                        Ok(_) => None,
                        Err(e) => Some((s, e.to_string())),
                    },
                    None => None,
                };
                let next =
                    outbox::peek(c, last, bs, bytes).and_then(|n| Ok((n, outbox::stats(c)?)));
                Ok((unsettled, next))
            });
            let (delivered, db_res) = tokio::join!(self.deliver(&batch, &cancel), db_work);
            match db_res {
                Ok((unsettled, next_res)) => {
                    if let Some((s, err)) = unsettled {
                        tracing::warn!(error = %err, "outbox: could not settle a delivered batch; retrying");
                        pending = Some(s);
                    }
                    match next_res {
                        Ok((n, stats)) => {
                            self.update_gauges(&stats);
                            next = Some(n);
                        }
                        Err(e) => tracing::warn!(error = %e, "outbox: read failed; retrying"),
                    }
                }
                Err(e) => tracing::warn!(error = %e, "outbox: background task failed"),
            }
            let Some(rejected) = delivered else {
                // Cancelled mid-delivery: the batch stays queued. Settle what was done.
                if let Some(s) = pending.take() {
                    self.settle_now(s, &CancellationToken::new()).await;
                }
                return;
            };
            if let Some(s) = pending.take() {
                // The previous batch's settle failed above; finish it before queuing this one.
                self.settle_now(s, &cancel).await;
            }
            pending = Some(Settlement {
                first,
                last,
                rejected,
            });
            cursor = last;
            if cancel.is_cancelled() {
                if let Some(s) = pending.take() {
                    self.settle_now(s, &CancellationToken::new()).await;
                }
                return;
            }
        }
    }

    fn is_full(&self, rows: &[OutboxRow]) -> bool {
        if rows.len() >= self.opts().batch_size {
            return true;
        }
        let bytes: usize = rows.iter().map(|r| r.line.len() + 1).sum();
        let avg = bytes / rows.len().max(1);
        !rows.is_empty() && bytes + avg > self.opts().max_batch_bytes
    }

    /// Settles until it succeeds (the store may be busy) or `cancel` fires.
    async fn settle_now(&mut self, s: Settlement, cancel: &CancellationToken) {
        let mut delay = Backoff::default();
        loop {
            let (first, last, rejected) = (s.first, s.last, s.rejected.clone());
            let res = self
                .db
                .call(move |c| {
                    outbox::settle(c, first, last, &rejected)?;
                    outbox::stats(c)
                })
                .await;
            match res {
                Ok(stats) => {
                    self.update_gauges(&stats);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: could not settle a delivered batch; retrying");
                    let d = delay.next(&self.publisher.options, None);
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(d) => {}
                    }
                }
            }
        }
    }

    /// Waits until a batch is due: full, or its oldest point waited `flush_interval`.
    /// `None` when cancelled.
    async fn wait_for_batch(
        &mut self,
        cursor: i64,
        cancel: &CancellationToken,
    ) -> Option<Vec<OutboxRow>> {
        loop {
            if cancel.is_cancelled() {
                return None;
            }
            let (bs, bytes) = (self.opts().batch_size, self.opts().max_batch_bytes);
            let wake = self.publisher.wake.clone();
            // Register for wake-ups before looking, so a commit in between is not missed.
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let res = self
                .db
                .call(move |c| Ok((outbox::peek(c, cursor, bs, bytes)?, outbox::stats(c)?)))
                .await;
            let wait = match res {
                Ok((rows, stats)) => {
                    self.update_gauges(&stats);
                    match rows.first() {
                        None => self.opts().poll_interval,
                        Some(oldest) => {
                            let age = Duration::from_millis(
                                (outbox::now_ms() - oldest.enqueued_ms).max(0) as u64,
                            );
                            if self.is_full(&rows) || age >= self.opts().flush_interval {
                                return Some(rows);
                            }
                            (self.opts().flush_interval - age).min(self.opts().poll_interval)
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: read failed; retrying");
                    self.backoff.next(&self.publisher.options, None)
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = tokio::time::sleep(wait) => {}
                _ = &mut notified => {}
            }
        }
    }

    async fn refresh_gauges(&self) {
        match self.db.call(|c| outbox::stats(c)).await {
            Ok(stats) => self.update_gauges(&stats),
            Err(e) => tracing::debug!(error = %e, "outbox: stats unavailable"),
        }
    }

    fn update_gauges(&self, s: &outbox::OutboxStats) {
        let m = self.metrics();
        m.outbox_depth
            .set(i64::try_from(s.depth).unwrap_or(i64::MAX));
        let dropped = i64::try_from(s.dropped_total).unwrap_or(i64::MAX);
        let before = m.outbox_dropped.set(dropped);
        if dropped > before {
            // Logged here because enqueue runs inside the store's transaction without a
            // logger of its own; the alert rule watches the same gauge. (At start-up this
            // reports the drops persisted from earlier runs once.)
            tracing::error!(
                dropped_now = dropped - before,
                dropped_total = dropped,
                capacity = s.max_points,
                "outbox full: points refused (the data stays in the store; fix Influx, then republish)"
            );
        }
        m.outbox_capacity
            .set(i64::try_from(s.max_points).unwrap_or(i64::MAX));
        let age = s
            .oldest_enqueued_ms
            .map(|t| ((outbox::now_ms() - t).max(0) as f64) / 1000.0)
            .unwrap_or(0.0);
        m.outbox_age_seconds.set(age);
    }

    /// Sends `batch` until every point is written or dead-lettered. Returns the
    /// rejections, or `None` when cancelled first.
    async fn deliver(
        &self,
        batch: &[OutboxRow],
        cancel: &CancellationToken,
    ) -> Option<Vec<Rejection>> {
        let mut rejected = Vec::new();
        let mut queue: VecDeque<Range<usize>> = VecDeque::new();
        queue.push_back(0..batch.len());
        let mut backoff = self.backoff.clone();
        let mut failures_logged = 0u32;
        while let Some(range) = queue.pop_front() {
            let rows = &batch[range.clone()];
            let body = body_of(rows);
            loop {
                let res = tokio::select! {
                    _ = cancel.cancelled() => return None,
                    r = self.publisher.client.write(&body) => r,
                };
                let m = self.metrics();
                match res {
                    Ok(()) => {
                        m.points_written.inc_by(rows.len() as u64);
                        m.batches_written.inc();
                        if m.influx_down.get() != 0 {
                            tracing::info!(url = %self.publisher.client.write_url(), "InfluxDB accepts writes again");
                        }
                        m.influx_down.set(0);
                        backoff.reset();
                        break;
                    }
                    Err(e @ (WriteError::TooLarge { .. } | WriteError::Rejected { .. })) => {
                        if rows.len() > 1 {
                            m.splits.inc();
                            let mid = range.start + rows.len() / 2;
                            queue.push_front(mid..range.end);
                            queue.push_front(range.start..mid);
                        } else {
                            let status = e.status().unwrap_or(400);
                            let message = match &e {
                                WriteError::TooLarge { message }
                                | WriteError::Rejected { message, .. } => message.clone(),
                                other => other.to_string(),
                            };
                            tracing::warn!(
                                status,
                                error = %message,
                                line = %rows[0].line,
                                "InfluxDB rejected a point; moved to outbox_dead_letters"
                            );
                            m.dead_letters.inc();
                            rejected.push(Rejection {
                                outbox_id: rows[0].id,
                                status,
                                error: message,
                            });
                        }
                        break;
                    }
                    Err(e) => {
                        m.retries.inc();
                        m.influx_down.set(1);
                        let retry_after = match &e {
                            WriteError::Unavailable { retry_after, .. } => *retry_after,
                            _ => None,
                        };
                        let delay = backoff.next(&self.publisher.options, retry_after);
                        // Log the first failures and then every 10th: an outage of hours
                        // must not flood the journal.
                        if failures_logged < 3 || failures_logged.is_multiple_of(10) {
                            tracing::warn!(
                                url = %self.publisher.client.write_url(),
                                error = %e,
                                retry_in = ?delay,
                                "InfluxDB write failed; points stay in the outbox"
                            );
                        }
                        failures_logged += 1;
                        // Sleep in slices, refreshing the gauges: during an outage the
                        // growing depth and age are exactly what the operator must see.
                        let until = tokio::time::Instant::now() + delay;
                        loop {
                            self.refresh_gauges().await;
                            let now = tokio::time::Instant::now();
                            if now >= until {
                                break;
                            }
                            tokio::select! {
                                _ = cancel.cancelled() => return None,
                                _ = tokio::time::sleep((until - now).min(GAUGE_REFRESH)) => {}
                            }
                        }
                    }
                }
            }
        }
        Some(rejected)
    }
}

fn body_of(rows: &[OutboxRow]) -> Vec<u8> {
    let len: usize = rows.iter().map(|r| r.line.len() + 1).sum();
    let mut body = Vec::with_capacity(len);
    for r in rows {
        body.extend_from_slice(r.line.as_bytes());
        body.push(b'\n');
    }
    body
}

/// Exponential backoff with jitter, reset after a success.
#[derive(Debug, Clone, Default)]
struct Backoff {
    attempt: u32,
}

impl Backoff {
    fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The next delay: min·2^attempt capped at max, ±25 % jitter (so many envwatch
    /// instances do not hammer a recovering Influx in lockstep), and never shorter than
    /// the server's Retry-After (itself capped).
    fn next(&mut self, o: &PublisherOptions, retry_after: Option<Duration>) -> Duration {
        let exp = o.backoff_min.saturating_mul(1u32 << self.attempt.min(20));
        self.attempt = self.attempt.saturating_add(1);
        let capped = exp.min(o.backoff_max);
        let jitter: f64 = 0.75 + rand::random::<f64>() * 0.5;
        let d = capped.mul_f64(jitter);
        match retry_after {
            Some(ra) => d.max(ra.min(o.max_retry_after)),
            None => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let o = PublisherOptions {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(60),
            ..PublisherOptions::default()
        };
        let mut b = Backoff::default();
        let d0 = b.next(&o, None);
        assert!(
            d0 >= Duration::from_millis(75) && d0 <= Duration::from_millis(125),
            "{d0:?}"
        );
        let d1 = b.next(&o, None);
        assert!(
            d1 >= Duration::from_millis(150) && d1 <= Duration::from_millis(250),
            "{d1:?}"
        );
        for _ in 0..10 {
            b.next(&o, None);
        }
        let capped = b.next(&o, None);
        assert!(capped <= Duration::from_millis(2500), "{capped:?}");
        assert_eq!(
            b.next(&o, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            b.next(&o, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
        b.reset();
        assert!(b.next(&o, None) <= Duration::from_millis(125));
    }
}

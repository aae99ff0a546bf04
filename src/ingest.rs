//! The ingest path: source -> decode -> validate -> bounded queue -> group-committing
//! store writer -> acknowledgement.
//!
//! - [`PipelineRuntime::process`] turns one payload into an [`Envelope`]: the valid
//!   readings plus, when anything was rejected, ONE dead letter carrying every reason.
//! - Sources send envelopes into a bounded `tokio::sync::mpsc` channel (capacity
//!   `store.queue_capacity`): when the store falls behind, sources wait (back-pressure to
//!   the broker), memory does not grow.
//! - [`spawn_writer`] runs on its own OS thread (rusqlite is blocking): it takes what is
//!   queued, up to `store.commit_max_readings` or `store.commit_interval`, commits it in one
//!   transaction, then runs the envelopes' `on_commit` callbacks in queue order (MQTT
//!   PUBACKs in receive order). A failed commit is retried; nothing is acked before it
//!   succeeds.
//! - [`run`] wires it all for the daemon and stops on a `CancellationToken`: sources stop
//!   taking messages, the writer commits what is queued, acks go out, then it returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::config::daemon::StoreSettings;
use crate::config::pipeline::{MinuteData, Pipeline, SourceSettings};
use crate::decode::{DecodeError, Decoder};
use crate::model::Reading;
use crate::sources::mqtt::{self, MqttRoute};
use crate::store::{Batch, DeadLetter, Store};
use crate::validate::Validator;

/// Called once the envelope's content is committed (sends the MQTT PUBACK, ...).
pub type OnCommit = Box<dyn FnOnce() + Send>;

/// Runs inside every commit transaction after the readings are written (the Influx
/// outbox enqueues the same readings here, atomically with them).
pub type CommitHook =
    Box<dyn FnMut(&Transaction<'_>, &[Reading]) -> anyhow::Result<()> + Send + 'static>;

/// Runs after every successful commit with the batch's readings (the daemon wakes the
/// judge here: after, not inside, the transaction, so the judge sees what woke it).
pub type AfterCommit = Box<dyn FnMut(&[Reading]) + Send + 'static>;

/// What one message becomes.
#[derive(Default)]
pub struct Envelope {
    pub readings: Vec<Reading>,
    pub dead_letter: Option<DeadLetter>,
    /// (source, cursor) to advance in the same transaction (HTTP sources).
    pub cursor: Option<(String, String)>,
    pub on_commit: Option<OnCommit>,
    /// The pipeline derives hours from its minute data (`minute_data = "derive-hour"`).
    pub derive_hours: bool,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("readings", &self.readings.len())
            .field("dead_letter", &self.dead_letter.as_ref().map(|d| &d.reason))
            .field("cursor", &self.cursor)
            .finish()
    }
}

/// Per-topic (or per-origin) counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TopicCounters {
    pub messages: u64,
    pub bytes: u64,
    pub readings: u64,
    pub dead_letters: u64,
    pub skipped_codes: u64,
}

/// Ingest counters, shared with the daemon's /metrics (which registers them later).
#[derive(Debug, Default)]
pub struct IngestMetrics {
    pub messages: AtomicU64,
    /// Readings in committed transactions that were new or changed.
    pub readings_committed: AtomicU64,
    /// Re-delivered readings identical to the stored ones.
    pub readings_unchanged: AtomicU64,
    pub dead_letters: AtomicU64,
    /// Factor codes skipped because envwatch does not know them.
    pub skipped_codes: AtomicU64,
    pub commits: AtomicU64,
    pub commit_errors: AtomicU64,
    pub acks_sent: AtomicU64,
    /// Acks for messages of an earlier connection (the broker re-delivers those).
    pub stale_acks_dropped: AtomicU64,
    pub connects: AtomicU64,
    pub connection_errors: AtomicU64,
    /// True once the broker confirmed our subscriptions on the current connection.
    pub subscribed: AtomicBool,
    pub per_topic: Mutex<HashMap<String, TopicCounters>>,
}

impl IngestMetrics {
    fn count(&self, key: &str, f: impl FnOnce(&mut TopicCounters)) {
        if let Ok(mut m) = self.per_topic.lock() {
            match m.get_mut(key) {
                Some(c) => f(c),
                None => f(m.entry(key.to_string()).or_default()),
            }
        }
    }

    /// Snapshot of the per-topic counters.
    pub fn topics(&self) -> Vec<(String, TopicCounters)> {
        let mut v: Vec<_> = self
            .per_topic
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// One pipeline's decode + validate step.
pub struct PipelineRuntime {
    pub name: String,
    decoder: Decoder,
    validator: Arc<Validator>,
    /// Payloads larger than this are dead-lettered unread (mqtt.max_packet_size).
    pub max_payload: usize,
    metrics: Arc<IngestMetrics>,
    /// `[decode] minute_data = "derive-hour"`.
    derive_hours: bool,
}

impl PipelineRuntime {
    pub fn new(
        name: impl Into<String>,
        decoder: Decoder,
        validator: Arc<Validator>,
        max_payload: usize,
        metrics: Arc<IngestMetrics>,
    ) -> PipelineRuntime {
        PipelineRuntime {
            name: name.into(),
            decoder,
            validator,
            max_payload,
            metrics,
            derive_hours: false,
        }
    }

    /// Derives hours from this pipeline's minute data (see [`crate::store::Batch`]).
    pub fn with_derive_hours(mut self, on: bool) -> PipelineRuntime {
        self.derive_hours = on;
        self
    }

    pub fn from_config(
        p: &Pipeline,
        config: &Config,
        validator: Arc<Validator>,
        metrics: Arc<IngestMetrics>,
    ) -> anyhow::Result<PipelineRuntime> {
        let max = config
            .daemon
            .mqtt
            .as_ref()
            .map_or(1 << 20, |m| m.max_packet_size);
        Ok(PipelineRuntime::new(
            p.name.clone(),
            Decoder::new(p, config)?,
            validator,
            max,
            metrics,
        )
        .with_derive_hours(p.decode.minute_data == MinuteData::DeriveHour))
    }

    /// Decodes and validates one payload from `origin` (`mqtt:topic`, ...). `key` names
    /// the per-topic counter (the topic).
    pub fn process(
        &self,
        payload: &[u8],
        origin: &str,
        key: &str,
        received_at: DateTime<Utc>,
    ) -> Envelope {
        self.metrics.messages.fetch_add(1, Ordering::Relaxed);
        let mut reasons: Vec<String> = Vec::new();
        let mut readings = Vec::new();
        let mut skipped = 0usize;
        let decoded = if payload.len() > self.max_payload {
            Err(DecodeError::TooLarge {
                size: payload.len(),
                limit: self.max_payload,
            })
        } else {
            self.decoder.decode(payload)
        };
        match decoded {
            Ok(d) => {
                skipped = d.skipped_codes;
                for e in d.rejected {
                    reasons.push(format!("{}: {e}", e.kind()));
                }
                for r in d.readings {
                    match self.validator.check(&r, received_at) {
                        Ok(()) => readings.push(r),
                        Err(rej) => reasons.push(format!("{}: {rej}", rej.kind())),
                    }
                }
            }
            Err(e) => reasons.push(format!("{}: {e}", e.kind())),
        }
        let dead_letter = (!reasons.is_empty())
            .then(|| DeadLetter::new(received_at, &self.name, origin, reasons.join("; "), payload));
        if let Some(d) = &dead_letter {
            tracing::debug!(pipeline = %self.name, origin, reason = %d.reason, "dead letter");
        }
        self.metrics
            .skipped_codes
            .fetch_add(skipped as u64, Ordering::Relaxed);
        let n = readings.len() as u64;
        let dead = u64::from(dead_letter.is_some());
        self.metrics.count(key, |c| {
            c.messages += 1;
            c.bytes += payload.len() as u64;
            c.readings += n;
            c.dead_letters += dead;
            c.skipped_codes += skipped as u64;
        });
        Envelope {
            readings,
            dead_letter,
            cursor: None,
            on_commit: None,
            derive_hours: self.derive_hours,
        }
    }
}

/// Starts the store writer thread. Returns the bounded queue's sender (clone it for each
/// source) and the thread handle, which yields the store back after every sender is
/// dropped and the last batch is committed.
pub fn spawn_writer(
    mut store: Store,
    settings: &StoreSettings,
    mut hook: Option<CommitHook>,
    mut after_commit: Option<AfterCommit>,
    metrics: Arc<IngestMetrics>,
    cancel: CancellationToken,
) -> (mpsc::Sender<Envelope>, std::thread::JoinHandle<Store>) {
    let (tx, mut rx) = mpsc::channel::<Envelope>(settings.queue_capacity.max(1));
    let max_readings = settings.commit_max_readings.max(1);
    let interval = settings.commit_interval;
    let handle = std::thread::Builder::new()
        .name("envwatch-store".into())
        .spawn(move || {
            let mut acks: Vec<OnCommit> = Vec::new();
            while let Some(first) = rx.blocking_recv() {
                let mut batch = Batch::default();
                let deadline = Instant::now() + interval;
                add(&mut batch, &mut acks, first);
                while batch.readings.len() < max_readings && Instant::now() < deadline {
                    match rx.try_recv() {
                        Ok(e) => add(&mut batch, &mut acks, e),
                        // Queue momentarily empty: commit now (group commit sizes itself
                        // to the load; waiting would only stall the broker's window).
                        Err(_) => break,
                    }
                }
                if commit_with_retry(&mut store, &batch, &mut hook, &metrics, &cancel) {
                    for ack in acks.drain(..) {
                        ack();
                    }
                    if let Some(after) = after_commit.as_mut() {
                        after(&batch.readings);
                    }
                } else {
                    // Gave up at shutdown: nothing acked, the broker re-delivers.
                    acks.clear();
                }
            }
            store
        })
        .unwrap_or_else(|e| panic!("cannot start the store writer thread: {e}"));
    (tx, handle)
}

fn add(batch: &mut Batch, acks: &mut Vec<OnCommit>, e: Envelope) {
    batch.add_readings(e.readings, e.derive_hours);
    if let Some(d) = e.dead_letter {
        batch.dead_letters.push(d);
    }
    if let Some(c) = e.cursor {
        batch.cursors.push(c);
    }
    if let Some(a) = e.on_commit {
        acks.push(a);
    }
}

/// Commits, retrying with backoff on errors (disk full, locked). Returns false only if
/// shutdown was requested and the commit still fails.
fn commit_with_retry(
    store: &mut Store,
    batch: &Batch,
    hook: &mut Option<CommitHook>,
    metrics: &IngestMetrics,
    cancel: &CancellationToken,
) -> bool {
    let mut backoff = Duration::from_millis(50);
    let mut attempts_after_cancel = 0;
    loop {
        let res = store.commit_batch(batch, |tx, readings| match hook.as_mut() {
            Some(h) => h(tx, readings),
            None => Ok(()),
        });
        match res {
            Ok(stats) => {
                metrics.commits.fetch_add(1, Ordering::Relaxed);
                metrics
                    .readings_committed
                    .fetch_add(stats.changed as u64, Ordering::Relaxed);
                metrics
                    .readings_unchanged
                    .fetch_add(stats.unchanged as u64, Ordering::Relaxed);
                metrics
                    .dead_letters
                    .fetch_add(stats.dead_letters as u64, Ordering::Relaxed);
                return true;
            }
            Err(e) => {
                metrics.commit_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    error = %format!("{e:#}"),
                    readings = batch.readings.len(),
                    "store commit failed; retrying (nothing is acknowledged until it succeeds)"
                );
                if cancel.is_cancelled() {
                    attempts_after_cancel += 1;
                    if attempts_after_cancel >= 3 {
                        return false;
                    }
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Options of [`run`] beyond the config.
#[derive(Default)]
pub struct IngestOptions {
    /// Runs in every commit transaction (the Influx outbox).
    pub commit_hook: Option<CommitHook>,
}

/// Runs every enabled MQTT pipeline of `config` into `store` until `cancel` fires, then
/// flushes: commits what is queued, sends the acks, disconnects. Returns the store.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    opts: IngestOptions,
    metrics: Arc<IngestMetrics>,
    cancel: CancellationToken,
) -> anyhow::Result<Store> {
    let validator = Arc::new(Validator::from_config(&config));
    let mut routes = Vec::new();
    for p in config.pipelines.iter().filter(|p| p.enabled) {
        if let SourceSettings::Mqtt(m) = &p.source {
            let rt = Arc::new(PipelineRuntime::from_config(
                p,
                &config,
                validator.clone(),
                metrics.clone(),
            )?);
            for t in &m.topics {
                routes.push(MqttRoute {
                    filter: t.clone(),
                    pipeline: rt.clone(),
                });
            }
        }
    }
    let writer_cancel = cancel.clone();
    let (tx, writer) = spawn_writer(
        store,
        &config.daemon.store,
        opts.commit_hook,
        None,
        metrics.clone(),
        writer_cancel,
    );
    let mut result = Ok(());
    if !routes.is_empty() {
        let settings = config.daemon.mqtt.clone().unwrap_or_default();
        result = mqtt::run(settings, routes, tx, metrics.clone(), cancel.clone()).await;
    } else {
        tracing::warn!("no enabled MQTT pipeline: ingest has nothing to subscribe to");
        cancel.cancelled().await;
        drop(tx);
    }
    let store = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| anyhow::anyhow!("store writer task: {e}"))?
        .map_err(|_| anyhow::anyhow!("store writer thread panicked"))?;
    result.map(|()| store)
}

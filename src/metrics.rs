//! The daemon's Prometheus metrics: one [`Metrics`] value, shared as `Arc<Metrics>`,
//! whose fields are the metric families other modules update, and [`Metrics::encode`]
//! for `GET /metrics`.
//!
//! Every family is registered once, here, with its help text, so the list of what
//! envwatch exports is in one place (and in docs/operations.md). All names carry the
//! `envwatch_` prefix; counters get `_total` and unit-bearing families their unit
//! suffix from the encoder (OpenMetrics text, which Prometheus and VictoriaMetrics scrape).
//!
//! Per-pipeline counters are also kept as plain totals ([`PipelineCounters`]) so that
//! `/api/status` can show them without parsing our own exposition: count readings
//! through the `record_*` methods rather than the families directly, and both stay equal.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;

/// The content type of [`Metrics::encode`]'s output (OpenMetrics text 1.0).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `{pipeline}`: the feed's name from `pipelines/*.toml`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabel {
    pub pipeline: String,
}

/// `{pipeline, topic}`: where a message came from (MQTT topic, URL, file name).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    pub pipeline: String,
    pub topic: String,
}

/// `{pipeline, reason}`: why a reading was refused (validation's reason code, e.g.
/// `unknown_site`, `out_of_range`, `future`). Keep reasons a short fixed vocabulary:
/// every distinct value is a time series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub pipeline: String,
    pub reason: String,
}

/// `{queue}`: a bounded channel between two stages (e.g. `ingest`, `judge`, `alert`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

/// What happened to one Influx write request.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum BatchOutcome {
    /// 2xx: every point stored.
    Written,
    /// 5xx, 429, timeout or connection error: the batch stays in the outbox and is retried.
    Retried,
    /// 4xx other than 429 (e.g. a field type conflict): the bad points are isolated.
    Rejected,
}

impl BatchOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchOutcome::Written => "written",
            BatchOutcome::Retried => "retried",
            BatchOutcome::Rejected => "rejected",
        }
    }
}

/// `{outcome}` of an Influx write.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

/// Which judgement ran.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum JudgeKind {
    Air,
    Water,
}

impl JudgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JudgeKind::Air => "air",
            JudgeKind::Water => "water",
        }
    }
}

/// `{kind}` of a judge run.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JudgeLabel {
    pub kind: String,
}

/// `{rule, channel}` of an alert notification.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    pub rule: String,
    pub channel: String,
}

/// `{version}` of the running binary.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabel {
    pub version: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, 1 ms .. ~33 s: SQLite commits (ms) and judge runs (up to seconds).
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Totals for one pipeline, as `/api/status` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PipelineCounters {
    pub messages: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub dead_letters: u64,
}

#[derive(Debug, Default)]
struct PipelineTotals {
    messages: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    dead_letters: AtomicU64,
}

/// Every metric family of the daemon. Create one with [`Metrics::new`], wrap it in an
/// `Arc`, hand clones to each task.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    totals: RwLock<BTreeMap<String, Arc<PipelineTotals>>>,

    /// `envwatch_messages_total{pipeline,topic}`: raw messages a source delivered.
    pub messages: Family<TopicLabels, Counter>,
    /// `envwatch_readings_accepted_total{pipeline}`: readings validated and committed.
    pub readings_accepted: Family<PipelineLabel, Counter>,
    /// `envwatch_readings_rejected_total{pipeline,reason}`: readings refused by validation.
    pub readings_rejected: Family<RejectLabels, Counter>,
    /// `envwatch_dead_letters_total{pipeline}`: messages stored as dead letters
    /// (undecodable, or with no valid reading).
    pub dead_letters: Family<PipelineLabel, Counter>,
    /// `envwatch_source_connected{pipeline}`: 1 while the source is connected/subscribed.
    pub source_connected: Family<PipelineLabel, Gauge>,
    /// `envwatch_queue_depth{queue}`: items waiting in a bounded queue.
    pub queue_depth: Family<QueueLabel, Gauge>,
    /// `envwatch_store_commit_duration_seconds`: one SQLite transaction (group commit).
    pub store_commit_duration: Histogram,
    /// `envwatch_store_commit_readings`: readings per commit (group-commit efficiency).
    pub store_commit_readings: Histogram,
    /// `envwatch_outbox_points`: points waiting to be written to Influx.
    pub outbox_points: Gauge,
    /// `envwatch_outbox_oldest_age_seconds`: age of the oldest waiting point (0 when empty).
    pub outbox_oldest_age: Gauge<f64, AtomicU64>,
    /// `envwatch_influx_points_written_total`: points Influx acknowledged.
    pub influx_points_written: Counter,
    /// `envwatch_influx_batches_total{outcome}`: write requests by outcome.
    pub influx_batches: Family<OutcomeLabel, Counter>,
    /// `envwatch_influx_retries_total`: write attempts repeated after a failure.
    pub influx_retries: Counter,
    /// `envwatch_judge_run_duration_seconds{kind}`: one air or water judgement pass.
    pub judge_run_duration: HistogramFamily<JudgeLabel>,
    /// `envwatch_alerts_sent_total{rule,channel}`: notifications delivered.
    pub alerts_sent: Family<AlertLabels, Counter>,
    /// `envwatch_alert_failures_total{rule,channel}`: notifications a channel refused.
    pub alert_failures: Family<AlertLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every family (all at zero; labelled series appear on first use or on
    /// [`Metrics::register_pipeline`]).
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("envwatch");
        let m = Metrics {
            registry: Registry::default(),
            totals: RwLock::new(BTreeMap::new()),
            messages: Family::default(),
            readings_accepted: Family::default(),
            readings_rejected: Family::default(),
            dead_letters: Family::default(),
            source_connected: Family::default(),
            queue_depth: Family::default(),
            store_commit_duration: duration_histogram(),
            store_commit_readings: Histogram::new(exponential_buckets(1.0, 4.0, 9)),
            outbox_points: Gauge::default(),
            outbox_oldest_age: Gauge::default(),
            influx_points_written: Counter::default(),
            influx_batches: Family::default(),
            influx_retries: Counter::default(),
            judge_run_duration: Family::new_with_constructor(duration_histogram),
            alerts_sent: Family::default(),
            alert_failures: Family::default(),
        };
        let build: Family<BuildLabel, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabel {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("build_info", "Version of the running envwatch", build);
        registry.register(
            "messages",
            "Messages delivered by a source, per pipeline and topic",
            m.messages.clone(),
        );
        registry.register(
            "readings_accepted",
            "Readings validated and committed to the store",
            m.readings_accepted.clone(),
        );
        registry.register(
            "readings_rejected",
            "Readings refused by validation, per reason",
            m.readings_rejected.clone(),
        );
        registry.register(
            "dead_letters",
            "Messages kept as dead letters (undecodable or without a valid reading)",
            m.dead_letters.clone(),
        );
        registry.register(
            "source_connected",
            "1 while a pipeline's source is connected and subscribed",
            m.source_connected.clone(),
        );
        registry.register(
            "queue_depth",
            "Items waiting in a bounded queue between stages",
            m.queue_depth.clone(),
        );
        registry.register_with_unit(
            "store_commit_duration",
            "Duration of one store transaction (group commit)",
            Unit::Seconds,
            m.store_commit_duration.clone(),
        );
        registry.register(
            "store_commit_readings",
            "Readings written per store transaction",
            m.store_commit_readings.clone(),
        );
        registry.register(
            "outbox_points",
            "Points waiting in the outbox for InfluxDB",
            m.outbox_points.clone(),
        );
        registry.register_with_unit(
            "outbox_oldest_age",
            "Age of the oldest point waiting in the outbox (0 when empty)",
            Unit::Seconds,
            m.outbox_oldest_age.clone(),
        );
        registry.register(
            "influx_points_written",
            "Points acknowledged by InfluxDB",
            m.influx_points_written.clone(),
        );
        registry.register(
            "influx_batches",
            "InfluxDB write requests by outcome (written, retried, rejected)",
            m.influx_batches.clone(),
        );
        registry.register(
            "influx_retries",
            "InfluxDB write attempts repeated after a failure",
            m.influx_retries.clone(),
        );
        registry.register_with_unit(
            "judge_run_duration",
            "Duration of one judgement pass (air or water)",
            Unit::Seconds,
            m.judge_run_duration.clone(),
        );
        registry.register(
            "alerts_sent",
            "Alert notifications delivered, per rule and channel",
            m.alerts_sent.clone(),
        );
        registry.register(
            "alert_failures",
            "Alert notifications a channel failed to deliver, per rule and channel",
            m.alert_failures.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The exposition for `GET /metrics` (OpenMetrics text, ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail; an Err here would be a bug in the encoder,
        // and an empty scrape is the honest answer to it.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Declares a pipeline so its series exist (at 0) before the first message, and
    /// `/api/status` lists it. Idempotent; called by the run loop for every enabled feed.
    pub fn register_pipeline(&self, pipeline: &str) {
        let label = PipelineLabel {
            pipeline: pipeline.to_string(),
        };
        let _ = self.readings_accepted.get_or_create(&label);
        let _ = self.dead_letters.get_or_create(&label);
        let _ = self.source_connected.get_or_create(&label);
        self.totals_for(pipeline);
    }

    /// A message arrived from `topic` (MQTT topic, URL, or file) on `pipeline`.
    pub fn record_message(&self, pipeline: &str, topic: &str) {
        self.messages
            .get_or_create(&TopicLabels {
                pipeline: pipeline.to_string(),
                topic: topic.to_string(),
            })
            .inc();
        self.totals_for(pipeline)
            .messages
            .fetch_add(1, Ordering::Relaxed);
    }

    /// `n` readings of `pipeline` were committed.
    pub fn record_accepted(&self, pipeline: &str, n: u64) {
        self.readings_accepted
            .get_or_create(&PipelineLabel {
                pipeline: pipeline.to_string(),
            })
            .inc_by(n);
        self.totals_for(pipeline)
            .accepted
            .fetch_add(n, Ordering::Relaxed);
    }

    /// A reading of `pipeline` was refused for `reason` (a short code, see [`RejectLabels`]).
    pub fn record_rejected(&self, pipeline: &str, reason: &str) {
        self.readings_rejected
            .get_or_create(&RejectLabels {
                pipeline: pipeline.to_string(),
                reason: reason.to_string(),
            })
            .inc();
        self.totals_for(pipeline)
            .rejected
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A message of `pipeline` was stored as a dead letter.
    pub fn record_dead_letter(&self, pipeline: &str) {
        self.dead_letters
            .get_or_create(&PipelineLabel {
                pipeline: pipeline.to_string(),
            })
            .inc();
        self.totals_for(pipeline)
            .dead_letters
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The source of `pipeline` connected (true) or lost its connection (false).
    pub fn set_source_connected(&self, pipeline: &str, connected: bool) {
        self.source_connected
            .get_or_create(&PipelineLabel {
                pipeline: pipeline.to_string(),
            })
            .set(i64::from(connected));
    }

    /// Current depth of the queue named `queue`.
    pub fn set_queue_depth(&self, queue: &str, depth: usize) {
        self.queue_depth
            .get_or_create(&QueueLabel {
                queue: queue.to_string(),
            })
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// One store commit of `readings` readings took `took`.
    pub fn observe_commit(&self, took: Duration, readings: usize) {
        self.store_commit_duration.observe(took.as_secs_f64());
        self.store_commit_readings.observe(readings as f64);
    }

    /// The outbox holds `points`, the oldest waiting for `oldest_age`.
    pub fn set_outbox(&self, points: u64, oldest_age: Option<Duration>) {
        self.outbox_points
            .set(i64::try_from(points).unwrap_or(i64::MAX));
        self.outbox_oldest_age
            .set(oldest_age.map_or(0.0, |d| d.as_secs_f64()));
    }

    /// One Influx write request ended with `outcome`, carrying `points` points.
    pub fn record_influx_batch(&self, outcome: BatchOutcome, points: u64) {
        self.influx_batches
            .get_or_create(&OutcomeLabel {
                outcome: outcome.as_str().to_string(),
            })
            .inc();
        match outcome {
            BatchOutcome::Written => {
                self.influx_points_written.inc_by(points);
            }
            BatchOutcome::Retried => {
                self.influx_retries.inc();
            }
            BatchOutcome::Rejected => {}
        }
    }

    /// A judgement pass of `kind` took `took`.
    pub fn observe_judge_run(&self, kind: JudgeKind, took: Duration) {
        self.judge_run_duration
            .get_or_create(&JudgeLabel {
                kind: kind.as_str().to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// An alert of `rule` went out (or failed to) on `channel`.
    pub fn record_alert(&self, rule: &str, channel: &str, delivered: bool) {
        let labels = AlertLabels {
            rule: rule.to_string(),
            channel: channel.to_string(),
        };
        if delivered {
            self.alerts_sent.get_or_create(&labels).inc();
        } else {
            self.alert_failures.get_or_create(&labels).inc();
        }
    }

    /// Totals per pipeline, for `/api/status`, in name order.
    pub fn pipeline_counters(&self) -> BTreeMap<String, PipelineCounters> {
        let map = match self.totals.read() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.iter()
            .map(|(name, t)| {
                (
                    name.clone(),
                    PipelineCounters {
                        messages: t.messages.load(Ordering::Relaxed),
                        accepted: t.accepted.load(Ordering::Relaxed),
                        rejected: t.rejected.load(Ordering::Relaxed),
                        dead_letters: t.dead_letters.load(Ordering::Relaxed),
                    },
                )
            })
            .collect()
    }

    fn totals_for(&self, pipeline: &str) -> Arc<PipelineTotals> {
        // Read lock on the hot path; the write lock is taken once per new pipeline.
        {
            let map = match self.totals.read() {
                Ok(m) => m,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(t) = map.get(pipeline) {
                return Arc::clone(t);
            }
        }
        let mut map = match self.totals.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(map.entry(pipeline.to_string()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line that starts with `prefix` (name + labels).
    fn sample(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn every_family_is_exported_with_help_type_and_suffix() {
        let m = Metrics::new();
        // Labelled families appear once they have a series: give each one.
        m.register_pipeline("p");
        m.record_message("p", "t");
        m.record_rejected("p", "out_of_range");
        m.set_queue_depth("ingest", 3);
        m.record_influx_batch(BatchOutcome::Rejected, 1);
        m.observe_judge_run(JudgeKind::Water, Duration::from_millis(40));
        m.record_alert("inferior_v", "dingtalk", true);
        m.record_alert("inferior_v", "wecom", false);
        let text = m.encode();
        for (name, kind) in [
            ("envwatch_build_info", "gauge"),
            ("envwatch_messages", "counter"),
            ("envwatch_readings_accepted", "counter"),
            ("envwatch_readings_rejected", "counter"),
            ("envwatch_dead_letters", "counter"),
            ("envwatch_source_connected", "gauge"),
            ("envwatch_queue_depth", "gauge"),
            ("envwatch_store_commit_duration_seconds", "histogram"),
            ("envwatch_store_commit_readings", "histogram"),
            ("envwatch_outbox_points", "gauge"),
            ("envwatch_outbox_oldest_age_seconds", "gauge"),
            ("envwatch_influx_points_written", "counter"),
            ("envwatch_influx_batches", "counter"),
            ("envwatch_influx_retries", "counter"),
            ("envwatch_judge_run_duration_seconds", "histogram"),
            ("envwatch_alerts_sent", "counter"),
            ("envwatch_alert_failures", "counter"),
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n")),
                "missing TYPE line for {name} ({kind}) in:\n{text}"
            );
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "missing HELP for {name}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn record_methods_update_families_and_status_totals_alike() {
        let m = Metrics::new();
        m.register_pipeline("air-hj212-mqtt");
        m.register_pipeline("water-hj212-mqtt");
        m.record_message("air-hj212-mqtt", "envwatch/air/330110001");
        m.record_message("air-hj212-mqtt", "envwatch/air/330110001");
        m.record_accepted("air-hj212-mqtt", 6);
        m.record_rejected("air-hj212-mqtt", "out_of_range");
        m.record_rejected("air-hj212-mqtt", "unknown_site");
        m.record_rejected("air-hj212-mqtt", "unknown_site");
        m.record_dead_letter("water-hj212-mqtt");
        m.record_influx_batch(BatchOutcome::Written, 5000);
        m.record_influx_batch(BatchOutcome::Retried, 5000);
        m.set_outbox(120, Some(Duration::from_millis(2500)));
        m.observe_commit(Duration::from_millis(3), 40);

        let text = m.encode();
        let air = "{pipeline=\"air-hj212-mqtt\"";
        assert_eq!(
            sample(
                &text,
                "envwatch_messages_total{pipeline=\"air-hj212-mqtt\",topic=\"envwatch/air/330110001\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, &format!("envwatch_readings_accepted_total{air}}}")),
            Some(6.0)
        );
        assert_eq!(
            sample(
                &text,
                &format!("envwatch_readings_rejected_total{air},reason=\"unknown_site\"}}")
            ),
            Some(2.0)
        );
        // Registered but idle pipelines are exported at zero.
        assert_eq!(
            sample(
                &text,
                "envwatch_readings_accepted_total{pipeline=\"water-hj212-mqtt\"}"
            ),
            Some(0.0)
        );
        assert_eq!(
            sample(&text, "envwatch_influx_points_written_total"),
            Some(5000.0)
        );
        assert_eq!(sample(&text, "envwatch_influx_retries_total"), Some(1.0));
        assert_eq!(sample(&text, "envwatch_outbox_points"), Some(120.0));
        assert_eq!(
            sample(&text, "envwatch_outbox_oldest_age_seconds"),
            Some(2.5)
        );
        assert_eq!(
            sample(&text, "envwatch_store_commit_duration_seconds_count"),
            Some(1.0)
        );
        // 3 ms falls in the 0.004 s bucket (1, 2, 4 ms ...), not in the 0.002 one.
        assert_eq!(
            sample(
                &text,
                "envwatch_store_commit_duration_seconds_bucket{le=\"0.002\"}"
            ),
            Some(0.0)
        );
        assert_eq!(
            sample(
                &text,
                "envwatch_store_commit_duration_seconds_bucket{le=\"0.004\"}"
            ),
            Some(1.0)
        );

        let totals = m.pipeline_counters();
        assert_eq!(
            totals["air-hj212-mqtt"],
            PipelineCounters {
                messages: 2,
                accepted: 6,
                rejected: 3,
                dead_letters: 0
            }
        );
        assert_eq!(totals["water-hj212-mqtt"].dead_letters, 1);
        assert_eq!(totals.len(), 2);
    }
}

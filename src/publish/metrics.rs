//! The publisher's metrics. Counters and gauges are prometheus-client types (atomics
//! behind `Arc`s): the publisher updates its clone, the daemon registers another clone
//! in its `/metrics` registry with [`PublishMetrics::register`], tests read them directly.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Everything an operator needs to see whether Influx keeps up.
#[derive(Debug, Clone, Default)]
pub struct PublishMetrics {
    /// Points the server accepted (2xx).
    pub points_written: Counter,
    /// Write requests that succeeded (2xx).
    pub batches_written: Counter,
    /// Write attempts that failed and were retried (network errors, 5xx, 429, auth, ...).
    pub retries: Counter,
    /// Batches split in two because the server said 413 or rejected their content.
    pub splits: Counter,
    /// Points the server rejected (400/422) and that were moved to dead letters.
    pub dead_letters: Counter,
    /// Points not queued because the outbox was full (cumulative, persisted in the store).
    pub outbox_dropped: Gauge,
    /// Points waiting in the outbox.
    pub outbox_depth: Gauge,
    /// Age of the oldest waiting point, seconds (0 when empty).
    pub outbox_age_seconds: Gauge<f64, AtomicU64>,
    /// Configured bound of the outbox, for "fill ratio" alerts.
    pub outbox_capacity: Gauge,
    /// 1 while the last write attempt failed (Influx unreachable or refusing), else 0.
    pub influx_down: Gauge,
}

impl PublishMetrics {
    /// Registers every metric under `envwatch_influx_*` / `envwatch_outbox_*`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "envwatch_influx_points_written",
            "Points accepted by InfluxDB",
            self.points_written.clone(),
        );
        registry.register(
            "envwatch_influx_batches_written",
            "Write requests accepted by InfluxDB",
            self.batches_written.clone(),
        );
        registry.register(
            "envwatch_influx_retries",
            "Write attempts that failed and were retried",
            self.retries.clone(),
        );
        registry.register(
            "envwatch_influx_splits",
            "Batches split because of 413 or rejected points",
            self.splits.clone(),
        );
        registry.register(
            "envwatch_influx_dead_letters",
            "Points rejected by InfluxDB and moved to outbox_dead_letters",
            self.dead_letters.clone(),
        );
        registry.register(
            "envwatch_outbox_dropped_points",
            "Points refused because the outbox was full (cumulative)",
            self.outbox_dropped.clone(),
        );
        registry.register(
            "envwatch_outbox_depth_points",
            "Points waiting in the outbox",
            self.outbox_depth.clone(),
        );
        registry.register(
            "envwatch_outbox_age_seconds",
            "Age of the oldest point waiting in the outbox",
            self.outbox_age_seconds.clone(),
        );
        registry.register(
            "envwatch_outbox_capacity_points",
            "Configured maximum number of points in the outbox",
            self.outbox_capacity.clone(),
        );
        registry.register(
            "envwatch_influx_down",
            "1 while writes to InfluxDB fail",
            self.influx_down.clone(),
        );
    }
}

//! Publishing to InfluxDB: every reading and every judgement reaches Influx, across
//! Influx outages, exactly as the store has it.
//!
//! - [`line_protocol`]: the [`Point`] type and its exact encoding;
//! - [`schema`]: builders for the DESIGN.md measurements (fixed field types);
//! - [`outbox`]: the durable queue in the store's SQLite file, filled in the store's
//!   commit transaction ([`outbox::enqueue`]);
//! - [`influx`]: the HTTP client (v1 `/write`, v2 `/api/v2/write`, probe);
//! - [`publisher`]: the task draining the outbox in order with retry, split and bisect;
//! - [`metrics`]: counters and gauges for `/metrics`.
//!
//! Daemon wiring: `outbox::init_schema(conn, max)` in the store's migrations;
//! `outbox::enqueue(&tx, &points)` inside the store's commit; then
//! `Publisher::from_settings(&influx, db_path)?`, register `publisher.metrics()`, give
//! `publisher.waker()` to the store, `tokio::spawn(publisher.run(cancel))`.

pub mod influx;
pub mod line_protocol;
pub mod metrics;
pub mod outbox;
pub mod publisher;
pub mod schema;

pub use influx::{InfluxClient, InfluxTarget, ProbeError, ProbeOk, WriteError};
pub use line_protocol::{FieldValue, Point, PointError};
pub use metrics::PublishMetrics;
pub use publisher::{PublishError, Publisher, PublisherOptions};

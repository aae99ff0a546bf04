//! envwatch: takes air and water readings from monitoring stations, keeps them safely,
//! judges them against China's national standards (HJ 633 / HJ 663 AQI, GB 3838 water
//! classes) and shows whether a district meets its targets.
//!
//! Data flow (docs/architecture.md): `sources` -> `decode` -> `store` -> `judge` ->
//! `publish` / `alert`, with `serve` exposing health and metrics.

pub mod alert;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod decode;
#[cfg(feature = "demo")]
pub mod demo;
pub mod ingest;
pub mod judge;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod publish;
pub mod report;
pub mod serve;
pub mod shutdown;
pub mod sources;
pub mod standards;
pub mod store;
pub mod systemd;
pub mod validate;

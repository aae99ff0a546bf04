//! Built-in benchmarks on generated data (`envwatch bench WHAT`).

pub mod air;
pub mod influx;
pub mod ingest;
pub mod report;
pub mod water;

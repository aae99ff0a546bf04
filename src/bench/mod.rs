//! Built-in benchmarks on generated data (`envwatch bench WHAT`).

pub mod air;
pub mod ingest;
pub mod water;

//! Built-in benchmarks on generated data (`envwatch bench WHAT`).

pub mod ingest;

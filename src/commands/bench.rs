//! `envwatch bench WHAT`: built-in benchmarks (performance is measured here, never in
//! timed unit tests). Each benchmark lives next to what it measures (`src/bench/`,
//! `src/alert/bench.rs`); this only dispatches.

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::BenchArgs;

const KNOWN: &str = "air, alerts, alert-e2e, e2e, influx, ingest, report, store, water";

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what.as_str() {
        "air" => crate::bench::air::run(&args.args),
        "alerts" => crate::alert::bench::run(&args.args),
        "alert-e2e" => crate::bench::alert_e2e::run(&args.args),
        "e2e" => crate::bench::e2e::run(&args.args),
        "influx" => crate::bench::influx::run(&args.args),
        "ingest" => crate::bench::ingest::run(&args.args),
        "report" => crate::bench::report::run(&args.args),
        "store" => crate::bench::store::run(&args.args),
        "water" => crate::bench::water::run(&args.args),
        other => bail!("unknown benchmark \"{other}\" (known: {KNOWN})"),
    }
}

//! `envwatch bench WHAT`: built-in benchmarks (performance lives here, never in tests).

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::BenchArgs;

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what.as_str() {
        "alerts" => crate::alert::bench::run(&args.args),
        other => bail!("unknown benchmark \"{other}\" (known: alerts)"),
    }
}

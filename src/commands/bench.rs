//! `envwatch bench WHAT`: built-in benchmarks (performance is measured here, never in
//! timed unit tests).

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::BenchArgs;

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what.as_str() {
        "ingest" => bail!("bench ingest: not yet"),
        other => bail!("unknown benchmark \"{other}\" (known: ingest)"),
    }
}

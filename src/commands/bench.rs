//! `envwatch bench WHAT`: built-in benchmarks (performance is measured here, never in
//! timed unit tests).

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::BenchArgs;

const KNOWN: &str = "alerts";

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what.as_str() {
        "alerts" => crate::alert::bench::run(&args.args),
        other => bail!("unknown benchmark \"{other}\" (known: {KNOWN})"),
    }
}

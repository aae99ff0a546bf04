//! `envwatch bench WHAT [ARGS]`: built-in benchmarks on generated data. One arm per area;
//! each lives in its own file so they can be merged independently.

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::BenchArgs;

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what.as_str() {
        "influx" => super::bench_influx::run(&args.args),
        other => bail!("unknown benchmark {other:?} (available: influx)"),
    }
}

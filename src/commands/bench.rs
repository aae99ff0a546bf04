//! `envwatch bench WHAT`: built-in benchmarks on generated data. One submodule per WHAT.

mod air;

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::BenchArgs;

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what.as_str() {
        "air" => air::run(&args.args),
        other => bail!("unknown benchmark \"{other}\""),
    }
}

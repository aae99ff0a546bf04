//! One handler per subcommand. Handlers return an exit code; errors become a message.

mod bench;
mod bench_influx;
mod check_config;

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::{AirCommand, AlertsCommand, Cli, Command, Hj212Command, WaterCommand};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::CheckConfig(args) => check_config::run(&args),
        Command::Run(_) => not_yet("run", 9),
        Command::Demo(_) => not_yet("demo", 9),
        Command::Backfill(_) => not_yet("backfill", 7),
        Command::Report(_) => not_yet("report", 11),
        Command::Air(AirCommand::Daily(_)) => not_yet("air daily", 4),
        Command::Air(AirCommand::Ratio(_)) => not_yet("air ratio", 4),
        Command::Water(WaterCommand::Classify(_)) => not_yet("water classify", 5),
        Command::Hj212(Hj212Command::Decode(_)) => not_yet("hj212 decode", 6),
        Command::Alerts(AlertsCommand::List(_) | AlertsCommand::Test(_)) => not_yet("alerts", 10),
        Command::Bench(args) => bench::run(&args),
    }
}

fn not_yet(what: &str, issue: u32) -> anyhow::Result<ExitCode> {
    bail!("`envwatch {what}` is not implemented yet (tracked in issue #{issue})")
}

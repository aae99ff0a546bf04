//! One handler per subcommand. Handlers return an exit code; errors become a message.

mod air;
mod alerts;
mod backfill;
mod bench;
mod check_config;
mod demo;
mod hj212;
mod ingest;
mod report;
mod run;
mod water;

use std::process::ExitCode;

use crate::cli::{AirCommand, AlertsCommand, Cli, Command, Hj212Command, WaterCommand};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::CheckConfig(args) => check_config::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Backfill(args) => backfill::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Air(AirCommand::Daily(args)) => air::daily(&args),
        Command::Air(AirCommand::Ratio(args)) => air::ratio(&args),
        Command::Water(WaterCommand::Classify(args)) => water::classify(&args),
        Command::Hj212(Hj212Command::Decode(args)) => hj212::run(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Alerts(AlertsCommand::List(args)) => alerts::list(&args),
        Command::Alerts(AlertsCommand::Test(args)) => alerts::test(&args),
        Command::Bench(args) => bench::run(&args),
    }
}

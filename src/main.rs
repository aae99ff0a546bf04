//! Thin entry point over the library (mini-redis style): parse the command line, set up
//! logging, run the command, turn its error into a message and an exit status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = envwatch::cli::Cli::parse();
    if let Err(e) = envwatch::logging::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("envwatch: cannot set up logging: {e}");
        return ExitCode::from(2);
    }
    match envwatch::commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("envwatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

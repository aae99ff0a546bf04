//! `envwatch run`: the daemon (see [`crate::daemon`]).

use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::RunArgs;
use crate::config::Config;
use crate::daemon::{self, DaemonOptions};
use crate::shutdown::{Shutdown, install_signal_handlers};

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let dir = args.config.dir();
    let config = match Config::load(&dir) {
        Ok(c) => Arc::new(c),
        Err(diags) => {
            for d in diags.iter() {
                eprintln!("{d}");
            }
            eprintln!(
                "{}: {} configuration problem(s); not starting",
                dir.display(),
                diags.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let shutdown = Shutdown::new();
        let reloads = install_signal_handlers(&shutdown)?;
        let opts = DaemonOptions {
            config_dir: Some(dir),
            ..DaemonOptions::default()
        };
        let report = daemon::run(config, opts, shutdown, Some(reloads)).await?;
        tracing::info!(
            messages = report.messages,
            readings = report.readings_committed,
            dead_letters = report.dead_letters,
            "envwatch stopped cleanly"
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

//! `envwatch check-config`: load everything, report every problem, exit 0 or 1.

use std::process::ExitCode;

use crate::cli::CheckConfigArgs;
use crate::config::Config;

pub fn run(args: &CheckConfigArgs) -> anyhow::Result<ExitCode> {
    let dir = args.config.dir();
    match Config::load(&dir) {
        Ok(cfg) => {
            println!(
                "{}: OK — {} stations, {} sections ({} drinking-water sources), {} pipelines",
                dir.display(),
                cfg.stations.len(),
                cfg.sections.len(),
                cfg.sections.iter().filter(|s| s.drinking_source).count(),
                cfg.pipelines.len()
            );
            if args.probe {
                anyhow::bail!("--probe is not implemented yet (tracked in issue #8)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            for d in diags.iter() {
                println!("{d}");
            }
            println!("{}: {} problem(s) found", dir.display(), diags.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

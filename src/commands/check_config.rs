//! `envwatch check-config`: load everything, report every problem, exit 0 or 1.
//! With `--probe`, also ask the configured servers whether they will work.

use std::process::ExitCode;

use crate::cli::CheckConfigArgs;
use crate::config::Config;
use crate::publish::{InfluxClient, InfluxTarget};

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
            if args.probe && !probe(&cfg)? {
                return Ok(ExitCode::FAILURE);
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

/// Probes every configured server; prints one line per server. `true` when all answer.
fn probe(cfg: &Config) -> anyhow::Result<bool> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut ok = true;
    match &cfg.daemon.influx {
        Some(influx) if influx.enabled => {
            let result = InfluxTarget::from_settings(influx)
                .map_err(|e| e.to_string())
                .and_then(|t| InfluxClient::new(t).map_err(|e| e.to_string()))
                .and_then(|c| rt.block_on(c.probe()).map_err(|e| e.to_string()));
            match result {
                Ok(p) => println!("influx: OK — {} at {}: {}", p.server, influx.url, p.detail),
                Err(e) => {
                    println!("influx: PROBLEM — {e}");
                    ok = false;
                }
            }
        }
        Some(_) => println!("influx: disabled (influx.enabled = false)"),
        None => println!("influx: not configured (no [influx] section)"),
    }
    if cfg.daemon.mqtt.is_some() {
        // TODO(issue #9): connect to the broker with the configured credentials.
        println!("mqtt: probe not implemented yet (issue #9)");
    }
    Ok(ok)
}

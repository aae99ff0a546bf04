//! `envwatch ingest` (hidden): only the ingest path of the daemon (MQTT pipelines ->
//! store), until SIGTERM/SIGINT. Used by the crash tests (SIGKILL at random moments) and
//! for debugging a feed. Prints `ready` on stdout once the broker confirmed the
//! subscriptions, and a summary on exit.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::config::Config;
use crate::ingest::{self, IngestMetrics, IngestOptions};
use crate::store::Store;

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let dir = args.config.dir();
    let config = match Config::load(&dir) {
        Ok(c) => Arc::new(c),
        Err(diags) => {
            for d in diags.iter() {
                eprintln!("{d}");
            }
            anyhow::bail!(
                "{}: {} configuration problem(s)",
                dir.display(),
                diags.len()
            );
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let cancel = CancellationToken::new();
        spawn_signal_handler(cancel.clone())?;
        let path = store_path(&config);
        let store = Store::open(&path, config.daemon.general.timezone)?;
        let metrics = Arc::new(IngestMetrics::default());
        let m = metrics.clone();
        let c = cancel.clone();
        tokio::spawn(async move {
            while !c.is_cancelled() {
                if m.subscribed.load(Ordering::Relaxed) {
                    println!("ready");
                    use std::io::Write;
                    let _ = std::io::stdout().flush();
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        });
        let store = ingest::run(
            config,
            store,
            IngestOptions::default(),
            metrics.clone(),
            cancel,
        )
        .await?;
        eprintln!(
            "envwatch ingest: {} messages, {} readings committed ({} unchanged), {} dead letters, {} stored readings",
            metrics.messages.load(Ordering::Relaxed),
            metrics.readings_committed.load(Ordering::Relaxed),
            metrics.readings_unchanged.load(Ordering::Relaxed),
            metrics.dead_letters.load(Ordering::Relaxed),
            store.count_readings()?,
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The store file: `store.path`, relative to the state directory.
pub fn store_path(config: &Config) -> std::path::PathBuf {
    config.store_path()
}

/// SIGTERM and SIGINT cancel `cancel` (graceful: flush, commit, ack, exit).
pub fn spawn_signal_handler(cancel: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping ingest"),
            _ = int.recv() => tracing::info!("SIGINT: stopping ingest"),
        }
        cancel.cancel();
    });
    Ok(())
}

//! `envwatch backfill --pipeline P --from FILE...`: history from files through the
//! pipeline's decode and validation into the store, with a progress bar (bytes and
//! readings/s), resumable after an interruption, and `--dry-run`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::BackfillArgs;
use crate::config::Config;
use crate::config::pipeline::Pipeline;
use crate::ingest::{Envelope, IngestMetrics, PipelineRuntime, spawn_writer};
use crate::sources::file::{self, FileCursor, Progress};
use crate::store::Store;
use crate::validate::Validator;

struct Bar {
    bar: ProgressBar,
    readings: AtomicU64,
    started: Instant,
}

impl Progress for Bar {
    fn bytes(&self, n: u64) {
        self.bar.inc(n);
    }
    fn readings(&self, n: u64) {
        let total = self.readings.fetch_add(n, Ordering::Relaxed) + n;
        // Updating the message per line would dominate the run: every 10k readings.
        if total / 10_000 != (total - n) / 10_000 {
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            self.bar.set_message(format!(
                "{total} readings, {:.0} readings/s",
                total as f64 / secs
            ));
        }
    }
}

fn find_pipeline<'a>(config: &'a Config, name: &str) -> anyhow::Result<&'a Pipeline> {
    let stem = std::path::Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    config
        .pipelines
        .iter()
        .find(|p| p.name == name || p.name == stem)
        .ok_or_else(|| {
            let names: Vec<&str> = config.pipelines.iter().map(|p| p.name.as_str()).collect();
            anyhow::anyhow!(
                "no pipeline \"{name}\" in the config (known: {})",
                names.join(", ")
            )
        })
}

pub fn run(args: &BackfillArgs) -> anyhow::Result<ExitCode> {
    let dir = args.config.dir();
    let config = Arc::new(
        Config::load(&dir)
            .map_err(|d| anyhow::anyhow!("{}: configuration problems:\n{d}", dir.display()))?,
    );
    let pipeline = find_pipeline(&config, &args.pipeline)?.clone();
    let files = file::expand_inputs(&args.from)?;
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let metrics = Arc::new(IngestMetrics::default());
    let validator = Arc::new(Validator::from_config(&config));
    let csv = pipeline.decode.format == crate::config::pipeline::Format::Csv;
    // CSV files are read by the offline-interface reader; other formats line by line
    // through the pipeline's decoder.
    let runtime = if csv {
        None
    } else {
        Some(Arc::new(PipelineRuntime::from_config(
            &pipeline,
            &config,
            validator.clone(),
            metrics.clone(),
        )?))
    };
    let source = Source {
        runtime,
        validator,
        pipeline: pipeline.name.clone(),
        hour_label: pipeline.decode.hour_label,
    };
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = Bar {
        bar,
        readings: AtomicU64::new(0),
        started: Instant::now(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let totals = rt.block_on(async {
        if args.dry_run {
            dry_run(&files, &source, &progress).await
        } else {
            store_run(&config, &files, &source, metrics.clone(), &progress).await
        }
    })?;
    progress.bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    eprintln!(
        "backfill {}: {} file(s), {} lines, {} readings, {} dead letters in {:.1} s ({:.0} readings/s){}",
        pipeline.name,
        files.len(),
        totals.lines,
        totals.readings,
        totals.dead_letters,
        secs,
        totals.readings as f64 / secs,
        if args.dry_run {
            " — dry run, nothing stored"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// How a pipeline's files are read.
struct Source {
    runtime: Option<Arc<PipelineRuntime>>,
    validator: Arc<Validator>,
    pipeline: String,
    hour_label: crate::config::HourLabel,
}

impl Source {
    async fn file(
        &self,
        f: &std::path::Path,
        start: Option<FileCursor>,
        tx: &mpsc::Sender<Envelope>,
        progress: &Bar,
    ) -> anyhow::Result<file::FileTotals> {
        match &self.runtime {
            Some(rt) => file::backfill_lines(f, start, rt.clone(), tx, progress).await,
            None => {
                file::backfill_csv(
                    f,
                    start,
                    &self.pipeline,
                    self.hour_label,
                    &self.validator,
                    tx,
                    progress,
                )
                .await
            }
        }
    }
}

async fn store_run(
    config: &Arc<Config>,
    files: &[std::path::PathBuf],
    source: &Source,
    metrics: Arc<IngestMetrics>,
    progress: &Bar,
) -> anyhow::Result<file::FileTotals> {
    let path = crate::commands::ingest::store_path(config);
    let tz = config.daemon.general.timezone;
    let store = Store::open(&path, tz)?;
    let reader = Store::open(&path, tz)?;
    let cancel = CancellationToken::new();
    crate::commands::ingest::spawn_signal_handler(cancel.clone())?;
    let (tx, writer) = spawn_writer(
        store,
        &config.daemon.store,
        None,
        None,
        metrics,
        cancel.clone(),
    );
    let mut sum = file::FileTotals::default();
    for f in files {
        if cancel.is_cancelled() {
            break;
        }
        let start: Option<FileCursor> = reader
            .cursor(&file::cursor_key(f))?
            .and_then(|c| serde_json::from_str(&c).ok());
        if let Some(c) = start {
            tracing::info!(file = %f.display(), line = c.line, "resuming after the last committed line");
        }
        let t = tokio::select! {
            r = source.file(f, start, &tx, progress) => r?,
            () = cancel.cancelled() => break,
        };
        sum.lines += t.lines;
        sum.readings += t.readings;
        sum.dead_letters += t.dead_letters;
    }
    drop(tx);
    tokio::task::spawn_blocking(move || writer.join())
        .await?
        .map_err(|_| anyhow::anyhow!("store writer thread panicked"))?;
    Ok(sum)
}

/// Decodes and validates without storing; prints the readings as long CSV on stdout and
/// the reasons of what would be dead-lettered on stderr.
async fn dry_run(
    files: &[std::path::PathBuf],
    source: &Source,
    progress: &Bar,
) -> anyhow::Result<file::FileTotals> {
    let (tx, mut rx) = mpsc::channel::<Envelope>(1024);
    let printer = tokio::task::spawn_blocking(move || {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let _ = writeln!(out, "station,time,parameter,value,flag");
        while let Some(env) = rx.blocking_recv() {
            for r in &env.readings {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{}",
                    r.site,
                    r.time.to_rfc3339(),
                    r.parameter,
                    r.value,
                    r.flag
                );
            }
            if let Some(d) = env.dead_letter {
                eprintln!("would dead-letter {}: {}", d.origin, d.reason);
            }
        }
    });
    let mut sum = file::FileTotals::default();
    for f in files {
        let t = source.file(f, None, &tx, progress).await?;
        sum.lines += t.lines;
        sum.readings += t.readings;
        sum.dead_letters += t.dead_letters;
    }
    drop(tx);
    printer.await?;
    Ok(sum)
}

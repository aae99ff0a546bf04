//! `envwatch run`: the daemon, assembled from the parts (mini-redis style: one task per
//! job, bounded channels between them, one [`Shutdown`] every task watches).
//!
//! ```text
//! sources (MQTT, HTTP) --bounded queue--> store writer thread --commit hook--> outbox
//!                                              | dirty days
//!                                        judge pass (every judge_every, and at once after water readings) --> outbox, alerts, status
//!                                        outbox --> publisher (InfluxDB) | file sink (demo)
//!                                        serve: /metrics /healthz /readyz /api/status
//! ```
//! Shutdown (SIGTERM/SIGINT): sources stop taking messages, the writer commits what is
//! queued and acks it, a last judge pass runs, the sink drains, all within 10 s.
//! Reload (SIGHUP): the config is loaded and checked again; if it has problems they are
//! logged and the running config stays; otherwise the Influx publisher, the sources, the
//! judge and the alerts restart with the new one and the commit hook gets the new site
//! maps (store and outbox keep running).

pub mod hook;
pub mod judge;
pub mod sink;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::alert::AlertEngine;
use crate::config::Config;
use crate::config::pipeline::SourceSettings;
use crate::ingest::{Envelope, IngestMetrics, PipelineRuntime, spawn_writer};
use crate::metrics::Metrics;
use crate::publish::{Publisher, outbox};
use crate::serve::{AppState, Health, HealthPolicy, ListenPolicy, Server, StatusBoard};
use crate::shutdown::{ReloadRequests, Shutdown, join_within};
use crate::sources::http::{HttpMetrics, HttpPoller};
use crate::sources::mqtt::{self, MqttRoute};
use crate::store::Store;
use crate::systemd::Notifier;
use crate::validate::Validator;

/// Where judged and ingested points go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// InfluxDB from `[influx]` (if enabled there; otherwise points wait in the outbox).
    Influx,
    /// A line-protocol file (the demo; also useful without any server).
    File(PathBuf),
}

/// Knobs that differ between the service and the demo.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub sink: Sink,
    /// How often the judge recomputes dirty days (default: `general.judge_interval`).
    pub judge_every: Option<Duration>,
    /// Serve /metrics etc. on `[http] listen`.
    pub serve: bool,
    /// Where the config came from (for SIGHUP reloads).
    pub config_dir: Option<PathBuf>,
    /// Ingest counters to use (the demo watches them); a new set when `None`.
    pub ingest_metrics: Option<Arc<IngestMetrics>>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            sink: Sink::Influx,
            judge_every: None,
            serve: true,
            config_dir: None,
            ingest_metrics: None,
        }
    }
}

/// What a run did, for the demo's summary and tests.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub store: PathBuf,
    pub messages: u64,
    pub readings_committed: u64,
    pub dead_letters: u64,
    pub judge_passes: u64,
}

/// The store file: `store.path`, relative to the state directory.
pub fn store_path(config: &Config) -> PathBuf {
    config.store_path()
}

/// Sources of one config generation.
struct Sources {
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

fn start_sources(
    config: &Arc<Config>,
    tx: &mpsc::Sender<Envelope>,
    ingest: &Arc<IngestMetrics>,
    http_metrics: &Arc<HttpMetrics>,
    health: &Arc<Health>,
    store: &std::path::Path,
    parent: &CancellationToken,
) -> anyhow::Result<Sources> {
    let cancel = parent.child_token();
    let validator = Arc::new(Validator::from_config(config));
    let mut routes = Vec::new();
    let mut tasks = Vec::new();
    let reader = Store::open(store, config.daemon.general.timezone)?;
    for p in config.pipelines.iter().filter(|p| p.enabled) {
        if matches!(p.source, SourceSettings::File(_)) {
            continue; // files are loaded with `envwatch backfill`
        }
        let rt = Arc::new(PipelineRuntime::from_config(
            p,
            config,
            validator.clone(),
            ingest.clone(),
        )?);
        match &p.source {
            SourceSettings::Mqtt(m) => {
                health.register_source(&p.name);
                for t in &m.topics {
                    routes.push(MqttRoute {
                        filter: t.clone(),
                        pipeline: rt.clone(),
                    });
                }
            }
            SourceSettings::Http(h) => {
                let records = p
                    .decode
                    .json
                    .as_ref()
                    .map(|j| j.records.clone())
                    .unwrap_or_default();
                let poller = HttpPoller::new(&p.name, h, &records)?;
                let stored = reader.cursor(&crate::sources::http::cursor_key(&p.name))?;
                tasks.push(tokio::spawn(crate::sources::http::run(
                    poller,
                    rt,
                    config.daemon.general.timezone,
                    stored,
                    tx.clone(),
                    http_metrics.clone(),
                    cancel.clone(),
                )));
            }
            SourceSettings::File(_) => {}
        }
    }
    if !routes.is_empty() {
        let settings = config.daemon.mqtt.clone().unwrap_or_default();
        let (tx, ingest, cancel) = (tx.clone(), ingest.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = mqtt::run(settings, routes, tx, ingest, cancel).await {
                tracing::error!("MQTT source stopped: {e:#}");
            }
        }));
    }
    Ok(Sources { cancel, tasks })
}

async fn stop_sources(s: Sources) {
    s.cancel.cancel();
    for t in s.tasks {
        join_within("source", t, Duration::from_secs(5)).await;
    }
}

/// What the judge task needs besides its config.
#[derive(Clone)]
struct JudgeDeps {
    db: PathBuf,
    alerts: Option<AlertEngine>,
    status: Arc<StatusBoard>,
    metrics: Arc<Metrics>,
    passes: Arc<std::sync::atomic::AtomicU64>,
    /// Poked after commits with water readings: run a pass now, not at the next tick.
    wake: Arc<Notify>,
}

fn spawn_judge(
    config: Arc<Config>,
    deps: JudgeDeps,
    every: Duration,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let JudgeDeps {
        db,
        alerts,
        status,
        metrics,
        passes,
        wake,
    } = deps;
    let min_gap = config.daemon.general.judge_min_interval;
    tokio::spawn(async move {
        let mut judge = match judge::Judge::open(&db, config) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!("judge cannot start: {e:#}");
                return;
            }
        };
        loop {
            let stop = cancel.is_cancelled();
            let pass_started = tokio::time::Instant::now();
            let (j, a, s, m, p) = (
                judge,
                alerts.clone(),
                status.clone(),
                metrics.clone(),
                passes.clone(),
            );
            let joined = tokio::task::spawn_blocking(move || {
                let mut j = j;
                let started = std::time::Instant::now();
                let res = j.pass(a.as_ref(), Some(&s));
                let took = started.elapsed();
                m.observe_judge_run(crate::metrics::JudgeKind::Air, took);
                match &res {
                    Ok(sum) => {
                        if sum.air_days + sum.water_days > 0 {
                            tracing::info!(
                                air_days = sum.air_days,
                                water_days = sum.water_days,
                                points = sum.points,
                                took_ms = sum.took_ms as u64,
                                "judge pass"
                            );
                        }
                        s.record_judge_run(
                            crate::metrics::JudgeKind::Air,
                            chrono::Utc::now(),
                            took,
                            None,
                        );
                    }
                    Err(e) => {
                        tracing::error!(
                            "judge pass failed (days stay dirty, retried next pass): {e:#}"
                        );
                        s.record_judge_run(
                            crate::metrics::JudgeKind::Air,
                            chrono::Utc::now(),
                            took,
                            Some(format!("{e:#}")),
                        );
                    }
                }
                p.fetch_add(1, Ordering::Relaxed);
                j
            })
            .await;
            judge = match joined {
                Ok(j) => j,
                Err(e) => {
                    tracing::error!("judge task panicked: {e}");
                    return;
                }
            };
            if stop {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = wake.notified() => {
                    // A burst of commits costs one pass: keep passes `min_gap` apart.
                    tokio::select! {
                        () = tokio::time::sleep_until(pass_started + min_gap) => {}
                        () = cancel.cancelled() => {}
                    }
                }
                () = cancel.cancelled() => {}
            }
        }
    })
}

/// The alert engine of one configuration and its notifier task. `envwatch_alert` points
/// go into the publish outbox with the alert state (Grafana annotations survive crashes
/// and Influx outages). Alert state lives in the store, so a new generation (SIGHUP)
/// carries on where the old one stopped: nothing repeated, nothing forgotten.
struct Alerts {
    engine: Option<AlertEngine>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Alerts {
    fn none() -> Alerts {
        Alerts {
            engine: None,
            cancel: CancellationToken::new(),
            tasks: Vec::new(),
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            join_within("alerts", t, Duration::from_secs(3)).await;
        }
    }
}

fn start_alerts(
    config: &Config,
    db: &std::path::Path,
    wake: &Arc<Notify>,
) -> anyhow::Result<Alerts> {
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    let engine = match config.daemon.alerts.clone() {
        Some(cfg) if cfg.enabled => {
            let engine = AlertEngine::open(db, cfg, config.daemon.general.timezone)?;
            engine.set_influx_outbox(wake.clone());
            let (e, c) = (engine.clone(), cancel.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(err) = e.run_notifiers(c).await {
                    tracing::error!("alert notifiers stopped: {err}");
                }
            }));
            Some(engine)
        }
        _ => None,
    };
    Ok(Alerts {
        engine,
        cancel,
        tasks,
    })
}

/// What drains the outbox under one configuration.
enum Drain {
    Influx(Box<Publisher>),
    /// `[influx] enabled = false`: points wait in the outbox.
    Nothing,
    File(PathBuf),
}

/// Builds the drain (resolving `[influx]` secrets) without starting it, so a reload can
/// refuse bad settings while the running publisher keeps going.
fn drain_for(sink: &Sink, config: &Config, db: &std::path::Path) -> anyhow::Result<Drain> {
    Ok(match sink {
        Sink::Influx => {
            let influx = config.daemon.influx.clone().unwrap_or_default();
            if influx.enabled {
                Drain::Influx(Box::new(Publisher::from_settings(&influx, db)?))
            } else {
                tracing::warn!("[influx] enabled = false: points stay in the outbox");
                Drain::Nothing
            }
        }
        Sink::File(path) => Drain::File(path.clone()),
    })
}

fn spawn_drain(
    drain: Drain,
    db: &std::path::Path,
    wake: &Arc<Notify>,
) -> (JoinHandle<()>, CancellationToken) {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let task = match drain {
        Drain::Influx(publisher) => {
            let publisher = publisher.with_waker(wake.clone());
            tokio::spawn(async move {
                if let Err(e) = publisher.run(c).await {
                    tracing::error!("Influx publisher stopped: {e}");
                }
            })
        }
        Drain::Nothing => tokio::spawn(async {}),
        Drain::File(path) => {
            let (db, w) = (db.to_path_buf(), wake.clone());
            tokio::spawn(async move {
                if let Err(e) = sink::run_file_sink(db, path, w, c).await {
                    tracing::error!("file sink stopped: {e:#}");
                }
            })
        }
    };
    (task, cancel)
}

/// Runs the daemon until `shutdown` triggers. `reloads` (SIGHUP) may be `None`.
pub async fn run(
    mut config: Arc<Config>,
    opts: DaemonOptions,
    shutdown: Shutdown,
    mut reloads: Option<ReloadRequests>,
) -> anyhow::Result<RunReport> {
    let tz = config.daemon.general.timezone;
    let db = store_path(&config);
    let store = Store::open(&db, tz).with_context(|| format!("store {}", db.display()))?;
    let influx = config.daemon.influx.clone().unwrap_or_default();
    outbox::init_schema(store.conn(), influx.outbox_max_points)?;
    judge::init_schema(store.conn())?;

    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(HealthPolicy::default()));
    let status = Arc::new(StatusBoard::new(
        config.daemon.targets.clone(),
        config.daemon.general.city.clone(),
        config.daemon.general.district.clone(),
    ));
    health.set_store(Ok(()));
    let mut notifier = Notifier::from_env();

    // Sink: the outbox is drained by the Influx publisher or into a file. Every producer
    // (commit hook, judge, alerts) pokes `wake`; it outlives sink generations (SIGHUP).
    let wake = Arc::new(Notify::new());
    let (mut sink_task, mut sink_cancel) =
        spawn_drain(drain_for(&opts.sink, &config, &db)?, &db, &wake);

    // Store writer with the outbox hook.
    let ingest_metrics = opts.ingest_metrics.clone().unwrap_or_default();
    let writer_cancel = CancellationToken::new();
    let (hook, hook_maps) = hook::ReadingPoints::new(&config).into_hook(Some(wake.clone()));
    // Water readings wake the judge once they are committed (alerts at once).
    let judge_wake = Arc::new(Notify::new());
    let after_commit: crate::ingest::AfterCommit = {
        let w = judge_wake.clone();
        Box::new(move |readings: &[crate::model::Reading]| {
            use crate::standards::parameter::Medium;
            if readings
                .iter()
                .any(|r| r.parameter.medium() == Medium::Water)
            {
                w.notify_one();
            }
        })
    };
    let (tx, writer) = spawn_writer(
        store,
        &config.daemon.store,
        Some(hook),
        Some(after_commit),
        ingest_metrics.clone(),
        writer_cancel.clone(),
    );

    // Alerts (one generation per config, like sources and judge).
    let mut alerts = start_alerts(&config, &db, &wake)?;

    // Sources and judge (one generation per config; SIGHUP swaps them).
    let http_metrics = Arc::new(HttpMetrics::default());
    let root = CancellationToken::new();
    let mut sources = start_sources(
        &config,
        &tx,
        &ingest_metrics,
        &http_metrics,
        &health,
        &db,
        &root,
    )?;
    let passes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut judge_cancel = root.child_token();
    let mut judge_deps = JudgeDeps {
        db: db.clone(),
        alerts: alerts.engine.clone(),
        status: status.clone(),
        metrics: metrics.clone(),
        passes: passes.clone(),
        wake: judge_wake.clone(),
    };
    let mut judge_task = spawn_judge(
        config.clone(),
        judge_deps.clone(),
        opts.judge_every
            .unwrap_or(config.daemon.general.judge_interval),
        judge_cancel.clone(),
    );

    // HTTP surface.
    let serve_task = if opts.serve {
        let server = Server::bind(
            config.daemon.http.listen,
            ListenPolicy::from_settings(&config.daemon.http),
        )
        .await?;
        tracing::info!(listen = %server.local_addr(), "serving /metrics /healthz /readyz /api/status");
        let state = AppState {
            metrics: metrics.clone(),
            health: health.clone(),
            status: status.clone(),
        };
        let sd = shutdown.child();
        Some(tokio::spawn(async move {
            if let Err(e) = server.run(state, sd).await {
                tracing::error!("{e}");
            }
        }))
    } else {
        None
    };

    notifier.ready(&format!(
        "running: {} pipelines, store {}",
        config.pipelines.iter().filter(|p| p.enabled).count(),
        db.display()
    ));
    tracing::info!(store = %db.display(), "envwatch running");

    // Main loop: watchdog, gauges, reloads, until shutdown.
    let mut tick = tokio::time::interval(
        notifier
            .tick_interval()
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1)),
    );
    let mut gauge_conn = rusqlite::Connection::open(&db).ok();
    loop {
        tokio::select! {
            () = shutdown.wait() => break,
            _ = tick.tick() => {
                notifier.tick();
                let subscribed = ingest_metrics.subscribed.load(Ordering::Relaxed);
                for p in config.pipelines.iter().filter(|p| p.enabled && matches!(p.source, SourceSettings::Mqtt(_))) {
                    health.set_source(&p.name, subscribed, None);
                }
                if let Some(conn) = gauge_conn.as_mut()
                    && let Ok(st) = outbox::stats(conn)
                {
                    let age = st.oldest_enqueued_ms.map(|ms| {
                        Duration::from_millis(
                            u64::try_from(chrono::Utc::now().timestamp_millis() - ms).unwrap_or(0),
                        )
                    });
                    metrics.set_outbox(st.depth, age);
                    health.set_outbox(st.depth, age);
                }
            }
            Some(_) = async { match reloads.as_mut() { Some(r) => r.recv().await, None => std::future::pending().await } } => {
                notifier.reloading();
                let dir = opts.config_dir.clone().unwrap_or_else(|| config.dir.clone());
                match Config::load(&dir) {
                    Err(diags) => {
                        for d in diags.iter() {
                            tracing::error!("reload rejected: {d}");
                        }
                        tracing::error!("reload rejected ({} problems): keeping the running configuration", diags.len());
                        notifier.reloaded("reload rejected; running with the previous configuration");
                    }
                    Ok(new) => {
                        let new = Arc::new(new);
                        // [influx]: the new publisher is built first (bad settings keep the
                        // running one), then swapped; the outbox keeps what is queued.
                        match drain_for(&opts.sink, &new, &db) {
                            Ok(drain) => {
                                sink_cancel.cancel();
                                join_within("sink", sink_task, Duration::from_secs(5)).await;
                                (sink_task, sink_cancel) = spawn_drain(drain, &db, &wake);
                            }
                            Err(e) => tracing::error!("[influx] not applied, the running publisher stays: {e:#}"),
                        }
                        stop_sources(sources).await;
                        // Before the new sources start: their sites must have maps.
                        hook::ReadingPoints::replace(&hook_maps, &new);
                        judge_cancel.cancel();
                        join_within("judge", judge_task, Duration::from_secs(5)).await;
                        // New rules and channels; the state stays in the store. The old
                        // generation stops first so no queued message is sent twice.
                        std::mem::replace(&mut alerts, Alerts::none()).stop().await;
                        alerts = start_alerts(&new, &db, &wake).unwrap_or_else(|e| {
                            tracing::error!("alerts not restarted after the reload: {e:#}");
                            Alerts::none()
                        });
                        judge_deps.alerts = alerts.engine.clone();
                        sources = start_sources(&new, &tx, &ingest_metrics, &http_metrics, &health, &db, &root)?;
                        judge_cancel = root.child_token();
                        judge_task = spawn_judge(new.clone(), judge_deps.clone(), opts.judge_every.unwrap_or(new.daemon.general.judge_interval), judge_cancel.clone());
                        config = new;
                        tracing::info!("configuration reloaded");
                        notifier.reloaded("configuration reloaded");
                    }
                }
            }
        }
    }

    // Orderly stop: sources, writer (commit + ack what is queued), last judge pass, sink.
    notifier.stopping();
    tracing::info!("stopping: flushing queued readings");
    stop_sources(sources).await;
    drop(tx);
    match tokio::task::spawn_blocking(move || writer.join()).await {
        Ok(Ok(_store)) => {}
        _ => tracing::error!("store writer did not stop cleanly"),
    }
    judge_cancel.cancel(); // the task runs one last pass when cancelled
    join_within("judge", judge_task, Duration::from_secs(5)).await;
    alerts.stop().await;
    sink_cancel.cancel();
    join_within("sink", sink_task, Duration::from_secs(3)).await;
    if let Some(t) = serve_task {
        join_within("http", t, Duration::from_secs(2)).await;
    }
    root.cancel();
    Ok(RunReport {
        store: db,
        messages: ingest_metrics.messages.load(Ordering::Relaxed),
        readings_committed: ingest_metrics.readings_committed.load(Ordering::Relaxed),
        dead_letters: ingest_metrics.dead_letters.load(Ordering::Relaxed),
        judge_passes: passes.load(Ordering::Relaxed),
    })
}

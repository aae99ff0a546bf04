//! `envwatch bench alerts [--trials N] [--channel dingtalk|webhook]`: latency from
//! feeding a [`WaterObservation`] that makes a section inferior V into the engine to
//! the notification arriving at a loopback receiver (axum), over N sequential trials.
//! The store is a real SQLite file (WAL) in a temp directory; the channel's rate limit
//! is lifted so pacing does not masquerade as latency. The full figure (MQTT publish of
//! the reading -> judge -> alert -> receiver) is `envwatch bench alert-e2e`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config::AlertsConfig;
use super::engine::AlertEngine;
use super::input::{ItemFinding, ObservedPeriod, WaterObservation};
use crate::bench::daemon::percentile;
use crate::model::SiteId;
use crate::standards::parameter::Parameter;
use crate::standards::water::{TargetClass, WaterClass};

struct Args {
    trials: usize,
    channel: String,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let mut out = Args {
        trials: 200,
        channel: "dingtalk".into(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--trials" => {
                out.trials = it
                    .next()
                    .context("--trials needs a number")?
                    .parse()
                    .context("--trials needs a number")?
            }
            "--channel" => out.channel = it.next().context("--channel needs a name")?.clone(),
            other => bail!(
                "bench alerts: unknown argument {other} (known: --trials N, --channel dingtalk|webhook)"
            ),
        }
    }
    if out.trials == 0 {
        bail!("--trials must be at least 1");
    }
    if !matches!(out.channel.as_str(), "dingtalk" | "webhook") {
        bail!("--channel must be dingtalk or webhook");
    }
    Ok(out)
}

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let a = parse(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = std::env::temp_dir().join(format!(
        "envwatch-bench-alerts-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir)?;
    let result = rt.block_on(bench(&a, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A loopback receiver for the latency benchmarks: `/hook` (webhook) and `/robot/send`
/// (DingTalk, answers `errcode 0`) report the arrival time and body of every message.
pub(crate) async fn spawn_receiver() -> anyhow::Result<(
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<(Instant, Bytes)>,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let (tx, rx) = mpsc::unbounded_channel::<(Instant, Bytes)>();
    let tx2 = tx.clone();
    let app = Router::new()
        .route(
            "/hook",
            post(move |body: Bytes| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((Instant::now(), body));
                    "ok"
                }
            }),
        )
        .route(
            "/robot/send",
            post(move |body: Bytes| {
                let tx = tx2.clone();
                async move {
                    let _ = tx.send((Instant::now(), body));
                    axum::Json(serde_json::json!({"errcode": 0, "errmsg": "ok"}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, rx, server))
}

async fn bench(a: &Args, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let (addr, mut rx, server) = spawn_receiver().await?;

    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "SECbench")?;
    let channel = match a.channel.as_str() {
        "dingtalk" => format!(
            "kind = \"dingtalk\"\nurl = \"http://{addr}/robot/send\"\naccess_token = \"file:{0}\"\nsecret = \"file:{0}\"",
            secret_file.display()
        ),
        _ => format!(
            "kind = \"webhook\"\nurl = \"http://{addr}/hook\"\nsecret = \"file:{}\"",
            secret_file.display()
        ),
    };
    let cfg = AlertsConfig::from_toml_str(&format!(
        "[channels.bench]\n{channel}\nrate_limit = {{ messages = 100000, per = \"1s\" }}\n\
         [rules.water_inferior_v]\nchannels = [\"bench\"]\nfire_after = 1\n"
    ))?;
    let engine = AlertEngine::open(&dir.join("bench.db"), cfg, chrono_tz::Asia::Shanghai)?;
    let cancel = CancellationToken::new();
    let notifier = {
        let (e, c) = (engine.clone(), cancel.clone());
        tokio::spawn(async move { e.run_notifiers(c).await })
    };

    let t0_day = chrono::Utc::now();
    let mut latencies = Vec::with_capacity(a.trials);
    let mut observe_times = Vec::with_capacity(a.trials);
    for i in 0..a.trials {
        let section = format!("bench-{i:05}");
        let obs = WaterObservation {
            section: SiteId::new(&section),
            name: section.clone(),
            river: "东苕溪".into(),
            period: ObservedPeriod::Reading,
            at: t0_day,
            class: WaterClass::InferiorV,
            target: TargetClass(WaterClass::III),
            drinking_source: false,
            // GB 3838 Table 1 NH3-N: class V 2.0, class III 1.0 mg/L.
            items: vec![ItemFinding {
                parameter: Parameter::Nh3N,
                value: 3.2,
                limit_v: Some(2.0),
                limit_target: Some(1.0),
            }],
        };
        let start = Instant::now();
        let sent = engine.observe_water(&obs)?;
        observe_times.push(start.elapsed());
        if sent.len() != 1 {
            bail!(
                "trial {i}: expected one notification, engine produced {}",
                sent.len()
            );
        }
        let (arrived, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .with_context(|| format!("trial {i}: no notification within 10 s"))?
            .context("receiver stopped")?;
        if !String::from_utf8_lossy(&body).contains(&section) {
            bail!("trial {i}: the receiver got a message for another section");
        }
        latencies.push(arrived.duration_since(start));
    }
    cancel.cancel();
    let _ = notifier.await;
    server.abort();

    latencies.sort();
    observe_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "bench alerts: {} trials, channel {} (signed) on loopback, SQLite WAL store",
        a.trials, a.channel
    );
    println!(
        "observe -> receiver: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[latencies.len() - 1])
    );
    println!(
        "observe_water() alone (state + outbox transaction): p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&observe_times, 0.50)),
        ms(percentile(&observe_times, 0.99))
    );
    println!(
        "goal p99 < 2 s: {}; MQTT publish to receiver through the daemon: envwatch bench alert-e2e",
        if percentile(&latencies, 0.99) < Duration::from_secs(2) {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(ExitCode::SUCCESS)
}

//! `envwatch bench e2e [--broker HOST:PORT] [--influx URL] [--messages N] [--factors K]
//! [--stations S] [--format hj212|json] [--rate MSG_PER_S] [--commit-idle D]
//! [--judge-interval D]`: the
//! assembled daemon end to end. HJ 212 hour packets (or one wide JSON record per station
//! hour) are published at QoS 1 to a real broker; a real `envwatch run` (child process)
//! decodes, commits, judges and publishes them; the clock stops when InfluxDB holds every
//! reading in `air_hourly`. In the same run, on the same broker, a plain QoS 1 subscriber
//! that does nothing gives the raw broker rate: `mosquitto_sub -q 1` when installed (its
//! CPU is measured too), else an in-process rumqttc subscriber.
//!
//! Reported: readings/s, the daemon's CPU per thread and in total (% of one core, from
//! /proc/PID/task/*/stat) and its peak RSS. `--rate` paces the publisher: CPU is then
//! measured over the steady part (after the first 10 % of the messages until the last is
//! published), which is what an operator's steady load costs.
//!
//! Broker: `--broker`, else `$ENVWATCH_TEST_MQTT`, else 127.0.0.1:1883. InfluxDB 1.x:
//! `--influx`, else `$ENVWATCH_TEST_INFLUX`, else http://127.0.0.1:8086 (a database of its
//! own is created and dropped).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::cpu::{CpuSnapshot, CpuUsage};
use super::daemon::{BenchDir, Daemon, daemon_toml_head, host_port, service};
use super::ingest::{JSON_FIELDS, Opts, mn, raw_phase, spawn_publisher};

struct Args {
    opts: Opts,
    influx: String,
    judge_interval: String,
    /// `[store] commit_idle` of the daemon (its default when `None`).
    commit_idle: Option<String>,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let (mut broker, mut influx) = (None, None);
    let (mut messages, mut factors, mut judge) = (50_000usize, 6usize, "60s".to_string());
    let (mut stations, mut json, mut rate) = (200usize, false, None);
    let mut commit_idle = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--broker" => broker = Some(val()?.clone()),
            "--influx" => influx = Some(val()?.clone()),
            "--messages" => messages = val()?.parse().context("--messages")?,
            "--factors" => factors = val()?.parse().context("--factors")?,
            "--judge-interval" => judge = val()?.clone(),
            "--stations" => stations = val()?.parse().context("--stations")?,
            "--format" => {
                json = match val()?.as_str() {
                    "json" => true,
                    "hj212" => false,
                    f => bail!("--format {f}: hj212 or json"),
                }
            }
            "--rate" => rate = Some(val()?.parse::<f64>().context("--rate")?),
            "--commit-idle" => commit_idle = Some(val()?.clone()),
            other => bail!(
                "bench e2e: unknown argument {other} (--broker, --influx, --messages, --factors, --stations, --format, --rate, --commit-idle, --judge-interval)"
            ),
        }
    }
    if !(1..=6).contains(&factors) {
        bail!("--factors must be 1..=6 (the AQI pollutants)");
    }
    if messages == 0 || stations == 0 {
        bail!("--messages and --stations must be at least 1");
    }
    if rate.is_some_and(|r: f64| r <= 0.0 || !r.is_finite()) {
        bail!("--rate must be a positive number of messages per second");
    }
    let broker = service(broker.as_ref(), "ENVWATCH_TEST_MQTT", "127.0.0.1:1883");
    let (host, port) = host_port(&broker)?;
    Ok(Args {
        opts: Opts {
            host,
            port,
            messages,
            factors,
            stations,
            json,
            rate,
        },
        influx: service(
            influx.as_ref(),
            "ENVWATCH_TEST_INFLUX",
            "http://127.0.0.1:8086",
        ),
        judge_interval: judge,
        commit_idle,
    })
}

fn config_files(a: &Args, dir: &BenchDir, tag: &str, db: &str) -> anyhow::Result<()> {
    let head = daemon_toml_head(
        dir,
        &a.judge_interval,
        &a.opts.host,
        a.opts.port,
        &format!("envwatch-bench-e2e-{tag}"),
    );
    let store = a.commit_idle.as_ref().map_or(String::new(), |d| {
        format!("[store]\ncommit_idle = \"{d}\"\n\n")
    });
    dir.write(
        "envwatch.toml",
        &format!(
            "{head}{store}[influx]\nurl = \"{}\"\napi = \"v1\"\ndatabase = \"{db}\"\n",
            a.influx
        ),
    )?;
    let mut stations = String::new();
    for s in 0..a.opts.stations {
        stations.push_str(&format!(
            "[[station]]\ncode = \"B{s:03}\"\nname = \"bench {s}\"\ncity = \"杭州\"\nmn = \"{}\"\n\n",
            mn(s)
        ));
    }
    dir.write("stations.toml", &stations)?;
    dir.write("sections.toml", "")?;
    let decode = if a.opts.json {
        let columns: Vec<String> = JSON_FIELDS[..a.opts.factors]
            .iter()
            .map(|(f, p)| format!("{f} = \"{p}\""))
            .collect();
        format!(
            "[decode]\nformat = \"json\"\n\n[decode.json]\nsite = \"station\"\ntime = \"time\"\ntime_format = \"unix\"\ncolumns = {{ {} }}\n",
            columns.join(", ")
        )
    } else {
        "[decode]\nformat = \"hj212\"\n".to_string()
    };
    let kind = if a.opts.json { "json" } else { "hj212" };
    dir.write(
        "pipelines/bench.toml",
        &format!("[source]\nkind = \"mqtt\"\ntopics = [\"bench/{tag}/e2e/+/{kind}\"]\n\n{decode}"),
    )
}

/// The raw broker rate and CPU: `mosquitto_sub -q 1` printing one byte per message,
/// subscribed before the publisher starts. `None` when mosquitto_sub is not installed.
fn raw_mosquitto_sub(o: &Opts, tag: &str) -> anyhow::Result<Option<(Duration, CpuUsage)>> {
    use std::io::Read;
    let prefix = format!("bench/{tag}/rawsub");
    let child = std::process::Command::new("mosquitto_sub")
        .args(["-h", &o.host, "-p", &o.port.to_string(), "-q", "1", "-c"])
        .args([
            "-i",
            &format!("bench-mosquitto-sub-{tag}"),
            "-t",
            &format!("{prefix}/#"),
        ])
        .args(["-C", &o.messages.to_string(), "-N", "-F", "."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Ok(None);
    };
    let pid = child.id();
    let mut out = child.stdout.take().context("mosquitto_sub stdout")?;
    // Wait (bounded) until the subscription exists: the broker then lists the client.
    std::thread::sleep(Duration::from_millis(700));
    let cpu0 = CpuSnapshot::take(pid);
    let publisher = spawn_publisher(o, format!("bench-rawsub-pub-{tag}"), prefix);
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let (mut got, mut first, mut last_cpu) = (0usize, None, None);
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            first.get_or_insert_with(Instant::now);
            got += n;
            // The process is gone after the last message: sample it before it exits
            // (a sample taken after the exit is empty and is not kept).
            let snap = CpuSnapshot::take(pid);
            if !snap.is_empty() {
                last_cpu = Some(snap);
            }
        }
        (got, first.map(|t| t.elapsed()), last_cpu)
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "mosquitto_sub did not receive {} messages within 600 s",
                o.messages
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (got, elapsed, last_cpu) = counter
        .join()
        .map_err(|_| anyhow::anyhow!("counter panicked"))?;
    publisher
        .join()
        .map_err(|_| anyhow::anyhow!("publisher panicked"))??;
    if got < o.messages {
        bail!("mosquitto_sub received {got} of {} messages", o.messages);
    }
    let cpu = cpu0.usage_until(&last_cpu.unwrap_or_else(|| CpuSnapshot::take(pid)));
    Ok(Some((elapsed.unwrap_or_default(), cpu)))
}

/// InfluxQL against the bench database; the JSON answer.
async fn query(
    http: &reqwest::Client,
    base: &str,
    db: &str,
    q: &str,
) -> anyhow::Result<serde_json::Value> {
    let mut url = url::Url::parse(&format!("{base}/query"))
        .with_context(|| format!("InfluxDB URL {base}"))?;
    url.query_pairs_mut()
        .append_pair("db", db)
        .append_pair("q", q);
    let r = http
        .post(url)
        .send()
        .await
        .with_context(|| format!("InfluxDB at {base}"))?;
    Ok(r.json().await?)
}

/// Readings stored in `air_hourly`: the sum of `count(*)` over its fields (the `flag`
/// bitmask field is not a reading and is left out).
async fn stored_readings(http: &reqwest::Client, base: &str, db: &str) -> anyhow::Result<u64> {
    let v = query(http, base, db, "SELECT count(*) FROM air_hourly").await?;
    let series = &v["results"][0]["series"][0];
    let (Some(cols), Some(row)) = (series["columns"].as_array(), series["values"][0].as_array())
    else {
        return Ok(0);
    };
    Ok(cols
        .iter()
        .zip(row)
        .filter(|(c, _)| {
            c.as_str()
                .is_some_and(|c| c.starts_with("count_") && c != "count_flag")
        })
        .filter_map(|(_, v)| v.as_u64())
        .sum())
}

/// The daemon's `judge pass` log lines: how many, and ms per dirty air day.
fn judge_passes(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let field = |l: &str, k: &str| -> Option<u64> {
        let rest = &l[l.find(&format!("{k}="))? + k.len() + 1..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let passes: Vec<(u64, u64)> = text
        .lines()
        .filter(|l| l.contains("judge pass"))
        .filter_map(|l| Some((field(l, "air_days")?, field(l, "took_ms")?)))
        .collect();
    if passes.is_empty() {
        return "none logged".into();
    }
    let parts: Vec<String> = passes
        .iter()
        .map(|(d, ms)| format!("{d} air days {ms} ms"))
        .collect();
    format!("{} ({})", passes.len(), parts.join(", "))
}

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let a = parse(args)?;
    let o = &a.opts;
    let tag = super::run_tag();
    let db = format!("envwatch_bench_{}", tag.replace('-', "_"));
    let rt = super::runtime()?;
    let want = (o.messages * o.factors) as u64;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "bench e2e: broker {}:{}, InfluxDB {}, {} {} x {} readings from {} stations, QoS 1, {}, judge every {} (load average {})",
        o.host,
        o.port,
        a.influx,
        o.messages,
        if o.json {
            "JSON records"
        } else {
            "HJ 212 hour packets"
        },
        o.factors,
        o.stations,
        o.rate
            .map_or("full speed".to_string(), |r| format!("paced at {r} msg/s")),
        a.judge_interval,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let raw_rate = match raw_mosquitto_sub(o, &tag)? {
        Some((elapsed, cpu)) => {
            let r = want as f64 / elapsed.as_secs_f64();
            println!(
                "raw mosquitto_sub -q 1   : {:>8.0} readings/s ({:.0} msg/s, {:.2} s); CPU {}",
                r,
                o.messages as f64 / elapsed.as_secs_f64(),
                elapsed.as_secs_f64(),
                cpu.describe()
            );
            r
        }
        None => {
            let (raw, raw_pub) = rt.block_on(raw_phase(o, &tag))?;
            let r = want as f64 / raw.as_secs_f64();
            println!(
                "raw QoS 1 subscriber     : {:>8.0} readings/s ({:.2} s; publisher {:.0} msg/s; mosquitto_sub not installed)",
                r,
                raw.as_secs_f64(),
                o.messages as f64 / raw_pub.as_secs_f64()
            );
            r
        }
    };

    let http = reqwest::Client::new();
    rt.block_on(query(
        &http,
        &a.influx,
        &db,
        &format!("CREATE DATABASE \"{db}\""),
    ))?;
    let dir = BenchDir::new("e2e")?;
    config_files(&a, &dir, &tag, &db)?;
    let daemon = Daemon::start(&dir.0)?;
    let cpu_start = CpuSnapshot::take(daemon.pid());
    let start = Instant::now();
    let publisher = spawn_publisher(
        o,
        format!("bench-e2e-pub-{tag}"),
        format!("bench/{tag}/e2e"),
    );
    // Paced: the steady window runs from 10 % of the messages to the last publish.
    let steady = o.rate.map(|r| {
        std::thread::sleep(Duration::from_secs_f64(0.1 * o.messages as f64 / r));
        CpuSnapshot::take(daemon.pid())
    });
    let steady_until = o
        .rate
        .map(|r| start + Duration::from_secs_f64(o.messages as f64 / r));
    let mut steady_end = None;
    let outcome = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            if steady_end.is_none() && steady_until.is_some_and(|t| Instant::now() >= t) {
                steady_end = Some(CpuSnapshot::take(daemon.pid()));
            }
            let n = stored_readings(&http, &a.influx, &db).await?;
            if n >= want {
                return anyhow::Ok((start.elapsed(), n));
            }
            if Instant::now() > deadline {
                bail!("InfluxDB holds {n} of {want} readings after 900 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let cpu_done = CpuSnapshot::take(daemon.pid());
    let pub_elapsed = publisher
        .join()
        .map_err(|_| anyhow::anyhow!("publisher panicked"))?;
    let rss = daemon.peak_rss_kib();
    let pid = daemon.pid();
    let stopped = daemon.stop();
    // Leave no persistent session or database behind.
    rt.block_on(async {
        super::drop_mqtt_session(&o.host, o.port, &format!("envwatch-bench-e2e-{tag}")).await;
        let _ = query(&http, &a.influx, &db, &format!("DROP DATABASE \"{db}\"")).await;
    });
    let (elapsed, stored) = outcome?;
    let pub_elapsed = pub_elapsed?;
    stopped?;
    let rate = want as f64 / elapsed.as_secs_f64();
    println!(
        "daemon MQTT -> InfluxDB  : {:>8.0} readings/s ({:.2} s from first publish until InfluxDB held all {stored}; publisher {:.0} msg/s)",
        rate,
        elapsed.as_secs_f64(),
        o.messages as f64 / pub_elapsed.as_secs_f64()
    );
    println!(
        "end-to-end / raw: {:.1} %   daemon (pid {pid}) peak RSS: {}",
        100.0 * rate / raw_rate,
        rss.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    );
    println!(
        "daemon CPU, whole run    : {}",
        cpu_start.usage_until(&cpu_done).describe()
    );
    println!(
        "judge passes            : {}",
        judge_passes(&dir.0.join("daemon.log"))
    );
    if let (Some(s0), Some(s1)) = (steady, steady_end.as_ref()) {
        println!(
            "daemon CPU, steady {:.0} msg/s: {}",
            o.rate.unwrap_or_default(),
            s0.usage_until(s1).describe()
        );
    }
    if stored != want {
        bail!("InfluxDB holds {stored} readings, expected {want}");
    }
    Ok(ExitCode::SUCCESS)
}

//! `envwatch bench alert-e2e [--broker HOST:PORT] [--trials N] [--judge-interval D]
//! [--channel webhook|dingtalk]`: latency from the MQTT publish of the HJ 212 reading that
//! makes a river section inferior class V to the `water_inferior_v` notification arriving
//! at a loopback receiver, through the real daemon (`envwatch run` as a child process:
//! MQTT -> decode -> SQLite commit -> judge -> alert engine -> notifier -> HTTP).
//!
//! Each trial uses a section of its own (N sections configured, `fire_after = 1`), so
//! every trial is one fresh inferior-V transition and one notification. Trials run one
//! after another with a random pause (0 … `--max-pause`, default 1 s) between them, so
//! publishes do not line up with the judge's passes; p50, p99 and max are printed. The
//! daemon runs with the shipped defaults (`judge_interval = 60s`, `judge_min_interval =
//! 500ms`): committed water readings wake the judge at once. The channel's rate limit is
//! lifted so pacing does not masquerade as latency.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use super::daemon::{BenchDir, Daemon, daemon_toml_head, host_port, percentile, service};
use crate::decode::hj212::{OutFactor, OutHeader, encode_packet};
use crate::model::DataFlag;

struct Args {
    host: String,
    port: u16,
    trials: usize,
    judge_interval: String,
    max_pause: Duration,
    channel: String,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let mut broker = None;
    let mut a = Args {
        host: String::new(),
        port: 0,
        trials: 200,
        judge_interval: "60s".into(),
        max_pause: Duration::from_secs(1),
        channel: "webhook".into(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut val = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--broker" => broker = Some(val()?.clone()),
            "--trials" => a.trials = val()?.parse().context("--trials")?,
            "--judge-interval" => a.judge_interval = val()?.clone(),
            "--max-pause" => {
                a.max_pause = humantime::parse_duration(val()?).context("--max-pause")?
            }
            "--channel" => a.channel = val()?.clone(),
            other => bail!(
                "bench alert-e2e: unknown argument {other} (--broker, --trials, --judge-interval, --max-pause, --channel)"
            ),
        }
    }
    if a.trials == 0 {
        bail!("--trials must be at least 1");
    }
    if !matches!(a.channel.as_str(), "webhook" | "dingtalk") {
        bail!("--channel must be webhook or dingtalk");
    }
    let broker = service(broker.as_ref(), "ENVWATCH_TEST_MQTT", "127.0.0.1:1883");
    (a.host, a.port) = host_port(&broker)?;
    Ok(a)
}

fn section_id(i: usize) -> String {
    format!("BS{i:04}")
}

fn section_mn(i: usize) -> String {
    format!("BENCHWATER{i:08}")
}

fn config_files(
    a: &Args,
    dir: &BenchDir,
    tag: &str,
    receiver: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let secret = dir.0.join("channel-secret");
    std::fs::write(&secret, "SECbench")?;
    let channel = match a.channel.as_str() {
        "dingtalk" => format!(
            "kind = \"dingtalk\"\nurl = \"http://{receiver}/robot/send\"\naccess_token = \"file:{0}\"\nsecret = \"file:{0}\"",
            secret.display()
        ),
        _ => format!(
            "kind = \"webhook\"\nurl = \"http://{receiver}/hook\"\nsecret = \"file:{}\"",
            secret.display()
        ),
    };
    let head = daemon_toml_head(
        dir,
        &a.judge_interval,
        &a.host,
        a.port,
        &format!("envwatch-bench-alert-{tag}"),
    );
    dir.write(
        "envwatch.toml",
        &format!(
            r#"{head}[influx]
enabled = false

[alerts]
enabled = true

[alerts.channels.bench]
{channel}
rate_limit = {{ messages = 100000, per = "1s" }}

[alerts.rules.water_inferior_v]
severity = "critical"
channels = ["bench"]
period = "reading"
fire_after = 1
resolve_after = 1
"#
        ),
    )?;
    dir.write(
        "stations.toml",
        "[[station]]\ncode = \"BA01\"\nname = \"bench air\"\ncity = \"杭州\"\n",
    )?;
    let mut sections = String::new();
    for i in 0..a.trials {
        sections.push_str(&format!(
            "[[section]]\nid = \"{}\"\nname = \"bench {i}\"\nriver = \"东苕溪\"\nwaterbody = \"river\"\ntarget = \"III\"\nmn = \"{}\"\n\n",
            section_id(i),
            section_mn(i)
        ));
    }
    dir.write("sections.toml", &sections)?;
    dir.write(
        "pipelines/water.toml",
        &format!(
            "[source]\nkind = \"mqtt\"\ntopics = [\"bench/{tag}/water/+\"]\n\n[decode]\nformat = \"hj212\"\n"
        ),
    )
}

/// NH3-N 3.2 mg/L: above GB 3838 class V (2.0), so the section is inferior V.
fn packet(i: usize, local: chrono::NaiveDateTime) -> String {
    let mn = section_mn(i);
    let h = OutHeader {
        qn: None,
        st: "21",
        cn: "2061",
        pw: "123456",
        mn: &mn,
        flag: 4,
        part: None,
    };
    let f = [("w01001", 7.4), ("w01009", 6.8), ("w21003", 3.2)].map(|(code, value)| OutFactor {
        code,
        value,
        flag: DataFlag::N,
    });
    encode_packet(&h, local, &f)
}

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let a = parse(args)?;
    let tag = super::run_tag();
    let rt = super::runtime()?;
    let dir = BenchDir::new("alert-e2e")?;
    let result = rt.block_on(async {
        let (addr, mut rx, server) = crate::alert::bench::spawn_receiver().await?;
        config_files(&a, &dir, &tag, addr)?;
        let daemon = Daemon::start(&dir.0)?;

        let mut mo = MqttOptions::new(format!("bench-alert-pub-{tag}"), &a.host, a.port);
        mo.set_keep_alive(Duration::from_secs(30));
        let (client, mut el) = AsyncClient::new(mo, 100);
        let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel();
        let poller = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!("bench publisher: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        // Readings half an hour ago (local time, HJ 212 DataTime is local).
        let tz = chrono_tz::Asia::Shanghai;
        let at = (chrono::Utc::now() - chrono::Duration::minutes(30))
            .with_timezone(&tz)
            .naive_local();
        let at = at
            .date()
            .and_hms_opt(chrono::Timelike::hour(&at), 0, 0)
            .unwrap_or(at);

        let mut latencies = Vec::with_capacity(a.trials);
        let mut rng = super::Rng(0x5EED_A1E7);
        for i in 0..a.trials {
            tokio::time::sleep(a.max_pause.mul_f64(rng.next_f64())).await;
            let id = section_id(i);
            let start = Instant::now();
            client
                .publish(
                    format!("bench/{tag}/water/{id}"),
                    QoS::AtLeastOnce,
                    false,
                    packet(i, at),
                )
                .await?;
            tokio::time::timeout(Duration::from_secs(10), ack_rx.recv())
                .await
                .with_context(|| format!("trial {i}: no PUBACK within 10 s"))?;
            let (arrived, body) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .with_context(|| format!("trial {i}: no notification for {id} within 30 s"))?
                .context("receiver stopped")?;
            let text = String::from_utf8_lossy(&body);
            if !text.contains(&id) {
                bail!("trial {i}: expected a notification for {id}, got: {text}");
            }
            latencies.push(arrived.duration_since(start));
        }
        let rss = daemon.peak_rss_kib();
        poller.abort();
        let _ = client.disconnect().await;
        daemon.stop()?;
        server.abort();
        super::drop_mqtt_session(&a.host, a.port, &format!("envwatch-bench-alert-{tag}")).await;
        anyhow::Ok((latencies, rss))
    });
    let (mut latencies, rss) = result?;
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p99 = percentile(&latencies, 0.99);
    println!(
        "bench alert-e2e: {} trials through `envwatch run` (judge_interval {}, water readings wake it), random pause 0..{:?} between trials, channel {} (signed) on loopback, broker {}:{}",
        a.trials, a.judge_interval, a.max_pause, a.channel, a.host, a.port
    );
    println!(
        "MQTT publish -> notification at receiver: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; daemon peak RSS {}",
        ms(percentile(&latencies, 0.50)),
        ms(p99),
        ms(latencies.last().copied().unwrap_or_default()),
        rss.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    );
    println!(
        "goal p99 < 2 s: {}",
        if p99 < Duration::from_secs(2) {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(ExitCode::SUCCESS)
}

//! MQTT channel against the real broker (scripts/test.sh sets ENVWATCH_TEST_MQTT):
//! a firing and a resolved notification arrive as JSON on `{topic}/{rule}/{subject}`,
//! each exactly once, and the Influx `envwatch_alert` line is produced for each.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use envwatch::alert::{AlertEngine, AlertsConfig, DeadLetterRate};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_published_to_the_alert_topic() {
    let addr = common::service("ENVWATCH_TEST_MQTT");
    let (host, port) = addr
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .expect("ENVWATCH_TEST_MQTT is host:port");
    let port: u16 = port.parse().expect("port");
    let topic = common::unique("envwatch_test_alerts");

    // Subscriber first, so nothing is missed.
    let mut opts = MqttOptions::new(common::unique("sub"), host.clone(), port);
    opts.set_keep_alive(Duration::from_secs(10));
    let (sub, mut events) = AsyncClient::new(opts, 16);
    sub.subscribe(format!("{topic}/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let (msg_tx, mut msgs) = tokio::sync::mpsc::unbounded_channel();
    let poller = tokio::spawn(async move {
        for _ in 0..10_000 {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = msg_tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = msg_tx.send(("<suback>".into(), vec![]));
                }
                Ok(_) => {}
                Err(e) => panic!("subscriber connection to {addr} failed: {e}"),
            }
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(5), msgs.recv()).await;
    assert!(
        matches!(&first, Ok(Some((t, _))) if t == "<suback>"),
        "no SUBACK from {host}:{port}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let cfg = AlertsConfig::from_toml_str(&format!(
        r#"
        language = "en"
        [channels.broker]
        kind = "mqtt"
        host = "{host}"
        port = {port}
        topic = "{topic}"
        client_id = "{}"
        [rules.pipeline_dead_letters]
        severity = "warning"
        channels = ["broker"]
        max_per_minute = 10.0
        "#,
        common::unique("alerts")
    ))
    .unwrap();
    let engine =
        AlertEngine::open(&tmp.path().join("a.db"), cfg, chrono_tz::Asia::Shanghai).unwrap();
    let (influx_tx, mut influx_rx) = tokio::sync::mpsc::unbounded_channel();
    engine.set_influx_sink(influx_tx);
    let cancel = CancellationToken::new();
    let task = {
        let (e, c) = (engine.clone(), cancel.clone());
        tokio::spawn(async move { e.run_notifiers(c).await.unwrap() })
    };
    let at = |m| Utc.with_ymd_and_hms(2026, 7, 1, 8, m, 0).unwrap();
    for (m, rate) in [(0, 2.0), (1, 25.0), (2, 30.0), (3, 1.0)] {
        engine
            .observe_dead_letters(&DeadLetterRate {
                pipeline: "hj212-water".into(),
                per_minute: rate,
                example_reason: Some("CRC mismatch".into()),
                now: at(m),
            })
            .unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(10), msgs.recv()).await {
            Ok(Some(m)) => got.push(m),
            _ => break,
        }
    }
    // Anything extra (a duplicate) would arrive now.
    if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), msgs.recv()).await {
        got.push(m);
    }
    cancel.cancel();
    task.await.unwrap();
    poller.abort();

    assert_eq!(got.len(), 2, "firing and resolved, once each: {got:?}");
    let want_topic = format!("{topic}/pipeline_dead_letters/hj212-water");
    // Fired on the first rate above 10/min (25), resolved on the first below (1).
    let kinds: Vec<(String, bool)> = got
        .iter()
        .zip(["25.0 per minute", "1.0 per minute"])
        .map(|((t, payload), rate)| {
            assert_eq!(t, &want_topic);
            let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
            let text = v["text"].as_str().unwrap().to_string();
            (v["kind"].as_str().unwrap().to_string(), text.contains(rate))
        })
        .collect();
    assert_eq!(
        kinds,
        vec![("firing".to_string(), true), ("resolved".to_string(), true)]
    );

    let lines: Vec<String> = std::iter::from_fn(|| influx_rx.try_recv().ok()).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("envwatch_alert,rule=pipeline_dead_letters,subject=hj212-water state=\"firing\",severity=\"warning\","),
        "{}",
        lines[0]
    );
}

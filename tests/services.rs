//! The three servers scripts/test.sh starts really answer: a write to each is read back.

mod common;

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

#[tokio::test]
async fn mosquitto_round_trip() {
    let addr = common::service("ENVWATCH_TEST_MQTT");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let port: u16 = port.parse().expect("port");
    let topic = format!("envwatch/test/{}", common::unique("svc"));
    let mut opts = MqttOptions::new(common::unique("svc"), host, port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(opts, 10);
    client
        .subscribe(&topic, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let payload = b"##0087QN=1;ST=91&&&&0000\r\n".to_vec();
    let mut published = false;
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await.expect("broker connection") {
                Event::Incoming(Packet::SubAck(_)) if !published => {
                    client
                        .publish(&topic, QoS::AtLeastOnce, false, payload.clone())
                        .await
                        .expect("publish");
                    published = true;
                }
                Event::Incoming(Packet::Publish(p)) => return p.payload.to_vec(),
                _ => {}
            }
        }
    })
    .await
    .expect("message did not come back within 10 s");
    assert_eq!(got, payload);
}

#[tokio::test]
async fn influxdb_v1_write_and_query() {
    let base = common::service("ENVWATCH_TEST_INFLUX");
    let db = common::unique("svc");
    let http = reqwest::Client::new();
    let q = |q: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let mut url = url::Url::parse(&format!("{base}/query")).expect("url");
            url.query_pairs_mut().append_pair("q", &q);
            http.post(url)
                .send()
                .await
                .expect("query")
                .text()
                .await
                .expect("body")
        }
    };
    q(format!("CREATE DATABASE {db}")).await;
    let resp = http
        .post(format!("{base}/write?db={db}&precision=s"))
        .body("air_hourly,station=1223A pm2_5=55 1573401600")
        .send()
        .await
        .expect("write");
    assert_eq!(
        resp.status().as_u16(),
        204,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let body = q(format!(
        "SELECT pm2_5 FROM {db}.autogen.air_hourly WHERE station='1223A'"
    ))
    .await;
    assert!(
        body.contains("\"2019-11-10T16:00:00Z\",55"),
        "unexpected query result: {body}"
    );
    q(format!("DROP DATABASE {db}")).await;
}

#[tokio::test]
async fn victoriametrics_v2_write_and_export() {
    let base = common::service("ENVWATCH_TEST_VM");
    let station = common::unique("st");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/api/v2/write?bucket=envwatch&precision=s"))
        .body(format!("air_hourly,station={station} pm2_5=55 1573401600"))
        .send()
        .await
        .expect("write");
    assert!(resp.status().is_success(), "{}", resp.status());
    // VictoriaMetrics makes new samples searchable after a short delay: poll, bounded.
    let mut last = String::new();
    for _ in 0..50 {
        http.get(format!("{base}/internal/force_flush"))
            .send()
            .await
            .ok();
        let mut url = url::Url::parse(&format!("{base}/api/v1/export")).expect("url");
        url.query_pairs_mut()
            .append_pair("match[]", &format!("{{station=\"{station}\"}}"));
        last = http
            .get(url)
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("body");
        if last.contains("air_hourly_pm2_5") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        last.contains("\"__name__\":\"air_hourly_pm2_5\""),
        "export: {last}"
    );
    assert!(last.contains("\"values\":[55]"), "export: {last}");
    assert!(
        last.contains("\"timestamps\":[1573401600000]"),
        "export: {last}"
    );
}

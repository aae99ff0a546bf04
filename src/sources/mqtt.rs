//! MQTT source (rumqttc, MQTT 3.1.1): QoS 1, persistent session (clean session off, fixed
//! client id), manual acks sent only after the message's readings and dead letters are
//! committed, in receive order.
//!
//! Pitfalls handled (DESIGN.md):
//! - rumqttc's event loop returns errors in a loop while the broker is down: we sleep with
//!   exponential backoff (`mqtt.reconnect_min` .. `reconnect_max`) between polls.
//! - When the broker has no session for us (`session_present = false`) we subscribe again.
//! - An ack is only valid on the connection that delivered the message: each message
//!   carries the connection generation, and acks of an older connection are dropped (the
//!   broker re-delivers those messages; the store upsert makes that harmless).
//! - rumqttc's default 10 KiB incoming limit would turn a big message into a connection
//!   error and an endless re-delivery loop; we accept packets up to the MQTT maximum and
//!   dead-letter payloads over `mqtt.max_packet_size` ourselves.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use rumqttc::{
    AsyncClient, ClientError, Event, EventLoop, MqttOptions, Packet, Publish, QoS, SubscribeFilter,
    SubscribeReasonCode, Transport,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::topic_matches;
use crate::config::daemon::MqttSettings;
use crate::ingest::{Envelope, IngestMetrics, PipelineRuntime};

/// Largest packet MQTT can carry (256 MiB - 1); see the module docs.
const MQTT_MAX_PACKET: usize = 268_435_455;

/// A topic filter and the pipeline its messages go to.
#[derive(Clone)]
pub struct MqttRoute {
    pub filter: String,
    pub pipeline: Arc<PipelineRuntime>,
}

/// Builds rumqttc options from the daemon's `[mqtt]` settings (secrets resolved here).
pub fn options(s: &MqttSettings) -> anyhow::Result<MqttOptions> {
    let mut o = MqttOptions::new(s.client_id.clone(), s.host.clone(), s.port);
    o.set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(s.keep_alive.max(Duration::from_secs(5)))
        .set_max_packet_size(MQTT_MAX_PACKET, s.max_packet_size.max(1 << 16))
        // Big enough that acks never wait for room while we hold the event loop.
        .set_request_channel_capacity(65_536);
    if let Some(user) = &s.username {
        let password = match &s.password {
            Some(p) => p.resolve().context("mqtt.password")?.expose().to_string(),
            None => String::new(),
        };
        o.set_credentials(user.clone(), password);
    }
    if s.tls {
        let transport = match &s.ca_file {
            Some(path) => {
                let ca = std::fs::read(path)
                    .with_context(|| format!("mqtt.ca_file {}", path.display()))?;
                Transport::tls(ca, None, None)
            }
            None => Transport::tls_with_default_config(),
        };
        o.set_transport(transport);
    }
    Ok(o)
}

/// A message waiting for its commit: (connection generation, the publish to ack).
type PendingAck = (u64, Publish);

/// Runs the MQTT source until `cancel` fires; then stops taking messages, waits (bounded)
/// for the queued ones to be committed, sends their acks and disconnects.
pub async fn run(
    settings: MqttSettings,
    routes: Vec<MqttRoute>,
    queue: mpsc::Sender<Envelope>,
    metrics: Arc<IngestMetrics>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let opts = options(&settings)?;
    let (client, mut eventloop) = AsyncClient::new(opts, 65_536);
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<PendingAck>();
    let filters: Vec<SubscribeFilter> = routes
        .iter()
        .map(|r| SubscribeFilter::new(r.filter.clone(), QoS::AtLeastOnce))
        .collect();
    let mut generation: u64 = 0;
    let mut backoff = settings.reconnect_min;
    let mut to_ack: VecDeque<Publish> = VecDeque::new();
    tracing::info!(
        host = %settings.host, port = settings.port, client_id = %settings.client_id,
        filters = routes.len(), "MQTT source starting"
    );

    loop {
        flush_acks(&client, &mut to_ack, &metrics);
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            Some((g, p)) = ack_rx.recv() => {
                queue_ack(g, p, generation, &mut to_ack, &metrics);
            }
            ev = eventloop.poll() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(ca))) => {
                    generation += 1;
                    backoff = settings.reconnect_min;
                    metrics.connects.fetch_add(1, Ordering::Relaxed);
                    // Acks of the old connection are void.
                    to_ack.clear();
                    tracing::info!(session_present = ca.session_present, "MQTT connected");
                    if !ca.session_present {
                        metrics.subscribed.store(false, Ordering::Relaxed);
                        if let Err(e) = client.try_subscribe_many(filters.clone()) {
                            tracing::error!(error = %e, "cannot queue MQTT subscribe");
                        }
                    } else {
                        metrics.subscribed.store(true, Ordering::Relaxed);
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(sa))) => {
                    let failed = sa
                        .return_codes
                        .iter()
                        .filter(|c| matches!(c, SubscribeReasonCode::Failure))
                        .count();
                    if failed > 0 {
                        tracing::error!(failed, "broker refused {failed} MQTT subscription(s)");
                    } else {
                        tracing::info!(filters = sa.return_codes.len(), "MQTT subscribed");
                    }
                    metrics.subscribed.store(true, Ordering::Relaxed);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let env = handle_publish(&routes, &p, generation, &ack_tx);
                    // Back-pressure: wait for room in the store queue, but stay cancellable.
                    tokio::select! {
                        r = queue.send(env) => if r.is_err() {
                            anyhow::bail!("store writer stopped");
                        },
                        _ = cancel.cancelled() => break,
                    }
                }
                Ok(Event::Incoming(Packet::Disconnect)) => {
                    tracing::warn!("MQTT broker sent DISCONNECT");
                }
                Ok(_) => {}
                Err(e) => {
                    metrics.connection_errors.fetch_add(1, Ordering::Relaxed);
                    metrics.subscribed.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, retry_in = ?backoff, "MQTT connection error");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = cancel.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(settings.reconnect_max.max(settings.reconnect_min));
                }
            }
        }
    }

    // Shutdown: no new messages; the writer commits what is queued and its callbacks send
    // us the acks; when every callback is done the ack channel closes.
    drop(queue);
    drop(ack_tx);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let mut connected = generation > 0;
    loop {
        flush_acks(&client, &mut to_ack, &metrics);
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                tracing::warn!("shutdown: gave up waiting for commits; unacked messages will be re-delivered");
                break;
            }
            a = ack_rx.recv() => match a {
                Some((g, p)) => queue_ack(g, p, generation, &mut to_ack, &metrics),
                None => break,
            },
            ev = eventloop.poll(), if connected => {
                if ev.is_err() { connected = false; }
            }
        }
    }
    flush_acks(&client, &mut to_ack, &metrics);
    if connected {
        let _ = client.try_disconnect();
        let until = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(Ok(ev)) = tokio::time::timeout_at(until, eventloop.poll()).await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    }
    tracing::info!("MQTT source stopped");
    Ok(())
}

fn queue_ack(
    g: u64,
    p: Publish,
    generation: u64,
    to_ack: &mut VecDeque<Publish>,
    metrics: &IngestMetrics,
) {
    if g == generation {
        to_ack.push_back(p);
    } else {
        metrics.stale_acks_dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Hands queued acks to rumqttc's request channel (in order); stops when it is full.
fn flush_acks(client: &AsyncClient, to_ack: &mut VecDeque<Publish>, metrics: &IngestMetrics) {
    while let Some(p) = to_ack.front() {
        match client.try_ack(p) {
            Ok(()) => {
                metrics.acks_sent.fetch_add(1, Ordering::Relaxed);
                to_ack.pop_front();
            }
            Err(ClientError::TryRequest(_)) | Err(ClientError::Request(_)) => break,
        }
    }
}

fn handle_publish(
    routes: &[MqttRoute],
    p: &Publish,
    generation: u64,
    ack_tx: &mpsc::UnboundedSender<PendingAck>,
) -> Envelope {
    let topic = p.topic.as_str();
    let origin = format!("mqtt:{topic}");
    let now = chrono::Utc::now();
    let mut env = match routes.iter().find(|r| topic_matches(&r.filter, topic)) {
        Some(r) => r.pipeline.process(&p.payload, &origin, topic, now),
        None => Envelope {
            dead_letter: Some(crate::store::DeadLetter::new(
                now,
                "",
                origin,
                format!("no_pipeline: no pipeline subscribes topic \"{topic}\""),
                &p.payload,
            )),
            ..Envelope::default()
        },
    };
    if p.qos != QoS::AtMostOnce {
        let tx = ack_tx.clone();
        // Only the packet identity is needed for the ack; drop the payload.
        let mut ack = Publish::new("", p.qos, Vec::new());
        ack.pkid = p.pkid;
        env.on_commit = Some(Box::new(move || {
            let _ = tx.send((generation, ack));
        }));
    }
    env
}

/// Connects (bounded by `timeout`) and returns once the broker answered CONNACK: used by
/// `check-config --probe` and tests.
pub async fn probe(settings: &MqttSettings, timeout: Duration) -> anyhow::Result<()> {
    let mut o = options(settings)?;
    o.set_clean_session(true)
        .set_client_id(format!("{}-probe", settings.client_id));
    let (_client, mut el): (AsyncClient, EventLoop) = AsyncClient::new(o, 10);
    tokio::time::timeout(timeout, async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "MQTT {}:{}: {e}",
                        settings.host,
                        settings.port
                    ));
                }
            }
        }
    })
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "MQTT {}:{}: no CONNACK within {timeout:?}",
            settings.host,
            settings.port
        )
    })?
}

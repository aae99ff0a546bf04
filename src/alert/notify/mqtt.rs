//! MQTT channel: publishes the notification JSON (QoS 1) to `{topic}/{rule}/{subject}`
//! and counts it delivered only when the broker's PUBACK arrives. One connection per
//! channel, kept open by its own event-loop task (with a reconnect pause: rumqttc has
//! no backoff of its own).

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use super::SendError;
use crate::alert::notification::Notification;
use crate::config::Secret;

/// Where and how to publish.
pub struct MqttTarget {
    pub host: String,
    pub port: u16,
    pub topic: String,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub retain: bool,
    pub timeout: Duration,
}

pub struct MqttNotifier {
    client: AsyncClient,
    acks: Mutex<mpsc::Receiver<()>>,
    topic: String,
    retain: bool,
    timeout: Duration,
    task: JoinHandle<()>,
}

impl Drop for MqttNotifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Topic levels may not contain wildcards or separators from subject names.
fn level(s: &str) -> String {
    s.chars()
        .map(|c| if matches!(c, '/' | '+' | '#') { '_' } else { c })
        .collect()
}

impl MqttNotifier {
    /// Starts the connection task (inside a Tokio runtime).
    pub fn connect(t: MqttTarget) -> MqttNotifier {
        let mut opts = MqttOptions::new(t.client_id, t.host, t.port);
        opts.set_keep_alive(Duration::from_secs(30));
        if let Some(u) = t.username {
            let p = t
                .password
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default();
            opts.set_credentials(u, p);
        }
        let (client, mut eventloop) = AsyncClient::new(opts, 16);
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            let mut pause = Duration::from_millis(200);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = tx.try_send(());
                        pause = Duration::from_millis(200);
                    }
                    Ok(_) => pause = Duration::from_millis(200),
                    Err(e) => {
                        tracing::warn!(error = %e, "alert MQTT channel: connection failed; retrying");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(30));
                    }
                }
            }
        });
        MqttNotifier {
            client,
            acks: Mutex::new(rx),
            topic: t.topic.trim_end_matches('/').to_string(),
            retain: t.retain,
            timeout: t.timeout,
            task,
        }
    }

    /// The topic a notification goes to.
    pub fn topic_for(&self, n: &Notification) -> String {
        format!("{}/{}/{}", self.topic, n.rule.name(), level(&n.subject))
    }

    pub async fn send(&self, n: &Notification) -> Result<(), SendError> {
        let payload = serde_json::to_vec(n).map_err(|e| SendError(e.to_string()))?;
        // One publish in flight per channel (the worker is sequential), so the next
        // PUBACK is ours; stale acks from a timed-out attempt are drained first.
        let mut acks = self.acks.lock().await;
        while acks.try_recv().is_ok() {}
        let topic = self.topic_for(n);
        let publish = async {
            self.client
                .publish(topic, QoS::AtLeastOnce, self.retain, payload)
                .await
                .map_err(|e| SendError(format!("MQTT publish: {e}")))?;
            acks.recv()
                .await
                .ok_or_else(|| SendError("MQTT connection task ended".into()))
        };
        tokio::time::timeout(self.timeout, publish)
            .await
            .map_err(|_| SendError(format!("MQTT: no PUBACK within {:?}", self.timeout)))?
    }
}

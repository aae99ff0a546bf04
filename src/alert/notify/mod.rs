//! Channels: where notifications go. Each channel type is one file; [`Notifier`] is the
//! closed set the outbox worker dispatches over (no trait objects needed for four kinds).

pub mod dingtalk;
pub mod influx;
pub mod mqtt;
pub mod webhook;
pub mod wecom;

use std::time::Duration;

use super::config::ChannelConfig;
use super::notification::Notification;
use crate::config::secret::SecretError;

/// A delivery attempt failed; every failure is retried with backoff. The message never
/// contains secrets (URLs with tokens are stripped from HTTP errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

impl SendError {
    pub(crate) fn http(e: reqwest::Error) -> SendError {
        SendError(e.without_url().to_string())
    }
}

/// A channel could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("channel \"{channel}\" {key}: {source}")]
    Secret {
        channel: String,
        key: &'static str,
        source: SecretError,
    },
    #[error("channel \"{channel}\": url: {reason}")]
    Url { channel: String, reason: String },
}

/// A ready-to-use channel.
pub enum Notifier {
    Webhook(webhook::WebhookNotifier),
    DingTalk(dingtalk::DingTalkNotifier),
    WeCom(wecom::WeComNotifier),
    Mqtt(mqtt::MqttNotifier),
}

fn secret(
    channel: &str,
    key: &'static str,
    r: &crate::config::SecretRef,
) -> Result<crate::config::Secret, BuildError> {
    r.resolve().map_err(|source| BuildError::Secret {
        channel: channel.to_string(),
        key,
        source,
    })
}

fn parse_url(channel: &str, u: &str) -> Result<url::Url, BuildError> {
    url::Url::parse(u).map_err(|e| BuildError::Url {
        channel: channel.to_string(),
        reason: format!("\"{u}\": {e}"),
    })
}

impl Notifier {
    /// Resolves the channel's secrets and builds it. MQTT channels start their
    /// connection task, so this must run inside a Tokio runtime.
    pub fn build(
        name: &str,
        cfg: &ChannelConfig,
        http: &reqwest::Client,
    ) -> Result<Notifier, BuildError> {
        let timeout = cfg.settings().timeout;
        Ok(match cfg {
            ChannelConfig::Webhook { url, secret: s, .. } => {
                Notifier::Webhook(webhook::WebhookNotifier {
                    url: parse_url(name, url)?,
                    secret: s.as_ref().map(|s| secret(name, "secret", s)).transpose()?,
                    http: http.clone(),
                    timeout,
                })
            }
            ChannelConfig::Dingtalk {
                url,
                access_token,
                secret: s,
                ..
            } => Notifier::DingTalk(dingtalk::DingTalkNotifier {
                url: parse_url(name, url)?,
                access_token: secret(name, "access_token", access_token)?,
                secret: s.as_ref().map(|s| secret(name, "secret", s)).transpose()?,
                http: http.clone(),
                timeout,
            }),
            ChannelConfig::Wecom { url, key, .. } => Notifier::WeCom(wecom::WeComNotifier {
                url: parse_url(name, url)?,
                key: secret(name, "key", key)?,
                http: http.clone(),
                timeout,
            }),
            ChannelConfig::Mqtt {
                host,
                port,
                topic,
                client_id,
                username,
                password,
                retain,
                ..
            } => {
                let password = password
                    .as_ref()
                    .map(|p| secret(name, "password", p))
                    .transpose()?;
                Notifier::Mqtt(mqtt::MqttNotifier::connect(mqtt::MqttTarget {
                    host: host.clone(),
                    port: *port,
                    topic: topic.clone(),
                    client_id: client_id.clone(),
                    username: username.clone(),
                    password,
                    retain: *retain,
                    timeout,
                }))
            }
        })
    }

    /// Delivers one notification; Ok only when the far end accepted it.
    pub async fn send(&self, n: &Notification) -> Result<(), SendError> {
        match self {
            Notifier::Webhook(w) => w.send(n).await,
            Notifier::DingTalk(d) => d.send(n).await,
            Notifier::WeCom(w) => w.send(n).await,
            Notifier::Mqtt(m) => m.send(n).await,
        }
    }
}

/// Reads at most `limit` bytes of a response body for an error message.
pub(crate) async fn body_excerpt(resp: reqwest::Response, limit: usize) -> String {
    match resp.text().await {
        Ok(t) => t.chars().take(limit).collect(),
        Err(_) => String::new(),
    }
}

/// Shared HTTP client for the HTTP channels (connection reuse; rustls).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("envwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

//! Generic webhook: POST of the [`Notification`] as JSON. With a secret, the request is
//! signed so the receiver can tell envwatch from anyone else on the network:
//! `X-Envwatch-Signature: sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))` with
//! `X-Envwatch-Timestamp` (unix seconds; receivers should reject old ones to stop replays).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{SendError, body_excerpt};
use crate::alert::notification::Notification;
use crate::config::Secret;

pub const SIGNATURE_HEADER: &str = "X-Envwatch-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Envwatch-Timestamp";
/// The notification id, for receivers that dedup.
pub const ID_HEADER: &str = "X-Envwatch-Id";

pub struct WebhookNotifier {
    pub url: url::Url,
    pub secret: Option<Secret>,
    pub http: reqwest::Client,
    pub timeout: Duration,
}

/// `sha256=` + lowercase hex HMAC-SHA256 of `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookNotifier {
    pub async fn send(&self, n: &Notification) -> Result<(), SendError> {
        let body = serde_json::to_vec(n).map_err(|e| SendError(e.to_string()))?;
        let mut req = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .header("Content-Type", "application/json")
            .header(ID_HEADER, &n.id);
        if let Some(s) = &self.secret {
            let ts = chrono::Utc::now().timestamp();
            req = req
                .header(TIMESTAMP_HEADER, ts.to_string())
                .header(SIGNATURE_HEADER, signature(s.expose(), ts, &body));
        }
        let resp = req.body(body).send().await.map_err(SendError::http)?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError(format!(
                "webhook answered HTTP {status}: {}",
                body_excerpt(resp, 200).await
            )))
        }
    }
}

//! DingTalk custom robot (钉钉自定义机器人): markdown message to
//! `robot/send?access_token=T&timestamp=MS&sign=S` where
//! `S = urlencode(base64(HMAC-SHA256(key = secret, "{MS}\n{secret}")))` (the robot's
//! 加签 security setting). DingTalk answers HTTP 200 even on failure; the JSON `errcode`
//! says whether the message was taken (0) — anything else is a failure and retried
//! (e.g. 410100 "send too fast", 310000 signature mismatch).

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{SendError, body_excerpt};
use crate::alert::notification::Notification;
use crate::config::Secret;

pub struct DingTalkNotifier {
    pub url: url::Url,
    pub access_token: Secret,
    pub secret: Option<Secret>,
    pub http: reqwest::Client,
    pub timeout: Duration,
}

/// base64 of HMAC-SHA256(key = secret, "{timestamp_ms}\n{secret}") — before URL encoding.
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The request URL with token, timestamp and signature (the `url` crate percent-encodes
/// the base64 `+`, `/` and `=`).
pub fn signed_url(
    base: &url::Url,
    token: &str,
    secret: Option<&str>,
    timestamp_ms: i64,
) -> url::Url {
    let mut u = base.clone();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("access_token", token);
        if let Some(s) = secret {
            q.append_pair("timestamp", &timestamp_ms.to_string());
            q.append_pair("sign", &sign(s, timestamp_ms));
        }
    }
    u
}

/// The robot's markdown message body.
pub fn message(n: &Notification) -> serde_json::Value {
    serde_json::json!({
        "msgtype": "markdown",
        "markdown": { "title": n.title, "text": n.text },
    })
}

#[derive(Debug, Deserialize)]
struct RobotAnswer {
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Checks a robot's JSON answer (DingTalk and WeCom share the shape).
pub(crate) async fn check_answer(resp: reqwest::Response, who: &str) -> Result<(), SendError> {
    let status = resp.status();
    if !status.is_success() {
        return Err(SendError(format!(
            "{who} answered HTTP {status}: {}",
            body_excerpt(resp, 200).await
        )));
    }
    let text = body_excerpt(resp, 4096).await;
    match serde_json::from_str::<RobotAnswer>(&text) {
        Ok(a) if a.errcode == 0 => Ok(()),
        Ok(a) => Err(SendError(format!(
            "{who} refused the message: errcode {} {}",
            a.errcode, a.errmsg
        ))),
        Err(e) => Err(SendError(format!(
            "{who} answer is not the expected JSON ({e}): {}",
            text.chars().take(200).collect::<String>()
        ))),
    }
}

impl DingTalkNotifier {
    pub async fn send(&self, n: &Notification) -> Result<(), SendError> {
        let ts = chrono::Utc::now().timestamp_millis();
        let url = signed_url(
            &self.url,
            self.access_token.expose(),
            self.secret.as_ref().map(|s| s.expose()),
            ts,
        );
        let resp = self
            .http
            .post(url)
            .timeout(self.timeout)
            .json(&message(n))
            .send()
            .await
            .map_err(SendError::http)?;
        check_answer(resp, "DingTalk").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_an_independent_hmac() {
        // Known answer computed with Python's hmac/hashlib/base64 (not by this code):
        // base64(hmac.new(b"SEC123", b"1700000000000\nSEC123", sha256).digest())
        assert_eq!(
            sign("SEC123", 1_700_000_000_000),
            "lkcPI1uoxBY1gUnCnnPH1Kkru0Hqjo7rFpA3haIVhEQ="
        );
    }
}

//! WeCom group robot (企业微信群机器人): markdown message to `webhook/send?key=K`. Like
//! DingTalk it answers HTTP 200 with `errcode` (0 = taken). WeCom markdown is limited
//! to 4096 bytes, so longer texts are cut at a character boundary.

use std::time::Duration;

use super::SendError;
use super::dingtalk::check_answer;
use crate::alert::notification::Notification;
use crate::config::Secret;

pub struct WeComNotifier {
    pub url: url::Url,
    pub key: Secret,
    pub http: reqwest::Client,
    pub timeout: Duration,
}

const MAX_BYTES: usize = 4096;

/// The robot's markdown message body.
pub fn message(n: &Notification) -> serde_json::Value {
    let mut content = n.text.clone();
    if content.len() > MAX_BYTES {
        let mut cut = MAX_BYTES;
        while !content.is_char_boundary(cut) {
            cut -= 1;
        }
        content.truncate(cut);
    }
    serde_json::json!({ "msgtype": "markdown", "markdown": { "content": content } })
}

impl WeComNotifier {
    pub async fn send(&self, n: &Notification) -> Result<(), SendError> {
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair("key", self.key.expose());
        let resp = self
            .http
            .post(url)
            .timeout(self.timeout)
            .json(&message(n))
            .send()
            .await
            .map_err(SendError::http)?;
        check_answer(resp, "WeCom").await
    }
}

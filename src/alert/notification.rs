//! The message every channel delivers, in one shape: the webhook and MQTT channels send
//! it as JSON, the robots send its markdown, Influx gets a point from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::Severity;
use super::rules::{Fact, RuleKind};

/// Why a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    Firing,
    /// A long-firing alert reminded after the repeat interval.
    Repeat,
    Resolved,
    /// `envwatch alerts test RULE`.
    Test,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Firing => "firing",
            NotificationKind::Repeat => "repeat",
            NotificationKind::Resolved => "resolved",
            NotificationKind::Test => "test",
        }
    }
}

/// One notification about one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `rule/subject/n`: stable across retries and restarts, so receivers can dedup.
    pub id: String,
    pub rule: RuleKind,
    pub subject: String,
    pub kind: NotificationKind,
    pub severity: Severity,
    /// The period the triggering fact is about.
    pub at: DateTime<Utc>,
    /// When envwatch decided to notify.
    pub created_at: DateTime<Utc>,
    pub title: String,
    /// Markdown body (DingTalk / WeCom subset: headings, lists, bold).
    pub text: String,
    pub fact: Fact,
}

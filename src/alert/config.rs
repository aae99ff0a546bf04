//! `[alerts]` in `config/envwatch.toml`: channels (where messages go) and rules (what
//! deserves a message), typed so that a typo is a `file:line:col` error in
//! `check-config`, not a silent never-firing rule.
//!
//! ```toml
//! [alerts]
//! language = "zh"
//! [alerts.channels.duty]
//! kind = "dingtalk"
//! access_token = "env:ENVWATCH_DINGTALK_TOKEN"
//! secret = "env:ENVWATCH_DINGTALK_SECRET"
//! [alerts.rules.water_inferior_v]
//! severity = "critical"
//! channels = ["duty"]
//! period = "reading"
//! fire_after = 2
//! resolve_after = 2
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::SecretRef;

/// Message language. The bureau's staff read Chinese, so Chinese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Zh,
    En,
}

/// How urgent a rule is; shown in messages and used by receivers to route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    #[default]
    Major,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The whole `[alerts]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Master switch: with `false` nothing is evaluated or sent.
    pub enabled: bool,
    pub language: Language,
    /// How often a still-firing alert is repeated (rules may override; `0s` = never).
    #[serde(with = "humantime_serde")]
    pub repeat_interval: Duration,
    /// Named channels; rules refer to them by name.
    pub channels: BTreeMap<String, ChannelConfig>,
    pub rules: RulesConfig,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            enabled: true,
            language: Language::Zh,
            repeat_interval: Duration::from_secs(4 * 3600),
            channels: BTreeMap::new(),
            rules: RulesConfig::default(),
        }
    }
}

/// A config problem inside `[alerts]`, with the key path it is about (so the loader can
/// point at `file:line:col`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertConfigProblem {
    /// Key path below the document root, e.g. `["alerts", "rules", "station_silent", "channels"]`.
    pub path: Vec<String>,
    pub message: String,
}

/// Why `[alerts]` could not be used (for callers without a file, e.g. tests).
#[derive(Debug, thiserror::Error)]
pub enum AlertConfigError {
    #[error("[alerts]: {0}")]
    Parse(String),
    #[error("{}: {}", .0.path.join("."), .0.message)]
    Invalid(AlertConfigProblem),
}

impl AlertsConfig {
    /// Parses and validates an `[alerts]` table (already separated from its file).
    pub fn from_table(table: &toml::Table) -> Result<AlertsConfig, AlertConfigError> {
        let cfg: AlertsConfig = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| AlertConfigError::Parse(e.message().to_string()))?;
        if let Some(p) = cfg.problems().into_iter().next() {
            return Err(AlertConfigError::Invalid(p));
        }
        Ok(cfg)
    }

    /// Parses `[alerts]` from TOML text holding the table's content (tests, tools).
    pub fn from_toml_str(text: &str) -> Result<AlertsConfig, AlertConfigError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| AlertConfigError::Parse(e.to_string()))?;
        AlertsConfig::from_table(&table)
    }

    /// Everything wrong that serde cannot see: rules naming unknown or duplicate
    /// channels, zero thresholds, and secrets that do not resolve for ENABLED channels
    /// (a disabled channel may reference a variable that is unset on this machine).
    pub fn problems(&self) -> Vec<AlertConfigProblem> {
        let mut out = Vec::new();
        let mut push = |path: &[&str], message: String| {
            out.push(AlertConfigProblem {
                path: path.iter().map(|s| s.to_string()).collect(),
                message,
            })
        };
        for (name, ch) in &self.channels {
            let common = ch.common();
            if common.rate_limit.messages == 0 || common.rate_limit.per.is_zero() {
                push(
                    &["alerts", "channels", name, "rate_limit"],
                    format!("channel \"{name}\": rate_limit needs messages > 0 and per > 0"),
                );
            }
            if common.retry.initial_backoff.is_zero() {
                push(
                    &["alerts", "channels", name, "retry"],
                    format!("channel \"{name}\": retry.initial_backoff must be > 0"),
                );
            }
            if !common.enabled || !self.enabled {
                continue;
            }
            for (key, secret) in ch.secrets() {
                if let Err(e) = secret.resolve() {
                    push(
                        &["alerts", "channels", name, key],
                        format!("channel \"{name}\" {key}: {e} (disable the channel or set it)"),
                    );
                }
            }
            if let Some(u) = ch.url()
                && let Err(e) = url::Url::parse(u)
            {
                push(
                    &["alerts", "channels", name, "url"],
                    format!("channel \"{name}\": url \"{u}\" is not a URL: {e}"),
                );
            }
        }
        for (rule, common) in self.rules.iter() {
            let Some(common) = common else { continue };
            for ch in &common.channels {
                if !self.channels.contains_key(ch) {
                    push(
                        &["alerts", "rules", rule, "channels"],
                        format!(
                            "rule {rule}: channel \"{ch}\" is not defined under [alerts.channels] (defined: {})",
                            self.channels.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
            if common.fire_after == 0 || common.resolve_after == 0 {
                push(
                    &["alerts", "rules", rule],
                    format!("rule {rule}: fire_after and resolve_after must be at least 1"),
                );
            }
        }
        out
    }

    /// The repeat interval of a rule (`None` = never repeat).
    pub fn repeat_for(&self, common: &RuleCommon) -> Option<Duration> {
        let d = common.repeat_interval.unwrap_or(self.repeat_interval);
        (!d.is_zero()).then_some(d)
    }
}

fn yes() -> bool {
    true
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Resolved common settings (defaults filled per channel kind).
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    pub enabled: bool,
    pub rate_limit: RateLimit,
    pub retry: Retry,
    pub timeout: Duration,
}

/// At most `messages` per `per` (sliding window). DingTalk and WeCom robots accept
/// about 20 messages per minute and throttle the robot for minutes when exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub messages: u32,
    #[serde(with = "humantime_serde")]
    pub per: Duration,
}

/// Exponential backoff between attempts; after `max_attempts` the message is marked
/// failed (kept in the outbox and shown by `alerts list`), so one dead channel cannot
/// block its queue forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retry {
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 30,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// One notification channel, as written: every key of every kind, so that serde's
/// `deny_unknown_fields` catches typos (serde cannot deny unknown fields through
/// `flatten`); [`ChannelConfig`] checks which keys belong to which kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    kind: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    rate_limit: Option<RateLimit>,
    #[serde(default)]
    retry: Option<Retry>,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    timeout: Duration,
    url: Option<String>,
    secret: Option<SecretRef>,
    access_token: Option<SecretRef>,
    key: Option<SecretRef>,
    host: Option<String>,
    port: Option<u16>,
    topic: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    password: Option<SecretRef>,
    retain: Option<bool>,
}

/// Settings every channel has.
#[derive(Debug, Clone)]
pub struct ChannelCommon {
    pub enabled: bool,
    pub rate_limit: Option<RateLimit>,
    pub retry: Option<Retry>,
    /// One HTTP request / publish may take at most this long.
    pub timeout: Duration,
}

/// One notification channel (`kind = "webhook" | "dingtalk" | "wecom" | "mqtt"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawChannel")]
pub enum ChannelConfig {
    /// Generic webhook: POST of the notification as JSON. With `secret`,
    /// `X-Envwatch-Signature: sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`.
    Webhook {
        url: String,
        secret: Option<SecretRef>,
        common: ChannelCommon,
    },
    /// DingTalk custom robot (钉钉自定义机器人), markdown message, signed with the
    /// robot's 加签 `secret` (`SEC...`).
    Dingtalk {
        url: String,
        access_token: SecretRef,
        secret: Option<SecretRef>,
        common: ChannelCommon,
    },
    /// WeCom group robot (企业微信群机器人), markdown message.
    Wecom {
        url: String,
        key: SecretRef,
        common: ChannelCommon,
    },
    /// MQTT publish of the notification JSON to `{topic}/{rule}/{subject}`.
    Mqtt {
        host: String,
        port: u16,
        topic: String,
        client_id: String,
        username: Option<String>,
        password: Option<SecretRef>,
        /// Keep the last alert per rule/subject on the broker for late subscribers.
        retain: bool,
        common: ChannelCommon,
    },
}

impl TryFrom<RawChannel> for ChannelConfig {
    type Error = String;

    fn try_from(r: RawChannel) -> Result<Self, String> {
        let common = ChannelCommon {
            enabled: r.enabled,
            rate_limit: r.rate_limit,
            retry: r.retry,
            timeout: r.timeout,
        };
        let present: [(&str, bool); 11] = [
            ("url", r.url.is_some()),
            ("secret", r.secret.is_some()),
            ("access_token", r.access_token.is_some()),
            ("key", r.key.is_some()),
            ("host", r.host.is_some()),
            ("port", r.port.is_some()),
            ("topic", r.topic.is_some()),
            ("client_id", r.client_id.is_some()),
            ("username", r.username.is_some()),
            ("password", r.password.is_some()),
            ("retain", r.retain.is_some()),
        ];
        let allowed: &[&str] = match r.kind.as_str() {
            "webhook" => &["url", "secret"],
            "dingtalk" => &["url", "access_token", "secret"],
            "wecom" => &["url", "key"],
            "mqtt" => &[
                "host",
                "port",
                "topic",
                "client_id",
                "username",
                "password",
                "retain",
            ],
            other => {
                return Err(format!(
                    "unknown channel kind \"{other}\" (expected webhook, dingtalk, wecom or mqtt)"
                ));
            }
        };
        if let Some((k, _)) = present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
            return Err(format!(
                "`{k}` is not a setting of a {} channel (its settings: {})",
                r.kind,
                allowed.join(", ")
            ));
        }
        let need = |v: Option<SecretRef>, k: &str| {
            v.ok_or_else(|| format!("a {} channel needs `{k}` (env:NAME or file:PATH)", r.kind))
        };
        Ok(match r.kind.as_str() {
            "webhook" => ChannelConfig::Webhook {
                url: r
                    .url
                    .ok_or_else(|| "a webhook channel needs `url`".to_string())?,
                secret: r.secret,
                common,
            },
            "dingtalk" => ChannelConfig::Dingtalk {
                url: r.url.unwrap_or_else(dingtalk_url),
                access_token: need(r.access_token, "access_token")?,
                secret: r.secret,
                common,
            },
            "wecom" => ChannelConfig::Wecom {
                url: r.url.unwrap_or_else(wecom_url),
                key: need(r.key, "key")?,
                common,
            },
            _ => ChannelConfig::Mqtt {
                host: r.host.unwrap_or_else(loopback),
                port: r.port.unwrap_or(1883),
                topic: r.topic.unwrap_or_else(mqtt_topic),
                client_id: r.client_id.unwrap_or_else(mqtt_client_id),
                username: r.username,
                password: r.password,
                retain: r.retain.unwrap_or(false),
                common,
            },
        })
    }
}

fn dingtalk_url() -> String {
    "https://oapi.dingtalk.com/robot/send".into()
}
fn wecom_url() -> String {
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send".into()
}
fn loopback() -> String {
    "127.0.0.1".into()
}
fn mqtt_topic() -> String {
    "envwatch/alerts".into()
}
fn mqtt_client_id() -> String {
    "envwatch-alerts".into()
}

impl ChannelConfig {
    fn common(&self) -> ChannelSettings {
        let (c, default_rate) = match self {
            ChannelConfig::Webhook { common, .. } => (common, (60, 60)),
            // DingTalk: "每个机器人每分钟最多发送20条消息"; WeCom: 20 per minute too.
            ChannelConfig::Dingtalk { common, .. } | ChannelConfig::Wecom { common, .. } => {
                (common, (20, 60))
            }
            ChannelConfig::Mqtt { common, .. } => (common, (1000, 1)),
        };
        ChannelSettings {
            enabled: c.enabled,
            rate_limit: c.rate_limit.unwrap_or(RateLimit {
                messages: default_rate.0,
                per: Duration::from_secs(default_rate.1),
            }),
            retry: c.retry.unwrap_or_default(),
            timeout: c.timeout,
        }
    }

    /// Resolved common settings.
    pub fn settings(&self) -> ChannelSettings {
        self.common()
    }

    /// `webhook`, `dingtalk`, `wecom`, `mqtt`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Dingtalk { .. } => "dingtalk",
            ChannelConfig::Wecom { .. } => "wecom",
            ChannelConfig::Mqtt { .. } => "mqtt",
        }
    }

    fn url(&self) -> Option<&str> {
        match self {
            ChannelConfig::Webhook { url, .. }
            | ChannelConfig::Dingtalk { url, .. }
            | ChannelConfig::Wecom { url, .. } => Some(url),
            ChannelConfig::Mqtt { .. } => None,
        }
    }

    /// Secret references with their key names.
    pub fn secrets(&self) -> Vec<(&'static str, &SecretRef)> {
        match self {
            ChannelConfig::Webhook { secret, .. } => secret.iter().map(|s| ("secret", s)).collect(),
            ChannelConfig::Dingtalk {
                access_token,
                secret,
                ..
            } => std::iter::once(("access_token", access_token))
                .chain(secret.iter().map(|s| ("secret", s)))
                .collect(),
            ChannelConfig::Wecom { key, .. } => vec![("key", key)],
            ChannelConfig::Mqtt { password, .. } => {
                password.iter().map(|s| ("password", s)).collect()
            }
        }
    }
}

/// Settings every rule has. Hysteresis: the condition must hold for `fire_after`
/// consecutive periods (and, if set, for `for` since it first held) before the alert
/// fires; it must be clear for `resolve_after` consecutive periods before it resolves.
#[derive(Debug, Clone)]
pub struct RuleCommon {
    pub enabled: bool,
    pub severity: Severity,
    pub channels: Vec<String>,
    pub fire_after: u32,
    pub resolve_after: u32,
    /// Minimum time the condition must have held (observation time) before firing.
    pub hold_for: Option<Duration>,
    /// Overrides `[alerts] repeat_interval` for this rule.
    pub repeat_interval: Option<Duration>,
}

fn one() -> u32 {
    1
}

/// Declares a rule's config: the common keys plus its own, all in one serde struct
/// with `deny_unknown_fields` (which serde cannot enforce through `flatten`), exposed
/// as `common` + the rule's own fields.
macro_rules! rule_config {
    ($(#[$m:meta])* $name:ident / $raw:ident { $( $(#[$fm:meta])* $f:ident : $t:ty ),* $(,)? }) => {
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $raw {
            #[serde(default = "yes")]
            enabled: bool,
            #[serde(default)]
            severity: Severity,
            #[serde(default)]
            channels: Vec<String>,
            #[serde(default = "one")]
            fire_after: u32,
            #[serde(default = "one")]
            resolve_after: u32,
            #[serde(default, rename = "for", with = "humantime_serde")]
            hold_for: Option<Duration>,
            #[serde(default, with = "humantime_serde")]
            repeat_interval: Option<Duration>,
            $( $(#[$fm])* $f: $t, )*
        }

        $(#[$m])*
        #[derive(Debug, Clone)]
        pub struct $name {
            pub common: RuleCommon,
            $( pub $f: $t, )*
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $raw::deserialize(d).map(Into::into)
            }
        }

        impl From<$raw> for $name {
            fn from(r: $raw) -> Self {
                $name {
                    common: RuleCommon {
                        enabled: r.enabled,
                        severity: r.severity,
                        channels: r.channels,
                        fire_after: r.fire_after,
                        resolve_after: r.resolve_after,
                        hold_for: r.hold_for,
                        repeat_interval: r.repeat_interval,
                    },
                    $( $f: r.$f, )*
                }
            }
        }
    };
}

/// Which water result drives a water rule: each reading's class (real-time platform
/// practice) or the class of the daily mean (formal evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WaterPeriod {
    #[default]
    Reading,
    Day,
}

rule_config!(
    /// A section's class becomes 劣V.
    WaterInferiorVRule / RawWaterInferiorV { #[serde(default)] period: WaterPeriod }
);
rule_config!(
    /// A section worse than its target class; give `for = "24h"` for "that long".
    WaterTargetMissedRule / RawWaterTargetMissed { #[serde(default)] period: WaterPeriod }
);
rule_config!(
    /// A drinking-water source worse than its target (and never worse than III).
    DrinkingSourceRule / RawDrinkingSource { #[serde(default)] period: WaterPeriod }
);
rule_config!(
    /// A city's daily AQI above `aqi_above` (HJ 633: > 100 is not a good day).
    AirPollutedDayRule / RawAirPollutedDay { #[serde(default = "aqi_100")] aqi_above: u16 }
);
rule_config!(
    /// Year-to-date good-day ratio below `min_ratio`, or the target no longer reachable.
    AirTargetRule / RawAirTarget { #[serde(default = "ratio_80")] min_ratio: f64 }
);
rule_config!(
    /// No valid reading from a site for `silent_for`.
    StationSilentRule / RawStationSilent {
        #[serde(with = "humantime_serde", default = "thirty_min")]
        silent_for: Duration
    }
);
rule_config!(
    /// Dead letters per minute above `max_per_minute`.
    DeadLetterRule / RawDeadLetter { max_per_minute: f64 }
);
rule_config!(
    /// Points waiting in an outbox above `max_points`.
    OutboxBacklogRule / RawOutboxBacklog { max_points: u64 }
);

fn aqi_100() -> u16 {
    100
}

fn ratio_80() -> f64 {
    0.80
}

fn thirty_min() -> Duration {
    Duration::from_secs(1800)
}

/// `[alerts.rules.*]`: one optional table per rule; an absent rule is off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    pub water_inferior_v: Option<WaterInferiorVRule>,
    pub water_target_missed: Option<WaterTargetMissedRule>,
    pub drinking_source_noncompliant: Option<DrinkingSourceRule>,
    pub air_polluted_day: Option<AirPollutedDayRule>,
    pub air_target_at_risk: Option<AirTargetRule>,
    pub station_silent: Option<StationSilentRule>,
    pub pipeline_dead_letters: Option<DeadLetterRule>,
    pub outbox_backlog: Option<OutboxBacklogRule>,
}

impl RulesConfig {
    /// Every rule name with its common settings (None when not configured).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Option<&RuleCommon>)> {
        [
            (
                "water_inferior_v",
                self.water_inferior_v.as_ref().map(|r| &r.common),
            ),
            (
                "water_target_missed",
                self.water_target_missed.as_ref().map(|r| &r.common),
            ),
            (
                "drinking_source_noncompliant",
                self.drinking_source_noncompliant
                    .as_ref()
                    .map(|r| &r.common),
            ),
            (
                "air_polluted_day",
                self.air_polluted_day.as_ref().map(|r| &r.common),
            ),
            (
                "air_target_at_risk",
                self.air_target_at_risk.as_ref().map(|r| &r.common),
            ),
            (
                "station_silent",
                self.station_silent.as_ref().map(|r| &r.common),
            ),
            (
                "pipeline_dead_letters",
                self.pipeline_dead_letters.as_ref().map(|r| &r.common),
            ),
            (
                "outbox_backlog",
                self.outbox_backlog.as_ref().map(|r| &r.common),
            ),
        ]
        .into_iter()
    }

    /// Common settings of a configured rule by name.
    pub fn get(&self, name: &str) -> Option<&RuleCommon> {
        self.iter().find(|(n, _)| *n == name).and_then(|(_, c)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        language = "en"
        [channels.duty]
        kind = "dingtalk"
        enabled = false
        access_token = "env:ENVWATCH_TEST_SURELY_UNSET_TOKEN"
        secret = "env:ENVWATCH_TEST_SURELY_UNSET_SECRET"
        rate_limit = { messages = 20, per = "1m" }
        [channels.hook]
        kind = "webhook"
        url = "http://127.0.0.1:27001/hook"
        [rules.water_inferior_v]
        severity = "critical"
        channels = ["duty", "hook"]
        period = "day"
        fire_after = 2
        resolve_after = 3
        [rules.station_silent]
        silent_for = "45m"
        channels = ["hook"]
    "#;

    #[test]
    fn parses_channels_and_rules() {
        let c = AlertsConfig::from_toml_str(GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.language, Language::En);
        let r = c
            .rules
            .water_inferior_v
            .as_ref()
            .map(|r| (r.period, r.common.fire_after, r.common.resolve_after));
        assert_eq!(r, Some((WaterPeriod::Day, 2, 3)));
        assert_eq!(c.channels["duty"].settings().rate_limit.messages, 20);
        assert!(!c.channels["duty"].settings().enabled);
        assert_eq!(
            c.rules.station_silent.as_ref().map(|r| r.silent_for),
            Some(Duration::from_secs(2700))
        );
    }

    #[test]
    fn typos_and_dangling_channels_are_errors() {
        let typo = GOOD.replace("fire_after = 2", "fire_aftr = 2");
        let e = AlertsConfig::from_toml_str(&typo)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("fire_aftr")),
            "{e:?}"
        );
        let unknown_rule = format!("{GOOD}\n[rules.water_inferior_vv]\n");
        assert!(AlertsConfig::from_toml_str(&unknown_rule).is_err());
        let bad_kind = GOOD.replace("kind = \"webhook\"", "kind = \"pager\"");
        assert!(AlertsConfig::from_toml_str(&bad_kind).is_err());
        let dangling = GOOD.replace("channels = [\"hook\"]", "channels = [\"hoook\"]");
        let e = AlertsConfig::from_toml_str(&dangling)
            .err()
            .map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.contains("hoook")), "{e:?}");
        // Enabled channel with an unresolvable secret: an error; disabled: fine (above).
        let enabled = GOOD.replace("enabled = false\n", "");
        let e = AlertsConfig::from_toml_str(&enabled)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("ENVWATCH_TEST_SURELY_UNSET_TOKEN")),
            "{e:?}"
        );
    }
}

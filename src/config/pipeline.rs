//! `pipelines/*.toml`: one file per feed. A new feed is a new file, not new code:
//! where the bytes come from (`[source]`), how they become readings (`[decode]`), and
//! how the feed's own identifiers map to our stations/sections (`[sites]`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::daemon::HourLabel;
use super::secret::SecretRef;
use crate::model::{Period, SiteId};
use crate::standards::parameter::Parameter;

/// Top-level keys of a pipeline file.
pub const SECTIONS: &[&str] = &[
    "name",
    "enabled",
    "description",
    "source",
    "decode",
    "sites",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Defaults to the file stem.
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub description: Option<String>,
    pub source: SourceSettings,
    pub decode: DecodeSettings,
    /// Feed identifier (HJ 212 MN, platform station code, section name) -> our site id.
    /// Identifiers that are already site ids, or MNs declared in stations/sections, need
    /// no entry.
    #[serde(default)]
    pub sites: BTreeMap<String, SiteId>,
}

fn yes() -> bool {
    true
}

/// Where a feed's bytes come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceSettings {
    Mqtt(MqttSource),
    Http(Box<HttpSource>),
    File(FileSource),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSource {
    /// MQTT topic filters (`+` and `#` wildcards); `$share/group/...` for shared
    /// subscriptions on MQTT v5 brokers.
    pub topics: Vec<String>,
    /// Always 1 in practice: QoS 0 can lose readings, QoS 2 costs a round trip more.
    #[serde(default = "qos1")]
    pub qos: u8,
}

fn qos1() -> u8 {
    1
}

/// Authentication for an HTTP source; the secret parts are references.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpAuth {
    Bearer {
        token: SecretRef,
    },
    Basic {
        username: String,
        password: SecretRef,
    },
    /// API key sent as a query parameter.
    QueryKey {
        param: String,
        key: SecretRef,
    },
    /// API key sent as a header.
    HeaderKey {
        header: String,
        key: SecretRef,
    },
}

/// How an HTTP source walks through pages of one window.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request per window.
    #[default]
    None,
    /// `{page}` placeholder, starting at `first`, until a page has fewer than `size` records.
    PageNumber {
        #[serde(default = "one")]
        first: u32,
        size: u32,
    },
    /// A JSON pointer to the next page's URL in the body (absent/null = last page).
    NextLink { pointer: String },
    /// A JSON pointer to an opaque cursor in the body, sent back as `{cursor}`.
    Cursor { pointer: String },
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    /// URL template with placeholders `{from}`, `{to}` (window, in `time_format`),
    /// `{page}`, `{cursor}`.
    pub url: String,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Option<HttpAuth>,
    /// Poll every `interval`, plus a random jitter up to `jitter`.
    #[serde(with = "humantime_serde", default = "five_minutes")]
    pub interval: Duration,
    #[serde(with = "humantime_serde", default)]
    pub jitter: Duration,
    /// Width of the time window requested per poll, and how far back the first poll starts.
    #[serde(with = "humantime_serde", default = "one_hour")]
    pub window: Duration,
    #[serde(with = "humantime_serde", default = "one_day")]
    pub start_back: Duration,
    /// Format of `{from}`/`{to}`: chrono strftime, or `rfc3339`, `unix`, `unix_ms`.
    #[serde(default = "rfc3339")]
    pub time_format: String,
    #[serde(default)]
    pub pagination: Pagination,
    #[serde(with = "humantime_serde", default = "thirty_seconds")]
    pub timeout: Duration,
    #[serde(default = "five")]
    pub max_retries: u32,
}

fn get() -> String {
    "GET".into()
}
fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
fn one_hour() -> Duration {
    Duration::from_secs(3600)
}
fn one_day() -> Duration {
    Duration::from_secs(86_400)
}
fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}
fn five() -> u32 {
    5
}
fn rfc3339() -> String {
    "rfc3339".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    /// Default input files (glob-free paths); `envwatch backfill --from` overrides.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
}

/// Payload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// HJ 212-2017 / HJ 212-2025 frames.
    Hj212,
    /// JSON objects or arrays, mapped by `[decode.json]`.
    Json,
    /// Long CSV `station,time,parameter,value[,flag]` (see README).
    Csv,
}

/// Which CRC an HJ 212 feed must carry (STANDARDS.md 5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrcMode {
    /// HJ 212-2017 Appendix A CRC-16 (the standard).
    #[default]
    Hj212,
    /// Some field devices send CRC-16/MODBUS printed low byte first; accepted deliberately.
    ModbusSwapped,
    /// No check (only for trusted, already-checked relays).
    Off,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeSettings {
    pub format: Format,
    #[serde(default)]
    pub crc: CrcMode,
    /// How the feed stamps hourly values (HJ 212: start; CNEMC-style APIs: end).
    #[serde(default)]
    pub hour_label: HourLabel,
    #[serde(default)]
    pub json: Option<JsonMapping>,
    /// Per-parameter unit of the feed when it differs from envwatch's (e.g. `CO = "µg/m3"`,
    /// `Hg = "µg/L"`); values are converted at decode time.
    #[serde(default)]
    pub units: BTreeMap<Parameter, String>,
    /// Data period of JSON records without a `[decode.json] period` field (default hour).
    /// HJ 212 packets carry theirs in CN, so hj212 pipelines must not set it.
    #[serde(default)]
    pub period: Option<Period>,
    /// What real-time and minute data are for: `display` (default: stored and published
    /// to `*_realtime`, never in hourly statistics) or `derive-hour` (also: an hour with no
    /// hour packet gets the mean of its ≥ 45 valid minute values, GB 3095 Table 4).
    #[serde(default)]
    pub minute_data: MinuteData,
}

/// See [`DecodeSettings::minute_data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MinuteData {
    #[default]
    Display,
    DeriveHour,
}

/// How JSON records map to readings. Paths are JSON pointers (`/data/items`) or, for
/// fields of a record, plain field names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonMapping {
    /// Pointer to the array of records; empty = the payload itself (an object or array).
    #[serde(default)]
    pub records: String,
    /// Field holding the site identifier.
    pub site: String,
    /// Field holding the time.
    pub time: String,
    /// `rfc3339`, `unix`, `unix_ms`, or a chrono strftime like `%Y-%m-%d %H:%M:%S`.
    #[serde(default = "rfc3339")]
    pub time_format: String,
    /// Zone of times without an offset (defaults to the general time zone).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Wide records: field name -> parameter (`"pm2_5" = "PM2.5"`).
    #[serde(default)]
    pub columns: BTreeMap<String, Parameter>,
    /// Long records: fields holding the parameter name/code, the value and the flag.
    #[serde(default)]
    pub parameter: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub flag: Option<String>,
    /// Field holding the record's data period (`hour`, `minute`, `realtime`, `day` or the
    /// HJ 212 CN `2061`, ...); absent = `[decode] period`.
    #[serde(default)]
    pub period: Option<String>,
}

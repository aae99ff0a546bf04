//! `config/envwatch.toml`: the daemon's own settings. Every section has defaults that
//! suit a district bureau, so a minimal file (or none of a section) works.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use super::secret::SecretRef;
use crate::standards::aqi::EditionChoice;

/// Top-level sections of `envwatch.toml`.
pub const SECTIONS: &[&str] = &[
    "general", "targets", "air", "water", "store", "mqtt", "influx", "http", "alerts",
];

#[derive(Debug, Clone, Default)]
pub struct DaemonConfig {
    pub general: General,
    pub targets: Targets,
    pub air: AirSettings,
    pub water: WaterSettings,
    pub store: StoreSettings,
    pub mqtt: Option<MqttSettings>,
    pub influx: Option<InfluxSettings>,
    pub http: HttpSettings,
    /// Alert rules and channels (issue #10); see `alert::config`.
    pub alerts: Option<crate::alert::AlertsConfig>,
}

fn de_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<Tz>().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone \"{s}\" (expected an IANA name such as Asia/Shanghai)"
        ))
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// Days are calendar days in this zone (never UTC by accident).
    #[serde(deserialize_with = "de_tz")]
    pub timezone: Tz,
    /// The city whose daily AQI and good-day ratio are the headline (must match
    /// stations' `city`).
    pub city: String,
    /// The district the targets belong to.
    pub district: String,
    /// Where the store and state live. Default: `$STATE_DIRECTORY` (systemd's
    /// StateDirectory, i.e. /var/lib/envwatch) when run as a service, else `./var`.
    pub state_dir: Option<PathBuf>,
    /// Where the feed files are; relative to the config directory.
    pub pipelines_dir: Option<PathBuf>,
    /// How often the judge recomputes the days that new or late readings touched.
    #[serde(with = "humantime_serde")]
    pub judge_interval: std::time::Duration,
    /// Committed water readings wake the judge at once (an inferior-V reading must alert
    /// without waiting for `judge_interval`); passes stay at least this far apart so a
    /// burst of readings costs one pass, not one per commit.
    #[serde(with = "humantime_serde")]
    pub judge_min_interval: std::time::Duration,
}

impl Default for General {
    fn default() -> Self {
        General {
            timezone: chrono_tz::Asia::Shanghai,
            city: "杭州".into(),
            district: "余杭区".into(),
            state_dir: None,
            pipelines_dir: None,
            judge_interval: std::time::Duration::from_secs(60),
            judge_min_interval: std::time::Duration::from_millis(500),
        }
    }
}

impl General {
    /// The state directory actually used (see [`General::state_dir`]).
    pub fn resolved_state_dir(&self) -> PathBuf {
        if let Some(d) = &self.state_dir {
            return d.clone();
        }
        match std::env::var_os("STATE_DIRECTORY") {
            // systemd may pass several colon-separated directories; the first is ours.
            Some(v) => PathBuf::from(
                v.to_string_lossy()
                    .split(':')
                    .next()
                    .unwrap_or("/var/lib/envwatch"),
            ),
            None => PathBuf::from("./var"),
        }
    }
}

/// The district plan's targets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    /// Share of good-air days (daily AQI <= 100) per year: 0.80.
    pub good_day_ratio: f64,
    /// Share of compliant drinking-water sources: 1.0 (every one).
    pub drinking_source_compliance: f64,
    /// Sections allowed at inferior class V: 0.
    pub max_inferior_v_sections: u32,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            good_day_ratio: 0.80,
            drinking_source_compliance: 1.0,
            max_inferior_v_sections: 0,
        }
    }
}

/// Where a feed stamps an hourly value: at the START of its hour (HJ 212 `DataTime`)
/// or at its END (CNEMC publication: label 01:00 covers 00:00–01:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HourLabel {
    #[default]
    Start,
    End,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AirSettings {
    /// `auto` judges each day by the HJ 633 edition in force on that day.
    pub edition: EditionChoice,
    /// `[air.validity]`: minimum data per statistic and the city averaging step. The
    /// defaults are GB 3095 Table 4 / HJ 663; the keys exist for the points STANDARDS.md
    /// marks unverified (the MDA8 window rule, the city averaging step).
    pub validity: crate::standards::air_eval::ValidityRules,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaterSettings {
    /// Judge the raw instrument value (real-time platform practice) or the value rounded
    /// per the 2020 statistics rule (formal evaluations). STANDARDS.md 3.5/3.6.
    pub round_before_classing: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// SQLite file; relative paths are under the state directory.
    pub path: PathBuf,
    /// Group commit: at most this many readings per transaction...
    pub commit_max_readings: usize,
    /// ...or this long after the first uncommitted reading...
    #[serde(with = "humantime_serde")]
    pub commit_interval: Duration,
    /// ...or as soon as no message arrived for this long (the idle gap): under steady
    /// load a commit gathers what arrives meanwhile (one fsync for many messages), and a
    /// broker whose in-flight window is full (it waits for our PUBACKs) is never kept
    /// waiting longer than this. `0ms` commits whenever the queue is momentarily empty.
    #[serde(with = "humantime_serde")]
    pub commit_idle: Duration,
    /// Bounded queue between sources and the store (back-pressure, not growth).
    pub queue_capacity: usize,
    /// Readings stamped further than this in the future are rejected.
    #[serde(with = "humantime_serde")]
    pub max_future: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            path: PathBuf::from("envwatch.db"),
            commit_max_readings: 5000,
            commit_interval: Duration::from_millis(100),
            commit_idle: Duration::from_millis(3),
            queue_capacity: 10_000,
            max_future: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    /// Fixed client id: the broker keeps our persistent session under it.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    pub tls: bool,
    /// CA bundle for TLS (PEM); the system roots when absent.
    pub ca_file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Largest packet accepted (rumqttc's default of 10 KiB is too small for HJ 212 batches).
    pub max_packet_size: usize,
    /// Reconnect backoff bounds.
    #[serde(with = "humantime_serde")]
    pub reconnect_min: Duration,
    #[serde(with = "humantime_serde")]
    pub reconnect_max: Duration,
}

impl Default for MqttSettings {
    fn default() -> Self {
        MqttSettings {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "envwatch".into(),
            username: None,
            password: None,
            tls: false,
            ca_file: None,
            keep_alive: Duration::from_secs(30),
            max_packet_size: 1 << 20,
            reconnect_min: Duration::from_millis(200),
            reconnect_max: Duration::from_secs(30),
        }
    }
}

/// InfluxDB write API flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InfluxApi {
    /// InfluxDB 1.x `/write?db=&rp=` with user/password.
    #[default]
    V1,
    /// `/api/v2/write?org=&bucket=` with `Authorization: Token` (InfluxDB 2.x, 3.x,
    /// 1.8+ compatibility endpoint, VictoriaMetrics).
    V2,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InfluxSettings {
    pub enabled: bool,
    pub url: String,
    pub api: InfluxApi,
    /// v1: database and optional retention policy.
    pub database: String,
    pub retention_policy: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// v2: organisation, bucket and token.
    pub org: Option<String>,
    pub bucket: Option<String>,
    pub token: Option<SecretRef>,
    pub batch_size: usize,
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub gzip: bool,
    /// The outbox refuses to grow past this many points (and alerts well before).
    pub outbox_max_points: u64,
}

impl Default for InfluxSettings {
    fn default() -> Self {
        InfluxSettings {
            enabled: true,
            url: "http://127.0.0.1:8086".into(),
            api: InfluxApi::V1,
            database: "envwatch".into(),
            retention_policy: None,
            username: None,
            password: None,
            org: None,
            bucket: None,
            token: None,
            batch_size: 5000,
            flush_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            gzip: true,
            outbox_max_points: 10_000_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// /metrics, /healthz, /readyz, /api/status. Loopback by default.
    pub listen: SocketAddr,
    /// The endpoints have no auth or TLS: a non-loopback `listen` is refused unless this
    /// is set (see `serve` and docs/operations.md).
    pub allow_non_loopback: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            allow_non_loopback: false,
        }
    }
}

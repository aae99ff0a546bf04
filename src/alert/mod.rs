//! Alerting (issue #10): rules over judged facts, with per-(rule, subject) state and
//! hysteresis persisted in the store, and notifications delivered per channel through
//! a persistent outbox (paced, retried, never dropped).
//!
//! ```text
//! observe_*(fact) ─> rules (verdict per rule) ─> state (pending/firing/resolved, N/M)
//!     ─> templates (zh | en) ─> alert_outbox ─> channel worker (rate limit, retry)
//!         ─> webhook | DingTalk | WeCom | MQTT          └─> envwatch_alert Influx line
//! ```

pub mod bench;
pub mod config;
pub mod engine;
pub mod input;
pub mod notification;
pub mod notify;
pub mod outbox;
pub mod ratelimit;
pub mod rules;
pub mod state;
pub mod templates;

pub use config::AlertsConfig;
pub use engine::{AlertEngine, AlertError};
pub use input::{
    AirDayObservation, AirTargetObservation, DeadLetterRate, ItemFinding, ObservedPeriod,
    OutboxBacklog, SiteSilence, WaterObservation,
};
pub use notification::{Notification, NotificationKind};
pub use rules::RuleKind;

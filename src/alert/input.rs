//! What the alert engine is told: small typed facts produced by the judges and the
//! pipeline (the lead adapts their outputs to these). They are serialisable because the
//! fact that fired an alert is kept with its state, to word repeat messages.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::SiteId;
use crate::standards::parameter::Parameter;
use crate::standards::water::{TargetClass, WaterClass};

/// Whether a water class judges one reading or a daily mean (see
/// [`super::config::WaterPeriod`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObservedPeriod {
    Reading,
    Day,
}

/// One class result of one section: what `judge::water` produces per reading time or
/// per local day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaterObservation {
    pub section: SiteId,
    /// Section name as published (`闲林水库出口`).
    pub name: String,
    pub river: String,
    pub period: ObservedPeriod,
    /// Start of the reading's hour, or local midnight of the day (as UTC).
    pub at: DateTime<Utc>,
    #[serde(with = "class_serde")]
    pub class: WaterClass,
    pub target: TargetClass,
    pub drinking_source: bool,
    /// The items that set the class (the worst-class items), with their limits.
    pub items: Vec<ItemFinding>,
}

/// One item that set a section's class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemFinding {
    pub parameter: Parameter,
    /// Measured (or daily mean) value in the parameter's unit.
    pub value: f64,
    /// GB 3838 Table 1 class V limit for this item (upper limit; lower for DO).
    pub limit_v: Option<f64>,
    /// The limit of the section's target class.
    pub limit_target: Option<f64>,
}

impl ItemFinding {
    /// 超标倍数 against the class V limit: `(C − limit) / limit` (环办〔2011〕22号;
    /// STANDARDS.md 3.3). None for pH, DO and water temperature, which have none.
    pub fn multiple_of_v(&self) -> Option<f64> {
        exceedance(self.parameter, self.value, self.limit_v)
    }

    /// Exceedance multiple against the target-class limit (provincial practice, 3.4).
    pub fn multiple_of_target(&self) -> Option<f64> {
        exceedance(self.parameter, self.value, self.limit_target)
    }
}

fn exceedance(p: Parameter, value: f64, limit: Option<f64>) -> Option<f64> {
    if matches!(
        p,
        Parameter::Ph | Parameter::Do | Parameter::WaterTemperature
    ) {
        return None;
    }
    let l = limit?;
    (l > 0.0 && value > l).then(|| (value - l) / l)
}

/// A city's daily AQI (`judge::air`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AirDayObservation {
    pub city: String,
    pub day: NaiveDate,
    pub aqi: u16,
    /// HJ 633 level 1..=6.
    pub level: u8,
    /// Primary pollutants (首要污染物); empty when AQI <= 50.
    pub primary: Vec<Parameter>,
}

/// A city's year-to-date good-day ratio against its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AirTargetObservation {
    pub city: String,
    /// Day the ratio is computed through.
    pub through: NaiveDate,
    pub good_days: u32,
    pub valid_days: u32,
    /// good_days / valid_days.
    pub ytd_ratio: f64,
    /// Whether the target ratio can still be reached if every remaining day is good.
    pub reachable: bool,
}

/// When a site last sent a valid reading, sampled at `now` (the lead samples every
/// known site periodically).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSilence {
    pub site: SiteId,
    pub name: String,
    /// None: never heard from since the store was created.
    pub last_valid_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// Dead letters of one pipeline over a recent window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterRate {
    pub pipeline: String,
    pub per_minute: f64,
    /// A recent reason, to tell operators where to look.
    pub example_reason: Option<String>,
    pub now: DateTime<Utc>,
}

/// Points waiting in a publisher's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxBacklog {
    /// `influx` (or another outbox's name).
    pub outbox: String,
    pub points: u64,
    pub now: DateTime<Utc>,
}

/// `WaterClass` is serialised as its label; the standards module only parses it from
/// strings, so deserialisation goes through `FromStr` here.
mod class_serde {
    use super::*;

    pub fn serialize<S: Serializer>(c: &WaterClass, s: S) -> Result<S::Ok, S::Error> {
        c.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WaterClass, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceedance_multiples_follow_the_2011_method() {
        // NH3-N 2.3 mg/L against target III (1.0): provincial example "氨氮/1.3".
        let f = ItemFinding {
            parameter: Parameter::Nh3N,
            value: 2.3,
            limit_v: Some(2.0),
            limit_target: Some(1.0),
        };
        assert!((f.multiple_of_target().unwrap_or(0.0) - 1.3).abs() < 1e-9);
        assert!((f.multiple_of_v().unwrap_or(0.0) - 0.15).abs() < 1e-9);
        let dox = ItemFinding {
            parameter: Parameter::Do,
            value: 1.0,
            limit_v: Some(2.0),
            limit_target: Some(5.0),
        };
        assert_eq!(dox.multiple_of_v(), None);
    }
}

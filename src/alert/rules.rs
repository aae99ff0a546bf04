//! Rule evaluation: turns one observed fact into "condition holds / does not hold" for
//! each configured rule that cares about it. Pure functions; the state machine
//! ([`super::state`]) decides what a run of such verdicts means.

use std::fmt;

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::config::{AlertsConfig, RuleCommon, WaterPeriod};
use super::input::{
    AirDayObservation, AirTargetObservation, DeadLetterRate, ObservedPeriod, OutboxBacklog,
    SiteSilence, WaterObservation,
};
use crate::standards::water::WaterClass;

/// The rules envwatch knows. Their names are the keys under `[alerts.rules]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    WaterInferiorV,
    WaterTargetMissed,
    DrinkingSourceNoncompliant,
    AirPollutedDay,
    AirTargetAtRisk,
    StationSilent,
    PipelineDeadLetters,
    OutboxBacklog,
}

impl RuleKind {
    pub const ALL: [RuleKind; 8] = [
        RuleKind::WaterInferiorV,
        RuleKind::WaterTargetMissed,
        RuleKind::DrinkingSourceNoncompliant,
        RuleKind::AirPollutedDay,
        RuleKind::AirTargetAtRisk,
        RuleKind::StationSilent,
        RuleKind::PipelineDeadLetters,
        RuleKind::OutboxBacklog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RuleKind::WaterInferiorV => "water_inferior_v",
            RuleKind::WaterTargetMissed => "water_target_missed",
            RuleKind::DrinkingSourceNoncompliant => "drinking_source_noncompliant",
            RuleKind::AirPollutedDay => "air_polluted_day",
            RuleKind::AirTargetAtRisk => "air_target_at_risk",
            RuleKind::StationSilent => "station_silent",
            RuleKind::PipelineDeadLetters => "pipeline_dead_letters",
            RuleKind::OutboxBacklog => "outbox_backlog",
        }
    }

    pub fn from_name(s: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|r| r.name() == s)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fact a verdict was reached on; kept with the alert state to word messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fact {
    Water(WaterObservation),
    AirDay(AirDayObservation),
    AirTarget(AirTargetObservation),
    Silence(SiteSilence),
    DeadLetters(DeadLetterRate),
    Backlog(OutboxBacklog),
    /// `envwatch alerts test RULE`.
    Test {
        rule: RuleKind,
    },
}

/// One rule's verdict on one fact about one subject (section, city, site, pipeline).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub rule: RuleKind,
    pub subject: String,
    /// The period the fact is about; replays of an already seen period are ignored.
    pub at: DateTime<Utc>,
    /// The condition holds (e.g. the class is inferior V).
    pub bad: bool,
    pub fact: Fact,
}

fn active<'a>(cfg: &AlertsConfig, common: Option<&'a RuleCommon>) -> Option<&'a RuleCommon> {
    common.filter(|c| c.enabled && cfg.enabled)
}

fn period_matches(want: WaterPeriod, got: ObservedPeriod) -> bool {
    matches!(
        (want, got),
        (WaterPeriod::Reading, ObservedPeriod::Reading) | (WaterPeriod::Day, ObservedPeriod::Day)
    )
}

/// The water rules' verdicts on one class result.
pub fn evaluate_water(cfg: &AlertsConfig, obs: &WaterObservation) -> Vec<Verdict> {
    let r = &cfg.rules;
    let mut out = Vec::new();
    let mut push = |rule, bad| {
        out.push(Verdict {
            rule,
            subject: obs.section.to_string(),
            at: obs.at,
            bad,
            fact: Fact::Water(obs.clone()),
        })
    };
    if let Some(rule) = &r.water_inferior_v
        && active(cfg, Some(&rule.common)).is_some()
        && period_matches(rule.period, obs.period)
    {
        push(RuleKind::WaterInferiorV, obs.class == WaterClass::InferiorV);
    }
    if let Some(rule) = &r.water_target_missed
        && active(cfg, Some(&rule.common)).is_some()
        && period_matches(rule.period, obs.period)
    {
        push(RuleKind::WaterTargetMissed, obs.class > obs.target.0);
    }
    if let Some(rule) = &r.drinking_source_noncompliant
        && active(cfg, Some(&rule.common)).is_some()
        && period_matches(rule.period, obs.period)
        && obs.drinking_source
    {
        // A drinking source must meet its target, and never anything worse than III
        // (GB 3838 §4: class III is the lowest class fit for centralised drinking water).
        let limit = obs.target.0.min(WaterClass::III);
        push(RuleKind::DrinkingSourceNoncompliant, obs.class > limit);
    }
    out
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// `air_polluted_day` on one city-day.
pub fn evaluate_air_day(cfg: &AlertsConfig, obs: &AirDayObservation) -> Vec<Verdict> {
    let Some(rule) = &cfg.rules.air_polluted_day else {
        return Vec::new();
    };
    if active(cfg, Some(&rule.common)).is_none() {
        return Vec::new();
    }
    vec![Verdict {
        rule: RuleKind::AirPollutedDay,
        subject: obs.city.clone(),
        at: day_start(obs.day),
        bad: obs.aqi > rule.aqi_above,
        fact: Fact::AirDay(obs.clone()),
    }]
}

/// `air_target_at_risk` on one city's year-to-date ratio.
pub fn evaluate_air_target(cfg: &AlertsConfig, obs: &AirTargetObservation) -> Vec<Verdict> {
    let Some(rule) = &cfg.rules.air_target_at_risk else {
        return Vec::new();
    };
    if active(cfg, Some(&rule.common)).is_none() {
        return Vec::new();
    }
    vec![Verdict {
        rule: RuleKind::AirTargetAtRisk,
        subject: obs.city.clone(),
        at: day_start(obs.through),
        bad: obs.ytd_ratio < rule.min_ratio || !obs.reachable,
        fact: Fact::AirTarget(obs.clone()),
    }]
}

/// `station_silent` on one site's last valid reading.
pub fn evaluate_silence(cfg: &AlertsConfig, obs: &SiteSilence) -> Vec<Verdict> {
    let Some(rule) = &cfg.rules.station_silent else {
        return Vec::new();
    };
    if active(cfg, Some(&rule.common)).is_none() {
        return Vec::new();
    }
    let limit = ChronoDuration::from_std(rule.silent_for).unwrap_or(ChronoDuration::MAX);
    let bad = match obs.last_valid_at {
        Some(t) => obs.now - t > limit,
        None => true,
    };
    vec![Verdict {
        rule: RuleKind::StationSilent,
        subject: obs.site.to_string(),
        at: obs.now,
        bad,
        fact: Fact::Silence(obs.clone()),
    }]
}

/// `pipeline_dead_letters` on one pipeline's recent rate.
pub fn evaluate_dead_letters(cfg: &AlertsConfig, obs: &DeadLetterRate) -> Vec<Verdict> {
    let Some(rule) = &cfg.rules.pipeline_dead_letters else {
        return Vec::new();
    };
    if active(cfg, Some(&rule.common)).is_none() {
        return Vec::new();
    }
    vec![Verdict {
        rule: RuleKind::PipelineDeadLetters,
        subject: obs.pipeline.clone(),
        at: obs.now,
        bad: obs.per_minute > rule.max_per_minute,
        fact: Fact::DeadLetters(obs.clone()),
    }]
}

/// `outbox_backlog` on one outbox's size.
pub fn evaluate_backlog(cfg: &AlertsConfig, obs: &OutboxBacklog) -> Vec<Verdict> {
    let Some(rule) = &cfg.rules.outbox_backlog else {
        return Vec::new();
    };
    if active(cfg, Some(&rule.common)).is_none() {
        return Vec::new();
    }
    vec![Verdict {
        rule: RuleKind::OutboxBacklog,
        subject: obs.outbox.clone(),
        at: obs.now,
        bad: obs.points > rule.max_points,
        fact: Fact::Backlog(obs.clone()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SiteId;
    use crate::standards::water::TargetClass;

    fn cfg() -> AlertsConfig {
        AlertsConfig::from_toml_str(
            r#"
            [rules.water_inferior_v]
            [rules.water_target_missed]
            for = "24h"
            [rules.drinking_source_noncompliant]
            [rules.air_polluted_day]
            [rules.air_target_at_risk]
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn water(class: WaterClass, target: WaterClass, drinking: bool) -> WaterObservation {
        WaterObservation {
            section: SiteId::new("S1"),
            name: "断面".into(),
            river: "苕溪".into(),
            period: ObservedPeriod::Reading,
            at: Utc::now(),
            class,
            target: TargetClass(target),
            drinking_source: drinking,
            items: vec![],
        }
    }

    #[test]
    fn water_verdicts() {
        let c = cfg();
        let v = evaluate_water(&c, &water(WaterClass::InferiorV, WaterClass::III, false));
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|v| v.bad));
        // A class-II drinking source at III is compliant only if its target is III.
        let v = evaluate_water(&c, &water(WaterClass::III, WaterClass::II, true));
        let d = v
            .iter()
            .find(|v| v.rule == RuleKind::DrinkingSourceNoncompliant);
        assert!(d.is_some_and(|d| d.bad));
        // Target IV on a drinking source: III is still the ceiling.
        let v = evaluate_water(&c, &water(WaterClass::IV, WaterClass::IV, true));
        let d = v
            .iter()
            .find(|v| v.rule == RuleKind::DrinkingSourceNoncompliant);
        assert!(d.is_some_and(|d| d.bad));
        let v = evaluate_water(&c, &water(WaterClass::III, WaterClass::III, true));
        assert!(v.iter().all(|v| !v.bad));
    }

    #[test]
    fn daily_rules_ignore_readings_and_vice_versa() {
        let c = AlertsConfig::from_toml_str("[rules.water_inferior_v]\nperiod = \"day\"")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut o = water(WaterClass::InferiorV, WaterClass::III, false);
        assert!(evaluate_water(&c, &o).is_empty());
        o.period = ObservedPeriod::Day;
        assert_eq!(evaluate_water(&c, &o).len(), 1);
        let off = AlertsConfig::from_toml_str("[rules.water_inferior_v]\nenabled = false")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(evaluate_water(&off, &o).is_empty());
    }

    #[test]
    fn air_verdicts_use_aqi_100_and_80_percent() {
        let c = cfg();
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
        let obs = |aqi| AirDayObservation {
            city: "杭州".into(),
            day,
            aqi,
            level: 2,
            primary: vec![],
        };
        assert!(!evaluate_air_day(&c, &obs(100))[0].bad);
        assert!(evaluate_air_day(&c, &obs(101))[0].bad);
        let t = |ratio, reachable| AirTargetObservation {
            city: "杭州".into(),
            through: day,
            good_days: 0,
            valid_days: 0,
            ytd_ratio: ratio,
            reachable,
        };
        assert!(!evaluate_air_target(&c, &t(0.80, true))[0].bad);
        assert!(evaluate_air_target(&c, &t(0.799, true))[0].bad);
        assert!(evaluate_air_target(&c, &t(0.9, false))[0].bad);
    }
}

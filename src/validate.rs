//! Checks every decoded reading before it is stored: known site, a parameter that site
//! kind measures, a physically possible value, a time not in the future. A failed check
//! is a [`Rejection`] that becomes a dead letter with its reason; it never stops ingest.
//!
//! Flags are not checked here: a reading flagged `M` or `D` is a fact about the
//! instrument and is stored; the judge leaves it out of statistics (`DataFlag::is_valid`).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::model::{Reading, SiteId};
use crate::standards::parameter::{Medium, Parameter};

/// Air station or water section: decides which parameters make sense there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    Station,
    Section,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("unknown site \"{site}\" (not in stations.toml or sections.toml)")]
    UnknownSite { site: SiteId },
    #[error("{parameter} is not measured at {kind} \"{site}\"")]
    WrongMedium {
        parameter: Parameter,
        site: SiteId,
        kind: &'static str,
    },
    #[error("{site} {parameter} = {value} {unit} is outside the physical range {min}..={max}")]
    OutOfRange {
        site: SiteId,
        parameter: Parameter,
        value: f64,
        unit: &'static str,
        min: f64,
        max: f64,
    },
    #[error("{site} {parameter} at {time} is more than {max_future_s} s in the future")]
    InFuture {
        site: SiteId,
        parameter: Parameter,
        time: DateTime<Utc>,
        max_future_s: u64,
    },
}

impl Rejection {
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::UnknownSite { .. } => "unknown_site",
            Rejection::WrongMedium { .. } => "wrong_medium",
            Rejection::OutOfRange { .. } => "out_of_range",
            Rejection::InFuture { .. } => "in_future",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Validator {
    sites: HashMap<SiteId, SiteKind>,
    max_future: chrono::Duration,
}

impl Validator {
    pub fn new(sites: HashMap<SiteId, SiteKind>, max_future: Duration) -> Validator {
        Validator {
            sites,
            max_future: chrono::Duration::from_std(max_future)
                .unwrap_or(chrono::Duration::hours(1)),
        }
    }

    pub fn from_config(config: &Config) -> Validator {
        let sites = config
            .stations
            .iter()
            .map(|s| (s.code.clone(), SiteKind::Station))
            .chain(
                config
                    .sections
                    .iter()
                    .map(|s| (s.id.clone(), SiteKind::Section)),
            )
            .collect();
        Validator::new(sites, config.daemon.store.max_future)
    }

    pub fn check(&self, r: &Reading, now: DateTime<Utc>) -> Result<(), Rejection> {
        let kind = *self
            .sites
            .get(&r.site)
            .ok_or_else(|| Rejection::UnknownSite {
                site: r.site.clone(),
            })?;
        let medium_ok = matches!(
            (kind, r.parameter.medium()),
            (SiteKind::Station, Medium::Air | Medium::Meteo) | (SiteKind::Section, Medium::Water)
        );
        if !medium_ok {
            return Err(Rejection::WrongMedium {
                parameter: r.parameter,
                site: r.site.clone(),
                kind: match kind {
                    SiteKind::Station => "air station",
                    SiteKind::Section => "water section",
                },
            });
        }
        if !r.parameter.in_physical_range(r.value) {
            let (min, max) = r.parameter.physical_range();
            return Err(Rejection::OutOfRange {
                site: r.site.clone(),
                parameter: r.parameter,
                value: r.value,
                unit: r.parameter.unit(),
                min,
                max,
            });
        }
        if r.time > now + self.max_future {
            return Err(Rejection::InFuture {
                site: r.site.clone(),
                parameter: r.parameter,
                time: r.time,
                max_future_s: self.max_future.num_seconds().max(0) as u64,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DataFlag;

    fn v() -> Validator {
        Validator::new(
            [
                (SiteId::new("1223A"), SiteKind::Station),
                (SiteId::new("YH-01"), SiteKind::Section),
            ]
            .into(),
            Duration::from_secs(3600),
        )
    }

    fn r(site: &str, parameter: Parameter, value: f64, time: DateTime<Utc>) -> Reading {
        Reading {
            period: crate::model::Period::Hour,
            site: SiteId::new(site),
            parameter,
            time,
            value,
            flag: DataFlag::N,
        }
    }

    #[test]
    fn each_rule_rejects() {
        let now = Utc::now();
        let v = v();
        assert!(
            v.check(&r("1223A", Parameter::Pm25, 35.0, now), now)
                .is_ok()
        );
        let kind = |x: Reading| v.check(&x, now).unwrap_err().kind();
        assert_eq!(kind(r("9999A", Parameter::Pm25, 35.0, now)), "unknown_site");
        assert_eq!(kind(r("YH-01", Parameter::Pm25, 35.0, now)), "wrong_medium");
        assert_eq!(kind(r("1223A", Parameter::Ph, 7.0, now)), "wrong_medium");
        assert_eq!(kind(r("YH-01", Parameter::Ph, 14.5, now)), "out_of_range");
        assert_eq!(kind(r("1223A", Parameter::Pm25, -1.0, now)), "out_of_range");
        let later = now + chrono::Duration::minutes(61);
        assert_eq!(kind(r("1223A", Parameter::Pm25, 1.0, later)), "in_future");
        let ok_later = now + chrono::Duration::minutes(59);
        assert!(
            v.check(&r("1223A", Parameter::Pm25, 1.0, ok_later), now)
                .is_ok()
        );
    }
}

//! The demo's simulated stations: a few days of realistic hourly air data (and real-time
//! data on the last evening) for the configured stations and 4-hourly water data for the sections, with designed events
//! whose outcome is known from the standards (so the demo's summary can be checked):
//!
//! - air: every day is good (city PM2.5 ~30 µg/m3, IAQI ~43) except `polluted_day`, when
//!   PM2.5 sits near 160 µg/m3 all day (24 h mean > 150 → IAQI > 200 under both editions);
//! - water: every section stays at or better than its target (values well inside class II
//!   limits), except `slipping_section`, whose NH3-N rises to 2.6 mg/L (> 2.0, class V
//!   limit → 劣V) from `slip_day` on;
//! - a handful of bad packets (wrong CRC, truncated, unknown MN, garbage) that must end
//!   in dead letters.

use chrono::{Days, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::config::{Section, Station};
use crate::model::{DataFlag, Period, Reading};
use crate::standards::parameter::Parameter;

/// What the simulator produces and which events it plants.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub first_day: NaiveDate,
    pub days: u32,
    pub tz: Tz,
    /// Index (0-based) of the polluted air day.
    pub polluted_day: u32,
    /// Section that slips to inferior class V, and from which day index.
    pub slipping_section: Option<String>,
    pub slip_day: u32,
    pub seed: u64,
}

impl Scenario {
    /// `days` complete local days ending yesterday; pollution on the middle day, the
    /// slip on the last two days.
    pub fn recent(days: u32, tz: Tz, sections: &[Section]) -> Scenario {
        let days = days.max(3);
        let today = Utc::now().with_timezone(&tz).date_naive();
        let first_day = today
            .checked_sub_days(Days::new(u64::from(days)))
            .unwrap_or(today);
        // Prefer a non-drinking river section with a class III/IV target to slip.
        let slipping = sections
            .iter()
            .find(|s| !s.drinking_source && s.target.0 >= crate::standards::water::WaterClass::III)
            .or_else(|| sections.first())
            .map(|s| s.id.0.clone());
        Scenario {
            first_day,
            days,
            tz,
            polluted_day: days / 2,
            slipping_section: slipping,
            slip_day: days - 2,
            seed: 20_261_125,
        }
    }

    pub fn day(&self, i: u32) -> NaiveDate {
        self.first_day
            .checked_add_days(Days::new(u64::from(i)))
            .unwrap_or(self.first_day)
    }

    fn hour_start(&self, day: u32, hour: u32) -> chrono::DateTime<Utc> {
        let local = self.day(day).and_hms_opt(hour, 0, 0).unwrap_or_default();
        // Asia/Shanghai has no DST; `earliest` also covers zones that do.
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }

    /// Hourly air readings (hour-start stamps, HJ 212 convention) for every station.
    pub fn air(&self, stations: &[Station]) -> Vec<Reading> {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        let mut out = Vec::new();
        for day in 0..self.days {
            let polluted = day == self.polluted_day;
            for hour in 0..24 {
                let time = self.hour_start(day, hour);
                // Diurnal shapes: traffic peaks for NO2/CO, afternoon peak for O3.
                let traffic = 1.0
                    + 0.4 * (((hour as f64) - 8.0).abs() < 2.0) as u8 as f64
                    + 0.4 * (((hour as f64) - 18.0).abs() < 2.0) as u8 as f64;
                let sun = (std::f64::consts::PI * ((hour as f64) - 6.0) / 12.0)
                    .sin()
                    .max(0.0);
                for s in stations {
                    let bg = if s.control { 0.6 } else { 1.0 };
                    let j = |rng: &mut SmallRng, x: f64| x * (1.0 + rng.random_range(-0.1..0.1));
                    let pm25 = if polluted { 160.0 } else { 30.0 * bg };
                    let values = [
                        (Parameter::Pm25, j(&mut rng, pm25).round()),
                        (Parameter::Pm10, j(&mut rng, pm25 * 1.5).round()),
                        (Parameter::So2, j(&mut rng, 7.0).round()),
                        (Parameter::No2, j(&mut rng, 30.0 * traffic * bg).round()),
                        (
                            Parameter::Co,
                            (j(&mut rng, 0.6 * traffic) * 10.0).round() / 10.0,
                        ),
                        (Parameter::O3, j(&mut rng, 20.0 + 70.0 * sun).round()),
                    ];
                    for (parameter, value) in values {
                        out.push(Reading {
                            period: Period::Hour,
                            site: s.code.clone(),
                            parameter,
                            time,
                            value,
                            flag: DataFlag::N,
                        });
                        // The last evening also has real-time data (HJ 212 CN 2011) every
                        // 5 minutes, as loggers send beside their hours: display only.
                        if day + 1 == self.days && hour >= 18 {
                            for k in 1..12 {
                                out.push(Reading {
                                    period: Period::RealTime,
                                    site: s.code.clone(),
                                    parameter,
                                    time: time + Duration::minutes(5 * k),
                                    value: j(&mut rng, value).max(0.0),
                                    flag: DataFlag::N,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Water readings every 4 hours (6 a day, like automatic stations) per section.
    pub fn water(&self, sections: &[Section]) -> Vec<Reading> {
        let mut rng = SmallRng::seed_from_u64(self.seed ^ 0x0057_4154_4552);
        let mut out = Vec::new();
        for day in 0..self.days {
            for slot in 0..6 {
                let time = self.hour_start(day, slot * 4);
                for s in sections {
                    let slipping = self.slipping_section.as_deref() == Some(s.id.as_str())
                        && day >= self.slip_day;
                    let j = |rng: &mut SmallRng, x: f64| x * (1.0 + rng.random_range(-0.05..0.05));
                    // Class II or better everywhere (limits: DO >= 6, CODMn <= 4, NH3-N <= 0.5,
                    // TP river <= 0.1 / lake <= 0.025, TN lake <= 0.5).
                    let tp = if s.waterbody.is_lake_like() {
                        0.018
                    } else {
                        0.06
                    };
                    let mut values = vec![
                        (
                            Parameter::WaterTemperature,
                            (j(&mut rng, 16.0) * 10.0).round() / 10.0,
                        ),
                        (Parameter::Ph, (j(&mut rng, 7.4) * 100.0).round() / 100.0),
                        (Parameter::Do, (j(&mut rng, 8.2) * 100.0).round() / 100.0),
                        (Parameter::CodMn, (j(&mut rng, 2.6) * 100.0).round() / 100.0),
                        (
                            Parameter::Nh3N,
                            if slipping {
                                2.6
                            } else {
                                (j(&mut rng, 0.22) * 1000.0).round() / 1000.0
                            },
                        ),
                        (Parameter::Tp, (j(&mut rng, tp) * 1000.0).round() / 1000.0),
                    ];
                    if s.waterbody.is_lake_like() {
                        values.push((Parameter::Tn, (j(&mut rng, 0.4) * 100.0).round() / 100.0));
                    }
                    for (parameter, value) in values {
                        out.push(Reading {
                            period: Period::Hour,
                            site: s.id.clone(),
                            parameter,
                            time,
                            value,
                            flag: DataFlag::N,
                        });
                    }
                }
            }
        }
        out
    }

    /// Start of the simulated period (UTC) and its end (exclusive).
    pub fn span(&self) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
        (
            self.hour_start(0, 0),
            self.hour_start(self.days.saturating_sub(1), 0) + Duration::days(1),
        )
    }
}

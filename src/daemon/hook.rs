//! The store's commit hook: every committed reading also becomes an Influx point
//! (`air_hourly` / `water_reading`; real-time and minute data `air_realtime` /
//! `water_realtime`) queued in the outbox IN THE SAME TRANSACTION, so an
//! Influx outage (or a crash) can never lose a point that describes stored data.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use tokio::sync::Notify;

use crate::config::{Config, Section, Station};
use crate::ingest::CommitHook;
use crate::model::{Period, Reading, SiteId};
use crate::publish::line_protocol::Point;
use crate::publish::{outbox, schema};
use crate::standards::parameter::Parameter;

/// Readings -> points, grouped per site and time (one point carries all parameters).
pub struct ReadingPoints {
    stations: HashMap<SiteId, Station>,
    sections: HashMap<SiteId, Section>,
}

impl ReadingPoints {
    pub fn new(config: &Config) -> ReadingPoints {
        ReadingPoints {
            stations: config
                .stations
                .iter()
                .map(|s| (s.code.clone(), s.clone()))
                .collect(),
            sections: config
                .sections
                .iter()
                .map(|s| (s.id.clone(), s.clone()))
                .collect(),
        }
    }

    /// One point per (site, period, time): hours to `air_hourly` / `water_reading`,
    /// real-time and minute data to `air_realtime` / `water_realtime`; the loggers' day
    /// means stay in the store. A parameter delivered twice in one batch keeps its last
    /// value (the store upserts the same way).
    pub fn points(&self, readings: &[Reading]) -> Vec<Point> {
        type Group = BTreeMap<Parameter, Reading>;
        let mut groups: BTreeMap<(&SiteId, Period, DateTime<Utc>), Group> = BTreeMap::new();
        for r in readings.iter().filter(|r| r.period != Period::Day) {
            groups
                .entry((&r.site, r.period, r.time))
                .or_default()
                .insert(r.parameter, r.clone());
        }
        let mut out = Vec::with_capacity(groups.len());
        for ((site, period, time), params) in groups {
            let rs: Vec<Reading> = params.into_values().collect();
            let point = match (self.stations.get(site), self.sections.get(site)) {
                (Some(st), _) if period == Period::Hour => schema::air_hourly(st, time, &rs),
                (_, Some(sec)) if period == Period::Hour => schema::water_reading(sec, time, &rs),
                (Some(st), _) => {
                    schema::realtime(schema::RealtimeSite::Station(st), period, time, &rs)
                }
                (_, Some(sec)) => {
                    schema::realtime(schema::RealtimeSite::Section(sec), period, time, &rs)
                }
                _ => continue, // validation only lets known sites through
            };
            match point {
                Ok(p) => out.push(p),
                Err(e) => tracing::warn!(site = %site, "reading not published: {e}"),
            }
        }
        out
    }

    /// The commit hook for [`crate::ingest::spawn_writer`]; pokes `wake` so the
    /// publisher sends at once. The maps are shared so that a SIGHUP reload can replace
    /// them ([`ReadingPoints::replace`]): a station added by a reload is published too.
    pub fn into_hook(self, wake: Option<Arc<Notify>>) -> (CommitHook, SharedPoints) {
        let shared: SharedPoints = Arc::new(RwLock::new(self));
        let maps = shared.clone();
        let hook: CommitHook = Box::new(move |tx: &Transaction<'_>, readings: &[Reading]| {
            if readings.is_empty() {
                return Ok(());
            }
            let points = match maps.read() {
                Ok(m) => m.points(readings),
                // A panic while replacing left the maps as they were: still usable.
                Err(poisoned) => poisoned.into_inner().points(readings),
            };
            let outcome = outbox::enqueue(tx, &points)?;
            if outcome.dropped > 0 {
                tracing::error!(
                    dropped = outcome.dropped,
                    "outbox full: points refused (data is kept in the store)"
                );
            }
            if let Some(w) = &wake {
                w.notify_one();
            }
            Ok(())
        });
        (hook, shared)
    }

    /// Swaps in the maps of a reloaded configuration.
    pub fn replace(shared: &SharedPoints, config: &Config) {
        let fresh = ReadingPoints::new(config);
        match shared.write() {
            Ok(mut m) => *m = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}

/// The commit hook's site maps, shared with the reload path.
pub type SharedPoints = Arc<RwLock<ReadingPoints>>;

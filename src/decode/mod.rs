//! Payload -> readings. One [`Decoder`] per pipeline, built from its `[decode]` section:
//! HJ 212 frames ([`hj212`]) or JSON mapped by the pipeline file ([`json`]). The decoder
//! also resolves the feed's site identifiers (HJ 212 MN, platform codes) to our site ids,
//! so everything after it speaks [`Reading`].

pub mod csv;
pub mod hj212;
pub mod json;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono_tz::Tz;

use crate::config::pipeline::{CrcMode, Format, Pipeline};
use crate::config::{Config, HourLabel};
use crate::model::{Reading, SiteId};
use crate::standards::parameter::Parameter;

/// Maps feed identifiers to site ids: the pipeline's `[sites]` table first, then the MNs
/// declared in stations.toml / sections.toml, then identifiers that are site ids already.
#[derive(Debug, Clone, Default)]
pub struct SiteResolver {
    pipeline_sites: BTreeMap<String, SiteId>,
    mn_index: HashMap<String, SiteId>,
    known: HashSet<String>,
}

impl SiteResolver {
    pub fn new(
        pipeline_sites: BTreeMap<String, SiteId>,
        mn_index: HashMap<String, SiteId>,
        known: impl IntoIterator<Item = SiteId>,
    ) -> SiteResolver {
        SiteResolver {
            pipeline_sites,
            mn_index,
            known: known.into_iter().map(|s| s.0).collect(),
        }
    }

    pub fn for_pipeline(p: &Pipeline, config: &Config) -> SiteResolver {
        SiteResolver::new(
            p.sites.clone(),
            config.mn_index.clone(),
            config
                .stations
                .iter()
                .map(|s| s.code.clone())
                .chain(config.sections.iter().map(|s| s.id.clone())),
        )
    }

    pub fn resolve(&self, feed_id: &str) -> Option<SiteId> {
        if let Some(s) = self.pipeline_sites.get(feed_id) {
            return Some(s.clone());
        }
        if let Some(s) = self.mn_index.get(feed_id) {
            return Some(s.clone());
        }
        self.known.contains(feed_id).then(|| SiteId::new(feed_id))
    }
}

/// Why a payload (or part of it) gave no reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("HJ 212: {0}")]
    Hj212(#[from] hj212::Hj212Error),
    #[error("JSON: {0}")]
    Json(#[from] json::JsonError),
    #[error(
        "unknown site: MN \"{mn}\" is in no station/section `mn` nor in the pipeline's [sites]"
    )]
    UnknownMn { mn: String },
    #[error("payload of {size} bytes exceeds the {limit}-byte limit (mqtt.max_packet_size)")]
    TooLarge { size: usize, limit: usize },
    #[error("empty payload")]
    Empty,
    #[error("format {0:?} cannot be decoded from messages yet")]
    UnsupportedFormat(Format),
}

impl DecodeError {
    /// Short kind for metrics and the dead-letter reason prefix.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Hj212(e) => e.kind(),
            DecodeError::Json(e) => e.kind(),
            DecodeError::UnknownMn { .. } => "unknown_mn",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Empty => "empty",
            DecodeError::UnsupportedFormat(_) => "unsupported_format",
        }
    }
}

/// What one payload gave.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    pub readings: Vec<Reading>,
    /// Parts that were rejected while others were kept (a bad factor, a bad record).
    pub rejected: Vec<DecodeError>,
    /// Factor codes that are not envwatch parameters (skipped on purpose, counted).
    pub skipped_codes: usize,
}

/// A pipeline's decoder.
#[derive(Debug, Clone)]
pub struct Decoder {
    format: FormatDecoder,
    sites: SiteResolver,
}

#[derive(Debug, Clone)]
enum FormatDecoder {
    Hj212 {
        crc: CrcMode,
        opts: hj212::ReadingOptions,
    },
    Json(Box<json::JsonDecoder>),
}

impl Decoder {
    /// Builds the decoder of pipeline `p`; `tz` is the zone of local times (general.timezone).
    pub fn new(p: &Pipeline, config: &Config) -> anyhow::Result<Decoder> {
        let tz = config.daemon.general.timezone;
        let unit_factors = unit_factors(&p.decode.units)
            .map_err(|e| anyhow::anyhow!("pipeline \"{}\": decode.units: {e}", p.name))?;
        let format = match p.decode.format {
            Format::Hj212 if p.decode.period.is_some() => anyhow::bail!(
                "pipeline \"{}\": decode.period is for JSON feeds; HJ 212 packets carry their period in CN",
                p.name
            ),
            Format::Hj212 => FormatDecoder::Hj212 {
                crc: p.decode.crc,
                opts: hj212::ReadingOptions {
                    tz,
                    hour_label: p.decode.hour_label,
                    unit_factors,
                },
            },
            Format::Json => {
                let m = p.decode.json.as_ref().ok_or_else(|| {
                    anyhow::anyhow!("pipeline \"{}\": format json needs [decode.json]", p.name)
                })?;
                FormatDecoder::Json(Box::new(
                    json::JsonDecoder::new(
                        m,
                        tz,
                        p.decode.hour_label,
                        unit_factors,
                        p.decode.period.unwrap_or_default(),
                    )
                    .map_err(|e| anyhow::anyhow!("pipeline \"{}\": {e}", p.name))?,
                ))
            }
            Format::Csv => {
                anyhow::bail!(
                    "pipeline \"{}\": format csv is for files (envwatch backfill), not message sources",
                    p.name
                )
            }
        };
        Ok(Decoder {
            format,
            sites: SiteResolver::for_pipeline(p, config),
        })
    }

    /// An HJ 212 decoder without a config (for `envwatch hj212 decode`, tests, benches).
    pub fn hj212(crc: CrcMode, tz: Tz, hour_label: HourLabel, sites: SiteResolver) -> Decoder {
        Decoder {
            format: FormatDecoder::Hj212 {
                crc,
                opts: hj212::ReadingOptions {
                    tz,
                    hour_label,
                    unit_factors: Vec::new(),
                },
            },
            sites,
        }
    }

    /// Decodes one payload. `Err` when nothing of it is usable; otherwise the readings and
    /// the parts that were rejected.
    pub fn decode(&self, payload: &[u8]) -> Result<Decoded, DecodeError> {
        if payload.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(DecodeError::Empty);
        }
        match &self.format {
            FormatDecoder::Hj212 { crc, opts } => {
                let pkt = hj212::decode(payload, *crc)?;
                // Data kind and time first: a CN=9014 answer is "not data", not "unknown MN".
                pkt.time_utc(opts)?;
                let site =
                    self.sites
                        .resolve(&pkt.header.mn)
                        .ok_or_else(|| DecodeError::UnknownMn {
                            mn: pkt.header.mn.clone(),
                        })?;
                let ex = pkt.readings(&site, opts)?;
                Ok(Decoded {
                    readings: ex.readings,
                    rejected: ex.rejected.into_iter().map(DecodeError::Hj212).collect(),
                    skipped_codes: ex.skipped.len(),
                })
            }
            FormatDecoder::Json(j) => {
                let out = j.decode(payload, &self.sites)?;
                Ok(Decoded {
                    readings: out.readings,
                    rejected: out.rejected.into_iter().map(DecodeError::Json).collect(),
                    skipped_codes: 0,
                })
            }
        }
    }
}

/// Factor from a feed's unit to the parameter's canonical unit, for the mass
/// concentration units stations use (`ng|µg|ug|mg|g` per `m3|L`); identical units give 1.
pub fn unit_factor(p: Parameter, from: &str) -> Result<f64, String> {
    let to = p.unit();
    let norm = |u: &str| {
        u.trim()
            .replace(['μ', 'µ'], "u")
            .replace("m³", "m3")
            .to_ascii_lowercase()
    };
    let (f, t) = (norm(from), norm(to));
    if f == t {
        return Ok(1.0);
    }
    let split = |u: &str| -> Option<(f64, String)> {
        let (mass, vol) = u.split_once('/')?;
        let scale = match mass {
            "ng" => 1e-9,
            "ug" => 1e-6,
            "mg" => 1e-3,
            "g" => 1.0,
            _ => return None,
        };
        Some((scale, vol.to_string()))
    };
    match (split(&f), split(&t)) {
        (Some((sf, vf)), Some((st, vt))) if vf == vt => Ok(sf / st),
        _ => Err(format!(
            "cannot convert {p} from \"{from}\" to \"{to}\" (only ng/µg/mg/g per m3 or L)"
        )),
    }
}

fn unit_factors(units: &BTreeMap<Parameter, String>) -> Result<Vec<(Parameter, f64)>, String> {
    units
        .iter()
        .map(|(p, u)| unit_factor(*p, u).map(|f| (*p, f)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_mass_prefixes_only() {
        assert_eq!(unit_factor(Parameter::Co, "µg/m3").unwrap(), 1e-3);
        assert_eq!(unit_factor(Parameter::Hg, "ug/L").unwrap(), 1e-3);
        assert_eq!(unit_factor(Parameter::Pm25, "μg/m³").unwrap(), 1.0);
        assert!(unit_factor(Parameter::Pm25, "mg/L").is_err());
        assert!(unit_factor(Parameter::Ph, "mg/L").is_err());
    }

    #[test]
    fn sites_resolve_pipeline_then_mn_then_id() {
        let r = SiteResolver::new(
            [("X1".to_string(), SiteId::new("1223A"))].into(),
            [("MN9".to_string(), SiteId::new("YH-01"))].into(),
            [SiteId::new("1224A")],
        );
        assert_eq!(r.resolve("X1"), Some(SiteId::new("1223A")));
        assert_eq!(r.resolve("MN9"), Some(SiteId::new("YH-01")));
        assert_eq!(r.resolve("1224A"), Some(SiteId::new("1224A")));
        assert_eq!(r.resolve("nope"), None);
    }
}

//! `config/stations.toml` (air stations) and `config/sections.toml` (water sections).

use serde::Deserialize;

use crate::model::SiteId;
use crate::standards::water::{TargetClass, WaterBody};

/// An air monitoring station (国控/省控点).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Station {
    /// CNEMC station code, e.g. `1223A`.
    pub code: SiteId,
    pub name: String,
    pub city: String,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    /// Background / control point (对照点): measured and published, but excluded from
    /// city statistics.
    #[serde(default)]
    pub control: bool,
    /// HJ 212 MN of the station's data logger, when it reports over HJ 212.
    #[serde(default)]
    pub mn: Option<String>,
}

/// A surface-water monitoring section (断面) or drinking-water source point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: SiteId,
    pub name: String,
    /// River, lake or reservoir name (the water the section samples).
    pub river: String,
    #[serde(default)]
    pub basin: Option<String>,
    /// River vs lake/reservoir: decides the TP limits and whether TN is judged.
    pub waterbody: WaterBody,
    /// Centralised drinking-water source (集中式饮用水水源地): must be compliant 100%.
    #[serde(default)]
    pub drinking_source: bool,
    /// Target class (水质目标), I … V.
    pub target: TargetClass,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub mn: Option<String>,
}

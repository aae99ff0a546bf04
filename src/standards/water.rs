//! GB 3838-2002 surface-water classes. (Limits and single-factor judgement: issue #5.)

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Surface-water quality class, ordered from best to worst: `I < II < III < IV < V < InferiorV`
/// (劣Ⅴ类). Encoded 1..=6 in Influx and the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterClass {
    I = 1,
    II = 2,
    III = 3,
    IV = 4,
    V = 5,
    InferiorV = 6,
}

impl WaterClass {
    pub const ALL: [WaterClass; 6] = [
        WaterClass::I,
        WaterClass::II,
        WaterClass::III,
        WaterClass::IV,
        WaterClass::V,
        WaterClass::InferiorV,
    ];

    /// 1..=6 (6 = inferior V).
    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: u8) -> Option<WaterClass> {
        WaterClass::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// ASCII label: `I` … `V`, `劣V` is written `InferiorV` only in code; labels use `劣V`.
    pub fn label(self) -> &'static str {
        match self {
            WaterClass::I => "I",
            WaterClass::II => "II",
            WaterClass::III => "III",
            WaterClass::IV => "IV",
            WaterClass::V => "V",
            WaterClass::InferiorV => "劣V",
        }
    }

    /// Label with Chinese roman numerals as published (Ⅰ … Ⅴ, 劣Ⅴ).
    pub fn label_zh(self) -> &'static str {
        match self {
            WaterClass::I => "Ⅰ",
            WaterClass::II => "Ⅱ",
            WaterClass::III => "Ⅲ",
            WaterClass::IV => "Ⅳ",
            WaterClass::V => "Ⅴ",
            WaterClass::InferiorV => "劣Ⅴ",
        }
    }
}

impl fmt::Display for WaterClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A class name that is not I … V / 劣V.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("class \"{0}\" is not one of I, II, III, IV, V, 劣V")]
pub struct BadClass(pub String);

impl FromStr for WaterClass {
    type Err = BadClass;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "I" | "1" | "Ⅰ" => WaterClass::I,
            "II" | "2" | "Ⅱ" => WaterClass::II,
            "III" | "3" | "Ⅲ" => WaterClass::III,
            "IV" | "4" | "Ⅳ" => WaterClass::IV,
            "V" | "5" | "Ⅴ" => WaterClass::V,
            "劣V" | "劣Ⅴ" | "6" | "inferior_V" | "InferiorV" | "inferior V" => {
                WaterClass::InferiorV
            }
            other => return Err(BadClass(other.to_string())),
        })
    }
}

impl Serialize for WaterClass {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// A section's target class (水质目标): I … V. 劣V is never a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TargetClass(pub WaterClass);

impl<'de> Deserialize<'de> for TargetClass {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.parse::<WaterClass>() {
            Ok(c) if c != WaterClass::InferiorV => Ok(TargetClass(c)),
            _ => Err(serde::de::Error::custom(format!(
                "target class \"{s}\" is not one of I, II, III, IV, V"
            ))),
        }
    }
}

/// The kind of water body a section samples: GB 3838 uses different TP limits for
/// rivers and for lakes/reservoirs, and judges TN only for lakes/reservoirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaterBody {
    River,
    Lake,
    Reservoir,
}

impl WaterBody {
    /// Lakes and reservoirs share GB 3838's 湖、库 limits.
    pub fn is_lake_like(self) -> bool {
        matches!(self, WaterBody::Lake | WaterBody::Reservoir)
    }
}

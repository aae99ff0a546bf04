//! The measured quantities envwatch knows, with their canonical names, HJ 212 codes,
//! units and physical ranges. Every other module speaks `Parameter`, never raw strings:
//! names and codes are parsed once, at the edge (decoder, CSV reader, config loader).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a parameter belongs to: ambient air (AQI pollutants), surface water
/// (GB 3838 items) or the meteorological auxiliaries that air stations also send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    Air,
    Water,
    Meteo,
}

macro_rules! parameters {
    ($( $variant:ident => {
        name: $name:literal,
        medium: $medium:ident,
        unit: $unit:literal,
        field: $field:literal,
        codes: [$($code:literal),*],
        aliases: [$($alias:literal),*],
        range: ($min:expr, $max:expr),
        doc: $doc:literal $(,)?
    } ),* $(,)?) => {
        /// A measured quantity. Units are fixed per parameter (see [`Parameter::unit`]):
        /// CO in mg/m3, other air pollutants in µg/m3, water items in mg/L unless noted.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Parameter {
            $( #[doc = $doc] $variant, )*
        }

        impl Parameter {
            /// Every parameter, in declaration order (air, meteorological, water).
            pub const ALL: &'static [Parameter] = &[$(Parameter::$variant),*];

            /// The canonical name used in CSV files, config and reports (e.g. `PM2.5`, `NH3-N`).
            pub fn name(self) -> &'static str {
                match self { $(Parameter::$variant => $name,)* }
            }

            /// Air, water or meteorological.
            pub fn medium(self) -> Medium {
                match self { $(Parameter::$variant => Medium::$medium,)* }
            }

            /// The unit envwatch stores and judges this parameter in.
            pub fn unit(self) -> &'static str {
                match self { $(Parameter::$variant => $unit,)* }
            }

            /// InfluxDB field name (`pm2_5`, `nh3_n`, ...): lowercase ASCII, no escaping needed.
            pub fn field(self) -> &'static str {
                match self { $(Parameter::$variant => $field,)* }
            }

            /// HJ 212 factor codes: the 2017 code first, then HJ/T 212-2005 codes where they exist.
            pub fn hj212_codes(self) -> &'static [&'static str] {
                match self { $(Parameter::$variant => &[$($code),*],)* }
            }

            /// Physically possible range (inclusive) in [`Parameter::unit`]; values outside are
            /// rejected at ingest as instrument or transmission errors, not judged.
            pub fn physical_range(self) -> (f64, f64) {
                match self { $(Parameter::$variant => ($min, $max),)* }
            }

            fn aliases(self) -> &'static [&'static str] {
                match self { $(Parameter::$variant => &[$($alias),*],)* }
            }
        }
    };
}

parameters! {
    // --- Ambient air: the six AQI pollutants (HJ 633), HJ 212-2017 Table B.2 codes.
    Pm25 => { name: "PM2.5", medium: Air, unit: "µg/m3", field: "pm2_5", codes: ["a34004"],
        aliases: ["PM25", "PM2_5", "pm2_5", "pm25"], range: (0.0, 5000.0), doc: "Fine particulate matter PM2.5 (µg/m3)" },
    Pm10 => { name: "PM10", medium: Air, unit: "µg/m3", field: "pm10", codes: ["a34002"],
        aliases: [], range: (0.0, 10000.0), doc: "Inhalable particulate matter PM10 (µg/m3)" },
    So2 => { name: "SO2", medium: Air, unit: "µg/m3", field: "so2", codes: ["a21026", "02"],
        aliases: [], range: (0.0, 20000.0), doc: "Sulphur dioxide (µg/m3)" },
    No2 => { name: "NO2", medium: Air, unit: "µg/m3", field: "no2", codes: ["a21004"],
        aliases: [], range: (0.0, 10000.0), doc: "Nitrogen dioxide (µg/m3)" },
    Co => { name: "CO", medium: Air, unit: "mg/m3", field: "co", codes: ["a21005", "04"],
        aliases: [], range: (0.0, 500.0), doc: "Carbon monoxide (mg/m3)" },
    // a05024 is not in HJ 212-2017 Table B.2 but is what platforms use for O3 (STANDARDS.md 5.8).
    O3 => { name: "O3", medium: Air, unit: "µg/m3", field: "o3", codes: ["a05024"],
        aliases: [], range: (0.0, 5000.0), doc: "Ozone, 1-hour value (µg/m3)" },
    Nox => { name: "NOx", medium: Air, unit: "µg/m3", field: "nox", codes: ["a21002", "03"],
        aliases: ["NOX"], range: (0.0, 20000.0), doc: "Nitrogen oxides as NO2 (µg/m3)" },
    No => { name: "NO", medium: Air, unit: "µg/m3", field: "no", codes: ["a21003"],
        aliases: [], range: (0.0, 20000.0), doc: "Nitric oxide (µg/m3)" },
    // --- Meteorological auxiliaries sent by air stations (HJ 212-2017 Table B.2).
    AirTemperature => { name: "TEMP", medium: Meteo, unit: "°C", field: "temp", codes: ["a01001"],
        aliases: ["temperature"], range: (-60.0, 60.0), doc: "Air temperature (°C)" },
    Humidity => { name: "RH", medium: Meteo, unit: "%", field: "rh", codes: ["a01002"],
        aliases: ["humidity"], range: (0.0, 100.0), doc: "Relative humidity (%)" },
    Pressure => { name: "PRESSURE", medium: Meteo, unit: "kPa", field: "pressure", codes: ["a01006"],
        aliases: ["pressure"], range: (30.0, 120.0), doc: "Air pressure (kPa)" },
    WindSpeed => { name: "WS", medium: Meteo, unit: "m/s", field: "ws", codes: ["a01007"],
        aliases: ["wind_speed"], range: (0.0, 100.0), doc: "Wind speed (m/s)" },
    WindDirection => { name: "WD", medium: Meteo, unit: "°", field: "wd", codes: ["a01008"],
        aliases: ["wind_direction"], range: (0.0, 360.0), doc: "Wind direction (degrees)" },
    // --- Surface water: GB 3838-2002 Table 1 items, HJ 212-2017 Table B.1 codes, in mg/L.
    WaterTemperature => { name: "WT", medium: Water, unit: "°C", field: "wt", codes: ["w01010"],
        aliases: ["water_temp", "water_temp_C"], range: (-5.0, 50.0), doc: "Water temperature (°C), reference item" },
    Ph => { name: "pH", medium: Water, unit: "", field: "ph", codes: ["w01001", "001"],
        aliases: ["PH", "ph"], range: (0.0, 14.0), doc: "pH (dimensionless)" },
    Do => { name: "DO", medium: Water, unit: "mg/L", field: "do", codes: ["w01009"],
        aliases: [], range: (0.0, 30.0), doc: "Dissolved oxygen (mg/L); higher is better" },
    CodMn => { name: "CODMn", medium: Water, unit: "mg/L", field: "codmn", codes: ["w01019"],
        aliases: ["CODMN", "codmn"], range: (0.0, 1000.0), doc: "Permanganate index (mg/L)" },
    Cod => { name: "COD", medium: Water, unit: "mg/L", field: "cod", codes: ["w01018", "011"],
        aliases: ["CODCr"], range: (0.0, 10000.0), doc: "Chemical oxygen demand (mg/L)" },
    Bod5 => { name: "BOD5", medium: Water, unit: "mg/L", field: "bod5", codes: ["w01017", "010"],
        aliases: [], range: (0.0, 5000.0), doc: "Five-day biochemical oxygen demand (mg/L)" },
    Nh3N => { name: "NH3-N", medium: Water, unit: "mg/L", field: "nh3_n", codes: ["w21003", "060"],
        aliases: ["NH3N", "NH3_N", "nh3n"], range: (0.0, 1000.0), doc: "Ammonia nitrogen (mg/L)" },
    Tp => { name: "TP", medium: Water, unit: "mg/L", field: "tp", codes: ["w21011", "101"],
        aliases: [], range: (0.0, 100.0), doc: "Total phosphorus as P (mg/L)" },
    Tn => { name: "TN", medium: Water, unit: "mg/L", field: "tn", codes: ["w21001", "065"],
        aliases: [], range: (0.0, 500.0), doc: "Total nitrogen as N (mg/L)" },
    Cu => { name: "Cu", medium: Water, unit: "mg/L", field: "cu", codes: ["w20122", "029"],
        aliases: [], range: (0.0, 100.0), doc: "Copper (mg/L)" },
    Zn => { name: "Zn", medium: Water, unit: "mg/L", field: "zn", codes: ["w20123", "030"],
        aliases: [], range: (0.0, 100.0), doc: "Zinc (mg/L)" },
    Fluoride => { name: "F", medium: Water, unit: "mg/L", field: "fluoride", codes: ["w21017", "072"],
        aliases: ["fluoride"], range: (0.0, 100.0), doc: "Fluoride as F- (mg/L)" },
    Se => { name: "Se", medium: Water, unit: "mg/L", field: "se", codes: ["w20128", "035"],
        aliases: [], range: (0.0, 10.0), doc: "Selenium (mg/L; HJ 212 sends µg/L)" },
    As => { name: "As", medium: Water, unit: "mg/L", field: "as", codes: ["w20141", "w20119", "026"],
        aliases: [], range: (0.0, 10.0), doc: "Arsenic (mg/L)" },
    Hg => { name: "Hg", medium: Water, unit: "mg/L", field: "hg", codes: ["w20142", "w20111", "020"],
        aliases: [], range: (0.0, 1.0), doc: "Mercury (mg/L)" },
    Cd => { name: "Cd", medium: Water, unit: "mg/L", field: "cd", codes: ["w20143", "w20115", "022"],
        aliases: [], range: (0.0, 10.0), doc: "Cadmium (mg/L)" },
    Cr6 => { name: "Cr6", medium: Water, unit: "mg/L", field: "cr6", codes: ["w20117", "024"],
        aliases: ["Cr(VI)", "CR6"], range: (0.0, 10.0), doc: "Hexavalent chromium (mg/L)" },
    Pb => { name: "Pb", medium: Water, unit: "mg/L", field: "pb", codes: ["w20144", "w20120", "027"],
        aliases: [], range: (0.0, 10.0), doc: "Lead (mg/L)" },
    Cyanide => { name: "CN", medium: Water, unit: "mg/L", field: "cyanide", codes: ["w21016", "070"],
        aliases: ["cyanide"], range: (0.0, 100.0), doc: "Cyanide (mg/L)" },
    VolatilePhenol => { name: "phenol", medium: Water, unit: "mg/L", field: "phenol", codes: ["w23002", "110"],
        aliases: ["volatile_phenol"], range: (0.0, 100.0), doc: "Volatile phenol (mg/L)" },
    Petroleum => { name: "petroleum", medium: Water, unit: "mg/L", field: "petroleum", codes: ["w22001", "080"],
        aliases: ["oil"], range: (0.0, 1000.0), doc: "Petroleum (mg/L)" },
    Las => { name: "LAS", medium: Water, unit: "mg/L", field: "las", codes: ["w19002", "520"],
        aliases: [], range: (0.0, 100.0), doc: "Anionic surfactant as LAS (mg/L)" },
    Sulfide => { name: "S2-", medium: Water, unit: "mg/L", field: "sulfide", codes: ["w21019", "071"],
        aliases: ["sulfide"], range: (0.0, 100.0), doc: "Sulfide (mg/L)" },
    FecalColiform => { name: "FC", medium: Water, unit: "1/L", field: "fecal_coliform", codes: ["w02003", "550"],
        aliases: ["fecal_coliform"], range: (0.0, 1.0e9), doc: "Fecal coliform (per litre), reference item" },
    Conductivity => { name: "EC", medium: Water, unit: "µS/cm", field: "ec", codes: ["w01014"],
        aliases: ["conductivity", "conductivity_uS_cm"], range: (0.0, 100000.0), doc: "Conductivity (µS/cm), not classed" },
    Turbidity => { name: "TURB", medium: Water, unit: "NTU", field: "turbidity", codes: ["w01003"],
        aliases: ["turbidity", "turbidity_NTU"], range: (0.0, 10000.0), doc: "Turbidity (NTU), not classed" },
    ChlorophyllA => { name: "CHLA", medium: Water, unit: "mg/L", field: "chla", codes: ["w01016"],
        aliases: ["chla", "chla_mg_L"], range: (0.0, 10.0), doc: "Chlorophyll a (mg/L), trophic-state item" },
}

/// The six AQI pollutants, in the order HJ 633 lists them in reports.
pub const AQI_POLLUTANTS: [Parameter; 6] = [
    Parameter::So2,
    Parameter::No2,
    Parameter::Pm10,
    Parameter::Co,
    Parameter::O3,
    Parameter::Pm25,
];

impl Parameter {
    /// Look a parameter up by canonical name, alias (case-insensitive) or HJ 212 code.
    pub fn lookup(s: &str) -> Option<Parameter> {
        let s = s.trim();
        Parameter::ALL.iter().copied().find(|p| {
            p.name().eq_ignore_ascii_case(s)
                || p.field().eq_ignore_ascii_case(s)
                || p.aliases().iter().any(|a| a.eq_ignore_ascii_case(s))
                || p.hj212_codes().iter().any(|c| c.eq_ignore_ascii_case(s))
        })
    }

    /// Look a parameter up by HJ 212 factor code only (2017 or 2005 code).
    pub fn from_hj212_code(code: &str) -> Option<Parameter> {
        Parameter::ALL
            .iter()
            .copied()
            .find(|p| p.hj212_codes().iter().any(|c| c.eq_ignore_ascii_case(code)))
    }

    /// Whether `value` is physically possible for this parameter.
    pub fn in_physical_range(self, value: f64) -> bool {
        let (lo, hi) = self.physical_range();
        value.is_finite() && value >= lo && value <= hi
    }
}

/// Error for a name that is no known parameter; lists what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown parameter \"{0}\" (expected a name like PM2.5, O3, NH3-N, TP or an HJ 212 code like a34004, w21003)"
)]
pub struct UnknownParameter(pub String);

impl FromStr for Parameter {
    type Err = UnknownParameter;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Parameter::lookup(s).ok_or_else(|| UnknownParameter(s.to_string()))
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Parameter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Parameter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_and_aliases_resolve() {
        assert_eq!(Parameter::lookup("PM2.5"), Some(Parameter::Pm25));
        assert_eq!(Parameter::lookup("a34004"), Some(Parameter::Pm25));
        assert_eq!(Parameter::lookup("NH3N"), Some(Parameter::Nh3N));
        assert_eq!(Parameter::lookup("w21003"), Some(Parameter::Nh3N));
        assert_eq!(Parameter::lookup("060"), Some(Parameter::Nh3N));
        assert_eq!(Parameter::lookup("ph"), Some(Parameter::Ph));
        assert_eq!(Parameter::lookup("a05024"), Some(Parameter::O3));
        assert_eq!(Parameter::lookup("PM1"), None);
    }

    #[test]
    fn names_codes_and_fields_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in Parameter::ALL {
            for key in p
                .hj212_codes()
                .iter()
                .chain(p.aliases())
                .chain([p.name(), p.field()].iter())
            {
                let k = key.to_ascii_lowercase();
                // name and field may coincide for the same parameter
                if !seen.insert((k.clone(), *p)) {
                    continue;
                }
                let owners: Vec<_> = Parameter::ALL
                    .iter()
                    .filter(|q| {
                        q.name().eq_ignore_ascii_case(&k)
                            || q.field().eq_ignore_ascii_case(&k)
                            || q.aliases().iter().any(|a| a.eq_ignore_ascii_case(&k))
                            || q.hj212_codes().iter().any(|c| c.eq_ignore_ascii_case(&k))
                    })
                    .collect();
                assert_eq!(owners.len(), 1, "{k} is ambiguous: {owners:?}");
            }
        }
    }

    #[test]
    fn physical_range_rejects_negative_and_nan() {
        assert!(!Parameter::Pm25.in_physical_range(-1.0));
        assert!(!Parameter::Ph.in_physical_range(14.5));
        assert!(!Parameter::Do.in_physical_range(f64::NAN));
        assert!(Parameter::Ph.in_physical_range(7.2));
    }
}

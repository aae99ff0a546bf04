//! JSON payloads mapped by the pipeline's `[decode.json]` ([`JsonMapping`]): a new feed is
//! a pipeline file, not code.
//!
//! - `records`: JSON pointer to the array of records (empty: the payload itself, an
//!   object or an array of objects).
//! - `site`, `time`, `parameter`, `value`, `flag`: a field name of the record, or a JSON
//!   pointer inside the record when it starts with `/`.
//! - Wide records (`columns = { pm2_5 = "PM2.5", ... }`) or long records (`parameter` +
//!   `value`).
//!
//! Values must be JSON numbers (a string `"12"` is a type error, not silently parsed:
//! feeds that quote numbers are declared broken, loudly). `null` or an absent column is a
//! missing measurement and gives no reading. A bad record is rejected alone; the others
//! of the message are kept.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::SiteResolver;
use crate::config::HourLabel;
use crate::config::pipeline::JsonMapping;
use crate::model::{DataFlag, Period, Reading};
use crate::standards::parameter::Parameter;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonError {
    #[error("payload is not JSON: {0}")]
    NotJson(String),
    #[error("records pointer \"{0}\" finds nothing in the payload")]
    RecordsMissing(String),
    #[error("records at \"{pointer}\" are a {found}, expected an array or object")]
    RecordsType {
        pointer: String,
        found: &'static str,
    },
    #[error("payload has no records")]
    NoRecords,
    #[error("record {index}: is a {found}, expected an object")]
    RecordType { index: usize, found: &'static str },
    #[error("record {index}: field \"{field}\" is missing")]
    MissingField { index: usize, field: String },
    #[error("record {index}: field \"{field}\" is a {found}, expected {expected}")]
    FieldType {
        index: usize,
        field: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error("record {index}: time \"{value}\" does not match format \"{format}\"")]
    BadTime {
        index: usize,
        value: String,
        format: String,
    },
    #[error(
        "record {index}: unknown site \"{site}\" (not a station/section id nor in the pipeline's [sites])"
    )]
    UnknownSite { index: usize, site: String },
    #[error(
        "record {index}: field \"{field}\" = \"{value}\" is no data period (realtime, minute, hour, day or 2011, 2051, 2061, 2031)"
    )]
    UnknownPeriod {
        index: usize,
        field: String,
        value: String,
    },
    #[error("record {index}: unknown parameter \"{name}\"")]
    UnknownParameter { index: usize, name: String },
    #[error("record {index}: field \"{field}\" = {value} is not a finite number")]
    NotFinite {
        index: usize,
        field: String,
        value: String,
    },
    #[error("record {index}: flag \"{flag}\" is not an HJ 212 data flag (N, F, M, S, D, C, T, B)")]
    BadFlag { index: usize, flag: String },
    #[error("record {index}: no value for any mapped column")]
    NoValues { index: usize },
}

impl JsonError {
    pub fn kind(&self) -> &'static str {
        match self {
            JsonError::NotJson(_) => "json_syntax",
            JsonError::RecordsMissing(_) => "json_records_missing",
            JsonError::RecordsType { .. } => "json_records_type",
            JsonError::NoRecords => "json_no_records",
            JsonError::RecordType { .. } => "json_record_type",
            JsonError::MissingField { .. } => "json_missing_field",
            JsonError::FieldType { .. } => "json_field_type",
            JsonError::BadTime { .. } => "json_bad_time",
            JsonError::UnknownSite { .. } => "json_unknown_site",
            JsonError::UnknownParameter { .. } => "json_unknown_parameter",
            JsonError::UnknownPeriod { .. } => "json_unknown_period",
            JsonError::NotFinite { .. } => "json_not_finite",
            JsonError::BadFlag { .. } => "json_bad_flag",
            JsonError::NoValues { .. } => "json_no_values",
        }
    }
}

/// How `time` is written.
#[derive(Debug, Clone, PartialEq)]
enum TimeFormat {
    Rfc3339,
    Unix,
    UnixMs,
    /// strftime; `with_offset` when it contains `%z`/`%:z`.
    Pattern {
        pattern: String,
        with_offset: bool,
    },
}

#[derive(Debug, Clone)]
pub struct JsonDecoder {
    mapping: JsonMapping,
    time_format: TimeFormat,
    tz: Tz,
    hour_label: HourLabel,
    unit_factors: Vec<(Parameter, f64)>,
    /// Period of records without a period field (`[decode] period`).
    period: Period,
}

/// What one payload gave.
#[derive(Debug, Clone, Default)]
pub struct JsonOutput {
    pub readings: Vec<Reading>,
    pub rejected: Vec<JsonError>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl JsonDecoder {
    /// `tz` is the general time zone; the mapping's `timezone` overrides it.
    pub fn new(
        mapping: &JsonMapping,
        tz: Tz,
        hour_label: HourLabel,
        unit_factors: Vec<(Parameter, f64)>,
        period: Period,
    ) -> Result<JsonDecoder, String> {
        let tz = match &mapping.timezone {
            Some(z) => z
                .parse::<Tz>()
                .map_err(|_| format!("decode.json.timezone: unknown time zone \"{z}\""))?,
            None => tz,
        };
        let time_format = match mapping.time_format.as_str() {
            "rfc3339" => TimeFormat::Rfc3339,
            "unix" => TimeFormat::Unix,
            "unix_ms" => TimeFormat::UnixMs,
            p if p.contains('%') => TimeFormat::Pattern {
                pattern: p.to_string(),
                with_offset: p.contains("%z") || p.contains("%:z"),
            },
            other => {
                return Err(format!(
                    "decode.json.time_format \"{other}\" is not rfc3339, unix, unix_ms or a strftime pattern"
                ));
            }
        };
        let wide = !mapping.columns.is_empty();
        if wide == (mapping.parameter.is_some() && mapping.value.is_some()) {
            return Err(
                "[decode.json] needs either `columns` or both `parameter` and `value`".into(),
            );
        }
        Ok(JsonDecoder {
            mapping: mapping.clone(),
            time_format,
            tz,
            hour_label,
            unit_factors,
            period,
        })
    }

    pub fn decode(&self, payload: &[u8], sites: &SiteResolver) -> Result<JsonOutput, JsonError> {
        let root: Value =
            serde_json::from_slice(payload).map_err(|e| JsonError::NotJson(e.to_string()))?;
        let recs = if self.mapping.records.is_empty() {
            &root
        } else {
            root.pointer(&self.mapping.records)
                .ok_or_else(|| JsonError::RecordsMissing(self.mapping.records.clone()))?
        };
        let records: &[Value] = match recs {
            Value::Array(a) => a,
            Value::Object(_) => std::slice::from_ref(recs),
            other => {
                return Err(JsonError::RecordsType {
                    pointer: self.mapping.records.clone(),
                    found: type_name(other),
                });
            }
        };
        if records.is_empty() {
            return Err(JsonError::NoRecords);
        }
        let mut out = JsonOutput::default();
        for (index, rec) in records.iter().enumerate() {
            if let Err(e) = self.record(index, rec, sites, &mut out.readings) {
                out.rejected.push(e);
            }
        }
        Ok(out)
    }

    fn record(
        &self,
        index: usize,
        rec: &Value,
        sites: &SiteResolver,
        out: &mut Vec<Reading>,
    ) -> Result<(), JsonError> {
        if !rec.is_object() {
            return Err(JsonError::RecordType {
                index,
                found: type_name(rec),
            });
        }
        let get = |field: &str| -> Option<&Value> {
            if field.starts_with('/') {
                rec.pointer(field)
            } else {
                rec.get(field)
            }
        };
        let required = |field: &str| -> Result<&Value, JsonError> {
            get(field).ok_or_else(|| JsonError::MissingField {
                index,
                field: field.to_string(),
            })
        };
        let type_err = |field: &str, v: &Value, expected: &'static str| JsonError::FieldType {
            index,
            field: field.to_string(),
            found: type_name(v),
            expected,
        };

        let site_field = &self.mapping.site;
        let site_raw = match required(site_field)? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            v => return Err(type_err(site_field, v, "a string")),
        };
        let site = sites
            .resolve(&site_raw)
            .ok_or_else(|| JsonError::UnknownSite {
                index,
                site: site_raw.chars().take(64).collect(),
            })?;

        let period = match &self.mapping.period {
            Some(f) => match required(f)? {
                Value::String(v) => Period::parse(v),
                Value::Number(n) => Period::parse(&n.to_string()),
                v => return Err(type_err(f, v, "a string")),
            }
            .ok_or_else(|| JsonError::UnknownPeriod {
                index,
                field: f.clone(),
                value: get(f)
                    .map(|v| v.to_string())
                    .unwrap_or_default()
                    .chars()
                    .take(64)
                    .collect(),
            })?,
            None => self.period,
        };
        let time_field = &self.mapping.time;
        let mut time = self.parse_time(index, time_field, required(time_field)?)?;
        // End-labelled feeds (CNEMC) stamp hours at their end; other periods are left as is.
        if self.hour_label == HourLabel::End && period == Period::Hour {
            time -= Duration::hours(1);
        }

        let rec_flag = match &self.mapping.flag {
            Some(f) => self.flag(index, f, get(f))?,
            None => DataFlag::N,
        };

        let before = out.len();
        if self.mapping.columns.is_empty() {
            // Long record: one parameter per record.
            let (pf, vf) = match (&self.mapping.parameter, &self.mapping.value) {
                (Some(p), Some(v)) => (p, v),
                _ => return Ok(()),
            };
            let name = match required(pf)? {
                Value::String(s) => s,
                v => return Err(type_err(pf, v, "a string")),
            };
            let parameter = Parameter::lookup(name).ok_or_else(|| JsonError::UnknownParameter {
                index,
                name: name.chars().take(64).collect(),
            })?;
            if let Some(value) = self.number(index, vf, required(vf)?)? {
                out.push(self.reading(&site, parameter, time, period, value, rec_flag));
            }
        } else {
            for (field, parameter) in &self.mapping.columns {
                let Some(v) = get(field) else { continue };
                if let Some(value) = self.number(index, field, v)? {
                    out.push(self.reading(&site, *parameter, time, period, value, rec_flag));
                }
            }
        }
        if out.len() == before {
            return Err(JsonError::NoValues { index });
        }
        Ok(())
    }

    fn reading(
        &self,
        site: &crate::model::SiteId,
        parameter: Parameter,
        time: DateTime<Utc>,
        period: Period,
        value: f64,
        flag: DataFlag,
    ) -> Reading {
        let f = self
            .unit_factors
            .iter()
            .find(|(p, _)| *p == parameter)
            .map_or(1.0, |(_, f)| *f);
        Reading {
            site: site.clone(),
            parameter,
            time,
            period,
            value: value * f,
            flag,
        }
    }

    /// `Ok(None)` for null (a missing measurement).
    fn number(&self, index: usize, field: &str, v: &Value) -> Result<Option<f64>, JsonError> {
        match v {
            Value::Null => Ok(None),
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(JsonError::NotFinite {
                    index,
                    field: field.to_string(),
                    value: n.to_string(),
                }),
            },
            other => Err(JsonError::FieldType {
                index,
                field: field.to_string(),
                found: type_name(other),
                expected: "a number",
            }),
        }
    }

    fn flag(&self, index: usize, field: &str, v: Option<&Value>) -> Result<DataFlag, JsonError> {
        match v {
            None | Some(Value::Null) => Ok(DataFlag::N),
            Some(Value::String(s)) => DataFlag::parse(s).ok_or_else(|| JsonError::BadFlag {
                index,
                flag: s.chars().take(16).collect(),
            }),
            Some(other) => Err(JsonError::FieldType {
                index,
                field: field.to_string(),
                found: type_name(other),
                expected: "a string",
            }),
        }
    }

    fn parse_time(&self, index: usize, field: &str, v: &Value) -> Result<DateTime<Utc>, JsonError> {
        let bad = |value: String| JsonError::BadTime {
            index,
            value: value.chars().take(64).collect(),
            format: self.mapping.time_format.clone(),
        };
        match &self.time_format {
            TimeFormat::Unix | TimeFormat::UnixMs => {
                let n = match v {
                    Value::Number(n) => n.as_i64().ok_or_else(|| bad(n.to_string()))?,
                    other => {
                        return Err(JsonError::FieldType {
                            index,
                            field: field.to_string(),
                            found: type_name(other),
                            expected: "an integer timestamp",
                        });
                    }
                };
                let t = if self.time_format == TimeFormat::Unix {
                    DateTime::from_timestamp(n, 0)
                } else {
                    DateTime::from_timestamp_millis(n)
                };
                t.ok_or_else(|| bad(n.to_string()))
            }
            TimeFormat::Rfc3339 | TimeFormat::Pattern { .. } => {
                let s = match v {
                    Value::String(s) => s.as_str(),
                    other => {
                        return Err(JsonError::FieldType {
                            index,
                            field: field.to_string(),
                            found: type_name(other),
                            expected: "a time string",
                        });
                    }
                };
                match &self.time_format {
                    TimeFormat::Rfc3339 => DateTime::parse_from_rfc3339(s)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| bad(s.to_string())),
                    TimeFormat::Pattern {
                        pattern,
                        with_offset: true,
                    } => DateTime::parse_from_str(s, pattern)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| bad(s.to_string())),
                    TimeFormat::Pattern { pattern, .. } => {
                        let local = NaiveDateTime::parse_from_str(s, pattern)
                            .or_else(|_| {
                                NaiveDate::parse_from_str(s, pattern)
                                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                            })
                            .map_err(|_| bad(s.to_string()))?;
                        self.tz
                            .from_local_datetime(&local)
                            .earliest()
                            .map(|t| t.with_timezone(&Utc))
                            .ok_or_else(|| bad(s.to_string()))
                    }
                    _ => Err(bad(s.to_string())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SiteId;

    fn mapping(toml_src: &str) -> JsonMapping {
        toml::from_str(toml_src).unwrap()
    }

    fn sites() -> SiteResolver {
        SiteResolver::new(
            [("滨江".to_string(), SiteId::new("1223A"))].into(),
            Default::default(),
            [SiteId::new("1223A"), SiteId::new("YH-01")],
        )
    }

    #[test]
    fn wide_records_with_local_time() {
        let m = mapping(
            r#"records = "/data"
site = "station"
time = "time"
time_format = "%Y-%m-%d %H:%M:%S"
columns = { pm2_5 = "PM2.5", co = "CO" }
"#,
        );
        let d = JsonDecoder::new(
            &m,
            chrono_tz::Asia::Shanghai,
            HourLabel::Start,
            vec![],
            Period::Hour,
        )
        .unwrap();
        let out = d
            .decode(
                r#"{"data":[{"station":"滨江","time":"2019-11-11 09:00:00","pm2_5":35,"co":null},
                 {"station":"1223A","time":"2019-11-11 10:00:00","pm2_5":"36"},
                 {"station":"nowhere","time":"2019-11-11 10:00:00","pm2_5":1}]}"#
                    .as_bytes(),
                &sites(),
            )
            .unwrap();
        assert_eq!(out.readings.len(), 1);
        assert_eq!(out.readings[0].site, SiteId::new("1223A"));
        assert_eq!(
            out.readings[0].time.to_rfc3339(),
            "2019-11-11T01:00:00+00:00"
        );
        assert_eq!(out.rejected.len(), 2);
        assert_eq!(out.rejected[0].kind(), "json_field_type");
        assert_eq!(out.rejected[1].kind(), "json_unknown_site");
    }

    #[test]
    fn long_records_rfc3339_end_label() {
        let m = mapping(
            r#"site = "s"
time = "t"
parameter = "p"
value = "v"
flag = "f"
"#,
        );
        let d = JsonDecoder::new(
            &m,
            chrono_tz::Asia::Shanghai,
            HourLabel::End,
            vec![],
            Period::Hour,
        )
        .unwrap();
        let out = d
            .decode(
                br#"[{"s":"YH-01","t":"2026-02-04T10:00:00+08:00","p":"NH3-N","v":0.12,"f":"M"},
                     {"s":"YH-01","t":"2026-02-04T10:00:00+08:00","p":"zzz","v":1}]"#,
                &sites(),
            )
            .unwrap();
        assert_eq!(out.readings.len(), 1);
        assert_eq!(out.readings[0].parameter, Parameter::Nh3N);
        assert_eq!(out.readings[0].flag, DataFlag::M);
        // End label 10:00 = hour 09:00-10:00 local, start 01:00 UTC.
        assert_eq!(
            out.readings[0].time.to_rfc3339(),
            "2026-02-04T01:00:00+00:00"
        );
        assert_eq!(out.rejected[0].kind(), "json_unknown_parameter");
        assert_eq!(
            d.decode(b"{not json", &sites()).unwrap_err().kind(),
            "json_syntax"
        );
        assert_eq!(
            d.decode(b"[]", &sites()).unwrap_err().kind(),
            "json_no_records"
        );
        assert_eq!(
            d.decode(b"42", &sites()).unwrap_err().kind(),
            "json_records_type"
        );
    }
}

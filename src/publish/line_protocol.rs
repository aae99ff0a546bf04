//! InfluxDB line protocol: the [`Point`] type every publisher input becomes, and its exact
//! text encoding.
//!
//! Why our own encoder rather than `influxdb_line_protocol::LineProtocolBuilder`: the
//! crate escapes backslashes in tag values, which InfluxDB 1.x does not unescape (a tag
//! `x\y` would be stored as `x\\y`), it lets NaN/inf floats through (Influx rejects the
//! whole line), and it cannot say "no tag and field share a name" (InfluxDB 3 rejects
//! that). The rules below were checked against InfluxDB 1.x and VictoriaMetrics, and the
//! tests parse our output back with the crate's parser as an independent oracle.
//!
//! Encoding rules:
//! - measurement: `,` and space escaped with `\`;
//! - tag and field keys, tag values: `,`, `=` and space escaped;
//! - backslashes and line breaks cannot be represented portably in names and tag values
//!   (1.x keeps `\\` verbatim, a trailing `\` escapes the separator): such a point is
//!   refused with [`PointError::Unrepresentable`] rather than silently changed;
//! - string fields: `"` and `\` escaped; CR/LF become spaces (some servers split the body
//!   on newlines before parsing quotes);
//! - floats: shortest round-trip decimal (never exponent form), so values read back
//!   bit-exact; integers carry the `i` suffix;
//! - timestamps are always nanoseconds since the Unix epoch (`precision=ns`).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

/// A field value. Types are part of the schema: a field's type must never change, or
/// InfluxDB rejects the point (field type conflict).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Float(f64),
    Integer(i64),
    String(String),
    Boolean(bool),
}

/// Why a point cannot be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PointError {
    #[error("measurement name is empty")]
    EmptyMeasurement,
    #[error("point {measurement} has no fields")]
    NoFields { measurement: String },
    #[error("point {measurement}: empty {what} key")]
    EmptyKey {
        measurement: String,
        what: &'static str,
    },
    #[error("point {measurement}: field {field} is {value} (only finite floats can be written)")]
    NonFinite {
        measurement: String,
        field: String,
        value: f64,
    },
    #[error(
        "point {measurement}: {what} {value:?} contains a backslash or line break, which line protocol cannot carry portably"
    )]
    Unrepresentable {
        measurement: String,
        what: &'static str,
        value: String,
    },
    #[error("point {measurement}: key {key} is used twice (as {first} and {second})")]
    DuplicateKey {
        measurement: String,
        key: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("point {measurement}: timestamp {time} is outside the range of nanosecond timestamps")]
    TimeOutOfRange { measurement: String, time: String },
}

/// One line of line protocol: measurement, tags, fields and a nanosecond timestamp.
/// Built with [`Point::builder`], which validates everything, so encoding cannot fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    measurement: String,
    /// Sorted by key (InfluxDB's preferred order: cheaper series-key parsing).
    tags: Vec<(String, String)>,
    fields: Vec<(String, FieldValue)>,
    time_ns: i64,
}

impl Point {
    pub fn builder(measurement: impl Into<String>) -> PointBuilder {
        PointBuilder {
            measurement: measurement.into(),
            tags: Vec::new(),
            fields: Vec::new(),
            time: None,
        }
    }

    pub fn measurement(&self) -> &str {
        &self.measurement
    }

    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn fields(&self) -> &[(String, FieldValue)] {
        &self.fields
    }

    pub fn field(&self, key: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn time_ns(&self) -> i64 {
        self.time_ns
    }

    /// Appends this point as one line (without the trailing newline) to `out`.
    pub fn write_line(&self, out: &mut String) {
        escape_into(out, &self.measurement, &[',', ' ']);
        for (k, v) in &self.tags {
            out.push(',');
            escape_into(out, k, &[',', '=', ' ']);
            out.push('=');
            escape_into(out, v, &[',', '=', ' ']);
        }
        for (i, (k, v)) in self.fields.iter().enumerate() {
            out.push(if i == 0 { ' ' } else { ',' });
            escape_into(out, k, &[',', '=', ' ']);
            out.push('=');
            match v {
                // Display for f64 is the shortest representation that round-trips and
                // never uses exponent notation; writing to a String cannot fail.
                FieldValue::Float(f) => {
                    let _ = write!(out, "{f}");
                }
                FieldValue::Integer(n) => {
                    let _ = write!(out, "{n}i");
                }
                FieldValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
                FieldValue::String(s) => {
                    out.push('"');
                    for c in s.chars() {
                        match c {
                            '"' | '\\' => {
                                out.push('\\');
                                out.push(c);
                            }
                            '\n' | '\r' => out.push(' '),
                            _ => out.push(c),
                        }
                    }
                    out.push('"');
                }
            }
        }
        let _ = write!(out, " {}", self.time_ns);
    }

    /// This point as one line of line protocol, without a trailing newline.
    pub fn to_line(&self) -> String {
        let mut s = String::with_capacity(128);
        self.write_line(&mut s);
        s
    }
}

fn escape_into(out: &mut String, s: &str, special: &[char]) {
    for c in s.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Builds a validated [`Point`].
#[derive(Debug, Clone)]
pub struct PointBuilder {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, FieldValue)>,
    time: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy)]
enum Timestamp {
    Utc(DateTime<Utc>),
    Nanos(i64),
}

impl PointBuilder {
    /// Adds a tag. An empty value means "no tag" (line protocol cannot carry one).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.tags.push((key.into(), value));
        }
        self
    }

    /// Adds a tag when `value` is `Some`.
    pub fn tag_opt(self, key: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.tag(key, v),
            None => self,
        }
    }

    pub fn field(mut self, key: impl Into<String>, value: FieldValue) -> Self {
        self.fields.push((key.into(), value));
        self
    }

    pub fn float(self, key: impl Into<String>, value: f64) -> Self {
        self.field(key, FieldValue::Float(value))
    }

    pub fn integer(self, key: impl Into<String>, value: i64) -> Self {
        self.field(key, FieldValue::Integer(value))
    }

    pub fn string(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.field(key, FieldValue::String(value.into()))
    }

    pub fn boolean(self, key: impl Into<String>, value: bool) -> Self {
        self.field(key, FieldValue::Boolean(value))
    }

    pub fn time(mut self, t: DateTime<Utc>) -> Self {
        self.time = Some(Timestamp::Utc(t));
        self
    }

    pub fn time_ns(mut self, ns: i64) -> Self {
        self.time = Some(Timestamp::Nanos(ns));
        self
    }

    /// Validates and returns the point. A point without a timestamp is refused at the
    /// type level of our schema builders; here it defaults to "now" only for ad-hoc use.
    pub fn build(mut self) -> Result<Point, PointError> {
        let m = self.measurement.clone();
        if m.is_empty() {
            return Err(PointError::EmptyMeasurement);
        }
        check_representable(&m, "measurement", &m)?;
        if self.fields.is_empty() {
            return Err(PointError::NoFields { measurement: m });
        }
        for (k, v) in &self.tags {
            if k.is_empty() {
                return Err(PointError::EmptyKey {
                    measurement: m,
                    what: "tag",
                });
            }
            check_representable(&m, "tag key", k)?;
            check_representable(&m, "tag value", v)?;
        }
        for (k, v) in &self.fields {
            if k.is_empty() {
                return Err(PointError::EmptyKey {
                    measurement: m,
                    what: "field",
                });
            }
            check_representable(&m, "field key", k)?;
            if let FieldValue::Float(f) = v
                && !f.is_finite()
            {
                return Err(PointError::NonFinite {
                    measurement: m,
                    field: k.clone(),
                    value: *f,
                });
            }
        }
        // One namespace for tag and field keys (InfluxDB 3 forbids sharing a name, and
        // 1.x silently renames the field to `name_1` in query results).
        let mut keys: Vec<(&str, &'static str)> = self
            .tags
            .iter()
            .map(|(k, _)| (k.as_str(), "tag"))
            .chain(self.fields.iter().map(|(k, _)| (k.as_str(), "field")))
            .collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for w in keys.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(PointError::DuplicateKey {
                    measurement: m,
                    key: w[0].0.to_string(),
                    first: w[0].1,
                    second: w[1].1,
                });
            }
        }
        let time_ns = match self.time {
            Some(Timestamp::Nanos(n)) => n,
            Some(Timestamp::Utc(t)) => {
                t.timestamp_nanos_opt()
                    .ok_or_else(|| PointError::TimeOutOfRange {
                        measurement: m.clone(),
                        time: t.to_rfc3339(),
                    })?
            }
            None => Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        };
        self.tags.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Point {
            measurement: self.measurement,
            tags: self.tags,
            fields: self.fields,
            time_ns,
        })
    }
}

fn check_representable(measurement: &str, what: &'static str, s: &str) -> Result<(), PointError> {
    if s.contains(['\\', '\n', '\r']) {
        return Err(PointError::Unrepresentable {
            measurement: measurement.to_string(),
            what,
            value: s.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use influxdb_line_protocol::{FieldValue as Pv, parse_lines};

    fn parse_one(line: &str) -> influxdb_line_protocol::ParsedLine<'_> {
        let mut it = parse_lines(line);
        let p = it.next().expect("one line").expect("parses");
        assert!(it.next().is_none(), "exactly one line in {line:?}");
        p
    }

    #[test]
    fn plain_point_matches_the_documented_example() {
        // The line protocol reference's own example.
        let p = Point::builder("myMeasurement")
            .tag("tag1", "value1")
            .tag("tag2", "value2")
            .string("fieldKey", "fieldValue")
            .time_ns(1556813561098000000)
            .build()
            .unwrap();
        assert_eq!(
            p.to_line(),
            r#"myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue" 1556813561098000000"#
        );
    }

    #[test]
    fn special_characters_are_escaped_and_parse_back() {
        let p = Point::builder("air hourly,x")
            .tag("站 点", "余杭, 临平=1")
            .tag("city", "杭州")
            .float("pm2,5 =", 35.0)
            .string("msg", "say \"hi\" \\ bye\nnext")
            .integer("n", -3)
            .boolean("ok", true)
            .time_ns(-5)
            .build()
            .unwrap();
        let line = p.to_line();
        assert_eq!(
            line,
            r#"air\ hourly\,x,city=杭州,站\ 点=余杭\,\ 临平\=1 pm2\,5\ \==35,msg="say \"hi\" \\ bye next",n=-3i,ok=true -5"#
        );
        let parsed = parse_one(&line);
        assert_eq!(parsed.series.measurement.as_str(), "air hourly,x");
        assert_eq!(parsed.tag_value("站 点").unwrap().as_str(), "余杭, 临平=1");
        assert_eq!(parsed.tag_value("city").unwrap().as_str(), "杭州");
        assert_eq!(parsed.field_value("pm2,5 ="), Some(&Pv::F64(35.0)));
        assert_eq!(parsed.field_value("n"), Some(&Pv::I64(-3)));
        assert_eq!(parsed.field_value("ok"), Some(&Pv::Boolean(true)));
        match parsed.field_value("msg") {
            Some(Pv::String(s)) => assert_eq!(s.as_str(), "say \"hi\" \\ bye next"),
            other => panic!("msg: {other:?}"),
        }
        assert_eq!(parsed.timestamp, Some(-5));
    }

    #[test]
    fn floats_round_trip_exactly_without_exponents() {
        for v in [
            0.1,
            1e-7,
            1e21,
            123456.789,
            -0.0,
            0.30000000000000004,
            f64::MAX,
        ] {
            let line = Point::builder("m")
                .float("v", v)
                .time_ns(1)
                .build()
                .unwrap()
                .to_line();
            assert!(!line.contains('e'), "{line}");
            match parse_one(&line).field_value("v") {
                Some(Pv::F64(back)) => assert_eq!(back.to_bits(), v.to_bits(), "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_points_are_refused_with_reasons() {
        let nan = Point::builder("m").float("v", f64::NAN).time_ns(1).build();
        assert!(matches!(nan, Err(PointError::NonFinite { .. })));
        let none = Point::builder("m").tag("a", "b").time_ns(1).build();
        assert!(matches!(none, Err(PointError::NoFields { .. })));
        let clash = Point::builder("m")
            .tag("class", "III")
            .integer("class", 3)
            .time_ns(1)
            .build();
        assert!(matches!(
            clash,
            Err(PointError::DuplicateKey { ref key, .. }) if key == "class"
        ));
        let twice = Point::builder("m")
            .float("v", 1.0)
            .float("v", 2.0)
            .time_ns(1)
            .build();
        assert!(matches!(twice, Err(PointError::DuplicateKey { .. })));
        let backslash = Point::builder("m").tag("a", "x\\").float("v", 1.0).build();
        assert!(matches!(backslash, Err(PointError::Unrepresentable { .. })));
        let newline = Point::builder("m").tag("a", "x\ny").float("v", 1.0).build();
        assert!(matches!(newline, Err(PointError::Unrepresentable { .. })));
        assert_eq!(
            Point::builder("").float("v", 1.0).build(),
            Err(PointError::EmptyMeasurement)
        );
    }

    #[test]
    fn empty_tag_values_are_omitted_and_tags_sorted() {
        let p = Point::builder("m")
            .tag("z", "1")
            .tag("empty", "")
            .tag("a", "2")
            .tag_opt("none", None::<String>)
            .float("v", 1.5)
            .time_ns(7)
            .build()
            .unwrap();
        assert_eq!(p.to_line(), "m,a=2,z=1 v=1.5 7");
    }

    #[test]
    fn utc_times_become_nanoseconds() {
        let t = DateTime::parse_from_rfc3339("2026-10-01T00:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let p = Point::builder("m").float("v", 1.0).time(t).build().unwrap();
        // 2026-09-30T16:00:00Z
        assert_eq!(p.time_ns(), 1_790_784_000 * 1_000_000_000);
    }
}

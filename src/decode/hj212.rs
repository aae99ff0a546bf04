//! HJ 212-2017 (and HJ/T 212-2005, HJ 212-2025) frames: `##` + 4-digit length + data
//! segment + 4-hex CRC + optional CRLF (STANDARDS.md 5.1-5.7).
//!
//! Parsing is split in three steps so each error names what is wrong:
//! [`parse_frame`] (framing, length, CRC), [`parse_packet`] (header fields and the CP data
//! area) and [`Packet::readings`] (which value of each factor becomes a [`Reading`], at what
//! UTC time). The encoder ([`frame`], [`encode_packet`]) builds valid frames for simulators
//! and tests.
//!
//! Decisions on points the standard leaves open (see README "Ingest"):
//! - Multi-packet messages (PNUM/PNO) are accepted part by part, not reassembled: every part
//!   carries its own `DataTime` and whole factor groups, and readings are upserted on
//!   (site, parameter, time), so parts may arrive in any order, across restarts, without
//!   holding acknowledgements for a missing part.
//! - Factor codes envwatch does not know (`a99999`, `lng`, pollution-source codes) are
//!   skipped and reported in [`Extraction::skipped`] (and counted by the pipeline); a
//!   packet whose data yields no reading at all is rejected.
//! - Lengths and CRCs are computed over the UTF-8 bytes of the data segment.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use crate::config::HourLabel;
use crate::config::pipeline::CrcMode;
use crate::model::{DataFlag, Period, Reading, SiteId};
use crate::standards::parameter::Parameter;

/// Largest data segment HJ 212 allows (STANDARDS.md 5.1); longer ones are not framed
/// by the 4-digit length field anyway (9999 max), so we accept up to that.
pub const MAX_DATA_LEN: usize = 9999;

/// CRC-16 as printed in a frame: four hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crc(pub u16);

impl fmt::Display for Crc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl Serialize for Crc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// HJ 212-2017 Appendix A CRC-16 over the data segment (STANDARDS.md 5.7):
/// note `(reg >> 8) ^ byte`, not Modbus's `reg ^ byte`.
pub fn hj212_crc16(data: &[u8]) -> u16 {
    let mut reg: u16 = 0xFFFF;
    for &b in data {
        reg = (reg >> 8) ^ u16::from(b);
        for _ in 0..8 {
            let lsb = reg & 1;
            reg >>= 1;
            if lsb == 1 {
                reg ^= 0xA001;
            }
        }
    }
    reg
}

/// Standard CRC-16/MODBUS (what some field devices send instead, byte-swapped).
pub fn modbus_crc16(data: &[u8]) -> u16 {
    let mut reg: u16 = 0xFFFF;
    for &b in data {
        reg ^= u16::from(b);
        for _ in 0..8 {
            let lsb = reg & 1;
            reg >>= 1;
            if lsb == 1 {
                reg ^= 0xA001;
            }
        }
    }
    reg
}

/// CRC-16/MODBUS printed low byte first, as the devices in ../shared/data send it.
pub fn modbus_swapped_crc16(data: &[u8]) -> u16 {
    modbus_crc16(data).swap_bytes()
}

/// Everything that can be wrong with a packet. Serialized (tag `kind`) into the
/// `hj212 decode` JSON lines and the dead-letter reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hj212Error {
    #[error(
        "frame too short ({len} bytes): a frame is ##, 4 length digits, data, 4 CRC hex digits"
    )]
    TooShort { len: usize },
    #[error("frame does not start with ##")]
    MissingHeader,
    #[error("length field \"{field}\" is not 4 decimal digits")]
    BadLengthField { field: String },
    #[error("declared data length {declared} != actual {actual} bytes")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("CRC field \"{field}\" is not 4 hex digits")]
    BadCrcField { field: String },
    #[error(
        "CRC mismatch: packet says {given}, HJ 212 CRC of the data is {hj212}, byte-swapped CRC-16/MODBUS is {modbus_swapped}"
    )]
    CrcMismatch {
        given: Crc,
        hj212: Crc,
        modbus_swapped: Crc,
        /// The CRC the pipeline expected (`hj212` or `modbus-swapped`).
        expected: &'static str,
    },
    #[error("data segment is not valid UTF-8")]
    NotUtf8,
    #[error("header item \"{item}\" is not NAME=VALUE")]
    BadHeaderItem { item: String },
    #[error("header field {field} is missing")]
    MissingField { field: &'static str },
    #[error("header field {field}=\"{value}\" is invalid: {why}")]
    BadField {
        field: &'static str,
        value: String,
        why: &'static str,
    },
    #[error(
        "Flag={flag} declares protocol version bits {version}, neither 2005 (0), 2017 (1) nor 2025 (2)"
    )]
    UnknownVersion { flag: u8, version: u8 },
    #[error("data segment has no CP=&&...&& data area")]
    MissingCp,
    #[error("CP data area is not closed with &&")]
    UnterminatedCp,
    #[error("CP item \"{item}\" is not NAME=VALUE")]
    BadCpItem { item: String },
    #[error("CP has no DataTime")]
    MissingDataTime,
    #[error("DataTime \"{value}\" is not a valid YYYYMMDDhhmmss[zzz] time")]
    BadDataTime { value: String },
    #[error("DataTime {value} does not exist in time zone {tz}")]
    NonexistentLocalTime { value: String, tz: String },
    #[error("command CN={cn} carries no pollutant data (envwatch takes 2011, 2051, 2061, 2031)")]
    NotDataCommand { cn: String },
    #[error("{code}-{field}=\"{value}\" is not a finite number")]
    BadValue {
        code: String,
        field: String,
        value: String,
    },
    #[error("{code}-Flag=\"{flag}\" is not an HJ 212 data flag (N, F, M, S, D, C, T, B)")]
    UnknownFlag { code: String, flag: String },
    #[error("{code} has no -{field} value, which CN={cn} data must carry")]
    MissingValue {
        code: String,
        field: &'static str,
        cn: String,
    },
    #[error("packet carries no factor envwatch knows (skipped: {skipped})")]
    NoKnownFactor { skipped: String },
}

impl Hj212Error {
    /// Short machine-readable kind (`crc_mismatch`, `length_mismatch`, ...), for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Hj212Error::TooShort { .. } => "too_short",
            Hj212Error::MissingHeader => "missing_header",
            Hj212Error::BadLengthField { .. } => "bad_length_field",
            Hj212Error::LengthMismatch { .. } => "length_mismatch",
            Hj212Error::BadCrcField { .. } => "bad_crc_field",
            Hj212Error::CrcMismatch { .. } => "crc_mismatch",
            Hj212Error::NotUtf8 => "not_utf8",
            Hj212Error::BadHeaderItem { .. } => "bad_header_item",
            Hj212Error::MissingField { .. } => "missing_field",
            Hj212Error::BadField { .. } => "bad_field",
            Hj212Error::UnknownVersion { .. } => "unknown_version",
            Hj212Error::MissingCp => "missing_cp",
            Hj212Error::UnterminatedCp => "unterminated_cp",
            Hj212Error::BadCpItem { .. } => "bad_cp_item",
            Hj212Error::MissingDataTime => "missing_data_time",
            Hj212Error::BadDataTime { .. } => "bad_data_time",
            Hj212Error::NonexistentLocalTime { .. } => "nonexistent_local_time",
            Hj212Error::NotDataCommand { .. } => "not_data_command",
            Hj212Error::BadValue { .. } => "bad_value",
            Hj212Error::UnknownFlag { .. } => "unknown_flag",
            Hj212Error::MissingValue { .. } => "missing_value",
            Hj212Error::NoKnownFactor { .. } => "no_known_factor",
        }
    }
}

/// A checked frame: the data segment (length and CRC verified per `crc`).
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub data: &'a str,
    pub crc: Crc,
}

/// Checks `##`, the length field and the CRC. Accepts a trailing `\r\n`, `\n` or nothing
/// (lines of a log file), and lowercase hex.
pub fn parse_frame(raw: &[u8], crc_mode: CrcMode) -> Result<Frame<'_>, Hj212Error> {
    let mut b = raw;
    while let [rest @ .., last] = b {
        if *last == b'\n' || *last == b'\r' {
            b = rest;
        } else {
            break;
        }
    }
    if b.len() < 10 {
        return Err(Hj212Error::TooShort { len: raw.len() });
    }
    if &b[..2] != b"##" {
        return Err(Hj212Error::MissingHeader);
    }
    let len_field = &b[2..6];
    if !len_field.iter().all(u8::is_ascii_digit) {
        return Err(Hj212Error::BadLengthField {
            field: String::from_utf8_lossy(len_field).into_owned(),
        });
    }
    let declared = len_field
        .iter()
        .fold(0usize, |acc, d| acc * 10 + usize::from(d - b'0'));
    let data = &b[6..b.len() - 4];
    let crc_field = &b[b.len() - 4..];
    if data.len() != declared {
        return Err(Hj212Error::LengthMismatch {
            declared,
            actual: data.len(),
        });
    }
    let given = parse_hex4(crc_field).ok_or_else(|| Hj212Error::BadCrcField {
        field: String::from_utf8_lossy(crc_field).into_owned(),
    })?;
    let ok = match crc_mode {
        CrcMode::Hj212 => hj212_crc16(data) == given,
        CrcMode::ModbusSwapped => modbus_swapped_crc16(data) == given,
        CrcMode::Off => true,
    };
    if !ok {
        return Err(Hj212Error::CrcMismatch {
            given: Crc(given),
            hj212: Crc(hj212_crc16(data)),
            modbus_swapped: Crc(modbus_swapped_crc16(data)),
            expected: match crc_mode {
                CrcMode::ModbusSwapped => "modbus-swapped",
                _ => "hj212",
            },
        });
    }
    let data = std::str::from_utf8(data).map_err(|_| Hj212Error::NotUtf8)?;
    Ok(Frame {
        data,
        crc: Crc(given),
    })
}

fn parse_hex4(b: &[u8]) -> Option<u16> {
    let mut v: u16 = 0;
    for &c in b {
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | d as u16;
    }
    Some(v)
}

/// Protocol edition, from the Flag version bits (STANDARDS.md 5.2, 5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Version {
    /// HJ/T 212-2005: version bits 000000, or no Flag field at all.
    #[serde(rename = "2005")]
    Y2005,
    #[serde(rename = "2017")]
    Y2017,
    /// HJ 212-2025 (in force 2026-01-01): version bits 000010 (UNVERIFIED against the text).
    #[serde(rename = "2025")]
    Y2025,
}

/// The data segment's header fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    pub qn: Option<String>,
    pub st: Option<String>,
    pub cn: String,
    /// The access password is not secret data in practice (it is `123456` in most
    /// deployments) but it is still not echoed anywhere.
    #[serde(skip)]
    pub pw: Option<String>,
    pub mn: String,
    pub flag: Option<u8>,
    pub version: Version,
    pub pnum: Option<u32>,
    pub pno: Option<u32>,
}

impl Header {
    /// Flag bit A: the sender wants a reply.
    pub fn reply_requested(&self) -> bool {
        self.flag.is_some_and(|f| f & 1 == 1)
    }
}

/// One factor's fields in the CP area (`a34004-Avg=45,a34004-Flag=N`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Factor {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

/// A parsed packet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Packet {
    pub header: Header,
    /// `DataTime` as sent (local time of the station).
    pub data_time: Option<NaiveDateTime>,
    pub factors: Vec<Factor>,
}

/// Parses a whole frame: framing, header and CP.
pub fn decode(raw: &[u8], crc_mode: CrcMode) -> Result<Packet, Hj212Error> {
    let frame = parse_frame(raw, crc_mode)?;
    parse_packet(frame.data)
}

/// Parses a data segment (already framed and checked).
pub fn parse_packet(data: &str) -> Result<Packet, Hj212Error> {
    let (head, cp) = match data.find("CP=&&") {
        Some(i) => (&data[..i], &data[i + 5..]),
        None => return Err(Hj212Error::MissingCp),
    };
    let cp = cp.strip_suffix("&&").ok_or(Hj212Error::UnterminatedCp)?;

    let mut qn = None;
    let mut st = None;
    let mut cn = None;
    let mut pw = None;
    let mut mn = None;
    let mut flag_s = None;
    let mut pnum_s = None;
    let mut pno_s = None;
    for item in head.split(';').filter(|s| !s.is_empty()) {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| Hj212Error::BadHeaderItem { item: clip(item) })?;
        let slot = match k {
            "QN" => &mut qn,
            "ST" => &mut st,
            "CN" => &mut cn,
            "PW" => &mut pw,
            "MN" => &mut mn,
            "Flag" => &mut flag_s,
            "PNUM" => &mut pnum_s,
            "PNO" => &mut pno_s,
            // Unknown header fields are tolerated: vendors add their own.
            _ => continue,
        };
        *slot = Some(v);
    }
    let cn = cn.ok_or(Hj212Error::MissingField { field: "CN" })?;
    if cn.len() != 4 || !cn.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Hj212Error::BadField {
            field: "CN",
            value: clip(cn),
            why: "not a 4-digit command code",
        });
    }
    let mn = mn.ok_or(Hj212Error::MissingField { field: "MN" })?;
    if mn.is_empty() || mn.len() > 64 {
        return Err(Hj212Error::BadField {
            field: "MN",
            value: clip(mn),
            why: "empty or longer than 64 characters",
        });
    }
    let flag = match flag_s {
        None => None,
        Some(s) => Some(s.parse::<u8>().map_err(|_| Hj212Error::BadField {
            field: "Flag",
            value: clip(s),
            why: "not an integer 0-255",
        })?),
    };
    let version = match flag.map(|f| f >> 2) {
        None | Some(0) => Version::Y2005,
        Some(1) => Version::Y2017,
        Some(2) => Version::Y2025,
        Some(v) => {
            return Err(Hj212Error::UnknownVersion {
                flag: flag.unwrap_or_default(),
                version: v,
            });
        }
    };
    let num = |field: &'static str, s: Option<&str>| -> Result<Option<u32>, Hj212Error> {
        s.map(|s| {
            s.parse::<u32>().map_err(|_| Hj212Error::BadField {
                field,
                value: clip(s),
                why: "not a packet count",
            })
        })
        .transpose()
    };
    let pnum = num("PNUM", pnum_s)?;
    let pno = num("PNO", pno_s)?;
    if let (Some(n), Some(i)) = (pnum, pno)
        && (i == 0 || i > n)
    {
        return Err(Hj212Error::BadField {
            field: "PNO",
            value: i.to_string(),
            why: "packet number outside 1..=PNUM",
        });
    }

    let mut data_time = None;
    let mut factors: Vec<Factor> = Vec::new();
    for group in cp.split(';').filter(|s| !s.is_empty()) {
        for item in group.split(',').filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| Hj212Error::BadCpItem { item: clip(item) })?;
            if name == "DataTime" {
                data_time = Some(parse_data_time(value)?);
                continue;
            }
            let Some((code, field)) = name.rsplit_once('-') else {
                // SystemTime, RestartTime, QnRtn, ... : not factor data.
                continue;
            };
            let f = match factors.iter_mut().rposition(|f| f.code == code) {
                Some(i) => &mut factors[i],
                None => {
                    factors.push(Factor {
                        code: code.to_string(),
                        ..Factor::default()
                    });
                    let last = factors.len() - 1;
                    &mut factors[last]
                }
            };
            let slot = match field {
                "Rtd" => &mut f.rtd,
                "Avg" => &mut f.avg,
                "Min" => &mut f.min,
                "Max" => &mut f.max,
                "Flag" => {
                    f.flag = Some(value.to_string());
                    continue;
                }
                // Cou, Zs*, EFlag, SampleTime, SN, ValidNum, ...: kept out of readings.
                _ => continue,
            };
            *slot = Some(parse_value(code, field, value)?);
        }
    }
    Ok(Packet {
        header: Header {
            qn: qn.map(str::to_string),
            st: st.map(str::to_string),
            cn: cn.to_string(),
            pw: pw.map(str::to_string),
            mn: mn.to_string(),
            flag,
            version,
            pnum,
            pno,
        },
        data_time,
        factors,
    })
}

fn parse_value(code: &str, field: &str, value: &str) -> Result<f64, Hj212Error> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Hj212Error::BadValue {
            code: clip(code),
            field: clip(field),
            value: clip(value),
        }),
    }
}

/// `YYYYMMDDhhmmss`, optionally followed by 3 millisecond digits (seen in the wild).
pub fn parse_data_time(s: &str) -> Result<NaiveDateTime, Hj212Error> {
    let bad = || Hj212Error::BadDataTime { value: clip(s) };
    if !(s.len() == 14 || s.len() == 17) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |a: usize, b: usize| -> u32 { s[a..b].parse::<u32>().unwrap_or(u32::MAX) };
    let date = NaiveDate::from_ymd_opt(n(0, 4) as i32, n(4, 6), n(6, 8)).ok_or_else(bad)?;
    let ms = if s.len() == 17 { n(14, 17) } else { 0 };
    date.and_hms_milli_opt(n(8, 10), n(10, 12), n(12, 14), ms)
        .ok_or_else(bad)
}

/// Keeps error messages bounded whatever the input.
fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The value field of a factor for a data period: `-Rtd` for real-time (2011), `-Avg`
/// for minute, hour and day data (HJ 212-2017 Table 4).
fn value_field(p: Period) -> &'static str {
    match p {
        Period::RealTime => "Rtd",
        _ => "Avg",
    }
}

/// How a packet's values become readings.
#[derive(Debug, Clone)]
pub struct ReadingOptions {
    /// Zone of `DataTime` (the pipeline's; Asia/Shanghai by default).
    pub tz: Tz,
    /// HJ 212 stamps hours at their start; a feed that stamps the end is shifted back.
    pub hour_label: HourLabel,
    /// Per-parameter factors converting the feed's unit to envwatch's (absent = 1).
    pub unit_factors: Vec<(Parameter, f64)>,
}

impl ReadingOptions {
    fn factor(&self, p: Parameter) -> f64 {
        self.unit_factors
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(1.0, |(_, f)| *f)
    }
}

impl Default for ReadingOptions {
    fn default() -> Self {
        ReadingOptions {
            tz: chrono_tz::Asia::Shanghai,
            hour_label: HourLabel::Start,
            unit_factors: Vec::new(),
        }
    }
}

/// The readings of one packet, and what was left out.
#[derive(Debug, Clone, Default)]
pub struct Extraction {
    pub readings: Vec<Reading>,
    /// Factor codes envwatch does not know (skipped, counted).
    pub skipped: Vec<String>,
    /// Factors that were known but unusable (bad flag, missing value): each is a reason.
    pub rejected: Vec<Hj212Error>,
}

impl Packet {
    /// The data period of the packet's CN, or an error for commands without data.
    pub fn period(&self) -> Result<Period, Hj212Error> {
        Period::from_hj212_cn(&self.header.cn).ok_or_else(|| Hj212Error::NotDataCommand {
            cn: self.header.cn.clone(),
        })
    }

    /// `DataTime` converted to UTC, shifted to the period start if the feed labels ends.
    pub fn time_utc(&self, opts: &ReadingOptions) -> Result<DateTime<Utc>, Hj212Error> {
        let kind = self.period()?;
        let local = self.data_time.ok_or(Hj212Error::MissingDataTime)?;
        let t = opts
            .tz
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| Hj212Error::NonexistentLocalTime {
                value: local.format("%Y%m%d%H%M%S").to_string(),
                tz: opts.tz.name().to_string(),
            })?
            .with_timezone(&Utc);
        Ok(match (kind, opts.hour_label) {
            (Period::Hour, HourLabel::End) => t - Duration::hours(1),
            _ => t,
        })
    }

    /// Readings for `site`: per CN the right value (`-Rtd` for 2011, `-Avg` for
    /// 2051/2061/2031), flag from `-Flag` (absent = N), time from `DataTime`.
    /// Errors that spoil the whole packet are returned as `Err`.
    pub fn readings(&self, site: &SiteId, opts: &ReadingOptions) -> Result<Extraction, Hj212Error> {
        let kind = self.period()?;
        let time = self.time_utc(opts)?;
        let mut out = Extraction::default();
        for f in &self.factors {
            let Some(parameter) = Parameter::from_hj212_code(&f.code) else {
                out.skipped.push(f.code.clone());
                continue;
            };
            let value = match kind {
                Period::RealTime => f.rtd,
                _ => f.avg,
            };
            let Some(value) = value else {
                out.rejected.push(Hj212Error::MissingValue {
                    code: f.code.clone(),
                    field: value_field(kind),
                    cn: self.header.cn.clone(),
                });
                continue;
            };
            let flag = match f.flag.as_deref() {
                None => DataFlag::N,
                Some(s) => match DataFlag::parse(s) {
                    Some(fl) => fl,
                    None => {
                        out.rejected.push(Hj212Error::UnknownFlag {
                            code: f.code.clone(),
                            flag: clip(s),
                        });
                        continue;
                    }
                },
            };
            out.readings.push(Reading {
                site: site.clone(),
                parameter,
                time,
                period: kind,
                value: value * opts.factor(parameter),
                flag,
            });
        }
        if out.readings.is_empty() && out.rejected.is_empty() {
            return Err(Hj212Error::NoKnownFactor {
                skipped: if out.skipped.is_empty() {
                    "none".into()
                } else {
                    clip(&out.skipped.join(" "))
                },
            });
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// Encoder (simulators, tests, the demo)

/// Wraps a data segment into a frame with length, CRC and CRLF.
pub fn frame(data: &str) -> String {
    frame_with(data, CrcMode::Hj212)
}

/// Like [`frame`] with a chosen CRC (`modbus-swapped` imitates the deviating devices;
/// `off` writes `0000`).
pub fn frame_with(data: &str, crc: CrcMode) -> String {
    let crc = match crc {
        CrcMode::Hj212 => hj212_crc16(data.as_bytes()),
        CrcMode::ModbusSwapped => modbus_swapped_crc16(data.as_bytes()),
        CrcMode::Off => 0,
    };
    format!("##{:04}{data}{crc:04X}\r\n", data.len())
}

/// One factor of a packet to encode.
#[derive(Debug, Clone, Copy)]
pub struct OutFactor<'a> {
    pub code: &'a str,
    pub value: f64,
    pub flag: DataFlag,
}

/// What the encoder needs besides the factors.
#[derive(Debug, Clone)]
pub struct OutHeader<'a> {
    /// `QN`; when `None`, derived from `data_time` (`YYYYMMDDhhmmss000`).
    pub qn: Option<&'a str>,
    /// System code: `22` air, `21` surface water.
    pub st: &'a str,
    /// Command: `2011`, `2051`, `2061`, `2031`.
    pub cn: &'a str,
    pub pw: &'a str,
    pub mn: &'a str,
    /// `4` = HJ 212-2017, no reply requested; `8` = HJ 212-2025.
    pub flag: u8,
    /// `(PNUM, PNO)` for a part of a split message (sets Flag bit D).
    pub part: Option<(u32, u32)>,
}

/// Builds a valid data frame (`##len…CRC\r\n`): `-Rtd` values for CN 2011, `-Avg` otherwise,
/// each with its `-Flag`. `data_time` is local time of the station.
pub fn encode_packet(
    h: &OutHeader<'_>,
    data_time: NaiveDateTime,
    factors: &[OutFactor<'_>],
) -> String {
    use std::fmt::Write;
    let field = if h.cn == "2011" { "Rtd" } else { "Avg" };
    let dt = data_time.format("%Y%m%d%H%M%S");
    let mut s = String::with_capacity(96 + factors.len() * 32);
    match h.qn {
        Some(qn) => {
            let _ = write!(s, "QN={qn};");
        }
        None => {
            let _ = write!(s, "QN={dt}000;");
        }
    }
    let flag = if h.part.is_some() { h.flag | 2 } else { h.flag };
    let _ = write!(
        s,
        "ST={};CN={};PW={};MN={};Flag={flag};",
        h.st, h.cn, h.pw, h.mn
    );
    if let Some((n, i)) = h.part {
        let _ = write!(s, "PNUM={n};PNO={i};");
    }
    let _ = write!(s, "CP=&&DataTime={dt}");
    for f in factors {
        let _ = write!(
            s,
            ";{c}-{field}={v},{c}-Flag={fl}",
            c = f.code,
            v = f.value,
            fl = f.flag
        );
    }
    s.push_str("&&");
    frame(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STD_EXAMPLE: &str = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";

    #[test]
    fn crc_of_the_standards_example_is_1c80_not_modbus() {
        // STANDARDS.md 5.7 example 1: HJ 212 1C80, Modbus 0759.
        assert_eq!(hj212_crc16(STD_EXAMPLE.as_bytes()), 0x1C80);
        assert_eq!(modbus_crc16(STD_EXAMPLE.as_bytes()), 0x0759);
        assert_eq!(STD_EXAMPLE.len(), 101);
    }

    #[test]
    fn standards_air_hour_example_decodes() {
        // STANDARDS.md 5.7 example 2 (CRC 9B81, length 0278).
        let p = "##0278QN=20240115090000123;ST=22;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20240115080000;a34004-Avg=45,a34004-Flag=N;a34002-Avg=78,a34002-Flag=N;a21026-Avg=9,a21026-Flag=N;a21004-Avg=41,a21004-Flag=N;a21005-Avg=0.8,a21005-Flag=N;a05024-Avg=36,a05024-Flag=N&&9B81\r\n";
        let pkt = decode(p.as_bytes(), CrcMode::Hj212).unwrap();
        assert_eq!(pkt.header.version, Version::Y2017);
        assert!(pkt.header.reply_requested());
        assert_eq!(pkt.factors.len(), 6);
        let site = SiteId::new("1223A");
        let ex = pkt.readings(&site, &ReadingOptions::default()).unwrap();
        assert_eq!(ex.readings.len(), 6);
        // DataTime 08:00 Shanghai = 00:00 UTC, the START of the hour 08:00-09:00.
        assert_eq!(
            ex.readings[0].time.to_rfc3339(),
            "2024-01-15T00:00:00+00:00"
        );
        assert_eq!(ex.readings[0].parameter, Parameter::Pm25);
        assert_eq!(ex.readings[0].value, 45.0);
        assert_eq!(ex.readings[4].parameter, Parameter::Co);
        assert_eq!(ex.readings[4].value, 0.8);
        let end = ReadingOptions {
            hour_label: HourLabel::End,
            ..ReadingOptions::default()
        };
        let ex = pkt.readings(&site, &end).unwrap();
        assert_eq!(
            ex.readings[0].time.to_rfc3339(),
            "2024-01-14T23:00:00+00:00"
        );
    }

    #[test]
    fn data_answer_example_is_not_data() {
        let p = "##0087QN=20240115090000123;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&E381\r\n";
        let pkt = decode(p.as_bytes(), CrcMode::Hj212).unwrap();
        let err = pkt
            .readings(&SiteId::new("x"), &ReadingOptions::default())
            .unwrap_err();
        assert!(matches!(err, Hj212Error::NotDataCommand { ref cn } if cn == "9014"));
    }

    #[test]
    fn encoder_round_trips_and_matches_the_standard_frame() {
        assert_eq!(frame(STD_EXAMPLE), format!("##0101{STD_EXAMPLE}1C80\r\n"));
        let dt = parse_data_time("20240115080000").unwrap();
        let h = OutHeader {
            qn: Some("20240115090000123"),
            st: "22",
            cn: "2061",
            pw: "123456",
            mn: "010000A8900016F000169DC0",
            flag: 5,
            part: None,
        };
        let f = |code, value| OutFactor {
            code,
            value,
            flag: DataFlag::N,
        };
        let out = encode_packet(
            &h,
            dt,
            &[
                f("a34004", 45.0),
                f("a34002", 78.0),
                f("a21026", 9.0),
                f("a21004", 41.0),
                f("a21005", 0.8),
                f("a05024", 36.0),
            ],
        );
        // Byte-identical to STANDARDS.md example 2, including its CRC 9B81.
        assert_eq!(
            out,
            "##0278QN=20240115090000123;ST=22;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20240115080000;a34004-Avg=45,a34004-Flag=N;a34002-Avg=78,a34002-Flag=N;a21026-Avg=9,a21026-Flag=N;a21004-Avg=41,a21004-Flag=N;a21005-Avg=0.8,a21005-Flag=N;a05024-Avg=36,a05024-Flag=N&&9B81\r\n"
        );
    }

    #[test]
    fn crc_mismatch_carries_all_values_and_modbus_mode_accepts_swapped() {
        let data =
            "QN=1;ST=22;CN=2011;PW=1;MN=M1;Flag=4;CP=&&DataTime=20240101000000;a34004-Rtd=1&&";
        let swapped = frame_with(data, CrcMode::ModbusSwapped);
        match parse_frame(swapped.as_bytes(), CrcMode::Hj212) {
            Err(Hj212Error::CrcMismatch {
                given,
                hj212,
                modbus_swapped,
                ..
            }) => {
                assert_eq!(given, modbus_swapped);
                assert_eq!(hj212.0, hj212_crc16(data.as_bytes()));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_frame(swapped.as_bytes(), CrcMode::ModbusSwapped).is_ok());
        assert!(parse_frame(swapped.as_bytes(), CrcMode::Off).is_ok());
        assert!(parse_frame(frame(data).as_bytes(), CrcMode::ModbusSwapped).is_err());
    }

    #[test]
    fn typed_errors() {
        let e = |s: &str| decode(s.as_bytes(), CrcMode::Off).unwrap_err().kind();
        assert_eq!(e("##01"), "too_short");
        assert_eq!(e("xx0004abcd0000"), "missing_header");
        assert_eq!(e("##00a4abcd0000"), "bad_length_field");
        assert_eq!(e("##0005abcd0000"), "length_mismatch");
        let ok = |d: &str| frame(d);
        assert_eq!(e(&ok("ST=22;CN=2011;MN=1")), "missing_cp");
        assert_eq!(e(&ok("ST=22;CN=2011;MN=1;CP=&&x")), "unterminated_cp");
        assert_eq!(e(&ok("ST=22;MN=1;CP=&&&&")), "missing_field");
        assert_eq!(e(&ok("CN=2011;MN=1;Flag=x;CP=&&&&")), "bad_field");
        assert_eq!(e(&ok("CN=2011;MN=1;Flag=255;CP=&&&&")), "unknown_version");
        assert_eq!(
            e(&ok("CN=2011;MN=1;CP=&&DataTime=20241301000000&&")),
            "bad_data_time"
        );
        assert_eq!(e(&ok("CN=2011;MN=1;CP=&&a34004-Rtd=abc&&")), "bad_value");
        assert_eq!(e(&ok("CN=2011;MN=1;CP=&&a34004-Rtd=NaN&&")), "bad_value");
        assert_eq!(e(&ok("CN=2011;MN=1;CP=&&a34004&&")), "bad_cp_item");
        let p = decode(
            ok("CN=2011;MN=1;CP=&&a34004-Rtd=1&&").as_bytes(),
            CrcMode::Off,
        )
        .unwrap();
        let r = p.readings(&SiteId::new("s"), &ReadingOptions::default());
        assert_eq!(r.unwrap_err().kind(), "missing_data_time");
        let p = decode(
            ok("CN=2061;MN=1;CP=&&DataTime=20240101000000;a34004-Rtd=1,a34004-Flag=X;a99999-Avg=2&&").as_bytes(),
            CrcMode::Off,
        )
        .unwrap();
        let ex = p
            .readings(&SiteId::new("s"), &ReadingOptions::default())
            .unwrap();
        assert!(ex.readings.is_empty());
        assert_eq!(ex.skipped, vec!["a99999".to_string()]);
        assert_eq!(ex.rejected[0].kind(), "missing_value");
        let p = decode(
            ok("CN=2061;MN=1;CP=&&DataTime=20240101000000;a99999-Avg=2&&").as_bytes(),
            CrcMode::Off,
        )
        .unwrap();
        let r = p.readings(&SiteId::new("s"), &ReadingOptions::default());
        assert_eq!(r.unwrap_err().kind(), "no_known_factor");
    }

    #[test]
    fn flags_are_kept_and_invalid_ones_rejected() {
        let p = decode(
            frame("CN=2011;MN=1;Flag=8;CP=&&DataTime=20240101000000;a34004-Rtd=1,a34004-Flag=M;a34002-Rtd=2,a34002-Flag=Q&&").as_bytes(),
            CrcMode::Hj212,
        )
        .unwrap();
        assert_eq!(p.header.version, Version::Y2025);
        let ex = p
            .readings(&SiteId::new("s"), &ReadingOptions::default())
            .unwrap();
        assert_eq!(ex.readings.len(), 1);
        assert_eq!(ex.readings[0].flag, DataFlag::M);
        assert!(!ex.readings[0].flag.is_valid());
        assert_eq!(ex.rejected[0].kind(), "unknown_flag");
    }
}

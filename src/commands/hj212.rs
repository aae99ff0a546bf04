//! `envwatch hj212 decode`: HJ 212 packets on stdin (one per line, as in receiver logs)
//! -> one JSON object per line on stdout. A bad packet gives `{"ok":false,...}` with the
//! typed error (CRC mismatch lists the given, HJ 212 and byte-swapped Modbus CRCs); the
//! command never stops on bad input.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::{CrcArg, Hj212DecodeArgs};
use crate::config::pipeline::CrcMode;
use crate::decode::hj212::{self, ReadingOptions};
use crate::model::SiteId;

pub fn run(args: &Hj212DecodeArgs) -> anyhow::Result<ExitCode> {
    let crc = match args.crc {
        CrcArg::Hj212 => CrcMode::Hj212,
        CrcArg::ModbusSwapped => CrcMode::ModbusSwapped,
        CrcArg::Off => CrcMode::Off,
    };
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (i, line) in stdin.split(b'\n').enumerate() {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v = decode_line(&line, crc, i + 1);
        serde_json::to_writer(&mut out, &v)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The JSON object for one input line (`line` is 1-based).
pub fn decode_line(raw: &[u8], crc: CrcMode, line: usize) -> Value {
    let opts = ReadingOptions::default();
    let pkt = match hj212::decode(raw, crc) {
        Ok(p) => p,
        Err(e) => return error_json(line, &e),
    };
    // Without a config the MN stands for the site.
    let site = SiteId::new(pkt.header.mn.clone());
    let mut v = json!({
        "line": line,
        "ok": true,
        "header": pkt.header,
        "data_time": pkt.data_time.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
        "factors": pkt.factors,
    });
    match pkt.readings(&site, &opts) {
        Ok(ex) => {
            v["readings"] = json!(
                ex.readings
                    .iter()
                    .map(|r| json!({
                        "parameter": r.parameter,
                        "time": r.time.to_rfc3339(),
                        "value": r.value,
                        "flag": r.flag,
                        "unit": r.parameter.unit(),
                    }))
                    .collect::<Vec<_>>()
            );
            v["skipped_codes"] = json!(ex.skipped);
            v["rejected"] = json!(
                ex.rejected
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
            );
        }
        Err(e) => {
            // The frame is fine but it gives no readings (not a data command, no time...).
            v["readings"] = json!([]);
            v["no_readings"] = json!({"kind": e.kind(), "error": e.to_string()});
        }
    }
    v
}

fn error_json(line: usize, e: &hj212::Hj212Error) -> Value {
    let mut v = json!({"line": line, "ok": false, "error": e.to_string()});
    if let (Value::Object(m), Ok(Value::Object(d))) = (&mut v, serde_json::to_value(e)) {
        m.extend(d);
    }
    v
}

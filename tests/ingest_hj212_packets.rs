//! The HJ 212 decoder against the 22 real packets in ../shared/data/hj212_packets_sample.tsv.
//! Known answers are the TSV's own columns (CRC values computed independently by the
//! collector, crc_ok, declared/actual length, structure_ok), not our output.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use envwatch::config::pipeline::CrcMode;
use envwatch::decode::hj212::{self, Hj212Error};
use envwatch::model::{DataFlag, SiteId};
use envwatch::standards::parameter::Parameter;

fn shared_data() -> Option<PathBuf> {
    common::shared_data(&["hj212_packets_sample.tsv"])
}

struct Row {
    packet: String,
    crc_ok: bool,
    crc_given: u16,
    crc_hj212: u16,
    crc_modbus: u16,
    declared: usize,
    actual: usize,
    structure_ok: bool,
    notes: String,
}

fn rows(dir: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("hj212_packets_sample.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let hex = |s: &str| u16::from_str_radix(s, 16).unwrap();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                packet: f[col("packet")].to_string(),
                crc_ok: f[col("crc_ok")] == "valid",
                crc_given: hex(f[col("crc_given")]),
                crc_hj212: hex(f[col("crc_computed_hj212")]),
                crc_modbus: hex(f[col("crc_computed_modbus")]),
                declared: f[col("declared_len")].parse().unwrap(),
                actual: f[col("actual_len")].parse().unwrap(),
                structure_ok: f[col("structure_ok")] == "true",
                notes: f[col("notes")].to_string(),
            }
        })
        .collect()
}

#[test]
fn crc_and_length_agree_with_the_sample_columns() {
    let Some(dir) = shared_data() else { return };
    let rows = rows(&dir);
    assert_eq!(rows.len(), 22);
    for r in &rows {
        let data = &r.packet.as_bytes()[6..r.packet.len() - 4];
        assert_eq!(data.len(), r.actual, "{}", r.packet);
        assert_eq!(hj212::hj212_crc16(data), r.crc_hj212, "{}", r.packet);
        assert_eq!(hj212::modbus_crc16(data), r.crc_modbus, "{}", r.packet);
        assert_eq!(r.crc_ok, r.crc_given == r.crc_hj212);
    }
    assert_eq!(rows.iter().filter(|r| r.crc_ok).count(), 18);
}

#[test]
fn every_packet_decodes_or_fails_for_the_known_reason() {
    let Some(dir) = shared_data() else { return };
    let mut decoded = 0;
    for r in rows(&dir) {
        let res = hj212::decode(r.packet.as_bytes(), CrcMode::Hj212);
        match (r.crc_ok, r.structure_ok) {
            (true, true) => {
                let p = res.unwrap_or_else(|e| panic!("{}: {e}", r.packet));
                assert!(!p.header.mn.is_empty());
                decoded += 1;
            }
            (_, false) => match res {
                Err(Hj212Error::LengthMismatch { declared, actual }) => {
                    assert_eq!((declared, actual), (r.declared, r.actual));
                }
                other => panic!("{}: expected a length mismatch, got {other:?}", r.packet),
            },
            (false, true) => match res {
                Err(Hj212Error::CrcMismatch {
                    given,
                    hj212,
                    modbus_swapped,
                    ..
                }) => {
                    assert_eq!(given.0, r.crc_given);
                    assert_eq!(hj212.0, r.crc_hj212);
                    assert_eq!(modbus_swapped.0, r.crc_modbus.swap_bytes());
                    let msg = res_msg(&r.packet);
                    assert!(msg.contains(&format!("{:04X}", r.crc_given)), "{msg}");
                    assert!(msg.contains(&format!("{:04X}", r.crc_hj212)), "{msg}");
                    // The devices that send byte-swapped Modbus are accepted deliberately
                    // with crc = "modbus-swapped", the others still are not.
                    let swapped = r.notes.contains("byte-swapped CRC-16/MODBUS");
                    assert_eq!(
                        hj212::decode(r.packet.as_bytes(), CrcMode::ModbusSwapped).is_ok(),
                        swapped,
                        "{}",
                        r.packet
                    );
                }
                other => panic!("{}: expected a CRC mismatch, got {other:?}", r.packet),
            },
        }
    }
    assert_eq!(decoded, 17);
}

fn res_msg(packet: &str) -> String {
    hj212::decode(packet.as_bytes(), CrcMode::Hj212)
        .unwrap_err()
        .to_string()
}

#[test]
fn real_air_packet_gives_the_values_it_carries() {
    let Some(dir) = shared_data() else { return };
    let row = rows(&dir)
        .into_iter()
        .find(|r| r.packet.contains("DataTime=20210107141600"))
        .unwrap();
    let p = hj212::decode(row.packet.as_bytes(), CrcMode::Hj212).unwrap();
    assert_eq!(p.header.cn, "2011");
    assert_eq!(p.header.version, hj212::Version::Y2005); // no Flag field
    let ex = p
        .readings(&SiteId::new("1223A"), &hj212::ReadingOptions::default())
        .unwrap();
    let get = |param| ex.readings.iter().find(|r| r.parameter == param).unwrap();
    // a34004-Rtd=24.82, a34002-Rtd=123.97, a21005-Rtd=0.913, a05024-Rtd=6.309
    assert_eq!(get(Parameter::Pm25).value, 24.82);
    assert_eq!(get(Parameter::Pm10).value, 123.97);
    assert_eq!(get(Parameter::Co).value, 0.913);
    assert_eq!(get(Parameter::O3).value, 6.309);
    assert_eq!(get(Parameter::Pm25).flag, DataFlag::N);
    // Real-time data: the sampling instant, 14:16 Beijing time = 06:16 UTC.
    assert_eq!(
        get(Parameter::Pm25).time.to_rfc3339(),
        "2021-01-07T06:16:00+00:00"
    );
    // a05002, a34006, a24088, a34007, a34049, a99999 are not envwatch parameters.
    assert_eq!(ex.skipped.len(), 6, "{:?}", ex.skipped);
}

#[test]
fn hj212_decode_command_emits_one_json_line_per_packet() {
    let Some(dir) = shared_data() else { return };
    let input = std::fs::read(dir.join("hj212_packets_sample.txt")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .args(["hj212", "decode"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input).unwrap();
    // Garbage after the real packets: must give an error line, not a crash.
    stdin.write_all(b"\xff\xfe garbage\n##9999\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 24);
    let ok = lines.iter().filter(|v| v["ok"] == true).count();
    assert_eq!(ok, 17);
    let crc: Vec<_> = lines
        .iter()
        .filter(|v| v["kind"] == "crc_mismatch")
        .collect();
    assert_eq!(crc.len(), 4);
    assert!(
        crc.iter()
            .any(|v| v["given"] == "A6EC" && v["hj212"] == "0440" && v["modbus_swapped"] == "A6EC")
    );
    assert_eq!(
        lines
            .iter()
            .filter(|v| v["kind"] == "length_mismatch")
            .count(),
        1
    );
    assert_eq!(lines[22]["kind"], "missing_header");
    assert_eq!(lines[23]["kind"], "too_short");
}

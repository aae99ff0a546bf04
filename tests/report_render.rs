//! The HTML report renders in headless Chromium: the screenshot is decoded (PNG chunks,
//! zlib via flate2, scanline filters undone) and must show the page's content — the
//! HJ 633 level colours of the AQI calendar and a substantial share of non-white pixels.
//! Needs `chromium` (scripts/test.sh installs it); fails with a clear message without it.

mod report_support;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use report_support::*;

fn chromium() -> String {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!("chromium is not installed (scripts/test.sh installs it: apt-get install chromium)");
}

/// Decoded 8-bit RGB(A) image: (width, height, channels, pixels).
fn decode_png(bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut pos = 8;
    let (mut w, mut h, mut channels) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other} not handled"),
                };
                assert_eq!(data[12], 0, "interlaced PNG not handled");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("inflate IDAT");
    let stride = w * channels;
    assert_eq!(raw.len(), h * (stride + 1), "IDAT size");
    let mut out = vec![0u8; h * stride];
    for y in 0..h {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                out[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 { out[(y - 1) * stride + x] } else { 0 };
            let c = if y > 0 && x >= channels {
                out[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("bad filter {f}"),
            };
            out[y * stride + x] = line[x].wrapping_add(pred);
        }
    }
    (w, h, channels, out)
}

fn screenshot(html: &Path, png: &Path, profile: &Path) {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        png.exists(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn html_report_renders_in_chromium() {
    chromium();
    let tmp = tempfile::tempdir().unwrap();
    let config = demo(&tmp.path().join("demo"), 7);
    // The month of the demo's last day.
    let db = tmp.path().join("demo/state/envwatch.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let last: i64 = conn
        .query_row("SELECT max(time) FROM readings", [], |r| r.get(0))
        .unwrap();
    let month = chrono::DateTime::from_timestamp(last, 0)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m")
        .to_string();
    let rep = tmp.path().join("report");
    run_ok(
        envwatch()
            .args(["report", "--config"])
            .arg(&config)
            .args(["--period", &month, "--out"])
            .arg(&rep),
    );
    let html = rep.join(format!("envwatch-report-{month}.html"));
    let text = std::fs::read_to_string(&html).unwrap();
    for external in ["src=\"http", "href=\"http", "<link", "<script", "url(http"] {
        assert!(
            !text.contains(external),
            "external resource ({external}) in the report"
        );
    }
    let png = std::env::var_os("ENVWATCH_REPORT_SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("shot.png"));
    screenshot(&html, &png, &tmp.path().join("profile"));
    let bytes = std::fs::read(&png).unwrap();
    let (w, h, ch, px) = decode_png(&bytes);
    assert_eq!((w, h), (1280, 2000), "screenshot size");
    let mut non_white = 0usize;
    let mut excellent_or_good = 0usize;
    for p in px.chunks(ch) {
        if p[..3] != [255, 255, 255] {
            non_white += 1;
        }
        // 优 rgb(0,228,0) or 良 rgb(255,255,0): the calendar's day cells.
        if p[..3] == [0, 228, 0] || p[..3] == [255, 255, 0] {
            excellent_or_good += 1;
        }
    }
    let share = non_white as f64 / (w * h) as f64;
    assert!(
        share > 0.03,
        "screenshot is nearly blank: {:.2}% non-white",
        share * 100.0
    );
    assert!(
        excellent_or_good > 2000,
        "no AQI calendar cells in the screenshot ({excellent_or_good} level-colour pixels)"
    );
}

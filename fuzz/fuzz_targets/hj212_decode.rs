//! Any bytes into the HJ 212 decoder: it may reject them, never panic.
#![no_main]

use envwatch_fuzz::config::HourLabel;
use envwatch_fuzz::config::pipeline::CrcMode;
use envwatch_fuzz::decode::hj212;
use envwatch_fuzz::model::SiteId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(data);
    // Also feed the bytes as a data segment with a correct frame, so the fuzzer reaches
    // the header/CP parser without having to guess CRCs.
    if let Ok(s) = std::str::from_utf8(data) {
        if s.len() <= 9999 {
            check(hj212::frame(s).as_bytes());
        }
    }
});

fn check(data: &[u8]) {
    for mode in [CrcMode::Hj212, CrcMode::ModbusSwapped, CrcMode::Off] {
        if let Ok(p) = hj212::decode(data, mode) {
            for label in [HourLabel::Start, HourLabel::End] {
                let opts = hj212::ReadingOptions {
                    hour_label: label,
                    ..hj212::ReadingOptions::default()
                };
                let _ = p.readings(&SiteId::new("x"), &opts);
            }
        }
    }
}

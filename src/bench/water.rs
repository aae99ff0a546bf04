//! `envwatch bench water`: GB 3838 classes on generated data. Timings are printed, never
//! asserted (performance is measured here, not in unit tests).

use std::process::ExitCode;
use std::time::Instant;

use super::{Rng, arg_usize};

/// Water: N sections × R readings/day × D days × 8 parameters (the automatic stations'
/// WT, pH, DO, CODMn, NH3-N, TP, TN, conductivity), classed per reading, day and month.
/// Extra arguments: `--sections N --per-day N --days N --runs R [--breakdown]`.
pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    use crate::judge::water::{JudgeOptions, Period, SectionInfo, WaterInput, classify};
    use crate::model::SiteId;
    use crate::standards::parameter::Parameter as P;
    use crate::standards::water::{TargetClass, WaterBody, WaterClass};

    let n_sections = arg_usize(args, "--sections", 1000)?;
    let per_day = arg_usize(args, "--per-day", 6)?.clamp(1, 24 * 60);
    let days = arg_usize(args, "--days", 365)?;
    let runs = arg_usize(args, "--runs", 3)?.max(1);
    let params: [(P, f64, f64); 8] = [
        (P::WaterTemperature, 4.0, 32.0),
        (P::Ph, 6.2, 9.3),
        (P::Do, 1.8, 11.0),
        (P::CodMn, 1.0, 16.0),
        (P::Nh3N, 0.02, 2.3),
        (P::Tp, 0.005, 0.45),
        (P::Tn, 0.3, 4.0),
        (P::Conductivity, 80.0, 1200.0),
    ];

    let t_gen = Instant::now();
    let sections: Vec<SectionInfo> = (0..n_sections)
        .map(|i| SectionInfo {
            id: SiteId::new(format!("S{i:05}")),
            name: format!("section {i}"),
            waterbody: match i % 10 {
                0 => WaterBody::Lake,
                1 => WaterBody::Reservoir,
                _ => WaterBody::River,
            },
            target: Some(TargetClass(if i % 3 == 0 {
                WaterClass::II
            } else {
                WaterClass::III
            })),
            drinking_source: i % 20 == 0,
            district: Some(format!("district {}", i % 7)),
        })
        .collect();
    let n = n_sections * per_day * days * params.len();
    let (mut sec, mut time, mut param, mut value) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    // 2025-01-01T00:00:00+08:00
    let t0: i64 = 1_735_660_800_000;
    let step = 86_400_000 / per_day as i64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for s in 0..n_sections as u32 {
        for k in 0..(per_day * days) as i64 {
            for (p, lo, hi) in params {
                sec.push(s);
                time.push(t0 + k * step);
                param.push(p);
                value.push(rng.range(lo, hi));
            }
        }
    }
    let gen_s = t_gen.elapsed().as_secs_f64();

    let opts = JudgeOptions::default();
    println!(
        "water bench: {n_sections} sections × {per_day} readings/day × {days} days × {} parameters = {n} readings (generated in {gen_s:.2} s)",
        params.len()
    );
    // Several runs: the first one after a fresh build also pays for paging the binary in.
    let mut totals = Vec::with_capacity(runs);
    let mut last = None;
    for run in 1..=runs {
        drop(last.take()); // one run's data at a time: peak RSS is one run's
        let (s, t, p, v) = (sec.clone(), time.clone(), param.clone(), value.clone());
        let t_judge = Instant::now();
        let input = WaterInput::from_columns(sections.clone(), s, t, &p, v)?;
        let build_s = t_judge.elapsed().as_secs_f64();
        let t_classify = Instant::now();
        let classes = classify(&input, [Period::Reading, Period::Day, Period::Month], &opts)?;
        let classify_s = t_classify.elapsed().as_secs_f64();
        let total_s = t_judge.elapsed().as_secs_f64();
        println!(
            "  run {run}: input frame {build_s:.3} s ({} classable readings) + classify reading+day+month {classify_s:.3} s = {total_s:.3} s ({:.1} M readings/s)",
            input.len(),
            n as f64 / total_s / 1e6
        );
        totals.push(total_s);
        last = Some((input, classes));
    }
    let Some((input, [per_reading, per_day_c, per_month])) = last else {
        anyhow::bail!("--runs must be at least 1");
    };
    let mut dist = [0usize; 6];
    for r in &per_reading.rows {
        if let Some(c) = r.class {
            dist[usize::from(c.number()) - 1] += 1;
        }
    }
    println!(
        "  rows: {} per reading, {} per day, {} per month; reading classes I..劣V = {dist:?}",
        per_reading.rows.len(),
        per_day_c.rows.len(),
        per_month.rows.len()
    );
    totals.sort_by(f64::total_cmp);
    println!(
        "  TOTAL judge time over {runs} runs: best {:.3} s, median {:.3} s, worst {:.3} s",
        totals[0],
        totals[totals.len() / 2],
        totals[totals.len() - 1]
    );
    if args.iter().any(|a| a == "--breakdown") {
        drop((per_reading, per_day_c, per_month));
        let t = Instant::now();
        let [r] = classify(&input, [Period::Reading], &opts)?;
        println!(
            "  breakdown: per reading alone {:.3} s ({} rows)",
            t.elapsed().as_secs_f64(),
            r.rows.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

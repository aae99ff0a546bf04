//! `envwatch bench report`: a year of hourly air data (10 stations × 6 pollutants) and
//! 4-hourly water data (20 sections × 7 items) written into a temporary store through
//! [`Store::commit_batch`], then the timed part: load the year from the store, judge it,
//! draw the charts and write the HTML and Markdown reports. Goal: < 5 s.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, NaiveDate};

use super::{Rng, arg_usize};
use crate::config::daemon::Targets;
use crate::config::{load_sections, load_stations};
use crate::model::{DataFlag, Reading, SiteId};
use crate::report::{self, Format, Lang, ReportInputs, ReportPeriod};
use crate::standards::aqi::EditionChoice;
use crate::standards::parameter::Parameter as P;
use crate::store::{Batch, Store};

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let n_stations = arg_usize(args, "--stations", 10)?;
    let n_sections = arg_usize(args, "--sections", 20)?;
    let year = arg_usize(args, "--year", 2025)? as i32;
    let tz = chrono_tz::Asia::Shanghai;
    let dir = std::env::temp_dir().join(format!("envwatch-bench-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let result = bench(&dir, n_stations, n_sections, year, tz);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(
    dir: &std::path::Path,
    n_stations: usize,
    n_sections: usize,
    year: i32,
    tz: chrono_tz::Tz,
) -> anyhow::Result<ExitCode> {
    let mut st = String::new();
    for i in 0..n_stations {
        st.push_str(&format!(
            "[[station]]\ncode = \"B{i:03}A\"\nname = \"站{i}\"\ncity = \"杭州\"\n\n"
        ));
    }
    let mut se = String::new();
    for i in 0..n_sections {
        se.push_str(&format!(
            "[[section]]\nid = \"S{i:03}\"\nname = \"断面{i}\"\nriver = \"河{i}\"\nwaterbody = \"river\"\ntarget = \"III\"\ndrinking_source = {}\n\n",
            i % 5 == 0
        ));
    }
    std::fs::write(dir.join("stations.toml"), st)?;
    std::fs::write(dir.join("sections.toml"), se)?;
    let stations = load_stations(&dir.join("stations.toml"))
        .map_err(|d| anyhow::anyhow!("bench stations: {d}"))?;
    let sections = load_sections(&dir.join("sections.toml"))
        .map_err(|d| anyhow::anyhow!("bench sections: {d}"))?;

    // --- Generate and store (not timed as the report).
    let t_gen = Instant::now();
    let db = dir.join("envwatch.db");
    let mut store = Store::open(&db, tz)?;
    let first = NaiveDate::from_ymd_opt(year, 1, 1).context("--year")?;
    let start = crate::publish::schema::local_midnight(first, tz).context("midnight")?;
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let air: [(P, f64, f64); 6] = [
        (P::Pm25, 8.0, 110.0),
        (P::Pm10, 15.0, 160.0),
        (P::So2, 3.0, 20.0),
        (P::No2, 10.0, 80.0),
        (P::Co, 0.3, 1.6),
        (P::O3, 10.0, 220.0),
    ];
    let water: [(P, f64, f64); 7] = [
        (P::WaterTemperature, 5.0, 30.0),
        (P::Ph, 6.8, 8.4),
        (P::Do, 3.5, 10.0),
        (P::CodMn, 1.5, 8.0),
        (P::Nh3N, 0.1, 2.2),
        (P::Tp, 0.02, 0.35),
        (P::Tn, 0.5, 3.0),
    ];
    let days = (NaiveDate::from_ymd_opt(year + 1, 1, 1).context("--year")? - first).num_days();
    let mut total = 0usize;
    for d in 0..days {
        let mut batch = Batch::default();
        let smog = rng.next_f64(); // a day-wide level: some polluted days
        for h in 0..24 {
            let time = start + Duration::hours(d * 24 + h);
            for s in &stations {
                for (p, lo, hi) in air {
                    let v = lo + (hi - lo) * (0.55 * smog + 0.45 * rng.next_f64());
                    batch.readings.push(Reading {
                        period: crate::model::Period::Hour,
                        site: s.code.clone(),
                        parameter: p,
                        time,
                        value: v,
                        flag: DataFlag::N,
                    });
                }
            }
            if h % 4 == 0 {
                for s in &sections {
                    for (p, lo, hi) in water {
                        let v = lo + (hi - lo) * rng.next_f64();
                        batch.readings.push(Reading {
                            period: crate::model::Period::Hour,
                            site: SiteId::new(s.id.as_str()),
                            parameter: p,
                            time,
                            value: v,
                            flag: DataFlag::N,
                        });
                    }
                }
            }
        }
        total += batch.readings.len();
        store.commit_batch(&batch, |_, _| Ok(()))?;
    }
    drop(store);
    let gen_s = t_gen.elapsed().as_secs_f64();

    // --- The timed report.
    let out = dir.join("out");
    let t = Instant::now();
    let conn = report::data::open_store(&db)?;
    let inputs = ReportInputs {
        stations: &stations,
        sections: &sections,
        targets: Targets::default(),
        tz,
        edition: EditionChoice::Auto,
        validity: Default::default(),
        round_before_classing: false,
    };
    let period = ReportPeriod::Year(year);
    let data = report::load(&conn, &inputs, period)?;
    let t_load = t.elapsed().as_secs_f64();
    let html = report::write(&data, Format::Html, Lang::Zh, &out)?;
    let t_html = t.elapsed().as_secs_f64();
    report::write(&data, Format::Markdown, Lang::En, &out)?;
    let t_all = t.elapsed().as_secs_f64();
    // Where the time goes: the store read alone.
    let t_read = Instant::now();
    let from = crate::publish::schema::local_midnight(first, tz).context("midnight")?;
    let to = crate::publish::schema::local_midnight(
        NaiveDate::from_ymd_opt(year + 1, 1, 1).context("--year")?,
        tz,
    )
    .context("midnight")?;
    let n_read =
        crate::store::readings::between(&conn, crate::model::Period::Hour, None, from, to)?.len();
    let read_s = t_read.elapsed().as_secs_f64();
    let size = std::fs::metadata(&html).map(|m| m.len()).unwrap_or(0);
    println!(
        "bench report: {n_stations} stations, {n_sections} sections, year {year}: {total} readings stored in {gen_s:.1} s"
    );
    println!("  (store read alone: {n_read} readings in {read_s:.2} s)");
    println!(
        "  load + judge {t_load:.2} s; + charts + HTML {t_html:.2} s ({} KiB); + Markdown {t_all:.2} s (goal < 5 s for HTML: {})",
        size / 1024,
        if t_html < 5.0 { "met" } else { "MISSED" }
    );
    let g = data.ratio_total.first();
    println!(
        "  year good days {}/{}; sections {}, drinking sources {:?}, 劣V sections {}",
        g.map_or(0, |g| g.good_days),
        g.map_or(0, |g| g.valid_days),
        data.sections.len(),
        data.drinking(),
        data.inferior_v()
    );
    Ok(ExitCode::SUCCESS)
}

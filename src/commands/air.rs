//! `envwatch air daily` and `envwatch air ratio`: the offline air judgement over a long
//! CSV (DESIGN.md "Offline interfaces"). Bad rows are reported with their line numbers
//! and skipped; `--strict` makes the first one fatal.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::cli::{AirInputArgs, AirRatioArgs, EditionArg, HourLabelArg};
use crate::config::{HourLabel, Station, load_stations};
use crate::decode::csv::read_long_csv;
use crate::judge::air::{self, AirOptions, DailyResult, DayJudgement, RatioRow};
use crate::model::Reading;
use crate::standards::aqi::{EditionChoice, Indicator};

/// How many bad rows are printed one by one before only the count is given.
const MAX_PRINTED_ERRORS: usize = 20;

pub fn daily(args: &AirInputArgs) -> anyhow::Result<ExitCode> {
    let result = judge(args)?;
    let mut out = open_out(args)?;
    write_daily_csv(&mut out, &result)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn ratio(args: &AirRatioArgs) -> anyhow::Result<ExitCode> {
    let parse = |s: &Option<String>, what: &str| -> anyhow::Result<Option<NaiveDate>> {
        s.as_deref()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .with_context(|| format!("--{what} {d}: expected YYYY-MM-DD"))
            })
            .transpose()
    };
    let range = match (parse(&args.from, "from")?, parse(&args.to, "to")?) {
        (None, None) => None,
        (a, b) => Some((a.unwrap_or(NaiveDate::MIN), b.unwrap_or(NaiveDate::MAX))),
    };
    if !(0.0..=1.0).contains(&args.target) {
        bail!(
            "--target {}: expected a share between 0 and 1 (e.g. 0.8)",
            args.target
        );
    }
    let result = judge(&args.input)?;
    let rows = air::ratio(&result.cities, args.target, range);
    let mut out = open_out(&args.input)?;
    write_ratio_csv(&mut out, &rows)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the input and stations, reports bad rows, runs the daily judgement.
fn judge(args: &AirInputArgs) -> anyhow::Result<DailyResult> {
    let stations = load_stations(&args.stations).map_err(|diags| {
        for d in diags.iter() {
            eprintln!("{d}");
        }
        anyhow::anyhow!("{}: {} problem(s)", args.stations.display(), diags.len())
    })?;
    let tz: Tz = args
        .tz
        .parse()
        .map_err(|_| anyhow::anyhow!("--tz {}: unknown time zone (e.g. Asia/Shanghai)", args.tz))?;
    let hour_label = match args.hour_label {
        HourLabelArg::Start => HourLabel::Start,
        HourLabelArg::End => HourLabel::End,
    };
    let csv = read_long_csv(&args.input, hour_label)?;
    let input = args.input.display();
    if let Some(first) = csv.errors.first() {
        if args.strict {
            bail!("{input}: {first} (--strict)");
        }
        for e in csv.errors.iter().take(MAX_PRINTED_ERRORS) {
            eprintln!("{input}: {e}");
        }
        eprintln!(
            "{input}: {} of {} rows skipped as bad{}",
            csv.errors.len(),
            csv.rows,
            if csv.errors.len() > MAX_PRINTED_ERRORS {
                format!(" (first {MAX_PRINTED_ERRORS} shown)")
            } else {
                String::new()
            }
        );
    }
    let readings = known_station_readings(&csv.readings, &csv.lines, &stations, args, &input)?;
    let opts = AirOptions {
        tz,
        edition: match args.edition {
            EditionArg::Auto => EditionChoice::Auto,
            EditionArg::Y2012 => EditionChoice::Y2012,
            EditionArg::Y2026 => EditionChoice::Y2026,
        },
        ..AirOptions::default()
    };
    Ok(air::daily(&readings, &stations, &opts)?)
}

/// Sites are validated here (the CSV reader is site-agnostic): rows of stations not in
/// the stations file are bad rows too.
fn known_station_readings(
    readings: &[Reading],
    lines: &[usize],
    stations: &[Station],
    args: &AirInputArgs,
    input: &impl std::fmt::Display,
) -> anyhow::Result<Vec<Reading>> {
    let known: std::collections::HashSet<&str> = stations.iter().map(|s| s.code.as_str()).collect();
    let mut kept = Vec::with_capacity(readings.len());
    let mut unknown = 0usize;
    for (r, line) in readings.iter().zip(lines) {
        if known.contains(r.site.as_str()) {
            kept.push(r.clone());
            continue;
        }
        if args.strict {
            bail!(
                "{input}: line {line}: field station: \"{}\" is not in {} (--strict)",
                r.site,
                args.stations.display()
            );
        }
        if unknown < MAX_PRINTED_ERRORS {
            eprintln!(
                "{input}: line {line}: field station: \"{}\" is not in {}",
                r.site,
                args.stations.display()
            );
        }
        unknown += 1;
    }
    if unknown > 0 {
        eprintln!("{input}: {unknown} rows of unknown stations skipped");
    }
    Ok(kept)
}

fn open_out(args: &AirInputArgs) -> anyhow::Result<Box<dyn Write>> {
    Ok(match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("--out {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Quote a CSV cell when needed.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The daily CSV columns: one row per station-day, then per city-day.
pub const DAILY_HEADER: &str = "kind,date,site,city,edition,aqi,level,category,primary,\
SO2_24h,NO2_24h,PM10_24h,CO_24h,PM2.5_24h,O3_1h_max,O3_8h_max,valid,good,reason";

const DAILY_COLUMNS: [Indicator; 7] = [
    Indicator::So2Day,
    Indicator::No2Day,
    Indicator::Pm10Day,
    Indicator::CoDay,
    Indicator::Pm25Day,
    Indicator::O3Hour,
    Indicator::O3Eight,
];

fn judgement_cells(j: &DayJudgement) -> String {
    let primary: Vec<&str> = j.report.primary.iter().map(|i| i.label()).collect();
    let conc: Vec<String> = DAILY_COLUMNS
        .iter()
        .map(|i| {
            opt(j
                .concentrations
                .get(*i)
                .and_then(|v| i.pollutant().rounded(v)))
        })
        .collect();
    format!(
        "{},{},{},{},{},{},{},{},{}",
        j.edition.year(),
        opt(j.aqi()),
        opt(j.level().map(|l| l.number())),
        opt(j.level().map(|l| l.name_zh())),
        primary.join(" "),
        conc.join(","),
        u8::from(j.valid()),
        u8::from(j.good()),
        cell(&j.reason_text())
    )
}

pub fn write_daily_csv(out: &mut dyn Write, r: &DailyResult) -> std::io::Result<()> {
    writeln!(out, "{DAILY_HEADER}")?;
    for s in &r.stations {
        writeln!(
            out,
            "station,{},{},{},{}",
            s.judgement.date,
            cell(s.station.as_str()),
            cell(&s.city),
            judgement_cells(&s.judgement)
        )?;
    }
    for c in &r.cities {
        writeln!(
            out,
            "city,{},{},{},{}",
            c.judgement.date,
            cell(&c.city),
            cell(&c.city),
            judgement_cells(&c.judgement)
        )?;
    }
    Ok(())
}

pub const RATIO_HEADER: &str = "city,period,label,from,to,days,good_days,valid_days,ratio,\
ratio_pct,target,meets_target,ytd_good_days,ytd_valid_days,days_left_in_year,\
best_case_year_ratio,reachable_this_year";

pub fn write_ratio_csv(out: &mut dyn Write, rows: &[RatioRow]) -> std::io::Result<()> {
    writeln!(out, "{RATIO_HEADER}")?;
    for r in rows {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            cell(&r.city),
            r.kind.as_str(),
            r.label,
            r.from,
            r.to,
            r.days,
            r.good_days,
            r.valid_days,
            opt(r.ratio.map(|x| format!("{x:.4}"))),
            opt(r.ratio.map(|x| format!("{:.1}", x * 100.0))),
            r.target,
            opt(r.meets_target.map(u8::from)),
            r.ytd_good_days,
            r.ytd_valid_days,
            r.days_left_in_year,
            opt(r.best_case_year_ratio.map(|x| format!("{x:.4}"))),
            u8::from(r.reachable_this_year)
        )?;
    }
    Ok(())
}

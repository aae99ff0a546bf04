//! `envwatch water classify`: long CSV in, one CSV row per section and period out.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::{WaterClassifyArgs, WaterPeriod};
use crate::config::daemon::Targets;
use crate::config::load_sections;
use crate::judge::water::input::{LineError, read_long_csv_numbered};
use crate::judge::water::{
    Classes, ItemFinding, JudgeOptions, Period, SectionInfo, WaterInput, classify as judge,
    district_status,
};
use crate::model::Reading;
use crate::standards::parameter::Medium;
use crate::standards::water::Exceedance;

/// Header of the output CSV (documented in README, stable).
pub const HEADER: &str = "section,name,waterbody,period,class,items,exceedance_iii,exceedance_target,exceedance_v,separate,target,compliant,drinking_source,drinking_compliant,readings";

pub fn classify(args: &WaterClassifyArgs) -> anyhow::Result<ExitCode> {
    let sections = match load_sections(&args.sections) {
        Ok(s) => s,
        Err(diags) => {
            for d in diags.iter() {
                eprintln!("{d}");
            }
            bail!(
                "{}: {} problem(s) in the sections file",
                args.sections.display(),
                diags.len()
            );
        }
    };
    let tz: chrono_tz::Tz = args
        .tz
        .parse()
        .map_err(|e| anyhow::anyhow!("--tz {}: {e}", args.tz))?;
    let (rows, mut errors) = read_long_csv_numbered(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;

    // Unknown sections and non-water parameters: reported by line and skipped.
    let known: HashMap<&str, ()> = sections.iter().map(|s| (s.id.as_str(), ())).collect();
    let mut readings: Vec<Reading> = Vec::with_capacity(rows.len());
    for r in rows {
        let p = r.reading.parameter;
        let message = if !known.contains_key(r.reading.site.as_str()) {
            Some(format!(
                "unknown section \"{}\" (not in {})",
                r.reading.site,
                args.sections.display()
            ))
        } else if p.medium() != Medium::Water {
            Some(format!("parameter {p} is not a water parameter"))
        } else {
            None
        };
        match message {
            Some(message) => errors.push(LineError {
                file: args.input.clone(),
                line: r.line,
                message,
            }),
            None => readings.push(r.reading),
        }
    }
    errors.sort_by_key(|e| e.line);
    for e in &errors {
        eprintln!("{e} (line skipped)");
    }

    let infos: Vec<SectionInfo> = sections.iter().map(SectionInfo::from).collect();
    let (input, skips) = WaterInput::from_readings(infos, &readings)?;
    let period = match args.period {
        WaterPeriod::Reading => Period::Reading,
        WaterPeriod::Day => Period::Day,
        WaterPeriod::Month => Period::Month,
    };
    let opts = JudgeOptions {
        round_before_classing: args.round_before_classing,
        tz,
    };
    let [classes] = judge(&input, [period], &opts)?;

    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write_csv(&mut out, &classes)?;
    out.flush()?;

    eprintln!(
        "{} lines skipped; {} readings judged ({} with a flag other than N, {} of items without class limits left out); {} {} rows",
        errors.len(),
        input.len(),
        skips.invalid_flag,
        skips.not_classable,
        classes.rows.len(),
        period.name()
    );
    if period != Period::Reading {
        print_district_summary(&classes);
    }
    Ok(ExitCode::SUCCESS)
}

/// Quotes a CSV field when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn multiples(items: &[ItemFinding], pick: impl Fn(&ItemFinding) -> Option<Exceedance>) -> String {
    items
        .iter()
        .filter_map(|i| pick(i).map(|e| format!("{}={}", i.parameter, e.multiple_decimal(2))))
        .collect::<Vec<_>>()
        .join(";")
}

fn opt_bool(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

/// Writes the classes as CSV (see [`HEADER`]). Lists are `;`-separated `ITEM=value`;
/// exceedance multiples `(C − L)/L` are rounded to 2 decimals (GB/T 8170).
pub fn write_csv(out: &mut dyn Write, classes: &Classes) -> std::io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for row in &classes.rows {
        let s = classes.section(row);
        let items = row
            .items
            .iter()
            .map(|i| format!("{}={}", i.parameter, i.value))
            .collect::<Vec<_>>()
            .join(";");
        let separate = row
            .separate
            .iter()
            .map(|i| format!("{}={}:{}", i.parameter, i.value, i.class))
            .collect::<Vec<_>>()
            .join(";");
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(s.id.as_str()),
            csv_field(&s.name),
            match s.waterbody {
                crate::standards::water::WaterBody::River => "river",
                crate::standards::water::WaterBody::Lake => "lake",
                crate::standards::water::WaterBody::Reservoir => "reservoir",
            },
            classes.period_label(row),
            row.class.map_or("", |c| c.label()),
            csv_field(&items),
            multiples(&row.items, ItemFinding::vs_iii),
            multiples(&row.items, ItemFinding::vs_target),
            multiples(&row.items, ItemFinding::vs_v),
            csv_field(&separate),
            s.target.map_or("", |t| t.0.label()),
            opt_bool(classes.compliant(row)),
            s.drinking_source,
            opt_bool(classes.drinking_compliant(row)),
            row.readings,
        )?;
    }
    Ok(())
}

/// District ratios of the latest period of each district, on stderr.
fn print_district_summary(classes: &Classes) {
    let mut latest = BTreeMap::new();
    for st in district_status(classes, &Targets::default()) {
        latest.insert(st.district.clone(), st);
    }
    let pct = |r: Option<f64>| r.map_or("n/a".to_string(), |r| format!("{:.1}%", r * 100.0));
    for st in latest.values() {
        eprintln!(
            "district {} {}: sections compliant {}/{} ({}); drinking sources compliant {}/{} ({}, target {:.0}%); 劣V sections {} (target ≤ {}){}",
            if st.district.is_empty() {
                "(none)"
            } else {
                &st.district
            },
            classes.period.label(st.start, classes.tz),
            st.compliant_sections,
            st.sections,
            pct(st.section_ratio),
            st.compliant_drinking_sources,
            st.drinking_sources,
            pct(st.drinking_ratio),
            st.drinking_target * 100.0,
            st.inferior_v_sections,
            st.max_inferior_v,
            if st.targets_met() {
                ""
            } else {
                " — TARGET MISSED"
            }
        );
    }
}

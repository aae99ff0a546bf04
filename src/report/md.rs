//! Markdown variant: the same numbers as the HTML; charts are linked SVG files.

use std::fmt::Write;

use super::data::ReportData;
use super::html::{class_label, headlines, pct, yes_no};
use super::i18n::{self, Texts};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(data: &ReportData, charts: &[(&str, String)], t: &Texts) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# {} {}\n", data.period.label(), t.title);
    let span = data
        .data_span
        .map_or(t.no_data.to_string(), |(a, b)| format!("{a} – {b}"));
    let _ = writeln!(
        m,
        "{}: {} ({} – {}) · {}: {span} · {}: {}\n",
        t.period,
        data.period.label(),
        data.period.first(),
        data.period.last(),
        t.data_span,
        t.readings,
        data.readings
    );
    let _ = writeln!(m, "## {}\n", t.headline);
    let _ = writeln!(
        m,
        "| {} | {} | {} | {} |\n|---|---|---|---|",
        t.indicator, t.value, t.target, t.status
    );
    for h in headlines(data, t) {
        let status = match h.met {
            Some(true) => t.met,
            Some(false) => t.missed,
            None => "—",
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | **{status}** |",
            cell(&h.name),
            cell(&h.value),
            cell(&h.target)
        );
    }
    let _ = writeln!(
        m,
        "\n| {} | {} | {} | {} | {} |\n|---|---|---|---|---|",
        t.city, t.month, t.good_days, t.valid_days, t.good_day_ratio
    );
    for r in &data.ratio_months {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} |",
            cell(&r.city),
            r.label,
            r.good_days,
            r.valid_days,
            pct(r.ratio)
        );
    }
    let _ = writeln!(m, "\n## {}\n", t.charts);
    for (name, link) in charts {
        let _ = writeln!(m, "![{name}]({link})\n");
    }
    let _ = writeln!(m, "## {}\n", t.sections);
    let year = data.period.is_year();
    let _ = writeln!(
        m,
        "| {} | {} | {} | {} | {} | {} | {} | {} |{}\n|---|---|---|---|---|---|---|---|{}",
        t.section,
        t.name,
        t.river,
        t.drinking_source,
        t.class,
        t.target,
        t.compliant,
        t.items,
        if year {
            format!(" {} |", t.months_compliant)
        } else {
            String::new()
        },
        if year { "---|" } else { "" }
    );
    for s in &data.sections {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} |{}",
            cell(&s.id),
            cell(&s.name),
            cell(&s.river),
            if s.drinking_source { t.yes } else { "" },
            class_label(t, s.class),
            class_label(t, Some(s.target)),
            yes_no(t, s.compliant),
            cell(&s.items.join("; ")),
            if year {
                format!(" {}/{} |", s.compliant_months, s.months)
            } else {
                String::new()
            }
        );
    }
    if year {
        let _ = writeln!(m, "\n{}", t.class_note_year);
    }
    let _ = writeln!(
        m,
        "\n## {}\n\n| {} | {} | {} | {} | {} |\n|---|---|---|---|---|",
        t.stations, t.station, t.name, t.days, t.valid_days, t.mean_aqi
    );
    for s in &data.stations {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} |",
            cell(&s.code),
            cell(&s.name),
            s.days,
            s.valid_days,
            s.mean_aqi.map_or("—".to_string(), |a| format!("{a:.0}"))
        );
    }
    let _ = writeln!(m, "\n## {}\n\n### {}\n", t.events, t.polluted_days);
    let polluted = data.polluted_days();
    if polluted.is_empty() {
        let _ = writeln!(m, "{}", t.none);
    } else {
        let _ = writeln!(
            m,
            "| {} | {} | AQI | {} | {} |\n|---|---|---|---|---|",
            t.date, t.city, t.level, t.primary
        );
        for d in polluted {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} |",
                d.date,
                cell(&d.city),
                d.aqi.unwrap_or_default(),
                i18n::level_name(t, d.level.unwrap_or(3)),
                d.primary.join(", ")
            );
        }
    }
    let _ = writeln!(m, "\n### {}\n", t.episodes);
    if data.episodes.is_empty() {
        let _ = writeln!(m, "{}", t.none);
    } else {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} |\n|---|---|---|---|---|",
            t.section, t.name, t.from, t.to, t.items
        );
        for e in &data.episodes {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} |",
                cell(&e.section),
                cell(&e.name),
                e.from,
                e.to,
                cell(&e.items.join("; "))
            );
        }
    }
    let _ = writeln!(
        m,
        "\n## {}\n\n{}\n\n| {} | {} | {} | {} | {} | {} |\n|---|---|---|---|---|---|",
        t.completeness,
        t.completeness_note,
        t.kind,
        t.station,
        t.name,
        t.present,
        t.expected,
        t.share
    );
    for c in &data.completeness {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} |",
            if c.air { t.air } else { t.water },
            cell(&c.site),
            cell(&c.name),
            c.present,
            c.expected,
            pct(c.share())
        );
    }
    let _ = writeln!(m, "\n_{}_", t.generated_by);
    m
}

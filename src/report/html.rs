//! Self-contained HTML (inline CSS and SVG, no external resources).

use std::fmt::Write;

use super::charts::{ChartSet, class_colour, level_colour};
use super::data::ReportData;
use super::i18n::{self, Texts};
use crate::standards::water::WaterClass;

/// One headline figure against its target.
pub struct Headline {
    pub name: String,
    pub value: String,
    pub target: String,
    pub met: Option<bool>,
}

pub fn pct(r: Option<f64>) -> String {
    r.map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0))
}

pub fn class_label(t: &Texts, c: Option<WaterClass>) -> String {
    match (c, t.lang) {
        (None, _) => "—".to_string(),
        (Some(c), i18n::Lang::Zh) => format!("{}类", c.label_zh()),
        (Some(c), i18n::Lang::En) => c.label().to_string(),
    }
}

pub fn yes_no(t: &Texts, b: Option<bool>) -> &'static str {
    match b {
        Some(true) => t.yes,
        Some(false) => t.no,
        None => "—",
    }
}

/// The three district targets (one good-day line per city).
pub fn headlines(data: &ReportData, t: &Texts) -> Vec<Headline> {
    let mut out = Vec::new();
    let target = data.targets.good_day_ratio;
    for r in &data.ratio_total {
        out.push(Headline {
            name: format!("{} ({})", t.good_day_ratio, r.city),
            value: format!(
                "{} ({} {} / {} {})",
                pct(r.ratio),
                r.good_days,
                t.good_days,
                r.valid_days,
                t.valid_days
            ),
            target: format!("≥ {:.0}%", target * 100.0),
            met: r.ratio.map(|x| x + 1e-12 >= target),
        });
    }
    let (n, ok) = data.drinking();
    let share = (n > 0).then(|| f64::from(ok) / f64::from(n));
    out.push(Headline {
        name: t.drinking_compliant.to_string(),
        value: format!("{} ({ok}/{n})", pct(share)),
        target: format!("{:.0}%", data.targets.drinking_source_compliance * 100.0),
        met: share.map(|s| s + 1e-12 >= data.targets.drinking_source_compliance),
    });
    let inf = data.inferior_v();
    out.push(Headline {
        name: t.inferior_v_sections.to_string(),
        value: inf.to_string(),
        target: format!("≤ {}", data.targets.max_inferior_v_sections),
        met: Some(inf <= data.targets.max_inferior_v_sections),
    });
    out
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{border-bottom:3px solid #0a6;padding-bottom:8px}h2{color:#064;margin-top:32px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;font-size:14px}
th{background:#eef6f0}.met{color:#fff;background:#0a6;font-weight:bold}.missed{color:#fff;background:#d22;font-weight:bold}
.chart{margin:12px 0;overflow-x:auto}.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.note{color:#666;font-size:13px}";

fn status_cell(t: &Texts, met: Option<bool>) -> String {
    match met {
        Some(true) => format!("<td class=\"met\">{}</td>", t.met),
        Some(false) => format!("<td class=\"missed\">{}</td>", t.missed),
        None => "<td>—</td>".to_string(),
    }
}

fn svg_inline(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

fn swatch(c: plotters::style::RGBColor) -> String {
    format!(
        "<span class=\"swatch\" style=\"background:rgb({},{},{})\"></span>",
        c.0, c.1, c.2
    )
}

pub fn render(data: &ReportData, charts: &ChartSet, t: &Texts) -> String {
    let mut h = String::new();
    let title = format!("{} {}", data.period.label(), t.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
        t.html_lang,
        esc(&title),
        esc(&title)
    );
    let span = data
        .data_span
        .map_or(t.no_data.to_string(), |(a, b)| format!("{a} – {b}"));
    let _ = writeln!(
        h,
        "<p>{}: {} ({} – {}) · {}: {span} · {}: {}</p>",
        t.period,
        data.period.label(),
        data.period.first(),
        data.period.last(),
        t.data_span,
        t.readings,
        data.readings
    );

    // Headline.
    let _ = writeln!(
        h,
        "<h2>{}</h2><table id=\"headline\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t.headline, t.indicator, t.value, t.target, t.status
    );
    for hl in headlines(data, t) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            esc(&hl.name),
            esc(&hl.value),
            esc(&hl.target),
            status_cell(t, hl.met)
        );
    }
    h.push_str("</table>\n");
    // Monthly table of good days (the numbers behind the bars).
    let _ = writeln!(
        h,
        "<table id=\"good-days\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t.city, t.month, t.good_days, t.valid_days, t.good_day_ratio
    );
    for r in &data.ratio_months {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"good\">{}</td><td class=\"valid\">{}</td><td>{}</td></tr>",
            esc(&r.city),
            r.label,
            r.good_days,
            r.valid_days,
            pct(r.ratio)
        );
    }
    h.push_str("</table>\n");

    // Charts.
    let _ = writeln!(h, "<h2>{}</h2>", t.charts);
    for (name, svg) in charts.named() {
        let _ = writeln!(
            h,
            "<div class=\"chart\" id=\"{name}\">{}</div>",
            svg_inline(svg)
        );
    }

    // Sections.
    let _ = writeln!(
        h,
        "<h2>{}</h2><table id=\"sections\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>{}</tr>",
        t.sections,
        t.section,
        t.name,
        t.river,
        t.drinking_source,
        t.class,
        t.target,
        t.compliant,
        t.items,
        if data.period.is_year() {
            format!("<th>{}</th>", t.months_compliant)
        } else {
            String::new()
        }
    );
    for s in &data.sections {
        let colour = s.class.map_or(String::new(), |c| swatch(class_colour(c)));
        let _ = writeln!(
            h,
            "<tr data-section=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"class\">{colour}{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            esc(&s.id),
            esc(&s.id),
            esc(&s.name),
            esc(&s.river),
            if s.drinking_source { t.yes } else { "" },
            class_label(t, s.class),
            class_label(t, Some(s.target)),
            yes_no(t, s.compliant),
            esc(&s.items.join("; ")),
            if data.period.is_year() {
                format!("<td>{}/{}</td>", s.compliant_months, s.months)
            } else {
                String::new()
            }
        );
    }
    h.push_str("</table>\n");
    if data.period.is_year() {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", t.class_note_year);
    }

    // Appendix: daily class of every section (the numbers behind the section chart).
    let _ = writeln!(
        h,
        "<details><summary>{}</summary><table id=\"section-days\">",
        t.chart_sections
    );
    for (idx, s) in data.sections.iter().enumerate() {
        let days: Vec<String> = data
            .section_days
            .iter()
            .filter(|d| d.section == idx)
            .map(|d| format!("{}:{}", d.date, d.class.label()))
            .collect();
        let _ = writeln!(
            h,
            "<tr data-days-of=\"{}\"><td>{}</td><td>{}</td></tr>",
            esc(&s.id),
            esc(&s.id),
            days.join(" ")
        );
    }
    h.push_str("</table></details>\n");

    // Stations.
    let _ = writeln!(
        h,
        "<h2>{}</h2><table id=\"stations\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t.stations, t.station, t.name, t.days, t.valid_days, t.mean_aqi
    );
    for s in &data.stations {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.code),
            esc(&s.name),
            s.days,
            s.valid_days,
            s.mean_aqi.map_or("—".to_string(), |a| format!("{a:.0}"))
        );
    }
    h.push_str("</table>\n");

    // Events.
    let _ = writeln!(h, "<h2>{}</h2><h3>{}</h3>", t.events, t.polluted_days);
    let polluted = data.polluted_days();
    if polluted.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", t.none);
    } else {
        let _ = writeln!(
            h,
            "<table id=\"polluted\"><tr><th>{}</th><th>{}</th><th>AQI</th><th>{}</th><th>{}</th></tr>",
            t.date, t.city, t.level, t.primary
        );
        for d in polluted {
            let level = d.level.unwrap_or(3);
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                d.date,
                esc(&d.city),
                d.aqi.unwrap_or_default(),
                swatch(level_colour(level)),
                i18n::level_name(t, level),
                d.primary.join(", ")
            );
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(h, "<h3>{}</h3>", t.episodes);
    if data.episodes.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", t.none);
    } else {
        let _ = writeln!(
            h,
            "<table id=\"episodes\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            t.section, t.name, t.from, t.to, t.items
        );
        for e in &data.episodes {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.section),
                esc(&e.name),
                e.from,
                e.to,
                esc(&e.items.join("; "))
            );
        }
        h.push_str("</table>\n");
    }

    // Completeness.
    let _ = writeln!(
        h,
        "<h2>{}</h2><p class=\"note\">{}</p><table id=\"completeness\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
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
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if c.air { t.air } else { t.water },
            esc(&c.site),
            esc(&c.name),
            c.present,
            c.expected,
            pct(c.share())
        );
    }
    h.push_str("</table>\n");
    let _ = writeln!(h, "<p class=\"note\">{}</p></body></html>", t.generated_by);
    h
}

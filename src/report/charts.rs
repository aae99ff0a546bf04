//! SVG charts (plotters' SVG backend: text stays `<text>` elements, so no system fonts
//! are needed at generation time; the browser picks the font).

use std::collections::BTreeMap;

use anyhow::anyhow;
use chrono::{Datelike, NaiveDate};
use plotters::prelude::*;

use super::data::{ReportData, TREND_POLLUTANTS};
use super::i18n::{self, Texts};
use crate::standards::water::WaterClass;

/// HJ 633 level colours (优 … 严重污染).
pub const LEVEL_COLOURS: [RGBColor; 6] = [
    RGBColor(0, 228, 0),
    RGBColor(255, 255, 0),
    RGBColor(255, 126, 0),
    RGBColor(255, 0, 0),
    RGBColor(153, 0, 76),
    RGBColor(126, 0, 35),
];

/// Water class colours I … 劣V (the blue-green-yellow-orange-red scale of the bulletins).
pub const CLASS_COLOURS: [RGBColor; 6] = [
    RGBColor(0, 112, 255),
    RGBColor(0, 176, 240),
    RGBColor(0, 200, 80),
    RGBColor(255, 210, 0),
    RGBColor(255, 126, 0),
    RGBColor(255, 0, 0),
];

const NO_DATA: RGBColor = RGBColor(220, 220, 220);
const FONT: &str = "sans-serif";

/// Rough width in pixels of 12 px text (CJK glyphs are about twice as wide).
fn text_width(s: &str) -> i32 {
    s.chars().map(|c| if c.is_ascii() { 7 } else { 13 }).sum()
}

pub fn level_colour(level: u8) -> RGBColor {
    LEVEL_COLOURS[usize::from(level.clamp(1, 6) - 1)]
}

pub fn class_colour(c: WaterClass) -> RGBColor {
    CLASS_COLOURS[usize::from(c.number().clamp(1, 6) - 1)]
}

/// The rendered charts.
pub struct ChartSet {
    pub monthly: String,
    pub calendar: String,
    pub trends: String,
    pub sections: String,
}

impl ChartSet {
    /// (file stem, svg) pairs.
    pub fn named(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("monthly-good-days", self.monthly.as_str()),
            ("aqi-calendar", self.calendar.as_str()),
            ("pollutant-trends", self.trends.as_str()),
            ("section-classes", self.sections.as_str()),
        ]
    }
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("chart: {e}")
}

pub fn render_all(data: &ReportData, t: &Texts) -> anyhow::Result<ChartSet> {
    Ok(ChartSet {
        monthly: monthly(data, t)?,
        calendar: calendar(data, t)?,
        trends: trends(data, t)?,
        sections: sections(data, t)?,
    })
}

/// Monthly good-day ratio bars (first city) with the target line.
fn monthly(data: &ReportData, t: &Texts) -> anyhow::Result<String> {
    let months = data.period.months();
    let city = data.ratio_months.first().map(|r| r.city.clone());
    let by_label: BTreeMap<&str, Option<f64>> = data
        .ratio_months
        .iter()
        .filter(|r| Some(&r.city) == city.as_ref())
        .map(|r| (r.label.as_str(), r.ratio))
        .collect();
    let labels: Vec<String> = months
        .iter()
        .map(|m| format!("{:04}-{:02}", m.year(), m.month()))
        .collect();
    let n = labels.len() as f64;
    let target = data.targets.good_day_ratio * 100.0;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (800, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(t.chart_monthly, (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.5f64..(n - 0.5), 0f64..100f64)
            .map_err(err)?;
        let labels_c = labels.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(labels.len().max(1))
            .x_label_formatter(&move |x| {
                let i = x.round();
                if (x - i).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                labels_c.get(i as usize).cloned().unwrap_or_default()
            })
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .y_desc(t.good_day_ratio)
            .draw()
            .map_err(err)?;
        let bars = labels.iter().enumerate().filter_map(|(i, l)| {
            let r = by_label.get(l.as_str()).copied().flatten()? * 100.0;
            let colour = if r + 1e-9 >= target {
                RGBColor(0, 160, 60)
            } else {
                RGBColor(230, 120, 0)
            };
            let x = i as f64;
            Some(Rectangle::new(
                [(x - 0.3, 0.0), (x + 0.3, r)],
                colour.filled(),
            ))
        });
        chart.draw_series(bars).map_err(err)?;
        let values = labels.iter().enumerate().filter_map(|(i, l)| {
            let r = by_label.get(l.as_str()).copied().flatten()? * 100.0;
            Some(Text::new(
                format!("{r:.1}%"),
                (i as f64 - 0.2, (r + 6.0).min(98.0)),
                (FONT, 13).into_font(),
            ))
        });
        chart.draw_series(values).map_err(err)?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(-0.5, target), (n - 0.5, target)],
                8,
                5,
                RED.stroke_width(2),
            ))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Week-column calendar of the first city's daily AQI, coloured by level.
fn calendar(data: &ReportData, t: &Texts) -> anyhow::Result<String> {
    let first = data.period.first();
    let last = data.period.last();
    let city = data.city_days.first().map(|c| c.city.clone());
    let days: BTreeMap<NaiveDate, (Option<u16>, Option<u8>)> = data
        .city_days
        .iter()
        .filter(|c| Some(&c.city) == city.as_ref())
        .map(|c| (c.date, (c.aqi, c.level)))
        .collect();
    let year = data.period.is_year();
    let cell: i32 = if year { 16 } else { 44 };
    let left = 40;
    let top = 50;
    let offset = first.weekday().num_days_from_monday() as i32;
    let weeks = ((last - first).num_days() as i32 + offset) / 7 + 1;
    let width = (left + weeks * (cell + 2) + 20).max(820) as u32;
    let height = (top + 7 * (cell + 2) + 60) as u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        root.draw(&Text::new(
            t.chart_calendar,
            (10, 10),
            (FONT, 18).into_font(),
        ))
        .map_err(err)?;
        let weekdays = match t.lang {
            i18n::Lang::Zh => ["一", "二", "三", "四", "五", "六", "日"],
            i18n::Lang::En => ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"],
        };
        for (i, w) in weekdays.iter().enumerate() {
            let y = top + i as i32 * (cell + 2) + cell / 2 - 6;
            root.draw(&Text::new(*w, (10, y), (FONT, 12).into_font()))
                .map_err(err)?;
        }
        let mut d = first;
        while d <= last {
            let idx = (d - first).num_days() as i32 + offset;
            let (col, row) = (idx / 7, idx % 7);
            let x = left + col * (cell + 2);
            let y = top + row * (cell + 2);
            let (aqi, level) = days.get(&d).copied().unwrap_or((None, None));
            let colour = level.map_or(NO_DATA, level_colour);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                colour.filled(),
            ))
            .map_err(err)?;
            if d.day() == 1 {
                root.draw(&Text::new(
                    format!("{}", d.month()),
                    (x, top - 16),
                    (FONT, 12).into_font(),
                ))
                .map_err(err)?;
            }
            if !year {
                root.draw(&Text::new(
                    format!("{}", d.day()),
                    (x + 3, y + 3),
                    (FONT, 11).into_font(),
                ))
                .map_err(err)?;
                if let Some(a) = aqi {
                    root.draw(&Text::new(
                        format!("{a}"),
                        (x + 10, y + 22),
                        (FONT, 14).into_font(),
                    ))
                    .map_err(err)?;
                }
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        // Legend.
        let ly = top + 7 * (cell + 2) + 20;
        let mut lx = left;
        for level in 1..=6u8 {
            root.draw(&Rectangle::new(
                [(lx, ly), (lx + 14, ly + 14)],
                level_colour(level).filled(),
            ))
            .map_err(err)?;
            let name = i18n::level_name(t, level);
            root.draw(&Text::new(name, (lx + 18, ly), (FONT, 12).into_font()))
                .map_err(err)?;
            lx += 30 + text_width(name);
        }
        root.draw(&Rectangle::new(
            [(lx, ly), (lx + 14, ly + 14)],
            NO_DATA.filled(),
        ))
        .map_err(err)?;
        root.draw(&Text::new(t.no_data, (lx + 18, ly), (FONT, 12).into_font()))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Daily concentrations of the first city (µg/m³ pollutants; CO in mg/m³ is left to
/// the tables because its scale differs a thousandfold).
fn trends(data: &ReportData, t: &Texts) -> anyhow::Result<String> {
    let city = data.city_days.first().map(|c| c.city.clone());
    let days: Vec<_> = data
        .city_days
        .iter()
        .filter(|c| Some(&c.city) == city.as_ref())
        .collect();
    let first = days.first().map_or(data.period.first(), |d| d.date);
    let last = days.last().map_or(data.period.last(), |d| d.date);
    let n = (last - first).num_days().max(1) as f64;
    let max = days
        .iter()
        .flat_map(|d| d.conc[..5].iter().flatten().copied())
        .fold(10.0f64, f64::max)
        * 1.1;
    let colours = [
        RGBColor(200, 0, 0),
        RGBColor(150, 90, 0),
        RGBColor(120, 0, 160),
        RGBColor(0, 90, 200),
        RGBColor(0, 150, 60),
    ];
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (900, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(t.chart_trends, (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..n, 0f64..max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| {
                let d = first + chrono::Duration::days(x.round() as i64);
                d.format("%m-%d").to_string()
            })
            .y_desc(t.concentration)
            .draw()
            .map_err(err)?;
        for (k, colour) in colours.iter().enumerate() {
            let pts: Vec<(f64, f64)> = days
                .iter()
                .filter_map(|d| Some(((d.date - first).num_days() as f64, d.conc[k]?)))
                .collect();
            let c = *colour;
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(err)?
                .label(TREND_POLLUTANTS[k])
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// One row per section, one column per day of the data span, coloured by daily class.
fn sections(data: &ReportData, t: &Texts) -> anyhow::Result<String> {
    let (first, last) = data
        .data_span
        .unwrap_or((data.period.first(), data.period.first()));
    let ndays = (last - first).num_days() as i32 + 1;
    let left = 170;
    let top = 50;
    let row_h = 18;
    let plot_w = 900;
    let rows = data.sections.len().max(1) as i32;
    let height = (top + rows * (row_h + 2) + 70) as u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, ((left + plot_w + 20) as u32, height))
            .into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        root.draw(&Text::new(
            t.chart_sections,
            (10, 10),
            (FONT, 18).into_font(),
        ))
        .map_err(err)?;
        let x_of =
            |i: i32| left + (i64::from(i) * i64::from(plot_w) / i64::from(ndays.max(1))) as i32;
        for (r, s) in data.sections.iter().enumerate() {
            let y = top + r as i32 * (row_h + 2);
            root.draw(&Text::new(
                format!("{} {}", s.id, s.name),
                (8, y + 2),
                (FONT, 12).into_font(),
            ))
            .map_err(err)?;
            root.draw(&Rectangle::new(
                [(left, y), (left + plot_w, y + row_h)],
                NO_DATA.filled(),
            ))
            .map_err(err)?;
        }
        for d in &data.section_days {
            let i = (d.date - first).num_days() as i32;
            if i < 0 || i >= ndays {
                continue;
            }
            let y = top + d.section as i32 * (row_h + 2);
            let (x0, x1) = (x_of(i), x_of(i + 1).max(x_of(i) + 1));
            root.draw(&Rectangle::new(
                [(x0, y), (x1, y + row_h)],
                class_colour(d.class).filled(),
            ))
            .map_err(err)?;
        }
        let axis_y = top + rows * (row_h + 2) + 4;
        // Every day for up to two weeks, else about 8 evenly spaced days (the old
        // quarter points fell unevenly on short spans: 0, 1, 3, 4, 6 of 7 days).
        let step = if ndays <= 14 { 1 } else { (ndays + 7) / 8 };
        for i in (0..ndays).step_by(step as usize) {
            let d = first + chrono::Duration::days(i64::from(i));
            root.draw(&Text::new(
                d.format("%m-%d").to_string(),
                (x_of(i), axis_y),
                (FONT, 12).into_font(),
            ))
            .map_err(err)?;
        }
        let ly = axis_y + 26;
        let mut lx = left;
        for c in WaterClass::ALL {
            root.draw(&Rectangle::new(
                [(lx, ly), (lx + 14, ly + 14)],
                class_colour(c).filled(),
            ))
            .map_err(err)?;
            let label = match t.lang {
                i18n::Lang::Zh => format!("{}类", c.label_zh()),
                i18n::Lang::En => c.label().to_string(),
            };
            root.draw(&Text::new(label, (lx + 18, ly), (FONT, 12).into_font()))
                .map_err(err)?;
            lx += 70;
        }
        root.draw(&Rectangle::new(
            [(lx, ly), (lx + 14, ly + 14)],
            NO_DATA.filled(),
        ))
        .map_err(err)?;
        root.draw(&Text::new(t.no_data, (lx + 18, ly), (FONT, 12).into_font()))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

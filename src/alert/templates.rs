//! Message wording. Chinese by default (the bureau's staff read Chinese), English on
//! `language = "en"`. Markdown limited to what DingTalk and WeCom robots render:
//! headings, lists and bold.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::config::{Language, Severity};
use super::input::{ItemFinding, ObservedPeriod, WaterObservation};
use super::notification::NotificationKind;
use super::rules::{Fact, RuleKind};
use crate::standards::parameter::Parameter;

/// Title and markdown text of a notification.
pub fn render(
    lang: Language,
    tz: Tz,
    rule: RuleKind,
    kind: NotificationKind,
    severity: Severity,
    subject: &str,
    fact: &Fact,
) -> (String, String) {
    let zh = lang == Language::Zh;
    let prefix = match (kind, zh) {
        (NotificationKind::Firing, true) => "【告警】",
        (NotificationKind::Repeat, true) => "【持续告警】",
        (NotificationKind::Resolved, true) => "【已恢复】",
        (NotificationKind::Test, true) => "【测试】",
        (NotificationKind::Firing, false) => "[FIRING] ",
        (NotificationKind::Repeat, false) => "[STILL FIRING] ",
        (NotificationKind::Resolved, false) => "[RESOLVED] ",
        (NotificationKind::Test, false) => "[TEST] ",
    };
    let subject_name = match fact {
        Fact::Water(w) => w.name.clone(),
        Fact::Silence(s) if !s.name.is_empty() => s.name.clone(),
        _ => subject.to_string(),
    };
    let sep = if zh { "：" } else { ": " };
    let title = format!("{prefix}{}{sep}{subject_name}", rule_title(rule, zh));
    let mut text = format!("### {title}\n\n");
    fact_lines(&mut text, zh, tz, fact);
    let sev = severity_label(severity, zh);
    let _ = if zh {
        writeln!(text, "- 级别：{sev}\n- 规则：{}", rule.name())
    } else {
        writeln!(text, "- Severity: {sev}\n- Rule: {}", rule.name())
    };
    (title, text)
}

fn rule_title(rule: RuleKind, zh: bool) -> &'static str {
    match (rule, zh) {
        (RuleKind::WaterInferiorV, true) => "断面水质劣Ⅴ类",
        (RuleKind::WaterTargetMissed, true) => "断面水质未达目标",
        (RuleKind::DrinkingSourceNoncompliant, true) => "饮用水水源地水质不达标",
        (RuleKind::AirPollutedDay, true) => "空气污染日",
        (RuleKind::AirTargetAtRisk, true) => "优良天数比例目标存在风险",
        (RuleKind::StationSilent, true) => "站点数据中断",
        (RuleKind::PipelineDeadLetters, true) => "数据管道死信过多",
        (RuleKind::OutboxBacklog, true) => "数据发送积压",
        (RuleKind::WaterInferiorV, false) => "Section at inferior class V",
        (RuleKind::WaterTargetMissed, false) => "Section worse than its target class",
        (RuleKind::DrinkingSourceNoncompliant, false) => "Drinking-water source non-compliant",
        (RuleKind::AirPollutedDay, false) => "Polluted air day",
        (RuleKind::AirTargetAtRisk, false) => "Good-day ratio target at risk",
        (RuleKind::StationSilent, false) => "Station silent",
        (RuleKind::PipelineDeadLetters, false) => "Pipeline dead letters above threshold",
        (RuleKind::OutboxBacklog, false) => "Outbox backlog",
    }
}

fn severity_label(s: Severity, zh: bool) -> &'static str {
    match (s, zh) {
        (Severity::Critical, true) => "紧急",
        (Severity::Major, true) => "重要",
        (Severity::Warning, true) => "警告",
        (Severity::Info, true) => "提示",
        (s, false) => s.as_str(),
    }
}

/// Chinese item names as used in bulletins (GB 3838 Table 1 wording).
fn parameter_zh(p: Parameter) -> &'static str {
    match p {
        Parameter::Ph => "pH",
        Parameter::Do => "溶解氧",
        Parameter::CodMn => "高锰酸盐指数",
        Parameter::Cod => "化学需氧量",
        Parameter::Bod5 => "五日生化需氧量",
        Parameter::Nh3N => "氨氮",
        Parameter::Tp => "总磷",
        Parameter::Tn => "总氮",
        Parameter::Cu => "铜",
        Parameter::Zn => "锌",
        Parameter::Fluoride => "氟化物",
        Parameter::Se => "硒",
        Parameter::As => "砷",
        Parameter::Hg => "汞",
        Parameter::Cd => "镉",
        Parameter::Cr6 => "六价铬",
        Parameter::Pb => "铅",
        Parameter::Cyanide => "氰化物",
        Parameter::VolatilePhenol => "挥发酚",
        Parameter::Petroleum => "石油类",
        Parameter::Las => "阴离子表面活性剂",
        Parameter::Sulfide => "硫化物",
        Parameter::FecalColiform => "粪大肠菌群",
        Parameter::WaterTemperature => "水温",
        other => other.name(),
    }
}

fn local(tz: Tz, t: DateTime<Utc>, fmt: &str) -> String {
    t.with_timezone(&tz).format(fmt).to_string()
}

fn aqi_level(level: u8, zh: bool) -> &'static str {
    let zh_names = ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"];
    let en_names = [
        "good",
        "moderate",
        "lightly polluted",
        "moderately polluted",
        "heavily polluted",
        "severely polluted",
    ];
    let i = usize::from(level.clamp(1, 6)) - 1;
    if zh { zh_names[i] } else { en_names[i] }
}

fn fact_lines(out: &mut String, zh: bool, tz: Tz, fact: &Fact) {
    match fact {
        Fact::Water(w) => water_lines(out, zh, tz, w),
        Fact::AirDay(a) => {
            let primary = a
                .primary
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(if zh { "、" } else { ", " });
            let level = aqi_level(a.level, zh);
            let _ = if zh {
                write!(
                    out,
                    "- 城市：{}\n- 日期：{}\n- AQI：**{}**（{level}）\n- 首要污染物：{}\n",
                    a.city,
                    a.day,
                    a.aqi,
                    if primary.is_empty() { "无" } else { &primary }
                )
            } else {
                write!(
                    out,
                    "- City: {}\n- Day: {}\n- AQI: **{}** ({level})\n- Primary pollutant: {}\n",
                    a.city,
                    a.day,
                    a.aqi,
                    if primary.is_empty() { "none" } else { &primary }
                )
            };
        }
        Fact::AirTarget(t) => {
            let _ = if zh {
                write!(
                    out,
                    "- 城市：{}\n- 截至：{}\n- 年内优良天数比例：**{:.1}%**（{}/{} 天）\n- 目标可否达成：{}\n",
                    t.city,
                    t.through,
                    t.ytd_ratio * 100.0,
                    t.good_days,
                    t.valid_days,
                    if t.reachable {
                        "仍可达成"
                    } else {
                        "已无法达成"
                    }
                )
            } else {
                write!(
                    out,
                    "- City: {}\n- Through: {}\n- Year-to-date good-day ratio: **{:.1}%** ({}/{} days)\n- Target still reachable: {}\n",
                    t.city,
                    t.through,
                    t.ytd_ratio * 100.0,
                    t.good_days,
                    t.valid_days,
                    if t.reachable { "yes" } else { "no" }
                )
            };
        }
        Fact::Silence(s) => {
            let last = s
                .last_valid_at
                .map(|t| local(tz, t, "%Y-%m-%d %H:%M"))
                .unwrap_or_else(|| if zh { "从未收到" } else { "never" }.to_string());
            let minutes = s.last_valid_at.map(|t| (s.now - t).num_minutes());
            let _ = if zh {
                write!(
                    out,
                    "- 站点：{}（{}）\n- 最后有效数据：{last}{}\n",
                    s.name,
                    s.site,
                    minutes
                        .map(|m| format!("（已 {m} 分钟）"))
                        .unwrap_or_default()
                )
            } else {
                write!(
                    out,
                    "- Site: {} ({})\n- Last valid reading: {last}{}\n",
                    s.name,
                    s.site,
                    minutes
                        .map(|m| format!(" ({m} min ago)"))
                        .unwrap_or_default()
                )
            };
        }
        Fact::DeadLetters(d) => {
            let _ = if zh {
                write!(
                    out,
                    "- 管道：{}\n- 死信速率：{:.1} 条/分钟\n",
                    d.pipeline, d.per_minute
                )
            } else {
                write!(
                    out,
                    "- Pipeline: {}\n- Dead letters: {:.1} per minute\n",
                    d.pipeline, d.per_minute
                )
            };
            if let Some(r) = &d.example_reason {
                let _ = writeln!(out, "- {}{r}", if zh { "示例原因：" } else { "Example: " });
            }
        }
        Fact::Backlog(b) => {
            let _ = if zh {
                writeln!(out, "- 队列：{}\n- 待发送点数：{}", b.outbox, b.points)
            } else {
                writeln!(
                    out,
                    "- Outbox: {}\n- Points waiting: {}",
                    b.outbox, b.points
                )
            };
        }
        Fact::Test { rule } => {
            let _ = if zh {
                writeln!(
                    out,
                    "- 这是规则 {rule} 的测试消息，收到即说明通道配置正确。"
                )
            } else {
                writeln!(out, "- Test message for rule {rule}: the channel works.")
            };
        }
    }
}

fn water_lines(out: &mut String, zh: bool, tz: Tz, w: &WaterObservation) {
    let when = match w.period {
        ObservedPeriod::Reading => {
            let t = local(tz, w.at, "%Y-%m-%d %H:%M");
            if zh {
                format!("{t}（实时）")
            } else {
                format!("{t} (reading)")
            }
        }
        ObservedPeriod::Day => {
            let t = local(tz, w.at, "%Y-%m-%d");
            if zh {
                format!("{t}（日均值）")
            } else {
                format!("{t} (daily mean)")
            }
        }
    };
    let class = if zh {
        format!("{}类", w.class.label_zh())
    } else {
        format!("class {}", w.class.label())
    };
    let target = if zh {
        format!("{}类", w.target.0.label_zh())
    } else {
        format!("class {}", w.target.0.label())
    };
    let _ = if zh {
        write!(
            out,
            "- 断面：{}（{}）\n- 河流：{}\n- 时段：{when}\n- 水质类别：**{class}**（目标 {target}）\n",
            w.name, w.section, w.river
        )
    } else {
        write!(
            out,
            "- Section: {} ({})\n- River: {}\n- Period: {when}\n- Class: **{class}** (target {target})\n",
            w.name, w.section, w.river
        )
    };
    if w.drinking_source {
        let _ = writeln!(
            out,
            "- {}",
            if zh {
                "饮用水水源地"
            } else {
                "Drinking-water source"
            }
        );
    }
    if !w.items.is_empty() {
        let _ = writeln!(
            out,
            "- {}",
            if zh {
                "定类项目："
            } else {
                "Items setting the class:"
            }
        );
        for item in &w.items {
            let _ = writeln!(out, "  - {}", item_line(item, zh, &target));
        }
    }
}

fn item_line(item: &ItemFinding, zh: bool, target: &str) -> String {
    let p = item.parameter;
    let name = if zh {
        let z = parameter_zh(p);
        if z == p.name() {
            z.to_string()
        } else {
            format!("{z}（{}）", p.name())
        }
    } else {
        p.name().to_string()
    };
    let mut s = format!("{name} {} {}", fmt_value(item.value), p.unit())
        .trim_end()
        .to_string();
    let mv = item.multiple_of_v();
    let mt = item.multiple_of_target();
    if zh {
        if let Some(m) = mv {
            let _ = write!(s, "，超Ⅴ类标准 {m:.2} 倍");
        }
        if let Some(m) = mt {
            let _ = write!(s, "，超目标（{target}）标准 {m:.2} 倍");
        }
        if p == Parameter::Do
            && let Some(l) = item.limit_v
        {
            let _ = write!(s, "（Ⅴ类下限 {} mg/L）", fmt_value(l));
        }
    } else {
        if let Some(m) = mv {
            let _ = write!(s, ", {m:.2}× above the class V limit");
        }
        if let Some(m) = mt {
            let _ = write!(s, ", {m:.2}× above the {target} limit");
        }
        if p == Parameter::Do
            && let Some(l) = item.limit_v
        {
            let _ = write!(s, " (class V minimum {} mg/L)", fmt_value(l));
        }
    }
    s
}

/// Values as measured: up to 3 decimals, trailing zeros dropped.
fn fmt_value(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SiteId;
    use crate::standards::water::{TargetClass, WaterClass};
    use chrono::TimeZone;

    fn obs() -> WaterObservation {
        WaterObservation {
            section: SiteId::new("yh-03"),
            name: "奉口".into(),
            river: "东苕溪".into(),
            period: ObservedPeriod::Reading,
            // 2026-07-01 00:00 UTC = 08:00 in Hangzhou.
            at: Utc
                .with_ymd_and_hms(2026, 7, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            class: WaterClass::InferiorV,
            target: TargetClass(WaterClass::III),
            drinking_source: false,
            // GB 3838 Table 1: NH3-N class V 2.0, class III 1.0 mg/L.
            items: vec![ItemFinding {
                parameter: Parameter::Nh3N,
                value: 3.2,
                limit_v: Some(2.0),
                limit_target: Some(1.0),
            }],
        }
    }

    #[test]
    fn chinese_message_names_section_river_items_and_multiples() {
        let (title, text) = render(
            Language::Zh,
            chrono_tz::Asia::Shanghai,
            RuleKind::WaterInferiorV,
            NotificationKind::Firing,
            Severity::Critical,
            "yh-03",
            &Fact::Water(obs()),
        );
        assert_eq!(title, "【告警】断面水质劣Ⅴ类：奉口");
        for want in [
            "奉口（yh-03）",
            "东苕溪",
            "2026-07-01 08:00",
            "劣Ⅴ类",
            "目标 Ⅲ类",
            "氨氮（NH3-N） 3.2 mg/L",
            "超Ⅴ类标准 0.60 倍",
            "超目标（Ⅲ类）标准 2.20 倍",
            "紧急",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn english_is_available() {
        let (title, text) = render(
            Language::En,
            chrono_tz::Asia::Shanghai,
            RuleKind::WaterInferiorV,
            NotificationKind::Resolved,
            Severity::Critical,
            "yh-03",
            &Fact::Water(obs()),
        );
        assert_eq!(title, "[RESOLVED] Section at inferior class V: 奉口");
        assert!(text.contains("0.60× above the class V limit"), "{text}");
    }
}

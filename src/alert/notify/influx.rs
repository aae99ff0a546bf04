//! The `envwatch_alert` point for Grafana annotations (DESIGN.md Influx schema): tags
//! `rule`, `subject`; fields `state` (firing | repeat | resolved | test), `severity`,
//! `title`, `message`. Produced as a line-protocol string; the publisher owns delivery.

use influxdb_line_protocol::LineProtocolBuilder;

use crate::alert::notification::Notification;

pub const MEASUREMENT: &str = crate::publish::schema::measurement::ENVWATCH_ALERT;

/// The markdown text on one line: batches of line protocol are split at newlines by
/// many tools (and the outbox may store line by line), so none may hide in a field.
fn one_line(text: &str) -> String {
    text.lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('#')
                .trim_start_matches("- ")
                .trim()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line (no trailing newline), nanosecond timestamp = when envwatch decided.
pub fn line(n: &Notification) -> String {
    let ts = n
        .created_at
        .timestamp_nanos_opt()
        .unwrap_or_else(|| n.created_at.timestamp().saturating_mul(1_000_000_000));
    let bytes = LineProtocolBuilder::new()
        .measurement(MEASUREMENT)
        .tag("rule", n.rule.name())
        .tag(
            "subject",
            if n.subject.is_empty() {
                "-"
            } else {
                &n.subject
            },
        )
        .field("state", n.kind.as_str())
        .field("severity", n.severity.as_str())
        .field("title", n.title.as_str())
        .field("message", one_line(&n.text).as_str())
        .timestamp(ts)
        .close_line()
        .build();
    String::from_utf8_lossy(&bytes).trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::config::Severity;
    use crate::alert::notification::NotificationKind;
    use crate::alert::rules::{Fact, RuleKind};
    use influxdb_line_protocol::{FieldValue, parse_lines};

    #[test]
    fn line_parses_back_with_awkward_text() {
        let now = chrono::Utc::now();
        let text = "### 【告警】a, b=\"c\"\n- 氨氮 3.2 mg/L\\";
        let n = Notification {
            id: "x".into(),
            rule: RuleKind::WaterInferiorV,
            subject: "YH 03,=x".into(),
            kind: NotificationKind::Firing,
            severity: Severity::Critical,
            at: now,
            created_at: now,
            title: "t".into(),
            text: text.into(),
            fact: Fact::Test {
                rule: RuleKind::WaterInferiorV,
            },
        };
        let l = line(&n);
        let parsed: Vec<_> = parse_lines(&l).collect();
        assert_eq!(parsed.len(), 1, "{l}");
        assert!(!l.contains('\n'));
        let p = parsed.into_iter().next().and_then(|r| r.ok());
        let p = p.unwrap_or_else(|| panic!("does not parse: {l}"));
        assert_eq!(p.series.measurement.as_str(), MEASUREMENT);
        assert_eq!(p.tag_value("subject").map(|v| v.as_str()), Some("YH 03,=x"));
        assert_eq!(
            p.tag_value("rule").map(|v| v.as_str()),
            Some("water_inferior_v")
        );
        match p.field_value("message") {
            Some(FieldValue::String(s)) => {
                assert_eq!(s.as_str(), "【告警】a, b=\"c\"; 氨氮 3.2 mg/L\\")
            }
            other => panic!("message field: {other:?}"),
        }
        match p.field_value("state") {
            Some(FieldValue::String(s)) => assert_eq!(s.as_str(), "firing"),
            other => panic!("state field: {other:?}"),
        }
        assert_eq!(p.timestamp, now.timestamp_nanos_opt());
    }
}

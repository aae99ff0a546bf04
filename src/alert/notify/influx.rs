//! The `envwatch_alert` point for Grafana annotations (DESIGN.md Influx schema): tags
//! `rule`, `subject`; fields `state` (firing | repeat | resolved | test), `severity`,
//! `title`, `message`. Produced as a line-protocol string; the publisher owns delivery.

use influxdb_line_protocol::LineProtocolBuilder;

use crate::alert::notification::Notification;

pub const MEASUREMENT: &str = "envwatch_alert";

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
        .field("message", n.text.as_str())
        .timestamp(ts)
        .close_line()
        .build();
    String::from_utf8_lossy(&bytes).trim_end().to_string()
}

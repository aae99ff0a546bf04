//! Where raw bytes come from. Each source hands payloads with their origin to a pipeline
//! ([`crate::ingest::PipelineRuntime`]) and sends the result to the store writer; it
//! acknowledges upstream only from the envelope's commit callback.

pub mod mqtt;

/// Whether MQTT topic `topic` matches subscription filter `filter` (MQTT 3.1.1 §4.7),
/// including `$share/<group>/<filter>` shared subscriptions.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let filter = match filter.strip_prefix("$share/") {
        Some(rest) => match rest.split_once('/') {
            Some((_, f)) => f,
            None => return false,
        },
        None => filter,
    };
    // Wildcards do not match topics starting with `$` (§4.7.2).
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn filters() {
        assert!(topic_matches(
            "envwatch/air/+/hj212",
            "envwatch/air/1223A/hj212"
        ));
        assert!(!topic_matches(
            "envwatch/air/+/hj212",
            "envwatch/air/1223A/json"
        ));
        assert!(topic_matches("envwatch/#", "envwatch/air/x"));
        assert!(topic_matches("envwatch/#", "envwatch"));
        assert!(!topic_matches("envwatch/air", "envwatch/air/x"));
        assert!(topic_matches("$share/g/envwatch/+/x", "envwatch/a/x"));
        assert!(!topic_matches("#", "$SYS/broker"));
    }
}

//! Where readings come from: MQTT subscriptions, HTTP polling, files.

pub mod http;

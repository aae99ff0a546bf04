//! `envwatch demo`: the whole system on an embedded default — an embedded MQTT broker, a
//! simulator publishing HJ 212 packets for the configured stations and sections, and the
//! real daemon path (MQTT -> store -> judge -> sink), ending with a summary.

pub mod broker;
pub mod run;
pub mod simulate;

//! Tables and rules from the national standards, as data in one place. Each table cites
//! its source; tests pin every edge. See ../shared/STANDARDS.md.

pub mod air_eval;
pub mod aqi;
pub mod parameter;
pub mod water;

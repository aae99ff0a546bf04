//! Judgement of readings against the national standards (polars for the heavy lifting,
//! `standards/` for the rules).

pub mod air;
pub mod water;

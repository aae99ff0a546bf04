//! Judgement of stored readings against the national standards (polars).

pub mod water;

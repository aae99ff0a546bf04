//! Decoders: raw bytes from a source into [`crate::model::Reading`]s.

pub mod csv;

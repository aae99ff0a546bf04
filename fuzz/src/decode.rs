#[path = "../../src/decode/hj212.rs"]
pub mod hj212;

#[path = "../../src/standards/parameter.rs"]
pub mod parameter;

//! The real HJ 212 decoder source, compiled standalone for fuzzing.
#![allow(dead_code, clippy::all)]

pub mod config {
    //! Shims with the same shape as envwatch's config enums.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum HourLabel {
        #[default]
        Start,
        End,
    }
    pub mod pipeline {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum CrcMode {
            #[default]
            Hj212,
            ModbusSwapped,
            Off,
        }
    }
}

#[path = "../../src/model.rs"]
pub mod model;

pub mod decode;
pub mod standards;

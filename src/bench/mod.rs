//! Built-in benchmarks on generated data (`envwatch bench WHAT`).

pub mod air;
pub mod alert_e2e;
pub mod daemon;
pub mod e2e;
pub mod influx;
pub mod ingest;
pub mod report;
pub mod water;

/// `--name N` from a benchmark's extra arguments, or the default.
pub fn arg_usize(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    use anyhow::Context;
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .with_context(|| format!("{name} needs a value"))?
            .parse()
            .with_context(|| format!("{name} must be a whole number")),
        None => Ok(default),
    }
}

/// xorshift64*: reproducible generated data without depending on an RNG crate's stream.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

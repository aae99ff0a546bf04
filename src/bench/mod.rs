//! Built-in benchmarks on generated data (`envwatch bench WHAT`).

pub mod air;
pub mod alert_e2e;
pub mod cpu;
pub mod daemon;
pub mod e2e;
pub mod influx;
pub mod ingest;
pub mod report;
pub mod store;
pub mod water;

/// The six AQI pollutants, in the order the generated workloads use them.
pub const AQI_PARAMETERS: [crate::standards::parameter::Parameter; 6] = {
    use crate::standards::parameter::Parameter;
    [
        Parameter::Pm25,
        Parameter::Pm10,
        Parameter::So2,
        Parameter::No2,
        Parameter::Co,
        Parameter::O3,
    ]
};

/// A tag unique to this benchmark run (topics, client ids, databases, temp dirs).
pub fn run_tag() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    )
}

/// The runtime the networked benchmarks use: two workers, like the machine's two cores.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Connects once with a clean session as `client_id`, so the broker drops the
/// persistent session (and its queue) a benchmark's daemon left behind.
pub async fn drop_mqtt_session(host: &str, port: u16, client_id: &str) {
    use std::time::Duration;
    let mut mo = rumqttc::MqttOptions::new(client_id, host, port);
    mo.set_clean_session(true);
    let (c, mut el) = rumqttc::AsyncClient::new(mo, 10);
    let _ = tokio::time::timeout(Duration::from_secs(2), el.poll()).await;
    let _ = c.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_millis(500), el.poll()).await;
}

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

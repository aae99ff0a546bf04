//! The command line (clap). Each subcommand's handler lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "envwatch",
    version,
    about = "Air and water quality monitoring daemon: ingest, judge against HJ 633 / GB 3838, publish, alert",
    long_about = "envwatch takes air and water readings from monitoring stations (MQTT, HTTP APIs, files; \
HJ 212-2017 and JSON), keeps them durably, judges them against China's national standards \
(daily AQI per HJ 633, water class per GB 3838-2002) and shows whether the district meets its \
targets: good-air days >= 80%, drinking-water sources 100% compliant, no section at inferior class V."
)]
pub struct Cli {
    /// Log format: auto (human on a terminal, journald under systemd), human, json, journald.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto, env = "ENVWATCH_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log level or filter directive (e.g. `debug`, `envwatch=debug,rumqttc=warn`); RUST_LOG wins.
    #[arg(long, global = true, env = "ENVWATCH_LOG")]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// `--config DIR`, shared by the commands that read a config directory.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// Config directory with envwatch.toml, stations.toml, sections.toml (pipelines in
    /// DIR/pipelines or DIR/../pipelines). Default: ./config, else /etc/envwatch.
    #[arg(long, short = 'c', env = "ENVWATCH_CONFIG")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    pub fn dir(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(crate::config::Config::default_dir)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: every pipeline's source, the store, the judge, the publisher and
    /// alerts, with /metrics and health on the configured loopback address.
    Run(RunArgs),
    /// Run the whole system on an embedded default (embedded MQTT broker, simulated
    /// stations, local file sink): no servers to install. Prints a summary at the end.
    Demo(DemoArgs),
    /// Load and cross-check the whole configuration; print every problem with
    /// file:line:col. Exit status 0 when clean, 1 otherwise.
    CheckConfig(CheckConfigArgs),
    /// Load history from files (CSV, JSON lines, HJ 212 logs) through a pipeline's decode
    /// and validation into the store, with progress and resume.
    Backfill(BackfillArgs),
    /// Write the district environmental quality report (HTML or Markdown, with SVG charts)
    /// for a month (2026-10) or a year (2026) from the local store.
    Report(ReportArgs),
    /// Offline air judgement: daily AQI per station and city, good-day ratio vs target.
    #[command(subcommand)]
    Air(AirCommand),
    /// Offline water judgement: GB 3838-2002 class per section, compliance vs target.
    #[command(subcommand)]
    Water(WaterCommand),
    /// HJ 212-2017 / 2025 packet tools.
    #[command(subcommand)]
    Hj212(Hj212Command),
    /// Alert state and test messages.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Built-in benchmarks (judges on generated data; ingest, Influx, alerts and the daemon
    /// against real servers).
    #[command(after_long_help = BENCH_USAGE)]
    Bench(BenchArgs),
    /// Run only the ingest path (MQTT pipelines -> store) until SIGTERM; for crash tests
    /// and feed debugging. Prints `ready` once subscribed.
    #[command(hide = true)]
    Ingest(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Also write results to this InfluxDB (e.g. http://127.0.0.1:8086); default: a
    /// line-protocol file in the output directory.
    #[arg(long)]
    pub influx: Option<String>,
    /// Simulated days.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Output directory (store, line-protocol file, report). Default: a new temp dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also probe the servers the config names (MQTT broker, InfluxDB).
    #[arg(long)]
    pub probe: bool,
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Pipeline name (file stem in pipelines/) or path to a pipeline file.
    #[arg(long)]
    pub pipeline: String,
    /// Input files.
    #[arg(long, required = true, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// Decode and validate only; print what would be stored.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Zh,
    En,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// A month (2026-10) or a year (2026).
    #[arg(long)]
    pub period: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// How hourly values in an input file are stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HourLabelArg {
    /// HJ 212 convention: 08:00 is the hour 08:00–09:00.
    Start,
    /// CNEMC publication: 08:00 is the hour 07:00–08:00; 00:00 closes the previous day.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EditionArg {
    /// The HJ 633 edition in force on each day of the data (2026 from 2026-03-01).
    Auto,
    #[value(name = "2012")]
    Y2012,
    #[value(name = "2026")]
    Y2026,
}

#[derive(Debug, Args)]
pub struct AirInputArgs {
    /// Long CSV: station,time,parameter,value[,flag] (time RFC 3339 with offset).
    #[arg(long)]
    pub input: PathBuf,
    /// stations.toml (codes, cities, control points).
    #[arg(long, default_value = "config/stations.toml")]
    pub stations: PathBuf,
    /// Time zone of calendar days.
    #[arg(long, default_value = "Asia/Shanghai")]
    pub tz: String,
    #[arg(long, value_enum, default_value_t = HourLabelArg::Start)]
    pub hour_label: HourLabelArg,
    #[arg(long, value_enum, default_value_t = EditionArg::Auto)]
    pub edition: EditionArg,
    /// Abort on the first bad row instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Output CSV (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AirCommand {
    /// Daily AQI per station-day and city-day (24 h means, O3 max 1 h and max 8 h).
    Daily(AirInputArgs),
    /// Good-day ratio per city for each month and year (and --from/--to), vs target.
    Ratio(AirRatioArgs),
}

#[derive(Debug, Args)]
pub struct AirRatioArgs {
    #[command(flatten)]
    pub input: AirInputArgs,
    /// Target share of good days.
    #[arg(long, default_value_t = 0.8)]
    pub target: f64,
    /// Optional period start (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Optional period end (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaterPeriod {
    Reading,
    Day,
    Month,
}

#[derive(Debug, Subcommand)]
pub enum WaterCommand {
    /// Class per section (single-factor, worst item), items that set it, compliance.
    Classify(WaterClassifyArgs),
}

#[derive(Debug, Args)]
pub struct WaterClassifyArgs {
    /// Long CSV: section,time,parameter,value[,flag].
    #[arg(long)]
    pub input: PathBuf,
    /// sections.toml (water body, target class, drinking source).
    #[arg(long, default_value = "config/sections.toml")]
    pub sections: PathBuf,
    #[arg(long, value_enum, default_value_t = WaterPeriod::Reading)]
    pub period: WaterPeriod,
    #[arg(long, default_value = "Asia/Shanghai")]
    pub tz: String,
    /// Class the values rounded per the 2020 statistics rule (formal evaluations) instead
    /// of the raw values (real-time practice); config `water.round_before_classing`.
    #[arg(long)]
    pub round_before_classing: bool,
    /// Output CSV (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Hj212Command {
    /// Decode packets from stdin (one per line) to JSON lines; a bad packet gives a line
    /// with its error, never a crash.
    Decode(Hj212DecodeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrcArg {
    Hj212,
    ModbusSwapped,
    Off,
}

#[derive(Debug, Args)]
pub struct Hj212DecodeArgs {
    /// CRC expected of the packets.
    #[arg(long, value_enum, default_value_t = CrcArg::Hj212)]
    pub crc: CrcArg,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Show the current state of every alert rule and subject.
    List(AlertsListArgs),
    /// Send a test message for RULE through its channels.
    Test(AlertsTestArgs),
}

#[derive(Debug, Args)]
pub struct AlertsListArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct AlertsTestArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    pub rule: String,
}

/// Each benchmark's options (`envwatch bench --help`); what each measures is in README
/// "Benchmarks" and its module doc under src/bench/.
const BENCH_USAGE: &str = "\
Benchmarks and their options:
  air        [--stations 200] [--days 365] [--runs 3] [--pandas benches/air_pandas.py]
  water      [--sections 1000] [--per-day 6] [--days 365] [--runs 3] [--breakdown]
  report     [--stations 10] [--sections 20] [--year 2025]
  store      [--stations 200] [--factors 6] [--history-days 30] [--commits 2000] [--per-commit 5]
  ingest     [--broker HOST:PORT] [--messages 100000] [--factors 6]
  influx     [--url URL] [--points 1000000] [--batch-size 5000] [--gzip] [--rounds 2] [--keep]
  alerts     [--trials 200] [--channel dingtalk|webhook]
  e2e        [--broker HOST:PORT] [--influx URL] [--messages 50000] [--factors 6] [--stations 200]
             [--format hj212|json] [--rate MSG_PER_S] [--commit-idle 3ms] [--judge-interval 60s]
  alert-e2e  [--broker HOST:PORT] [--trials 200] [--judge-interval 60s] [--max-pause 1s] [--channel webhook|dingtalk]
The broker and InfluxDB default to $ENVWATCH_TEST_MQTT and $ENVWATCH_TEST_INFLUX, which
scripts/with-services.sh sets: scripts/with-services.sh target/release/envwatch bench e2e";

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure: air, alerts, alert-e2e, e2e, influx, ingest, report, store, water.
    pub what: String,
    /// Options of that benchmark (listed below).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

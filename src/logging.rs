//! Logging with tracing: human-readable on a terminal, JSON lines with
//! `--log-format json`, and under systemd (journald) plain lines prefixed with the
//! syslog priority (`<3>` error … `<7>` trace) so `journalctl -p` filters by level.

use std::fmt;
use std::io::IsTerminal;

use clap::ValueEnum;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields};
use tracing_subscriber::fmt::{FmtContext, format::Writer};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human on a terminal, journald-style under systemd, human otherwise.
    #[default]
    Auto,
    Human,
    Json,
    Journald,
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive (`info`,
/// `envwatch=debug`); `RUST_LOG` wins when set.
pub fn init(format: LogFormat, level: Option<&str>) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v)?,
        _ => EnvFilter::try_new(level.unwrap_or("info,rumqttd=off"))?,
    };
    let format = match format {
        LogFormat::Auto if std::env::var_os("JOURNAL_STREAM").is_some() => LogFormat::Journald,
        LogFormat::Auto => LogFormat::Human,
        f => f,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Journald => builder
            .with_ansi(false)
            .event_format(JournaldFormat)
            .try_init(),
        _ => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    // A second init (tests calling into the CLI twice) is harmless.
    let _ = result;
    Ok(())
}

/// `<N>target: message fields`: journald stamps time and unit itself.
struct JournaldFormat;

impl<S, N> FormatEvent<S, N> for JournaldFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let prio = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        };
        write!(writer, "<{prio}>{}: ", event.metadata().target())?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

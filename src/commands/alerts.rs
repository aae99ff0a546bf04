//! `envwatch alerts list` (state of every rule and subject, and each channel's queue,
//! from the store named in the config) and `envwatch alerts test RULE` (a test message
//! through the rule's channels, sent directly, each channel's answer printed).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};

use crate::alert::engine::test_notification;
use crate::alert::notify::{Notifier, http_client};
use crate::alert::{outbox, state};
use crate::cli::{AlertsListArgs, AlertsTestArgs};
use crate::config::Config;

fn load(dir: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(dir).map_err(|d| anyhow::anyhow!("{}: config has problems:\n{d}", dir.display()))
}

/// The store file: `[store] path`, relative to the state directory.
fn store_path(cfg: &Config) -> PathBuf {
    let p = &cfg.daemon.store.path;
    if p.is_absolute() {
        p.clone()
    } else {
        cfg.daemon.general.resolved_state_dir().join(p)
    }
}

pub fn list(args: &AlertsListArgs) -> anyhow::Result<ExitCode> {
    let cfg = load(&args.config.dir())?;
    let path = store_path(&cfg);
    if !path.exists() {
        println!(
            "no alert state yet: store {} does not exist",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("open store {}", path.display()))?;
    let has_table: bool = conn
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'alert_state'",
            [],
            |r| r.get(0),
        )
        .with_context(|| format!("read store {}", path.display()))?;
    if !has_table {
        println!("no alert state yet in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let tz = cfg.daemon.general.timezone;
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let states = state::list(&conn)?;
    println!("store: {}", path.display());
    println!(
        "{:<30} {:<20} {:<9} {:<17} {:<17} {:>6}",
        "RULE", "SUBJECT", "STATUS", "SINCE", "LAST PERIOD", "SENT"
    );
    for s in &states {
        println!(
            "{:<30} {:<20} {:<9} {:<17} {:<17} {:>6}",
            s.rule,
            s.subject,
            s.status.as_str(),
            fmt(Some(s.since)),
            fmt(s.last_at),
            s.notifications
        );
    }
    let firing = states
        .iter()
        .filter(|s| s.status == state::Status::Firing)
        .count();
    println!("{} alert(s) tracked, {firing} firing", states.len());
    for q in outbox::summary(&conn)? {
        println!(
            "channel {}: {} waiting, {} given up{}",
            q.channel,
            q.waiting,
            q.failed,
            q.last_error
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn test(args: &AlertsTestArgs) -> anyhow::Result<ExitCode> {
    let cfg = load(&args.config.dir())?;
    let Some(alerts) = &cfg.daemon.alerts else {
        bail!(
            "no [alerts] section in {}/envwatch.toml",
            args.config.dir().display()
        );
    };
    let (n, channels) = test_notification(alerts, cfg.daemon.general.timezone, &args.rule)?;
    if channels.is_empty() {
        bail!("rule {} has no channels", args.rule);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = http_client();
    let mut failures = 0;
    rt.block_on(async {
        for name in &channels {
            let Some(ch) = alerts.channels.get(name) else {
                println!("channel {name}: not defined");
                failures += 1;
                continue;
            };
            if !ch.settings().enabled {
                println!("channel {name} ({}): skipped, disabled", ch.kind());
                continue;
            }
            let result = match Notifier::build(name, ch, &http) {
                Ok(notifier) => {
                    let limit = ch.settings().timeout + Duration::from_secs(1);
                    match tokio::time::timeout(limit, notifier.send(&n)).await {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(_) => Err(format!("no answer within {limit:?}")),
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(()) => println!("channel {name} ({}): OK", ch.kind()),
                Err(e) => {
                    failures += 1;
                    println!("channel {name} ({}): FAILED: {e}", ch.kind());
                }
            }
        }
    });
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

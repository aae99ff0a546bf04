//! `check-config` reports mistakes in `[alerts]` with file:line:col, and the shipped
//! config passes with the channels' secret variables unset (its robots are disabled).

use std::path::Path;
use std::process::Command;

fn envwatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_envwatch"));
    for v in [
        "ENVWATCH_DINGTALK_TOKEN",
        "ENVWATCH_DINGTALK_SECRET",
        "ENVWATCH_WECOM_KEY",
        "ENVWATCH_WEBHOOK_SECRET",
    ] {
        c.env_remove(v);
    }
    c
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_config(dir: &Path) {
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    for f in ["envwatch.toml", "stations.toml", "sections.toml"] {
        std::fs::copy(repo().join("config").join(f), dir.join(f)).unwrap();
    }
    for e in std::fs::read_dir(repo().join("pipelines")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("pipelines").join(p.file_name().unwrap())).unwrap();
    }
}

/// Replaces the first `from` after `after` in `file`; returns the 1-based line of the
/// replacement and the column where `at` starts inside it.
fn plant(file: &Path, after: &str, from: &str, to: &str, at: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(file).unwrap();
    let base = text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not in file"));
    let pos = base
        + text[base..]
            .find(from)
            .unwrap_or_else(|| panic!("{from:?} not after {after:?}"));
    let new = format!("{}{to}{}", &text[..pos], &text[pos + from.len()..]);
    let target = pos
        + to.find(at)
            .unwrap_or_else(|| panic!("{at:?} not in {to:?}"));
    let before = &new[..target];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
    std::fs::write(file, new).unwrap();
    (line, col)
}

#[test]
fn shipped_alerts_pass_without_secrets() {
    let out = envwatch()
        .args(["check-config", "--config"])
        .arg(repo().join("config"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
}

fn check(dir: &Path) -> String {
    let out = envwatch()
        .args(["check-config", "--config"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has(stdout: &str, file: &Path, line: usize, col: Option<usize>, words: &[&str]) -> bool {
    let file = file.display().to_string();
    stdout.lines().any(|l| {
        let prefix = match col {
            Some(c) => format!("{file}:{line}:{c}: "),
            None => format!("{file}:{line}:"),
        };
        l.starts_with(&prefix) && words.iter().all(|w| l.contains(w))
    })
}

/// Mistakes serde cannot see (a dangling channel name, a missing secret of an enabled
/// channel) are all reported at once, each at its key.
#[test]
fn alert_reference_mistakes_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_config(dir);
    let f = dir.join("envwatch.toml");
    // 1. a rule names a channel that does not exist -> at the rule's `channels` value
    let (l1, c1) = plant(
        &f,
        "[alerts.rules.station_silent]",
        "channels = [\"ops_webhook\"",
        "channels = [\"ops_webhok\"",
        "[",
    );
    // 2. enabling the DingTalk robot without its secrets set -> at each secret's value
    let (l2, _) = plant(
        &f,
        "[alerts.channels.duty_dingtalk]",
        "enabled = false",
        "enabled = true",
        "enabled",
    );
    let stdout = check(dir);
    assert!(
        has(&stdout, &f, l1, Some(c1), &["station_silent", "ops_webhok"]),
        "1 at {l1}:{c1}:\n{stdout}"
    );
    // access_token and secret are the two lines below `enabled`.
    assert!(
        has(
            &stdout,
            &f,
            l2 + 1,
            None,
            &["duty_dingtalk", "ENVWATCH_DINGTALK_TOKEN"]
        ),
        "2a at {}:\n{stdout}",
        l2 + 1
    );
    assert!(
        has(
            &stdout,
            &f,
            l2 + 2,
            None,
            &["duty_dingtalk", "ENVWATCH_DINGTALK_SECRET"]
        ),
        "2b at {}:\n{stdout}",
        l2 + 2
    );
}

/// A typo in a rule's key is refused (deny_unknown_fields) at the key, listing the
/// rule's valid keys.
#[test]
fn alert_key_typo_is_located() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_config(dir);
    let f = dir.join("envwatch.toml");
    let (l, c) = plant(
        &f,
        "[alerts.rules.air_polluted_day]",
        "aqi_above",
        "aqi_abve",
        "aqi_abve",
    );
    let stdout = check(dir);
    assert!(
        has(
            &stdout,
            &f,
            l,
            Some(c),
            &["unknown field `aqi_abve`", "aqi_above"]
        ),
        "at {l}:{c}:\n{stdout}"
    );
}

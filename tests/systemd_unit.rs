//! deploy/systemd/envwatch.service: systemd itself checks it (`systemd-analyze verify`
//! must print nothing), its hardening is scored (`systemd-analyze security`, exposure
//! <= 2.0), and its command lines are ones our CLI accepts.
//!
//! `verify` requires ExecStart's binary to exist, so it runs on a copy of the unit whose
//! ExecStart is the envwatch binary cargo built for this test (same arguments). Needs
//! `systemd-analyze` (Debian package `systemd`; scripts/test.sh installs it) and FAILS
//! without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;

const MAX_EXPOSURE: f64 = 2.0;
const INSTALLED_EXEC: &str = "/usr/bin/envwatch";

fn unit_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd/envwatch.service")
}

fn unit_text() -> String {
    std::fs::read_to_string(unit_path()).expect("read deploy/systemd/envwatch.service")
}

/// Every `Key=value` of the unit, in order (keys repeat: LoadCredential, SystemCallFilter).
fn directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn values<'a>(d: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    d.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn one<'a>(d: &'a [(String, String)], key: &str) -> &'a str {
    match values(d, key).as_slice() {
        [v] => v,
        other => panic!("{key}= should appear exactly once, found {other:?}"),
    }
}

/// A copy of the unit in a temp dir, ExecStart pointing at the test-built binary.
fn unit_copy_for_verify() -> (tempfile::TempDir, PathBuf) {
    let built = env!("CARGO_BIN_EXE_envwatch");
    let text = unit_text();
    assert!(
        text.contains(&format!("ExecStart={INSTALLED_EXEC} ")),
        "ExecStart must run {INSTALLED_EXEC}"
    );
    let copy = text.replace(
        &format!("ExecStart={INSTALLED_EXEC} "),
        &format!("ExecStart={built} "),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("envwatch.service");
    std::fs::write(&path, copy).unwrap();
    (dir, path)
}

fn systemd_analyze(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run systemd-analyze ({e}): install the Debian package `systemd` \
                 (scripts/test.sh does)"
            )
        });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unit_declares_notify_watchdog_reload_user_dirs_and_credentials() {
    let d = directives(&unit_text());
    assert_eq!(one(&d, "Type"), "notify");
    assert_eq!(one(&d, "NotifyAccess"), "main");
    assert!(!one(&d, "WatchdogSec").is_empty());
    assert_eq!(
        one(&d, "ExecStart"),
        "/usr/bin/envwatch run --config /etc/envwatch"
    );
    assert_eq!(one(&d, "ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one(&d, "Restart"), "on-failure");
    assert_eq!(one(&d, "User"), "envwatch");
    assert_eq!(one(&d, "Group"), "envwatch");
    assert_eq!(one(&d, "StateDirectory"), "envwatch");
    assert_eq!(one(&d, "ConfigurationDirectory"), "envwatch");
    let creds = values(&d, "LoadCredential");
    for name in ["influx-password", "mqtt-password", "dingtalk-secret"] {
        assert!(
            creds.contains(&name),
            "LoadCredential={name} missing: {creds:?}"
        );
    }
    // Bare names: searched in /etc/credstore, and a missing one does not stop the start.
    assert!(creds.iter().all(|c| !c.contains(':')), "{creds:?}");
    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("SystemCallArchitectures", "native"),
        ("CapabilityBoundingSet", ""),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("ProtectClock", "yes"),
        ("ProtectHostname", "yes"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("UMask", "0077"),
        ("IPAddressDeny", "any"),
    ] {
        assert_eq!(one(&d, key), want, "{key}=");
    }
    assert!(values(&d, "SystemCallFilter").contains(&"@system-service"));
}

#[test]
fn unit_command_line_is_one_envwatch_accepts() {
    let d = directives(&unit_text());
    let argv: Vec<&str> = one(&d, "ExecStart").split_whitespace().collect();
    let cli = envwatch::cli::Cli::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("ExecStart {argv:?} is rejected by the CLI: {e}"));
    match cli.command {
        envwatch::cli::Command::Run(args) => {
            assert_eq!(args.config.dir(), PathBuf::from("/etc/envwatch"))
        }
        other => panic!("ExecStart must run `envwatch run`, got {other:?}"),
    }
}

#[test]
fn systemd_analyze_verify_prints_no_warning() {
    let (_dir, path) = unit_copy_for_verify();
    let (ok, stdout, stderr) = systemd_analyze(&["verify", path.to_str().unwrap()]);
    assert!(
        ok && stdout.trim().is_empty() && stderr.trim().is_empty(),
        "systemd-analyze verify complained (exit ok: {ok}):\n{stdout}{stderr}"
    );
}

#[test]
fn systemd_analyze_verify_does_catch_a_missing_binary() {
    // The check above can fail: a unit whose ExecStart does not exist is reported.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("envwatch.service");
    let broken = unit_text().replace(
        &format!("ExecStart={INSTALLED_EXEC} "),
        "ExecStart=/nonexistent/envwatch ",
    );
    std::fs::write(&path, broken).unwrap();
    let (ok, stdout, stderr) = systemd_analyze(&["verify", path.to_str().unwrap()]);
    assert!(!ok, "verify accepted a missing ExecStart binary");
    assert!(
        format!("{stdout}{stderr}").contains("/nonexistent/envwatch"),
        "{stdout}{stderr}"
    );
}

#[test]
fn systemd_analyze_security_exposure_is_at_most_2() {
    let (_dir, path) = unit_copy_for_verify();
    let (_ok, stdout, stderr) =
        systemd_analyze(&["security", "--offline=true", path.to_str().unwrap()]);
    // "→ Overall exposure level for envwatch.service: 1.1 OK 🙂"
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level for envwatch.service:"))
        .unwrap_or_else(|| panic!("no exposure line in:\n{stdout}{stderr}"));
    let rating: f64 = line
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse the rating from {line:?}"));
    println!("systemd-analyze security: {}", line.trim());
    assert!(
        rating <= MAX_EXPOSURE,
        "exposure {rating} > {MAX_EXPOSURE}:\n{stdout}"
    );
}

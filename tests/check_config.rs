//! `envwatch check-config` on the shipped config and on a config with planted mistakes.

use std::path::Path;
use std::process::Command;

fn envwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_envwatch"))
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn shipped_config_is_clean() {
    let out = envwatch()
        .args(["check-config", "--config"])
        .arg(repo().join("config"))
        .output()
        .expect("run envwatch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "check-config failed:\n{stdout}");
    assert!(stdout.contains("11 stations"), "{stdout}");
}

/// Copies the shipped config and pipelines into a temp dir.
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

/// Replaces the first occurrence of `from` in `file`, failing if it is absent (so the
/// test notices when the shipped files change under it).
fn plant(file: &Path, from: &str, to: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(file).unwrap();
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} not in {}", file.display()));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
    (line, col)
}

#[test]
fn five_planted_mistakes_give_five_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_config(dir);
    // 1. target class out of range -> points at the value
    let (l1, c1) = plant(
        &dir.join("sections.toml"),
        "target = \"IV\"",
        "target = \"VII\"",
    );
    // 2. duplicate station code -> points at the second code's value
    let (l2, c2) = plant(
        &dir.join("stations.toml"),
        "code = \"1224A\"",
        "code = \"1223A\"",
    );
    // 3. a topic filter with `#` in the middle
    let (l3, _) = plant(
        &dir.join("pipelines/air-hj212-mqtt.toml"),
        "topics = [\"envwatch/air/+/hj212\"]",
        "topics = [\"envwatch/#/hj212\"]",
    );
    // 4. an unknown time zone
    let (l4, c4) = plant(
        &dir.join("envwatch.toml"),
        "timezone = \"Asia/Shanghai\"",
        "timezone = \"Asia/Shanghia\"",
    );
    // 5. a pipeline mapping a feed id to an unknown station
    std::fs::write(
        dir.join("pipelines/water-hj212-mqtt.toml"),
        std::fs::read_to_string(dir.join("pipelines/water-hj212-mqtt.toml")).unwrap()
            + "\n[sites]\n\"MN-X\" = \"NOPE\"\n",
    )
    .unwrap();

    let out = envwatch()
        .args(["check-config", "--config"])
        .arg(dir)
        .output()
        .expect("run envwatch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let errors: Vec<&str> = stdout.lines().filter(|l| l.contains(".toml:")).collect();
    assert_eq!(errors.len(), 5, "expected 5 errors, got:\n{stdout}");
    let find = |needle: &str| {
        errors
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no error mentioning {needle:?} in:\n{stdout}"))
            .to_string()
    };
    let e1 = find("target class \"VII\" is not one of I, II, III, IV, V");
    // the value starts after `target = `
    assert!(
        e1.contains(&format!("sections.toml:{l1}:{}:", c1 + 9)),
        "{e1}"
    );
    assert!(e1.contains("section \"YH-06\""), "{e1}");
    let e2 = find("duplicate id");
    assert!(
        e2.contains(&format!("stations.toml:{l2}:{}:", c2 + 7)),
        "{e2}"
    );
    let e3 = find("envwatch/#/hj212");
    assert!(e3.contains(&format!("air-hj212-mqtt.toml:{l3}:")), "{e3}");
    let e4 = find("Asia/Shanghia");
    assert!(
        e4.contains(&format!("envwatch.toml:{l4}:{}:", c4 + 11)),
        "{e4}"
    );
    let e5 = find("unknown station/section \"NOPE\"");
    assert!(e5.contains("water-hj212-mqtt.toml:"), "{e5}");
}

#[test]
fn syntax_error_and_inline_secret_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_config(dir);
    plant(
        &dir.join("envwatch.toml"),
        "# password = \"env:ENVWATCH_MQTT_PASSWORD\"",
        "password = \"hunter2\"",
    );
    plant(
        &dir.join("stations.toml"),
        "name = \"西溪\"",
        "name = \"西溪",
    );
    let out = envwatch()
        .args(["check-config", "--config"])
        .arg(dir)
        .output()
        .expect("run envwatch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("hunter2"), "secret leaked: {stdout}");
    assert!(
        stdout.contains("envwatch.toml:") && stdout.contains("not inline values"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stations.toml:") && stdout.contains("TOML syntax"),
        "{stdout}"
    );
}

#[test]
fn air_validity_rules_come_from_envwatch_toml() {
    let dir = tempfile::tempdir().unwrap();
    copy_config(dir.path());
    plant(
        &dir.path().join("envwatch.toml"),
        "min_hours_daily_mean = 20",
        "min_hours_daily_mean = 18",
    );
    let config = envwatch::config::Config::load(dir.path()).unwrap_or_else(|d| panic!("{d}"));
    let rules = config.daemon.air.validity;
    assert_eq!(rules.min_hours_daily_mean, 18);
    // The others keep GB 3095 Table 4 / HJ 663 values.
    assert_eq!(
        (rules.min_hours_o3_8h_window, rules.min_o3_8h_windows),
        (6, 14)
    );
}

/// `[decode] period` belongs to JSON/CSV feeds: on an hj212 pipeline (whose packets carry
/// the period in CN) check-config names the file, line and column of the key's value.
#[test]
fn period_on_an_hj212_pipeline_is_refused_with_its_position() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_config(dir);
    let f = dir.join("pipelines/air-hj212-mqtt.toml");
    let text = std::fs::read_to_string(&f).unwrap();
    let (before, after) = text.split_once("[decode]\n").expect("a [decode] section");
    std::fs::write(
        &f,
        format!("{before}[decode]\nperiod = \"minute\"\n{after}"),
    )
    .unwrap();
    let line = before.lines().count() + 2;
    let out = envwatch()
        .args(["check-config", "--config"])
        .arg(dir)
        .output()
        .expect("run envwatch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("air-hj212-mqtt.toml:{line}:10:"))
            && stdout.contains("HJ 212 packets carry their period in CN"),
        "{stdout}"
    );
}

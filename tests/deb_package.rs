//! The Debian package: its cargo-deb metadata and maintainer scripts are always checked
//! statically; the built .deb is inspected with `dpkg-deb -I` / `-c` / `-e` / `-x`, and its
//! binary run.
//!
//! scripts/test.sh (and so CI) builds the package first (scripts/build-deb.sh, a release
//! build) and passes it in `ENVWATCH_TEST_DEB_FILE`. Without it the test builds the package
//! itself with `ENVWATCH_TEST_DEB=1`, fails in CI (`CI` set), and otherwise skips saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn deb_metadata() -> toml::Table {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).expect("Cargo.toml parses");
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb] in Cargo.toml")
        .clone()
}

fn strings(v: &toml::Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// (source, destination dir, mode) of each asset.
fn assets(meta: &toml::Table) -> Vec<(String, String, String)> {
    meta["assets"]
        .as_array()
        .expect("assets array")
        .iter()
        .map(|a| {
            let v = strings(a);
            assert_eq!(v.len(), 3, "asset {v:?} must be [source, dest, mode]");
            (v[0].clone(), v[1].clone(), v[2].clone())
        })
        .collect()
}

/// The files every installed envwatch needs, by absolute path in the package.
const CONFIG_FILES: &[&str] = &[
    "/etc/envwatch/envwatch.toml",
    "/etc/envwatch/stations.toml",
    "/etc/envwatch/sections.toml",
    "/etc/envwatch/pipelines/air-hj212-mqtt.toml",
    "/etc/envwatch/pipelines/water-hj212-mqtt.toml",
];

#[test]
fn cargo_deb_metadata_installs_binary_config_unit_and_docs() {
    let meta = deb_metadata();
    let assets = assets(&meta);
    assert!(
        assets.contains(&(
            "target/release/envwatch".into(),
            "usr/bin/".into(),
            "755".into()
        )),
        "binary asset: {assets:?}"
    );
    // Every non-built source exists (globs: at least one match), so cargo-deb will not
    // fail half-way through a release build.
    for (src, _, _) in &assets {
        if src.starts_with("target/") {
            continue;
        }
        if let Some(dir) = src.strip_suffix("/*.toml") {
            let n = std::fs::read_dir(root().join(dir))
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .map(|e| e.path().extension().is_some_and(|x| x == "toml"))
                        .unwrap_or(false)
                })
                .count();
            assert!(n > 0, "{src} matches nothing");
        } else {
            assert!(root().join(src).is_file(), "asset source {src} is missing");
        }
    }
    // Each config file shipped is a conffile (dpkg keeps the operator's edits), and
    // every conffile is shipped.
    let conf = strings(&meta["conf-files"]);
    for f in CONFIG_FILES {
        assert!(conf.contains(&f.to_string()), "{f} not in conf-files");
        let name = Path::new(f).file_name().unwrap().to_str().unwrap();
        let dest_dir = Path::new(f).parent().unwrap().to_str().unwrap();
        assert!(
            assets.iter().any(|(src, dest, _)| {
                format!("/{}", dest.trim_end_matches('/')) == dest_dir
                    && (src.ends_with(name) || src.ends_with("*.toml"))
            }),
            "{f} is a conffile but no asset installs it"
        );
        if !src_is_glob_installed(f) {
            panic!("{f}: no such file in the source tree");
        }
    }
    let units = meta["systemd-units"]
        .as_table()
        .expect("systemd-units table");
    assert_eq!(units["unit-name"].as_str(), Some("envwatch"));
    let unit_dir = units["unit-scripts"].as_str().unwrap();
    assert!(root().join(unit_dir).join("envwatch.service").is_file());
    assert_eq!(units["enable"].as_bool(), Some(true));
    let depends = meta["depends"].as_str().unwrap();
    assert!(
        depends.contains("adduser"),
        "postinst uses adduser: {depends}"
    );
    assert_eq!(meta["maintainer-scripts"].as_str(), Some("deploy/debian/"));
    // The daemon without the demo's embedded broker, and its debug info split off into a
    // -dbgsym package (the release profile keeps line tables: unstripped, the binary is
    // hundreds of MB).
    assert_eq!(meta["default-features"].as_bool(), Some(false));
    assert!(
        !meta
            .get("features")
            .map(strings)
            .unwrap_or_default()
            .contains(&"demo".to_string())
    );
    assert_eq!(meta["dbgsym"].as_bool(), Some(true));
}

/// The source file a conffile comes from exists (config/ or pipelines/).
fn src_is_glob_installed(conffile: &str) -> bool {
    let name = Path::new(conffile).file_name().unwrap();
    if conffile.contains("/pipelines/") {
        root().join("pipelines").join(name).is_file()
    } else {
        root().join("config").join(name).is_file()
    }
}

#[test]
fn maintainer_scripts_are_valid_sh_create_the_user_and_keep_the_debhelper_token() {
    let dir = root().join("deploy/debian");
    let postinst = std::fs::read_to_string(dir.join("postinst")).expect("deploy/debian/postinst");
    assert!(postinst.starts_with("#!/bin/sh\n"));
    assert!(
        postinst.contains("adduser --system"),
        "creates a system user"
    );
    assert!(postinst.contains("--ingroup envwatch"));
    assert!(postinst.contains("--shell /usr/sbin/nologin"));
    assert!(
        postinst.contains("getent passwd envwatch"),
        "idempotent on upgrade"
    );
    for script in ["postinst", "postrm"] {
        let path = dir.join(script);
        let text = std::fs::read_to_string(&path).unwrap();
        // cargo-deb inserts the systemd enable/stop snippets at this token.
        assert!(text.contains("#DEBHELPER#"), "{script} lacks #DEBHELPER#");
        assert!(text.contains("set -e"), "{script} must stop on errors");
        let status = Command::new("sh").arg("-n").arg(&path).status().unwrap();
        assert!(status.success(), "{script} is not valid sh");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{script} must be executable");
    }
}

fn dpkg_deb(args: &[&str]) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .output()
        .expect("run dpkg-deb");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The package to inspect: the one scripts/test.sh built, or one built here.
fn built_deb() -> Option<PathBuf> {
    if let Some(deb) = std::env::var_os("ENVWATCH_TEST_DEB_FILE").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(deb));
    }
    if std::env::var("ENVWATCH_TEST_DEB").as_deref() == Ok("1") {
        let out = Command::new(root().join("scripts/build-deb.sh"))
            .current_dir(root())
            .output()
            .expect("run scripts/build-deb.sh");
        assert!(
            out.status.success(),
            "build-deb.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        return Some(PathBuf::from(
            stdout.lines().last().expect("the .deb path").trim(),
        ));
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "CI must build and check the .deb: run scripts/test.sh, which builds it and sets \
         ENVWATCH_TEST_DEB_FILE"
    );
    println!(
        "SKIPPED the built .deb check: scripts/test.sh builds the package and sets \
         ENVWATCH_TEST_DEB_FILE (or set ENVWATCH_TEST_DEB=1 to build it here). The metadata \
         and maintainer scripts were checked statically."
    );
    None
}

/// Section names of an ELF file (`readelf` from binutils, which dpkg-dev needs anyway).
fn elf_sections(path: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .args(["--section-headers", "--wide"])
        .arg(path)
        .output()
        .expect("run readelf (binutils)");
    assert!(out.status.success(), "readelf {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.trim_start().strip_prefix('[')?.split_once(']')?;
            rest.split_whitespace().next().map(String::from)
        })
        .collect()
}

/// The GNU build id of an ELF file, as hex.
fn build_id(path: &Path) -> String {
    let out = Command::new("readelf")
        .args(["--notes"])
        .arg(path)
        .output()
        .expect("run readelf (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .unwrap_or_else(|| panic!("no GNU build id in {}:\n{text}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn built_deb_contains_what_the_service_needs() {
    let Some(deb) = built_deb() else { return };
    let deb = deb.to_str().expect("a UTF-8 path").to_string();
    assert!(deb.ends_with(".deb") && Path::new(&deb).is_file(), "{deb}");
    let size = std::fs::metadata(&deb).unwrap().len();
    println!("package: {deb} ({size} bytes)");

    let info = dpkg_deb(&["-I", &deb]);
    println!("{info}");
    assert!(info.contains(" Package: envwatch\n"), "{info}");
    assert!(info.contains(" Architecture: "), "{info}");
    let depends = info
        .lines()
        .find(|l| l.trim_start().starts_with("Depends:"))
        .unwrap_or_else(|| panic!("no Depends in {info}"));
    assert!(
        depends.contains("adduser") && depends.contains("libc6"),
        "{depends}"
    );

    let contents = dpkg_deb(&["-c", &deb]);
    println!("{contents}");
    let has = |path: &str| {
        contents
            .lines()
            .any(|l| l.ends_with(&format!(" .{path}")) || l.ends_with(&format!(" .{path} ")))
    };
    assert!(has("/usr/bin/envwatch"), "binary missing:\n{contents}");
    assert!(
        has("/lib/systemd/system/envwatch.service")
            || has("/usr/lib/systemd/system/envwatch.service"),
        "unit missing:\n{contents}"
    );
    assert!(has("/usr/share/doc/envwatch/operations.md"));
    for f in CONFIG_FILES {
        assert!(has(f), "{f} missing:\n{contents}");
    }
    let binary_line = contents
        .lines()
        .find(|l| l.ends_with(" ./usr/bin/envwatch"))
        .unwrap();
    // owned by root (cargo-deb writes the numeric 0/0)
    assert!(
        binary_line.starts_with("-rwxr-xr-x root/root")
            || binary_line.starts_with("-rwxr-xr-x 0/0 "),
        "{binary_line}"
    );

    // Control files: conffiles lists the config, postinst creates the user and
    // enables the unit (cargo-deb's snippet at #DEBHELPER#).
    let ctrl = tempfile::tempdir().unwrap();
    dpkg_deb(&["-e", &deb, ctrl.path().to_str().unwrap()]);
    let conffiles = std::fs::read_to_string(ctrl.path().join("conffiles")).unwrap();
    for f in CONFIG_FILES {
        assert!(
            conffiles.lines().any(|l| l == *f),
            "{f} not a conffile:\n{conffiles}"
        );
    }
    let postinst = std::fs::read_to_string(ctrl.path().join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system"));
    assert!(!postinst.contains("#DEBHELPER#"), "token must be replaced");
    assert!(
        postinst.contains("envwatch.service"),
        "unit enable snippet:\n{postinst}"
    );

    // The unit inside the package is ours, byte for byte.
    let data = tempfile::tempdir().unwrap();
    dpkg_deb(&["-x", &deb, data.path().to_str().unwrap()]);
    let packaged = ["lib/systemd/system", "usr/lib/systemd/system"]
        .iter()
        .map(|d| data.path().join(d).join("envwatch.service"))
        .find(|p| p.is_file())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(packaged).unwrap(),
        std::fs::read_to_string(root().join("deploy/systemd/envwatch.service")).unwrap()
    );

    // The binary carries no debug info: it is split off into the -dbgsym package built
    // beside it, whose file is named by the binary's build id (GNU debuglink layout).
    let binary = data.path().join("usr/bin/envwatch");
    let sections = elf_sections(&binary);
    assert!(sections.iter().any(|s| s == ".text"), "{sections:?}");
    let debug: Vec<&String> = sections
        .iter()
        // DWARF sections; `.debug_gdb_scripts` is rustc's pointer to gdb helpers, loaded
        // with the program (a few bytes), not debug info.
        .filter(|s| {
            (s.starts_with(".debug") || s.starts_with(".zdebug")) && *s != ".debug_gdb_scripts"
        })
        .collect();
    assert!(
        debug.is_empty(),
        "packaged binary has debug info: {debug:?}"
    );
    let installed_kib: u64 = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Installed-Size:"))
        .expect("Installed-Size")
        .trim()
        .parse()
        .unwrap();
    let binary_bytes = std::fs::metadata(&binary).unwrap().len();
    println!(
        "installed size {:.1} MiB, binary {:.1} MiB",
        installed_kib as f64 / 1024.0,
        binary_bytes as f64 / 1_048_576.0
    );
    let id = build_id(&binary);
    let dbgsym = std::fs::read_dir(Path::new(&deb).parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("envwatch-dbgsym_") && name.ends_with(".ddeb")
        })
        .expect("envwatch-dbgsym_*.ddeb next to the package");
    let debug_files = dpkg_deb(&["-c", dbgsym.to_str().unwrap()]);
    let debug_file = format!("./usr/lib/debug/.build-id/{}/{}.debug", &id[..2], &id[2..]);
    assert!(
        debug_files.lines().any(|l| l.ends_with(&debug_file)),
        "{debug_file} not in {}:\n{debug_files}",
        dbgsym.display()
    );

    // The packaged binary runs, accepts the packaged config, and has no demo.
    let check = Command::new(&binary)
        .args(["check-config", "--config"])
        .arg(data.path().join("etc/envwatch"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "check-config of the packaged config: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let demo = Command::new(&binary).arg("demo").output().unwrap();
    let said = String::from_utf8_lossy(&demo.stderr);
    assert!(!demo.status.success(), "the packaged binary has no demo");
    assert!(
        said.contains("not in this build") && said.contains("cargo run --release -- demo"),
        "{said}"
    );
}

//! Configuration: the files a user edits, typed with serde, with every problem reported
//! at once as `file:line:col: message` (see [`Diagnostics`]).
//!
//! Layout of a config directory (`--config DIR`, default `./config`, then `/etc/envwatch`):
//! `envwatch.toml`, `stations.toml`, `sections.toml`, and the feeds in `pipelines/*.toml`
//! (looked up as `DIR/pipelines`, else `DIR/../pipelines`, or `general.pipelines_dir`).

pub mod daemon;
pub mod diagnostic;
pub mod pipeline;
pub mod secret;
pub mod sites;
mod toml_file;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub use daemon::{DaemonConfig, HourLabel};
pub use diagnostic::{Diagnostic, Diagnostics, SourceFile};
pub use pipeline::Pipeline;
pub use secret::{Secret, SecretRef};
pub use sites::{Section, Station};

use crate::model::SiteId;
use crate::standards::water::WaterClass;
use toml_file::Document;

/// Everything `envwatch run` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub daemon: DaemonConfig,
    pub stations: Vec<Station>,
    pub sections: Vec<Section>,
    pub pipelines: Vec<Pipeline>,
    /// HJ 212 MN -> site, from stations and sections.
    pub mn_index: HashMap<String, SiteId>,
}

/// A site known to the config: an air station or a water section.
#[derive(Debug, Clone, Copy)]
pub enum Site<'a> {
    Station(&'a Station),
    Section(&'a Section),
}

impl Config {
    /// The directory used when `--config` is not given.
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("ENVWATCH_CONFIG") {
            return PathBuf::from(d);
        }
        let local = PathBuf::from("config");
        if local.join("envwatch.toml").exists() {
            local
        } else {
            PathBuf::from("/etc/envwatch")
        }
    }

    /// Loads and cross-checks a config directory. On failure, every problem found.
    pub fn load(dir: &Path) -> Result<Config, Diagnostics> {
        let mut diags = Diagnostics::default();
        let daemon = load_daemon(&dir.join("envwatch.toml"), &mut diags);
        let stations = load_list::<Station>(
            &dir.join("stations.toml"),
            "station",
            "station",
            "code",
            &mut diags,
        );
        let sections = load_list::<Section>(
            &dir.join("sections.toml"),
            "section",
            "section",
            "id",
            &mut diags,
        );
        let pipelines_dir = match daemon.as_ref().and_then(|d| d.0.pipelines_dir.clone()) {
            Some(p) if p.is_absolute() => p,
            Some(p) => dir.join(p),
            None if dir.join("pipelines").is_dir() => dir.join("pipelines"),
            None => dir.join("..").join("pipelines"),
        };
        let pipelines = load_pipelines(&pipelines_dir, &mut diags);

        let (daemon, daemon_file) = match daemon {
            Some((d, f)) => (d.config, Some(f)),
            None => (DaemonConfig::default(), None),
        };
        let mn_index = cross_check(
            &daemon,
            daemon_file.as_ref(),
            &stations,
            &sections,
            &pipelines,
            &mut diags,
        );
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Config {
            dir: dir.to_path_buf(),
            daemon,
            stations: stations
                .into_iter()
                .flat_map(|(_, v)| v)
                .map(|e| e.0)
                .collect(),
            sections: sections
                .into_iter()
                .flat_map(|(_, v)| v)
                .map(|e| e.0)
                .collect(),
            pipelines: pipelines.into_iter().map(|p| p.pipeline).collect(),
            mn_index,
        })
    }

    /// The store file: `store.path`, relative to the state directory.
    pub fn store_path(&self) -> PathBuf {
        let p = &self.daemon.store.path;
        if p.is_absolute() {
            p.clone()
        } else {
            self.daemon.general.resolved_state_dir().join(p)
        }
    }

    pub fn station(&self, code: &str) -> Option<&Station> {
        self.stations.iter().find(|s| s.code.as_str() == code)
    }

    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id.as_str() == id)
    }

    pub fn site(&self, id: &str) -> Option<Site<'_>> {
        self.station(id)
            .map(Site::Station)
            .or_else(|| self.section(id).map(Site::Section))
    }
}

/// Loads only a stations file (for offline commands like `air daily --stations F`).
pub fn load_stations(path: &Path) -> Result<Vec<Station>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let list = load_list::<Station>(path, "station", "station", "code", &mut diags);
    check_duplicates(&list, |s| s.code.as_str(), "station", &mut diags);
    if diags.is_empty() {
        Ok(list.into_iter().flat_map(|(_, v)| v).map(|e| e.0).collect())
    } else {
        Err(diags)
    }
}

/// Loads only a sections file (for `water classify --sections F`).
pub fn load_sections(path: &Path) -> Result<Vec<Section>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let list = load_list::<Section>(path, "section", "section", "id", &mut diags);
    check_duplicates(&list, |s| s.id.as_str(), "section", &mut diags);
    check_drinking_targets(&list, &mut diags);
    if diags.is_empty() {
        Ok(list.into_iter().flat_map(|(_, v)| v).map(|e| e.0).collect())
    } else {
        Err(diags)
    }
}

/// A parsed file's entries with their byte spans, kept for cross-check messages.
type Entries<T> = Vec<(SourceFile, Vec<(T, std::ops::Range<usize>)>)>;

struct LoadedDaemon {
    config: DaemonConfig,
    pipelines_dir: Option<PathBuf>,
}

fn load_daemon(path: &Path, diags: &mut Diagnostics) -> Option<(LoadedDaemon, SourceFile)> {
    let file = match SourceFile::read(path) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let doc = match Document::parse(&file) {
        Ok(d) => d,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    doc.check_keys(daemon::SECTIONS, diags);
    let mut general: daemon::General = doc.section("general", diags).unwrap_or_default();
    let pipelines_dir = general.pipelines_dir.take();
    let config = DaemonConfig {
        general,
        targets: doc.section("targets", diags).unwrap_or_default(),
        air: doc.section("air", diags).unwrap_or_default(),
        water: doc.section("water", diags).unwrap_or_default(),
        store: doc.section("store", diags).unwrap_or_default(),
        mqtt: doc.section("mqtt", diags),
        influx: doc.section("influx", diags),
        http: doc.section("http", diags).unwrap_or_default(),
        alerts: doc.section("alerts", diags),
    };
    // Secrets must resolve now, not at 3 a.m. when the first alert is sent.
    let mut secret_paths: Vec<(&[&str], Option<&SecretRef>)> = Vec::new();
    if let Some(m) = &config.mqtt {
        secret_paths.push((&["mqtt", "password"], m.password.as_ref()));
    }
    if let Some(i) = &config.influx {
        secret_paths.push((&["influx", "password"], i.password.as_ref()));
        secret_paths.push((&["influx", "token"], i.token.as_ref()));
    }
    for (key_path, secret) in secret_paths {
        if let Some(s) = secret
            && let Err(e) = s.resolve()
        {
            diags.push(file.diag(
                doc.span_of(key_path),
                format!("{}: {e}", key_path.join(".")),
            ));
        }
    }
    // Alert rules naming unknown channels, and secrets of enabled channels (alert::config).
    if let Some(alerts) = &config.alerts {
        for p in alerts.problems() {
            let path: Vec<&str> = p.path.iter().map(String::as_str).collect();
            let span = (1..=path.len()).rev().find_map(|n| doc.span_of(&path[..n]));
            diags.push(file.diag(span, p.message));
        }
    }
    for (key, t) in [
        ("good_day_ratio", config.targets.good_day_ratio),
        (
            "drinking_source_compliance",
            config.targets.drinking_source_compliance,
        ),
    ] {
        if !(0.0..=1.0).contains(&t) {
            diags.push(file.diag(
                doc.span_of(&["targets", key]),
                format!("targets.{key}: {t} is not a share between 0 and 1 (80% is 0.8)"),
            ));
        }
    }
    drop(doc);
    Some((
        LoadedDaemon {
            config,
            pipelines_dir,
        },
        file,
    ))
}

fn load_list<T: serde::de::DeserializeOwned>(
    path: &Path,
    key: &str,
    what: &str,
    id_key: &str,
    diags: &mut Diagnostics,
) -> Entries<T> {
    let file = match SourceFile::read(path) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
    };
    let entries = match Document::parse(&file) {
        Ok(doc) => {
            doc.check_keys(&[key], diags);
            doc.entries::<T>(key, what, id_key, diags)
                .into_iter()
                .map(|(t, span)| (t, span.span()))
                .collect()
        }
        Err(d) => {
            diags.push(d);
            Vec::new()
        }
    };
    vec![(file, entries)]
}

fn check_duplicates<T>(
    list: &Entries<T>,
    id: impl Fn(&T) -> &str,
    what: &str,
    diags: &mut Diagnostics,
) {
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (file, entries) in list {
        for (t, span) in entries {
            let here = file.line_col(span.start);
            if let Some((line, col)) = seen.get(id(t)) {
                diags.push(file.diag(
                    Some(span.clone()),
                    format!(
                        "{what} \"{}\": duplicate id (first defined at line {line}:{col})",
                        id(t)
                    ),
                ));
            } else {
                seen.insert(id(t), here);
            }
        }
    }
}

/// GB 3838-2002 §4: the protection zones of centralised drinking-water sources are class
/// II and III waters, so a drinking source's target must be III or better (the judge
/// holds drinking sources to their target).
fn check_drinking_targets(list: &Entries<Section>, diags: &mut Diagnostics) {
    for (file, entries) in list {
        for (s, span) in entries {
            if s.drinking_source && s.target.0 > WaterClass::III {
                diags.push(file.diag(
                    Some(span.clone()),
                    format!(
                        "section \"{}\": drinking_source with target {}; a centralised drinking-water source must be class III or better (GB 3838-2002 §4): use I, II or III",
                        s.id,
                        s.target.0.label()
                    ),
                ));
            }
        }
    }
}

struct LoadedPipeline {
    pipeline: Pipeline,
    file: SourceFile,
    /// Spans of keys used in cross-check messages.
    spans: HashMap<String, std::ops::Range<usize>>,
}

fn load_pipelines(dir: &Path, diags: &mut Diagnostics) -> Vec<LoadedPipeline> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            diags.push(Diagnostic {
                file: dir.to_path_buf(),
                line: 0,
                col: 0,
                message: format!("cannot read pipelines directory: {e}"),
            });
            return Vec::new();
        }
    };
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let file = match SourceFile::read(&path) {
            Ok(f) => f,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let doc = match Document::parse(&file) {
            Ok(d) => d,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        doc.check_keys(pipeline::SECTIONS, diags);
        let root = doc.root.clone();
        let value = toml::Spanned::new(root.span(), toml::de::DeValue::Table(root.into_inner()));
        let Some(mut p) = doc.deserialize::<Pipeline>(&value, None, diags) else {
            continue;
        };
        if p.name.is_empty() {
            p.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        let mut spans = HashMap::new();
        for (k, path) in [
            ("name", &["name"][..]),
            ("source", &["source"][..]),
            ("decode", &["decode"][..]),
            ("topics", &["source", "topics"][..]),
            ("auth", &["source", "auth"][..]),
            ("json", &["decode", "json"][..]),
            ("period", &["decode", "period"][..]),
            ("sites", &["sites"][..]),
        ] {
            if let Some(s) = doc.span_of(path) {
                spans.insert(k.to_string(), s);
            }
        }
        for key in p.sites.keys() {
            if let Some(s) = doc.span_of(&["sites", key]) {
                spans.insert(format!("sites.{key}"), s);
            }
        }
        drop(doc);
        out.push(LoadedPipeline {
            pipeline: p,
            file,
            spans,
        });
    }
    out
}

/// Checks that need more than one file; returns the MN index.
fn cross_check(
    daemon: &DaemonConfig,
    daemon_file: Option<&SourceFile>,
    stations: &Entries<Station>,
    sections: &Entries<Section>,
    pipelines: &[LoadedPipeline],
    diags: &mut Diagnostics,
) -> HashMap<String, SiteId> {
    check_duplicates(stations, |s| s.code.as_str(), "station", diags);
    check_duplicates(sections, |s| s.id.as_str(), "section", diags);
    check_drinking_targets(sections, diags);

    // Stations and sections share one id namespace (a reading names its site by id alone).
    let station_ids: HashMap<&str, ()> = stations
        .iter()
        .flat_map(|(_, v)| v.iter().map(|(s, _)| (s.code.as_str(), ())))
        .collect();
    for (file, entries) in sections {
        for (s, span) in entries {
            if station_ids.contains_key(s.id.as_str()) {
                diags.push(file.diag(
                    Some(span.clone()),
                    format!(
                        "section \"{}\": id is also an air station code; site ids must be unique",
                        s.id
                    ),
                ));
            }
        }
    }

    let mut mn_index: HashMap<String, SiteId> = HashMap::new();
    let mut add_mn = |file: &SourceFile,
                      span: &std::ops::Range<usize>,
                      mn: &Option<String>,
                      id: &SiteId,
                      what: &str,
                      diags: &mut Diagnostics| {
        if let Some(mn) = mn
            && let Some(other) = mn_index.insert(mn.clone(), id.clone())
        {
            diags.push(file.diag(
                Some(span.clone()),
                format!("{what} \"{id}\": MN {mn} is already used by \"{other}\""),
            ));
        }
    };
    for (file, entries) in stations {
        for (s, span) in entries {
            add_mn(file, span, &s.mn, &s.code, "station", diags);
        }
    }
    for (file, entries) in sections {
        for (s, span) in entries {
            add_mn(file, span, &s.mn, &s.id, "section", diags);
        }
    }

    if let Some(file) = daemon_file {
        let city = &daemon.general.city;
        let in_city = stations
            .iter()
            .flat_map(|(_, v)| v.iter())
            .any(|(s, _)| &s.city == city && !s.control);
        if !stations.iter().all(|(_, v)| v.is_empty()) && !in_city {
            diags.push(file.diag(
                None,
                format!(
                    "general.city \"{city}\" has no non-control station in stations.toml, so no city AQI can be computed"
                ),
            ));
        }
    }

    let known = |id: &str| {
        station_ids.contains_key(id)
            || sections
                .iter()
                .any(|(_, v)| v.iter().any(|(s, _)| s.id.as_str() == id))
    };
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for lp in pipelines {
        let p = &lp.pipeline;
        let at = |k: &str| lp.spans.get(k).cloned();
        if let Some(first) = names.insert(p.name.clone(), lp.file.path.clone()) {
            diags.push(lp.file.diag(
                at("name"),
                format!(
                    "pipeline \"{}\": name already used by {}",
                    p.name,
                    first.display()
                ),
            ));
        }
        for (feed_id, site) in &p.sites {
            if !known(site.as_str()) {
                diags.push(lp.file.diag(
                    at(&format!("sites.{feed_id}")),
                    format!(
                        "pipeline \"{}\": sites.\"{feed_id}\" refers to unknown station/section \"{site}\"",
                        p.name
                    ),
                ));
            }
        }
        match &p.source {
            pipeline::SourceSettings::Mqtt(m) => {
                if m.topics.is_empty() {
                    diags.push(lp.file.diag(
                        at("topics").or(at("source")),
                        format!("pipeline \"{}\": source.topics is empty", p.name),
                    ));
                }
                for t in &m.topics {
                    if let Err(why) = check_topic_filter(t) {
                        diags.push(lp.file.diag(
                            at("topics"),
                            format!(
                                "pipeline \"{}\": topic filter \"{t}\" is invalid: {why}",
                                p.name
                            ),
                        ));
                    }
                }
                if m.qos > 2 {
                    diags.push(lp.file.diag(
                        at("source"),
                        format!("pipeline \"{}\": qos {} is not 0, 1 or 2", p.name, m.qos),
                    ));
                }
            }
            pipeline::SourceSettings::Http(h) => {
                if url::Url::parse(&h.url.replace(['{', '}'], "")).is_err() {
                    diags.push(lp.file.diag(
                        at("source"),
                        format!(
                            "pipeline \"{}\": source.url \"{}\" is not a URL",
                            p.name, h.url
                        ),
                    ));
                }
                let secret = h.auth.as_ref().map(|a| match a {
                    pipeline::HttpAuth::Bearer { token } => token,
                    pipeline::HttpAuth::Basic { password, .. } => password,
                    pipeline::HttpAuth::QueryKey { key, .. } => key,
                    pipeline::HttpAuth::HeaderKey { key, .. } => key,
                });
                // A disabled feed may name a secret that is not provisioned yet.
                if let Some(Err(e)) = secret.filter(|_| p.enabled).map(|s| s.resolve()) {
                    diags.push(lp.file.diag(
                        at("auth"),
                        format!("pipeline \"{}\": source.auth: {e}", p.name),
                    ));
                }
            }
            pipeline::SourceSettings::File(_) => {}
        }
        let fmt = p.decode.format;
        if fmt == pipeline::Format::Json && p.decode.json.is_none() {
            diags.push(lp.file.diag(
                at("decode"),
                format!(
                    "pipeline \"{}\": format \"json\" needs a [decode.json] mapping",
                    p.name
                ),
            ));
        }
        if fmt == pipeline::Format::Hj212 && p.decode.period.is_some() {
            diags.push(lp.file.diag(
                at("period"),
                format!(
                    "pipeline \"{}\": decode.period is for JSON and CSV feeds; HJ 212 packets carry their period in CN",
                    p.name
                ),
            ));
        }
        if let Some(j) = &p.decode.json {
            if fmt != pipeline::Format::Json {
                diags.push(lp.file.diag(
                    at("json"),
                    format!(
                        "pipeline \"{}\": [decode.json] is only used with format = \"json\"",
                        p.name
                    ),
                ));
            }
            let wide = !j.columns.is_empty();
            let long = j.parameter.is_some() || j.value.is_some();
            if wide == long || (long && (j.parameter.is_none() || j.value.is_none())) {
                diags.push(lp.file.diag(
                    at("json"),
                    format!(
                        "pipeline \"{}\": [decode.json] needs either `columns` (wide records) or both `parameter` and `value` (long records)",
                        p.name
                    ),
                ));
            }
            if let Some(tz) = &j.timezone
                && tz.parse::<chrono_tz::Tz>().is_err()
            {
                diags.push(lp.file.diag(
                    at("json"),
                    format!("pipeline \"{}\": unknown time zone \"{tz}\"", p.name),
                ));
            }
        }
    }
    mn_index
}

/// MQTT topic filter rules (MQTT 3.1.1 §4.7): non-empty, no NUL, `#` only as the whole
/// last level, `+` only as a whole level.
pub fn check_topic_filter(filter: &str) -> Result<(), &'static str> {
    if filter.is_empty() {
        return Err("empty");
    }
    if filter.contains('\0') {
        return Err("contains NUL");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i != levels.len() - 1) {
            return Err("`#` must be a whole level and the last one");
        }
        if level.contains('+') && *level != "+" {
            return Err("`+` must be a whole level");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_filters() {
        assert!(check_topic_filter("envwatch/air/+/hj212").is_ok());
        assert!(check_topic_filter("envwatch/#").is_ok());
        assert!(check_topic_filter("$share/g/envwatch/#").is_ok());
        assert!(check_topic_filter("envwatch/#/x").is_err());
        assert!(check_topic_filter("envwatch/a+").is_err());
        assert!(check_topic_filter("").is_err());
    }

    #[test]
    fn drinking_sources_need_class_iii_or_better() {
        let dir = std::env::temp_dir().join(format!("envwatch-cfg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sections.toml");
        let section = |id: &str, target: &str| {
            format!(
                "[[section]]\nid = \"{id}\"\nname = \"n\"\nriver = \"r\"\nwaterbody = \"reservoir\"\ndrinking_source = true\ntarget = \"{target}\"\n\n"
            )
        };
        std::fs::write(&path, section("OK", "III") + &section("BAD", "IV")).unwrap();
        let err = load_sections(&path).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.contains("sections.toml:10:6:")
                && err.contains("section \"BAD\": drinking_source with target IV")
                && !err.contains("\"OK\""),
            "{err}"
        );
    }
}

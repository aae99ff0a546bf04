//! Every Grafana panel query of deploy/grafana/dashboards runs on the real InfluxDB 1.x
//! filled with what `envwatch demo` produced through the real pipeline (its line-protocol
//! sink), and returns at least one series. Template variables are substituted with
//! values their own variable queries return; `$timeFilter` covers the demo's days.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// (dashboard file, panel title or annotation name, InfluxQL query)
fn queries(dir: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboards in {}", dir.display());
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{name}: invalid JSON: {e}"));
        assert_eq!(
            d["panels"].as_array().map(|a| !a.is_empty()),
            Some(true),
            "{name}"
        );
        fn walk(name: &str, panels: &Value, out: &mut Vec<(String, String, String)>) {
            for p in panels.as_array().into_iter().flatten() {
                for t in p["targets"].as_array().into_iter().flatten() {
                    assert_eq!(
                        t["rawQuery"], true,
                        "{name}: {}: only raw InfluxQL",
                        p["title"]
                    );
                    let q = t["query"].as_str().unwrap_or_default().to_string();
                    assert!(!q.is_empty(), "{name}: {}: empty query", p["title"]);
                    out.push((
                        name.to_string(),
                        p["title"].as_str().unwrap_or("").into(),
                        q,
                    ));
                }
                walk(name, &p["panels"], out);
            }
        }
        walk(&name, &d["panels"], &mut out);
        for a in d["annotations"]["list"].as_array().into_iter().flatten() {
            if let Some(q) = a["query"].as_str() {
                out.push((
                    name.clone(),
                    format!("annotation {}", a["name"]),
                    q.to_string(),
                ));
            }
        }
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            let q = v["query"].as_str().unwrap_or_default().to_string();
            out.push((
                name.clone(),
                format!("variable {}", v["name"].as_str().unwrap_or("")),
                q,
            ));
        }
    }
    out
}

struct Influx {
    base: String,
    db: String,
    http: reqwest::Client,
}

impl Influx {
    async fn query(&self, q: &str) -> Value {
        let mut url = url::Url::parse(&format!("{}/query", self.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("db", &self.db)
            .append_pair("q", q);
        let resp = self.http.post(url).send().await.expect("InfluxDB /query");
        let status = resp.status();
        let body: Value = resp.json().await.expect("JSON from /query");
        assert!(status.is_success(), "HTTP {status} for {q}: {body}");
        body
    }
}

/// The first tag value a `SHOW TAG VALUES` variable query returns.
fn first_value(body: &Value) -> Option<String> {
    body["results"][0]["series"][0]["values"][0][1]
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn every_panel_query_returns_series_on_demo_data() {
    let base = common::service("ENVWATCH_TEST_INFLUX");
    let tmp = tempfile::tempdir().unwrap();
    // 1. The demo, offline: embedded broker, simulator, real pipeline, line-protocol sink.
    let out = Command::new(env!("CARGO_BIN_EXE_envwatch"))
        .args(["demo", "--days", "7", "--out"])
        .arg(tmp.path())
        .output()
        .expect("run envwatch demo");
    assert!(
        out.status.success(),
        "demo failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lp = std::fs::read_to_string(tmp.path().join("envwatch.lp")).expect("demo's envwatch.lp");
    assert!(lp.lines().count() > 100, "demo wrote too few points");

    // 2. Into a fresh database of the real InfluxDB 1.x.
    let influx = Influx {
        base,
        db: common::unique("grafana"),
        http: reqwest::Client::new(),
    };
    influx
        .query(&format!("CREATE DATABASE \"{}\"", influx.db))
        .await;
    let resp = influx
        .http
        .post(format!(
            "{}/write?db={}&precision=ns",
            influx.base, influx.db
        ))
        .body(lp)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_eq!(status, 204, "{}", resp.text().await.unwrap_or_default());

    // 3. Variables first, then every panel query with them substituted.
    let all = queries(&Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/dashboards"));
    let mut vars = std::collections::HashMap::new();
    for (file, what, q) in &all {
        if let Some(name) = what.strip_prefix("variable ") {
            let v = first_value(&influx.query(q).await)
                .unwrap_or_else(|| panic!("{file}: {what}: `{q}` returned no values"));
            vars.insert(name.to_string(), v);
        }
    }
    let time_filter = "time >= now() - 3650d AND time <= now() + 1d";
    let mut checked = 0;
    for (file, what, q) in &all {
        if what.starts_with("variable ") {
            continue;
        }
        let mut q = q
            .replace("$timeFilter", time_filter)
            .replace("$__interval", "1h");
        for (k, v) in &vars {
            // Regex-escape the value as Grafana does for =~ /^$var$/.
            let escaped: String = v
                .chars()
                .flat_map(|c| {
                    if "\\^$.|?*+()[]{}/".contains(c) {
                        vec!['\\', c]
                    } else {
                        vec![c]
                    }
                })
                .collect();
            q = q.replace(&format!("${k}"), &escaped);
        }
        let leftover = q.char_indices().any(|(i, c)| {
            c == '$' && q[i + 1..].starts_with(|n: char| n.is_alphabetic() || n == '_')
        });
        assert!(!leftover, "{file}: {what}: unsubstituted variable in {q}");
        let body = influx.query(&q).await;
        let result = &body["results"][0];
        assert!(result["error"].is_null(), "{file}: {what}: {q}\n-> {body}");
        let series = result["series"].as_array().map(|s| s.len()).unwrap_or(0);
        assert!(series > 0, "{file}: {what}: no series for\n  {q}");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} queries checked");
    influx
        .query(&format!("DROP DATABASE \"{}\"", influx.db))
        .await;
}

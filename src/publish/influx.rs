//! The InfluxDB HTTP client: one write call that classifies the server's answer into what
//! the publisher must do next, and a probe that says in plain words what is wrong.
//!
//! Two write APIs, chosen by `influx.api`:
//! - v1: `POST /write?db=&rp=&precision=ns`, user/password as HTTP Basic auth
//!   (InfluxDB 1.x; never in the URL, so they cannot end up in access logs);
//! - v2: `POST /api/v2/write?org=&bucket=&precision=ns` with `Authorization: Token`
//!   (InfluxDB 2.x, 3.x, the 1.8+ compatibility endpoint, VictoriaMetrics).
//!
//! Bodies are newline-separated line protocol, gzip-compressed when configured.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use crate::config::Secret;
use crate::config::daemon::{InfluxApi, InfluxSettings};

/// Where and how to write, with secrets resolved.
#[derive(Debug, Clone)]
pub struct InfluxTarget {
    pub url: Url,
    pub api: InfluxApi,
    /// v1 database (also the v2 bucket when `bucket` is absent).
    pub database: String,
    pub retention_policy: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub org: Option<String>,
    pub bucket: Option<String>,
    pub token: Option<Secret>,
    pub gzip: bool,
    pub timeout: Duration,
}

/// Why a client could not be built from the config.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("influx.url {url:?} is not a valid http(s) URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("influx.{key}: {reason}")]
    Secret { key: &'static str, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

impl InfluxTarget {
    /// Resolves the `[influx]` section (secrets included) into a target.
    pub fn from_settings(s: &InfluxSettings) -> Result<InfluxTarget, ClientError> {
        let url = Url::parse(&s.url).map_err(|e| ClientError::BadUrl {
            url: s.url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl {
                url: s.url.clone(),
                reason: format!("scheme {:?} is not http or https", url.scheme()),
            });
        }
        let resolve = |key: &'static str, r: &Option<crate::config::SecretRef>| {
            r.as_ref()
                .map(|r| r.resolve())
                .transpose()
                .map_err(|e| ClientError::Secret {
                    key,
                    reason: e.to_string(),
                })
        };
        Ok(InfluxTarget {
            url,
            api: s.api,
            database: s.database.clone(),
            retention_policy: s.retention_policy.clone(),
            username: s.username.clone(),
            password: resolve("password", &s.password)?,
            org: s.org.clone(),
            bucket: s.bucket.clone(),
            token: resolve("token", &s.token)?,
            gzip: s.gzip,
            timeout: s.timeout,
        })
    }

    /// The bucket written to with the v2 API: `bucket`, else `database[/rp]` (the 1.8+
    /// compatibility convention).
    pub fn bucket_name(&self) -> String {
        match (&self.bucket, &self.retention_policy) {
            (Some(b), _) => b.clone(),
            (None, Some(rp)) => format!("{}/{}", self.database, rp),
            (None, None) => self.database.clone(),
        }
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut u = self.url.clone();
        // Keep a path prefix (reverse proxies mount Influx under /influx/).
        let base = u.path().trim_end_matches('/').to_string();
        u.set_path(&format!("{base}{path}"));
        u.set_query(None);
        u
    }

    fn write_url(&self) -> Url {
        match self.api {
            InfluxApi::V1 => {
                let mut u = self.endpoint("/write");
                {
                    let mut q = u.query_pairs_mut();
                    q.append_pair("db", &self.database);
                    if let Some(rp) = &self.retention_policy {
                        q.append_pair("rp", rp);
                    }
                    q.append_pair("precision", "ns");
                }
                u
            }
            InfluxApi::V2 => {
                let mut u = self.endpoint("/api/v2/write");
                {
                    let mut q = u.query_pairs_mut();
                    q.append_pair("org", self.org.as_deref().unwrap_or(""));
                    q.append_pair("bucket", &self.bucket_name());
                    q.append_pair("precision", "ns");
                }
                u
            }
        }
    }
}

/// What a failed write means for the batch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// Could not talk to the server (refused, reset, timeout): retry later.
    #[error("InfluxDB unreachable: {0}")]
    Network(String),
    /// 5xx, 429, 408: the server is overloaded or failing; retry, honouring Retry-After.
    #[error("InfluxDB answered {status}: {message}")]
    Unavailable {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// 413: the body is too large; split the batch.
    #[error("InfluxDB refused the request as too large (413): {message}")]
    TooLarge { message: String },
    /// 400/422: some points are bad (parse error, field type conflict, outside retention).
    /// On InfluxDB 1.x the good points of the batch were still written ("partial write").
    #[error("InfluxDB rejected points ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// 401/403/404 and other 4xx: credentials, permissions, database or bucket are wrong.
    /// Not the data's fault: keep the queue and retry until the operator fixes it.
    #[error("InfluxDB refused the write ({status}): {message}")]
    Refused { status: u16, message: String },
}

impl WriteError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            WriteError::Network(_) => None,
            WriteError::TooLarge { .. } => Some(413),
            WriteError::Unavailable { status, .. }
            | WriteError::Rejected { status, .. }
            | WriteError::Refused { status, .. } => Some(*status),
        }
    }
}

/// A successful probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOk {
    /// What answered, e.g. `InfluxDB 1.6.7` or `VictoriaMetrics`.
    pub server: String,
    /// What was checked, for the operator.
    pub detail: String,
}

/// What is wrong with the configured Influx, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot reach InfluxDB at {url}: {reason} (is it running? check influx.url)")]
    Unreachable { url: String, reason: String },
    #[error(
        "{url} did not answer like InfluxDB ({status}: {message}); check influx.url and influx.api"
    )]
    NotInflux {
        url: String,
        status: u16,
        message: String,
    },
    #[error("InfluxDB at {url} refused our credentials ({status}: {message}); check {keys}")]
    WrongCredentials {
        url: String,
        status: u16,
        message: String,
        keys: &'static str,
    },
    #[error(
        "database {database:?} does not exist on {url} (or user cannot see it); existing: {existing:?}. Create it with: CREATE DATABASE \"{database}\""
    )]
    MissingDatabase {
        url: String,
        database: String,
        existing: Vec<String>,
    },
    #[error(
        "retention policy {rp:?} does not exist on database {database:?}; existing: {existing:?}"
    )]
    MissingRetentionPolicy {
        database: String,
        rp: String,
        existing: Vec<String>,
    },
    #[error(
        "bucket {bucket:?} does not exist in org {org:?} on {url} (or the token cannot see it): {message}"
    )]
    MissingBucket {
        url: String,
        org: String,
        bucket: String,
        message: String,
    },
    #[error("unexpected answer from {url} to {what} ({status}): {message}")]
    Unexpected {
        url: String,
        what: &'static str,
        status: u16,
        message: String,
    },
}

/// The HTTP client for one Influx target. Cheap to clone (connection pool shared).
#[derive(Debug, Clone)]
pub struct InfluxClient {
    http: reqwest::Client,
    target: InfluxTarget,
    write_url: Url,
}

impl InfluxClient {
    pub fn new(target: InfluxTarget) -> Result<InfluxClient, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(target.timeout)
            .connect_timeout(target.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("envwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let write_url = target.write_url();
        Ok(InfluxClient {
            http,
            target,
            write_url,
        })
    }

    pub fn target(&self) -> &InfluxTarget {
        &self.target
    }

    /// The write URL (no credentials in it), for logs.
    pub fn write_url(&self) -> &Url {
        &self.write_url
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.target.api {
            InfluxApi::V1 => match &self.target.username {
                Some(u) => req.basic_auth(u, self.target.password.as_ref().map(|p| p.expose())),
                None => req,
            },
            InfluxApi::V2 => match &self.target.token {
                Some(t) => req.header(AUTHORIZATION, format!("Token {}", t.expose())),
                None => req,
            },
        }
    }

    /// Writes `body` (newline-separated line protocol, nanosecond timestamps).
    pub async fn write(&self, body: &[u8]) -> Result<(), WriteError> {
        let mut req = self
            .http
            .post(self.write_url.clone())
            .header(CONTENT_TYPE, "text/plain; charset=utf-8");
        if self.target.gzip {
            req = req
                .header(CONTENT_ENCODING, "gzip")
                .body(gzip(body).map_err(|e| WriteError::Network(format!("gzip: {e}")))?);
        } else {
            req = req.body(body.to_vec());
        }
        let resp = self
            .auth(req)
            .send()
            .await
            .map_err(|e| WriteError::Network(describe(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = parse_retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        Err(classify(status, server_message(&text), retry_after))
    }

    /// Checks that the server answers, the credentials work and the database or bucket
    /// exists. Read-only except for an empty write on servers without a bucket API.
    pub async fn probe(&self) -> Result<ProbeOk, ProbeError> {
        match self.target.api {
            InfluxApi::V1 => self.probe_v1().await,
            InfluxApi::V2 => self.probe_v2().await,
        }
    }

    async fn get(&self, url: Url) -> Result<(StatusCode, HeaderMap, String), ProbeError> {
        let resp = self
            .auth(self.http.get(url.clone()))
            .send()
            .await
            .map_err(|e| ProbeError::Unreachable {
                url: self.target.url.to_string(),
                reason: describe(&e),
            })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        Ok((status, headers, text))
    }

    async fn probe_v1(&self) -> Result<ProbeOk, ProbeError> {
        let base = self.target.url.to_string();
        let (status, headers, text) = self.get(self.target.endpoint("/ping")).await?;
        if !status.is_success() {
            return Err(ProbeError::NotInflux {
                url: base,
                status: status.as_u16(),
                message: server_message(&text),
            });
        }
        let Some(version) = headers
            .get("X-Influxdb-Version")
            .and_then(|v| v.to_str().ok())
            .map(|v| format!("InfluxDB {v}"))
        else {
            // VictoriaMetrics answers /ping without a version and accepts writes to any
            // database name; its /query only pretends (`_internal`), so do not ask it.
            return Ok(ProbeOk {
                server: "a server that does not identify as InfluxDB (VictoriaMetrics?)".into(),
                detail: format!(
                    "/ping answered; database {:?} not checked (such servers create it on write)",
                    self.target.database
                ),
            });
        };
        let databases = self.influxql("SHOW DATABASES", None).await?;
        if !databases.iter().any(|d| d == &self.target.database) {
            return Err(ProbeError::MissingDatabase {
                url: base,
                database: self.target.database.clone(),
                existing: databases,
            });
        }
        if let Some(rp) = &self.target.retention_policy {
            let q = format!(
                "SHOW RETENTION POLICIES ON \"{}\"",
                self.target.database.replace('"', "\\\"")
            );
            let rps = self.influxql(&q, None).await?;
            if !rps.iter().any(|r| r == rp) {
                return Err(ProbeError::MissingRetentionPolicy {
                    database: self.target.database.clone(),
                    rp: rp.clone(),
                    existing: rps,
                });
            }
        }
        Ok(ProbeOk {
            server: version,
            detail: format!(
                "database {:?} exists{}",
                self.target.database,
                if self.target.username.is_some() {
                    ", credentials accepted"
                } else {
                    ""
                }
            ),
        })
    }

    /// Runs a SHOW query and returns the first column of its rows.
    async fn influxql(&self, q: &str, db: Option<&str>) -> Result<Vec<String>, ProbeError> {
        let base = self.target.url.to_string();
        let mut url = self.target.endpoint("/query");
        url.query_pairs_mut().append_pair("q", q);
        if let Some(db) = db {
            url.query_pairs_mut().append_pair("db", db);
        }
        let (status, _, text) = self.get(url).await?;
        if matches!(status.as_u16(), 401 | 403) {
            return Err(ProbeError::WrongCredentials {
                url: base,
                status: status.as_u16(),
                message: server_message(&text),
                keys: "influx.username and influx.password",
            });
        }
        if status == StatusCode::NOT_FOUND {
            return Err(ProbeError::NotInflux {
                url: base,
                status: 404,
                message: "no InfluxQL /query endpoint; for InfluxDB 2.x/3.x or VictoriaMetrics set influx.api = \"v2\"".into(),
            });
        }
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| ProbeError::Unexpected {
                url: base.clone(),
                what: "an InfluxQL query",
                status: status.as_u16(),
                message: server_message(&text),
            })?;
        let first = &json["results"][0];
        if let Some(err) = json["error"].as_str().or(first["error"].as_str()) {
            let lower = err.to_lowercase();
            if lower.contains("auth") || lower.contains("privilege") || lower.contains("password") {
                return Err(ProbeError::WrongCredentials {
                    url: base,
                    status: status.as_u16(),
                    message: err.to_string(),
                    keys: "influx.username and influx.password (and the user's privileges)",
                });
            }
            return Err(ProbeError::Unexpected {
                url: base,
                what: "an InfluxQL query",
                status: status.as_u16(),
                message: err.to_string(),
            });
        }
        let mut out = Vec::new();
        if let Some(values) = first["series"][0]["values"].as_array() {
            for row in values {
                if let Some(name) = row[0].as_str() {
                    out.push(name.to_string());
                }
            }
        }
        Ok(out)
    }

    async fn probe_v2(&self) -> Result<ProbeOk, ProbeError> {
        let base = self.target.url.to_string();
        let org = self.target.org.clone().unwrap_or_default();
        let bucket = self.target.bucket_name();
        let (status, headers, text) = self.get(self.target.endpoint("/health")).await?;
        let server = if text.contains("\"pass\"") || headers.contains_key("X-Influxdb-Version") {
            let v = headers
                .get("X-Influxdb-Version")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| {
                    serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|j| j["version"].as_str().map(str::to_string))
                });
            match v {
                Some(v) => format!("InfluxDB {v}"),
                None => "InfluxDB".to_string(),
            }
        } else if text.trim() == "OK" {
            "VictoriaMetrics (or another /health OK server)".to_string()
        } else {
            "an InfluxDB-compatible server".to_string()
        };
        if matches!(status.as_u16(), 401 | 403) {
            return Err(ProbeError::WrongCredentials {
                url: base,
                status: status.as_u16(),
                message: server_message(&text),
                keys: "influx.token",
            });
        }
        if !status.is_success() {
            return Err(ProbeError::NotInflux {
                url: base,
                status: status.as_u16(),
                message: server_message(&text),
            });
        }
        // InfluxDB 2.x: the buckets API tells "wrong token" from "no such bucket".
        let mut url = self.target.endpoint("/api/v2/buckets");
        url.query_pairs_mut().append_pair("name", &bucket);
        if !org.is_empty() {
            url.query_pairs_mut().append_pair("org", &org);
        }
        let (status, _, text) = self.get(url).await?;
        match status.as_u16() {
            200 => {
                let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let found = json["buckets"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|b| b["name"].as_str() == Some(&bucket)));
                return if found {
                    Ok(ProbeOk {
                        server,
                        detail: format!("bucket {bucket:?} exists in org {org:?}, token accepted"),
                    })
                } else {
                    Err(ProbeError::MissingBucket {
                        url: base,
                        org,
                        bucket,
                        message: "not in the bucket list".into(),
                    })
                };
            }
            401 | 403 => {
                return Err(ProbeError::WrongCredentials {
                    url: base,
                    status: status.as_u16(),
                    message: server_message(&text),
                    keys: "influx.token",
                });
            }
            404 if text.to_lowercase().contains("organization") => {
                return Err(ProbeError::MissingBucket {
                    url: base,
                    org,
                    bucket,
                    message: server_message(&text),
                });
            }
            _ => {}
        }
        // No bucket API (VictoriaMetrics, InfluxDB 1.8 compatibility, 3.x): an empty
        // write checks the token and the bucket without writing anything.
        let resp = self
            .auth(
                self.http
                    .post(self.write_url.clone())
                    .body(Vec::<u8>::new()),
            )
            .send()
            .await
            .map_err(|e| ProbeError::Unreachable {
                url: base.clone(),
                reason: describe(&e),
            })?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        match status.as_u16() {
            s if (200..300).contains(&s) => Ok(ProbeOk {
                server,
                detail: format!("write endpoint accepts org {org:?} bucket {bucket:?}"),
            }),
            401 | 403 => Err(ProbeError::WrongCredentials {
                url: base,
                status: status.as_u16(),
                message: server_message(&text),
                keys: "influx.token",
            }),
            404 => Err(ProbeError::MissingBucket {
                url: base,
                org,
                bucket,
                message: server_message(&text),
            }),
            s => Err(ProbeError::Unexpected {
                url: base,
                what: "an empty write",
                status: s,
                message: server_message(&text),
            }),
        }
    }
}

/// Maps a non-2xx answer to what the publisher must do.
pub fn classify(status: StatusCode, message: String, retry_after: Option<Duration>) -> WriteError {
    let code = status.as_u16();
    match code {
        413 => WriteError::TooLarge { message },
        400 | 422 if !is_request_level(&message) => WriteError::Rejected {
            status: code,
            message,
        },
        408 | 429 => WriteError::Unavailable {
            status: code,
            message,
            retry_after,
        },
        c if c >= 500 => WriteError::Unavailable {
            status: code,
            message,
            retry_after,
        },
        _ => WriteError::Refused {
            status: code,
            message,
        },
    }
}

/// A 400 that is about the request, not the points (a config mistake): bisecting it would
/// dead-letter the whole queue, so it is treated as "refused" and retried instead.
fn is_request_level(message: &str) -> bool {
    let m = message.to_lowercase();
    [
        "database name required",
        "precision",
        "bucket",
        "organization",
        "authoriz",
        "token",
    ]
    .iter()
    .any(|k| m.contains(k))
        && !m.contains("partial write")
}

/// The server's error text: `{"error": ..}` (1.x), `{"message": ..}` (2.x/3.x) or the
/// plain body (VictoriaMetrics), trimmed and bounded.
pub fn server_message(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(j) => j["error"]
            .as_str()
            .or(j["message"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| body.trim().to_string()),
        Err(_) => body.trim().to_string(),
    };
    const MAX: usize = 2000;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    } else {
        text
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(body)?;
    enc.finish()
}

/// A reqwest error with its cause chain (reqwest's Display alone hides "connection
/// refused" behind "error sending request"). URLs here never carry credentials.
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_map_to_actions() {
        let c = |s: u16, m: &str| classify(StatusCode::from_u16(s).unwrap(), m.into(), None);
        assert!(matches!(c(413, ""), WriteError::TooLarge { .. }));
        assert!(matches!(
            c(
                400,
                "partial write: field type conflict: input field \"v\" on measurement \"m\" is type string, already exists as type float dropped=1"
            ),
            WriteError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            c(422, "failure writing points"),
            WriteError::Rejected { .. }
        ));
        assert!(matches!(
            c(400, "database name required"),
            WriteError::Refused { .. }
        ));
        assert!(matches!(c(429, ""), WriteError::Unavailable { .. }));
        assert!(matches!(c(503, ""), WriteError::Unavailable { .. }));
        assert!(matches!(c(500, ""), WriteError::Unavailable { .. }));
        assert!(matches!(
            c(401, ""),
            WriteError::Refused { status: 401, .. }
        ));
        assert!(matches!(
            c(404, "database not found"),
            WriteError::Refused { .. }
        ));
    }

    #[test]
    fn server_messages_are_extracted_from_each_dialect() {
        assert_eq!(
            server_message(r#"{"error":"database not found: \"x\""}"#),
            "database not found: \"x\""
        );
        assert_eq!(
            server_message(r#"{"code":"invalid","message":"unable to parse"}"#),
            "unable to parse"
        );
        assert_eq!(server_message("  plain text\n"), "plain text");
        assert!(server_message(&"é".repeat(3000)).len() <= 2000 + "…".len());
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }

    fn target(api: InfluxApi, url: &str) -> InfluxTarget {
        InfluxTarget {
            url: Url::parse(url).unwrap(),
            api,
            database: "env watch".into(),
            retention_policy: Some("autogen".into()),
            username: None,
            password: None,
            org: Some("bureau".into()),
            bucket: None,
            token: None,
            gzip: false,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn write_urls_carry_database_bucket_and_precision() {
        let t = target(InfluxApi::V1, "http://127.0.0.1:8086/influx/");
        assert_eq!(
            t.write_url().as_str(),
            "http://127.0.0.1:8086/influx/write?db=env+watch&rp=autogen&precision=ns"
        );
        let t = target(InfluxApi::V2, "http://127.0.0.1:8428");
        assert_eq!(
            t.write_url().as_str(),
            "http://127.0.0.1:8428/api/v2/write?org=bureau&bucket=env+watch%2Fautogen&precision=ns"
        );
    }
}

//! Polling a provincial HTTP API (reqwest + rustls): URL templates with a time window,
//! page or cursor; auth from secrets; retries with exponential backoff that honour
//! `Retry-After` on 429/503; conditional requests (ETag / Last-Modified).
//!
//! This module only fetches: it turns one time window into the ordered list of response
//! bodies. Decoding (the shared JSON decoder), storing and advancing the persisted cursor
//! happen in the caller, in one transaction, so a restart neither skips nor re-fetches.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::config::pipeline::{HttpAuth, HttpSource, Pagination};
use crate::config::secret::{Secret, SecretError};

/// Upper bound on pages per window: a server that never stops paginating is a bug.
const MAX_PAGES: u32 = 10_000;
/// Longest `Retry-After` we honour; beyond it we wait this long and try again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Why a window could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum HttpSourceError {
    #[error("pipeline {pipeline}: secret for source.auth: {source}")]
    Secret {
        pipeline: String,
        source: SecretError,
    },
    #[error("pipeline {pipeline}: bad request setup: {reason}")]
    Setup { pipeline: String, reason: String },
    #[error("{url}: gave up after {attempts} attempt(s): {last}")]
    Exhausted {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("{url}: HTTP {status} (not retried): {body}")]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: pagination did not end after {MAX_PAGES} pages")]
    EndlessPagination { url: String },
}

/// What is remembered between polls (persisted with the readings it produced).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCursor {
    /// Start of the next window to fetch.
    pub next_from: Option<DateTime<Utc>>,
    /// Validators of the last full response of the newest window (conditional requests).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// One fetched response body with the URL it came from (the origin of dead letters).
#[derive(Debug, Clone)]
pub struct FetchedPage {
    pub url: String,
    pub body: Vec<u8>,
}

/// The outcome of fetching one window.
#[derive(Debug, Clone)]
pub enum WindowFetch {
    /// The server said nothing changed (304) for this window.
    NotModified,
    /// All pages, in order, and the validators of the first page.
    Pages {
        pages: Vec<FetchedPage>,
        etag: Option<String>,
        last_modified: Option<String>,
        /// Requests that were retried (for metrics).
        retries: u32,
    },
}

enum Auth {
    None,
    Bearer(Secret),
    Basic(String, Secret),
    QueryKey(String, Secret),
    HeaderKey(HeaderName, Secret),
}

/// A configured poller for one pipeline.
pub struct HttpPoller {
    pipeline: String,
    settings: HttpSource,
    client: reqwest::Client,
    auth: Auth,
    headers: HeaderMap,
    /// JSON pointer to the records array (to count records for page-number pagination).
    records_pointer: String,
    /// Base of the retry backoff (doubles per attempt, capped at 60 s).
    pub backoff_base: Duration,
}

impl HttpPoller {
    /// Builds the client and resolves the auth secret now, so a missing secret is a
    /// startup error rather than a 3 a.m. surprise.
    pub fn new(
        pipeline: &str,
        settings: &HttpSource,
        records_pointer: &str,
    ) -> Result<HttpPoller, HttpSourceError> {
        let secret = |s: &crate::config::SecretRef| {
            s.resolve().map_err(|source| HttpSourceError::Secret {
                pipeline: pipeline.to_string(),
                source,
            })
        };
        let setup = |reason: String| HttpSourceError::Setup {
            pipeline: pipeline.to_string(),
            reason,
        };
        let auth = match &settings.auth {
            None => Auth::None,
            Some(HttpAuth::Bearer { token }) => Auth::Bearer(secret(token)?),
            Some(HttpAuth::Basic { username, password }) => {
                Auth::Basic(username.clone(), secret(password)?)
            }
            Some(HttpAuth::QueryKey { param, key }) => Auth::QueryKey(param.clone(), secret(key)?),
            Some(HttpAuth::HeaderKey { header, key }) => Auth::HeaderKey(
                HeaderName::try_from(header.as_str())
                    .map_err(|e| setup(format!("header name {header:?}: {e}")))?,
                secret(key)?,
            ),
        };
        let mut headers = HeaderMap::new();
        for (k, v) in &settings.headers {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|e| setup(format!("header name {k:?}: {e}")))?;
            let value =
                HeaderValue::try_from(v.as_str()).map_err(|e| setup(format!("header {k}: {e}")))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("envwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup(format!("HTTP client: {e}")))?;
        Ok(HttpPoller {
            pipeline: pipeline.to_string(),
            settings: settings.clone(),
            client,
            auth,
            headers,
            records_pointer: records_pointer.to_string(),
            backoff_base: Duration::from_millis(500),
        })
    }

    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    pub fn settings(&self) -> &HttpSource {
        &self.settings
    }

    /// Formats a window bound as the template expects.
    pub fn format_time(&self, t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
        match self.settings.time_format.as_str() {
            "rfc3339" => t.to_rfc3339_opts(SecondsFormat::Secs, true),
            "unix" => t.timestamp().to_string(),
            "unix_ms" => t.timestamp_millis().to_string(),
            fmt => t.with_timezone(&tz).format(fmt).to_string(),
        }
    }

    /// Fills the URL template. Values are percent-encoded; the secret query key is added
    /// here and never appears in logs (see [`redact`]).
    fn render(
        &self,
        template: &str,
        from: &str,
        to: &str,
        page: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<url::Url, HttpSourceError> {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let filled = template
            .replace("{from}", &enc(from))
            .replace("{to}", &enc(to))
            .replace("{page}", &page.map(|p| p.to_string()).unwrap_or_default())
            .replace("{cursor}", &enc(cursor.unwrap_or("")));
        let mut url = url::Url::parse(&filled).map_err(|e| HttpSourceError::Setup {
            pipeline: self.pipeline.clone(),
            reason: format!("URL {filled:?}: {e}"),
        })?;
        if let Auth::QueryKey(param, key) = &self.auth {
            url.query_pairs_mut().append_pair(param, key.expose());
        }
        Ok(url)
    }

    /// Fetches every page of the window `[from, to)`. `validators` are sent as
    /// If-None-Match / If-Modified-Since on the first request.
    pub async fn fetch_window(
        &self,
        from: &str,
        to: &str,
        validators: (Option<&str>, Option<&str>),
    ) -> Result<WindowFetch, HttpSourceError> {
        let mut pages = Vec::new();
        let mut retries = 0;
        let mut first_validators = (None, None);
        let mut page_no = match self.settings.pagination {
            Pagination::PageNumber { first, .. } => Some(first),
            _ => None,
        };
        let mut cursor: Option<String> = None;
        let mut next_url: Option<url::Url> = None;
        for n in 0..MAX_PAGES {
            let url = match next_url.take() {
                Some(u) => u,
                None => self.render(&self.settings.url, from, to, page_no, cursor.as_deref())?,
            };
            let conditional = if n == 0 { validators } else { (None, None) };
            let resp = self.get_with_retry(url.clone(), conditional).await?;
            retries += resp.retries;
            let Some(body) = resp.body else {
                return Ok(WindowFetch::NotModified);
            };
            if n == 0 {
                first_validators = (resp.etag, resp.last_modified);
            }
            let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            pages.push(FetchedPage {
                url: redact(&url),
                body,
            });
            // Malformed JSON ends the window: the decoder dead-letters the page with its URL.
            let Some(json) = json else { break };
            match &self.settings.pagination {
                Pagination::None => break,
                Pagination::PageNumber { size, .. } => {
                    let count = json
                        .pointer(&self.records_pointer)
                        .and_then(|v| v.as_array())
                        .map(|a| a.len())
                        .unwrap_or(0);
                    if count < *size as usize {
                        break;
                    }
                    page_no = page_no.map(|p| p + 1);
                }
                Pagination::NextLink { pointer } => {
                    match json.pointer(pointer).and_then(|v| v.as_str()) {
                        Some(link) if !link.is_empty() => {
                            let mut u = url.join(link).map_err(|e| HttpSourceError::Setup {
                                pipeline: self.pipeline.clone(),
                                reason: format!("next link {link:?}: {e}"),
                            })?;
                            if let Auth::QueryKey(param, key) = &self.auth
                                && !u.query_pairs().any(|(k, _)| k == param.as_str())
                            {
                                u.query_pairs_mut().append_pair(param, key.expose());
                            }
                            next_url = Some(u);
                        }
                        _ => break,
                    }
                }
                Pagination::Cursor { pointer } => {
                    match json.pointer(pointer).and_then(json_scalar) {
                        Some(c) if !c.is_empty() => cursor = Some(c),
                        _ => break,
                    }
                }
            }
            if n + 1 == MAX_PAGES {
                return Err(HttpSourceError::EndlessPagination { url: redact(&url) });
            }
        }
        Ok(WindowFetch::Pages {
            pages,
            etag: first_validators.0,
            last_modified: first_validators.1,
            retries,
        })
    }

    /// One GET (or the configured method) with retries. `body = None` means 304.
    async fn get_with_retry(
        &self,
        url: url::Url,
        validators: (Option<&str>, Option<&str>),
    ) -> Result<Response, HttpSourceError> {
        let attempts = self.settings.max_retries + 1;
        let method = reqwest::Method::from_bytes(self.settings.method.as_bytes()).map_err(|e| {
            HttpSourceError::Setup {
                pipeline: self.pipeline.clone(),
                reason: format!("method {:?}: {e}", self.settings.method),
            }
        })?;
        let shown = redact(&url);
        let mut last = String::new();
        for attempt in 0..attempts {
            let mut req = self
                .client
                .request(method.clone(), url.clone())
                .headers(self.headers.clone());
            req = match &self.auth {
                Auth::Bearer(t) => req.bearer_auth(t.expose()),
                Auth::Basic(u, p) => req.basic_auth(u, Some(p.expose())),
                Auth::HeaderKey(h, k) => req.header(h.clone(), k.expose()),
                Auth::None | Auth::QueryKey(..) => req,
            };
            if let Some(etag) = validators.0 {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = validators.1 {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            let wait = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status == StatusCode::NOT_MODIFIED {
                        return Ok(Response {
                            body: None,
                            etag: None,
                            last_modified: None,
                            retries: attempt,
                        });
                    }
                    if status.is_success() {
                        let etag = header_str(&resp, reqwest::header::ETAG);
                        let last_modified = header_str(&resp, reqwest::header::LAST_MODIFIED);
                        match resp.bytes().await {
                            Ok(b) => {
                                return Ok(Response {
                                    body: Some(b.to_vec()),
                                    etag,
                                    last_modified,
                                    retries: attempt,
                                });
                            }
                            Err(e) => {
                                last = format!("reading body: {e}");
                                self.backoff(attempt)
                            }
                        }
                    } else if status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::SERVICE_UNAVAILABLE
                    {
                        let after = retry_after(resp.headers());
                        last = format!("HTTP {status}");
                        after.unwrap_or_else(|| self.backoff(attempt))
                    } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
                        last = format!("HTTP {status}");
                        self.backoff(attempt)
                    } else {
                        let body = resp.text().await.unwrap_or_default();
                        return Err(HttpSourceError::Rejected {
                            url: shown,
                            status: status.as_u16(),
                            body: body.chars().take(300).collect(),
                        });
                    }
                }
                Err(e) => {
                    last = if e.is_timeout() {
                        format!("timed out after {:?}", self.settings.timeout)
                    } else {
                        format!("request failed: {}", error_chain(&e))
                    };
                    self.backoff(attempt)
                }
            };
            if attempt + 1 < attempts {
                tracing::warn!(
                    pipeline = %self.pipeline,
                    url = %shown,
                    attempt = attempt + 1,
                    wait_ms = wait.as_millis() as u64,
                    "{last}; retrying"
                );
                tokio::time::sleep(wait).await;
            }
        }
        Err(HttpSourceError::Exhausted {
            url: shown,
            attempts,
            last,
        })
    }

    /// Exponential backoff with full jitter: base · 2^attempt, at most 60 s.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = Duration::from_secs(60);
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(cap);
        let jitter: f64 = rand::random_range(0.5..1.0);
        exp.mul_f64(jitter)
    }
}

struct Response {
    body: Option<Vec<u8>>,
    etag: Option<String>,
    last_modified: Option<String>,
    retries: u32,
}

fn header_str(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3), capped.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = DateTime::parse_from_rfc2822(v).ok()?;
        (when.with_timezone(&Utc) - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// The URL without secret query values, for logs and dead letters.
pub fn redact(url: &url::Url) -> String {
    let mut u = url.clone();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let secret = ["key", "token", "secret", "password", "appkey", "sign"]
                .iter()
                .any(|s| lower.contains(s));
            (
                k.into_owned(),
                if secret { "***".into() } else { v.into_owned() },
            )
        })
        .collect();
    if pairs.is_empty() {
        return u.to_string();
    }
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

fn json_scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("99999"),
        );
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn secrets_are_redacted_from_urls() {
        let u = url::Url::parse("https://api.example/air?from=1&appKey=abc&page=2").unwrap();
        let r = redact(&u);
        assert!(!r.contains("abc"), "{r}");
        assert!(r.contains("page=2") && r.contains("appKey=***"), "{r}");
    }
}

/// Counters of HTTP sources (registered in /metrics by the daemon).
#[derive(Debug, Default)]
pub struct HttpMetrics {
    pub windows: std::sync::atomic::AtomicU64,
    pub pages: std::sync::atomic::AtomicU64,
    pub not_modified: std::sync::atomic::AtomicU64,
    pub retries: std::sync::atomic::AtomicU64,
    pub failures: std::sync::atomic::AtomicU64,
}

/// The cursor key of a pipeline in the store's `cursors` table.
pub fn cursor_key(pipeline: &str) -> String {
    format!("http:{pipeline}")
}

/// Where the first window starts when nothing is stored: `start_back` ago, on the hour.
fn initial_from(settings: &HttpSource, now: DateTime<Utc>) -> DateTime<Utc> {
    let back = chrono::Duration::from_std(settings.start_back).unwrap_or(chrono::Duration::days(1));
    let ts = (now - back).timestamp();
    DateTime::from_timestamp(ts - ts.rem_euclid(3600), 0).unwrap_or(now)
}

/// Polls one HTTP pipeline until `cancel` fires.
///
/// Windows are `[from, from + window)`. A window that has closed (its end is in the past)
/// is fetched once and the cursor moves past it in the same transaction as its readings;
/// the newest, still open window keeps the cursor at its start and is re-polled every
/// `interval` (with the same URL, so ETag / Last-Modified make an unchanged poll cheap).
/// After a restart the stored cursor says exactly where to resume: no window is skipped,
/// and closed windows are not fetched again.
pub async fn run(
    poller: HttpPoller,
    runtime: std::sync::Arc<crate::ingest::PipelineRuntime>,
    tz: chrono_tz::Tz,
    stored_cursor: Option<String>,
    tx: tokio::sync::mpsc::Sender<crate::ingest::Envelope>,
    metrics: std::sync::Arc<HttpMetrics>,
    cancel: tokio_util::sync::CancellationToken,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let key = cursor_key(poller.pipeline());
    let mut cursor: HttpCursor = stored_cursor
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let window = chrono::Duration::from_std(poller.settings().window)
        .unwrap_or(chrono::Duration::hours(1))
        .max(chrono::Duration::seconds(1));
    loop {
        let now = Utc::now();
        let from = cursor
            .next_from
            .unwrap_or_else(|| initial_from(poller.settings(), now));
        let to = from + window;
        let closed = to <= now;
        let (f, t) = (poller.format_time(from, tz), poller.format_time(to, tz));
        let validators = if closed {
            (None, None)
        } else {
            (cursor.etag.as_deref(), cursor.last_modified.as_deref())
        };
        let fetched = tokio::select! {
            r = poller.fetch_window(&f, &t, validators) => r,
            () = cancel.cancelled() => return,
        };
        metrics.windows.fetch_add(1, Relaxed);
        let mut envelopes = Vec::new();
        let next = match fetched {
            Ok(WindowFetch::NotModified) => {
                metrics.not_modified.fetch_add(1, Relaxed);
                Some((cursor.etag.clone(), cursor.last_modified.clone()))
            }
            Ok(WindowFetch::Pages {
                pages,
                etag,
                last_modified,
                retries,
            }) => {
                metrics.retries.fetch_add(u64::from(retries), Relaxed);
                metrics.pages.fetch_add(pages.len() as u64, Relaxed);
                for page in pages {
                    let origin = format!("http:{}", page.url);
                    envelopes.push(runtime.process(
                        &page.body,
                        &origin,
                        poller.pipeline(),
                        Utc::now(),
                    ));
                }
                Some((etag, last_modified))
            }
            Err(e) => {
                metrics.failures.fetch_add(1, Relaxed);
                tracing::error!(
                    pipeline = %poller.pipeline(),
                    window = %format!("{f}..{t}"),
                    "{e}; this window is tried again at the next poll"
                );
                None
            }
        };
        let next = match next {
            // A closed window is done: move past it and forget its validators.
            Some(_) if closed => HttpCursor {
                next_from: Some(to),
                etag: None,
                last_modified: None,
            },
            // The open window stays the cursor; its validators make re-polls cheap.
            Some((etag, last_modified)) => HttpCursor {
                next_from: Some(from),
                etag,
                last_modified,
            },
            None => cursor.clone(),
        };
        if next != cursor || !envelopes.is_empty() {
            let serialized = serde_json::to_string(&next).unwrap_or_default();
            // The cursor rides on the window's last envelope: committed with its readings.
            let mut last = envelopes.pop().unwrap_or_default();
            last.cursor = Some((key.clone(), serialized));
            envelopes.push(last);
            for env in envelopes {
                if tx.send(env).await.is_err() {
                    return; // the store writer is gone: shutting down
                }
            }
            cursor = next;
        }
        // Catch up through closed windows at once; otherwise wait for the next poll.
        let progressed_past_closed = closed && cursor.next_from == Some(to);
        if !progressed_past_closed {
            let jitter = poller
                .settings()
                .jitter
                .mul_f64(rand::random_range(0.0..1.0));
            tokio::select! {
                () = tokio::time::sleep(poller.settings().interval + jitter) => {}
                () = cancel.cancelled() => return,
            }
        } else if cancel.is_cancelled() {
            return;
        }
    }
}

//! The daemon's HTTP surface (axum): `/metrics`, `/healthz`, `/readyz`, `/api/status`
//! on `[http] listen` (default 127.0.0.1:9464).
//!
//! Loopback only, by default and by policy: these endpoints have no authentication and
//! no TLS, and `/api/status` is the bureau's unpublished standing against its targets.
//! A non-loopback address (including 0.0.0.0 / [::]) is refused at bind time unless the
//! config says `[http] allow_non_loopback = true`; the recommended way to let a remote
//! Prometheus scrape is a reverse proxy with TLS and auth on the same host, or a
//! Prometheus agent on the host itself (docs/operations.md).
//!
//! [`Server::bind`] binds first and returns, so `run` can fail before READY=1 when the
//! port is taken; [`Server::run`] then serves until the [`Shutdown`] triggers, finishing
//! requests in flight.

mod health;
mod routes;
mod status;

use std::net::SocketAddr;
use std::sync::Arc;

pub use health::{Check, Health, HealthPolicy, Readiness};
pub use routes::router;
pub use status::{
    AirStatus, DrinkingSources, GoodDayRatio, InferiorV, JudgeRun, StatusBoard, StatusReport,
    TargetsView, WaterStatus,
};

use crate::config::daemon::HttpSettings;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// The state every handler reads; cheap to clone (three `Arc`s).
#[derive(Debug, Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub status: Arc<StatusBoard>,
}

/// Whether a non-loopback listen address is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenPolicy {
    /// Only 127.0.0.0/8 and ::1 (the default).
    LoopbackOnly,
    /// Any address: the operator has put auth/TLS in front, or accepts the exposure.
    AllowNonLoopback,
}

impl ListenPolicy {
    /// The policy the config asks for (`[http] allow_non_loopback`).
    pub fn from_settings(http: &HttpSettings) -> ListenPolicy {
        if http.allow_non_loopback {
            ListenPolicy::AllowNonLoopback
        } else {
            ListenPolicy::LoopbackOnly
        }
    }
}

/// Why the HTTP server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "[http] listen = \"{0}\" is not a loopback address; /metrics, /readyz and /api/status have no authentication. Use 127.0.0.1 (and a reverse proxy with TLS and auth for remote access), or set [http] allow_non_loopback = true"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr} ([http] listen): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// A bound, not yet serving, HTTP listener.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
}

impl Server {
    /// Checks `addr` against `policy` and binds it (port 0 picks a free port: tests).
    pub async fn bind(addr: SocketAddr, policy: ListenPolicy) -> Result<Server, ServeError> {
        if policy == ListenPolicy::LoopbackOnly && !addr.ip().is_loopback() {
            return Err(ServeError::NotLoopback(addr));
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        Ok(Server {
            listener,
            local_addr,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` triggers, then stops accepting and lets requests in
    /// flight finish (they are all short reads of in-memory state).
    pub async fn run(self, state: AppState, shutdown: Shutdown) -> Result<(), ServeError> {
        tracing::info!(addr = %self.local_addr, "HTTP server listening");
        let app = router(state);
        let token = shutdown.token();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(token.cancelled_owned())
            .await
            .map_err(ServeError::Serve)
    }
}

//! The HTTP routes: one handler per endpoint, each a read of shared state.
//!
//! - `GET /metrics`: Prometheus/OpenMetrics text from [`crate::metrics::Metrics`].
//! - `GET /healthz`: 200 while the process answers at all (liveness; systemd's watchdog
//!   covers a wedged main loop).
//! - `GET /readyz`: 200 when every readiness check passes, else 503; JSON either way,
//!   naming the failing checks.
//! - `GET /api/status`: the district's standing against its targets, as JSON.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::metrics::CONTENT_TYPE;

/// The router with every endpoint; unknown paths get 404, other methods 405.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/status", get(status))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.health.readiness();
    let code = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(readiness)).into_response()
}

async fn status(State(state): State<AppState>) -> Response {
    let report = state.status.report(state.metrics.pipeline_counters());
    Json(report).into_response()
}

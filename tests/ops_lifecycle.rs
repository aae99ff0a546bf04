//! The operational pieces wired together the way `envwatch run` uses them (this test's
//! `run_loop` is the reference skeleton): signals, sd_notify, the HTTP server and the
//! shutdown, driven by real signals to this process and observed through a stand-in
//! NOTIFY_SOCKET and real HTTP requests.
//!
//! One test in its own binary: it installs process-wide signal handlers and sets
//! NOTIFY_SOCKET.

use std::sync::Arc;
use std::time::Duration;

use envwatch::config::daemon::Targets;
use envwatch::metrics::Metrics;
use envwatch::serve::{AppState, Health, HealthPolicy, ListenPolicy, Server, StatusBoard};
use envwatch::shutdown::{ReloadRequests, Shutdown, install_signal_handlers, join_within};
use envwatch::systemd::Notifier;
use tokio::net::UnixDatagram;

/// The skeleton of the daemon's main loop: READY once up, WATCHDOG pings from the loop
/// itself, RELOADING/READY around SIGHUP reloads, STOPPING on shutdown.
async fn run_loop(
    mut notifier: Notifier,
    shutdown: Shutdown,
    mut reloads: ReloadRequests,
    health: Arc<Health>,
) {
    notifier.ready("1 pipeline running");
    let tick = notifier
        .tick_interval()
        .unwrap_or(Duration::from_secs(1))
        .min(Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    // After the shutdown starts, the signal task closes the reload channel; stop
    // polling it then rather than spinning on `None`.
    let mut reloads_open = true;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait() => break,
            generation = reloads.recv(), if reloads_open => match generation {
                Some(generation) => {
                    notifier.reloading();
                    // ... Config::load, diff pipelines, restart changed sources ...
                    health.register_source("water-hj212-mqtt");
                    notifier.reloaded(&format!(
                        "reloaded (generation {generation}): 2 pipelines"
                    ));
                }
                None => reloads_open = false,
            },
            _ = ticker.tick() => {
                notifier.tick();
            }
        }
    }
    notifier.stopping();
}

async fn recv(sock: &UnixDatagram) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf))
        .await
        .expect("a notification within 5 s")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Next notification that is not a watchdog ping.
async fn recv_state(sock: &UnixDatagram) -> String {
    for _ in 0..50 {
        let msg = recv(sock).await;
        if msg != "WATCHDOG=1\n" {
            return msg;
        }
    }
    panic!("only watchdog pings");
}

fn kill(signal: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(std::process::id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_skeleton_is_ready_reloads_on_sighup_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    // SAFETY: single test in this binary; set before any task reads the environment.
    unsafe {
        std::env::set_var("NOTIFY_SOCKET", &sock_path);
        std::env::set_var("WATCHDOG_USEC", "400000"); // ping every 200 ms
        std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
    }

    let shutdown = Shutdown::new();
    let reloads = install_signal_handlers(&shutdown).unwrap();
    let state = AppState {
        metrics: Arc::new(Metrics::new()),
        health: Arc::new(Health::new(HealthPolicy::default())),
        status: Arc::new(StatusBoard::new(Targets::default(), "杭州", "余杭区")),
    };
    state.metrics.register_pipeline("air-hj212-mqtt");
    state.health.register_source("air-hj212-mqtt");
    state.health.set_store(Ok(()));
    state.health.set_source("air-hj212-mqtt", true, None);
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), ListenPolicy::LoopbackOnly)
        .await
        .unwrap();
    let addr = server.local_addr();
    let http = tokio::spawn(server.run(state.clone(), shutdown.clone()));
    let main = tokio::spawn(run_loop(
        Notifier::from_env(),
        shutdown.clone(),
        reloads,
        state.health.clone(),
    ));

    assert_eq!(
        recv_state(&sock).await,
        "READY=1\nSTATUS=1 pipeline running\n"
    );
    // The loop pings the watchdog on its own.
    let mut pings = 0;
    for _ in 0..3 {
        if recv(&sock).await == "WATCHDOG=1\n" {
            pings += 1;
        }
    }
    assert!(pings >= 2, "watchdog pings from the loop: {pings}");

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let ready = client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    kill("HUP");
    let reloading = recv_state(&sock).await;
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert_eq!(
        recv_state(&sock).await,
        "READY=1\nSTATUS=reloaded (generation 1): 2 pipelines\n"
    );
    // The reload registered a new source that is not connected yet: not ready.
    let ready = client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    kill("TERM");
    assert_eq!(
        recv_state(&sock).await,
        "STOPPING=1\nSTATUS=shutting down\n"
    );
    assert!(
        join_within("main loop", main, Duration::from_secs(5))
            .await
            .is_some()
    );
    let served = join_within("http", http, Duration::from_secs(5))
        .await
        .expect("HTTP server stops within 5 s");
    served.unwrap();
}

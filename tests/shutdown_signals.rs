//! Real signals to this test process: SIGHUP becomes a reload request, SIGTERM a
//! shutdown. One test in its own binary, because installed handlers are process-wide.

use std::time::Duration;

use envwatch::shutdown::{Shutdown, install_signal_handlers};

fn send(signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(std::process::id().to_string())
        .status()
        .expect("run kill(1) (procps)");
    assert!(status.success(), "kill -{signal} failed");
}

#[tokio::test]
async fn sighup_requests_a_reload_and_sigterm_shuts_down() {
    let shutdown = Shutdown::new();
    let mut reloads = install_signal_handlers(&shutdown).expect("install signal handlers");

    send("HUP");
    let generation = tokio::time::timeout(Duration::from_secs(5), reloads.recv())
        .await
        .expect("a reload request within 5 s of SIGHUP");
    assert_eq!(generation, Some(1));
    assert!(!shutdown.is_triggered(), "SIGHUP must not stop the daemon");

    send("HUP");
    let generation = tokio::time::timeout(Duration::from_secs(5), reloads.recv())
        .await
        .expect("a second reload request");
    assert_eq!(generation, Some(2));

    send("TERM");
    tokio::time::timeout(Duration::from_secs(5), shutdown.wait())
        .await
        .expect("shutdown within 5 s of SIGTERM");
    // No reloads after a shutdown: the channel closes.
    let closed = tokio::time::timeout(Duration::from_secs(5), reloads.recv())
        .await
        .expect("reload channel closes");
    assert_eq!(closed, None);
}

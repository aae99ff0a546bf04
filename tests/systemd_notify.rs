//! The sd_notify protocol as systemd sees it: a Unix datagram socket stands in for
//! `NOTIFY_SOCKET`, and the test reads what the daemon would tell systemd.
//!
//! One test in its own binary, because it sets process-wide environment variables.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use envwatch::systemd::Notifier;

fn recv(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).expect("a notification datagram");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn notifications_follow_the_daemon_lifecycle_and_watchdog_pings_are_rate_limited() {
    // Outside systemd (no NOTIFY_SOCKET) the notifier is a no-op, even with a watchdog
    // timeout in the environment.
    assert!(
        std::env::var_os("NOTIFY_SOCKET").is_none(),
        "run outside systemd"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    // SAFETY: this binary has a single test and no other thread reads the environment.
    unsafe {
        std::env::set_var("WATCHDOG_USEC", "20000000");
        std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
    }
    let mut outside = Notifier::from_env();
    assert!(!outside.is_enabled());
    // Now a socket is listening where any send would land (sd_notify reads NOTIFY_SOCKET
    // on every send): the notifier made outside systemd must still send nothing.
    // SAFETY: as above.
    unsafe { std::env::set_var("NOTIFY_SOCKET", &path) };
    outside.ready("ready");
    assert!(!outside.tick(), "no watchdog ping outside systemd");
    outside.status("running");
    outside.reloading();
    outside.reloaded("reloaded");
    outside.stopping();
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    match sock.recv(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok(n) => panic!(
            "a notifier made outside systemd sent {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => panic!("{e}"),
    }
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();

    let mut n = Notifier::from_env();
    assert!(n.is_enabled());
    assert_eq!(n.watchdog_timeout(), Some(Duration::from_secs(20)));
    assert_eq!(n.tick_interval(), Some(Duration::from_secs(10)));

    n.ready("2 pipelines running");
    assert_eq!(recv(&sock), "READY=1\nSTATUS=2 pipelines running\n");

    let t0 = Instant::now();
    assert!(n.tick_at(t0), "first tick pings");
    assert_eq!(recv(&sock), "WATCHDOG=1\n");
    assert!(
        !n.tick_at(t0 + Duration::from_secs(9)),
        "not due before half the timeout"
    );
    assert!(
        n.tick_at(t0 + Duration::from_secs(10)),
        "due at half the timeout"
    );
    assert_eq!(recv(&sock), "WATCHDOG=1\n");

    n.reloading();
    let msg = recv(&sock);
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines[0], "RELOADING=1");
    assert!(lines[1].starts_with("MONOTONIC_USEC="), "{msg}");
    assert!(
        lines[1]["MONOTONIC_USEC=".len()..].parse::<u64>().is_ok(),
        "{msg}"
    );
    assert_eq!(lines[2], "STATUS=reloading configuration");

    n.reloaded("reloaded: 3 pipelines");
    assert_eq!(recv(&sock), "READY=1\nSTATUS=reloaded: 3 pipelines\n");

    n.status("120 readings/min");
    assert_eq!(recv(&sock), "STATUS=120 readings/min\n");

    n.stopping();
    assert_eq!(recv(&sock), "STOPPING=1\nSTATUS=shutting down\n");

    // A watchdog meant for another process (WATCHDOG_PID) is not ours.
    // SAFETY: as above.
    unsafe { std::env::set_var("WATCHDOG_PID", "1") };
    assert_eq!(Notifier::from_env().watchdog_timeout(), None);

    // A vanished socket is logged once and never fatal.
    drop(sock);
    n.status("still running");
    n.stopping();
}

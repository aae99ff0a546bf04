//! The demo's embedded MQTT broker (rumqttd): `envwatch demo` needs no Mosquitto.

use std::net::{SocketAddr, TcpListener};

use anyhow::Context;

/// A running embedded broker. The broker thread lives until the process exits (rumqttd
/// has no stop API); the demo is a short-lived process, so that is fine.
pub struct EmbeddedBroker {
    pub addr: SocketAddr,
}

/// A free loopback port: bind port 0, read the port, release it for the broker.
fn free_loopback_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(l.local_addr()?.port())
}

impl EmbeddedBroker {
    /// Starts rumqttd on a free loopback port and waits until it accepts connections.
    pub fn start() -> anyhow::Result<EmbeddedBroker> {
        let port = free_loopback_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // rumqttd's Config is serde-deserializable; TOML keeps the settings readable.
        let toml_cfg = format!(
            r#"
id = 0
[router]
id = 0
max_connections = 64
max_outgoing_packet_count = 1000
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "demo"
listen = "{addr}"
next_connection_delay_ms = 1
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = 1048576
    max_inflight_count = 1000
    dynamic_filters = true
"#
        );
        let config: rumqttd::Config =
            toml::from_str(&toml_cfg).context("embedded broker config")?;
        let mut broker = rumqttd::Broker::new(config);
        std::thread::Builder::new()
            .name("rumqttd".into())
            .spawn(move || {
                if let Err(e) = broker.start() {
                    tracing::error!("embedded MQTT broker stopped: {e}");
                }
            })
            .context("starting the embedded broker thread")?;
        // Bounded wait until the listener is up.
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(EmbeddedBroker { addr });
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        anyhow::bail!("embedded MQTT broker did not start listening on {addr} within 2 s")
    }
}

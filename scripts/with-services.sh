#!/usr/bin/env bash
# Runs a command next to the real servers the tests and benchmarks talk to. On a fresh
# machine it installs (only what is missing) and starts on loopback, on ports of its own:
#   Mosquitto (MQTT), InfluxDB 1.x, VictoriaMetrics (InfluxDB v2 write API),
# waits until each answers, runs the command with their addresses in env vars
# (ENVWATCH_TEST_MQTT / _INFLUX / _VM), and stops what it started.
# Usage: scripts/with-services.sh COMMAND [ARGS...]
#   e.g. scripts/with-services.sh target/release/envwatch bench e2e
set -euo pipefail
cd "$(dirname "$0")/.."

MQTT_PORT=${ENVWATCH_TEST_MQTT_PORT:-18830}
INFLUX_PORT=${ENVWATCH_TEST_INFLUX_PORT:-18086}
INFLUX_RPC_PORT=$((INFLUX_PORT + 2))
VM_PORT=${ENVWATCH_TEST_VM_PORT:-18428}

log() { printf '[with-services.sh] %s\n' "$*" >&2; }

need_pkgs=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need_pkgs+=(mosquitto)
command -v mosquitto_pub >/dev/null || need_pkgs+=(mosquitto-clients)
command -v influxd >/dev/null || need_pkgs+=(influxdb)
command -v victoria-metrics >/dev/null || need_pkgs+=(victoria-metrics)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v chromium >/dev/null || need_pkgs+=(chromium)
# A CJK font, so the report screenshot shows its Chinese text (4.5 MB).
[ -n "$(fc-list :lang=zh 2>/dev/null || true)" ] || need_pkgs+=(fonts-wqy-microhei)
command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' own services are not wanted: ours run on private ports below.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/envwatch-test.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$MQTT_PORT" "$INFLUX_PORT" "$VM_PORT"; do
  port_free "$p" || { log "port $p is already in use; set ENVWATCH_TEST_*_PORT"; exit 1; }
done

# --- Mosquitto: persistence on, and max_queued_messages raised (DESIGN.md pitfall: the
# default 1000 silently drops a persistent session's backlog while envwatch restarts).
cat > "$RUN_DIR/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
# Stay root: the run directory is private (mode 700), and persistence must be able to
# write there (a broker restart in a test must keep the queued messages).
user root
persistence true
persistence_location $RUN_DIR/mosquitto/
max_queued_messages 1000000
max_inflight_messages 1000
message_size_limit 0
CONF
mkdir -p "$RUN_DIR/mosquitto"
"$MOSQUITTO" -c "$RUN_DIR/mosquitto.conf" >"$RUN_DIR/mosquitto.log" 2>&1 &
PIDS+=($!)

# --- InfluxDB 1.x
mkdir -p "$RUN_DIR/influx"
cat > "$RUN_DIR/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"
[meta]
  dir = "$RUN_DIR/influx/meta"
[data]
  dir = "$RUN_DIR/influx/data"
  wal-dir = "$RUN_DIR/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  max-body-size = 0
CONF
influxd -config "$RUN_DIR/influxdb.conf" >"$RUN_DIR/influxd.log" 2>&1 &
PIDS+=($!)

# --- VictoriaMetrics (retention long enough for historical test data)
victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" -storageDataPath="$RUN_DIR/vm" \
  -retentionPeriod=100y -search.disableCache -loggerLevel=ERROR >"$RUN_DIR/vm.log" 2>&1 &
PIDS+=($!)

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 100); do
    if "$@" >/dev/null 2>&1; then log "$name ready"; return 0; fi
    sleep 0.2
  done
  log "$name did not become ready; its log:"; cat "$RUN_DIR"/*.log >&2; exit 1
}
wait_for mosquitto mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t envwatch/ping -m ping
wait_for influxdb curl -sf "http://127.0.0.1:$INFLUX_PORT/ping"
wait_for victoria-metrics curl -sf "http://127.0.0.1:$VM_PORT/health"

export ENVWATCH_TEST_MQTT="127.0.0.1:$MQTT_PORT"
export ENVWATCH_TEST_INFLUX="http://127.0.0.1:$INFLUX_PORT"
export ENVWATCH_TEST_VM="http://127.0.0.1:$VM_PORT"
export ENVWATCH_TEST_MOSQUITTO_BIN="$MOSQUITTO"
export ENVWATCH_TEST_INFLUXD_BIN="$(command -v influxd)"
export ENVWATCH_SHARED_DATA="${ENVWATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}"

[ $# -gt 0 ] || { log "usage: scripts/with-services.sh COMMAND [ARGS...]"; exit 2; }
"$@"

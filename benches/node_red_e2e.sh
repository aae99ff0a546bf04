#!/usr/bin/env bash
# The peer figure for `envwatch bench e2e --format json`: the same workload through
# Node-RED (npm node-red + node-red-contrib-influxdb). Flow: mqtt in (QoS 1) -> json ->
# one point per message -> join (1000 messages or 100 ms) -> influx batch (InfluxDB 1.x).
# Node-RED acks each message on receipt and keeps nothing durable: the comparison is
# envwatch with its durable commit against a bridge without one.
#
# Usage (next to the services): scripts/with-services.sh benches/node_red_e2e.sh [MESSAGES] [RATE]
#   MESSAGES default 50000; RATE in msg/s, 0 = full speed (default).
# Prints readings/s until InfluxDB holds every reading, Node-RED's CPU (% of one core;
# whole run, and for a paced run the steady part) and peak RSS, and the load average.
set -euo pipefail
cd "$(dirname "$0")"
MESSAGES=${1:-50000}
RATE=${2:-0}
STATIONS=200
MQTT=${ENVWATCH_TEST_MQTT:-127.0.0.1:1883}
INFLUX=${ENVWATCH_TEST_INFLUX:-http://127.0.0.1:8086}
HOST=${MQTT%:*}
PORT=${MQTT##*:}
NR=$PWD/.node-red
if [ ! -x "$NR/node_modules/.bin/node-red" ]; then
  echo "installing node-red and node-red-contrib-influxdb into $NR" >&2
  mkdir -p "$NR"
  npm install --prefix "$NR" --no-audit --no-fund node-red@4 node-red-contrib-influxdb >&2
fi
TAG=nr$$
DB=envwatch_bench_$TAG
WORK=$(mktemp -d)
trap 'kill $NR_PID 2>/dev/null || true; curl -s -XPOST "$INFLUX/query" --data-urlencode "q=DROP DATABASE \"$DB\"" >/dev/null || true; rm -rf "$WORK"' EXIT
curl -s -XPOST "$INFLUX/query" --data-urlencode "q=CREATE DATABASE \"$DB\"" >/dev/null
INFLUX_HOST=$(echo "$INFLUX" | sed -E 's#^https?://##; s#:.*##')
INFLUX_PORT=$(echo "$INFLUX" | sed -E 's#.*:([0-9]+).*#\1#')
cat >"$WORK/flows.json" <<EOF
[
 {"id":"nr_broker","type":"mqtt-broker","broker":"$HOST","port":"$PORT","clientid":"bench-nodered-$TAG","cleansession":true,"protocolVersion":"4","keepalive":"60"},
 {"id":"nr_influx","type":"influxdb","hostname":"$INFLUX_HOST","port":"$INFLUX_PORT","protocol":"http","database":"$DB","name":"","usetls":false,"influxdbVersion":"1.x"},
 {"id":"nr_tab","type":"tab","label":"bench"},
 {"id":"nr_in","type":"mqtt in","z":"nr_tab","topic":"bench/$TAG/nr/+/json","qos":"1","datatype":"json","broker":"nr_broker","wires":[["nr_point"]]},
 {"id":"nr_point","type":"function","z":"nr_tab","func":"const r = msg.payload;\nmsg.payload = { measurement: 'air_hourly', tags: { station: r.station }, fields: { pm2_5: r.pm2_5, pm10: r.pm10, so2: r.so2, no2: r.no2, co: r.co, o3: r.o3 }, timestamp: new Date(r.time * 1000) };\nreturn msg;","outputs":1,"wires":[["nr_join"]]},
 {"id":"nr_join","type":"join","z":"nr_tab","mode":"custom","build":"array","property":"payload","propertyType":"msg","count":"1000","timeout":"0.1","wires":[["nr_out"]]},
 {"id":"nr_out","type":"influxdb batch","z":"nr_tab","influxdb":"nr_influx","precision":"","retentionPolicy":"","wires":[]}
]
EOF
"$NR/node_modules/.bin/node-red" --userDir "$WORK" --port 0 "$WORK/flows.json" >"$WORK/nr.log" 2>&1 &
NR_PID=$!
for _ in $(seq 1 300); do grep -q "Connected to broker" "$WORK/nr.log" && break; sleep 0.1; done
grep -q "Connected to broker" "$WORK/nr.log" || { cat "$WORK/nr.log"; echo "Node-RED did not connect" >&2; exit 1; }
sleep 1
cpu() { awk '{print $14 + $15}' "/proc/$NR_PID/stat"; }
WANT=$((MESSAGES * 6))
echo "Node-RED $("$NR/node_modules/.bin/node-red" --version 2>/dev/null | head -1 || true): $MESSAGES JSON messages x 6 readings from $STATIONS stations, QoS 1, rate ${RATE:-0} (0 = full speed); load average $(cut -d' ' -f1-3 /proc/loadavg)"
C0=$(cpu); T0=$(date +%s.%N)
NODE_PATH=$NR/node_modules node - "$HOST" "$PORT" "$TAG" "$MESSAGES" "$RATE" "$STATIONS" <<'EOF' &
const mqtt = require('mqtt');
const [host, port, tag, n, rate, stations] = process.argv.slice(2);
const c = mqtt.connect({ host, port: +port, clientId: `bench-nr-pub-${tag}` });
c.on('connect', async () => {
  const start = Date.now();
  let acked = 0;
  for (let i = 0; i < +n; i++) {
    if (+rate > 0) { const due = start + (i * 1000) / +rate; const w = due - Date.now(); if (w > 2) await new Promise(r => setTimeout(r, w)); }
    const t = 1577808000 + 3600 * Math.floor(i / +stations);
    const rec = { station: `B${String(i % +stations).padStart(3, '0')}`, time: t };
    ['pm2_5', 'pm10', 'so2', 'no2', 'co', 'o3'].forEach((f, k) => { rec[f] = ((i + k * 7) % 90) + 0.5; });
    c.publish(`bench/${tag}/nr/${i % +stations}/json`, JSON.stringify(rec), { qos: 1 }, () => { if (++acked === +n) c.end(); });
    if (i % 500 === 0) await new Promise(r => setImmediate(r));
  }
});
EOF
PUB=$!
STEADY_C0=""; STEADY_T0=""
if [ "$RATE" != "0" ]; then
  sleep "$(echo "0.1 * $MESSAGES / $RATE" | bc -l)"; STEADY_C0=$(cpu); STEADY_T0=$(date +%s.%N)
  wait $PUB; STEADY_C1=$(cpu); STEADY_T1=$(date +%s.%N)
fi
for _ in $(seq 1 ${POLLS:-9000}); do
  N=$(curl -s -G "$INFLUX/query" --data-urlencode "db=$DB" --data-urlencode "q=SELECT count(*) FROM air_hourly" |
    python3 -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); print(sum(v for v in s[0]["values"][0][1:]) if s else 0)')
  [ "$N" -ge "$WANT" ] && break
  sleep 0.05
done
T1=$(date +%s.%N); C1=$(cpu)
if [ "$N" -lt "$WANT" ]; then
  echo "InfluxDB holds $N of $WANT readings; Node-RED log:" >&2
  tail -20 "$WORK/nr.log" >&2
  exit 1
fi
wait $PUB 2>/dev/null || true
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$NR_PID/status")
echo "Node-RED MQTT -> InfluxDB: $(echo "$WANT / ($T1 - $T0)" | bc -l | xargs printf '%.0f') readings/s ($N of $WANT in $(echo "$T1 - $T0" | bc -l | xargs printf '%.2f') s)"
echo "Node-RED CPU, whole run: $(echo "($C1 - $C0) / ($T1 - $T0)" | bc -l | xargs printf '%.1f')% of a core; peak RSS $((RSS / 1024)) MiB"
if [ -n "$STEADY_C0" ]; then
  echo "Node-RED CPU, steady $RATE msg/s: $(echo "($STEADY_C1 - $STEADY_C0) / ($STEADY_T1 - $STEADY_T0)" | bc -l | xargs printf '%.1f')% of a core"
fi

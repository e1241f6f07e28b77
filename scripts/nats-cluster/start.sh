#!/usr/bin/env bash
# Start a 3-node NATS cluster on loopback with node.conf, in the foreground (Ctrl-C stops all):
#   node n1: NATS 4222, MQTT 1884, routes 6222     node n2: 4223, 1885, 6223
#   node n3: 4224, 1886, 6224                       JetStream files under $RXEDGE_NATS_DIR
# Gateways: broker.protocol = "3.1.1" and broker.urls = the three MQTT ports; clerks:
# rxedge procurement watch --nats nats://127.0.0.1:4222,nats://127.0.0.1:4223 --durable NAME
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${RXEDGE_NATS_DIR:-/tmp/rxedge-nats}
routes="[nats://127.0.0.1:6222, nats://127.0.0.1:6223, nats://127.0.0.1:6224]"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for n in 1 2 3; do
    mkdir -p "$dir/n$n"
    RXEDGE_NATS_NAME="n$n" RXEDGE_NATS_PORT=$((4221 + n)) RXEDGE_NATS_MQTT_PORT=$((1883 + n)) \
    RXEDGE_NATS_CLUSTER_PORT=$((6221 + n)) RXEDGE_NATS_ROUTES="$routes" \
    RXEDGE_NATS_STORE="$dir/n$n" nats-server -c "$here/node.conf" &
    pids+=($!)
done
wait

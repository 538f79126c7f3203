#!/usr/bin/env bash
# The fleet under load: 64 concurrent clients (examples/load) resuming TLS 1.3 stateful tickets
# against one examples/tokio_server, with its sessions in memory, in one redis-server, in a
# 3-master Redis Cluster, and with Redis down. Loopback only; every server this script starts is
# stopped when it ends. Prints one line per case and the server's counters (round trips: one
# lookup per resumed handshake, stores off the critical path).
#
#   bash benches/load.sh [COUNT] [SECONDS]      (defaults: 20000 handshakes, 20 s per phase)
#
# Run it on a quiet machine; it takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-20000}
SECONDS_PER_PHASE=${2:-20}
CLIENTS=64

cargo build -q --release --features tokio,redis-async --example tokio_server --example load
BIN=target/release/examples
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
head -c 32 /dev/urandom >"$WORK/fleet.key"

# A free loopback port below 55536 whose cluster bus port (+10000) is free too.
free_port() {
    python3 - <<'PY'
import random, socket
while True:
    port = random.randint(20000, 45000)
    try:
        for p in (port, port + 10000):
            with socket.socket() as s:
                s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(port)
    break
PY
}

start_redis() { # PORT [extra args]
    local port=$1; shift
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" "$@" \
        >"$WORK/redis-$port.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.1; done
    echo "redis-server on $port did not start" >&2; exit 1
}

# One case: the server's store flags; prints the load line(s) and the server's counters.
run_case() { # LABEL [--full] -- server flags...
    local label=$1; shift
    local full=""
    if [ "$1" = "--full" ]; then full="--full"; shift; fi
    shift # --
    : >"$WORK/server.out"
    "$BIN/tokio_server" --listen 127.0.0.1:0 --tls13 --stateful "$@" \
        >"$WORK/server.out" 2>"$WORK/server.err" &
    local server=$!
    PIDS+=($server)
    for _ in $(seq 100); do grep -q "listening on" "$WORK/server.out" && break; sleep 0.1; done
    local addr
    addr=$(sed -n 's/^listening on //p' "$WORK/server.out" | head -1)
    echo "== $label"
    "$BIN/load" --connect "$addr" --clients "$CLIENTS" --count "$COUNT" \
        --seconds "$SECONDS_PER_PHASE" --tls13 $full | grep -v '^load:'
    kill -INT "$server"
    wait "$server" 2>/dev/null || true
    grep -h "^stats: " "$WORK/server.out" | tail -1 || true
}

run_case "memory (MemoryCache)" --full --

REDIS=$(free_port)
start_redis "$REDIS"
run_case "redis (one redis-server)" -- --redis "redis://127.0.0.1:$REDIS" --fleet-key "$WORK/fleet.key"

NODES=()
for _ in 1 2 3; do
    port=$(free_port)
    start_redis "$port" --cluster-enabled yes --cluster-config-file "$WORK/nodes-$port.conf" \
        --cluster-node-timeout 1000
    NODES+=("127.0.0.1:$port")
done
redis-cli --cluster create "${NODES[@]}" --cluster-yes >"$WORK/cluster.log" 2>&1
# Every node must know the whole slot map before the load starts (a node still converging
# answers CLUSTERDOWN, which the server would count as failed lookups and stores).
for node in "${NODES[@]}"; do
    for _ in $(seq 100); do
        redis-cli -p "${node##*:}" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1
    done
done
run_case "redis cluster (3 masters)" -- --redis-cluster "$(IFS=,; echo "${NODES[*]}")" \
    --fleet-key "$WORK/fleet.key"

DOWN=$(free_port) # nothing listens there
run_case "redis down (connection refused)" --full -- --redis "redis://127.0.0.1:$DOWN" \
    --fleet-key "$WORK/fleet.key"

#!/usr/bin/env bash
# The conformance check: tlsfuzzer scripts against `examples/server`, compared with the committed
# list of expected failures.
#
#   bash tests/conformance/run.sh                 our server; fails on any failing probe that is not
#                                                 in expected-failures.list, and on any listed probe
#                                                 that now passes (so the list only shrinks)
#   bash tests/conformance/run.sh --peer openssl  the same scripts against `openssl s_server -www`
#                                                 with the same certificates (a baseline; no list)
#   options: --config NAME (only that configuration), --script NAME (only that script),
#            --out DIR (keep the logs there; default: a temporary directory, printed at the end)
#
# The suite is looked up as ../shared/tlsfuzzer relative to the repository root (or
# $TLSFUZZER_DIR); without it the check prints that it is skipped and succeeds.
# scripts.list says which scripts run in which server configuration; the configurations
# (certificate, versions, flags) are defined below, the same for both peers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
suite=${TLSFUZZER_DIR:-$root/../shared/tlsfuzzer}
pki=$root/tests/data/pki

peer=ours only_config="" only_script="" out=""
while [ $# -gt 0 ]; do
    case $1 in
        --peer) peer=$2; shift 2 ;;
        --config) only_config=$2; shift 2 ;;
        --script) only_script=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "conformance: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $peer in ours|openssl) ;; *) echo "conformance: --peer is ours or openssl" >&2; exit 2 ;; esac

if [ ! -x "$suite/run.sh" ]; then
    echo "conformance: skipped ($suite/run.sh not found)"
    exit 0
fi
out=${out:-$(mktemp -d)}
mkdir -p "$out"

# The suite's scripts are entry-point stubs that import their app by the file's own name. A
# copy made without symlinks holds the text "_stub.py" instead of the link; a tree of links
# (the suite's run.sh, its package, one link per script to the real stub) runs either way.
tree=$out/tlsfuzzer
rm -rf "$tree" && mkdir -p "$tree/scripts"
ln -s "$suite/run.sh" "$tree/run.sh"
ln -s "$suite/tlsfuzzer" "$tree/tlsfuzzer"
for f in "$suite"/scripts/*.py; do
    if [ "$(head -c 9 "$f")" = "_stub.py" ]; then
        ln -s "$suite/scripts/_stub.py" "$tree/scripts/$(basename "$f")"
    else
        ln -s "$f" "$tree/scripts/$(basename "$f")"
    fi
done

# Server configurations: NAME -> our flags / s_server flags (same certificate, same versions).
ours_flags() {
    case $1 in
        rsa) echo "--cert $pki/server-rsa-self.pem --key $pki/server-rsa-self.key" ;;
        ecdsa) echo "--cert $pki/server.pem --key $pki/server.key" ;;
        ed25519) echo "--cert $pki/server-ed25519.pem --key $pki/server-ed25519.key" ;;
        rsa-no-ems) echo "--cert $pki/server-rsa-self.pem --key $pki/server-rsa-self.key --allow-no-ems" ;;
        rsa-tls12) echo "--cert $pki/server-rsa-self.pem --key $pki/server-rsa-self.key --allow-no-ems --tls12" ;;
        *) return 1 ;;
    esac
}
openssl_flags() {
    case $1 in
        rsa) echo "-cert $pki/server-rsa-self.pem -key $pki/server-rsa-self.key" ;;
        ecdsa) echo "-cert $pki/server.pem -key $pki/server.key" ;;
        ed25519) echo "-cert $pki/server-ed25519.pem -key $pki/server-ed25519.key" ;;
        rsa-no-ems) echo "-cert $pki/server-rsa-self.pem -key $pki/server-rsa-self.key" ;;
        rsa-tls12) echo "-cert $pki/server-rsa-self.pem -key $pki/server-rsa-self.key -no_tls1_3" ;;
        *) return 1 ;;
    esac
}

if [ "$peer" = ours ]; then
    (cd "$root" && cargo build --quiet --example server)
    server_bin=$root/target/debug/examples/server
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

# Starts the peer in configuration $1 on a free port; sets $port and $server_pid.
start_server() {
    local config=$1 flags attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        if [ "$peer" = ours ]; then
            flags=$(ours_flags "$config") || { echo "conformance: unknown configuration $config" >&2; exit 2; }
            # shellcheck disable=SC2086
            "$server_bin" --listen "127.0.0.1:$port" $flags >"$out/$config/server.log" 2>&1 &
        else
            flags=$(openssl_flags "$config") || { echo "conformance: unknown configuration $config" >&2; exit 2; }
            # shellcheck disable=SC2086
            openssl s_server -accept "127.0.0.1:$port" $flags -www -quiet \
                </dev/null >"$out/$config/server.log" 2>&1 &
        fi
        server_pid=$!
        for _ in $(seq 50); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop_server
    done
    echo "conformance: the $peer server ($config) did not start; see $out/$config/server.log" >&2
    exit 1
}

# scripts.list: "CONFIG SCRIPT [OPTIONS...]"; '#' starts a comment.
lines=$(grep -vE '^\s*(#|$)' "$here/scripts.list" | sed 's/\s#.*$//')
configs=$(printf '%s\n' "$lines" | awk '{print $1}' | awk '!seen[$0]++')
results=$out/results.tsv
: >"$results"
started=$(date +%s)
for config in $configs; do
    [ -z "$only_config" ] || [ "$config" = "$only_config" ] || continue
    mkdir -p "$out/$config"
    start_server "$config"
    echo "== $config ($peer server on 127.0.0.1:$port)"
    while read -r c script opts; do
        [ "$c" = "$config" ] || continue
        [ -z "$only_script" ] || [ "$script" = "$only_script" ] || continue
        t0=$(date +%s)
        # shellcheck disable=SC2086
        TLSFUZZER_LOGS=$out/$config "$tree/run.sh" 127.0.0.1 "$port" "$script" $opts \
            </dev/null >"$out/$config/$script.summary" 2>&1 || true
        printf '%s\t%s\t%s\n' "$config" "$script" "$(($(date +%s) - t0))" >>"$results"
        head -1 "$out/$config/$script.summary" | sed "s/^/  /; s/\$/ $(($(date +%s) - t0))s/"
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "conformance: the $peer server ($config) exited during $script; restarting it" >&2
            start_server "$config"
        fi
    done <<<"$lines"
    stop_server
done
echo "tlsfuzzer time: $(($(date +%s) - started))s; logs in $out"

check=(python3 "$here/check.py" --results "$results" --out "$out")
if [ "$peer" = ours ]; then
    check+=(--expected "$here/expected-failures.list")
    # Stale entries for scripts that were not run are only reported on a whole run.
    [ -n "$only_config$only_script" ] || check+=(--complete "$here/scripts.list")
fi
"${check[@]}"

#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/attack.sh - issue 13 item 1's numbers: 1,000 slow clients (request
# heads at 1 byte/s, publish bodies at 1 byte/s, or half each) from one
# loopback address and from ten, against a chatd with the default
# configuration (publishing off), while chatd-benchmark attack's prober
# measures legitimate handshakes and /healthz.  Loopback only; each run is
# bounded (DURATION seconds, then timeout(1)).
#
#   bash bench/attack.sh [BUILD_DIR] [CHATD_BINARY]
#
# Environment: DURATION (20), WORKERS (2), REOPEN (0 ms), OUT (/tmp/chatd-attack),
# ONLY ("HEADS BODIES ADDRESSES": that one run instead of the six).
# One JSON line per run (the tool's, with the server's counters added) in
# $OUT/results.jsonl.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
CHATD=${2:-$build/chatd}
BENCH=$build/chatd-benchmark
DURATION=${DURATION:-20}
WORKERS=${WORKERS:-2}
REOPEN=${REOPEN:-0}
OUT=${OUT:-/tmp/chatd-attack}
mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listen 127.0.0.1:%s\nredis_url off\nworkers %s\nlog_level warn\n' "$port" "$WORKERS" \
	> "$OUT/chatd.conf"

counters='http_pending_refused http_pool_cuts http_head_timeouts http_body_timeouts publish_errors handshake_failures'

one_run() {   # $1 slow heads, $2 slow bodies, $3 source addresses
	"$CHATD" -f -c "$OUT/chatd.conf" 2>"$OUT/chatd.log" &
	pid=$!
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
		sleep 0.1
	done
	line=$(timeout $((DURATION + 30)) "$BENCH" attack -u "ws://127.0.0.1:$port/api/chat-api/ws" \
		--slow "$1" --bodies "$2" --src-addrs "$3" --reopen "$REOPEN" -d "$DURATION" |
		tee -a "$OUT/attack.txt" | tail -n 1)
	stats=$(curl -s -m 5 "http://127.0.0.1:$port/api/chat-api/ws/stats")
	kill -TERM "$pid"; wait "$pid"
	extra=
	for k in $counters; do
		v=$(printf '%s' "$stats" | python3 -c "import json,sys; print(json.load(sys.stdin).get('$k', -1))" 2>/dev/null)
		extra="$extra,\"$k\":${v:--1}"
	done
	echo "${line%\}}$extra,\"binary\":\"$CHATD\"}" | tee -a "$OUT/results.jsonl"
}

if [ -n "${ONLY:-}" ]; then one_run $ONLY; exit 0; fi
for addrs in 1 10; do
	one_run 1000 0 "$addrs"
	one_run 0 1000 "$addrs"
	one_run 500 500 "$addrs"
done

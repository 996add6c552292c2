#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run.sh - run the BENCHMARKS.md workloads against chatd and, when it
# builds, the Go reference; one server at a time, loopback only, every step
# bounded by timeout(1).  Results: one JSON line per run in $OUT/results.jsonl.
#
#   bash bench/run.sh [BUILD_DIR]        (default: ./build)
#
# Environment: RUNS (3), WORKLOADS ("W1 W2 W3 W4"), SERVERS ("chatd ref-go"),
# OUT (/tmp/chatd-bench), REF_GO_SRC (/work/shared/peers/ref-go),
# REF_GO_DIR (/tmp/ref-go: the Go build happens there, never in this tree),
# W3_CONNS (100000), TRIAL_S (3, seconds per --max trial), and for W3 (run
# once, in the first round, unless W3_RUNS says otherwise): W3_WORKERS (8),
# W3_PROCS (6), W3_SRC_ADDRS (10), W3_CONN_RATE (1000), W3_INFLIGHT (256),
# W3_CONNECT_TIMEOUT (30), W3_HOLD (20), W3_ROOMS (10000).
# HISTORY ("0"): history_size values W1 and W2 run with, e.g. "0 100" for
# history off vs on in the same run (workload W1-h100 etc.; ref-go at 0 only).
# Optional workloads (add them to WORKLOADS):
#   IDLE      idle connections held with the default ping_interval: server
#             CPU while holding and ping round trip (issue 15); IDLE_CONNS
#             (19000), IDLE_WORKERS (2), IDLE_HOLD (120), IDLE_PROCS (2),
#             IDLE_CONN_RATE (1000), IDLE_ROOMS (1000); chatd and ref-go.
#   RECOVERY  all clients drop at once and reconnect with ?since= while
#             publishers send (issue 16), chatd only, three phases: single
#             (no Redis), redis-1pod, redis-2pods; REC_CLIENTS (1000),
#             REC_ROOMS (10), REC_RATE (200), REC_DROP_AFTER (5),
#             REC_HISTORY (1000: the history_size), REC_WORKERS (2).
#   LAT       message-path latency at a fixed, light rate (issue 15): W1's
#             shape (1,000 subscribers in 10 rooms, 10 publishers, 2 workers,
#             Redis on) at LAT_RATE (200) msg/s for LAT_S (20) seconds: p50 /
#             p99 from publish to delivery.
# Where a redis-server runs, its CPU over each trial is in the JSON
# (redis_cpu_s, redis_cpu_ns_per_message) and in the summary.
# Every tool run's whole output is kept in $OUT/SERVER-WL-RUN-PHASE.txt;
# W3 also records the server's stats (phase "stats") after the hold.  At
# the end, a summary (median [min-max] over the runs) goes to
# $OUT/summary.txt.
# The Go reference needs: apt-get install -y golang-go \
#   golang-github-gorilla-websocket-dev golang-github-gomodule-redigo-dev \
#   golang-github-google-uuid-dev
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
RUNS=${RUNS:-3}
WORKLOADS=${WORKLOADS:-"W1 W2 W3 W4"}
SERVERS=${SERVERS:-"chatd ref-go"}
OUT=${OUT:-/tmp/chatd-bench}
REF_GO_SRC=${REF_GO_SRC:-/work/shared/peers/ref-go}
REF_GO_DIR=${REF_GO_DIR:-/tmp/ref-go}
W3_CONNS=${W3_CONNS:-100000}
TRIAL_S=${TRIAL_S:-3}
W3_RUNS=${W3_RUNS:-1}
W3_WORKERS=${W3_WORKERS:-8}
W3_PROCS=${W3_PROCS:-6}
W3_SRC_ADDRS=${W3_SRC_ADDRS:-10}
W3_CONN_RATE=${W3_CONN_RATE:-1000}
W3_INFLIGHT=${W3_INFLIGHT:-256}
W3_CONNECT_TIMEOUT=${W3_CONNECT_TIMEOUT:-30}
W3_HOLD=${W3_HOLD:-20}
W3_ROOMS=${W3_ROOMS:-10000}
HISTORY=${HISTORY:-0}
IDLE_CONNS=${IDLE_CONNS:-19000}
IDLE_WORKERS=${IDLE_WORKERS:-2}
IDLE_HOLD=${IDLE_HOLD:-120}
IDLE_PROCS=${IDLE_PROCS:-2}
IDLE_CONN_RATE=${IDLE_CONN_RATE:-1000}
IDLE_ROOMS=${IDLE_ROOMS:-1000}
REC_CLIENTS=${REC_CLIENTS:-1000}
REC_ROOMS=${REC_ROOMS:-10}
REC_RATE=${REC_RATE:-200}
REC_DROP_AFTER=${REC_DROP_AFTER:-5}
REC_HISTORY=${REC_HISTORY:-1000}
REC_WORKERS=${REC_WORKERS:-2}
LAT_RATE=${LAT_RATE:-200}
LAT_S=${LAT_S:-20}
BENCH=$build/chatd-benchmark
CHATD=$build/chatd
PREFIX=/api/chat-api/ws
mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

log() { echo "run.sh: $*" >&2; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {   # wait until something answers /healthz or accepts on port $1
	i=0
	while [ $i -lt 100 ]; do
		if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

build_ref_go() {
	[ -x "$REF_GO_DIR/bin/chat-api" ] && return 0
	rm -rf "$REF_GO_DIR" && cp -r "$REF_GO_SRC" "$REF_GO_DIR" && chmod -R u+w "$REF_GO_DIR" &&
		(cd "$REF_GO_DIR" && timeout 600 sh build.sh) >"$OUT/ref-go-build.log" 2>&1
}

REDIS_PID=
REDIS_PORT=
start_redis() {
	REDIS_PORT=$(free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no >"$OUT/redis.log" 2>&1 &
	REDIS_PID=$!
	wait_port "$REDIS_PORT"
}
stop_redis() { [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=; }

# start_server KIND PORT WORKERS REDIS(0/1) [HISTORY_SIZE] -> $SPID
start_server() {
	ru=
	[ "$4" = 1 ] && ru=redis://127.0.0.1:$REDIS_PORT
	case $1 in
	chatd)
		conf=$OUT/chatd-$2.conf
		# the load generator is one client at machine speed: lift the
		# per-connection message rate and per-address connection limits
		printf 'max_connections 19000\nlog_level warn\nrate_limit 1000000\nrate_burst 1000000\nmax_connections_per_ip 0\nmax_http_pending_per_ip 0\n' >"$conf"
		[ "${5:-0}" -gt 0 ] && printf 'history_size %d\n' "$5" >>"$conf"
		REDIS_URL=$ru "$CHATD" -f -l 127.0.0.1:"$2" -w "$3" -c "$conf" >"$OUT/chatd-$2.log" 2>&1 &
		;;
	ref-go)
		REDIS_URL=$ru "$REF_GO_DIR/bin/chat-api" -addr 127.0.0.1:"$2" >"$OUT/ref-go-$2.log" 2>&1 &
		;;
	esac
	SPID=$!
	wait_port "$2" && sleep 0.3
}
stop_server() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# record SERVER WORKLOAD RUN LABEL JSON
record() {
	printf '{"server":"%s","workload":"%s","run":%s,"phase":"%s","result":%s}\n' \
		"$1" "$2" "$3" "$4" "${5:-null}" >>"$OUT/results.jsonl"
}

max_rate() { sed -n 's/.*"max_rate":\([0-9]*\).*/\1/p'; }

# fanout_pair SERVER WL RUN ARGS... : a --max search, then a run at half the max
fanout_pair() {
	s=$1 wl=$2 run=$3; shift 3
	[ -n "$REDIS_PID" ] && set -- "$@" --redis-pids "$REDIS_PID"
	[ "$s" = ref-go ] && set -- "$@" --no-welcome    # it sends no welcome
	j=$(timeout 900 "$BENCH" fanout --max -d "$TRIAL_S" --max-p99 50 "$@" -p "$PIDS" 2>&1 |
		tee "$OUT/$s-$wl-$run-max.txt" | tail -1)
	record "$s" "$wl" "$run" max "$j"
	m=$(echo "$j" | max_rate)
	[ -n "$m" ] && [ "$m" -gt 1 ] || return 0
	j=$(timeout 300 "$BENCH" fanout -d 10 "$@" -R $((m / 2)) -p "$PIDS" 2>&1 |
		tee "$OUT/$s-$wl-$run-half.txt" | tail -1)
	record "$s" "$wl" "$run" half "$j"
}

# recovery SERVER RUN PHASE REDIS(0/1) PODS
recovery() {
	s=$1 run=$2 ph=$3 urls='' PIDS=''
	[ "$4" = 1 ] && start_redis
	for _ in $(seq 1 "$5"); do
		p=$(free_port)
		start_server "$s" "$p" "$REC_WORKERS" "$4" "$REC_HISTORY"
		PIDS=$PIDS${PIDS:+,}$SPID
		urls="$urls -u ws://127.0.0.1:$p$PREFIX/{room}"
	done
	set -- -c "$REC_CLIENTS" -r "$REC_ROOMS" -R "$REC_RATE" --drop-after "$REC_DROP_AFTER" \
		--conn-rate 5000 -p "$PIDS"
	[ -n "$REDIS_PID" ] && set -- "$@" --redis-pids "$REDIS_PID"
	# shellcheck disable=SC2086   # $urls is a list of -u URL
	j=$(timeout 300 "$BENCH" recovery $urls "$@" 2>&1 |
		tee "$OUT/$s-RECOVERY-$run-$ph.txt" | tail -1)
	record "$s" RECOVERY "$run" "$ph" "$j"
	for p in ${PIDS//,/ }; do stop_server "$p"; done
	stop_redis
}

workload() {   # workload SERVER WL RUN [HISTORY_SIZE]
	s=$1 wl=$2 run=$3 h=${4:-0}
	p1=$(free_port)
	nw=()
	[ "$s" = ref-go ] && nw=(--no-welcome)    # it sends no welcome
	case $wl in
	W1|W2)
		start_redis; start_server "$s" "$p1" 2 1 "$h"; PIDS=$SPID
		[ "$h" -gt 0 ] && wl=$wl-h$h
		if [ "$2" = W1 ]; then
			fanout_pair "$s" "$wl" "$run" -u "ws://127.0.0.1:$p1$PREFIX/{room}" \
				-n 1000 -r 10 -P 10 -s 100 -R 2000
		else
			fanout_pair "$s" "$wl" "$run" -u "ws://127.0.0.1:$p1$PREFIX/{room}" \
				-n 2000 -r 1 -P 1 -s 100 -R 100 --conn-rate 200 --inflight 16
		fi
		stop_server "$SPID"; stop_redis ;;
	W3)
		start_server "$s" "$p1" "$W3_WORKERS" 0; PIDS=$SPID
		j=$(timeout 900 "$BENCH" connections -u "ws://127.0.0.1:$p1$PREFIX/{room}" \
			-c "$W3_CONNS" -j "$W3_PROCS" --src-addrs "$W3_SRC_ADDRS" -r "$W3_ROOMS" \
			--conn-rate "$W3_CONN_RATE" --inflight "$W3_INFLIGHT" \
			--connect-timeout "$W3_CONNECT_TIMEOUT" -t "$W3_HOLD" -p "$PIDS" "${nw[@]}" 2>&1 |
			tee "$OUT/$s-$wl-$run-hold.txt" | tail -1)
		record "$s" "$wl" "$run" hold "$j"
		# refusals, handshake failures and per-worker connections (chatd only)
		[ "$s" = chatd ] && record "$s" "$wl" "$run" stats \
			"$(curl -sf -m 5 "http://127.0.0.1:$p1$PREFIX/stats" || echo null)"
		stop_server "$SPID" ;;
	W4)
		p2=$(free_port)
		start_redis
		start_server "$s" "$p1" 1 1; a=$SPID
		start_server "$s" "$p2" 1 1; b=$SPID
		PIDS=$a,$b
		fanout_pair "$s" "$wl" "$run" -u "ws://127.0.0.1:$p1$PREFIX/{room}" \
			-u "ws://127.0.0.1:$p2$PREFIX/{room}" -n 1000 -r 10 -P 10 -s 100 -R 2000
		stop_server "$a"; stop_server "$b"; stop_redis ;;
	IDLE)
		start_server "$s" "$p1" "$IDLE_WORKERS" 0; PIDS=$SPID
		j=$(timeout $((IDLE_HOLD + 600)) "$BENCH" connections \
			-u "ws://127.0.0.1:$p1$PREFIX/{room}" -c "$IDLE_CONNS" -j "$IDLE_PROCS" \
			-r "$IDLE_ROOMS" --conn-rate "$IDLE_CONN_RATE" --connect-timeout 30 \
			-t "$IDLE_HOLD" -p "$PIDS" "${nw[@]}" 2>&1 | tee "$OUT/$s-$wl-$run-idle.txt" | tail -1)
		record "$s" "$wl" "$run" idle "$j"
		stop_server "$SPID" ;;
	LAT)
		start_redis; start_server "$s" "$p1" 2 1; PIDS=$SPID
		set -- -u "ws://127.0.0.1:$p1$PREFIX/{room}" -n 1000 -r 10 -P 10 -s 100 \
			-R "$LAT_RATE" -d "$LAT_S" -p "$PIDS" --redis-pids "$REDIS_PID" "${nw[@]}"
		j=$(timeout $((LAT_S + 300)) "$BENCH" fanout "$@" 2>&1 |
			tee "$OUT/$s-$wl-$run-lat.txt" | tail -1)
		record "$s" "$wl" "$run" lat "$j"
		stop_server "$SPID"; stop_redis ;;
	RECOVERY)
		[ "$s" = chatd ] || return 0    # history and ?since= are chatd's
		recovery "$s" "$run" single 0 1
		recovery "$s" "$run" redis-1pod 1 1
		recovery "$s" "$run" redis-2pods 1 2 ;;
	esac
}

[ -x "$BENCH" ] && [ -x "$CHATD" ] || { log "build chatd and chatd-benchmark in $build first"; exit 2; }
servers=
for s in $SERVERS; do
	if [ "$s" = ref-go ] && ! build_ref_go; then
		log "the Go reference did not build (see $OUT/ref-go-build.log); skipping it"
		continue
	fi
	servers="$servers $s"
done
log "machine: $(nproc) cores, $(free -m | awk '/Mem:/{print $2}') MiB, kernel $(uname -r)"
for run in $(seq 1 "$RUNS"); do
	for wl in $WORKLOADS; do
		[ "$wl" = W3 ] && [ "$run" -gt "$W3_RUNS" ] && continue
		hs=0
		case $wl in W1|W2) hs=$HISTORY ;; esac
		for h in $hs; do
			for s in $servers; do
				[ "$s" = ref-go ] && [ "$h" -gt 0 ] && continue
				log "run $run $wl $s$([ "$h" -gt 0 ] && echo " history_size $h")"
				workload "$s" "$wl" "$run" "$h"
			done
		done
	done
done
python3 - "$OUT/results.jsonl" >"$OUT/summary.txt" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def num(x):
    return "%.0f" % x if abs(x) >= 100 else "%g" % x
def med(v):
    return "%s [%s-%s]" % (num(statistics.median(v)), num(min(v)), num(max(v))) if v else "-"
for key in sorted({(r["server"], r["workload"], r["phase"]) for r in rows}):
    rs = [r["result"] for r in rows if (r["server"], r["workload"], r["phase"]) == key and r["result"]]
    if key[2] == "stats" or not rs:
        continue
    if key[2] == "idle":
        print("%s %s idle: runs %d, opened %s, dropped %s, server cpu %% of a core while holding %s, "
              "ping p50 us %s, p99 us %s" % (key[:2] + (
            len(rs), med([x["opened"] for x in rs]), med([x["dropped"] for x in rs]),
            med([x["server_cpu_hold_pct"] for x in rs]), med([x["ping_rtt_us"]["p50"] for x in rs]),
            med([x["ping_rtt_us"]["p99"] for x in rs]))))
        continue
    if key[1] == "RECOVERY":
        print("%s %s %s: runs %d, recovered %s, not recovered %s, all recovered s %s, "
              "recovery p99 us %s, lost %s, dup %s, offset skipped %s, redis ns/msg %s" % (key + (
            len(rs), med([x["recovered"] for x in rs]), med([x["not_recovered"] for x in rs]),
            med([x["all_recovered_s"] for x in rs]), med([x["recovery_us"]["p99"] for x in rs]),
            med([x["lost"] for x in rs]), med([x["duplicated"] for x in rs]),
            med([x["offset_skipped"] for x in rs]), med([x["redis_cpu_ns_per_message"] for x in rs]))))
        continue
    if key[2] == "hold":
        print("%s %s hold: runs %d, opened %s, failed %s, bytes/conn %s, ping p99 us %s" % (key[:2] + (
            len(rs), med([x["opened"] for x in rs]), med([x["failed"] for x in rs]),
            med([x["server_bytes_per_conn"] for x in rs]), med([x["ping_rtt_us"]["p99"] for x in rs]))))
        continue
    f = lambda k: med([x[k] for x in rs if k in x])
    l = lambda k: med([x["latency_us"][k] for x in rs])
    print("%s %s %s: runs %d, msg/s %s, deliveries/s %s, server ns/delivery %s, p50 us %s, "
          "p99 us %s, lost %s, dup %s, reordered %s, server cpu s %s, tool cpu s %s, "
          "redis ns/msg %s" % (key + (
          len(rs), f("rate_offered"), f("deliveries_per_s"), f("server_cpu_ns_per_delivery"),
          l("p50"), l("p99"), f("lost"), f("duplicated"), f("reordered"),
          f("server_cpu_s"), f("tool_cpu_s"), f("redis_cpu_ns_per_message"))))
EOF
cat "$OUT/summary.txt" >&2
log "results in $OUT/results.jsonl, summary in $OUT/summary.txt"

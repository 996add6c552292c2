#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's first command ends by running chatd from the build directory
# (`REDIS_URL= CHATD_STATIC_DIR=../static ./chatd -f`).  Run that command as
# the README writes it, on a free loopback port (-l added), and check that it
# serves the demo page and /healthz and stops with status 0 on SIGTERM.
#   usage: quickstart.sh SRCDIR BUILDDIR
set -u
src=$(cd "${1:?usage: quickstart.sh SRCDIR BUILDDIR}" && pwd)
build=$(cd "${2:?usage: quickstart.sh SRCDIR BUILDDIR}" && pwd)
fail() { echo "quickstart: FAIL: $*" >&2; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; exit 1; }

run=$(grep -m1 '^    apt-get' "$src/README" | sed 's/ *#.*$//; s/.*&& *//')
case $run in *./chatd\ -f) ;; *) fail "README's first command does not end with ./chatd -f: $run" ;; esac
# the build directory's chatd must find ../static as the README's does: a
# copy of the page beside a copy of the build, laid out like the tree
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/build" && cp "$build/chatd" "$tmp/build/" && cp -r "$src/static" "$tmp/"
cd "$tmp/build" || fail "cd"
# A port below the kernel's ephemeral range (so no outgoing connection holds
# it), chosen at random; another one if something else has bound it.
start() {   # start chatd on $port; 0 once it listens, 1 if it exited
	echo "quickstart: $run -l 127.0.0.1:$port"
	eval "${run/.\/chatd/exec ./chatd} -l 127.0.0.1:$port" >"$tmp/chatd.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; pid=; return 1; }
		sleep 0.1
	done
	fail "chatd does not listen on $port after 10 s: $(cat "$tmp/chatd.log")"
}
for try in $(seq 10); do
	port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && continue   # taken
	start && break
	grep -q 'Address already in use' "$tmp/chatd.log" && [ "$try" -lt 10 ] ||
		fail "chatd exited: $(cat "$tmp/chatd.log")"
done
get() {   # get PATH: the response, head and body
	exec 3<>/dev/tcp/127.0.0.1/$port || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
	tr -d '\r' <&3
	exec 3<&-
}
get / | grep -q '<title>chatd</title>' || fail "GET / is not the demo page: $(cat "$tmp/chatd.log")"
get /healthz | grep -qx 'ok' || fail "GET /healthz is not ok"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] || fail "chatd exited with $st after SIGTERM"
echo "quickstart: the README's run command serves the page and /healthz, and stops with 0"

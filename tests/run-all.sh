#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite, as the README's second command and CI run it:
# a normal build with `make check`, then an AddressSanitizer +
# UndefinedBehaviorSanitizer build with `make check` again (both with
# --enable-werror).  The test
# harness starts its own redis-server on a free loopback port.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./autogen.sh >/dev/null
jobs=$(nproc 2>/dev/null || echo 2)

run_check() {  # dir, configure args...
	dir=$1; shift
	mkdir -p "$dir"
	# serial-tests: every test's output, CUnit's Run Summary and the
	# integration runner's "N passed, N failed", goes straight to the log
	(cd "$dir" && "$top/configure" -q --enable-werror "$@" && make -j"$jobs" >/dev/null && make check)
}

echo "== build and test"
run_check "$top/build"
echo "== the README's first command runs chatd: page, healthz, clean stop"
bash "$top/tests/quickstart.sh" "$top" "$top/build"
echo "== the shape of src/: make check-style (module cycles, long functions, libraries)"
(cd "$top/build" && make check-style)
echo "== man pages, as built from man/*.in: mandoc -Tlint (warnings and worse)"
mandoc -Tlint -Wwarning "$top"/build/man/*.[158]
echo "== browser test of the demo page"; sh "$top/tests/browser/run.sh" "$top/build"
echo "== fuzz the parsers (clang libFuzzer, 12 s a target)"; sh "$top/fuzz/run.sh" 12
echo "== build and test with ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=64 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_check "$top/build-asan" --enable-sanitizers
echo "== make distcheck (tarball, VPATH build, read-only sources, install)"
(cd "$top/build" && make -j"$jobs" distcheck)
echo "== Debian package and systemd unit"; sh "$top/tests/package/run.sh" "$top"
echo "== all tests passed"

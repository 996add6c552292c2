#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/run.sh [SECONDS] - build the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) straight from the module sources,
# replay every saved regression input, then fuzz each target for SECONDS
# (default 20) starting from its seed corpus.  Exits non-zero on a crash;
# the crashing input is left in $FUZZ_BUILD/crashes: copy it into
# fuzz/regress/TARGET/ so that it is replayed on every run from then on.
#
# Environment: FUZZ_CC (default clang), FUZZ_BUILD (default build-fuzz at
# the top of the tree), FUZZ_TARGETS (default: all).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
cc=${FUZZ_CC:-clang}
out=${FUZZ_BUILD:-$top/build-fuzz}
targets=${FUZZ_TARGETS:-msg envelope conf target auth}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi
mkdir -p "$out/obj" "$out/crashes"
# the libraries configure.ac checks (PKG_CHECK_MODULES): keep both lists alike
pkgs="libwebsockets hiredis msgpack jansson libjwt libssl libcrypto libuv libbsd libsystemd"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-std=gnu11 -g -O1 $san -D_GNU_SOURCE -DPACKAGE_VERSION=\"fuzz\" \
 -DSYSCONFDIR=\"/nonexistent\" -DLOCALSTATEDIR=\"/nonexistent\" \
 -DRUNSTATEDIR=\"/nonexistent\" -DDATADIR=\"/nonexistent\" \
 -I$top/include $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm"

# every module but main, once, with coverage for the fuzzer
objs=""
for src in "$top"/src/*.c; do
	name=$(basename "$src" .c)
	case $name in main) continue ;; esac
	obj="$out/obj/$name.o"
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find "$top/include" -newer "$obj" -name '*.h' | head -1)" ]; then
		# shellcheck disable=SC2086
		$cc $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
	fi
	objs="$objs $obj"
done

status=0
for t in $targets; do
	# shellcheck disable=SC2086
	$cc $cflags -fsanitize=fuzzer "$top/fuzz/fuzz_$t.c" $objs $libs -o "$out/fuzz_$t"
	if [ -n "$(ls "$top/fuzz/regress/$t" 2>/dev/null)" ]; then
		echo "fuzz: $t: replaying $(ls "$top/fuzz/regress/$t" | wc -l) regression inputs"
		"$out/fuzz_$t" "$top/fuzz/regress/$t"/* >"$out/$t.regress.log" 2>&1 ||
			{ echo "fuzz: $t: a regression input fails again:" >&2
			  tail -40 "$out/$t.regress.log" >&2; status=1; continue; }
	fi
	# new inputs go to a scratch corpus; the committed seeds stay as they are
	mkdir -p "$out/corpus/$t"
	echo "fuzz: $t: ${secs}s"
	if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	     "$out/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	     -max_len=8192 -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
	     "$out/corpus/$t" "$top/fuzz/corpus/$t" >"$out/$t.log" 2>&1; then
		echo "fuzz: $t: CRASH (input in $out/crashes; copy it to fuzz/regress/$t/):" >&2
		tail -60 "$out/$t.log" >&2
		status=1
	else
		grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$out/$t.log" |
			sed "s/^/fuzz: $t: /"
	fi
done
exit $status

#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/package/run.sh TOP - the Debian package and the systemd unit.
#
# Builds the package from a copy of the tree TOP in a scratch directory
# (dpkg-buildpackage writes to ..; TOP stays clean), checks where it puts
# each file and its conffiles, runs lintian, extracts it into a scratch
# root, runs the installed chatd with (a copy of) the installed config for
# a chat round trip with the installed chatd-benchmark and a log reopen,
# then checks the installed unit: `systemd-analyze verify` clean and an
# exposure of at most 2.5 in `systemd-analyze security --offline=true`.
set -eu
top=$(cd "${1:?usage: run.sh TOP}" && pwd)
max_exposure=2.5

scratch=$(mktemp -d "${TMPDIR:-/tmp}/chatd-package.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "package: FAIL: $*" >&2; exit 1; }
ok() { echo "package: ok: $*"; }

for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "$tool is missing (apt-get install debhelper dpkg-dev lintian)"
done

# The tree as committed plus uncommitted changes, without build output.
copy_tree() {
	mkdir "$scratch/src"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$top" && git ls-files -z --cached --others --exclude-standard |
			tar --null --no-recursion --ignore-failed-read -T - -cf -)
	else
		(cd "$top" && tar --exclude=./build --exclude='./build-*' \
			--exclude=node_modules --exclude=autom4te.cache -cf - .)
	fi | tar -C "$scratch/src" -xf -
}

build_package() {
	copy_tree
	(cd "$scratch/src" && DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck \
		dpkg-buildpackage -us -uc -b -j"$(nproc 2>/dev/null || echo 2)") \
		>"$scratch/build.log" 2>&1 ||
		{ tail -n 40 "$scratch/build.log" >&2; fail "dpkg-buildpackage -us -uc -b"; }
	set -- "$scratch"/chatd_*.deb
	[ -f "$1" ] || fail "dpkg-buildpackage made no chatd_*.deb"
	deb=$1
	set -- "$scratch"/chatd_*.changes
	changes=$1
	ok "dpkg-buildpackage built $(basename "$deb")"
}

# Each "MODE PATH" in Debian's places, and the conffile.
check_contents() {
	dpkg-deb -c "$deb" | awk '{ print $1, $6 }' >"$scratch/contents"
	for want in \
		'-rwxr-xr-x ./usr/sbin/chatd' \
		'-rwxr-xr-x ./usr/bin/chatd-benchmark' \
		'-rw-r--r-- ./lib/systemd/system/chatd.service' \
		'-rwxr-xr-x ./etc/init.d/chatd' \
		'-rw-r--r-- ./etc/logrotate.d/chatd' \
		'-rw-r----- ./etc/chatd/chatd.conf' \
		'-rw-r--r-- ./usr/share/man/man8/chatd.8.gz' \
		'-rw-r--r-- ./usr/share/man/man5/chatd.conf.5.gz' \
		'-rw-r--r-- ./usr/share/man/man1/chatd-benchmark.1.gz' \
		'-rw-r--r-- ./usr/share/chatd/static/index.html' \
		'-rw-r--r-- ./usr/share/chatd/static/app.js' \
		'-rw-r--r-- ./usr/share/chatd/static/style.css' \
		'-rw-r--r-- ./usr/share/doc/chatd/copyright' \
		'drwxr-xr-x ./var/log/chatd/'; do
		grep -qxF -- "$want" "$scratch/contents" ||
			{ cat "$scratch/contents" >&2; fail "the package lacks: $want"; }
	done
	dpkg-deb -e "$deb" "$scratch/control"
	grep -qx /etc/chatd/chatd.conf "$scratch/control/conffiles" ||
		fail "/etc/chatd/chatd.conf is not a conffile"
	grep -q 'adduser --system --group' "$scratch/control/postinst" ||
		fail "postinst does not create the system user chatd"
	grep -q 'dpkg-statoverride --update --add root chatd 0640' "$scratch/control/postinst" ||
		fail "postinst does not give the config to group chatd"
	# lws dlopen()s its libuv loop: no shared-library dependency names it
	dpkg-deb -f "$deb" Depends | grep -q 'libwebsockets-evlib-uv' ||
		fail "the package does not depend on libwebsockets-evlib-uv (the workers' loop)"
	ok "file list, modes, conffiles, dependencies"
}

check_lintian() {
	# every warning left is overridden, with its reason, in
	# debian/chatd.lintian-overrides
	lintian --fail-on error,warning "$changes" >"$scratch/lintian.log" 2>&1 ||
		{ cat "$scratch/lintian.log" >&2; fail "lintian"; }
	ok "lintian: no errors, no warnings"
}

# What the packaged files name must be where the package puts them.
check_installed_paths() {
	root=$scratch/root
	dpkg-deb -x "$deb" "$root"
	unit=$root/lib/systemd/system/chatd.service
	# shellcheck disable=SC2016  # the unit's own ${CONF}, not ours
	if ! grep -qx 'ExecStart=/usr/sbin/chatd -f -c ${CONF} $DAEMON_OPTS' "$unit" ||
	   ! grep -qx 'Environment=CONF=/etc/chatd/chatd.conf' "$unit" ||
	   ! grep -qx 'Type=notify' "$unit"; then
		fail "chatd.service does not run /usr/sbin/chatd -f with /etc/chatd/chatd.conf"
	fi
	grep -q 'CONF:-/etc/chatd/chatd.conf}' "$root/etc/init.d/chatd" ||
		fail "the init script does not default to /etc/chatd/chatd.conf"
	grep -qx 'user chatd' "$root/etc/chatd/chatd.conf" ||
		fail "the packaged config does not run the workers as chatd"
	ok "unit, init script and config name the installed paths"
}

# Start the installed chatd on a free loopback port; sets pid and port.
start_chatd() {
	conf=$scratch/chatd.conf
	mkdir -p "$scratch/log"
	# the installed config, but no user switch (there is no user chatd
	# here) and a log file of our own; Redis off and the port on the
	# command line
	sed -e '/^user /d' -e "s|^log_file .*|log_file $scratch/log/chatd.log|" \
		"$root/etc/chatd/chatd.conf" >"$conf"
	"$root/usr/sbin/chatd" -t -c "$conf" >"$scratch/stderr" 2>&1 ||
		{ cat "$scratch/stderr" >&2; fail "the installed chatd rejects the installed config"; }
	for _ in 1 2 3 4 5; do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
		rm -f "$scratch/log/chatd.log"
		REDIS_URL='' CHATD_STATIC_DIR="$root/usr/share/chatd/static" \
			"$root/usr/sbin/chatd" -f -c "$conf" -w 2 -l "127.0.0.1:$port" \
			2>"$scratch/stderr" &
		pid=$!
		i=0
		while [ $i -lt 200 ] && kill -0 "$pid" 2>/dev/null; do
			grep -q 'listening on' "$scratch/log/chatd.log" 2>/dev/null && return 0
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
		grep -qs 'in use' "$scratch/stderr" "$scratch/log/chatd.log" || break
	done
	cat "$scratch/stderr" "$scratch/log/chatd.log" >&2 2>/dev/null || true
	fail "the installed chatd did not start"
}

run_installed() {
	start_chatd
	"$root/usr/bin/chatd-benchmark" fanout -q \
		-u "ws://127.0.0.1:$port/api/chat-api/ws/{room}" \
		-n 4 -r 2 -P 2 -m 20 -R 100 --drain 10 >"$scratch/bench.json" ||
		{ cat "$scratch/bench.json" "$scratch/log/chatd.log" >&2; fail "chat round trip"; }
	ok "chat round trip through the installed chatd: $(tail -n 1 "$scratch/bench.json" | cut -c 1-80)..."

	# logrotate's postrotate: SIGUSR1 makes chatd reopen its log file
	mv "$scratch/log/chatd.log" "$scratch/log/chatd.log.1"
	kill -USR1 "$pid"
	i=0
	until grep -qs 'log file reopened' "$scratch/log/chatd.log"; do
		[ $i -lt 100 ] || fail "SIGUSR1 did not reopen the log file"
		sleep 0.1
		i=$((i + 1))
	done
	ok "SIGUSR1 reopened the log file"

	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	status=0
	wait "$pid" || status=$?
	pid=
	[ "$status" -eq 0 ] || fail "the installed chatd exited $status after SIGTERM"
	ok "the installed chatd stopped cleanly"
}

# The installed unit, its paths moved into the scratch root.
check_unit() {
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		echo "package: SKIP: unit checks: systemd-analyze is missing (apt-get install systemd)"
		return 0
	fi
	mkdir "$scratch/unit"
	sed -e "s|/usr/sbin/chatd|$root/usr/sbin/chatd|g" "$unit" >"$scratch/unit/chatd.service"
	man=--man=yes
	if ! command -v man >/dev/null 2>&1; then
		man=--man=no
		echo "package: note: no man(1) here: not checking the Documentation= pages"
	fi
	(cd "$scratch/unit" && MANPATH=$root/usr/share/man \
		systemd-analyze verify "$man" ./chatd.service) >"$scratch/verify.log" 2>&1 ||
		{ cat "$scratch/verify.log" >&2; fail "systemd-analyze verify"; }
	[ ! -s "$scratch/verify.log" ] ||
		{ cat "$scratch/verify.log" >&2; fail "systemd-analyze verify is not clean"; }
	ok "systemd-analyze verify chatd.service: clean"

	(cd "$scratch/unit" && systemd-analyze security --offline=true ./chatd.service) \
		>"$scratch/security.log" 2>&1 || true
	exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
		"$scratch/security.log")
	[ -n "$exposure" ] ||
		{ cat "$scratch/security.log" >&2; fail "no exposure level from systemd-analyze security"; }
	awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
		{ grep '✗' "$scratch/security.log" >&2; fail "exposure $exposure > $max_exposure"; }
	ok "systemd-analyze security --offline=true: exposure $exposure (at most $max_exposure)"
}

build_package
check_contents
check_lintian
check_installed_paths
run_installed
check_unit
echo "package: all checks passed"

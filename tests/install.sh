#!/bin/sh
# SPDX-License-Identifier: MIT
# `make install DESTDIR=...` twice keeps an administrator's edited
# $(sysconfdir)/chatd/chatd.conf, refreshes chatd.conf.default beside it,
# both mode 0640; `make uninstall` removes chatd.conf.default and keeps the
# edited chatd.conf.  Run by `make check` from the build tree (or
# CHATD_BUILDDIR).
set -eu
build=${CHATD_BUILDDIR:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: install: $*" >&2; exit 1; }
# a make of its own, not the jobserver of the `make check` that runs us
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s -C "$build" "$@" \
		DESTDIR="$tmp/root" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; fail "make $*"; }
}
mode() { stat -c %a "$1"; }

mk install
def=$(find "$tmp/root" -path '*/chatd/chatd.conf.default' | head -n 1)
[ -n "$def" ] || fail "no chatd/chatd.conf.default installed"
conf=${def%.default}
[ -f "$conf" ] || fail "no $conf installed"
cmp -s "$conf" "$def" || fail "a first install's chatd.conf differs from chatd.conf.default"
[ "$(mode "$conf")" = 640 ] || fail "chatd.conf has mode $(mode "$conf"), want 640"
[ "$(mode "$def")" = 640 ] || fail "chatd.conf.default has mode $(mode "$def"), want 640"
grep -q '^# listen ' "$conf" || fail "chatd.conf is not the sample"

echo "listen 127.0.0.1:9999  # edited" >>"$conf"
: >"$def"
mk install
grep -q '^listen 127.0.0.1:9999  # edited$' "$conf" || fail "a second make install overwrote the edited chatd.conf"
grep -q '^# listen ' "$def" || fail "a second make install did not refresh chatd.conf.default"
[ "$(mode "$def")" = 640 ] || fail "chatd.conf.default has mode $(mode "$def") after a second install"

mk uninstall
[ ! -e "$def" ] || fail "make uninstall left chatd.conf.default"
grep -q '# edited$' "$conf" || fail "make uninstall removed the edited chatd.conf"
echo "PASS: install: an edited chatd.conf survives make install twice and make uninstall"

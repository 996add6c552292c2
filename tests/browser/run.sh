#!/bin/sh
# SPDX-License-Identifier: MIT
# The browser end-to-end test of the demo page (tests/run-all.sh runs it
# after the normal build).  Installs playwright-core from the npm registry
# with `npm ci` (the lock file; no browser is ever downloaded) unless it is
# there already, and drives Debian's /usr/bin/chromium.  The screenshot goes
# to BUILD_DIR/browser-chat.png.   usage: run.sh BUILD_DIR
# Fails (exit 1, one clear line) when node or npm is missing, when node is
# older than 18 (Debian 12 ships 18.20) or older than playwright-core's
# `engines` asks: an engines mismatch is an error here, never a hidden warning.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
fail() { echo "browser test: FAIL: $*" >&2; exit 1; }
command -v node >/dev/null 2>&1 || fail "node is missing (apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || fail "npm is missing (apt-get install nodejs npm)"
major=$(node -p 'process.versions.node.split(".")[0]') || fail "node does not run"
[ "$major" -ge 18 ] || fail "Node.js 18+ is needed, this is $(node -v)"
cd "$here"
if [ ! -f node_modules/playwright-core/package.json ]; then
	# engine-strict: refuse a package whose `engines` excludes this node
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --engine-strict --prefer-offline \
		--no-audit --no-fund --ignore-scripts --loglevel=warn ||
		fail "npm ci failed (see above)"
fi
# node_modules may come from an earlier run under another node: check again
need=$(node -p 'require("./node_modules/playwright-core/package.json").engines.node')
case $need in
">="[0-9]*) n=${need#>=}; [ "$major" -ge "${n%%.*}" ] ||
	fail "playwright-core needs node $need, this is $(node -v)" ;;
*) fail "playwright-core's engines field \"$need\" is not >=N: check it by hand" ;;
esac
CHATD_BIN="$build/chatd" CHATD_SRCDIR="$here/../.." node chat.test.mjs "$build"
# the same page over https:// and wss:// (issue 17)
CHATD_BIN="$build/chatd" CHATD_SRCDIR="$here/../.." node tls.test.mjs

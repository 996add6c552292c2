#!/bin/sh
# The browser end-to-end test of the demo page (tests/run-all.sh runs it
# after the normal build).  Installs playwright-core from the npm registry
# with `npm ci` (the lock file; no browser is ever downloaded) unless it is
# there already, and drives Debian's /usr/bin/chromium.  The screenshot goes
# to BUILD_DIR/browser-chat.png.   usage: run.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	{ echo "browser test: Node.js 18+ with npm is needed" >&2; exit 1; }
cd "$here"
if [ ! -f node_modules/playwright-core/package.json ]; then
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund \
		--ignore-scripts --loglevel=error
fi
CHATD_BIN="$build/chatd" CHATD_SRCDIR="$here/../.." node chat.test.mjs "$build"

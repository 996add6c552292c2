#!/bin/sh
# SPDX-License-Identifier: MIT
# check-style.sh - keep the shape of the server (src/, include/):
#   1. no cycle between modules.  A module is src/NAME.c with include/NAME.h
#      (a header belongs to its .c); NAME -> OTHER when NAME.c or NAME.h has
#      #include "OTHER.h".  Prints each cycle found as a path a -> b -> a.
#   2. no function in src/*.c longer than MAX_LINES lines, counted from the
#      "{" that opens it (alone at column 0) to the "}" that closes it.
#   3. a library's header only in the modules listed for it below (direct
#      #include <...> in src/*.c and include/*.h).
#
# usage: check-style.sh [--report] [TOP]
#   TOP: the source tree (default: this script's ../).  Exits 1 when it found
#   something, 0 when clean; --report prints the same and always exits 0.
# POSIX sh + awk only (a Debian minbase has no python3).
set -eu

MAX_LINES=${MAX_LINES:-80}

# library header (as in #include <...>) : the modules that may include it.
# Add a module here when it becomes the home of a library's code.
ALLOWED='
libwebsockets.h: worker wctx admit ws http page metrics publish alog frame wroster hjoin gate wloop accept conn http_resp http_members
uv.h:            wloop
hiredis.h:       redis_link
async.h:         redis_link
jansson.h:       msg auth publish stats roster
msgpack.h:       envelope
jwt.h:           auth
bsd/unistd.h:    title
systemd/sd-daemon.h: notify
openssl/err.h:   tls
openssl/pem.h:   tls
openssl/ssl.h:   tls
openssl/x509.h:  tls
'

report=0
if [ "${1:-}" = "--report" ]; then
	report=1
	shift
fi
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"

found=0
note() {  # heading, text (empty: nothing found)
	if [ -n "$2" ]; then
		printf '%s\n%s\n' "$1" "$2"
		found=1
	fi
}

# ---- 1. include cycles between modules --------------------------------------
# edges "from to", one a line, from every #include "x.h" of a module's files
edges=$(for f in src/*.c include/*.h; do
	[ -f "$f" ] || continue
	awk -v f="$f" '
		BEGIN { m = f; sub(/^.*\//, "", m); sub(/\.[ch]$/, "", m) }
		/^[ \t]*#[ \t]*include[ \t]*"/ {
			h = $0; sub(/^[^"]*"/, "", h); sub(/".*$/, "", h)
			sub(/\.h$/, "", h)
			if (h != m) print m, h
		}' "$f"
done | sort -u)

cycles=$(printf '%s\n' "$edges" | awk '
	NF == 2 { adj[$1] = adj[$1] " " $2; nodes[$1] = 1; nodes[$2] = 1 }
	# depth-first; a grey target is a back edge: the stack from it is a cycle
	function visit(n,    k, i, a, p, path) {
		color[n] = 1; stack[++depth] = n
		k = split(adj[n], a, " ")
		for (i = 1; i <= k; i++) {
			if (color[a[i]] == 1) {
				path = ""
				for (p = 1; p <= depth; p++)
					if (stack[p] == a[i] || path != "")
						path = path stack[p] " -> "
				print "  " path a[i]
			} else if (color[a[i]] == 0)
				visit(a[i])
		}
		depth--; color[n] = 2
	}
	END {
		# sorted start order: the same report every run
		n = 0; for (x in nodes) order[++n] = x
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && order[j - 1] > order[j]; j--) {
				t = order[j]; order[j] = order[j - 1]; order[j - 1] = t
			}
		for (i = 1; i <= n; i++)
			if (color[order[i]] == 0) visit(order[i])
	}')
note "include cycles between modules in src/ (a -> b: a.c or a.h includes b.h):" "$cycles"

# ---- 2. long functions ---------------------------------------------------------
long=$(awk -v max="$MAX_LINES" '
	FNR == 1 { name = ""; start = 0 }
	# a definition: a line at column 0 with "(" names it; "{" alone opens it
	/^[A-Za-z_].*\(/ && !/;[ \t]*$/ {
		s = $0; sub(/\(.*$/, "", s); sub(/^.*[^A-Za-z0-9_]/, "", s)
		name = s; nline = FNR; next
	}
	/^\{/ && name != "" { start = FNR; next }
	/^\}/ && start {
		len = FNR - start + 1
		if (len > max)
			printf "  %s:%d: %s() is %d lines (max %d)\n", FILENAME, nline, name, len, max
		name = ""; start = 0; next
	}
	/^[^ \t\/*#}{]/ && !start { name = "" }
' src/*.c)
note "functions over $MAX_LINES lines in src/:" "$long"

# ---- 3. library headers outside their modules ------------------------------------
libs=$(for f in src/*.c include/*.h; do
	[ -f "$f" ] || continue
	awk -v f="$f" -v allowed="$ALLOWED" '
		BEGIN {
			m = f; sub(/^.*\//, "", m); sub(/\.[ch]$/, "", m)
			k = split(allowed, rows, "\n")
			for (i = 1; i <= k; i++) {
				if (split(rows[i], kv, ":") != 2) continue
				gsub(/[ \t]/, "", kv[1])
				gsub(/[ \t]+/, " ", kv[2]); sub(/^ /, "", kv[2])
				ok[kv[1]] = " " kv[2] " "
			}
		}
		/^[ \t]*#[ \t]*include[ \t]*</ {
			h = $0; sub(/^[^<]*</, "", h); sub(/>.*$/, "", h)
			if ((h in ok) && index(ok[h], " " m " ") == 0)
				printf "  %s:%d: <%s> outside its modules (%s)\n", f, FNR, h,
					substr(ok[h], 2, length(ok[h]) - 2)
		}' "$f"
done)
note "library headers outside their modules:" "$libs"

# ---- 4. the licence line (README, "Licence") -------------------------------------
# Every tracked file but the exempt ones (JSON, fuzz corpora, the Debian
# packaging's own formats, the prose documents, LICENSE itself) carries an
# SPDX line in its first lines.  Only where git knows the files (not in a
# dist tarball).
spdx=
if git -C . rev-parse --git-dir >/dev/null 2>&1; then
	spdx=$(git -C . ls-files | grep -Ev '(^|/)(LICENSE|README|NEWS|[A-Z]+\.md)$|^doc/|\.json$|^fuzz/corpus/|^debian/(changelog|control|copyright|source/|[^/]*\.(dirs|lintian-overrides)$)' |
		while read -r f; do
			[ -f "$f" ] && ! head -n 5 "$f" | grep -q 'SPDX-License-Identifier' &&
				echo "  $f: no SPDX-License-Identifier line"
		done || true)
fi
note "files without the licence line:" "$spdx"

if [ "$found" = 0 ]; then
	echo "check-style: src/ and include/ are clean"
	exit 0
fi
[ "$report" = 1 ] && exit 0
exit 1

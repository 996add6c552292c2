/* SPDX-License-Identifier: MIT */
/*
 * page.c - the demo chat page: a flat directory of files, whitelisted names
 * and types, read whole (they are a few kilobytes), one placeholder filled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "page.h"

#ifndef DATADIR
#define DATADIR "/usr/local/share/chatd"
#endif

#define PAGE_NAME_MAX  64
#define PAGE_FILE_MAX  (1 << 20)      /* larger files are refused (500) */
#define PAGE_PREFIX_MARK "@PATH_PREFIX@"

const char *const page_headers[] = {
	"content-security-policy:",
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	"connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; "
	"frame-ancestors 'none'; object-src 'none'",
	"x-content-type-options:", "nosniff",
	"referrer-policy:", "no-referrer",
	"x-frame-options:", "DENY",
	NULL
};

static const struct { const char *ext, *type; } types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
};

const char *page_dir(const char *static_dir)
{
	if (strcmp(static_dir, "off") == 0)
		return NULL;
	return static_dir[0] ? static_dir : DATADIR "/static";
}

const char *page_type(const char *name)
{
	size_t n = strlen(name), el;

	if (n == 0 || n > PAGE_NAME_MAX || name[0] == '.' || name[0] == '-' || name[0] == '_')
		return NULL;
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		el = strlen(types[i].ext);
		if (n > el && strcmp(name + n - el, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

/* Read a whole regular file (at most PAGE_FILE_MAX) into *out. 0 / status. */
static int slurp(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st = { 0 };
	char *buf;

	if (f == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 404 : 500;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PAGE_FILE_MAX) {
		int dir = S_ISDIR(st.st_mode);

		fclose(f);
		return dir ? 404 : 500;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		fclose(f);
		return 500;
	}
	fclose(f);
	buf[st.st_size] = '\0';
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}

/* Replace every PAGE_PREFIX_MARK in *body with prefix (reallocating). 0 / 500 */
static int fill_prefix(char **body, size_t *len, const char *prefix)
{
	size_t ml = strlen(PAGE_PREFIX_MARK), pl = strlen(prefix), count = 0, n = 0;
	char *p, *out, *src = *body;

	for (p = strstr(src, PAGE_PREFIX_MARK); p != NULL; p = strstr(p + ml, PAGE_PREFIX_MARK))
		count++;
	if (count == 0)
		return 0;
	out = malloc(*len - count * ml + count * pl + 1);
	if (out == NULL)
		return 500;
	for (p = src; (src = strstr(p, PAGE_PREFIX_MARK)) != NULL; p = src + ml) {
		memcpy(out + n, p, (size_t)(src - p));
		n += (size_t)(src - p);
		memcpy(out + n, prefix, pl);
		n += pl;
	}
	memcpy(out + n, p, strlen(p) + 1);
	n += strlen(p);
	free(*body);
	*body = out;
	*len = n;
	return 0;
}

int page_load(const char *dir, const char *name, const char *prefix, char **body,
	      size_t *len, const char **ctype)
{
	char path[4096];
	int st;

	if (name[0] == '\0')
		name = "index.html";
	*ctype = page_type(name);
	if (*ctype == NULL)
		return 404;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return 404;
	st = slurp(path, body, len);
	if (st == 0 && strncmp(*ctype, "text/html", 9) == 0 && (st = fill_prefix(body, len, prefix)))
		free(*body);
	return st;
}

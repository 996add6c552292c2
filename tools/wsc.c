/* SPDX-License-Identifier: MIT */
/*
 * wsc.c - a minimal RFC 6455 WebSocket client (see wsc.h).
 *
 * The pure layer never allocates.  The blocking layer keeps one receive
 * buffer and one reassembly buffer per connection; the socket itself is
 * non-blocking and every wait is a poll() with a deadline.
 */
#include "wsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define WSC_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WSC_SEND_TIMEOUT 5000
#define WSC_HEAD_MAX     16384
#define WSC_MSG_MAX      (64u << 20) /* refuse to buffer more than this */

/* ---- random, SHA-1, base64 ------------------------------------------------ */

static __thread uint64_t wsc_rng;

static uint64_t wsc_next(void)
{
	while (wsc_rng == 0) {
		if (getrandom(&wsc_rng, sizeof(wsc_rng), 0) != sizeof(wsc_rng))
			wsc_rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	}
	wsc_rng ^= wsc_rng >> 12;
	wsc_rng ^= wsc_rng << 25;
	wsc_rng ^= wsc_rng >> 27;
	return wsc_rng * 0x2545F4914F6CDD1DULL;
}

void wsc_random(void *out, size_t n)
{
	uint8_t *p = out;

	while (n > 0) {
		uint64_t r = wsc_next();
		size_t k = n < 8 ? n : 8;

		memcpy(p, &r, k);
		p += k;
		n -= k;
	}
}

static uint32_t rol32(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t b[64])
{
	uint32_t w[80], a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;

		if (i < 20)      { f = (bb & c) | (~bb & d);           k = 0x5A827999; }
		else if (i < 40) { f = bb ^ c ^ d;                     k = 0x6ED9EBA1; }
		else if (i < 60) { f = (bb & c) | (bb & d) | (c & d);  k = 0x8F1BBCDC; }
		else             { f = bb ^ c ^ d;                     k = 0xCA62C1D6; }
		uint32_t t = rol32(a, 5) + f + e + k + w[i];
		e = d; d = c; c = rol32(bb, 30); bb = a; a = t;
	}
	h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e;
}

void wsc_sha1(const void *data, size_t len, uint8_t out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	const uint8_t *p = data;
	uint8_t tail[128];
	size_t full = len & ~(size_t)63, rest = len - full, tn;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha1_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	if (rest)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tn = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tn - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (size_t i = 0; i < tn; i += 64)
		sha1_block(h, tail + i);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

int wsc_base64(const uint8_t *in, size_t n, char *out, size_t cap)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (n + 2) / 3 * 4, o = 0;

	if (cap < need + 1)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n) v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

void wsc_accept_for_key(const char *key, char out[WSC_ACCEPT_LEN + 1])
{
	char cat[128];
	uint8_t dig[20];
	int n = snprintf(cat, sizeof(cat), "%s%s", key, WSC_GUID);

	if (n < 0 || (size_t)n >= sizeof(cat))
		n = (int)sizeof(cat) - 1;
	wsc_sha1(cat, (size_t)n, dig);
	wsc_base64(dig, sizeof(dig), out, WSC_ACCEPT_LEN + 1);
}

/* ---- handshake ------------------------------------------------------------- */

int wsc_handshake_request(char *buf, size_t cap, const char *host, int port,
			  const char *path, const char *extra_headers,
			  char key_out[WSC_KEY_LEN + 1])
{
	uint8_t raw[16];
	int n;

	wsc_random(raw, sizeof(raw));
	wsc_base64(raw, sizeof(raw), key_out, WSC_KEY_LEN + 1);
	n = snprintf(buf, cap,
		     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n%s\r\n",
		     path, host, port, key_out, extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

/* Find "\r\n\r\n" in buf[0..len); the index after it, or 0. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Does the header value v[0..n) contain token tok (case-insensitive)? */
static int value_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= n; i++)
		if (strncasecmp(v + i, tok, tl) == 0)
			return 1;
	return 0;
}

/* One header line name: value at line[0..n); updates h and *upgrade_ok. */
static void head_field(const char *line, size_t n, const char *key,
		       struct wsc_http_head *h, int *upgrade_ok, int *accept_match)
{
	const char *colon = memchr(line, ':', n);
	size_t nl, vl;
	const char *v;

	if (!colon)
		return;
	nl = (size_t)(colon - line);
	v = colon + 1;
	while (v < line + n && (*v == ' ' || *v == '\t'))
		v++;
	vl = (size_t)(line + n - v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (nl == 14 && strncasecmp(line, "Content-Length", nl) == 0)
		h->content_length = strtol(v, NULL, 10);
	else if (nl == 10 && strncasecmp(line, "Connection", nl) == 0)
		h->conn_close = value_has(v, vl, "close");
	else if (nl == 7 && strncasecmp(line, "Upgrade", nl) == 0)
		*upgrade_ok = value_has(v, vl, "websocket");
	else if (nl == 20 && strncasecmp(line, "Sec-WebSocket-Accept", nl) == 0 && key) {
		char want[WSC_ACCEPT_LEN + 1];

		wsc_accept_for_key(key, want);
		*accept_match = vl == WSC_ACCEPT_LEN && memcmp(v, want, vl) == 0;
	}
}

ssize_t wsc_handshake_parse(const char *buf, size_t len, const char *key,
			    struct wsc_http_head *h)
{
	size_t end = head_end(buf, len), pos;
	int upgrade_ok = 0, accept_match = 0;
	char code[4];

	if (end == 0)
		return len > WSC_HEAD_MAX ? -1 : 0;
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	if (end < 16 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return -1;
	memcpy(code, buf + 9, 3);
	code[3] = '\0';
	if (code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' ||
	    code[2] < '0' || code[2] > '9')
		return -1;
	h->status = atoi(code);
	pos = (size_t)((const char *)memchr(buf, '\n', end) - buf) + 1;
	while (pos + 2 < end) {
		const char *nl = memchr(buf + pos, '\n', end - pos);
		size_t ll = (size_t)(nl - (buf + pos));

		if (ll > 0 && buf[pos + ll - 1] == '\r')
			ll--;
		head_field(buf + pos, ll, key, h, &upgrade_ok, &accept_match);
		pos = (size_t)(nl - buf) + 1;
	}
	h->accept_ok = h->status == 101 && upgrade_ok && accept_match;
	return (ssize_t)end;
}

/* ---- frames ----------------------------------------------------------------- */

int wsc_frame_header_raw(uint8_t *buf, size_t cap, int opcode, int fin,
			 int masked, int rsv_bits, uint64_t declared_len,
			 uint8_t mask_out[4])
{
	uint8_t hdr[WSC_MAX_HEADER];
	size_t n = 2;

	hdr[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv_bits & 0x70) | (opcode & 0x0f));
	if (declared_len < 126) {
		hdr[1] = (uint8_t)declared_len;
	} else if (declared_len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(declared_len >> 8);
		hdr[3] = (uint8_t)declared_len;
		n = 4;
	} else {
		hdr[1] = 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)(declared_len >> (56 - 8 * i));
		n = 10;
	}
	if (masked) {
		hdr[1] |= 0x80;
		wsc_random(hdr + n, 4);
		if (mask_out)
			memcpy(mask_out, hdr + n, 4);
		n += 4;
	}
	if (cap < n)
		return -1;
	memcpy(buf, hdr, n);
	return (int)n;
}

void wsc_mask(uint8_t *data, size_t n, const uint8_t mask[4], size_t offset)
{
	for (size_t i = 0; i < n; i++)
		data[i] ^= mask[(i + offset) & 3];
}

ssize_t wsc_frame_encode(uint8_t *buf, size_t cap, int opcode, int fin,
			 int masked, int rsv_bits, const void *payload, size_t len)
{
	uint8_t mask[4];
	int hl = wsc_frame_header_raw(buf, cap, opcode, fin, masked, rsv_bits, len, mask);

	if (hl < 0 || cap - (size_t)hl < len)
		return -1;
	if (len)
		memcpy(buf + hl, payload, len);
	if (masked)
		wsc_mask(buf + hl, len, mask, 0);
	return (ssize_t)(hl + len);
}

ssize_t wsc_frame_parse(const uint8_t *buf, size_t len, struct wsc_frame *f)
{
	uint64_t plen;
	size_t hl = 2;

	if (len < 2)
		return 0;
	f->fin = buf[0] >> 7;
	f->rsv = buf[0] & 0x70;
	f->opcode = buf[0] & 0x0f;
	if (f->rsv || (buf[1] & 0x80))
		return -1;
	if ((f->opcode >= 3 && f->opcode <= 7) || f->opcode > 0xA)
		return -1;
	plen = buf[1] & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		hl = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = plen << 8 | buf[2 + i];
		hl = 10;
		if (plen >> 62)
			return -1;
	}
	if (f->opcode >= 8 && (plen > 125 || !f->fin))
		return -1;
	if (len - hl < plen)
		return 0;
	f->payload = buf + hl;
	f->len = plen;
	return (ssize_t)(hl + plen);
}

/* ---- blocking layer ------------------------------------------------------- */

/* One per connection (wsc_connect); freed by wsc_free(). */
struct wsc {
	int       fd;
	uint8_t  *rbuf;          /* received, not yet parsed */
	size_t    rlen, rcap, rpos;
	char     *msg;           /* reassembled message (+ NUL) */
	size_t    mlen, mcap;
	int       mop;           /* opcode of a fragmented message in progress, or 0 */
	int       close_sent, close_seen, eof;
	int       err;           /* errno of the read that ended it; 0 = clean EOF */
	unsigned  pings;
	SSL      *ssl;           /* wss:// / https://; NULL: plain */
};

static __thread char wsc_last[8192];

const char *wsc_last_response(void)
{
	return wsc_last;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline (ms, monotonic); >0 ready, 0 timeout. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

int wsc_tcp_connect(const char *host, int port, int timeout_ms)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char ps[16];
	int fd = -1, one = 1, err = 0;
	socklen_t el = sizeof(err);

	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, now_ms() + timeout_ms) <= 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
			goto fail;
	}
	freeaddrinfo(ai);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

/* One write, plain or TLS: bytes written, or -1 with errno (EAGAIN: wait
 * for *ev). */
static ssize_t wsc_write(struct wsc *c, const void *p, size_t len, short *ev)
{
	int n, e;

	*ev = POLLOUT;
	if (c->ssl == NULL)
		return send(c->fd, p, len, MSG_NOSIGNAL);
	ERR_clear_error();
	n = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, n);
	errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
	*ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
	return -1;
}

/* Write all of buf before deadline; 0 or -1. */
static int write_all(struct wsc *c, const void *buf, size_t len, long long deadline)
{
	const uint8_t *p = buf;
	int fd = c->fd;

	while (len > 0) {
		short ev;
		ssize_t n = wsc_write(c, p, len, &ev);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, ev, deadline) <= 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Make room for `more` bytes after rlen in c->rbuf; 0 or -1. */
static int rbuf_reserve(struct wsc *c, size_t more)
{
	if (c->rpos > 0 && c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	if (c->rpos > 0 && c->rcap - c->rlen < more) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rcap - c->rlen >= more)
		return 0;
	size_t ncap = c->rcap ? c->rcap : 65536;
	while (ncap - c->rlen < more)
		ncap *= 2;
	if (ncap > WSC_MSG_MAX + 65536)
		return -1;
	uint8_t *nb = realloc(c->rbuf, ncap);
	if (!nb)
		return -1;
	c->rbuf = nb;
	c->rcap = ncap;
	return 0;
}

/* One read, plain or TLS: like recv(); TLS's "want more" is EAGAIN, its
 * clean close_notify 0. */
static ssize_t wsc_read(struct wsc *c, void *p, size_t len)
{
	int n, e;

	if (c->ssl == NULL)
		return recv(c->fd, p, len, 0);
	ERR_clear_error();
	n = SSL_read(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		errno = EAGAIN;
	else if (e != SSL_ERROR_SYSCALL || errno == 0)
		errno = e == SSL_ERROR_SYSCALL ? ECONNRESET : EPROTO;
	return -1;
}

/* One read into rbuf: >0 bytes, 0 would block, -1 EOF/error (c->eof set). */
static int fill(struct wsc *c)
{
	ssize_t n;

	if (rbuf_reserve(c, 16384) < 0)
		return -1;
	do
		n = wsc_read(c, c->rbuf + c->rlen, c->rcap - c->rlen);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		c->rlen += (size_t)n;
		return (int)n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	c->err = n < 0 ? errno : 0;
	c->eof = 1;
	return -1;
}

static struct wsc *wsc_new(int fd)
{
	struct wsc *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	return c;
}

/* Keep the refused response (head + what came of the body) for the tests. */
static void keep_refusal(struct wsc *c, const struct wsc_http_head *h,
			 size_t hl, long long deadline)
{
	size_t want = h->content_length >= 0 ? hl + (size_t)h->content_length : WSC_HEAD_MAX;

	while (c->rlen < want && c->rlen < sizeof(wsc_last) - 1) {
		int r = fill(c);

		if (r < 0)
			break;
		if (r == 0 && wait_fd(c->fd, POLLIN, deadline) <= 0)
			break;
	}
	size_t n = c->rlen < sizeof(wsc_last) - 1 ? c->rlen : sizeof(wsc_last) - 1;
	memcpy(wsc_last, c->rbuf, n);
	wsc_last[n] = '\0';
}

/* Read the response head into c->rbuf; its length, or -1 (status in *h). */
static ssize_t read_head(struct wsc *c, const char *key, struct wsc_http_head *h,
			 long long deadline)
{
	for (;;) {
		ssize_t hl = wsc_handshake_parse((const char *)c->rbuf, c->rlen, key, h);
		int r;

		if (hl != 0)
			return hl;
		r = fill(c);
		if (r < 0)
			return -1;
		if (r == 0 && wait_fd(c->fd, POLLIN, deadline) <= 0)
			return -1;
	}
}

/* ---- TLS ------------------------------------------------------------------ */

static __thread char wsc_tls_err[256];

const char *wsc_tls_error(void)
{
	return wsc_tls_err;
}

static void tls_fail(const char *what)
{
	unsigned long e = ERR_peek_last_error();

	snprintf(wsc_tls_err, sizeof(wsc_tls_err), "%s: %s", what,
		 e ? ERR_reason_error_string(e) : errno ? strerror(errno) : "closed");
	ERR_clear_error();
}

static SSL_CTX *tls_ctx(const struct wsc_tls *t)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	if (t->max_version) {
		/* old versions only exist at security level 0 in OpenSSL 3 */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(ctx, t->max_version);
	}
	if (t->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
			tls_fail(t->ca_file);
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
}

/* Name (SNI) and, when verifying, the name or address the certificate
 * must hold. */
static void tls_name(SSL *ssl, const struct wsc_tls *t, const char *host)
{
	const char *name = t->sni ? t->sni : host;
	struct in6_addr a6;
	struct in_addr a4;
	int ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;

	if (!ip)
		SSL_set_tlsext_host_name(ssl, name);
	if (t->ca_file == NULL)
		return;
	if (ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	else
		SSL_set1_host(ssl, name);
}

/* The TLS handshake on c before deadline; 0, or -1 with wsc_tls_error(). */
static int tls_start(struct wsc *c, const struct wsc_tls *t, const char *host,
		     long long deadline)
{
	SSL_CTX *ctx = tls_ctx(t);
	int n, e;

	if (ctx == NULL)
		return -1;
	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);     /* the SSL holds a reference */
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_fail("SSL_new");
		return -1;
	}
	tls_name(c->ssl, t, host);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		n = SSL_connect(c->ssl);
		if (n == 1)
			return 0;
		e = SSL_get_error(c->ssl, n);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) <= 0) {
			tls_fail(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ?
				 "handshake timed out" : "handshake");
			return -1;
		}
	}
}

int wsc_tls_peer_serial(const struct wsc *c, char *buf, size_t len)
{
	X509 *x = c->ssl ? SSL_get1_peer_certificate(c->ssl) : NULL;
	BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int n = snprintf(buf, len, "%s", hex ? hex : "");

	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return n;
}

const char *wsc_tls_version(const struct wsc *c)
{
	return c->ssl ? SSL_get_version(c->ssl) : "";
}

/* A connected socket, as a struct wsc, TLS done when t is not NULL. */
static struct wsc *wsc_open(const char *host, int port, const struct wsc_tls *t,
			    long long deadline)
{
	int fd = wsc_tcp_connect(host, port, (int)(deadline - now_ms()));
	struct wsc *c;

	if (fd < 0)
		return NULL;
	c = wsc_new(fd);
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	if (t != NULL && tls_start(c, t, host, deadline) < 0) {
		wsc_free(c);
		return NULL;
	}
	return c;
}

struct wsc *wsc_connect(const char *host, int port, const char *path,
			const char *extra_headers, int timeout_ms, int *http_status)
{
	return wsc_connect_tls(host, port, path, extra_headers, timeout_ms, http_status, NULL);
}

struct wsc *wsc_connect_tls(const char *host, int port, const char *path,
			    const char *extra_headers, int timeout_ms, int *http_status,
			    const struct wsc_tls *tls)
{
	long long deadline = now_ms() + timeout_ms;
	char req[8192], key[WSC_KEY_LEN + 1];
	struct wsc_http_head h = { 0 };
	struct wsc *c = NULL;
	int n;
	ssize_t hl;

	if (http_status)
		*http_status = 0;
	wsc_last[0] = '\0';
	n = wsc_handshake_request(req, sizeof(req), host, port, path, extra_headers, key);
	if (n < 0 || (c = wsc_open(host, port, tls, deadline)) == NULL)
		return NULL;
	if (write_all(c, req, (size_t)n, deadline) < 0 ||
	    (hl = read_head(c, key, &h, deadline)) < 0)
		goto fail;
	if (http_status)
		*http_status = h.status;
	if (!h.accept_ok) {
		keep_refusal(c, &h, (size_t)hl, deadline);
		goto fail;
	}
	c->rpos = (size_t)hl;
	return c;
fail:
	wsc_free(c);
	return NULL;
}

int wsc_send_raw(struct wsc *c, const void *bytes, size_t len)
{
	return write_all(c, bytes, len, now_ms() + WSC_SEND_TIMEOUT);
}

int wsc_send_frame(struct wsc *c, int opcode, int fin, const void *payload, size_t len)
{
	size_t cap = len + WSC_MAX_HEADER;
	uint8_t stackbuf[512], *buf = cap <= sizeof(stackbuf) ? stackbuf : malloc(cap);
	ssize_t n;
	int rc = -1;

	if (!buf)
		return -1;
	n = wsc_frame_encode(buf, cap, opcode, fin, 1, 0, payload, len);
	if (n > 0)
		rc = wsc_send_raw(c, buf, (size_t)n);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

int wsc_send_text(struct wsc *c, const char *str, size_t len)
{
	return wsc_send_frame(c, WSC_OP_TEXT, 1, str, len);
}

int wsc_close(struct wsc *c, int code)
{
	uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	c->close_sent = 1;
	return wsc_send_frame(c, WSC_OP_CLOSE, 1, p, code ? 2 : 0);
}

/* Append a fragment to the message being reassembled; 0 or -1. */
static int msg_append(struct wsc *c, const uint8_t *p, size_t n)
{
	if (c->mlen + n + 1 > c->mcap) {
		size_t ncap = c->mcap ? c->mcap : 4096;

		while (ncap < c->mlen + n + 1)
			ncap *= 2;
		if (ncap > WSC_MSG_MAX)
			return -1;
		char *nm = realloc(c->msg, ncap);
		if (!nm)
			return -1;
		c->msg = nm;
		c->mcap = ncap;
	}
	if (n)
		memcpy(c->msg + c->mlen, p, n);
	c->mlen += n;
	c->msg[c->mlen] = '\0';
	return 0;
}

/* Fill *m with the reassembled message of opcode op; returns 1. */
static int msg_deliver(struct wsc *c, int op, struct wsc_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->opcode = op;
	m->data = c->msg;
	m->len = c->mlen;
	c->mop = 0;
	return 1;
}

/* A close frame's code and reason into *m; echo the close once. */
static int on_close(struct wsc *c, const struct wsc_frame *f, struct wsc_msg *m)
{
	size_t rl;

	c->mlen = 0;
	if (msg_append(c, f->payload, f->len) < 0)
		return -1;
	msg_deliver(c, WSC_OP_CLOSE, m);
	m->close_code = f->len >= 2 ? (f->payload[0] << 8 | f->payload[1]) : 1005;
	rl = f->len > 2 ? f->len - 2 : 0;
	if (rl >= sizeof(m->close_reason))
		rl = sizeof(m->close_reason) - 1;
	memcpy(m->close_reason, f->payload + 2, rl);
	m->close_reason[rl] = '\0';
	c->close_seen = 1;
	if (!c->close_sent) {
		c->close_sent = 1;
		wsc_send_frame(c, WSC_OP_CLOSE, 1, f->payload, f->len >= 2 ? 2 : 0);
	}
	return 1;
}

/* Handle one parsed frame: 1 = message ready in *m, 0 = keep going, -1 = error. */
static int on_frame(struct wsc *c, const struct wsc_frame *f, struct wsc_msg *m)
{
	switch (f->opcode) {
	case WSC_OP_PING:
		c->pings++;
		wsc_send_frame(c, WSC_OP_PONG, 1, f->payload, f->len);
		return 0;
	case WSC_OP_PONG:
		c->mlen = 0;
		if (msg_append(c, f->payload, f->len) < 0)
			return -1;
		return msg_deliver(c, WSC_OP_PONG, m);
	case WSC_OP_CLOSE:
		return on_close(c, f, m);
	case WSC_OP_CONT:
		if (!c->mop)
			return -1;
		break;
	default: /* text, binary */
		if (c->mop)
			return -1;
		c->mop = f->opcode;
		c->mlen = 0;
	}
	if (msg_append(c, f->payload, f->len) < 0)
		return -1;
	return f->fin ? msg_deliver(c, c->mop, m) : 0;
}

int wsc_recv(struct wsc *c, int timeout_ms, struct wsc_msg *m)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct wsc_frame f;
		ssize_t n = wsc_frame_parse(c->rbuf + c->rpos, c->rlen - c->rpos, &f);

		if (n < 0) {
			c->err = EPROTO;
			return -1;
		}
		if (n > 0) {
			int r;

			c->rpos += (size_t)n;
			r = on_frame(c, &f, m);
			if (r != 0)
				return r;
			continue;
		}
		if (c->eof)
			return -1;
		int got = fill(c);
		if (got < 0)
			return -1;
		if (got > 0)
			continue;
		if (timeout_ms <= 0 || wait_fd(c->fd, POLLIN, deadline) <= 0)
			return 0;
	}
}

size_t wsc_buffered(const struct wsc *c)
{
	return c->rlen - c->rpos + (c->ssl ? (size_t)SSL_pending(c->ssl) : 0);
}

void wsc_free(struct wsc *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c->msg);
	free(c);
}

int wsc_fd(const struct wsc *c)
{
	return c->fd;
}

int wsc_error(const struct wsc *c)
{
	return c->err;
}

unsigned wsc_pings_answered(const struct wsc *c)
{
	return c->pings;
}

/* ---- plain HTTP ------------------------------------------------------------- */

/* Read until EOF or the declared body length; the body length, or -1. */
static long read_body(struct wsc *c, const struct wsc_http_head *h, size_t hl,
		      long long deadline)
{
	for (;;) {
		size_t have = c->rlen - hl;

		if (h->content_length >= 0 && have >= (size_t)h->content_length)
			return h->content_length;
		int r = fill(c);
		if (r < 0)
			return h->content_length >= 0 ? -1 : (long)have;
		if (r == 0 && wait_fd(c->fd, POLLIN, deadline) <= 0)
			return -1;
	}
}

int wsc_http_request(const char *host, int port, const char *method, const char *path,
		     const char *headers, const char *body, int timeout_ms,
		     int *status, char *body_out, size_t cap)
{
	return wsc_http_request_tls(host, port, method, path, headers, body, timeout_ms,
				    status, body_out, cap, NULL);
}

int wsc_http_request_tls(const char *host, int port, const char *method, const char *path,
			 const char *headers, const char *body, int timeout_ms,
			 int *status, char *body_out, size_t cap, const struct wsc_tls *tls)
{
	long long deadline = now_ms() + timeout_ms;
	size_t bl = body ? strlen(body) : 0;
	char req[8192];
	struct wsc_http_head h;
	struct wsc *c;
	ssize_t hl;
	long n = -1;
	int rl;

	rl = snprintf(req, sizeof(req),
		      "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n"
		      "Content-Length: %zu\r\n%s\r\n",
		      method, path, host, port, bl, headers ? headers : "");
	if (rl < 0 || (size_t)rl >= sizeof(req) || (c = wsc_open(host, port, tls, deadline)) == NULL)
		return -1;
	if (write_all(c, req, (size_t)rl, deadline) == 0 &&
	    (!bl || write_all(c, body, bl, deadline) == 0) &&
	    (hl = read_head(c, NULL, &h, deadline)) > 0 &&
	    (n = read_body(c, &h, (size_t)hl, deadline)) >= 0) {
		size_t k = (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;

		if (cap) {
			memcpy(body_out, c->rbuf + hl, k);
			body_out[k] = '\0';
		}
		if (status)
			*status = h.status;
		n = (long)k;
	} else {
		n = -1;
	}
	wsc_free(c);
	return (int)n;
}

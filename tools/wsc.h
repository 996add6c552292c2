/* SPDX-License-Identifier: MIT */
/*
 * wsc.h - a minimal RFC 6455 WebSocket client, for the integration tests
 * and the benchmark tool.  Not part of the daemon.
 *
 * Two layers:
 *  - a pure, allocation-free layer (handshake request/response, frame
 *    encode/parse) that a non-blocking epoll client can drive itself; it can
 *    also write deliberately wrong frames for abuse tests;
 *  - a blocking convenience layer (struct wsc) for tests: connect, send,
 *    receive whole messages with timeouts, plus a plain HTTP request.
 *
 * Thread safety: the pure layer is reentrant (its random numbers come from a
 * thread-local generator); one struct wsc must be used by one thread.
 */
#ifndef CHATD_WSC_H
#define CHATD_WSC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum wsc_opcode {
	WSC_OP_CONT = 0x0, WSC_OP_TEXT = 0x1, WSC_OP_BINARY = 0x2,
	WSC_OP_CLOSE = 0x8, WSC_OP_PING = 0x9, WSC_OP_PONG = 0xA
};

#define WSC_KEY_LEN      24       /* base64 of 16 random bytes */
#define WSC_ACCEPT_LEN   28       /* base64 of a SHA-1 */
#define WSC_MAX_HEADER   14       /* 2 + 8 (length) + 4 (mask) */
#define WSC_RSV1         0x40
#define WSC_RSV2         0x20
#define WSC_RSV3         0x10

/* ---- pure layer ---------------------------------------------------------- */

/* Fill out[] with n random bytes (thread-local xorshift seeded by getrandom). */
void wsc_random(void *out, size_t n);

/* SHA-1 of data; out gets 20 bytes. */
void wsc_sha1(const void *data, size_t len, uint8_t out[20]);

/* Base64 of in[0..n) into out (NUL-terminated); returns the length or -1
 * when cap is too small. */
int wsc_base64(const uint8_t *in, size_t n, char *out, size_t cap);

/* The Sec-WebSocket-Accept value for key: out gets WSC_ACCEPT_LEN chars + NUL. */
void wsc_accept_for_key(const char *key, char out[WSC_ACCEPT_LEN + 1]);

/*
 * Build the HTTP upgrade request for ws://host:port/path into buf, with a new
 * random Sec-WebSocket-Key copied to key_out (WSC_KEY_LEN chars + NUL).
 * extra_headers (may be NULL) is inserted as is: complete "Name: value\r\n"
 * lines.  Returns the request length, or -1 when it does not fit in cap.
 */
int wsc_handshake_request(char *buf, size_t cap, const char *host, int port,
			  const char *path, const char *extra_headers,
			  char key_out[WSC_KEY_LEN + 1]);

/* What wsc_handshake_parse() found in an HTTP response head. */
struct wsc_http_head {
	int  status;            /* e.g. 101, 400, 404 */
	int  accept_ok;         /* 101 with Upgrade: websocket and the right accept */
	long content_length;    /* -1 when absent */
	int  conn_close;        /* "Connection: close" */
};

/*
 * Parse an HTTP/1.x response head in buf[0..len).  key is the request's
 * Sec-WebSocket-Key (NULL for plain HTTP: accept_ok stays 0).  Returns the
 * length of the head (through the blank line) with *h filled, 0 when the
 * head is not complete yet, or -1 when it is malformed.
 */
ssize_t wsc_handshake_parse(const char *buf, size_t len, const char *key,
			    struct wsc_http_head *h);

/*
 * Write the header of one frame into buf: any opcode (also reserved ones),
 * fin, rsv bits (WSC_RSV1..3), masked or not, and an arbitrary declared
 * payload length (the caller writes as many payload bytes as it wants, masked
 * with mask_out when masked).  mask_out (may be NULL) gets the mask key.
 * Returns the header length, or -1 when cap < header length.
 */
int wsc_frame_header_raw(uint8_t *buf, size_t cap, int opcode, int fin,
			 int masked, int rsv_bits, uint64_t declared_len,
			 uint8_t mask_out[4]);

/* XOR data[0..n) with the 4-byte mask, starting at mask offset `offset`. */
void wsc_mask(uint8_t *data, size_t n, const uint8_t mask[4], size_t offset);

/*
 * Write a whole frame (header + payload, masked with a random key when
 * `masked`) into buf.  Returns its length, or -1 when it does not fit.
 * A client must send masked frames; masked = 0 is for abuse tests.
 */
ssize_t wsc_frame_encode(uint8_t *buf, size_t cap, int opcode, int fin,
			 int masked, int rsv_bits, const void *payload, size_t len);

/* One frame found by wsc_frame_parse(); payload points into the input. */
struct wsc_frame {
	int            opcode;
	int            fin;
	int            rsv;       /* the rsv bits as they were (0x70 mask) */
	const uint8_t *payload;
	uint64_t       len;
};

/*
 * Parse one server frame at buf[0..len).  Returns the frame's total length
 * (header + payload) with *f filled, 0 when more bytes are needed, or -1 on
 * a protocol error (masked server frame, rsv bits, reserved opcode, bad
 * control frame, absurd length).
 */
ssize_t wsc_frame_parse(const uint8_t *buf, size_t len, struct wsc_frame *f);

/* ---- blocking layer -------------------------------------------------------- */

struct wsc;   /* one per connection, made by wsc_connect(), freed by wsc_free() */

/* One received message (wsc_recv); data is NUL-terminated and stays valid
 * until the next wsc_recv() or wsc_free() on the same connection. */
struct wsc_msg {
	int     opcode;            /* TEXT, BINARY, PONG or CLOSE */
	char   *data;
	size_t  len;
	int     close_code;        /* CLOSE: the code, 1005 when none */
	char    close_reason[128]; /* CLOSE: the reason, NUL-terminated */
};

/* A TCP connection to host:port (TCP_NODELAY, non-blocking); fd or -1. */
int wsc_tcp_connect(const char *host, int port, int timeout_ms);

/*
 * Connect and upgrade ws://host:port/path.  Returns the connection, or NULL
 * when TCP or the upgrade failed; *http_status (may be NULL) gets the HTTP
 * status (101 on success, e.g. 400/404 on refusal, 0 when no response came).
 * The whole response of the last refused upgrade on this thread stays
 * readable through wsc_last_response().
 */
struct wsc *wsc_connect(const char *host, int port, const char *path,
			const char *extra_headers, int timeout_ms, int *http_status);

/* TLS (wss://, https://) for wsc_connect_tls() and wsc_http_request_tls(). */
struct wsc_tls {
	const char *ca_file;    /* verify the server's chain and name against this
				 * CA (PEM); NULL: no verification */
	const char *sni;        /* name to send and verify; NULL: host */
	int         max_version; /* 0, or the highest version offered (e.g.
				  * TLS1_1_VERSION, 0x0302: old versions allowed) */
};

/* wsc_connect() over TLS when tls is not NULL; a failed TLS handshake is a
 * NULL return with the reason in wsc_tls_error(). */
struct wsc *wsc_connect_tls(const char *host, int port, const char *path,
			    const char *extra_headers, int timeout_ms, int *http_status,
			    const struct wsc_tls *tls);

/* Why the last TLS handshake on this thread failed ("handshake:
 * certificate verify failed"). */
const char *wsc_tls_error(void);

/* The server certificate's serial number (hex) / the TLS version in use
 * ("" on a plain connection). */
int wsc_tls_peer_serial(const struct wsc *c, char *buf, size_t len);
const char *wsc_tls_version(const struct wsc *c);

/* The last refused upgrade's response (head + body) on this thread. */
const char *wsc_last_response(void);

/* Send a text message / any frame (masked) / raw bytes; blocks up to the
 * send timeout (5 s).  0 or -1. */
int wsc_send_text(struct wsc *c, const char *str, size_t len);
int wsc_send_frame(struct wsc *c, int opcode, int fin, const void *payload, size_t len);
int wsc_send_raw(struct wsc *c, const void *bytes, size_t len);

/*
 * Wait up to timeout_ms (0: only what is already there, no blocking) for one
 * whole message: fragments are reassembled, server pings are answered with
 * pongs, a close frame is reported (and echoed once).  Returns 1 with *m
 * filled, 0 on timeout, -1 when the connection ended (EOF, error, protocol
 * error, or nothing more after a close frame).
 */
int wsc_recv(struct wsc *c, int timeout_ms, struct wsc_msg *m);

/* Bytes received but not yet returned as a message (0: poll the fd). */
size_t wsc_buffered(const struct wsc *c);

/* Send a close frame with code (0: no code); does not wait.  0 or -1. */
int wsc_close(struct wsc *c, int code);

/* Close the socket and free everything; NULL is harmless. */
void wsc_free(struct wsc *c);

int wsc_fd(const struct wsc *c);

/* The errno that ended the connection (e.g. ECONNRESET; EPROTO
 * for a frame wsc_frame_parse() refused), 0 for a clean EOF. */
int wsc_error(const struct wsc *c);

/* How many server pings wsc_recv() answered on this connection. */
unsigned wsc_pings_answered(const struct wsc *c);

/*
 * A plain HTTP/1.1 request (Connection: close).  headers (may be NULL):
 * complete "Name: value\r\n" lines; body (may be NULL) is sent with a
 * Content-Length.  The response body goes into body_out (NUL-terminated,
 * truncated to cap - 1).  Returns the body length stored, with *status set,
 * or -1 on a connection/protocol failure or timeout.
 */
int wsc_http_request(const char *host, int port, const char *method, const char *path,
		     const char *headers, const char *body, int timeout_ms,
		     int *status, char *body_out, size_t cap);
/* The same over TLS (tls NULL: plain). */
int wsc_http_request_tls(const char *host, int port, const char *method, const char *path,
			 const char *headers, const char *body, int timeout_ms,
			 int *status, char *body_out, size_t cap, const struct wsc_tls *tls);

#endif

/*
 * The operations HTTP server: a libevent evhttp server on the daemon's loop
 * (127.0.0.1:9464 by default) answering GET /metrics (Prometheus text), /healthz
 * (200 "ok" or 503 with the reason) and /feeds (every feed's status as JSON). It
 * knows nothing of the daemon: what it serves comes from a source of callbacks.
 */
#ifndef TG_HTTPD_H
#define TG_HTTPD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"

struct event_base;
struct tg_httpd;

#define TG_HTTPD_DEFAULT_LISTEN "127.0.0.1:9464"
#define TG_HTTPD_METRICS_MAX (8 * 1024 * 1024) /* cap on the /metrics text */
#define TG_HTTPD_TIMEOUT_S 10                   /* per connection, read and write */

/* What the server serves, called on the loop's thread for each request. A NULL
 * callback makes its path answer 404. */
struct tg_httpd_source {
	void *arg;
	/* Append the Prometheus text to out (capped at TG_HTTPD_METRICS_MAX). */
	void (*metrics)(void *arg, struct tg_buf *out);
	/* 0 when healthy; -1 with a one-line reason ("no workers connected"). */
	int (*health)(void *arg, char *reason, size_t reasonlen);
	/* A new JSON array of feed statuses (the server releases it); NULL is a 500. */
	json_t *(*feeds)(void *arg);
};

/* One feed's status, as the daemon knows it. Strings are borrowed. */
struct tg_httpd_feed_status {
	const char *name;
	const char *url;
	int error_count;         /* consecutive failed fetches */
	int64_t last_success_ms; /* wall clock; 0: never */
	const char *last_error;  /* NULL when the last fetch succeeded */
	int64_t next_fetch_ms;   /* wall clock; 0: not scheduled */
};

/* The /feeds entry for st: {name, url, health (tg_metrics_feed_health), last_success, last_error,
 * next_fetch, error_count}, times as RFC 3339 UTC strings or null. New reference. */
json_t *tg_httpd_feed_json(const struct tg_httpd_feed_status *st);

/* Split "host:port" ("127.0.0.1:9464", "[::1]:9464", "localhost:0") into host
 * (brackets removed) and port. Returns 0, or -1 with err saying what is wrong. */
int tg_httpd_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err,
    size_t errlen);

/* Bind listen ("host:port"; port 0 picks a free one) and serve src from base.
 * src is copied; src->arg must outlive the server. Returns NULL with err when the
 * address is invalid or cannot be bound. */
struct tg_httpd *tg_httpd_new(struct event_base *base, const char *listen,
    const struct tg_httpd_source *src, char *err, size_t errlen);

/* Close the listener and every connection; NULL is fine. */
void tg_httpd_free(struct tg_httpd *h);

/* The port actually bound (useful after port 0). */
int tg_httpd_port(const struct tg_httpd *h);

#endif

/*
 * Fetching feeds: libcurl's multi interface driven by the daemon's libevent loop
 * (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION), with conditional GET, a cap
 * on the decoded body counted in the write callback, timeouts, a low-speed limit,
 * a redirect limit and a protocol allowlist. One fetcher serves every feed; each
 * fetch ends in exactly one call of its callback.
 */
#ifndef TG_FETCH_H
#define TG_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tg_fetcher;

struct tg_fetch_opts {
	long timeout_s;         /* whole transfer */
	long connect_timeout_s;
	size_t max_body;        /* decoded bytes; more fails the fetch */
	long max_redirects;
	long low_speed_bytes;   /* abort when slower than this many bytes/s ... */
	long low_speed_time_s;  /* ... for this long */
	long max_host_connections;
	const char *user_agent; /* copied */
	bool allow_file;        /* allow file:// URLs */
};

/* What a fetch asks for. Strings are copied by tg_fetch_start. */
struct tg_fetch_req {
	const char *url;
	const char *etag;          /* sent as If-None-Match; NULL for none */
	const char *last_modified; /* sent as If-Modified-Since; NULL for none */
};

/* What a fetch got. Everything is borrowed and valid only during the callback. */
struct tg_fetch_res {
	bool ok;                   /* the transfer completed (status says how) */
	long status;               /* HTTP status; 200 for a file:// read */
	const char *error;         /* when !ok: what went wrong */
	const char *body;          /* NUL-terminated; len bytes */
	size_t len;
	const char *etag;          /* response validators, NULL when absent */
	const char *last_modified;
	const char *content_type;
	const char *effective_url; /* after redirects */
	int64_t duration_ms;
};

typedef void (*tg_fetch_cb)(void *arg, const struct tg_fetch_res *res);

/* Set opts to the defaults (30 s, 10 s connect, 16 MiB, 5 redirects, ...). */
void tg_fetch_opts_default(struct tg_fetch_opts *o);

/* New fetcher on base. Returns NULL with err on failure. Free with tg_fetcher_free. */
struct tg_fetcher *tg_fetcher_new(struct event_base *base, const struct tg_fetch_opts *o,
    char *err, size_t errlen);

/* Abort every transfer (their callbacks are not called) and free; NULL is fine. */
void tg_fetcher_free(struct tg_fetcher *f);

/* Start fetching req; cb(arg, res) is called once, later, from the loop.
 * Returns 0, or -1 with err when the fetch could not even start (cb not called). */
int tg_fetch_start(struct tg_fetcher *f, const struct tg_fetch_req *req, tg_fetch_cb cb,
    void *arg, char *err, size_t errlen);

/* Transfers under way. */
size_t tg_fetch_active(const struct tg_fetcher *f);

#endif

/*
 * Fetching feeds: libcurl's multi interface driven by the daemon's libevent loop
 * (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION), with conditional GET, gzip,
 * deflate and brotli, a cap on the decoded body counted in the write callback,
 * timeouts, a low-speed limit, a redirect limit, a protocol allowlist, an address
 * filter on every connection (netfilter.h) and per-host politeness (a limit on
 * fetches at once and a gap between their starts). One fetcher serves every
 * feed; each fetch ends in exactly one call of its callback.
 */
#ifndef TG_FETCH_H
#define TG_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tg_config;
struct tg_fetcher;

struct tg_fetch_opts {
	long timeout_s;         /* whole transfer */
	long connect_timeout_s;
	size_t max_body;        /* decoded bytes; more fails the fetch */
	long max_redirects;
	long low_speed_bytes;   /* abort when slower than this many bytes/s ... (0: never) */
	long low_speed_time_s;  /* ... for this long */
	long host_max_concurrent; /* fetches under way at once to one host name */
	long host_min_gap_ms;   /* least time between the starts of two fetches to one host */
	const char *user_agent; /* copied */
	bool allow_file;        /* allow file:// URLs */
	const char *const *allow_networks; /* CIDRs exempt from the address filter; copied */
	size_t nallow_networks;
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
	const char *error;         /* when !ok: what went wrong; for an address the filter
				    * refused, "refused ADDR: RULE; allow it with allow_networks" */
	const char *body;          /* NUL-terminated; len bytes */
	size_t len;
	const char *etag;          /* response validators, NULL when absent */
	const char *last_modified;
	const char *content_type;
	const char *effective_url; /* after redirects */
	const char *permanent_url; /* when ok with a 2xx or 304 and the redirects began with
				    * permanent ones (301, 308): where the last of those led.
				    * The feed has moved there; NULL otherwise */
	long redirects;            /* redirects followed */
	long retry_after_s;        /* Retry-After of the last response in seconds from now
				    * (delta or HTTP date); -1 when absent or unreadable */
	long fresh_s;              /* seconds the last response stays fresh: Cache-Control
				    * max-age less Age, else Expires less Date; 0 for no-cache
				    * or no-store; -1 when the server said nothing */
	int64_t duration_ms;       /* from the start of the transfer (not its wait in the queue) */
};

typedef void (*tg_fetch_cb)(void *arg, const struct tg_fetch_res *res);

/* Set opts to the defaults (30 s, 10 s connect, 16 MiB, 5 redirects, 100 B/s for
 * 15 s, 2 at once per host 100 ms apart, no allowlist, no file URLs). */
void tg_fetch_opts_default(struct tg_fetch_opts *o);

/* Set opts from the config's fetch keys (timeouts, body cap, low-speed limit,
 * host limits, user agent, file URLs, allow_networks); the strings stay cfg's. */
void tg_fetch_opts_from_config(struct tg_fetch_opts *o, const struct tg_config *cfg);

/* New fetcher on base. Returns NULL with err on failure (a bad allow_networks
 * entry is named). Free with tg_fetcher_free. */
struct tg_fetcher *tg_fetcher_new(struct event_base *base, const struct tg_fetch_opts *o,
    char *err, size_t errlen);

/* Replace the options (on a reload). Transfers under way keep their timeouts; the
 * address filter and the host limits apply from the next connection and start.
 * Returns 0, or -1 with err with the old options kept. */
int tg_fetcher_configure(struct tg_fetcher *f, const struct tg_fetch_opts *o, char *err,
    size_t errlen);

/* Abort every transfer, queued or running (their callbacks are not called), and
 * free; NULL is fine. */
void tg_fetcher_free(struct tg_fetcher *f);

/* Start fetching req, now or when its host has a free slot; cb(arg, res) is
 * called once, later, from the loop. Returns 0, or -1 with err when the fetch
 * could not even start (cb not called). */
int tg_fetch_start(struct tg_fetcher *f, const struct tg_fetch_req *req, tg_fetch_cb cb,
    void *arg, char *err, size_t errlen);

/* Abort every fetch started with this callback argument, queued or running; their
 * callbacks are not called. Returns how many. */
size_t tg_fetch_cancel(struct tg_fetcher *f, void *arg);

/* Fetches not yet called back: running plus waiting for their host. */
size_t tg_fetch_active(const struct tg_fetcher *f);

/* Of those, the ones waiting for their host. */
size_t tg_fetch_queued(const struct tg_fetcher *f);

#endif

/*
 * When to fetch a feed next: pure functions of the feed's configured bounds,
 * its recent history (failures, how often it brings new items) and what the
 * server said (Retry-After, Cache-Control max-age / Expires, RSS <ttl>). No
 * clocks and no randomness inside: the caller passes the time and a random value.
 */
#ifndef TG_SCHEDULE_H
#define TG_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct tg_config;
struct tg_feed_conf;
struct tg_fetch_res;

/* A feed's schedule settings, in milliseconds. */
struct tg_schedule_conf {
	int64_t interval_ms;    /* the configured interval: the pace of a fixed schedule */
	int64_t min_ms;         /* adaptive polling bounds; min_ms == max_ms == interval_ms */
	int64_t max_ms;         /* ... means a fixed schedule */
	int64_t backoff_cap_ms; /* failing feeds wait at most this (or interval_ms if longer) */
	int jitter_pct;         /* +- percent of the delay, at random */
};

/* What the schedule remembers of one feed between fetches. */
struct tg_schedule_state {
	int failures;       /* consecutive failed fetches */
	double rate;        /* estimated new items per second (EWMA); < 0: no estimate yet */
	int64_t last_ok_ms; /* wall clock of the last successful fetch; 0: none known */
};

/* What the last response said about when to come back; -1 in a field: not said. */
struct tg_schedule_hints {
	int64_t retry_after_ms; /* Retry-After */
	int64_t fresh_ms;       /* freshness left from Cache-Control max-age or Expires */
	int64_t ttl_ms;         /* RSS <ttl> */
};

/* Weight of the newest observation in the rate estimate. */
#define TG_SCHEDULE_EWMA_ALPHA 0.3

/* Settings of feed fc under cfg (interval, min/max_interval, backoff_cap, jitter_pct). */
void tg_schedule_conf_make(struct tg_schedule_conf *c, const struct tg_config *cfg,
    const struct tg_feed_conf *fc);

/* A fresh state: no failures, no estimate; last_ok_ms as given (0 when unknown,
 * else the last success the store remembers). */
void tg_schedule_state_init(struct tg_schedule_state *s, int64_t last_ok_ms);

/* No hints. */
void tg_schedule_hints_none(struct tg_schedule_hints *h);

/* The hints of a fetch result (Retry-After, freshness), and ttl_min minutes of RSS
 * <ttl> (pass 0 when the feed has none). */
void tg_schedule_hints_from_fetch(struct tg_schedule_hints *h, const struct tg_fetch_res *res,
    long ttl_min);

/* A fetch failed: count it (the rate estimate is kept). */
void tg_schedule_failed(struct tg_schedule_state *s);

/* A fetch succeeded at wall time now_ms and brought new_items new items: clear
 * the failures and, when the time since the last success is known, fold
 * new_items over that time into the rate estimate. */
void tg_schedule_succeeded(struct tg_schedule_state *s, const struct tg_schedule_conf *c,
    int64_t now_ms, size_t new_items);

/* The polling interval before hints and jitter: interval_ms for a fixed schedule,
 * else one expected new item's worth of time at the estimated rate, within
 * [min_ms, max_ms]; while failing, interval_ms * 2^(failures - 1) up to the cap. */
int64_t tg_schedule_base_ms(const struct tg_schedule_conf *c, const struct tg_schedule_state *s);

/* Milliseconds until the next fetch: the base interval, postponed by the hints
 * (never beyond the longer of backoff cap and max_ms; only Retry-After counts
 * while failing), with +-jitter_pct percent drawn from rnd, never earlier than
 * a hint that applied. h may be NULL. Always >= 0. */
int64_t tg_schedule_next_ms(const struct tg_schedule_conf *c, const struct tg_schedule_state *s,
    const struct tg_schedule_hints *h, uint64_t rnd);

/* Seconds a Retry-After value asks to wait at now: delta-seconds or an HTTP
 * date (0 when in the past); -1 when value is NULL or unreadable. */
long tg_schedule_parse_retry_after(const char *value, time_t now);

/* Seconds a response stays fresh at now, from Cache-Control (max-age, less Age;
 * 0 for no-cache / no-store), else Expires (less Date or now, and Age; an
 * unreadable Expires counts as already expired); -1 when none says. Any argument
 * may be NULL. */
long tg_schedule_freshness(const char *cache_control, const char *expires, const char *date,
    const char *age, time_t now);

#endif

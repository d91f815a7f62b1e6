/*
 * Next-fetch arithmetic for the daemon's feed timers: exponential backoff with
 * a cap, adaptive polling from an estimate of how often a feed brings new items,
 * and the server's own hints, with jitter. See schedule.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/date.h"
#include "config.h"
#include "fetch.h"
#include "schedule.h"

#define HINT_SECONDS_MAX (10L * 366 * 24 * 3600) /* larger values are clamped */

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

void
tg_schedule_conf_make(struct tg_schedule_conf *c, const struct tg_config *cfg,
    const struct tg_feed_conf *fc)
{
	c->interval_ms = (int64_t)fc->interval * 1000;
	c->min_ms = (int64_t)(fc->min_interval ? fc->min_interval : fc->interval) * 1000;
	c->max_ms = (int64_t)(fc->max_interval ? fc->max_interval : fc->interval) * 1000;
	c->backoff_cap_ms = (int64_t)cfg->backoff_cap * 1000;
	c->jitter_pct = cfg->jitter_pct;
}

void
tg_schedule_state_init(struct tg_schedule_state *s, int64_t last_ok_ms)
{
	s->failures = 0;
	s->rate = -1.0;
	s->last_ok_ms = last_ok_ms > 0 ? last_ok_ms : 0;
}

void
tg_schedule_hints_none(struct tg_schedule_hints *h)
{
	h->retry_after_ms = -1;
	h->fresh_ms = -1;
	h->ttl_ms = -1;
}

void
tg_schedule_hints_from_fetch(struct tg_schedule_hints *h, const struct tg_fetch_res *res,
    long ttl_min)
{
	tg_schedule_hints_none(h);
	/* Retry-After is honoured where HTTP defines it for a wait: 429 and 503. */
	if ((res->status == 429 || res->status == 503) && res->retry_after_s >= 0)
		h->retry_after_ms = (int64_t)res->retry_after_s * 1000;
	if (res->fresh_s >= 0)
		h->fresh_ms = (int64_t)res->fresh_s * 1000;
	if (ttl_min > 0)
		h->ttl_ms = (int64_t)min64(ttl_min, HINT_SECONDS_MAX / 60) * 60000;
}

void
tg_schedule_failed(struct tg_schedule_state *s)
{
	if (s->failures < 1000000)
		s->failures++;
}

void
tg_schedule_succeeded(struct tg_schedule_state *s, const struct tg_schedule_conf *c,
    int64_t now_ms, size_t new_items)
{
	double dt, seen;

	s->failures = 0;
	if (s->last_ok_ms > 0 && now_ms > s->last_ok_ms) {
		dt = (double)(now_ms - s->last_ok_ms) / 1000.0;
		seen = (double)new_items / dt;
		if (s->rate < 0)
			s->rate = 1000.0 / (double)max64(c->interval_ms, 1); /* prior: one per interval */
		s->rate = TG_SCHEDULE_EWMA_ALPHA * seen + (1.0 - TG_SCHEDULE_EWMA_ALPHA) * s->rate;
	}
	s->last_ok_ms = now_ms;
}

/* The longest wait of a failing feed. */
static int64_t
backoff_cap(const struct tg_schedule_conf *c)
{
	return max64(c->backoff_cap_ms, c->interval_ms);
}

int64_t
tg_schedule_base_ms(const struct tg_schedule_conf *c, const struct tg_schedule_state *s)
{
	int64_t lo = min64(c->min_ms, c->interval_ms), hi = max64(c->max_ms, c->interval_ms);
	int64_t cap, d;
	double want;

	if (s->failures > 0) {
		cap = backoff_cap(c);
		d = max64(c->interval_ms, 1);
		for (int i = 1; i < s->failures && d < cap; i++)
			d *= 2;
		return min64(d, cap);
	}
	if (lo >= hi || s->rate < 0)
		return c->interval_ms;
	if (s->rate <= 0)
		return hi;
	want = 1000.0 / s->rate; /* the time one new item takes to appear */
	if (want >= (double)hi)
		return hi;
	if (want <= (double)lo)
		return lo;
	return (int64_t)want;
}

int64_t
tg_schedule_next_ms(const struct tg_schedule_conf *c, const struct tg_schedule_state *s,
    const struct tg_schedule_hints *h, uint64_t rnd)
{
	int64_t delay = tg_schedule_base_ms(c, s), floor = 0, span, jitter;

	if (h) {
		if (h->retry_after_ms > 0)
			floor = h->retry_after_ms;
		if (s->failures == 0)
			floor = max64(floor, max64(h->fresh_ms, h->ttl_ms));
		/* A server cannot push a feed out of sight: hints stop at the longest
		 * wait the config allows. */
		floor = min64(floor, max64(backoff_cap(c), c->max_ms));
		delay = max64(delay, floor);
	}
	span = delay * c->jitter_pct / 100;
	if (span > 0) {
		jitter = (int64_t)(rnd % (uint64_t)(2 * span + 1)) - span;
		delay += jitter;
	}
	if (delay < floor)
		delay = floor;
	return delay < 0 ? 0 : delay;
}

/* Value of s as decimal seconds (whole string but for surrounding blanks),
 * clamped to HINT_SECONDS_MAX; -1 when s is not a number. */
static long
parse_seconds(const char *s, size_t n)
{
	long v = 0;
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v < HINT_SECONDS_MAX)
			v = v * 10 + (s[i] - '0');
	}
	return v > HINT_SECONDS_MAX ? HINT_SECONDS_MAX : v;
}

long
tg_schedule_parse_retry_after(const char *value, time_t now)
{
	time_t t;
	long v;

	if (value == NULL)
		return -1;
	v = parse_seconds(value, strlen(value));
	if (v >= 0)
		return v;
	if (tg_date_parse(value, strlen(value), &t) != 0)
		return -1;
	if (t <= now)
		return 0;
	return t - now > HINT_SECONDS_MAX ? HINT_SECONDS_MAX : (long)(t - now);
}

long
tg_schedule_freshness(const char *cache_control, const char *expires, const char *date,
    const char *age, time_t now)
{
	long max_age = -1, age_s = 0, v;
	bool no_cache = false;
	time_t exp, base;

	if (age && (v = parse_seconds(age, strlen(age))) >= 0)
		age_s = v;
	for (const char *p = cache_control; p && *p;) {
		const char *end = strchr(p, ','), *eq;
		size_t n, name;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && isspace((unsigned char)*p))
			p++;
		n = (size_t)(end - p);
		eq = memchr(p, '=', n);
		name = eq ? (size_t)(eq - p) : n;
		while (name > 0 && isspace((unsigned char)p[name - 1]))
			name--;
		if ((name == 8 && strncasecmp(p, "no-store", 8) == 0) ||
		    (name == 8 && strncasecmp(p, "no-cache", 8) == 0)) {
			no_cache = true;
		} else if (name == 7 && strncasecmp(p, "max-age", 7) == 0 && eq) {
			const char *vs = eq + 1;
			size_t vn = (size_t)(end - vs);

			while (vn > 0 && isspace((unsigned char)*vs)) {
				vs++;
				vn--;
			}
			if (vn >= 2 && vs[0] == '"' && vs[vn - 1] == '"') {
				vs++;
				vn -= 2;
			}
			v = parse_seconds(vs, vn);
			if (v >= 0 && (max_age < 0 || v < max_age))
				max_age = v;
		}
		p = *end ? end + 1 : end;
	}
	if (no_cache)
		return 0;
	if (max_age >= 0)
		return max_age > age_s ? max_age - age_s : 0;
	if (expires == NULL)
		return -1;
	if (tg_date_parse(expires, strlen(expires), &exp) != 0)
		return 0; /* "0", "-1" and other junk mean already expired */
	if (date == NULL || tg_date_parse(date, strlen(date), &base) != 0)
		base = now;
	if (exp - base <= age_s)
		return 0;
	v = exp - base - age_s > HINT_SECONDS_MAX ? HINT_SECONDS_MAX : (long)(exp - base - age_s);
	return v;
}

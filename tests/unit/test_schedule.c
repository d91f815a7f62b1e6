/*
 * Tests of the schedule arithmetic: backoff with its cap, adaptive polling from
 * the rate of new items, the server's hints (Retry-After, max-age, Expires, RSS
 * ttl) and their limit, jitter, the header parsers behind the hints, and the
 * config keys that feed the schedule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/date.h"
#include "../../daemon/config.h"
#include "../../daemon/fetch.h"
#include "../../daemon/schedule.h"

#define S 1000LL /* one second in ms */

static struct tg_schedule_conf
conf(int64_t interval_s, int64_t min_s, int64_t max_s, int64_t cap_s, int jitter)
{
	struct tg_schedule_conf c = { interval_s * S, min_s * S, max_s * S, cap_s * S, jitter };

	return c;
}

static struct tg_schedule_state
failing(int failures)
{
	struct tg_schedule_state s;

	tg_schedule_state_init(&s, 0);
	s.failures = failures;
	return s;
}

/* Backoff doubles from the interval and stays at the cap for ever. */
static void
test_backoff(void **state)
{
	static const struct {
		int64_t interval_s, cap_s;
		int failures;
		int64_t want_ms;
	} cases[] = {
		{ 60, 3600, 0, 60 * S },
		{ 60, 3600, 1, 60 * S },
		{ 60, 3600, 2, 120 * S },
		{ 60, 3600, 3, 240 * S },
		{ 60, 3600, 6, 1920 * S },
		{ 60, 3600, 7, 3600 * S },
		{ 60, 3600, 20, 3600 * S },
		{ 60, 3600, 1000000, 3600 * S },
		{ 7200, 3600, 3, 7200 * S }, /* the cap never shortens the interval */
		{ 1, 1, 20, 1 * S },
		{ 1, 5, 3, 4 * S },
		{ 1, 5, 4, 5 * S },
		{ 604800, 604800, 30, 604800 * S },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_schedule_conf c = conf(cases[i].interval_s, cases[i].interval_s,
		    cases[i].interval_s, cases[i].cap_s, 0);
		struct tg_schedule_state s = failing(cases[i].failures);
		int64_t got = tg_schedule_next_ms(&c, &s, NULL, 12345);

		if (got != cases[i].want_ms) {
			fprintf(stderr, "case %zu: interval %lld cap %lld failures %d: got %lld want %lld\n",
			    i, (long long)cases[i].interval_s, (long long)cases[i].cap_s,
			    cases[i].failures, (long long)got, (long long)cases[i].want_ms);
			fail();
		}
	}
	/* Counting failures, and a success clearing them. */
	struct tg_schedule_conf c = conf(10, 10, 10, 100, 0);
	struct tg_schedule_state s;
	tg_schedule_state_init(&s, 0);
	for (int i = 0; i < 5; i++)
		tg_schedule_failed(&s);
	assert_int_equal(s.failures, 5);
	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 0), 100 * S);
	tg_schedule_succeeded(&s, &c, 1000 * S, 0);
	assert_int_equal(s.failures, 0);
	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 0), 10 * S);
}

/* Server hints postpone, up to the longest wait the config allows. */
static void
test_hints(void **state)
{
	static const struct {
		int failures;
		int64_t retry_s, fresh_s, ttl_s;
		int64_t want_ms;
	} cases[] = {
		{ 0, -1, -1, -1, 60 * S },
		{ 0, -1, 300, -1, 300 * S },      /* max-age: do not poll before */
		{ 0, -1, 30, -1, 60 * S },        /* fresher than the interval: no effect */
		{ 0, -1, 0, -1, 60 * S },         /* no-cache */
		{ 0, -1, 100000, -1, 3600 * S },  /* stopped at the cap */
		{ 0, -1, -1, 1200, 1200 * S },    /* RSS ttl of 20 minutes */
		{ 0, -1, 600, 1200, 1200 * S },   /* the longer of two */
		{ 0, -1, -1, 86400, 3600 * S },
		{ 0, 600, -1, -1, 600 * S },      /* Retry-After on a success counts too */
		{ 1, 600, -1, -1, 600 * S },      /* 429/503 with Retry-After */
		{ 1, 30, -1, -1, 60 * S },        /* shorter than the backoff: the backoff */
		{ 3, 30, -1, -1, 240 * S },
		{ 1, 999999, -1, -1, 3600 * S },  /* a hostile Retry-After stops at the cap */
		{ 1, -1, 900, 900, 60 * S },      /* freshness means nothing while failing */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_schedule_conf c = conf(60, 60, 60, 3600, 0);
		struct tg_schedule_state s = failing(cases[i].failures);
		struct tg_schedule_hints h = {
			cases[i].retry_s < 0 ? -1 : cases[i].retry_s * S,
			cases[i].fresh_s < 0 ? -1 : cases[i].fresh_s * S,
			cases[i].ttl_s < 0 ? -1 : cases[i].ttl_s * S,
		};
		int64_t got = tg_schedule_next_ms(&c, &s, &h, 0);

		if (got != cases[i].want_ms) {
			fprintf(stderr, "hint case %zu: got %lld want %lld\n", i, (long long)got,
			    (long long)cases[i].want_ms);
			fail();
		}
	}
	/* With adaptive bounds, hints may reach max_interval when it is beyond the cap. */
	struct tg_schedule_conf c = conf(60, 30, 7200, 3600, 0);
	struct tg_schedule_state s = failing(0);
	struct tg_schedule_hints h = { -1, 100000 * S, -1 };
	assert_int_equal(tg_schedule_next_ms(&c, &s, &h, 0), 7200 * S);
}

/* Jitter spreads the delay by +-jitter_pct, but never before a hint. */
static void
test_jitter(void **state)
{
	struct tg_schedule_conf c = conf(60, 60, 60, 3600, 10);
	struct tg_schedule_state s = failing(0);
	struct tg_schedule_hints h = { -1, 300 * S, -1 };
	int64_t lo = INT64_MAX, hi = 0, got;

	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 0), 54 * S);
	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 6000), 60 * S);
	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 12000), 66 * S);
	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 12001), 54 * S);
	for (uint64_t r = 0; r < 100000; r += 7) {
		got = tg_schedule_next_ms(&c, &s, NULL, r * 2654435761u);
		lo = got < lo ? got : lo;
		hi = got > hi ? got : hi;
	}
	assert_int_equal(lo, 54 * S);
	assert_int_equal(hi, 66 * S);
	/* Below the hint: lifted to it; above: kept. */
	assert_int_equal(tg_schedule_next_ms(&c, &s, &h, 0), 300 * S);
	assert_int_equal(tg_schedule_next_ms(&c, &s, &h, 60000), 330 * S);
	/* Jitter applies to the backoff too. */
	s = failing(20);
	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 0), 3240 * S);
	assert_int_equal(tg_schedule_next_ms(&c, &s, NULL, 720000), 3960 * S);
}

/* A feed that posts often is polled more often, one that rarely posts less,
 * always within the bounds; a fixed schedule ignores the rate. */
static void
test_adaptive(void **state)
{
	struct tg_schedule_conf c = conf(300, 60, 3600, 3600, 0);
	struct tg_schedule_conf fixed = conf(300, 300, 300, 3600, 0);
	struct tg_schedule_state s;
	int64_t now = 1700000000 * S;

	tg_schedule_state_init(&s, 0);
	assert_int_equal(tg_schedule_base_ms(&c, &s), 300 * S);
	/* First success with no earlier one: nothing learnt. */
	tg_schedule_succeeded(&s, &c, now, 50);
	assert_true(s.rate < 0);
	assert_int_equal(s.last_ok_ms, now);
	assert_int_equal(tg_schedule_base_ms(&c, &s), 300 * S);
	/* Nothing new in 300 s: 0.7 of the prior rate of one item per interval. */
	now += 300 * S;
	tg_schedule_succeeded(&s, &c, now, 0);
	assert_int_equal(tg_schedule_base_ms(&c, &s), 428571);
	assert_int_equal(tg_schedule_base_ms(&fixed, &s), 300 * S);
	/* Quiet for long: drifts to max_interval, and stays there. */
	for (int i = 0; i < 7; i++) {
		now += tg_schedule_base_ms(&c, &s);
		tg_schedule_succeeded(&s, &c, now, 0);
	}
	assert_int_equal(tg_schedule_base_ms(&c, &s), 3600 * S);
	/* A burst: 100 new items in an hour. */
	now += 3600 * S;
	tg_schedule_succeeded(&s, &c, now, 100);
	assert_true(tg_schedule_base_ms(&c, &s) < 300 * S);
	for (int i = 0; i < 5; i++) {
		now += tg_schedule_base_ms(&c, &s);
		tg_schedule_succeeded(&s, &c, now, 20);
	}
	assert_int_equal(tg_schedule_base_ms(&c, &s), 60 * S);

	/* A feed that posts every 600 s settles near 600 s. */
	tg_schedule_state_init(&s, now);
	int64_t pending_ms = 0;
	for (int i = 0; i < 60; i++) {
		int64_t d = tg_schedule_base_ms(&c, &s);
		size_t n;

		pending_ms += d;
		n = (size_t)(pending_ms / (600 * S));
		pending_ms -= (int64_t)n * 600 * S;
		now += d;
		tg_schedule_succeeded(&s, &c, now, n);
	}
	int64_t settled = tg_schedule_base_ms(&c, &s);
	if (settled < 400 * S || settled > 900 * S) {
		fprintf(stderr, "settled at %lld ms\n", (long long)settled);
		fail();
	}
	/* A rate of exactly zero is the slowest pace; failures back off from the interval. */
	s.rate = 0;
	assert_int_equal(tg_schedule_base_ms(&c, &s), 3600 * S);
	s.failures = 2;
	assert_int_equal(tg_schedule_base_ms(&c, &s), 600 * S);
	/* A clock that went backwards teaches nothing. */
	tg_schedule_state_init(&s, now);
	tg_schedule_succeeded(&s, &c, now - 5000, 10);
	assert_true(s.rate < 0);
}

static void
test_retry_after(void **state)
{
	time_t when = tg_date_from_civil(2015, 10, 21, 7, 28, 0);

	assert_int_equal(tg_schedule_parse_retry_after("120", when), 120);
	assert_int_equal(tg_schedule_parse_retry_after(" 120 ", when), 120);
	assert_int_equal(tg_schedule_parse_retry_after("0", when), 0);
	assert_int_equal(tg_schedule_parse_retry_after("-5", when), -1);
	assert_int_equal(tg_schedule_parse_retry_after("12s", when), -1);
	assert_int_equal(tg_schedule_parse_retry_after("", when), -1);
	assert_int_equal(tg_schedule_parse_retry_after("soon", when), -1);
	assert_int_equal(tg_schedule_parse_retry_after(NULL, when), -1);
	assert_int_equal(tg_schedule_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when - 100),
	    100);
	assert_int_equal(tg_schedule_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when + 100),
	    0);
	assert_int_equal(tg_schedule_parse_retry_after("99999999999999999999999", when),
	    10L * 366 * 24 * 3600);
}

static void
test_freshness(void **state)
{
	time_t now = tg_date_from_civil(1994, 12, 1, 15, 0, 0);
	const char *exp = "Thu, 01 Dec 1994 16:00:00 GMT";
	const char *date = "Thu, 01 Dec 1994 15:30:00 GMT";

	assert_int_equal(tg_schedule_freshness("max-age=300", NULL, NULL, NULL, now), 300);
	assert_int_equal(tg_schedule_freshness("public, max-age=300", NULL, NULL, "100", now), 200);
	assert_int_equal(tg_schedule_freshness("max-age=300", NULL, NULL, "400", now), 0);
	assert_int_equal(tg_schedule_freshness("max-age=\"60\"", NULL, NULL, NULL, now), 60);
	assert_int_equal(tg_schedule_freshness("MAX-AGE = 60 , must-revalidate", NULL, NULL, NULL,
			     now), 60);
	assert_int_equal(tg_schedule_freshness("max-age=600, max-age=60", NULL, NULL, NULL, now),
	    60);
	assert_int_equal(tg_schedule_freshness("no-cache", NULL, NULL, NULL, now), 0);
	assert_int_equal(tg_schedule_freshness("max-age=300, no-store", exp, NULL, NULL, now), 0);
	assert_int_equal(tg_schedule_freshness("s-maxage=600", NULL, NULL, NULL, now), -1);
	assert_int_equal(tg_schedule_freshness("max-age=abc", NULL, NULL, NULL, now), -1);
	assert_int_equal(tg_schedule_freshness("max-age=300", exp, NULL, NULL, now), 300);
	assert_int_equal(tg_schedule_freshness(NULL, exp, NULL, NULL, now), 3600);
	assert_int_equal(tg_schedule_freshness(NULL, exp, date, NULL, now), 1800);
	assert_int_equal(tg_schedule_freshness("private", exp, date, "600", now), 1200);
	assert_int_equal(tg_schedule_freshness(NULL, exp, "not a date", NULL, now), 3600);
	assert_int_equal(tg_schedule_freshness(NULL, "0", NULL, NULL, now), 0);
	assert_int_equal(tg_schedule_freshness(NULL, exp, NULL, NULL, now + 7200), 0);
	assert_int_equal(tg_schedule_freshness(NULL, NULL, date, "5", now), -1);
	assert_int_equal(tg_schedule_freshness(NULL, NULL, NULL, NULL, now), -1);
	assert_int_equal(tg_schedule_freshness("", NULL, NULL, NULL, now), -1);
	assert_int_equal(tg_schedule_freshness(",,max-age=7,", NULL, NULL, NULL, now), 7);
}

static void
test_hints_from_fetch(void **state)
{
	struct tg_fetch_res res;
	struct tg_schedule_hints h;

	memset(&res, 0, sizeof(res));
	res.status = 503;
	res.retry_after_s = 120;
	res.fresh_s = -1;
	tg_schedule_hints_from_fetch(&h, &res, 0);
	assert_int_equal(h.retry_after_ms, 120 * S);
	assert_int_equal(h.fresh_ms, -1);
	assert_int_equal(h.ttl_ms, -1);
	res.status = 429;
	tg_schedule_hints_from_fetch(&h, &res, 15);
	assert_int_equal(h.retry_after_ms, 120 * S);
	assert_int_equal(h.ttl_ms, 15 * 60 * S);
	res.status = 200;
	res.fresh_s = 60;
	tg_schedule_hints_from_fetch(&h, &res, 0);
	assert_int_equal(h.retry_after_ms, -1); /* only 429 and 503 ask to wait */
	assert_int_equal(h.fresh_ms, 60 * S);
	res.status = 500;
	res.retry_after_s = -1;
	res.fresh_s = 0;
	tg_schedule_hints_from_fetch(&h, &res, -3);
	assert_int_equal(h.retry_after_ms, -1);
	assert_int_equal(h.fresh_ms, 0);
	assert_int_equal(h.ttl_ms, -1);
	tg_schedule_hints_none(&h);
	assert_int_equal(h.retry_after_ms, -1);
	assert_int_equal(h.fresh_ms, -1);
	assert_int_equal(h.ttl_ms, -1);
}

/* The config keys behind the schedule: defaults, per-feed bounds and their checks. */
static void
test_config(void **state)
{
	static const char ok[] =
	    "{\"backoff_cap\": 600, \"jitter_pct\": 5, \"default_interval\": 120, \"feeds\": ["
	    "{\"url\": \"http://a.example/\", \"interval\": 300, \"min_interval\": 60,"
	    " \"max_interval\": 3600},"
	    "{\"url\": \"http://b.example/\"},"
	    "{\"url\": \"http://c.example/\", \"interval\": 30, \"max_interval\": 90}]}";
	static const char bad[] =
	    "{\"feeds\": ["
	    "{\"url\": \"http://a.example/\", \"interval\": 300, \"min_interval\": 600},"
	    "{\"url\": \"http://b.example/\", \"interval\": 300, \"max_interval\": 60},"
	    "{\"url\": \"http://c.example/\", \"min_interval\": 0}]}";
	struct tg_config *cfg = NULL;
	struct tg_schedule_conf c;
	char err[2048];

	if (tg_config_parse(ok, strlen(ok), "/etc/tigris/t.json", &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	assert_int_equal(cfg->backoff_cap, 600);
	tg_schedule_conf_make(&c, cfg, &cfg->feeds[0]);
	assert_int_equal(c.interval_ms, 300 * S);
	assert_int_equal(c.min_ms, 60 * S);
	assert_int_equal(c.max_ms, 3600 * S);
	assert_int_equal(c.backoff_cap_ms, 600 * S);
	assert_int_equal(c.jitter_pct, 5);
	tg_schedule_conf_make(&c, cfg, &cfg->feeds[1]);
	assert_int_equal(c.interval_ms, 120 * S);
	assert_int_equal(c.min_ms, 120 * S); /* unset bounds: a fixed schedule */
	assert_int_equal(c.max_ms, 120 * S);
	tg_schedule_conf_make(&c, cfg, &cfg->feeds[2]);
	assert_int_equal(c.min_ms, 30 * S);
	assert_int_equal(c.max_ms, 90 * S);
	tg_config_free(cfg);

	cfg = (struct tg_config *)1;
	assert_int_equal(tg_config_parse(bad, strlen(bad), "t.json", &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	assert_non_null(strstr(err, "feeds[0].min_interval: 600 is longer than the interval (300)"));
	assert_non_null(strstr(err, "feeds[1].max_interval: 60 is shorter than the interval (300)"));
	assert_non_null(strstr(err, "feeds[2].min_interval: 0 is out of range"));

	assert_int_equal(tg_config_parse("{}", 2, "t.json", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->backoff_cap, 3600);
	assert_int_equal(cfg->host_max_concurrent, 2);
	assert_int_equal(cfg->host_min_gap_ms, 100);
	assert_int_equal(cfg->low_speed_limit, 100);
	assert_int_equal(cfg->low_speed_time, 15);
	tg_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_adaptive),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_freshness),
		cmocka_unit_test(test_hints_from_fetch),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests of the metrics registry: registration checks, counters, gauges and
 * histograms with and without a label, the bounded number of series, escaping,
 * and that every line rendered is valid Prometheus text exposition; then the
 * tigris metrics recorded by the daemon's calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/util.h"
#include "../../daemon/metrics.h"

static char err[512];

/* Render m into a fresh string (caller frees). */
static char *
render(struct tg_metrics *m)
{
	struct tg_buf b;

	tg_buf_init(&b, 1 << 22);
	assert_int_equal(tg_metrics_render(m, &b), 0);
	return tg_buf_take(&b);
}

static void
assert_has(const char *text, const char *needle)
{
	if (strstr(text, needle) == NULL) {
		fprintf(stderr, "expected \"%s\" in:\n%s\n", needle, text);
		fail();
	}
}

static void
assert_lacks(const char *text, const char *needle)
{
	if (strstr(text, needle) != NULL) {
		fprintf(stderr, "did not expect \"%s\" in:\n%s\n", needle, text);
		fail();
	}
}

static bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	    (!first && c >= '0' && c <= '9');
}

/* Check one sample line: name{label="value",...} number. Returns the name length. */
static void
check_sample_line(const char *line, size_t len)
{
	size_t i = 0;
	char num[64];
	char *end;

	assert_true(len > 0 && name_char(line[0], true));
	while (i < len && name_char(line[i], false))
		i++;
	if (i < len && line[i] == '{') {
		i++;
		while (i < len && line[i] != '}') {
			assert_true(name_char(line[i], true) && line[i] != ':');
			while (i < len && name_char(line[i], false))
				i++;
			assert_true(i + 1 < len && line[i] == '=' && line[i + 1] == '"');
			i += 2;
			while (i < len && line[i] != '"') {
				if (line[i] == '\\') {
					assert_true(i + 1 < len && strchr("\\\"n", line[i + 1]) != NULL);
					i++;
				}
				i++;
			}
			assert_true(i < len);
			i++; /* closing quote */
			if (i < len && line[i] == ',')
				i++;
		}
		assert_true(i < len);
		i++; /* } */
	}
	assert_true(i < len && line[i] == ' ');
	i++;
	assert_true(len - i > 0 && len - i < sizeof(num));
	memcpy(num, line + i, len - i);
	num[len - i] = '\0';
	if (strcmp(num, "+Inf") && strcmp(num, "-Inf") && strcmp(num, "NaN")) {
		(void)strtod(num, &end);
		assert_true(*end == '\0');
	}
}

/* Every line of text is a HELP, a TYPE (before the family's samples) or a sample. */
static void
check_exposition(const char *text)
{
	const char *p = text, *nl;
	char family[128] = "";
	int samples = 0;

	assert_true(text[0] != '\0');
	assert_true(text[strlen(text) - 1] == '\n');
	for (; *p; p = nl + 1) {
		size_t len;

		nl = strchr(p, '\n');
		assert_non_null(nl);
		len = (size_t)(nl - p);
		if (strncmp(p, "# HELP ", 7) == 0)
			continue;
		if (strncmp(p, "# TYPE ", 7) == 0) {
			const char *sp = memchr(p + 7, ' ', len - 7);
			assert_non_null(sp);
			assert_true((size_t)(sp - p - 7) < sizeof(family));
			memcpy(family, p + 7, (size_t)(sp - p - 7));
			family[sp - p - 7] = '\0';
			assert_true(strncmp(sp + 1, "counter\n", 8) == 0 ||
			    strncmp(sp + 1, "gauge\n", 6) == 0 || strncmp(sp + 1, "histogram\n", 10) == 0);
			continue;
		}
		assert_true(family[0] != '\0');
		assert_true(strncmp(p, family, strlen(family)) == 0); /* belongs to its family */
		check_sample_line(p, len);
		samples++;
	}
	assert_true(samples > 0);
}

static void
test_register_checks(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	const double good[] = { 1, 2, 3 }, bad[] = { 1, 1, 2 };

	assert_non_null(tg_metrics_register(m, TG_METRIC_COUNTER, "t_ok_total", "h", NULL, NULL, 0,
	    err, sizeof(err)));
	assert_null(tg_metrics_register(m, TG_METRIC_COUNTER, "t_ok_total", "h", NULL, NULL, 0, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "twice"));
	assert_null(tg_metrics_register(m, TG_METRIC_GAUGE, "9lives", "h", NULL, NULL, 0, err,
	    sizeof(err)));
	assert_null(tg_metrics_register(m, TG_METRIC_GAUGE, "has space", "h", NULL, NULL, 0, err,
	    sizeof(err)));
	assert_null(tg_metrics_register(m, TG_METRIC_GAUGE, "t_g", "h", "le", NULL, 0, err,
	    sizeof(err)));
	assert_null(tg_metrics_register(m, TG_METRIC_GAUGE, "t_g", "h", "__x", NULL, 0, err,
	    sizeof(err)));
	assert_null(tg_metrics_register(m, TG_METRIC_GAUGE, "t_g", "h", "a:b", NULL, 0, err,
	    sizeof(err)));
	assert_null(tg_metrics_register(m, TG_METRIC_HISTOGRAM, "t_h", "h", NULL, bad, 3, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "increasing"));
	assert_null(tg_metrics_register(m, TG_METRIC_HISTOGRAM, "t_h", "h", NULL, good, 0, err,
	    sizeof(err)));
	assert_non_null(tg_metrics_register(m, TG_METRIC_HISTOGRAM, "t_h", "h", NULL, good, 3, err,
	    sizeof(err)));
	assert_non_null(tg_metrics_find(m, "t_h"));
	assert_null(tg_metrics_find(m, "t_nope"));
	tg_metrics_free(m);
	tg_metrics_free(NULL);
}

static void
test_registry_full(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	char name[32];
	int added = 0;

	for (int i = 0; i < TG_METRICS_MAX_FAMILIES + 5; i++) {
		snprintf(name, sizeof(name), "t_fill_%d", i);
		if (tg_metrics_register(m, TG_METRIC_GAUGE, name, "h", NULL, NULL, 0, err,
			sizeof(err)) != NULL)
			added++;
	}
	assert_true(added > 0 && added < TG_METRICS_MAX_FAMILIES);
	assert_non_null(strstr(err, "families"));
	tg_metrics_free(m);
}

static void
test_counter_and_gauge(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	struct tg_metric *c, *g, *l;
	char *text;

	c = tg_metrics_register(m, TG_METRIC_COUNTER, "t_events_total", "Events.", NULL, NULL, 0,
	    err, sizeof(err));
	g = tg_metrics_register(m, TG_METRIC_GAUGE, "t_temp", "Temp.", NULL, NULL, 0, err,
	    sizeof(err));
	l = tg_metrics_register(m, TG_METRIC_COUNTER, "t_by_color_total", "By color.", "color",
	    NULL, 0, err, sizeof(err));
	assert_int_equal(tg_metric_add(c, NULL, 2), 0);
	assert_int_equal(tg_metric_add(c, NULL, 3), 0);
	assert_int_equal(tg_metric_add(c, NULL, -1), -1);      /* counters only go up */
	assert_int_equal(tg_metric_add(c, "x", 1), -1);        /* no label on this family */
	assert_int_equal(tg_metric_observe(c, NULL, 1), -1);   /* not a histogram */
	assert_int_equal(tg_metric_add(l, NULL, 1), -1);       /* label required */
	assert_int_equal(tg_metric_add(NULL, NULL, 1), -1);
	assert_int_equal(tg_metric_set(g, NULL, 21.5), 0);
	assert_int_equal(tg_metric_add(g, NULL, -1.25), 0);
	assert_int_equal(tg_metric_add(l, "red", 1), 0);
	assert_int_equal(tg_metric_add(l, "blue", 4), 0);
	assert_int_equal(tg_metric_add(l, "red", 1), 0);
	assert_true(tg_metric_value(c, NULL) == 5);
	assert_true(tg_metric_value(g, NULL) == 20.25);
	assert_true(tg_metric_value(l, "red") == 2);
	assert_true(tg_metric_value(l, "blue") == 4);
	assert_true(tg_metric_value(l, "green") == 0);

	text = render(m);
	check_exposition(text);
	assert_has(text, "# HELP t_events_total Events.\n# TYPE t_events_total counter\n"
			 "t_events_total 5\n");
	assert_has(text, "# TYPE t_temp gauge\nt_temp 20.25\n");
	assert_has(text, "t_by_color_total{color=\"red\"} 2\nt_by_color_total{color=\"blue\"} 4\n");
	free(text);
	tg_metrics_free(m);
}

static void
test_histogram(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	const double bounds[] = { 0.1, 0.5, 1 };
	struct tg_metric *h, *hl;
	char *text;

	h = tg_metrics_register(m, TG_METRIC_HISTOGRAM, "t_lat_seconds", "Latency.", NULL, bounds,
	    3, err, sizeof(err));
	hl = tg_metrics_register(m, TG_METRIC_HISTOGRAM, "t_size_bytes", "Size.", "kind", bounds,
	    3, err, sizeof(err));
	assert_non_null(h);
	assert_non_null(hl);
	text = render(m);
	/* an unlabelled histogram shows zeros before any observation */
	assert_has(text, "t_lat_seconds_bucket{le=\"0.1\"} 0\n");
	assert_has(text, "t_lat_seconds_count 0\n");
	assert_lacks(text, "t_size_bytes_bucket");
	free(text);

	assert_int_equal(tg_metric_observe(h, NULL, 0.05), 0);
	assert_int_equal(tg_metric_observe(h, NULL, 0.1), 0); /* le is inclusive */
	assert_int_equal(tg_metric_observe(h, NULL, 0.7), 0);
	assert_int_equal(tg_metric_observe(h, NULL, 5), 0);
	assert_int_equal(tg_metric_set(h, NULL, 1), -1);
	assert_int_equal(tg_metric_observe(hl, "a", 0.2), 0);
	assert_true(tg_metric_value(h, NULL) == 4);
	text = render(m);
	check_exposition(text);
	assert_has(text, "# TYPE t_lat_seconds histogram\n"
			 "t_lat_seconds_bucket{le=\"0.1\"} 2\n"
			 "t_lat_seconds_bucket{le=\"0.5\"} 2\n"
			 "t_lat_seconds_bucket{le=\"1\"} 3\n"
			 "t_lat_seconds_bucket{le=\"+Inf\"} 4\n"
			 "t_lat_seconds_sum 5.85\n"
			 "t_lat_seconds_count 4\n");
	assert_has(text, "t_size_bytes_bucket{kind=\"a\",le=\"0.5\"} 1\n");
	assert_has(text, "t_size_bytes_bucket{kind=\"a\",le=\"0.1\"} 0\n");
	assert_has(text, "t_size_bytes_sum{kind=\"a\"} 0.2\n");
	assert_has(text, "t_size_bytes_count{kind=\"a\"} 1\n");
	free(text);
	tg_metrics_free(m);
}

static void
test_escaping(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	struct tg_metric *f;
	char *text;

	f = tg_metrics_register(m, TG_METRIC_GAUGE, "t_esc", "Back\\slash and\nnewline.", "v",
	    NULL, 0, err, sizeof(err));
	assert_int_equal(tg_metric_set(f, "say \"hi\"\\\n", 1), 0);
	text = render(m);
	check_exposition(text);
	assert_has(text, "# HELP t_esc Back\\\\slash and\\nnewline.\n");
	assert_has(text, "t_esc{v=\"say \\\"hi\\\"\\\\\\n\"} 1\n");
	free(text);
	tg_metrics_free(m);
}

static void
test_series_cap(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	struct tg_metric *f;
	char label[32], *text;
	double total = 0;
	int lines = 0;

	f = tg_metrics_register(m, TG_METRIC_COUNTER, "t_many_total", "h", "k", NULL, 0, err,
	    sizeof(err));
	for (int i = 0; i < TG_METRICS_MAX_SERIES + 50; i++) {
		snprintf(label, sizeof(label), "v%d", i);
		assert_int_equal(tg_metric_add(f, label, 1), 0);
	}
	/* a value seen before the cap still has its own series */
	assert_int_equal(tg_metric_add(f, "v0", 1), 0);
	assert_true(tg_metric_value(f, "v0") == 2);
	assert_true(tg_metric_value(f, TG_METRICS_OVERFLOW_LABEL) == 51);
	text = render(m);
	check_exposition(text);
	for (const char *p = text; (p = strstr(p, "t_many_total{")) != NULL; p++)
		lines++;
	assert_int_equal(lines, TG_METRICS_MAX_SERIES);
	for (int i = 0; i < TG_METRICS_MAX_SERIES - 1; i++) {
		snprintf(label, sizeof(label), "v%d", i);
		total += tg_metric_value(f, label);
	}
	total += tg_metric_value(f, TG_METRICS_OVERFLOW_LABEL);
	assert_true(total == TG_METRICS_MAX_SERIES + 50 + 1); /* nothing was lost */
	free(text);
	tg_metrics_free(m);
}

static void
test_render_cap(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	struct tg_buf b;

	tg_buf_init(&b, 200);
	assert_int_equal(tg_metrics_render(m, &b), -1);
	assert_true(b.len <= 200);
	tg_buf_free(&b);
	tg_metrics_free(m);
}

static void
test_feed_health(void **state)
{
	struct tg_metrics_state s;

	assert_int_equal(tg_metrics_feed_health(0), TG_FEED_OK);
	assert_int_equal(tg_metrics_feed_health(1), TG_FEED_DEGRADED);
	assert_int_equal(tg_metrics_feed_health(2), TG_FEED_DEGRADED);
	assert_int_equal(tg_metrics_feed_health(3), TG_FEED_FAILING);
	assert_int_equal(tg_metrics_feed_health(1000), TG_FEED_FAILING);
	assert_string_equal(tg_metrics_feed_health_name(TG_FEED_OK), "ok");
	assert_string_equal(tg_metrics_feed_health_name(TG_FEED_DEGRADED), "degraded");
	assert_string_equal(tg_metrics_feed_health_name(TG_FEED_FAILING), "failing");
	memset(&s, 0, sizeof(s));
	for (int e = 0; e < 6; e++)
		tg_metrics_state_add_feed(&s, e);
	assert_int_equal(s.feeds_ok, 1);
	assert_int_equal(s.feeds_degraded, 2);
	assert_int_equal(s.feeds_failing, 3);
}

static void
test_tigris_metrics(void **state)
{
	struct tg_metrics *m = tg_metrics_new();
	struct tg_metrics_state s;
	char *text;

	text = render(m);
	check_exposition(text);
	/* every series the issue asks for is there from the start, at zero */
	assert_has(text, "tigris_fetches_total{result=\"ok\"} 0\n");
	assert_has(text, "tigris_fetches_total{result=\"not_modified\"} 0\n");
	assert_has(text, "tigris_fetches_total{result=\"error\"} 0\n");
	assert_has(text, "tigris_fetch_bytes_total 0\n");
	assert_has(text, "tigris_items_total{kind=\"new\"} 0\n");
	assert_has(text, "tigris_items_total{kind=\"duplicate\"} 0\n");
	assert_has(text, "tigris_parse_errors_total 0\n");
	assert_has(text, "tigris_queue_depth 0\n");
	assert_has(text, "tigris_inflight 0\n");
	assert_has(text, "tigris_workers 0\n");
	assert_has(text, "tigris_feeds{health=\"failing\"} 0\n");
	assert_has(text, "tigris_fetch_duration_seconds_count 0\n");
	assert_has(text, "tigris_fetch_to_publish_seconds_count 0\n");
	assert_has(text, "# TYPE tigris_alert_tags_total counter\n");
	assert_has(text, "tigris_start_time_seconds ");
	free(text);

	tg_metrics_fetch(m, TG_METRICS_FETCH_OK, 1000, 120);
	tg_metrics_fetch(m, TG_METRICS_FETCH_OK, 500, 30);
	tg_metrics_fetch(m, TG_METRICS_FETCH_NOT_MODIFIED, 0, 5);
	tg_metrics_fetch(m, TG_METRICS_FETCH_ERROR, 12, 30000);
	tg_metrics_items(m, 3, 7);
	tg_metrics_items(m, 1, 0);
	tg_metrics_parse_error(m);
	tg_metrics_alert(m, true, " iran us-iran ", 4);
	tg_metrics_alert(m, false, "iran", 2500);
	tg_metrics_alert(m, false, NULL, -1); /* no tags, latency unknown */
	tg_metrics_alert(m, false, "   ", -1);
	memset(&s, 0, sizeof(s));
	s.queued = 17;
	s.inflight = 4;
	s.workers = 2;
	s.feeds_ok = 5;
	s.feeds_degraded = 1;
	s.feeds_failing = 2;
	s.redelivered = 9;
	s.rejected = 1;
	s.dead_letters = 3;
	tg_metrics_set_state(m, &s);

	text = render(m);
	check_exposition(text);
	assert_has(text, "tigris_fetches_total{result=\"ok\"} 2\n");
	assert_has(text, "tigris_fetches_total{result=\"not_modified\"} 1\n");
	assert_has(text, "tigris_fetches_total{result=\"error\"} 1\n");
	assert_has(text, "tigris_fetch_bytes_total 1512\n");
	assert_has(text, "tigris_fetch_duration_seconds_bucket{le=\"0.01\"} 1\n");
	assert_has(text, "tigris_fetch_duration_seconds_bucket{le=\"0.05\"} 2\n");
	assert_has(text, "tigris_fetch_duration_seconds_bucket{le=\"0.25\"} 3\n");
	assert_has(text, "tigris_fetch_duration_seconds_bucket{le=\"30\"} 4\n");
	assert_has(text, "tigris_fetch_duration_seconds_sum 30.155\n");
	assert_has(text, "tigris_items_total{kind=\"new\"} 4\n");
	assert_has(text, "tigris_items_total{kind=\"duplicate\"} 7\n");
	assert_has(text, "tigris_parse_errors_total 1\n");
	assert_has(text, "tigris_alerts_total 4\n");
	assert_has(text, "tigris_alerts_relevant_total 1\n");
	assert_has(text, "tigris_alert_tags_total{tag=\"iran\"} 2\n");
	assert_has(text, "tigris_alert_tags_total{tag=\"us-iran\"} 1\n");
	assert_has(text, "tigris_fetch_to_publish_seconds_bucket{le=\"0.005\"} 1\n");
	assert_has(text, "tigris_fetch_to_publish_seconds_bucket{le=\"2.5\"} 2\n");
	assert_has(text, "tigris_fetch_to_publish_seconds_count 2\n");
	assert_has(text, "tigris_queue_depth 17\n");
	assert_has(text, "tigris_inflight 4\n");
	assert_has(text, "tigris_workers 2\n");
	assert_has(text, "tigris_feeds{health=\"ok\"} 5\n");
	assert_has(text, "tigris_feeds{health=\"degraded\"} 1\n");
	assert_has(text, "tigris_feeds{health=\"failing\"} 2\n");
	assert_has(text, "tigris_redeliveries_total 9\n");
	assert_has(text, "tigris_rejected_messages_total 1\n");
	assert_has(text, "tigris_dead_letters_total 3\n");
	assert_lacks(text, "tigris_curve_clients_total{"); /* CURVE off: no series */
	assert_has(text, "tigris_store_checkpoints_total{result=\"ok\"} 0\n");
	free(text);

	/* With CURVE on, the ZAP handler's counts appear by outcome. */
	s.curve = true;
	s.curve_admitted = 4;
	s.curve_refused = 2;
	s.curve_failed = 7;
	s.checkpoints = 12;
	s.checkpoint_failures = 2;
	tg_metrics_set_state(m, &s);
	text = render(m);
	check_exposition(text);
	assert_has(text, "tigris_curve_clients_total{result=\"admitted\"} 4\n");
	assert_has(text, "tigris_curve_clients_total{result=\"refused\"} 2\n");
	assert_has(text, "tigris_curve_clients_total{result=\"handshake_failed\"} 7\n");
	assert_has(text, "tigris_store_checkpoints_total{result=\"ok\"} 10\n");
	assert_has(text, "tigris_store_checkpoints_total{result=\"failed\"} 2\n");
	free(text);
	tg_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_checks),
		cmocka_unit_test(test_registry_full),
		cmocka_unit_test(test_counter_and_gauge),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_render_cap),
		cmocka_unit_test(test_feed_health),
		cmocka_unit_test(test_tigris_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

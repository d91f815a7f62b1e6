/*
 * Metrics: a tiny registry of counters, gauges and fixed-bucket histograms, each
 * with at most one label, rendered in the Prometheus text exposition format
 * (version 0.0.4). tg_metrics_new registers every tigris metric; the daemon
 * records events with the tg_metrics_<event> calls and sets the gauges it can
 * only read (queue, workers, feed health) just before rendering.
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"

struct tg_metrics;
struct tg_metric; /* one metric family: a name, a type, its series */

enum tg_metric_type {
	TG_METRIC_COUNTER,
	TG_METRIC_GAUGE,
	TG_METRIC_HISTOGRAM,
};

/* How a fetch ended, for tigris_fetches_total{result=...}. */
enum tg_metrics_fetch_result {
	TG_METRICS_FETCH_OK,           /* 200, parsed */
	TG_METRICS_FETCH_NOT_MODIFIED, /* 304 */
	TG_METRICS_FETCH_ERROR,        /* transport error, bad status or unusable body */
};

/* A feed's health from its consecutive failed fetches: none is ok (also before
 * its first fetch), 1 or 2 degraded, TG_FEED_FAILING_AFTER (3) or more failing. */
enum tg_feed_health {
	TG_FEED_OK,
	TG_FEED_DEGRADED,
	TG_FEED_FAILING,
};
#define TG_FEED_FAILING_AFTER 3

/* Figures the daemon reads from its parts when /metrics is asked for. */
struct tg_metrics_state {
	size_t queued;          /* items waiting for a worker */
	size_t inflight;        /* items at a worker */
	size_t workers;         /* workers connected */
	size_t feeds_ok;        /* feeds by health (see docs/operations.md) */
	size_t feeds_degraded;
	size_t feeds_failing;
	uint64_t redelivered;   /* dispatch: items sent again (cumulative) */
	uint64_t rejected;      /* dispatch: invalid messages received (cumulative) */
	uint64_t dead_letters;  /* dispatch: items given up as poison (cumulative) */
	unsigned long long checkpoints;         /* store: background WAL checkpoints run */
	unsigned long long checkpoint_failures; /* of which failed (not merely busy) */
	bool curve;             /* CURVE is on: the three counts below are exported */
	unsigned long long curve_admitted; /* ZAP: clients admitted (cumulative) */
	unsigned long long curve_refused;  /* ZAP: clients refused, key not listed */
	unsigned long long curve_failed;   /* handshakes that failed before ZAP (plaintext) */
};

#define TG_METRICS_MAX_FAMILIES 64
#define TG_METRICS_MAX_SERIES 128  /* label values per family; more share one series */
#define TG_METRICS_MAX_BUCKETS 24
#define TG_METRICS_OVERFLOW_LABEL "_other"

/* Health of a feed with error_count consecutive failures. */
enum tg_feed_health tg_metrics_feed_health(int error_count);

/* "ok", "degraded" or "failing" (static). */
const char *tg_metrics_feed_health_name(enum tg_feed_health h);

/* Count one feed with error_count consecutive failures into s->feeds_*. */
void tg_metrics_state_add_feed(struct tg_metrics_state *s, int error_count);

/* A registry holding every tigris metric, all zero. Free with tg_metrics_free. */
struct tg_metrics *tg_metrics_new(void);

/* Free the registry and its families; NULL is fine. */
void tg_metrics_free(struct tg_metrics *m);

/* Register a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*, label (NULL for
 * none) [a-zA-Z_][a-zA-Z0-9_]*; histograms take nbounds strictly increasing upper
 * bounds (the +Inf bucket is implicit). The registry owns the family. Returns
 * NULL with err on a bad name, a duplicate or a full registry. */
struct tg_metric *tg_metrics_register(struct tg_metrics *m, enum tg_metric_type type,
    const char *name, const char *help, const char *label, const double *bounds, size_t nbounds,
    char *err, size_t errlen);

/* The family called name, or NULL. */
struct tg_metric *tg_metrics_find(struct tg_metrics *m, const char *name);

/* Add v (>= 0) to a counter, or to a gauge. label_value is NULL for a family
 * without a label. Returns 0, or -1 on a wrong type, a negative counter step or a
 * label mismatch (nothing changes). */
int tg_metric_add(struct tg_metric *f, const char *label_value, double v);

/* Set a gauge (or a counter mirrored from a cumulative source) to v. As tg_metric_add. */
int tg_metric_set(struct tg_metric *f, const char *label_value, double v);

/* Record one observation in a histogram. As tg_metric_add. */
int tg_metric_observe(struct tg_metric *f, const char *label_value, double v);

/* Current value of a counter or gauge series (0 when the series does not exist),
 * or the observation count of a histogram series. For tests and status. */
double tg_metric_value(const struct tg_metric *f, const char *label_value);

/* Append the exposition text of every family to out. Returns 0, or -1 when out's
 * cap was reached (out then holds a truncated text). */
int tg_metrics_render(const struct tg_metrics *m, struct tg_buf *out);

/* One fetch ended: result, bytes received and how long it took. */
void tg_metrics_fetch(struct tg_metrics *m, enum tg_metrics_fetch_result result, size_t bytes,
    int64_t duration_ms);

/* One fetch stored nnew new items and ndup already seen. */
void tg_metrics_items(struct tg_metrics *m, size_t nnew, size_t ndup);

/* One body was not a usable feed. */
void tg_metrics_parse_error(struct tg_metrics *m);

/* One alert was published: relevant or not, with the tag names in tags
 * separated by spaces (" iran us-iran ", as tg_alert_join_tags writes; NULL for
 * none); fetch_to_publish_ms runs from the fetch that found the item to the
 * publication (negative: not observed). */
void tg_metrics_alert(struct tg_metrics *m, bool relevant, const char *tags,
    int64_t fetch_to_publish_ms);

/* Set the gauges read from the daemon's parts (call just before rendering). */
void tg_metrics_set_state(struct tg_metrics *m, const struct tg_metrics_state *s);

#endif

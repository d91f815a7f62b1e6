/*
 * The metrics registry and the tigris metrics; see metrics.h. Everything runs on
 * the daemon's thread, so nothing here is locked. Memory is bounded: at most
 * TG_METRICS_MAX_FAMILIES families of at most TG_METRICS_MAX_SERIES series.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/alert.h"
#include "metrics.h"

#define LABEL_VALUE_MAX 128 /* longer label values are cut */

struct series {
	char *label_value; /* NULL in a family without a label */
	double value;      /* counter or gauge */
	double sum;        /* histogram */
	uint64_t count;
	uint64_t *buckets; /* histogram: nbounds + 1 counts, not cumulative */
};

struct tg_metric {
	enum tg_metric_type type;
	char *name;
	char *help;
	char *label;    /* NULL: no label */
	double *bounds; /* histogram upper bounds */
	size_t nbounds;
	struct series *series;
	size_t nseries;
};

struct tg_metrics {
	struct tg_metric *families[TG_METRICS_MAX_FAMILIES];
	size_t nfamilies;
	/* the tigris metrics */
	struct tg_metric *fetches, *fetch_bytes, *fetch_duration, *items, *parse_errors;
	struct tg_metric *alerts, *alerts_relevant, *alert_tags, *publish_latency;
	struct tg_metric *queued, *inflight, *workers, *feeds, *redelivered, *rejected, *dead;
	struct tg_metric *curve, *ckpt;
	struct tg_metric *start_time;
};

static const char *const type_names[] = {
	[TG_METRIC_COUNTER] = "counter",
	[TG_METRIC_GAUGE] = "gauge",
	[TG_METRIC_HISTOGRAM] = "histogram",
};

static const char *const fetch_results[] = {
	[TG_METRICS_FETCH_OK] = "ok",
	[TG_METRICS_FETCH_NOT_MODIFIED] = "not_modified",
	[TG_METRICS_FETCH_ERROR] = "error",
};

/* Fetches take from milliseconds (local files, 304s) to the whole fetch timeout. */
static const double fetch_bounds[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 };
/* From fetch to publication: a few milliseconds when workers keep up. */
static const double publish_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 300 };

static bool
name_ok(const char *s, bool colon)
{
	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':')))
			return false;
	return true;
}

static void
family_free(struct tg_metric *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nseries; i++) {
		free(f->series[i].label_value);
		free(f->series[i].buckets);
	}
	free(f->series);
	free(f->bounds);
	free(f->name);
	free(f->help);
	free(f->label);
	free(f);
}

void
tg_metrics_free(struct tg_metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nfamilies; i++)
		family_free(m->families[i]);
	free(m);
}

struct tg_metric *
tg_metrics_find(struct tg_metrics *m, const char *name)
{
	for (size_t i = 0; i < m->nfamilies; i++)
		if (strcmp(m->families[i]->name, name) == 0)
			return m->families[i];
	return NULL;
}

static struct series *series_get(struct tg_metric *f, const char *label_value);

struct tg_metric *
tg_metrics_register(struct tg_metrics *m, enum tg_metric_type type, const char *name,
    const char *help, const char *label, const double *bounds, size_t nbounds, char *err,
    size_t errlen)
{
	struct tg_metric *f;

	if (!name_ok(name, true)) {
		snprintf(err, errlen, "metrics: \"%s\" is not a valid metric name",
		    name ? name : "(null)");
		return NULL;
	}
	if (label && (!name_ok(label, false) || strncmp(label, "__", 2) == 0 ||
			 strcmp(label, "le") == 0)) {
		snprintf(err, errlen, "metrics: %s: \"%s\" is not a valid label name", name, label);
		return NULL;
	}
	if (tg_metrics_find(m, name) != NULL) {
		snprintf(err, errlen, "metrics: %s registered twice", name);
		return NULL;
	}
	if (m->nfamilies >= TG_METRICS_MAX_FAMILIES) {
		snprintf(err, errlen, "metrics: %s: more than %d families", name,
		    TG_METRICS_MAX_FAMILIES);
		return NULL;
	}
	if (type == TG_METRIC_HISTOGRAM) {
		if (nbounds == 0 || nbounds > TG_METRICS_MAX_BUCKETS) {
			snprintf(err, errlen, "metrics: %s: a histogram needs 1..%d bounds", name,
			    TG_METRICS_MAX_BUCKETS);
			return NULL;
		}
		for (size_t i = 0; i < nbounds; i++) {
			if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
				snprintf(err, errlen, "metrics: %s: bounds must be finite and "
						      "strictly increasing", name);
				return NULL;
			}
		}
	} else {
		nbounds = 0;
	}
	f = tg_calloc(1, sizeof(*f));
	f->type = type;
	f->name = tg_strdup(name);
	f->help = tg_strdup(help ? help : "");
	f->label = tg_strdup(label);
	f->nbounds = nbounds;
	if (nbounds) {
		f->bounds = tg_malloc(nbounds * sizeof(double));
		memcpy(f->bounds, bounds, nbounds * sizeof(double));
	}
	f->series = tg_calloc(TG_METRICS_MAX_SERIES, sizeof(*f->series));
	m->families[m->nfamilies++] = f;
	if (label == NULL)
		series_get(f, NULL); /* an unlabelled family always shows its one series */
	return f;
}

/* The series for label_value (NULL in a family without a label), created when
 * new. Once a family holds TG_METRICS_MAX_SERIES - 1 series, new label values
 * share the overflow series in the last slot. NULL when label_value does not fit
 * the family. */
static struct series *
series_get(struct tg_metric *f, const char *label_value)
{
	struct series *s;
	size_t len = 0;

	if (f == NULL || (f->label == NULL) != (label_value == NULL))
		return NULL;
	if (label_value == NULL) {
		if (f->nseries)
			return &f->series[0];
	} else {
		len = strlen(label_value);
		if (len > LABEL_VALUE_MAX)
			len = LABEL_VALUE_MAX;
		for (size_t i = 0; i < f->nseries; i++) {
			const char *v = f->series[i].label_value;
			if (strncmp(v, label_value, len) == 0 && v[len] == '\0')
				return &f->series[i];
		}
		if (f->nseries >= TG_METRICS_MAX_SERIES - 1 &&
		    strcmp(label_value, TG_METRICS_OVERFLOW_LABEL) != 0)
			return series_get(f, TG_METRICS_OVERFLOW_LABEL);
	}
	if (f->nseries >= TG_METRICS_MAX_SERIES)
		return NULL;
	s = &f->series[f->nseries];
	memset(s, 0, sizeof(*s));
	s->label_value = label_value ? tg_strndup(label_value, len) : NULL;
	if (f->type == TG_METRIC_HISTOGRAM)
		s->buckets = tg_calloc(f->nbounds + 1, sizeof(uint64_t));
	f->nseries++;
	return s;
}

int
tg_metric_add(struct tg_metric *f, const char *label_value, double v)
{
	struct series *s;

	if (f == NULL || f->type == TG_METRIC_HISTOGRAM || isnan(v))
		return -1;
	if (f->type == TG_METRIC_COUNTER && !(v >= 0))
		return -1;
	s = series_get(f, label_value);
	if (s == NULL)
		return -1;
	s->value += v;
	return 0;
}

int
tg_metric_set(struct tg_metric *f, const char *label_value, double v)
{
	struct series *s;

	if (f == NULL || f->type == TG_METRIC_HISTOGRAM || isnan(v))
		return -1;
	s = series_get(f, label_value);
	if (s == NULL)
		return -1;
	s->value = v;
	return 0;
}

int
tg_metric_observe(struct tg_metric *f, const char *label_value, double v)
{
	struct series *s;
	size_t i;

	if (f == NULL || f->type != TG_METRIC_HISTOGRAM || isnan(v))
		return -1;
	s = series_get(f, label_value);
	if (s == NULL)
		return -1;
	for (i = 0; i < f->nbounds; i++)
		if (v <= f->bounds[i])
			break;
	s->buckets[i]++;
	s->count++;
	s->sum += v;
	return 0;
}

double
tg_metric_value(const struct tg_metric *f, const char *label_value)
{
	if (f == NULL || (f->label == NULL) != (label_value == NULL))
		return 0;
	for (size_t i = 0; i < f->nseries; i++) {
		const struct series *s = &f->series[i];
		if (label_value == NULL || strcmp(s->label_value, label_value) == 0)
			return f->type == TG_METRIC_HISTOGRAM ? (double)s->count : s->value;
	}
	return 0;
}

static int out_printf(struct tg_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
out_printf(struct tg_buf *out, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return tg_buf_append(out, small, (size_t)n);
	return -1; /* every line we print is short; a longer one is a bug */
}

/* A number as Prometheus reads it: the shortest form that reads back exactly. */
static void
format_number(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* Append s with the escapes of a label value (quote too) or of HELP text. */
static int
append_escaped(struct tg_buf *out, const char *s, bool quote)
{
	const char *start = s;

	for (; *s; s++) {
		const char *esc = NULL;
		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (quote && *s == '"')
			esc = "\\\"";
		if (esc == NULL)
			continue;
		if (tg_buf_append(out, start, (size_t)(s - start)) < 0 ||
		    tg_buf_append_str(out, esc) < 0)
			return -1;
		start = s + 1;
	}
	return tg_buf_append(out, start, (size_t)(s - start));
}

/* Append `name{label="value",le="x"}` (braces only when there is a label). */
static int
append_series_name(struct tg_buf *out, const struct tg_metric *f, const char *suffix,
    const struct series *s, const char *le)
{
	bool braces = f->label != NULL || le != NULL;

	if (tg_buf_append_str(out, f->name) < 0 || tg_buf_append_str(out, suffix) < 0)
		return -1;
	if (!braces)
		return 0;
	if (tg_buf_append_str(out, "{") < 0)
		return -1;
	if (f->label) {
		if (out_printf(out, "%s=\"", f->label) < 0 ||
		    append_escaped(out, s->label_value, true) < 0 ||
		    tg_buf_append_str(out, "\"") < 0)
			return -1;
	}
	if (le && out_printf(out, "%sle=\"%s\"", f->label ? "," : "", le) < 0)
		return -1;
	return tg_buf_append_str(out, "}");
}

static int
render_series(struct tg_buf *out, const struct tg_metric *f, const struct series *s)
{
	char num[64], le[64];
	uint64_t cum = 0;

	if (f->type != TG_METRIC_HISTOGRAM) {
		format_number(s->value, num, sizeof(num));
		if (append_series_name(out, f, "", s, NULL) < 0 ||
		    out_printf(out, " %s\n", num) < 0)
			return -1;
		return 0;
	}
	for (size_t i = 0; i <= f->nbounds; i++) {
		cum += s->buckets[i];
		if (i < f->nbounds)
			format_number(f->bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		if (append_series_name(out, f, "_bucket", s, le) < 0 ||
		    out_printf(out, " %llu\n", (unsigned long long)cum) < 0)
			return -1;
	}
	format_number(s->sum, num, sizeof(num));
	if (append_series_name(out, f, "_sum", s, NULL) < 0 || out_printf(out, " %s\n", num) < 0 ||
	    append_series_name(out, f, "_count", s, NULL) < 0 ||
	    out_printf(out, " %llu\n", (unsigned long long)s->count) < 0)
		return -1;
	return 0;
}

int
tg_metrics_render(const struct tg_metrics *m, struct tg_buf *out)
{
	for (size_t i = 0; i < m->nfamilies; i++) {
		const struct tg_metric *f = m->families[i];

		if (out_printf(out, "# HELP %s ", f->name) < 0 ||
		    append_escaped(out, f->help, false) < 0 ||
		    out_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]) < 0)
			return -1;
		for (size_t j = 0; j < f->nseries; j++)
			if (render_series(out, f, &f->series[j]) < 0)
				return -1;
	}
	return 0;
}

/* Register one of our own families; the names are constants, so failure is a bug. */
static struct tg_metric *
own(struct tg_metrics *m, enum tg_metric_type type, const char *name, const char *help,
    const char *label, const double *bounds, size_t nbounds)
{
	char err[256];
	struct tg_metric *f;

	f = tg_metrics_register(m, type, name, help, label, bounds, nbounds, err, sizeof(err));
	if (f == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return f;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct tg_metrics *
tg_metrics_new(void)
{
	struct tg_metrics *m = tg_calloc(1, sizeof(*m));

	m->fetches = own(m, TG_METRIC_COUNTER, "tigris_fetches_total",
	    "Feed fetches by result: ok (200, parsed), not_modified (304), error.", "result",
	    NULL, 0);
	for (size_t i = 0; i < NELEM(fetch_results); i++)
		tg_metric_add(m->fetches, fetch_results[i], 0);
	m->fetch_bytes = own(m, TG_METRIC_COUNTER, "tigris_fetch_bytes_total",
	    "Feed body bytes received, after decompression.", NULL, NULL, 0);
	m->fetch_duration = own(m, TG_METRIC_HISTOGRAM, "tigris_fetch_duration_seconds",
	    "Time from the start of a fetch to its end, any result.", NULL, fetch_bounds,
	    NELEM(fetch_bounds));
	m->items = own(m, TG_METRIC_COUNTER, "tigris_items_total",
	    "Feed items read: new (stored and dispatched) or duplicate (seen before).", "kind",
	    NULL, 0);
	tg_metric_add(m->items, "new", 0);
	tg_metric_add(m->items, "duplicate", 0);
	m->parse_errors = own(m, TG_METRIC_COUNTER, "tigris_parse_errors_total",
	    "Fetched bodies that were not a usable feed.", NULL, NULL, 0);
	m->alerts = own(m, TG_METRIC_COUNTER, "tigris_alerts_total", "Alerts published.", NULL,
	    NULL, 0);
	m->alerts_relevant = own(m, TG_METRIC_COUNTER, "tigris_alerts_relevant_total",
	    "Alerts published that were relevant.", NULL, NULL, 0);
	m->alert_tags = own(m, TG_METRIC_COUNTER, "tigris_alert_tags_total",
	    "Alerts published per tag (an alert with three tags counts once for each).", "tag",
	    NULL, 0);
	m->publish_latency = own(m, TG_METRIC_HISTOGRAM, "tigris_fetch_to_publish_seconds",
	    "Time from the fetch that found an item to the publication of its alert.", NULL,
	    publish_bounds, NELEM(publish_bounds));
	m->queued = own(m, TG_METRIC_GAUGE, "tigris_queue_depth",
	    "Items waiting for a worker with free credit.", NULL, NULL, 0);
	m->inflight = own(m, TG_METRIC_GAUGE, "tigris_inflight",
	    "Items sent to a worker and not yet answered.", NULL, NULL, 0);
	m->workers = own(m, TG_METRIC_GAUGE, "tigris_workers",
	    "Workers connected (local and remote).", NULL, NULL, 0);
	m->feeds = own(m, TG_METRIC_GAUGE, "tigris_feeds",
	    "Configured feeds by health: ok, degraded (1-2 failures in a row), failing (3 or more).",
	    "health", NULL, 0);
	tg_metric_set(m->feeds, "ok", 0);
	tg_metric_set(m->feeds, "degraded", 0);
	tg_metric_set(m->feeds, "failing", 0);
	m->redelivered = own(m, TG_METRIC_COUNTER, "tigris_redeliveries_total",
	    "Items sent to a worker again after their worker died or fell silent.", NULL, NULL, 0);
	m->rejected = own(m, TG_METRIC_COUNTER, "tigris_rejected_messages_total",
	    "Invalid messages received from workers.", NULL, NULL, 0);
	m->dead = own(m, TG_METRIC_COUNTER, "tigris_dead_letters_total",
	    "Items given up after taking down max_attempts workers (kept in the store).", NULL,
	    NULL, 0);
	m->ckpt = own(m, TG_METRIC_COUNTER, "tigris_store_checkpoints_total",
	    "Background WAL checkpoints of the store by result: ok (or busy), failed.", "result",
	    NULL, 0);
	tg_metric_set(m->ckpt, "ok", 0);
	tg_metric_set(m->ckpt, "failed", 0);
	m->curve = own(m, TG_METRIC_COUNTER, "tigris_curve_clients_total",
	    "Clients of the CURVE-secured sockets by outcome: admitted, refused (key not in "
	    "curve_clients), handshake_failed (plaintext or broken handshake). Absent without CURVE.",
	    "result", NULL, 0);
	m->start_time = own(m, TG_METRIC_GAUGE, "tigris_start_time_seconds",
	    "Unix time the daemon started.", NULL, NULL, 0);
	tg_metric_set(m->start_time, NULL, (double)(tg_now_wall_ms() / 1000));
	return m;
}

void
tg_metrics_fetch(struct tg_metrics *m, enum tg_metrics_fetch_result result, size_t bytes,
    int64_t duration_ms)
{
	if ((size_t)result >= NELEM(fetch_results))
		result = TG_METRICS_FETCH_ERROR;
	tg_metric_add(m->fetches, fetch_results[result], 1);
	tg_metric_add(m->fetch_bytes, NULL, (double)bytes);
	if (duration_ms >= 0)
		tg_metric_observe(m->fetch_duration, NULL, (double)duration_ms / 1000.0);
}

void
tg_metrics_items(struct tg_metrics *m, size_t nnew, size_t ndup)
{
	tg_metric_add(m->items, "new", (double)nnew);
	tg_metric_add(m->items, "duplicate", (double)ndup);
}

void
tg_metrics_parse_error(struct tg_metrics *m)
{
	tg_metric_add(m->parse_errors, NULL, 1);
}

void
tg_metrics_alert(struct tg_metrics *m, bool relevant, const char *tags,
    int64_t fetch_to_publish_ms)
{
	tg_metric_add(m->alerts, NULL, 1);
	if (relevant)
		tg_metric_add(m->alerts_relevant, NULL, 1);
	const char *p = tags;
	char name[TG_TAG_NAME_MAX];

	while (tg_alert_tags_next(&p, name, sizeof(name)))
		tg_metric_add(m->alert_tags, name, 1);
	if (fetch_to_publish_ms >= 0)
		tg_metric_observe(m->publish_latency, NULL, (double)fetch_to_publish_ms / 1000.0);
}

enum tg_feed_health
tg_metrics_feed_health(int error_count)
{
	if (error_count <= 0)
		return TG_FEED_OK;
	return error_count < TG_FEED_FAILING_AFTER ? TG_FEED_DEGRADED : TG_FEED_FAILING;
}

const char *
tg_metrics_feed_health_name(enum tg_feed_health h)
{
	switch (h) {
	case TG_FEED_OK:
		return "ok";
	case TG_FEED_DEGRADED:
		return "degraded";
	case TG_FEED_FAILING:
		return "failing";
	}
	return "failing";
}

void
tg_metrics_state_add_feed(struct tg_metrics_state *s, int error_count)
{
	switch (tg_metrics_feed_health(error_count)) {
	case TG_FEED_OK:
		s->feeds_ok++;
		break;
	case TG_FEED_DEGRADED:
		s->feeds_degraded++;
		break;
	case TG_FEED_FAILING:
		s->feeds_failing++;
		break;
	}
}

void
tg_metrics_set_state(struct tg_metrics *m, const struct tg_metrics_state *s)
{
	tg_metric_set(m->queued, NULL, (double)s->queued);
	tg_metric_set(m->inflight, NULL, (double)s->inflight);
	tg_metric_set(m->workers, NULL, (double)s->workers);
	tg_metric_set(m->feeds, "ok", (double)s->feeds_ok);
	tg_metric_set(m->feeds, "degraded", (double)s->feeds_degraded);
	tg_metric_set(m->feeds, "failing", (double)s->feeds_failing);
	tg_metric_set(m->redelivered, NULL, (double)s->redelivered);
	tg_metric_set(m->rejected, NULL, (double)s->rejected);
	tg_metric_set(m->dead, NULL, (double)s->dead_letters);
	tg_metric_set(m->ckpt, "ok", (double)(s->checkpoints - s->checkpoint_failures));
	tg_metric_set(m->ckpt, "failed", (double)s->checkpoint_failures);
	if (s->curve) {
		tg_metric_set(m->curve, "admitted", (double)s->curve_admitted);
		tg_metric_set(m->curve, "refused", (double)s->curve_refused);
		tg_metric_set(m->curve, "handshake_failed", (double)s->curve_failed);
	}
}

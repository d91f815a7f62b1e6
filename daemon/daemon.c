/*
 * The daemon's one context and its event-driven flow:
 * timer -> fetch -> parse -> store (new items only) -> dispatch -> worker ->
 * result -> alert -> publish -> store (published). See daemon.h.
 */
#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <systemd/sd-daemon.h>
#include <zmq.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../proto/alert.h"
#include "../workers/classify.h"
#include "curve.h"
#include "daemon.h"
#include "dispatch.h"
#include "feed.h"
#include "fetch.h"
#include "httpd.h"
#include "metrics.h"
#include "replay.h"
#include "schedule.h"
#include "store.h"
#include "supervise.h"

#define FIRST_FETCH_SPREAD_MS 500 /* feeds due at start are spread over this */
#define WORKER_STOP_GRACE_MS 2000
#define SHUTDOWN_GRACE_MS 5000 /* wait this long for items in flight on SIGTERM */
#define STATUS_EVERY_S 5
#define OUTBOX_MAX 512 /* alerts committed and published together at most */
#define PRUNE_EVERY_S 3600
#define BACKPRESSURE_RETRY_MS 1000 /* a fetch due while spilling is put off this long */
#define HEARTBEAT_MS 1000 /* "hb." on the PUB socket: lets subscribers see a gap at the end */

/* An alert stored in this turn's transaction, published once it commits. */
struct outbox_entry {
	uint64_t seq;
	char *json;
	size_t len;
	bool relevant;
	int64_t fetched_ms; /* when the item was fetched, for the latency histogram */
	char tags[TG_ALERT_TAGS_MAX];
};

/* One configured feed at run time. It owns a copy of its config entry so that
 * a reload can replace the config while a fetch of the feed is under way. */
struct feed_run {
	struct tg_daemon *d;
	struct tg_feed_conf conf; /* url and name owned */
	int64_t store_id;
	int64_t next_fetch_ms; /* wall clock of the next fetch (as the store had it at start) */
	int64_t last_success_ms; /* wall clock; 0: never */
	char *last_error;        /* NULL when the last fetch succeeded */
	char *etag;
	char *last_modified;
	int errors;
	char *moved_url; /* where a permanent redirect led; fetched instead of conf.url */
	struct tg_schedule_conf sconf;
	struct tg_schedule_state sched; /* rate of new items; failures mirror errors */
	bool busy;
	struct event *timer;
};

struct tg_daemon {
	struct tg_config *cfg;
	struct event_base *base;
	void *zctx;
	void *pub;
	struct tg_store *store;
	struct tg_fetcher *fetcher;
	struct tg_dispatch *dispatch;
	struct tg_supervisor *super;
	struct feed_run **feeds;
	size_t nfeeds;
	struct event *sigint, *sigterm, *sighup;
	struct event *status_timer;   /* STATUS= for systemd */
	struct event *watchdog_timer; /* WATCHDOG=1 from the loop itself */
	struct event *drain_timer;    /* while stopping: wait for items in flight */
	bool stopping;
	int64_t stop_deadline_ms;
	char *worker_program;
	uint64_t seq;
	char epoch[TG_EPOCH_MAX];
	uint64_t rng;
	struct tg_feed_limits limits;
	struct tg_daemon_counters counters;
	struct tg_alert alert; /* scratch, reused for every alert */
	struct outbox_entry *batch;
	size_t nbatch;
	struct event *flush_ev;
	uint64_t published_seq;          /* last alert handed to the PUB socket */
	uint64_t recorded_published_seq; /* ... as the store knows it */
	struct tg_replay *replay;
	struct tg_curve_server *curve; /* CURVE on the sockets; NULL: plaintext */
	struct tg_metrics *metrics;
	struct tg_httpd *httpd;
	char store_error[256]; /* last store write failure, "" once one succeeds again */
	struct event *prune_timer;
	struct event *heartbeat_timer;
	bool spilling;        /* new items wait in the store, not in the dispatch queue */
	bool spill_told;      /* the log said so: say too when it ends */
	int64_t spill_cursor; /* items up to this rowid have been queued */
	struct event *refill_timer;
};

static void feed_free(struct feed_run *fr);
static void flush_outbox(struct tg_daemon *d);

/* A store write failed (what) or succeeded (NULL): /healthz reports the last failure
 * until a later write succeeds. */
static void
store_status(struct tg_daemon *d, const char *what)
{
	if (what)
		snprintf(d->store_error, sizeof(d->store_error), "%.255s", what);
	else
		d->store_error[0] = '\0';
}
static void on_feed_timer(evutil_socket_t fd, short what, void *arg);

static uint64_t
rng_next(struct tg_daemon *d)
{
	/* xorshift64*: only for jitter, not for anything secret. */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 0x2545F4914F6CDD1DULL;
}

/* Milliseconds until the next fetch (schedule.h): backoff while failing, adaptive
 * within the feed's bounds, postponed by the server's hints h (may be NULL). */
static int64_t
next_delay_ms(struct tg_daemon *d, struct feed_run *fr, const struct tg_schedule_hints *h)
{
	fr->sched.failures = fr->errors;
	return tg_schedule_next_ms(&fr->sconf, &fr->sched, h, rng_next(d));
}

static void
schedule(struct feed_run *fr, int64_t delay_ms)
{
	struct timeval tv;

	if (fr->d->stopping)
		return;
	if (delay_ms < 0)
		delay_ms = 0;
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(fr->timer, &tv);
}

static void
feed_failed(struct feed_run *fr, const char *why, const struct tg_schedule_hints *h)
{
	struct tg_daemon *d = fr->d;
	char err[512];
	int64_t delay;

	fr->errors++;
	delay = next_delay_ms(d, fr, h);
	fr->next_fetch_ms = tg_now_wall_ms() + delay;
	tg_str_set(&fr->last_error, why);
	tg_warn("feed %s: %s (failure %d, next try in %lld s)", fr->conf.name, why, fr->errors,
	    (long long)(delay / 1000));
	if (tg_store_feed_failed(d->store, fr->store_id, why, tg_now_wall_ms() + delay, err,
		sizeof(err)) != 0) {
		tg_err("feed %s: %s", fr->conf.name, err);
		store_status(d, err);
	}
	schedule(fr, delay);
}

static void
feed_succeeded(struct feed_run *fr, const char *etag, const char *lastmod, size_t nnew,
    const struct tg_schedule_hints *h)
{
	struct tg_daemon *d = fr->d;
	char err[512];
	int64_t delay, now = tg_now_wall_ms();

	fr->errors = 0;
	tg_schedule_succeeded(&fr->sched, &fr->sconf, now, nnew);
	delay = next_delay_ms(d, fr, h);
	fr->last_success_ms = now;
	fr->next_fetch_ms = now + delay;
	tg_str_set(&fr->last_error, NULL);
	if (etag != fr->etag)
		tg_str_set(&fr->etag, etag);
	if (lastmod != fr->last_modified)
		tg_str_set(&fr->last_modified, lastmod);
	if (tg_store_feed_ok(d->store, fr->store_id, fr->etag, fr->last_modified, now, now + delay,
		err, sizeof(err)) != 0) {
		tg_err("feed %s: %s", fr->conf.name, err);
		store_status(d, err);
	} else {
		store_status(d, NULL);
	}
	schedule(fr, delay);
}

static bool
queue_full(struct tg_daemon *d)
{
	struct tg_dispatch_stats st;

	tg_dispatch_get_stats(d->dispatch, &st);
	return st.queued >= (size_t)d->cfg->max_queue;
}

static void
queue_pending(void *arg, int64_t feed_id, const struct tg_item *it, int failures);

/* While spilling, move waiting items from the store to the queue as it drains;
 * once the store has none left, new items go straight to the queue again. */
static void
on_refill_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tg_daemon *d = arg;
	struct tg_dispatch_stats st;
	char err[512];
	size_t room;
	int n;

	if (!d->spilling)
		return;
	tg_dispatch_get_stats(d->dispatch, &st);
	if (st.queued >= (size_t)d->cfg->max_queue / 2)
		return;
	room = (size_t)d->cfg->max_queue - st.queued;
	n = tg_store_items_pending_from(d->store, d->spill_cursor, room, &d->spill_cursor,
	    queue_pending, d, err, sizeof(err));
	if (n < 0) {
		tg_err("store: %s", err);
		return;
	}
	if ((size_t)n < room) {
		d->spilling = false;
		if (d->spill_told)
			tg_notice("the workers caught up: items go straight to them again");
		d->spill_told = false;
	}
}

/* A 200 body: parse it, store the new items and hand them to the workers. */
static int
take_body(struct feed_run *fr, const struct tg_fetch_res *res, size_t *nnew, char *err,
    size_t errlen)
{
	struct tg_daemon *d = fr->d;
	struct tg_feed_doc doc;
	bool *is_new = NULL;
	int n, rc = -1;
	int64_t now = tg_now_wall_ms(), rowid;

	memset(&doc, 0, sizeof(doc));
	if (tg_feed_parse(res->body, res->len, res->effective_url ? res->effective_url :
		fr->conf.url, res->content_type, fr->conf.name, &d->limits, &doc, err,
		errlen) != 0) {
		d->counters.parse_errors++;
		tg_metrics_parse_error(d->metrics);
		goto out;
	}
	if (doc.bozo)
		tg_warn("feed %s: not well-formed, recovered %zu item(s): %s", fr->conf.name,
		    doc.nitems, doc.bozo_reason ? doc.bozo_reason : "unknown reason");
	is_new = tg_calloc(doc.nitems ? doc.nitems : 1, sizeof(bool));
	/* New items get consecutive rowids after this one, in document order. */
	rowid = tg_store_max_item_rowid(d->store);
	/* The alerts of this loop turn hold an open transaction: finish it first. */
	flush_outbox(d);
	n = tg_store_items_add(d->store, fr->store_id, doc.items, doc.nitems, is_new, err, errlen);
	if (n < 0) {
		store_status(d, err);
		goto out;
	}
	tg_metrics_items(d->metrics, (size_t)n, doc.nitems - (size_t)n);
	*nnew = (size_t)n;
	d->counters.items_new += (uint64_t)n;
	d->counters.items_dup += doc.nitems - (size_t)n;
	tg_debug("feed %s: %zu item(s), %d new", fr->conf.name, doc.nitems, n);
	for (size_t i = 0; i < doc.nitems && !d->spilling; i++) {
		if (!is_new[i])
			continue;
		if (queue_full(d)) {
			/* The workers are behind: from here on new items wait in the store. */
			d->spilling = true;
			d->spill_told = true;
			d->spill_cursor = rowid;
			tg_notice("queue full (%d items): new items wait in the store until the "
				  "workers catch up; fetching slows down",
			    d->cfg->max_queue);
			break;
		}
		rowid++;
		doc.items[i].fetched_ms = now;
		tg_dispatch_submit(d->dispatch, tg_job_take(fr->store_id, &doc.items[i]));
	}
	rc = 0;
out:
	free(is_new);
	tg_feed_doc_clear(&doc);
	return rc;
}

static void
on_fetched(void *arg, const struct tg_fetch_res *res)
{
	struct feed_run *fr = arg;
	struct tg_daemon *d = fr->d;
	char why[1024];
	struct tg_schedule_hints hints;
	size_t nnew = 0;

	fr->busy = false;
	d->counters.bytes += res->len;
	tg_schedule_hints_from_fetch(&hints, res, 0);
	if (res->permanent_url &&
	    strcmp(res->permanent_url, fr->moved_url ? fr->moved_url : fr->conf.url) != 0) {
		char serr[512];

		tg_notice("feed %s: moved permanently to %s; fetching it there from now on",
		    fr->conf.name, res->permanent_url);
		tg_str_set(&fr->moved_url, res->permanent_url);
		if (tg_store_feed_moved(d->store, fr->store_id, fr->moved_url, serr,
			sizeof(serr)) != 0)
			tg_err("store: %s", serr);
	}
	if (!res->ok) {
		tg_metrics_fetch(d->metrics, TG_METRICS_FETCH_ERROR, res->len, res->duration_ms);
		d->counters.fetch_failed++;
		feed_failed(fr, res->error, &hints);
		return;
	}
	if (res->status == 304) {
		tg_metrics_fetch(d->metrics, TG_METRICS_FETCH_NOT_MODIFIED, res->len,
		    res->duration_ms);
		d->counters.fetch_304++;
		tg_debug("feed %s: not modified", fr->conf.name);
		feed_succeeded(fr, fr->etag, fr->last_modified, 0, &hints);
		return;
	}
	if (res->status != 200) {
		tg_metrics_fetch(d->metrics, TG_METRICS_FETCH_ERROR, res->len, res->duration_ms);
		d->counters.fetch_failed++;
		snprintf(why, sizeof(why), "HTTP status %ld", res->status);
		feed_failed(fr, why, &hints);
		return;
	}
	if (take_body(fr, res, &nnew, why, sizeof(why)) != 0) {
		tg_metrics_fetch(d->metrics, TG_METRICS_FETCH_ERROR, res->len, res->duration_ms);
		feed_failed(fr, why, &hints);
		return;
	}
	tg_metrics_fetch(d->metrics, TG_METRICS_FETCH_OK, res->len, res->duration_ms);
	d->counters.fetch_ok++;
	feed_succeeded(fr, res->etag, res->last_modified, nnew, &hints);
}

static void
on_feed_timer(evutil_socket_t fd, short what, void *arg)
{
	struct feed_run *fr = arg;
	struct tg_fetch_req req;
	char err[512];

	if (fr->busy)
		return;
	if (fr->d->spilling) {
		/* Backpressure: no new fetches while items wait in the store. */
		schedule(fr, BACKPRESSURE_RETRY_MS);
		return;
	}
	req.url = fr->moved_url ? fr->moved_url : fr->conf.url;
	req.etag = fr->etag;
	req.last_modified = fr->last_modified;
	if (tg_fetch_start(fr->d->fetcher, &req, on_fetched, fr, err, sizeof(err)) != 0) {
		tg_metrics_fetch(fr->d->metrics, TG_METRICS_FETCH_ERROR, 0, -1);
		fr->d->counters.fetch_failed++;
		feed_failed(fr, err, NULL);
		return;
	}
	fr->busy = true;
}

/* The alerts of one loop turn are written to the store in one transaction and
 * published only once it has committed (the outbox): a crash can repeat an
 * alert (same seq and alert id) but never lose one. */
static void
flush_outbox(struct tg_daemon *d)
{
	char err[512];

	if (d->nbatch == 0)
		return;
	if (tg_store_commit(d->store, err, sizeof(err)) != 0) {
		tg_err("store: %s (the items stay pending and are sent again at the next start)",
		    err);
		store_status(d, err);
	} else {
		store_status(d, NULL);
	}
	for (size_t i = 0; i < d->nbatch; i++) {
		struct outbox_entry *e = &d->batch[i];

		if (tg_alert_publish_tags(d->pub, e->relevant, e->tags, e->json, e->len) < 0)
			tg_err("publish: %s", zmq_strerror(zmq_errno()));
		else {
			d->counters.alerts++;
			tg_metrics_alert(d->metrics, e->relevant, e->tags,
			    e->fetched_ms > 0 ? tg_now_wall_ms() - e->fetched_ms : -1);
		}
		d->published_seq = e->seq;
		free(e->json);
		e->json = NULL;
	}
	d->nbatch = 0;
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	flush_outbox(arg);
}

/* Open the batch of this loop turn: a transaction that also records how far the
 * previous batches were published. */
static int
open_batch(struct tg_daemon *d)
{
	char err[512];

	if (d->nbatch > 0)
		return 0;
	if (tg_store_begin(d->store, err, sizeof(err)) != 0) {
		tg_err("store: %s", err);
		return -1;
	}
	if (d->published_seq > d->recorded_published_seq) {
		if (tg_store_set_published_seq(d->store, d->published_seq, err, sizeof(err)) == 0)
			d->recorded_published_seq = d->published_seq;
		else
			tg_err("store: %s", err);
	}
	event_active(d->flush_ev, EV_TIMEOUT, 0);
	return 0;
}

/* A worker's result: build the alert, put it in this turn's outbox. */
static void
on_result(void *arg, struct tg_job *job, const struct tg_result *r)
{
	struct tg_daemon *d = arg;
	struct tg_alert *a = &d->alert;
	struct outbox_entry *e;
	char err[512];
	size_t len;
	char *json;

	a->seq = d->seq + 1;
	memcpy(a->epoch, d->epoch, sizeof(a->epoch));
	tg_alert_make_id(job->item.feed ? job->item.feed : "", job->item.id, r->taxonomy,
	    a->alert_id);
	a->published_ms = tg_now_wall_ms();
	a->item = job->item; /* borrowed for encoding */
	tg_result_copy(&a->result, r);
	json = tg_alert_encode(a, &len);
	tg_item_init(&a->item);
	if (json == NULL) {
		tg_err("feed %s: item %s: alert too large to publish; it stays pending",
		    job->item.feed, job->item.id);
		return;
	}
	if (open_batch(d) != 0) {
		free(json);
		return;
	}
	e = &d->batch[d->nbatch];
	tg_alert_join_tags(r, e->tags, sizeof(e->tags));
	if (tg_store_alert_add(d->store, a->seq, a->alert_id, job->feed_id, job->item.id, e->tags,
		a->published_ms, json, len, err, sizeof(err)) != 0) {
		tg_err("store: %s", err);
		free(json);
		if (d->nbatch == 0)
			flush_outbox(d); /* nothing to publish; ends the transaction */
		return;
	}
	d->seq++;
	e->seq = a->seq;
	e->json = json;
	e->len = len;
	e->relevant = r->relevant;
	e->fetched_ms = job->item.fetched_ms;
	d->nbatch++;
	if (d->nbatch == OUTBOX_MAX)
		flush_outbox(d);
}

/* The item took down the worker that held it alone: make the count durable at
 * once, so that a restart carries on from it (failures are rare: one UPDATE). */
static void
on_job_failed(void *arg, struct tg_job *job)
{
	struct tg_daemon *d = arg;
	char err[512];

	tg_warn("dispatch: item %s of feed %s took down its worker (failure %d of %d)",
	    job->item.id, job->item.feed ? job->item.feed : "?", job->failures,
	    d->cfg->max_attempts);
	if (tg_store_item_failed(d->store, job->feed_id, job->item.id, job->failures, err,
		sizeof(err)) != 0) {
		tg_err("store: %s", err);
		store_status(d, err);
	}
}

static void
on_dead_letter(void *arg, struct tg_job *job)
{
	struct tg_daemon *d = arg;
	char err[512], why[128];

	snprintf(why, sizeof(why), "took down %d worker(s)", job->failures);
	if (tg_store_dead_letter(d->store, job->feed_id, job->item.id, job->failures, why, err,
		sizeof(err)) != 0)
		tg_err("store: %s", err);
	d->counters.dead_letters++;
}

/* At start: alerts stored but perhaps never handed to the PUB socket. */
static void
republish_one(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct tg_daemon *d = arg;
	struct tg_alert a;
	char err[256], tags[TG_ALERT_TAGS_MAX];

	tg_alert_init(&a);
	if (tg_alert_decode(json, len, &a, err, sizeof(err)) != 0) {
		tg_err("store: alert %llu is unreadable: %s", (unsigned long long)seq, err);
		return;
	}
	tg_alert_join_tags(&a.result, tags, sizeof(tags));
	if (tg_alert_publish_tags(d->pub, a.result.relevant, tags, json, len) >= 0)
		d->published_seq = seq;
	tg_alert_clear(&a);
}

/* Publish the last sequence number handed out, so that a subscriber that lost
 * the newest alerts notices even when no further alert comes. */
static void
on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tg_daemon *d = arg;
	char json[160], err[512];
	int n = snprintf(json, sizeof(json), "{\"v\":1,\"type\":\"heartbeat\",\"epoch\":\"%s\","
					     "\"seq\":%llu}",
	    d->epoch, (unsigned long long)d->published_seq);

	tg_alert_publish_heartbeat(d->pub, json, (size_t)n);
	/* The store's checkpoint thread cannot log itself: its failures surface here. */
	if (tg_store_checkpoint_error(d->store, err, sizeof(err)) != 0)
		tg_err("%s (the write-ahead log grows until a checkpoint succeeds)", err);
}

/* Forget alerts older than the replay retention. */
static void
on_prune_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tg_daemon *d = arg;
	char err[512];
	int64_t n = tg_store_alerts_prune(d->store,
	    tg_now_wall_ms() - (int64_t)d->cfg->replay_retention * 1000, err, sizeof(err));

	if (n < 0)
		tg_err("store: %s", err);
	else if (n > 0)
		tg_info("replay: %lld alert(s) past the retention removed", (long long)n);
}

static void
on_worker_exit(void *arg, pid_t pid, int status)
{
	struct tg_daemon *d = arg;
	size_t n = tg_dispatch_worker_gone(d->dispatch, (uint32_t)pid);

	if (n)
		tg_warn("dispatch: %zu item(s) of worker pid %d queued again", n, (int)pid);
}

static void
on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tg_daemon *d = arg;
	struct tg_dispatch_stats st;

	tg_dispatch_get_stats(d->dispatch, &st);
	if (st.inflight + st.queued == 0 || tg_now_mono_ms() >= d->stop_deadline_ms) {
		if (st.inflight + st.queued)
			tg_notice("stopping with %zu item(s) not yet classified; they stay pending "
				  "in the store for the next start",
			    st.inflight + st.queued);
		event_base_loopexit(d->base, NULL);
	}
}

/* SIGINT/SIGTERM: stop fetching, give items in flight a bounded time to come
 * back, then leave the loop. A second signal leaves at once. */
static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct tg_daemon *d = arg;
	struct timeval tv = { 0, 20000 };

	if (d->stopping) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	tg_notice("received signal %d, stopping", (int)sig);
	sd_notify(0, "STOPPING=1");
	d->stopping = true;
	d->stop_deadline_ms = tg_now_mono_ms() + SHUTDOWN_GRACE_MS;
	for (size_t i = 0; i < d->nfeeds; i++)
		evtimer_del(d->feeds[i]->timer);
	d->drain_timer = event_new(d->base, -1, EV_PERSIST, on_drain_timer, d);
	if (d->drain_timer == NULL || event_add(d->drain_timer, &tv) != 0)
		event_base_loopexit(d->base, NULL);
}

static void
on_status_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tg_daemon *d = arg;
	struct tg_dispatch_stats st;

	tg_dispatch_get_stats(d->dispatch, &st);
	sd_notifyf(0, "STATUS=%zu feeds, %zu queued, %zu in flight, %zu workers, %llu alerts",
	    d->nfeeds, st.queued, st.inflight, st.workers, (unsigned long long)d->counters.alerts);
}

static void
on_watchdog_timer(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* Tell systemd we are ready, and keep its watchdog fed from the loop. */
static int
start_notify(struct tg_daemon *d, char *err, size_t errlen)
{
	struct timeval status_tv = { STATUS_EVERY_S, 0 };
	uint64_t usec = 0;

	d->status_timer = event_new(d->base, -1, EV_PERSIST, on_status_timer, d);
	if (d->status_timer == NULL || event_add(d->status_timer, &status_tv) != 0) {
		snprintf(err, errlen, "cannot create the status timer");
		return -1;
	}
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		struct timeval tv = { (time_t)(usec / 2 / 1000000), (suseconds_t)(usec / 2 % 1000000) };

		d->watchdog_timer = event_new(d->base, -1, EV_PERSIST, on_watchdog_timer, d);
		if (d->watchdog_timer == NULL || event_add(d->watchdog_timer, &tv) != 0) {
			snprintf(err, errlen, "cannot create the watchdog timer");
			return -1;
		}
		sd_notify(0, "WATCHDOG=1");
	}
	on_status_timer(-1, 0, d);
	sd_notify(0, "READY=1");
	return 0;
}

/* A pending item from the store to the queue. One that took down workers in an
 * earlier run is a suspect still: it goes alone to an idle worker and its count
 * carries on towards max_attempts. */
static void
queue_pending(void *arg, int64_t feed_id, const struct tg_item *it, int failures)
{
	struct tg_daemon *d = arg;
	struct tg_item copy;
	struct tg_job *job;

	tg_item_copy(&copy, it);
	if (copy.feed == NULL) {
		/* The store keeps the feed's row id; alerts carry its configured name. */
		const char *name = "unknown";
		for (size_t i = 0; i < d->nfeeds; i++)
			if (d->feeds[i]->store_id == feed_id)
				name = d->feeds[i]->conf.name;
		copy.feed = tg_strdup(name);
	}
	job = tg_job_take(feed_id, &copy);
	if (failures > 0) {
		job->failures = failures;
		job->suspect = true;
		/* At max_attempts already (the setting was lowered), the dispatcher
		 * dead-letters it at once and says so itself. */
		if (failures < d->cfg->max_attempts)
			tg_notice("dispatch: item %s of feed %s took down %d worker(s) before; it "
				  "is sent alone",
			    job->item.id, job->item.feed, failures);
	}
	tg_dispatch_submit(d->dispatch, job);
}

/* Path of tigris-worker: the configured one, else beside our own executable. */
static char *
find_worker_program(const struct tg_config *cfg, const char *self_path)
{
	char buf[4096], *dir;
	char path[4200];
	ssize_t n;

	if (cfg->worker_program)
		return tg_strdup(cfg->worker_program);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0) {
		snprintf(buf, sizeof(buf), "%s", self_path ? self_path : "tigrisd");
		n = (ssize_t)strlen(buf);
	}
	buf[n] = '\0';
	dir = dirname(buf);
	snprintf(path, sizeof(path), "%s/tigris-worker", dir);
	return tg_strdup(path);
}

static void
feed_free(struct feed_run *fr)
{
	if (fr == NULL)
		return;
	if (fr->timer)
		event_free(fr->timer);
	free(fr->conf.url);
	free(fr->conf.name);
	free(fr->etag);
	free(fr->moved_url);
	free(fr->last_modified);
	free(fr->last_error);
	free(fr);
}

/* A run-time feed for conf, with its validators and failure count from the store. */
static struct feed_run *
feed_new(struct tg_daemon *d, const struct tg_feed_conf *conf, char *err, size_t errlen)
{
	struct feed_run *fr = tg_calloc(1, sizeof(*fr));
	struct tg_store_feed sf;
	char serr[512];

	memset(&sf, 0, sizeof(sf));
	fr->d = d;
	fr->conf.url = tg_strdup(conf->url);
	fr->conf.name = tg_strdup(conf->name);
	fr->conf.interval = conf->interval;
	fr->conf.min_interval = conf->min_interval;
	fr->conf.max_interval = conf->max_interval;
	tg_schedule_conf_make(&fr->sconf, d->cfg, conf);
	if (tg_store_feed_get(d->store, conf->url, &sf, serr, sizeof(serr)) != 0) {
		snprintf(err, errlen, "feed %s: %s", conf->name, serr);
		feed_free(fr);
		return NULL;
	}
	fr->store_id = sf.id;
	fr->etag = sf.etag;
	fr->last_modified = sf.last_modified;
	fr->errors = sf.error_count;
	tg_schedule_state_init(&fr->sched, sf.last_success_ms);
	fr->next_fetch_ms = sf.next_fetch_ms;
	fr->last_success_ms = sf.last_success_ms;
	fr->last_error = sf.last_error;
	fr->moved_url = sf.moved_url; /* a permanent redirect seen by an earlier run */
	sf.etag = sf.last_modified = sf.last_error = sf.moved_url = NULL;
	tg_store_feed_clear(&sf);
	fr->timer = evtimer_new(d->base, on_feed_timer, fr);
	if (fr->timer == NULL) {
		snprintf(err, errlen, "cannot create feed timers");
		feed_free(fr);
		return NULL;
	}
	return fr;
}

/* First fetch of a feed: soon (spread over a moment so that many feeds do not
 * start at once), or when the last run planned it, but never later than one
 * (possibly shortened) interval from now. */
static void
feed_start(struct feed_run *fr)
{
	struct tg_daemon *d = fr->d;
	int64_t delay = (int64_t)(rng_next(d) % FIRST_FETCH_SPREAD_MS);
	int64_t now = tg_now_wall_ms();

	if (fr->next_fetch_ms > now) {
		int64_t wait = fr->next_fetch_ms - now;
		if (wait > (int64_t)fr->conf.interval * 1000)
			wait = (int64_t)fr->conf.interval * 1000;
		delay += wait;
	}
	fr->next_fetch_ms = now + delay;
	schedule(fr, delay);
}

static int
setup_feeds(struct tg_daemon *d, char *err, size_t errlen)
{
	d->nfeeds = d->cfg->nfeeds;
	d->feeds = tg_calloc(d->nfeeds ? d->nfeeds : 1, sizeof(*d->feeds));
	for (size_t i = 0; i < d->nfeeds; i++) {
		d->feeds[i] = feed_new(d, &d->cfg->feeds[i], err, errlen);
		if (d->feeds[i] == NULL)
			return -1;
	}
	return 0;
}

static struct feed_run *
find_feed(struct feed_run **feeds, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++)
		if (feeds[i] && strcmp(feeds[i]->conf.url, url) == 0)
			return feeds[i];
	return NULL;
}

static bool
str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Keys read only at start: a reload that changes them says a restart is needed. */
static void
warn_restart_keys(const struct tg_config *old, const struct tg_config *nw)
{
	const struct {
		const char *key;
		bool changed;
	} keys[] = {
		{ "state_dir", str_differs(old->state_dir, nw->state_dir) },
		{ "publish", str_differs(old->publish, nw->publish) },
		{ "worker_endpoint", str_differs(old->worker_endpoint, nw->worker_endpoint) },
		{ "worker_program", str_differs(old->worker_program, nw->worker_program) },
		{ "taxonomy", str_differs(old->taxonomy, nw->taxonomy) },
		{ "http_listen", str_differs(old->http_listen, nw->http_listen) },
		{ "workers", old->workers != nw->workers },
		{ "worker_credit", old->worker_credit != nw->worker_credit },
		{ "allow_file_urls", old->allow_file_urls != nw->allow_file_urls },
		{ "curve_secret_key", str_differs(old->curve_secret_key, nw->curve_secret_key) },
		{ "curve_clients", !tg_curve_clients_same(&old->curve_clients, &nw->curve_clients) },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].changed)
			tg_warn("reload: \"%s\" changed; it takes effect at the next restart",
			    keys[i].key);
}

/* SIGHUP: read the config and the taxonomy again. Either is rejected whole (with
 * its errors logged) and the running one kept; otherwise feeds are added,
 * removed or changed in place and the local workers reload their taxonomy.
 * Items queued or in flight are untouched, so none is lost. */
static void
reload(struct tg_daemon *d)
{
	static char err[65536];
	struct tg_config *nc = NULL;
	struct tg_classifier *clf;
	struct feed_run **nfeeds;
	size_t added = 0, removed = 0, changed = 0;
	enum tg_log_level level;

	tg_notice("reload: reading %s", d->cfg->path);
	if (tg_config_load(d->cfg->path, &nc, err, sizeof(err)) != 0) {
		tg_err("reload: config rejected, the running one stays:\n%s", err);
		return;
	}
	clf = tg_classifier_load(nc->taxonomy, err, sizeof(err));
	if (clf == NULL) {
		tg_err("reload: taxonomy %s rejected, the running config stays:\n%s", nc->taxonomy,
		    err);
		tg_config_free(nc);
		return;
	}
	tg_classifier_free(clf);
	warn_restart_keys(d->cfg, nc);

	nfeeds = tg_calloc(nc->nfeeds ? nc->nfeeds : 1, sizeof(*nfeeds));
	for (size_t i = 0; i < nc->nfeeds; i++) {
		const struct tg_feed_conf *c = &nc->feeds[i];
		struct feed_run *fr = find_feed(d->feeds, d->nfeeds, c->url);

		if (fr) {
			/* Kept: take it over, with its new name and interval. */
			for (size_t j = 0; j < d->nfeeds; j++)
				if (d->feeds[j] == fr)
					d->feeds[j] = NULL;
			/* interval, bounds, backoff_cap and jitter_pct may have changed. */
			tg_schedule_conf_make(&fr->sconf, nc, c);
			if (fr->conf.interval != c->interval || fr->conf.min_interval != c->min_interval ||
			    fr->conf.max_interval != c->max_interval || strcmp(fr->conf.name, c->name)) {
				changed++;
				tg_str_set(&fr->conf.name, c->name);
				fr->conf.min_interval = c->min_interval;
				fr->conf.max_interval = c->max_interval;
				if (fr->conf.interval != c->interval) {
					fr->conf.interval = c->interval;
					if (!fr->busy) {
						evtimer_del(fr->timer);
						schedule(fr, next_delay_ms(d, fr, NULL));
					}
				}
			}
			nfeeds[i] = fr;
			continue;
		}
		nfeeds[i] = feed_new(d, c, err, sizeof(err));
		if (nfeeds[i] == NULL) {
			tg_err("reload: %s; feed %s not added", err, c->name);
			continue;
		}
		added++;
		feed_start(nfeeds[i]);
	}
	for (size_t j = 0; j < d->nfeeds; j++) {
		struct feed_run *fr = d->feeds[j];

		if (fr == NULL)
			continue;
		removed++;
		tg_info("reload: feed %s removed", fr->conf.name);
		if (fr->busy)
			tg_fetch_cancel(d->fetcher, fr); /* queued or running: it stops now */
		feed_free(fr);
	}
	/* Compact: feeds that could not be added leave holes. */
	d->nfeeds = 0;
	for (size_t i = 0; i < nc->nfeeds; i++)
		if (nfeeds[i])
			nfeeds[d->nfeeds++] = nfeeds[i];
	free(d->feeds);
	d->feeds = nfeeds;
	d->cfg->jitter_pct = nc->jitter_pct;
	{
		struct tg_fetch_opts fo;

		tg_fetch_opts_from_config(&fo, nc);
		if (tg_fetcher_configure(d->fetcher, &fo, err, sizeof(err)) != 0)
			tg_err("reload: fetch options kept: %s", err);
	}
	if (tg_log_parse_level(nc->log_level, &level) == 0)
		tg_log_set_level(level);
	/* Swap configs, keeping the start-only values the running parts use. */
	{
		struct tg_config *old = d->cfg;
		tg_str_set(&nc->state_dir, old->state_dir);
		tg_str_set(&nc->publish, old->publish);
		tg_str_set(&nc->worker_endpoint, old->worker_endpoint);
		tg_str_set(&nc->taxonomy, old->taxonomy);
		tg_str_set(&nc->http_listen, old->http_listen);
		nc->workers = old->workers;
		d->cfg = nc;
		tg_config_free(old);
	}
	tg_supervisor_signal(d->super, SIGHUP);
	tg_notice("reload: done: %zu feed(s): %zu added, %zu removed, %zu changed; workers "
		  "told to reload the taxonomy",
	    d->nfeeds, added, removed, changed);
}

static void
on_hup_signal(evutil_socket_t sig, short what, void *arg)
{
	struct tg_daemon *d = arg;

	if (!d->stopping)
		reload(d);
}

/* GET /metrics: the gauges read now, then every metric. */
static void
http_metrics(void *arg, struct tg_buf *out)
{
	struct tg_daemon *d = arg;
	struct tg_dispatch_stats st;
	struct tg_metrics_state ms;

	tg_dispatch_get_stats(d->dispatch, &st);
	memset(&ms, 0, sizeof(ms));
	ms.queued = st.queued;
	ms.inflight = st.inflight;
	ms.workers = st.workers;
	ms.redelivered = st.redelivered;
	ms.rejected = st.rejected;
	ms.dead_letters = st.dead;
	tg_store_checkpoint_stats(d->store, &ms.checkpoints, &ms.checkpoint_failures);
	if (d->curve) {
		ms.curve = true;
		tg_curve_server_counts(d->curve, &ms.curve_admitted, &ms.curve_refused,
		    &ms.curve_failed);
	}
	for (size_t i = 0; i < d->nfeeds; i++)
		tg_metrics_state_add_feed(&ms, d->feeds[i]->errors);
	tg_metrics_set_state(d->metrics, &ms);
	if (tg_metrics_render(d->metrics, out) != 0)
		tg_warn("http: /metrics truncated at %zu bytes", out->len);
}

/* GET /healthz: the loop answers (so it runs), the store writes, a worker is there. */
static int
http_health(void *arg, char *reason, size_t len)
{
	struct tg_daemon *d = arg;
	struct tg_dispatch_stats st;

	if (d->stopping) {
		snprintf(reason, len, "stopping");
		return -1;
	}
	if (d->store_error[0]) {
		snprintf(reason, len, "store error: %s", d->store_error);
		return -1;
	}
	tg_dispatch_get_stats(d->dispatch, &st);
	if (st.workers == 0) {
		snprintf(reason, len, "no workers connected");
		return -1;
	}
	return 0;
}

/* GET /feeds: every configured feed's status. */
static json_t *
http_feeds(void *arg)
{
	struct tg_daemon *d = arg;
	json_t *arr = json_array();

	for (size_t i = 0; i < d->nfeeds; i++) {
		const struct feed_run *fr = d->feeds[i];
		struct tg_httpd_feed_status st = {
			.name = fr->conf.name,
			.url = fr->conf.url,
			.error_count = fr->errors,
			.last_success_ms = fr->last_success_ms,
			.last_error = fr->last_error,
			.next_fetch_ms = fr->busy ? 0 : fr->next_fetch_ms,
		};
		json_array_append_new(arr, tg_httpd_feed_json(&st));
	}
	return arr;
}

struct tg_daemon *
tg_daemon_new(struct tg_config *cfg, const char *self_path, char *err, size_t errlen)
{
	struct tg_daemon *d = tg_calloc(1, sizeof(*d));
	struct tg_fetch_opts fo;
	int hwm = cfg->publish_hwm, linger = 1000;
	char credit[16];

	d->cfg = cfg;
	if (getrandom(&d->rng, sizeof(d->rng), 0) != sizeof(d->rng) || d->rng == 0)
		d->rng = (uint64_t)tg_now_wall_ms() | 1;
	tg_feed_limits_default(&d->limits);
	d->limits.max_items = (size_t)cfg->max_items_per_feed;
	d->limits.max_bytes = (size_t)cfg->max_body_bytes;

	d->base = event_base_new();
	d->zctx = zmq_ctx_new();
	if (d->base == NULL || d->zctx == NULL) {
		snprintf(err, errlen, "cannot create the event loop or the ZeroMQ context");
		goto fail;
	}
	d->store = tg_store_open(cfg->state_dir, err, errlen);
	if (d->store == NULL)
		goto fail;
	snprintf(d->epoch, sizeof(d->epoch), "%s", tg_store_epoch(d->store));
	d->seq = tg_store_max_seq(d->store);

	if (cfg->curve_secret_key) { /* the ZAP handler, before any socket binds */
		d->curve = tg_curve_server_new(d->base, d->zctx, cfg->curve_secret_key,
		    (const char *const *)cfg->curve_clients.v, cfg->curve_clients.n, err, errlen);
		if (d->curve == NULL)
			goto fail;
	}
	d->pub = zmq_socket(d->zctx, ZMQ_PUB);
	if (d->pub == NULL) {
		snprintf(err, errlen, "cannot create the PUB socket");
		goto fail;
	}
	zmq_setsockopt(d->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(d->pub, ZMQ_LINGER, &linger, sizeof(linger));
	if (tg_curve_server_secure(d->curve, d->pub, err, errlen) != 0)
		goto fail;
	if (zmq_bind(d->pub, cfg->publish) != 0) {
		snprintf(err, errlen, "cannot bind publish endpoint %s: %s", cfg->publish,
		    zmq_strerror(zmq_errno()));
		goto fail;
	}
	d->dispatch = tg_dispatch_new(d->base, d->zctx, cfg->worker_endpoint, on_result, d, err,
	    errlen);
	if (d->dispatch == NULL)
		goto fail;
	tg_dispatch_set_dead_letter(d->dispatch, cfg->max_attempts, on_dead_letter);
	tg_dispatch_set_failed(d->dispatch, on_job_failed);
	if (cfg->replay) {
		d->replay = tg_replay_new(d->base, d->zctx, cfg->replay, d->store, d->epoch, err,
		    errlen);
		if (d->replay == NULL)
			goto fail;
	}
	d->batch = tg_calloc(OUTBOX_MAX, sizeof(*d->batch));
	d->flush_ev = event_new(d->base, -1, 0, on_flush, d);
	d->prune_timer = event_new(d->base, -1, EV_PERSIST, on_prune_timer, d);
	d->heartbeat_timer = event_new(d->base, -1, EV_PERSIST, on_heartbeat_timer, d);
	d->refill_timer = event_new(d->base, -1, EV_PERSIST, on_refill_timer, d);
	if (d->flush_ev == NULL || d->prune_timer == NULL || d->heartbeat_timer == NULL ||
	    d->refill_timer == NULL) {
		snprintf(err, errlen, "cannot create the outbox events");
		goto fail;
	}
	d->published_seq = d->recorded_published_seq = tg_store_published_seq(d->store);
	d->metrics = tg_metrics_new();
	if (cfg->http_listen && cfg->http_listen[0]) {
		struct tg_httpd_source src = { .arg = d, .metrics = http_metrics,
			.health = http_health, .feeds = http_feeds };

		d->httpd = tg_httpd_new(d->base, cfg->http_listen, &src, err, errlen);
		if (d->httpd == NULL)
			goto fail;
	}

	tg_fetch_opts_from_config(&fo, cfg);
	d->fetcher = tg_fetcher_new(d->base, &fo, err, errlen);
	if (d->fetcher == NULL)
		goto fail;

	d->worker_program = find_worker_program(cfg, self_path);
	snprintf(credit, sizeof(credit), "%d", cfg->worker_credit);
	{
		char *argv[] = { d->worker_program, "--connect", cfg->worker_endpoint,
			"--taxonomy", cfg->taxonomy, "--credit", credit, "--log-level",
			cfg->log_level, NULL, NULL, NULL, NULL, NULL };
		size_t na = 0;

		while (argv[na])
			na++;
		if (d->curve) { /* local workers use the daemon's own key pair */
			argv[na++] = "--curve-server-key";
			argv[na++] = (char *)tg_curve_server_public(d->curve);
			argv[na++] = "--curve-key";
			argv[na++] = cfg->curve_secret_key;
		}
		d->super = tg_supervisor_new(d->base, (size_t)cfg->workers, argv, on_worker_exit,
		    d, err, errlen);
	}
	if (d->super == NULL)
		goto fail;
	if (setup_feeds(d, err, errlen) != 0)
		goto fail;
	d->sigint = evsignal_new(d->base, SIGINT, on_stop_signal, d);
	d->sigterm = evsignal_new(d->base, SIGTERM, on_stop_signal, d);
	d->sighup = evsignal_new(d->base, SIGHUP, on_hup_signal, d);
	if (d->sigint == NULL || d->sigterm == NULL || d->sighup == NULL ||
	    evsignal_add(d->sigint, NULL) != 0 || evsignal_add(d->sigterm, NULL) != 0 ||
	    evsignal_add(d->sighup, NULL) != 0) {
		snprintf(err, errlen, "cannot watch SIGINT/SIGTERM/SIGHUP");
		goto fail;
	}
	return d;
fail:
	tg_daemon_free(d);
	return NULL;
}

int
tg_daemon_run(struct tg_daemon *d, char *err, size_t errlen)
{
	char serr[512];
	int pending;

	signal(SIGPIPE, SIG_IGN);
	if (tg_supervisor_start(d->super, err, errlen) != 0)
		return -1;
	{
		/* Alerts stored by the last run but perhaps never published. */
		int n = tg_store_alerts_range(d->store, d->published_seq + 1, 0, NULL, 0,
		    republish_one, d, serr, sizeof(serr));
		if (n < 0)
			tg_err("store: cannot read unpublished alerts: %s", serr);
		else if (n > 0)
			tg_notice("%d stored alert(s) from the last run published again", n);
	}
	on_prune_timer(-1, 0, d);
	{
		struct timeval tv = { PRUNE_EVERY_S, 0 };
		struct timeval hb = { HEARTBEAT_MS / 1000, (HEARTBEAT_MS % 1000) * 1000 };
		event_add(d->prune_timer, &tv);
		event_add(d->heartbeat_timer, &hb);
	}
	/* Pending items of the last run: through the refill path, in chunks that fit
	 * the queue, so that a long backlog never has to fit in memory. */
	d->spilling = true;
	d->spill_cursor = 0;
	on_refill_timer(-1, 0, d);
	pending = (int)tg_dispatch_queued(d->dispatch);
	if (pending > 0) {
		tg_notice("pending item(s) from the last run queued again (%d now, the rest as the "
			  "queue drains)",
		    pending);
		d->spill_told = d->spilling;
	}
	{
		struct timeval tv = { 0, 50000 };
		event_add(d->refill_timer, &tv);
	}
	for (size_t i = 0; i < d->nfeeds; i++)
		feed_start(d->feeds[i]);
	if (start_notify(d, err, errlen) != 0)
		return -1;
	tg_notice("running: %zu feed(s), %d worker(s), publishing on %s, workers on %s",
	    d->nfeeds, d->cfg->workers, d->cfg->publish, d->cfg->worker_endpoint);
	if (d->httpd)
		tg_notice("http: /metrics, /healthz and /feeds on %s (port %d)", d->cfg->http_listen,
		    tg_httpd_port(d->httpd));
	if (event_base_dispatch(d->base) < 0) {
		snprintf(err, errlen, "the event loop failed");
		return -1;
	}
	return 0;
}

void
tg_daemon_free(struct tg_daemon *d)
{
	if (d == NULL)
		return;
	tg_httpd_free(d->httpd);
	d->httpd = NULL;
	if (d->store && d->batch) {
		char err[512];

		flush_outbox(d);
		if (d->published_seq > d->recorded_published_seq &&
		    tg_store_set_published_seq(d->store, d->published_seq, err, sizeof(err)) != 0)
			tg_err("store: %s", err);
	}
	free(d->batch);
	if (d->flush_ev)
		event_free(d->flush_ev);
	if (d->prune_timer)
		event_free(d->prune_timer);
	if (d->heartbeat_timer)
		event_free(d->heartbeat_timer);
	if (d->refill_timer)
		event_free(d->refill_timer);
	tg_replay_free(d->replay);
	tg_supervisor_free(d->super, WORKER_STOP_GRACE_MS);
	for (size_t i = 0; i < d->nfeeds; i++)
		feed_free(d->feeds[i]);
	free(d->feeds);
	tg_fetcher_free(d->fetcher);
	tg_dispatch_free(d->dispatch);
	if (d->pub)
		zmq_close(d->pub);
	tg_curve_server_free(d->curve); /* after the sockets it secures */
	if (d->zctx)
		zmq_ctx_term(d->zctx);
	if (d->sigint)
		event_free(d->sigint);
	if (d->sigterm)
		event_free(d->sigterm);
	if (d->sighup)
		event_free(d->sighup);
	if (d->status_timer)
		event_free(d->status_timer);
	if (d->watchdog_timer)
		event_free(d->watchdog_timer);
	if (d->drain_timer)
		event_free(d->drain_timer);
	if (d->base)
		event_base_free(d->base);
	tg_store_close(d->store);
	tg_metrics_free(d->metrics);
	tg_config_free(d->cfg);
	free(d->worker_program);
	free(d);
}

void
tg_daemon_get_counters(const struct tg_daemon *d, struct tg_daemon_counters *out)
{
	*out = d->counters;
}

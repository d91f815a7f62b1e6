/*
 * Dispatch: hands items to workers over a ZeroMQ ROUTER socket and collects their
 * results. Workers (DEALER sockets, started by the daemon or connecting from
 * elsewhere) announce themselves with HELLO and a credit; the dispatcher sends
 * each item to the worker with the most free credit and tracks every item in
 * flight at the worker that holds it, so that a result is the acknowledgement
 * and the items of a worker that is gone can be sent again.
 */
#ifndef TG_DISPATCH_H
#define TG_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/item.h"
#include "../proto/result.h"

struct event_base;
struct tg_dispatch;

/* One item on its way through the workers. Allocated by the caller with
 * tg_job_take, owned by the dispatcher from tg_dispatch_submit on. */
struct tg_job {
	uint64_t delivery;   /* set by the dispatcher */
	int64_t feed_id;     /* store row of the feed */
	struct tg_item item; /* owned */
	int64_t queued_ms;   /* monotonic, when first submitted */
	int attempts;        /* times sent to a worker */
	int failures;        /* times its worker died, hung or misbehaved holding it alone */
	bool suspect;        /* its worker failed once: sent again alone to an idle worker */
	/* dispatcher bookkeeping */
	struct tg_job *next, *prev; /* queue or the holding worker's list */
	struct tg_job *hnext;       /* in-flight hash chain */
	struct tg_worker_peer *peer;
};

/* Called for each result; job is freed by the dispatcher after it returns. */
typedef void (*tg_dispatch_result_cb)(void *arg, struct tg_job *job, const struct tg_result *r);

/* Called for a job that took down max_attempts workers; the dispatcher frees it
 * after the call. */
typedef void (*tg_dispatch_dead_cb)(void *arg, struct tg_job *job);

/* Called when a job's failure count grows (job->failures is the new count), before
 * it is queued again or given up; the job stays the dispatcher's. */
typedef void (*tg_dispatch_failed_cb)(void *arg, struct tg_job *job);

struct tg_dispatch_stats {
	size_t queued;
	size_t inflight;
	size_t workers;
	uint64_t results;
	uint64_t redelivered;
	uint64_t rejected; /* invalid messages received */
	uint64_t dead;     /* jobs given up as poison */
};

/* New job that takes over the contents of *it (which is left zeroed). */
struct tg_job *tg_job_take(int64_t feed_id, struct tg_item *it);

/* Free a job and its item; NULL is fine. */
void tg_job_free(struct tg_job *job);

/* Bind a ROUTER to endpoint on zctx and watch it from base. cb gets every result.
 * Returns NULL with err on failure (e.g. the endpoint cannot be bound). */
struct tg_dispatch *tg_dispatch_new(struct event_base *base, void *zctx, const char *endpoint,
    tg_dispatch_result_cb cb, void *arg, char *err, size_t errlen);

/* After a worker fails while holding a job, the job is sent again alone to an idle
 * worker (so that one poison item cannot take innocent ones down with it); after
 * max_attempts failures it goes to cb instead. Default: 3, and dead jobs freed. */
void tg_dispatch_set_dead_letter(struct tg_dispatch *d, int max_attempts, tg_dispatch_dead_cb cb);

/* Have cb told of every failure counted against a job (default: nobody), so that
 * the count can outlive the process. A job submitted with failures > 0 and suspect
 * set carries on from that count; one submitted with failures >= max_attempts is
 * given up at once. */
void tg_dispatch_set_failed(struct tg_dispatch *d, tg_dispatch_failed_cb cb);

/* Close the socket, free every queued and in-flight job; NULL is fine. */
void tg_dispatch_free(struct tg_dispatch *d);

/* Queue a job (ownership moves to the dispatcher) and send what workers can take. */
void tg_dispatch_submit(struct tg_dispatch *d, struct tg_job *job);

/* The worker process pid is gone: forget it and queue its in-flight items again.
 * Returns how many items were queued again. */
size_t tg_dispatch_worker_gone(struct tg_dispatch *d, uint32_t pid);

/* Jobs waiting for a worker. */
size_t tg_dispatch_queued(const struct tg_dispatch *d);

/* Current figures. */
void tg_dispatch_get_stats(const struct tg_dispatch *d, struct tg_dispatch_stats *out);

#endif

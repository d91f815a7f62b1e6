/*
 * The daemon's side of the worker hop: a ROUTER socket watched through ZMQ_FD,
 * a FIFO of jobs waiting for credit, and a hash of jobs in flight keyed by
 * delivery id. See dispatch.h.
 */
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../proto/control.h"
#include "curve.h"
#include "dispatch.h"

#define HASH_BUCKETS 4096
#define PEER_ID_MAX 255
#define PEER_SILENCE_MS 2500 /* a worker says HELLO every second: gone after ~3 missed */
#define TICK_MS 250           /* how often silence is checked */
#define HEARTBEAT_EVERY_MS 1000 /* the daemon's heartbeat to each worker */
#define MAX_MSG_BYTES (1u << 20)
#define TRANSPORT_MAX_BYTES (4 << 20)

struct tg_worker_peer {
	unsigned char id[PEER_ID_MAX];
	size_t idlen;
	uint32_t pid;
	uint32_t credit;
	uint32_t inflight;
	int64_t last_seen_ms;
	bool solo;           /* holds a suspect job: gets nothing else until it answers */
	struct tg_job *jobs; /* in flight here */
	struct tg_worker_peer *next;
};

struct tg_dispatch {
	struct event_base *base;
	void *sock;
	struct event *ev;
	struct event *tick;
	tg_dispatch_result_cb cb;
	void *arg;
	struct tg_job *qhead, *qtail;
	struct tg_job *shead, *stail; /* suspects: jobs whose worker failed */
	struct tg_job *hash[HASH_BUCKETS];
	int max_attempts;
	tg_dispatch_dead_cb dead_cb;
	tg_dispatch_failed_cb failed_cb;
	struct tg_worker_peer *peers;
	uint64_t next_delivery;
	bool draining;
	int64_t last_heartbeat_ms;
	struct tg_dispatch_stats stats;
	struct tg_result result; /* scratch for decoding */
};

static void drain(struct tg_dispatch *d);
static void pump(struct tg_dispatch *d);

struct tg_job *
tg_job_take(int64_t feed_id, struct tg_item *it)
{
	struct tg_job *job = tg_calloc(1, sizeof(*job));

	job->feed_id = feed_id;
	job->item = *it;
	tg_item_init(it);
	job->queued_ms = tg_now_mono_ms();
	return job;
}

void
tg_job_free(struct tg_job *job)
{
	if (job == NULL)
		return;
	tg_item_clear(&job->item);
	free(job);
}

static void
list_push(struct tg_job **head, struct tg_job **tail, struct tg_job *job, bool front)
{
	job->peer = NULL;
	job->prev = NULL;
	job->next = NULL;
	if (*head == NULL) {
		*head = *tail = job;
	} else if (front) {
		job->next = *head;
		*head = job;
	} else {
		(*tail)->next = job;
		*tail = job;
	}
}

static struct tg_job *
list_pop(struct tg_job **head, struct tg_job **tail)
{
	struct tg_job *job = *head;

	if (job == NULL)
		return NULL;
	*head = job->next;
	if (*head == NULL)
		*tail = NULL;
	job->next = NULL;
	return job;
}

static void
queue_push(struct tg_dispatch *d, struct tg_job *job, bool front)
{
	if (job->suspect)
		list_push(&d->shead, &d->stail, job, false);
	else
		list_push(&d->qhead, &d->qtail, job, front);
	d->stats.queued++;
}

static struct tg_job *
queue_pop(struct tg_dispatch *d)
{
	struct tg_job *job = list_pop(&d->qhead, &d->qtail);

	if (job == NULL)
		job = list_pop(&d->shead, &d->stail);
	if (job)
		d->stats.queued--;
	return job;
}

static void
hash_put(struct tg_dispatch *d, struct tg_job *job)
{
	size_t b = job->delivery % HASH_BUCKETS;

	job->hnext = d->hash[b];
	d->hash[b] = job;
	d->stats.inflight++;
}

/* Remove and return the job with this delivery id, or NULL. */
static struct tg_job *
hash_take(struct tg_dispatch *d, uint64_t delivery)
{
	struct tg_job **pp = &d->hash[delivery % HASH_BUCKETS];

	for (; *pp; pp = &(*pp)->hnext) {
		struct tg_job *job = *pp;
		if (job->delivery == delivery) {
			*pp = job->hnext;
			job->hnext = NULL;
			d->stats.inflight--;
			return job;
		}
	}
	return NULL;
}

static void
peer_attach(struct tg_worker_peer *p, struct tg_job *job)
{
	job->peer = p;
	job->prev = NULL;
	job->next = p->jobs;
	if (p->jobs)
		p->jobs->prev = job;
	p->jobs = job;
	p->inflight++;
}

static void
peer_detach(struct tg_job *job)
{
	struct tg_worker_peer *p = job->peer;

	if (p == NULL)
		return;
	if (job->prev)
		job->prev->next = job->next;
	else
		p->jobs = job->next;
	if (job->next)
		job->next->prev = job->prev;
	job->next = job->prev = NULL;
	job->peer = NULL;
	p->inflight--;
}

static struct tg_worker_peer *
peer_find(struct tg_dispatch *d, const void *id, size_t idlen)
{
	for (struct tg_worker_peer *p = d->peers; p; p = p->next)
		if (p->idlen == idlen && memcmp(p->id, id, idlen) == 0)
			return p;
	return NULL;
}

/* The job took down max_attempts workers: hand it to the dead-letter callback and
 * free it. */
static void
give_up(struct tg_dispatch *d, struct tg_job *job)
{
	tg_err("dispatch: item %s of feed %s took down %d worker(s); dead-lettered",
	    job->item.id, job->item.feed ? job->item.feed : "?", job->failures);
	d->stats.dead++;
	if (d->dead_cb)
		d->dead_cb(d->arg, job);
	tg_job_free(job);
}

/* A job's worker failed while holding it: queue it as a suspect, to be sent
 * again alone. When the worker held it alone, the job is what killed it: after
 * max_attempts such failures it is given up. */
static void
job_failed(struct tg_dispatch *d, struct tg_job *job, bool alone)
{
	job->suspect = true;
	if (alone) {
		job->failures++;
		if (d->failed_cb)
			d->failed_cb(d->arg, job);
	}
	if (job->failures >= d->max_attempts) {
		give_up(d, job);
		return;
	}
	queue_push(d, job, true);
}

/* Forget peer p; its jobs are queued again as suspects. Returns how many. */
static size_t
peer_drop(struct tg_dispatch *d, struct tg_worker_peer *p)
{
	struct tg_worker_peer **pp;
	bool alone = p->inflight == 1;
	size_t n = 0;

	while (p->jobs) {
		struct tg_job *job = p->jobs;
		peer_detach(job);
		hash_take(d, job->delivery);
		job_failed(d, job, alone);
		n++;
	}
	for (pp = &d->peers; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	d->stats.workers--;
	d->stats.redelivered += n;
	free(p);
	return n;
}

static void
handle_hello(struct tg_dispatch *d, const void *id, size_t idlen, const struct tg_wire_msg *m)
{
	struct tg_hello h;
	struct tg_worker_peer *p;
	char err[256];
	if (tg_hello_decode(m, 0, &h, err, sizeof(err)) != 0 || idlen == 0 ||
	    idlen > PEER_ID_MAX) {
		tg_warn("dispatch: rejected HELLO: %s", idlen ? err : "empty identity");
		d->stats.rejected++;
		return;
	}
	p = peer_find(d, id, idlen);
	if (p == NULL) {
		p = tg_calloc(1, sizeof(*p));
		memcpy(p->id, id, idlen);
		p->idlen = idlen;
		p->next = d->peers;
		d->peers = p;
		d->stats.workers++;
		tg_info("dispatch: worker pid %u joined with credit %u", h.pid, h.credit);
	}
	p->pid = h.pid;
	p->credit = h.credit;
	p->last_seen_ms = tg_now_mono_ms();
}

static void
handle_result(struct tg_dispatch *d, const void *id, size_t idlen, const struct tg_wire_msg *m)
{
	uint64_t delivery;
	struct tg_job *job;
	struct tg_worker_peer *p;
	char err[256];

	if (tg_result_decode(m, 0, &delivery, &d->result, err, sizeof(err)) != 0) {
		tg_warn("dispatch: rejected RESULT: %s", err);
		d->stats.rejected++;
		return;
	}
	p = peer_find(d, id, idlen);
	if (p)
		p->last_seen_ms = tg_now_mono_ms();
	job = hash_take(d, delivery);
	if (job == NULL) {
		/* A late answer for an item already sent again elsewhere. */
		tg_debug("dispatch: result for unknown delivery %llu ignored",
		    (unsigned long long)delivery);
		return;
	}
	if (job->peer)
		job->peer->solo = false;
	peer_detach(job);
	d->stats.results++;
	d->cb(d->arg, job, &d->result);
	tg_job_free(job);
}

static void
handle(struct tg_dispatch *d, const void *id, size_t idlen, const struct tg_wire_msg *m)
{
	char err[256];
	int type;

	if (m->n < 1) {
		tg_warn("dispatch: rejected a message of %zu frame(s)", m->n);
		d->stats.rejected++;
		return;
	}
	type = tg_wire_check_header(m, 0, err, sizeof(err));
	switch (type) {
	case TG_WIRE_HELLO:
		handle_hello(d, id, idlen, m);
		break;
	case TG_WIRE_RESULT:
		handle_result(d, id, idlen, m);
		break;
	case TG_WIRE_HEARTBEAT: {
		struct tg_worker_peer *p = peer_find(d, id, idlen);
		if (p)
			p->last_seen_ms = tg_now_mono_ms();
		break;
	}
	default:
		tg_warn("dispatch: rejected a message: %s",
		    type < 0 ? err : "unexpected type from a worker");
		d->stats.rejected++;
		break;
	}
}

/* Receive one message: the ROUTER's identity frame first, then the worker's
 * frames. A message that breaks a limit costs its sender its place: the peer is
 * dropped and its items go to other workers. Returns 0 when nothing waits. */
static int
receive_one(struct tg_dispatch *d)
{
	struct tg_wire_msg m;
	struct tg_worker_peer *p;
	zmq_msg_t idm;
	char err[256];
	int rc;

	zmq_msg_init(&idm);
	if (zmq_msg_recv(&idm, d->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&idm);
		return 0;
	}
	if (!zmq_msg_more(&idm)) {
		tg_warn("dispatch: rejected a message with no frames after the identity");
		d->stats.rejected++;
		zmq_msg_close(&idm);
		return 1;
	}
	rc = tg_wire_recv(d->sock, &m, MAX_MSG_BYTES, err, sizeof(err));
	if (rc < 0) {
		d->stats.rejected++;
		p = peer_find(d, zmq_msg_data(&idm), zmq_msg_size(&idm));
		if (p) {
			tg_warn("dispatch: worker pid %u sent a bad message (%s); dropping it, its "
				"%u item(s) go to other workers",
			    p->pid, err, p->inflight);
			peer_drop(d, p);
		} else {
			tg_warn("dispatch: rejected a message: %s", err);
		}
	} else if (rc > 0) {
		handle(d, zmq_msg_data(&idm), zmq_msg_size(&idm), &m);
		tg_wire_msg_close(&m);
	}
	zmq_msg_close(&idm);
	return 1;
}

/* Receive while ZeroMQ says there is something: ZMQ_FD is edge-triggered. */
static void
drain(struct tg_dispatch *d)
{
	if (d->draining)
		return;
	d->draining = true;
	for (;;) {
		int events = 0;
		size_t sz = sizeof(events);

		if (zmq_getsockopt(d->sock, ZMQ_EVENTS, &events, &sz) != 0 ||
		    !(events & ZMQ_POLLIN))
			break;
		if (receive_one(d) == 0)
			break;
	}
	d->draining = false;
	pump(d);
}

/* The worker with the most free credit (for a suspect job: an idle one), or NULL. */
static struct tg_worker_peer *
pick_peer(struct tg_dispatch *d, bool suspect)
{
	struct tg_worker_peer *best = NULL;
	uint32_t best_free = 0;

	for (struct tg_worker_peer *p = d->peers; p; p = p->next) {
		uint32_t free_credit = p->credit > p->inflight ? p->credit - p->inflight : 0;
		if (p->solo || (suspect && p->inflight > 0))
			continue;
		if (free_credit > best_free) {
			best = p;
			best_free = free_credit;
		}
	}
	return best;
}

/* The next job to send and its worker: suspects first, each alone on an idle
 * worker; then ordinary jobs. */
static struct tg_job *
next_job(struct tg_dispatch *d, struct tg_worker_peer **out)
{
	struct tg_worker_peer *p;

	if (d->shead && (p = pick_peer(d, true)) != NULL) {
		*out = p;
		d->stats.queued--;
		return list_pop(&d->shead, &d->stail);
	}
	if (d->qhead && (p = pick_peer(d, false)) != NULL) {
		*out = p;
		d->stats.queued--;
		return list_pop(&d->qhead, &d->qtail);
	}
	return NULL;
}

static void
pump(struct tg_dispatch *d)
{
	struct tg_worker_peer *p = NULL;
	struct tg_job *job;
	bool sent = false;

	while ((job = next_job(d, &p)) != NULL) {
		job->delivery = d->next_delivery++;
		job->attempts++;
		if (tg_item_send(d->sock, p->id, p->idlen, job->delivery, &job->item) != 0) {
			tg_warn("dispatch: cannot send to worker pid %u (%s); dropping it", p->pid,
			    zmq_strerror(zmq_errno()));
			queue_push(d, job, true);
			peer_drop(d, p);
			continue;
		}
		hash_put(d, job);
		peer_attach(p, job);
		if (job->suspect)
			p->solo = true;
		sent = true;
	}
	/* Sending may have consumed the edge that announced pending input. */
	if (sent && !d->draining)
		event_active(d->ev, EV_READ, 0);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	drain(arg);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tg_dispatch *d = arg;
	int64_t now = tg_now_mono_ms();
	struct tg_worker_peer *p = d->peers, *next;

	bool beat = now - d->last_heartbeat_ms >= HEARTBEAT_EVERY_MS;

	for (; p; p = next) {
		next = p->next;
		if (now - p->last_seen_ms > PEER_SILENCE_MS) {
			size_t n = p->inflight;
			tg_warn("dispatch: worker pid %u silent for %lld ms; %zu item(s) queued again",
			    p->pid, (long long)(now - p->last_seen_ms), n);
			peer_drop(d, p);
			continue;
		}
		/* Heartbeats both ways: workers reconnect when the daemon goes quiet. */
		if (beat && tg_heartbeat_send(d->sock, p->id, p->idlen) != 0 && zmq_errno() != EAGAIN)
			tg_debug("dispatch: heartbeat to worker pid %u: %s", p->pid,
			    zmq_strerror(zmq_errno()));
	}
	if (beat)
		d->last_heartbeat_ms = now;
	drain(d);
}

struct tg_dispatch *
tg_dispatch_new(struct event_base *base, void *zctx, const char *endpoint,
    tg_dispatch_result_cb cb, void *arg, char *err, size_t errlen)
{
	struct tg_dispatch *d = tg_calloc(1, sizeof(*d));
	int one = 1, zero = 0, fd;
	size_t sz = sizeof(fd);
	struct timeval tv = { 0, TICK_MS * 1000 };

	d->base = base;
	d->cb = cb;
	d->arg = arg;
	d->next_delivery = (uint64_t)tg_now_wall_ms() << 16;
	d->max_attempts = 3;
	d->sock = zmq_socket(zctx, ZMQ_ROUTER);
	if (d->sock == NULL) {
		snprintf(err, errlen, "dispatch: cannot create a ROUTER socket: %s",
		    zmq_strerror(zmq_errno()));
		goto fail;
	}
	zmq_setsockopt(d->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	/* libzmq refuses (and disconnects) a peer whose frame is larger than this
	 * before allocating it; smaller messages over our own limit are dropped
	 * with their sender by receive_one. */
	zmq_setsockopt(d->sock, ZMQ_MAXMSGSIZE, &(int64_t){ TRANSPORT_MAX_BYTES },
	    sizeof(int64_t));
	zmq_setsockopt(d->sock, ZMQ_LINGER, &zero, sizeof(zero));
	if (tg_curve_server_secure_ctx(zctx, d->sock, err, errlen) != 0)
		goto fail;
	if (zmq_bind(d->sock, endpoint) != 0) {
		snprintf(err, errlen, "dispatch: cannot bind worker endpoint %s: %s", endpoint,
		    zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (zmq_getsockopt(d->sock, ZMQ_FD, &fd, &sz) != 0) {
		snprintf(err, errlen, "dispatch: cannot get ZMQ_FD");
		goto fail;
	}
	d->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, d);
	d->tick = event_new(base, -1, EV_PERSIST, on_tick, d);
	if (d->ev == NULL || d->tick == NULL || event_add(d->ev, NULL) != 0 ||
	    event_add(d->tick, &tv) != 0) {
		snprintf(err, errlen, "dispatch: cannot watch the worker socket");
		goto fail;
	}
	return d;
fail:
	tg_dispatch_free(d);
	return NULL;
}

void
tg_dispatch_free(struct tg_dispatch *d)
{
	struct tg_job *job;

	if (d == NULL)
		return;
	/* Shutting down is no worker's fault: nothing is counted or dead-lettered now. */
	d->max_attempts = INT_MAX;
	d->dead_cb = NULL;
	d->failed_cb = NULL;
	while (d->peers)
		peer_drop(d, d->peers);
	while ((job = queue_pop(d)) != NULL)
		tg_job_free(job);
	if (d->ev)
		event_free(d->ev);
	if (d->tick)
		event_free(d->tick);
	if (d->sock)
		zmq_close(d->sock);
	free(d);
}

void
tg_dispatch_set_dead_letter(struct tg_dispatch *d, int max_attempts, tg_dispatch_dead_cb cb)
{
	d->max_attempts = max_attempts > 0 ? max_attempts : 1;
	d->dead_cb = cb;
}

void
tg_dispatch_set_failed(struct tg_dispatch *d, tg_dispatch_failed_cb cb)
{
	d->failed_cb = cb;
}

void
tg_dispatch_submit(struct tg_dispatch *d, struct tg_job *job)
{
	if (job->failures >= d->max_attempts) {
		/* Its count came from an earlier run (or max_attempts was lowered). */
		give_up(d, job);
		return;
	}
	queue_push(d, job, false);
	pump(d);
}

size_t
tg_dispatch_worker_gone(struct tg_dispatch *d, uint32_t pid)
{
	size_t n = 0;
	struct tg_worker_peer *p = d->peers, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->pid == pid)
			n += peer_drop(d, p);
	}
	pump(d);
	return n;
}

size_t
tg_dispatch_queued(const struct tg_dispatch *d)
{
	return d->stats.queued;
}

void
tg_dispatch_get_stats(const struct tg_dispatch *d, struct tg_dispatch_stats *out)
{
	*out = d->stats;
}

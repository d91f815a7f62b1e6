/*
 * Unit tests of the dispatcher with real ZeroMQ sockets: a DEALER in the test
 * plays a worker (HELLO, ITEM in, RESULT out) against the dispatcher's ROUTER
 * driven by a real libevent loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <zmq.h>

#include "../../common/util.h"
#include "../../daemon/dispatch.h"
#include "../../proto/control.h"

struct fixture {
	struct event_base *base;
	void *zctx;
	struct tg_dispatch *d;
	char endpoint[128];
	char ids[64][64]; /* item ids of results, in arrival order */
	size_t nresults;
	char tags[64][32];
};

static void
on_result(void *arg, struct tg_job *job, const struct tg_result *r)
{
	struct fixture *f = arg;

	if (f->nresults < 64) {
		snprintf(f->ids[f->nresults], sizeof(f->ids[0]), "%s", job->item.id);
		snprintf(f->tags[f->nresults], sizeof(f->tags[0]), "%s",
		    r->ntags ? r->tags[0].name : "");
	}
	f->nresults++;
}

static int
setup(void **state)
{
	struct fixture *f = tg_calloc(1, sizeof(*f));
	char err[256];

	f->base = event_base_new();
	f->zctx = zmq_ctx_new();
	snprintf(f->endpoint, sizeof(f->endpoint), "ipc:///tmp/tg-test-dispatch-%d.sock",
	    (int)getpid());
	f->d = tg_dispatch_new(f->base, f->zctx, f->endpoint, on_result, f, err, sizeof(err));
	assert_non_null(f->d);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tg_dispatch_free(f->d);
	zmq_ctx_term(f->zctx);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void *
worker_connect(struct fixture *f, uint32_t pid, uint32_t credit)
{
	void *s = zmq_socket(f->zctx, ZMQ_DEALER);
	int zero = 0;
	struct tg_hello h = { credit, pid };

	assert_non_null(s);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_connect(s, f->endpoint), 0);
	assert_int_equal(tg_hello_send(s, NULL, 0, &h), 0);
	return s;
}

/* Run the loop a little. */
static void
spin(struct fixture *f, int ms)
{
	int64_t end = tg_now_mono_ms() + ms;

	while (tg_now_mono_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static void
submit(struct fixture *f, const char *id)
{
	struct tg_item it;

	tg_item_init(&it);
	it.id = tg_strdup(id);
	it.feed = tg_strdup("test");
	it.title = tg_strdup("a title");
	it.summary = tg_strdup("a summary");
	tg_dispatch_submit(f->d, tg_job_take(1, &it));
	assert_null(it.id); /* taken */
}

static int nbeats; /* heartbeats the fake workers received */

/* Receive up to max ITEMs waiting at worker s; store delivery ids and item ids. */
static size_t
worker_take(void *s, uint64_t *deliveries, char ids[][64], size_t max)
{
	struct tg_wire_msg m;
	char err[256];
	size_t n = 0;

	while (n < max && tg_wire_recv(s, &m, 1 << 20, err, sizeof(err)) == 1) {
		struct tg_item it;

		tg_item_init(&it);
		if (tg_wire_check_header(&m, 0, err, sizeof(err)) == TG_WIRE_HEARTBEAT) {
			nbeats++; /* the daemon's heartbeat: workers just note it */
			tg_wire_msg_close(&m);
			continue;
		}
		assert_int_equal(tg_wire_check_header(&m, 0, err, sizeof(err)), TG_WIRE_ITEM);
		assert_int_equal(tg_item_decode(&m, 0, &deliveries[n], &it, err, sizeof(err)), 0);
		snprintf(ids[n], 64, "%s", it.id);
		tg_item_clear(&it);
		tg_wire_msg_close(&m);
		n++;
	}
	return n;
}

static void
worker_answer_hello(void *s, uint32_t pid, uint32_t credit)
{
	struct tg_hello h = { credit, pid };

	assert_int_equal(tg_hello_send(s, NULL, 0, &h), 0);
}

static void
worker_answer(void *s, uint64_t delivery, const char *tag)
{
	struct tg_result r;

	tg_result_reset(&r);
	snprintf(r.taxonomy, sizeof(r.taxonomy), "test");
	tg_result_add_tag(&r, tag, 1.0f, 0.5f);
	assert_int_equal(tg_result_send(s, NULL, 0, delivery, &r), 0);
}

static void
test_items_flow_within_credit(void **state)
{
	struct fixture *f = *state;
	void *w = worker_connect(f, 101, 2);
	struct tg_dispatch_stats st;
	uint64_t del[8];
	char ids[8][64];
	size_t n;

	spin(f, 50);
	tg_dispatch_get_stats(f->d, &st);
	assert_int_equal(st.workers, 1);
	for (int i = 0; i < 5; i++) {
		char id[32];
		snprintf(id, sizeof(id), "item-%d", i);
		submit(f, id);
	}
	spin(f, 50);
	tg_dispatch_get_stats(f->d, &st);
	assert_int_equal(st.inflight, 2); /* credit 2: the rest waits */
	assert_int_equal(st.queued, 3);
	n = worker_take(w, del, ids, 8);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "item-0");
	assert_string_equal(ids[1], "item-1");
	/* Answer one at a time: each result frees a credit for the next item. */
	for (int round = 0; round < 5; round++) {
		if (n == 0) {
			spin(f, 30);
			n = worker_take(w, del, ids, 8);
		}
		assert_true(n > 0);
		worker_answer(w, del[0], "iraq");
		memmove(del, del + 1, (n - 1) * sizeof(del[0]));
		n--;
		spin(f, 30);
		n += worker_take(w, del + n, ids + n, 8 - n);
	}
	assert_int_equal(f->nresults, 5);
	for (int i = 0; i < 5; i++) {
		char id[32];
		snprintf(id, sizeof(id), "item-%d", i);
		assert_string_equal(f->ids[i], id);
		assert_string_equal(f->tags[i], "iraq");
	}
	tg_dispatch_get_stats(f->d, &st);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.results, 5);
	/* The daemon's heartbeats reach a connected worker about every second. */
	nbeats = 0;
	worker_answer_hello(w, 101, 2);
	spin(f, 1300);
	worker_take(w, del, ids, 8);
	assert_true(nbeats >= 1);
	zmq_close(w);
}

static void
test_dead_worker_items_go_to_another(void **state)
{
	struct fixture *f = *state;
	void *w1 = worker_connect(f, 201, 4);
	void *w2;
	uint64_t del[8];
	char ids[8][64];
	size_t n;

	spin(f, 50);
	submit(f, "a");
	submit(f, "b");
	spin(f, 50);
	n = worker_take(w1, del, ids, 8);
	assert_int_equal(n, 2);
	/* w1 dies holding both items; a second worker arrives. */
	zmq_close(w1);
	w2 = worker_connect(f, 202, 4);
	spin(f, 50);
	assert_int_equal(tg_dispatch_worker_gone(f->d, 201), 2);
	spin(f, 50);
	/* Both are suspects now: each goes alone to an idle worker. */
	n = worker_take(w2, del, ids, 8);
	assert_int_equal(n, 1);
	worker_answer(w2, del[0], "us");
	spin(f, 50);
	n = worker_take(w2, del + 1, ids + 1, 7);
	assert_int_equal(n, 1);
	worker_answer(w2, del[1], "us");
	spin(f, 50);
	assert_int_equal(f->nresults, 2);
	/* A late result for an old delivery id is ignored, not published twice. */
	worker_answer(w2, del[0], "us");
	spin(f, 50);
	assert_int_equal(f->nresults, 2);
	zmq_close(w2);
}

static int ndead;

static void
on_dead(void *arg, struct tg_job *job)
{
	(void)arg;
	assert_string_equal(job->item.id, "poison");
	assert_int_equal(job->failures, 3);
	ndead++;
}

static void
test_poison_dead_lettered_innocent_not(void **state)
{
	struct fixture *f = *state;
	uint64_t del[8];
	char ids[8][64];
	uint32_t pid = 500;
	void *w;

	tg_dispatch_set_dead_letter(f->d, 3, on_dead);
	ndead = 0;
	submit(f, "poison");
	submit(f, "innocent");
	/* Round 1: one worker takes both and dies: both become suspects, no failure
	 * is counted. Then each is sent alone; the poison kills every worker it is
	 * alone on; the innocent is answered. */
	for (int round = 0; round < 6 && ndead == 0; round++) {
		size_t n;

		w = worker_connect(f, ++pid, 8);
		spin(f, 60);
		n = worker_take(w, del, ids, 8);
		if (n == 1 && strcmp(ids[0], "innocent") == 0) {
			worker_answer(w, del[0], "ok");
			spin(f, 60);
			n = worker_take(w, del, ids, 8);
		}
		zmq_close(w);
		if (n > 0)
			tg_dispatch_worker_gone(f->d, pid);
		spin(f, 20);
	}
	assert_int_equal(ndead, 1);
	assert_int_equal(f->nresults, 1);
	assert_string_equal(f->ids[0], "innocent");
	{
		struct tg_dispatch_stats st;
		tg_dispatch_get_stats(f->d, &st);
		assert_int_equal(st.dead, 1);
		assert_int_equal(st.queued, 0);
		assert_int_equal(st.inflight, 0);
	}
}

static int failed_counts[8]; /* job->failures as each failure was reported */
static int nfailed;

static void
on_failed(void *arg, struct tg_job *job)
{
	(void)arg;
	assert_string_equal(job->item.id, "poison");
	if (nfailed < 8)
		failed_counts[nfailed] = job->failures;
	nfailed++;
}

static void
on_dead_any(void *arg, struct tg_job *job)
{
	(void)arg;
	(void)job;
	ndead++;
}

/* Submit a job that took down `failures` workers in an earlier run. */
static void
submit_suspect(struct fixture *f, const char *id, int failures)
{
	struct tg_item it;
	struct tg_job *job;

	tg_item_init(&it);
	it.id = tg_strdup(id);
	it.feed = tg_strdup("test");
	it.title = tg_strdup("a title");
	job = tg_job_take(1, &it);
	job->failures = failures;
	job->suspect = true;
	tg_dispatch_submit(f->d, job);
}

/* Every failure is reported with its new count; a job carried over with a count
 * goes alone to an idle worker and is dead-lettered when the total reaches
 * max_attempts; one carried over at max_attempts is given up unsent; shutting
 * down reports nothing. */
static void
test_failures_reported_and_carried_over(void **state)
{
	struct fixture *f = *state;
	struct tg_dispatch_stats st;
	uint64_t del[8];
	char ids[8][64];
	uint32_t pid = 700;
	void *w;
	size_t n;

	tg_dispatch_set_dead_letter(f->d, 3, on_dead_any);
	tg_dispatch_set_failed(f->d, on_failed);
	ndead = nfailed = 0;

	/* Alone on each worker from the start: three failures, 1, 2, 3, then dead. */
	submit_suspect(f, "poison", 0);
	for (int round = 0; round < 3; round++) {
		w = worker_connect(f, ++pid, 8);
		spin(f, 60);
		n = worker_take(w, del, ids, 8);
		assert_int_equal(n, 1);
		zmq_close(w);
		tg_dispatch_worker_gone(f->d, pid);
		spin(f, 20);
	}
	assert_int_equal(nfailed, 3);
	assert_int_equal(failed_counts[0], 1);
	assert_int_equal(failed_counts[1], 2);
	assert_int_equal(failed_counts[2], 3);
	assert_int_equal(ndead, 1);

	/* Carried over with 2 failures: sent alone though an ordinary job waits
	 * and the worker has credit for both; one more failure and it is dead. */
	ndead = nfailed = 0;
	submit(f, "innocent");
	submit_suspect(f, "poison", 2);
	w = worker_connect(f, ++pid, 8);
	spin(f, 60);
	n = worker_take(w, del, ids, 8);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "poison");
	zmq_close(w);
	tg_dispatch_worker_gone(f->d, pid);
	spin(f, 20);
	assert_int_equal(nfailed, 1);
	assert_int_equal(failed_counts[0], 3);
	assert_int_equal(ndead, 1);

	/* Carried over at max_attempts already (say it was lowered): given up at once. */
	submit_suspect(f, "poison", 3);
	assert_int_equal(ndead, 2);
	assert_int_equal(nfailed, 1);
	tg_dispatch_get_stats(f->d, &st);
	assert_int_equal(st.dead, 3);

	/* The innocent job flows; a suspect held alone at shutdown counts nothing. */
	w = worker_connect(f, ++pid, 8);
	spin(f, 60);
	n = worker_take(w, del, ids, 8);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "innocent");
	worker_answer(w, del[0], "ok");
	spin(f, 60);
	assert_int_equal(f->nresults, 1);
	submit_suspect(f, "poison", 1);
	spin(f, 60);
	assert_int_equal(worker_take(w, del, ids, 8), 1);
	zmq_close(w);
	tg_dispatch_free(f->d);
	f->d = NULL;
	assert_int_equal(nfailed, 1);
	assert_int_equal(ndead, 2);
}

static void
test_invalid_messages_rejected(void **state)
{
	struct fixture *f = *state;
	void *w = worker_connect(f, 301, 1);
	struct tg_dispatch_stats st;
	unsigned char bad[4] = { 'X', 'Y', 'R', 1 };
	unsigned char hdr[4];

	spin(f, 50);
	/* Wrong magic. */
	zmq_send(w, bad, sizeof(bad), 0);
	/* A RESULT with a truncated delivery id. */
	tg_wire_header(hdr, TG_WIRE_RESULT);
	zmq_send(w, hdr, 4, ZMQ_SNDMORE);
	zmq_send(w, "abc", 3, 0);
	/* An ITEM is not something a worker may send. */
	tg_wire_header(hdr, TG_WIRE_ITEM);
	zmq_send(w, hdr, 4, 0);
	spin(f, 100);
	tg_dispatch_get_stats(f->d, &st);
	assert_int_equal(st.rejected, 3);
	assert_int_equal(st.workers, 1); /* the worker is still served */
	submit(f, "after");
	spin(f, 50);
	{
		uint64_t del[2];
		char ids[2][64];
		assert_int_equal(worker_take(w, del, ids, 2), 1);
		assert_string_equal(ids[0], "after");
	}
	zmq_close(w);
}

static void
test_silent_worker_dropped(void **state)
{
	struct fixture *f = *state;
	void *w = worker_connect(f, 401, 2);
	void *w2;
	struct tg_dispatch_stats st;
	uint64_t del[4];
	char ids[4][64];

	spin(f, 50);
	submit(f, "x");
	spin(f, 50);
	assert_int_equal(worker_take(w, del, ids, 4), 1);
	/* No HELLO for longer than the silence limit: the item is queued again. */
	spin(f, 4700);
	tg_dispatch_get_stats(f->d, &st);
	assert_int_equal(st.workers, 0);
	assert_int_equal(st.queued, 1);
	assert_true(st.redelivered >= 1);
	w2 = worker_connect(f, 402, 2);
	spin(f, 50);
	assert_int_equal(worker_take(w2, del, ids, 4), 1);
	assert_string_equal(ids[0], "x");
	zmq_close(w);
	zmq_close(w2);
}

static void
test_bind_failure_reported(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct tg_dispatch *d2;

	d2 = tg_dispatch_new(f->base, f->zctx, "tcp://256.1.1.1:1", on_result, f, err,
	    sizeof(err));
	assert_null(d2);
	assert_non_null(strstr(err, "256.1.1.1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_items_flow_within_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_worker_items_go_to_another, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_poison_dead_lettered_innocent_not, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failures_reported_and_carried_over, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_invalid_messages_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_worker_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_failure_reported, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

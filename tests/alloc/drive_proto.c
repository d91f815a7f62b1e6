/*
 * Allocation-failure sweep of the proto decoders: real ITEM, RESULT, HELLO and
 * HEARTBEAT messages (sent and received over an inproc pair before the sweep) and
 * alert JSON are decoded again and again, failing allocation 1, 2, ... each in
 * turn (then every allocation from N on). Each run must give a clean error or the
 * very same decoded value, and leave no block behind. Exits 1 otherwise.
 * A driver, not a test: tests/integration/test_alloc_failure.sh asserts on its
 * exit status and output for every failing allocation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zmq.h>

#include "../../common/util.h"
#include "../../daemon/feed.h"
#include "../../proto/alert.h"
#include "../../proto/control.h"
#include "../../proto/item.h"
#include "../../proto/result.h"
#include "../../proto/wire.h"
#include "failalloc.h"

enum kind { K_ITEM, K_RESULT, K_HELLO, K_HEARTBEAT, K_ALERT };

struct input {
	const char *name;
	enum kind kind;
	struct tg_wire_msg m;
	char *json;
	size_t len;
};

struct tally {
	long runs, errors, same, degraded, leaks;
};

static void
die(const char *what)
{
	fprintf(stderr, "drive_proto: %s: %s\n", what, zmq_strerror(errno));
	exit(2);
}

static void
fill_item(struct tg_item *it)
{
	tg_item_init(it);
	it->id = tg_strdup("urn:item:1");
	it->feed = tg_strdup("https://feeds.example.com/world.xml");
	it->title = tg_strdup("US and Iran resume talks in Baghdad");
	it->link = tg_strdup("https://news.example.com/a/1");
	it->summary = tg_strdup("Negotiators met on Tuesday; sanctions relief and the nuclear "
	    "programme were on the table, officials said.");
	it->published = tg_strdup("2024-03-01T10:00:00Z");
	tg_item_add_author(it, "Jane Doe");
	tg_item_add_category(it, "World");
	tg_item_add_category(it, "Middle East");
	tg_item_add_category(it, "Diplomacy");
	it->fetched_ms = 1709287200000;
}

static void
fill_result(struct tg_result *r)
{
	struct tg_tag *t;

	tg_result_reset(r);
	snprintf(r->taxonomy, sizeof(r->taxonomy), "0123456789abcdef");
	r->relevant = true;
	t = tg_result_add_tag(r, "us", 1.5f, 1.0f);
	tg_tag_add_evidence(t, TG_FIELD_TITLE, 0, 2, "us-names");
	t = tg_result_add_tag(r, "iran", 2.0f, 1.0f);
	tg_tag_add_evidence(t, TG_FIELD_TITLE, 7, 11, "iran-names");
	t = tg_result_add_tag(r, "us-iran", 1.0f, 1.0f);
	t = tg_result_add_tag(r, "diplomacy", 1.2f, 1.0f);
	tg_tag_add_evidence(t, TG_FIELD_TITLE, 19, 24, "talks");
	tg_tag_add_evidence(t, TG_FIELD_SUMMARY, 0, 11, "negotiators");
}

/* Receive the message just sent to b into m. */
static void
recv_into(void *b, struct tg_wire_msg *m)
{
	char err[256];

	if (tg_wire_recv(b, m, 0, err, sizeof(err)) != 1) {
		fprintf(stderr, "drive_proto: nothing received: %s\n", err);
		exit(2);
	}
}

/* Decode once; the decoded value as text (made outside the window) or NULL. */
static char *
decode(struct input *in, int *rc, char *err, size_t errlen)
{
	struct tg_item it;
	struct tg_result r;
	struct tg_hello h;
	struct tg_alert a;
	uint64_t delivery = 0;
	char *s = NULL;
	json_t *j;

	switch (in->kind) {
	case K_ITEM:
		tg_item_init(&it);
		*rc = tg_item_decode(&in->m, 0, &delivery, &it, err, errlen);
		failalloc_stop(&(struct failalloc_stats){ 0 });
		if (*rc == 0) {
			it.fetched_ms = (int64_t)delivery;
			j = tg_item_to_json(&it);
			s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(j);
		}
		tg_item_clear(&it);
		return s;
	case K_RESULT:
		*rc = tg_result_decode(&in->m, 0, &delivery, &r, err, errlen);
		failalloc_stop(&(struct failalloc_stats){ 0 });
		if (*rc == 0) {
			j = tg_result_to_json(&r);
			s = json_dumps(j, TG_RESULT_JSON_FLAGS | JSON_SORT_KEYS);
			json_decref(j);
		}
		return s;
	case K_HELLO:
		*rc = tg_hello_decode(&in->m, 0, &h, err, errlen);
		failalloc_stop(&(struct failalloc_stats){ 0 });
		if (*rc == 0 && asprintf(&s, "%u %u", h.credit, h.pid) < 0)
			s = NULL;
		return s;
	case K_HEARTBEAT:
		*rc = tg_heartbeat_decode(&in->m, 0, err, errlen);
		failalloc_stop(&(struct failalloc_stats){ 0 });
		return *rc == 0 ? strdup("ok") : NULL;
	case K_ALERT:
		tg_alert_init(&a);
		*rc = tg_alert_decode(in->json, in->len, &a, err, errlen);
		failalloc_stop(&(struct failalloc_stats){ 0 });
		if (*rc == 0) {
			size_t n;

			s = tg_alert_encode(&a, &n);
		}
		tg_alert_clear(&a);
		return s;
	}
	return NULL;
}

static long
one(struct input *in, long fail_at, int sticky, const char *want, struct tally *t)
{
	struct failalloc_stats st;
	char err[512] = "";
	char *got;
	int rc = -1;

	failalloc_start(fail_at, sticky);
	got = decode(in, &rc, err, sizeof(err)); /* closes the window itself */
	failalloc_stats(&st);
	if (fail_at == 0) {
		free(got);
		return st.calls;
	}
	t->runs++;
	if (rc != 0 && err[0] != '\0') {
		t->errors++;
	} else if (rc == 0 && got && want && strcmp(got, want) == 0) {
		t->same++;
	} else {
		t->degraded++;
		fprintf(stderr, "%s: failing allocation %ld%s: rc %d, %s\n", in->name, fail_at,
		    sticky ? "+" : "", rc, rc ? "no error message" : "a different value");
		failalloc_where(stderr);
		if (got && want)
			fprintf(stderr, "  want %s\n  got  %s\n", want, got);
	}
	if (st.live) {
		long known = 0;

		if (failalloc_unexpected(NULL, &known) > 0) {
			t->leaks++;
			fprintf(stderr, "%s: failing allocation %ld%s: %ld blocks leaked\n", in->name,
			    fail_at, sticky ? "+" : "", st.live);
			failalloc_where(stderr);
			failalloc_report(stderr);
		}
	}
	free(got);
	return st.calls;
}

int
main(void)
{
	struct input ins[5];
	struct tally all = { 0 };
	struct tg_alert alert;
	struct tg_item item;
	struct tg_result result;
	struct tg_hello hello = { 16, 4242 };
	long total_calls = 0;
	void *ctx, *a, *b;
	size_t n;

	setvbuf(stdout, NULL, _IONBF, 0);
	/* The same allocators as the daemon (tg_feed_global_init sets jansson's). */
	tg_feed_global_init();
	memset(ins, 0, sizeof(ins));
	fill_item(&item);
	fill_result(&result);
	ctx = zmq_ctx_new();
	a = zmq_socket(ctx, ZMQ_PAIR);
	b = zmq_socket(ctx, ZMQ_PAIR);
	if (!ctx || !a || !b || zmq_bind(b, "inproc://drive") != 0 ||
	    zmq_connect(a, "inproc://drive") != 0)
		die("sockets");
	if (tg_item_send(a, NULL, 0, 77, &item) != 0)
		die("item send");
	recv_into(b, &ins[0].m);
	if (tg_result_send(a, NULL, 0, 77, &result) != 0)
		die("result send");
	recv_into(b, &ins[1].m);
	if (tg_hello_send(a, NULL, 0, &hello) != 0)
		die("hello send");
	recv_into(b, &ins[2].m);
	if (tg_heartbeat_send(a, NULL, 0) != 0)
		die("heartbeat send");
	recv_into(b, &ins[3].m);
	/* No ZeroMQ thread may allocate during the sweep. */
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	ins[0].name = "item";
	ins[0].kind = K_ITEM;
	ins[1].name = "result";
	ins[1].kind = K_RESULT;
	ins[2].name = "hello";
	ins[2].kind = K_HELLO;
	ins[3].name = "heartbeat";
	ins[3].kind = K_HEARTBEAT;
	tg_alert_init(&alert);
	alert.seq = 12;
	snprintf(alert.epoch, sizeof(alert.epoch), "e-20240301");
	tg_alert_make_id(item.feed, item.id, result.taxonomy, alert.alert_id);
	alert.published_ms = 1709287200123;
	tg_item_copy(&alert.item, &item);
	alert.result = result;
	ins[4].name = "alert";
	ins[4].kind = K_ALERT;
	ins[4].json = tg_alert_encode(&alert, &n);
	ins[4].len = n;
	if (ins[4].json == NULL)
		die("alert encode");
	tg_alert_clear(&alert);
	tg_item_clear(&item);

	for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		struct tally t = { 0 };
		char err[512];
		char *want;
		long calls;
		int rc;

		free(decode(&ins[i], &rc, err, sizeof(err))); /* warm up */
		failalloc_start(0, 0);
		want = decode(&ins[i], &rc, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "drive_proto: %s does not decode: %s\n", ins[i].name, err);
			return 2;
		}
		calls = one(&ins[i], 0, 0, want, &t);
		for (long k = 1; k <= calls; k++)
			one(&ins[i], k, 0, want, &t);
		for (long k = 1; k <= calls; k++)
			one(&ins[i], k, 1, want, &t);
		printf("proto %-10s %4ld allocations, %4ld runs: %4ld errors, %3ld unchanged, "
		    "%ld degraded, %ld leaking\n", ins[i].name, calls, t.runs, t.errors, t.same,
		    t.degraded, t.leaks);
		total_calls += calls;
		all.runs += t.runs;
		all.errors += t.errors;
		all.same += t.same;
		all.degraded += t.degraded;
		all.leaks += t.leaks;
		free(want);
		if (ins[i].kind != K_ALERT)
			tg_wire_msg_close(&ins[i].m);
	}
	free(ins[4].json);
	printf("proto total: 5 messages, %ld allocation calls, %ld runs: %ld clean errors, "
	    "%ld unchanged, %ld degraded, %ld leaking, 0 crashes\n", total_calls, all.runs,
	    all.errors, all.same, all.degraded, all.leaks);
	return all.degraded || all.leaks ? 1 : 0;
}

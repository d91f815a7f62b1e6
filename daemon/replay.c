/*
 * The replay ROUTER: validates each JSON request, reads the alerts from the store
 * and sends one multipart reply: a JSON header frame, then one frame per alert.
 * See replay.h and docs/protocol.md.
 */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../proto/result.h"
#include "curve.h"
#include "replay.h"
#include "store.h"

#define MAX_ENVELOPE 4 /* identity, optional empty delimiter */

struct tg_replay {
	void *sock;
	struct event *ev;
	struct tg_store *store;
	char epoch[40];
	bool draining;
	unsigned long long answered, rejected;
	/* the reply being built */
	zmq_msg_t *alerts;
	size_t nalerts;
	uint64_t last_seq;
};

struct request {
	uint64_t from_seq;
	uint64_t to_seq; /* 0: no bound */
	char tag[TG_TAG_NAME_MAX];
	bool has_tag;
	size_t limit;
};

static int
parse_request(const void *data, size_t len, struct request *rq, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o, *v;
	const char *key;
	int rc = -1;

	memset(rq, 0, sizeof(*rq));
	rq->limit = TG_REPLAY_MAX_LIMIT;
	if (len > TG_REPLAY_MAX_REQUEST) {
		snprintf(err, errlen, "request larger than %d bytes", TG_REPLAY_MAX_REQUEST);
		return -1;
	}
	o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "request is not a JSON object%s%s", o ? "" : ": ",
		    o ? "" : jerr.text);
		goto out;
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "v") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != 1) {
				snprintf(err, errlen, "\"v\" must be 1");
				goto out;
			}
		} else if (strcmp(key, "type") == 0) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "replay") != 0) {
				snprintf(err, errlen, "\"type\" must be \"replay\"");
				goto out;
			}
		} else if (strcmp(key, "from_seq") == 0 || strcmp(key, "to_seq") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				snprintf(err, errlen, "\"%s\" must be a non-negative integer", key);
				goto out;
			}
			if (key[0] == 'f')
				rq->from_seq = (uint64_t)json_integer_value(v);
			else
				rq->to_seq = (uint64_t)json_integer_value(v);
		} else if (strcmp(key, "tag") == 0) {
			if (!json_is_string(v) || !tg_tag_name_valid(json_string_value(v), strlen(json_string_value(v)))) {
				snprintf(err, errlen, "\"tag\" must be a tag name");
				goto out;
			}
			snprintf(rq->tag, sizeof(rq->tag), "%s", json_string_value(v));
			rq->has_tag = true;
		} else if (strcmp(key, "limit") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > TG_REPLAY_MAX_LIMIT) {
				snprintf(err, errlen, "\"limit\" must be 1..%d", TG_REPLAY_MAX_LIMIT);
				goto out;
			}
			rq->limit = (size_t)json_integer_value(v);
		} else {
			snprintf(err, errlen, "unknown key \"%s\"", key);
			goto out;
		}
	}
	if (!json_is_integer(json_object_get(o, "from_seq"))) {
		snprintf(err, errlen, "\"from_seq\" is required");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static void
collect(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct tg_replay *r = arg;
	zmq_msg_t *m = &r->alerts[r->nalerts];

	if (zmq_msg_init_size(m, len) != 0)
		return;
	memcpy(zmq_msg_data(m), json, len);
	r->nalerts++;
	r->last_seq = seq;
}

/* Send envelope frames, then the header, then the alerts (which are consumed). */
static void
send_reply(struct tg_replay *r, zmq_msg_t *env, size_t nenv, const char *header)
{
	for (size_t i = 0; i < nenv; i++)
		zmq_msg_send(&env[i], r->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(r->sock, header, strlen(header), (r->nalerts ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
	for (size_t i = 0; i < r->nalerts; i++)
		zmq_msg_send(&r->alerts[i], r->sock,
		    (i + 1 < r->nalerts ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
	for (size_t i = 0; i < r->nalerts; i++)
		zmq_msg_close(&r->alerts[i]);
	r->nalerts = 0;
}

static void
answer(struct tg_replay *r, zmq_msg_t *env, size_t nenv, const void *data, size_t len)
{
	struct request rq;
	char err[512], *header;
	json_t *h;
	int n;
	uint64_t newest = tg_store_max_seq(r->store), oldest = tg_store_min_alert_seq(r->store);

	if (parse_request(data, len, &rq, err, sizeof(err)) != 0) {
		r->rejected++;
		tg_warn("replay: rejected a request: %s", err);
		h = json_pack("{s:i,s:s,s:s}", "v", 1, "type", "error", "error", err);
		goto send;
	}
	r->nalerts = 0;
	r->last_seq = 0;
	n = tg_store_alerts_range(r->store, rq.from_seq, rq.to_seq, rq.has_tag ? rq.tag : NULL,
	    rq.limit, collect, r, err, sizeof(err));
	if (n < 0) {
		r->rejected++;
		tg_err("replay: %s", err);
		h = json_pack("{s:i,s:s,s:s}", "v", 1, "type", "error", "error", "store error");
		goto send;
	}
	r->answered++;
	/* more: the limit cut the answer short; the client asks again from last+1. */
	h = json_pack("{s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:b}", "v", 1, "type", "replay", "epoch",
	    r->epoch, "from_seq", (json_int_t)rq.from_seq, "count", (json_int_t)r->nalerts,
	    "newest_seq", (json_int_t)newest, "oldest_seq", (json_int_t)oldest, "more",
	    (size_t)n == rq.limit && r->last_seq < (rq.to_seq ? rq.to_seq : newest));
	if (h && r->nalerts)
		json_object_set_new(h, "last_seq", json_integer((json_int_t)r->last_seq));
send:
	header = h ? json_dumps(h, JSON_COMPACT) : NULL;
	json_decref(h);
	send_reply(r, env, nenv, header ? header : "{\"v\":1,\"type\":\"error\"}");
	free(header);
}

static void
drain(struct tg_replay *r)
{
	if (r->draining)
		return;
	r->draining = true;
	for (;;) {
		int events = 0, more = 1;
		size_t sz = sizeof(events), nenv = 0;
		zmq_msg_t env[MAX_ENVELOPE], body;
		bool bad = false;

		if (zmq_getsockopt(r->sock, ZMQ_EVENTS, &events, &sz) != 0 ||
		    !(events & ZMQ_POLLIN))
			break;
		/* Envelope: the identity, and the empty delimiter of a REQ client. */
		zmq_msg_init(&body);
		while (more) {
			zmq_msg_t part;
			zmq_msg_init(&part);
			if (zmq_msg_recv(&part, r->sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&part);
				bad = true;
				break;
			}
			more = zmq_msg_more(&part);
			if (more && nenv < MAX_ENVELOPE && (nenv == 0 || zmq_msg_size(&part) == 0)) {
				env[nenv++] = part;
				continue;
			}
			if (!more && zmq_msg_size(&body) == 0 && nenv >= 1) {
				zmq_msg_close(&body);
				body = part;
				continue;
			}
			bad = true; /* too many frames: read and drop the rest */
			zmq_msg_close(&part);
		}
		if (bad || nenv == 0) {
			r->rejected++;
			tg_warn("replay: rejected a malformed request");
			if (nenv > 0) {
				r->nalerts = 0;
				send_reply(r, env, nenv,
				    "{\"v\":1,\"type\":\"error\",\"error\":\"one JSON frame expected\"}");
			}
		} else {
			answer(r, env, nenv, zmq_msg_data(&body), zmq_msg_size(&body));
		}
		for (size_t i = 0; i < nenv; i++)
			zmq_msg_close(&env[i]);
		zmq_msg_close(&body);
	}
	r->draining = false;
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	drain(arg);
}

struct tg_replay *
tg_replay_new(struct event_base *base, void *zctx, const char *endpoint, struct tg_store *store,
    const char *epoch, char *err, size_t errlen)
{
	struct tg_replay *r = tg_calloc(1, sizeof(*r));
	int fd, zero = 0, hwm = 100;
	size_t sz = sizeof(fd);

	r->store = store;
	snprintf(r->epoch, sizeof(r->epoch), "%s", epoch);
	r->alerts = tg_calloc(TG_REPLAY_MAX_LIMIT, sizeof(zmq_msg_t));
	r->sock = zmq_socket(zctx, ZMQ_ROUTER);
	if (r->sock == NULL) {
		snprintf(err, errlen, "replay: cannot create a ROUTER socket");
		goto fail;
	}
	zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(r->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(r->sock, ZMQ_MAXMSGSIZE, &(int64_t){ TG_REPLAY_MAX_REQUEST * 4 },
	    sizeof(int64_t));
	if (tg_curve_server_secure_ctx(zctx, r->sock, err, errlen) != 0)
		goto fail;
	if (zmq_bind(r->sock, endpoint) != 0) {
		snprintf(err, errlen, "cannot bind replay endpoint %s: %s", endpoint,
		    zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (zmq_getsockopt(r->sock, ZMQ_FD, &fd, &sz) != 0) {
		snprintf(err, errlen, "replay: cannot get ZMQ_FD");
		goto fail;
	}
	r->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, r);
	if (r->ev == NULL || event_add(r->ev, NULL) != 0) {
		snprintf(err, errlen, "replay: cannot watch the socket");
		goto fail;
	}
	return r;
fail:
	tg_replay_free(r);
	return NULL;
}

void
tg_replay_free(struct tg_replay *r)
{
	if (r == NULL)
		return;
	if (r->ev)
		event_free(r->ev);
	if (r->sock)
		zmq_close(r->sock);
	free(r->alerts);
	free(r);
}

void
tg_replay_counts(const struct tg_replay *r, unsigned long long *answered,
    unsigned long long *rejected)
{
	*answered = r->answered;
	*rejected = r->rejected;
}

/*
 * tigris-worker: a stateless classifier process. Connects a DEALER socket to the
 * daemon's worker endpoint, says HELLO with its credit (again every second, which
 * doubles as its heartbeat), and answers every ITEM with a RESULT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/curvekeys.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../proto/control.h"
#include "../proto/item.h"
#include "../proto/result.h"
#include "classify.h"

#define HELLO_EVERY_MS 1000
#define DAEMON_SILENCE_MS 3500 /* the daemon's heartbeat comes every second */
#define MAX_MSG_BYTES (1u << 20)

/* Set by the signal handlers: the only process-wide state of the worker. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

struct worker {
	void *sock;
	struct tg_classifier *clf;
	struct tg_hello hello;
	struct tg_result result;
	uint64_t done;
	int64_t last_heard_ms; /* anything from the daemon, heartbeats included */
};

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

/* SIGHUP: load the taxonomy again; keep the running one if the new one is broken. */
static void
reload_taxonomy(struct worker *w, const char *path)
{
	static char err[65536];
	struct tg_classifier *clf = tg_classifier_load(path, err, sizeof(err));

	if (clf == NULL) {
		tg_err("reload: taxonomy %s rejected, keeping version %s:\n%s", path,
		    tg_classifier_version(w->clf), err);
		return;
	}
	tg_info("reload: taxonomy %s version %s (was %s)", path, tg_classifier_version(clf),
	    tg_classifier_version(w->clf));
	tg_classifier_free(w->clf);
	w->clf = clf;
}

static void
usage(FILE *f)
{
	fputs("usage: tigris-worker --connect ENDPOINT --taxonomy FILE [--credit N]"
	      " [--log-level LEVEL]\n"
	      "                     [--curve-server-key Z85|FILE --curve-key FILE]\n",
	    f);
}

static void
handle_item(struct worker *w, const struct tg_wire_msg *m)
{
	struct tg_item_view v;
	struct tg_classify_input in;
	uint64_t delivery;
	char err[512];

	/* A view into the frames: validated like a decode, nothing copied. */
	if (tg_item_decode_view(m, 0, &delivery, &v, err, sizeof(err)) != 0) {
		tg_warn("rejected an item message: %s", err);
		return;
	}
	tg_classify_input_from_view(&in, &v);
	if (tg_classify(w->clf, &in, &w->result, err, sizeof(err)) != 0) {
		/* Answer anyway, untagged, so that the item is not stuck. */
		tg_warn("item %.*s: classification failed: %s", (int)v.id_len, v.id, err);
		tg_result_reset(&w->result);
		snprintf(w->result.taxonomy, sizeof(w->result.taxonomy), "%s",
		    tg_classifier_version(w->clf));
	}
	if (tg_result_send(w->sock, NULL, 0, delivery, &w->result) != 0)
		tg_warn("cannot send a result: %s", zmq_strerror(zmq_errno()));
	w->done++;
}

static void
drain(struct worker *w)
{
	struct tg_wire_msg m;
	char err[256];

	for (;;) {
		int rc = tg_wire_recv(w->sock, &m, MAX_MSG_BYTES, err, sizeof(err));
		if (rc == 0)
			return;
		w->last_heard_ms = tg_now_mono_ms();
		if (rc < 0) {
			tg_warn("rejected a message: %s", err);
			continue;
		}
		switch (tg_wire_check_header(&m, 0, err, sizeof(err))) {
		case TG_WIRE_ITEM:
			handle_item(w, &m);
			break;
		case TG_WIRE_HEARTBEAT:
			break;
		default:
			tg_warn("rejected a message: %s", err[0] ? err : "unexpected type");
			break;
		}
		tg_wire_msg_close(&m);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "taxonomy", required_argument, NULL, 't' },
		{ "credit", required_argument, NULL, 'n' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "curve-server-key", required_argument, NULL, 'S' },
		{ "curve-key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *endpoint = NULL, *taxonomy = NULL, *curve_server = NULL, *curve_key = NULL;
	struct worker w;
	struct sigaction sa;
	enum tg_log_level level;
	void *ctx = NULL;
	char err[8192];
	long credit = 32;
	int ch, zero = 0, rc = 1;
	int64_t next_hello = 0;

	memset(&w, 0, sizeof(w));
	tg_log_set_ident("tigris-worker");
	while ((ch = getopt_long(argc, argv, "c:t:n:l:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			endpoint = optarg;
			break;
		case 't':
			taxonomy = optarg;
			break;
		case 'n':
			if (tg_parse_long(optarg, 1, TG_HELLO_MAX_CREDIT, &credit) != 0) {
				fprintf(stderr, "tigris-worker: --credit must be 1..%d\n",
				    TG_HELLO_MAX_CREDIT);
				return 2;
			}
			break;
		case 'l':
			if (tg_log_parse_level(optarg, &level) != 0) {
				fprintf(stderr, "tigris-worker: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			tg_log_set_level(level);
			break;
		case 'S':
			curve_server = optarg;
			break;
		case 'K':
			curve_key = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (endpoint == NULL || taxonomy == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	w.clf = tg_classifier_load(taxonomy, err, sizeof(err));
	if (w.clf == NULL) {
		tg_err("cannot load the taxonomy:\n%s", err);
		return 2;
	}
	w.hello.credit = (uint32_t)credit;
	w.hello.pid = (uint32_t)getpid();
	ctx = zmq_ctx_new();
	w.sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
	if (w.sock == NULL) {
		tg_err("cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
		goto out;
	}
	zmq_setsockopt(w.sock, ZMQ_LINGER, &zero, sizeof(zero));
	if (tg_curvekeys_client_setup(w.sock, curve_server, curve_key, err, sizeof(err)) != 0) {
		tg_err("curve: %s", err);
		goto out;
	}
	if (zmq_connect(w.sock, endpoint) != 0) {
		tg_err("cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
		goto out;
	}
	tg_info("connected to %s (taxonomy %s, credit %ld)", endpoint,
	    tg_classifier_version(w.clf), credit);
	while (!stop_requested) {
		zmq_pollitem_t pi = { w.sock, 0, ZMQ_POLLIN, 0 };
		int64_t now = tg_now_mono_ms();
		long wait;

		if (reload_requested) {
			reload_requested = 0;
			reload_taxonomy(&w, taxonomy);
		}
		if (w.last_heard_ms && now - w.last_heard_ms > DAEMON_SILENCE_MS) {
			/* A half-open connection or a daemon that went away: connect
			 * again and say HELLO, so a restarted daemon gets us back. */
			tg_warn("the daemon at %s has been silent for %lld ms; reconnecting",
			    endpoint, (long long)(now - w.last_heard_ms));
			zmq_disconnect(w.sock, endpoint);
			zmq_connect(w.sock, endpoint);
			w.last_heard_ms = 0;
			next_hello = now;
		}
		if (now >= next_hello) {
			if (tg_hello_send(w.sock, NULL, 0, &w.hello) != 0 && zmq_errno() != EAGAIN)
				tg_warn("cannot send HELLO: %s", zmq_strerror(zmq_errno()));
			next_hello = now + HELLO_EVERY_MS;
		}
		wait = (long)(next_hello - now);
		if (zmq_poll(&pi, 1, wait) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			tg_err("poll failed: %s", zmq_strerror(zmq_errno()));
			goto out;
		}
		if (pi.revents & ZMQ_POLLIN)
			drain(&w);
	}
	tg_info("stopping after %llu item(s)", (unsigned long long)w.done);
	rc = 0;
out:
	if (w.sock)
		zmq_close(w.sock);
	if (ctx)
		zmq_ctx_term(ctx);
	tg_classifier_free(w.clf);
	return rc;
}

/*
 * A counting ZeroMQ subscriber for the pipeline benchmarks: subscribes to "all."
 * on the daemon's publish endpoint and counts alerts until it has the expected
 * number, or alerts stop coming, or time runs out. With --out it also decodes
 * each alert and writes "item_id recv_us published_ms fetched_ms" per line.
 * Prints one JSON line with the count and the first and last receipt times.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	stop_requested = 1;
}

static void
usage(void)
{
	fputs("usage: bench_sub --connect EP [--expect N] [--timeout S] [--idle S]"
	      " [--out FILE] [--ready FILE]\n",
	    stderr);
}

/* Decode one alert and write its line; returns 0, or -1 when it is not an alert. */
static int
record(FILE *out, const char *json, size_t len, int64_t recv_us)
{
	json_t *a = json_loadb(json, len, 0, NULL), *item;
	const char *id;
	int rc = -1;

	if (a == NULL)
		return -1;
	item = json_object_get(a, "item");
	id = json_string_value(json_object_get(item, "id"));
	if (id && json_is_integer(json_object_get(a, "published_ms"))) {
		fprintf(out, "%s %lld %lld %lld\n", id, (long long)recv_us,
		    (long long)json_integer_value(json_object_get(a, "published_ms")),
		    (long long)json_integer_value(json_object_get(item, "fetched_ms")));
		rc = 0;
	}
	json_decref(a);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "expect", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "idle", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "ready", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *endpoint = NULL, *out_path = NULL, *ready = NULL;
	double timeout = 600, idle = 0;
	long long expect = 0, n = 0, bad = 0, topics_bad = 0;
	int64_t first_us = 0, last_us = 0, start_ns, last_ns;
	struct sigaction sa;
	void *ctx, *sub;
	FILE *out = NULL;
	int hwm = 0, ch;
	zmq_msg_t topic, body;

	while ((ch = getopt_long(argc, argv, "c:n:t:i:o:r:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			endpoint = optarg;
			break;
		case 'n':
			expect = strtoll(optarg, NULL, 10);
			break;
		case 't':
			timeout = strtod(optarg, NULL);
			break;
		case 'i':
			idle = strtod(optarg, NULL);
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (endpoint == NULL || optind != argc) {
		usage();
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (out_path && (out = fopen(out_path, "w")) == NULL) {
		fprintf(stderr, "bench_sub: cannot write %s\n", out_path);
		return 1;
	}
	ctx = zmq_ctx_new();
	sub = zmq_socket(ctx, ZMQ_SUB);
	zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "all.", 4);
	if (zmq_connect(sub, endpoint) != 0) {
		fprintf(stderr, "bench_sub: cannot connect %s: %s\n", endpoint,
		    zmq_strerror(zmq_errno()));
		return 1;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (f)
			fclose(f);
	}
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	start_ns = last_ns = bench_now_ns();
	while (!stop_requested && (expect == 0 || n < expect)) {
		zmq_pollitem_t pi = { sub, 0, ZMQ_POLLIN, 0 };
		int64_t now = bench_now_ns();
		int rc;

		if ((double)(now - start_ns) / 1e9 > timeout)
			break;
		if (idle > 0 && n > 0 && (double)(now - last_ns) / 1e9 > idle)
			break;
		rc = zmq_poll(&pi, 1, 100);
		if (rc <= 0)
			continue;
		/* Drain everything waiting before polling again. */
		while (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) >= 0) {
			int64_t us = bench_wall_us();

			if (!zmq_msg_more(&topic) || zmq_msg_recv(&body, sub, 0) < 0) {
				bad++;
				continue;
			}
			while (zmq_msg_more(&body)) /* a longer message: drain it */
				zmq_msg_recv(&body, sub, 0);
			if (zmq_msg_size(&topic) != 4 || memcmp(zmq_msg_data(&topic), "all.", 4))
				topics_bad++;
			if (out && record(out, zmq_msg_data(&body), zmq_msg_size(&body), us) != 0)
				bad++;
			if (first_us == 0)
				first_us = us;
			last_us = us;
			n++;
			if (expect && n >= expect)
				break;
		}
		last_ns = bench_now_ns();
	}
	printf("{\"alerts\": %lld, \"bad\": %lld, \"bad_topics\": %lld, \"first_us\": %lld, "
	       "\"last_us\": %lld}\n",
	    n, bad, topics_bad, (long long)first_us, (long long)last_us);
	fflush(stdout);
	if (out)
		fclose(out);
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	zmq_close(sub);
	zmq_ctx_term(ctx);
	return 0;
}

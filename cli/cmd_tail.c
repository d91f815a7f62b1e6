/*
 * `tigris tail`: subscribe to tigrisd's alert stream and print each alert, for a
 * person (default) or as one JSON object per line (--json).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/util.h"
#include "../proto/alert.h"
#include "commands.h"

#define RECENT 512 /* alerts remembered to print each once across topics */
#define MAX_TAGS_ARG 32

static volatile sig_atomic_t tail_stop;

static void
on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

static void
print_human(const struct tg_alert *a, bool color)
{
	const struct tg_item *it = &a->item;
	char when[21] = "";
	time_t t = (time_t)(a->published_ms / 1000);

	tg_time_format_rfc3339(t, when);
	printf("%s#%llu%s %s  [%s] %s\n", color ? "\033[1m" : "", (unsigned long long)a->seq,
	    color ? "\033[0m" : "", when, it->feed ? it->feed : "?", it->title ? it->title : "");
	printf("    ");
	if (a->result.ntags == 0)
		printf("(no tags)");
	for (uint32_t i = 0; i < a->result.ntags; i++)
		printf("%s%s%s ", color ? "\033[36m" : "", a->result.tags[i].name,
		    color ? "\033[0m" : "");
	if (a->result.relevant)
		printf(" %s* relevant%s", color ? "\033[33m" : "", color ? "\033[0m" : "");
	printf("\n");
	if (it->link)
		printf("    %s\n", it->link);
	fflush(stdout);
}

int
tg_cmd_tail(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "tag", required_argument, NULL, 't' },
		{ "relevant", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *endpoint = "tcp://127.0.0.1:7700";
	const char *tags[MAX_TAGS_ARG];
	size_t ntags = 0, nrecent = 0;
	uint64_t recent[RECENT];
	bool json = false, relevant = false, color;
	long count = 0, printed = 0;
	void *ctx = NULL, *sub = NULL;
	struct sigaction sa;
	int ch, rc = 1;
	char topic[128];

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:t:rjn:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			endpoint = optarg;
			break;
		case 't':
			if (ntags == MAX_TAGS_ARG) {
				fprintf(stderr, "tigris tail: at most %d --tag\n", MAX_TAGS_ARG);
				return 2;
			}
			tags[ntags++] = optarg;
			break;
		case 'r':
			relevant = true;
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			if (tg_parse_long(optarg, 1, 1000000000L, &count) != 0) {
				fprintf(stderr, "tigris tail: --count must be a positive number\n");
				return 2;
			}
			break;
		case 'h':
			puts("usage: tigris tail [--connect EP] [--tag TAG]... [--relevant] [--json]"
			     " [--count N]\n\n"
			     "Prints alerts from tigrisd's publish endpoint (default "
			     "tcp://127.0.0.1:7700).\n"
			     "--tag TAG subscribes to one tag (repeatable); --relevant to relevant "
			     "items;\nwithout either, every item is printed once.");
			return 0;
		default:
			return 2;
		}
	}
	color = !json && isatty(fileno(stdout));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ctx = zmq_ctx_new();
	sub = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
	if (sub == NULL || zmq_connect(sub, endpoint) != 0) {
		fprintf(stderr, "tigris tail: cannot connect to %s: %s\n", endpoint,
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	if (ntags == 0 && !relevant)
		zmq_setsockopt(sub, ZMQ_SUBSCRIBE, TG_TOPIC_ALL, strlen(TG_TOPIC_ALL));
	if (relevant)
		zmq_setsockopt(sub, ZMQ_SUBSCRIBE, TG_TOPIC_RELEVANT, strlen(TG_TOPIC_RELEVANT));
	for (size_t i = 0; i < ntags; i++) {
		int n = tg_alert_tag_topic(tags[i], topic, sizeof(topic));
		if (n < 0) {
			fprintf(stderr, "tigris tail: tag name too long: %s\n", tags[i]);
			rc = 2;
			goto out;
		}
		zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, (size_t)n);
	}
	while (!tail_stop) {
		zmq_msg_t t, body;
		struct tg_alert a;
		char err[256];
		bool seen = false;
		int more = 0;
		size_t sz = sizeof(more);

		zmq_msg_init(&t);
		if (zmq_msg_recv(&t, sub, 0) < 0) {
			zmq_msg_close(&t);
			if (zmq_errno() == EINTR)
				continue;
			fprintf(stderr, "tigris tail: %s\n", zmq_strerror(zmq_errno()));
			goto out;
		}
		zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &sz);
		zmq_msg_close(&t);
		if (!more)
			continue;
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, sub, 0) < 0) {
			zmq_msg_close(&body);
			continue;
		}
		tg_alert_init(&a);
		if (tg_alert_decode(zmq_msg_data(&body), zmq_msg_size(&body), &a, err,
			sizeof(err)) != 0) {
			fprintf(stderr, "tigris tail: skipped an invalid alert: %s\n", err);
			zmq_msg_close(&body);
			continue;
		}
		for (size_t i = 0; i < nrecent && i < RECENT; i++)
			if (recent[i] == a.seq)
				seen = true;
		if (!seen) {
			recent[nrecent++ % RECENT] = a.seq;
			if (json) {
				fwrite(zmq_msg_data(&body), 1, zmq_msg_size(&body), stdout);
				fputc('\n', stdout);
				fflush(stdout);
			} else {
				print_human(&a, color);
			}
			printed++;
		}
		tg_alert_clear(&a);
		zmq_msg_close(&body);
		if (count && printed >= count)
			break;
	}
	rc = 0;
out:
	if (sub)
		zmq_close(sub);
	if (ctx)
		zmq_ctx_term(ctx);
	return rc;
}

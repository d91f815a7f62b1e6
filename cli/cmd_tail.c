/*
 * `tigris tail`: subscribe to tigrisd's alert stream and print each alert, for a
 * person (default) or as one JSON object per line (--json). The stream is
 * followed by sequence number: a gap (a late start, a pause, an overflowing
 * queue) or a new epoch is filled from the replay endpoint, so that every alert
 * is delivered once and in order; --from-seq N starts from history.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../common/curvekeys.h"
#include "../common/util.h"
#include "../proto/alert.h"
#include "commands.h"

#define MAX_TAGS_ARG 32
#define REPLAY_TIMEOUT_MS 3000
#define REPLAY_CHUNK 1000

static volatile sig_atomic_t tail_stop;

struct tail {
	void *ctx;
	void *sub;
	void *replay;            /* DEALER to the replay endpoint; NULL: none */
	const char *replay_ep;
	const char *curve_server_key, *curve_key; /* CURVE client keys; NULL: plaintext */
	const char *tags[MAX_TAGS_ARG];
	size_t ntags;
	bool relevant_only;
	bool json;
	bool color;
	char epoch[TG_EPOCH_MAX];
	uint64_t next;           /* next sequence number expected; 0: not known yet */
	long count;              /* stop after this many printed; 0: never */
	long printed;
	unsigned long long recovered, duplicates, unfilled;
};

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

static bool
wanted(const struct tail *t, const struct tg_alert *a)
{
	if (t->relevant_only && !a->result.relevant)
		return false;
	if (t->ntags == 0)
		return true;
	for (size_t i = 0; i < t->ntags; i++)
		if (tg_result_find(&a->result, t->tags[i]))
			return true;
	return false;
}

/* Print an alert (if it passes the filters) and move past its sequence number. */
static void
deliver(struct tail *t, const struct tg_alert *a, const char *json, size_t len)
{
	t->next = a->seq + 1;
	if (!wanted(t, a))
		return;
	if (t->json) {
		fwrite(json, 1, len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	} else {
		print_human(a, t->color);
	}
	t->printed++;
}

static void
replay_reconnect(struct tail *t)
{
	char err[512];
	int zero = 0;

	if (t->replay)
		zmq_close(t->replay);
	t->replay = zmq_socket(t->ctx, ZMQ_DEALER);
	if (t->replay == NULL)
		return;
	zmq_setsockopt(t->replay, ZMQ_LINGER, &zero, sizeof(zero));
	if (tg_curvekeys_client_setup(t->replay, t->curve_server_key, t->curve_key, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "tigris tail: %s\n", err);
		zmq_close(t->replay);
		t->replay = NULL;
		return;
	}
	if (zmq_connect(t->replay, t->replay_ep) != 0) {
		fprintf(stderr, "tigris tail: cannot connect to replay %s: %s\n", t->replay_ep,
		    zmq_strerror(zmq_errno()));
		zmq_close(t->replay);
		t->replay = NULL;
	}
}

/* Ask the replay endpoint for from..to (to 0: up to the newest) and deliver what
 * comes back, in order. Returns 0, or -1 when the endpoint did not answer. */
static int
replay_range(struct tail *t, uint64_t from, uint64_t to)
{
	while (!tail_stop && t->replay && (to == 0 || from <= to)) {
		char req[160], err[256];
		zmq_pollitem_t pi = { t->replay, 0, ZMQ_POLLIN, 0 };
		zmq_msg_t part;
		json_t *h = NULL;
		json_error_t jerr;
		bool more_parts, more_data = false;
		uint64_t last = 0;

		snprintf(req, sizeof(req),
		    "{\"v\":1,\"type\":\"replay\",\"from_seq\":%llu,\"to_seq\":%llu,\"limit\":%d}",
		    (unsigned long long)from, (unsigned long long)to, REPLAY_CHUNK);
		if (zmq_send(t->replay, req, strlen(req), 0) < 0 ||
		    zmq_poll(&pi, 1, REPLAY_TIMEOUT_MS) <= 0 || !(pi.revents & ZMQ_POLLIN)) {
			fprintf(stderr, "tigris tail: replay %s did not answer\n", t->replay_ep);
			replay_reconnect(t); /* forget the unanswered request */
			return -1;
		}
		zmq_msg_init(&part);
		zmq_msg_recv(&part, t->replay, 0);
		more_parts = zmq_msg_more(&part);
		h = json_loadb(zmq_msg_data(&part), zmq_msg_size(&part), 0, &jerr);
		zmq_msg_close(&part);
		if (h == NULL || strcmp(json_string_value(json_object_get(h, "type")) ?: "",
				     "replay") != 0) {
			fprintf(stderr, "tigris tail: replay refused: %s\n",
			    h ? json_string_value(json_object_get(h, "error")) ?: "?" : jerr.text);
			json_decref(h);
			while (more_parts) { /* drop the rest */
				zmq_msg_init(&part);
				zmq_msg_recv(&part, t->replay, 0);
				more_parts = zmq_msg_more(&part);
				zmq_msg_close(&part);
			}
			return -1;
		}
		more_data = json_is_true(json_object_get(h, "more"));
		if (json_is_string(json_object_get(h, "epoch")))
			snprintf(t->epoch, sizeof(t->epoch), "%s",
			    json_string_value(json_object_get(h, "epoch")));
		json_decref(h);
		while (more_parts) {
			struct tg_alert a;

			zmq_msg_init(&part);
			zmq_msg_recv(&part, t->replay, 0);
			more_parts = zmq_msg_more(&part);
			tg_alert_init(&a);
			if (tg_alert_decode(zmq_msg_data(&part), zmq_msg_size(&part), &a, err,
				sizeof(err)) != 0) {
				fprintf(stderr, "tigris tail: skipped an invalid replayed alert: %s\n",
				    err);
			} else {
				last = a.seq;
				if (t->next == 0 || a.seq >= t->next) {
					t->recovered++;
					deliver(t, &a, zmq_msg_data(&part), zmq_msg_size(&part));
				}
			}
			tg_alert_clear(&a);
			zmq_msg_close(&part);
			if (t->count && t->printed >= t->count)
				tail_stop = 1;
		}
		if (!more_data || last == 0)
			break;
		from = last + 1;
	}
	return 0;
}

/* One live alert: fill any gap before it from the replay endpoint, drop it if it
 * was delivered already, else deliver it. */
static void
on_live(struct tail *t, const struct tg_alert *a, const char *json, size_t len)
{
	if (t->epoch[0] && strcmp(t->epoch, a->epoch) != 0) {
		fprintf(stderr, "tigris tail: new epoch %s: the daemon starts its sequence again\n",
		    a->epoch);
		t->next = 1;
	}
	snprintf(t->epoch, sizeof(t->epoch), "%s", a->epoch);
	if (t->next == 0)
		t->next = a->seq;
	if (a->seq < t->next) {
		t->duplicates++;
		return;
	}
	if (a->seq > t->next) {
		uint64_t from = t->next;

		if (replay_range(t, from, a->seq - 1) != 0 || t->next < a->seq) {
			unsigned long long missing = a->seq - t->next;
			fprintf(stderr, "tigris tail: alerts %llu..%llu could not be recovered\n",
			    (unsigned long long)t->next, (unsigned long long)a->seq - 1);
			t->unfilled += missing;
		}
		if (tail_stop)
			return;
	}
	deliver(t, a, json, len);
}

/* A heartbeat names the newest sequence number: anything between the next one
 * expected and it was lost on the way and is fetched from replay. */
static void
on_heartbeat(struct tail *t, const void *data, size_t len)
{
	json_t *h = json_loadb(data, len, 0, NULL);
	const char *epoch = json_string_value(json_object_get(h, "epoch"));
	json_t *seqv = json_object_get(h, "seq");
	uint64_t seq;

	if (h == NULL || epoch == NULL || !json_is_integer(seqv) || json_integer_value(seqv) < 0) {
		json_decref(h);
		return;
	}
	seq = (uint64_t)json_integer_value(seqv);
	if (t->epoch[0] && strcmp(t->epoch, epoch) != 0) {
		fprintf(stderr, "tigris tail: new epoch %s: the daemon starts its sequence again\n",
		    epoch);
		t->next = 1;
	}
	snprintf(t->epoch, sizeof(t->epoch), "%s", epoch);
	json_decref(h);
	if (t->next == 0) {
		t->next = seq + 1; /* nothing asked for before now */
		return;
	}
	if (seq >= t->next && replay_range(t, t->next, seq) != 0)
		fprintf(stderr, "tigris tail: alerts %llu..%llu could not be recovered yet\n",
		    (unsigned long long)t->next, (unsigned long long)seq);
}

static int
parse_args(struct tail *t, int argc, char **argv, const char **endpoint, uint64_t *from_seq)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "replay", required_argument, NULL, 'p' },
		{ "no-replay", no_argument, NULL, 'P' },
		{ "from-seq", required_argument, NULL, 'f' },
		{ "tag", required_argument, NULL, 't' },
		{ "relevant", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "curve-server-key", required_argument, NULL, 'S' },
		{ "curve-key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:p:Pf:t:rjn:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*endpoint = optarg;
			break;
		case 'p':
			t->replay_ep = optarg;
			break;
		case 'P':
			t->replay_ep = NULL;
			break;
		case 'f':
			if (tg_parse_long(optarg, 1, 0x7fffffffffffffffL, &v) != 0) {
				fprintf(stderr, "tigris tail: --from-seq must be a positive number\n");
				return 2;
			}
			*from_seq = (uint64_t)v;
			break;
		case 't':
			if (t->ntags == MAX_TAGS_ARG) {
				fprintf(stderr, "tigris tail: at most %d --tag\n", MAX_TAGS_ARG);
				return 2;
			}
			t->tags[t->ntags++] = optarg;
			break;
		case 'r':
			t->relevant_only = true;
			break;
		case 'j':
			t->json = true;
			break;
		case 'n':
			if (tg_parse_long(optarg, 1, 1000000000L, &t->count) != 0) {
				fprintf(stderr, "tigris tail: --count must be a positive number\n");
				return 2;
			}
			break;
		case 'S':
			t->curve_server_key = optarg;
			break;
		case 'K':
			t->curve_key = optarg;
			break;
		case 'h':
			puts("usage: tigris tail [--connect EP] [--replay EP | --no-replay] "
			     "[--from-seq N]\n"
			     "                   [--tag TAG]... [--relevant] [--json] [--count N]\n"
			     "                   [--curve-server-key Z85|FILE --curve-key FILE]\n\n"
			     "Prints alerts from tigrisd's publish endpoint (default "
			     "tcp://127.0.0.1:7700).\n"
			     "Gaps in the sequence are filled from the replay endpoint (default\n"
			     "tcp://127.0.0.1:7702); --from-seq N starts from history.\n"
			     "--tag TAG keeps alerts with that tag (repeatable), --relevant the\n"
			     "relevant ones; --count N stops after N alerts.\n"
			     "With CURVE on in tigrisd, --curve-server-key gives its public key (or\n"
			     "its .pub file) and --curve-key this client's NAME.key (tigris keygen).");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tigris tail: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	return -1;
}

int
tg_cmd_tail(int argc, char **argv)
{
	const char *endpoint = "tcp://127.0.0.1:7700";
	struct tail t;
	struct sigaction sa;
	uint64_t from_seq = 0;
	char cerr[512];
	int rc;

	memset(&t, 0, sizeof(t));
	t.replay_ep = "tcp://127.0.0.1:7702";
	rc = parse_args(&t, argc, argv, &endpoint, &from_seq);
	if (rc >= 0)
		return rc;
	rc = 1;
	t.color = !t.json && isatty(fileno(stdout));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	t.ctx = zmq_ctx_new();
	t.sub = t.ctx ? zmq_socket(t.ctx, ZMQ_SUB) : NULL;
	if (t.sub && tg_curvekeys_client_setup(t.sub, t.curve_server_key, t.curve_key, cerr,
			 sizeof(cerr)) != 0) {
		fprintf(stderr, "tigris tail: %s\n", cerr);
		goto out;
	}
	if (t.sub == NULL || zmq_connect(t.sub, endpoint) != 0) {
		fprintf(stderr, "tigris tail: cannot connect to %s: %s\n", endpoint,
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	/* Every alert, so that the sequence shows gaps (filters apply here), and the
	 * heartbeats, which show a gap at the end of the stream. */
	zmq_setsockopt(t.sub, ZMQ_SUBSCRIBE, TG_TOPIC_ALL, strlen(TG_TOPIC_ALL));
	zmq_setsockopt(t.sub, ZMQ_SUBSCRIBE, TG_TOPIC_HEARTBEAT, strlen(TG_TOPIC_HEARTBEAT));
	if (t.replay_ep)
		replay_reconnect(&t);
	if (from_seq) {
		t.next = from_seq;
		if (replay_range(&t, from_seq, 0) != 0)
			fprintf(stderr, "tigris tail: history from %llu unavailable\n",
			    (unsigned long long)from_seq);
	}
	while (!tail_stop && !(t.count && t.printed >= t.count)) {
		zmq_msg_t topic, body;
		struct tg_alert a;
		char err[256];
		bool is_hb;

		zmq_msg_init(&topic);
		if (zmq_msg_recv(&topic, t.sub, 0) < 0) {
			zmq_msg_close(&topic);
			if (zmq_errno() == EINTR)
				continue;
			fprintf(stderr, "tigris tail: %s\n", zmq_strerror(zmq_errno()));
			goto out;
		}
		if (!zmq_msg_more(&topic)) {
			zmq_msg_close(&topic);
			continue;
		}
		is_hb = zmq_msg_size(&topic) == strlen(TG_TOPIC_HEARTBEAT) &&
		    memcmp(zmq_msg_data(&topic), TG_TOPIC_HEARTBEAT, zmq_msg_size(&topic)) == 0;
		zmq_msg_close(&topic);
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, t.sub, 0) < 0) {
			zmq_msg_close(&body);
			continue;
		}
		if (is_hb) {
			on_heartbeat(&t, zmq_msg_data(&body), zmq_msg_size(&body));
			zmq_msg_close(&body);
			continue;
		}
		tg_alert_init(&a);
		if (tg_alert_decode(zmq_msg_data(&body), zmq_msg_size(&body), &a, err,
			sizeof(err)) != 0)
			fprintf(stderr, "tigris tail: skipped an invalid alert: %s\n", err);
		else
			on_live(&t, &a, zmq_msg_data(&body), zmq_msg_size(&body));
		tg_alert_clear(&a);
		zmq_msg_close(&body);
	}
	rc = 0;
out:
	fprintf(stderr,
	    "tigris tail: %ld alert(s) printed, %llu recovered through replay, %llu duplicate(s) "
	    "dropped, %llu unrecovered\n",
	    t.printed, t.recovered, t.duplicates, t.unfilled);
	if (t.replay)
		zmq_close(t.replay);
	if (t.sub)
		zmq_close(t.sub);
	if (t.ctx)
		zmq_ctx_term(t.ctx);
	return rc;
}

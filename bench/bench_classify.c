/*
 * Classifier throughput on JSON lines {"id","title","body","categories"} in one
 * thread, three ways: "scan" (tg_classify alone on decoded text), "wire" (what a
 * worker does per item: receive ITEM frames, decode, classify, send the RESULT,
 * over an inproc ZeroMQ pair) and "json" (what `tigris classify` does per line:
 * JSON decode, classify, JSON encode, write). Prints one JSON line.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "../common/util.h"
#include "../proto/item.h"
#include "../proto/result.h"
#include "../proto/wire.h"
#include "../workers/classify.h"
#include "bench.h"

#define MAX_RUNS 64

struct corpus {
	char **lines; /* JSON text of each line (NUL-terminated, no newline) */
	size_t *line_len;
	struct tg_item *items;
	char **cats;  /* categories joined by '\n' */
	size_t n;
	size_t json_bytes; /* input JSON bytes, newlines included */
	size_t text_bytes; /* title + body + categories bytes scanned */
};

struct stats {
	double items_s[MAX_RUNS];
	double mb_s[MAX_RUNS];      /* of the mode's input: JSON bytes, or text for scan/wire */
	double text_mb_s[MAX_RUNS]; /* of text scanned */
	size_t relevant;
};

static int
load_corpus(const char *path, size_t limit, struct corpus *c)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;

	memset(c, 0, sizeof(*c));
	if (f == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0 && (limit == 0 || c->n < limit)) {
		json_error_t jerr;
		json_t *o, *arr, *v;
		struct tg_buf cats;
		size_t i;

		if (c->n == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			c->lines = tg_realloc(c->lines, alloc * sizeof(*c->lines));
			c->line_len = tg_realloc(c->line_len, alloc * sizeof(*c->line_len));
			c->items = tg_realloc(c->items, alloc * sizeof(*c->items));
			c->cats = tg_realloc(c->cats, alloc * sizeof(*c->cats));
		}
		c->json_bytes += (size_t)n;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		o = json_loadb(line, (size_t)n, 0, &jerr);
		if (o == NULL) {
			fprintf(stderr, "bench_classify: %s:%zu: %s\n", path, c->n + 1, jerr.text);
			fclose(f);
			free(line);
			return -1;
		}
		tg_item_init(&c->items[c->n]);
		c->items[c->n].id = tg_strdup(json_string_value(json_object_get(o, "id")));
		c->items[c->n].feed = tg_strdup("bench");
		c->items[c->n].title = tg_strdup(json_string_value(json_object_get(o, "title")));
		c->items[c->n].summary = tg_strdup(json_string_value(json_object_get(o, "body")));
		tg_buf_init(&cats, 0);
		arr = json_object_get(o, "categories");
		json_array_foreach(arr, i, v) {
			tg_item_add_category(&c->items[c->n], json_string_value(v));
			if (cats.len)
				tg_buf_append(&cats, "\n", 1);
			tg_buf_append_str(&cats, json_string_value(v));
		}
		c->cats[c->n] = cats.data ? tg_buf_take(&cats) : tg_strdup("");
		c->text_bytes += strlen(c->items[c->n].title) + strlen(c->items[c->n].summary) +
		    strlen(c->cats[c->n]);
		c->lines[c->n] = tg_strndup(line, (size_t)n);
		c->line_len[c->n] = (size_t)n;
		c->n++;
		json_decref(o);
	}
	free(line);
	fclose(f);
	return c->n ? 0 : -1;
}

static void
free_corpus(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->lines[i]);
		free(c->cats[i]);
		tg_item_clear(&c->items[i]);
	}
	free(c->lines);
	free(c->line_len);
	free(c->items);
	free(c->cats);
	memset(c, 0, sizeof(*c));
}

/* tg_classify alone. */
static int
run_scan(struct tg_classifier *clf, const struct corpus *c, struct tg_result *r, size_t *rel)
{
	char err[512];

	*rel = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct tg_item *it = &c->items[i];
		struct tg_classify_input in = {
			.title = it->title, .title_len = strlen(it->title),
			.summary = it->summary, .summary_len = strlen(it->summary),
			.categories = c->cats[i], .categories_len = strlen(c->cats[i]),
		};
		if (tg_classify(clf, &in, r, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_classify: %s\n", err);
			return -1;
		}
		*rel += r->relevant;
	}
	return 0;
}

/* Per item as the worker: receive the ITEM, decode it (a view into the frames),
 * classify, send the RESULT. The ITEMs are queued (untimed) before, the RESULTs
 * drained and checked (untimed) after. */
static int
run_wire(struct tg_classifier *clf, const struct corpus *c, void *daemon_side, void *worker_side,
    struct tg_result *r, int64_t *elapsed_ns, int64_t *cpu_ns, size_t *rel)
{
	char err[512];
	int64_t t0, c0;
	size_t got = 0;

	*rel = 0;
	for (size_t i = 0; i < c->n; i++)
		if (tg_item_send(daemon_side, NULL, 0, i + 1, &c->items[i]) != 0) {
			fprintf(stderr, "bench_classify: item send: %s\n", zmq_strerror(zmq_errno()));
			return -1;
		}
	t0 = bench_now_ns();
	c0 = bench_thread_cpu_ns();
	while (got < c->n) {
		struct tg_wire_msg m;
		struct tg_item_view v;
		struct tg_classify_input in;
		uint64_t delivery;

		if (tg_wire_recv(worker_side, &m, 1u << 20, err, sizeof(err)) != 1) {
			fprintf(stderr, "bench_classify: recv: %s\n", err);
			return -1;
		}
		if (tg_wire_check_header(&m, 0, err, sizeof(err)) != TG_WIRE_ITEM ||
		    tg_item_decode_view(&m, 0, &delivery, &v, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_classify: decode: %s\n", err);
			return -1;
		}
		tg_classify_input_from_view(&in, &v);
		if (tg_classify(clf, &in, r, err, sizeof(err)) != 0 ||
		    tg_result_send(worker_side, NULL, 0, delivery, r) != 0) {
			fprintf(stderr, "bench_classify: classify/send failed: %s\n", err);
			return -1;
		}
		*rel += r->relevant;
		tg_wire_msg_close(&m);
		got++;
	}
	*elapsed_ns = bench_now_ns() - t0;
	*cpu_ns = bench_thread_cpu_ns() - c0;
	for (size_t i = 0; i < c->n; i++) {
		struct tg_wire_msg m;
		uint64_t delivery;

		if (tg_wire_recv(daemon_side, &m, 0, err, sizeof(err)) != 1 ||
		    tg_result_decode(&m, 0, &delivery, r, err, sizeof(err)) != 0 ||
		    delivery != i + 1) {
			fprintf(stderr, "bench_classify: result %zu: %s\n", i, err);
			return -1;
		}
		tg_wire_msg_close(&m);
	}
	return 0;
}

/* Per line as `tigris classify`: decode the JSON line, classify, encode the
 * output line ({"id","tags","relevant","taxonomy","evidence"}) and write it. */
static int
run_json(struct tg_classifier *clf, const struct corpus *c, FILE *out, struct tg_result *r,
    size_t *rel)
{
	struct tg_buf cats;
	char err[512];

	*rel = 0;
	tg_buf_init(&cats, 4u << 20);
	for (size_t i = 0; i < c->n; i++) {
		json_error_t jerr;
		json_t *in, *o, *names, *full, *arr, *v;
		const char *id, *title, *body;
		struct tg_classify_input ci;
		size_t k;

		in = json_loadb(c->lines[i], c->line_len[i], JSON_REJECT_DUPLICATES, &jerr);
		if (in == NULL || !json_is_object(in)) {
			fprintf(stderr, "bench_classify: line %zu: %s\n", i + 1, jerr.text);
			return -1;
		}
		id = json_string_value(json_object_get(in, "id"));
		title = json_string_value(json_object_get(in, "title"));
		body = json_string_value(json_object_get(in, "body"));
		title = title ? title : "";
		body = body ? body : "";
		tg_buf_reset(&cats);
		arr = json_object_get(in, "categories");
		json_array_foreach(arr, k, v) {
			if (!json_is_string(v))
				continue;
			if (cats.len)
				tg_buf_append(&cats, "\n", 1);
			tg_buf_append_str(&cats, json_string_value(v));
		}
		ci.title = title;
		ci.title_len = strlen(title);
		ci.summary = body;
		ci.summary_len = strlen(body);
		ci.categories = cats.data ? cats.data : "";
		ci.categories_len = cats.len;
		if (id == NULL || tg_classify(clf, &ci, r, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_classify: line %zu failed\n", i + 1);
			return -1;
		}
		*rel += r->relevant;
		o = json_object();
		names = json_array();
		full = tg_result_to_json(r);
		json_object_set_new(o, "id", json_string(id));
		for (uint32_t t = 0; t < r->ntags; t++)
			json_array_append_new(names, json_string(r->tags[t].name));
		json_object_set_new(o, "tags", names);
		json_object_set_new(o, "relevant", json_boolean(r->relevant));
		json_object_set_new(o, "taxonomy", json_string(r->taxonomy));
		json_object_set(o, "evidence", json_object_get(full, "tags"));
		json_decref(full);
		json_dumpf(o, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(o);
		json_decref(in);
	}
	fflush(out);
	tg_buf_free(&cats);
	return 0;
}

static void
print_stats(const char *mode, struct stats *s, size_t runs, bool last)
{
	printf("\"%s\": {\"items_s_runs\": ", mode);
	bench_print_array(stdout, s->items_s, runs, "%.0f");
	printf(", \"items_s\": %.0f, \"mb_s\": %.2f, \"text_mb_s\": %.2f, \"relevant\": %zu}%s",
	    bench_median(s->items_s, runs), bench_median(s->mb_s, runs),
	    bench_median(s->text_mb_s, runs), s->relevant, last ? "" : ", ");
}

static void
usage(void)
{
	fputs("usage: bench_classify --taxonomy FILE [--runs N] [--warmup N] [--limit ITEMS]"
	      " [--only scan|wire] ITEMS.jsonl\n",
	    stderr);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "taxonomy", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "limit", required_argument, NULL, 'l' },
		{ "only", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *taxonomy = NULL, *only = NULL;
	long runs = 5, warmup = 1, limit = 0;
	struct corpus c;
	struct tg_classifier *clf;
	struct tg_result *r = tg_malloc(sizeof(*r));
	struct stats scan, wire, js;
	void *zctx, *a, *b;
	FILE *devnull;
	int zero = 0, ch;
	char err[8192];

	while ((ch = getopt_long(argc, argv, "t:r:w:l:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			taxonomy = optarg;
			break;
		case 'r':
			runs = strtol(optarg, NULL, 10);
			break;
		case 'w':
			warmup = strtol(optarg, NULL, 10);
			break;
		case 'l':
			limit = strtol(optarg, NULL, 10);
			break;
		case 'o':
			only = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (taxonomy == NULL || optind != argc - 1 || runs < 1 || runs > MAX_RUNS || warmup < 0 ||
	    limit < 0) {
		usage();
		return 2;
	}
	if (load_corpus(argv[optind], (size_t)limit, &c) != 0) {
		fprintf(stderr, "bench_classify: cannot read %s\n", argv[optind]);
		return 1;
	}
	clf = tg_classifier_load(taxonomy, err, sizeof(err));
	if (clf == NULL) {
		fprintf(stderr, "bench_classify: %s: %s\n", taxonomy, err);
		return 1;
	}
	devnull = fopen("/dev/null", "w");
	zctx = zmq_ctx_new();
	a = zmq_socket(zctx, ZMQ_PAIR);
	b = zmq_socket(zctx, ZMQ_PAIR);
	zmq_setsockopt(a, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(a, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(b, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(b, ZMQ_RCVHWM, &zero, sizeof(zero));
	if (devnull == NULL || zmq_bind(a, "inproc://bench") != 0 ||
	    zmq_connect(b, "inproc://bench") != 0) {
		fprintf(stderr, "bench_classify: cannot set up /dev/null or the inproc pair\n");
		return 1;
	}
	memset(&scan, 0, sizeof(scan));
	memset(&wire, 0, sizeof(wire));
	memset(&js, 0, sizeof(js));
	for (long i = -warmup; i < runs; i++) {
		int64_t t0, c0, wall, cpu;
		double tmb = (double)c.text_bytes / 1e6, n = (double)c.n, s;
		size_t rel;

		/* scan */
		if (only != NULL && strcmp(only, "scan") != 0)
			goto wire;
		t0 = bench_now_ns();
		c0 = bench_thread_cpu_ns();
		if (run_scan(clf, &c, r, &rel) != 0)
			return 1;
		cpu = bench_thread_cpu_ns() - c0;
		(void)t0;
		if (i >= 0) {
			s = (double)cpu / 1e9;
			scan.items_s[i] = n / s;
			scan.mb_s[i] = scan.text_mb_s[i] = tmb / s;
			scan.relevant = rel;
		}
		if (only != NULL)
			continue;
	wire:
		/* wire */
		if (run_wire(clf, &c, a, b, r, &wall, &cpu, &rel) != 0)
			return 1;
		if (i >= 0) {
			s = (double)cpu / 1e9;
			wire.items_s[i] = n / s;
			wire.mb_s[i] = wire.text_mb_s[i] = tmb / s;
			wire.relevant = rel;
		}
		if (only != NULL)
			continue;
		/* json */
		c0 = bench_thread_cpu_ns();
		if (run_json(clf, &c, devnull, r, &rel) != 0)
			return 1;
		cpu = bench_thread_cpu_ns() - c0;
		if (i >= 0) {
			s = (double)cpu / 1e9;
			js.items_s[i] = n / s;
			js.mb_s[i] = (double)c.json_bytes / 1e6 / s;
			js.text_mb_s[i] = tmb / s;
			js.relevant = rel;
		}
	}
	printf("{\"items\": %zu, \"json_bytes\": %zu, \"text_bytes\": %zu, "
	       "\"avg_item_text_bytes\": %.0f, \"runs\": %ld, \"warmup\": %ld, ",
	    c.n, c.json_bytes, c.text_bytes, (double)c.text_bytes / (double)c.n, runs, warmup);
	print_stats("scan", &scan, (size_t)runs, false);
	print_stats("wire", &wire, (size_t)runs, false);
	print_stats("json", &js, (size_t)runs, true);
	printf("}\n");
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(zctx);
	fclose(devnull);
	tg_classifier_free(clf);
	free_corpus(&c);
	free(r);
	return 0;
}

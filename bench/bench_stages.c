/*
 * The daemon's per-item work, stage by stage, in one thread on the corpus feeds:
 * parse (tg_feed_parse), remember (tg_store_items_add, one transaction per feed),
 * classify (tg_classify, done by the workers), alert encode (tg_alert_encode) and
 * outbox (tg_store_alert_add, one transaction per 512 alerts as the daemon
 * batches them). Prints one JSON line with microseconds per item for each stage
 * (CPU time of this thread): which stage bounds the pipeline, and by how much.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../daemon/feed.h"
#include "../daemon/store.h"
#include "../proto/alert.h"
#include "../workers/classify.h"
#include "bench.h"

#define OUTBOX_BATCH 512

struct doc_set {
	struct tg_feed_doc *docs;
	size_t n;
	size_t items;
};

static int
xml_only(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0;
}

static double
us_per(int64_t cpu_ns, size_t n)
{
	return n ? (double)cpu_ns / 1e3 / (double)n : 0;
}

static void
usage(void)
{
	fputs("usage: bench_stages --taxonomy FILE --state DIR [--limit FILES] FEEDS_DIR\n", stderr);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "taxonomy", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *taxonomy = NULL, *state = NULL;
	struct dirent **ents = NULL;
	struct tg_feed_limits lim;
	struct tg_classifier *clf;
	struct tg_store *st;
	struct tg_result *results;
	struct tg_alert a;
	struct doc_set ds;
	char **json;
	size_t *json_len;
	int64_t *feed_ids;
	int64_t c0, t_parse, t_store, t_classify, t_encode, t_outbox;
	size_t k, json_bytes = 0, added = 0;
	long limit = 0;
	int n, ch;
	char err[8192], path[4096];

	while ((ch = getopt_long(argc, argv, "t:s:l:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			taxonomy = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'l':
			limit = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (taxonomy == NULL || state == NULL || optind != argc - 1) {
		usage();
		return 2;
	}
	n = scandir(argv[optind], &ents, xml_only, alphasort);
	if (n <= 0) {
		fprintf(stderr, "bench_stages: no .xml files in %s\n", argv[optind]);
		return 1;
	}
	if (limit > 0 && limit < n) {
		for (int i = (int)limit; i < n; i++)
			free(ents[i]);
		n = (int)limit;
	}
	clf = tg_classifier_load(taxonomy, err, sizeof(err));
	st = tg_store_open(state, err, sizeof(err));
	if (clf == NULL || st == NULL) {
		fprintf(stderr, "bench_stages: %s\n", err);
		return 1;
	}
	tg_feed_global_init();
	tg_feed_limits_default(&lim);
	lim.max_items = 100000;
	lim.max_bytes = 256u << 20;
	memset(&ds, 0, sizeof(ds));
	ds.docs = tg_calloc((size_t)n, sizeof(*ds.docs));
	feed_ids = tg_calloc((size_t)n, sizeof(*feed_ids));

	/* parse */
	t_parse = 0;
	for (int i = 0; i < n; i++) {
		size_t len;
		char *data;

		snprintf(path, sizeof(path), "%s/%s", argv[optind], ents[i]->d_name);
		data = bench_read_file(path, &len);
		if (data == NULL)
			return 1;
		c0 = bench_thread_cpu_ns();
		if (tg_feed_parse(data, len, "https://bench.example/feed", "application/xml",
			ents[i]->d_name, &lim, &ds.docs[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_stages: %s: %s\n", path, err);
			return 1;
		}
		t_parse += bench_thread_cpu_ns() - c0;
		ds.items += ds.docs[i].nitems;
		ds.n++;
		free(data);
		snprintf(path, sizeof(path), "https://bench.example/%s", ents[i]->d_name);
		{
			struct tg_store_feed sf;

			memset(&sf, 0, sizeof(sf));
			if (tg_store_feed_get(st, path, &sf, err, sizeof(err)) != 0) {
				fprintf(stderr, "bench_stages: %s\n", err);
				return 1;
			}
			feed_ids[i] = sf.id;
			tg_store_feed_clear(&sf);
		}
		free(ents[i]);
	}
	free(ents);

	/* remember: every item is new */
	c0 = bench_thread_cpu_ns();
	for (size_t i = 0; i < ds.n; i++) {
		int got = tg_store_items_add(st, feed_ids[i], ds.docs[i].items, ds.docs[i].nitems,
		    NULL, err, sizeof(err));
		if (got < 0) {
			fprintf(stderr, "bench_stages: items_add: %s\n", err);
			return 1;
		}
		added += (size_t)got;
	}
	t_store = bench_thread_cpu_ns() - c0;

	/* classify (the workers' share) */
	results = tg_calloc(ds.items, sizeof(*results));
	k = 0;
	c0 = bench_thread_cpu_ns();
	for (size_t i = 0; i < ds.n; i++)
		for (size_t j = 0; j < ds.docs[i].nitems; j++, k++) {
			const struct tg_item *it = &ds.docs[i].items[j];
			struct tg_classify_input in = {
				.title = it->title ? it->title : "",
				.title_len = it->title ? strlen(it->title) : 0,
				.summary = it->summary ? it->summary : "",
				.summary_len = it->summary ? strlen(it->summary) : 0,
				.categories = "", .categories_len = 0,
			};
			if (tg_classify(clf, &in, &results[k], err, sizeof(err)) != 0)
				return 1;
		}
	t_classify = bench_thread_cpu_ns() - c0;

	/* alert encode */
	json = tg_calloc(ds.items, sizeof(*json));
	json_len = tg_calloc(ds.items, sizeof(*json_len));
	tg_alert_init(&a);
	snprintf(a.epoch, sizeof(a.epoch), "%s", "1714550000-bench");
	k = 0;
	c0 = bench_thread_cpu_ns();
	for (size_t i = 0; i < ds.n; i++)
		for (size_t j = 0; j < ds.docs[i].nitems; j++, k++) {
			const struct tg_item *it = &ds.docs[i].items[j];

			a.seq = k + 1;
			tg_alert_make_id(it->feed ? it->feed : "", it->id, results[k].taxonomy,
			    a.alert_id);
			a.published_ms = tg_now_wall_ms();
			a.item = *it; /* borrowed, as the daemon does */
			tg_result_copy(&a.result, &results[k]);
			json[k] = tg_alert_encode(&a, &json_len[k]);
			if (json[k] == NULL)
				return 1;
			json_bytes += json_len[k];
		}
	t_encode = bench_thread_cpu_ns() - c0;
	tg_item_init(&a.item);

	/* outbox: batches of OUTBOX_BATCH alerts per transaction */
	k = 0;
	c0 = bench_thread_cpu_ns();
	for (size_t i = 0; i < ds.n; i++)
		for (size_t j = 0; j < ds.docs[i].nitems; j++, k++) {
			char tags[TG_RESULT_MAX_TAGS * TG_TAG_NAME_MAX + 2];
			char id[33];

			if (k % OUTBOX_BATCH == 0 && tg_store_begin(st, err, sizeof(err)) != 0)
				return 1;
			tg_alert_join_tags(&results[k], tags, sizeof(tags));
			tg_alert_make_id(ds.docs[i].items[j].feed ? ds.docs[i].items[j].feed : "",
			    ds.docs[i].items[j].id, results[k].taxonomy, id);
			if (tg_store_alert_add(st, k + 1, id, feed_ids[i], ds.docs[i].items[j].id, tags,
				tg_now_wall_ms(), json[k], json_len[k], err, sizeof(err)) != 0) {
				fprintf(stderr, "bench_stages: alert_add: %s\n", err);
				return 1;
			}
			if ((k + 1) % OUTBOX_BATCH == 0 && tg_store_commit(st, err, sizeof(err)) != 0)
				return 1;
		}
	if (k % OUTBOX_BATCH != 0 && tg_store_commit(st, err, sizeof(err)) != 0)
		return 1;
	t_outbox = bench_thread_cpu_ns() - c0;

	{
		double p = us_per(t_parse, ds.items), s = us_per(t_store, ds.items),
		       c = us_per(t_classify, ds.items), e = us_per(t_encode, ds.items),
		       o = us_per(t_outbox, ds.items), daemon = p + s + e + o;

		printf("{\"feeds\": %zu, \"items\": %zu, \"new\": %zu, \"alert_bytes_avg\": %.0f, "
		       "\"us_per_item\": {\"parse\": %.2f, \"store_items\": %.2f, \"classify\": %.2f, "
		       "\"alert_encode\": %.2f, \"store_outbox\": %.2f, \"daemon_sum\": %.2f}, "
		       "\"daemon_ceiling_items_s\": %.0f}\n",
		    ds.n, ds.items, added, (double)json_bytes / (double)(ds.items ? ds.items : 1), p,
		    s, c, e, o, daemon, daemon > 0 ? 1e6 / daemon : 0);
	}
	for (size_t i = 0; i < ds.items; i++)
		free(json[i]);
	free(json);
	free(json_len);
	free(results);
	for (size_t i = 0; i < ds.n; i++)
		tg_feed_doc_clear(&ds.docs[i]);
	free(ds.docs);
	free(feed_ids);
	tg_store_close(st);
	tg_classifier_free(clf);
	return 0;
}

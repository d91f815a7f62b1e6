/*
 * Feed parser throughput: tg_feed_parse over every feed of a directory, in one
 * thread, a few warm-up passes then several timed passes. Prints one JSON line:
 * MB/s and items/s per core (from the thread's CPU time) and by the wall clock.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/feed.h"
#include "bench.h"

#define MAX_RUNS 64

struct input {
	char *data;
	size_t len;
	char name[320];
};

static int
xml_only(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0;
}

static void
usage(void)
{
	fputs("usage: bench_parse [--runs N] [--warmup N] [--limit FILES] DIR\n", stderr);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct dirent **ents = NULL;
	struct input *in = NULL;
	struct tg_feed_limits lim;
	double cpu_mbs[MAX_RUNS], cpu_ips[MAX_RUNS], wall_mbs[MAX_RUNS], wall_ips[MAX_RUNS];
	long runs = 5, warmup = 2, limit = 0;
	size_t nin = 0, bytes = 0, items = 0, bozo = 0;
	int n, ch;
	char err[512], path[4096];

	while ((ch = getopt_long(argc, argv, "r:w:l:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			runs = strtol(optarg, NULL, 10);
			break;
		case 'w':
			warmup = strtol(optarg, NULL, 10);
			break;
		case 'l':
			limit = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc - 1 || runs < 1 || runs > MAX_RUNS || warmup < 0) {
		usage();
		return 2;
	}
	n = scandir(argv[optind], &ents, xml_only, alphasort);
	if (n <= 0) {
		fprintf(stderr, "bench_parse: no .xml files in %s\n", argv[optind]);
		return 1;
	}
	if (limit > 0 && limit < n)
		for (int i = (int)limit; i < n; i++)
			free(ents[i]);
	if (limit > 0 && limit < n)
		n = (int)limit;
	in = calloc((size_t)n, sizeof(*in));
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[optind], ents[i]->d_name);
		snprintf(in[i].name, sizeof(in[i].name), "%s", ents[i]->d_name);
		in[i].data = bench_read_file(path, &in[i].len);
		free(ents[i]);
		if (in[i].data == NULL) {
			fprintf(stderr, "bench_parse: cannot read %s\n", path);
			return 1;
		}
		bytes += in[i].len;
		nin++;
	}
	free(ents);

	tg_feed_global_init();
	tg_feed_limits_default(&lim);
	lim.max_items = 100000;
	lim.max_bytes = 256u << 20;
	for (long r = -warmup; r < runs; r++) {
		int64_t t0 = bench_now_ns(), c0 = bench_thread_cpu_ns(), t1, c1;
		size_t got = 0;

		for (size_t i = 0; i < nin; i++) {
			struct tg_feed_doc doc;

			memset(&doc, 0, sizeof(doc));
			if (tg_feed_parse(in[i].data, in[i].len, "https://bench.example/feed",
				"application/xml", in[i].name, &lim, &doc, err, sizeof(err)) != 0) {
				fprintf(stderr, "bench_parse: %s: %s\n", in[i].name, err);
				return 1;
			}
			got += doc.nitems;
			if (r == 0 && doc.bozo)
				bozo++;
			tg_feed_doc_clear(&doc);
		}
		t1 = bench_now_ns();
		c1 = bench_thread_cpu_ns();
		items = got;
		if (r >= 0) {
			double ws = (double)(t1 - t0) / 1e9, cs = (double)(c1 - c0) / 1e9;
			cpu_mbs[r] = (double)bytes / 1e6 / cs;
			cpu_ips[r] = (double)got / cs;
			wall_mbs[r] = (double)bytes / 1e6 / ws;
			wall_ips[r] = (double)got / ws;
		}
	}
	printf("{\"files\": %zu, \"bytes\": %zu, \"items\": %zu, \"bozo_files\": %zu, "
	       "\"runs\": %ld, \"warmup\": %ld, \"mb_s_cpu_runs\": ",
	    nin, bytes, items, bozo, runs, warmup);
	bench_print_array(stdout, cpu_mbs, (size_t)runs, "%.2f");
	printf(", \"mb_s\": %.2f, \"items_s\": %.0f, \"mb_s_wall\": %.2f, \"items_s_wall\": %.0f}\n",
	    bench_median(cpu_mbs, (size_t)runs), bench_median(cpu_ips, (size_t)runs),
	    bench_median(wall_mbs, (size_t)runs), bench_median(wall_ips, (size_t)runs));
	for (size_t i = 0; i < nin; i++)
		free(in[i].data);
	free(in);
	return 0;
}

/*
 * Hyperscan alone: how fast the matcher scans item text with the taxonomy's
 * literals, and how that speed falls as the number of distinct patterns grows.
 * The first N distinct patterns (in a fixed spread order) are compiled into one
 * block database over the text itself, and the title and body of every item
 * are scanned with a callback that only counts. Then the way workers/classify.c
 * matches: every literal alias spelled in word symbols (workers/lexicon.c) in
 * one database, and each normalised field encoded into symbols and scanned;
 * this gives the encoder's speed and the encoder's and scan's together. Both
 * are the ceiling of tg_classify, which adds normalising and scoring on top.
 * Prints one JSON line.
 */
#include <getopt.h>
#include <hs.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../workers/lexicon.h"
#include "../workers/normalize.h"
#include "../workers/taxonomy.h"
#include "bench.h"

#define MAX_STEPS 16

struct text {
	char **s;
	size_t *len;
	size_t n;       /* strings: title and body of each item */
	size_t items;
	size_t bytes;
};

struct pat {
	const char *regex;
	unsigned flags;
	uint64_t order;
};

static int
load_text(const char *path, struct text *t)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	if (f == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		static const char *const keys[] = { "title", "body" };
		json_t *o = json_loadb(line, (size_t)n, 0, NULL);

		if (o == NULL)
			continue;
		for (int k = 0; k < 2; k++) {
			const char *v = json_string_value(json_object_get(o, keys[k]));

			if (v == NULL || *v == '\0')
				continue;
			if (t->n == alloc) {
				alloc = alloc ? alloc * 2 : 4096;
				t->s = tg_realloc(t->s, alloc * sizeof(*t->s));
				t->len = tg_realloc(t->len, alloc * sizeof(*t->len));
			}
			t->s[t->n] = tg_strdup(v);
			t->len[t->n] = strlen(v);
			t->bytes += t->len[t->n];
			t->n++;
		}
		t->items++;
		json_decref(o);
	}
	free(line);
	fclose(f);
	return t->items ? 0 : -1;
}

static int
pat_cmp(const void *a, const void *b)
{
	const struct pat *x = a, *y = b;
	int d = strcmp(x->regex, y->regex);

	return d ? d : (int)x->flags - (int)y->flags;
}

static int
order_cmp(const void *a, const void *b)
{
	const struct pat *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* The distinct (regex, flags) pairs of the taxonomy, in a spread order (by a
 * hash of the regex) so that a prefix of N is a fair sample of every kind. */
static size_t
distinct_patterns(const struct tg_taxonomy *t, struct pat **out)
{
	struct pat *p = tg_calloc((size_t)t->npatterns + 1, sizeof(*p));
	size_t n = 0;

	for (int i = 0; i < t->npatterns; i++) {
		p[i].regex = t->patterns[i].regex;
		p[i].flags = t->patterns[i].flags;
	}
	qsort(p, (size_t)t->npatterns, sizeof(*p), pat_cmp);
	for (int i = 0; i < t->npatterns; i++) {
		if (n > 0 && pat_cmp(&p[n - 1], &p[i]) == 0)
			continue;
		p[n] = p[i];
		p[n].order = tg_hash64(0, p[n].regex, strlen(p[n].regex));
		n++;
	}
	qsort(p, n, sizeof(*p), order_cmp);
	*out = p;
	return n;
}

static int
count_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
    void *ctx)
{
	(*(size_t *)ctx)++;
	return 0;
}

/* Compile the first n patterns and scan the text runs times; the best run. */
static int
measure(const struct pat *p, size_t n, const struct text *t, int runs, double *mb_s,
    double *items_s, double *matches_per_item)
{
	const char **expr = tg_calloc(n, sizeof(*expr));
	unsigned *flags = tg_calloc(n, sizeof(*flags));
	unsigned *ids = tg_calloc(n, sizeof(*ids));
	hs_database_t *db = NULL;
	hs_scratch_t *scratch = NULL;
	hs_compile_error_t *cerr = NULL;
	double best = 0;
	size_t matches = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		expr[i] = p[i].regex;
		flags[i] = (p[i].flags & TG_TAX_CASELESS ? HS_FLAG_CASELESS : 0) |
		    (p[i].flags & TG_TAX_REGEX ? HS_FLAG_SOM_LEFTMOST : 0);
		ids[i] = (unsigned)i;
	}
	if (hs_compile_multi(expr, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &db, &cerr) !=
	    HS_SUCCESS) {
		fprintf(stderr, "bench_hs: compile: %s\n", cerr ? cerr->message : "?");
		hs_free_compile_error(cerr);
		goto out;
	}
	if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS)
		goto out;
	for (int r = 0; r < runs; r++) {
		int64_t c0 = bench_thread_cpu_ns();
		double s;

		matches = 0;
		for (size_t i = 0; i < t->n; i++)
			if (hs_scan(db, t->s[i], (unsigned)t->len[i], 0, scratch, count_match,
			    &matches) != HS_SUCCESS)
				goto out;
		s = (double)(bench_thread_cpu_ns() - c0) / 1e9;
		if (best == 0 || s < best)
			best = s;
	}
	*mb_s = (double)t->bytes / 1e6 / best;
	*items_s = (double)t->items / best;
	*matches_per_item = (double)matches / (double)t->items;
	rc = 0;
out:
	hs_free_scratch(scratch);
	hs_free_database(db);
	free(expr);
	free(flags);
	free(ids);
	return rc;
}

/* The literal aliases in symbols, the way workers/classify.c compiles them.
 * Returns the number of literals, or 0 on failure. */
static size_t
compile_symbols(const struct pat *p, size_t n, struct tg_lex **lxp, hs_database_t **db)
{
	struct tg_lex *lx = tg_lex_new();
	struct tg_lex_spellings sp = { 0 };
	char lit[2048], err[256];
	size_t nlit = 0;
	int *lexid = tg_calloc(n, sizeof(*lexid));
	hs_compile_error_t *cerr = NULL;
	int bad;

	for (size_t i = 0; i < n; i++) {
		size_t len = 0;

		lexid[i] = -1;
		if (p[i].flags & TG_TAX_REGEX || strlen(p[i].regex) >= sizeof(lit))
			continue;
		for (const char *r = p[i].regex; *r; r++) {
			if (*r == '\\' && r[1])
				r++;
			lit[len++] = *r;
		}
		lexid[i] = tg_lex_add(lx, lit, len, (p[i].flags & TG_TAX_PREFIX) != 0, err,
		    sizeof(err));
		nlit += lexid[i] >= 0;
	}
	if (tg_lex_build(lx, err, sizeof(err)) != 0 ||
	    tg_lex_spell_all(lx, lexid, (int)n, &sp, &bad, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_hs: %s\n", err);
		nlit = 0;
	} else if (hs_compile_lit_multi(sp.code, sp.flags, sp.id, sp.len, sp.n, HS_MODE_BLOCK,
	    NULL, db, &cerr) != HS_SUCCESS) {
		fprintf(stderr, "bench_hs: compile: %s\n", cerr ? cerr->message : "?");
		hs_free_compile_error(cerr);
		nlit = 0;
	}
	tg_lex_spellings_free(&sp);
	free(lexid);
	if (nlit == 0) {
		tg_lex_free(lx);
		lx = NULL;
	}
	*lxp = lx;
	return nlit;
}

/* Normalise (and with mode 1 encode, with mode 2 also scan) every string of t;
 * the thread CPU seconds of the best of runs. */
static double
time_symbols(const struct text *t, struct tg_lex *lx, hs_database_t *db, hs_scratch_t *scratch,
    int mode, int runs, size_t *matches)
{
	struct tg_norm nm;
	struct tg_lex_text code = { 0 };
	double best = 0;

	tg_norm_init(&nm, 0);
	for (int r = 0; r < runs; r++) {
		int64_t c0 = bench_thread_cpu_ns();
		double s;

		*matches = 0;
		for (size_t i = 0; i < t->n; i++) {
			if (tg_norm_run(&nm, t->s[i], t->len[i]) != 0)
				continue;
			if (mode >= 1 && tg_lex_encode(lx, nm.text, nm.len, &code) != 0)
				continue;
			if (mode >= 2 && code.len > 0)
				hs_scan(db, (const char *)code.code, (unsigned)code.len, 0, scratch,
				    count_match, matches);
		}
		s = (double)(bench_thread_cpu_ns() - c0) / 1e9;
		if (best == 0 || s < best)
			best = s;
	}
	tg_lex_text_free(&code);
	tg_norm_free(&nm);
	return best;
}

static int
measure_symbols(const struct pat *p, size_t n, const struct text *t, int runs)
{
	struct tg_lex *lx = NULL;
	hs_database_t *db = NULL;
	hs_scratch_t *scratch = NULL;
	size_t nlit = compile_symbols(p, n, &lx, &db), matches = 0;
	double norm, enc, full;
	int words, stems, syms;

	if (nlit == 0 || hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
		hs_free_database(db);
		tg_lex_free(lx);
		return -1;
	}
	norm = time_symbols(t, lx, db, scratch, 0, runs, &matches);
	enc = time_symbols(t, lx, db, scratch, 1, runs, &matches);
	full = time_symbols(t, lx, db, scratch, 2, runs, &matches);
	tg_lex_counts(lx, &words, &stems, &syms);
	printf("\"symbols\": {\"literals\": %zu, \"words\": %d, \"symbols\": %d, "
	       "\"normalise_mb_s\": %.1f, \"encode_mb_s\": %.1f, \"mb_s\": %.1f, "
	       "\"matches_per_item\": %.1f}", nlit, words, syms,
	    (double)t->bytes / 1e6 / norm,
	    enc > norm ? (double)t->bytes / 1e6 / (enc - norm) : 0,
	    full > norm ? (double)t->bytes / 1e6 / (full - norm) : 0,
	    (double)matches / (double)t->items);
	hs_free_scratch(scratch);
	hs_free_database(db);
	tg_lex_free(lx);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "taxonomy", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static const size_t steps[] = { 100, 250, 500, 1000, 2000 };
	const char *taxonomy = NULL;
	long runs = 3;
	struct tg_taxonomy *t;
	struct text text;
	struct pat *p;
	size_t np, ns = 0, sizes[MAX_STEPS];
	char err[8192];
	int ch;

	while ((ch = getopt_long(argc, argv, "t:r:", longopts, NULL)) != -1) {
		if (ch == 't')
			taxonomy = optarg;
		else if (ch == 'r')
			runs = strtol(optarg, NULL, 10);
		else
			goto usage;
	}
	if (taxonomy == NULL || optind != argc - 1 || runs < 1 || runs > 50)
		goto usage;
	t = tg_taxonomy_load(taxonomy, err, sizeof(err));
	if (t == NULL) {
		fprintf(stderr, "bench_hs: %s\n", err);
		return 1;
	}
	if (load_text(argv[optind], &text) != 0) {
		fprintf(stderr, "bench_hs: cannot read %s\n", argv[optind]);
		return 1;
	}
	np = distinct_patterns(t, &p);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] < np)
			sizes[ns++] = steps[i];
	sizes[ns++] = np;
	printf("{\"items\": %zu, \"text_bytes\": %zu, \"distinct_patterns\": %zu, \"steps\": [",
	    text.items, text.bytes, np);
	for (size_t i = 0; i < ns; i++) {
		double mb, is, mpi;

		if (measure(p, sizes[i], &text, (int)runs, &mb, &is, &mpi) != 0)
			return 1;
		printf("%s{\"patterns\": %zu, \"mb_s\": %.1f, \"items_s\": %.0f, "
		       "\"matches_per_item\": %.1f}", i ? ", " : "", sizes[i], mb, is, mpi);
	}
	printf("], ");
	if (measure_symbols(p, np, &text, (int)runs) != 0)
		return 1;
	printf("}\n");
	for (size_t i = 0; i < text.n; i++)
		free(text.s[i]);
	free(text.s);
	free(text.len);
	free(p);
	tg_taxonomy_free(t);
	return 0;
usage:
	fputs("usage: bench_hs --taxonomy FILE [--runs N] ITEMS.jsonl\n", stderr);
	return 2;
}

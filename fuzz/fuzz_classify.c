/*
 * libFuzzer target: the classifier's text path with the default taxonomy
 * (deploy/taxonomy.tgt under $TG_TOP, or the working directory): the input is
 * split into title, summary and categories, normalised, written in word
 * symbols, scanned and scored. Aborts when a result would be refused by the
 * protocol or an evidence span lies outside its field.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../workers/classify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tg_classifier *cls;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *top = getenv("TG_TOP");
	char path[1024], err[8192];

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/deploy/taxonomy.tgt", top ? top : ".");
	cls = tg_classifier_load(path, err, sizeof(err));
	if (cls == NULL) {
		fprintf(stderr, "fuzz_classify: %s\n", err);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_classify_input in = { 0 };
	struct tg_result r;
	const char *s = (const char *)data;
	size_t a, b, len[3];
	char err[256];

	/* The first two bytes say where the title and the summary end. */
	if (size < 2)
		return 0;
	a = size > 2 ? data[0] % (size - 1) : 0;
	b = a + (size > 2 + a ? (data[1] * 7u) % (size - 1 - a) : 0);
	s += 2;
	size -= 2;
	if (a > size)
		a = size;
	if (b > size)
		b = size;
	in.title = s;
	in.title_len = len[0] = a;
	in.summary = s + a;
	in.summary_len = len[1] = b - a;
	in.categories = s + b;
	in.categories_len = len[2] = size - b;
	if (tg_classify(cls, &in, &r, err, sizeof(err)) != 0)
		return 0;
	if (tg_result_check(&r, err, sizeof(err)) != 0)
		abort();
	for (uint32_t i = 0; i < r.ntags; i++)
		for (uint32_t k = 0; k < r.tags[i].nevidence; k++) {
			const struct tg_evidence *e = &r.tags[i].evidence[k];

			if (e->field >= 3 || e->start >= e->end || e->end > len[e->field])
				abort();
		}
	return 0;
}

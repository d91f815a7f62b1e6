/*
 * libFuzzer target: the taxonomy file parser and, when the input parses, the
 * whole classifier load (Hyperscan compile, from a temporary file as the worker
 * reads it) and one classification of a fixed text. With TG_FUZZ_PARSE_ONLY set
 * in the environment only the parser runs (a hundred times faster). A Hyperscan
 * compile costs far more than the parse and grows with the pattern count, so
 * only taxonomies of at most COMPILE_MAX_PATTERNS patterns are compiled: the
 * fuzzer's time goes to many small ones rather than a few large ones.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../workers/classify.h"
#include "../workers/taxonomy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COMPILE_MAX_PATTERNS 32

static int parse_only;

static const char title[] = "US strikes Iran-backed militia in Iraq after drone attack";
static const char summary[] = "Washington said the strike near Baghdad answered an attack on "
    "American troops; Tehran condemned it and talks on sanctions and the nuclear deal stalled.";
static const char cats[] = "World\nMiddle East";

static void
classify_file(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/tigris-fuzz-taxonomy-XXXXXX";
	struct tg_classify_input in = {
		title, sizeof(title) - 1, summary, sizeof(summary) - 1, cats, sizeof(cats) - 1,
	};
	struct tg_classifier *c;
	struct tg_result r;
	char err[4096];
	int fd = mkstemp(path);
	FILE *f;

	if (fd < 0)
		return;
	f = fdopen(fd, "wb");
	if (f == NULL) {
		close(fd);
		unlink(path);
		return;
	}
	fwrite(data, 1, size, f);
	fclose(f);
	c = tg_classifier_load(path, err, sizeof(err));
	unlink(path);
	if (c == NULL)
		return;
	if (tg_classify(c, &in, &r, err, sizeof(err)) == 0 && tg_result_check(&r, err, sizeof(err)))
		abort(); /* the classifier produced a result the protocol would refuse */
	tg_classifier_free(c);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	parse_only = getenv("TG_FUZZ_PARSE_ONLY") != NULL;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_taxonomy *t;
	char err[4096];
	int compile;

	t = tg_taxonomy_parse("fuzz.tgt", (const char *)data, size, err, sizeof(err));
	if (t == NULL)
		return 0;
	compile = !parse_only && t->npatterns <= COMPILE_MAX_PATTERNS;
	tg_taxonomy_free(t);
	if (compile)
		classify_file(data, size);
	return 0;
}

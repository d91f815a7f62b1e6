/*
 * `tigris parse FILE`: read a feed file and print it as normalised JSON, exactly
 * as the daemon would see it (used by people, the tests and the conformance
 * harness).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../daemon/feed.h"
#include "commands.h"

static int
read_file(const char *path, struct tg_buf *out, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = -1;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (tg_buf_append(out, chunk, n) != 0) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, out->limit);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = 0;
out:
	if (f != stdin)
		fclose(f);
	return rc;
}

int
tg_cmd_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "content-type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = NULL, *ctype = NULL;
	struct tg_feed_limits lim;
	struct tg_feed_doc doc;
	struct tg_buf body;
	json_t *out;
	char err[1024];
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			base = optarg;
			break;
		case 't':
			ctype = optarg;
			break;
		case 'h':
			puts("usage: tigris parse [--base URL] [--content-type TYPE] FILE\n\n"
			     "Prints {\"feed\", \"entries\", \"bozo\", \"bozo_reason\", \"version\"}."
			     "\nFILE may be - for stdin; --base resolves relative links.");
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs("usage: tigris parse [--base URL] FILE\n", stderr);
		return 2;
	}
	tg_feed_global_init();
	tg_feed_limits_default(&lim);
	tg_buf_init(&body, lim.max_bytes);
	memset(&doc, 0, sizeof(doc));
	if (read_file(argv[optind], &body, err, sizeof(err)) != 0) {
		fprintf(stderr, "tigris parse: %s\n", err);
		goto out;
	}
	if (tg_feed_parse(body.data ? body.data : "", body.len, base, ctype, argv[optind], &lim,
		&doc, err, sizeof(err)) != 0) {
		fprintf(stderr, "tigris parse: %s: %s\n", argv[optind], err);
		goto out;
	}
	out = tg_feed_doc_to_json(&doc);
	json_dumpf(out, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(out);
	rc = 0;
out:
	tg_feed_doc_clear(&doc);
	tg_buf_free(&body);
	return rc;
}

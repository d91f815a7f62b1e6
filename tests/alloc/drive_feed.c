/*
 * Allocation-failure sweep of the feed parser: for each input (the files named on
 * the command line and a few made here), count the allocations one parse makes,
 * then parse again failing allocation 1, 2, ... each in turn (and, in a second
 * sweep, every allocation from N on). Each run must end in a clean error or in the
 * very same document, and leave no block behind. Exits 1 on any other outcome
 * (a crash ends the process with its signal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/xmlerror.h>

#include "../../common/util.h"
#include "../../daemon/feed.h"
#include "failalloc.h"

struct input {
	const char *name;
	char *data;
	size_t len;
	const char *ct;
};

struct tally {
	long runs, errors, same, degraded, leaks, known;
};

/* libxml2 2.9.14 (Debian 12) leaks an entity's value and raw text when the
 * document it builds for SAX compatibility cannot be allocated while it reads an
 * entity declaration (xmlParseEntityDecl returns without freeing them; later
 * releases free them). Only that leak, in runs where that allocation failed, is
 * tolerated and counted apart; see docs/security.md. */
static const char *const libxml2_newdoc[] = { "xmlNewDoc", NULL };
static const char *const libxml2_entity_value[] = {
	"xmlParseEntityValue", "xmlStringLenDecodeEntities", "xmlStringDecodeEntities", NULL,
};

static const char *builtin[][3] = {
	{ "rss-rich", NULL,
	  "<?xml version=\"1.0\" encoding=\"utf-8\"?><!DOCTYPE rss [<!ENTITY co \"Acme &amp; Co\">]>"
	  "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
	  "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel>"
	  "<title>&co; news</title><link>/home/</link><description>d &eacute;</description>"
	  "<item><title>US strikes &amp; Iraq</title><link>a/../b/./c?x=1#f</link>"
	  "<description><![CDATA[<p>Hello <b>world</b> &amp; more</p>]]></description>"
	  "<category>World</category><category>Politics</category><dc:creator>Ann</dc:creator>"
	  "<author>bob@example.com (Bob)</author><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
	  "</item>"
	  "<item><title>No id</title><dc:date>2024-01-02T03:04:05+02:00</dc:date></item>"
	  "<item><title>shared link 1</title><link>http://x.example/same</link></item>"
	  "<item><title>shared link 2</title><link>http://x.example/same</link></item>"
	  "<item><guid>g1</guid><title>dup</title></item><item><guid>g1</guid></item>"
	  "<item><content:encoded>&lt;i&gt;only content&lt;/i&gt;</content:encoded></item>"
	  "</channel></rss>" },
	{ "atom-rich", NULL,
	  "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"http://a.example/x/\">"
	  "<title type=\"html\">&lt;b&gt;T&lt;/b&gt;</title><updated>2024-05-01T00:00:00Z</updated>"
	  "<link rel=\"alternate\" href=\"index.html?a=1&amp;b=2\"/>"
	  "<entry xml:base=\"sub/\"><id>urn:1</id><title>E1</title>"
	  "<link href=\"e1.html\"/><category term=\"iran\"/><category label=\"Iraq\" term=\"\"/>"
	  "<author><name>Carol</name><email>c@example.com</email></author>"
	  "<content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>x <b>y</b></p>"
	  "</div></content><published>2024-04-30T12:00:00-05:00</published></entry>"
	  "<entry><title>E2</title><summary>s</summary></entry></feed>" },
	{ "json-rich", NULL,
	  "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"J\", "
	  "\"home_page_url\": \"https://j.example/\", \"feed_url\": \"https://j.example/f.json\", "
	  "\"items\": [{\"id\": 12, \"title\": \"one\", \"url\": \"/one\", "
	  "\"content_html\": \"<p>a &amp; b</p>\", \"date_published\": \"2024-01-01T00:00:00Z\", "
	  "\"authors\": [{\"name\": \"A\"}, {\"name\": \"B\"}], \"tags\": [\"x\", \"y\"]}, "
	  "{\"id\": \"2\", \"content_text\": \"t\", \"author\": {\"name\": \"C\"}}, "
	  "{\"title\": \"no id\", \"external_url\": \"https://e.example/\"}]}" },
	{ "latin1", "text/xml; charset=iso-8859-1",
	  "<rss version=\"0.91\"><channel><title>caf\xe9</title>"
	  "<item><title>na\xefve \x93quotes\x94</title><link>http://l.example/</link></item>"
	  "</channel></rss>" },
	{ "broken-utf8", NULL,
	  "<rss version=\"2.0\"><channel><title>bad \xff\xfe bytes \x01</title>"
	  "<item><guid>1</guid><title>t & <x</title></item></channel></rss>" },
	{ "illformed", NULL,
	  "<rss version=\"2.0\"><channel><title>open<item><title>a</title><guid>1</guid>"
	  "<description>unclosed &nbsp; &bogus; <b>tag</description></item>" },
	{ "rdf", NULL,
	  "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
	  "xmlns=\"http://purl.org/rss/1.0/\"><channel rdf:about=\"http://r.example/\">"
	  "<title>R</title></channel><item rdf:about=\"http://r.example/1\"><title>I</title>"
	  "</item></rdf:RDF>" },
};

static void
quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static char *
read_file(const char *path, size_t *len)
{
	struct tg_buf b;
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	tg_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (tg_buf_append(&b, chunk, n) < 0)
			exit(2);
	fclose(f);
	*len = b.len;
	return tg_buf_take(&b);
}

/* The document as text (made outside the window), or NULL after an error. */
static char *
doc_string(int rc, const struct tg_feed_doc *doc)
{
	json_t *j;
	char *s;

	if (rc != 0)
		return NULL;
	j = tg_feed_doc_to_json(doc);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* One parse with allocation fail_at failing; returns its allocation count. */
static long
one(const struct input *in, long fail_at, int sticky, const char *want, struct tally *t,
    int verbose)
{
	struct failalloc_stats st;
	struct tg_feed_doc doc;
	char err[512] = "";
	char *got;
	int rc;

	failalloc_start(fail_at, sticky);
	rc = tg_feed_parse(in->data, in->len, "https://base.example/dir/feed.xml", in->ct, "feed",
	    NULL, &doc, err, sizeof(err));
	failalloc_stop(&st);
	got = doc_string(rc, &doc);
	if (rc == 0)
		tg_feed_doc_clear(&doc);
	failalloc_stats(&st);
	if (fail_at == 0) {
		free(got);
		return st.calls;
	}
	t->runs++;
	if (rc != 0 && err[0] != '\0') {
		t->errors++;
	} else if (rc == 0 && got && want && strcmp(got, want) == 0) {
		t->same++;
		if (verbose > 1) {
			fprintf(stderr, "%s: failing allocation %ld%s: same document\n", in->name,
			    fail_at, sticky ? "+" : "");
			failalloc_where(stderr);
		}
	} else {
		t->degraded++;
		if (verbose) {
			fprintf(stderr, "%s: failing allocation %ld%s: rc %d, %s\n", in->name,
			    fail_at, sticky ? "+" : "", rc, rc ? "no error message" :
			    "a different document");
			failalloc_where(stderr);
			if (verbose > 1 && got && want)
				fprintf(stderr, "  want %s\n  got  %s\n", want, got);
		}
	}
	if (st.live) {
		long known = 0, bad;

		bad = failalloc_unexpected(failalloc_failed_in(libxml2_newdoc) ?
		    libxml2_entity_value : NULL, &known);
		if (known)
			t->known++;
		if (bad) {
			t->leaks++;
			if (verbose) {
				fprintf(stderr, "%s: failing allocation %ld%s: %ld blocks leaked\n",
				    in->name, fail_at, sticky ? "+" : "", bad);
				failalloc_where(stderr);
				failalloc_report(stderr);
			}
		}
	}
	free(got);
	return st.calls;
}

int
main(int argc, char **argv)
{
	size_t nin = (size_t)argc - 1 + sizeof(builtin) / sizeof(builtin[0]);
	struct input *ins = calloc(nin, sizeof(*ins));
	struct tally all = { 0 };
	long total_calls = 0;
	size_t k = 0;
	int verbose = getenv("FAILALLOC_VERBOSE") ? 2 : 1;

	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	tg_feed_global_init();
	/* libxml2 reports some failures (a parser it could not create) on stderr. */
	xmlSetGenericErrorFunc(NULL, quiet);
	for (int i = 1; i < argc; i++, k++) {
		ins[k].name = argv[i];
		ins[k].data = read_file(argv[i], &ins[k].len);
	}
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++, k++) {
		ins[k].name = builtin[i][0];
		ins[k].ct = builtin[i][1];
		ins[k].data = tg_strdup(builtin[i][2]);
		ins[k].len = strlen(builtin[i][2]);
	}
	for (size_t i = 0; i < nin; i++) {
		struct tg_feed_doc doc;
		struct tally t = { 0 };
		char err[512];
		char *want;
		long calls;
		int rc;

		/* Warm up once, so that lazy one-time set-up (iconv modules, libxml2's
		 * globals) is not what the sweep counts. */
		if (tg_feed_parse(ins[i].data, ins[i].len, "https://base.example/dir/feed.xml",
		    ins[i].ct, "feed", NULL, &doc, err, sizeof(err)) == 0)
			tg_feed_doc_clear(&doc);
		failalloc_start(0, 0);
		rc = tg_feed_parse(ins[i].data, ins[i].len, "https://base.example/dir/feed.xml",
		    ins[i].ct, "feed", NULL, &doc, err, sizeof(err));
		failalloc_stop(&(struct failalloc_stats){ 0 });
		want = doc_string(rc, &doc);
		if (rc == 0)
			tg_feed_doc_clear(&doc);
		calls = one(&ins[i], 0, 0, want, &t, verbose);
		for (long n = 1; n <= calls; n++)
			one(&ins[i], n, 0, want, &t, verbose);
		for (long n = 1; n <= calls; n++)
			one(&ins[i], n, 1, want, &t, verbose);
		printf("feed %-24s %5ld allocations, %5ld runs: %5ld errors, %5ld unchanged, "
		    "%ld degraded, %ld leaking (+%ld libxml2)\n", ins[i].name, calls, t.runs,
		    t.errors, t.same, t.degraded, t.leaks, t.known);
		total_calls += calls;
		all.runs += t.runs;
		all.errors += t.errors;
		all.same += t.same;
		all.degraded += t.degraded;
		all.leaks += t.leaks;
		all.known += t.known;
		free(want);
		free(ins[i].data);
	}
	free(ins);
	printf("feed total: %zu inputs, %ld allocation calls, %ld runs: %ld clean errors, "
	    "%ld unchanged, %ld degraded, %ld leaking, 0 crashes; %ld runs with the known "
	    "libxml2 2.9 entity leak\n", nin, total_calls, all.runs, all.errors, all.same,
	    all.degraded, all.leaks, all.known);
	return all.degraded || all.leaks ? 1 : 0;
}

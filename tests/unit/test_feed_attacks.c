/*
 * Attacks on the feed parser with the real parser and fixtures made here: XXE to a
 * local file and to an http URL, external DTDs, billion laughs, quadratic blowup,
 * 100,000-deep nesting, and JSON Feed with deep nesting, huge strings, \u0000 and
 * duplicate keys. Each case runs in a forked child that measures its own time and
 * peak memory, checks the outcome and then parses a normal feed (the parser carries
 * on); the parent asserts on what the child reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/text.h"
#include "../../common/util.h"
#include "../../daemon/feed.h"

/* Peak memory a case may add, and a generous time bound: performance targets
 * live in the benchmarks, the measured figures are printed and recorded in
 * docs/security.md. Sanitizers inflate memory (shadow, redzones, quarantine). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
#define MAX_PEAK_KB (192L * 1024)
#else
#define MAX_PEAK_KB (64L * 1024)
#endif
#define MAX_MS 2000.0

#define BASE "https://feeds.example.com/feed.xml"
#define MARKER "TIGRIS-SECRET-7d1f3a"

/* What the child reports. */
struct outcome {
	int rc;          /* tg_feed_parse's return */
	int bad;         /* the case's own check failed */
	int carried_on;  /* a normal feed parsed afterwards */
	int connected;   /* someone connected to the trap listener */
	double ms;
	long peak_kb;    /* peak resident memory added while parsing */
	size_t nitems;
	char why[256];
};

/* Files and the listener every case may point at. */
static char secret_path[64] = "";
static char dtd_path[64] = "";
static int trap_fd = -1;
static int trap_port;

static const char normal_feed[] =
    "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>News</title>"
    "<item><guid>n1</guid><title>US and Iran talks</title></item>"
    "<item><guid>n2</guid><title>Iraq</title></item></channel></rss>";

static long
status_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Reset the peak RSS (VmHWM) to the current RSS; false when the kernel cannot. */
static bool
reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	bool ok;

	if (f == NULL)
		return false;
	ok = fputs("5", f) >= 0;
	ok = fclose(f) == 0 && ok;
	return ok;
}

/* Serialise a parsed document (to search it for what must not be there). */
static char *
doc_text(const struct tg_feed_doc *doc)
{
	json_t *j = tg_feed_doc_to_json(doc);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

static bool
doc_contains(const struct tg_feed_doc *doc, const char *needle)
{
	char *s = doc_text(doc);
	bool found = s == NULL || strstr(s, needle) != NULL;

	free(s);
	return found;
}

typedef void (*make_fn)(struct tg_buf *b);
/* Check a parse; write why into o->why and return false when the case failed. */
typedef bool (*check_fn)(int rc, const struct tg_feed_doc *doc, const char *err,
    struct outcome *o);

/* The child: parse in (after a fresh peak), check, parse a normal feed, report. */
static void
child_run(int wfd, make_fn make, check_fn check)
{
	struct outcome o;
	struct tg_feed_doc doc;
	struct tg_buf in;
	struct timespec t0, t1;
	struct rusage ru;
	char err[512] = "";
	long rss0, hwm;
	bool peak_ok;
	struct pollfd p;

	memset(&o, 0, sizeof(o));
	tg_buf_init(&in, 0);
	make(&in);
	peak_ok = reset_peak();
	rss0 = status_kb("VmRSS:");
	getrusage(RUSAGE_SELF, &ru);
	if (!peak_ok)
		rss0 = ru.ru_maxrss; /* without clear_refs: growth of the lifetime peak */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o.rc = tg_feed_parse(in.data, in.len, BASE, NULL, "attack", NULL, &doc, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (peak_ok) {
		hwm = status_kb("VmHWM:");
	} else {
		getrusage(RUSAGE_SELF, &ru);
		hwm = ru.ru_maxrss;
	}
	o.ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	o.peak_kb = hwm - rss0;
	o.nitems = o.rc == 0 ? doc.nitems : 0;
	o.bad = !check(o.rc, &doc, err, &o);
	if (o.rc == 0)
		tg_feed_doc_clear(&doc);
	tg_buf_free(&in);
	/* Nobody may have connected to the trap (libxml2 never went to the network). */
	p.fd = trap_fd;
	p.events = POLLIN;
	o.connected = poll(&p, 1, 0) > 0;
	/* The parser carries on. */
	if (tg_feed_parse(normal_feed, sizeof(normal_feed) - 1, BASE, NULL, "n", NULL, &doc, err,
	    sizeof(err)) == 0) {
		o.carried_on = doc.nitems == 2 && !doc.bozo && doc.title &&
		    strcmp(doc.title, "News") == 0;
		tg_feed_doc_clear(&doc);
	}
	if (write(wfd, &o, sizeof(o)) != (ssize_t)sizeof(o))
		_exit(3);
	_exit(0);
}

static void
run_case(const char *name, make_fn make, check_fn check)
{
	struct outcome o;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_run(fds[1], make, check);
	}
	close(fds[1]);
	memset(&o, 0, sizeof(o));
	n = read(fds[0], &o, sizeof(o));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: the child died (status %d)", name, status);
	assert_int_equal(n, (ssize_t)sizeof(o));
	printf("attack %-22s rc=%2d items=%zu %8.2f ms  peak +%6.1f MB\n", name, o.rc, o.nitems,
	    o.ms, (double)o.peak_kb / 1024.0);
	if (o.bad)
		fail_msg("%s: %s", name, o.why);
	if (o.connected)
		fail_msg("%s: the parser connected to %d", name, trap_port);
	if (!o.carried_on)
		fail_msg("%s: a normal feed did not parse afterwards", name);
	if (o.peak_kb > MAX_PEAK_KB)
		fail_msg("%s: peak memory +%ld kB over %ld kB", name, o.peak_kb, MAX_PEAK_KB);
	if (o.ms > MAX_MS)
		fail_msg("%s: %.1f ms", name, o.ms);
}

/* --- fixtures ------------------------------------------------------------ */

static void
make_xxe_file(struct tg_buf *b)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "<?xml version=\"1.0\"?><!DOCTYPE rss ["
	    "<!ENTITY passwd SYSTEM \"file:///etc/passwd\">"
	    "<!ENTITY secret SYSTEM \"file://%s\">"
	    "<!ENTITY secret2 SYSTEM \"%s\">]>", secret_path, secret_path);
	tg_buf_append_str(b, tmp);
	tg_buf_append_str(b, "<rss version=\"2.0\"><channel><title>a&passwd;b&secret;c</title>"
	    "<item><guid>1</guid><title>&secret2;</title><description>&passwd;&secret;"
	    "</description></item></channel></rss>");
}

static void
make_xxe_http(struct tg_buf *b)
{
	char tmp[768];

	snprintf(tmp, sizeof(tmp), "<?xml version=\"1.0\"?><!DOCTYPE rss ["
	    "<!ENTITY remote SYSTEM \"http://127.0.0.1:%d/entity\">"
	    "<!ENTITY %% pe SYSTEM \"http://127.0.0.1:%d/pe.dtd\"> %%pe;]>"
	    "<rss version=\"2.0\"><channel><title>t&remote;</title>"
	    "<item><guid>1</guid><title>&remote;x</title></item></channel></rss>",
	    trap_port, trap_port);
	tg_buf_append_str(b, tmp);
}

static void
make_dtd_file(struct tg_buf *b)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "<?xml version=\"1.0\"?>"
	    "<!DOCTYPE rss SYSTEM \"file://%s\">"
	    "<rss version=\"2.0\"><channel><title>t&fromdtd;</title>"
	    "<item><guid>1</guid><title>&fromdtd;</title></item></channel></rss>", dtd_path);
	tg_buf_append_str(b, tmp);
}

static void
make_dtd_http(struct tg_buf *b)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "<?xml version=\"1.0\"?>"
	    "<!DOCTYPE rss PUBLIC \"-//X//Evil//EN\" \"http://127.0.0.1:%d/evil.dtd\">"
	    "<rss version=\"2.0\"><channel><title>t</title>"
	    "<item><guid>1</guid><title>x</title></item></channel></rss>", trap_port);
	tg_buf_append_str(b, tmp);
}

/* Ten levels of ten references: 10^9 "lol" if expanded. */
static void
make_billion_laughs(struct tg_buf *b)
{
	char tmp[256];

	tg_buf_append_str(b, "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY lol0 \"lol\">");
	for (int i = 1; i <= 9; i++) {
		snprintf(tmp, sizeof(tmp), "<!ENTITY lol%d \"", i);
		tg_buf_append_str(b, tmp);
		for (int k = 0; k < 10; k++) {
			snprintf(tmp, sizeof(tmp), "&lol%d;", i - 1);
			tg_buf_append_str(b, tmp);
		}
		tg_buf_append_str(b, "\">");
	}
	tg_buf_append_str(b, "]><rss version=\"2.0\"><channel><title>&lol9;</title>"
	    "<item><guid>1</guid><title>&lol9;</title><description>&lol9;&lol9;"
	    "</description></item></channel></rss>");
}

/* One 55 kB entity referenced 18,000 times: 110 kB that expand to about 1 GB. */
#define QB_ENTITY 55000
#define QB_REFS 18000
static void
make_quadratic(struct tg_buf *b)
{
	tg_buf_append_str(b, "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"");
	for (int i = 0; i < QB_ENTITY; i++)
		tg_buf_append(b, "A", 1);
	tg_buf_append_str(b, "\">]><rss version=\"2.0\"><channel><title>t</title><item>"
	    "<guid>1</guid><description>");
	for (int i = 0; i < QB_REFS; i++)
		tg_buf_append_str(b, "&a;");
	tg_buf_append_str(b, "</description></item></channel></rss>");
}

#define DEPTH 100000
static void
make_deep_xml(struct tg_buf *b)
{
	tg_buf_append_str(b, "<rss version=\"2.0\"><channel><title>deep</title><item>"
	    "<guid>d1</guid><title>before</title><description>");
	for (int i = 0; i < DEPTH; i++)
		tg_buf_append_str(b, "<div>");
	tg_buf_append_str(b, "x");
	for (int i = 0; i < DEPTH; i++)
		tg_buf_append_str(b, "</div>");
	tg_buf_append_str(b, "</description></item></channel></rss>");
}

static void
make_deep_json_arrays(struct tg_buf *b)
{
	tg_buf_append_str(b, "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [");
	for (int i = 0; i < DEPTH; i++)
		tg_buf_append(b, "[", 1);
	for (int i = 0; i < DEPTH; i++)
		tg_buf_append(b, "]", 1);
	tg_buf_append_str(b, "]}");
}

static void
make_deep_json_objects(struct tg_buf *b)
{
	tg_buf_append_str(b, "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": "
	    "[{\"id\": \"1\", \"x\": ");
	for (int i = 0; i < DEPTH; i++)
		tg_buf_append_str(b, "{\"a\":");
	tg_buf_append_str(b, "1");
	for (int i = 0; i < DEPTH; i++)
		tg_buf_append(b, "}", 1);
	tg_buf_append_str(b, "}]}");
}

/* An 8 MB title, an 8 MB summary of escapes and a 1 MB id. */
#define HUGE (8 * 1024 * 1024)
#define HUGE_HEAD "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \""
static void
make_huge_strings(struct tg_buf *b)
{
	tg_buf_append_str(b, HUGE_HEAD);
	for (int i = 0; i < HUGE / 8; i++)
		tg_buf_append(b, "abcdefg ", 8);
	tg_buf_append_str(b, "\", \"items\": [{\"id\": \"");
	for (int i = 0; i < 1024 * 1024 / 8; i++)
		tg_buf_append(b, "idididid", 8);
	tg_buf_append_str(b, "\", \"content_text\": \"");
	for (int i = 0; i < HUGE / 6 / 2; i++)
		tg_buf_append(b, "\\u00e9", 6);
	tg_buf_append_str(b, "\"}, {\"id\": \"2\", \"title\": \"small\"}]}");
}

/* 13 strings each just under the string limit (13.6 MB): only the document
 * limit stops this one before jansson decodes it all. */
static void
make_many_long_strings(struct tg_buf *b)
{
	tg_buf_append_str(b, "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [");
	for (int k = 0; k < 13; k++) {
		tg_buf_append_str(b, k ? ", {\"id\": \"" : "{\"id\": \"");
		tg_buf_append(b, k % 2 ? "a" : "b", 1);
		tg_buf_append_str(b, "\", \"content_text\": \"");
		for (int i = 0; i < (1024 * 1024 - 64) / 8; i++)
			tg_buf_append(b, k % 2 ? "abcdefg " : "\\u00e9ab", 8);
		tg_buf_append_str(b, "\"}");
	}
	tg_buf_append_str(b, "]}");
}

static void
make_json_nul(struct tg_buf *b)
{
	tg_buf_append_str(b, "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": ["
	    "{\"id\": \"1\", \"title\": \"a\\u0000b\", \"content_text\": \"c\\u0000\"}]}");
}

static void
make_json_dup_keys(struct tg_buf *b)
{
	char tmp[64];

	tg_buf_append_str(b, "{\"version\": \"https://jsonfeed.org/version/1.1\", "
	    "\"title\": \"first\", \"title\": \"second\", "
	    "\"items\": [{\"id\": \"x\"}], "
	    "\"items\": [{\"id\": \"a\", \"title\": \"one\", \"title\": \"two\", \"id\": \"b\"}, "
	    "{\"id\": \"b\", \"title\": \"dup id\"}, {\"id\": \"c\"");
	/* and one object with 50,000 copies of the same key */
	for (int i = 0; i < 50000; i++) {
		snprintf(tmp, sizeof(tmp), ", \"title\": \"t%d\"", i);
		tg_buf_append_str(b, tmp);
	}
	tg_buf_append_str(b, "}]}");
}

/* --- checks -------------------------------------------------------------- */

static bool
check_no_secret(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	(void)err;
	if (rc != 0)
		return true; /* rejected outright */
	if (doc_contains(doc, MARKER) || doc_contains(doc, "root:x:0") ||
	    doc_contains(doc, "/bin/")) {
		snprintf(o->why, sizeof(o->why), "the content of a local file reached the output");
		return false;
	}
	return true;
}

static bool
check_no_dtd_entity(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	if (!check_no_secret(rc, doc, err, o))
		return false;
	if (rc == 0 && doc_contains(doc, "from the DTD")) {
		snprintf(o->why, sizeof(o->why), "an entity of the external DTD was expanded");
		return false;
	}
	return true;
}

/* Neither the title nor any item may have grown past its cap, nor have been
 * expanded out of proportion to the input. */
static bool
check_bounded(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	(void)err;
	if (rc != 0)
		return true;
	if (doc->title && strlen(doc->title) > TG_ITEM_MAX_TITLE) {
		snprintf(o->why, sizeof(o->why), "title of %zu bytes", strlen(doc->title));
		return false;
	}
	for (size_t i = 0; i < doc->nitems; i++) {
		const struct tg_item *it = &doc->items[i];

		if ((it->title && strlen(it->title) > TG_ITEM_MAX_TITLE) ||
		    (it->summary && strlen(it->summary) > TG_ITEM_MAX_SUMMARY)) {
			snprintf(o->why, sizeof(o->why), "item %zu over its caps", i);
			return false;
		}
	}
	return true;
}

static bool
check_deep_xml(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	if (!check_bounded(rc, doc, err, o))
		return false;
	if (rc == 0 && !doc->bozo) {
		snprintf(o->why, sizeof(o->why), "accepted without bozo");
		return false;
	}
	return true;
}

static bool
check_rejected(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	(void)doc;
	if (rc != -1 || err[0] == '\0') {
		snprintf(o->why, sizeof(o->why), "not rejected (rc %d)", rc);
		return false;
	}
	return true;
}

/* Refused before decoding, at the first string over the 1 MiB limit: the title,
 * whose opening quote ends HUGE_HEAD. */
static bool
check_huge(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	char want[128];

	(void)doc;
	snprintf(want, sizeof(want), "JSON Feed: string at byte %zu is longer than 1048576 bytes",
	    sizeof(HUGE_HEAD) - 2);
	if (rc != -1 || strcmp(err, want) != 0) {
		snprintf(o->why, sizeof(o->why), "wanted \"%s\", got rc %d: %s", want, rc, err);
		return false;
	}
	return true;
}

static bool
check_too_big(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	(void)doc;
	if (rc != -1 || strstr(err, "JSON Feed: the document is ") != err ||
	    strstr(err, "bytes, over the 6291456-byte limit") == NULL) {
		snprintf(o->why, sizeof(o->why), "wanted the document limit, got rc %d: %s", rc, err);
		return false;
	}
	return true;
}

/* Duplicate keys: the last one wins (jansson's rule), deterministically. */
static bool
check_dup_keys(int rc, const struct tg_feed_doc *doc, const char *err, struct outcome *o)
{
	if (rc != 0) {
		snprintf(o->why, sizeof(o->why), "refused: %s", err);
		return false;
	}
	if (doc->title == NULL || strcmp(doc->title, "second") != 0 || doc->nitems != 2 ||
	    strcmp(doc->items[0].id, "b") != 0 || strcmp(doc->items[0].title, "two") != 0 ||
	    strcmp(doc->items[1].id, "c") != 0 || strcmp(doc->items[1].title, "t49999") != 0) {
		snprintf(o->why, sizeof(o->why), "duplicate keys not resolved as the last one");
		return false;
	}
	return true;
}

/* --- tests --------------------------------------------------------------- */

static void
test_xxe_local_file(void **state)
{
	(void)state;
	run_case("xxe-file", make_xxe_file, check_no_secret);
}

static void
test_xxe_http(void **state)
{
	(void)state;
	run_case("xxe-http", make_xxe_http, check_no_secret);
}

static void
test_external_dtd(void **state)
{
	(void)state;
	run_case("external-dtd-file", make_dtd_file, check_no_dtd_entity);
	run_case("external-dtd-http", make_dtd_http, check_no_dtd_entity);
}

static void
test_billion_laughs(void **state)
{
	(void)state;
	run_case("billion-laughs", make_billion_laughs, check_bounded);
}

static void
test_quadratic_blowup(void **state)
{
	struct tg_buf b;

	(void)state;
	tg_buf_init(&b, 0);
	make_quadratic(&b);
	assert_true(b.len > 100 * 1000 && b.len < 120 * 1000);
	tg_buf_free(&b);
	run_case("quadratic-blowup", make_quadratic, check_bounded);
}

static void
test_deep_xml(void **state)
{
	(void)state;
	run_case("xml-100000-deep", make_deep_xml, check_deep_xml);
}

static void
test_json_deep(void **state)
{
	(void)state;
	run_case("json-100000-deep-arr", make_deep_json_arrays, check_rejected);
	run_case("json-100000-deep-obj", make_deep_json_objects, check_rejected);
}

static void
test_json_huge_strings(void **state)
{
	(void)state;
	run_case("json-huge-strings", make_huge_strings, check_huge);
	run_case("json-many-long-strings", make_many_long_strings, check_too_big);
}

static void
test_json_nul(void **state)
{
	(void)state;
	run_case("json-u0000", make_json_nul, check_rejected);
}

static void
test_json_duplicate_keys(void **state)
{
	(void)state;
	run_case("json-duplicate-keys", make_json_dup_keys, check_dup_keys);
}

/* A secret file and a DTD that would define an entity, and a listener that any
 * network access by the parser would reach. */
static int
setup(void **state)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	FILE *f;
	int fd;

	(void)state;
	snprintf(secret_path, sizeof(secret_path), "/tmp/tigris-xxe-XXXXXX");
	if ((fd = mkstemp(secret_path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fputs(MARKER "\n", f);
	fclose(f);
	snprintf(dtd_path, sizeof(dtd_path), "/tmp/tigris-dtd-XXXXXX");
	if ((fd = mkstemp(dtd_path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f, "<!ENTITY fromdtd \"from the DTD\">\n<!ENTITY leak SYSTEM \"file://%s\">\n",
	    secret_path);
	fclose(f);
	trap_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (trap_fd < 0 || bind(trap_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(trap_fd, 8) < 0 || getsockname(trap_fd, (struct sockaddr *)&sa, &salen) < 0)
		return -1;
	trap_port = ntohs(sa.sin_port);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(secret_path);
	unlink(dtd_path);
	close(trap_fd);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xxe_local_file),
		cmocka_unit_test(test_xxe_http),
		cmocka_unit_test(test_external_dtd),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_quadratic_blowup),
		cmocka_unit_test(test_deep_xml),
		cmocka_unit_test(test_json_deep),
		cmocka_unit_test(test_json_huge_strings),
		cmocka_unit_test(test_json_nul),
		cmocka_unit_test(test_json_duplicate_keys),
	};

	tg_feed_global_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Tests of the configuration parser: defaults, every kind of error (all reported
 * at once), path and file: URL resolution, and that docs/config.md holds the
 * reference generated from the option table. Run with --markdown to print it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../common/util.h"
#include "../../daemon/config.h"

#define CFG_PATH "/etc/tigris/sub/tigris.json"

static char errbuf[8192];

/* Parse text as if read from CFG_PATH; expects success. */
static struct tg_config *
parse_ok(const char *text)
{
	struct tg_config *cfg = NULL;
	int rc = tg_config_parse(text, strlen(text), CFG_PATH, &cfg, errbuf, sizeof(errbuf));

	if (rc != 0)
		fprintf(stderr, "unexpected errors:\n%s\n", errbuf);
	assert_int_equal(rc, 0);
	assert_non_null(cfg);
	return cfg;
}

/* Parse text expecting failure; returns the number of error lines. */
static int
parse_fail(const char *text)
{
	struct tg_config *cfg = (struct tg_config *)1;
	int rc = tg_config_parse(text, strlen(text), CFG_PATH, &cfg, errbuf, sizeof(errbuf));
	int lines = 1;

	assert_int_equal(rc, -1);
	assert_null(cfg);
	assert_true(errbuf[0] != '\0');
	for (const char *s = errbuf; *s; s++)
		lines += *s == '\n';
	return lines;
}

/* The error buffer holds this text on some line. */
static void
assert_err_has(const char *needle)
{
	if (strstr(errbuf, needle) == NULL) {
		fprintf(stderr, "expected \"%s\" in:\n%s\n", needle, errbuf);
		fail();
	}
}

static void
test_defaults(void **state)
{
	struct tg_config *cfg = parse_ok("{}");

	assert_int_equal(cfg->nfeeds, 0);
	assert_string_equal(cfg->path, CFG_PATH);
	assert_string_equal(cfg->state_dir, "/var/lib/tigris");
	assert_string_equal(cfg->taxonomy, "/etc/tigris/taxonomy.tgt");
	assert_int_equal(cfg->workers, 2);
	assert_null(cfg->worker_program);
	assert_int_equal(cfg->worker_credit, 32);
	assert_string_equal(cfg->publish, "tcp://127.0.0.1:7700");
	assert_string_equal(cfg->worker_endpoint, "ipc:///run/tigris/workers.sock");
	assert_false(cfg->allow_file_urls);
	assert_int_equal(cfg->default_interval, 300);
	assert_int_equal(cfg->jitter_pct, 10);
	assert_int_equal(cfg->fetch_timeout, 30);
	assert_int_equal(cfg->connect_timeout, 10);
	assert_int_equal(cfg->max_body_bytes, 16777216);
	assert_int_equal(cfg->max_items_per_feed, 1000);
	assert_true(tg_str_has_prefix(cfg->user_agent, "tigris/"));
	assert_string_equal(cfg->log_level, "info");
	tg_config_free(cfg);
}

static void
test_every_key(void **state)
{
	struct tg_config *cfg = parse_ok("{"
					 "\"feeds\": ["
					 "  {\"url\": \"https://a.example/rss\", \"interval\": 60, \"name\": \"a\"},"
					 "  {\"url\": \"http://b.example/atom\"}"
					 "],"
					 "\"state_dir\": \"/srv/tigris\","
					 "\"taxonomy\": \"/opt/t.tgt\","
					 "\"workers\": 0,"
					 "\"worker_program\": \"/usr/libexec/tigris-worker\","
					 "\"worker_credit\": 1024,"
					 "\"publish\": \"tcp://*:9000\","
					 "\"worker_endpoint\": \"inproc://w\","
					 "\"allow_file_urls\": true,"
					 "\"default_interval\": 600,"
					 "\"jitter_pct\": 0,"
					 "\"fetch_timeout\": 600,"
					 "\"connect_timeout\": 1,"
					 "\"max_body_bytes\": 268435456,"
					 "\"max_items_per_feed\": 5,"
					 "\"user_agent\": \"ua/1\","
					 "\"log_level\": \"debug\""
					 "}");

	assert_int_equal(cfg->nfeeds, 2);
	assert_string_equal(cfg->feeds[0].url, "https://a.example/rss");
	assert_string_equal(cfg->feeds[0].name, "a");
	assert_int_equal(cfg->feeds[0].interval, 60);
	assert_string_equal(cfg->feeds[1].url, "http://b.example/atom");
	assert_string_equal(cfg->feeds[1].name, "http://b.example/atom");
	assert_int_equal(cfg->feeds[1].interval, 600); /* inherits default_interval */
	assert_string_equal(cfg->state_dir, "/srv/tigris");
	assert_string_equal(cfg->taxonomy, "/opt/t.tgt");
	assert_int_equal(cfg->workers, 0);
	assert_string_equal(cfg->worker_program, "/usr/libexec/tigris-worker");
	assert_int_equal(cfg->worker_credit, 1024);
	assert_string_equal(cfg->publish, "tcp://*:9000");
	assert_string_equal(cfg->worker_endpoint, "inproc://w");
	assert_true(cfg->allow_file_urls);
	assert_int_equal(cfg->default_interval, 600);
	assert_int_equal(cfg->jitter_pct, 0);
	assert_int_equal(cfg->fetch_timeout, 600);
	assert_int_equal(cfg->connect_timeout, 1);
	assert_int_equal(cfg->max_body_bytes, 268435456L);
	assert_int_equal(cfg->max_items_per_feed, 5);
	assert_string_equal(cfg->user_agent, "ua/1");
	assert_string_equal(cfg->log_level, "debug");
	tg_config_free(cfg);
}

static void
test_worker_program(void **state)
{
	struct tg_config *cfg = parse_ok("{\"worker_program\": null}");

	assert_null(cfg->worker_program);
	tg_config_free(cfg);
	cfg = parse_ok("{\"worker_program\": \"tigris-worker\"}");
	assert_string_equal(cfg->worker_program, "/etc/tigris/sub/tigris-worker");
	tg_config_free(cfg);
	cfg = parse_ok("{\"worker_program\": \"../bin/tigris-worker\"}");
	assert_string_equal(cfg->worker_program, "/etc/tigris/bin/tigris-worker");
	tg_config_free(cfg);
}

static void
test_relative_paths(void **state)
{
	struct tg_config *cfg = parse_ok("{\"state_dir\": \"state\", \"taxonomy\": \"../t/./x.tgt\","
					 "\"allow_file_urls\": true, \"feeds\": ["
					 "{\"url\": \"file:demo/feeds/world.xml\"},"
					 "{\"url\": \"feeds/a b.xml\"},"
					 "{\"url\": \"file:///srv/x.xml\"},"
					 "{\"url\": \"file://localhost/srv/y.xml\"},"
					 "{\"url\": \"file:/srv/../z.xml\"},"
					 "{\"url\": \"/abs//w.xml\"}]}");

	assert_string_equal(cfg->state_dir, "/etc/tigris/sub/state");
	assert_string_equal(cfg->taxonomy, "/etc/tigris/t/x.tgt");
	assert_int_equal(cfg->nfeeds, 6);
	assert_string_equal(cfg->feeds[0].url, "file:///etc/tigris/sub/demo/feeds/world.xml");
	assert_string_equal(cfg->feeds[1].url, "file:///etc/tigris/sub/feeds/a%20b.xml");
	assert_string_equal(cfg->feeds[2].url, "file:///srv/x.xml");
	assert_string_equal(cfg->feeds[3].url, "file:///srv/y.xml");
	assert_string_equal(cfg->feeds[4].url, "file:///z.xml");
	assert_string_equal(cfg->feeds[5].url, "file:///abs/w.xml");
	/* the default name is the resolved url */
	assert_string_equal(cfg->feeds[0].name, cfg->feeds[0].url);
	tg_config_free(cfg);
}

static void
test_relative_config_path(void **state)
{
	struct tg_config *cfg = NULL;
	const char *text = "{\"state_dir\": \"s\"}";
	char *cwd = getcwd(NULL, 0), want[4096];

	assert_non_null(cwd);
	assert_int_equal(tg_config_parse(text, strlen(text), "conf/t.json", &cfg, errbuf,
				 sizeof(errbuf)),
	    0);
	snprintf(want, sizeof(want), "%s/conf/s", strcmp(cwd, "/") == 0 ? "" : cwd);
	assert_string_equal(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/conf/t.json", strcmp(cwd, "/") == 0 ? "" : cwd);
	assert_string_equal(cfg->path, want);
	tg_config_free(cfg);
	free(cwd);
}

static void
test_unknown_key(void **state)
{
	assert_int_equal(parse_fail("{\"workerz\": 3}"), 1);
	assert_string_equal(errbuf, CFG_PATH ": unknown key \"workerz\" (did you mean \"workers\"?)");
	assert_int_equal(parse_fail("{\"zzzzzzzzzz\": 3}"), 1);
	assert_string_equal(errbuf, CFG_PATH ": unknown key \"zzzzzzzzzz\"");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://a.example/\"},"
				    "{\"url\": \"http://b.example/\", \"intervall\": 20}]}"),
	    1);
	assert_err_has(CFG_PATH ": feeds[1]: unknown key \"intervall\" (did you mean \"interval\"?)");
}

static void
test_wrong_types(void **state)
{
	assert_int_equal(parse_fail("{\"user_agent\": 5}"), 1);
	assert_err_has(CFG_PATH ": user_agent: expected a string, got an integer");
	assert_int_equal(parse_fail("{\"workers\": \"2\"}"), 1);
	assert_err_has(CFG_PATH ": workers: expected an integer, got a string");
	assert_int_equal(parse_fail("{\"workers\": 2.5}"), 1);
	assert_err_has("workers: expected an integer, got a real number");
	assert_int_equal(parse_fail("{\"workers\": null}"), 1);
	assert_err_has("workers: expected an integer, got null");
	assert_int_equal(parse_fail("{\"allow_file_urls\": \"yes\"}"), 1);
	assert_err_has(CFG_PATH ": allow_file_urls: expected true or false, got a string");
	assert_int_equal(parse_fail("{\"allow_file_urls\": 1}"), 1);
	assert_err_has("allow_file_urls: expected true or false, got an integer");
	assert_int_equal(parse_fail("{\"feeds\": {\"url\": \"http://a.example/\"}}"), 1);
	assert_err_has(CFG_PATH ": feeds: expected an array of feed objects, got an object");
	assert_int_equal(parse_fail("{\"feeds\": [\"http://a.example/\"]}"), 1);
	assert_err_has(CFG_PATH ": feeds[0]: expected an object with a \"url\", got a string");
	assert_int_equal(parse_fail("{\"state_dir\": [\"x\"]}"), 1);
	assert_err_has(CFG_PATH ": state_dir: expected a string, got an array");
	assert_int_equal(parse_fail("{\"state_dir\": null}"), 1);
	assert_err_has("state_dir: expected a string, got null");
	assert_int_equal(parse_fail("{\"publish\": true}"), 1);
	assert_err_has(CFG_PATH ": publish: expected a string, got a boolean");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": 7}]}"), 1);
	assert_err_has(CFG_PATH ": feeds[0].url: expected a string, got an integer");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://a.example/\", \"interval\": "
				    "\"60\"}]}"),
	    1);
	assert_err_has(CFG_PATH ": feeds[0].interval: expected an integer, got a string");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://a.example/\", \"name\": {}}]}"),
	    1);
	assert_err_has(CFG_PATH ": feeds[0].name: expected a string, got an object");
	assert_int_equal(parse_fail("{\"user_agent\": \"\"}"), 1);
	assert_err_has(CFG_PATH ": user_agent: must not be empty");
	assert_int_equal(parse_fail("[1, 2]"), 1);
	assert_err_has(CFG_PATH ": expected a JSON object at the top, got an array");
}

static void
test_out_of_bounds(void **state)
{
	assert_int_equal(parse_fail("{\"workers\": 257}"), 1);
	assert_err_has(CFG_PATH ": workers: 257 is out of range (0..256)");
	assert_int_equal(parse_fail("{\"workers\": -1}"), 1);
	assert_err_has("workers: -1 is out of range (0..256)");
	assert_int_equal(parse_fail("{\"jitter_pct\": 51}"), 1);
	assert_err_has("jitter_pct: 51 is out of range (0..50)");
	assert_int_equal(parse_fail("{\"max_body_bytes\": 1023}"), 1);
	assert_err_has("max_body_bytes: 1023 is out of range (1024..268435456)");
	assert_int_equal(parse_fail("{\"worker_credit\": 99999999999999}"), 1);
	assert_err_has("worker_credit: 99999999999999 is out of range (1..1024)");
	assert_int_equal(parse_fail("{\"default_interval\": 0}"), 1);
	assert_err_has("default_interval: 0 is out of range (1..604800)");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://a.example/\", \"interval\": 0}]}"),
	    1);
	assert_err_has(CFG_PATH ": feeds[0].interval: 0 is out of range (1..604800)");
	/* the bounds themselves are accepted */
	tg_config_free(parse_ok("{\"workers\": 256, \"jitter_pct\": 50, \"max_body_bytes\": 1024,"
				"\"fetch_timeout\": 1, \"connect_timeout\": 120}"));
}

static void
test_feed_url_errors(void **state)
{
	assert_int_equal(parse_fail("{\"feeds\": [{\"name\": \"x\"}]}"), 1);
	assert_err_has(CFG_PATH ": feeds[0].url: missing (required)");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"ftp://a.example/f\"}]}"), 1);
	assert_err_has(CFG_PATH ": feeds[0].url: unsupported scheme \"ftp\" (use http, https or file)");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://\"}]}"), 1);
	assert_err_has("feeds[0].url: \"http://\" has no host");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"https:/x\"}]}"), 1);
	assert_err_has("feeds[0].url: \"https:/x\" has no host");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://a.example/x y\"}]}"), 1);
	assert_err_has("feeds[0].url: \"http://a.example/x y\" contains a space");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"a.example/feed\"}]}"), 1);
	assert_err_has("feeds[0].url: \"a.example/feed\" has no scheme");
	assert_int_equal(parse_fail("{\"allow_file_urls\": true,"
				    "\"feeds\": [{\"url\": \"file://host/x.xml\"}]}"),
	    1);
	assert_err_has("feeds[0].url: \"file://host/x.xml\": file URLs with a host are not supported");
	tg_config_free(parse_ok("{\"feeds\": [{\"url\": \"HTTPS://A.example/\"}]}"));
}

static void
test_file_url_not_allowed(void **state)
{
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"file:demo/x.xml\"}]}"), 1);
	assert_string_equal(errbuf, CFG_PATH ": feeds[0].url: file URLs are not allowed unless "
				    "allow_file_urls is true");
	assert_int_equal(parse_fail("{\"allow_file_urls\": false,"
				    "\"feeds\": [{\"url\": \"file:///srv/x.xml\"}]}"),
	    1);
	assert_err_has("feeds[0].url: file URLs are not allowed");
}

static void
test_duplicate_feed(void **state)
{
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://a.example/\"},"
				    "{\"url\": \"http://b.example/\"},"
				    "{\"url\": \"http://a.example/\", \"name\": \"other\"}]}"),
	    1);
	assert_err_has(CFG_PATH ": feeds[2].url: duplicate of feeds[0].url (http://a.example/)");
	/* equal once resolved */
	assert_int_equal(parse_fail("{\"allow_file_urls\": true, \"feeds\": ["
				    "{\"url\": \"file:x.xml\", \"name\": \"one\"},"
				    "{\"url\": \"/etc/tigris/sub/x.xml\", \"name\": \"two\"}]}"),
	    1);
	assert_err_has("feeds[1].url: duplicate of feeds[0].url (file:///etc/tigris/sub/x.xml)");
	assert_int_equal(parse_fail("{\"feeds\": [{\"url\": \"http://a.example/\", \"name\": \"n\"},"
				    "{\"url\": \"http://b.example/\", \"name\": \"n\"}]}"),
	    1);
	assert_err_has("feeds[1].name: duplicate of feeds[0].name (\"n\")");
}

static void
test_bad_endpoint(void **state)
{
	assert_int_equal(parse_fail("{\"publish\": \"127.0.0.1:7700\"}"), 1);
	assert_err_has(CFG_PATH ": publish: \"127.0.0.1:7700\" is not a ZeroMQ endpoint");
	assert_int_equal(parse_fail("{\"worker_endpoint\": \"udp://x\"}"), 1);
	assert_err_has("worker_endpoint: \"udp://x\" is not a ZeroMQ endpoint");
	assert_int_equal(parse_fail("{\"publish\": \"tcp://\"}"), 1);
	assert_err_has("publish: \"tcp://\" is not a ZeroMQ endpoint");
}

static void
test_bad_log_level(void **state)
{
	assert_int_equal(parse_fail("{\"log_level\": \"verbose\"}"), 1);
	assert_err_has(CFG_PATH ": log_level: \"verbose\" is not one of the allowed values");
	for (const char *const *l = (const char *const[]){ "error", "warning", "notice", "info",
		 "debug", NULL };
	     *l; l++) {
		char text[64];
		struct tg_config *cfg;

		snprintf(text, sizeof(text), "{\"log_level\": \"%s\"}", *l);
		cfg = parse_ok(text);
		assert_string_equal(cfg->log_level, *l);
		tg_config_free(cfg);
	}
}

static void
test_syntax_error(void **state)
{
	assert_int_equal(parse_fail("{\n  \"workers\": 2,\n  \"publish\" \"tcp://x:1\"\n}\n"), 1);
	assert_true(tg_str_has_prefix(errbuf, CFG_PATH ": line 3, column "));
	assert_int_equal(parse_fail("{\"workers\": 2, \"workers\": 3}"), 1);
	assert_err_has("line 1");
	assert_err_has("duplicate object key");
	assert_int_equal(parse_fail(""), 1);
	assert_err_has(CFG_PATH ": line ");
}

static void
test_multiple_errors(void **state)
{
	int n = parse_fail("{\"workerz\": 1, \"jitter_pct\": 99, \"publish\": \"x\","
			   "\"log_level\": \"loud\", \"fetch_timeout\": \"30\","
			   "\"feeds\": [{\"url\": \"ftp://x/\"}, {}, {\"url\": \"file:a\", \"q\": 1},"
			   "{\"url\": \"http://ok.example/\"}, {\"url\": \"http://ok.example/\"}]}");

	assert_int_equal(n, 10);
	assert_err_has("unknown key \"workerz\"");
	assert_err_has("jitter_pct: 99 is out of range");
	assert_err_has("publish: \"x\" is not a ZeroMQ endpoint");
	assert_err_has("log_level: \"loud\"");
	assert_err_has("fetch_timeout: expected an integer");
	assert_err_has("feeds[0].url: unsupported scheme");
	assert_err_has("feeds[1].url: missing (required)");
	assert_err_has("feeds[2]: unknown key \"q\"");
	assert_err_has("feeds[2].url: file URLs are not allowed");
	assert_err_has("feeds[4].url: duplicate of feeds[3].url");
	/* every line names the file */
	for (const char *s = errbuf; s; s = strchr(s, '\n')) {
		if (*s == '\n')
			s++;
		assert_true(tg_str_has_prefix(s, CFG_PATH ": "));
	}
}

static void
test_small_error_buffer(void **state)
{
	struct tg_config *cfg = NULL;
	const char *text = "{\"a\": 1, \"b\": 2, \"c\": 3}";
	char small[16];

	memset(small, 'x', sizeof(small));
	assert_int_equal(tg_config_parse(text, strlen(text), CFG_PATH, &cfg, small, 10), -1);
	assert_null(cfg);
	assert_int_equal(strlen(small), 9);
	assert_int_equal(small[10], 'x');
	assert_int_equal(tg_config_parse(text, strlen(text), CFG_PATH, &cfg, NULL, 0), -1);
}

static void
test_load_file(void **state)
{
	char dir[] = "/tmp/tg_config_XXXXXX", path[256], want[512];
	struct tg_config *cfg = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tigris.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"allow_file_urls\": true, \"state_dir\": \"state\",\n"
	      " \"feeds\": [{\"url\": \"file:demo/feeds/world.xml\", \"name\": \"world\"}]}\n",
	    f);
	fclose(f);
	assert_int_equal(tg_config_load(path, &cfg, errbuf, sizeof(errbuf)), 0);
	snprintf(want, sizeof(want), "file://%s/demo/feeds/world.xml", dir);
	assert_string_equal(cfg->feeds[0].url, want);
	assert_string_equal(cfg->feeds[0].name, "world");
	snprintf(want, sizeof(want), "%s/state", dir);
	assert_string_equal(cfg->state_dir, want);
	assert_string_equal(cfg->path, path);
	tg_config_free(cfg);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\n\"workers\": 1,\n\"feeds\": [\n", f);
	fclose(f);
	assert_int_equal(tg_config_load(path, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s: line ", path);
	assert_true(tg_str_has_prefix(errbuf, want));

	unlink(path);
	assert_int_equal(tg_config_load(path, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_null(cfg);
	assert_err_has("cannot open: No such file or directory");
	rmdir(dir);
}

/* Everything printed to a memory stream by fn. */
static char *
capture(void (*fn)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f);
	fclose(f);
	return buf;
}

static void
test_help_lists_every_key(void **state)
{
	static const char *const keys[] = { "feeds", "state_dir", "taxonomy", "workers",
		"worker_program", "worker_credit", "publish", "worker_endpoint", "allow_file_urls",
		"default_interval", "jitter_pct", "fetch_timeout", "connect_timeout", "max_body_bytes",
		"max_items_per_feed", "user_agent", "log_level", "url", "interval", "name" };
	char *help = capture(tg_config_print_help), *md = capture(tg_config_print_markdown);
	char needle[64];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(needle, sizeof(needle), "  %s (", keys[i]);
		assert_non_null(strstr(help, needle));
		snprintf(needle, sizeof(needle), "| `%s` |", keys[i]);
		assert_non_null(strstr(md, needle));
	}
	assert_non_null(strstr(help, "workers (int, default 2, allowed 0..256)"));
	assert_non_null(strstr(md, "| `jitter_pct` | int | `10` | 0..50 |"));
	free(help);
	free(md);
}

/* deploy/tigris.example.json is valid and sets every key. */
static void
test_example_config(void **state)
{
	static const char *const keys[] = { "feeds", "state_dir", "taxonomy", "workers",
		"worker_program", "worker_credit", "publish", "worker_endpoint", "allow_file_urls",
		"default_interval", "jitter_pct", "fetch_timeout", "connect_timeout", "max_body_bytes",
		"max_items_per_feed", "user_agent", "log_level" };
	const char *top = getenv("TG_TOP");
	struct tg_config *cfg = NULL;
	json_error_t jerr;
	char path[4096];
	json_t *root;

	snprintf(path, sizeof(path), "%s/deploy/tigris.example.json", top ? top : ".");
	if (tg_config_load(path, &cfg, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "%s\n", errbuf);
		fail();
	}
	assert_true(cfg->nfeeds > 0);
	tg_config_free(cfg);
	root = json_load_file(path, 0, &jerr);
	assert_non_null(root);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (json_object_get(root, keys[i]) == NULL) {
			fprintf(stderr, "%s lacks \"%s\"\n", path, keys[i]);
			fail();
		}
	}
	json_decref(root);
}

/* docs/config.md must contain the generated reference, byte for byte. */
static void
test_docs_in_sync(void **state)
{
	const char *top = getenv("TG_TOP");
	char path[4096], *md = capture(tg_config_print_markdown);
	struct tg_buf doc;
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/config.md", top ? top : ".");
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s (run from the top directory or set TG_TOP)\n", path);
		fail();
	}
	tg_buf_init(&doc, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(tg_buf_append(&doc, chunk, n), 0);
	fclose(f);
	if (strstr(doc.data, md) == NULL) {
		fprintf(stderr, "docs/config.md is out of date: regenerate the reference with "
				"build/tests/test_config --markdown\n");
		fail();
	}
	tg_buf_free(&doc);
	free(md);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_worker_program),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_relative_config_path),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_bounds),
		cmocka_unit_test(test_feed_url_errors),
		cmocka_unit_test(test_file_url_not_allowed),
		cmocka_unit_test(test_duplicate_feed),
		cmocka_unit_test(test_bad_endpoint),
		cmocka_unit_test(test_bad_log_level),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_multiple_errors),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_help_lists_every_key),
		cmocka_unit_test(test_docs_in_sync),
		cmocka_unit_test(test_example_config),
	};

	if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
		tg_config_print_markdown(stdout);
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests of the operations HTTP server: the listen address parser, the feed
 * status JSON, and a real evhttp server on an ephemeral 127.0.0.1 port (its loop
 * in a second thread) queried with libcurl: /metrics, /healthz both ways,
 * /feeds, 404, 405, HEAD, a port in use; then `tigris feeds` against it and the
 * http_listen config key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <pthread.h>

#include "../../cli/commands.h"
#include "../../common/util.h"
#include "../../daemon/config.h"
#include "../../daemon/httpd.h"
#include "../../daemon/metrics.h"

static char err[512];

/* What the test source serves; set by the test thread between requests. */
struct fake {
	int healthy;
	const char *reason;
	int feeds_null;
	int calls;
	struct tg_metrics *metrics;
};

static void
fake_metrics(void *arg, struct tg_buf *out)
{
	struct fake *f = arg;

	f->calls++;
	tg_metrics_render(f->metrics, out);
}

static int
fake_health(void *arg, char *reason, size_t len)
{
	struct fake *f = arg;

	f->calls++;
	if (f->healthy)
		return 0;
	snprintf(reason, len, "%s", f->reason);
	return -1;
}

static json_t *
fake_feeds(void *arg)
{
	struct fake *f = arg;
	struct tg_httpd_feed_status st[3] = {
		{ "wire", "http://a.example/rss", 0, 1700000000000LL, NULL, 4102444800000LL },
		{ "atom", "http://b.example/atom", 2, 1700000000000LL, "HTTP status 503", 0 },
		{ "gone", "http://c.example/x", 5, 0, "could not resolve host", 1700000060000LL },
	};
	json_t *arr;

	f->calls++;
	if (f->feeds_null)
		return NULL;
	arr = json_array();
	for (size_t i = 0; i < 3; i++)
		json_array_append_new(arr, tg_httpd_feed_json(&st[i]));
	return arr;
}

/* The server's loop in its own thread, stopped through a pipe. */
struct server {
	struct event_base *base;
	struct tg_httpd *httpd;
	struct event *stop_ev;
	int pipefd[2];
	pthread_t thread;
	int port;
	struct fake fake;
};

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void *
loop_main(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static int
server_start(void **state)
{
	struct server *s = tg_calloc(1, sizeof(*s));
	struct tg_httpd_source src = { .arg = &s->fake, .metrics = fake_metrics,
		.health = fake_health, .feeds = fake_feeds };

	s->fake.healthy = 1;
	s->fake.reason = "no workers connected";
	s->fake.metrics = tg_metrics_new();
	s->base = event_base_new();
	assert_non_null(s->base);
	assert_int_equal(pipe(s->pipefd), 0);
	s->stop_ev = event_new(s->base, s->pipefd[0], EV_READ, on_stop, s->base);
	assert_int_equal(event_add(s->stop_ev, NULL), 0);
	s->httpd = tg_httpd_new(s->base, "127.0.0.1:0", &src, err, sizeof(err));
	if (s->httpd == NULL)
		fprintf(stderr, "%s\n", err);
	assert_non_null(s->httpd);
	s->port = tg_httpd_port(s->httpd);
	assert_true(s->port > 0);
	assert_int_equal(pthread_create(&s->thread, NULL, loop_main, s), 0);
	*state = s;
	return 0;
}

static int
server_stop(void **state)
{
	struct server *s = *state;

	assert_int_equal(write(s->pipefd[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	tg_httpd_free(s->httpd);
	event_free(s->stop_ev);
	event_base_free(s->base);
	close(s->pipefd[0]);
	close(s->pipefd[1]);
	tg_metrics_free(s->fake.metrics);
	free(s);
	return 0;
}

struct response {
	long status;
	struct tg_buf body;
	struct tg_buf headers;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	return tg_buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

/* Ask the server for path with method (NULL: GET). */
static void
request(const struct server *s, const char *method, const char *path, struct response *r)
{
	char url[256];
	CURL *c = curl_easy_init();
	CURLcode rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	tg_buf_init(&r->body, 1 << 22);
	tg_buf_init(&r->headers, 1 << 16);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (method && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	rc = curl_easy_perform(c);
	assert_int_equal(rc, CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	if (r->body.data == NULL)
		tg_buf_append(&r->body, "", 0);
	if (r->headers.data == NULL)
		tg_buf_append(&r->headers, "", 0);
}

static void
response_free(struct response *r)
{
	tg_buf_free(&r->body);
	tg_buf_free(&r->headers);
}

static void
test_parse_listen(void **state)
{
	char host[64];
	int port;

	assert_int_equal(tg_httpd_parse_listen("127.0.0.1:9464", host, sizeof(host), &port, err,
	    sizeof(err)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9464);
	assert_int_equal(tg_httpd_parse_listen("[::1]:0", host, sizeof(host), &port, err,
	    sizeof(err)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(tg_httpd_parse_listen("localhost:80", host, sizeof(host), &port, err,
	    sizeof(err)), 0);
	assert_string_equal(host, "localhost");
	assert_int_equal(tg_httpd_parse_listen("127.0.0.1", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(tg_httpd_parse_listen(":9464", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no host"));
	assert_int_equal(tg_httpd_parse_listen("1.2.3.4:65536", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(tg_httpd_parse_listen("1.2.3.4:http", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(tg_httpd_parse_listen("::1:80", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "[address]"));
	assert_int_equal(tg_httpd_parse_listen("[::1]80", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(tg_httpd_parse_listen("a b:80", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(tg_httpd_parse_listen("", host, sizeof(host), &port, err, sizeof(err)), -1);
	assert_int_equal(tg_httpd_parse_listen("averyveryveryveryveryveryveryveryveryverylonghostname"
					       "thatdoesnotfit.example:80", host, 16, &port, err,
	    sizeof(err)), -1);
}

static void
test_feed_json(void **state)
{
	struct tg_httpd_feed_status st = { "wire", "http://a.example/rss", 0, 1700000000000LL,
		NULL, 1700000300500LL };
	json_t *o = tg_httpd_feed_json(&st);

	assert_string_equal(json_string_value(json_object_get(o, "name")), "wire");
	assert_string_equal(json_string_value(json_object_get(o, "url")), "http://a.example/rss");
	assert_string_equal(json_string_value(json_object_get(o, "health")), "ok");
	assert_string_equal(json_string_value(json_object_get(o, "last_success")),
	    "2023-11-14T22:13:20Z");
	assert_true(json_is_null(json_object_get(o, "last_error")));
	assert_string_equal(json_string_value(json_object_get(o, "next_fetch")),
	    "2023-11-14T22:18:20Z");
	assert_int_equal(json_integer_value(json_object_get(o, "error_count")), 0);
	assert_int_equal(json_object_size(o), 7);
	json_decref(o);

	st.error_count = 2;
	st.last_error = "HTTP status 500";
	st.last_success_ms = 0;
	st.next_fetch_ms = 0;
	o = tg_httpd_feed_json(&st);
	assert_string_equal(json_string_value(json_object_get(o, "health")), "degraded");
	assert_string_equal(json_string_value(json_object_get(o, "last_error")), "HTTP status 500");
	assert_true(json_is_null(json_object_get(o, "last_success")));
	assert_true(json_is_null(json_object_get(o, "next_fetch")));
	json_decref(o);
	st.error_count = 3;
	o = tg_httpd_feed_json(&st);
	assert_string_equal(json_string_value(json_object_get(o, "health")), "failing");
	json_decref(o);
}

static void
test_metrics_endpoint(void **state)
{
	struct server *s = *state;
	struct response r;

	tg_metrics_fetch(s->fake.metrics, TG_METRICS_FETCH_OK, 4096, 12);
	request(s, NULL, "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers.data, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(r.body.data, "tigris_fetches_total{result=\"ok\"} 1\n"));
	assert_non_null(strstr(r.body.data, "tigris_fetch_bytes_total 4096\n"));
	response_free(&r);

	/* the query string does not change the path */
	tg_metrics_fetch(s->fake.metrics, TG_METRICS_FETCH_OK, 4096, 12);
	request(s, NULL, "/metrics?name=x", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, "tigris_fetches_total{result=\"ok\"} 2\n"));
	response_free(&r);
}

static void
test_healthz(void **state)
{
	struct server *s = *state;
	struct response r;

	s->fake.healthy = 1;
	request(s, NULL, "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "ok\n");
	response_free(&r);

	s->fake.healthy = 0;
	s->fake.reason = "no workers connected";
	request(s, NULL, "/healthz", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body.data, "no workers connected\n");
	response_free(&r);

	s->fake.reason = "store error:\ndisk full";
	request(s, NULL, "/healthz", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body.data, "store error: disk full\n"); /* one line */
	response_free(&r);

	s->fake.reason = "";
	request(s, NULL, "/healthz", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body.data, "unhealthy\n");
	response_free(&r);
	s->fake.healthy = 1;
}

static void
test_feeds_endpoint(void **state)
{
	struct server *s = *state;
	struct response r;
	json_error_t jerr;
	json_t *arr;

	request(s, NULL, "/feeds", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers.data, "Content-Type: application/json"));
	arr = json_loads(r.body.data, 0, &jerr);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "health")),
	    "degraded");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 2), "health")),
	    "failing");
	json_decref(arr);
	response_free(&r);

	s->fake.feeds_null = 1;
	request(s, NULL, "/feeds", &r);
	assert_int_equal(r.status, 500);
	response_free(&r);
	s->fake.feeds_null = 0;
}

static void
test_other_requests(void **state)
{
	struct server *s = *state;
	struct response r;
	int calls;

	request(s, NULL, "/nope", &r);
	assert_int_equal(r.status, 404);
	response_free(&r);
	request(s, NULL, "/metricsx", &r);
	assert_int_equal(r.status, 404);
	response_free(&r);
	request(s, NULL, "/", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, "/metrics"));
	response_free(&r);

	calls = s->fake.calls;
	request(s, "POST", "/healthz", &r);
	assert_int_equal(r.status, 405);
	response_free(&r);
	request(s, "DELETE", "/feeds", &r);
	assert_int_equal(r.status, 405);
	response_free(&r);
	assert_int_equal(s->fake.calls, calls); /* refused before reaching the source */

	request(s, "HEAD", "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	response_free(&r);
}

static void
test_bind_errors(void **state)
{
	struct server *s = *state;
	struct event_base *base = event_base_new();
	struct tg_httpd_source src = { 0 };
	struct tg_httpd *h;
	char listen[64];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
	h = tg_httpd_new(base, listen, &src, err, sizeof(err));
	assert_null(h);
	assert_non_null(strstr(err, "cannot listen on"));
	h = tg_httpd_new(base, "127.0.0.1", &src, err, sizeof(err));
	assert_null(h);
	assert_true(tg_str_has_prefix(err, "http_listen: "));
	/* a source without callbacks serves 404s */
	h = tg_httpd_new(base, "127.0.0.1:0", &src, err, sizeof(err));
	assert_non_null(h);
	tg_httpd_free(h);
	tg_httpd_free(NULL);
	event_base_free(base);
}

/* Run `tigris feeds ARGS` with stdout captured into out (caller frees). */
static int
run_feeds_cmd(int argc, char **argv, char **out)
{
	char path[] = "/tmp/tigris-test-feeds-XXXXXX";
	int fd = mkstemp(path), saved, rc;
	struct tg_buf b;
	char chunk[4096];
	ssize_t n;

	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	rc = tg_cmd_feeds(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	tg_buf_init(&b, 1 << 20);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		tg_buf_append(&b, chunk, (size_t)n);
	close(fd);
	unlink(path);
	*out = tg_buf_take(&b);
	return rc;
}

static void
test_cmd_feeds(void **state)
{
	struct server *s = *state;
	char url[128], *out;
	char *argv_table[] = { "feeds", "--url", url, NULL };
	char *argv_json[] = { "feeds", "--json", "--url", url, NULL };
	json_t *arr;
	json_error_t jerr;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	assert_int_equal(run_feeds_cmd(3, argv_table, &out), 0);
	assert_non_null(strstr(out, "NAME"));
	assert_non_null(strstr(out, "HEALTH"));
	assert_non_null(strstr(out, "wire"));
	assert_non_null(strstr(out, "HTTP status 503"));
	assert_non_null(strstr(out, "could not resolve host"));
	assert_non_null(strstr(out, "never"));   /* "gone" never succeeded */
	assert_non_null(strstr(out, "in "));     /* "wire" is due in the future */
	assert_non_null(strstr(out, "due"));     /* "gone" was due in the past */
	assert_non_null(strstr(out, "3 feed(s): 1 ok, 1 degraded, 1 failing"));
	free(out);

	assert_int_equal(run_feeds_cmd(4, argv_json, &out), 0);
	arr = json_loads(out, 0, &jerr);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 3);
	json_decref(arr);
	free(out);

	/* the URL may already name /feeds */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/feeds/", s->port);
	assert_int_equal(run_feeds_cmd(3, argv_table, &out), 0);
	assert_non_null(strstr(out, "3 feed(s)"));
	free(out);

	/* a server that answers something else is an error */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", s->port);
	assert_int_equal(run_feeds_cmd(3, argv_table, &out), 1);
	free(out);
	s->fake.feeds_null = 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	assert_int_equal(run_feeds_cmd(3, argv_table, &out), 1);
	free(out);
	s->fake.feeds_null = 0;
}

static void
test_cmd_feeds_unreachable(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_httpd_source src = { 0 };
	struct tg_httpd *h = tg_httpd_new(base, "127.0.0.1:0", &src, err, sizeof(err));
	char url[128], *out;
	char *argv[] = { "feeds", "--url", url, NULL };
	char *bad[] = { "feeds", "extra", NULL };

	/* a port that was free a moment ago and is closed now */
	assert_non_null(h);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", tg_httpd_port(h));
	tg_httpd_free(h);
	event_base_free(base);
	assert_int_equal(run_feeds_cmd(3, argv, &out), 1);
	free(out);
	assert_int_equal(run_feeds_cmd(2, bad, &out), 2);
	free(out);
}

static void
test_config_http_listen(void **state)
{
	static char cerr[4096];
	struct tg_config *cfg = NULL;
	const char *t;

	t = "{}";
	assert_int_equal(tg_config_parse(t, strlen(t), "/etc/t.json", &cfg, cerr, sizeof(cerr)), 0);
	assert_string_equal(cfg->http_listen, "127.0.0.1:9464");
	tg_config_free(cfg);
	t = "{\"http_listen\": \"\"}";
	assert_int_equal(tg_config_parse(t, strlen(t), "/etc/t.json", &cfg, cerr, sizeof(cerr)), 0);
	assert_string_equal(cfg->http_listen, "");
	tg_config_free(cfg);
	t = "{\"http_listen\": \"[::1]:9100\"}";
	assert_int_equal(tg_config_parse(t, strlen(t), "/etc/t.json", &cfg, cerr, sizeof(cerr)), 0);
	assert_string_equal(cfg->http_listen, "[::1]:9100");
	tg_config_free(cfg);
	t = "{\"http_listen\": \"9464\"}";
	assert_int_equal(tg_config_parse(t, strlen(t), "/etc/t.json", &cfg, cerr, sizeof(cerr)), -1);
	assert_non_null(strstr(cerr, "http_listen: \"9464\": expected host:port"));
	t = "{\"http_listen\": 9464}";
	assert_int_equal(tg_config_parse(t, strlen(t), "/etc/t.json", &cfg, cerr, sizeof(cerr)), -1);
	assert_non_null(strstr(cerr, "http_listen: expected a string"));
	t = "{\"http_listen\": null}";
	assert_int_equal(tg_config_parse(t, strlen(t), "/etc/t.json", &cfg, cerr, sizeof(cerr)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_feed_json),
		cmocka_unit_test(test_config_http_listen),
		cmocka_unit_test_setup_teardown(test_metrics_endpoint, server_start, server_stop),
		cmocka_unit_test_setup_teardown(test_healthz, server_start, server_stop),
		cmocka_unit_test_setup_teardown(test_feeds_endpoint, server_start, server_stop),
		cmocka_unit_test_setup_teardown(test_other_requests, server_start, server_stop),
		cmocka_unit_test_setup_teardown(test_bind_errors, server_start, server_stop),
		cmocka_unit_test_setup_teardown(test_cmd_feeds, server_start, server_stop),
		cmocka_unit_test(test_cmd_feeds_unreachable),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

/*
 * A fast loopback feed server for the benchmarks (libevent evhttp, one thread):
 * static feed files under /f/<name>, generated RSS feeds under /g/<n> that gain
 * items at a set rate, ETags with 304 answers to matching conditional requests,
 * optional "Connection: close", and counters. Controlled over HTTP by the
 * driver: /_stats, /_reset, /_ctl?rate=R&close=0|1&hold=0|1&window=W, /_dump?path=P
 * (first time each generated item was served, for fetch-to-alert latency).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/util.h"
#include "bench.h"

#define MAX_GEN_FEEDS 100000
#define MAX_FIRST_SEEN (4u << 20)
#define LAST_MODIFIED "Fri, 01 May 2026 12:00:00 GMT"

struct file {
	char name[256];
	char *data;
	size_t len;
	char etag[40];
};

struct pool_item {
	char *title; /* XML-escaped */
	char *summary;
};

struct first_seen {
	uint32_t feed;
	uint32_t item;
	int64_t us;
};

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct file *files;
	size_t nfiles;
	struct pool_item *pool;
	size_t npool;
	/* generated feeds: item count of feed i at time t is
	 * window + floor(acc + rate * (t - t_change) + phase(i)) */
	double rate;    /* new items per second per generated feed */
	double acc;     /* items accrued per feed before t_change */
	int64_t t_change_us;
	int window;
	uint64_t *served_max; /* per generated feed: highest item index served */
	struct first_seen *seen;
	size_t nseen;
	bool close;
	bool hold; /* answer 304 to every feed request (until the subscribers are ready) */
	uint64_t held;
	/* counters */
	uint64_t req, r200, r304, r404, bytes;
	int64_t first_us, last_us, first200_us, last200_us;
};

static char *
xml_escape(const char *s)
{
	struct tg_buf b;

	tg_buf_init(&b, 0);
	for (; *s; s++) {
		switch (*s) {
		case '&':
			tg_buf_append_str(&b, "&amp;");
			break;
		case '<':
			tg_buf_append_str(&b, "&lt;");
			break;
		case '>':
			tg_buf_append_str(&b, "&gt;");
			break;
		default:
			tg_buf_append(&b, s, 1);
		}
	}
	return b.data ? tg_buf_take(&b) : tg_strdup("");
}

static int
load_pool(struct server *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;

	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *t, *b;

		if (o == NULL)
			continue;
		t = json_string_value(json_object_get(o, "title"));
		b = json_string_value(json_object_get(o, "body"));
		if (t && b) {
			if (s->npool == alloc) {
				alloc = alloc ? alloc * 2 : 1024;
				s->pool = tg_realloc(s->pool, alloc * sizeof(*s->pool));
			}
			s->pool[s->npool].title = xml_escape(t);
			s->pool[s->npool].summary = xml_escape(b);
			s->npool++;
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	return s->npool ? 0 : -1;
}

static int
load_dir(struct server *s, const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	char path[4096];

	if (n < 0)
		return -1;
	s->files = tg_calloc((size_t)n + 1, sizeof(*s->files));
	for (int i = 0; i < n; i++) {
		struct file *fl = &s->files[s->nfiles];

		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			snprintf(fl->name, sizeof(fl->name), "%s", ents[i]->d_name);
			fl->data = bench_read_file(path, &fl->len);
			if (fl->data) {
				snprintf(fl->etag, sizeof(fl->etag), "\"s%016llx\"",
				    (unsigned long long)tg_hash64(TG_HASH_INIT, fl->data, fl->len));
				s->nfiles++;
			}
		}
		free(ents[i]);
	}
	free(ents);
	return 0;
}

static int
cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct file *)elem)->name);
}

static void
count(struct server *s, int status, size_t len)
{
	int64_t now = bench_wall_us();

	s->req++;
	if (s->first_us == 0)
		s->first_us = now;
	s->last_us = now;
	s->bytes += len;
	if (status == 200) {
		s->r200++;
		if (s->first200_us == 0)
			s->first200_us = now;
		s->last200_us = now;
	} else if (status == 304) {
		s->r304++;
	} else {
		s->r404++;
	}
}

static void
reply(struct server *s, struct evhttp_request *req, int status, const char *ctype,
    struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (ctype)
		evhttp_add_header(h, "Content-Type", ctype);
	if (s->close)
		evhttp_add_header(h, "Connection", "close");
	evhttp_send_reply(req, status, status == 200 ? "OK" : status == 304 ? "Not Modified" :
	    "Not Found", body);
}

static bool
etag_matches(struct evhttp_request *req, const char *etag)
{
	const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");

	return inm && strcmp(inm, etag) == 0;
}

static void
serve_file(struct server *s, struct evhttp_request *req, const char *name)
{
	struct file *fl = bsearch(name, s->files, s->nfiles, sizeof(*s->files), cmp_name);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b;

	if (fl == NULL) {
		count(s, 404, 0);
		reply(s, req, 404, NULL, NULL);
		return;
	}
	evhttp_add_header(h, "ETag", fl->etag);
	evhttp_add_header(h, "Last-Modified", LAST_MODIFIED);
	if (etag_matches(req, fl->etag)) {
		count(s, 304, 0);
		reply(s, req, 304, NULL, NULL);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_reference(b, fl->data, fl->len, NULL, NULL);
	count(s, 200, fl->len);
	reply(s, req, 200, "application/xml; charset=utf-8", b);
	evbuffer_free(b);
}

/* Items of generated feed i now (the first `window` exist from the start). */
static uint64_t
gen_count(const struct server *s, uint32_t i, int64_t now_us)
{
	double phase = fmod((double)i * 0.6180339887, 1.0);
	double acc = s->acc + s->rate * (double)(now_us - s->t_change_us) / 1e6;

	return (uint64_t)s->window + (uint64_t)floor(acc + phase);
}

static void
serve_gen(struct server *s, struct evhttp_request *req, uint32_t i)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	int64_t now = bench_wall_us();
	uint64_t n = gen_count(s, i, now), from;
	struct evbuffer *b;
	char etag[48];

	snprintf(etag, sizeof(etag), "\"g%u-%llu\"", i, (unsigned long long)n);
	evhttp_add_header(h, "ETag", etag);
	if (etag_matches(req, etag)) {
		count(s, 304, 0);
		reply(s, req, 304, NULL, NULL);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">"
			       "<channel><title>Generated %u</title><link>https://gen%u.example/"
			       "</link><description>bench</description>\n",
	    i, i);
	from = n > (uint64_t)s->window ? n - (uint64_t)s->window : 0;
	for (uint64_t k = n; k > from; k--) {
		const struct pool_item *p = &s->pool[((uint64_t)i * 7919 + k * 31) % s->npool];
		evbuffer_add_printf(b, "<item><title>%s</title><link>https://gen%u.example/a/%llu"
				       "</link><guid isPermaLink=\"false\">g%u-%llu</guid>"
				       "<pubDate>Fri, 01 May 2026 12:00:00 GMT</pubDate>"
				       "<description>%s</description></item>\n",
		    p->title, i, (unsigned long long)k, i, (unsigned long long)k, p->summary);
	}
	evbuffer_add_printf(b, "</channel></rss>\n");
	if (i < MAX_GEN_FEEDS && n > s->served_max[i]) {
		uint64_t k0 = s->served_max[i] > from ? s->served_max[i] : from;
		for (uint64_t k = k0 + 1; k <= n && s->nseen < MAX_FIRST_SEEN; k++) {
			if (k <= (uint64_t)s->window)
				continue; /* there from the start: not a new item */
			s->seen[s->nseen].feed = i;
			s->seen[s->nseen].item = (uint32_t)k;
			s->seen[s->nseen].us = now;
			s->nseen++;
		}
		s->served_max[i] = n;
	}
	count(s, 200, evbuffer_get_length(b));
	reply(s, req, 200, "application/rss+xml", b);
	evbuffer_free(b);
}

static void
serve_stats(struct server *s, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "{\"req\": %llu, \"r200\": %llu, \"r304\": %llu, \"r404\": %llu, "
			       "\"bytes\": %llu, \"first_us\": %lld, \"last_us\": %lld, "
			       "\"first200_us\": %lld, \"last200_us\": %lld, \"first_seen\": %zu, "
			       "\"held\": %llu, \"now_us\": %lld}\n",
	    (unsigned long long)s->req, (unsigned long long)s->r200, (unsigned long long)s->r304,
	    (unsigned long long)s->r404, (unsigned long long)s->bytes, (long long)s->first_us,
	    (long long)s->last_us, (long long)s->first200_us, (long long)s->last200_us, s->nseen,
	    (unsigned long long)s->held, (long long)bench_wall_us());
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
serve_ctl(struct server *s, struct evhttp_request *req, const char *query)
{
	struct evkeyvalq q;
	const char *v;
	int64_t now = bench_wall_us();

	evhttp_parse_query_str(query ? query : "", &q);
	if ((v = evhttp_find_header(&q, "rate")) != NULL) {
		s->acc += s->rate * (double)(now - s->t_change_us) / 1e6;
		s->t_change_us = now;
		s->rate = strtod(v, NULL);
	}
	if ((v = evhttp_find_header(&q, "close")) != NULL)
		s->close = strcmp(v, "1") == 0;
	if ((v = evhttp_find_header(&q, "hold")) != NULL)
		s->hold = strcmp(v, "1") == 0;
	if ((v = evhttp_find_header(&q, "window")) != NULL)
		s->window = (int)strtol(v, NULL, 10);
	evhttp_clear_headers(&q);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
serve_dump(struct server *s, struct evhttp_request *req, const char *query)
{
	struct evkeyvalq q;
	const char *path;
	FILE *f;
	int status = 500;

	evhttp_parse_query_str(query ? query : "", &q);
	path = evhttp_find_header(&q, "path");
	if (path && (f = fopen(path, "w")) != NULL) {
		for (size_t i = 0; i < s->nseen; i++)
			fprintf(f, "g%u-%u %lld\n", s->seen[i].feed, s->seen[i].item,
			    (long long)s->seen[i].us);
		if (fclose(f) == 0)
			status = 200;
	}
	evhttp_clear_headers(&q);
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", NULL);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);

	if (path == NULL)
		path = "/";
	if (s->hold && (strncmp(path, "/f/", 3) == 0 || strncmp(path, "/g/", 3) == 0)) {
		s->held++;
		reply(s, req, 304, NULL, NULL);
	} else if (strncmp(path, "/f/", 3) == 0) {
		serve_file(s, req, path + 3);
	} else if (strncmp(path, "/g/", 3) == 0) {
		long i = strtol(path + 3, NULL, 10);
		if (i < 0 || i >= MAX_GEN_FEEDS || s->npool == 0) {
			count(s, 404, 0);
			reply(s, req, 404, NULL, NULL);
		} else {
			serve_gen(s, req, (uint32_t)i);
		}
	} else if (strcmp(path, "/_stats") == 0) {
		serve_stats(s, req);
	} else if (strcmp(path, "/_reset") == 0) {
		s->req = s->r200 = s->r304 = s->r404 = s->bytes = 0;
		s->first_us = s->last_us = s->first200_us = s->last200_us = 0;
		s->nseen = 0;
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/_ctl") == 0) {
		serve_ctl(s, req, query);
	} else if (strcmp(path, "/_dump") == 0) {
		serve_dump(s, req, query);
	} else {
		count(s, 404, 0);
		reply(s, req, 404, NULL, NULL);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

static void
usage(void)
{
	fputs("usage: bench_httpd [--port P] [--hosts N] [--dir DIR] [--pool ITEMS.jsonl]"
	      " [--window W] [--port-file FILE]\n",
	    stderr);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "dir", required_argument, NULL, 'd' },
		{ "pool", required_argument, NULL, 'P' },
		{ "window", required_argument, NULL, 'w' },
		{ "port-file", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct server s;
	const char *dir = NULL, *pool = NULL, *port_file = NULL;
	struct evhttp_bound_socket *bs;
	struct event *sigint, *sigterm;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	long port = 0, hosts = 1;
	int ch;

	memset(&s, 0, sizeof(s));
	s.window = 3;
	while ((ch = getopt_long(argc, argv, "p:H:d:P:w:o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'H':
			hosts = strtol(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'P':
			pool = optarg;
			break;
		case 'w':
			s.window = (int)strtol(optarg, NULL, 10);
			break;
		case 'o':
			port_file = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc || hosts < 1 || hosts > 250 || port < 0 || port > 65535) {
		usage();
		return 2;
	}
	if (dir && load_dir(&s, dir) != 0) {
		fprintf(stderr, "bench_httpd: cannot read %s\n", dir);
		return 1;
	}
	if (pool && load_pool(&s, pool) != 0) {
		fprintf(stderr, "bench_httpd: cannot read %s\n", pool);
		return 1;
	}
	s.served_max = tg_calloc(MAX_GEN_FEEDS, sizeof(*s.served_max));
	s.seen = tg_calloc(MAX_FIRST_SEEN, sizeof(*s.seen));
	s.t_change_us = bench_wall_us();
	signal(SIGPIPE, SIG_IGN);
	s.base = event_base_new();
	s.http = evhttp_new(s.base);
	evhttp_set_gencb(s.http, on_request, &s);
	evhttp_set_allowed_methods(s.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(s.http, 120);
	bs = evhttp_bind_socket_with_handle(s.http, "127.0.0.1", (ev_uint16_t)port);
	if (bs == NULL ||
	    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &slen) != 0) {
		fprintf(stderr, "bench_httpd: cannot bind 127.0.0.1:%ld\n", port);
		return 1;
	}
	port = ntohs(sin.sin_port);
	for (long h = 2; h <= hosts; h++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.%ld", h);
		if (evhttp_bind_socket(s.http, addr, (ev_uint16_t)port) != 0) {
			fprintf(stderr, "bench_httpd: cannot bind %s:%ld\n", addr, port);
			return 1;
		}
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (f == NULL)
			return 1;
		fprintf(f, "%ld\n", port);
		fclose(f);
	}
	sigint = evsignal_new(s.base, SIGINT, on_signal, s.base);
	sigterm = evsignal_new(s.base, SIGTERM, on_signal, s.base);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	event_base_dispatch(s.base);
	event_free(sigint);
	event_free(sigterm);
	evhttp_free(s.http);
	event_base_free(s.base);
	for (size_t i = 0; i < s.nfiles; i++)
		free(s.files[i].data);
	free(s.files);
	for (size_t i = 0; i < s.npool; i++) {
		free(s.pool[i].title);
		free(s.pool[i].summary);
	}
	free(s.pool);
	free(s.served_max);
	free(s.seen);
	return 0;
}

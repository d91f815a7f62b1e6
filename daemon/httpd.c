/*
 * The operations HTTP server on libevent's evhttp; see httpd.h. Only GET and
 * HEAD are served (405 otherwise), headers and bodies are capped and idle
 * connections time out, so a stray client cannot hold the loop or its memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd.h"
#include "metrics.h"

#define MAX_HEADERS_SIZE 8192
#define MAX_BODY_SIZE 1024 /* requests carry no body */
#define REASON_MAX 256

struct tg_httpd {
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct tg_httpd_source src;
	int port;
};

int
tg_httpd_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err,
    size_t errlen)
{
	const char *colon, *h = listen;
	size_t hl;
	long p;

	if (listen == NULL || *listen == '\0') {
		snprintf(err, errlen, "empty listen address (expected host:port)");
		return -1;
	}
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected [address]:port", listen);
			return -1;
		}
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "\"%s\": expected host:port", listen);
			return -1;
		}
		hl = (size_t)(colon - listen);
		if (memchr(listen, ':', hl) != NULL) {
			snprintf(err, errlen, "\"%s\": write an IPv6 address as [address]:port",
			    listen);
			return -1;
		}
	}
	if (hl == 0) {
		snprintf(err, errlen, "\"%s\": no host (use 127.0.0.1, or 0.0.0.0 for every "
				      "interface)", listen);
		return -1;
	}
	if (hl >= hostlen) {
		snprintf(err, errlen, "\"%s\": host too long", listen);
		return -1;
	}
	for (size_t i = 0; i < hl; i++) {
		if ((unsigned char)h[i] <= 0x20 || h[i] == '/' || h[i] == 0x7f) {
			snprintf(err, errlen, "\"%s\": bad character in host", listen);
			return -1;
		}
	}
	if (tg_parse_long(colon + 1, 0, 65535, &p) != 0) {
		snprintf(err, errlen, "\"%s\": port must be a number 0..65535", listen);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

/* Milliseconds (wall clock) as an RFC 3339 JSON string, or null for 0. */
static json_t *
json_time(int64_t ms)
{
	char buf[21];

	if (ms <= 0)
		return json_null();
	tg_time_format_rfc3339((time_t)(ms / 1000), buf);
	return json_string(buf);
}

/* A JSON string of s, or null for NULL (or for bytes that are not UTF-8). */
static json_t *
json_str_or_null(const char *s)
{
	json_t *v;

	if (s == NULL)
		return json_null();
	v = json_string(s);
	return v ? v : json_null();
}

json_t *
tg_httpd_feed_json(const struct tg_httpd_feed_status *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_str_or_null(st->name));
	json_object_set_new(o, "url", json_str_or_null(st->url));
	json_object_set_new(o, "health",
	    json_string(tg_metrics_feed_health_name(tg_metrics_feed_health(st->error_count))));
	json_object_set_new(o, "last_success", json_time(st->last_success_ms));
	json_object_set_new(o, "last_error", json_str_or_null(st->last_error));
	json_object_set_new(o, "next_fetch", json_time(st->next_fetch_ms));
	json_object_set_new(o, "error_count", json_integer(st->error_count));
	return o;
}

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
    const char *body, size_t len)
{
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(hdrs, "Content-Type", ctype);
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	if (buf == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (len && evbuffer_add(buf, body, len) != 0) {
		evbuffer_free(buf);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	reply(req, code, reason, "text/plain; charset=utf-8", text, strlen(text));
}

static void
serve_metrics(struct tg_httpd *h, struct evhttp_request *req)
{
	struct tg_buf out;

	tg_buf_init(&out, TG_HTTPD_METRICS_MAX);
	h->src.metrics(h->src.arg, &out);
	reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    out.data ? out.data : "", out.len);
	tg_buf_free(&out);
}

static void
serve_health(struct tg_httpd *h, struct evhttp_request *req)
{
	char reason[REASON_MAX], text[REASON_MAX + 2];

	reason[0] = '\0';
	if (h->src.health(h->src.arg, reason, sizeof(reason)) == 0) {
		reply_text(req, HTTP_OK, "OK", "ok\n");
		return;
	}
	/* One line: a reason with a newline would read as two. */
	for (char *p = reason; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	snprintf(text, sizeof(text), "%s\n", reason[0] ? reason : "unhealthy");
	reply_text(req, 503, "Service Unavailable", text);
}

static void
serve_feeds(struct tg_httpd *h, struct evhttp_request *req)
{
	json_t *arr = h->src.feeds(h->src.arg);
	char *text;

	if (arr == NULL) {
		reply_text(req, HTTP_INTERNAL, "Internal Server Error", "feed status unavailable\n");
		return;
	}
	text = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(arr);
	if (text == NULL) {
		reply_text(req, HTTP_INTERNAL, "Internal Server Error", "cannot encode\n");
		return;
	}
	reply(req, HTTP_OK, "OK", "application/json", text, strlen(text));
	free(text);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct tg_httpd *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed", "only GET and HEAD\n");
		return;
	}
	if (path == NULL || *path == '\0')
		path = "/";
	if (strcmp(path, "/metrics") == 0 && h->src.metrics)
		serve_metrics(h, req);
	else if (strcmp(path, "/healthz") == 0 && h->src.health)
		serve_health(h, req);
	else if (strcmp(path, "/feeds") == 0 && h->src.feeds)
		serve_feeds(h, req);
	else if (strcmp(path, "/") == 0)
		reply_text(req, HTTP_OK, "OK", "tigrisd: /metrics /healthz /feeds\n");
	else
		reply_text(req, HTTP_NOTFOUND, "Not Found", "not found\n");
}

/* The port a bound socket got (after port 0). */
static int
bound_port(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

struct tg_httpd *
tg_httpd_new(struct event_base *base, const char *listen, const struct tg_httpd_source *src,
    char *err, size_t errlen)
{
	struct tg_httpd *h = NULL;
	char host[256], perr[256];
	int port;

	if (tg_httpd_parse_listen(listen, host, sizeof(host), &port, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "http_listen: %s", perr);
		return NULL;
	}
	h = tg_calloc(1, sizeof(*h));
	h->src = *src;
	h->http = evhttp_new(base);
	if (h->http == NULL) {
		snprintf(err, errlen, "http_listen: cannot create the HTTP server");
		goto fail;
	}
	/* Let every method through to on_request, which answers 405 for all but
	 * GET and HEAD (libevent itself would say 501). */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
		EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(h->http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(h->http, MAX_BODY_SIZE);
	evhttp_set_timeout(h->http, TG_HTTPD_TIMEOUT_S);
	evhttp_set_gencb(h->http, on_request, h);
	errno = 0;
	h->sock = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
	if (h->sock == NULL) {
		snprintf(err, errlen, "http_listen: cannot listen on %s: %s", listen,
		    errno ? strerror(errno) : "address unavailable");
		goto fail;
	}
	h->port = bound_port(evhttp_bound_socket_get_fd(h->sock));
	return h;
fail:
	tg_httpd_free(h);
	return NULL;
}

void
tg_httpd_free(struct tg_httpd *h)
{
	if (h == NULL)
		return;
	if (h->http)
		evhttp_free(h->http);
	free(h);
}

int
tg_httpd_port(const struct tg_httpd *h)
{
	return h->port;
}

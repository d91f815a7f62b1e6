/*
 * libcurl multi on libevent: curl tells us which sockets to watch and when its
 * next timeout is; libevent tells curl when a socket is ready or the timer fired;
 * finished transfers are collected with curl_multi_info_read. See fetch.h.
 */
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "fetch.h"

struct transfer {
	struct tg_fetcher *f;
	CURL *easy;
	struct curl_slist *headers;
	struct tg_buf body;
	bool too_big;
	int64_t start_ms;
	tg_fetch_cb cb;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct transfer *prev, *next;
};

struct sockctx {
	struct event *ev;
};

struct tg_fetcher {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct tg_fetch_opts opts;
	char *user_agent;
	size_t active;
	struct transfer *transfers;
};

static void check_done(struct tg_fetcher *f);

void
tg_fetch_opts_default(struct tg_fetch_opts *o)
{
	o->timeout_s = 30;
	o->connect_timeout_s = 10;
	o->max_body = 16u << 20;
	o->max_redirects = 5;
	o->low_speed_bytes = 100;
	o->low_speed_time_s = 15;
	o->max_host_connections = 2;
	o->user_agent = "tigris/0.1";
	o->allow_file = false;
}

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_fetcher *f = arg;
	int action = 0, running = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, action, &running);
	check_done(f);
	if (running <= 0 && evtimer_pending(f->timer, NULL))
		evtimer_del(f->timer);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_fetcher *f = arg;
	int running = 0;

	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(f);
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be called back after timeout_ms. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct tg_fetcher *f = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(f->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(f->timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl asks, or stop watching it. */
static int
sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct tg_fetcher *f = userp;
	struct sockctx *sc = sockp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (sc) {
			event_free(sc->ev);
			free(sc);
			curl_multi_assign(f->multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (sc == NULL) {
		sc = calloc(1, sizeof(*sc));
		if (sc == NULL)
			return -1;
		curl_multi_assign(f->multi, s, sc);
	} else {
		event_free(sc->ev);
	}
	sc->ev = event_new(f->base, s, kind, event_cb, f);
	if (sc->ev == NULL || event_add(sc->ev, NULL) != 0)
		return -1;
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;

	/* Counted on the decoded body, so a compression bomb stops at the cap. */
	if (tg_buf_append(&t->body, ptr, n) != 0) {
		t->too_big = true;
		return 0;
	}
	return n;
}

static void
transfer_free(struct transfer *t)
{
	struct tg_fetcher *f = t->f;

	if (t->prev)
		t->prev->next = t->next;
	else
		f->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	curl_multi_remove_handle(f->multi, t->easy);
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	tg_buf_free(&t->body);
	f->active--;
	free(t);
}

/* Copy of response header name of the last request, or NULL. */
static char *
header_dup(CURL *easy, const char *name)
{
	struct curl_header *h = NULL;

	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == NULL)
		return NULL;
	return tg_strdup(h->value);
}

static void
finish(struct transfer *t, CURLcode rc)
{
	struct tg_fetch_res res;
	char *etag = NULL, *lastmod = NULL, *ctype = NULL, *eurl = NULL, *error = NULL;
	char *p = NULL;
	long status = 0;
	char why[CURL_ERROR_SIZE + 64];

	memset(&res, 0, sizeof(res));
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &p) == CURLE_OK && p)
		ctype = tg_strdup(p);
	p = NULL;
	if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &p) == CURLE_OK && p)
		eurl = tg_strdup(p);
	etag = header_dup(t->easy, "ETag");
	lastmod = header_dup(t->easy, "Last-Modified");

	if (rc == CURLE_OK) {
		res.ok = true;
		/* file:// has no status: a successful read counts as 200. */
		res.status = status ? status : 200;
	} else {
		if (t->too_big)
			snprintf(why, sizeof(why), "body larger than the cap of %zu bytes",
			    t->body.limit);
		else
			snprintf(why, sizeof(why), "%s%s%s", curl_easy_strerror(rc),
			    t->errbuf[0] ? ": " : "", t->errbuf);
		error = tg_strdup(why);
		res.ok = false;
		res.status = status;
		res.error = error;
	}
	res.len = t->body.len;
	res.etag = etag;
	res.last_modified = lastmod;
	res.content_type = ctype;
	res.effective_url = eurl;
	res.duration_ms = tg_now_mono_ms() - t->start_ms;

	tg_fetch_cb cb = t->cb;
	void *arg = t->arg;
	/* Free the transfer before the callback so that it may start a new fetch
	 * of the same feed; the result's strings live until we return. */
	struct tg_buf body = t->body;
	tg_buf_init(&t->body, 0);
	res.body = body.data ? body.data : "";
	transfer_free(t);
	cb(arg, &res);
	tg_buf_free(&body);
	free(etag);
	free(lastmod);
	free(ctype);
	free(eurl);
	free(error);
}

static void
check_done(struct tg_fetcher *f)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		struct transfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (t)
			finish(t, msg->data.result);
	}
}

struct tg_fetcher *
tg_fetcher_new(struct event_base *base, const struct tg_fetch_opts *o, char *err, size_t errlen)
{
	struct tg_fetcher *f = tg_calloc(1, sizeof(*f));

	f->base = base;
	f->opts = *o;
	f->user_agent = tg_strdup(o->user_agent ? o->user_agent : "tigris");
	f->opts.user_agent = f->user_agent;
	f->multi = curl_multi_init();
	f->timer = evtimer_new(base, timer_cb, f);
	if (f->multi == NULL || f->timer == NULL) {
		snprintf(err, errlen, "fetch: cannot create the curl multi handle or its timer");
		tg_fetcher_free(f);
		return NULL;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->max_host_connections);
	return f;
}

void
tg_fetcher_free(struct tg_fetcher *f)
{
	if (f == NULL)
		return;
	while (f->transfers)
		transfer_free(f->transfers);
	if (f->multi)
		curl_multi_cleanup(f->multi);
	if (f->timer)
		event_free(f->timer);
	free(f->user_agent);
	free(f);
}

size_t
tg_fetch_active(const struct tg_fetcher *f)
{
	return f->active;
}

int
tg_fetch_start(struct tg_fetcher *f, const struct tg_fetch_req *req, tg_fetch_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct transfer *t;
	char hdr[1200];
	const char *protocols = f->opts.allow_file ? "http,https,file" : "http,https";

	if (!f->opts.allow_file && tg_str_has_prefix(req->url, "file:")) {
		snprintf(err, errlen, "file URLs are not allowed: %s", req->url);
		return -1;
	}
	t = tg_calloc(1, sizeof(*t));
	t->f = f;
	t->cb = cb;
	t->arg = arg;
	tg_buf_init(&t->body, f->opts.max_body);
	t->easy = curl_easy_init();
	if (t->easy == NULL) {
		snprintf(err, errlen, "cannot create a curl handle");
		free(t);
		return -1;
	}
	if (req->etag && *req->etag && strlen(req->etag) < 1000) {
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", req->etag);
		t->headers = curl_slist_append(t->headers, hdr);
	}
	if (req->last_modified && *req->last_modified && strlen(req->last_modified) < 1000) {
		snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s", req->last_modified);
		t->headers = curl_slist_append(t->headers, hdr);
	}
	curl_easy_setopt(t->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_USERAGENT, f->user_agent);
	curl_easy_setopt(t->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(t->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(t->easy, CURLOPT_MAXREDIRS, f->opts.max_redirects);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, f->opts.timeout_s);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT, f->opts.connect_timeout_s);
	curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, f->opts.low_speed_bytes);
	curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME, f->opts.low_speed_time_s);
	curl_easy_setopt(t->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->opts.max_body);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	t->start_ms = tg_now_mono_ms();
	if (curl_multi_add_handle(f->multi, t->easy) != CURLM_OK) {
		snprintf(err, errlen, "cannot add a transfer for %s", req->url);
		curl_easy_cleanup(t->easy);
		curl_slist_free_all(t->headers);
		free(t);
		return -1;
	}
	t->next = f->transfers;
	if (f->transfers)
		f->transfers->prev = t;
	f->transfers = t;
	f->active++;
	return 0;
}

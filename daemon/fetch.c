/*
 * libcurl multi on libevent: curl tells us which sockets to watch and when its
 * next timeout is; libevent tells curl when a socket is ready or the timer fired;
 * finished transfers are collected with curl_multi_info_read. Every socket curl
 * opens passes the address filter first, and fetches wait in a per-host queue
 * for a free slot. See fetch.h.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../common/util.h"
#include "config.h"
#include "fetch.h"
#include "netfilter.h"
#include "schedule.h"

#define REFUSED_MAX 384    /* text kept about refused addresses of one transfer */
#define HOST_RETRY_MS 1000 /* a queued start that curl refused is tried again after this */

struct host;

struct transfer {
	struct tg_fetcher *f;
	CURL *easy;           /* made when the transfer starts, not while it waits */
	char *url;            /* the request, kept until then */
	char *etag;
	char *last_modified;
	struct curl_slist *headers;
	struct tg_buf body;
	bool too_big;
	bool started;         /* added to the multi handle (else waiting in its host queue) */
	int64_t start_ms;
	tg_fetch_cb cb;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	char refused[REFUSED_MAX]; /* addresses the filter refused, for the error */
	int nrefused;
	long last_status;     /* status of the latest final response seen */
	int responses;        /* final responses seen (one per request of the chain) */
	bool perm_chain;      /* every redirect so far was permanent */
	char *perm_url;       /* where the permanent redirects led */
	struct host *host;    /* NULL for file: URLs */
	struct transfer *qnext; /* in the host queue */
	struct transfer *prev, *next; /* every transfer of the fetcher */
};

/* Politeness state of one host name. */
struct host {
	struct tg_fetcher *f;
	char *name;
	size_t running;
	int64_t last_start_ms;  /* monotonic */
	struct transfer *qhead, *qtail;
	struct event *timer;    /* wakes the queue when the gap has passed */
	struct host *next;
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
	struct tg_netfilter *nf;
	size_t active;
	size_t queued;
	struct transfer *transfers;
	struct host *hosts;
};

static void check_done(struct tg_fetcher *f);
static void host_pump(struct host *h);

void
tg_fetch_opts_default(struct tg_fetch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_s = 30;
	o->connect_timeout_s = 10;
	o->max_body = 16u << 20;
	o->max_redirects = 5;
	o->low_speed_bytes = 100;
	o->low_speed_time_s = 15;
	o->host_max_concurrent = 2;
	o->host_min_gap_ms = 100;
	o->user_agent = "tigris/0.1";
	o->allow_file = false;
	o->allow_networks = NULL;
	o->nallow_networks = 0;
}

void
tg_fetch_opts_from_config(struct tg_fetch_opts *o, const struct tg_config *cfg)
{
	tg_fetch_opts_default(o);
	o->timeout_s = cfg->fetch_timeout;
	o->connect_timeout_s = cfg->connect_timeout;
	o->max_body = (size_t)cfg->max_body_bytes;
	o->low_speed_bytes = cfg->low_speed_limit;
	o->low_speed_time_s = cfg->low_speed_time;
	o->host_max_concurrent = cfg->host_max_concurrent;
	o->host_min_gap_ms = cfg->host_min_gap_ms;
	o->user_agent = cfg->user_agent;
	o->allow_file = cfg->allow_file_urls;
	o->allow_networks = (const char *const *)cfg->allow_networks.v;
	o->nallow_networks = cfg->allow_networks.n;
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

/* CURLOPT_OPENSOCKETFUNCTION: every connection, to the first URL, a redirect
 * target or any address a name resolved to, passes the address filter here. */
static curl_socket_t
open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct transfer *t = clientp;
	char why[128], host[64] = "?";
	size_t used = strlen(t->refused);
	const void *ip = NULL;

	if (tg_netfilter_check(t->f->nf, &a->addr, a->addrlen, why, sizeof(why)))
		return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (a->family == AF_INET)
		ip = &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
	else if (a->family == AF_INET6)
		ip = &((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr;
	if (ip)
		inet_ntop(a->family, ip, host, sizeof(host));
	t->nrefused++;
	if (used + 1 < sizeof(t->refused))
		snprintf(t->refused + used, sizeof(t->refused) - used, "%srefused %s: %s",
		    used ? "; " : "", host, why);
	return CURL_SOCKET_BAD;
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

static bool
is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* CURLOPT_HEADERFUNCTION: sees the status line of every response in a redirect
 * chain, so that a chain that begins with permanent redirects is noticed. When
 * a response starts, the effective URL is already the one it answers. */
static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nitems, i = 5;
	long status = 0;
	char *url = NULL;

	if (n < 12 || memcmp(buf, "HTTP/", 5) != 0)
		return n;
	while (i < n && buf[i] != ' ')
		i++;
	while (i < n && buf[i] == ' ')
		i++;
	for (int k = 0; k < 3 && i < n && buf[i] >= '0' && buf[i] <= '9'; k++, i++)
		status = status * 10 + (buf[i] - '0');
	if (status < 200)
		return n; /* 1xx: an interim response, not the answer to a request */
	if (t->responses > 0 && is_redirect(t->last_status)) {
		if (t->perm_chain && (t->last_status == 301 || t->last_status == 308)) {
			if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK &&
			    url)
				tg_str_set(&t->perm_url, url);
		} else {
			t->perm_chain = false;
		}
	}
	t->last_status = status;
	t->responses++;
	return n;
}

static void
host_free(struct host *h)
{
	if (h->timer)
		event_free(h->timer);
	free(h->name);
	free(h);
}

/* Take t out of the fetcher (and of its host queue or the multi handle). */
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
	if (t->started) {
		curl_multi_remove_handle(f->multi, t->easy);
		if (t->host)
			t->host->running--;
	} else if (t->host) {
		struct transfer **pp = &t->host->qhead;

		while (*pp && *pp != t)
			pp = &(*pp)->qnext;
		if (*pp) {
			*pp = t->qnext;
			if (t->host->qtail == t) {
				t->host->qtail = NULL;
				for (struct transfer *q = t->host->qhead; q; q = q->qnext)
					t->host->qtail = q;
			}
			f->queued--;
		}
	}
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	tg_buf_free(&t->body);
	free(t->perm_url);
	free(t->url);
	free(t->etag);
	free(t->last_modified);
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

/* Every value of header name in the last response, joined with ", ". */
static char *
header_join(CURL *easy, const char *name)
{
	struct curl_header *h = NULL;
	struct tg_buf b;
	size_t count;

	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == NULL)
		return NULL;
	count = h->amount;
	tg_buf_init(&b, 8192);
	for (size_t i = 0; i < count && i < 32; i++) {
		if (curl_easy_header(easy, name, i, CURLH_HEADER, -1, &h) != CURLHE_OK)
			break;
		if ((b.len && tg_buf_append_str(&b, ", ") != 0) || tg_buf_append_str(&b, h->value) != 0)
			break;
	}
	return tg_buf_take(&b);
}

/* Fill the scheduling hints of res from the last response's headers. */
static void
read_hints(CURL *easy, struct tg_fetch_res *res)
{
	char *ra = header_dup(easy, "Retry-After"), *cc = header_join(easy, "Cache-Control");
	char *exp = header_dup(easy, "Expires"), *date = header_dup(easy, "Date");
	char *age = header_dup(easy, "Age");
	time_t now = time(NULL);

	res->retry_after_s = tg_schedule_parse_retry_after(ra, now);
	res->fresh_s = tg_schedule_freshness(cc, exp, date, age, now);
	free(ra);
	free(cc);
	free(exp);
	free(date);
	free(age);
}

static void
finish(struct transfer *t, CURLcode rc)
{
	struct tg_fetch_res res;
	char *etag = NULL, *lastmod = NULL, *ctype = NULL, *eurl = NULL, *error = NULL;
	char *perm = NULL, *p = NULL;
	long status = 0;
	char why[CURL_ERROR_SIZE + REFUSED_MAX + 64];
	struct host *h = t->host;

	memset(&res, 0, sizeof(res));
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &p) == CURLE_OK && p)
		ctype = tg_strdup(p);
	p = NULL;
	if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &p) == CURLE_OK && p)
		eurl = tg_strdup(p);
	curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_COUNT, &res.redirects);
	etag = header_dup(t->easy, "ETag");
	lastmod = header_dup(t->easy, "Last-Modified");
	read_hints(t->easy, &res);

	if (rc == CURLE_OK) {
		res.ok = true;
		/* file:// has no status: a successful read counts as 200. */
		res.status = status ? status : 200;
		if (t->perm_url && ((res.status >= 200 && res.status < 300) || res.status == 304))
			res.permanent_url = t->perm_url;
	} else {
		if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
			snprintf(why, sizeof(why), "body larger than the cap of %zu bytes",
			    t->body.limit);
		else if (t->refused[0] && rc == CURLE_COULDNT_CONNECT)
			snprintf(why, sizeof(why), "%s; allow %s with allow_networks", t->refused,
			    t->nrefused > 1 ? "them" : "it");
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
	perm = t->perm_url; /* res.permanent_url, if set, points into it */
	t->perm_url = NULL;
	transfer_free(t);
	if (h)
		host_pump(h); /* its freed slot goes to the next in line, before the callback */
	cb(arg, &res);
	tg_buf_free(&body);
	free(etag);
	free(lastmod);
	free(ctype);
	free(eurl);
	free(error);
	free(perm);
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

/* Make t's curl handle from the request it keeps. Returns 0, or -1 when curl
 * cannot make one. */
static int
transfer_setup(struct transfer *t)
{
	struct tg_fetcher *f = t->f;
	const char *protocols = f->opts.allow_file ? "http,https,file" : "http,https";
	char hdr[1200];

	t->easy = curl_easy_init();
	if (t->easy == NULL)
		return -1;
	if (t->etag) {
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", t->etag);
		t->headers = curl_slist_append(t->headers, hdr);
	}
	if (t->last_modified) {
		snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s", t->last_modified);
		t->headers = curl_slist_append(t->headers, hdr);
	}
	curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETDATA, t);
	/* Connect directly: through a proxy the filter would only see the proxy. */
	curl_easy_setopt(t->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_USERAGENT, f->user_agent);
	curl_easy_setopt(t->easy, CURLOPT_ACCEPT_ENCODING, ""); /* all built in: gzip, deflate, br */
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(t->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(t->easy, CURLOPT_MAXREDIRS, f->opts.max_redirects);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, f->opts.timeout_s);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT, f->opts.connect_timeout_s);
	curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, f->opts.low_speed_bytes);
	curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME,
	    f->opts.low_speed_bytes > 0 ? f->opts.low_speed_time_s : 0L);
	curl_easy_setopt(t->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->opts.max_body);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	return 0;
}

/* Hand t to curl now. Returns 0, or -1 when curl would not take it. */
static int
transfer_begin(struct transfer *t)
{
	if (t->easy == NULL && transfer_setup(t) != 0)
		return -1;
	t->start_ms = tg_now_mono_ms();
	if (curl_multi_add_handle(t->f->multi, t->easy) != CURLM_OK)
		return -1;
	t->started = true;
	if (t->host) {
		t->host->running++;
		t->host->last_start_ms = t->start_ms;
	}
	return 0;
}

/* Milliseconds until h may start another fetch: 0 now, -1 when all its slots are taken. */
static int64_t
host_wait_ms(const struct host *h, int64_t now)
{
	const struct tg_fetch_opts *o = &h->f->opts;
	int64_t next;

	if ((long)h->running >= o->host_max_concurrent)
		return -1;
	if (o->host_min_gap_ms <= 0 || h->last_start_ms == 0)
		return 0;
	next = h->last_start_ms + o->host_min_gap_ms;
	return next > now ? next - now : 0;
}

static void
host_arm(struct host *h, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(h->timer, &tv);
}

/* Start queued fetches of h while it has free slots and the gap has passed;
 * else arm its timer for when the gap ends. Calls no user callback. */
static void
host_pump(struct host *h)
{
	int64_t wait;

	while (h->qhead) {
		struct transfer *t = h->qhead;

		wait = host_wait_ms(h, tg_now_mono_ms());
		if (wait < 0)
			return; /* a finishing transfer pumps again */
		if (wait > 0) {
			host_arm(h, wait);
			return;
		}
		if (transfer_begin(t) != 0) {
			host_arm(h, HOST_RETRY_MS);
			return;
		}
		h->qhead = t->qnext;
		if (h->qhead == NULL)
			h->qtail = NULL;
		t->qnext = NULL;
		h->f->queued--;
	}
}

static void
host_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	host_pump(arg);
}

/* The host entry for name, created if needed; idle entries whose gap has
 * passed are dropped on the way. */
static struct host *
host_get(struct tg_fetcher *f, const char *name)
{
	struct host **pp = &f->hosts, *h;
	int64_t now = tg_now_mono_ms();

	while ((h = *pp) != NULL) {
		if (strcmp(h->name, name) == 0)
			return h;
		if (h->running == 0 && h->qhead == NULL &&
		    now - h->last_start_ms >= f->opts.host_min_gap_ms) {
			*pp = h->next;
			host_free(h);
			continue;
		}
		pp = &h->next;
	}
	h = tg_calloc(1, sizeof(*h));
	h->f = f;
	h->name = tg_strdup(name);
	h->timer = evtimer_new(f->base, host_timer_cb, h);
	if (h->timer == NULL) {
		host_free(h);
		return NULL;
	}
	h->next = f->hosts;
	f->hosts = h;
	return h;
}

/* Lower-cased host name of an http(s) URL into out; -1 when it has none. */
static int
url_host(const char *url, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int rc = -1;

	if (u == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host &&
	    strlen(host) < outlen) {
		size_t i;

		for (i = 0; host[i]; i++)
			out[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] + 32) : host[i];
		out[i] = '\0';
		rc = 0;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int
apply_opts(struct tg_fetcher *f, const struct tg_fetch_opts *o, char *err, size_t errlen)
{
	struct tg_netfilter *nf;

	nf = tg_netfilter_new(o->allow_networks, o->nallow_networks, err, errlen);
	if (nf == NULL)
		return -1;
	tg_netfilter_free(f->nf);
	f->nf = nf;
	free(f->user_agent);
	f->opts = *o;
	f->user_agent = tg_strdup(o->user_agent ? o->user_agent : "tigris");
	f->opts.user_agent = f->user_agent;
	f->opts.allow_networks = NULL; /* copied into the filter */
	f->opts.nallow_networks = 0;
	if (f->opts.host_max_concurrent < 1)
		f->opts.host_max_concurrent = 1;
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, f->opts.host_max_concurrent);
	return 0;
}

struct tg_fetcher *
tg_fetcher_new(struct event_base *base, const struct tg_fetch_opts *o, char *err, size_t errlen)
{
	struct tg_fetcher *f = tg_calloc(1, sizeof(*f));

	f->base = base;
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
	if (apply_opts(f, o, err, errlen) != 0) {
		tg_fetcher_free(f);
		return NULL;
	}
	return f;
}

int
tg_fetcher_configure(struct tg_fetcher *f, const struct tg_fetch_opts *o, char *err,
    size_t errlen)
{
	if (apply_opts(f, o, err, errlen) != 0)
		return -1;
	/* Wider limits may let queued fetches go now. */
	for (struct host *h = f->hosts; h; h = h->next)
		host_pump(h);
	return 0;
}

void
tg_fetcher_free(struct tg_fetcher *f)
{
	if (f == NULL)
		return;
	while (f->transfers)
		transfer_free(f->transfers);
	while (f->hosts) {
		struct host *h = f->hosts;

		f->hosts = h->next;
		host_free(h);
	}
	if (f->multi)
		curl_multi_cleanup(f->multi);
	if (f->timer)
		event_free(f->timer);
	tg_netfilter_free(f->nf);
	free(f->user_agent);
	free(f);
}

size_t
tg_fetch_cancel(struct tg_fetcher *f, void *arg)
{
	struct transfer *t = f->transfers, *next;
	struct host *h;
	size_t n = 0;

	for (; t; t = next) {
		next = t->next;
		if (t->arg != arg)
			continue;
		h = t->host;
		transfer_free(t);
		n++;
		if (h)
			host_pump(h); /* a slot may have come free */
	}
	return n;
}

size_t
tg_fetch_active(const struct tg_fetcher *f)
{
	return f->active;
}

size_t
tg_fetch_queued(const struct tg_fetcher *f)
{
	return f->queued;
}

int
tg_fetch_start(struct tg_fetcher *f, const struct tg_fetch_req *req, tg_fetch_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct transfer *t;
	struct host *h = NULL;
	char hostname[256];
	bool is_file = tg_str_has_prefix(req->url, "file:");

	if (is_file && !f->opts.allow_file) {
		snprintf(err, errlen, "file URLs are not allowed: %s", req->url);
		return -1;
	}
	if (!is_file) {
		if (url_host(req->url, hostname, sizeof(hostname)) != 0) {
			snprintf(err, errlen, "not a URL with a host: %s", req->url);
			return -1;
		}
		h = host_get(f, hostname);
		if (h == NULL) {
			snprintf(err, errlen, "cannot create the queue of host %s", hostname);
			return -1;
		}
	}
	t = tg_calloc(1, sizeof(*t));
	t->f = f;
	t->cb = cb;
	t->arg = arg;
	t->perm_chain = true;
	tg_buf_init(&t->body, f->opts.max_body);
	t->url = tg_strdup(req->url);
	if (req->etag && *req->etag && strlen(req->etag) < 1000)
		t->etag = tg_strdup(req->etag);
	if (req->last_modified && *req->last_modified && strlen(req->last_modified) < 1000)
		t->last_modified = tg_strdup(req->last_modified);

	t->host = h;
	if (h == NULL || (h->qhead == NULL && host_wait_ms(h, tg_now_mono_ms()) == 0)) {
		if (transfer_begin(t) != 0) {
			snprintf(err, errlen, "cannot add a transfer for %s", req->url);
			if (t->easy)
				curl_easy_cleanup(t->easy);
			curl_slist_free_all(t->headers);
			free(t->url);
			free(t->etag);
			free(t->last_modified);
			free(t);
			return -1;
		}
	} else {
		if (h->qtail)
			h->qtail->qnext = t;
		else
			h->qhead = t;
		h->qtail = t;
		f->queued++;
	}
	t->next = f->transfers;
	if (f->transfers)
		f->transfers->prev = t;
	f->transfers = t;
	f->active++;
	if (h && !t->started)
		host_pump(h);
	return 0;
}

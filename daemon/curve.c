/*
 * CurveZMQ on the daemon's sockets: the server key pair, and a ZAP handler (a
 * REP socket at inproc://zeromq.zap.01 read from the libevent loop through
 * ZMQ_FD) that answers 200 to CURVE clients on the allowlist and 400 otherwise.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "../common/log.h"
#include "../common/util.h"
#include "curve.h"

#define ZAP_VERSION "1.0"
#define ZAP_DOMAIN "tigris"
#define ZAP_MAX_FRAMES 16     /* a CURVE request has 7; more are dropped */
#define REFUSAL_SLOTS 32      /* keys whose last refusal is remembered */
#define REFUSAL_QUIET_MS 60000 /* one log line per key per minute at most */
#define REGISTRY_MAX 8        /* contexts with a CURVE server at once */
#define MONITORS_MAX 8        /* secured sockets whose failed handshakes are logged */
/* A plaintext client shows up as either, depending on which side hangs up first. */
#define MONITOR_EVENTS (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)

/* A recently refused key: repeated refusals (a client retrying every 100 ms)
 * are counted, not logged each time. */
struct refusal {
	unsigned char key[TG_CURVE_KEY_BYTES];
	bool used;
	int64_t logged_ms;
	unsigned long suppressed;
};

/* A monitor on one secured socket: handshakes that fail before ZAP is asked
 * (plaintext clients, a wrong server key) show up only here. */
struct monitor {
	struct tg_curve_server *srv;
	void *pair;
	struct event *ev;
	int64_t logged_ms[2];        /* per kind of failure, see failure_kind */
	unsigned long suppressed[2];
};

struct tg_curve_server {
	struct event_base *base;
	void *zctx;
	void *zap;
	struct event *ev;
	struct tg_curve_keypair kp;
	char *key_file;
	unsigned char (*allowed)[TG_CURVE_KEY_BYTES];
	size_t nallowed;
	unsigned long long admitted, refused, failed_handshakes;
	struct refusal recent[REFUSAL_SLOTS];
	struct monitor mon[MONITORS_MAX];
	size_t nmon;
};

/*
 * Which context has which CURVE server. ZAP itself is per context (one handler
 * at a fixed inproc endpoint), so this mirrors it for the modules that create
 * sockets on a context they were handed (dispatch, replay). Process-wide by
 * nature; guarded for the tests that run several contexts.
 */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	void *zctx;
	struct tg_curve_server *srv;
} registry[REGISTRY_MAX];

static int
registry_add(struct tg_curve_server *srv)
{
	int rc = -1;

	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < REGISTRY_MAX; i++)
		if (registry[i].zctx == srv->zctx)
			goto out;
	for (size_t i = 0; i < REGISTRY_MAX; i++) {
		if (registry[i].zctx == NULL) {
			registry[i].zctx = srv->zctx;
			registry[i].srv = srv;
			rc = 0;
			break;
		}
	}
out:
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

static void
registry_remove(struct tg_curve_server *srv)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < REGISTRY_MAX; i++) {
		if (registry[i].srv == srv) {
			registry[i].zctx = NULL;
			registry[i].srv = NULL;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

static bool
frame_is(zmq_msg_t *m, const char *s)
{
	size_t n = strlen(s);

	return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* A frame as printable text for a log line (the peer address). */
static void
frame_text(zmq_msg_t *m, char *out, size_t outlen)
{
	const unsigned char *p = zmq_msg_data(m);
	size_t n = zmq_msg_size(m), j = 0;

	for (size_t i = 0; i < n && j + 1 < outlen; i++)
		out[j++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[j] = '\0';
}

static bool
allowed(const struct tg_curve_server *srv, const unsigned char *key)
{
	for (size_t i = 0; i < srv->nallowed; i++)
		if (memcmp(srv->allowed[i], key, TG_CURVE_KEY_BYTES) == 0)
			return true;
	return false;
}

/* Log a refusal of key (NULL when the client gave no CURVE key), at most once
 * a minute per key. */
static void
log_refusal(struct tg_curve_server *srv, const unsigned char *key, const char *mechanism,
    const char *address)
{
	static const unsigned char no_key[TG_CURVE_KEY_BYTES];
	struct refusal *slot = NULL, *oldest = &srv->recent[0];
	int64_t now = tg_now_mono_ms();
	char z85[TG_CURVE_Z85_LEN + 1], more[64] = "";
	const char *from = address[0] ? address : "a local (ipc) peer";

	if (key == NULL)
		key = no_key; /* one slot for all of them */
	for (size_t i = 0; i < REFUSAL_SLOTS; i++) {
		struct refusal *r = &srv->recent[i];

		if (r->used && memcmp(r->key, key, TG_CURVE_KEY_BYTES) == 0) {
			slot = r;
			break;
		}
		if (!r->used || (oldest->used && r->logged_ms < oldest->logged_ms))
			oldest = r;
	}
	if (slot && now - slot->logged_ms < REFUSAL_QUIET_MS) {
		slot->suppressed++;
		return;
	}
	if (slot == NULL) {
		slot = oldest;
		memset(slot, 0, sizeof(*slot));
		slot->used = true;
		memcpy(slot->key, key, TG_CURVE_KEY_BYTES);
	}
	if (slot->suppressed)
		snprintf(more, sizeof(more), " (and %lu time(s) in the last minute)",
		    slot->suppressed);
	slot->suppressed = 0;
	slot->logged_ms = now;
	if (key == no_key) {
		tg_warn("curve: refused a %s client from %s: a CURVE client key is required%s",
		    mechanism, from, more);
		return;
	}
	tg_curvekeys_encode(key, z85);
	tg_warn("curve: refused client key %s from %s: not in curve_clients%s", z85, from, more);
}

/* Send the ZAP reply: version, request id, status, text, user id, metadata. */
static void
reply(struct tg_curve_server *srv, zmq_msg_t *request_id, const char *code, const char *text,
    const char *user)
{
	const int more = ZMQ_SNDMORE | ZMQ_DONTWAIT;
	zmq_msg_t id;

	zmq_msg_init(&id);
	if (request_id)
		zmq_msg_copy(&id, request_id);
	if (zmq_send(srv->zap, ZAP_VERSION, strlen(ZAP_VERSION), more) < 0 ||
	    zmq_msg_send(&id, srv->zap, more) < 0 ||
	    zmq_send(srv->zap, code, strlen(code), more) < 0 ||
	    zmq_send(srv->zap, text, strlen(text), more) < 0 ||
	    zmq_send(srv->zap, user, strlen(user), more) < 0 ||
	    zmq_send(srv->zap, "", 0, ZMQ_DONTWAIT) < 0)
		tg_err("curve: cannot answer a ZAP request: %s", zmq_strerror(zmq_errno()));
	zmq_msg_close(&id);
}

/* Receive one ZAP request (if one is waiting) and answer it. Returns 0 when
 * there was none. Frames: version, request id, domain, address, routing id,
 * mechanism, credentials (for CURVE: the client's 32-byte public key). */
static int
handle_one(struct tg_curve_server *srv)
{
	zmq_msg_t f[ZAP_MAX_FRAMES];
	size_t n = 0;
	char mechanism[16] = "?", address[64] = "";
	const unsigned char *key = NULL;
	bool more = true;

	while (more) {
		zmq_msg_t extra, *part = n < ZAP_MAX_FRAMES ? &f[n] : &extra;

		zmq_msg_init(part);
		if (zmq_msg_recv(part, srv->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(part);
			if (n == 0)
				return 0;
			break; /* cannot happen: the parts of a message arrive together */
		}
		more = zmq_msg_more(part);
		if (part == &extra)
			zmq_msg_close(part);
		else
			n++;
	}
	if (n < 6 || !frame_is(&f[0], ZAP_VERSION)) {
		tg_err("curve: malformed ZAP request (%zu frame(s))", n);
		reply(srv, n >= 2 ? &f[1] : NULL, "500", "malformed request", "");
		srv->refused++;
		goto out;
	}
	frame_text(&f[3], address, sizeof(address));
	frame_text(&f[5], mechanism, sizeof(mechanism));
	if (frame_is(&f[5], "CURVE") && n == 7 && zmq_msg_size(&f[6]) == TG_CURVE_KEY_BYTES) {
		key = zmq_msg_data(&f[6]);
		if (allowed(srv, key)) {
			char z85[TG_CURVE_Z85_LEN + 1];

			tg_curvekeys_encode(key, z85);
			tg_debug("curve: admitted client key %s from %s", z85,
			    address[0] ? address : "a local (ipc) peer");
			reply(srv, &f[1], "200", "OK", z85);
			srv->admitted++;
			goto out;
		}
	}
	log_refusal(srv, key, mechanism, address);
	reply(srv, &f[1], "400", key ? "client key not allowed" : "CURVE client key required",
	    "");
	srv->refused++;
out:
	for (size_t i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
	return 1;
}

/* ZMQ_FD is edge-triggered: answer until ZMQ_EVENTS shows nothing more. */
static void
on_zap(evutil_socket_t fd, short what, void *arg)
{
	struct tg_curve_server *srv = arg;
	int events;
	size_t sz;

	for (;;) {
		sz = sizeof(events);
		if (zmq_getsockopt(srv->zap, ZMQ_EVENTS, &events, &sz) != 0) {
			tg_err("curve: ZAP socket: %s", zmq_strerror(zmq_errno()));
			return;
		}
		if (!(events & ZMQ_POLLIN) || handle_one(srv) == 0)
			return;
	}
}

static int
load_allowlist(struct tg_curve_server *srv, const char *const *clients, size_t nclients,
    char *err, size_t errlen)
{
	char kerr[128];

	if (nclients == 0) {
		snprintf(err, errlen,
		    "curve: curve_clients is empty: with curve_secret_key set, list the public "
		    "keys (the public-key of each NAME.pub made by tigris keygen) of the clients "
		    "allowed to connect");
		return -1;
	}
	if (nclients > TG_CURVE_CLIENTS_MAX) {
		snprintf(err, errlen, "curve: %zu client keys, more than the %d allowed", nclients,
		    TG_CURVE_CLIENTS_MAX);
		return -1;
	}
	srv->allowed = tg_calloc(nclients + 1, sizeof(*srv->allowed));
	for (size_t i = 0; i < nclients; i++) {
		if (tg_curvekeys_decode(clients[i], srv->allowed[i], kerr, sizeof(kerr)) != 0) {
			snprintf(err, errlen, "curve: curve_clients[%zu]: %s", i, kerr);
			return -1;
		}
	}
	/* The server's own key: the local workers the daemon starts use its pair. */
	if (tg_curvekeys_decode(srv->kp.public_key, srv->allowed[nclients], kerr, sizeof(kerr)) !=
	    0) {
		snprintf(err, errlen, "curve: server key: %s", kerr);
		return -1;
	}
	srv->nallowed = nclients + 1;
	return 0;
}

struct tg_curve_server *
tg_curve_server_new(struct event_base *base, void *zctx, const char *key_file,
    const char *const *clients, size_t nclients, char *err, size_t errlen)
{
	struct tg_curve_server *srv = tg_calloc(1, sizeof(*srv));
	char kerr[512];
	int zero = 0, fd;
	size_t sz = sizeof(fd);

	srv->base = base;
	srv->zctx = zctx;
	if (!zmq_has("curve")) {
		snprintf(err, errlen, "curve: this libzmq was built without CURVE support");
		goto fail;
	}
	if (tg_curvekeys_read(key_file, true, &srv->kp, kerr, sizeof(kerr)) != 0) {
		snprintf(err, errlen, "curve: curve_secret_key: %s", kerr);
		goto fail;
	}
	srv->key_file = tg_strdup(key_file);
	if (load_allowlist(srv, clients, nclients, err, errlen) != 0)
		goto fail;
	if (registry_add(srv) != 0) {
		snprintf(err, errlen, "curve: this ZeroMQ context has a CURVE server already");
		srv->zctx = NULL; /* not ours to unregister */
		goto fail;
	}
	srv->zap = zmq_socket(zctx, ZMQ_REP);
	if (srv->zap == NULL) {
		snprintf(err, errlen, "curve: cannot create the ZAP socket: %s",
		    zmq_strerror(zmq_errno()));
		goto fail;
	}
	zmq_setsockopt(srv->zap, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_bind(srv->zap, TG_CURVE_ZAP_ENDPOINT) != 0) {
		snprintf(err, errlen, "curve: cannot bind the ZAP handler at %s: %s",
		    TG_CURVE_ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (zmq_getsockopt(srv->zap, ZMQ_FD, &fd, &sz) != 0) {
		snprintf(err, errlen, "curve: cannot get the ZAP socket's ZMQ_FD");
		goto fail;
	}
	srv->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_zap, srv);
	if (srv->ev == NULL || event_add(srv->ev, NULL) != 0) {
		snprintf(err, errlen, "curve: cannot watch the ZAP socket");
		goto fail;
	}
	on_zap(fd, EV_READ, srv);
	tg_notice("curve: CURVE required on the network sockets; server key %s, %zu client "
		  "key(s) allowed",
	    srv->kp.public_key, nclients);
	return srv;
fail:
	tg_curve_server_free(srv);
	return NULL;
}

/* Why a handshake failed, from a monitor event: 1 it did not decrypt (a wrong
 * server key), 0 anything else (no CURVE, a hang-up, a protocol error). */
static int
failure_kind(unsigned event, uint32_t value)
{
	return event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
	    value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC;
}

static const char *const failure_text[] = {
	"no CURVE handshake (a plaintext client?)",
	"its handshake did not decrypt (a wrong server key?)",
};

/* Monitor events of one secured socket: [event u16, value u32][endpoint]. */
static void
on_monitor(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;
	int events;
	size_t sz;

	for (;;) {
		unsigned char head[6];
		char endpoint[256], more_text[64] = "";
		uint16_t event;
		uint32_t value;
		int n, kind, more = 0;
		int64_t now;

		sz = sizeof(events);
		if (zmq_getsockopt(m->pair, ZMQ_EVENTS, &events, &sz) != 0 ||
		    !(events & ZMQ_POLLIN))
			return;
		n = zmq_recv(m->pair, head, sizeof(head), ZMQ_DONTWAIT);
		if (n < 0)
			return;
		sz = sizeof(more);
		zmq_getsockopt(m->pair, ZMQ_RCVMORE, &more, &sz);
		endpoint[0] = '\0';
		if (more) {
			int e = zmq_recv(m->pair, endpoint, sizeof(endpoint) - 1, 0);

			if (e < 0)
				e = 0;
			if (e > (int)sizeof(endpoint) - 1)
				e = (int)sizeof(endpoint) - 1; /* the rest was cut off */
			endpoint[e] = '\0';
		}
		if (n != (int)sizeof(head))
			continue;
		memcpy(&event, head, sizeof(event));
		memcpy(&value, head + 2, sizeof(value));
		if (!(event & MONITOR_EVENTS))
			continue;
		m->srv->failed_handshakes++;
		kind = failure_kind(event, value);
		now = tg_now_mono_ms();
		if (m->logged_ms[kind] && now - m->logged_ms[kind] < REFUSAL_QUIET_MS) {
			m->suppressed[kind]++;
			continue;
		}
		if (m->suppressed[kind])
			snprintf(more_text, sizeof(more_text), " (and %lu more in the last minute)",
			    m->suppressed[kind]);
		tg_warn("curve: refused a client on %s: %s%s", endpoint, failure_text[kind],
		    more_text);
		m->logged_ms[kind] = now;
		m->suppressed[kind] = 0;
	}
}

/* Watch sock's failed handshakes, for the log. Failing to is not fatal. */
static void
monitor_start(struct tg_curve_server *srv, void *sock)
{
	struct monitor *m;
	char ep[96];
	int zero = 0, fd;
	size_t sz = sizeof(fd);

	if (srv->nmon == MONITORS_MAX)
		return;
	m = &srv->mon[srv->nmon];
	snprintf(ep, sizeof(ep), "inproc://tigris-curve-monitor-%p-%zu", (void *)srv, srv->nmon);
	if (zmq_socket_monitor(sock, ep, MONITOR_EVENTS) != 0)
		goto fail;
	m->srv = srv;
	m->pair = zmq_socket(srv->zctx, ZMQ_PAIR);
	if (m->pair == NULL)
		goto fail;
	zmq_setsockopt(m->pair, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_connect(m->pair, ep) != 0 || zmq_getsockopt(m->pair, ZMQ_FD, &fd, &sz) != 0)
		goto fail;
	m->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_monitor, m);
	if (m->ev == NULL || event_add(m->ev, NULL) != 0)
		goto fail;
	srv->nmon++;
	/* Read once now: until the pipe has been found empty, new events do not
	 * signal ZMQ_FD. */
	on_monitor(fd, EV_READ, m);
	return;
fail:
	tg_warn("curve: cannot watch a socket's handshakes (%s); plaintext clients will not be "
		"logged",
	    zmq_strerror(zmq_errno()));
	if (m->ev)
		event_free(m->ev);
	if (m->pair)
		zmq_close(m->pair);
	memset(m, 0, sizeof(*m));
}

int
tg_curve_server_secure(struct tg_curve_server *srv, void *sock, char *err, size_t errlen)
{
	int one = 1;

	if (srv == NULL)
		return 0;
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, srv->kp.secret_key,
		TG_CURVE_Z85_LEN + 1) != 0 ||
	    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0) {
		snprintf(err, errlen, "curve: cannot make the socket a CURVE server: %s",
		    zmq_strerror(zmq_errno()));
		return -1;
	}
	monitor_start(srv, sock);
	return 0;
}

int
tg_curve_server_secure_ctx(void *zctx, void *sock, char *err, size_t errlen)
{
	struct tg_curve_server *srv = NULL;

	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < REGISTRY_MAX; i++)
		if (registry[i].zctx == zctx && zctx != NULL)
			srv = registry[i].srv;
	pthread_mutex_unlock(&registry_lock);
	return tg_curve_server_secure(srv, sock, err, errlen);
}

const char *
tg_curve_server_public(const struct tg_curve_server *srv)
{
	return srv->kp.public_key;
}

const char *
tg_curve_server_key_file(const struct tg_curve_server *srv)
{
	return srv->key_file;
}

void
tg_curve_server_counts(const struct tg_curve_server *srv, unsigned long long *admitted,
    unsigned long long *refused, unsigned long long *failed_handshakes)
{
	*admitted = srv->admitted;
	*refused = srv->refused;
	if (failed_handshakes)
		*failed_handshakes = srv->failed_handshakes;
}

bool
tg_curve_clients_same(const struct tg_strlist *a, const struct tg_strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

void
tg_curve_server_free(struct tg_curve_server *srv)
{
	if (srv == NULL)
		return;
	for (size_t i = 0; i < srv->nmon; i++) {
		event_free(srv->mon[i].ev);
		zmq_close(srv->mon[i].pair);
	}
	if (srv->ev)
		event_free(srv->ev);
	if (srv->zap) {
		/* Unbinding an inproc endpoint is immediate, closing is not: a new
		 * handler may bind on this context at once. */
		zmq_unbind(srv->zap, TG_CURVE_ZAP_ENDPOINT);
		zmq_close(srv->zap);
	}
	if (srv->zctx)
		registry_remove(srv);
	free(srv->allowed);
	free(srv->key_file);
	explicit_bzero(&srv->kp, sizeof(srv->kp));
	free(srv);
}

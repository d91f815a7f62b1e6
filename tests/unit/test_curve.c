/*
 * Unit tests of CURVE: key files (common/curvekeys.c) and the daemon's ZAP
 * handler (daemon/curve.c) with real ZeroMQ sockets over TCP, driven by a real
 * libevent loop: an allowed key is admitted, an unknown key and a plaintext
 * client are refused, and the dispatcher's socket is secured through its context.
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
#include <event2/event.h>
#include <zmq.h>

#include "../../common/curvekeys.h"
#include "../../common/util.h"
#include "../../daemon/config.h"
#include "../../daemon/curve.h"
#include "../../daemon/dispatch.h"
#include "../../proto/control.h"

#define REFUSE_WAIT_MS 1200 /* long enough for several handshake attempts */

static char errbuf[1024];

/* A temporary directory with key pairs written by tg_curvekeys_write. */
struct keys {
	char dir[64];
	char server_key[128], allowed_key[128], allowed_pub[128], unknown_key[128];
	struct tg_curve_keypair server, allowed, unknown;
};

static void
write_pair(struct keys *k, const char *name, struct tg_curve_keypair *kp, char *keypath,
    char *pubpath)
{
	assert_int_equal(tg_curvekeys_generate(kp, errbuf, sizeof(errbuf)), 0);
	snprintf(keypath, 128, "%s/%s.key", k->dir, name);
	assert_int_equal(tg_curvekeys_write(keypath, kp, true, "test", errbuf, sizeof(errbuf)), 0);
	if (pubpath) {
		snprintf(pubpath, 128, "%s/%s.pub", k->dir, name);
		assert_int_equal(tg_curvekeys_write(pubpath, kp, false, "test", errbuf,
				     sizeof(errbuf)),
		    0);
	}
}

static int
keys_setup(void **state)
{
	struct keys *k = tg_calloc(1, sizeof(*k));

	snprintf(k->dir, sizeof(k->dir), "/tmp/tg-test-curve-XXXXXX");
	assert_non_null(mkdtemp(k->dir));
	write_pair(k, "server", &k->server, k->server_key, NULL);
	write_pair(k, "allowed", &k->allowed, k->allowed_key, k->allowed_pub);
	write_pair(k, "unknown", &k->unknown, k->unknown_key, NULL);
	*state = k;
	return 0;
}

static int
keys_teardown(void **state)
{
	struct keys *k = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
	assert_int_equal(system(cmd), 0);
	free(k);
	return 0;
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
assert_err_has(const char *needle)
{
	if (strstr(errbuf, needle) == NULL) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", errbuf, needle);
		fail();
	}
}

static void
test_check_z85(void **state)
{
	struct keys *k = *state;
	unsigned char raw[TG_CURVE_KEY_BYTES];
	char back[TG_CURVE_Z85_LEN + 1];

	assert_int_equal(tg_curvekeys_check_z85(k->allowed.public_key, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(tg_curvekeys_check_z85("abc", errbuf, sizeof(errbuf)), -1);
	assert_err_has("40 Z85 characters");
	assert_int_equal(tg_curvekeys_check_z85("0123456789012345678901234567890123456 89",
			     errbuf, sizeof(errbuf)),
	    -1);
	assert_err_has("character 38");
	assert_int_equal(tg_curvekeys_check_z85("~123456789012345678901234567890123456789",
			     errbuf, sizeof(errbuf)),
	    -1);
	assert_int_equal(tg_curvekeys_decode(k->allowed.public_key, raw, errbuf, sizeof(errbuf)),
	    0);
	tg_curvekeys_encode(raw, back);
	assert_string_equal(back, k->allowed.public_key);
}

/* What tg_curvekeys_write writes, tg_curvekeys_read reads back. */
static void
test_keyfile_roundtrip(void **state)
{
	struct keys *k = *state;
	struct tg_curve_keypair kp;
	struct stat st;

	assert_int_equal(tg_curvekeys_read(k->allowed_key, true, &kp, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(kp.public_key, k->allowed.public_key);
	assert_string_equal(kp.secret_key, k->allowed.secret_key);
	assert_int_equal(stat(k->allowed_key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(tg_curvekeys_read(k->allowed_pub, false, &kp, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(kp.public_key, k->allowed.public_key);
	assert_string_equal(kp.secret_key, "");
	/* A .pub file where a secret key is needed. */
	assert_int_equal(tg_curvekeys_read(k->allowed_pub, true, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("no \"secret-key = \" line");
	/* Never overwritten. */
	assert_int_equal(tg_curvekeys_write(k->allowed_key, &k->unknown, true, "x", errbuf,
			     sizeof(errbuf)),
	    -1);
	assert_err_has("exists already");
	assert_int_equal(tg_curvekeys_read(k->allowed_key, true, &kp, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(kp.secret_key, k->allowed.secret_key);
}

static void
test_keyfile_refused(void **state)
{
	struct keys *k = *state;
	struct tg_curve_keypair kp;
	char path[160], text[512];

	/* Readable by others: refused; by the group: fine. */
	assert_int_equal(chmod(k->allowed_key, 0644), 0);
	assert_int_equal(tg_curvekeys_read(k->allowed_key, true, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("others may read");
	assert_string_equal(kp.secret_key, "");
	assert_int_equal(chmod(k->allowed_key, 0640), 0);
	assert_int_equal(tg_curvekeys_read(k->allowed_key, true, &kp, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(chmod(k->allowed_key, 0600), 0);

	snprintf(path, sizeof(path), "%s/bad.key", k->dir);
	/* A public key that is not the secret key's. */
	snprintf(text, sizeof(text), "public-key = %s\nsecret-key = %s\n", k->unknown.public_key,
	    k->allowed.secret_key);
	write_text(path, text, 0600);
	assert_int_equal(tg_curvekeys_read(path, true, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("does not belong");
	/* Unknown line, with its number. */
	snprintf(text, sizeof(text), "# comment\n\npublic-key = %s\nsecret = x\n",
	    k->allowed.public_key);
	write_text(path, text, 0600);
	assert_int_equal(tg_curvekeys_read(path, true, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("line 4: expected");
	/* Twice. */
	snprintf(text, sizeof(text), "public-key = %s\npublic-key = %s\n", k->allowed.public_key,
	    k->allowed.public_key);
	write_text(path, text, 0600);
	assert_int_equal(tg_curvekeys_read(path, false, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("line 2: public-key given twice");
	/* Short key. */
	write_text(path, "public-key = abcde\n", 0600);
	assert_int_equal(tg_curvekeys_read(path, false, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("line 1: public-key: a CURVE key is 40");
	/* Nothing in it. */
	write_text(path, "# only a comment\n", 0600);
	assert_int_equal(tg_curvekeys_read(path, false, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("no \"public-key = \" line");
	/* CRLF line ends and spaces are fine. */
	snprintf(text, sizeof(text), "public-key=%s  \r\n", k->allowed.public_key);
	write_text(path, text, 0600);
	assert_int_equal(tg_curvekeys_read(path, false, &kp, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(kp.public_key, k->allowed.public_key);
	snprintf(path, sizeof(path), "%s/missing.key", k->dir);
	assert_int_equal(tg_curvekeys_read(path, false, &kp, errbuf, sizeof(errbuf)), -1);
	assert_err_has("cannot open");
}

static void
test_public_arg(void **state)
{
	struct keys *k = *state;
	char out[TG_CURVE_Z85_LEN + 1];

	assert_int_equal(tg_curvekeys_public_arg(k->unknown.public_key, out, errbuf,
			     sizeof(errbuf)),
	    0);
	assert_string_equal(out, k->unknown.public_key);
	assert_int_equal(tg_curvekeys_public_arg(k->allowed_pub, out, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(out, k->allowed.public_key);
	assert_int_equal(tg_curvekeys_public_arg("/nonexistent/x.pub", out, errbuf,
			     sizeof(errbuf)),
	    -1);
	assert_err_has("cannot open");
}

static void
test_client_setup_args(void **state)
{
	struct keys *k = *state;
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	int server = -1;
	size_t sz = sizeof(server);

	assert_int_equal(tg_curvekeys_client_setup(s, NULL, NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(tg_curvekeys_client_setup(s, k->server.public_key, NULL, errbuf,
			     sizeof(errbuf)),
	    -1);
	assert_err_has("needs both");
	assert_int_equal(tg_curvekeys_client_setup(s, NULL, k->allowed_key, errbuf,
			     sizeof(errbuf)),
	    -1);
	/* The .pub file is no client key file. */
	assert_int_equal(tg_curvekeys_client_setup(s, k->server.public_key, k->allowed_pub, errbuf,
			     sizeof(errbuf)),
	    -1);
	assert_int_equal(tg_curvekeys_client_setup(s, k->server.public_key, k->allowed_key,
			     errbuf, sizeof(errbuf)),
	    0);
	assert_int_equal(zmq_getsockopt(s, ZMQ_CURVE_SERVER, &server, &sz), 0);
	assert_int_equal(server, 0);
	zmq_close(s);
	zmq_ctx_term(ctx);
}

static void
test_server_new_errors(void **state)
{
	struct keys *k = *state;
	struct event_base *base = event_base_new();
	void *ctx = zmq_ctx_new();
	const char *clients[] = { k->allowed.public_key };
	const char *bad[] = { "not a key" };
	struct tg_curve_server *srv, *again;

	assert_null(tg_curve_server_new(base, ctx, k->server_key, clients, 0, errbuf,
	    sizeof(errbuf)));
	assert_err_has("curve_clients is empty");
	assert_null(tg_curve_server_new(base, ctx, k->server_key, bad, 1, errbuf, sizeof(errbuf)));
	assert_err_has("curve_clients[0]");
	assert_null(tg_curve_server_new(base, ctx, k->allowed_pub, clients, 1, errbuf,
	    sizeof(errbuf)));
	assert_err_has("secret-key");
	/* Failed attempts leave nothing behind: a good one still binds the ZAP endpoint. */
	srv = tg_curve_server_new(base, ctx, k->server_key, clients, 1, errbuf, sizeof(errbuf));
	assert_non_null(srv);
	assert_string_equal(tg_curve_server_public(srv), k->server.public_key);
	again = tg_curve_server_new(base, ctx, k->server_key, clients, 1, errbuf, sizeof(errbuf));
	assert_null(again);
	assert_err_has("has a CURVE server already");
	tg_curve_server_free(srv);
	/* Freed: the context is free for another one. */
	srv = tg_curve_server_new(base, ctx, k->server_key, clients, 1, errbuf, sizeof(errbuf));
	assert_non_null(srv);
	tg_curve_server_free(srv);
	zmq_ctx_term(ctx);
	event_base_free(base);
}

/* A server context with the ZAP handler and a ROUTER bound on TCP. */
struct server {
	struct event_base *base;
	void *ctx;
	struct tg_curve_server *srv;
	void *router;
	char endpoint[128];
};

static void
server_start(struct server *s, const struct keys *k)
{
	const char *clients[] = { k->allowed.public_key };
	size_t sz = sizeof(s->endpoint);
	int zero = 0, on = -1;

	s->base = event_base_new();
	s->ctx = zmq_ctx_new();
	s->srv = tg_curve_server_new(s->base, s->ctx, k->server_key, clients, 1, errbuf,
	    sizeof(errbuf));
	if (s->srv == NULL)
		fprintf(stderr, "%s\n", errbuf);
	assert_non_null(s->srv);
	s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
	zmq_setsockopt(s->router, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(tg_curve_server_secure_ctx(s->ctx, s->router, errbuf, sizeof(errbuf)), 0);
	sz = sizeof(on);
	assert_int_equal(zmq_getsockopt(s->router, ZMQ_CURVE_SERVER, &on, &sz), 0);
	assert_int_equal(on, 1);
	assert_int_equal(zmq_bind(s->router, "tcp://127.0.0.1:*"), 0);
	sz = sizeof(s->endpoint);
	assert_int_equal(zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, s->endpoint, &sz), 0);
}

static void
server_stop(struct server *s)
{
	zmq_close(s->router);
	tg_curve_server_free(s->srv);
	zmq_ctx_term(s->ctx);
	event_base_free(s->base);
}

/* Run the loop (the ZAP handler) until the router has a message or ms pass.
 * Returns the payload size received (with the User-Id in user), or -1. */
static int
pump(struct server *s, int ms, char *user, size_t userlen)
{
	int64_t deadline = tg_now_mono_ms() + ms;

	while (tg_now_mono_ms() < deadline) {
		zmq_pollitem_t pi = { s->router, 0, ZMQ_POLLIN, 0 };

		event_base_loop(s->base, EVLOOP_NONBLOCK);
		if (zmq_poll(&pi, 1, 10) > 0) {
			zmq_msg_t id, body;
			const char *uid;
			int n;

			zmq_msg_init(&id);
			zmq_msg_init(&body);
			assert_true(zmq_msg_recv(&id, s->router, 0) >= 0);
			assert_true(zmq_msg_more(&id));
			n = zmq_msg_recv(&body, s->router, 0);
			uid = zmq_msg_gets(&body, "User-Id");
			snprintf(user, userlen, "%s", uid ? uid : "");
			zmq_msg_close(&id);
			zmq_msg_close(&body);
			return n;
		}
	}
	return -1;
}

/* A client in its own context (as a remote worker or subscriber would be);
 * key_file NULL: plaintext. */
static void *
client(void *ctx, const char *endpoint, const char *server_key, const char *key_file)
{
	void *c = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0, ivl = 50;

	zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(c, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	assert_int_equal(tg_curvekeys_client_setup(c, server_key, key_file, errbuf,
			     sizeof(errbuf)),
	    0);
	assert_int_equal(zmq_connect(c, endpoint), 0);
	assert_int_equal(zmq_send(c, "hello", 5, ZMQ_DONTWAIT), 5);
	return c;
}

static void
test_allowed_unknown_plaintext(void **state)
{
	struct keys *k = *state;
	struct server s;
	void *cctx = zmq_ctx_new(), *c;
	char user[64];
	unsigned long long admitted, refused, refused_before, failed, failed_before;

	memset(&s, 0, sizeof(s));
	server_start(&s, k);

	/* An allowed key: admitted, the message arrives with its key as User-Id. */
	c = client(cctx, s.endpoint, k->server.public_key, k->allowed_key);
	assert_int_equal(pump(&s, 5000, user, sizeof(user)), 5);
	assert_string_equal(user, k->allowed.public_key);
	zmq_close(c);
	tg_curve_server_counts(s.srv, &admitted, &refused, &failed);
	assert_true(admitted >= 1);
	assert_int_equal(refused, 0);
	assert_int_equal(failed, 0);

	/* An unknown key: refused by the ZAP handler, nothing arrives. */
	c = client(cctx, s.endpoint, k->server.public_key, k->unknown_key);
	assert_int_equal(pump(&s, REFUSE_WAIT_MS, user, sizeof(user)), -1);
	zmq_close(c);
	tg_curve_server_counts(s.srv, &admitted, &refused, &failed);
	assert_true(refused >= 1);
	refused_before = refused;

	/* Plaintext: the handshake fails before ZAP (the monitor counts it);
	 * nothing arrives. */
	failed_before = failed;
	c = client(cctx, s.endpoint, NULL, NULL);
	assert_int_equal(pump(&s, REFUSE_WAIT_MS, user, sizeof(user)), -1);
	zmq_close(c);
	tg_curve_server_counts(s.srv, &admitted, &refused, &failed);
	assert_true(failed > failed_before);
	failed_before = failed;

	/* An allowed key pair but the wrong server key: the handshake fails. */
	c = client(cctx, s.endpoint, k->unknown.public_key, k->allowed_key);
	assert_int_equal(pump(&s, REFUSE_WAIT_MS, user, sizeof(user)), -1);
	zmq_close(c);
	tg_curve_server_counts(s.srv, &admitted, &refused, &failed);
	assert_int_equal(refused, refused_before);
	assert_true(failed > failed_before);

	/* The server's own key pair (the daemon's local workers) is admitted, and
	 * the server still serves after the refusals. */
	c = client(cctx, s.endpoint, k->server.public_key, k->server_key);
	assert_int_equal(pump(&s, 5000, user, sizeof(user)), 5);
	assert_string_equal(user, k->server.public_key);
	zmq_close(c);
	c = client(cctx, s.endpoint, k->server_key, k->allowed_key); /* server key as a file */
	assert_int_equal(pump(&s, 5000, user, sizeof(user)), 5);
	assert_string_equal(user, k->allowed.public_key);
	zmq_close(c);

	zmq_ctx_term(cctx);
	server_stop(&s);
}

/* Send one ZAP request on the handler's endpoint and read the status code. */
static void
zap_ask(struct server *s, void *req, const char *version, const char *mechanism,
    const void *cred, size_t credlen, char *code, char *user)
{
	const char *frames[] = { version, "42", "tigris", "192.0.2.7", "id", mechanism };
	zmq_pollitem_t pi = { req, 0, ZMQ_POLLIN, 0 };
	int64_t deadline = tg_now_mono_ms() + 3000;
	char buf[6][64];

	for (size_t i = 0; i < 6; i++)
		assert_true(zmq_send(req, frames[i], strlen(frames[i]),
				(cred || i < 5) ? ZMQ_SNDMORE : 0) >= 0);
	if (cred)
		assert_int_equal(zmq_send(req, cred, credlen, 0), (int)credlen);
	while (tg_now_mono_ms() < deadline) {
		event_base_loop(s->base, EVLOOP_NONBLOCK);
		if (zmq_poll(&pi, 1, 10) > 0)
			break;
	}
	assert_true(pi.revents & ZMQ_POLLIN);
	for (size_t i = 0; i < 6; i++) {
		int n = zmq_recv(req, buf[i], sizeof(buf[i]) - 1, 0);

		assert_true(n >= 0 && n < (int)sizeof(buf[i]));
		buf[i][n] = '\0';
	}
	assert_string_equal(buf[0], "1.0");
	assert_string_equal(buf[1], "42");
	snprintf(code, 8, "%.7s", buf[2]);
	snprintf(user, 64, "%s", buf[4]);
}

/* The ZAP handler itself, asked directly as libzmq asks it. */
static void
test_zap_replies(void **state)
{
	struct keys *k = *state;
	struct server s;
	unsigned char allowed[TG_CURVE_KEY_BYTES], unknown[TG_CURVE_KEY_BYTES];
	char code[8], user[64];
	void *req;
	unsigned long long admitted, refused, failed;

	memset(&s, 0, sizeof(s));
	server_start(&s, k);
	req = zmq_socket(s.ctx, ZMQ_REQ);
	assert_int_equal(zmq_connect(req, TG_CURVE_ZAP_ENDPOINT), 0);
	assert_int_equal(tg_curvekeys_decode(k->allowed.public_key, allowed, errbuf,
			     sizeof(errbuf)),
	    0);
	assert_int_equal(tg_curvekeys_decode(k->unknown.public_key, unknown, errbuf,
			     sizeof(errbuf)),
	    0);

	zap_ask(&s, req, "1.0", "CURVE", allowed, sizeof(allowed), code, user);
	assert_string_equal(code, "200");
	assert_string_equal(user, k->allowed.public_key);
	zap_ask(&s, req, "1.0", "CURVE", unknown, sizeof(unknown), code, user);
	assert_string_equal(code, "400");
	assert_string_equal(user, "");
	zap_ask(&s, req, "1.0", "NULL", NULL, 0, code, user);
	assert_string_equal(code, "400");
	zap_ask(&s, req, "1.0", "PLAIN", "user", 4, code, user);
	assert_string_equal(code, "400");
	zap_ask(&s, req, "1.0", "CURVE", allowed, 31, code, user); /* short key */
	assert_string_equal(code, "400");
	zap_ask(&s, req, "2.0", "CURVE", allowed, sizeof(allowed), code, user);
	assert_string_equal(code, "500");
	tg_curve_server_counts(s.srv, &admitted, &refused, &failed);
	assert_int_equal(admitted, 1);
	assert_int_equal(refused, 5);

	zmq_close(req);
	server_stop(&s);
}

/* Modules that only hold the context (dispatch, replay) find its CURVE server:
 * the dispatcher's ROUTER admits a worker with an allowed key only. */
static void
on_result(void *arg, struct tg_job *job, const struct tg_result *r)
{
}

static size_t
dispatch_workers(struct event_base *base, struct tg_dispatch *d, void *c, int ms)
{
	struct tg_hello h = { .credit = 4, .pid = 4242 };
	struct tg_dispatch_stats st;
	int64_t deadline = tg_now_mono_ms() + ms, next = 0;

	do {
		if (tg_now_mono_ms() >= next) {
			tg_hello_send(c, NULL, 0, &h);
			next = tg_now_mono_ms() + 200;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
		tg_dispatch_get_stats(d, &st);
	} while (st.workers == 0 && tg_now_mono_ms() < deadline);
	return st.workers;
}

static void
test_dispatch_secured_through_context(void **state)
{
	struct keys *k = *state;
	const char *clients[] = { k->allowed.public_key };
	struct event_base *base = event_base_new();
	void *ctx = zmq_ctx_new(), *cctx = zmq_ctx_new(), *c;
	struct tg_curve_server *srv;
	struct tg_dispatch *d;
	char ep[128];
	int zero = 0;

	snprintf(ep, sizeof(ep), "ipc://%s/workers.sock", k->dir);
	srv = tg_curve_server_new(base, ctx, k->server_key, clients, 1, errbuf, sizeof(errbuf));
	assert_non_null(srv);
	d = tg_dispatch_new(base, ctx, ep, on_result, NULL, errbuf, sizeof(errbuf));
	assert_non_null(d);

	c = zmq_socket(cctx, ZMQ_DEALER); /* plaintext worker */
	zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_connect(c, ep), 0);
	assert_int_equal(dispatch_workers(base, d, c, REFUSE_WAIT_MS), 0);
	zmq_close(c);

	c = zmq_socket(cctx, ZMQ_DEALER); /* unknown key */
	zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(tg_curvekeys_client_setup(c, k->server.public_key, k->unknown_key,
			     errbuf, sizeof(errbuf)),
	    0);
	assert_int_equal(zmq_connect(c, ep), 0);
	assert_int_equal(dispatch_workers(base, d, c, REFUSE_WAIT_MS), 0);
	zmq_close(c);

	c = zmq_socket(cctx, ZMQ_DEALER); /* allowed key */
	zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(tg_curvekeys_client_setup(c, k->server.public_key, k->allowed_key,
			     errbuf, sizeof(errbuf)),
	    0);
	assert_int_equal(zmq_connect(c, ep), 0);
	assert_int_equal(dispatch_workers(base, d, c, 5000), 1);
	zmq_close(c);

	tg_dispatch_free(d);
	tg_curve_server_free(srv);
	zmq_ctx_term(ctx);
	zmq_ctx_term(cctx);
	event_base_free(base);
}

/* A context without a CURVE server: sockets stay plaintext. */
static void
test_secure_ctx_without_server(void **state)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_ROUTER);
	int on = -1;
	size_t sz = sizeof(on);

	assert_int_equal(tg_curve_server_secure_ctx(ctx, s, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(tg_curve_server_secure(NULL, s, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(zmq_getsockopt(s, ZMQ_CURVE_SERVER, &on, &sz), 0);
	assert_int_equal(on, 0);
	zmq_close(s);
	zmq_ctx_term(ctx);
}

static void
test_clients_same(void **state)
{
	char *a1[] = { "x", "y" }, *b1[] = { "x", "y" }, *c1[] = { "y", "x" };
	struct tg_strlist a = { a1, 2 }, b = { b1, 2 }, c = { c1, 2 }, e = { NULL, 0 };

	assert_true(tg_curve_clients_same(&a, &b));
	assert_false(tg_curve_clients_same(&a, &c));
	assert_false(tg_curve_clients_same(&a, &e));
	assert_true(tg_curve_clients_same(&e, &e));
}

/* The config keys: CURVE on needs an allowlist, an allowlist needs CURVE on,
 * and each entry must be a Z85 key. */
static void
test_config_keys(void **state)
{
	struct keys *k = *state;
	struct tg_config *cfg = NULL;
	char text[1024], cfgpath[160];

	snprintf(cfgpath, sizeof(cfgpath), "%s/tigris.json", k->dir);
	snprintf(text, sizeof(text),
	    "{\"curve_secret_key\": \"server.key\", \"curve_clients\": [\"%s\"]}",
	    k->allowed.public_key);
	assert_int_equal(tg_config_parse(text, strlen(text), cfgpath, &cfg, errbuf, sizeof(errbuf)),
	    0);
	assert_string_equal(cfg->curve_secret_key, k->server_key); /* relative to the config */
	assert_int_equal(cfg->curve_clients.n, 1);
	assert_string_equal(cfg->curve_clients.v[0], k->allowed.public_key);
	tg_config_free(cfg);

	snprintf(text, sizeof(text), "{}");
	assert_int_equal(tg_config_parse(text, strlen(text), cfgpath, &cfg, errbuf, sizeof(errbuf)),
	    0);
	assert_null(cfg->curve_secret_key);
	assert_int_equal(cfg->curve_clients.n, 0);
	tg_config_free(cfg);

	snprintf(text, sizeof(text), "{\"curve_secret_key\": \"server.key\"}");
	assert_int_equal(tg_config_parse(text, strlen(text), cfgpath, &cfg, errbuf, sizeof(errbuf)),
	    -1);
	assert_err_has("curve_clients: empty while curve_secret_key is set");
	snprintf(text, sizeof(text), "{\"curve_clients\": [\"%s\"]}", k->allowed.public_key);
	assert_int_equal(tg_config_parse(text, strlen(text), cfgpath, &cfg, errbuf, sizeof(errbuf)),
	    -1);
	assert_err_has("curve_secret_key is null");
	snprintf(text, sizeof(text),
	    "{\"curve_secret_key\": \"server.key\", \"curve_clients\": [\"%s\", \"short\"]}",
	    k->allowed.public_key);
	assert_int_equal(tg_config_parse(text, strlen(text), cfgpath, &cfg, errbuf, sizeof(errbuf)),
	    -1);
	assert_err_has("curve_clients[1]: a CURVE key is 40 Z85 characters");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_z85),
		cmocka_unit_test(test_keyfile_roundtrip),
		cmocka_unit_test(test_keyfile_refused),
		cmocka_unit_test(test_public_arg),
		cmocka_unit_test(test_client_setup_args),
		cmocka_unit_test(test_server_new_errors),
		cmocka_unit_test(test_allowed_unknown_plaintext),
		cmocka_unit_test(test_zap_replies),
		cmocka_unit_test(test_dispatch_secured_through_context),
		cmocka_unit_test(test_secure_ctx_without_server),
		cmocka_unit_test(test_clients_same),
		cmocka_unit_test(test_config_keys),
	};

	if (!zmq_has("curve")) {
		fprintf(stderr, "this libzmq has no CURVE support\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}

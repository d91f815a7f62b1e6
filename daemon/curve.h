/*
 * The server side of CurveZMQ: the daemon's key pair on its network-facing
 * sockets (publish, replay, workers) and a ZAP handler, driven by the event
 * loop, that admits only the client public keys of the config.
 */
#ifndef TG_CURVE_H
#define TG_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/curvekeys.h"
#include "config.h"

struct event_base;
struct tg_curve_server;

#define TG_CURVE_ZAP_ENDPOINT "inproc://zeromq.zap.01" /* fixed by ZAP (RFC 27) */
#define TG_CURVE_CLIENTS_MAX 1024                       /* keys in the allowlist */

/* Load the server key pair from key_file (a NAME.key file of `tigris keygen`),
 * bind the ZAP handler on zctx and watch it on base. It admits CURVE clients
 * whose key is one of clients (Z85, at least one) or the server's own (the
 * workers the daemon starts use it), and refuses everything else, logging each
 * refused key. Registered for zctx until freed (one per context, as ZAP is).
 * Returns NULL with what went wrong in err. */
struct tg_curve_server *tg_curve_server_new(struct event_base *base, void *zctx,
    const char *key_file, const char *const *clients, size_t nclients, char *err,
    size_t errlen);

/* Make sock (before it binds) a CURVE server with srv's key pair, and log its
 * handshakes that fail before ZAP (plaintext clients, a wrong server key) until
 * srv is freed. srv NULL: plaintext, nothing to do, 0. -1 with err if an
 * option cannot be set. */
int tg_curve_server_secure(struct tg_curve_server *srv, void *sock, char *err, size_t errlen);

/* tg_curve_server_secure with the server registered for zctx, if any: for
 * modules that only hold the context (dispatch, replay). */
int tg_curve_server_secure_ctx(void *zctx, void *sock, char *err, size_t errlen);

/* The server's public key in Z85 (valid while srv lives). */
const char *tg_curve_server_public(const struct tg_curve_server *srv);

/* The key file the server pair was read from (valid while srv lives). */
const char *tg_curve_server_key_file(const struct tg_curve_server *srv);

/* Clients so far: admitted (ZAP 200), refused (ZAP 400 or 500) and, when not
 * NULL, failed handshakes on the secured sockets (before ZAP). */
void tg_curve_server_counts(const struct tg_curve_server *srv, unsigned long long *admitted,
    unsigned long long *refused, unsigned long long *failed_handshakes);

/* Whether two curve_clients lists hold the same keys in the same order (a
 * reload that changes them needs a restart). */
bool tg_curve_clients_same(const struct tg_strlist *a, const struct tg_strlist *b);

/* Close the ZAP handler, unregister and free; NULL is fine. Call it after the
 * secured sockets are closed and before the context is terminated. */
void tg_curve_server_free(struct tg_curve_server *srv);

#endif

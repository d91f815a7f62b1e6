/*
 * The replay endpoint: a ZeroMQ ROUTER that answers "the alerts from sequence N"
 * (optionally up to M, optionally only those with one tag) from the store, so
 * that a subscriber that joined late, was away or overflowed its queue can fill
 * the gap. One request, one reply; works with REQ and DEALER clients. The
 * exchange is specified in docs/protocol.md.
 */
#ifndef TG_REPLAY_H
#define TG_REPLAY_H

#include <stddef.h>

struct event_base;
struct tg_replay;
struct tg_store;

#define TG_REPLAY_MAX_LIMIT 1000      /* alerts in one reply */
#define TG_REPLAY_MAX_REQUEST 4096    /* bytes of a request */

/* Bind a ROUTER on endpoint and answer from store with epoch. Returns NULL with
 * err when the endpoint cannot be bound. */
struct tg_replay *tg_replay_new(struct event_base *base, void *zctx, const char *endpoint,
    struct tg_store *store, const char *epoch, char *err, size_t errlen);

/* Close the socket and free; NULL is fine. */
void tg_replay_free(struct tg_replay *r);

/* Requests answered and rejected so far. */
void tg_replay_counts(const struct tg_replay *r, unsigned long long *answered,
    unsigned long long *rejected);

#endif

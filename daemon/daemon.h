/*
 * The daemon: one struct owns the event loop, the ZeroMQ context and sockets, the
 * fetcher, the dispatcher, the worker supervisor, the store, the config and the
 * counters. It schedules every feed, turns fetched bodies into new items, hands
 * them to workers, and publishes each result as an alert.
 */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct tg_daemon;

/* Counters, readable at any time. */
struct tg_daemon_counters {
	uint64_t fetch_ok;      /* 200 answers parsed */
	uint64_t fetch_304;     /* not modified */
	uint64_t fetch_failed;  /* transport errors and bad statuses */
	uint64_t parse_errors;  /* bodies that were not a usable feed */
	uint64_t items_new;
	uint64_t items_dup;
	uint64_t alerts;
	uint64_t bytes;
	uint64_t dead_letters;
};

/* Build the daemon from cfg (which it takes over and frees): opens the store,
 * binds the publish and worker sockets. self_path is the daemon's own executable
 * (to find tigris-worker beside it). Returns NULL with err on a start-up failure. */
struct tg_daemon *tg_daemon_new(struct tg_config *cfg, const char *self_path, char *err,
    size_t errlen);

/* Start the workers, schedule the feeds, re-dispatch pending items and run the
 * loop until SIGINT or SIGTERM. Returns 0 on a clean stop, -1 with err. */
int tg_daemon_run(struct tg_daemon *d, char *err, size_t errlen);

/* Stop workers, close sockets and the store, free everything; NULL is fine. */
void tg_daemon_free(struct tg_daemon *d);

/* Copy of the counters. */
void tg_daemon_get_counters(const struct tg_daemon *d, struct tg_daemon_counters *out);

#endif

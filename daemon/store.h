/*
 * The daemon's state in SQLite (WAL mode) under the state directory: feeds with
 * their HTTP validators, schedule and health, and every item seen, with its
 * journal state, so that a restart never publishes an item twice. Only tigrisd
 * opens the store; everything here is called on the daemon's thread. The store
 * runs WAL checkpoints on a thread of its own (started by tg_store_open, joined
 * by tg_store_close), so that no call here waits for an fsync.
 */
#ifndef TG_STORE_H
#define TG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/item.h"
#include "../proto/result.h"

struct tg_store;

/* What the store remembers of a feed. Strings are malloc'd, owned by the struct. */
struct tg_store_feed {
	int64_t id;            /* row id, stable for the life of the store */
	char *url;
	char *etag;            /* NULL when none */
	char *last_modified;   /* NULL when none */
	int64_t next_fetch_ms; /* wall clock; 0 = as soon as possible */
	int error_count;       /* consecutive failures */
	char *last_error;      /* NULL when the last fetch succeeded */
	int64_t last_success_ms;
	char *moved_url;       /* where a permanent redirect led; NULL when it did not move */
};

/* Item journal states. */
enum tg_item_state {
	TG_ITEM_PENDING = 0,   /* stored, not yet published */
	TG_ITEM_PUBLISHED = 1, /* its alert was published */
};

/* Open (creating if needed) "<dir>/tigris.db", creating dir too (mode 0750). WAL,
 * foreign keys, busy timeout. Holds an exclusive lock on "<dir>/tigris.lock" until
 * closed, so a second open of the same dir fails. Returns NULL with err filled on
 * failure (unusable dir, locked, not a database, schema from a newer tigris). A
 * store made by an older tigris is upgraded in place, in one transaction. */
struct tg_store *tg_store_open(const char *dir, char *err, size_t errlen);

/* Close (stopping the checkpoint thread); NULL is fine. */
void tg_store_close(struct tg_store *st);

/* Background checkpoints so far: runs, and failures other than "busy". */
void tg_store_checkpoint_stats(struct tg_store *st, unsigned long long *runs,
    unsigned long long *failures);

/* Returns -1 with err (once per new failure) when a background checkpoint failed
 * since the last call, else 0. For the daemon to log at its edge. */
int tg_store_checkpoint_error(struct tg_store *st, char *err, size_t errlen);

/* Find or create the feed with this URL and fill out (caller frees with
 * tg_store_feed_clear). Returns 0 or -1 with err. */
int tg_store_feed_get(struct tg_store *st, const char *url, struct tg_store_feed *out, char *err,
    size_t errlen);

/* Remember that the feed moved permanently to url (NULL: forget it), so that a
 * restart fetches it there. Returns 0 or -1 with err. */
int tg_store_feed_moved(struct tg_store *st, int64_t feed_id, const char *url, char *err,
    size_t errlen);

/* Free what a tg_store_feed owns and zero it. */
void tg_store_feed_clear(struct tg_store_feed *f);

/* Record a successful fetch (200 or 304): new validators (NULL keeps none),
 * error_count reset, last_success set, next fetch. Returns 0 or -1 with err. */
int tg_store_feed_ok(struct tg_store *st, int64_t feed_id, const char *etag,
    const char *last_modified, int64_t now_ms, int64_t next_fetch_ms, char *err, size_t errlen);

/* Record a failed fetch: error_count incremented, last_error set. Returns 0 or -1. */
int tg_store_feed_failed(struct tg_store *st, int64_t feed_id, const char *why,
    int64_t next_fetch_ms, char *err, size_t errlen);

/* Insert every item of one fetch that the store has not seen for this feed, in one
 * transaction, as PENDING with its content. is_new[i] is set true for the items
 * inserted (the caller dispatches those) and false for those already known.
 * Items without an id are skipped (never new); a repeated id within the batch is
 * new only the first time. Returns the number of new items, or -1 with err
 * (nothing inserted, is_new all false). is_new may be NULL. */
int tg_store_items_add(struct tg_store *st, int64_t feed_id, const struct tg_item *items,
    size_t n, bool *is_new, char *err, size_t errlen);

/* What tg_store_items_pending gives for each PENDING item: its feed id, the item
 * (valid only during the call: copy it to keep it; it->feed is NULL, map the feed
 * id; it->fetched_ms is when it was first seen) and the failure count last set
 * with tg_store_item_failed (0 when none). */
typedef void (*tg_store_pending_cb)(void *arg, int64_t feed_id, const struct tg_item *it,
    int failures);

/* Call fn for every PENDING item, oldest first. fn may call tg_store_alert_add,
 * tg_store_dead_letter and tg_store_item_failed. Returns the count or -1 with err. */
int tg_store_items_pending(struct tg_store *st, tg_store_pending_cb fn, void *arg, char *err,
    size_t errlen);

/* Like tg_store_items_pending, but only items with rowid > after_rowid, at most
 * limit of them (0: all); *last_rowid (may be NULL) gets the rowid of the last
 * one given (after_rowid when none). For refilling a spilled queue. */
int tg_store_items_pending_from(struct tg_store *st, int64_t after_rowid, size_t limit,
    int64_t *last_rowid, tg_store_pending_cb fn, void *arg, char *err, size_t errlen);

/* Set how many workers the PENDING item took down while holding it alone (the
 * dispatcher's count, kept so that a restart does not reset it). Returns 0, or -1
 * with err on a database error or when no such item is pending. */
int tg_store_item_failed(struct tg_store *st, int64_t feed_id, const char *item_id, int failures,
    char *err, size_t errlen);

/* Newest item rowid (0 when none). */
int64_t tg_store_max_item_rowid(struct tg_store *st);

/* Open / commit a transaction spanning several calls (the daemon batches the
 * alerts of one loop turn). Commit failure rolls back. 0 or -1 with err. */
int tg_store_begin(struct tg_store *st, char *err, size_t errlen);
int tg_store_commit(struct tg_store *st, char *err, size_t errlen);

/* The outbox: store alert seq (its JSON, its tags as " a b ") and mark the item
 * done, before the alert is published. 0 or -1 with err. */
int tg_store_alert_add(struct tg_store *st, uint64_t seq, const char *alert_id, int64_t feed_id,
    const char *item_id, const char *tags, int64_t published_ms, const char *json, size_t len,
    char *err, size_t errlen);

/* Call fn for alerts from_seq..to_seq (to_seq 0: no upper bound) in order, only
 * those carrying tag when tag is not NULL, at most limit (0: all). The JSON is
 * valid during the call. Returns the count or -1 with err. */
int tg_store_alerts_range(struct tg_store *st, uint64_t from_seq, uint64_t to_seq, const char *tag,
    size_t limit, void (*fn)(void *arg, uint64_t seq, const char *json, size_t len), void *arg,
    char *err, size_t errlen);

/* Delete alerts published before older_than_ms. Returns how many, or -1. */
int64_t tg_store_alerts_prune(struct tg_store *st, int64_t older_than_ms, char *err, size_t errlen);

/* Oldest alert still kept (0 when none). */
uint64_t tg_store_min_alert_seq(struct tg_store *st);

/* The highest sequence known to have been handed to the PUB socket; alerts after
 * it are published again at start. */
int tg_store_set_published_seq(struct tg_store *st, uint64_t seq, char *err, size_t errlen);
uint64_t tg_store_published_seq(struct tg_store *st);

/* Move an item to the dead-letter table (it will not be dispatched again). */
int tg_store_dead_letter(struct tg_store *st, int64_t feed_id, const char *item_id, int attempts,
    const char *reason, char *err, size_t errlen);

/* Rows in the dead-letter table. */
int64_t tg_store_dead_count(struct tg_store *st);

/* Highest sequence number ever published (0 when none). */
uint64_t tg_store_max_seq(struct tg_store *st);

/* The store's epoch: a random hex id made when the store was created. */
const char *tg_store_epoch(struct tg_store *st);

/* Number of items stored for a feed (tests and status). -1 on error. */
int64_t tg_store_item_count(struct tg_store *st, int64_t feed_id);

/* Run SQLite's integrity check. Returns 0 when the database is sound, else -1
 * with the first problem in err. */
int tg_store_check(struct tg_store *st, char *err, size_t errlen);

#endif

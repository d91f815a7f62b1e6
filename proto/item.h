/*
 * The normalised feed item: what the feed parser produces, what the store keeps,
 * what a worker classifies and what an alert carries. Encoded as lean frames on
 * the daemon -> worker hop and as JSON in alerts and `tigris parse`.
 */
#ifndef TG_ITEM_H
#define TG_ITEM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Caps applied by the decoder (and by the feed parser when it builds items). */
#define TG_ITEM_MAX_ID 2048
#define TG_ITEM_MAX_TITLE 4096
#define TG_ITEM_MAX_LINK 4096
#define TG_ITEM_MAX_SUMMARY 65536
#define TG_ITEM_MAX_LIST 64 /* authors, categories */
#define TG_ITEM_MAX_FEED 4096
#define TG_ITEM_MAX_NAME 512 /* one author or one category */
#define TG_ITEM_MAX_DATE 64  /* published, updated */
#define TG_ITEM_FRAMES 7     /* frames of an ITEM message from its header on */

/* Every string is malloc'd UTF-8 owned by the item, or NULL when absent. */
struct tg_item {
	char *id;        /* stable id within the feed (never NULL in a complete item) */
	char *feed;      /* feed id: the feed's configured name, else its URL */
	char *title;     /* plain text */
	char *link;      /* absolute URL */
	char *summary;   /* plain text, HTML stripped, entities decoded */
	char *published; /* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" */
	char *updated;   /* RFC 3339 UTC */
	char **authors;
	size_t nauthors;
	char **categories;
	size_t ncategories;
	int64_t fetched_ms; /* wall clock when the feed body arrived; 0 if unknown */
};

/* Zero an item. */
void tg_item_init(struct tg_item *it);

/* Free everything the item owns and zero it. Safe on a zeroed item. */
void tg_item_clear(struct tg_item *it);

/* Deep copy of src into dst (dst is overwritten, not freed first). */
void tg_item_copy(struct tg_item *dst, const struct tg_item *src);

/* Append a copy of s to the authors or categories list (ignored past TG_ITEM_MAX_LIST,
 * and when memory runs out: counted in tg_alloc_failures, which the feed parser checks). */
void tg_item_add_author(struct tg_item *it, const char *s);
void tg_item_add_category(struct tg_item *it, const char *s);

/* The text frames of a received ITEM, borrowed from the message (valid until it is
 * closed; not NUL-terminated; already validated). Empty frames have length 0. */
struct tg_item_view {
	const char *id, *feed, *title, *summary, *categories; /* categories joined by '\n' */
	size_t id_len, feed_len, title_len, summary_len, categories_len;
};

/* Send an ITEM message: [route][hdr 'I'][delivery u64][id][feed][title][summary]
 * [categories joined by '\n'] where route (may be NULL) is a ROUTER identity.
 * Strings longer than the caps above are cut at a character boundary, empty
 * categories are skipped and a '\n' inside one becomes a space; link, dates,
 * authors and fetched_ms are not sent. Never blocks (ZMQ_DONTWAIT). Returns 0, or -1
 * with errno EINVAL when the id is missing or a string is not valid UTF-8, else
 * errno from ZeroMQ (EAGAIN: the peer's queue is full). */
int tg_item_send(void *sock, const void *route, size_t routelen, uint64_t delivery,
    const struct tg_item *it);

/* Decode an ITEM message whose header is frame `first` of m into out (which must
 * be zeroed; the caller clears it). Validates frame count, sizes and UTF-8.
 * Returns 0, or -1 with the reason in err (out is then cleared). */
int tg_item_decode(const struct tg_wire_msg *m, size_t first, uint64_t *delivery,
    struct tg_item *out, char *err, size_t errlen);

/* Validate an ITEM as tg_item_decode does, without copying: v points into m. */
int tg_item_decode_view(const struct tg_wire_msg *m, size_t first, uint64_t *delivery,
    struct tg_item_view *v, char *err, size_t errlen);

/* New JSON object for the item (fields absent when NULL); caller decrefs. */
json_t *tg_item_to_json(const struct tg_item *it);

/* Fill out (zeroed) from a JSON object as written by tg_item_to_json.
 * Returns 0, or -1 with the reason in err. */
int tg_item_from_json(const json_t *obj, struct tg_item *out, char *err, size_t errlen);

#endif

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

/* Append a copy of s to the authors or categories list (ignored past TG_ITEM_MAX_LIST). */
void tg_item_add_author(struct tg_item *it, const char *s);
void tg_item_add_category(struct tg_item *it, const char *s);

/* Send an ITEM message: [route][hdr 'I'][delivery u64][id][feed][title][summary]
 * [categories joined by '\n'] where route (may be NULL) is a ROUTER identity.
 * Returns 0 or -1 with errno from ZeroMQ. */
int tg_item_send(void *sock, const void *route, size_t routelen, uint64_t delivery,
    const struct tg_item *it);

/* Decode an ITEM message whose header is frame `first` of m into out (which must
 * be zeroed; the caller clears it). Validates frame count, sizes and UTF-8.
 * Returns 0, or -1 with the reason in err (out is then cleared). */
int tg_item_decode(const struct tg_wire_msg *m, size_t first, uint64_t *delivery,
    struct tg_item *out, char *err, size_t errlen);

/* New JSON object for the item (fields absent when NULL); caller decrefs. */
json_t *tg_item_to_json(const struct tg_item *it);

/* Fill out (zeroed) from a JSON object as written by tg_item_to_json.
 * Returns 0, or -1 with the reason in err. */
int tg_item_from_json(const json_t *obj, struct tg_item *out, char *err, size_t errlen);

#endif

/*
 * Internals shared by the feed parser's files: feed.c (entry point, encodings,
 * item building, JSON output), feed_xml.c (RSS and Atom through libxml2's SAX2)
 * and feed_json.c (JSON Feed). Not for use outside daemon/feed*.c.
 */
#ifndef TG_FEED_INT_H
#define TG_FEED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/text.h"
#include "feed.h"

/* Raw text kept for one field before conversion (HTML is larger than its text). */
#define TG_FEED_MAX_RAW (1024 * 1024)

/* The state of one parse, whatever the format. */
struct tg_feed_ctx {
	struct tg_feed_doc *doc;
	const struct tg_feed_limits *lim;
	const char *feed_id;
	const char *base_url; /* may be NULL */
	size_t items_cap;     /* slots allocated in doc->items */
	uint32_t *idx;        /* open-addressing table: item index + 1, 0 empty */
	uint64_t *hashes;     /* id hash per kept item */
	size_t idx_cap;       /* power of two */
	bool *from_link;      /* per kept item: its id is a copy of its link */
	size_t dropped_dups;
	bool oom;             /* a library ran out of memory: the parse fails */
};

/* Set bozo with this reason unless it is already set (the first reason wins). */
void tg_feed_bozo(struct tg_feed_doc *doc, const char *reason);

/* True when another item may still be kept (max_items not reached). */
bool tg_feed_room(const struct tg_feed_ctx *c);

/* Finish the item (feed, id fallback) and move it into the document, or drop it
 * when it is empty, the item cap is reached or its explicit (or hash) id was
 * already seen in this feed; ids copied from links are settled at the end (see
 * tg_feed_settle_ids). it is zeroed on return either way. */
void tg_feed_commit(struct tg_feed_ctx *c, struct tg_item *it);

/* Settle the ids of a finished document: items whose id fell back to a link that
 * other items share get the hash id instead, then only the first item of each id
 * is kept. tg_feed_parse calls it after the format parser. */
void tg_feed_settle_ids(struct tg_feed_ctx *c);

/* Plain text of a field, cut to max bytes; NULL when nothing is left. */
char *tg_feed_text(const char *s, size_t n, enum tg_text_mode mode, size_t max);

/* A date as RFC 3339 UTC; NULL when it cannot be read. */
char *tg_feed_date(const char *s, size_t n);

/* An absolute link from ref (trimmed) against base (may be NULL); NULL when empty,
 * too long or a script URL. */
char *tg_feed_link(const char *base, const char *ref, size_t n);

/* Parse an XML feed held as n bytes of valid UTF-8. Returns 0, or -1 with err
 * when the document is not a feed. */
int tg_feed_xml_parse(struct tg_feed_ctx *c, const char *s, size_t n, char *err, size_t errlen);

/* Parse a JSON Feed. Returns 0, or -1 with err. */
int tg_feed_json_parse(struct tg_feed_ctx *c, const char *s, size_t n, char *err, size_t errlen);

#endif

/*
 * Feed parsing: turns the bytes of an RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed
 * document into normalised items (see proto/item.h). The format is detected from
 * the content. XML goes through libxml2 with a bounded document, no network, no
 * external entities and no entity amplification; ill-formed input is recovered
 * where possible and flagged "bozo" with a reason.
 */
#ifndef TG_FEED_H
#define TG_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "../proto/item.h"

enum tg_feed_format {
	TG_FEED_UNKNOWN = 0,
	TG_FEED_RSS090,
	TG_FEED_RSS091,
	TG_FEED_RSS092,
	TG_FEED_RSS20,
	TG_FEED_RSS10, /* RDF */
	TG_FEED_ATOM03,
	TG_FEED_ATOM10,
	TG_FEED_JSON10,
	TG_FEED_JSON11,
};

/* Limits applied while parsing. */
struct tg_feed_limits {
	size_t max_items;   /* items kept (later ones are dropped, bozo not set) */
	size_t max_bytes;   /* input larger than this is refused */
};

/* A parsed feed. Every string is malloc'd and owned by the struct. */
struct tg_feed_doc {
	enum tg_feed_format format;
	char *title;
	char *link;
	char *subtitle;
	char *updated;      /* RFC 3339 UTC */
	bool bozo;          /* the input was not well-formed or broke a rule */
	char *bozo_reason;  /* why, when bozo */
	struct tg_item *items;
	size_t nitems;
};

/* Default limits: 1000 items, 16 MiB. */
void tg_feed_limits_default(struct tg_feed_limits *lim);

/* Parse len bytes of a feed fetched from base_url (used to resolve relative links;
 * may be NULL). content_type is the HTTP Content-Type (for its charset; may be NULL).
 * feed_id becomes each item's `feed`. On success returns 0 and fills doc (caller
 * frees with tg_feed_doc_clear), possibly with bozo set. Returns -1 with err when
 * nothing usable could be read (not a feed, empty, too large). */
int tg_feed_parse(const char *data, size_t len, const char *base_url, const char *content_type,
    const char *feed_id, const struct tg_feed_limits *lim, struct tg_feed_doc *doc, char *err,
    size_t errlen);

/* Free everything doc owns and zero it. Safe on a zeroed doc. */
void tg_feed_doc_clear(struct tg_feed_doc *doc);

/* Name of a format ("rss20", "atom10", "json11", ...). */
const char *tg_feed_format_name(enum tg_feed_format f);

/* The normalised feed as JSON {"feed": {...}, "entries": [...], "bozo", "bozo_reason",
 * "version"}, as `tigris parse` prints it; caller decrefs. */
json_t *tg_feed_doc_to_json(const struct tg_feed_doc *doc);

/* Call once at program start before any parse (sets libxml2's global guards). */
void tg_feed_global_init(void);

#endif

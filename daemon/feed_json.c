/*
 * JSON Feed 1.0 and 1.1 (https://jsonfeed.org) through jansson. A document longer
 * than JSON_MAX_DOCUMENT or with a string longer than JSON_MAX_STRING is refused
 * before decoding, strings with NUL are refused by the decoder, nesting is bounded
 * by jansson's depth limit, and every field goes through the same caps as XML feeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "feed_int.h"

/* Longest JSON string accepted, in bytes of the document between its quotes
 * (escapes counted as written). Every field is cut far shorter (at most 64 KiB,
 * the summary that content_html is reduced to), and a real article is a small
 * fraction of this; a longer string is refused with the whole document before
 * jansson spends time and memory decoding it (docs/security.md). */
#define JSON_MAX_STRING (1024 * 1024)

/* Longest JSON Feed document decoded. jansson decodes about 100 MB/s here, so
 * this bounds a document of many strings each under JSON_MAX_STRING to well under
 * 100 ms; real JSON Feeds, full content included, are a small fraction of it. XML
 * feeds are bounded by max_body_bytes alone (docs/security.md). */
#define JSON_MAX_DOCUMENT (6 * 1024 * 1024)

/* One pass over the document: find each string by its opening quote and its
 * closing quote (a quote after an even run of backslashes), looking no further
 * than max bytes for the closing one. Returns 0, or -1 with the offset of the
 * opening quote of a string longer than max bytes in *at (counted from s). A
 * backslash is looked at again only for the quote it precedes, so the pass is
 * linear. Exact for valid JSON, where quotes and backslashes outside strings do
 * not occur; an unterminated string no longer than max is left for the decoder
 * to report. */
static int
find_long_string(const char *s, size_t n, size_t max, size_t *at)
{
	const char *p = s, *end = s + n;

	while ((p = memchr(p, '"', (size_t)(end - p))) != NULL) {
		const char *open = p++;
		const char *stop = (size_t)(end - p) > max ? p + max + 1 : end;

		for (;;) {
			const char *q = memchr(p, '"', (size_t)(stop - p)), *b;

			if (q == NULL) {
				if ((size_t)(stop - open - 1) <= max)
					return 0; /* unterminated, and short enough */
				*at = (size_t)(open - s);
				return -1;
			}
			for (b = q; b - 1 > open && b[-1] == '\\'; b--)
				;
			p = q + 1;
			if ((q - b) % 2 == 0)
				break;
		}
	}
	return 0;
}

static const char *
jstr(const json_t *o, const char *key, size_t *len)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

static char *
jtext(const json_t *o, const char *key, enum tg_text_mode mode, size_t max)
{
	size_t len = 0;
	const char *s = jstr(o, key, &len);

	return s ? tg_feed_text(s, len, mode, max) : NULL;
}

static char *
jdate(const json_t *o, const char *key)
{
	size_t len = 0;
	const char *s = jstr(o, key, &len);

	return s ? tg_feed_date(s, len) : NULL;
}

static char *
jlink(const json_t *o, const char *key, const char *base)
{
	size_t len = 0;
	const char *s = jstr(o, key, &len);

	return s ? tg_feed_link(base, s, len) : NULL;
}

static void
add_author(struct tg_item *it, const json_t *a)
{
	char *name;

	if (!json_is_object(a))
		return;
	name = jtext(a, "name", TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE);
	if (name)
		tg_item_add_author(it, name);
	free(name);
}

static void
parse_item(struct tg_feed_ctx *c, const json_t *o, const char *base)
{
	struct tg_item it;
	const json_t *v;
	size_t i;
	char num[32];

	if (!json_is_object(o))
		return;
	memset(&it, 0, sizeof(it));
	v = json_object_get(o, "id");
	if (json_is_string(v))
		it.id = tg_feed_text(json_string_value(v), json_string_length(v), TG_TEXT_PLAIN,
		    TG_ITEM_MAX_ID);
	else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		it.id = tg_try_strdup(num); /* NULL: counted, the parse fails */
	}
	it.title = jtext(o, "title", TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE);
	it.link = jlink(o, "url", base);
	if (it.link == NULL)
		it.link = jlink(o, "external_url", base);
	it.summary = jtext(o, "summary", TG_TEXT_PLAIN, TG_ITEM_MAX_SUMMARY);
	if (it.summary == NULL)
		it.summary = jtext(o, "content_text", TG_TEXT_PLAIN, TG_ITEM_MAX_SUMMARY);
	if (it.summary == NULL)
		it.summary = jtext(o, "content_html", TG_TEXT_HTML, TG_ITEM_MAX_SUMMARY);
	it.published = jdate(o, "date_published");
	it.updated = jdate(o, "date_modified");
	v = json_object_get(o, "authors");
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			add_author(&it, json_array_get(v, i));
	}
	add_author(&it, json_object_get(o, "author"));
	v = json_object_get(o, "tags");
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			const json_t *t = json_array_get(v, i);
			char *s;

			if (!json_is_string(t))
				continue;
			s = tg_feed_text(json_string_value(t), json_string_length(t), TG_TEXT_PLAIN,
			    TG_ITEM_MAX_TITLE);
			if (s)
				tg_item_add_category(&it, s);
			free(s);
		}
	}
	tg_feed_commit(c, &it);
}

int
tg_feed_json_parse(struct tg_feed_ctx *c, const char *s, size_t n, char *err, size_t errlen)
{
	struct tg_feed_doc *doc = c->doc;
	json_error_t jerr;
	json_t *root, *items;
	size_t len = 0;
	const char *ver;
	char *home = NULL;
	const char *base;
	size_t at;
	int r = -1;

	/* The more specific refusal first: both checks cost one pass at most. */
	if (find_long_string(s, n, JSON_MAX_STRING, &at) == -1) {
		snprintf(err, errlen, "JSON Feed: string at byte %zu is longer than %d bytes", at,
		    JSON_MAX_STRING);
		return -1;
	}
	if (n > JSON_MAX_DOCUMENT) {
		snprintf(err, errlen, "JSON Feed: the document is %zu bytes, over the %d-byte limit",
		    n, JSON_MAX_DOCUMENT);
		return -1;
	}
	root = json_loadb(s, n, 0, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			c->oom = true;
		snprintf(err, errlen, "not a feed: invalid JSON at line %d: %s", jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a feed: JSON is not an object");
		goto out;
	}
	ver = jstr(root, "version", &len);
	items = json_object_get(root, "items");
	if (ver && len >= 30 && strncmp(ver, "https://jsonfeed.org/version/1", 30) == 0) {
		doc->format = (len == 32 && strncmp(ver + 29, "1.1", 3) == 0) ? TG_FEED_JSON11 :
		    TG_FEED_JSON10;
	} else if (json_is_array(items)) {
		doc->format = TG_FEED_JSON10;
		tg_feed_bozo(doc, "JSON feed without a jsonfeed.org version");
	} else {
		snprintf(err, errlen, "not a feed: JSON without a jsonfeed.org version or items");
		goto out;
	}
	doc->title = jtext(root, "title", TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE);
	doc->link = jlink(root, "home_page_url", c->base_url);
	doc->subtitle = jtext(root, "description", TG_TEXT_PLAIN, TG_ITEM_MAX_SUMMARY);
	home = jlink(root, "feed_url", c->base_url);
	base = home ? home : c->base_url;
	if (json_is_array(items)) {
		for (size_t i = 0; i < json_array_size(items) && tg_feed_room(c); i++)
			parse_item(c, json_array_get(items, i), base);
	} else
		tg_feed_bozo(doc, "JSON feed without an items array");
	r = 0;
out:
	free(home);
	json_decref(root);
	return r;
}

/*
 * JSON Feed 1.0 and 1.1 (https://jsonfeed.org) through jansson. Strings with NUL
 * are refused by the decoder, nesting is bounded by jansson's depth limit, and
 * every field goes through the same caps as XML feeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "feed_int.h"

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
	int r = -1;

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

/*
 * The normalised feed item: ownership helpers, the ITEM message on the daemon ->
 * worker hop (encoder and validating decoder) and the item's JSON form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/text.h"
#include "../common/util.h"
#include "item.h"

/* Caps on the frames after the header and delivery id, in frame order. */
static const struct {
	const char *name;
	size_t max;
} text_frames[] = {
	{"id", TG_ITEM_MAX_ID},
	{"feed", TG_ITEM_MAX_FEED},
	{"title", TG_ITEM_MAX_TITLE},
	{"summary", TG_ITEM_MAX_SUMMARY},
	{"categories", TG_ITEM_MAX_LIST * (TG_ITEM_MAX_NAME + 1)},
};

void
tg_item_init(struct tg_item *it)
{
	memset(it, 0, sizeof(*it));
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
tg_item_clear(struct tg_item *it)
{
	free(it->id);
	free(it->feed);
	free(it->title);
	free(it->link);
	free(it->summary);
	free(it->published);
	free(it->updated);
	free_list(it->authors, it->nauthors);
	free_list(it->categories, it->ncategories);
	tg_item_init(it);
}

static char **
copy_list(char *const *v, size_t n)
{
	char **c;

	if (n == 0)
		return NULL;
	c = tg_calloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = tg_strdup(v[i]);
	return c;
}

void
tg_item_copy(struct tg_item *dst, const struct tg_item *src)
{
	dst->id = tg_strdup(src->id);
	dst->feed = tg_strdup(src->feed);
	dst->title = tg_strdup(src->title);
	dst->link = tg_strdup(src->link);
	dst->summary = tg_strdup(src->summary);
	dst->published = tg_strdup(src->published);
	dst->updated = tg_strdup(src->updated);
	dst->authors = copy_list(src->authors, src->nauthors);
	dst->nauthors = src->authors ? src->nauthors : 0;
	dst->categories = copy_list(src->categories, src->ncategories);
	dst->ncategories = src->categories ? src->ncategories : 0;
	dst->fetched_ms = src->fetched_ms;
}

/* Append a copy of s; -1 when memory ran out (s is then not added). */
static int
list_add(char ***v, size_t *n, const char *s)
{
	char **nv, *copy;

	if (s == NULL || *n >= TG_ITEM_MAX_LIST)
		return 0;
	if ((copy = tg_try_strdup(s)) == NULL)
		return -1;
	if ((nv = tg_try_realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		free(copy);
		return -1;
	}
	*v = nv;
	(*v)[(*n)++] = copy;
	return 0;
}

void
tg_item_add_author(struct tg_item *it, const char *s)
{
	list_add(&it->authors, &it->nauthors, s);
}

void
tg_item_add_category(struct tg_item *it, const char *s)
{
	list_add(&it->categories, &it->ncategories, s);
}

/* A string to send, cut to max bytes; false when it is not valid UTF-8. */
static bool
text_part(struct tg_wire_part *p, const char *s, size_t max)
{
	size_t len = s ? strlen(s) : 0;

	len = tg_utf8_cut(s, len, max);
	p->data = s;
	p->len = len;
	return tg_wire_valid_text(s, len);
}

/* Length of the categories frame, or -1 when a category is not valid UTF-8. */
static long
categories_len(const struct tg_item *it, size_t *count)
{
	size_t total = 0, n = 0, len;
	const char *c;

	for (size_t i = 0; i < it->ncategories && n < TG_ITEM_MAX_LIST; i++) {
		c = it->categories[i];
		len = c ? tg_utf8_cut(c, strlen(c), TG_ITEM_MAX_NAME) : 0;
		if (len == 0)
			continue;
		if (!tg_wire_valid_text(c, len))
			return -1;
		total += len + (n > 0);
		n++;
	}
	*count = n;
	return (long)total;
}

static void
categories_fill(const struct tg_item *it, char *out)
{
	size_t n = 0, len;
	const char *c;

	for (size_t i = 0; i < it->ncategories && n < TG_ITEM_MAX_LIST; i++) {
		c = it->categories[i];
		len = c ? tg_utf8_cut(c, strlen(c), TG_ITEM_MAX_NAME) : 0;
		if (len == 0)
			continue;
		if (n++ > 0)
			*out++ = '\n';
		for (size_t j = 0; j < len; j++)
			*out++ = c[j] == '\n' ? ' ' : c[j];
	}
}

int
tg_item_send(void *sock, const void *route, size_t routelen, uint64_t delivery,
    const struct tg_item *it)
{
	struct tg_wire_part parts[7];
	unsigned char hdr[4], dv[8];
	zmq_msg_t cat;
	size_t n = 0, ncat;
	long catlen;
	int e;

	if (it->id == NULL || it->id[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (route != NULL && routelen > 0)
		parts[n++] = (struct tg_wire_part){route, routelen};
	tg_wire_header(hdr, TG_WIRE_ITEM);
	parts[n++] = (struct tg_wire_part){hdr, 4};
	tg_wire_put_u64(dv, delivery);
	parts[n++] = (struct tg_wire_part){dv, 8};
	if (!text_part(&parts[n++], it->id, TG_ITEM_MAX_ID) ||
	    !text_part(&parts[n++], it->feed, TG_ITEM_MAX_FEED) ||
	    !text_part(&parts[n++], it->title, TG_ITEM_MAX_TITLE) ||
	    !text_part(&parts[n++], it->summary, TG_ITEM_MAX_SUMMARY) ||
	    (catlen = categories_len(it, &ncat)) < 0) {
		errno = EINVAL;
		return -1;
	}
	/* The joined categories are written straight into the frame ZeroMQ sends. */
	if (zmq_msg_init_size(&cat, (size_t)catlen) < 0)
		return -1;
	categories_fill(it, zmq_msg_data(&cat));
	if (tg_wire_send_more(sock, parts, n, 1) < 0 ||
	    zmq_msg_send(&cat, sock, ZMQ_DONTWAIT) < 0) {
		e = errno;
		zmq_msg_close(&cat);
		errno = e;
		return -1;
	}
	return 0;
}

int
tg_item_decode_view(const struct tg_wire_msg *m, size_t first, uint64_t *delivery,
    struct tg_item_view *v, char *err, size_t errlen)
{
	const char **ptr[] = {&v->id, &v->feed, &v->title, &v->summary, &v->categories};
	size_t *len[] = {&v->id_len, &v->feed_len, &v->title_len, &v->summary_len,
	    &v->categories_len};
	const char *p, *nl;
	size_t n, off, count;

	memset(v, 0, sizeof(*v));
	if (tg_wire_expect(m, first, TG_WIRE_ITEM, TG_ITEM_FRAMES, err, errlen) < 0)
		return -1;
	if (tg_wire_size(m, first + 1) != 8) {
		snprintf(err, errlen, "item: delivery id is %zu bytes, want 8",
		    tg_wire_size(m, first + 1));
		return -1;
	}
	*delivery = tg_wire_get_u64(tg_wire_data(m, first + 1));
	for (size_t i = 0; i < 5; i++) {
		p = tg_wire_data(m, first + 2 + i);
		n = tg_wire_size(m, first + 2 + i);
		if (n > text_frames[i].max) {
			snprintf(err, errlen, "item: %s is %zu bytes, over %zu", text_frames[i].name,
			    n, text_frames[i].max);
			return -1;
		}
		if (!tg_wire_valid_text(p, n)) {
			snprintf(err, errlen, "item: %s is not valid UTF-8 text",
			    text_frames[i].name);
			return -1;
		}
		*ptr[i] = n ? p : NULL;
		*len[i] = n;
	}
	if (v->id_len == 0) {
		snprintf(err, errlen, "item: empty id");
		return -1;
	}
	/* Categories: 1..TG_ITEM_MAX_LIST non-empty lines of at most TG_ITEM_MAX_NAME. */
	for (off = 0, count = 0; v->categories_len > 0 && off <= v->categories_len; count++) {
		p = v->categories + off;
		nl = memchr(p, '\n', v->categories_len - off);
		n = nl ? (size_t)(nl - p) : v->categories_len - off;
		if (n == 0 || n > TG_ITEM_MAX_NAME || count == TG_ITEM_MAX_LIST) {
			snprintf(err, errlen, "item: category %zu is %s", count + 1,
			    count == TG_ITEM_MAX_LIST ? "one too many" :
			    n == 0 ? "empty" : "too long");
			return -1;
		}
		off += n + 1;
	}
	return 0;
}

int
tg_item_decode(const struct tg_wire_msg *m, size_t first, uint64_t *delivery,
    struct tg_item *out, char *err, size_t errlen)
{
	struct tg_item_view v;
	const char *p, *nl;
	size_t off, n;

	if (tg_item_decode_view(m, first, delivery, &v, err, errlen) < 0) {
		tg_item_clear(out);
		return -1;
	}
	if ((out->id = tg_try_strndup(v.id, v.id_len)) == NULL ||
	    (v.feed && (out->feed = tg_try_strndup(v.feed, v.feed_len)) == NULL) ||
	    (v.title && (out->title = tg_try_strndup(v.title, v.title_len)) == NULL) ||
	    (v.summary && (out->summary = tg_try_strndup(v.summary, v.summary_len)) == NULL))
		goto oom;
	for (off = 0; off < v.categories_len; off += n + 1) {
		char **nc;

		p = v.categories + off;
		nl = memchr(p, '\n', v.categories_len - off);
		n = nl ? (size_t)(nl - p) : v.categories_len - off;
		nc = tg_try_realloc(out->categories, (out->ncategories + 1) * sizeof(*nc));
		if (nc == NULL)
			goto oom;
		out->categories = nc;
		if ((nc[out->ncategories] = tg_try_strndup(p, n)) == NULL)
			goto oom;
		out->ncategories++;
	}
	return 0;
oom:
	snprintf(err, errlen, "item: out of memory");
	tg_item_clear(out);
	return -1;
}

static void
set_str(json_t *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_set_new(o, key, json_string(s));
}

static json_t *
list_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *
tg_item_to_json(const struct tg_item *it)
{
	json_t *o = json_object();

	set_str(o, "id", it->id);
	set_str(o, "feed", it->feed);
	set_str(o, "title", it->title);
	set_str(o, "link", it->link);
	set_str(o, "summary", it->summary);
	set_str(o, "published", it->published);
	set_str(o, "updated", it->updated);
	json_object_set_new(o, "authors", list_json(it->authors, it->nauthors));
	json_object_set_new(o, "categories", list_json(it->categories, it->ncategories));
	if (it->fetched_ms != 0)
		json_object_set_new(o, "fetched_ms", json_integer(it->fetched_ms));
	return o;
}

/* Copy the optional string obj[key] (at most max bytes) into *dst. */
static int
get_str(const json_t *obj, const char *key, size_t max, bool required, char **dst, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	if (v == NULL || json_is_null(v)) {
		if (required) {
			snprintf(err, errlen, "item: missing \"%s\"", key);
			return -1;
		}
		return 0;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "item: \"%s\" is not a string", key);
		return -1;
	}
	len = json_string_length(v);
	if (len > max || (required && len == 0) || memchr(json_string_value(v), 0, len)) {
		snprintf(err, errlen, "item: \"%s\" is %s", key,
		    len > max ? "too long" : len == 0 ? "empty" : "holding a NUL");
		return -1;
	}
	if ((*dst = tg_try_strndup(json_string_value(v), len)) == NULL) {
		snprintf(err, errlen, "item: out of memory");
		return -1;
	}
	return 0;
}

static int
get_list(const json_t *obj, const char *key, char ***v, size_t *n, char *err, size_t errlen)
{
	json_t *a = json_object_get(obj, key), *s;
	size_t i, len;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > TG_ITEM_MAX_LIST) {
		snprintf(err, errlen, "item: \"%s\" is %s", key,
		    json_is_array(a) ? "too long a list" : "not an array");
		return -1;
	}
	json_array_foreach(a, i, s) {
		len = json_is_string(s) ? json_string_length(s) : 0;
		if (!json_is_string(s) || len > TG_ITEM_MAX_NAME ||
		    memchr(json_string_value(s), 0, len)) {
			snprintf(err, errlen, "item: \"%s\"[%zu] is not a string of at most %d bytes",
			    key, i, TG_ITEM_MAX_NAME);
			return -1;
		}
		if (list_add(v, n, json_string_value(s)) < 0) {
			snprintf(err, errlen, "item: out of memory");
			return -1;
		}
	}
	return 0;
}

int
tg_item_from_json(const json_t *obj, struct tg_item *out, char *err, size_t errlen)
{
	json_t *f;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "item: not a JSON object");
		return -1;
	}
	if (get_str(obj, "id", TG_ITEM_MAX_ID, true, &out->id, err, errlen) < 0 ||
	    get_str(obj, "feed", TG_ITEM_MAX_FEED, false, &out->feed, err, errlen) < 0 ||
	    get_str(obj, "title", TG_ITEM_MAX_TITLE, false, &out->title, err, errlen) < 0 ||
	    get_str(obj, "link", TG_ITEM_MAX_LINK, false, &out->link, err, errlen) < 0 ||
	    get_str(obj, "summary", TG_ITEM_MAX_SUMMARY, false, &out->summary, err, errlen) < 0 ||
	    get_str(obj, "published", TG_ITEM_MAX_DATE, false, &out->published, err, errlen) < 0 ||
	    get_str(obj, "updated", TG_ITEM_MAX_DATE, false, &out->updated, err, errlen) < 0 ||
	    get_list(obj, "authors", &out->authors, &out->nauthors, err, errlen) < 0 ||
	    get_list(obj, "categories", &out->categories, &out->ncategories, err, errlen) < 0)
		goto fail;
	f = json_object_get(obj, "fetched_ms");
	if (f != NULL && !json_is_null(f)) {
		if (!json_is_integer(f) || json_integer_value(f) < 0) {
			snprintf(err, errlen, "item: \"fetched_ms\" is not a non-negative integer");
			goto fail;
		}
		out->fetched_ms = json_integer_value(f);
	}
	return 0;
fail:
	tg_item_clear(out);
	return -1;
}

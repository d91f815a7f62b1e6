/*
 * Feed parsing entry point: size checks, character encodings (everything becomes
 * valid UTF-8 before a parser sees it), format dispatch, the rules every item
 * passes through (id fallback, duplicates, caps) and the JSON form of a result.
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "../common/date.h"
#include "../common/util.h"
#include "feed_int.h"

void
tg_feed_limits_default(struct tg_feed_limits *lim)
{
	lim->max_items = 1000;
	lim->max_bytes = 16 * 1024 * 1024;
}

static xmlParserInputPtr
refuse_entity_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

void
tg_feed_global_init(void)
{
	/* libxml2 and jansson turn some failed allocations into document errors
	 * (an "invalid" namespace URI, a missing key); through these allocators
	 * every failure is counted and fails the parse instead. Same memory as
	 * malloc and free, so objects made before this call are still fine. */
	xmlMemSetup(free, tg_try_malloc, tg_try_realloc, tg_try_strdup);
	json_set_alloc_funcs(tg_try_malloc, free);
	xmlInitParser();
	xmlSetExternalEntityLoader(refuse_entity_loader);
}

const char *
tg_feed_format_name(enum tg_feed_format f)
{
	switch (f) {
	case TG_FEED_RSS090:
		return "rss090";
	case TG_FEED_RSS091:
		return "rss091";
	case TG_FEED_RSS092:
		return "rss092";
	case TG_FEED_RSS20:
		return "rss20";
	case TG_FEED_RSS10:
		return "rss10";
	case TG_FEED_ATOM03:
		return "atom03";
	case TG_FEED_ATOM10:
		return "atom10";
	case TG_FEED_JSON10:
		return "json10";
	case TG_FEED_JSON11:
		return "json11";
	case TG_FEED_UNKNOWN:
		break;
	}
	return "";
}

void
tg_feed_doc_clear(struct tg_feed_doc *doc)
{
	free(doc->title);
	free(doc->link);
	free(doc->subtitle);
	free(doc->updated);
	free(doc->bozo_reason);
	for (size_t i = 0; i < doc->nitems; i++)
		tg_item_clear(&doc->items[i]);
	free(doc->items);
	memset(doc, 0, sizeof(*doc));
}

void
tg_feed_bozo(struct tg_feed_doc *doc, const char *reason)
{
	struct tg_buf b;

	if (doc->bozo)
		return;
	doc->bozo = true;
	/* A reason may quote the input (an encoding name): keep it valid UTF-8. */
	tg_buf_init(&b, 512);
	tg_utf8_sanitize(&b, reason, strlen(reason));
	doc->bozo_reason = b.data; /* NULL only when memory ran out (counted) */
}

bool
tg_feed_room(const struct tg_feed_ctx *c)
{
	return c->doc->nitems < c->lim->max_items;
}

char *
tg_feed_text(const char *s, size_t n, enum tg_text_mode mode, size_t max)
{
	size_t len;
	char *t = tg_text_plain(s, n, mode, max, &len);

	if (len == 0) {
		free(t);
		return NULL;
	}
	return t;
}

char *
tg_feed_date(const char *s, size_t n)
{
	char buf[21];

	if (tg_date_to_rfc3339(s, n, buf) < 0)
		return NULL;
	return tg_try_strdup(buf);
}

/* Look id up in the table of kept ids; returns 1 when present. Otherwise
 * records it as item index idx and returns 0; -1 when memory ran out. */
static int
id_seen_or_add(struct tg_feed_ctx *c, const char *id, size_t idx)
{
	uint64_t h = tg_hash64(TG_HASH_INIT, id, strlen(id));
	size_t mask, slot;

	if ((idx + 1) * 2 > c->idx_cap) {
		size_t ncap = c->idx_cap ? c->idx_cap * 2 : 64;
		uint32_t *nidx = tg_try_calloc(ncap, sizeof(*nidx));

		if (nidx == NULL)
			return -1;
		/* Rehash what is there. */
		for (size_t i = 0; i < c->idx_cap; i++) {
			uint32_t v = c->idx[i];

			if (v == 0)
				continue;
			slot = c->hashes[v - 1] & (ncap - 1);
			while (nidx[slot])
				slot = (slot + 1) & (ncap - 1);
			nidx[slot] = v;
		}
		free(c->idx);
		c->idx = nidx;
		c->idx_cap = ncap;
	}
	mask = c->idx_cap - 1;
	for (slot = h & mask; c->idx[slot]; slot = (slot + 1) & mask) {
		uint32_t v = c->idx[slot];

		if (c->hashes[v - 1] == h && strcmp(c->doc->items[v - 1].id, id) == 0)
			return 1;
	}
	c->hashes[idx] = h;
	c->idx[slot] = (uint32_t)idx + 1;
	return 0;
}

/* The fallback id: a hash of the title and the date (or the summary when both
 * are missing). */
static char *
hash_id(const struct tg_item *it)
{
	uint64_t h = TG_HASH_INIT;
	const char *date = it->published ? it->published : it->updated;
	char out[24];

	if (it->title)
		h = tg_hash64(h, it->title, strlen(it->title));
	h = tg_hash64(h, "\n", 1);
	if (date)
		h = tg_hash64(h, date, strlen(date));
	if (it->title == NULL && date == NULL) {
		/* Nothing to tell items apart by but their other fields. */
		if (it->summary)
			h = tg_hash64(h, it->summary, strlen(it->summary));
		for (size_t i = 0; i < it->nauthors; i++)
			h = tg_hash64(h, it->authors[i], strlen(it->authors[i]) + 1);
		for (size_t i = 0; i < it->ncategories; i++)
			h = tg_hash64(h, it->categories[i], strlen(it->categories[i]) + 1);
	}
	snprintf(out, sizeof(out), "sha:%016llx", (unsigned long long)h);
	return tg_try_strdup(out);
}

void
tg_feed_commit(struct tg_feed_ctx *c, struct tg_item *it)
{
	struct tg_feed_doc *doc = c->doc;
	size_t n = doc->nitems;

	if (!tg_feed_room(c) || (it->id == NULL && it->link == NULL && it->title == NULL &&
	    it->summary == NULL && it->published == NULL && it->updated == NULL &&
	    it->nauthors == 0 && it->ncategories == 0)) {
		tg_item_clear(it);
		return;
	}
	if (n == c->items_cap) {
		size_t ncap = c->items_cap ? c->items_cap * 2 : 16;
		struct tg_item *items;
		uint64_t *hashes;
		bool *from_link;

		if (ncap > c->lim->max_items)
			ncap = c->lim->max_items;
		/* Out of memory: the item is dropped and the parse fails (counted). */
		if ((items = tg_try_realloc(doc->items, ncap * sizeof(*doc->items))) == NULL)
			goto drop;
		doc->items = items;
		if ((hashes = tg_try_realloc(c->hashes, ncap * sizeof(*c->hashes))) == NULL)
			goto drop;
		c->hashes = hashes;
		if ((from_link = tg_try_realloc(c->from_link, ncap * sizeof(*c->from_link))) == NULL)
			goto drop;
		c->from_link = from_link;
		c->items_cap = ncap;
	}
	free(it->feed);
	if ((it->feed = tg_try_strdup(c->feed_id)) == NULL && c->feed_id != NULL)
		goto drop;
	c->from_link[n] = false;
	if (it->id == NULL && it->link) {
		/* Whether a link can serve as id is known once the feed is read. */
		if ((it->id = tg_try_strdup(it->link)) == NULL)
			goto drop;
		c->from_link[n] = true;
	} else {
		int seen;

		if (it->id == NULL && (it->id = hash_id(it)) == NULL)
			goto drop;
		if ((seen = id_seen_or_add(c, it->id, n)) != 0) {
			if (seen > 0)
				c->dropped_dups++;
			goto drop;
		}
	}
	doc->items[n] = *it;
	doc->nitems = n + 1;
	memset(it, 0, sizeof(*it));
	return;
drop:
	tg_item_clear(it);
}

/* Find id among the items indexed by the table tab (cap slots, values index + 1);
 * when absent, record it as item idx. Returns the index found, or -1. */
static long
id_find_or_add(const struct tg_item *items, uint32_t *tab, size_t cap, const char *id,
    size_t idx)
{
	size_t slot = tg_hash64(TG_HASH_INIT, id, strlen(id)) & (cap - 1);

	for (; tab[slot]; slot = (slot + 1) & (cap - 1))
		if (strcmp(items[tab[slot] - 1].id, id) == 0)
			return (long)tab[slot] - 1;
	tab[slot] = (uint32_t)idx + 1;
	return -1;
}

void
tg_feed_settle_ids(struct tg_feed_ctx *c)
{
	struct tg_feed_doc *doc = c->doc;
	size_t n = doc->nitems, cap = 16, kept = 0;
	bool *shared, any = false;
	uint32_t *tab;
	long j;

	if (n == 0 || c->from_link == NULL)
		return;
	for (size_t i = 0; i < n && !any; i++)
		any = c->from_link[i];
	if (!any)
		return; /* explicit and hash ids were checked as they came */
	while (cap < n * 2)
		cap *= 2;
	tab = tg_try_calloc(cap, sizeof(*tab));
	shared = tg_try_calloc(n, sizeof(*shared));
	if (tab == NULL || shared == NULL) {
		/* Counted: the parse fails with "out of memory". */
		free(tab);
		free(shared);
		return;
	}
	/* A link several items share (a feed linking every item to its home page)
	 * tells them apart by nothing: those items get the hash id. */
	for (size_t i = 0; i < n; i++) {
		if (!c->from_link[i])
			continue;
		if ((j = id_find_or_add(doc->items, tab, cap, doc->items[i].id, i)) >= 0)
			shared[i] = shared[j] = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (shared[i]) {
			char *h = hash_id(&doc->items[i]);

			if (h == NULL)
				goto out; /* counted: the parse fails */
			free(doc->items[i].id);
			doc->items[i].id = h;
		}
	}
	/* Then one item per id: the first. */
	memset(tab, 0, cap * sizeof(*tab));
	for (size_t i = 0; i < n; i++) {
		doc->items[kept] = doc->items[i];
		if (id_find_or_add(doc->items, tab, cap, doc->items[kept].id, kept) >= 0) {
			tg_item_clear(&doc->items[kept]);
			c->dropped_dups++;
			continue;
		}
		kept++;
	}
	doc->nitems = kept;
out:
	free(shared);
	free(tab);
}

/* --- links -------------------------------------------------------------- */

struct uri {
	const char *scheme, *auth, *path, *query, *frag;
	size_t scheme_len, auth_len, path_len, query_len, frag_len;
	bool has_scheme, has_auth, has_query, has_frag;
};

static bool
scheme_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* Split an RFC 3986 reference into its five parts. */
static void
uri_split(const char *s, size_t n, struct uri *u)
{
	size_t i = 0, st;

	memset(u, 0, sizeof(*u));
	while (i < n && scheme_char(s[i], i == 0))
		i++;
	if (i > 0 && i < n && s[i] == ':') {
		u->has_scheme = true;
		u->scheme = s;
		u->scheme_len = i;
		i++;
	} else
		i = 0;
	if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		i += 2;
		st = i;
		while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#')
			i++;
		u->has_auth = true;
		u->auth = s + st;
		u->auth_len = i - st;
	}
	st = i;
	while (i < n && s[i] != '?' && s[i] != '#')
		i++;
	u->path = s + st;
	u->path_len = i - st;
	if (i < n && s[i] == '?') {
		st = ++i;
		while (i < n && s[i] != '#')
			i++;
		u->has_query = true;
		u->query = s + st;
		u->query_len = i - st;
	}
	if (i < n && s[i] == '#') {
		i++;
		u->has_frag = true;
		u->frag = s + i;
		u->frag_len = n - i;
	}
}

static bool
seg_is(const char *p, size_t n, const char *lit)
{
	size_t m = strlen(lit);

	return n >= m && memcmp(p, lit, m) == 0;
}

/* RFC 3986 5.2.4: remove "." and ".." segments from the n bytes of in, appending
 * the result to out (which must have room for n bytes). */
static size_t
remove_dots(const char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;

	while (i < n) {
		const char *p = in + i;
		size_t left = n - i;

		if (seg_is(p, left, "../")) {
			i += 3;
		} else if (seg_is(p, left, "./")) {
			i += 2;
		} else if (seg_is(p, left, "/./")) {
			i += 2;
		} else if (left == 2 && memcmp(p, "/.", 2) == 0) {
			i += 1;
			out[o++] = '/';
			i += 1;
		} else if (seg_is(p, left, "/../") || (left == 3 && memcmp(p, "/..", 3) == 0)) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			if (left == 3) {
				out[o++] = '/';
				i += 3;
			} else
				i += 3;
		} else if ((left == 1 && p[0] == '.') || (left == 2 && memcmp(p, "..", 2) == 0)) {
			i += left;
		} else {
			size_t k = p[0] == '/' ? 1 : 0;

			while (k < left && p[k] != '/')
				k++;
			memcpy(out + o, p, k);
			o += k;
			i += k;
		}
	}
	return o;
}

static int
append_path(struct tg_buf *b, const char *p, size_t n)
{
	char *tmp = tg_try_malloc(n + 1);
	size_t m;
	int r;

	if (tmp == NULL)
		return -1;
	m = remove_dots(p, n, tmp);
	r = tg_buf_append(b, tmp, m);

	free(tmp);
	return r;
}

/* Compose the target of ref resolved against base (RFC 3986 5.2.2) into b. */
static int
uri_resolve(const struct uri *base, const struct uri *ref, struct tg_buf *b)
{
	const struct uri *a = ref; /* where the authority comes from */
	int r = 0;

	if (ref->has_scheme) {
		r |= tg_buf_append(b, ref->scheme, ref->scheme_len);
	} else {
		r |= tg_buf_append(b, base->scheme, base->scheme_len);
		if (!ref->has_auth)
			a = base;
	}
	r |= tg_buf_append(b, ":", 1);
	if (a->has_auth) {
		r |= tg_buf_append(b, "//", 2);
		r |= tg_buf_append(b, a->auth, a->auth_len);
	}
	if (ref->has_scheme || ref->has_auth) {
		r |= append_path(b, ref->path, ref->path_len);
	} else if (ref->path_len == 0) {
		r |= tg_buf_append(b, base->path, base->path_len);
		if (!ref->has_query && base->has_query) {
			r |= tg_buf_append(b, "?", 1);
			r |= tg_buf_append(b, base->query, base->query_len);
		}
	} else if (ref->path[0] == '/') {
		r |= append_path(b, ref->path, ref->path_len);
	} else {
		/* Merge: the base path up to its last '/', then the reference. */
		struct tg_buf m;
		const char *slash = NULL;

		tg_buf_init(&m, 0);
		for (size_t i = 0; i < base->path_len; i++)
			if (base->path[i] == '/')
				slash = base->path + i;
		if (base->has_auth && base->path_len == 0)
			r |= tg_buf_append(&m, "/", 1);
		else if (slash)
			r |= tg_buf_append(&m, base->path, (size_t)(slash - base->path) + 1);
		r |= tg_buf_append(&m, ref->path, ref->path_len);
		if (r == 0)
			r |= append_path(b, m.data, m.len);
		tg_buf_free(&m);
	}
	if (ref->has_query) {
		r |= tg_buf_append(b, "?", 1);
		r |= tg_buf_append(b, ref->query, ref->query_len);
	}
	if (ref->has_frag) {
		r |= tg_buf_append(b, "#", 1);
		r |= tg_buf_append(b, ref->frag, ref->frag_len);
	}
	return r ? -1 : 0;
}

static bool
is_script_scheme(const struct uri *u)
{
	static const char *const bad[] = { "javascript", "vbscript", "data" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (u->scheme_len == strlen(bad[i]) && strncasecmp(u->scheme, bad[i], u->scheme_len) == 0)
			return true;
	return false;
}

char *
tg_feed_link(const char *base, const char *ref, size_t n)
{
	struct tg_buf clean, out;
	struct uri b, r;
	char *res = NULL;

	tg_buf_init(&clean, TG_ITEM_MAX_LINK);
	tg_buf_init(&out, TG_ITEM_MAX_LINK);
	while (n > 0 && (unsigned char)ref[0] <= ' ')
		ref++, n--;
	while (n > 0 && (unsigned char)ref[n - 1] <= ' ')
		n--;
	if (n == 0)
		goto out;
	/* Line breaks inside a link are layout; spaces must be escaped, and so must
	 * bytes that are not UTF-8 (libxml2 keeps only the first byte of an entity
	 * like &nbsp; in an attribute value). */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)ref[i];
		uint32_t cp;
		size_t k;
		char pct[4];
		int e = 0;

		if (ch == ' ') {
			e = tg_buf_append(&clean, "%20", 3);
		} else if (ch >= 0x80 && (k = tg_utf8_decode(ref + i, n - i, &cp)) > 0) {
			e = tg_buf_append(&clean, ref + i, k);
			i += k - 1;
		} else if (ch >= 0x80) {
			snprintf(pct, sizeof(pct), "%%%02X", ch);
			e = tg_buf_append(&clean, pct, 3);
		} else if (ch >= ' ' && ch != 0x7F) {
			e = tg_buf_append(&clean, ref + i, 1);
		}
		if (e < 0)
			goto out;
	}
	if (clean.len == 0)
		goto out;
	uri_split(clean.data, clean.len, &r);
	if (r.has_scheme) {
		if (is_script_scheme(&r))
			goto out;
		if (uri_resolve(&r, &r, &out) < 0)
			goto out;
	} else {
		if (base)
			uri_split(base, strlen(base), &b);
		if (base == NULL || !b.has_scheme) {
			res = tg_buf_take(&clean);
			goto out;
		}
		if (uri_resolve(&b, &r, &out) < 0)
			goto out;
	}
	res = tg_buf_take(&out);
out:
	tg_buf_free(&clean);
	tg_buf_free(&out);
	return res;
}

/* --- encodings ---------------------------------------------------------- */

/* Copy the value of parameter `charset` from a Content-Type into out. */
static bool
http_charset(const char *ct, char *out, size_t outlen)
{
	const char *p = ct;

	if (ct == NULL)
		return false;
	while ((p = strchr(p, ';')) != NULL) {
		size_t k = 0;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "charset", 7) != 0)
			continue;
		p += 7;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
			p++;
		while (p[k] && p[k] != ';' && p[k] != '"' && p[k] != '\'' && p[k] != ' ' &&
		    k + 1 < outlen) {
			out[k] = p[k];
			k++;
		}
		out[k] = '\0';
		return k > 0;
	}
	return false;
}

/* The encoding named in an XML declaration at the start of s (ASCII-compatible). */
static bool
xml_decl_encoding(const char *s, size_t n, char *out, size_t outlen)
{
	const char *end, *p;
	size_t k = 0, lim;
	char q;

	if (n < 6 || memcmp(s, "<?xml", 5) != 0)
		return false;
	lim = n < 512 ? n : 512;
	end = memmem(s, lim, "?>", 2);
	if (end == NULL)
		return false;
	p = memmem(s, (size_t)(end - s), "encoding", 8);
	if (p == NULL)
		return false;
	p += 8;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p >= end || *p != '=')
		return false;
	p++;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p >= end || (*p != '"' && *p != '\''))
		return false;
	q = *p++;
	while (p + k < end && p[k] != q && k + 1 < outlen) {
		out[k] = p[k];
		k++;
	}
	out[k] = '\0';
	return k > 0;
}

/* Latin-1 labels mean windows-1252 on the web (its 0x80-0x9F are printable). */
static const char *
web_encoding(const char *e)
{
	static const char *const latin1[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819",
		"ibm819", "iso-ir-100",
	};

	for (size_t i = 0; i < sizeof(latin1) / sizeof(latin1[0]); i++)
		if (strcasecmp(e, latin1[i]) == 0)
			return "WINDOWS-1252";
	return e;
}

static bool
is_utf8_name(const char *e)
{
	return strcasecmp(e, "utf-8") == 0 || strcasecmp(e, "utf8") == 0 ||
	    strcasecmp(e, "us-ascii") == 0 || strcasecmp(e, "ascii") == 0;
}

/* Bytes that are not valid UTF-8, or characters XML forbids (C0 controls other
 * than tab, LF and CR, U+FFFE, U+FFFF): true when s needs repair. */
static bool
needs_repair(const char *s, size_t n)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		uint64_t w;

		/* Eight bytes at a time while they are all in 0x20-0x7F. */
		if (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if (((w | (w - 0x2020202020202020ULL)) & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if (c >= 0x20 && c < 0x80) {
			i++;
			continue;
		}
		if (c < 0x20) {
			if (c != '\t' && c != '\n' && c != '\r')
				return true;
			i++;
			continue;
		}
		k = tg_utf8_decode(s + i, n - i, &cp);
		if (k == 0 || cp == 0xFFFE || cp == 0xFFFF)
			return true;
		i += k;
	}
	return false;
}

/* True when s has bytes that are not UTF-8 but no multi-byte UTF-8 character at
 * all: the mark of a legacy 8-bit encoding. */
static bool
looks_8bit(const char *s, size_t n)
{
	size_t i = 0, k, bad = 0;
	uint32_t cp;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		k = tg_utf8_decode(s + i, n - i, &cp);
		if (k)
			return false;
		bad++;
		i++;
	}
	return bad > 0;
}

/* Copy s into out replacing bad bytes by U+FFFD and forbidden controls by spaces. */
static void
repair(const char *s, size_t n, struct tg_buf *out)
{
	static const char rep[3] = { (char)0xEF, (char)0xBF, (char)0xBD };
	size_t i = 0, run = 0, k;
	uint32_t cp;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 0x20 && c < 0x80) || c == '\t' || c == '\n' || c == '\r') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = tg_utf8_decode(s + i, n - i, &cp);
			if (k && cp != 0xFFFE && cp != 0xFFFF) {
				i += k;
				continue;
			}
		}
		tg_buf_append(out, s + run, i - run);
		if (c < 0x20)
			tg_buf_append(out, " ", 1);
		else
			tg_buf_append(out, rep, sizeof(rep));
		run = ++i;
	}
	tg_buf_append(out, s + run, n - run);
}

/* Convert n bytes from encoding `from` to UTF-8 with iconv; undecodable input
 * becomes U+FFFD (and *lossy is set). Returns -1 when iconv does not know the
 * encoding. */
static int
convert(const char *from, const char *s, size_t n, struct tg_buf *out, bool *lossy, bool *oom)
{
	iconv_t cd = iconv_open("UTF-8", from);
	char chunk[8192];
	char *in = (char *)s;
	size_t inleft = n;
	size_t unit = 1;

	if (cd == (iconv_t)-1) {
		if (errno == ENOMEM)
			*oom = true;
		return -1;
	}
	if (strncasecmp(from, "utf-16", 6) == 0 || strncasecmp(from, "ucs-2", 5) == 0)
		unit = 2;
	else if (strncasecmp(from, "utf-32", 6) == 0 || strncasecmp(from, "ucs-4", 5) == 0)
		unit = 4;
	while (inleft > 0) {
		char *o = chunk;
		size_t oleft = sizeof(chunk);
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		int e = errno;

		if (tg_buf_append(out, chunk, sizeof(chunk) - oleft) < 0)
			break;
		if (r != (size_t)-1)
			continue;
		if (e == E2BIG)
			continue;
		/* EILSEQ or a truncated sequence at the end: replace one unit. */
		*lossy = true;
		if (tg_buf_append(out, "\xEF\xBF\xBD", 3) < 0)
			break;
		if (inleft < unit)
			break;
		in += unit;
		inleft -= unit;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	iconv_close(cd);
	return 0;
}

/* Pick the encoding (BOM, then byte patterns of UTF-16/32, then the HTTP charset,
 * then the XML declaration, then UTF-8) and make *text point to valid UTF-8:
 * either into data or into conv. */
static void
to_utf8(struct tg_feed_ctx *c, const char *data, size_t len, const char *content_type,
    struct tg_buf *conv, const char **text, size_t *textlen)
{
	const unsigned char *u = (const unsigned char *)data;
	char enc[64], msg[160];
	const char *from = NULL;
	size_t skip = 0;
	bool lossy = false, bad;

	if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		from = "UTF-8";
		skip = 3;
	} else if (len >= 4 && u[0] == 0xFF && u[1] == 0xFE && u[2] == 0 && u[3] == 0) {
		from = "UTF-32LE";
		skip = 4;
	} else if (len >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0xFE && u[3] == 0xFF) {
		from = "UTF-32BE";
		skip = 4;
	} else if (len >= 2 && u[0] == 0xFF && u[1] == 0xFE) {
		from = "UTF-16LE";
		skip = 2;
	} else if (len >= 2 && u[0] == 0xFE && u[1] == 0xFF) {
		from = "UTF-16BE";
		skip = 2;
	} else if (len >= 4 && u[0] == '<' && u[1] == 0 && u[2] == 0 && u[3] == 0) {
		from = "UTF-32LE";
	} else if (len >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0 && u[3] == '<') {
		from = "UTF-32BE";
	} else if (len >= 4 && u[0] == '<' && u[1] == 0 && u[2] != 0 && u[3] == 0) {
		from = "UTF-16LE";
	} else if (len >= 4 && u[0] == 0 && u[1] == '<' && u[2] == 0 && u[3] != 0) {
		from = "UTF-16BE";
	} else if (http_charset(content_type, enc, sizeof(enc))) {
		from = enc;
	} else if (xml_decl_encoding(data, len, enc, sizeof(enc))) {
		from = enc;
	}
	data += skip;
	len -= skip;
	if (from != NULL)
		from = web_encoding(from);
	if (from != NULL && !is_utf8_name(from) &&
	    convert(from, data, len, conv, &lossy, &c->oom) == 0) {
		if (lossy) {
			snprintf(msg, sizeof(msg), "bytes not valid in %s were replaced", from);
			tg_feed_bozo(c->doc, msg);
		}
		data = conv->data ? conv->data : "";
		len = conv->len;
	} else if (from != NULL && !is_utf8_name(from)) {
		snprintf(msg, sizeof(msg), "unknown encoding \"%s\", read as UTF-8", from);
		tg_feed_bozo(c->doc, msg);
	}
	bad = needs_repair(data, len);
	if (bad && (from == NULL || is_utf8_name(from)) && looks_8bit(data, len)) {
		/* Not UTF-8 at all: read it the way browsers read unlabelled bytes. */
		if (from != NULL)
			tg_feed_bozo(c->doc, "declared UTF-8 but is not; read as windows-1252");
		if (convert("WINDOWS-1252", data, len, conv, &lossy, &c->oom) == 0) {
			data = conv->data ? conv->data : "";
			len = conv->len;
			bad = needs_repair(data, len);
		}
	}
	if (bad) {
		struct tg_buf fixed;

		tg_buf_init(&fixed, 0);
		repair(data, len, &fixed);
		tg_feed_bozo(c->doc, "invalid UTF-8 or control characters were replaced");
		tg_buf_free(conv);
		*conv = fixed;
		data = conv->data ? conv->data : "";
		len = conv->len;
	}
	*text = data;
	*textlen = len;
}

int
tg_feed_parse(const char *data, size_t len, const char *base_url, const char *content_type,
    const char *feed_id, const struct tg_feed_limits *lim, struct tg_feed_doc *doc, char *err,
    size_t errlen)
{
	struct tg_feed_limits deflim;
	struct tg_feed_ctx c;
	struct tg_buf conv;
	const char *text;
	size_t textlen, i = 0;
	unsigned long failures = tg_alloc_failures();
	int r = -1;

	memset(doc, 0, sizeof(*doc));
	if (lim == NULL) {
		tg_feed_limits_default(&deflim);
		lim = &deflim;
	}
	if (len > lim->max_bytes) {
		snprintf(err, errlen, "feed is %zu bytes, more than the limit of %zu", len,
		    lim->max_bytes);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.doc = doc;
	c.lim = lim;
	c.feed_id = feed_id;
	c.base_url = base_url;
	tg_buf_init(&conv, 0);
	if (content_type && (strncasecmp(content_type, "text/plain", 10) == 0 ||
	    strncasecmp(content_type, "text/html", 9) == 0))
		tg_feed_bozo(doc, "served as a media type that is not a feed");
	to_utf8(&c, data, len, content_type, &conv, &text, &textlen);
	while (i < textlen && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' ||
	    text[i] == '\n'))
		i++;
	if (i == textlen) {
		snprintf(err, errlen, "empty document");
		goto out;
	}
	if (text[i] == '{')
		r = tg_feed_json_parse(&c, text + i, textlen - i, err, errlen);
	else
		r = tg_feed_xml_parse(&c, text, textlen, err, errlen);
	if (r == 0)
		tg_feed_settle_ids(&c);
out:
	/* Any allocation that failed on the way makes the whole parse fail: a
	 * document with a field silently missing would be wrong, not degraded. */
	if (c.oom || tg_alloc_failures() != failures) {
		snprintf(err, errlen, "out of memory while parsing the feed");
		r = -1;
	}
	tg_buf_free(&conv);
	free(c.idx);
	free(c.hashes);
	free(c.from_link);
	if (r < 0)
		tg_feed_doc_clear(doc);
	return r;
}

/* --- JSON --------------------------------------------------------------- */

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

json_t *
tg_feed_doc_to_json(const struct tg_feed_doc *doc)
{
	json_t *root = json_object(), *feed = json_object(), *entries = json_array();

	json_object_set_new(root, "version", json_string(tg_feed_format_name(doc->format)));
	json_object_set_new(root, "bozo", json_boolean(doc->bozo));
	json_object_set_new(root, "bozo_reason",
	    doc->bozo_reason ? json_string(doc->bozo_reason) : json_null());
	set_str(feed, "title", doc->title);
	set_str(feed, "link", doc->link);
	set_str(feed, "subtitle", doc->subtitle);
	set_str(feed, "updated", doc->updated);
	json_object_set_new(root, "feed", feed);
	for (size_t i = 0; i < doc->nitems; i++) {
		const struct tg_item *it = &doc->items[i];
		json_t *e = json_object();

		set_str(e, "id", it->id);
		set_str(e, "title", it->title);
		set_str(e, "link", it->link);
		set_str(e, "summary", it->summary);
		set_str(e, "published", it->published);
		set_str(e, "updated", it->updated);
		if (it->nauthors) {
			json_t *a = json_array();

			for (size_t k = 0; k < it->nauthors; k++)
				json_array_append_new(a, json_string(it->authors[k]));
			json_object_set_new(e, "authors", a);
		}
		if (it->ncategories) {
			json_t *t = json_array();

			for (size_t k = 0; k < it->ncategories; k++)
				json_array_append_new(t, json_string(it->categories[k]));
			json_object_set_new(e, "tags", t);
		}
		json_array_append_new(entries, e);
	}
	json_object_set_new(root, "entries", entries);
	return root;
}

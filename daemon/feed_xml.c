/*
 * RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through libxml2's SAX2 interface: no tree is
 * built; the text of the elements we want is collected into one capped buffer
 * and converted when the element ends. Undeclared entities resolve to HTML
 * characters (or stay literal) instead of being lost, and the parser keeps
 * going after errors, which make the result bozo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "../common/util.h"
#include "feed_int.h"

#define MAX_BASES 32
#define MAX_ENTITIES 64
#define MAX_ENTITY_TEXT 4096
#define MAX_DEPTH 320 /* libxml2 stops at 256 levels without XML_PARSE_HUGE */

#define NS_XML "http://www.w3.org/XML/1998/namespace"
#define CDATA_PI "tigris-cdata"

enum ns {
	NS_NONE,
	NS_RSS, /* RSS 0.90, 1.0 and the namespaced RSS 2.0 variants */
	NS_RDF,
	NS_ATOM,
	NS_DC,
	NS_DCTERMS,
	NS_CONTENT,
	NS_ITUNES,
	NS_MEDIA,
	NS_XHTML,
	NS_OTHER,
};

enum field {
	F_NONE,
	F_TITLE,
	F_SUBTITLE,
	F_LINK,
	F_SUMMARY,
	F_CONTENT,
	F_ID,
	F_PUBLISHED,
	F_UPDATED,
	F_DCDATE,
	F_AUTHOR,
	F_CATEGORY,
	F_PNAME,
	F_PEMAIL,
	F_MTITLE, /* media:title, used when the item has no title */
};

struct nsmap {
	const char *uri;
	enum ns ns;
};

static const struct nsmap namespaces[] = {
	{ "http://purl.org/rss/1.0/", NS_RSS },
	{ "http://my.netscape.com/rdf/simple/0.9/", NS_RSS },
	{ "http://backend.userland.com/rss2", NS_RSS },
	{ "http://blogs.law.harvard.edu/tech/rss", NS_RSS },
	{ "http://backend.userland.com/rss", NS_RSS },
	{ "http://purl.org/net/rss1.1#", NS_RSS },
	{ "http://www.w3.org/1999/02/22-rdf-syntax-ns#", NS_RDF },
	{ "http://www.w3.org/2005/Atom", NS_ATOM },
	{ "http://purl.org/atom/ns#", NS_ATOM },
	{ "http://purl.org/dc/elements/1.1/", NS_DC },
	{ "http://purl.org/dc/elements/1.0/", NS_DC },
	{ "http://purl.org/dc/terms/", NS_DCTERMS },
	{ "http://purl.org/rss/1.0/modules/content/", NS_CONTENT },
	{ "http://www.itunes.com/dtds/podcast-1.0.dtd", NS_ITUNES },
	{ "http://www.itunes.com/DTDs/Podcast-1.0.dtd", NS_ITUNES },
	{ "http://search.yahoo.com/mrss/", NS_MEDIA },
	{ "http://search.yahoo.com/mrss", NS_MEDIA },
	{ "http://www.w3.org/1999/xhtml", NS_XHTML },
};

/* Prefixes feeds use without declaring them. */
static const struct nsmap prefixes[] = {
	{ "dc", NS_DC }, { "dcterms", NS_DCTERMS }, { "content", NS_CONTENT },
	{ "atom", NS_ATOM }, { "rdf", NS_RDF }, { "itunes", NS_ITUNES }, { "media", NS_MEDIA },
};

/* A CDATA section of the input, handed to the SAX handler by index. */
struct span {
	size_t off;
	size_t len;
};

struct base {
	int depth;
	char *url;
};

struct capture {
	int depth;          /* element being collected; 0 when none */
	enum field field;
	enum tg_text_mode mode;
	bool item;          /* for the current item, else for the feed */
	bool base64;
	int skip;           /* depth of a script or style inside it; 0 when none */
	char *href;         /* an href attribute on a <link> collected as text */
};

struct xs {
	struct tg_feed_ctx *c;
	xmlParserCtxtPtr ctxt;
	int depth;
	const xmlChar *names[MAX_DEPTH + 1]; /* open elements as written, 1..depth */
	char mismatch[64];  /* the end tag libxml2 reported as mismatched */
	bool root_seen;
	bool not_feed;
	bool atom;          /* the document is Atom: unqualified names are Atom's */
	bool atom03;
	char root[64];
	char root_ns[256];  /* namespace of the root element ("" when none) */
	const xmlChar *last_uri; /* the namespace classified last, and its class */
	enum ns last_ns;
	int skip_depth;     /* a subtree we ignore; 0 when none */
	int item_depth;     /* the current item or entry; 0 when none */
	bool item_keep;     /* false when the item cap was reached */
	struct tg_item item;
	int link_prio;      /* of the link the item (or feed, outside items) has */
	int feed_link_prio;
	bool guid_link;     /* the guid is a permalink */
	char *about;        /* rdf:about of an RSS 1.0 item, the id fallback */
	char *content;      /* content:encoded / atom content, the summary fallback */
	char *mtitle;       /* media:title, the title fallback */
	char *dcdate;       /* dc:date of the item */
	char *feed_pub;     /* channel pubDate, the feed's updated fallback */
	char *feed_dcdate;
	int person_depth;   /* an atom author being read; 0 when none */
	char *pname, *pemail;
	struct capture cap;
	struct tg_buf text;
	bool text_full;
	struct base bases[MAX_BASES];
	int nbases;
	const char *cdata_src;      /* the CDATA sections cut out of the document */
	const struct span *cdata;
	size_t ncdata;
	xmlEntityPtr ents[MAX_ENTITIES];
	int nents;
	size_t nerrors;
};

static const char *
current_base(const struct xs *st)
{
	return st->nbases ? st->bases[st->nbases - 1].url : st->c->base_url;
}

/* Keep libxml2 handling entity references after a recovered error: it skips them
 * while wellFormed is 0, and we record errors ourselves. */
static void
revive(struct xs *st)
{
	st->ctxt->wellFormed = 1;
}

static enum ns
classify(const xmlChar *uri, const xmlChar *prefix)
{
	if (uri == NULL) {
		if (prefix == NULL)
			return NS_NONE;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (strcmp((const char *)prefix, prefixes[i].uri) == 0)
				return prefixes[i].ns;
		return NS_OTHER;
	}
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		if (strcmp((const char *)uri, namespaces[i].uri) == 0)
			return namespaces[i].ns;
	return NS_OTHER;
}

/* Value of attribute `name` (in namespace uri, NULL: none) as pointer and length.
 * Without entity replacement libxml2 writes a literal '&' as "&#38;": use
 * attr_dup for values that may hold one. */
static const char *
attr(const xmlChar **attrs, int nattr, const char *name, const char *uri, size_t *len)
{
	for (int i = 0; i < nattr; i++) {
		const xmlChar **a = attrs + 5 * i;

		if (strcmp((const char *)a[0], name) != 0)
			continue;
		if ((uri == NULL) != (a[2] == NULL))
			continue;
		if (uri && strcmp((const char *)a[2], uri) != 0)
			continue;
		*len = (size_t)(a[4] - a[3]);
		return (const char *)a[3];
	}
	return NULL;
}

/* A malloc'd copy of an attribute value with "&#38;" turned back into '&'. */
static char *
attr_dup(const char *v, size_t len)
{
	char *out = tg_try_malloc(len + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '&' && len - i >= 5 && memcmp(v + i, "&#38;", 5) == 0) {
			out[o++] = '&';
			i += 4;
		} else
			out[o++] = v[i];
	}
	out[o] = '\0';
	return out;
}

static bool
attr_is(const xmlChar **attrs, int nattr, const char *name, const char *value)
{
	size_t len;
	const char *v = attr(attrs, nattr, name, NULL, &len);

	return v && len == strlen(value) && strncasecmp(v, value, len) == 0;
}

static bool
name_is(const xmlChar *local, const char *name)
{
	return strcmp((const char *)local, name) == 0;
}

static bool
is_block(const xmlChar *local)
{
	return tg_html_is_block((const char *)local, strlen((const char *)local));
}

static void
text_add(struct xs *st, const char *s, size_t n)
{
	if (st->text_full)
		return;
	if (tg_buf_append(&st->text, s, n) < 0) {
		size_t room = TG_FEED_MAX_RAW - st->text.len;

		tg_buf_append(&st->text, s, tg_utf8_cut(s, n, room));
		st->text_full = true;
	}
}

/* The text mode of an Atom text construct, from its type (and Atom 0.3 mode)
 * attributes. Returns false for content that is not text at all. */
static bool
atom_mode(struct xs *st, const xmlChar **attrs, int nattr, enum tg_text_mode *mode,
    bool *base64)
{
	size_t len = 0, mlen = 0;
	const char *type = attr(attrs, nattr, "type", NULL, &len);
	const char *m = attr(attrs, nattr, "mode", NULL, &mlen);
	char t[64];

	*base64 = m && mlen == 6 && strncasecmp(m, "base64", 6) == 0;
	*mode = TG_TEXT_PLAIN;
	if (type == NULL || len == 0) {
		/* Atom 0.3 escaped content without a type is HTML in practice. */
		if (st->atom03 && m && mlen == 7 && strncasecmp(m, "escaped", 7) == 0)
			*mode = TG_TEXT_HTML;
		return true;
	}
	if (len >= sizeof(t))
		return false;
	memcpy(t, type, len);
	t[len] = '\0';
	if (strcasecmp(t, "text") == 0 || strcasecmp(t, "text/plain") == 0)
		return true;
	if (strcasecmp(t, "html") == 0 || strcasecmp(t, "text/html") == 0) {
		/* Atom 0.3 inline (mode="xml") HTML is markup made of elements. */
		if (!(st->atom03 && (m == NULL || (mlen == 3 && strncasecmp(m, "xml", 3) == 0))))
			*mode = TG_TEXT_HTML;
		return true;
	}
	if (strcasecmp(t, "xhtml") == 0 || strncasecmp(t, "text/", 5) == 0)
		return true;
	if (len > 4 && (strcasecmp(t + len - 4, "+xml") == 0 || strcasecmp(t + len - 4, "/xml") == 0))
		return true;
	/* Any other media type is base64 (RFC 4287 4.1.3.3); only text survives. */
	*base64 = true;
	*mode = TG_TEXT_HTML;
	return true;
}

static void
start_capture(struct xs *st, enum field f, enum tg_text_mode mode, bool item)
{
	st->cap.depth = st->depth;
	st->cap.field = f;
	st->cap.mode = mode;
	st->cap.item = item;
	st->cap.base64 = false;
	st->cap.skip = 0;
	free(st->cap.href);
	st->cap.href = NULL;
	tg_buf_reset(&st->text);
	st->text_full = false;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode base64 in place (whitespace and padding ignored); returns the length. */
static size_t
b64_decode(char *s, size_t n)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[o++] = (char)((acc >> bits) & 0xFF);
		}
	}
	return o;
}

/* The name in an RSS author: "jo@example.com (Jo Smith)", "Jo Smith
 * (jo@example.com)" and "Jo Smith <jo@example.com>" all give "Jo Smith". Takes a,
 * returns it or its replacement. */
static char *
clean_author(char *a)
{
	size_t n = strlen(a);
	const char *p;
	char *q = NULL;

	if (n > 2 && a[n - 1] == ')' && (p = strchr(a, '(')) != NULL && p > a) {
		if (memchr(a, '@', (size_t)(p - a)) != NULL)
			q = tg_feed_text(p + 1, (size_t)(a + n - 1 - (p + 1)), TG_TEXT_PLAIN,
			    TG_ITEM_MAX_TITLE);
		else if (memchr(p, '@', (size_t)(a + n - p)) != NULL)
			q = tg_feed_text(a, (size_t)(p - a), TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE);
	} else if (n > 2 && a[n - 1] == '>' && (p = strrchr(a, '<')) != NULL && p > a &&
	    memchr(p, '@', (size_t)(a + n - p)) != NULL) {
		q = tg_feed_text(a, (size_t)(p - a), TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE);
	}
	if (q == NULL)
		return a;
	free(a);
	return q;
}

static void
set_once(char **slot, char *v)
{
	if (*slot == NULL)
		*slot = v;
	else
		free(v);
}

/* A repeated date element overrides the earlier one (an unreadable one does not). */
static void
set_date(char **slot, char *v)
{
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
}

static void
finish_capture(struct xs *st)
{
	struct tg_feed_doc *doc = st->c->doc;
	struct tg_item *it = &st->item;
	bool item = st->cap.item;
	char *s = st->text.data ? st->text.data : "";
	size_t n = st->text.len;
	enum tg_text_mode mode = st->cap.mode;
	char *v;

	st->cap.depth = 0;
	if (item && !st->item_keep)
		goto out;
	if (st->cap.base64)
		n = b64_decode(s, n);
	if (st->cap.base64 && !tg_utf8_valid(s, n))
		goto out;
	switch (st->cap.field) {
	case F_TITLE:
		v = tg_feed_text(s, n, mode, TG_ITEM_MAX_TITLE);
		set_once(item ? &it->title : &doc->title, v);
		break;
	case F_SUBTITLE:
		set_once(&doc->subtitle, tg_feed_text(s, n, mode, TG_ITEM_MAX_SUMMARY));
		break;
	case F_SUMMARY:
		set_once(&it->summary, tg_feed_text(s, n, mode, TG_ITEM_MAX_SUMMARY));
		break;
	case F_CONTENT:
		set_once(&st->content, tg_feed_text(s, n, mode, TG_ITEM_MAX_SUMMARY));
		break;
	case F_LINK: {
		int *prio = item ? &st->link_prio : &st->feed_link_prio;
		char **slot = item ? &it->link : &doc->link;

		v = tg_feed_link(current_base(st), s, n);
		if (v == NULL && st->cap.href)
			v = tg_feed_link(current_base(st), st->cap.href, strlen(st->cap.href));
		if (v && *prio < 2) {
			free(*slot);
			*slot = v;
			*prio = 2;
		} else
			free(v);
		break;
	}
	case F_ID:
		set_once(&it->id, tg_feed_text(s, n, TG_TEXT_PLAIN, TG_ITEM_MAX_ID));
		break;
	case F_PUBLISHED:
		set_date(item ? &it->published : &st->feed_pub, tg_feed_date(s, n));
		break;
	case F_UPDATED:
		set_date(item ? &it->updated : &doc->updated, tg_feed_date(s, n));
		break;
	case F_DCDATE:
		set_once(item ? &st->dcdate : &st->feed_dcdate, tg_feed_date(s, n));
		break;
	case F_AUTHOR:
		v = tg_feed_text(s, n, mode, TG_ITEM_MAX_TITLE);
		if (v) {
			v = clean_author(v);
			tg_item_add_author(it, v);
			free(v);
		}
		break;
	case F_CATEGORY:
		v = tg_feed_text(s, n, mode, TG_ITEM_MAX_TITLE);
		if (v)
			tg_item_add_category(it, v);
		free(v);
		break;
	case F_MTITLE:
		set_once(&st->mtitle, tg_feed_text(s, n, mode, TG_ITEM_MAX_TITLE));
		break;
	case F_PNAME:
		set_once(&st->pname, tg_feed_text(s, n, TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE));
		break;
	case F_PEMAIL:
		set_once(&st->pemail, tg_feed_text(s, n, TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE));
		break;
	case F_NONE:
		break;
	}
out:
	free(st->cap.href);
	st->cap.href = NULL;
	tg_buf_reset(&st->text);
}

/* <link rel="alternate" href="..."> in Atom (or atom:link in RSS). */
static void
atom_link(struct xs *st, const xmlChar **attrs, int nattr, bool item)
{
	size_t rlen = 0, hlen = 0, tlen = 0;
	const char *rel = attr(attrs, nattr, "rel", NULL, &rlen);
	const char *href = attr(attrs, nattr, "href", NULL, &hlen);
	const char *type = attr(attrs, nattr, "type", NULL, &tlen);
	int *prio = item ? &st->link_prio : &st->feed_link_prio;
	char **slot = item ? &st->item.link : &st->c->doc->link;
	int p;
	char *v;

	if (rel && !(rlen == 9 && strncasecmp(rel, "alternate", 9) == 0))
		return;
	if (href == NULL) {
		/* <link>http://...</link>: RSS habits in an Atom feed. */
		start_capture(st, F_LINK, TG_TEXT_PLAIN, item);
		return;
	}
	p = 2;
	if (type && !((tlen == 9 && strncasecmp(type, "text/html", 9) == 0) ||
	    (tlen == 21 && strncasecmp(type, "application/xhtml+xml", 21) == 0)))
		p = 1;
	if (p <= *prio)
		return;
	if ((href = attr_dup(href, hlen)) == NULL)
		return;
	v = tg_feed_link(current_base(st), href, strlen(href));
	free((char *)href);
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
	*prio = p;
}

static void
atom_category(struct xs *st, const xmlChar **attrs, int nattr)
{
	size_t len = 0;
	const char *term = attr(attrs, nattr, "term", NULL, &len);
	char *v;

	if (term == NULL || len == 0)
		term = attr(attrs, nattr, "label", NULL, &len);
	if (term == NULL)
		return;
	if ((term = attr_dup(term, len)) == NULL)
		return;
	v = tg_feed_text(term, strlen(term), TG_TEXT_PLAIN, TG_ITEM_MAX_TITLE);
	free((char *)term);
	if (v)
		tg_item_add_category(&st->item, v);
	free(v);
}

/* <itunes:category text="..."> */
static void
itunes_category(struct xs *st, const xmlChar **attrs, int nattr)
{
	size_t len = 0;
	const char *t = attr(attrs, nattr, "text", NULL, &len);
	char *d, *v;

	if (t == NULL)
		return;
	if ((d = attr_dup(t, len)) == NULL)
		return;
	v = tg_feed_text(d, strlen(d), TG_TEXT_ENTITIES, TG_ITEM_MAX_TITLE);
	free(d);
	if (v)
		tg_item_add_category(&st->item, v);
	free(v);
}

static void
begin_item(struct xs *st)
{
	st->item_depth = st->depth;
	st->item_keep = tg_feed_room(st->c);
	tg_item_clear(&st->item);
	st->link_prio = 0;
	st->guid_link = false;
	free(st->content);
	free(st->dcdate);
	free(st->about);
	free(st->mtitle);
	st->mtitle = NULL;
	st->content = NULL;
	st->dcdate = NULL;
	st->about = NULL;
}

static bool
looks_like_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

static void
end_item(struct xs *st)
{
	struct tg_item *it = &st->item;

	st->item_depth = 0;
	if (!st->item_keep) {
		tg_item_clear(it);
		return;
	}
	if (it->title == NULL && st->mtitle) {
		it->title = st->mtitle;
		st->mtitle = NULL;
	}
	if (it->summary == NULL && st->content) {
		it->summary = st->content;
		st->content = NULL;
	}
	if (it->id == NULL && st->about) {
		it->id = st->about;
		st->about = NULL;
	}
	if (it->link == NULL && st->guid_link && it->id && looks_like_url(it->id))
		it->link = tg_feed_link(current_base(st), it->id, strlen(it->id));
	if (it->published == NULL && st->dcdate) {
		it->published = st->dcdate;
		st->dcdate = NULL;
	}
	tg_feed_commit(st->c, it);
}

static void
end_person(struct xs *st)
{
	const char *who = st->pname ? st->pname : st->pemail;

	st->person_depth = 0;
	if (who && st->item_keep)
		tg_item_add_author(&st->item, who);
	free(st->pname);
	free(st->pemail);
	st->pname = st->pemail = NULL;
}

/* Decide the format from the root element; false when it is not a feed. */
static bool
detect_root(struct xs *st, const xmlChar *local, const xmlChar *uri, const xmlChar **attrs,
    int nattr, const xmlChar **nsdecl, int nns)
{
	struct tg_feed_doc *doc = st->c->doc;
	const char *u = (const char *)uri;
	size_t len = 0;
	const char *ver;

	snprintf(st->root, sizeof(st->root), "%s", (const char *)local);
	/* Elements in the root's own namespace, whatever it is, are the format's. */
	if (u && strlen(u) < sizeof(st->root_ns))
		memcpy(st->root_ns, u, strlen(u) + 1);
	if (name_is(local, "rss")) {
		ver = attr(attrs, nattr, "version", NULL, &len);
		doc->format = TG_FEED_RSS20;
		if (ver && len == 4 && memcmp(ver, "0.91", 4) == 0)
			doc->format = TG_FEED_RSS091;
		else if (ver && len == 4 && (memcmp(ver, "0.92", 4) == 0 ||
		    memcmp(ver, "0.93", 4) == 0 || memcmp(ver, "0.94", 4) == 0))
			doc->format = TG_FEED_RSS092;
		else if (ver && len == 4 && memcmp(ver, "0.90", 4) == 0)
			doc->format = TG_FEED_RSS090;
		return true;
	}
	if (name_is(local, "RDF")) {
		doc->format = TG_FEED_RSS10;
		for (int i = 0; i < nns; i++)
			if (nsdecl[2 * i + 1] && strcmp((const char *)nsdecl[2 * i + 1],
			    "http://my.netscape.com/rdf/simple/0.9/") == 0)
				doc->format = TG_FEED_RSS090;
		return true;
	}
	if (name_is(local, "feed")) {
		st->atom = true;
		ver = attr(attrs, nattr, "version", NULL, &len);
		if ((u && strcmp(u, "http://purl.org/atom/ns#") == 0) ||
		    ((u == NULL || strcmp(u, "http://www.w3.org/2005/Atom") != 0) && ver &&
		    len == 3 && memcmp(ver, "0.3", 3) == 0)) {
			doc->format = TG_FEED_ATOM03;
			st->atom03 = true;
		} else
			doc->format = TG_FEED_ATOM10;
		return true;
	}
	return false;
}

static void
start_feed_level(struct xs *st, enum ns ns, const xmlChar *local, const xmlChar **attrs,
    int nattr)
{
	enum tg_text_mode mode;
	bool b64;

	if (ns == NS_RSS) {
		if (name_is(local, "channel"))
			return;
		if (name_is(local, "item")) {
			size_t alen = 0;
			const char *about = attr(attrs, nattr, "about",
			    "http://www.w3.org/1999/02/22-rdf-syntax-ns#", &alen);

			begin_item(st);
			if (about)
				st->about = tg_feed_text(about, alen, TG_TEXT_PLAIN, TG_ITEM_MAX_ID);
		} else if (name_is(local, "title")) {
			start_capture(st, F_TITLE, TG_TEXT_HTML, false);
		} else if (name_is(local, "link")) {
			start_capture(st, F_LINK, TG_TEXT_PLAIN, false);
		} else if (name_is(local, "description")) {
			start_capture(st, F_SUBTITLE, TG_TEXT_HTML, false);
		} else if (name_is(local, "lastBuildDate")) {
			start_capture(st, F_UPDATED, TG_TEXT_PLAIN, false);
		} else if (name_is(local, "pubDate")) {
			start_capture(st, F_PUBLISHED, TG_TEXT_PLAIN, false);
		} else
			st->skip_depth = st->depth;
	} else if (ns == NS_ATOM) {
		if (name_is(local, "entry")) {
			begin_item(st);
		} else if (name_is(local, "link")) {
			atom_link(st, attrs, nattr, false);
		} else if (name_is(local, "title") || name_is(local, "subtitle") ||
		    name_is(local, "tagline")) {
			if (!atom_mode(st, attrs, nattr, &mode, &b64)) {
				st->skip_depth = st->depth;
				return;
			}
			start_capture(st, name_is(local, "title") ? F_TITLE : F_SUBTITLE, mode, false);
			st->cap.base64 = b64;
		} else if (name_is(local, "updated") || name_is(local, "modified")) {
			start_capture(st, F_UPDATED, TG_TEXT_PLAIN, false);
		} else
			st->skip_depth = st->depth;
	} else if (ns == NS_DC && name_is(local, "date")) {
		start_capture(st, F_DCDATE, TG_TEXT_PLAIN, false);
	} else if (ns == NS_DC && name_is(local, "title")) {
		start_capture(st, F_TITLE, TG_TEXT_HTML, false);
	} else if ((ns == NS_DC && name_is(local, "description")) ||
	    (ns == NS_ITUNES && (name_is(local, "subtitle") || name_is(local, "summary")))) {
		start_capture(st, F_SUBTITLE, TG_TEXT_HTML, false);
	} else if (ns == NS_DCTERMS && name_is(local, "modified")) {
		start_capture(st, F_UPDATED, TG_TEXT_PLAIN, false);
	} else if (ns != NS_RDF)
		st->skip_depth = st->depth;
}

static void
start_item_level(struct xs *st, enum ns ns, const xmlChar *local, const xmlChar **attrs,
    int nattr)
{
	enum tg_text_mode mode;
	bool b64;
	size_t len;
	const char *v;

	if (st->person_depth) {
		if (ns == NS_ATOM && name_is(local, "name"))
			start_capture(st, F_PNAME, TG_TEXT_PLAIN, true);
		else if (ns == NS_ATOM && name_is(local, "email"))
			start_capture(st, F_PEMAIL, TG_TEXT_PLAIN, true);
		else
			st->skip_depth = st->depth;
		return;
	}
	if (ns == NS_RSS) {
		if (name_is(local, "title")) {
			start_capture(st, F_TITLE, TG_TEXT_HTML, true);
		} else if (name_is(local, "link")) {
			start_capture(st, F_LINK, TG_TEXT_PLAIN, true);
			if ((v = attr(attrs, nattr, "href", NULL, &len)) != NULL)
				st->cap.href = attr_dup(v, len);
		} else if (name_is(local, "description")) {
			start_capture(st, F_SUMMARY, TG_TEXT_HTML, true);
		} else if (name_is(local, "guid")) {
			start_capture(st, F_ID, TG_TEXT_PLAIN, true);
			if (st->item.id == NULL)
				st->guid_link = !attr_is(attrs, nattr, "isPermaLink", "false");
		} else if (name_is(local, "pubDate")) {
			start_capture(st, F_PUBLISHED, TG_TEXT_PLAIN, true);
		} else if (name_is(local, "author")) {
			start_capture(st, F_AUTHOR, TG_TEXT_HTML, true);
		} else if (name_is(local, "category")) {
			start_capture(st, F_CATEGORY, TG_TEXT_HTML, true);
		} else if (name_is(local, "body")) {
			start_capture(st, F_CONTENT, TG_TEXT_PLAIN, true);
		} else if (name_is(local, "fullitem")) {
			start_capture(st, F_CONTENT, TG_TEXT_HTML, true);
		} else
			st->skip_depth = st->depth;
	} else if (ns == NS_ATOM) {
		if (name_is(local, "link")) {
			atom_link(st, attrs, nattr, true);
		} else if (name_is(local, "category")) {
			atom_category(st, attrs, nattr);
		} else if (name_is(local, "author")) {
			st->person_depth = st->depth;
		} else if (name_is(local, "id")) {
			start_capture(st, F_ID, TG_TEXT_PLAIN, true);
		} else if (name_is(local, "published") || name_is(local, "issued") ||
		    name_is(local, "created")) {
			start_capture(st, F_PUBLISHED, TG_TEXT_PLAIN, true);
		} else if (name_is(local, "updated") || name_is(local, "modified")) {
			start_capture(st, F_UPDATED, TG_TEXT_PLAIN, true);
		} else if (name_is(local, "title") || name_is(local, "summary") ||
		    name_is(local, "content")) {
			enum field f = name_is(local, "title") ? F_TITLE :
			    name_is(local, "summary") ? F_SUMMARY : F_CONTENT;

			if (!atom_mode(st, attrs, nattr, &mode, &b64) ||
			    (f == F_CONTENT && attr(attrs, nattr, "src", NULL, &len))) {
				st->skip_depth = st->depth;
				return;
			}
			start_capture(st, f, mode, true);
			st->cap.base64 = b64;
		} else
			st->skip_depth = st->depth;
	} else if (ns == NS_DC) {
		if (name_is(local, "creator") || name_is(local, "author"))
			start_capture(st, F_AUTHOR, TG_TEXT_HTML, true);
		else if (name_is(local, "subject"))
			start_capture(st, F_CATEGORY, TG_TEXT_HTML, true);
		else if (name_is(local, "date"))
			start_capture(st, F_DCDATE, TG_TEXT_PLAIN, true);
		else if (name_is(local, "title"))
			start_capture(st, F_TITLE, TG_TEXT_HTML, true);
		else if (name_is(local, "description"))
			start_capture(st, F_SUMMARY, TG_TEXT_HTML, true);
		else
			st->skip_depth = st->depth;
	} else if (ns == NS_DCTERMS) {
		if (name_is(local, "modified"))
			start_capture(st, F_UPDATED, TG_TEXT_PLAIN, true);
		else if (name_is(local, "issued") || name_is(local, "created"))
			start_capture(st, F_PUBLISHED, TG_TEXT_PLAIN, true);
		else
			st->skip_depth = st->depth;
	} else if (ns == NS_CONTENT && name_is(local, "encoded")) {
		start_capture(st, F_CONTENT, TG_TEXT_HTML, true);
	} else if (ns == NS_XHTML && name_is(local, "body")) {
		start_capture(st, F_CONTENT, TG_TEXT_PLAIN, true);
	} else if (ns == NS_ITUNES) {
		if (name_is(local, "summary"))
			start_capture(st, F_CONTENT, TG_TEXT_HTML, true);
		else if (name_is(local, "category"))
			itunes_category(st, attrs, nattr); /* nested ones too: no skip */
		else
			st->skip_depth = st->depth;
	} else if (ns == NS_MEDIA) {
		if (name_is(local, "title"))
			start_capture(st, F_MTITLE, TG_TEXT_HTML, true);
		else if (name_is(local, "description"))
			start_capture(st, F_CONTENT, TG_TEXT_HTML, true);
		else if (name_is(local, "category"))
			start_capture(st, F_CATEGORY, TG_TEXT_HTML, true);
		else if (!name_is(local, "group") && !name_is(local, "content"))
			st->skip_depth = st->depth;
	} else
		st->skip_depth = st->depth;
}

static void
push_base(struct xs *st, const xmlChar **attrs, int nattr)
{
	size_t len = 0;
	const char *b = attr(attrs, nattr, "base", NS_XML, &len);
	char *url;

	if (b == NULL || st->nbases >= MAX_BASES)
		return;
	if ((b = attr_dup(b, len)) == NULL)
		return;
	url = tg_feed_link(current_base(st), b, strlen(b));
	free((char *)b);
	if (url == NULL)
		return;
	st->bases[st->nbases].depth = st->depth;
	st->bases[st->nbases].url = url;
	st->nbases++;
}

static void
on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri, int nns,
    const xmlChar **nsdecl, int nattr, int ndefaulted, const xmlChar **attrs)
{
	struct xs *st = ctx;
	enum ns ns;

	(void)ndefaulted;
	revive(st);
	st->depth++;
	if (st->depth <= MAX_DEPTH)
		st->names[st->depth] = local;
	if (st->not_feed)
		return;
	push_base(st, attrs, nattr);
	if (st->depth == 1) {
		st->root_seen = true;
		if (!detect_root(st, local, uri, attrs, nattr, nsdecl, nns)) {
			st->not_feed = true;
			xmlStopParser(st->ctxt);
		}
		return;
	}
	if (st->cap.depth) {
		if (st->cap.skip)
			return;
		if (strcasecmp((const char *)local, "script") == 0 ||
		    strcasecmp((const char *)local, "style") == 0)
			st->cap.skip = st->depth;
		else if (is_block(local))
			text_add(st, " ", 1);
		return;
	}
	if (st->skip_depth)
		return;
	/* libxml2 interns namespace names: one comparison of pointers usually does. */
	if (uri && uri == st->last_uri) {
		ns = st->last_ns;
	} else {
		ns = classify(uri, prefix);
		if (uri) {
			st->last_uri = uri;
			st->last_ns = ns;
		}
	}
	if (ns == NS_NONE || (ns == NS_OTHER && uri && strcmp((const char *)uri, st->root_ns) == 0))
		ns = st->atom ? NS_ATOM : NS_RSS;
	if (ns == NS_ATOM && uri && strcmp((const char *)uri, "http://purl.org/atom/ns#") == 0)
		st->atom03 = st->atom03 || !st->atom;
	if (ns == NS_OTHER || (ns == NS_XHTML && !(st->item_depth && name_is(local, "body")))) {
		st->skip_depth = st->depth;
		return;
	}
	if (st->item_depth == 0) {
		if (uri && strcmp((const char *)uri, "http://my.netscape.com/rdf/simple/0.9/") == 0 &&
		    st->c->doc->format == TG_FEED_RSS10)
			st->c->doc->format = TG_FEED_RSS090;
		start_feed_level(st, ns, local, attrs, nattr);
	} else if ((ns == NS_RSS && name_is(local, "item")) ||
	    (ns == NS_ATOM && (name_is(local, "entry") || name_is(local, "source") ||
	    name_is(local, "contributor")))) {
		st->skip_depth = st->depth; /* nested items and foreign metadata */
	} else
		start_item_level(st, ns, local, attrs, nattr);
}

/* Close the innermost open element. */
static void
close_top(struct xs *st)
{
	if (st->cap.depth == st->depth) {
		finish_capture(st);
	} else if (st->cap.depth) {
		if (st->cap.skip == st->depth)
			st->cap.skip = 0;
		else if (!st->cap.skip && st->depth <= MAX_DEPTH && is_block(st->names[st->depth]))
			text_add(st, " ", 1);
	}
	if (st->skip_depth == st->depth)
		st->skip_depth = 0;
	if (st->person_depth == st->depth)
		end_person(st);
	if (st->item_depth == st->depth)
		end_item(st);
	if (st->nbases && st->bases[st->nbases - 1].depth == st->depth) {
		st->nbases--;
		free(st->bases[st->nbases].url);
	}
	st->depth--;
}

/* libxml2 closes one element per end tag, the one it has open. When the end tag
 * names another element (an unclosed <br> in a description, say), we follow the
 * document as written: close up to the nearest open element of that name, and
 * ignore end tags that match nothing. */
static void
on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	struct xs *st = ctx;
	const char *real = st->mismatch[0] ? st->mismatch : (const char *)local;
	int k;

	(void)prefix;
	(void)uri;
	revive(st);
	for (k = st->depth; k >= 1; k--)
		if (k <= MAX_DEPTH && strcmp((const char *)st->names[k], real) == 0)
			break;
	st->mismatch[0] = '\0';
	if (k < 1)
		return;
	while (st->depth >= k)
		close_top(st);
}

static void
on_text(void *ctx, const xmlChar *s, int len)
{
	struct xs *st = ctx;

	revive(st);
	if (st->cap.depth == 0 || st->cap.skip || len <= 0)
		return;
	text_add(st, (const char *)s, (size_t)len);
}

/* The placeholder of a CDATA section: its text, as if libxml2 had read it. */
static void
on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	struct xs *st = ctx;
	const struct span *sp;
	size_t idx = 0;
	const char *p = (const char *)data;

	revive(st);
	if (strcmp((const char *)target, CDATA_PI) != 0 || p == NULL || *p < '0' || *p > '9')
		return;
	for (; *p >= '0' && *p <= '9' && idx < st->ncdata; p++)
		idx = idx * 10 + (size_t)(*p - '0');
	if (idx >= st->ncdata || st->cap.depth == 0 || st->cap.skip)
		return;
	sp = &st->cdata[idx];
	text_add(st, st->cdata_src + sp->off, sp->len);
}

static xmlEntityPtr
new_entity(const char *name, const char *content, size_t clen)
{
	size_t nlen = strlen(name);
	xmlEntityPtr e = tg_try_calloc(1, sizeof(*e) + nlen + 1 + clen + 1);
	char *p;

	if (e == NULL)
		return NULL;
	p = (char *)(e + 1);
	memcpy(p, name, nlen + 1);
	memcpy(p + nlen + 1, content, clen);
	p[nlen + 1 + clen] = '\0';
	e->type = XML_ENTITY_DECL;
	e->name = (const xmlChar *)p;
	e->content = (xmlChar *)(p + nlen + 1);
	e->length = (int)clen;
	e->etype = XML_INTERNAL_PREDEFINED_ENTITY;
	return e;
}

/* Entities the document declared in its internal subset: kept as plain text
 * (references inside them are not expanded, so they cannot amplify). */
static void
on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pub, const xmlChar *sys,
    xmlChar *content)
{
	struct xs *st = ctx;
	size_t clen;

	(void)pub;
	(void)sys;
	if (type != XML_INTERNAL_GENERAL_ENTITY || content == NULL || st->nents >= MAX_ENTITIES)
		return;
	for (int i = 0; i < st->nents; i++)
		if (strcmp((const char *)st->ents[i]->name, (const char *)name) == 0)
			return; /* the first declaration binds */
	clen = strlen((const char *)content);
	if (clen > MAX_ENTITY_TEXT)
		clen = tg_utf8_cut((const char *)content, clen, MAX_ENTITY_TEXT);
	if ((st->ents[st->nents] = new_entity((const char *)name, (const char *)content,
	    clen)) != NULL)
		st->nents++;
}

/* An entity the document uses: declared ones as declared, HTML names as their
 * character, anything else kept literally. The last two make the feed bozo. */
static xmlEntityPtr
on_get_entity(void *ctx, const xmlChar *xname)
{
	struct xs *st = ctx;
	const char *name = (const char *)xname;
	char buf[80], msg[120];
	uint32_t cp;
	size_t n;

	revive(st);
	for (int i = 0; i < st->nents; i++)
		if (strcmp((const char *)st->ents[i]->name, name) == 0)
			return st->ents[i];
	if (st->ctxt->inSubset || st->nents >= MAX_ENTITIES || strlen(name) > 64)
		return NULL;
	cp = tg_html_entity(name, strlen(name));
	if (cp)
		n = tg_utf8_encode(cp, buf);
	else
		n = (size_t)snprintf(buf, sizeof(buf), "&%s;", name);
	/* A document with an external DTD may define them there (RSS 0.91 does). */
	if (!st->ctxt->hasExternalSubset) {
		snprintf(msg, sizeof(msg), "undefined entity &%s; at line %d", name,
		    xmlSAX2GetLineNumber(st->ctxt));
		tg_feed_bozo(st->c->doc, msg);
	}
	if ((st->ents[st->nents] = new_entity(name, buf, n)) == NULL)
		return NULL; /* out of memory, counted: the parse fails */
	return st->ents[st->nents++];
}

static void
on_error(void *ctx, xmlErrorPtr e)
{
	struct xs *st = ctx;
	char msg[300];
	size_t n;

	if (e != NULL && e->code == XML_ERR_NO_MEMORY)
		st->c->oom = true;
	if (e == NULL || e->level < XML_ERR_ERROR)
		return;
	/* Parameter entities from external DTDs we refuse to load are not the
	 * document's fault. */
	if (e->code == XML_WAR_UNDECLARED_ENTITY ||
	    (e->message && strncmp(e->message, "PEReference:", 12) == 0))
		return;
	st->nerrors++;
	if (e->code == XML_ERR_TAG_NAME_MISMATCH && e->str2) {
		const char *name = strrchr(e->str2, ':');

		name = name ? name + 1 : e->str2;
		if (strlen(name) < sizeof(st->mismatch))
			memcpy(st->mismatch, name, strlen(name) + 1);
		else
			memcpy(st->mismatch, "\x01", 2); /* matches no element */
	}
	if (st->c->doc->bozo)
		return;
	snprintf(msg, sizeof(msg), "XML error at line %d: %s", e->line,
	    e->message ? e->message : "unknown");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	tg_feed_bozo(st->c->doc, msg);
}

static void
xs_free(struct xs *st)
{
	tg_item_clear(&st->item);
	free(st->content);
	free(st->dcdate);
	free(st->about);
	free(st->mtitle);
	free(st->feed_pub);
	free(st->feed_dcdate);
	free(st->pname);
	free(st->pemail);
	free(st->cap.href);
	tg_buf_free(&st->text);
	for (int i = 0; i < st->nbases; i++)
		free(st->bases[i].url);
	for (int i = 0; i < st->nents; i++) {
		xmlFree(st->ents[i]->orig);
		free(st->ents[i]);
	}
}

/* --- bare '&' and '<' ---------------------------------------------------- */

/* A lazily made copy of the input with some bytes replaced, and the CDATA
 * sections cut out of it. */
struct fixer {
	const char *s;
	struct tg_buf *out;
	size_t run;       /* input copied up to here */
	bool used;        /* out holds the copy */
	bool fixed;       /* something was wrong with the input */
	size_t first;     /* where */
	struct span *spans;
	size_t nspans, spans_cap;
};

/* Replace input bytes [i, end) by rep. */
static void
splice(struct fixer *f, size_t i, size_t end, const char *rep)
{
	f->used = true;
	tg_buf_append(f->out, f->s + f->run, i - f->run);
	tg_buf_append_str(f->out, rep);
	f->run = end;
}

/* Replace the byte at i by rep: a repair, which makes the feed bozo. */
static void
fix_at(struct fixer *f, size_t i, const char *rep)
{
	if (!f->fixed) {
		f->fixed = true;
		f->first = i;
	}
	splice(f, i, i + 1, rep);
}

/* libxml2 reads CDATA sections a character at a time; they are cut out here and
 * replaced by a processing instruction naming the section (with the same number
 * of line breaks, so that line numbers stay right). */
static void
cut_cdata(struct fixer *f, size_t start, size_t body, size_t len, size_t end)
{
	char pi[64];

	if (f->nspans == f->spans_cap) {
		size_t ncap = f->spans_cap ? f->spans_cap * 2 : 64;
		struct span *ns = tg_try_realloc(f->spans, ncap * sizeof(*f->spans));

		if (ns == NULL)
			return; /* counted: the parse fails with "out of memory" */
		f->spans = ns;
		f->spans_cap = ncap;
	}
	f->spans[f->nspans].off = body;
	f->spans[f->nspans].len = len;
	snprintf(pi, sizeof(pi), "<?" CDATA_PI " %zu", f->nspans);
	f->nspans++;
	splice(f, start, end, pi);
	for (const char *p = f->s + body; (p = memchr(p, '\n', (size_t)(f->s + body + len - p)));
	    p++)
		tg_buf_append(f->out, "\n", 1);
	tg_buf_append(f->out, "?>", 2);
}

static bool
name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static bool
name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* True when s[0] == '&' starts a well-formed reference ("&#X41;" passes too:
 * the caller rewrites the X). */
static bool
valid_ref(const char *s, size_t n)
{
	size_t i = 1;

	if (i < n && s[i] == '#') {
		bool hex = ++i < n && (s[i] == 'x' || s[i] == 'X');
		size_t st;

		i += hex;
		st = i;
		while (i < n && i - st < 10 && (((unsigned char)s[i] >= '0' && s[i] <= '9') ||
		    (hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))))
			i++;
		return i > st && i < n && s[i] == ';';
	}
	if (i >= n || !name_start((unsigned char)s[i]))
		return false;
	while (i < n && i < 80 && name_char((unsigned char)s[i]))
		i++;
	return i < n && s[i] == ';';
}

/* True when one of the eight bytes of w equals c. */
static inline bool
has_byte(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (0x0101010101010101ULL * c);

	return ((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) != 0;
}

/* A reference inside an attribute value. libxml2 copies only the first byte of
 * what our entity callback returns there, so HTML names become numeric
 * references here, and unknown names literal text. */
static void
fix_attr_ref(struct fixer *f, const char *s, size_t n, size_t i)
{
	size_t k = i + 1;
	uint32_t cp;
	char num[16];

	if (!valid_ref(s + i, n - i)) {
		fix_at(f, i, "&amp;");
		return;
	}
	if (s[k] == '#') {
		if (s[k + 1] == 'X')
			fix_at(f, k + 1, "x");
		return;
	}
	while (s[k] != ';')
		k++;
	cp = tg_html_entity(s + i + 1, k - i - 1);
	if (cp == '&' || cp == '<' || cp == '>' || cp == '"' || cp == '\'')
		return;
	if (cp == 0) {
		fix_at(f, i, "&amp;");
		return;
	}
	snprintf(num, sizeof(num), "&#%u", (unsigned)cp);
	/* Replace "&name" by "&#NNN", keeping the ';'. */
	fix_at(f, i, num);
	f->run = k;
}

static size_t
skip_past(const char *s, size_t n, size_t i, const char *end)
{
	const char *p = memmem(s + i, n - i, end, strlen(end));

	return p ? (size_t)(p - s) + strlen(end) : n;
}

/* Skip a DOCTYPE with its internal subset (quoted strings may hold anything). */
static size_t
skip_doctype(const char *s, size_t n, size_t i)
{
	char quote = 0;
	bool subset = false;

	for (; i < n; i++) {
		char c = s[i];

		if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '[') {
			subset = true;
		} else if (c == ']') {
			subset = false;
		} else if (c == '>' && !subset)
			return i + 1;
	}
	return n;
}

/* Escape bare '&' and '<' in text and attribute values (comments, CDATA,
 * processing instructions and the DOCTYPE are left alone), as lenient feed
 * readers do, and cut out CDATA sections (see cut_cdata). Returns true with the
 * new document in out when anything changed; fx says what. */
static bool
fix_markup(struct fixer *fx, const char *s, size_t n, struct tg_buf *out)
{
	struct fixer f = { s, out, 0, false, false, 0, NULL, 0, 0 };
	size_t i = 0;

	while (i < n) {
		const char *p = s + i;
		size_t left = n - i;
		uint64_t w;

		/* Skip eight bytes at a time while none is '&' or '<'. */
		if (left >= 8) {
			memcpy(&w, p, 8);
			if (!has_byte(w, '&') && !has_byte(w, '<')) {
				i += 8;
				continue;
			}
		}
		if (*p == '&') {
			if (!valid_ref(p, left))
				fix_at(&f, i, "&amp;");
			else if (left > 2 && p[1] == '#' && p[2] == 'X')
				fix_at(&f, i + 2, "x");
			i++;
		} else if (*p != '<') {
			i++;
		} else if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
			i = skip_past(s, n, i + 4, "-->");
		} else if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
			const char *e = memmem(p + 9, left - 9, "]]>", 3);

			if (e == NULL) {
				i = n; /* unterminated: libxml2 reports it */
			} else {
				size_t end = (size_t)(e - s) + 3;

				cut_cdata(&f, i, i + 9, (size_t)(e - p) - 9, end);
				i = end;
			}
		} else if (left >= 2 && p[1] == '?') {
			i = skip_past(s, n, i + 2, "?>");
		} else if (left >= 9 && memcmp(p, "<!DOCTYPE", 9) == 0) {
			i = skip_doctype(s, n, i + 9);
		} else if (left >= 2 && (name_start((unsigned char)p[1]) || p[1] == '/' ||
		    p[1] == '!')) {
			/* A tag: look at its attribute values up to the closing '>'. */
			char quote = 0;

			for (i++; i < n; i++) {
				char c = s[i];

				if (quote) {
					if (c == quote)
						quote = 0;
					else if (c == '&')
						fix_attr_ref(&f, s, n, i);
					else if (c == '<')
						fix_at(&f, i, "&lt;");
				} else if (c == '"' || c == '\'') {
					quote = c;
				} else if (c == '>' || c == '<')
					break;
			}
			if (i < n && s[i] == '>')
				i++;
		} else {
			fix_at(&f, i, "&lt;");
			i++;
		}
	}
	if (f.used)
		tg_buf_append(out, s + f.run, n - f.run);
	*fx = f;
	return f.used;
}

int
tg_feed_xml_parse(struct tg_feed_ctx *c, const char *s, size_t n, char *err, size_t errlen)
{
	struct tg_feed_doc *doc = c->doc;
	xmlSAXHandler sax;
	xmlParserCtxtPtr ctxt;
	struct xs st;
	struct tg_buf fixed;
	struct fixer fx;
	const char *orig = s;
	int r = -1;

	tg_buf_init(&fixed, 0);
	if (fix_markup(&fx, s, n, &fixed)) {
		s = fixed.data;
		n = fixed.len;
	}
	if (fx.fixed) {
		char msg[96];

		snprintf(msg, sizeof(msg), "unescaped '&' or '<' at byte %zu", fx.first);
		tg_feed_bozo(doc, msg);
	}
	if (n > INT32_MAX) {
		snprintf(err, errlen, "document too large for the XML parser");
		tg_buf_free(&fixed);
		free(fx.spans);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.c = c;
	st.cdata_src = orig;
	st.cdata = fx.spans;
	st.ncdata = fx.nspans;
	tg_buf_init(&st.text, TG_FEED_MAX_RAW);
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.processingInstruction = on_pi;
	sax.getEntity = on_get_entity;
	sax.entityDecl = on_entity_decl;
	sax.serror = on_error;
	ctxt = xmlCreateMemoryParserCtxt(s, (int)n);
	if (ctxt == NULL) {
		snprintf(err, errlen, "cannot create an XML parser");
		goto out;
	}
	memcpy(ctxt->sax, &sax, sizeof(sax));
	ctxt->userData = &st;
	st.ctxt = ctxt;
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC);
	xmlParseDocument(ctxt);
	if (ctxt->errNo == XML_ERR_NO_MEMORY)
		c->oom = true;
	if (!st.root_seen) {
		snprintf(err, errlen, "not a feed: %s", doc->bozo_reason ? doc->bozo_reason :
		    "no root element");
		goto out;
	}
	if (st.not_feed) {
		snprintf(err, errlen, "not a feed: the root element is <%s>", st.root);
		goto out;
	}
	/* A truncated document: finish what is open (the last item is kept). */
	while (st.depth > 0)
		close_top(&st);
	if (doc->updated == NULL) {
		doc->updated = st.feed_pub ? st.feed_pub : st.feed_dcdate;
		if (doc->updated == st.feed_pub)
			st.feed_pub = NULL;
		else
			st.feed_dcdate = NULL;
	}
	r = 0;
out:
	if (ctxt) {
		/* libxml2 builds a stub document for DTD entities even in SAX mode. */
		if (ctxt->myDoc)
			xmlFreeDoc(ctxt->myDoc);
		ctxt->myDoc = NULL;
		xmlFreeParserCtxt(ctxt);
	}
	/* libxml2 keeps a copy of the last error (with bits of the document) per
	 * thread: drop it, the feed's errors are reported through doc. */
	xmlResetLastError();
	xs_free(&st);
	tg_buf_free(&fixed);
	free(fx.spans);
	return r;
}

/*
 * Tests of the feed parser: every format against fixtures in tests/data/feeds
 * (input and expected JSON), the id rules, text cleaning, link resolution,
 * recovery from broken XML, refusal of what is not a feed, caps, duplicates,
 * character encodings and hostile input (external entities, amplification).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../common/text.h"
#include "../../common/util.h"
#include "../../daemon/feed.h"
#include "../../daemon/feed_int.h"

#define BASE "https://feeds.example.com/dir/feed.xml"

static char err[512];

static char *
read_fixture(const char *name, size_t *len)
{
	const char *top = getenv("TG_TOP");
	char path[1024];
	struct tg_buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/feeds/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fprintf(stderr, "cannot open %s (run from the top directory or set TG_TOP)\n", path);
	assert_non_null(f);
	tg_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(tg_buf_append(&b, chunk, n), 0);
	fclose(f);
	*len = b.len;
	return tg_buf_take(&b);
}

/* Parse s, expecting success. */
static void
parse_ok(const char *s, size_t n, const char *ct, const struct tg_feed_limits *lim,
    struct tg_feed_doc *doc)
{
	int rc = tg_feed_parse(s, n, BASE, ct, "feed-a", lim, doc, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "parse failed: %s\n", err);
	assert_int_equal(rc, 0);
}

static void
parse_str(const char *s, struct tg_feed_doc *doc)
{
	parse_ok(s, strlen(s), NULL, NULL, doc);
}

static void
check_fixture(const char *input, const char *expected)
{
	struct tg_feed_doc doc;
	json_t *got, *want;
	json_error_t jerr;
	size_t n, wn;
	char *in = read_fixture(input, &n);
	char *exp = read_fixture(expected, &wn);

	parse_ok(in, n, NULL, NULL, &doc);
	got = tg_feed_doc_to_json(&doc);
	want = json_loadb(exp, wn, 0, &jerr);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_INDENT(2));

		fprintf(stderr, "%s: got\n%s\n", input, g);
		free(g);
	}
	assert_true(json_equal(got, want));
	for (size_t i = 0; i < doc.nitems; i++)
		assert_string_equal(doc.items[i].feed, "feed-a");
	json_decref(got);
	json_decref(want);
	tg_feed_doc_clear(&doc);
	free(in);
	free(exp);
}

static void
test_fixture_rss20(void **state)
{
	(void)state;
	check_fixture("rss20.xml", "rss20.expected.json");
}

static void
test_fixture_rss10(void **state)
{
	(void)state;
	check_fixture("rss10.xml", "rss10.expected.json");
}

static void
test_fixture_atom10(void **state)
{
	(void)state;
	check_fixture("atom10.xml", "atom10.expected.json");
}

static void
test_fixture_atom03(void **state)
{
	(void)state;
	check_fixture("atom03.xml", "atom03.expected.json");
}

static void
test_fixture_rss091_latin1(void **state)
{
	(void)state;
	check_fixture("rss091.xml", "rss091.expected.json");
}

static void
test_fixture_json11(void **state)
{
	(void)state;
	check_fixture("json11.json", "json11.expected.json");
}

static void
test_fixture_illformed(void **state)
{
	(void)state;
	check_fixture("illformed.xml", "illformed.expected.json");
}

static void
test_formats_detected_from_content(void **state)
{
	static const struct {
		const char *doc;
		enum tg_feed_format want;
	} cases[] = {
		{ "<rss version=\"2.0\"><channel><title>x</title></channel></rss>", TG_FEED_RSS20 },
		{ "<rss><channel><title>x</title></channel></rss>", TG_FEED_RSS20 },
		{ "<rss version=\"0.91\"><channel><title>x</title></channel></rss>", TG_FEED_RSS091 },
		{ "<rss version=\"0.92\"><channel><title>x</title></channel></rss>", TG_FEED_RSS092 },
		{ "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
		  "xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel><title>x</title>"
		  "</channel></rdf:RDF>", TG_FEED_RSS090 },
		{ "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
		  "xmlns=\"http://purl.org/rss/1.0/\"><channel><title>x</title></channel>"
		  "</rdf:RDF>", TG_FEED_RSS10 },
		{ "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>x</title></feed>",
		  TG_FEED_ATOM10 },
		{ "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>x</title></feed>",
		  TG_FEED_ATOM03 },
		{ "{\"version\": \"https://jsonfeed.org/version/1\", \"title\": \"x\", \"items\": []}",
		  TG_FEED_JSON10 },
		{ "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"x\", \"items\": []}",
		  TG_FEED_JSON11 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_feed_doc doc;

		parse_str(cases[i].doc, &doc);
		assert_int_equal(doc.format, cases[i].want);
		assert_string_equal(doc.title, "x");
		tg_feed_doc_clear(&doc);
	}
	assert_string_equal(tg_feed_format_name(TG_FEED_RSS20), "rss20");
	assert_string_equal(tg_feed_format_name(TG_FEED_ATOM03), "atom03");
	assert_string_equal(tg_feed_format_name(TG_FEED_JSON11), "json11");
}

static void
test_id_rules(void **state)
{
	struct tg_feed_doc doc;
	const char *rss =
	    "<rss version=\"2.0\"><channel>"
	    "<item><guid isPermaLink=\"false\">  guid-1  </guid><link>http://x/1</link></item>"
	    "<item><link>http://x/2</link><title>no guid</title></item>"
	    "<item><title>Only a title</title><pubDate>Mon, 13 May 2024 18:05:00 GMT</pubDate></item>"
	    "<item><title>Only a title</title><pubDate>Mon, 13 May 2024 18:06:00 GMT</pubDate></item>"
	    "<item><title>Same</title><description>one</description></item>"
	    "</channel></rss>";
	const char *atom =
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>urn:uuid:1</id>"
	    "<link href=\"http://x/a\"/></entry></feed>";

	(void)state;
	parse_str(rss, &doc);
	assert_int_equal(doc.nitems, 5);
	assert_string_equal(doc.items[0].id, "guid-1");
	assert_string_equal(doc.items[1].id, "http://x/2");
	assert_true(tg_str_has_prefix(doc.items[2].id, "sha:"));
	assert_int_equal(strlen(doc.items[2].id), 4 + 16);
	assert_int_equal(strspn(doc.items[2].id + 4, "0123456789abcdef"), 16);
	/* same title, another date: another id */
	assert_string_not_equal(doc.items[2].id, doc.items[3].id);
	{
		/* the hash is stable across parses */
		struct tg_feed_doc again;

		parse_str(rss, &again);
		assert_string_equal(again.items[2].id, doc.items[2].id);
		assert_string_equal(again.items[4].id, doc.items[4].id);
		tg_feed_doc_clear(&again);
	}
	tg_feed_doc_clear(&doc);

	parse_str(atom, &doc);
	assert_int_equal(doc.nitems, 1);
	assert_string_equal(doc.items[0].id, "urn:uuid:1");
	assert_string_equal(doc.items[0].link, "http://x/a");
	tg_feed_doc_clear(&doc);
}

static void
test_duplicate_ids_keep_first(void **state)
{
	struct tg_feed_doc doc;
	struct tg_buf b;
	char tmp[256];

	(void)state;
	parse_str("<rss><channel>"
	    "<item><guid>g1</guid><title>first</title></item>"
	    "<item><guid>g2</guid><title>other</title></item>"
	    "<item><guid>g1</guid><title>second</title></item>"
	    "<item><link>http://x/own</link><title>own link</title></item>"
	    "<item><link>http://x/home</link><title>shared link one</title></item>"
	    "<item><link>http://x/home</link><title>shared link two</title></item>"
	    "<item><link>http://x/home</link><title>shared link two</title></item>"
	    "<item><guid>http://x/own</guid><title>guid equal to a link id</title></item>"
	    "</channel></rss>", &doc);
	assert_int_equal(doc.nitems, 5);
	assert_string_equal(doc.items[0].title, "first");
	assert_string_equal(doc.items[1].title, "other");
	/* a link only this item has is its id */
	assert_string_equal(doc.items[2].title, "own link");
	assert_string_equal(doc.items[2].id, "http://x/own");
	/* a link several items share is no id: they are told apart by their hash,
	 * and the exact repeat is dropped */
	assert_string_equal(doc.items[3].title, "shared link one");
	assert_string_equal(doc.items[4].title, "shared link two");
	assert_true(tg_str_has_prefix(doc.items[3].id, "sha:"));
	assert_true(tg_str_has_prefix(doc.items[4].id, "sha:"));
	assert_string_not_equal(doc.items[3].id, doc.items[4].id);
	assert_string_equal(doc.items[3].link, "http://x/home");
	tg_feed_doc_clear(&doc);

	/* many items, every third a repeat: the table grows and still finds them */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, "<rss><channel>");
	for (int i = 0; i < 600; i++) {
		snprintf(tmp, sizeof(tmp), "<item><guid>id-%d</guid><title>t%d</title></item>",
		    i % 3 == 2 ? i - 1 : i, i);
		tg_buf_append_str(&b, tmp);
	}
	tg_buf_append_str(&b, "</channel></rss>");
	parse_ok(b.data, b.len, NULL, NULL, &doc);
	assert_int_equal(doc.nitems, 400);
	for (size_t i = 1; i < doc.nitems; i++)
		assert_string_not_equal(doc.items[i].id, doc.items[i - 1].id);
	tg_feed_doc_clear(&doc);
	tg_buf_free(&b);
}

static void
test_text_in_title_and_summary(void **state)
{
	struct tg_feed_doc doc;

	(void)state;
	parse_str("<rss><channel><item>"
	    "<title>AT&amp;T &lt;b&gt;bold&lt;/b&gt; &#8220;q&#8221; &amp;eacute;</title>"
	    "<description><![CDATA[<p>Para&nbsp;one</p>\n\n<script>x()</script><p>two &amp; "
	    "<a href='z'>link</a></p>]]></description>"
	    "<guid>t1</guid></item>"
	    "<item><guid>t2</guid><title><![CDATA[Cdata <i>title</i> & more]]></title>"
	    "<description>  lots   of\n\n   space  </description></item>"
	    "</channel></rss>", &doc);
	assert_int_equal(doc.nitems, 2);
	assert_string_equal(doc.items[0].title,
	    "AT&T bold \xE2\x80\x9Cq\xE2\x80\x9D \xC3\xA9");
	assert_string_equal(doc.items[0].summary, "Para\xC2\xA0one two & link");
	assert_string_equal(doc.items[1].title, "Cdata title & more");
	assert_string_equal(doc.items[1].summary, "lots of space");
	tg_feed_doc_clear(&doc);

	/* Atom: type decides whether markup is text or HTML */
	parse_str("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>a</id>"
	    "<title type=\"text\">1 &lt; 2 &amp;amp; &lt;b&gt;</title>"
	    "<summary type=\"html\">&lt;em&gt;x&lt;/em&gt; &amp;amp; y</summary></entry>"
	    "<entry><id>b</id><title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">"
	    "A <b>bold</b> &amp; move</div></title>"
	    "<content type=\"image/png\">iVBORw0KGgo=</content></entry></feed>", &doc);
	assert_int_equal(doc.nitems, 2);
	assert_string_equal(doc.items[0].title, "1 < 2 &amp; <b>");
	assert_string_equal(doc.items[0].summary, "x & y");
	assert_string_equal(doc.items[1].title, "A bold & move");
	assert_null(doc.items[1].summary);
	tg_feed_doc_clear(&doc);
}

static void
test_links_rfc3986(void **state)
{
	static const char *const cases[][2] = {
		{ "g:h", "g:h" }, { "g", "http://a/b/c/g" }, { "./g", "http://a/b/c/g" },
		{ "g/", "http://a/b/c/g/" }, { "/g", "http://a/g" }, { "//g", "http://g" },
		{ "?y", "http://a/b/c/d;p?y" }, { "g?y", "http://a/b/c/g?y" },
		{ "#s", "http://a/b/c/d;p?q#s" }, { "g#s", "http://a/b/c/g#s" },
		{ "g?y#s", "http://a/b/c/g?y#s" }, { ";x", "http://a/b/c/;x" },
		{ "g;x", "http://a/b/c/g;x" }, { "g;x?y#s", "http://a/b/c/g;x?y#s" },
		{ ".", "http://a/b/c/" }, { "./", "http://a/b/c/" }, { "..", "http://a/b/" },
		{ "../", "http://a/b/" }, { "../g", "http://a/b/g" }, { "../..", "http://a/" },
		{ "../../", "http://a/" }, { "../../g", "http://a/g" },
		{ "../../../g", "http://a/g" }, { "../../../../g", "http://a/g" },
		{ "/./g", "http://a/g" }, { "/../g", "http://a/g" }, { "g.", "http://a/b/c/g." },
		{ ".g", "http://a/b/c/.g" }, { "g..", "http://a/b/c/g.." },
		{ "..g", "http://a/b/c/..g" }, { "./../g", "http://a/b/g" },
		{ "./g/.", "http://a/b/c/g/" }, { "g/./h", "http://a/b/c/g/h" },
		{ "g/../h", "http://a/b/c/h" }, { "g;x=1/./y", "http://a/b/c/g;x=1/y" },
		{ "g;x=1/../y", "http://a/b/c/y" },
		{ "  \n g \t", "http://a/b/c/g" }, { "a b", "http://a/b/c/a%20b" },
		{ "HTTP://Other.example/x/../y", "HTTP://Other.example/y" },
	};
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = tg_feed_link("http://a/b/c/d;p?q", cases[i][0], strlen(cases[i][0]));
		if (s == NULL || strcmp(s, cases[i][1]) != 0)
			fprintf(stderr, "\"%s\": want %s, got %s\n", cases[i][0], cases[i][1],
			    s ? s : "(null)");
		assert_non_null(s);
		assert_string_equal(s, cases[i][1]);
		free(s);
	}
	/* script URLs and empty links are dropped; no base keeps a relative link */
	assert_null(tg_feed_link("http://a/", "javascript:alert(1)", 19));
	assert_null(tg_feed_link("http://a/", "JavaScript:alert(1)", 19));
	assert_null(tg_feed_link("http://a/", "data:text/html,x", 16));
	assert_null(tg_feed_link("http://a/", "   ", 3));
	s = tg_feed_link(NULL, "/rel", 4);
	assert_string_equal(s, "/rel");
	free(s);
	s = tg_feed_link("http://host", "x", 1);
	assert_string_equal(s, "http://host/x");
	free(s);
}

static void
test_links_in_feeds(void **state)
{
	struct tg_feed_doc doc;

	(void)state;
	parse_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"http://b.example/a/\">"
	    "<link href=\"home\"/>"
	    "<entry xml:base=\"sub/\"><id>1</id><link href=\"../p1\"/></entry>"
	    "<entry><id>2</id><link href=\"p2\" xml:base=\"http://other.example/z/\"/></entry>"
	    "<entry><id>3</id><link href=\"javascript:evil()\"/></entry>"
	    "</feed>", &doc);
	assert_string_equal(doc.link, "http://b.example/a/home");
	assert_int_equal(doc.nitems, 3);
	assert_string_equal(doc.items[0].link, "http://b.example/a/p1");
	assert_string_equal(doc.items[1].link, "http://other.example/z/p2");
	assert_null(doc.items[2].link);
	tg_feed_doc_clear(&doc);

	/* an Atom link written as text, and links that are not alternates */
	parse_str("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>"
	    "<link rel=\"enclosure\">http://x/enclosure</link>"
	    "<link rel=\"alternate\">http://x/alternate</link></entry>"
	    "<entry><id>2</id><link rel=\"self\" href=\"http://x/self\"/>"
	    "<link rel=\"alternate\" type=\"application/pdf\" href=\"http://x/pdf\"/>"
	    "<link rel=\"alternate\" type=\"text/html\" href=\"http://x/html\"/></entry>"
	    "</feed>", &doc);
	assert_string_equal(doc.items[0].link, "http://x/alternate");
	assert_string_equal(doc.items[1].link, "http://x/html");
	tg_feed_doc_clear(&doc);

	/* RSS: relative links against the URL the feed came from */
	parse_str("<rss><channel><link>/</link><item><link>../story?id=1&amp;x=2</link></item>"
	    "</channel></rss>", &doc);
	assert_string_equal(doc.link, "https://feeds.example.com/");
	assert_string_equal(doc.items[0].link, "https://feeds.example.com/story?id=1&x=2");
	tg_feed_doc_clear(&doc);
}

static void
test_illformed_recovered(void **state)
{
	struct tg_feed_doc doc;

	(void)state;
	/* an unclosed <br> inside a description must not swallow the next items */
	parse_str("<rss><channel><title>T</title>"
	    "<item><title>one</title><description>a<br>b</description><guid>1</guid></item>"
	    "<item><title>two</title><guid>2</guid></item>"
	    "</channel></rss>", &doc);
	assert_true(doc.bozo);
	assert_non_null(doc.bozo_reason);
	assert_true(strstr(doc.bozo_reason, "line") != NULL);
	assert_int_equal(doc.nitems, 2);
	assert_string_equal(doc.items[0].summary, "a b");
	assert_string_equal(doc.items[1].title, "two");
	tg_feed_doc_clear(&doc);

	/* truncated in the middle of an item: what was read is kept */
	parse_str("<rss><channel><item><title>whole</title><guid>1</guid></item>"
	    "<item><title>cut</title><guid>2</guid><description>half", &doc);
	assert_true(doc.bozo);
	assert_int_equal(doc.nitems, 2);
	assert_string_equal(doc.items[1].title, "cut");
	tg_feed_doc_clear(&doc);

	/* undefined entities: the HTML ones decode, others stay as written */
	parse_str("<rss><channel><item><title>caf&eacute; &bogus; &amp;</title><guid>1</guid>"
	    "</item></channel></rss>", &doc);
	assert_true(doc.bozo);
	assert_string_equal(doc.items[0].title, "caf\xC3\xA9 &bogus; &");
	tg_feed_doc_clear(&doc);

	/* a well-formed feed is not bozo */
	parse_str("<rss><channel><item><title>fine</title></item></channel></rss>", &doc);
	assert_false(doc.bozo);
	assert_null(doc.bozo_reason);
	tg_feed_doc_clear(&doc);
}

static void
test_extensions_and_attributes(void **state)
{
	struct tg_feed_doc doc;

	(void)state;
	/* references in attribute values, HTML names included */
	parse_str("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>"
	    "<link href=\"http://x/?a=1&amp;b=2&amp;c=&eacute;\"/>"
	    "<category term=\"caf&eacute; &amp; bar\"/><category term=\"a &bogus; b\"/>"
	    "</entry></feed>", &doc);
	assert_int_equal(doc.nitems, 1);
	assert_string_equal(doc.items[0].link, "http://x/?a=1&b=2&c=\xC3\xA9");
	assert_int_equal(doc.items[0].ncategories, 2);
	assert_string_equal(doc.items[0].categories[0], "caf\xC3\xA9 & bar");
	assert_string_equal(doc.items[0].categories[1], "a &bogus; b");
	tg_feed_doc_clear(&doc);

	/* iTunes and Media RSS fill what the core elements leave empty */
	parse_str("<rss xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" "
	    "xmlns:media=\"http://search.yahoo.com/mrss/\"><channel>"
	    "<itunes:subtitle>Pod subtitle</itunes:subtitle>"
	    "<item><guid>1</guid><media:title>media title</media:title><title>real title</title>"
	    "<itunes:summary>pod summary</itunes:summary>"
	    "<itunes:category text=\"Tech\"><itunes:category text=\"Gadgets\"/></itunes:category>"
	    "</item>"
	    "<item><guid>2</guid><media:group><media:title>only media</media:title>"
	    "<media:description>media text</media:description>"
	    "<media:category>m-cat</media:category></media:group></item>"
	    "</channel></rss>", &doc);
	assert_string_equal(doc.subtitle, "Pod subtitle");
	assert_int_equal(doc.nitems, 2);
	assert_string_equal(doc.items[0].title, "real title");
	assert_string_equal(doc.items[0].summary, "pod summary");
	assert_int_equal(doc.items[0].ncategories, 2);
	assert_string_equal(doc.items[0].categories[1], "Gadgets");
	assert_string_equal(doc.items[1].title, "only media");
	assert_string_equal(doc.items[1].summary, "media text");
	assert_string_equal(doc.items[1].categories[0], "m-cat");
	tg_feed_doc_clear(&doc);

	/* RSS 1.0: rdf:about is the id when nothing better exists; authors; dates */
	parse_str("<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
	    "xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
	    "<item rdf:about=\"urn:about:1\"><title>t</title>"
	    "<dc:creator>Jo Smith (jo@example.com)</dc:creator>"
	    "<dc:author>jo@example.com (Jo Doe)</dc:author></item></rdf:RDF>", &doc);
	assert_int_equal(doc.nitems, 1);
	assert_string_equal(doc.items[0].id, "urn:about:1");
	assert_int_equal(doc.items[0].nauthors, 2);
	assert_string_equal(doc.items[0].authors[0], "Jo Smith");
	assert_string_equal(doc.items[0].authors[1], "Jo Doe");
	tg_feed_doc_clear(&doc);

	/* a repeated date overrides; an unreadable one does not */
	parse_str("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>"
	    "<updated>2010-12-01T10:14:55Z</updated><updated>2003-12-31T10:14:55Z</updated>"
	    "<updated>not a date</updated></entry></feed>", &doc);
	assert_string_equal(doc.items[0].updated, "2003-12-31T10:14:55Z");
	tg_feed_doc_clear(&doc);

	/* Atom 1.0 text of another media type is base64; an empty type is text */
	parse_str("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>"
	    "<title type=\"application/octet-stream\">RXhhbXBsZSA8Yj5BdG9tPC9iPg==</title>"
	    "<summary type=\"\">evil</summary></entry></feed>", &doc);
	assert_string_equal(doc.items[0].title, "Example Atom");
	assert_string_equal(doc.items[0].summary, "evil");
	tg_feed_doc_clear(&doc);

	/* an RSS root in a namespace nobody registered still reads */
	parse_str("<rss xmlns=\"http://backend.userland.com/rss2.1\"><channel>"
	    "<description>ns desc</description></channel></rss>", &doc);
	assert_string_equal(doc.subtitle, "ns desc");
	tg_feed_doc_clear(&doc);
}

static void
test_not_a_feed(void **state)
{
	static const char *const docs[] = {
		"",
		"   \n\t ",
		"just some text",
		"<!DOCTYPE html><html><head><title>x</title></head><body></body></html>",
		"<?xml version=\"1.0\"?><note><to>x</to></note>",
		"{\"hello\": \"world\"}",
		"{not json",
		"[1, 2, 3]",
		"<",
	};
	struct tg_feed_doc doc;
	size_t n;
	char *html;

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tg_feed_parse(docs[i], strlen(docs[i]), BASE, NULL, "f", NULL, &doc,
		    err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
		assert_int_equal(doc.nitems, 0);
		assert_null(doc.items);
	}
	html = read_fixture("notfeed.html", &n);
	assert_int_equal(tg_feed_parse(html, n, BASE, NULL, "f", NULL, &doc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "html"));
	free(html);
}

static void
test_caps(void **state)
{
	struct tg_feed_limits lim;
	struct tg_feed_doc doc;
	struct tg_buf b;
	const char *small = "<rss><channel><item><guid>1</guid></item><item><guid>2</guid></item>"
	    "<item><guid>3</guid></item></channel></rss>";

	(void)state;
	tg_feed_limits_default(&lim);
	assert_int_equal(lim.max_items, 1000);
	assert_int_equal(lim.max_bytes, 16 * 1024 * 1024);

	lim.max_items = 2;
	parse_ok(small, strlen(small), NULL, &lim, &doc);
	assert_int_equal(doc.nitems, 2);
	assert_string_equal(doc.items[0].id, "1");
	assert_string_equal(doc.items[1].id, "2");
	assert_false(doc.bozo);
	tg_feed_doc_clear(&doc);

	lim.max_items = 10;
	lim.max_bytes = strlen(small) - 1;
	assert_int_equal(tg_feed_parse(small, strlen(small), BASE, NULL, "f", &lim, &doc, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));

	/* field caps, cut on a character boundary */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, "<rss><channel><item><guid>x</guid><title>");
	for (int i = 0; i < TG_ITEM_MAX_TITLE; i++)
		tg_buf_append_str(&b, "\xE2\x82\xAC"); /* 3 bytes each */
	tg_buf_append_str(&b, "</title><description>");
	for (int i = 0; i < TG_ITEM_MAX_SUMMARY; i++)
		tg_buf_append_str(&b, "ab ");
	tg_buf_append_str(&b, "</description>");
	for (int i = 0; i < TG_ITEM_MAX_LIST + 10; i++)
		tg_buf_append_str(&b, "<category>c</category>");
	tg_buf_append_str(&b, "</item></channel></rss>");
	tg_feed_limits_default(&lim);
	parse_ok(b.data, b.len, NULL, &lim, &doc);
	assert_int_equal(doc.nitems, 1);
	assert_true(strlen(doc.items[0].title) <= TG_ITEM_MAX_TITLE);
	assert_int_equal(strlen(doc.items[0].title) % 3, 0);
	assert_true(strlen(doc.items[0].title) > TG_ITEM_MAX_TITLE - 3);
	assert_true(tg_utf8_valid(doc.items[0].title, strlen(doc.items[0].title)));
	assert_true(strlen(doc.items[0].summary) <= TG_ITEM_MAX_SUMMARY);
	assert_int_equal(doc.items[0].ncategories, TG_ITEM_MAX_LIST);
	tg_feed_doc_clear(&doc);
	tg_buf_free(&b);
}

static void
test_encodings(void **state)
{
	struct tg_feed_doc doc;
	/* "<rss><channel><title>é</title></channel></rss>" in UTF-16LE with a BOM */
	const char *ascii = "<rss><channel><title>\xE9t\xE9</title></channel></rss>";
	char u16[256];
	size_t n = 0;

	(void)state;
	u16[n++] = (char)0xFF;
	u16[n++] = (char)0xFE;
	for (const char *p = ascii; *p; p++) {
		u16[n++] = *p;
		u16[n++] = 0;
	}
	parse_ok(u16, n, NULL, NULL, &doc);
	assert_string_equal(doc.title, "\xC3\xA9t\xC3\xA9");
	tg_feed_doc_clear(&doc);

	/* UTF-16BE without a BOM, found from the byte pattern */
	n = 0;
	for (const char *p = "<rss><channel><title>x</title></channel></rss>"; *p; p++) {
		u16[n++] = 0;
		u16[n++] = *p;
	}
	parse_ok(u16, n, NULL, NULL, &doc);
	assert_string_equal(doc.title, "x");
	tg_feed_doc_clear(&doc);

	/* the XML declaration names the encoding */
	parse_str("<?xml version=\"1.0\" encoding=\"windows-1252\"?>"
	    "<rss><channel><title>\x93quoted\x94 \x80</title></channel></rss>", &doc);
	assert_string_equal(doc.title, "\xE2\x80\x9Cquoted\xE2\x80\x9D \xE2\x82\xAC");
	assert_false(doc.bozo);
	tg_feed_doc_clear(&doc);

	/* the HTTP charset wins over the declaration */
	{
		const char *s = "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		    "<rss><channel><title>caf\xE9</title></channel></rss>";

		parse_ok(s, strlen(s), "application/rss+xml; charset=\"ISO-8859-1\"", NULL, &doc);
		assert_string_equal(doc.title, "caf\xC3\xA9");
		tg_feed_doc_clear(&doc);
	}

	/* a UTF-8 BOM */
	parse_str("\xEF\xBB\xBF<rss><channel><title>bom</title></channel></rss>", &doc);
	assert_string_equal(doc.title, "bom");
	assert_false(doc.bozo);
	tg_feed_doc_clear(&doc);

	/* invalid UTF-8 among valid UTF-8, and control characters, are replaced; bozo */
	parse_str("<rss><channel><title>\xC3\xA9 a\xFF" "b\x01" "c</title></channel></rss>",
	    &doc);
	assert_string_equal(doc.title, "\xC3\xA9 a\xEF\xBF\xBD" "b c");
	assert_true(doc.bozo);
	tg_feed_doc_clear(&doc);

	/* unlabelled bytes that are not UTF-8 at all are windows-1252 */
	parse_str("<rss><channel><title>caf\xE9 \x93q\x94</title></channel></rss>", &doc);
	assert_string_equal(doc.title, "caf\xC3\xA9 \xE2\x80\x9Cq\xE2\x80\x9D");
	assert_false(doc.bozo);
	tg_feed_doc_clear(&doc);

	/* the same bytes labelled UTF-8: read the same way, but the label was wrong */
	parse_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<rss><channel><title>caf\xE9</title></channel></rss>", &doc);
	assert_string_equal(doc.title, "caf\xC3\xA9");
	assert_true(doc.bozo);
	tg_feed_doc_clear(&doc);

	/* an encoding nobody knows: read as UTF-8, bozo */
	parse_str("<?xml version=\"1.0\" encoding=\"x-no-such\"?>"
	    "<rss><channel><title>ok</title></channel></rss>", &doc);
	assert_string_equal(doc.title, "ok");
	assert_true(doc.bozo);
	tg_feed_doc_clear(&doc);
}

static void
test_hostile_xml(void **state)
{
	struct tg_feed_doc doc;
	struct tg_buf b;
	char tmp[128];

	(void)state;
	/* external entities are never loaded */
	parse_str("<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "
	    "\"file:///etc/passwd\">]><rss><channel><title>a&xxe;b</title></channel></rss>", &doc);
	assert_null(strstr(doc.title, "root:"));
	tg_feed_doc_clear(&doc);

	/* internal entities expand once, as text: no amplification */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY e0 \"ha\">");
	for (int i = 1; i < 10; i++) {
		snprintf(tmp, sizeof(tmp), "<!ENTITY e%d \"&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;\">", i,
		    i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
		tg_buf_append_str(&b, tmp);
	}
	tg_buf_append_str(&b, "]><rss><channel><title>&e0; &e9;</title>"
	    "<item><title>&e0;</title><guid>1</guid></item></channel></rss>");
	parse_ok(b.data, b.len, NULL, NULL, &doc);
	assert_true(strlen(doc.title) < 200);
	assert_true(tg_str_has_prefix(doc.title, "ha "));
	assert_int_equal(doc.nitems, 1);
	assert_string_equal(doc.items[0].title, "ha");
	tg_feed_doc_clear(&doc);
	tg_buf_free(&b);

	/* deep nesting stops at libxml2's bound without a crash */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, "<rss><channel><item><guid>deep</guid>");
	for (int i = 0; i < 5000; i++)
		tg_buf_append_str(&b, "<x>");
	tg_buf_append_str(&b, "</item></channel></rss>");
	parse_ok(b.data, b.len, NULL, NULL, &doc);
	assert_true(doc.bozo);
	tg_feed_doc_clear(&doc);
	tg_buf_free(&b);
}

static void
test_json_feed_hostile(void **state)
{
	struct tg_feed_doc doc;
	struct tg_buf b;

	(void)state;
	/* NUL inside a string is refused by the decoder */
	{
		const char *s = "{\"version\": \"https://jsonfeed.org/version/1\", "
		    "\"items\": [{\"id\": \"a\\u0000b\"}]}";

		assert_int_equal(tg_feed_parse(s, strlen(s), BASE, NULL, "f", NULL, &doc, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "NUL"));
	}

	/* absurd nesting is refused */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, "{\"version\": \"https://jsonfeed.org/version/1\", \"x\": ");
	for (int i = 0; i < 100000; i++)
		tg_buf_append_str(&b, "[");
	assert_int_equal(tg_feed_parse(b.data, b.len, BASE, NULL, "f", NULL, &doc, err,
	    sizeof(err)), -1);
	tg_buf_free(&b);

	/* a huge title is cut to the cap */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": "
	    "[{\"id\": \"1\", \"title\": \"");
	for (int i = 0; i < 100000; i++)
		tg_buf_append_str(&b, "\\u00e9");
	tg_buf_append_str(&b, "\"}]}");
	parse_ok(b.data, b.len, NULL, NULL, &doc);
	assert_int_equal(doc.nitems, 1);
	assert_true(strlen(doc.items[0].title) <= TG_ITEM_MAX_TITLE);
	assert_true(tg_utf8_valid(doc.items[0].title, strlen(doc.items[0].title)));
	tg_feed_doc_clear(&doc);
	tg_buf_free(&b);

	/* items that are not objects, ids that are numbers */
	parse_str("{\"version\": \"https://jsonfeed.org/version/1\", \"items\": "
	    "[1, \"x\", null, {\"id\": 7, \"content_text\": \"t\"}]}", &doc);
	assert_int_equal(doc.nitems, 1);
	assert_string_equal(doc.items[0].id, "7");
	tg_feed_doc_clear(&doc);
}

/* The documented limits on one JSON string, in source bytes between its quotes,
 * and on a whole JSON Feed document. */
#define JSON_MAX_STRING 1048576
#define JSON_MAX_DOCUMENT 6291456
#define LIMIT_HEAD "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": " \
    "[{\"id\": \"1\", \"title\": \""

/* Parse LIMIT_HEAD, body, then the end of the feed. */
static int
parse_with_title(const char *body, size_t n, struct tg_feed_doc *doc)
{
	struct tg_buf b;
	int rc;

	tg_buf_init(&b, 0);
	assert_int_equal(tg_buf_append_str(&b, LIMIT_HEAD), 0);
	assert_int_equal(tg_buf_append(&b, body, n), 0);
	assert_int_equal(tg_buf_append_str(&b, "\"}]}"), 0);
	rc = tg_feed_parse(b.data, b.len, BASE, NULL, "f", NULL, doc, err, sizeof(err));
	tg_buf_free(&b);
	return rc;
}

static void
expect_too_long(size_t at)
{
	char want[128];

	snprintf(want, sizeof(want), "JSON Feed: string at byte %zu is longer than %d bytes", at,
	    JSON_MAX_STRING);
	assert_string_equal(err, want);
}

/* A JSON string longer than the limit refuses the document before decoding;
 * escaped quotes and backslashes are judged right. */
static void
test_json_string_limit(void **state)
{
	const size_t title_at = sizeof(LIMIT_HEAD) - 2; /* the title's opening quote */
	char *body = tg_malloc(JSON_MAX_STRING + 2);
	struct tg_feed_doc doc;
	struct tg_buf b;

	(void)state;
	/* just under and at the limit: decoded, the title cut to its cap */
	memset(body, 'a', JSON_MAX_STRING + 1);
	assert_int_equal(parse_with_title(body, JSON_MAX_STRING - 1, &doc), 0);
	assert_int_equal(strlen(doc.items[0].title), TG_ITEM_MAX_TITLE);
	tg_feed_doc_clear(&doc);
	assert_int_equal(parse_with_title(body, JSON_MAX_STRING, &doc), 0);
	tg_feed_doc_clear(&doc);
	/* one byte over: refused, naming where the string starts */
	assert_int_equal(parse_with_title(body, JSON_MAX_STRING + 1, &doc), -1);
	expect_too_long(title_at);

	/* escaped quotes do not end a string: \" pairs over the limit are refused */
	for (size_t i = 0; i + 1 < JSON_MAX_STRING + 2; i += 2)
		memcpy(body + i, "\\\"", 2);
	assert_int_equal(parse_with_title(body, JSON_MAX_STRING, &doc), 0);
	assert_int_equal(doc.items[0].title[0], '"');
	tg_feed_doc_clear(&doc);
	assert_int_equal(parse_with_title(body, JSON_MAX_STRING + 2, &doc), -1);
	expect_too_long(title_at);

	/* an escaped backslash before a quote ends the string: many short strings
	 * ending in \\, together far over the limit, are fine */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [");
	for (int i = 0; i < 3000; i++) {
		char item[600];

		snprintf(item, sizeof(item), "%s{\"id\": \"%d\\\\\", \"title\": \"%0500d\\\\\"}",
		    i ? ", " : "", i, i);
		assert_int_equal(tg_buf_append_str(&b, item), 0);
	}
	tg_buf_append_str(&b, "]}");
	assert_true(b.len > 3 * JSON_MAX_STRING / 2);
	parse_ok(b.data, b.len, NULL, NULL, &doc);
	assert_int_equal(doc.nitems, 1000); /* max_items_per_feed */
	assert_string_equal(doc.items[0].id, "0\\");
	tg_feed_doc_clear(&doc);
	/* ... and a long string after them is found at its own offset */
	b.len -= 2;
	tg_buf_append_str(&b, ", {\"id\": \"x\", \"content_html\": \"");
	{
		size_t at = b.len - 1;

		memset(body, 'b', JSON_MAX_STRING + 1);
		tg_buf_append(&b, body, JSON_MAX_STRING + 1);
		tg_buf_append_str(&b, "\"}]}");
		assert_int_equal(tg_feed_parse(b.data, b.len, BASE, NULL, "f", NULL, &doc, err,
		    sizeof(err)), -1);
		expect_too_long(at);
	}
	tg_buf_free(&b);

	/* an unterminated long string is refused too (by the limit) */
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, LIMIT_HEAD);
	tg_buf_append(&b, body, JSON_MAX_STRING + 1);
	assert_int_equal(tg_feed_parse(b.data, b.len, BASE, NULL, "f", NULL, &doc, err,
	    sizeof(err)), -1);
	expect_too_long(title_at);
	tg_buf_free(&b);
	/* ... and a short one by the decoder */
	assert_int_equal(tg_feed_parse(LIMIT_HEAD "abc", sizeof(LIMIT_HEAD) + 2, BASE, NULL, "f",
	    NULL, &doc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid JSON"));
	free(body);
}

static void
test_doc_json_shape(void **state)
{
	struct tg_feed_doc doc;
	json_t *j, *e;

	(void)state;
	parse_str("<rss><channel><title>t</title><item><guid>1</guid></item></channel></rss>",
	    &doc);
	j = tg_feed_doc_to_json(&doc);
	assert_string_equal(json_string_value(json_object_get(j, "version")), "rss20");
	assert_true(json_is_false(json_object_get(j, "bozo")));
	assert_true(json_is_null(json_object_get(j, "bozo_reason")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "feed"),
	    "title")), "t");
	assert_null(json_object_get(json_object_get(j, "feed"), "link"));
	e = json_array_get(json_object_get(j, "entries"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "id")), "1");
	assert_null(json_object_get(e, "title"));
	assert_null(json_object_get(e, "authors"));
	json_decref(j);
	tg_feed_doc_clear(&doc);
	/* clearing twice is safe */
	tg_feed_doc_clear(&doc);
}

/* Found by fuzz_feed: an encoding name with bytes that are not UTF-8 was quoted
 * as is into bozo_reason, which then could not be written as JSON. */
static void
test_fuzz_bozo_reason_utf8(void **state)
{
	static const char feed[] = "<?xml version=\"1.0\" encoding=\"I\xccO-8859-1\"?>"
	    "<rss version=\"0.91\"><channel><title>t</title></channel></rss>";
	struct tg_feed_doc doc;
	json_t *j;

	(void)state;
	parse_ok(feed, sizeof(feed) - 1, NULL, NULL, &doc);
	assert_true(doc.bozo);
	assert_non_null(doc.bozo_reason);
	assert_true(tg_utf8_valid(doc.bozo_reason, strlen(doc.bozo_reason)));
	j = tg_feed_doc_to_json(&doc);
	assert_true(json_is_string(json_object_get(j, "bozo_reason")));
	json_decref(j);
	tg_feed_doc_clear(&doc);
}

/* Found by fuzz_feed: libxml2 keeps only the first byte of an HTML entity in an
 * attribute value, which left a link that was not UTF-8. */
static void
test_fuzz_link_utf8(void **state)
{
	static const char feed[] = "<?<feed><link href=\"&nbsp;";
	struct tg_feed_doc doc;
	char *link;

	(void)state;
	parse_ok(feed, sizeof(feed) - 1, NULL, NULL, &doc);
	assert_non_null(doc.link);
	assert_true(tg_utf8_valid(doc.link, strlen(doc.link)));
	tg_feed_doc_clear(&doc);
	/* bytes that are not UTF-8 are escaped, characters that are kept */
	link = tg_feed_link(NULL, "http://a.example/\xc2x\xc3\xa9", 21);
	assert_string_equal(link, "http://a.example/%C2x\xc3\xa9");
	free(link);
}

/* A JSON Feed document up to the document limit is decoded; one byte more is
 * refused before decoding, with the size and the limit. */
static void
test_json_document_limit(void **state)
{
	static const char head[] = "{\"version\": \"https://jsonfeed.org/version/1.1\", "
	    "\"items\": [{\"id\": \"1\", \"title\": \"t\"}], \"pad\": [";
	struct tg_feed_doc doc;
	struct tg_buf b;
	char want[128];

	(void)state;
	tg_buf_init(&b, 0);
	tg_buf_append_str(&b, head);
	while (b.len + 16 + 3 <= JSON_MAX_DOCUMENT)
		tg_buf_append_str(&b, "\"abcdefghijkl\", ");
	while (b.len + 3 < JSON_MAX_DOCUMENT)
		tg_buf_append(&b, " ", 1);
	tg_buf_append_str(&b, "1]}");
	assert_int_equal(b.len, JSON_MAX_DOCUMENT);
	parse_ok(b.data, b.len, NULL, NULL, &doc);
	assert_int_equal(doc.nitems, 1);
	tg_feed_doc_clear(&doc);
	b.len -= 3;
	tg_buf_append_str(&b, " 1]}");
	assert_int_equal(tg_feed_parse(b.data, b.len, BASE, NULL, "f", NULL, &doc, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "JSON Feed: the document is %d bytes, over the %d-byte limit",
	    JSON_MAX_DOCUMENT + 1, JSON_MAX_DOCUMENT);
	assert_string_equal(err, want);
	tg_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_rss20),
		cmocka_unit_test(test_fixture_rss10),
		cmocka_unit_test(test_fixture_atom10),
		cmocka_unit_test(test_fixture_atom03),
		cmocka_unit_test(test_fixture_rss091_latin1),
		cmocka_unit_test(test_fixture_json11),
		cmocka_unit_test(test_fixture_illformed),
		cmocka_unit_test(test_formats_detected_from_content),
		cmocka_unit_test(test_id_rules),
		cmocka_unit_test(test_duplicate_ids_keep_first),
		cmocka_unit_test(test_text_in_title_and_summary),
		cmocka_unit_test(test_links_rfc3986),
		cmocka_unit_test(test_links_in_feeds),
		cmocka_unit_test(test_illformed_recovered),
		cmocka_unit_test(test_extensions_and_attributes),
		cmocka_unit_test(test_not_a_feed),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_hostile_xml),
		cmocka_unit_test(test_json_feed_hostile),
		cmocka_unit_test(test_json_string_limit),
		cmocka_unit_test(test_json_document_limit),
		cmocka_unit_test(test_doc_json_shape),
		cmocka_unit_test(test_fuzz_bozo_reason_utf8),
		cmocka_unit_test(test_fuzz_link_utf8),
	};

	tg_feed_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests of the plain-text helpers: UTF-8 decoding, validation, repair and
 * cutting; HTML character references; tag stripping and whitespace collapsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/text.h"
#include "../../common/util.h"

/* tg_text_plain of a NUL-terminated string, compared with want. */
static void
check_plain(const char *in, enum tg_text_mode mode, size_t max, const char *want)
{
	size_t len = 99;
	char *got = tg_text_plain(in, strlen(in), mode, max, &len);

	if (strcmp(got, want) != 0)
		fprintf(stderr, "in \"%s\" mode %d: want \"%s\", got \"%s\"\n", in, (int)mode, want,
		    got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	assert_true(len <= max);
	assert_true(tg_utf8_valid(got, len));
	free(got);
}

static void
test_utf8_decode(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(tg_utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(tg_utf8_decode("\xC3\xA9", 2, &cp), 2);
	assert_int_equal(cp, 0xE9);
	assert_int_equal(tg_utf8_decode("\xE2\x80\xA6", 3, &cp), 3);
	assert_int_equal(cp, 0x2026);
	assert_int_equal(tg_utf8_decode("\xF0\x9F\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1F600);
	/* truncated, overlong, surrogate, past U+10FFFF, stray continuation */
	assert_int_equal(tg_utf8_decode("\xC3", 1, &cp), 0);
	assert_int_equal(tg_utf8_decode("\xC0\xAF", 2, &cp), 0);
	assert_int_equal(tg_utf8_decode("\xE0\x80\xAF", 3, &cp), 0);
	assert_int_equal(tg_utf8_decode("\xED\xA0\x80", 3, &cp), 0);
	assert_int_equal(tg_utf8_decode("\xF4\x90\x80\x80", 4, &cp), 0);
	assert_int_equal(tg_utf8_decode("\x80", 1, &cp), 0);
	assert_int_equal(tg_utf8_decode("\xE2\x28\xA1", 3, &cp), 0);
}

static void
test_utf8_encode(void **state)
{
	char b[4];

	(void)state;
	assert_int_equal(tg_utf8_encode('x', b), 1);
	assert_int_equal(tg_utf8_encode(0xE9, b), 2);
	assert_memory_equal(b, "\xC3\xA9", 2);
	assert_int_equal(tg_utf8_encode(0x20AC, b), 3);
	assert_memory_equal(b, "\xE2\x82\xAC", 3);
	assert_int_equal(tg_utf8_encode(0x1F600, b), 4);
	assert_memory_equal(b, "\xF0\x9F\x98\x80", 4);
	assert_int_equal(tg_utf8_encode(0xD800, b), 3);
	assert_memory_equal(b, "\xEF\xBF\xBD", 3);
	assert_int_equal(tg_utf8_encode(0x110000, b), 3);
	assert_memory_equal(b, "\xEF\xBF\xBD", 3);
}

static void
test_utf8_valid_and_sanitize(void **state)
{
	struct tg_buf b;
	const char bad[] = "a\xFF" "b\xC3" "c\xE2\x82\xAC";

	(void)state;
	assert_true(tg_utf8_valid("plain \xC3\xA9t\xC3\xA9", 11));
	assert_false(tg_utf8_valid(bad, sizeof(bad) - 1));
	tg_buf_init(&b, 0);
	assert_int_equal(tg_utf8_sanitize(&b, bad, sizeof(bad) - 1), 0);
	assert_string_equal(b.data, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xE2\x82\xAC");
	assert_true(tg_utf8_valid(b.data, b.len));
	tg_buf_free(&b);

	/* The ASCII fast path (eight bytes at a time) must still see a bad byte,
	 * a truncated or overlong sequence at every position after a long ASCII
	 * run, and stop reading at n. */
	for (size_t pre = 0; pre < 20; pre++) {
		char t[40];

		memset(t, 'a', sizeof(t));
		memcpy(t + pre, "\xC3\xA9", 2);
		assert_true(tg_utf8_valid(t, pre + 2));
		assert_true(tg_utf8_valid(t, sizeof(t)));
		assert_false(tg_utf8_valid(t, pre + 1)); /* cut inside the character */
		t[pre] = (char)0xFF;
		assert_false(tg_utf8_valid(t, sizeof(t)));
		memcpy(t + pre, "\xC0\xAF", 2); /* overlong '/' */
		assert_false(tg_utf8_valid(t, sizeof(t)));
		assert_true(tg_utf8_valid(t, pre)); /* the bad bytes lie past n */
	}

	/* A cap that falls inside a character keeps whole characters only. */
	tg_buf_init(&b, 4);
	assert_int_equal(tg_utf8_sanitize(&b, "ab\xE2\x82\xAC", 5), -1);
	assert_string_equal(b.data, "ab");
	tg_buf_free(&b);
}

static void
test_utf8_cut(void **state)
{
	const char *s = "a\xC3\xA9\xE2\x82\xAC";

	(void)state;
	assert_int_equal(tg_utf8_cut(s, 6, 10), 6);
	assert_int_equal(tg_utf8_cut(s, 6, 6), 6);
	assert_int_equal(tg_utf8_cut(s, 6, 5), 3);
	assert_int_equal(tg_utf8_cut(s, 6, 4), 3);
	assert_int_equal(tg_utf8_cut(s, 6, 3), 3);
	assert_int_equal(tg_utf8_cut(s, 6, 2), 1);
	assert_int_equal(tg_utf8_cut(s, 6, 0), 0);
}

static void
test_entities(void **state)
{
	(void)state;
	assert_int_equal(tg_html_entity("amp", 3), '&');
	assert_int_equal(tg_html_entity("eacute", 6), 0xE9);
	assert_int_equal(tg_html_entity("Eacute", 6), 0xC9);
	assert_int_equal(tg_html_entity("hellip", 6), 0x2026);
	assert_int_equal(tg_html_entity("nbsp", 4), 0xA0);
	assert_int_equal(tg_html_entity("apos", 4), '\'');
	assert_int_equal(tg_html_entity("zwnj", 4), 0x200C);
	assert_int_equal(tg_html_entity("AElig", 5), 0xC6);
	assert_int_equal(tg_html_entity("bogus", 5), 0);
	assert_int_equal(tg_html_entity("am", 2), 0);
	assert_int_equal(tg_html_entity("ampx", 4), 0);
	assert_int_equal(tg_html_numeric(0x41), 'A');
	assert_int_equal(tg_html_numeric(0x92), 0x2019);
	assert_int_equal(tg_html_numeric(0x80), 0x20AC);
	assert_int_equal(tg_html_numeric(0x81), 0xFFFD);
	assert_int_equal(tg_html_numeric(0), 0xFFFD);
	assert_int_equal(tg_html_numeric(0xDC00), 0xFFFD);
	assert_int_equal(tg_html_numeric(0x110000), 0xFFFD);
}

static void
test_plain_whitespace(void **state)
{
	(void)state;
	check_plain("  hello \t\n  world  ", TG_TEXT_PLAIN, 100, "hello world");
	check_plain("", TG_TEXT_PLAIN, 100, "");
	check_plain(" \r\n\t ", TG_TEXT_PLAIN, 100, "");
	/* plain mode keeps markup and references as they are */
	check_plain("a <b> &amp; c", TG_TEXT_PLAIN, 100, "a <b> &amp; c");
	/* control characters vanish, invalid bytes become U+FFFD */
	check_plain("a\x01\x02" "b\x7f" "c", TG_TEXT_PLAIN, 100, "abc");
	check_plain("x\xFFy", TG_TEXT_PLAIN, 100, "x\xEF\xBF\xBDy");
	/* C1 controls are windows-1252 text read as Latin-1 */
	check_plain("don\xC2\x92t \xC2\x80 x\xC2\x81y", TG_TEXT_PLAIN, 100,
	    "don\xE2\x80\x99t \xE2\x82\xAC xy");
	/* UTF-8 read as Latin-1 is put back together; real Latin-1 text is left alone */
	check_plain("a\xC3\xA2\xC2\x80\xC2\xA6z", TG_TEXT_PLAIN, 100, "a\xE2\x80\xA6z");
	check_plain("\xC3\xA2\xC2\xA9", TG_TEXT_PLAIN, 100, "\xC3\xA2\xC2\xA9");
	check_plain("\xC3\xA2\xC2\x80", TG_TEXT_PLAIN, 100, "\xC3\xA2\xE2\x82\xAC");
	/* no-break space is content, not whitespace */
	check_plain("a\xC2\xA0" "b", TG_TEXT_PLAIN, 100, "a\xC2\xA0" "b");
}

static void
test_plain_entities(void **state)
{
	(void)state;
	check_plain("AT&amp;T &lt;b&gt;", TG_TEXT_ENTITIES, 100, "AT&T <b>");
	check_plain("caf&eacute; &#233; &#xE9; &#XE9;", TG_TEXT_ENTITIES, 100,
	    "caf\xC3\xA9 \xC3\xA9 \xC3\xA9 \xC3\xA9");
	check_plain("&#8217;&#146;&hellip;", TG_TEXT_ENTITIES, 100,
	    "\xE2\x80\x99\xE2\x80\x99\xE2\x80\xA6");
	check_plain("&bogus; & &; &#; &#x;", TG_TEXT_ENTITIES, 100, "&bogus; & &; &#; &#x;");
	check_plain("&amp &lt x &copy x", TG_TEXT_ENTITIES, 100, "& < x &copy x");
	check_plain("&#0; &#99999999999;", TG_TEXT_ENTITIES, 100, "\xEF\xBF\xBD \xEF\xBF\xBD");
	check_plain("&#65abc", TG_TEXT_ENTITIES, 100, "Aabc");
	check_plain("a&nbsp;&nbsp;b", TG_TEXT_ENTITIES, 100, "a\xC2\xA0\xC2\xA0" "b");
	/* a decoded space still collapses */
	check_plain("a&#32;&#32; b", TG_TEXT_ENTITIES, 100, "a b");
	/* entities mode leaves tags */
	check_plain("<b>x</b>", TG_TEXT_ENTITIES, 100, "<b>x</b>");
}

static void
test_plain_html(void **state)
{
	(void)state;
	check_plain("<p>Hello <b>world</b></p><p>again</p>", TG_TEXT_HTML, 100,
	    "Hello world again");
	check_plain("one<br>two<br/>three", TG_TEXT_HTML, 100, "one two three");
	check_plain("in<b>line</b>", TG_TEXT_HTML, 100, "inline");
	check_plain("<a href=\"x?a=1&amp;b=2\" title='a > b'>link</a>", TG_TEXT_HTML, 100, "link");
	check_plain("x<!-- comment <b> -->y", TG_TEXT_HTML, 100, "xy");
	check_plain("x<script>alert('<b>')</script>y<style>p{}</style>z", TG_TEXT_HTML, 100,
	    "xyz");
	check_plain("x<SCRIPT type=x>bad</SCRIPT >y", TG_TEXT_HTML, 100, "xy");
	check_plain("<![CDATA[a &amp; <b>]]>", TG_TEXT_HTML, 100, "a &amp; <b>");
	check_plain("5 < 6 and 7 > 3", TG_TEXT_HTML, 100, "5 < 6 and 7 > 3");
	check_plain("a <b", TG_TEXT_HTML, 100, "a <b");
	check_plain("<?xml x?><!DOCTYPE html>text", TG_TEXT_HTML, 100, "text");
	check_plain("&lt;b&gt;not a tag&lt;/b&gt;", TG_TEXT_HTML, 100, "<b>not a tag</b>");
	check_plain("<div>\n  <p>  spaced   out </p>\n</div>", TG_TEXT_HTML, 100, "spaced out");
	check_plain("x<!-- unterminated", TG_TEXT_HTML, 100, "x");
	check_plain("x<script>never closed", TG_TEXT_HTML, 100, "x");
}

static void
test_plain_cap(void **state)
{
	size_t len;
	char *s;

	(void)state;
	check_plain("hello world", TG_TEXT_PLAIN, 5, "hello");
	check_plain("hello world", TG_TEXT_PLAIN, 6, "hello");
	check_plain("hello world", TG_TEXT_PLAIN, 7, "hello w");
	/* never split a character */
	check_plain("ab\xE2\x82\xAC", TG_TEXT_PLAIN, 4, "ab");
	check_plain("ab&euro;cd", TG_TEXT_HTML, 4, "ab");
	check_plain("ab&euro;cd", TG_TEXT_HTML, 5, "ab\xE2\x82\xAC");
	check_plain("abc", TG_TEXT_PLAIN, 0, "");
	/* a large input with a small cap */
	s = tg_malloc(100000);
	memset(s, 'x', 100000);
	free(tg_text_plain(s, 100000, TG_TEXT_HTML, 10, &len));
	assert_int_equal(len, 10);
	free(s);
}

/* Every result is valid UTF-8, within its cap, whatever bytes come in. */
static void
test_plain_garbage(void **state)
{
	unsigned char buf[512];
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t len, n = (size_t)(x % sizeof(buf));
		char *out;

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (unsigned char)(x & 0xFF);
			if ((x >> 8) % 4 == 0)
				buf[i] = (unsigned char)"<>&;#x/!-[]ab \n"[(x >> 16) % 15];
		}
		out = tg_text_plain((const char *)buf, n, (enum tg_text_mode)(round % 3),
		    (size_t)(round % 64) + 1, &len);
		assert_true(len <= (size_t)(round % 64) + 1);
		assert_int_equal(strlen(out), len);
		assert_true(tg_utf8_valid(out, len));
		if (len > 0) {
			assert_true(out[0] != ' ');
			assert_true(out[len - 1] != ' ');
		}
		free(out);
	}
}

/* Reference whitespace collapsing for printable ASCII input. */
static size_t
collapse_ref(const char *in, size_t n, char *out)
{
	size_t o = 0;
	int pending = 0;

	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			pending = o > 0;
			continue;
		}
		if (pending)
			out[o++] = ' ';
		pending = 0;
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

/* The eight-bytes-at-a-time path must agree with plain collapsing everywhere,
 * whatever the alignment of spaces and runs. */
static void
test_plain_matches_reference(void **state)
{
	static const char alphabet[] = "abcdefgh    \t\n.,;";
	char in[300], want[300];
	uint64_t x = 0x9E3779B97F4A7C15ULL;

	(void)state;
	for (int round = 0; round < 5000; round++) {
		size_t n = (size_t)(round % 299), len;
		char *got;

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		collapse_ref(in, n, want);
		got = tg_text_plain(in, n, (enum tg_text_mode)(round % 3), 1000, &len);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "in \"%.*s\": want \"%s\", got \"%s\"\n", (int)n, in, want, got);
		assert_string_equal(got, want);
		assert_null(strstr(got, "  "));
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_utf8_encode),
		cmocka_unit_test(test_utf8_valid_and_sanitize),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_plain_whitespace),
		cmocka_unit_test(test_plain_entities),
		cmocka_unit_test(test_plain_html),
		cmocka_unit_test(test_plain_cap),
		cmocka_unit_test(test_plain_garbage),
		cmocka_unit_test(test_plain_matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

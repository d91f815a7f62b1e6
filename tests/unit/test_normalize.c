/*
 * Tests for workers/normalize.c: punctuation and diacritics folding, entity
 * decoding, whitespace, hyphens and line-break hyphenation, and the map from
 * every normalised byte back to the original bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../workers/normalize.h"

static void
norm(struct tg_norm *n, const char *s)
{
	assert_int_equal(tg_norm_run(n, s, strlen(s)), 0);
}

/* The original bytes behind normalised span [s,e). */
static void
assert_span(const struct tg_norm *n, const char *orig, size_t s, size_t e, const char *want)
{
	uint32_t os, oe;
	char buf[256];

	tg_norm_span(n, s, e, &os, &oe);
	assert_true(oe >= os && oe - os < sizeof(buf));
	memcpy(buf, orig + os, oe - os);
	buf[oe - os] = '\0';
	assert_string_equal(buf, want);
}

static void
test_ascii_identity(void **state)
{
	struct tg_norm n;
	const char *s = "US strikes Kata'ib Hezbollah in Iraq.";
	uint32_t os, oe;

	(void)state;
	tg_norm_init(&n, 0);
	norm(&n, s);
	assert_string_equal(n.text, s);
	for (size_t i = 0; i < n.len; i++) {
		tg_norm_span(&n, i, i + 1, &os, &oe);
		assert_int_equal(os, i);
		assert_int_equal(oe, i + 1);
	}
	/* Plain text is one segment. */
	assert_int_equal(n.nseg, 1);
	tg_norm_free(&n);
}

static void
test_curly_apostrophe(void **state)
{
	struct tg_norm n;
	const char *s = "Kata\xe2\x80\x99ib Hezbollah\xe2\x80\x99s \xe2\x80\x9c" "chief\xe2\x80\x9d";
	const char *p;

	(void)state;
	tg_norm_init(&n, 0);
	norm(&n, s);
	assert_string_equal(n.text, "Kata'ib Hezbollah's \"chief\"");
	/* The apostrophe maps to all three bytes of U+2019. */
	assert_span(&n, s, 4, 5, "\xe2\x80\x99");
	assert_span(&n, s, 5, 6, "i");
	p = strstr(n.text, "Hezbollah");
	assert_span(&n, s, 0, (size_t)(p - n.text) + 9, "Kata\xe2\x80\x99ib Hezbollah");
	assert_span(&n, s, (size_t)(p - n.text), (size_t)(p - n.text) + 11,
	    "Hezbollah\xe2\x80\x99s");
	/* Other apostrophe look-alikes: modifier letters and backtick. */
	norm(&n, "Asa\xca\xbfib, Kata\xca\xbcib, Kata`ib, Kata\xe2\x80\x98ib");
	assert_string_equal(n.text, "Asa'ib, Kata'ib, Kata'ib, Kata'ib");
	tg_norm_free(&n);
}

static void
test_diacritics(void **state)
{
	struct tg_norm n;
	const char *s = "Q\xc4\x81sem Soleim\xc4\x81n\xc4\xab met \xe1\xb8\xa4" "ashd in T\xc3\xbcrkiye";
	const char *p;

	(void)state;
	tg_norm_init(&n, 0);
	norm(&n, s);
	assert_string_equal(n.text, "Qasem Soleimani met Hashd in Turkiye");
	p = strstr(n.text, "Soleimani");
	assert_span(&n, s, (size_t)(p - n.text), (size_t)(p - n.text) + 9,
	    "Soleim\xc4\x81n\xc4\xab");
	p = strstr(n.text, "Hashd");
	assert_span(&n, s, (size_t)(p - n.text), (size_t)(p - n.text) + 5, "\xe1\xb8\xa4" "ashd");
	/* Decomposed form: a combining mark is dropped and kept in the span. */
	norm(&n, "Ara\xcc\x84ghchi");
	assert_string_equal(n.text, "Araghchi");
	assert_span(&n, "Ara\xcc\x84ghchi", 0, 3, "Ara\xcc\x84");
	/* Ligature and sharp s grow no longer than their source. */
	norm(&n, "\xef\xac\x81nance Stra\xc3\x9f" "e");
	assert_string_equal(n.text, "finance Strasse");
	tg_norm_free(&n);
}

static void
test_whitespace_and_hyphens(void **state)
{
	struct tg_norm n;
	const char *s;

	(void)state;
	tg_norm_init(&n, 0);
	norm(&n, "  Hashd\n\t al-Shaabi \r\n");
	assert_string_equal(n.text, "Hashd al Shaabi");
	/* A hyphen at a line break before a capital stays (read as a space inside
	 * the word), the break goes. */
	s = "Mohammed Shia al-\nSudani";
	norm(&n, s);
	assert_string_equal(n.text, "Mohammed Shia al Sudani");
	assert_span(&n, s, 14, n.len, "al-\nSudani");
	assert_span(&n, s, 16, 17, "-");
	/* A word split by hyphenation is joined. */
	s = "Qassem Soleim-\r\nani";
	norm(&n, s);
	assert_string_equal(n.text, "Qassem Soleimani");
	assert_span(&n, s, 7, n.len, "Soleim-\r\nani");
	/* A hyphen outside a word is left alone. */
	norm(&n, "pro- and anti-Iran - US-led");
	assert_string_equal(n.text, "pro- and anti Iran - US led");
	/* Dashes, non-breaking and thin spaces, soft hyphen, zero-width space. */
	s = "Iraq\xe2\x80\x94US\xc2\xa0talks\xe2\x80\x89on Kata\xc2\xadib\xe2\x80\x8b";
	norm(&n, s);
	assert_string_equal(n.text, "Iraq US talks on Kataib");
	/* A dropped character belongs to the byte before it. */
	assert_span(&n, s, 17, 23, "Kata\xc2\xadib\xe2\x80\x8b");
	norm(&n, "Kata\xe2\x80\x90ib Hezbollah \xe2\x80\x93 Mosul\xe2\x80\xa6");
	assert_string_equal(n.text, "Kata ib Hezbollah - Mosul...");
	tg_norm_free(&n);
}

static void
test_entities(void **state)
{
	struct tg_norm n;
	const char *s = "Iraq&#8217;s PM &amp; Iran&rsquo;s FM&nbsp;met &#x2014; &bogus; &#0; &";

	(void)state;
	tg_norm_init(&n, 0);
	norm(&n, s);
	assert_string_equal(n.text, "Iraq's PM & Iran's FM met - &bogus; &#0; &");
	/* "&#x2014;" is one unit mapped from its 8 bytes. */
	assert_span(&n, s, 26, 27, "&#x2014;");
	/* The apostrophe of Iraq's maps to the whole entity. */
	assert_span(&n, s, 4, 5, "&#8217;");
	assert_span(&n, s, 0, 6, "Iraq&#8217;s");
	/* An entity for a character that is kept is written as UTF-8. */
	norm(&n, "&#1575;");
	assert_string_equal(n.text, "\xd8\xa7");
	tg_norm_free(&n);
}

static void
test_invalid_utf8_and_limit(void **state)
{
	struct tg_norm n;
	char big[100];

	(void)state;
	tg_norm_init(&n, 10);
	norm(&n, "ab\xff\xc3(cd");
	assert_int_equal(n.len, 7);
	assert_memory_equal(n.text, "ab\xff\xc3(cd", 7);
	assert_int_equal(n.truncated, 0);
	memset(big, 'x', sizeof(big));
	assert_int_equal(tg_norm_run(&n, big, sizeof(big)), 0);
	assert_int_equal(n.len, 10);
	assert_int_equal(n.truncated, 1);
	/* Empty input. */
	assert_int_equal(tg_norm_run(&n, "", 0), 0);
	assert_int_equal(n.len, 0);
	assert_string_equal(n.text, "");
	tg_norm_free(&n);
	tg_norm_free(&n);
}

static void
test_output_never_longer(void **state)
{
	struct tg_norm n;
	/* Every mapped character at once. */
	const char *s = "\xe2\x80\xa6\xef\xac\x80\xc3\x86\xc3\x9f\xe1\xba\x9e&lt;\xef\xbc\xa1";

	(void)state;
	tg_norm_init(&n, 0);
	norm(&n, s);
	assert_true(n.len <= strlen(s));
	assert_string_equal(n.text, "...ffAEssSS<A");
	tg_norm_free(&n);
}

/* Pseudo-random texts of words, single and double spaces, tabs and line breaks
 * (the fast path reads 16 bytes at a time): the output is the words joined by
 * one space, and every output letter maps to its own source byte. */
static void
test_whitespace_runs_random(void **state)
{
	static const char alphabet[] = "abcdefgh      \t\n";
	struct tg_norm n;
	char src[301], want[301];
	uint32_t seed = 12345;

	(void)state;
	tg_norm_init(&n, 0);
	for (int round = 0; round < 2000; round++) {
		size_t len = 1 + round % 300, w = 0;
		int gap = 0;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			src[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		src[len] = '\0';
		for (size_t i = 0; i < len; i++) {
			if (src[i] == ' ' || src[i] == '\t' || src[i] == '\n') {
				gap = 1;
				continue;
			}
			if (gap && w > 0)
				want[w++] = ' ';
			gap = 0;
			want[w++] = src[i];
		}
		want[w] = '\0';
		norm(&n, src);
		assert_string_equal(n.text, want);
		for (size_t i = 0; i < n.len; i++) {
			uint32_t os, oe;

			tg_norm_span(&n, i, i + 1, &os, &oe);
			if (n.text[i] != ' ') {
				assert_int_equal(oe, os + 1);
				assert_int_equal(src[os], n.text[i]);
			} else
				assert_true(oe > os && (src[os] == ' ' || src[os] == '\t' || src[os] == '\n'));
		}
	}
	tg_norm_free(&n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_identity),
		cmocka_unit_test(test_curly_apostrophe),
		cmocka_unit_test(test_diacritics),
		cmocka_unit_test(test_whitespace_and_hyphens),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_invalid_utf8_and_limit),
		cmocka_unit_test(test_output_never_longer),
		cmocka_unit_test(test_whitespace_runs_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

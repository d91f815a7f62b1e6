/*
 * Tests of feed date parsing: a table of RFC 822 variants, ISO 8601 / RFC 3339 /
 * W3CDTF forms and invalid strings, each with the UTC time it must give or the
 * promise that it gives nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/date.h"
#include "../../common/util.h"

struct date_case {
	const char *in;
	const char *want; /* NULL: must be refused */
};

static const struct date_case cases[] = {
	/* RFC 822 / 2822 as written */
	{ "Thu, 01 Jan 2004 19:48:21 GMT", "2004-01-01T19:48:21Z" },
	{ "Mon, 06 Sep 2010 00:01:00 +0000", "2010-09-06T00:01:00Z" },
	{ "Tue, 10 Jun 2003 04:00:00 +0200", "2003-06-10T02:00:00Z" },
	{ "Wed, 02 Oct 2002 08:00:00 EST", "2002-10-02T13:00:00Z" },
	{ "Wed, 02 Oct 2002 08:00:00 EDT", "2002-10-02T12:00:00Z" },
	{ "Wed, 02 Oct 2002 13:00:00 GMT", "2002-10-02T13:00:00Z" },
	{ "Wed, 02 Oct 2002 15:00:00 +0200", "2002-10-02T13:00:00Z" },
	{ "Fri, 31 Dec 1999 23:59:59 -0800", "2000-01-01T07:59:59Z" },
	{ "Sat, 01 Jan 2000 00:00:00 PST", "2000-01-01T08:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 PDT", "2000-01-01T07:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 CST", "2000-01-01T06:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 CDT", "2000-01-01T05:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 MST", "2000-01-01T07:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 MDT", "2000-01-01T06:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 UT", "2000-01-01T00:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 UTC", "2000-01-01T00:00:00Z" },
	{ "Sat, 01 Jan 2000 00:00:00 Z", "2000-01-01T00:00:00Z" },
	/* military zones as RFC 822 defines them */
	{ "Sat, 01 Jan 2000 12:00:00 A", "2000-01-01T13:00:00Z" },
	{ "Sat, 01 Jan 2000 12:00:00 M", "2000-01-02T00:00:00Z" },
	{ "Sat, 01 Jan 2000 12:00:00 N", "2000-01-01T11:00:00Z" },
	{ "Sat, 01 Jan 2000 12:00:00 Y", "2000-01-01T00:00:00Z" },
	{ "Sat, 01 Jan 2000 12:00:00 J", NULL },
	/* the usual mistakes */
	{ "Sun, 6 Sep 2009 16:20 EST", "2009-09-06T21:20:00Z" },
	{ "06 Sep 2009 16:20:00 +0000", "2009-09-06T16:20:00Z" },
	{ "Sun, 06 Sep 09 16:20:00 GMT", "2009-09-06T16:20:00Z" },
	{ "Thu, 01 Jan 98 00:00:00 GMT", "1998-01-01T00:00:00Z" },
	{ "Sun,  06   Sep  2009   16:20:00   GMT ", "2009-09-06T16:20:00Z" },
	{ "  Sun, 06 Sep 2009 16:20:00 GMT", "2009-09-06T16:20:00Z" },
	{ "sun, 06 sep 2009 16:20:00 gmt", "2009-09-06T16:20:00Z" },
	{ "Sunday, 06 September 2009 16:20:00 GMT", "2009-09-06T16:20:00Z" },
	{ "Thu, 01 Sept 2011 10:00:00 GMT", "2011-09-01T10:00:00Z" },
	{ "Sun, 06 Sep 2009 16:20:00", "2009-09-06T16:20:00Z" },
	{ "Sun, 06 Sep 2009", "2009-09-06T00:00:00Z" },
	{ "Sun, 06 Sep 2009 16:20:00 +01:00", "2009-09-06T15:20:00Z" },
	{ "Sun, 06 Sep 2009 16:20:00 GMT+0100", "2009-09-06T15:20:00Z" },
	{ "Sun, 06 Sep 2009 16:20:00 -0500 (EST)", "2009-09-06T21:20:00Z" },
	{ "Sun, 06 Sep 2009 16:20:00.123 GMT", "2009-09-06T16:20:00Z" },
	{ "Sun, 06-Sep-2009 16:20:00 GMT", "2009-09-06T16:20:00Z" },
	{ "Sep 06 2009 16:20:00 GMT", "2009-09-06T16:20:00Z" },
	{ "Sun Jan  4 16:29:06 2004", "2004-01-04T16:29:06Z" },
	{ "Sun Jan  4 16:29:06 PST 2004", "2004-01-05T00:29:06Z" },
	{ "Sun, 06 Sep 2009 4:20:00 PM GMT", "2009-09-06T16:20:00Z" },
	{ "Sun, 06 Sep 2009 12:05 AM GMT", "2009-09-06T00:05:00Z" },
	{ "Sun, 06 Sep 2009 16:20:00 CEST", "2009-09-06T14:20:00Z" },
	{ "Tue, 29 Feb 2000 10:00:00 GMT", "2000-02-29T10:00:00Z" },
	{ "Sat, 31 Dec 2016 23:59:60 GMT", "2017-01-01T00:00:00Z" },
	/* ISO 8601, RFC 3339, W3CDTF */
	{ "2003-12-31T10:14:55Z", "2003-12-31T10:14:55Z" },
	{ "2003-12-31T10:14:55z", "2003-12-31T10:14:55Z" },
	{ "2003-12-31t10:14:55Z", "2003-12-31T10:14:55Z" },
	{ "2003-12-31T10:14:55-08:00", "2003-12-31T18:14:55Z" },
	{ "2003-12-31T10:14:55+05:30", "2003-12-31T04:44:55Z" },
	{ "2003-12-31T10:14:55+0530", "2003-12-31T04:44:55Z" },
	{ "2003-12-31T10:14:55+05", "2003-12-31T05:14:55Z" },
	{ "2003-12-31T10:14:55.1234Z", "2003-12-31T10:14:55Z" },
	{ "2003-12-31T10:14:55.999999+01:00", "2003-12-31T09:14:55Z" },
	{ "2003-12-31T10:14Z", "2003-12-31T10:14:00Z" },
	{ "2003-12-31T10:14:55", "2003-12-31T10:14:55Z" },
	{ "2003-12-31 10:14:55", "2003-12-31T10:14:55Z" },
	{ "2003-12-31 10:14:55 +0000", "2003-12-31T10:14:55Z" },
	{ "2003-12-31 10:14:55 UTC", "2003-12-31T10:14:55Z" },
	{ "2003-12-31", "2003-12-31T00:00:00Z" },
	{ "2003-12", "2003-12-01T00:00:00Z" },
	{ "2003", "2003-01-01T00:00:00Z" },
	{ "20031231T101455Z", "2003-12-31T10:14:55Z" },
	{ "20031231", "2003-12-31T00:00:00Z" },
	{ "2004-02-29T00:00:00Z", "2004-02-29T00:00:00Z" },
	{ "2003-12-31T24:00:00Z", "2004-01-01T00:00:00Z" },
	{ "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
	{ "2038-01-19T03:14:08Z", "2038-01-19T03:14:08Z" },
	{ "2100-03-01T00:00:00+00:00", "2100-03-01T00:00:00Z" },
	/* refused */
	{ "", NULL },
	{ "   ", NULL },
	{ "yesterday", NULL },
	{ "not a date", NULL },
	{ "2003-13-01", NULL },
	{ "2003-02-30", NULL },
	{ "2003-02-29", NULL },
	{ "2100-02-29", NULL },
	{ "2003-12-31T25:00:00Z", NULL },
	{ "2003-12-31T10:60:00Z", NULL },
	{ "2003-12-31T10:14:61Z", NULL },
	{ "2003-12-31T24:30:00Z", NULL },
	{ "2003-12-31T10:14:55+25:00", NULL },
	{ "2003-12-31T10:14:55 EST", NULL },
	{ "2003-12-31X10:14:55Z", NULL },
	{ "2003-1-5", NULL },
	{ "12/31/2003", NULL },
	{ "31.12.2003", NULL },
	{ "Sun, 32 Jan 2004 00:00:00 GMT", NULL },
	{ "Sun, 31 Foo 2004 00:00:00 GMT", NULL },
	{ "Sun, 31 Jan 2004 00:00:00 XYZ", NULL },
	{ "Sun, 31 Jan 2004 00:00:00 GMT trailing", NULL },
	{ "Sun, 31 Jan 00:00:00 GMT", NULL },
	{ "Sun, Jan 2004 00:00:00 GMT", NULL },
	{ "Sun, 31 Jan 2004 0:0:0 GMT", NULL },
	{ "Sun, 31 Jan 2004 13:00 PM", NULL },
	{ "Sun, 31 Jan 2004 10:00 +9999", NULL },
	{ "Sun, 31 Jan 204 00:00:00 GMT", NULL },
	{ "0000-00-00T00:00:00Z", NULL },
	{ "1899-12-31T23:59:59Z", NULL },
	{ "Jan Feb 2004", NULL },
	{ "Sun, 31 Jan 2004 00:00:00 GMT GMT", NULL },
	{ "2003-12-31T10:14:55Zjunk", NULL },
};

static void
test_date_table(void **state)
{
	size_t bad = 0;

	(void)state;
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 60);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[21] = "";
		int rc = tg_date_to_rfc3339(cases[i].in, strlen(cases[i].in), out);

		if (cases[i].want == NULL && rc != -1) {
			fprintf(stderr, "\"%s\": want refused, got %s\n", cases[i].in, out);
			bad++;
		} else if (cases[i].want && (rc != 0 || strcmp(out, cases[i].want) != 0)) {
			fprintf(stderr, "\"%s\": want %s, got %s\n", cases[i].in, cases[i].want,
			    rc == 0 ? out : "refused");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_date_not_nul_terminated(void **state)
{
	const char s[] = "2003-12-31T10:14:55Zgarbage";
	time_t t = 0;

	(void)state;
	/* Only the first n bytes count. */
	assert_int_equal(tg_date_parse(s, 20, &t), 0);
	assert_int_equal(t, tg_date_from_civil(2003, 12, 31, 10, 14, 55));
	assert_int_equal(tg_date_parse(s, sizeof(s) - 1, &t), -1);
}

static void
test_date_refused_leaves_output(void **state)
{
	time_t t = 12345;

	(void)state;
	assert_int_equal(tg_date_parse("garbage", 7, &t), -1);
	assert_int_equal(t, 12345);
}

static void
test_date_from_civil(void **state)
{
	(void)state;
	assert_int_equal(tg_date_from_civil(1970, 1, 1, 0, 0, 0), 0);
	assert_int_equal(tg_date_from_civil(2000, 3, 1, 0, 0, 0), 951868800);
	assert_int_equal(tg_date_from_civil(1969, 12, 31, 23, 59, 59), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_table),
		cmocka_unit_test(test_date_not_nul_terminated),
		cmocka_unit_test(test_date_refused_leaves_output),
		cmocka_unit_test(test_date_from_civil),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

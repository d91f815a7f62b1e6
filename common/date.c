/*
 * Feed date parsing; see date.h. Two readers: a strict-shaped one for ISO 8601
 * forms (which start with a four-digit year) and a token-based one for RFC 822
 * and its relatives, which takes its fields in any sensible order but refuses
 * any word it does not know.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "date.h"
#include "util.h"

#define DATE_MAX_LEN 128

struct fields {
	int year, month, day;
	int hour, min, sec;
	long offset; /* seconds east of UTC */
};

struct zone {
	const char *name;
	int minutes; /* east of UTC */
};

/* Zone names with one accepted meaning; RFC 822's own come first. */
static const struct zone zones[] = {
	{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
	{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
	{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
	{ "ast", -240 }, { "adt", -180 }, { "akst", -540 }, { "akdt", -480 },
	{ "hst", -600 }, { "wet", 0 }, { "west", 60 }, { "bst", 60 },
	{ "cet", 60 }, { "cest", 120 }, { "met", 60 }, { "mest", 120 },
	{ "eet", 120 }, { "eest", 180 }, { "msk", 180 }, { "jst", 540 },
	{ "kst", 540 }, { "hkt", 480 }, { "sgt", 480 }, { "aest", 600 },
	{ "aedt", 660 }, { "nzst", 720 }, { "nzdt", 780 },
};

struct word {
	const char *s;
	size_t len;
};

#define W(s) { s, sizeof(s) - 1 }

static const struct word months[] = {
	W("jan"), W("feb"), W("mar"), W("apr"), W("may"), W("jun"), W("jul"), W("aug"),
	W("sep"), W("oct"), W("nov"), W("dec"),
};

static const struct word month_names[] = {
	W("january"), W("february"), W("march"), W("april"), W("may"), W("june"), W("july"),
	W("august"), W("september"), W("october"), W("november"), W("december"),
};

static const struct word days[] = {
	W("mon"), W("tue"), W("wed"), W("thu"), W("fri"), W("sat"), W("sun"),
};

static const struct word day_names[] = {
	W("monday"), W("tuesday"), W("wednesday"), W("thursday"), W("friday"), W("saturday"),
	W("sunday"),
};

time_t
tg_date_from_civil(int year, int month, int day, int hour, int min, int sec)
{
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t dn = era * 146097 + doe - 719468;

	return (time_t)(dn * 86400 + hour * 3600 + min * 60 + sec);
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Read exactly w digits at s[*i]; returns the value or -1. */
static int
digits(const char *s, size_t n, size_t *i, int w)
{
	int v = 0;

	if (*i + (size_t)w > n)
		return -1;
	for (int k = 0; k < w; k++) {
		if (!is_digit(s[*i + k]))
			return -1;
		v = v * 10 + (s[*i + k] - '0');
	}
	*i += (size_t)w;
	return v;
}

static size_t
count_digits(const char *s, size_t n, size_t i)
{
	size_t k = 0;

	while (i + k < n && is_digit(s[i + k]))
		k++;
	return k;
}

/* Check the fields and convert. */
static int
finish(const struct fields *f, time_t *out)
{
	if (f->year < 1900 || f->year > 9999 || f->month < 1 || f->month > 12 || f->day < 1 ||
	    f->day > month_days(f->year, f->month))
		return -1;
	if (f->hour < 0 || f->hour > 24 || f->min < 0 || f->min > 59 || f->sec < 0 || f->sec > 60)
		return -1;
	if (f->hour == 24 && (f->min != 0 || f->sec != 0))
		return -1;
	*out = tg_date_from_civil(f->year, f->month, f->day, f->hour, f->min, f->sec) - f->offset;
	return 0;
}

/* A numeric zone "+hh", "+hhmm" or "+hh:mm" at s[*i] (the sign included). */
static int
numeric_zone(const char *s, size_t n, size_t *i, long *offset)
{
	int sign = s[*i] == '-' ? -1 : 1, hh, mm = 0;
	size_t k;

	(*i)++;
	k = count_digits(s, n, *i);
	if (k == 4) {
		hh = digits(s, n, i, 2);
		mm = digits(s, n, i, 2);
	} else if (k == 2 || k == 1) {
		hh = digits(s, n, i, (int)k);
		if (*i < n && s[*i] == ':') {
			(*i)++;
			if (count_digits(s, n, *i) != 2)
				return -1;
			mm = digits(s, n, i, 2);
		}
	} else
		return -1;
	if (hh > 23 || mm > 59)
		return -1;
	*offset = sign * (hh * 3600L + mm * 60L);
	return 0;
}

/* Seconds fraction: skip ".ddd" or ",ddd". */
static void
skip_fraction(const char *s, size_t n, size_t *i)
{
	if (*i + 1 < n && (s[*i] == '.' || s[*i] == ',') && is_digit(s[*i + 1])) {
		(*i)++;
		while (*i < n && is_digit(s[*i]))
			(*i)++;
	}
}

/* YYYY[-MM[-DD]] or YYYYMMDD, then [T|t|space hh:mm[:ss[.f]] or hhmm[ss]][zone]. */
/* "H:MM[:SS[.fraction]]" at *i, the hour being hw digits followed by ':'. Fills
 * f's hour, min and sec; returns 0, or -1 when the minutes or seconds are bad. */
static int
read_clock(const char *s, size_t n, size_t *i, int hw, struct fields *f)
{
	f->hour = digits(s, n, i, hw);
	(*i)++;
	if ((f->min = digits(s, n, i, 2)) < 0)
		return -1;
	if (*i < n && s[*i] == ':') {
		(*i)++;
		if ((f->sec = digits(s, n, i, 2)) < 0)
			return -1;
		skip_fraction(s, n, i);
	}
	return 0;
}

static int
parse_iso(const char *s, size_t n, time_t *out)
{
	struct fields f = { 0, 1, 1, 0, 0, 0, 0 };
	size_t i = 0, k;

	f.year = digits(s, n, &i, 4);
	if (i < n && s[i] == '-') {
		i++;
		if ((f.month = digits(s, n, &i, 2)) < 0)
			return -1;
		if (i < n && s[i] == '-') {
			i++;
			if ((f.day = digits(s, n, &i, 2)) < 0)
				return -1;
		} else if (i < n)
			return -1;
	} else if (count_digits(s, n, i) == 4) {
		f.month = digits(s, n, &i, 2);
		f.day = digits(s, n, &i, 2);
	} else if (i < n)
		return -1;
	if (i == n)
		return finish(&f, out);
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if (s[i] == ' ') {
		while (i < n && s[i] == ' ')
			i++;
	} else
		return -1;
	k = count_digits(s, n, i);
	if (k == 2 && i + 2 < n && s[i + 2] == ':') {
		if (read_clock(s, n, &i, 2, &f) < 0)
			return -1;
	} else if (k == 4 || k == 6) {
		f.hour = digits(s, n, &i, 2);
		f.min = digits(s, n, &i, 2);
		if (k == 6)
			f.sec = digits(s, n, &i, 2);
		skip_fraction(s, n, &i);
	} else
		return -1;
	if (i < n && s[i] == ' ')
		i++;
	if (i < n) {
		if (s[i] == 'Z' || s[i] == 'z')
			i++;
		else if (s[i] == '+' || s[i] == '-') {
			if (numeric_zone(s, n, &i, &f.offset) < 0)
				return -1;
		} else if (n - i == 3 && (strncasecmp(s + i, "UTC", 3) == 0 ||
		    strncasecmp(s + i, "GMT", 3) == 0))
			i += 3;
		else
			return -1;
	}
	if (i != n)
		return -1;
	return finish(&f, out);
}

static int
find_word(const struct word *table, size_t count, const char *w, size_t n)
{
	for (size_t k = 0; k < count; k++)
		if (table[k].len == n && table[k].s[0] == (w[0] | 0x20) &&
		    strncasecmp(table[k].s, w, n) == 0)
			return (int)k;
	return -1;
}

/* Offset in seconds of a zone word, or 1 (not a valid offset) when unknown. */
static long
zone_word(const char *w, size_t n)
{
	char c;

	for (size_t k = 0; k < sizeof(zones) / sizeof(zones[0]); k++)
		if (strlen(zones[k].name) == n && strncasecmp(zones[k].name, w, n) == 0)
			return zones[k].minutes * 60L;
	if (n != 1)
		return 1;
	/* RFC 822 military zones, as the RFC defines them. */
	c = (char)(w[0] | 0x20);
	if (c >= 'a' && c <= 'i')
		return -(c - 'a' + 1) * 3600L;
	if (c >= 'k' && c <= 'm')
		return -(c - 'k' + 10) * 3600L;
	if (c >= 'n' && c <= 'y')
		return (c - 'n' + 1) * 3600L;
	return 1;
}

/* RFC 822 and relatives: tokens in any order, each known or the parse fails. */
static int
parse_words(const char *s, size_t n, time_t *out)
{
	struct fields f = { -1, -1, -1, 0, 0, 0, 0 };
	bool have_time = false, have_zone = false, have_wday = false;
	size_t i = 0;
	int ampm = 0;

	while (i < n) {
		char c = s[i];

		if (is_space(c) || c == ',') {
			i++;
		} else if (c == '(') {
			/* A comment, such as "(PST)" after an offset. */
			const char *e = memchr(s + i, ')', n - i);

			if (e == NULL)
				return -1;
			i = (size_t)(e - s) + 1;
		} else if (is_alpha(c)) {
			size_t st = i, wl;
			int k;
			long off;

			while (i < n && is_alpha(s[i]))
				i++;
			wl = i - st;
			if (i < n && s[i] == '.')
				i++; /* "Sept." or "Thu." */
			if ((k = find_word(months, 12, s + st, wl)) >= 0 ||
			    (k = find_word(month_names, 12, s + st, wl)) >= 0 ||
			    (wl == 4 && strncasecmp(s + st, "sept", 4) == 0 && (k = 8) >= 0)) {
				if (f.month >= 0)
					return -1;
				f.month = k + 1;
			} else if (find_word(days, 7, s + st, wl) >= 0 ||
			    find_word(day_names, 7, s + st, wl) >= 0) {
				if (have_wday || have_time)
					return -1;
				have_wday = true;
			} else if (wl == 2 && (strncasecmp(s + st, "am", 2) == 0 ||
			    strncasecmp(s + st, "pm", 2) == 0)) {
				if (!have_time || ampm)
					return -1;
				ampm = (s[st] | 0x20) == 'a' ? 1 : 2;
			} else if ((off = zone_word(s + st, wl)) != 1) {
				if (have_zone || !have_time)
					return -1;
				have_zone = true;
				f.offset = off;
				/* "GMT+0100" */
				if (i < n && (s[i] == '+' || s[i] == '-') && off == 0) {
					if (numeric_zone(s, n, &i, &f.offset) < 0)
						return -1;
				}
			} else
				return -1;
		} else if (is_digit(c)) {
			size_t k = count_digits(s, n, i);

			if (i + k < n && s[i + k] == ':') {
				if (have_time || k > 2)
					return -1;
				if (read_clock(s, n, &i, (int)k, &f) < 0)
					return -1;
				have_time = true;
			} else if (k == 4) {
				if (f.year >= 0)
					return -1;
				f.year = digits(s, n, &i, 4);
			} else if (k <= 2) {
				int v = digits(s, n, &i, (int)k);

				if (f.day < 0)
					f.day = v;
				else if (f.year < 0 && k == 2)
					f.year = v < 50 ? 2000 + v : 1900 + v;
				else
					return -1;
			} else
				return -1;
			/* "4-Jan-2004" */
			if (i < n && s[i] == '-' && i + 1 < n && is_alpha(s[i + 1]))
				i++;
		} else if ((c == '+' || c == '-') && have_time) {
			if (have_zone)
				return -1;
			if (numeric_zone(s, n, &i, &f.offset) < 0)
				return -1;
			have_zone = true;
		} else if (c == '-' && i + 1 < n && (is_alpha(s[i + 1]) || is_digit(s[i + 1]))) {
			i++; /* "Jan-04-2004" style separators */
		} else
			return -1;
	}
	if (f.year < 0 || f.month < 0 || f.day < 0)
		return -1;
	if (ampm) {
		if (f.hour < 1 || f.hour > 12)
			return -1;
		if (ampm == 1 && f.hour == 12)
			f.hour = 0;
		else if (ampm == 2 && f.hour != 12)
			f.hour += 12;
	}
	return finish(&f, out);
}

int
tg_date_parse(const char *s, size_t n, time_t *out)
{
	while (n > 0 && is_space(s[0]))
		s++, n--;
	while (n > 0 && is_space(s[n - 1]))
		n--;
	if (n == 0 || n > DATE_MAX_LEN)
		return -1;
	if (count_digits(s, n, 0) >= 4 && (n == 4 || s[4] == '-' || count_digits(s, n, 0) == 8))
		return parse_iso(s, n, out);
	return parse_words(s, n, out);
}

static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

int
tg_date_to_rfc3339(const char *s, size_t n, char out[21])
{
	int64_t t, dn, sod, z, era, doe, yoe, y, doy, mp, d, m;

	{
		time_t tt;

		if (tg_date_parse(s, n, &tt) < 0)
			return -1;
		t = (int64_t)tt;
	}
	/* Civil date from days since the epoch (the inverse of tg_date_from_civil);
	 * done here rather than with gmtime_r and snprintf, which cost more than
	 * the parse. */
	dn = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	sod = t - dn * 86400;
	z = dn + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	put2(out, (int)(y / 100));
	put2(out + 2, (int)(y % 100));
	out[4] = '-';
	put2(out + 5, (int)m);
	out[7] = '-';
	put2(out + 8, (int)d);
	out[10] = 'T';
	put2(out + 11, (int)(sod / 3600));
	out[13] = ':';
	put2(out + 14, (int)(sod / 60 % 60));
	out[16] = ':';
	put2(out + 17, (int)(sod % 60));
	out[19] = 'Z';
	out[20] = '\0';
	return 0;
}

/*
 * Plain text helpers for feed fields; see text.h. tg_text_plain makes one pass
 * over its input and writes into one allocation sized for the worst case.
 */
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define REPLACEMENT 0xFFFDu

struct entity {
	const char *name;
	uint32_t cp;
};

/* The HTML 4 character entity set plus &apos;, sorted by name (byte order). */
static const struct entity entities[] = {
	{"AElig", 0xC6}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Agrave", 0xC0}, {"Alpha", 0x391},
	{"Aring", 0xC5}, {"Atilde", 0xC3}, {"Auml", 0xC4}, {"Beta", 0x392}, {"Ccedil", 0xC7},
	{"Chi", 0x3A7}, {"Dagger", 0x2021}, {"Delta", 0x394}, {"ETH", 0xD0}, {"Eacute", 0xC9},
	{"Ecirc", 0xCA}, {"Egrave", 0xC8}, {"Epsilon", 0x395}, {"Eta", 0x397}, {"Euml", 0xCB},
	{"Gamma", 0x393}, {"Iacute", 0xCD}, {"Icirc", 0xCE}, {"Igrave", 0xCC}, {"Iota", 0x399},
	{"Iuml", 0xCF}, {"Kappa", 0x39A}, {"Lambda", 0x39B}, {"Mu", 0x39C}, {"Ntilde", 0xD1},
	{"Nu", 0x39D}, {"OElig", 0x152}, {"Oacute", 0xD3}, {"Ocirc", 0xD4}, {"Ograve", 0xD2},
	{"Omega", 0x3A9}, {"Omicron", 0x39F}, {"Oslash", 0xD8}, {"Otilde", 0xD5}, {"Ouml", 0xD6},
	{"Phi", 0x3A6}, {"Pi", 0x3A0}, {"Prime", 0x2033}, {"Psi", 0x3A8}, {"Rho", 0x3A1},
	{"Scaron", 0x160}, {"Sigma", 0x3A3}, {"THORN", 0xDE}, {"Tau", 0x3A4}, {"Theta", 0x398},
	{"Uacute", 0xDA}, {"Ucirc", 0xDB}, {"Ugrave", 0xD9}, {"Upsilon", 0x3A5}, {"Uuml", 0xDC},
	{"Xi", 0x39E}, {"Yacute", 0xDD}, {"Yuml", 0x178}, {"Zeta", 0x396}, {"aacute", 0xE1},
	{"acirc", 0xE2}, {"acute", 0xB4}, {"aelig", 0xE6}, {"agrave", 0xE0}, {"alefsym", 0x2135},
	{"alpha", 0x3B1}, {"amp", 0x26}, {"and", 0x2227}, {"ang", 0x2220}, {"apos", 0x27},
	{"aring", 0xE5}, {"asymp", 0x2248}, {"atilde", 0xE3}, {"auml", 0xE4}, {"bdquo", 0x201E},
	{"beta", 0x3B2}, {"brvbar", 0xA6}, {"bull", 0x2022}, {"cap", 0x2229}, {"ccedil", 0xE7},
	{"cedil", 0xB8}, {"cent", 0xA2}, {"chi", 0x3C7}, {"circ", 0x2C6}, {"clubs", 0x2663},
	{"cong", 0x2245}, {"copy", 0xA9}, {"crarr", 0x21B5}, {"cup", 0x222A}, {"curren", 0xA4},
	{"dArr", 0x21D3}, {"dagger", 0x2020}, {"darr", 0x2193}, {"deg", 0xB0}, {"delta", 0x3B4},
	{"diams", 0x2666}, {"divide", 0xF7}, {"eacute", 0xE9}, {"ecirc", 0xEA}, {"egrave", 0xE8},
	{"empty", 0x2205}, {"emsp", 0x2003}, {"ensp", 0x2002}, {"epsilon", 0x3B5}, {"equiv", 0x2261},
	{"eta", 0x3B7}, {"eth", 0xF0}, {"euml", 0xEB}, {"euro", 0x20AC}, {"exist", 0x2203},
	{"fnof", 0x192}, {"forall", 0x2200}, {"frac12", 0xBD}, {"frac14", 0xBC}, {"frac34", 0xBE},
	{"frasl", 0x2044}, {"gamma", 0x3B3}, {"ge", 0x2265}, {"gt", 0x3E}, {"hArr", 0x21D4},
	{"harr", 0x2194}, {"hearts", 0x2665}, {"hellip", 0x2026}, {"iacute", 0xED}, {"icirc", 0xEE},
	{"iexcl", 0xA1}, {"igrave", 0xEC}, {"image", 0x2111}, {"infin", 0x221E}, {"int", 0x222B},
	{"iota", 0x3B9}, {"iquest", 0xBF}, {"isin", 0x2208}, {"iuml", 0xEF}, {"kappa", 0x3BA},
	{"lArr", 0x21D0}, {"lambda", 0x3BB}, {"lang", 0x2329}, {"laquo", 0xAB}, {"larr", 0x2190},
	{"lceil", 0x2308}, {"ldquo", 0x201C}, {"le", 0x2264}, {"lfloor", 0x230A}, {"lowast", 0x2217},
	{"loz", 0x25CA}, {"lrm", 0x200E}, {"lsaquo", 0x2039}, {"lsquo", 0x2018}, {"lt", 0x3C},
	{"macr", 0xAF}, {"mdash", 0x2014}, {"micro", 0xB5}, {"middot", 0xB7}, {"minus", 0x2212},
	{"mu", 0x3BC}, {"nabla", 0x2207}, {"nbsp", 0xA0}, {"ndash", 0x2013}, {"ne", 0x2260},
	{"ni", 0x220B}, {"not", 0xAC}, {"notin", 0x2209}, {"nsub", 0x2284}, {"ntilde", 0xF1},
	{"nu", 0x3BD}, {"oacute", 0xF3}, {"ocirc", 0xF4}, {"oelig", 0x153}, {"ograve", 0xF2},
	{"oline", 0x203E}, {"omega", 0x3C9}, {"omicron", 0x3BF}, {"oplus", 0x2295}, {"or", 0x2228},
	{"ordf", 0xAA}, {"ordm", 0xBA}, {"oslash", 0xF8}, {"otilde", 0xF5}, {"otimes", 0x2297},
	{"ouml", 0xF6}, {"para", 0xB6}, {"part", 0x2202}, {"permil", 0x2030}, {"perp", 0x22A5},
	{"phi", 0x3C6}, {"pi", 0x3C0}, {"piv", 0x3D6}, {"plusmn", 0xB1}, {"pound", 0xA3},
	{"prime", 0x2032}, {"prod", 0x220F}, {"prop", 0x221D}, {"psi", 0x3C8}, {"quot", 0x22},
	{"rArr", 0x21D2}, {"radic", 0x221A}, {"rang", 0x232A}, {"raquo", 0xBB}, {"rarr", 0x2192},
	{"rceil", 0x2309}, {"rdquo", 0x201D}, {"real", 0x211C}, {"reg", 0xAE}, {"rfloor", 0x230B},
	{"rho", 0x3C1}, {"rlm", 0x200F}, {"rsaquo", 0x203A}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
	{"scaron", 0x161}, {"sdot", 0x22C5}, {"sect", 0xA7}, {"shy", 0xAD}, {"sigma", 0x3C3},
	{"sigmaf", 0x3C2}, {"sim", 0x223C}, {"spades", 0x2660}, {"sub", 0x2282}, {"sube", 0x2286},
	{"sum", 0x2211}, {"sup", 0x2283}, {"sup1", 0xB9}, {"sup2", 0xB2}, {"sup3", 0xB3},
	{"supe", 0x2287}, {"szlig", 0xDF}, {"tau", 0x3C4}, {"there4", 0x2234}, {"theta", 0x3B8},
	{"thetasym", 0x3D1}, {"thinsp", 0x2009}, {"thorn", 0xFE}, {"tilde", 0x2DC}, {"times", 0xD7},
	{"trade", 0x2122}, {"uArr", 0x21D1}, {"uacute", 0xFA}, {"uarr", 0x2191}, {"ucirc", 0xFB},
	{"ugrave", 0xF9}, {"uml", 0xA8}, {"upsih", 0x3D2}, {"upsilon", 0x3C5}, {"uuml", 0xFC},
	{"weierp", 0x2118}, {"xi", 0x3BE}, {"yacute", 0xFD}, {"yen", 0xA5}, {"yuml", 0xFF},
	{"zeta", 0x3B6}, {"zwj", 0x200D}, {"zwnj", 0x200C},
};

/* windows-1252 meanings of 0x80-0x9F (0 where the code page leaves a hole). */
static const uint16_t cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

size_t
tg_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		len = 2;
		c &= 0x1F;
	} else if (c < 0xF0) {
		len = 3;
		c &= 0x0F;
	} else if (c < 0xF5) {
		len = 4;
		c &= 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

size_t
tg_utf8_encode(uint32_t cp, char out[4])
{
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		cp = REPLACEMENT;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

bool
tg_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		uint64_t w;

		/* Mostly ASCII: eight bytes at a time while none has its top bit. */
		if (n - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0)) {
			i += 8;
			continue;
		}
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		k = tg_utf8_decode(s + i, n - i, &cp);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

int
tg_utf8_sanitize(struct tg_buf *out, const char *s, size_t n)
{
	static const char rep[3] = { (char)0xEF, (char)0xBF, (char)0xBD };
	size_t i = 0, run = 0, k;
	uint32_t cp;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		k = tg_utf8_decode(s + i, n - i, &cp);
		if (k) {
			i += k;
			continue;
		}
		if (tg_buf_append(out, s + run, i - run) < 0)
			goto full;
		if (tg_buf_append(out, rep, sizeof(rep)) < 0)
			return -1;
		run = ++i;
	}
	if (tg_buf_append(out, s + run, n - run) < 0)
		goto full;
	return 0;
full:
	/* Keep as much of the valid run as fits. */
	if (out->limit && out->limit > out->len) {
		size_t room = tg_utf8_cut(s + run, i - run, out->limit - out->len);

		tg_buf_append(out, s + run, room);
	}
	return -1;
}

size_t
tg_utf8_cut(const char *s, size_t n, size_t max)
{
	size_t i;

	if (max >= n)
		return n;
	i = max;
	/* Back up over continuation bytes to the start of the sequence at max. */
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80 && max - i < 3)
		i--;
	return i;
}

static int
entity_cmp(const char *name, size_t n, const char *ename)
{
	size_t m = strlen(ename);
	int c = memcmp(name, ename, n < m ? n : m);

	if (c)
		return c;
	return n < m ? -1 : n > m ? 1 : 0;
}

uint32_t
tg_html_entity(const char *name, size_t n)
{
	size_t lo = 0, hi = sizeof(entities) / sizeof(entities[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entity_cmp(name, n, entities[mid].name);

		if (c == 0)
			return entities[mid].cp;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

uint32_t
tg_html_numeric(uint32_t v)
{
	if (v >= 0x80 && v <= 0x9F)
		return cp1252[v - 0x80] ? cp1252[v - 0x80] : REPLACEMENT;
	if (v == 0 || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
		return REPLACEMENT;
	return v;
}

/* The output of tg_text_plain: a fixed buffer, a pending space, a byte cap. */
struct out {
	char *p;
	size_t len;
	size_t max;
	bool space;
	bool full;
};

static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_xdigit(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnum(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

static void
out_space(struct out *o)
{
	if (o->len > 0)
		o->space = true;
}

/* Append n bytes that form whole characters: no whitespace but single spaces
 * between other characters. */
static void
out_bytes(struct out *o, const char *s, size_t n)
{
	size_t need = n + (o->space ? 1 : 0);

	if (o->full || n == 0)
		return;
	if (o->len + need > o->max) {
		/* Fit what we can of this run, then stop for good. */
		size_t room = o->max - o->len, k;

		o->full = true;
		if (o->space) {
			/* A space is only worth writing when something follows it. */
			if (room <= 1 || (k = tg_utf8_cut(s, n, room - 1)) == 0)
				return;
			o->p[o->len++] = ' ';
		} else
			k = tg_utf8_cut(s, n, room);
		/* A run may hold single spaces: never end on one. */
		while (k > 0 && s[k - 1] == ' ')
			k--;
		memcpy(o->p + o->len, s, k);
		o->len += k;
		return;
	}
	if (o->space)
		o->p[o->len++] = ' ';
	o->space = false;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
out_cp(struct out *o, uint32_t cp)
{
	char b[4];

	if (cp < 0x80 && is_ws((unsigned char)cp)) {
		out_space(o);
		return;
	}
	if (cp >= 0x80 && cp < 0xA0) {
		/* C1 controls in feeds are windows-1252 text decoded as Latin-1. */
		cp = cp1252[cp - 0x80];
		if (cp == 0)
			return;
	}
	if (cp < 0x20 || cp == 0x7F)
		return; /* control characters carry nothing readable */
	out_bytes(o, b, tg_utf8_encode(cp, b));
}

/* Decode a character reference at s[0] == '&'; returns bytes consumed, 0 if it
 * is not a reference (the '&' is then literal). */
static size_t
decode_ref(const char *s, size_t n, uint32_t *cp)
{
	size_t i = 1, start;
	uint32_t v = 0;

	if (i < n && s[i] == '#') {
		bool hex = false;

		i++;
		if (i < n && (s[i] == 'x' || s[i] == 'X')) {
			hex = true;
			i++;
		}
		start = i;
		while (i < n && i - start < 9) {
			unsigned char c = (unsigned char)s[i];
			uint32_t d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			v = v * (hex ? 16 : 10) + d;
			i++;
		}
		if (i == start)
			return 0;
		/* Absurdly long numbers are out of range. */
		while (i < n && (is_digit((unsigned char)s[i]) || (hex && is_xdigit((unsigned char)s[i])))) {
			i++;
			v = 0x110000;
		}
		if (i < n && s[i] == ';')
			i++;
		*cp = tg_html_numeric(v);
		return i;
	}
	start = i;
	while (i < n && i - start <= 32 && is_alnum((unsigned char)s[i]))
		i++;
	if (i == start || i - start > 32)
		return 0;
	v = tg_html_entity(s + start, i - start);
	if (v == 0)
		return 0;
	if (i < n && s[i] == ';') {
		*cp = v;
		return i + 1;
	}
	/* Without ';' only the basic XML-ish names are taken (as browsers do). */
	if (v == '&' || v == '<' || v == '>' || v == '"') {
		*cp = v;
		return i;
	}
	return 0;
}

/* Case-insensitive search for the ASCII string needle (lowercase) in s. */
static const char *
find_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++) {
		size_t j;

		for (j = 0; j < m; j++) {
			unsigned char c = (unsigned char)s[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (c != (unsigned char)needle[j])
				break;
		}
		if (j == m)
			return s + i;
	}
	return NULL;
}

static const char *
find_str(const char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle));
}

#define NAME(s) { s, sizeof(s) - 1 }

bool
tg_html_is_block(const char *name, size_t n)
{
	static const struct {
		const char *name;
		size_t len;
	} blocks[] = {
		NAME("address"), NAME("article"), NAME("aside"), NAME("blockquote"), NAME("br"),
		NAME("caption"), NAME("dd"), NAME("div"), NAME("dl"), NAME("dt"),
		NAME("figcaption"), NAME("figure"), NAME("footer"), NAME("h1"), NAME("h2"),
		NAME("h3"), NAME("h4"), NAME("h5"), NAME("h6"), NAME("header"), NAME("hr"),
		NAME("li"), NAME("main"), NAME("nav"), NAME("ol"), NAME("p"), NAME("pre"),
		NAME("section"), NAME("table"), NAME("tbody"), NAME("td"), NAME("tfoot"),
		NAME("th"), NAME("thead"), NAME("tr"), NAME("ul"), NAME("img"),
	};
	char low[16];

	if (n == 0 || n > sizeof(low))
		return false;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)(name[i] | 0x20); /* ASCII letters and digits */
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (blocks[i].len == n && blocks[i].name[0] == low[0] &&
		    memcmp(blocks[i].name, low, n) == 0)
			return true;
	return false;
}

/* Skip a tag starting at s[0] == '<'; returns bytes consumed, or 0 when s does
 * not start a tag (then '<' is literal text). Content of script and style is
 * skipped with the tag. */
static size_t
skip_tag(struct out *o, const char *s, size_t n)
{
	char name[16];
	size_t i = 1, nl = 0;
	bool end = false;
	const char *p;
	char quote = 0;

	if (n >= 4 && memcmp(s, "<!--", 4) == 0) {
		/* An unterminated comment ends at the next '>' (old SGML habits). */
		if ((p = find_str(s + 4, n - 4, "-->")) != NULL)
			return (size_t)(p - s) + 3;
		p = memchr(s + 4, '>', n - 4);
		return p ? (size_t)(p - s) + 1 : n;
	}
	if (n >= 2 && (s[1] == '!' || s[1] == '?')) {
		p = memchr(s, '>', n);
		return p ? (size_t)(p - s) + 1 : 0;
	}
	if (i < n && s[i] == '/') {
		end = true;
		i++;
	}
	if (i >= n || !is_alpha((unsigned char)s[i]))
		return 0;
	while (i < n && (is_alnum((unsigned char)s[i]) || s[i] == '-' || s[i] == ':')) {
		if (nl < sizeof(name)) {
			char c = s[i];

			name[nl++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		i++;
	}
	/* Find the closing '>' outside quoted attribute values. */
	for (; i < n; i++) {
		if (quote) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if (s[i] == '>')
			break;
	}
	if (i >= n) {
		/* An unbalanced quote: fall back to the first '>'. */
		p = memchr(s, '>', n);
		if (p == NULL)
			return 0;
		i = (size_t)(p - s);
	}
	i++;
	if (nl <= sizeof(name) && tg_html_is_block(name, nl))
		out_space(o);
	if (!end && ((nl == 6 && memcmp(name, "script", 6) == 0) ||
	    (nl == 5 && memcmp(name, "style", 5) == 0)) && s[i - 2] != '/') {
		char close[9] = "</";

		memcpy(close + 2, name, nl);
		close[2 + nl] = '\0';
		p = find_ci(s + i, n - i, close);
		if (p == NULL)
			return n;
		p = memchr(p, '>', (size_t)(s + n - p));
		return p ? (size_t)(p - s) + 1 : n;
	}
	return i;
}

/* Copy literal text (no markup, no references) such as a CDATA section. */
static void
out_literal(struct out *o, const char *s, size_t n)
{
	size_t i = 0, run = 0, k;
	uint32_t cp;

	while (i < n && !o->full) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7F) {
			i++;
			continue;
		}
		out_bytes(o, s + run, i - run);
		if (c < 0x80) {
			out_cp(o, c);
			i++;
		} else {
			k = tg_utf8_decode(s + i, n - i, &cp);
			if (k == 0) {
				cp = REPLACEMENT;
				k = 1;
			}
			out_cp(o, cp);
			i += k;
		}
		run = i;
	}
	out_bytes(o, s + run, i - run);
}

/* UTF-8 that was decoded as Latin-1 ("\xC3\xA2\xC2\x80\xC2\xA6" for U+2026):
 * a lead character U+00C2-U+00F4 followed by its continuation characters
 * U+0080-U+00BF, at least one of them a C1 control (which real text never has).
 * Returns the input bytes used and the repaired code point, or 0. */
static size_t
unmangle(const char *s, size_t n, uint32_t lead, uint32_t *cp)
{
	char bytes[4];
	size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1, used = 2, k;
	bool c1 = false;
	uint32_t c;

	bytes[0] = (char)lead;
	for (size_t j = 0; j < need; j++) {
		k = tg_utf8_decode(s + used, n - used, &c);
		if (k == 0 || c < 0x80 || c > 0xBF)
			return 0;
		c1 = c1 || c < 0xA0;
		bytes[j + 1] = (char)c;
		used += k;
	}
	if (!c1 || tg_utf8_decode(bytes, need + 1, &c) != need + 1)
		return 0;
	*cp = c;
	return used;
}

/* Bytes tg_text_plain copies as they are, one bit per mode (1 << mode): printable
 * ASCII, less '&' when references are decoded and '<' when tags are stripped. */
static const unsigned char plain_bytes[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 7, 7, 7, 7, 7, 1, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 3, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* High bit set in exactly the bytes of x that are zero. */
static inline uint64_t
zero_bytes(uint64_t x)
{
	uint64_t y = (x & ~HIGHS) + ~HIGHS;

	return ~(y | x | ~HIGHS);
}

/* The fast path eight bytes at a time: when the bytes at p are printable ASCII
 * without markup for this mode, with single spaces only and not first, advance
 * *j past them (not past a last space, whose follower is unknown) and return
 * true. Little-endian only; elsewhere the byte loop does all the work. */
static inline bool
swar_plain(const unsigned char *p, enum tg_text_mode mode, size_t *j)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w, sp;

	memcpy(&w, p, 8);
	if (((w | (w - 0x20 * ONES) | (w + ONES)) & HIGHS) != 0)
		return false; /* a byte outside 0x20-0x7E */
	if (mode != TG_TEXT_PLAIN && zero_bytes(w ^ ('&' * ONES)))
		return false;
	if (mode == TG_TEXT_HTML && zero_bytes(w ^ ('<' * ONES)))
		return false;
	sp = zero_bytes(w ^ (' ' * ONES));
	if ((sp & 0x80) || (sp & (sp << 8)))
		return false;
	*j += (sp >> 63) ? 7 : 8;
	return true;
#else
	(void)p;
	(void)mode;
	(void)j;
	return false;
#endif
}

char *
tg_text_plain(const char *s, size_t n, enum tg_text_mode mode, size_t max, size_t *outlen)
{
	struct out o;
	size_t i = 0, run = 0, k, size;
	unsigned bit = 1u << mode;
	uint32_t cp;

	size = n > SIZE_MAX / 4 ? SIZE_MAX / 4 : n * 3;
	if (size > max)
		size = max;
	memset(&o, 0, sizeof(o));
	o.p = tg_try_malloc(size + 1);
	if (o.p == NULL) {
		if (outlen)
			*outlen = 0;
		return NULL;
	}
	o.max = size;
	while (i < n && !o.full) {
		const unsigned char *u = (const unsigned char *)s;
		unsigned char c;

		/* Fast path: printable ASCII other than markup starts, and single
		 * spaces inside such runs (which collapsing leaves as they are). */
		for (size_t j = i;; ) {
			if (j + 8 <= n && swar_plain(u + j, mode, &j))
				continue;
			if (j < n && (plain_bytes[u[j]] & bit)) {
				j++;
			} else if (j + 1 < n && u[j] == ' ' && j > run && (plain_bytes[u[j + 1]] & bit)) {
				j += 2;
			} else {
				i = j;
				break;
			}
		}
		if (i >= n)
			break;
		c = u[i];
		out_bytes(&o, s + run, i - run);
		if (c == '&') {
			k = mode != TG_TEXT_PLAIN ? decode_ref(s + i, n - i, &cp) : 0;
			if (k) {
				out_cp(&o, cp);
				i += k;
			} else {
				out_bytes(&o, "&", 1);
				i++;
			}
		} else if (c == '<') {
			if (n - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0) {
				const char *e = find_str(s + i + 9, n - i - 9, "]]>");
				size_t len = e ? (size_t)(e - (s + i + 9)) : n - i - 9;

				out_literal(&o, s + i + 9, len);
				i += 9 + len + (e ? 3 : 0);
			} else if ((k = skip_tag(&o, s + i, n - i)) != 0) {
				i += k;
			} else {
				out_bytes(&o, "<", 1);
				i++;
			}
		} else if (c < 0x80) {
			out_cp(&o, c);
			i++;
		} else {
			k = tg_utf8_decode(s + i, n - i, &cp);
			if (k == 0) {
				cp = REPLACEMENT;
				k = 1;
			} else if (cp >= 0xC2 && cp <= 0xF4) {
				size_t m = unmangle(s + i, n - i, cp, &cp);

				if (m)
					k = m;
			}
			out_cp(&o, cp);
			i += k;
		}
		run = i;
	}
	if (!o.full)
		out_bytes(&o, s + run, i - run);
	o.p[o.len] = '\0';
	if (outlen)
		*outlen = o.len;
	/* The buffer was sized for the worst case: give the rest back. */
	if (o.len < size) {
		char *q = realloc(o.p, o.len + 1);

		if (q)
			o.p = q; /* else keep the larger block */
	}
	return o.p;
}

/*
 * Text normalisation with an offset map back to the original bytes: the
 * classifier matches ASCII patterns against the normalised text and reports
 * evidence in the original. Every output unit is no longer than its source, so
 * the output never outgrows the input. The map is a list of segments, one per
 * change of mapping, so plain ASCII text costs a memcpy and nothing more.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../common/text.h"
#include "normalize.h"

#define NORM_DEFAULT_LIMIT (1u << 20)

/* Base letters of U+00C0..U+024F and U+1E00..U+1EFF ("" keeps the character). */
static const char latin_a[0x190][3] = {
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",  /* 0xc0 */
	"D", "N", "O", "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "Th", "ss",  /* 0xd0 */
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  /* 0xe0 */
	"d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",  /* 0xf0 */
	"A", "a", "A", "a", "A", "a", "C", "c", "C", "c", "C", "c", "C", "c", "D", "d",  /* 0x100 */
	"D", "d", "E", "e", "E", "e", "E", "e", "E", "e", "E", "e", "G", "g", "G", "g",  /* 0x110 */
	"G", "g", "G", "g", "H", "h", "H", "h", "I", "i", "I", "i", "I", "i", "I", "i",  /* 0x120 */
	"I", "i", "IJ", "ij", "J", "j", "K", "k", "k", "L", "l", "L", "l", "L", "l", "L",  /* 0x130 */
	"l", "L", "l", "N", "n", "N", "n", "N", "n", "n", "N", "n", "O", "o", "O", "o",  /* 0x140 */
	"O", "o", "OE", "oe", "R", "r", "R", "r", "R", "r", "S", "s", "S", "s", "S", "s",  /* 0x150 */
	"S", "s", "T", "t", "T", "t", "T", "t", "U", "u", "U", "u", "U", "u", "U", "u",  /* 0x160 */
	"U", "u", "U", "u", "W", "w", "Y", "y", "Y", "Z", "z", "Z", "z", "Z", "z", "s",  /* 0x170 */
	"b", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",  /* 0x180 */
	"", "", "", "", "", "", "", "I", "", "", "", "", "", "", "", "",  /* 0x190 */
	"O", "o", "", "", "", "", "", "", "", "", "", "", "", "", "", "U",  /* 0x1a0 */
	"u", "", "", "", "", "Z", "z", "", "", "", "", "", "", "", "", "",  /* 0x1b0 */
	"", "", "", "", "DZ", "Dz", "dz", "LJ", "Lj", "lj", "NJ", "Nj", "nj", "A", "a", "I",  /* 0x1c0 */
	"i", "O", "o", "U", "u", "U", "u", "U", "u", "U", "u", "U", "u", "", "A", "a",  /* 0x1d0 */
	"A", "a", "", "", "", "", "G", "g", "K", "k", "O", "o", "O", "o", "", "",  /* 0x1e0 */
	"j", "DZ", "Dz", "dz", "G", "g", "", "", "N", "n", "A", "a", "", "", "", "",  /* 0x1f0 */
	"A", "a", "A", "a", "E", "e", "E", "e", "I", "i", "I", "i", "O", "o", "O", "o",  /* 0x200 */
	"R", "r", "R", "r", "U", "u", "U", "u", "S", "s", "T", "t", "", "", "H", "h",  /* 0x210 */
	"", "", "", "", "", "", "A", "a", "E", "e", "O", "o", "O", "o", "O", "o",  /* 0x220 */
	"O", "o", "Y", "y", "", "", "", "", "", "", "", "", "", "", "", "",  /* 0x230 */
	"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",  /* 0x240 */
};
static const char latin_x[0x100][3] = {
	"A", "a", "B", "b", "B", "b", "B", "b", "C", "c", "D", "d", "D", "d", "D", "d",  /* 0x1e00 */
	"D", "d", "D", "d", "E", "e", "E", "e", "E", "e", "E", "e", "E", "e", "F", "f",  /* 0x1e10 */
	"G", "g", "H", "h", "H", "h", "H", "h", "H", "h", "H", "h", "I", "i", "I", "i",  /* 0x1e20 */
	"K", "k", "K", "k", "K", "k", "L", "l", "L", "l", "L", "l", "L", "l", "M", "m",  /* 0x1e30 */
	"M", "m", "M", "m", "N", "n", "N", "n", "N", "n", "N", "n", "O", "o", "O", "o",  /* 0x1e40 */
	"O", "o", "O", "o", "P", "p", "P", "p", "R", "r", "R", "r", "R", "r", "R", "r",  /* 0x1e50 */
	"S", "s", "S", "s", "S", "s", "S", "s", "S", "s", "T", "t", "T", "t", "T", "t",  /* 0x1e60 */
	"T", "t", "U", "u", "U", "u", "U", "u", "U", "u", "U", "u", "V", "v", "V", "v",  /* 0x1e70 */
	"W", "w", "W", "w", "W", "w", "W", "w", "W", "w", "X", "x", "X", "x", "Y", "y",  /* 0x1e80 */
	"Z", "z", "Z", "z", "Z", "z", "h", "t", "w", "y", "a", "s", "", "", "SS", "",  /* 0x1e90 */
	"A", "a", "A", "a", "A", "a", "A", "a", "A", "a", "A", "a", "A", "a", "A", "a",  /* 0x1ea0 */
	"A", "a", "A", "a", "A", "a", "A", "a", "E", "e", "E", "e", "E", "e", "E", "e",  /* 0x1eb0 */
	"E", "e", "E", "e", "E", "e", "E", "e", "I", "i", "I", "i", "O", "o", "O", "o",  /* 0x1ec0 */
	"O", "o", "O", "o", "O", "o", "O", "o", "O", "o", "O", "o", "O", "o", "O", "o",  /* 0x1ed0 */
	"O", "o", "O", "o", "U", "u", "U", "u", "U", "u", "U", "u", "U", "u", "U", "u",  /* 0x1ee0 */
	"U", "u", "Y", "y", "Y", "y", "Y", "y", "Y", "y", "", "", "", "", "", "",  /* 0x1ef0 */
};

/* How one source character is rewritten. */
enum unit_kind {
	UNIT_COPY,   /* keep the source bytes */
	UNIT_TEXT,   /* emit out[] */
	UNIT_SPACE,  /* whitespace, collapsed */
	UNIT_BREAK,  /* whitespace that is a line break */
	UNIT_DROP    /* emit nothing */
};

struct unit {
	enum unit_kind kind;
	char out[4];
	size_t outlen;
};

struct entity {
	const char *name;
	uint32_t cp;
};

static const struct entity entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", 0xA0 }, { "rsquo", 0x2019 }, { "lsquo", 0x2018 }, { "ldquo", 0x201C },
	{ "rdquo", 0x201D }, { "ndash", 0x2013 }, { "mdash", 0x2014 }, { "hellip", 0x2026 },
	{ "shy", 0xAD },
};

void
tg_norm_init(struct tg_norm *n, size_t limit)
{
	memset(n, 0, sizeof(*n));
	n->limit = limit ? limit : NORM_DEFAULT_LIMIT;
	if (n->limit > UINT32_MAX - 1)
		n->limit = UINT32_MAX - 1;
}

void
tg_norm_free(struct tg_norm *n)
{
	free(n->text);
	free(n->seg);
	n->text = NULL;
	n->seg = NULL;
	n->len = 0;
	n->nseg = 0;
	n->cap = 0;
}

static int
reserve(struct tg_norm *n, size_t need)
{
	char *t;
	struct tg_norm_seg *sg;

	if (need <= n->cap)
		return 0;
	t = realloc(n->text, need);
	if (t == NULL)
		return -1;
	n->text = t;
	sg = realloc(n->seg, need * sizeof(*sg));
	if (sg == NULL)
		return -1;
	n->seg = sg;
	n->cap = need;
	return 0;
}

static void
unit_text(struct unit *u, const char *s)
{
	u->kind = UNIT_TEXT;
	u->outlen = strlen(s);
	memcpy(u->out, s, u->outlen);
}

/* Classify code point cp (its source is srclen bytes long). */
static void
map_cp(uint32_t cp, size_t srclen, struct unit *u)
{
	const char *base = NULL;

	u->kind = UNIT_COPY;
	u->outlen = 0;
	switch (cp) {
	case '\n': case '\r': case '\f': case '\v': case 0x85: case 0x2028: case 0x2029:
		u->kind = UNIT_BREAK;
		return;
	case ' ': case '\t': case 0xA0: case 0x1680: case 0x202F: case 0x205F: case 0x3000:
		u->kind = UNIT_SPACE;
		return;
	case 0xAD: case 0x200B: case 0x200C: case 0x200D: case 0x200E: case 0x200F:
	case 0x2060: case 0xFEFF:
		u->kind = UNIT_DROP;
		return;
	case '`': case 0xB4: case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032:
	case 0x02B9: case 0x02BB: case 0x02BC: case 0x02BE: case 0x02BF: case 0xFF07:
		unit_text(u, "'");
		return;
	case 0xAB: case 0xBB: case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2033:
		unit_text(u, "\"");
		return;
	case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015:
	case 0x2043: case 0x2212: case 0xFE58: case 0xFE63: case 0xFF0D:
		unit_text(u, "-");
		return;
	case 0x2026:
		unit_text(u, "...");
		return;
	case 0x2044: case 0x2215:
		unit_text(u, "/");
		return;
	case 0xFB00:
		unit_text(u, "ff");
		return;
	case 0xFB01:
		unit_text(u, "fi");
		return;
	case 0xFB02:
		unit_text(u, "fl");
		return;
	default:
		break;
	}
	if (cp < 0x80) {
		u->out[0] = (char)cp;
		u->outlen = 1;
		u->kind = UNIT_TEXT;
		return;
	}
	if ((cp >= 0x2000 && cp <= 0x200A) || (cp >= 0x202A && cp <= 0x202E)) {
		u->kind = cp <= 0x200A ? UNIT_SPACE : UNIT_DROP;
		return;
	}
	if (cp >= 0x300 && cp <= 0x36F) {
		u->kind = UNIT_DROP; /* combining marks: the letter before stays */
		return;
	}
	if (cp >= 0xC0 && cp < 0x250)
		base = latin_a[cp - 0xC0];
	else if (cp >= 0x1E00 && cp < 0x1F00)
		base = latin_x[cp - 0x1E00];
	else if (cp >= 0xFF01 && cp <= 0xFF5E) {
		u->out[0] = (char)(cp - 0xFEE0);
		u->outlen = 1;
		u->kind = UNIT_TEXT;
		return;
	}
	if (base != NULL && base[0] != '\0' && strlen(base) <= srclen) {
		unit_text(u, base);
		return;
	}
}

/* Parse an entity at p (p[0] == '&'); returns its length and sets *cp, or 0. */
static size_t
parse_entity(const char *p, size_t avail, uint32_t *cp)
{
	size_t i, max = avail < 12 ? avail : 12;
	uint32_t v = 0;

	for (i = 1; i < max && p[i] != ';'; i++)
		;
	if (i >= max || i < 3)
		return 0;
	if (p[1] == '#') {
		size_t j = 2;
		int hex = 0;

		if (p[2] == 'x' || p[2] == 'X') {
			hex = 1;
			j = 3;
		}
		if (j >= i)
			return 0;
		for (; j < i; j++) {
			char ch = p[j];
			uint32_t d;

			if (ch >= '0' && ch <= '9')
				d = (uint32_t)(ch - '0');
			else if (hex && ch >= 'a' && ch <= 'f')
				d = (uint32_t)(ch - 'a' + 10);
			else if (hex && ch >= 'A' && ch <= 'F')
				d = (uint32_t)(ch - 'A' + 10);
			else
				return 0;
			v = v * (hex ? 16 : 10) + d;
			if (v > 0x10FFFF)
				return 0;
		}
		if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
			return 0;
		*cp = v;
		return i + 1;
	}
	for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
		size_t nl = strlen(entities[k].name);

		if (nl == i - 1 && memcmp(p + 1, entities[k].name, nl) == 0) {
			*cp = entities[k].cp;
			return i + 1;
		}
	}
	return 0;
}

static inline int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static inline int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A byte copied as it is: printable ASCII other than '&' (entities) and '`'. */
static inline int
plain(unsigned char c)
{
	return c > ' ' && c < 0x80 && c != '&' && c != '`';
}

/* Length of the run of bytes at p that are copied as they are: plain bytes, and
 * single spaces followed by a plain byte. */
static size_t
plain_run(const unsigned char *p, size_t len)
{
	size_t j = 0;

#ifdef __SSE2__
	/* 16 bytes at a time: a byte is special when below '!' or above DEL (both
	 * negative or small as signed bytes), '&' or '`'; a space is fine when the
	 * byte after it is not special. */
	const __m128i bang = _mm_set1_epi8('!'), amp = _mm_set1_epi8('&');
	const __m128i tick = _mm_set1_epi8('`'), space = _mm_set1_epi8(' ');

	while (j + 17 <= len) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + j + 1));
		__m128i sa = _mm_or_si128(_mm_cmplt_epi8(a, bang),
		    _mm_or_si128(_mm_cmpeq_epi8(a, amp), _mm_cmpeq_epi8(a, tick)));
		__m128i sb = _mm_or_si128(_mm_cmplt_epi8(b, bang),
		    _mm_or_si128(_mm_cmpeq_epi8(b, amp), _mm_cmpeq_epi8(b, tick)));
		__m128i good_space = _mm_andnot_si128(sb, _mm_cmpeq_epi8(a, space));
		int bad = _mm_movemask_epi8(_mm_andnot_si128(good_space, sa));

		if (bad)
			return j + (size_t)__builtin_ctz((unsigned)bad);
		j += 16;
	}
#endif
	while (j < len && (plain(p[j]) || (p[j] == ' ' && j + 1 < len && plain(p[j + 1]))))
		j++;
	return j;
}

/* Record that output byte out (the next one) comes from original bytes [os,oe),
 * extending the last segment when the mapping simply continues. */
static inline void
map_byte(struct tg_norm *n, size_t out, size_t os, size_t oe)
{
	struct tg_norm_seg *l = n->nseg ? &n->seg[n->nseg - 1] : NULL;

	if (l != NULL) {
		if (l->oe == 0 && oe == os + 1 && l->os + (out - l->out) == os)
			return;
		if (l->oe != 0 && l->os == os && l->oe == oe)
			return;
	}
	l = &n->seg[n->nseg++];
	l->out = (uint32_t)out;
	l->os = (uint32_t)os;
	l->oe = oe == os + 1 ? 0 : (uint32_t)oe;
}

static inline void
put(struct tg_norm *n, char c, size_t s, size_t e)
{
	map_byte(n, n->len, s, e);
	n->text[n->len++] = c;
}

/* The original span of output byte i. */
static void
byte_span(const struct tg_norm *n, size_t i, uint32_t *os, uint32_t *oe)
{
	size_t lo = 0, hi = n->nseg;
	const struct tg_norm_seg *sg;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (n->seg[mid].out <= i)
			lo = mid;
		else
			hi = mid;
	}
	sg = &n->seg[lo];
	if (sg->oe == 0) {
		*os = sg->os + (uint32_t)(i - sg->out);
		*oe = *os + 1;
	} else {
		*os = sg->os;
		*oe = sg->oe;
	}
}

/* The last output byte also covers original bytes up to newend (a dropped
 * character right after it). */
static void
extend_last(struct tg_norm *n, size_t newend)
{
	struct tg_norm_seg *l = &n->seg[n->nseg - 1];
	uint32_t os, oe;

	if (l->oe != 0) {
		l->oe = (uint32_t)newend;
		return;
	}
	byte_span(n, n->len - 1, &os, &oe);
	if (l->out == n->len - 1) {
		l->oe = (uint32_t)newend;
		return;
	}
	l = &n->seg[n->nseg++];
	l->out = (uint32_t)(n->len - 1);
	l->os = os;
	l->oe = (uint32_t)newend;
}

/* Inside words a hyphen becomes a space: "al-Sudani" reads "al Sudani". */
static void
fold_hyphens(struct tg_norm *n)
{
	char *t = n->text, *p;
	size_t len = n->len;

	for (p = memchr(t, '-', len); p != NULL; p = memchr(p + 1, '-', len - (size_t)(p + 1 - t))) {
		size_t i = (size_t)(p - t);

		if (i > 0 && i + 1 < len && is_alnum(t[i - 1]) && is_alnum(t[i + 1]))
			*p = ' ';
	}
}

int
tg_norm_run(struct tg_norm *n, const char *src, size_t len)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0, ws_start = 0;
	int ws = 0, ws_break = 0;
	struct unit u;

	n->len = 0;
	n->nseg = 0;
	n->truncated = 0;
	if (len > n->limit) {
		len = n->limit;
		n->truncated = 1;
	}
	if (reserve(n, len + 1) == -1) {
		tg_norm_free(n);
		return -1;
	}
	while (i < len) {
		size_t ulen;
		uint32_t cp;

		if (plain(p[i])) {
			size_t j = i;

			if (ws)
				goto flush;
			/* Fast path: a run of plain ASCII, single spaces between words included. */
			j += plain_run(p + i, len - i);
			map_byte(n, n->len, i, i + 1);
			memcpy(n->text + n->len, p + i, j - i);
			n->len += j - i;
			i = j;
			continue;
		}
		if (p[i] == '&' && (ulen = parse_entity(src + i, len - i, &cp)) != 0)
			;
		else if ((ulen = tg_utf8_decode((const char *)p + i, len - i, &cp)) == 0) {
			ulen = 1;
			u.kind = UNIT_COPY;
			goto emit;
		}
		map_cp(cp, ulen, &u);
		if (u.kind == UNIT_COPY && p[i] == '&') {
			/* An entity for a character we keep: write it as UTF-8. */
			u.outlen = tg_utf8_encode(cp, u.out);
			u.kind = UNIT_TEXT;
		}
emit:
		if (u.kind == UNIT_SPACE || u.kind == UNIT_BREAK) {
			if (!ws)
				ws_start = i;
			ws = 1;
			ws_break |= u.kind == UNIT_BREAK;
			i += ulen;
			continue;
		}
		if (u.kind == UNIT_DROP) {
			uint32_t os, oe;

			/* The dropped character belongs to the output byte before it. */
			if (!ws && n->len > 0) {
				byte_span(n, n->len - 1, &os, &oe);
				if (oe == i)
					extend_last(n, i + ulen);
			}
			i += ulen;
			continue;
		}
		if (ws) {
flush:
			/* A whitespace run ends: one space, or nothing after a hyphen at a line
			 * break ("al-\nSudani"); "Soleim-\nani" (lower on both sides) joins. */
			if (n->len > 0 && n->text[n->len - 1] == '-' && ws_break) {
				if (n->len > 1 && is_lower(n->text[n->len - 2]) && is_lower((char)p[i])) {
					n->len--;
					if (n->seg[n->nseg - 1].out == n->len)
						n->nseg--;
				}
			} else if (n->len > 0)
				put(n, ' ', ws_start, i);
			ws = 0;
			ws_break = 0;
			continue;
		}
		if (u.kind == UNIT_COPY) {
			for (size_t k = 0; k < ulen; k++)
				put(n, (char)p[i + k], i, i + ulen);
		} else {
			for (size_t k = 0; k < u.outlen; k++)
				put(n, u.out[k], i, i + ulen);
		}
		i += ulen;
	}
	fold_hyphens(n);
	n->text[n->len] = '\0';
	return 0;
}

void
tg_norm_span(const struct tg_norm *n, size_t s, size_t e, uint32_t *os, uint32_t *oe)
{
	uint32_t a, b;

	if (n->len == 0) {
		*os = 0;
		*oe = 0;
		return;
	}
	if (e > n->len)
		e = n->len;
	if (s >= e)
		s = e - 1;
	byte_span(n, s, os, &a);
	byte_span(n, e - 1, &b, oe);
}

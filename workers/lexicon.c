/*
 * The classifier's lexicon (see lexicon.h): the words of a taxonomy's literal
 * aliases, the symbol each is written as, and the encoder that turns a field's
 * normalised text into symbols before the classifier scans it.
 *
 * Symbol 0 is UNKNOWN; then one symbol per word (its folded spelling), one per
 * stem (an unknown word whose longest stem it is) and one per punctuation byte
 * an alias uses. A "word*" alias's last token accepts the stem's symbol and
 * the symbol of every word that starts with the stem, so such an alias is
 * spelled several ways; every other token has exactly one symbol.
 *
 * Words are looked up by their folded bytes eight at a time: the table keeps
 * each spelling zero-padded to whole 64-bit chunks, so a lookup is a hash of
 * one or two chunks and a compare of as many.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "lexicon.h"

#define LEX_UNKNOWN 0
#define LEX_MAX_SYMBOLS (128 * 127) /* first byte 0x80-0xff, second 0x00-0x7e */
#define LEX_CHUNKS (TG_LEX_MAX_WORD / 8)

enum { PT_WORD, PT_STEM, PT_PUNCT, PT_SPACE };

/* One token of an alias: what it asks of the text. */
struct ptok {
	uint8_t kind;
	uint8_t byte;   /* PT_PUNCT */
	int32_t ref;    /* PT_WORD: word; PT_STEM: stem */
};

struct lit {
	int32_t tok0, ntok;
};

/* A word or a stem: its folded spelling as the (len + 7) / 8 chunks from off in
 * the pool. */
struct entry {
	uint64_t c0;    /* its first chunk, to compare without the pool */
	uint32_t off;
	uint16_t len;
	uint64_t hash;
	int32_t sym;
};

/* An open-addressing table of entries: a slot holds the upper half of the
 * entry's hash and its index + 1 (0: empty), so a probe that meets another
 * word rarely has to read its entry. */
struct table {
	struct entry *e;
	int32_t n, cap;
	uint64_t *slot;
	size_t mask;
};

struct tg_lex {
	uint64_t *pool;           /* folded spellings, zero-padded chunks */
	size_t pool_len, pool_cap;
	struct ptok *toks;
	int32_t ntoks, toks_cap;
	struct lit *lits;
	int32_t nlits, lits_cap;
	struct table words, stems;
	uint8_t punct_used[256];
	/* after tg_lex_build */
	int built;
	int32_t punct_sym[256];
	int32_t nsyms;
	uint8_t stem_len[TG_LEX_MAX_WORD + 1];  /* stem lengths in use */
	uint8_t max_stem;
	uint8_t short_stem;                     /* some stem is shorter than 4 bytes */
	uint8_t stem_first4[65536 / 8];         /* some stem may start with these 4 bytes */
	int32_t *stem_sym0, *stem_syms;         /* per stem: the symbols it accepts, CSR */
};

static const uint8_t word_byte[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['_'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

/* Case folding of word bytes: setting 0x20 lowers A-Z, keeps digits and maps
 * '_' to 0x7f, so it is one-to-one on word bytes. */
#define FOLD8 0x2020202020202020ull

/* The first n (1-8) bytes of a chunk, the rest zero (little-endian order is
 * what memcpy gives on every machine tigris builds for; the mask only has to
 * agree with itself, since the pool is filled the same way). */
static inline uint64_t
chunk_mask(size_t n)
{
	return n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
}

/* Load the folded spelling of word bytes s[0..n) (n <= TG_LEX_MAX_WORD) into
 * zero-padded chunks c; avail is how many bytes from s may be read. Returns
 * the number of chunks. */
static inline size_t
load_folded(const uint8_t *s, size_t n, size_t avail, uint64_t *c)
{
	size_t nc = (n + 7) / 8;

	for (size_t k = 0; k < nc; k++) {
		size_t have = n - 8 * k < 8 ? n - 8 * k : 8;
		uint64_t v = 0;

		if (avail >= 8 * k + 8)
			memcpy(&v, s + 8 * k, 8);
		else
			memcpy(&v, s + 8 * k, have);
		c[k] = (v | FOLD8) & chunk_mask(have);
	}
	return nc;
}

/* A 16-bit hash of a chunk's first four bytes: the stem prefilter's key. */
static inline unsigned
first4(uint64_t c)
{
	return (unsigned)(((c & 0xffffffffull) * 0x9e3779b1ull) >> 16) & 0xffff;
}

static inline uint64_t
chunk_hash(const uint64_t *c, size_t nc, size_t len)
{
	uint64_t h = (uint64_t)len * 0x9e3779b97f4a7c15ull;

	for (size_t k = 0; k < nc; k++)
		h = (h ^ c[k]) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 31);
}

#define GROW(arr, n, cap) do {                                              \
	if ((n) == (cap)) {                                                 \
		(cap) = (cap) ? (cap) * 2 : 64;                             \
		(arr) = tg_realloc((arr), (size_t)(cap) * sizeof(*(arr)));  \
	}                                                                   \
} while (0)

struct tg_lex *
tg_lex_new(void)
{
	return tg_calloc(1, sizeof(struct tg_lex));
}

void
tg_lex_free(struct tg_lex *lx)
{
	if (lx == NULL)
		return;
	free(lx->pool);
	free(lx->toks);
	free(lx->lits);
	free(lx->words.e);
	free(lx->words.slot);
	free(lx->stems.e);
	free(lx->stems.slot);
	free(lx->stem_sym0);
	free(lx->stem_syms);
	free(lx);
}

static inline int32_t
table_find(const struct tg_lex *lx, const struct table *t, const uint64_t *c, size_t nc,
    size_t len, uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32);

	if (t->slot == NULL)
		return -1;
	for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		uint64_t sl = t->slot[i];
		const struct entry *e;
		const uint64_t *p;
		size_t j;

		if (sl == 0)
			return -1;
		if ((uint32_t)(sl >> 32) != tag)
			continue;
		e = &t->e[(uint32_t)sl - 1];
		if (e->c0 != c[0] || e->len != len)
			continue;
		p = lx->pool + e->off;
		for (j = 1; j < nc && p[j] == c[j]; j++)
			;
		if (j == nc)
			return (int32_t)((uint32_t)sl - 1);
	}
}

static void
table_put(struct table *t, int32_t k)
{
	size_t i = (size_t)t->e[k].hash & t->mask;

	while (t->slot[i] != 0)
		i = (i + 1) & t->mask;
	t->slot[i] = (t->e[k].hash >> 32) << 32 | (uint32_t)(k + 1);
}

static void
table_reindex(struct table *t)
{
	free(t->slot);
	t->mask = 63;
	while (t->mask + 1 < (size_t)t->n * 4)
		t->mask = t->mask * 2 + 1;
	t->slot = tg_calloc(t->mask + 1, sizeof(*t->slot));
	for (int32_t k = 0; k < t->n; k++)
		table_put(t, k);
}

/* The entry of t with the folded spelling of s[0..n), added when new. */
static int32_t
table_intern(struct tg_lex *lx, struct table *t, const uint8_t *s, size_t n)
{
	uint64_t c[LEX_CHUNKS];
	size_t nc = load_folded(s, n, n, c);
	uint64_t h = chunk_hash(c, nc, n);
	int32_t k = table_find(lx, t, c, nc, n, h);
	struct entry *e;

	if (k >= 0)
		return k;
	if (lx->pool_len + nc > lx->pool_cap) {
		lx->pool_cap = (lx->pool_len + nc) * 2 + 64;
		lx->pool = tg_realloc(lx->pool, lx->pool_cap * sizeof(*lx->pool));
	}
	memcpy(lx->pool + lx->pool_len, c, nc * sizeof(*c));
	GROW(t->e, t->n, t->cap);
	e = &t->e[t->n];
	e->off = (uint32_t)lx->pool_len;
	e->len = (uint16_t)n;
	e->hash = h;
	e->sym = LEX_UNKNOWN;
	lx->pool_len += nc;
	e->c0 = c[0];
	k = t->n++;
	if ((size_t)t->n * 2 > t->mask + 1 || t->slot == NULL)
		table_reindex(t);
	else
		table_put(t, k);
	return k;
}

int
tg_lex_add(struct tg_lex *lx, const char *lit, size_t len, int prefix, char *err,
    size_t errlen)
{
	const uint8_t *s = (const uint8_t *)lit;
	int32_t tok0 = lx->ntoks;
	struct lit *l;

	if (len == 0 || s[0] == ' ' || s[len - 1] == ' ') {
		snprintf(err, errlen, "alias is empty or has a space at an end");
		return -1;
	}
	for (size_t i = 0; i < len;) {
		struct ptok t = { 0 };
		size_t j = i + 1;

		if (word_byte[s[i]]) {
			while (j < len && word_byte[s[j]])
				j++;
			if (j - i > TG_LEX_MAX_WORD) {
				snprintf(err, errlen, "a word of more than %d bytes", TG_LEX_MAX_WORD);
				lx->ntoks = tok0;
				return -1;
			}
			t.kind = prefix && j == len ? PT_STEM : PT_WORD;
			t.ref = table_intern(lx, t.kind == PT_STEM ? &lx->stems : &lx->words,
			    s + i, j - i);
		} else if (s[i] == ' ') {
			if (s[j] == ' ') {
				snprintf(err, errlen, "two spaces in a row");
				lx->ntoks = tok0;
				return -1;
			}
			t.kind = PT_SPACE;
		} else {
			t.kind = PT_PUNCT;
			t.byte = s[i];
			lx->punct_used[s[i]] = 1;
		}
		GROW(lx->toks, lx->ntoks, lx->toks_cap);
		lx->toks[lx->ntoks++] = t;
		i = j;
	}
	GROW(lx->lits, lx->nlits, lx->lits_cap);
	l = &lx->lits[lx->nlits];
	l->tok0 = tok0;
	l->ntok = lx->ntoks - tok0;
	lx->built = 0;
	return lx->nlits++;
}

/* Call fn(arg, stem) for every stem that starts the folded spelling c (len
 * bytes), shortest first. */
static void
each_stem(const struct tg_lex *lx, const uint64_t *c, size_t len,
    void (*fn)(struct tg_lex *, int32_t, int32_t), struct tg_lex *arg, int32_t sym)
{
	for (size_t l = 1; l <= len && l <= lx->max_stem; l++) {
		uint64_t p[LEX_CHUNKS];
		size_t nc = (l + 7) / 8;
		int32_t k;

		if (!lx->stem_len[l])
			continue;
		memcpy(p, c, nc * sizeof(*p));
		p[nc - 1] &= chunk_mask(l - 8 * (nc - 1));
		k = table_find(lx, &lx->stems, p, nc, l, chunk_hash(p, nc, l));
		if (k >= 0)
			fn(arg, k, sym);
	}
}

static void
count_stem(struct tg_lex *lx, int32_t stem, int32_t sym)
{
	(void)sym;
	lx->stem_sym0[stem + 1]++;
}

static void
fill_stem(struct tg_lex *lx, int32_t stem, int32_t sym)
{
	/* stem_sym0[stem] runs ahead as the fill position; fixed up afterwards. */
	lx->stem_syms[lx->stem_sym0[stem]++] = sym;
}

int
tg_lex_build(struct tg_lex *lx, char *err, size_t errlen)
{
	int32_t sym = 1;

	memset(lx->stem_len, 0, sizeof(lx->stem_len));
	memset(lx->stem_first4, 0, sizeof(lx->stem_first4));
	lx->max_stem = 0;
	lx->short_stem = 0;
	for (int32_t k = 0; k < lx->stems.n; k++) {
		const struct entry *e = &lx->stems.e[k];
		unsigned x;

		lx->stem_len[e->len] = 1;
		if (e->len > lx->max_stem)
			lx->max_stem = (uint8_t)e->len;
		if (e->len < 4) {
			lx->short_stem = 1;
			continue;
		}
		x = first4(lx->pool[e->off]);
		lx->stem_first4[x >> 3] |= (uint8_t)(1u << (x & 7));
	}
	for (int32_t k = 0; k < lx->words.n; k++)
		lx->words.e[k].sym = sym++;
	for (int32_t k = 0; k < lx->stems.n; k++)
		lx->stems.e[k].sym = sym++;
	for (int b = 0; b < 256; b++)
		lx->punct_sym[b] = lx->punct_used[b] ? sym++ : LEX_UNKNOWN;
	if (sym > LEX_MAX_SYMBOLS) {
		snprintf(err, errlen, "%d distinct words, stems and punctuation, more than %d",
		    sym, LEX_MAX_SYMBOLS);
		return -1;
	}
	lx->nsyms = sym;
	/* What each stem accepts: the words and the stems it starts. */
	free(lx->stem_sym0);
	free(lx->stem_syms);
	lx->stem_sym0 = tg_calloc((size_t)lx->stems.n + 1, sizeof(*lx->stem_sym0));
	for (int pass = 0; pass < 2; pass++) {
		void (*fn)(struct tg_lex *, int32_t, int32_t) = pass ? fill_stem : count_stem;

		if (pass) {
			for (int32_t k = 0; k < lx->stems.n; k++)
				lx->stem_sym0[k + 1] += lx->stem_sym0[k];
			lx->stem_syms = tg_calloc((size_t)lx->stem_sym0[lx->stems.n] + 1,
			    sizeof(*lx->stem_syms));
		}
		for (int32_t k = 0; k < lx->words.n; k++) {
			const struct entry *e = &lx->words.e[k];

			each_stem(lx, lx->pool + e->off, e->len, fn, lx, e->sym);
		}
		for (int32_t k = 0; k < lx->stems.n; k++) {
			const struct entry *e = &lx->stems.e[k];

			each_stem(lx, lx->pool + e->off, e->len, fn, lx, e->sym);
		}
	}
	/* fill_stem moved each start to the next stem's start: shift back. */
	memmove(lx->stem_sym0 + 1, lx->stem_sym0, (size_t)lx->stems.n * sizeof(*lx->stem_sym0));
	lx->stem_sym0[0] = 0;
	lx->built = 1;
	return 0;
}

static inline size_t
put_sym(uint8_t *o, int32_t sym)
{
	o[0] = (uint8_t)(0x80 | (sym / 127));
	o[1] = (uint8_t)(sym % 127);
	return 2;
}

/* The symbols alias token t accepts, as n of them from *syms (or one, *one). */
static int32_t
ptok_syms(const struct tg_lex *lx, const struct ptok *t, const int32_t **syms, int32_t *one)
{
	switch (t->kind) {
	case PT_WORD:
		*one = lx->words.e[t->ref].sym;
		*syms = one;
		return 1;
	case PT_STEM:
		*syms = lx->stem_syms + lx->stem_sym0[t->ref];
		return lx->stem_sym0[t->ref + 1] - lx->stem_sym0[t->ref];
	case PT_PUNCT:
		*one = lx->punct_sym[t->byte];
		*syms = one;
		return 1;
	default:
		return 0;
	}
}

int
tg_lex_spell(const struct tg_lex *lx, int i,
    void (*fn)(const uint8_t *code, size_t len, void *arg), void *arg, char *err, size_t errlen)
{
	const struct lit *l = &lx->lits[i];
	const struct ptok *t = &lx->toks[l->tok0];
	int32_t at[256], one[256], nalt[256];
	const int32_t *alt[256];
	uint8_t code[512];
	long total = 1;
	int n = 0;

	if (!lx->built || l->ntok > 256) {
		snprintf(err, errlen, "%s", lx->built ? "alias of more than 256 tokens" :
		    "lexicon not built");
		return -1;
	}
	for (int k = 0; k < l->ntok; k++) {
		at[k] = 0;
		nalt[k] = ptok_syms(lx, &t[k], &alt[k], &one[k]);
		if (t[k].kind != PT_SPACE)
			total *= nalt[k];
		if (total > TG_LEX_MAX_SPELLINGS) {
			snprintf(err, errlen, "alias can be written more than %d ways in symbols",
			    TG_LEX_MAX_SPELLINGS);
			return -1;
		}
	}
	for (;;) {
		size_t len = 0;
		int k;

		for (k = 0; k < l->ntok; k++) {
			if (t[k].kind == PT_SPACE)
				code[len++] = TG_LEX_SPACE;
			else
				len += put_sym(code + len, alt[k][at[k]]);
		}
		fn(code, len, arg);
		n++;
		for (k = l->ntok - 1; k >= 0; k--) {
			if (t[k].kind == PT_SPACE)
				continue;
			if (++at[k] < nalt[k])
				break;
			at[k] = 0;
		}
		if (k < 0)
			break;
	}
	return n;
}

size_t
tg_lex_code_len(const struct tg_lex *lx, int i)
{
	const struct lit *l = &lx->lits[i];
	size_t len = 0;

	for (int k = 0; k < l->ntok; k++)
		len += lx->toks[l->tok0 + k].kind == PT_SPACE ? 1 : 2;
	return len;
}

struct spell_to {
	struct tg_lex_spellings *sp;
	unsigned id;
};

static void
keep_spelling(const uint8_t *code, size_t len, void *arg)
{
	struct spell_to *to = arg;
	struct tg_lex_spellings *sp = to->sp;

	if (sp->n == sp->ncap) {
		sp->ncap = sp->ncap ? sp->ncap * 2 : 1024;
		sp->off = tg_realloc(sp->off, sp->ncap * sizeof(*sp->off));
		sp->len = tg_realloc(sp->len, sp->ncap * sizeof(*sp->len));
		sp->id = tg_realloc(sp->id, sp->ncap * sizeof(*sp->id));
	}
	if (sp->used + len > sp->cap) {
		sp->cap = (sp->used + len) * 2;
		sp->buf = tg_realloc(sp->buf, sp->cap);
	}
	memcpy(sp->buf + sp->used, code, len);
	sp->off[sp->n] = sp->used;
	sp->len[sp->n] = len;
	sp->id[sp->n++] = to->id;
	sp->used += len;
}

int
tg_lex_spell_all(const struct tg_lex *lx, const int *lit, int n,
    struct tg_lex_spellings *out, int *bad, char *err, size_t errlen)
{
	struct spell_to to = { out, 0 };

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		if (lit[i] < 0)
			continue;
		to.id = (unsigned)i;
		if (tg_lex_spell(lx, lit[i], keep_spelling, &to, err, errlen) == -1) {
			*bad = i;
			tg_lex_spellings_free(out);
			return -1;
		}
	}
	out->code = tg_calloc((size_t)out->n + 1, sizeof(*out->code));
	out->flags = tg_calloc((size_t)out->n + 1, sizeof(*out->flags));
	for (unsigned k = 0; k < out->n; k++)
		out->code[k] = out->buf + out->off[k];
	return 0;
}

void
tg_lex_spellings_free(struct tg_lex_spellings *sp)
{
	free(sp->code);
	free(sp->len);
	free(sp->id);
	free(sp->flags);
	free(sp->buf);
	free(sp->off);
	memset(sp, 0, sizeof(*sp));
}

/* The symbol of the word s[0..n); avail bytes may be read from s. */
static inline int32_t
word_sym(const struct tg_lex *lx, const uint8_t *s, size_t n, size_t avail)
{
	uint64_t c[LEX_CHUNKS] = { 0 };
	size_t m = n < TG_LEX_MAX_WORD ? n : TG_LEX_MAX_WORD;
	size_t nc = load_folded(s, m, avail, c);
	unsigned x;

	if (n <= TG_LEX_MAX_WORD) {
		int32_t k = table_find(lx, &lx->words, c, nc, n, chunk_hash(c, nc, n));

		if (k >= 0)
			return lx->words.e[k].sym;
	}
	if (lx->stems.n == 0)
		return LEX_UNKNOWN;
	/* Most words start no stem: a stem of 4 bytes or more needs its first 4 in
	 * the filter; shorter stems (none in the default taxonomy) are always tried. */
	x = first4(c[0]);
	if (!lx->short_stem && (n < 4 || !(lx->stem_first4[x >> 3] & (1u << (x & 7)))))
		return LEX_UNKNOWN;
	for (size_t l = m < lx->max_stem ? m : lx->max_stem; l >= 1; l--) {
		uint64_t p[LEX_CHUNKS];
		size_t pc = (l + 7) / 8;
		int32_t k;

		if (!lx->stem_len[l])
			continue;
		memcpy(p, c, pc * sizeof(*p));
		p[pc - 1] &= chunk_mask(l - 8 * (pc - 1));
		k = table_find(lx, &lx->stems, p, pc, l, chunk_hash(p, pc, l));
		if (k >= 0)
			return lx->stems.e[k].sym;
	}
	return LEX_UNKNOWN;
}

static int
text_reserve(struct tg_lex_text *out, size_t need)
{
	uint8_t *c;
	uint32_t *s, *e;

	if (need <= out->cap)
		return 0;
	c = realloc(out->code, need);
	if (c == NULL)
		return -1;
	out->code = c;
	s = realloc(out->start, need * sizeof(*s));
	if (s == NULL)
		return -1;
	out->start = s;
	e = realloc(out->end, need * sizeof(*e));
	if (e == NULL)
		return -1;
	out->end = e;
	out->cap = need;
	return 0;
}

static inline size_t
emit(struct tg_lex_text *out, size_t o, int32_t sym, size_t st, size_t en)
{
	put_sym(out->code + o, sym);
	out->start[o] = out->start[o + 1] = (uint32_t)st;
	out->end[o] = out->end[o + 1] = (uint32_t)en;
	return o + 2;
}

int
tg_lex_encode(const struct tg_lex *lx, const char *text, size_t len, struct tg_lex_text *out)
{
	const uint8_t *s = (const uint8_t *)text;
	enum { NONE, KNOWN, UNKNOWN } last = NONE;
	size_t i = 0, o = 0, spaces = 0;

	out->len = 0;
	if (text_reserve(out, 2 * len + 2) == -1) {
		tg_lex_text_free(out);
		return -1;
	}
	while (i < len) {
		size_t st = i;
		int32_t sym;

		if (s[i] == ' ') {
			spaces++;
			i++;
			continue;
		}
		if (word_byte[s[i]]) {
			while (++i < len && word_byte[s[i]])
				;
			sym = word_sym(lx, s + st, i - st, len - st);
		} else
			sym = lx->punct_sym[s[i++]];
		if (sym != LEX_UNKNOWN) {
			if (last == KNOWN && spaces == 1) {
				out->code[o] = TG_LEX_SPACE;
				out->start[o] = (uint32_t)st - 1;
				out->end[o++] = (uint32_t)st;
			} else if (last == KNOWN && spaces > 1)
				o = emit(out, o, LEX_UNKNOWN, st - spaces, st); /* no alias spans two */
			o = emit(out, o, sym, st, i);
			last = KNOWN;
		} else if (last != UNKNOWN) {
			o = emit(out, o, LEX_UNKNOWN, st, i);
			last = UNKNOWN;
		}
		spaces = 0;
	}
	out->len = o;
	return 0;
}

void
tg_lex_text_free(struct tg_lex_text *out)
{
	free(out->code);
	free(out->start);
	free(out->end);
	memset(out, 0, sizeof(*out));
}

void
tg_lex_counts(const struct tg_lex *lx, int *words, int *stems, int *symbols)
{
	*words = lx->words.n;
	*stems = lx->stems.n;
	*symbols = lx->nsyms;
}

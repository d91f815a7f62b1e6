/*
 * Parser for taxonomy files (format: docs/taxonomy.md). A line-based format: one
 * statement per line, alias lists on indented lines under their term. Names are
 * resolved as they are read (define before use), and every error is collected
 * with its file and line so an analyst can fix them all in one go.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/util.h"
#include "normalize.h"
#include "taxonomy.h"

#define TAX_MAX_FILE (8u << 20)
#define TAX_MAX_LINE 4096
#define TAX_MAX_TOKENS 64
#define TAX_MAX_ERRORS 100
#define TAX_MAX_ITEMS 100000 /* terms, patterns, rules, vetoes each */
#define TAX_MAX_TAGS TG_RESULT_MAX_TAGS
#define TAX_MAX_WINDOW 100000
#define TAX_MAX_REGEX 2048
#define TAX_MAX_APOS 3 /* apostrophes in one alias: 2^3 variants */

/* Kinds of names the parser indexes (one namespace for all of them). */
enum name_kind { NAME_TAG, NAME_DYAD, NAME_TERM, NAME_RULE };

/* A slot of the parser's name index: the name lives in the taxonomy's arrays. */
struct name_slot {
	uint64_t hash;
	int kind;  /* enum name_kind */
	int index; /* into that kind's array; -1: empty slot */
};

struct parser {
	struct tg_taxonomy *t;
	const char *file;
	int line;
	char *err;
	size_t errlen, errused;
	int nerr;
	int cur_term;   /* term taking alias lines, or -1 */
	int cap_tags, cap_dyads, cap_relevant, cap_terms, cap_patterns, cap_rules, cap_vetoes;
	struct tg_norm norm;
	struct name_slot *names; /* open addressing; at most half full */
	size_t nnames, cap_names;
};

static void perr(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	int n;

	p->nerr++;
	if (p->err == NULL || p->errlen == 0 || p->nerr > TAX_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(p->err + p->errused, p->errlen - p->errused, "%s%s:%d: %s",
	    p->errused ? "\n" : "", p->file, line, msg);
	if (n > 0)
		p->errused += (size_t)n < p->errlen - p->errused ? (size_t)n : p->errlen - p->errused - 1;
}

/* Grow *arr (of *cap elements of size sz) to hold n+1; returns -1 past the cap. */
static int
grow(void **arr, int *cap, int n, size_t sz, int max)
{
	int ncap;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -1;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > max)
		ncap = max;
	*arr = tg_realloc(*arr, (size_t)ncap * sz);
	memset((char *)*arr + (size_t)*cap * sz, 0, (size_t)(ncap - *cap) * sz);
	*cap = ncap;
	return 0;
}

/* Lower-case letters, digits, '-', '_' and (when dots) '.'; 1..max-1 bytes.
 * Tags and dyads take no dots: results carry them as they are, and the wire
 * refuses them there (tg_tag_name_valid: they make ZeroMQ topics "tag.NAME."). */
static int
valid_name(const char *s, size_t max, int dots)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(islower(c) || isdigit(c) || (c == '.' && dots) || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int
parse_float(const char *s, float min, float max, float *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = (float)v;
	return 0;
}

int
tg_taxonomy_tag(const struct tg_taxonomy *t, const char *name)
{
	for (int i = 0; i < t->ntags; i++)
		if (strcmp(t->tags[i].name, name) == 0)
			return i;
	return -1;
}

int
tg_taxonomy_term(const struct tg_taxonomy *t, const char *name)
{
	for (int i = 0; i < t->nterms; i++)
		if (strcmp(t->terms[i].name, name) == 0)
			return i;
	return -1;
}

/* The name index keeps lookups constant-time: with linear searches, a file
 * of n terms and rules cost n^2 comparisons to parse. */
static const char *
slot_name(const struct parser *p, const struct name_slot *sl)
{
	switch (sl->kind) {
	case NAME_TAG:
		return p->t->tags[sl->index].name;
	case NAME_DYAD:
		return p->t->dyads[sl->index].name;
	case NAME_TERM:
		return p->t->terms[sl->index].name;
	default:
		return p->t->rules[sl->index].name;
	}
}

static uint64_t
name_hash(const char *name)
{
	return tg_hash64(TG_HASH_INIT, name, strlen(name));
}

/* The slot holding name, or NULL. */
static const struct name_slot *
name_find(const struct parser *p, const char *name)
{
	uint64_t h;
	size_t i;

	if (p->cap_names == 0)
		return NULL;
	h = name_hash(name);
	for (i = h & (p->cap_names - 1); p->names[i].index >= 0; i = (i + 1) & (p->cap_names - 1))
		if (p->names[i].hash == h && strcmp(slot_name(p, &p->names[i]), name) == 0)
			return &p->names[i];
	return NULL;
}

/* Index of name when it is of the given kind, or -1. */
static int
name_lookup(const struct parser *p, const char *name, int kind)
{
	const struct name_slot *sl = name_find(p, name);

	return sl != NULL && sl->kind == kind ? sl->index : -1;
}

static void
slot_put(struct name_slot *tab, size_t cap, uint64_t h, int kind, int index)
{
	size_t i;

	for (i = h & (cap - 1); tab[i].index >= 0; i = (i + 1) & (cap - 1))
		;
	tab[i].hash = h;
	tab[i].kind = kind;
	tab[i].index = index;
}

/* Index a new name (already checked unique and stored in its array). */
static void
name_add(struct parser *p, int kind, int index)
{
	struct name_slot added = { 0, kind, index };

	if (2 * (p->nnames + 1) > p->cap_names) {
		size_t ncap = p->cap_names ? 2 * p->cap_names : 64;
		struct name_slot *tab = tg_malloc(ncap * sizeof(*tab));

		for (size_t i = 0; i < ncap; i++)
			tab[i].index = -1;
		for (size_t i = 0; i < p->cap_names; i++)
			if (p->names[i].index >= 0)
				slot_put(tab, ncap, p->names[i].hash, p->names[i].kind,
				    p->names[i].index);
		free(p->names);
		p->names = tab;
		p->cap_names = ncap;
	}
	slot_put(p->names, p->cap_names, name_hash(slot_name(p, &added)), kind, index);
	p->nnames++;
}

static int
is_word(unsigned char c)
{
	return isalnum(c) || c == '_';
}

/* Append s (n bytes) to out at *o, NUL-terminated; returns -1 when it does not fit. */
static int
emit(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (*o + n + 1 > outlen)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

/* An acronym: capitals (at least two), digits, dots and '&', at most 8 bytes. */
static int
is_acronym(const char *a, size_t n)
{
	int upper = 0;

	if (n > 8)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (isupper(c))
			upper++;
		else if (!isdigit(c) && c != '.' && c != '&')
			return 0;
	}
	return upper >= 2;
}

int
tg_taxonomy_alias_pattern(const char *alias, char *out, size_t outlen, unsigned *flags,
    char *err, size_t errlen)
{
	size_t n, o = 0, i;
	const char *a = alias;
	char esc[8];
	size_t escn;
	int exact = 0;

	*flags = 0;
	if (*a == '=') {
		exact = 1;
		a++;
	}
	n = strlen(a);
	if (n == 0) {
		snprintf(err, errlen, "empty alias");
		return -1;
	}
	if (a[0] == '/') {
		if (n < 3 || a[n - 1] != '/') {
			snprintf(err, errlen, "regex alias must be written /regex/");
			return -1;
		}
		if (n - 2 + 1 > outlen) {
			snprintf(err, errlen, "regex too long");
			return -1;
		}
		memcpy(out, a + 1, n - 2);
		out[n - 2] = '\0';
		*flags = TG_TAX_REGEX | (exact ? 0 : TG_TAX_CASELESS);
		return 0;
	}
	if (a[n - 1] == '*') {
		*flags |= TG_TAX_PREFIX;
		n--;
		if (n == 0 || !is_word((unsigned char)a[n - 1])) {
			snprintf(err, errlen, "'*' must follow a letter or digit");
			return -1;
		}
	}
	if (!exact && !is_acronym(a, n))
		*flags |= TG_TAX_CASELESS;
	if (is_word((unsigned char)a[0]))
		*flags |= TG_TAX_WORD_START;
	if (is_word((unsigned char)a[n - 1]))
		*flags |= TG_TAX_WORD_END;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c == '*') {
			snprintf(err, errlen, "'*' may only end an alias");
			return -1;
		}
		if (is_word(c)) {
			esc[0] = (char)c;
			escn = 1;
		} else if (c < 0x80 && isprint(c)) {
			esc[0] = '\\';
			esc[1] = (char)c;
			escn = 2;
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = "0123456789abcdef"[c >> 4];
			esc[3] = "0123456789abcdef"[c & 15];
			escn = 4;
		}
		if (emit(out, outlen, &o, esc, escn) == -1) {
			snprintf(err, errlen, "alias too long");
			return -1;
		}
	}
	return 0;
}

/* Parse "a|b|c" into a set of known terms. */
static int
parse_set(struct parser *p, const char *tok, struct tg_tax_set *set)
{
	char buf[TAX_MAX_LINE];
	char *s, *bar;

	set->n = 0;
	if (strlen(tok) >= sizeof(buf)) {
		perr(p, p->line, "term list too long");
		return -1;
	}
	memcpy(buf, tok, strlen(tok) + 1);
	for (s = buf; s != NULL; s = bar) {
		int ti;

		bar = strchr(s, '|');
		if (bar)
			*bar++ = '\0';
		if (*s == '\0') {
			perr(p, p->line, "empty name in term list '%s'", tok);
			return -1;
		}
		ti = name_lookup(p, s, NAME_TERM);
		if (ti < 0) {
			perr(p, p->line, "unknown term '%s' (terms must be defined before use)", s);
			return -1;
		}
		if (set->n == TG_TAX_MAX_SET) {
			perr(p, p->line, "more than %d terms in '%s'", TG_TAX_MAX_SET, tok);
			return -1;
		}
		set->term[set->n++] = ti;
	}
	return 0;
}

/* Parse "TAG WEIGHT [TAG WEIGHT]..." from tok[0..n). */
static int
parse_scores(struct parser *p, char **tok, int n, struct tg_tax_score *score, int *nscores)
{
	*nscores = 0;
	if (n % 2 != 0) {
		perr(p, p->line, "expected pairs of 'tag weight', got an odd number of words");
		return -1;
	}
	for (int i = 0; i < n; i += 2) {
		int tag = name_lookup(p, tok[i], NAME_TAG);

		if (tag < 0) {
			perr(p, p->line, "unknown tag '%s'", tok[i]);
			return -1;
		}
		if (*nscores == TG_TAX_MAX_SCORES) {
			perr(p, p->line, "more than %d tags scored", TG_TAX_MAX_SCORES);
			return -1;
		}
		score[*nscores].tag = tag;
		if (parse_float(tok[i + 1], -1000, 1000, &score[*nscores].weight) == -1) {
			perr(p, p->line, "bad weight '%s' (a number in [-1000,1000])", tok[i + 1]);
			return -1;
		}
		(*nscores)++;
	}
	return 0;
}

/* "NEAR/n" -> window; returns 1 if tok is a NEAR token (valid or not). */
static int
parse_near(struct parser *p, const char *tok, uint32_t *window, int *bad)
{
	long v;

	*bad = 0;
	if (strncasecmp(tok, "NEAR/", 5) != 0)
		return 0;
	if (tg_parse_long(tok + 5, 1, TAX_MAX_WINDOW, &v) == -1) {
		perr(p, p->line, "bad window in '%s' (NEAR/n, n in [1,%d] bytes)", tok,
		    TAX_MAX_WINDOW);
		*bad = 1;
		return 1;
	}
	*window = (uint32_t)v;
	return 1;
}

/* A new name of what, shorter than max and with dots only when dots. */
static int
check_new_name(struct parser *p, const char *name, size_t max, int dots, const char *what)
{
	if (!valid_name(name, max, dots)) {
		perr(p, p->line, "bad %s name '%s' (lower-case letters, digits, %s'-', '_'; "
		    "at most %zu bytes)", what, name, dots ? "'.', " : "", max - 1);
		return -1;
	}
	if (name_find(p, name) != NULL) {
		perr(p, p->line, "'%s' is already defined", name);
		return -1;
	}
	return 0;
}

static void
stmt_field(struct parser *p, char **tok, int n)
{
	static const char *names[TG_FIELD_COUNT] = { "title", "summary", "category" };
	float w, later = 0, after = 0, later_actor;

	if ((n != 3 && n != 6 && n != 8) || (n >= 6 && strcmp(tok[3], "after") != 0) ||
	    (n == 8 && strcmp(tok[6], "actor") != 0)) {
		perr(p, p->line, "usage: field title|summary|category WEIGHT "
		    "[after BYTES WEIGHT [actor WEIGHT]]");
		return;
	}
	for (int f = 0; f < TG_FIELD_COUNT; f++) {
		if (strcmp(tok[1], names[f]) != 0)
			continue;
		if (parse_float(tok[2], 0, 100, &w) == -1) {
			perr(p, p->line, "bad field weight '%s' (a number in [0,100])", tok[2]);
			return;
		}
		if (n >= 6 && (parse_float(tok[4], 1, 1u << 20, &after) == -1 ||
		    after != (float)(uint32_t)after)) {
			perr(p, p->line, "bad byte count '%s' after 'after' (a whole number in "
			    "[1,1048576])", tok[4]);
			return;
		}
		if (n >= 6 && parse_float(tok[5], 0, 100, &later) == -1) {
			perr(p, p->line, "bad later weight '%s' (a number in [0,100])", tok[5]);
			return;
		}
		later_actor = later;
		if (n == 8 && parse_float(tok[7], 0, 100, &later_actor) == -1) {
			perr(p, p->line, "bad later actor weight '%s' (a number in [0,100])",
			    tok[7]);
			return;
		}
		p->t->field_weight[f] = w;
		p->t->field_after[f] = (uint32_t)after;
		p->t->field_later_weight[f] = later;
		p->t->field_later_actor_weight[f] = later_actor;
		return;
	}
	perr(p, p->line, "unknown field '%s' (title, summary or category)", tok[1]);
}

static void
stmt_tag(struct parser *p, char **tok, int n)
{
	struct tg_tax_tag *tag;
	enum tg_tax_kind kind;
	float th;

	if (n != 4) {
		perr(p, p->line, "usage: tag NAME actor|topic THRESHOLD");
		return;
	}
	if (check_new_name(p, tok[1], TG_TAG_NAME_MAX, 0, "tag") == -1)
		return;
	if (strcmp(tok[2], "actor") == 0)
		kind = TG_TAX_ACTOR;
	else if (strcmp(tok[2], "topic") == 0)
		kind = TG_TAX_TOPIC;
	else {
		perr(p, p->line, "unknown tag kind '%s' (actor or topic)", tok[2]);
		return;
	}
	if (parse_float(tok[3], 0.001f, 10000, &th) == -1) {
		perr(p, p->line, "bad threshold '%s' (a number > 0)", tok[3]);
		return;
	}
	if (p->t->ntags + p->t->ndyads >= TAX_MAX_TAGS ||
	    grow((void **)&p->t->tags, &p->cap_tags, p->t->ntags, sizeof(*tag), TAX_MAX_TAGS) == -1) {
		perr(p, p->line, "too many tags (at most %d with dyads)", TAX_MAX_TAGS);
		return;
	}
	tag = &p->t->tags[p->t->ntags++];
	snprintf(tag->name, sizeof(tag->name), "%s", tok[1]);
	tag->kind = kind;
	tag->threshold = th;
	tag->line = p->line;
	name_add(p, NAME_TAG, p->t->ntags - 1);
}

static void
stmt_dyad(struct parser *p, char **tok, int n)
{
	struct tg_tax_dyad *d;
	int a, b;

	if (n != 4) {
		perr(p, p->line, "usage: dyad NAME ACTOR ACTOR");
		return;
	}
	if (check_new_name(p, tok[1], TG_TAG_NAME_MAX, 0, "dyad") == -1)
		return;
	a = name_lookup(p, tok[2], NAME_TAG);
	b = name_lookup(p, tok[3], NAME_TAG);
	if (a < 0 || p->t->tags[a].kind != TG_TAX_ACTOR) {
		perr(p, p->line, "'%s' is not an actor tag", tok[2]);
		return;
	}
	if (b < 0 || p->t->tags[b].kind != TG_TAX_ACTOR) {
		perr(p, p->line, "'%s' is not an actor tag", tok[3]);
		return;
	}
	if (a == b) {
		perr(p, p->line, "a dyad needs two different actors");
		return;
	}
	if (p->t->ntags + p->t->ndyads >= TAX_MAX_TAGS ||
	    grow((void **)&p->t->dyads, &p->cap_dyads, p->t->ndyads, sizeof(*d), TAX_MAX_TAGS) == -1) {
		perr(p, p->line, "too many tags (at most %d with dyads)", TAX_MAX_TAGS);
		return;
	}
	d = &p->t->dyads[p->t->ndyads++];
	snprintf(d->name, sizeof(d->name), "%s", tok[1]);
	d->a = a;
	d->b = b;
	d->line = p->line;
	name_add(p, NAME_DYAD, p->t->ndyads - 1);
}

static void
stmt_relevant(struct parser *p, char **tok, int n)
{
	struct tg_tax_relevant r;

	if (n < 2 || n - 1 > TG_TAX_MAX_RELEVANT) {
		perr(p, p->line, "usage: relevant ITEM... (1 to %d tags, 'actor' or 'topic')",
		    TG_TAX_MAX_RELEVANT);
		return;
	}
	r.n = 0;
	for (int i = 1; i < n; i++) {
		int tag;

		if (strcmp(tok[i], "actor") == 0)
			tag = TG_TAX_ANY_ACTOR;
		else if (strcmp(tok[i], "topic") == 0)
			tag = TG_TAX_ANY_TOPIC;
		else if ((tag = name_lookup(p, tok[i], NAME_TAG)) < 0) {
			perr(p, p->line, "unknown tag '%s'", tok[i]);
			return;
		}
		r.item[r.n++] = tag;
	}
	if (grow((void **)&p->t->relevant, &p->cap_relevant, p->t->nrelevant, sizeof(r),
	    TAX_MAX_ITEMS) == -1) {
		perr(p, p->line, "too many relevant lines");
		return;
	}
	p->t->relevant[p->t->nrelevant++] = r;
}

static void
stmt_term(struct parser *p, char **tok, int n)
{
	struct tg_tax_term term;

	if (n < 2) {
		perr(p, p->line, "usage: term NAME [TAG WEIGHT]...");
		return;
	}
	if (check_new_name(p, tok[1], TG_RULE_NAME_MAX, 1, "term") == -1)
		return;
	memset(&term, 0, sizeof(term));
	if (parse_scores(p, tok + 2, n - 2, term.score, &term.nscores) == -1)
		return;
	snprintf(term.name, sizeof(term.name), "%s", tok[1]);
	term.line = p->line;
	if (grow((void **)&p->t->terms, &p->cap_terms, p->t->nterms, sizeof(term),
	    TAX_MAX_ITEMS) == -1) {
		perr(p, p->line, "too many terms");
		return;
	}
	p->t->terms[p->t->nterms] = term;
	p->cur_term = p->t->nterms++;
	name_add(p, NAME_TERM, p->cur_term);
}

static void
stmt_rule(struct parser *p, char **tok, int n)
{
	struct tg_tax_rule r;
	int eq = -1, i, bad;

	for (i = 2; i < n; i++)
		if (strcmp(tok[i], "=") == 0) {
			eq = i;
			break;
		}
	if (n < 3 || eq < 0 || eq + 1 >= n) {
		perr(p, p->line, "usage: rule NAME TAG WEIGHT [TAG WEIGHT]... = TERM [CONDITION]...");
		return;
	}
	if (check_new_name(p, tok[1], TG_RULE_NAME_MAX, 1, "rule") == -1)
		return;
	memset(&r, 0, sizeof(r));
	if (parse_scores(p, tok + 2, eq - 2, r.score, &r.nscores) == -1)
		return;
	if (r.nscores == 0) {
		perr(p, p->line, "a rule must score at least one tag");
		return;
	}
	if (parse_set(p, tok[eq + 1], &r.anchor) == -1)
		return;
	for (i = eq + 2; i < n; ) {
		struct tg_tax_cond *c;

		if (r.nconds == TG_TAX_MAX_CONDS) {
			perr(p, p->line, "more than %d conditions", TG_TAX_MAX_CONDS);
			return;
		}
		c = &r.cond[r.nconds];
		if (strcasecmp(tok[i], "AND") == 0) {
			c->kind = TG_COND_AND;
			i++;
		} else if (strcasecmp(tok[i], "NOT") == 0) {
			c->kind = TG_COND_NOT;
			i++;
			if (i < n && parse_near(p, tok[i], &c->window, &bad)) {
				if (bad)
					return;
				c->kind = TG_COND_NOTNEAR;
				i++;
			}
		} else if (parse_near(p, tok[i], &c->window, &bad)) {
			if (bad)
				return;
			c->kind = TG_COND_NEAR;
			i++;
		} else {
			perr(p, p->line, "expected AND, NOT, NEAR/n or NOT NEAR/n, got '%s'", tok[i]);
			return;
		}
		if (i >= n) {
			perr(p, p->line, "condition without a term at the end of the rule");
			return;
		}
		if (parse_set(p, tok[i], &c->set) == -1)
			return;
		i++;
		r.nconds++;
	}
	snprintf(r.name, sizeof(r.name), "%s", tok[1]);
	r.line = p->line;
	if (grow((void **)&p->t->rules, &p->cap_rules, p->t->nrules, sizeof(r),
	    TAX_MAX_ITEMS) == -1) {
		perr(p, p->line, "too many rules");
		return;
	}
	p->t->rules[p->t->nrules++] = r;
	name_add(p, NAME_RULE, p->t->nrules - 1);
}

static void
stmt_veto(struct parser *p, char **tok, int n)
{
	struct tg_tax_veto v;
	int bad;

	if (n != 3 && n != 4) {
		perr(p, p->line, "usage: veto TERM|* [NEAR/n|IN] CONTEXT");
		return;
	}
	memset(&v, 0, sizeof(v));
	v.line = p->line;
	if (strcmp(tok[1], "*") == 0)
		v.all_terms = 1;
	else if (parse_set(p, tok[1], &v.target) == -1)
		return;
	v.cond.kind = TG_COND_AND;
	if (n == 4) {
		if (strcasecmp(tok[2], "IN") == 0)
			v.cond.kind = TG_COND_IN;
		else if (parse_near(p, tok[2], &v.cond.window, &bad)) {
			if (bad)
				return;
			v.cond.kind = TG_COND_NEAR;
		} else {
			perr(p, p->line, "expected NEAR/n or IN, got '%s'", tok[2]);
			return;
		}
	}
	if (parse_set(p, tok[n - 1], &v.cond.set) == -1)
		return;
	if (grow((void **)&p->t->vetoes, &p->cap_vetoes, p->t->nvetoes, sizeof(v),
	    TAX_MAX_ITEMS) == -1) {
		perr(p, p->line, "too many vetoes");
		return;
	}
	p->t->vetoes[p->t->nvetoes++] = v;
}

static void
push_pattern(struct parser *p, const char *alias, const char *shown)
{
	char regex[TAX_MAX_REGEX], why[256];
	struct tg_tax_pattern *pat;
	unsigned flags;

	if (tg_taxonomy_alias_pattern(alias, regex, sizeof(regex), &flags, why, sizeof(why)) == -1) {
		perr(p, p->line, "%s: '%s'", why, shown);
		return;
	}
	if (grow((void **)&p->t->patterns, &p->cap_patterns, p->t->npatterns, sizeof(*pat),
	    TAX_MAX_ITEMS) == -1) {
		perr(p, p->line, "too many aliases");
		return;
	}
	pat = &p->t->patterns[p->t->npatterns++];
	pat->regex = tg_strdup(regex);
	pat->flags = flags;
	pat->term = p->cur_term;
	pat->line = p->line;
	p->t->terms[p->cur_term].npatterns++;
}

static int
is_alpha_c(char c)
{
	return isalpha((unsigned char)c);
}

/* Add one alias: normalised like the text, and with an apostrophe inside a word
 * (not a possessive 's) also matched without it: Kata'ib is Kataib too. */
static void
add_alias(struct parser *p, const char *alias)
{
	char buf[TAX_MAX_LINE], var[TAX_MAX_LINE];
	size_t apos[TAX_MAX_APOS], napos = 0, len;

	if (*alias == '/' || (alias[0] == '=' && alias[1] == '/')) {
		push_pattern(p, alias, alias);
		return;
	}
	if (tg_norm_run(&p->norm, alias, strlen(alias)) == -1) {
		perr(p, p->line, "out of memory");
		return;
	}
	len = p->norm.len;
	if (len >= sizeof(buf)) {
		perr(p, p->line, "alias too long");
		return;
	}
	memcpy(buf, p->norm.text, len + 1);
	for (size_t i = 1; i + 1 < len; i++) {
		if (buf[i] != '\'' || !is_alpha_c(buf[i - 1]) || !is_alpha_c(buf[i + 1]))
			continue;
		if ((buf[i + 1] == 's' || buf[i + 1] == 'S') && (i + 2 == len || !is_alpha_c(buf[i + 2])))
			continue;
		if (napos == TAX_MAX_APOS) {
			perr(p, p->line, "more than %d apostrophes in '%s'", TAX_MAX_APOS, alias);
			return;
		}
		apos[napos++] = i;
	}
	/* Every subset of the apostrophes dropped. */
	for (unsigned mask = 0; mask < (1u << napos); mask++) {
		size_t o = 0, k = 0;

		for (size_t i = 0; i < len; i++) {
			if (k < napos && apos[k] == i) {
				if (mask & (1u << k++))
					continue;
			}
			var[o++] = buf[i];
		}
		var[o] = '\0';
		push_pattern(p, var, alias);
	}
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void
alias_line(struct parser *p, char *s)
{
	char *bar;

	if (p->cur_term < 0) {
		perr(p, p->line, "indented alias line outside a term");
		return;
	}
	if (s[0] == '/' || (s[0] == '=' && s[1] == '/')) {
		add_alias(p, s); /* a regex takes its whole line */
		return;
	}
	for (; s != NULL; s = bar) {
		bar = strchr(s, '|');
		if (bar)
			*bar++ = '\0';
		s = trim(s);
		if (*s == '\0') {
			perr(p, p->line, "empty alias");
			continue;
		}
		add_alias(p, s);
	}
}

static void
end_term(struct parser *p)
{
	if (p->cur_term >= 0 && p->t->terms[p->cur_term].npatterns == 0)
		perr(p, p->t->terms[p->cur_term].line, "term '%s' has no aliases",
		    p->t->terms[p->cur_term].name);
	p->cur_term = -1;
}

static void
statement(struct parser *p, char *s)
{
	char *tok[TAX_MAX_TOKENS];
	int n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(s, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (n == TAX_MAX_TOKENS) {
			perr(p, p->line, "too many words (at most %d)", TAX_MAX_TOKENS);
			return;
		}
		tok[n++] = w;
	}
	if (n == 0)
		return;
	end_term(p);
	if (strcmp(tok[0], "taxonomy") == 0) {
		if (n != 2 || strlen(tok[1]) >= sizeof(p->t->name))
			perr(p, p->line, "usage: taxonomy NAME");
		else
			snprintf(p->t->name, sizeof(p->t->name), "%s", tok[1]);
	} else if (strcmp(tok[0], "field") == 0)
		stmt_field(p, tok, n);
	else if (strcmp(tok[0], "repeat") == 0) {
		long v;

		if (n != 2 || tg_parse_long(tok[1], 1, 100, &v) == -1)
			perr(p, p->line, "usage: repeat N (N in [1,100])");
		else
			p->t->repeat = (int)v;
	} else if (strcmp(tok[0], "tag") == 0)
		stmt_tag(p, tok, n);
	else if (strcmp(tok[0], "dyad") == 0)
		stmt_dyad(p, tok, n);
	else if (strcmp(tok[0], "relevant") == 0)
		stmt_relevant(p, tok, n);
	else if (strcmp(tok[0], "term") == 0)
		stmt_term(p, tok, n);
	else if (strcmp(tok[0], "rule") == 0)
		stmt_rule(p, tok, n);
	else if (strcmp(tok[0], "veto") == 0)
		stmt_veto(p, tok, n);
	else
		perr(p, p->line, "unknown statement '%s' (taxonomy, field, repeat, tag, dyad, "
		    "relevant, term, rule, veto)", tok[0]);
}

/* Cut a comment: '#' at the start or after a blank. */
static void
cut_comment(char *s)
{
	for (char *c = s; *c; c++)
		if (*c == '#' && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			return;
		}
}

void
tg_taxonomy_free(struct tg_taxonomy *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->npatterns; i++)
		free(t->patterns[i].regex);
	free(t->tags);
	free(t->dyads);
	free(t->relevant);
	free(t->terms);
	free(t->patterns);
	free(t->rules);
	free(t->vetoes);
	free(t->file);
	free(t);
}

struct tg_taxonomy *
tg_taxonomy_parse(const char *file, const char *text, size_t len, char *err, size_t errlen)
{
	struct parser p;
	struct tg_taxonomy *t;
	char buf[TAX_MAX_LINE + 2];
	size_t pos = 0;

	if (err && errlen)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	t = tg_calloc(1, sizeof(*t));
	t->file = tg_strdup(file);
	snprintf(t->name, sizeof(t->name), "unnamed");
	snprintf(t->version, sizeof(t->version), "%016llx",
	    (unsigned long long)tg_hash64(TG_HASH_INIT, text, len));
	t->field_weight[TG_FIELD_TITLE] = 2;
	t->field_weight[TG_FIELD_SUMMARY] = 1;
	t->field_weight[TG_FIELD_CATEGORY] = 1;
	t->repeat = 2;
	p.t = t;
	p.file = file;
	p.err = err;
	p.errlen = errlen;
	p.cur_term = -1;
	tg_norm_init(&p.norm, TAX_MAX_LINE);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *s;

		p.line++;
		if (ll > TAX_MAX_LINE) {
			perr(&p, p.line, "line longer than %d bytes", TAX_MAX_LINE);
			pos += ll + 1;
			continue;
		}
		memcpy(buf, text + pos, ll);
		buf[ll] = '\0';
		pos += ll + 1;
		if (memchr(buf, '\0', ll) != NULL) {
			perr(&p, p.line, "NUL byte in line");
			continue;
		}
		cut_comment(buf);
		s = trim(buf);
		if (*s == '\0')
			continue;
		if (buf[0] == ' ' || buf[0] == '\t')
			alias_line(&p, s);
		else
			statement(&p, s);
	}
	end_term(&p);
	if (p.nerr == 0 && t->ntags == 0)
		perr(&p, p.line > 0 ? p.line : 1, "no tags defined");
	tg_norm_free(&p.norm);
	free(p.names);
	if (p.nerr > 0) {
		if (p.nerr > TAX_MAX_ERRORS && err && errlen > p.errused + 1)
			snprintf(err + p.errused, errlen - p.errused, "\n%s: %d more errors",
			    file, p.nerr - TAX_MAX_ERRORS);
		tg_taxonomy_free(t);
		return NULL;
	}
	return t;
}

struct tg_taxonomy *
tg_taxonomy_load(const char *path, char *err, size_t errlen)
{
	struct tg_taxonomy *t = NULL;
	struct tg_buf b;
	char chunk[65536];
	FILE *f;
	size_t n;

	tg_buf_init(&b, TAX_MAX_FILE);
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (tg_buf_append(&b, chunk, n) == -1) {
			snprintf(err, errlen, "%s: larger than %u bytes", path, TAX_MAX_FILE);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	t = tg_taxonomy_parse(path, b.data ? b.data : "", b.len, err, errlen);
out:
	fclose(f);
	tg_buf_free(&b);
	return t;
}

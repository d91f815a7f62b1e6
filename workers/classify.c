/*
 * The classifier: every distinct literal alias of a taxonomy spelled in word
 * symbols (lexicon.c) and compiled once into one Hyperscan block database; each
 * normalised field is encoded into the same symbols and scanned once, then
 * vetoes, rules and per-field weighted scoring run over the matches. Regex
 * aliases, which cannot be spelled in symbols, go into a second database that
 * scans the field's text (only when the taxonomy has any). All memory is
 * allocated at load (and grown only by an item longer than any before), so
 * classifying allocates nothing; vetoes and rules whose context is absent cost
 * nothing.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "../common/util.h"
#include "classify.h"
#include "lexicon.h"
#include "normalize.h"
#include "taxonomy.h"

#define CLS_MAX_MATCHES 4096      /* matches kept per item; later ones are ignored */
#define CLS_FIELD_LIMIT (256u << 10) /* bytes of one field looked at */

struct match {
	uint32_t start, end; /* in the field's normalised text */
	int32_t term;
	int32_t next;        /* next match of the same term, or -1 */
	uint8_t field;
	uint8_t dead;        /* vetoed */
};

/* A term with tags of its own, or a rule: what turns matches into scores. */
struct scorer {
	const char *name;
	const struct tg_tax_set *anchor;
	struct tg_tax_set self;
	int nconds;
	const struct tg_tax_cond *cond;
	int nscores;
	const struct tg_tax_score *score;
};

struct cand {
	uint8_t field;
	uint32_t start, end;
	const char *rule;
};

/* One Hyperscan expression: the same alias written under several terms (or
 * twice) is scanned once and reported to each of its terms. */
struct expr {
	uint32_t width;      /* regex: fixed width, or 0 when SOM is reported */
	uint32_t codelen;    /* literal: bytes of its symbol strings */
	uint32_t lit;        /* literal: its bytes in lits[], to check case */
	uint32_t litlen;
	uint8_t flags;       /* TG_TAX_* flags */
	int32_t nterms;
	int32_t term0;       /* its first term's index in terms[] */
};

/* A match waiting to be recorded: a regex match until the symbol scan of its
 * field passes its end, a literal one until every match with its end is in. */
struct pending {
	uint32_t start, end;
	int32_t expr;
};

#define CLS_MAX_PENDING 256 /* literal matches with one end held for sorting */

struct tg_classifier {
	struct tg_taxonomy *tax;
	struct tg_lex *lex;
	hs_database_t *db;   /* literal aliases, in symbols */
	hs_database_t *rxdb; /* regex aliases, in text; NULL when there are none */
	hs_scratch_t *scratch;
	char *lits;          /* every literal alias's bytes, back to back */
	uint32_t *width;     /* per pattern: fixed width, or 0 when SOM is reported */
	int nexprs;
	struct expr *exprs;
	int32_t *eterms;     /* the terms of each expression, expression by expression */
	int nscorers;
	struct scorer *scorers;
	struct tg_norm norm[TG_FIELD_COUNT];
	/* per item */
	struct tg_lex_text code; /* the field being scanned, in symbols */
	struct pending *rx;  /* the field's regex matches, by end */
	int nrx, rxcap, rxnext;
	struct pending same[CLS_MAX_PENDING]; /* literal matches ending at one place */
	int nsame;
	struct match *m;
	int nm;
	uint32_t longest;    /* the longest match of the item, in bytes */
	int field;
	uint32_t gen;
	uint32_t *stamp;     /* per term: gen when head/tail/live are valid */
	int32_t *head, *tail;
	int32_t *live;       /* per term: matches not vetoed */
	float *score;        /* per tag */
	int *ncand;          /* per tag */
	struct cand *cand;   /* per tag, TG_TAG_MAX_EVIDENCE each */
	int present[TG_RESULT_MAX_TAGS];
	/* Which vetoes and scorers an item can need: by term, the vetoes whose
	 * context and the scorers whose anchor name it (CSR, built at load). */
	int32_t *tveto0, *tvetoes, *tscorer0, *tscorers;
	int32_t *seen;       /* per item: the terms matched, in order of first match */
	int nseen;
	uint64_t *vbits, *sbits; /* per item: the vetoes and scorers to run */
	int nvwords, nswords;
};

void
tg_classify_input_from_view(struct tg_classify_input *in, const struct tg_item_view *v)
{
	in->title = v->title;
	in->title_len = v->title_len;
	in->summary = v->summary;
	in->summary_len = v->summary_len;
	in->categories = v->categories;
	in->categories_len = v->categories_len;
}

const char *
tg_classifier_version(const struct tg_classifier *c)
{
	return c->tax->version;
}

const struct tg_taxonomy *
tg_classifier_taxonomy(const struct tg_classifier *c)
{
	return c->tax;
}

void
tg_classifier_free(struct tg_classifier *c)
{
	if (c == NULL)
		return;
	hs_free_scratch(c->scratch);
	hs_free_database(c->db);
	hs_free_database(c->rxdb);
	tg_lex_free(c->lex);
	tg_lex_text_free(&c->code);
	free(c->lits);
	free(c->rx);
	for (int f = 0; f < TG_FIELD_COUNT; f++)
		tg_norm_free(&c->norm[f]);
	free(c->width);
	free(c->exprs);
	free(c->eterms);
	free(c->scorers);
	free(c->m);
	free(c->stamp);
	free(c->head);
	free(c->tail);
	free(c->live);
	free(c->score);
	free(c->ncand);
	free(c->cand);
	free(c->tveto0);
	free(c->tvetoes);
	free(c->tscorer0);
	free(c->tscorers);
	free(c->seen);
	free(c->vbits);
	free(c->sbits);
	tg_taxonomy_free(c->tax);
	free(c);
}

static size_t
err_append(char *err, size_t errlen, size_t used, const char *file, int line, const char *why)
{
	int n;

	if (err == NULL || used + 1 >= errlen)
		return used;
	n = snprintf(err + used, errlen - used, "%s%s:%d: %s", used ? "\n" : "", file, line, why);
	if (n < 0)
		return used;
	return used + ((size_t)n < errlen - used ? (size_t)n : errlen - used - 1);
}

/* A pattern as messages quote it: whole when short, else its first 60 bytes and
 * "...", so that the reason after it is never cut off. */
static const char *
quote_pattern(const char *regex, char *buf, size_t len)
{
	if (strlen(regex) <= 72)
		return regex;
	snprintf(buf, len, "%.60s...", regex);
	return buf;
}

/* Check every pattern with hs_expression_info (to report each bad one by line)
 * and learn which have a fixed width. Returns the number of bad patterns. */
static int
check_patterns(struct tg_classifier *c, char *err, size_t errlen)
{
	struct tg_taxonomy *t = c->tax;
	size_t used = 0;
	int bad = 0;

	for (int i = 0; i < t->npatterns; i++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *cerr = NULL;
		unsigned flags = t->patterns[i].flags & TG_TAX_CASELESS ? HS_FLAG_CASELESS : 0;
		char why[512], q[80];

		if (hs_expression_info(t->patterns[i].regex, flags, &info, &cerr) != HS_SUCCESS) {
			snprintf(why, sizeof(why), "bad pattern /%s/: %s",
			    quote_pattern(t->patterns[i].regex, q, sizeof(q)),
			    cerr ? cerr->message : "unknown error");
			hs_free_compile_error(cerr);
			used = err_append(err, errlen, used, t->file, t->patterns[i].line, why);
			bad++;
			continue;
		}
		if (info->min_width == 0) {
			snprintf(why, sizeof(why), "pattern /%s/ can match empty text",
			    quote_pattern(t->patterns[i].regex, q, sizeof(q)));
			used = err_append(err, errlen, used, t->file, t->patterns[i].line, why);
			bad++;
		} else if (info->min_width == info->max_width && info->max_width != UINT_MAX)
			c->width[i] = info->min_width;
		else
			c->width[i] = 0;
		free(info);
	}
	return bad;
}

struct pat_key {
	const char *regex;
	unsigned flags;
	int index;
};

static int
pat_key_cmp(const void *a, const void *b)
{
	const struct pat_key *x = a, *y = b;
	int d = strcmp(x->regex, y->regex);

	if (d != 0)
		return d;
	if (x->flags != y->flags)
		return x->flags < y->flags ? -1 : 1;
	return x->index - y->index;
}

/* Group identical patterns (same regex and flags, whatever their terms) into
 * expressions; *first gets each expression's first pattern. */
static void
group_patterns(struct tg_classifier *c, int *first)
{
	struct tg_taxonomy *t = c->tax;
	struct pat_key *k = tg_calloc((size_t)t->npatterns, sizeof(*k));
	int ne = 0, nt = 0;

	for (int i = 0; i < t->npatterns; i++) {
		k[i].regex = t->patterns[i].regex;
		k[i].flags = t->patterns[i].flags;
		k[i].index = i;
	}
	qsort(k, (size_t)t->npatterns, sizeof(*k), pat_key_cmp);
	c->exprs = tg_calloc((size_t)t->npatterns, sizeof(*c->exprs));
	c->eterms = tg_calloc((size_t)t->npatterns, sizeof(*c->eterms));
	for (int i = 0; i < t->npatterns; i++) {
		const struct tg_tax_pattern *p = &t->patterns[k[i].index];
		struct expr *e;
		int dup = 0;

		if (i == 0 || k[i - 1].flags != k[i].flags || strcmp(k[i - 1].regex, k[i].regex) != 0) {
			e = &c->exprs[ne];
			first[ne++] = k[i].index;
			e->width = c->width[k[i].index];
			e->flags = (uint8_t)p->flags;
			e->term0 = nt;
		}
		e = &c->exprs[ne - 1];
		for (int j = 0; j < e->nterms && !dup; j++)
			dup = c->eterms[e->term0 + j] == p->term;
		if (!dup) {
			c->eterms[nt++] = p->term;
			e->nterms++;
		}
	}
	c->nexprs = ne;
	free(k);
}

/* The bytes of a literal pattern (an alias escaped for Hyperscan by
 * tg_taxonomy_alias_pattern: "\\c" or "\\xHH") into out; returns their number. */
static size_t
unescape(const char *regex, char *out)
{
	size_t n = 0;

	for (const char *r = regex; *r; r++) {
		if (*r != '\\') {
			out[n++] = *r;
			continue;
		}
		r++;
		if (*r == 'x' && r[1] && r[2]) {
			char hex[3] = { r[1], r[2], 0 };

			out[n++] = (char)strtoul(hex, NULL, 16);
			r += 2;
		} else if (*r)
			out[n++] = *r;
		else
			break;
	}
	return n;
}

/* Spell every literal expression in symbols (lexid: its literal in c->lex,
 * -1 for a regex) and compile them into c->db. */
static int
compile_literals(struct tg_classifier *c, const int *first, const int *lexid, char *err,
    size_t errlen)
{
	const struct tg_taxonomy *t = c->tax;
	struct tg_lex_spellings sp;
	hs_compile_error_t *cerr = NULL;
	char why[256];
	int bad = 0, rc = -1;

	if (tg_lex_build(c->lex, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", t->file, why);
		return -1;
	}
	if (tg_lex_spell_all(c->lex, lexid, c->nexprs, &sp, &bad, why, sizeof(why)) == -1) {
		err_append(err, errlen, 0, t->file, t->patterns[first[bad]].line, why);
		return -1;
	}
	for (int i = 0; i < c->nexprs; i++)
		if (lexid[i] >= 0)
			c->exprs[i].codelen = (uint32_t)tg_lex_code_len(c->lex, lexid[i]);
	if (sp.n > 0 && hs_compile_lit_multi(sp.code, sp.flags, sp.id, sp.len, sp.n,
	    HS_MODE_BLOCK, NULL, &c->db, &cerr) != HS_SUCCESS) {
		snprintf(err, errlen, "%s: compiling the aliases: %s", t->file,
		    cerr ? cerr->message : "unknown error");
		hs_free_compile_error(cerr);
		c->db = NULL;
		goto out;
	}
	rc = 0;
out:
	tg_lex_spellings_free(&sp);
	return rc;
}

/* Compile the regex expressions (lexid -1) into c->rxdb. */
static int
compile_regexes(struct tg_classifier *c, const int *first, const int *lexid, char *err,
    size_t errlen)
{
	const struct tg_taxonomy *t = c->tax;
	const char **expr = tg_calloc((size_t)c->nexprs, sizeof(*expr));
	unsigned *flags = tg_calloc((size_t)c->nexprs, sizeof(*flags));
	unsigned *ids = tg_calloc((size_t)c->nexprs, sizeof(*ids));
	hs_compile_error_t *cerr = NULL;
	unsigned n = 0;
	int rc = -1;

	for (int i = 0; i < c->nexprs; i++) {
		if (lexid[i] >= 0)
			continue;
		expr[n] = t->patterns[first[i]].regex;
		flags[n] = (c->exprs[i].flags & TG_TAX_CASELESS ? HS_FLAG_CASELESS : 0) |
		    (c->exprs[i].width ? 0 : HS_FLAG_SOM_LEFTMOST);
		ids[n++] = (unsigned)i;
	}
	if (n > 0 && hs_compile_multi(expr, flags, ids, n, HS_MODE_BLOCK, NULL, &c->rxdb,
	    &cerr) != HS_SUCCESS) {
		char why[512], q[80];

		if (cerr && cerr->expression >= 0 && (unsigned)cerr->expression < n) {
			const struct tg_tax_pattern *p = &t->patterns[first[ids[cerr->expression]]];

			snprintf(why, sizeof(why), "pattern /%s/: %s",
			    quote_pattern(p->regex, q, sizeof(q)), cerr->message);
			err_append(err, errlen, 0, t->file, p->line, why);
		} else
			snprintf(err, errlen, "%s: compiling patterns: %s", t->file,
			    cerr ? cerr->message : "unknown error");
		hs_free_compile_error(cerr);
		c->rxdb = NULL;
		goto out;
	}
	rc = 0;
out:
	free(expr);
	free(flags);
	free(ids);
	return rc;
}

static int
compile_db(struct tg_classifier *c, char *err, size_t errlen)
{
	struct tg_taxonomy *t = c->tax;
	int *first = NULL, *lexid = NULL;
	size_t total = 1, used = 0;
	int rc = -1;

	if (t->npatterns == 0)
		return 0;
	first = tg_calloc((size_t)t->npatterns, sizeof(*first));
	group_patterns(c, first);
	lexid = tg_calloc((size_t)c->nexprs, sizeof(*lexid));
	for (int i = 0; i < c->nexprs; i++)
		total += strlen(t->patterns[first[i]].regex);
	c->lits = tg_calloc(total, 1);
	c->lex = tg_lex_new();
	for (int i = 0; i < c->nexprs; i++) {
		struct expr *e = &c->exprs[i];
		const struct tg_tax_pattern *p = &t->patterns[first[i]];
		char why[256];

		lexid[i] = -1;
		if (e->flags & TG_TAX_REGEX)
			continue;
		e->lit = (uint32_t)used;
		e->litlen = (uint32_t)unescape(p->regex, c->lits + used);
		used += e->litlen;
		lexid[i] = tg_lex_add(c->lex, c->lits + e->lit, e->litlen,
		    (e->flags & TG_TAX_PREFIX) != 0, why, sizeof(why));
		if (lexid[i] == -1) {
			err_append(err, errlen, 0, t->file, p->line, why);
			goto out;
		}
	}
	if (compile_literals(c, first, lexid, err, errlen) == -1 ||
	    compile_regexes(c, first, lexid, err, errlen) == -1)
		goto out;
	if ((c->db && hs_alloc_scratch(c->db, &c->scratch) != HS_SUCCESS) ||
	    (c->rxdb && hs_alloc_scratch(c->rxdb, &c->scratch) != HS_SUCCESS)) {
		snprintf(err, errlen, "%s: cannot allocate Hyperscan scratch", t->file);
		goto out;
	}
	rc = 0;
out:
	free(first);
	free(lexid);
	return rc;
}

static void
build_scorers(struct tg_classifier *c)
{
	struct tg_taxonomy *t = c->tax;
	int n = 0;

	c->scorers = tg_calloc((size_t)(t->nterms + t->nrules), sizeof(*c->scorers));
	for (int i = 0; i < t->nterms; i++) {
		struct scorer *s;

		if (t->terms[i].nscores == 0)
			continue;
		s = &c->scorers[n++];
		s->name = t->terms[i].name;
		s->self.n = 1;
		s->self.term[0] = i;
		s->anchor = &s->self;
		s->nscores = t->terms[i].nscores;
		s->score = t->terms[i].score;
	}
	for (int i = 0; i < t->nrules; i++) {
		struct scorer *s = &c->scorers[n++];

		s->name = t->rules[i].name;
		s->anchor = &t->rules[i].anchor;
		s->nconds = t->rules[i].nconds;
		s->cond = t->rules[i].cond;
		s->nscores = t->rules[i].nscores;
		s->score = t->rules[i].score;
	}
	c->nscorers = n;
}

/* CSR of n sets by term: for each term, the indexes of the sets that hold it. */
static void
index_by_term(int nterms, int n, const struct tg_tax_set *(*set)(const struct tg_classifier *,
    int), const struct tg_classifier *c, int32_t **first, int32_t **list)
{
	int32_t *at;

	*first = tg_calloc((size_t)nterms + 1, sizeof(**first));
	for (int i = 0; i < n; i++)
		for (int k = 0; k < set(c, i)->n; k++)
			(*first)[set(c, i)->term[k] + 1]++;
	for (int t = 0; t < nterms; t++)
		(*first)[t + 1] += (*first)[t];
	*list = tg_calloc((size_t)(*first)[nterms] + 1, sizeof(**list));
	at = tg_calloc((size_t)nterms + 1, sizeof(*at));
	memcpy(at, *first, (size_t)nterms * sizeof(*at));
	for (int i = 0; i < n; i++)
		for (int k = 0; k < set(c, i)->n; k++)
			(*list)[at[set(c, i)->term[k]]++] = i;
	free(at);
}

static const struct tg_tax_set *
veto_context(const struct tg_classifier *c, int v)
{
	return &c->tax->vetoes[v].cond.set;
}

static const struct tg_tax_set *
scorer_anchor(const struct tg_classifier *c, int s)
{
	return c->scorers[s].anchor;
}

/* A veto can drop something only when its context matched, a scorer score
 * only when its anchor did: index both by term, so that an item looks only at
 * those its matched terms name. */
static void
build_needs(struct tg_classifier *c)
{
	const struct tg_taxonomy *t = c->tax;

	index_by_term(t->nterms, t->nvetoes, veto_context, c, &c->tveto0, &c->tvetoes);
	index_by_term(t->nterms, c->nscorers, scorer_anchor, c, &c->tscorer0, &c->tscorers);
	c->nvwords = t->nvetoes / 64 + 1;
	c->nswords = c->nscorers / 64 + 1;
	c->vbits = tg_calloc((size_t)c->nvwords, sizeof(*c->vbits));
	c->sbits = tg_calloc((size_t)c->nswords, sizeof(*c->sbits));
	c->seen = tg_calloc((size_t)t->nterms + 1, sizeof(*c->seen));
}

struct tg_classifier *
tg_classifier_load(const char *path, char *err, size_t errlen)
{
	struct tg_classifier *c;
	struct tg_taxonomy *t;
	size_t nt;

	if (err && errlen)
		err[0] = '\0';
	t = tg_taxonomy_load(path, err, errlen);
	if (t == NULL)
		return NULL;
	c = tg_calloc(1, sizeof(*c));
	c->tax = t;
	c->width = tg_calloc((size_t)t->npatterns, sizeof(*c->width));
	if (check_patterns(c, err, errlen) > 0 || compile_db(c, err, errlen) == -1) {
		tg_classifier_free(c);
		return NULL;
	}
	build_scorers(c);
	build_needs(c);
	for (int f = 0; f < TG_FIELD_COUNT; f++)
		tg_norm_init(&c->norm[f], CLS_FIELD_LIMIT);
	nt = (size_t)t->nterms;
	c->m = tg_calloc(CLS_MAX_MATCHES, sizeof(*c->m));
	c->stamp = tg_calloc(nt, sizeof(*c->stamp));
	c->head = tg_calloc(nt, sizeof(*c->head));
	c->tail = tg_calloc(nt, sizeof(*c->tail));
	c->live = tg_calloc(nt, sizeof(*c->live));
	c->score = tg_calloc((size_t)t->ntags, sizeof(*c->score));
	c->ncand = tg_calloc((size_t)t->ntags, sizeof(*c->ncand));
	c->cand = tg_calloc((size_t)t->ntags * TG_TAG_MAX_EVIDENCE, sizeof(*c->cand));
	return c;
}

/* Record a match of term on [start,end) in the current field. */
static inline void
add_match(struct tg_classifier *c, int term, uint32_t start, uint32_t end)
{
	struct match *m;

	if (c->stamp[term] == c->gen) {
		m = &c->m[c->tail[term]];
		if (m->field == c->field && start < m->end && end > m->start) {
			/* Two aliases of one term on the same words: one match. */
			if (start < m->start)
				m->start = start;
			if (end > m->end)
				m->end = end;
			if (m->end - m->start > c->longest)
				c->longest = m->end - m->start;
			return;
		}
	}
	if (c->nm >= CLS_MAX_MATCHES)
		return;
	m = &c->m[c->nm];
	if (end - start > c->longest)
		c->longest = end - start;
	m->start = start;
	m->end = end;
	m->term = term;
	m->next = -1;
	m->field = (uint8_t)c->field;
	m->dead = 0;
	if (c->stamp[term] == c->gen) {
		c->m[c->tail[term]].next = c->nm;
		c->live[term]++;
	} else {
		c->stamp[term] = c->gen;
		c->head[term] = c->nm;
		c->live[term] = 1;
		c->seen[c->nseen++] = term;
	}
	c->tail[term] = c->nm;
	c->nm++;
}

static inline void
add_expr_match(struct tg_classifier *c, const struct pending *p)
{
	const struct expr *e = &c->exprs[p->expr];

	for (int k = 0; k < e->nterms; k++)
		add_match(c, c->eterms[e->term0 + k], p->start, p->end);
}

static int
pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->expr < y->expr ? -1 : x->expr > y->expr;
}

/* Record the held literal matches (they share one end) and every regex match
 * of the field that ends before them, or with them, in order of end and then
 * of expression: so every term's matches are in order of their ends, which
 * cond_holds relies on, and aliases of one term that end together are merged
 * (add_match) the same way whatever order Hyperscan reported them in. With
 * all set, also every regex match left. */
static void
flush_matches(struct tg_classifier *c, int all)
{
	uint32_t end = c->nsame ? c->same[0].end : UINT32_MAX;

	while (c->rxnext < c->nrx && c->rx[c->rxnext].end < end)
		add_expr_match(c, &c->rx[c->rxnext++]);
	while (c->rxnext < c->nrx && c->rx[c->rxnext].end == end && c->nsame < CLS_MAX_PENDING)
		c->same[c->nsame++] = c->rx[c->rxnext++];
	if (c->nsame > 1)
		qsort(c->same, (size_t)c->nsame, sizeof(*c->same), pending_cmp);
	for (int i = 0; i < c->nsame; i++)
		add_expr_match(c, &c->same[i]);
	c->nsame = 0;
	if (all)
		while (c->rxnext < c->nrx)
			add_expr_match(c, &c->rx[c->rxnext++]);
}

/* Hyperscan callback of the regex database, over the field's normalised text:
 * matches are held until the symbol scan reaches their end. */
static int
on_regex(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
    void *ctx)
{
	struct tg_classifier *c = ctx;
	const struct expr *e = &c->exprs[id];
	struct pending *r;

	(void)flags;
	if (c->nrx == c->rxcap) {
		int cap = c->rxcap ? c->rxcap * 2 : 64;
		struct pending *n;

		if (cap > CLS_MAX_MATCHES)
			return 0;
		n = realloc(c->rx, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return 0;
		c->rx = n;
		c->rxcap = cap;
	}
	r = &c->rx[c->nrx++];
	r->end = (uint32_t)to;
	r->start = e->width ? r->end - e->width : (uint32_t)from;
	r->expr = (int32_t)id;
	return 0;
}

/* Hyperscan callback of the literal database, over the field's symbols: the
 * match covers whole tokens (a "word*" alias's last one to its end), in any
 * case; a case-sensitive alias's bytes are checked here. Matches come in order
 * of end; those with one end are held and recorded together (flush_matches). */
static int
on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
    void *ctx)
{
	struct tg_classifier *c = ctx;
	const struct expr *e = &c->exprs[id];
	struct pending *p;
	uint32_t start = c->code.start[to - e->codelen];
	uint32_t end = c->code.end[to - 1];

	(void)from;
	(void)flags;
	if (!(e->flags & TG_TAX_CASELESS) &&
	    memcmp(c->norm[c->field].text + start, c->lits + e->lit, e->litlen) != 0)
		return 0;
	if (c->nsame > 0 && (c->same[0].end != end || c->nsame == CLS_MAX_PENDING))
		flush_matches(c, 0);
	p = &c->same[c->nsame++];
	p->start = start;
	p->end = end;
	p->expr = (int32_t)id;
	return 0;
}

static inline int32_t
first(const struct tg_classifier *c, int term)
{
	return c->stamp[term] == c->gen ? c->head[term] : -1;
}

static inline uint32_t
gap(const struct match *a, const struct match *b)
{
	uint32_t lo = a->end < b->end ? a->end : b->end;
	uint32_t hi = a->start > b->start ? a->start : b->start;

	return hi > lo ? hi - lo : 0;
}

static inline int32_t
live(const struct tg_classifier *c, int term)
{
	return c->stamp[term] == c->gen ? c->live[term] : 0;
}

/* Has any term of set a match that is not vetoed? */
static int
set_live(const struct tg_classifier *c, const struct tg_tax_set *set)
{
	for (int k = 0; k < set->n; k++)
		if (live(c, set->term[k]) > 0)
			return 1;
	return 0;
}

/* Does cond hold for match mi? With distinct (a rule's NEAR), a context match
 * on the same words as the anchor does not count: it must be other words. */
static int
cond_holds(const struct tg_classifier *c, int32_t mi, const struct tg_tax_cond *cond,
    int distinct)
{
	const struct match *m = &c->m[mi];
	int found = 0;

	if (cond->kind == TG_COND_AND || cond->kind == TG_COND_NOT) {
		/* Anywhere in the item: a live match other than mi itself. */
		for (int k = 0; k < cond->set.n && !found; k++) {
			int32_t n = live(c, cond->set.term[k]);

			if (cond->set.term[k] == m->term && !m->dead)
				n--;
			found = n > 0;
		}
		return cond->kind == TG_COND_AND ? found : !found;
	}
	for (int k = 0; k < cond->set.n && !found; k++) {
		for (int32_t j = first(c, cond->set.term[k]); j >= 0; j = c->m[j].next) {
			const struct match *o = &c->m[j];

			/* A term's matches come in scan order: by field, then by end; one
			 * that ends further than window plus the longest match also
			 * starts too far, and so do all after it. */
			if (o->field < m->field)
				continue;
			if (o->field > m->field || o->end > m->end + cond->window + c->longest)
				break;
			if (o->dead || j == mi)
				continue;
			if (distinct && o->start < m->end && o->end > m->start)
				continue;
			if (cond->kind == TG_COND_IN)
				found = o->start <= m->start && o->end >= m->end;
			else
				found = gap(m, o) <= cond->window;
			if (found)
				break;
		}
	}
	if (cond->kind == TG_COND_NOTNEAR)
		return !found;
	return found;
}

static inline void
kill_match(struct tg_classifier *c, int32_t i)
{
	c->m[i].dead = 1;
	c->live[c->m[i].term]--;
}

/* Set in bits (words of 64) the index of every veto or scorer that one of the
 * item's matched terms names in first/list. */
static void
mark_needed(const struct tg_classifier *c, const int32_t *first, const int32_t *list,
    uint64_t *bits, int nwords)
{
	memset(bits, 0, (size_t)nwords * sizeof(*bits));
	for (int i = 0; i < c->nseen; i++) {
		int32_t term = c->seen[i];

		for (int32_t j = first[term]; j < first[term + 1]; j++)
			bits[list[j] >> 6] |= 1ull << (list[j] & 63);
	}
}

/* Vetoes in order; one whose context has no live match drops nothing, and one
 * whose context did not match at all is not looked at. */
static void
apply_vetoes(struct tg_classifier *c)
{
	const struct tg_taxonomy *t = c->tax;

	mark_needed(c, c->tveto0, c->tvetoes, c->vbits, c->nvwords);
	for (int w = 0; w < c->nvwords; w++) {
		for (uint64_t b = c->vbits[w]; b; b &= b - 1) {
			const struct tg_tax_veto *veto = &t->vetoes[w * 64 + __builtin_ctzll(b)];

			if (!set_live(c, &veto->cond.set))
				continue;
			if (veto->all_terms) {
				for (int32_t i = 0; i < c->nm; i++)
					if (!c->m[i].dead && cond_holds(c, i, &veto->cond, 0))
						kill_match(c, i);
				continue;
			}
			for (int k = 0; k < veto->target.n; k++)
				for (int32_t i = first(c, veto->target.term[k]); i >= 0;
				    i = c->m[i].next)
					if (!c->m[i].dead && cond_holds(c, i, &veto->cond, 0))
						kill_match(c, i);
		}
	}
}

static void
add_cand(struct tg_classifier *c, int tag, const struct match *m, const char *rule)
{
	struct cand *cd;
	uint32_t os, oe;

	if (c->ncand[tag] >= TG_TAG_MAX_EVIDENCE)
		return;
	tg_norm_span(&c->norm[m->field], m->start, m->end, &os, &oe);
	cd = &c->cand[tag * TG_TAG_MAX_EVIDENCE + c->ncand[tag]++];
	cd->field = m->field;
	cd->start = os;
	cd->end = oe;
	cd->rule = rule;
}

/* Can a scorer fire at all: a live anchor, and live matches for every
 * condition that needs one (AND, NEAR)? */
static int
scorer_possible(const struct tg_classifier *c, const struct scorer *sc)
{
	if (!set_live(c, sc->anchor))
		return 0;
	for (int j = 0; j < sc->nconds; j++)
		if ((sc->cond[j].kind == TG_COND_AND || sc->cond[j].kind == TG_COND_NEAR) &&
		    !set_live(c, &sc->cond[j].set))
			return 0;
	return 1;
}

/* Score one scorer's matches: once per live anchor match that meets every
 * condition, at most repeat per field. */
static void
run_scorer(struct tg_classifier *c, const struct scorer *sc)
{
	const struct tg_taxonomy *t = c->tax;
	int count[TG_FIELD_COUNT] = { 0 };

	if (!scorer_possible(c, sc))
		return;
	for (int k = 0; k < sc->anchor->n; k++) {
		for (int32_t i = first(c, sc->anchor->term[k]); i >= 0; i = c->m[i].next) {
			const struct match *m = &c->m[i];
			int ok = 1;
			int late;

			if (m->dead || count[m->field] >= t->repeat)
				continue;
			for (int j = 0; j < sc->nconds && ok; j++)
				ok = cond_holds(c, i, &sc->cond[j], sc->cond[j].kind == TG_COND_NEAR);
			if (!ok)
				continue;
			count[m->field]++;
			late = t->field_after[m->field] && m->start >= t->field_after[m->field];
			for (int j = 0; j < sc->nscores; j++) {
				float fw = t->field_weight[m->field];

				if (late)
					fw = t->tags[sc->score[j].tag].kind == TG_TAX_ACTOR ?
					    t->field_later_actor_weight[m->field] :
					    t->field_later_weight[m->field];
				c->score[sc->score[j].tag] += sc->score[j].weight * fw;
				if (sc->score[j].weight > 0)
					add_cand(c, sc->score[j].tag, m, sc->name);
			}
		}
	}
}

/* The scorers in order, those whose anchor matched at all. */
static void
run_scorers(struct tg_classifier *c)
{
	mark_needed(c, c->tscorer0, c->tscorers, c->sbits, c->nswords);
	for (int w = 0; w < c->nswords; w++)
		for (uint64_t b = c->sbits[w]; b; b &= b - 1)
			run_scorer(c, &c->scorers[w * 64 + __builtin_ctzll(b)]);
}

static void
copy_cands(const struct tg_classifier *c, struct tg_tag *tag, int ti, int max)
{
	const struct cand *cd = &c->cand[ti * TG_TAG_MAX_EVIDENCE];

	for (int i = 0; i < c->ncand[ti] && i < max; i++)
		tg_tag_add_evidence(tag, (enum tg_field)cd[i].field, cd[i].start, cd[i].end,
		    cd[i].rule);
}

static int
relevant(const struct tg_classifier *c)
{
	const struct tg_taxonomy *t = c->tax;

	for (int r = 0; r < t->nrelevant; r++) {
		int ok = 1;

		for (int i = 0; i < t->relevant[r].n && ok; i++) {
			int item = t->relevant[r].item[i];

			if (item >= 0)
				ok = c->present[item];
			else {
				enum tg_tax_kind kind = item == TG_TAX_ANY_ACTOR ? TG_TAX_ACTOR :
				    TG_TAX_TOPIC;

				ok = 0;
				for (int k = 0; k < t->ntags && !ok; k++)
					ok = c->present[k] && t->tags[k].kind == kind;
			}
		}
		if (ok)
			return 1;
	}
	return 0;
}

/* Match every alias in one normalised field: the regexes over its text (when
 * the taxonomy has any), the literals over its symbols. Returns 0, or -1 when
 * a scan failed or memory ran out. */
static int
scan_field(struct tg_classifier *c, const struct tg_norm *nm)
{
	c->nrx = 0;
	c->rxnext = 0;
	c->nsame = 0;
	if (c->rxdb && hs_scan(c->rxdb, nm->text, (unsigned)nm->len, 0, c->scratch, on_regex,
	    c) != HS_SUCCESS)
		return -1;
	if (c->db) {
		if (tg_lex_encode(c->lex, nm->text, nm->len, &c->code) == -1)
			return -1;
		if (c->code.len > 0 && hs_scan(c->db, (const char *)c->code.code,
		    (unsigned)c->code.len, 0, c->scratch, on_match, c) != HS_SUCCESS)
			return -1;
	}
	flush_matches(c, 1);
	return 0;
}

int
tg_classify(struct tg_classifier *c, const struct tg_classify_input *in,
    struct tg_result *out, char *err, size_t errlen)
{
	const struct tg_taxonomy *t = c->tax;
	const char *text[TG_FIELD_COUNT] = { in->title, in->summary, in->categories };
	size_t len[TG_FIELD_COUNT] = { in->title_len, in->summary_len, in->categories_len };

	tg_result_reset(out);
	snprintf(out->taxonomy, sizeof(out->taxonomy), "%s", t->version);
	/* Scores are cleared first so that a failed scan leaves no near misses of
	 * the item before (tg_classify_near_misses). */
	memset(c->score, 0, (size_t)t->ntags * sizeof(*c->score));
	memset(c->ncand, 0, (size_t)t->ntags * sizeof(*c->ncand));
	c->nm = 0;
	c->nseen = 0;
	c->longest = 0;
	if (++c->gen == 0) {
		memset(c->stamp, 0, (size_t)t->nterms * sizeof(*c->stamp));
		c->gen = 1;
	}
	for (int f = 0; f < TG_FIELD_COUNT; f++) {
		c->norm[f].len = 0;
		if (text[f] == NULL || len[f] == 0)
			continue;
		if (tg_norm_run(&c->norm[f], text[f], len[f]) == -1) {
			snprintf(err, errlen, "out of memory normalising the %s",
			    tg_field_name((enum tg_field)f));
			tg_result_reset(out);
			return -1;
		}
		if (c->norm[f].len == 0)
			continue;
		c->field = f;
		if (scan_field(c, &c->norm[f]) == -1) {
			snprintf(err, errlen, "hyperscan scan failed on the %s",
			    tg_field_name((enum tg_field)f));
			tg_result_reset(out);
			return -1;
		}
	}
	apply_vetoes(c);
	run_scorers(c);
	for (int i = 0; i < t->ntags; i++) {
		struct tg_tag *tag;

		c->present[i] = c->score[i] >= t->tags[i].threshold;
		if (!c->present[i])
			continue;
		tag = tg_result_add_tag(out, t->tags[i].name, c->score[i], t->tags[i].threshold);
		if (tag)
			copy_cands(c, tag, i, TG_TAG_MAX_EVIDENCE);
	}
	for (int d = 0; d < t->ndyads; d++) {
		const struct tg_tax_dyad *dy = &t->dyads[d];
		float ra, rb;
		struct tg_tag *tag;

		if (!c->present[dy->a] || !c->present[dy->b])
			continue;
		ra = c->score[dy->a] / t->tags[dy->a].threshold;
		rb = c->score[dy->b] / t->tags[dy->b].threshold;
		tag = tg_result_add_tag(out, dy->name, ra < rb ? ra : rb, 1.0f);
		if (tag) {
			copy_cands(c, tag, dy->a, TG_TAG_MAX_EVIDENCE / 2);
			copy_cands(c, tag, dy->b, TG_TAG_MAX_EVIDENCE / 2);
		}
	}
	out->relevant = relevant(c);
	return 0;
}

int
tg_classify_near_misses(const struct tg_classifier *c, struct tg_result *out)
{
	const struct tg_taxonomy *t = c->tax;

	tg_result_reset(out);
	snprintf(out->taxonomy, sizeof(out->taxonomy), "%s", t->version);
	for (int i = 0; i < t->ntags; i++) {
		struct tg_tag *tag;

		if (c->score[i] <= 0 || c->score[i] >= t->tags[i].threshold)
			continue;
		tag = tg_result_add_tag(out, t->tags[i].name, c->score[i], t->tags[i].threshold);
		if (tag)
			copy_cands(c, tag, i, TG_TAG_MAX_EVIDENCE);
	}
	return (int)out->ntags;
}

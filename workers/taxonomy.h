/*
 * The taxonomy file parser: turns deploy/taxonomy.tgt (format in docs/taxonomy.md)
 * into tags, terms with their patterns (already translated to Hyperscan regexes),
 * rules and vetoes, all resolved to indices. It reports every broken line as
 * "file:line: why". Matching and scoring live in classify.c.
 */
#ifndef TG_TAXONOMY_H
#define TG_TAXONOMY_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/result.h"

#define TG_TAX_MAX_SCORES 4   /* tags one term or rule scores */
#define TG_TAX_MAX_SET 16     /* terms in an "a|b|c" set */
#define TG_TAX_MAX_CONDS 8    /* conditions of one rule */
#define TG_TAX_MAX_RELEVANT 4 /* items in one relevant line */
#define TG_TAX_ANY_ACTOR (-1) /* relevant item "actor": any actor tag */
#define TG_TAX_ANY_TOPIC (-2) /* relevant item "topic": any topic tag */

enum tg_tax_kind {
	TG_TAX_ACTOR = 0,
	TG_TAX_TOPIC = 1
};

/* Pattern flags. A literal pattern must start (end) on a word boundary when
 * TG_TAX_WORD_START (TG_TAX_WORD_END) is set; the classifier checks these. */
#define TG_TAX_CASELESS 1u   /* match regardless of case */
#define TG_TAX_REGEX 2u      /* an analyst's regex, not a literal */
#define TG_TAX_WORD_START 4u /* the match must start a word */
#define TG_TAX_WORD_END 8u   /* the match must end a word */
#define TG_TAX_PREFIX 16u    /* "word*": the match runs on to the end of the word */

struct tg_tax_tag {
	char name[TG_TAG_NAME_MAX];
	enum tg_tax_kind kind;
	float threshold;
	int line;
};

struct tg_tax_dyad {
	char name[TG_TAG_NAME_MAX];
	int a, b; /* actor tag indices */
	int line;
};

struct tg_tax_relevant {
	int n;
	int item[TG_TAX_MAX_RELEVANT]; /* tag index or TG_TAX_ANY_* */
};

struct tg_tax_score {
	int tag;
	float weight;
};

struct tg_tax_set {
	int n;
	int term[TG_TAX_MAX_SET];
};

struct tg_tax_term {
	char name[TG_RULE_NAME_MAX];
	int line;
	int npatterns;
	int nscores;
	struct tg_tax_score score[TG_TAX_MAX_SCORES];
};

struct tg_tax_pattern {
	char *regex;    /* Hyperscan syntax: an escaped literal unless TG_TAX_REGEX */
	unsigned flags; /* TG_TAX_* */
	int term;
	int line;
};

enum tg_tax_cond_kind {
	TG_COND_AND,     /* the set matches anywhere in the item */
	TG_COND_NOT,     /* the set matches nowhere in the item */
	TG_COND_NEAR,    /* the set matches within window bytes of the anchor */
	TG_COND_NOTNEAR, /* the set does not match within window bytes of the anchor */
	TG_COND_IN       /* (vetoes) a set match covers the target match */
};

struct tg_tax_cond {
	enum tg_tax_cond_kind kind;
	uint32_t window;
	struct tg_tax_set set;
};

struct tg_tax_rule {
	char name[TG_RULE_NAME_MAX];
	int line;
	int nscores;
	struct tg_tax_score score[TG_TAX_MAX_SCORES];
	struct tg_tax_set anchor;
	int nconds;
	struct tg_tax_cond cond[TG_TAX_MAX_CONDS];
};

/* veto TARGET [NEAR/n|IN] CTX: a match of a target term (all terms when
 * all_terms) is dropped when cond holds for it. */
struct tg_tax_veto {
	int line;
	int all_terms;
	struct tg_tax_set target;
	struct tg_tax_cond cond;
};

struct tg_taxonomy {
	char name[64];
	char version[17];        /* hex tg_hash64 of the file's bytes */
	float field_weight[TG_FIELD_COUNT];
	/* "field NAME W after N W2 [actor W3]": a match starting N or more bytes
	 * into the field's normalised text weighs W2 instead of W for topics and
	 * W3 (default W2) for actors (field_after 0: no such limit). */
	uint32_t field_after[TG_FIELD_COUNT];
	float field_later_weight[TG_FIELD_COUNT];
	float field_later_actor_weight[TG_FIELD_COUNT];
	int repeat;              /* matches of one term counted per field */
	int ntags, ndyads, nrelevant, nterms, npatterns, nrules, nvetoes;
	struct tg_tax_tag *tags;
	struct tg_tax_dyad *dyads;
	struct tg_tax_relevant *relevant;
	struct tg_tax_term *terms;
	struct tg_tax_pattern *patterns;
	struct tg_tax_rule *rules;
	struct tg_tax_veto *vetoes;
	char *file;              /* the name used in messages */
};

/* Parse taxonomy text (len bytes) named file in messages. Returns a new taxonomy
 * (free with tg_taxonomy_free), or NULL with every problem written into err, one
 * per line as "file:line: why". */
struct tg_taxonomy *tg_taxonomy_parse(const char *file, const char *text, size_t len,
    char *err, size_t errlen);

/* Read and parse the file at path; as tg_taxonomy_parse (a read failure is
 * reported as "path: why"). */
struct tg_taxonomy *tg_taxonomy_load(const char *path, char *err, size_t errlen);

/* Free; NULL is fine. */
void tg_taxonomy_free(struct tg_taxonomy *t);

/* Index of the tag named name, or -1. */
int tg_taxonomy_tag(const struct tg_taxonomy *t, const char *name);

/* Index of the term named name, or -1. */
int tg_taxonomy_term(const struct tg_taxonomy *t, const char *name);

/* Translate one alias (already normalised, as written after "|" splitting and
 * trimming) into a Hyperscan pattern in out and its TG_TAX_* flags. Returns 0,
 * or -1 with the reason in err. */
int tg_taxonomy_alias_pattern(const char *alias, char *out, size_t outlen, unsigned *flags,
    char *err, size_t errlen);

#endif

/*
 * The classifier's lexicon: every literal alias of a taxonomy spelled as a
 * string of word symbols, and the normalised text of a field turned into the
 * same symbols, so that the classifier's one Hyperscan database matches whole
 * words in a string several times shorter than the text.
 *
 * A token is a run of word bytes ([A-Za-z0-9_]), or any other byte but a space
 * on its own. Each word an alias uses gets a symbol, whatever its case; so
 * does each stem of a "word*" alias and each punctuation byte. A word no alias
 * uses is UNKNOWN (or its longest stem's); runs of unknown tokens become one
 * UNKNOWN symbol, and a space is kept only between two known tokens. An alias
 * matches the text exactly where its symbol string matches the text's, in any
 * case, so word boundaries need no checking after the scan; the caller checks
 * the bytes of a case-sensitive alias's matches.
 *
 * A symbol is written as two bytes (the first with the top bit set, which
 * keeps every match aligned on a token), a space as the byte TG_LEX_SPACE.
 */
#ifndef TG_LEXICON_H
#define TG_LEXICON_H

#include <stddef.h>
#include <stdint.h>

#define TG_LEX_SPACE 0x7f      /* a single space between two known tokens */
#define TG_LEX_MAX_WORD 64     /* longest word an alias may use, in bytes */
#define TG_LEX_MAX_SPELLINGS 512 /* symbol strings one alias may expand to */

struct tg_lex;

/* The symbols of one normalised text: code[0..len), and for each code byte the
 * normalised span [start, end) of the token it belongs to (a space's is the
 * space). Grown by tg_lex_encode; free with tg_lex_text_free. */
struct tg_lex_text {
	uint8_t *code;
	uint32_t *start;
	uint32_t *end;
	size_t len;
	size_t cap;
};

/* A new, empty lexicon (free with tg_lex_free). */
struct tg_lex *tg_lex_new(void);

/* Free; NULL is fine. */
void tg_lex_free(struct tg_lex *lx);

/* Add a literal alias: len bytes of normalised text (not escaped), its last
 * word a stem when prefix. Returns the literal's index (0, 1, ... in the order
 * added), or -1 with the reason in err (a word longer than TG_LEX_MAX_WORD, a
 * space at either end or two in a row). */
int tg_lex_add(struct tg_lex *lx, const char *lit, size_t len, int prefix, char *err,
    size_t errlen);

/* After the last tg_lex_add (and again after more): give every word its symbol.
 * Returns 0, or -1 with the reason in err (too many symbols for two bytes). */
int tg_lex_build(struct tg_lex *lx, char *err, size_t errlen);

/* After tg_lex_build: call fn once for each symbol string literal i can match
 * in encoded text (a word with several symbols gives several), all of the same
 * length. Returns the number of strings, or -1 with the reason in err (more
 * than TG_LEX_MAX_SPELLINGS). fn's code is valid only during the call. */
int tg_lex_spell(const struct tg_lex *lx, int i,
    void (*fn)(const uint8_t *code, size_t len, void *arg), void *arg, char *err, size_t errlen);

/* Every spelling of a set of literals, back to back, in the form that
 * hs_compile_lit_multi takes: code[k] (len[k] bytes) spells the literal that
 * was given the id id[k]; flags are all 0. Filled by tg_lex_spell_all, owned
 * by the caller, freed with tg_lex_spellings_free. */
struct tg_lex_spellings {
	const char **code;
	size_t *len;
	unsigned *id;
	unsigned *flags;
	unsigned n;
	/* internal */
	char *buf;
	size_t used, cap;
	size_t *off;
	unsigned ncap;
};

/* Spell literals lit[0..n) into out (an entry below 0 is skipped), each
 * spelling with the id i of its place in lit. Returns 0, or -1 with *bad the
 * place of the literal that cannot be spelled and the reason in err (out is
 * then freed). */
int tg_lex_spell_all(const struct tg_lex *lx, const int *lit, int n,
    struct tg_lex_spellings *out, int *bad, char *err, size_t errlen);

/* Free the arrays of sp; it may be filled again. */
void tg_lex_spellings_free(struct tg_lex_spellings *sp);

/* Bytes of each symbol string of literal i (they all have the same length). */
size_t tg_lex_code_len(const struct tg_lex *lx, int i);

/* Encode len bytes of normalised text into out (its arrays grown when needed).
 * Returns 0, or -1 when memory ran out (out is then empty). */
int tg_lex_encode(const struct tg_lex *lx, const char *text, size_t len, struct tg_lex_text *out);

/* Free out's arrays; it may be used again. */
void tg_lex_text_free(struct tg_lex_text *out);

/* Counts for messages and benchmarks: distinct words, stems and symbols. */
void tg_lex_counts(const struct tg_lex *lx, int *words, int *stems, int *symbols);

#endif

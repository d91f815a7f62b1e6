/*
 * Text normalisation for the classifier: Unicode punctuation to ASCII, Latin
 * diacritics stripped, a few HTML entities decoded, whitespace collapsed,
 * line-break hyphenation undone and word-internal hyphens read as spaces, with
 * every output byte mapped back to the bytes of the original text it came from.
 * Case is kept.
 */
#ifndef TG_NORMALIZE_H
#define TG_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* Output bytes [out, next segment's out) come from the original: byte for byte
 * from os on when oe is 0, else each of them from the whole span [os,oe). */
struct tg_norm_seg {
	uint32_t out;
	uint32_t os;
	uint32_t oe;
};

/* A reusable normalisation buffer. After tg_norm_run, text[0..len) is the
 * normalised text (NUL-terminated); tg_norm_span maps it back. */
struct tg_norm {
	char *text;
	size_t len;
	size_t cap;       /* bytes allocated for text; entries for seg */
	struct tg_norm_seg *seg;
	size_t nseg;
	size_t limit;     /* most input bytes looked at; longer input is cut */
	int truncated;    /* the last input was longer than limit */
};

/* Initialise an empty buffer that reads at most limit input bytes (0: 1 MiB). */
void tg_norm_init(struct tg_norm *n, size_t limit);

/* Normalise len bytes of src into n, growing n only when src is longer than any
 * text seen before. Returns 0, or -1 when memory ran out (n is then empty). */
int tg_norm_run(struct tg_norm *n, const char *src, size_t len);

/* Map the normalised span [s,e) (e > s, e <= len) back to the original span
 * [*os,*oe). */
void tg_norm_span(const struct tg_norm *n, size_t s, size_t e, uint32_t *os, uint32_t *oe);

/* Free the buffers; the struct may be initialised again. */
void tg_norm_free(struct tg_norm *n);

#endif

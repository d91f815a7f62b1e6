/*
 * Plain text from feed fields: UTF-8 validation and repair, HTML character
 * references, tag stripping and whitespace collapsing. Everything here works on
 * byte ranges (no NUL needed) and never allocates per character.
 */
#ifndef TG_TEXT_H
#define TG_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* How tg_text_plain treats its input. */
enum tg_text_mode {
	TG_TEXT_PLAIN = 0, /* text as is: only whitespace collapsing and repair */
	TG_TEXT_ENTITIES,  /* also decode HTML character references */
	TG_TEXT_HTML,      /* an HTML fragment: strip tags, comments, scripts; decode references */
};

/* Decode the UTF-8 sequence at s (n bytes available). Returns its length (1-4) and
 * stores the code point, or 0 when the bytes are not a valid, shortest-form
 * sequence of a Unicode scalar value. */
size_t tg_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Encode cp (surrogates and values past U+10FFFF become U+FFFD) into out; returns
 * the number of bytes written (1-4). */
size_t tg_utf8_encode(uint32_t cp, char out[4]);

/* True when the n bytes are valid UTF-8. */
bool tg_utf8_valid(const char *s, size_t n);

/* Append s to out with each byte that does not start a valid UTF-8 sequence
 * replaced by U+FFFD. Returns 0, or -1 when out's cap was reached (out then holds
 * a prefix that ends on a character boundary). */
int tg_utf8_sanitize(struct tg_buf *out, const char *s, size_t n);

/* The largest length <= max at which the n bytes of s can be cut without
 * splitting a UTF-8 sequence (max >= n returns n). */
size_t tg_utf8_cut(const char *s, size_t n, size_t max);

/* Look up an HTML 4 named character reference (name without '&' and ';', case
 * sensitive). Returns its code point, or 0 when unknown. */
uint32_t tg_html_entity(const char *name, size_t n);

/* True when an HTML element of this name (n bytes, any case) breaks the text
 * flow (p, div, br, li, h1...), so that stripping it must leave a space. */
bool tg_html_is_block(const char *name, size_t n);

/* Map a numeric character reference value to what HTML renders: 0x80-0x9F through
 * windows-1252, NUL, surrogates and out-of-range values to U+FFFD. */
uint32_t tg_html_numeric(uint32_t v);

/* Plain text of n bytes of s: invalid UTF-8 repaired, control characters
 * dropped, mode-specific decoding (see enum tg_text_mode), runs of ASCII
 * whitespace collapsed to one space, ends trimmed, and the result cut at a
 * character boundary to at most max bytes. Returns a malloc'd string the caller
 * frees (possibly empty) and its length in *outlen when outlen is not NULL; NULL
 * (length 0) when memory ran out (counted in tg_alloc_failures). */
char *tg_text_plain(const char *s, size_t n, enum tg_text_mode mode, size_t max, size_t *outlen);

#endif

/*
 * Small helpers shared by every tigris program: capped growable buffers, clocks,
 * RFC 3339 formatting, a 64-bit hash and checked string copies.
 */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A growable byte buffer with a hard cap. data is always NUL-terminated. */
struct tg_buf {
	char *data;
	size_t len;
	size_t cap;   /* allocated bytes */
	size_t limit; /* most bytes it may ever hold; 0 means no limit */
};

/* Initialise an empty buffer that may hold at most limit bytes (0: unlimited). */
void tg_buf_init(struct tg_buf *b, size_t limit);

/* Append n bytes. Returns 0, or -1 when the cap would be passed or memory ran out
 * (the buffer is then unchanged). */
int tg_buf_append(struct tg_buf *b, const void *p, size_t n);

/* Make room for n more bytes (and the NUL) at once, capped at the limit, so a
 * writer that knows its size roughly does not grow the buffer step by step.
 * Returns 0, or -1 when memory ran out (the buffer is then unchanged). */
int tg_buf_reserve(struct tg_buf *b, size_t n);

/* Append a NUL-terminated string; as tg_buf_append. */
int tg_buf_append_str(struct tg_buf *b, const char *s);

/* Forget the contents but keep the memory. */
void tg_buf_reset(struct tg_buf *b);

/* Hand the contents to the caller (who frees them) and reset the buffer to empty. */
char *tg_buf_take(struct tg_buf *b);

/* Free the contents. Safe on a zeroed or already-freed buffer. */
void tg_buf_free(struct tg_buf *b);

/* Milliseconds on the monotonic clock. */
int64_t tg_now_mono_ms(void);

/* Milliseconds since the Unix epoch (wall clock). */
int64_t tg_now_wall_ms(void);

/* Format t (UTC) as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void tg_time_format_rfc3339(time_t t, char out[21]);

/* FNV-1a 64-bit hash of n bytes, continuing from h (start with TG_HASH_INIT). */
#define TG_HASH_INIT 0xcbf29ce484222325ULL
uint64_t tg_hash64(uint64_t h, const void *p, size_t n);

/* malloc'd copy of s (NULL stays NULL); aborts on out-of-memory, which tigris
 * treats as fatal everywhere but in the parsers' bounded paths. */
char *tg_strdup(const char *s);

/* malloc'd copy of the first n bytes of p, NUL-terminated; aborts on out-of-memory. */
char *tg_strndup(const char *p, size_t n);

/* Replace *dst by a copy of src, freeing the old value. */
void tg_str_set(char **dst, const char *src);

/* Parse a decimal integer within [min,max]; the whole string must be a number.
 * Returns 0, or -1 with *out untouched. */
int tg_parse_long(const char *s, long min, long max, long *out);

/* True when s starts with prefix. */
bool tg_str_has_prefix(const char *s, const char *prefix);

/* Allocation wrappers that abort with a message on out-of-memory. */
void *tg_malloc(size_t n);
void *tg_calloc(size_t n, size_t size);
void *tg_realloc(void *p, size_t n);

/* Allocations that may fail, for the parsers' and decoders' bounded paths: NULL on
 * out-of-memory (errno ENOMEM), and the failure is counted in tg_alloc_failures()
 * so that a parser can turn any failure on its way into one clean error. */
void *tg_try_malloc(size_t n);
void *tg_try_calloc(size_t n, size_t size);
void *tg_try_realloc(void *p, size_t n);
char *tg_try_strndup(const char *p, size_t n);
char *tg_try_strdup(const char *s); /* NULL stays NULL (not counted) */

/* Allocations that failed in this thread so far: the tg_try_* functions and
 * tg_buf_append (whose -1 alone does not tell a full cap from no memory). */
unsigned long tg_alloc_failures(void);

#endif

/*
 * Small shared helpers; see util.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void
tg_buf_init(struct tg_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

int
tg_buf_reserve(struct tg_buf *b, size_t n)
{
	size_t need;
	char *nd;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	if (b->limit && b->len + n > b->limit)
		n = b->limit - b->len;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	nd = tg_try_realloc(b->data, need);
	if (nd == NULL)
		return -1;
	if (b->data == NULL)
		nd[0] = '\0';
	b->data = nd;
	b->cap = need;
	return 0;
}

int
tg_buf_append(struct tg_buf *b, const void *p, size_t n)
{
	size_t need, ncap;
	char *nd;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	if (b->limit && b->len + n > b->limit)
		return -1;
	need = b->len + n + 1;
	if (need > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < need)
			ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
		nd = tg_try_realloc(b->data, ncap);
		if (nd == NULL)
			return -1;
		b->data = nd;
		b->cap = ncap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
tg_buf_append_str(struct tg_buf *b, const char *s)
{
	return tg_buf_append(b, s, strlen(s));
}

void
tg_buf_reset(struct tg_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *
tg_buf_take(struct tg_buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = tg_strdup("");
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void
tg_buf_free(struct tg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int64_t
tg_now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
tg_now_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tg_time_format_rfc3339(time_t t, char out[21])
{
	struct tm tm;
	char buf[64];

	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, buf, 20);
	out[20] = '\0';
}

uint64_t
tg_hash64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
die_oom(void)
{
	fputs("tigris: out of memory\n", stderr);
	abort();
}

void *
tg_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die_oom();
	return p;
}

void *
tg_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		die_oom();
	return p;
}

void *
tg_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		die_oom();
	return q;
}

/* Per thread, like errno: parsers compare it before and after. */
static _Thread_local unsigned long alloc_failures;

unsigned long
tg_alloc_failures(void)
{
	return alloc_failures;
}

void *
tg_try_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		alloc_failures++;
	return p;
}

void *
tg_try_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		alloc_failures++;
	return p;
}

void *
tg_try_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		alloc_failures++;
	return q;
}

char *
tg_try_strndup(const char *p, size_t n)
{
	char *s = n < SIZE_MAX ? tg_try_malloc(n + 1) : NULL;

	if (s == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *
tg_try_strdup(const char *s)
{
	return s ? tg_try_strndup(s, strlen(s)) : NULL;
}

char *
tg_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	return tg_strndup(s, strlen(s));
}

char *
tg_strndup(const char *p, size_t n)
{
	char *s = tg_malloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

void
tg_str_set(char **dst, const char *src)
{
	char *copy = tg_strdup(src);

	free(*dst);
	*dst = copy;
}

int
tg_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

bool
tg_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * The allocator wrappers behind failalloc.h. They resolve the real functions with
 * dlsym(RTLD_NEXT) (a static arena serves dlsym's own allocations meanwhile) and
 * keep the blocks of the open window in an open-addressing table.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);

#define DEPTH 8 /* frames kept of each allocation's stack */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* Serves allocations made while the real functions are being looked up. */
static _Alignas(16) char arena[64 * 1024];
static size_t arena_used;
static int resolving;

static int armed;
static int sticky;
static long fail_at;
static long calls;
static long failed;
#define MAX_FAILED 64 /* failed allocations whose stacks are kept */
static void *failed_stack[MAX_FAILED][DEPTH];
static int in_backtrace;

#define TABLE_SIZE (1u << 17) /* power of two; live blocks must stay under half */
#define TOMB ((void *)1)
struct slot {
	void *p;
	size_t n;
	void *stack[DEPTH]; /* where it was allocated */
};
static struct slot *table;
static long live;
static size_t live_bytes;

static void
resolve(void)
{
	if (real_free != NULL || resolving)
		return;
	resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	resolving = 0;
	if (!real_malloc || !real_calloc || !real_realloc || !real_free) {
		fputs("failalloc: cannot find the real allocator\n", stderr);
		abort();
	}
}

static void *
arena_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(arena) - arena_used)
		return NULL;
	p = arena + arena_used;
	arena_used += n;
	return p;
}

static int
in_arena(const void *p)
{
	return (const char *)p >= arena && (const char *)p < arena + sizeof(arena);
}

static size_t
hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL;

	return (size_t)(h >> 40) & (TABLE_SIZE - 1);
}

/* The call stack into st (NULLs past its end). backtrace() may allocate the
 * first time: those allocations are neither counted nor failed. */
static void
stack_of(void **st)
{
	int n;

	memset(st, 0, DEPTH * sizeof(*st));
	in_backtrace = 1;
	n = backtrace(st, DEPTH);
	in_backtrace = 0;
	(void)n;
}

static void
track(void *p, size_t n)
{
	size_t i;

	if (p == NULL || table == NULL)
		return;
	for (i = hash(p); table[i].p != NULL && table[i].p != TOMB; i = (i + 1) & (TABLE_SIZE - 1))
		;
	table[i].p = p;
	table[i].n = n;
	stack_of(table[i].stack);
	if (++live > (long)TABLE_SIZE / 2) {
		fputs("failalloc: too many live blocks in one window\n", stderr);
		abort();
	}
	live_bytes += n;
}

static void
untrack(void *p)
{
	size_t i;

	if (p == NULL || table == NULL || live == 0)
		return;
	for (i = hash(p); table[i].p != NULL; i = (i + 1) & (TABLE_SIZE - 1)) {
		if (table[i].p == p) {
			table[i].p = TOMB;
			live--;
			live_bytes -= table[i].n;
			return;
		}
	}
}

/* Count this call; true when it must fail. */
static int
must_fail(void)
{
	if (!armed || in_backtrace)
		return 0;
	calls++;
	if (fail_at > 0 && (calls == fail_at || (sticky && calls > fail_at))) {
		if (failed < MAX_FAILED)
			stack_of(failed_stack[failed]);
		failed++;
		return 1;
	}
	return 0;
}

void *
malloc(size_t n)
{
	void *p;

	resolve();
	if (real_malloc == NULL)
		return arena_alloc(n);
	if (must_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_malloc(n);
	if (armed && !in_backtrace)
		track(p, n);
	return p;
}

void *
calloc(size_t n, size_t size)
{
	void *p;

	resolve();
	if (real_calloc == NULL) {
		if (size && n > SIZE_MAX / size)
			return NULL;
		return arena_alloc(n * size); /* static memory is zeroed */
	}
	if (must_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_calloc(n, size);
	if (armed && !in_backtrace)
		track(p, n * size);
	return p;
}

void *
realloc(void *p, size_t n)
{
	void *q;

	resolve();
	if (p == NULL)
		return malloc(n);
	if (in_arena(p)) {
		size_t room = (size_t)(arena + sizeof(arena) - (char *)p);

		q = malloc(n);
		if (q)
			memcpy(q, p, n < room ? n : room);
		return q;
	}
	if (n == 0) {
		free(p);
		return NULL;
	}
	if (must_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	q = real_realloc(p, n);
	if (q && armed && !in_backtrace) {
		untrack(p);
		track(q, n);
	} else if (q && q != p)
		untrack(p);
	return q;
}

void
free(void *p)
{
	if (p == NULL || in_arena(p))
		return;
	resolve();
	untrack(p);
	real_free(p);
}

void
failalloc_start(long at, int stick)
{
	resolve();
	if (table == NULL) {
		void *prime[2];

		backtrace(prime, 2); /* loads the unwinder outside any window */
		table = real_calloc(TABLE_SIZE, sizeof(*table));
		if (table == NULL)
			abort();
	}
	memset(table, 0, TABLE_SIZE * sizeof(*table));
	live = 0;
	live_bytes = 0;
	calls = 0;
	failed = 0;
	memset(failed_stack, 0, sizeof(failed_stack));
	fail_at = at;
	sticky = stick;
	armed = 1;
}

void
failalloc_stop(struct failalloc_stats *st)
{
	armed = 0;
	failalloc_stats(st);
}

void
failalloc_stats(struct failalloc_stats *st)
{
	st->calls = calls;
	st->failed = failed;
	st->live = live;
	st->live_bytes = live_bytes;
}

/* The name of the function holding address a ("?" when unknown). */
static const char *
func_name(void *a)
{
	Dl_info info;

	if (a && dladdr(a, &info) && info.dli_sname)
		return info.dli_sname;
	return "?";
}

static int
stack_has(void *const *st, const char *const *names)
{
	for (int i = 0; i < DEPTH && st[i]; i++)
		for (int k = 0; names[k]; k++)
			if (strcmp(func_name(st[i]), names[k]) == 0)
				return 1;
	return 0;
}

int
failalloc_failed_in(const char *const *names)
{
	for (long i = 0; i < failed && i < MAX_FAILED; i++)
		if (stack_has(failed_stack[i], names))
			return 1;
	return 0;
}

long
failalloc_unexpected(const char *const *known, long *nknown)
{
	long bad = 0;

	*nknown = 0;
	for (size_t i = 0; table && i < TABLE_SIZE; i++) {
		if (table[i].p == NULL || table[i].p == TOMB)
			continue;
		if (known && stack_has(table[i].stack, known))
			(*nknown)++;
		else
			bad++;
	}
	return bad;
}

static void
print_stack(FILE *f, void *const *st)
{
	for (int i = 0; i < DEPTH && st[i]; i++)
		fprintf(f, " %s", func_name(st[i]));
	fputc('\n', f);
}

void
failalloc_report(FILE *f)
{
	for (size_t i = 0; table && i < TABLE_SIZE; i++) {
		if (table[i].p == NULL || table[i].p == TOMB)
			continue;
		fprintf(f, "  leaked %zu bytes from", table[i].n);
		print_stack(f, table[i].stack);
	}
}

void
failalloc_where(FILE *f)
{
	fputs("  failed in", f);
	print_stack(f, failed_stack[0]);
}

/*
 * Tests of the allocation helpers that may fail (tg_try_*) and of the per-thread
 * count of failed allocations that the parsers check (common/util.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "../../common/util.h"

/* More than any allocator can give, but not an overflow that a size check
 * would catch before asking. */
#define HUGE_SIZE (SIZE_MAX / 2)

#if defined(__SANITIZE_ADDRESS__)
/* ASan aborts on an impossible allocation unless told to return NULL like libc
 * (the name is ASan's interface). */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

static void
test_try_alloc_counts_failures(void **state)
{
	unsigned long before = tg_alloc_failures();
	char *p;

	(void)state;
	assert_null(tg_try_malloc(HUGE_SIZE));
	assert_int_equal(tg_alloc_failures(), before + 1);
	assert_null(tg_try_calloc(HUGE_SIZE, 4));
	assert_int_equal(tg_alloc_failures(), before + 2);
	p = tg_try_malloc(16);
	assert_non_null(p);
	/* a failed realloc leaves the block as it was */
	memcpy(p, "kept", 5);
	assert_null(tg_try_realloc(p, HUGE_SIZE));
	assert_int_equal(tg_alloc_failures(), before + 3);
	assert_string_equal(p, "kept");
	free(p);
	/* successes and NULL input are not failures */
	p = tg_try_strndup("abcdef", 3);
	assert_string_equal(p, "abc");
	free(p);
	p = tg_try_strdup("xyz");
	assert_string_equal(p, "xyz");
	free(p);
	assert_null(tg_try_strdup(NULL));
	assert_int_equal(tg_alloc_failures(), before + 3);
}

static void
test_buf_counts_only_memory_failures(void **state)
{
	unsigned long before = tg_alloc_failures();
	struct tg_buf b;

	(void)state;
	/* a full cap is not an allocation failure */
	tg_buf_init(&b, 4);
	assert_int_equal(tg_buf_append(&b, "abcd", 4), 0);
	assert_int_equal(tg_buf_append(&b, "e", 1), -1);
	assert_int_equal(tg_alloc_failures(), before);
	assert_string_equal(b.data, "abcd");
	tg_buf_free(&b);
	/* growing past what memory can hold is; the buffer is unchanged */
	tg_buf_init(&b, 0);
	assert_int_equal(tg_buf_append(&b, "ab", 2), 0);
	b.len = HUGE_SIZE - 8; /* pretend, to ask for more than exists */
	assert_int_equal(tg_buf_append(&b, "c", 1), -1);
	assert_int_equal(tg_alloc_failures(), before + 1);
	b.len = 2;
	assert_string_equal(b.data, "ab");
	tg_buf_free(&b);
}

/* tg_buf_reserve allocates once, up to the cap, and appends then do not move the
 * data; an empty reserved buffer is a valid empty string. */
static void
test_buf_reserve(void **state)
{
	struct tg_buf b;
	char *before;

	(void)state;
	tg_buf_init(&b, 0);
	assert_int_equal(tg_buf_reserve(&b, 1000), 0);
	assert_true(b.cap >= 1001);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	before = b.data;
	for (int i = 0; i < 100; i++)
		assert_int_equal(tg_buf_append(&b, "0123456789", 10), 0);
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.len, 1000);
	assert_int_equal(tg_buf_reserve(&b, 10), 0); /* grows past what it holds */
	assert_true(b.cap >= 1011);
	assert_int_equal(memcmp(b.data + 990, "0123456789", 10), 0);
	tg_buf_free(&b);
	/* capped: room for the limit only, and the limit still holds */
	tg_buf_init(&b, 16);
	assert_int_equal(tg_buf_reserve(&b, 1u << 20), 0);
	assert_true(b.cap >= 17 && b.cap < 1024);
	assert_int_equal(tg_buf_append(&b, "0123456789abcdef", 16), 0);
	assert_int_equal(tg_buf_append(&b, "x", 1), -1);
	tg_buf_free(&b);
	/* more than memory can hold fails, and the buffer is unchanged */
	tg_buf_init(&b, 0);
	assert_int_equal(tg_buf_append(&b, "ab", 2), 0);
	assert_int_equal(tg_buf_reserve(&b, HUGE_SIZE), -1);
	assert_string_equal(b.data, "ab");
	tg_buf_free(&b);
}

static void *
fail_once(void *arg)
{
	unsigned long *seen = arg;

	seen[0] = tg_alloc_failures();
	free(tg_try_malloc(HUGE_SIZE));
	seen[1] = tg_alloc_failures();
	return NULL;
}

static void
test_failures_are_per_thread(void **state)
{
	unsigned long before = tg_alloc_failures(), seen[2];
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, fail_once, seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(seen[0], 0);
	assert_int_equal(seen[1], 1);
	assert_int_equal(tg_alloc_failures(), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_try_alloc_counts_failures),
		cmocka_unit_test(test_buf_counts_only_memory_failures),
		cmocka_unit_test(test_buf_reserve),
		cmocka_unit_test(test_failures_are_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Allocation-failure injection for tests: the driver that links failalloc.c gets
 * its own malloc, calloc, realloc and free (forwarding to the next definition, libc
 * or the sanitizer's), which count the calls made between failalloc_start and
 * failalloc_stop, fail the chosen one, and track every block allocated meanwhile
 * so that what is still live at the stop is a leak.
 */
#ifndef TG_FAILALLOC_H
#define TG_FAILALLOC_H

#include <stddef.h>
#include <stdio.h>

struct failalloc_stats {
	long calls;        /* allocation calls in the window */
	long failed;       /* of them, failed on purpose */
	long live;         /* blocks allocated in the window and not freed */
	size_t live_bytes;
};

/* Open a window: count allocation calls from now on and fail call number fail_at
 * (1-based; 0: none). With sticky, every call from fail_at on fails (memory is
 * exhausted rather than short once). */
void failalloc_start(long fail_at, int sticky);

/* Close the window and report what happened in it. Blocks of the window freed
 * later are still seen: failalloc_stats then tells what is left of them. */
void failalloc_stop(struct failalloc_stats *st);
void failalloc_stats(struct failalloc_stats *st);

/* True when a failed allocation of the last window (one of its first 64) was made
 * under one of the functions named (a NULL-terminated list). */
int failalloc_failed_in(const char *const *names);

/* Blocks still live from the last window, except those allocated under one of
 * the functions in known (NULL-terminated; may be NULL), which are counted in
 * *nknown. */
long failalloc_unexpected(const char *const *known, long *nknown);

/* Print the stack of each block still live from the last window, and that of the
 * first failed allocation. */
void failalloc_report(FILE *f);
void failalloc_where(FILE *f);

#endif

/*
 * Tests of the SQLite store on real files in a temporary directory: creation and
 * reopening, feed health, item de-duplication across restarts, the pending
 * journal, sequence numbers, integrity and the error paths.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../common/util.h"
#include "../../daemon/store.h"

struct fixture {
	char dir[64];   /* the temp dir */
	char state[96]; /* dir/state: the store's directory, created by the store */
	char err[1024];
};

static int
setup(void **state)
{
	struct fixture *fx = tg_calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tg_store_XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->state, sizeof(fx->state), "%s/state", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static struct tg_store *
open_ok(struct fixture *fx)
{
	struct tg_store *st = tg_store_open(fx->state, fx->err, sizeof(fx->err));

	if (st == NULL)
		fprintf(stderr, "open: %s\n", fx->err);
	assert_non_null(st);
	return st;
}

/* Fill an item with id and some content derived from it. */
static void
make_item(struct tg_item *it, const char *id)
{
	char buf[128];

	tg_item_init(it);
	it->id = tg_strdup(id);
	snprintf(buf, sizeof(buf), "title of %s", id);
	it->title = tg_strdup(buf);
	snprintf(buf, sizeof(buf), "https://news.example.org/%s", id);
	it->link = tg_strdup(buf);
	it->summary = tg_strdup("US troops leave Iraq; talks with Iran \"resume\"");
	it->published = tg_strdup("2026-11-14T08:00:00Z");
	tg_item_add_author(it, "A. Writer");
	tg_item_add_author(it, "B \"Quoted\" Writer");
	tg_item_add_category(it, "Iraq");
}

static void
free_items(struct tg_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tg_item_clear(&items[i]);
}

/* Open a raw SQLite connection on the store's file (what an operator would do). */
static sqlite3 *
raw_open(struct fixture *fx)
{
	char path[160];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/tigris.db", fx->state);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* Run sql on the store's file through a read-write connection of its own (to
 * make the store what an older tigris, or an operator, left). */
static void
raw_exec(struct fixture *fx, const char *sql)
{
	char path[160];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/tigris.db", fx->state);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The first column of the first row of sql must be the text want. */
static void
expect_text(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *s;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
	sqlite3_finalize(s);
}

#define SQL_SCHEMA_VERSION "SELECT value FROM meta WHERE key = 'schema_version'"

static void
test_open_creates_and_reopen_keeps(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st;
	struct tg_store_feed f;
	struct stat sb;
	char epoch[33];
	int64_t id;

	st = open_ok(fx);
	assert_int_equal(stat(fx->state, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777 & ~0750, 0); /* umask may only remove bits */
	assert_int_equal(sb.st_mode & 0700, 0700);
	assert_int_equal(strlen(tg_store_epoch(st)), 32);
	for (const char *s = tg_store_epoch(st); *s; s++)
		assert_non_null(strchr("0123456789abcdef", *s));
	memcpy(epoch, tg_store_epoch(st), sizeof(epoch));
	assert_int_equal(tg_store_feed_get(st, "https://a.example/rss", &f, fx->err,
				 sizeof(fx->err)),
	    0);
	id = f.id;
	tg_store_feed_clear(&f);
	assert_int_equal(tg_store_max_seq(st), 0);
	tg_store_close(st);

	st = open_ok(fx);
	assert_string_equal(tg_store_epoch(st), epoch);
	assert_int_equal(tg_store_feed_get(st, "https://a.example/rss", &f, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_int_equal(f.id, id);
	tg_store_feed_clear(&f);
	tg_store_close(st);
	tg_store_close(NULL);
}

static void
test_epochs_differ(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *a, *b;
	char other[128];

	a = open_ok(fx);
	snprintf(other, sizeof(other), "%s/other/", fx->dir); /* trailing slash too */
	b = tg_store_open(other, fx->err, sizeof(fx->err));
	assert_non_null(b);
	assert_string_not_equal(tg_store_epoch(a), tg_store_epoch(b));
	tg_store_close(a);
	tg_store_close(b);
}

static void
test_wal_and_pragmas(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	sqlite3 *db = raw_open(fx);

	expect_text(db, "PRAGMA journal_mode", "wal");
	expect_text(db, SQL_SCHEMA_VERSION, "2");
	sqlite3_close(db);
	tg_store_close(st);
}

static void
test_feed_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_store_feed f, g;
	char big[3000];
	int64_t now = 1700000000000;

	assert_int_equal(tg_store_feed_get(st, "https://a.example/rss", &f, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_true(f.id > 0);
	assert_string_equal(f.url, "https://a.example/rss");
	assert_null(f.etag);
	assert_null(f.last_modified);
	assert_null(f.last_error);
	assert_int_equal(f.next_fetch_ms, 0);
	assert_int_equal(f.error_count, 0);
	assert_int_equal(f.last_success_ms, 0);

	assert_int_equal(tg_store_feed_get(st, "https://b.example/rss", &g, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_true(g.id != f.id);
	tg_store_feed_clear(&g);

	assert_int_equal(tg_store_feed_failed(st, f.id, "HTTP 503", now + 1000, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_int_equal(tg_store_feed_failed(st, f.id, "timeout", now + 2000, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_int_equal(tg_store_feed_get(st, "https://a.example/rss", &g, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_int_equal(g.error_count, 2);
	assert_string_equal(g.last_error, "timeout");
	assert_int_equal(g.next_fetch_ms, now + 2000);
	tg_store_feed_clear(&g);

	assert_int_equal(tg_store_feed_ok(st, f.id, "\"abc\"", "Sat, 14 Nov 2026 08:00:00 GMT", now,
				 now + 300000, fx->err, sizeof(fx->err)),
	    0);
	tg_store_close(st);
	st = open_ok(fx); /* survives a restart */
	assert_int_equal(tg_store_feed_get(st, "https://a.example/rss", &g, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_int_equal(g.id, f.id);
	assert_string_equal(g.etag, "\"abc\"");
	assert_string_equal(g.last_modified, "Sat, 14 Nov 2026 08:00:00 GMT");
	assert_int_equal(g.error_count, 0);
	assert_null(g.last_error);
	assert_int_equal(g.last_success_ms, now);
	assert_int_equal(g.next_fetch_ms, now + 300000);
	tg_store_feed_clear(&g);

	/* NULL validators clear them */
	assert_int_equal(tg_store_feed_ok(st, f.id, NULL, NULL, now + 1, now + 2, fx->err,
				 sizeof(fx->err)),
	    0);
	assert_int_equal(tg_store_feed_get(st, f.url, &g, fx->err, sizeof(fx->err)), 0);
	assert_null(g.etag);
	assert_null(g.last_modified);
	tg_store_feed_clear(&g);

	/* a huge error message is capped */
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tg_store_feed_failed(st, f.id, big, 0, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_feed_get(st, f.url, &g, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(strlen(g.last_error), 1024);
	tg_store_feed_clear(&g);

	/* unknown feed ids are errors */
	assert_int_equal(tg_store_feed_ok(st, 9999, NULL, NULL, 0, 0, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "no feed with id 9999"));
	assert_int_equal(tg_store_feed_failed(st, 9999, "x", 0, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "no feed with id 9999"));
	tg_store_feed_clear(&f);
	tg_store_close(st);
}

static int64_t
feed_id(struct fixture *fx, struct tg_store *st, const char *url)
{
	struct tg_store_feed f;
	int64_t id;

	assert_int_equal(tg_store_feed_get(st, url, &f, fx->err, sizeof(fx->err)), 0);
	id = f.id;
	tg_store_feed_clear(&f);
	return id;
}

static void
test_items_new_vs_seen(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[4];
	bool is_new[4];
	int64_t a = feed_id(fx, st, "https://a.example/rss");
	int64_t b = feed_id(fx, st, "https://b.example/rss");

	make_item(&items[0], "one");
	make_item(&items[1], "two");
	assert_int_equal(tg_store_items_add(st, a, items, 2, is_new, fx->err, sizeof(fx->err)), 2);
	assert_true(is_new[0] && is_new[1]);

	make_item(&items[2], "three");
	/* two seen, one new */
	assert_int_equal(tg_store_items_add(st, a, items, 3, is_new, fx->err, sizeof(fx->err)), 1);
	assert_false(is_new[0]);
	assert_false(is_new[1]);
	assert_true(is_new[2]);
	assert_int_equal(tg_store_item_count(st, a), 3);

	/* the same ids in another feed are other items */
	assert_int_equal(tg_store_items_add(st, b, items, 2, is_new, fx->err, sizeof(fx->err)), 2);
	assert_int_equal(tg_store_item_count(st, b), 2);

	/* across a restart nothing seen is new again */
	tg_store_close(st);
	st = open_ok(fx);
	make_item(&items[3], "four");
	assert_int_equal(tg_store_items_add(st, a, items, 4, is_new, fx->err, sizeof(fx->err)), 1);
	assert_false(is_new[0] || is_new[1] || is_new[2]);
	assert_true(is_new[3]);
	assert_int_equal(tg_store_item_count(st, a), 4);
	/* is_new may be NULL; nothing new now */
	assert_int_equal(tg_store_items_add(st, a, items, 4, NULL, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_items_add(st, a, items, 0, NULL, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_item_count(st, 12345), 0);
	free_items(items, 4);
	tg_store_close(st);
}

static void
test_items_duplicates_in_batch(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[5];
	bool is_new[5];
	int64_t a = feed_id(fx, st, "https://a.example/rss");

	make_item(&items[0], "x");
	make_item(&items[1], "y");
	make_item(&items[2], "x");
	make_item(&items[3], "y");
	tg_item_init(&items[4]); /* no id: never new */
	assert_int_equal(tg_store_items_add(st, a, items, 5, is_new, fx->err, sizeof(fx->err)), 2);
	assert_true(is_new[0]);
	assert_true(is_new[1]);
	assert_false(is_new[2]);
	assert_false(is_new[3]);
	assert_false(is_new[4]);
	assert_int_equal(tg_store_item_count(st, a), 2);
	free_items(items, 5);
	tg_store_close(st);
}

static void
test_items_unknown_feed_rolls_back(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[2];
	bool is_new[2] = { true, true };
	int64_t a = feed_id(fx, st, "https://a.example/rss");

	make_item(&items[0], "p");
	make_item(&items[1], "q");
	assert_int_equal(tg_store_items_add(st, 777, items, 2, is_new, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "adding items"));
	assert_non_null(strstr(fx->err, "FOREIGN KEY"));
	assert_false(is_new[0] || is_new[1]);
	assert_int_equal(tg_store_item_count(st, 777), 0);
	/* the store is still usable: the transaction was rolled back */
	assert_int_equal(tg_store_items_add(st, a, items, 2, is_new, fx->err, sizeof(fx->err)), 2);
	free_items(items, 2);
	tg_store_close(st);
}

struct seen {
	size_t n;
	int64_t feed_ids[16];
	char *ids[16];
	int failures[16];
	struct tg_store *st;  /* when set, publish each item from the callback */
	uint64_t next_seq;
	struct tg_item first; /* a copy of the first item */
};

/* Store the alert of an item (the outbox), which marks the item done. */
static int
publish(struct tg_store *st, int64_t fid, const char *id, uint64_t seq, char *err, size_t errlen)
{
	return tg_store_alert_add(st, seq, "0123456789abcdef0123456789abcdef", fid, id, " iraq ",
	    tg_now_wall_ms(), "{}", 2, err, errlen);
}

static void
on_pending(void *arg, int64_t fid, const struct tg_item *it, int failures)
{
	struct seen *s = arg;
	char err[256];

	if (s->n == 0)
		tg_item_copy(&s->first, it);
	if (s->n < 16) {
		s->feed_ids[s->n] = fid;
		s->ids[s->n] = tg_strdup(it->id);
		s->failures[s->n] = failures;
	}
	s->n++;
	if (s->st)
		assert_int_equal(publish(s->st, fid, it->id, s->next_seq++, err, sizeof(err)), 0);
}

static void
seen_clear(struct seen *s)
{
	for (size_t i = 0; i < s->n && i < 16; i++)
		free(s->ids[i]);
	tg_item_clear(&s->first);
	memset(s, 0, sizeof(*s));
}

static void
test_pending_and_published(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[3];
	struct seen s = { 0 };
	int64_t a = feed_id(fx, st, "https://a.example/rss");
	int64_t b = feed_id(fx, st, "https://b.example/rss");

	make_item(&items[0], "one");
	items[0].fetched_ms = 1234;
	make_item(&items[1], "two");
	make_item(&items[2], "three");
	assert_int_equal(tg_store_items_add(st, a, items, 2, NULL, fx->err, sizeof(fx->err)), 2);
	assert_int_equal(tg_store_items_add(st, b, items + 2, 1, NULL, fx->err, sizeof(fx->err)), 1);

	assert_int_equal(tg_store_items_pending(st, on_pending, &s, fx->err, sizeof(fx->err)), 3);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "one"); /* oldest first */
	assert_string_equal(s.ids[1], "two");
	assert_string_equal(s.ids[2], "three");
	assert_int_equal(s.feed_ids[0], a);
	assert_int_equal(s.feed_ids[2], b);
	/* the content comes back whole */
	assert_string_equal(s.first.title, "title of one");
	assert_string_equal(s.first.link, "https://news.example.org/one");
	assert_string_equal(s.first.summary, items[0].summary);
	assert_string_equal(s.first.published, "2026-11-14T08:00:00Z");
	assert_null(s.first.updated);
	assert_int_equal(s.first.nauthors, 2);
	assert_string_equal(s.first.authors[1], "B \"Quoted\" Writer");
	assert_int_equal(s.first.ncategories, 1);
	assert_string_equal(s.first.categories[0], "Iraq");
	assert_int_equal(s.first.fetched_ms, 1234);
	seen_clear(&s);

	assert_int_equal(publish(st, a, "two", 7, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(publish(st, a, "nope", 8, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "no item \"nope\""));
	assert_int_equal(tg_store_max_seq(st), 7);

	tg_store_close(st);
	st = open_ok(fx);
	assert_int_equal(tg_store_max_seq(st), 7);
	assert_int_equal(tg_store_items_pending(st, on_pending, &s, fx->err, sizeof(fx->err)), 2);
	assert_string_equal(s.ids[0], "one");
	assert_string_equal(s.ids[1], "three");
	seen_clear(&s);

	/* publishing from inside the callback is allowed */
	s.st = st;
	s.next_seq = 100;
	assert_int_equal(tg_store_items_pending(st, on_pending, &s, fx->err, sizeof(fx->err)), 2);
	seen_clear(&s);
	assert_int_equal(tg_store_items_pending(st, on_pending, &s, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_max_seq(st), 101);
	free_items(items, 3);
	tg_store_close(st);
}

/* More pending items than one internal batch, published while listed. */
static void
test_pending_many(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	size_t n = 1000;
	struct tg_item *items = tg_calloc(n, sizeof(*items));
	struct seen s = { 0 };
	char id[32];
	int64_t a = feed_id(fx, st, "https://a.example/rss");

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "id-%05zu", i);
		make_item(&items[i], id);
	}
	assert_int_equal(tg_store_items_add(st, a, items, n, NULL, fx->err, sizeof(fx->err)),
	    (int)n);
	s.st = st;
	s.next_seq = 1;
	assert_int_equal(tg_store_items_pending(st, on_pending, &s, fx->err, sizeof(fx->err)),
	    (int)n);
	assert_int_equal(s.n, n);
	assert_string_equal(s.ids[15], "id-00015");
	seen_clear(&s);
	assert_int_equal(tg_store_max_seq(st), n);
	assert_int_equal(tg_store_items_pending(st, on_pending, &s, fx->err, sizeof(fx->err)), 0);
	free_items(items, n);
	free(items);
	tg_store_close(st);
}

/* Thousands of items in one call, then all seen; reports the rate. */
static void
test_items_bulk(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	size_t n = 5000;
	struct tg_item *items = tg_calloc(n, sizeof(*items));
	bool *is_new = tg_calloc(n, sizeof(*is_new));
	char id[64];
	int64_t a = feed_id(fx, st, "https://a.example/rss"), t0, t1;

	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "https://news.example.org/story/%zu", i);
		make_item(&items[i], id);
	}
	t0 = tg_now_mono_ms();
	assert_int_equal(tg_store_items_add(st, a, items, n, is_new, fx->err, sizeof(fx->err)),
	    (int)n);
	t1 = tg_now_mono_ms();
	for (size_t i = 0; i < n; i++)
		assert_true(is_new[i]);
	assert_int_equal(tg_store_items_add(st, a, items, n, is_new, fx->err, sizeof(fx->err)), 0);
	for (size_t i = 0; i < n; i++)
		assert_false(is_new[i]);
	fprintf(stderr, "store: %zu new items in %lld ms, %zu seen in %lld ms\n", n,
	    (long long)(t1 - t0), n, (long long)(tg_now_mono_ms() - t1));
	assert_int_equal(tg_store_item_count(st, a), (int64_t)n);
	assert_int_equal(tg_store_check(st, fx->err, sizeof(fx->err)), 0);
	free_items(items, n);
	free(items);
	free(is_new);
	tg_store_close(st);
}

static void
test_integrity(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[2];
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t a = feed_id(fx, st, "https://a.example/rss");

	make_item(&items[0], "one");
	make_item(&items[1], "two");
	assert_int_equal(tg_store_items_add(st, a, items, 2, NULL, fx->err, sizeof(fx->err)), 2);
	assert_int_equal(publish(st, a, "one", 1, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_check(st, fx->err, sizeof(fx->err)), 0);
	tg_store_close(st);

	db = raw_open(fx);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
	free_items(items, 2);
}

static void
test_error_state_dir_under_file(void **state)
{
	struct fixture *fx = *state;
	char file[128], dir[160];
	int fd;

	snprintf(file, sizeof(file), "%s/plain", fx->dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(dir, sizeof(dir), "%s/sub/state", file);
	assert_null(tg_store_open(dir, fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, "cannot create state directory"));
	assert_non_null(strstr(fx->err, "Not a directory"));
	/* the directory itself is a file */
	assert_null(tg_store_open(file, fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, "is not a directory"));
	assert_null(tg_store_open("", fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, "no state directory"));
}

static void
test_error_corrupt_db(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	FILE *f;

	assert_int_equal(mkdir(fx->state, 0750), 0);
	snprintf(path, sizeof(path), "%s/tigris.db", fx->state);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 512; i++)
		fputs("this is not an SQLite database. ", f);
	fclose(f);
	assert_null(tg_store_open(fx->state, fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, path));
	assert_non_null(strstr(fx->err, "file is not a database"));
}

static void
test_error_newer_schema(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);

	tg_store_close(st);
	raw_exec(fx, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
	assert_null(tg_store_open(fx->state, fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, "schema version 99"));
}

static void
test_error_locked(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);

	assert_null(tg_store_open(fx->state, fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, "in use by another tigrisd"));
	tg_store_close(st);
	st = open_ok(fx); /* released on close */
	tg_store_close(st);
}


struct collected {
	uint64_t seqs[64];
	size_t n;
	char last_json[64];
};

static void
collect_alert(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct collected *c = arg;

	if (c->n < 64)
		c->seqs[c->n] = seq;
	c->n++;
	snprintf(c->last_json, sizeof(c->last_json), "%.*s", (int)len, json);
}

static int
add_alert(struct tg_store *st, int64_t fid, const char *id, uint64_t seq, const char *tags,
    int64_t when, char *err, size_t errlen)
{
	char json[64];

	snprintf(json, sizeof(json), "{\"seq\":%llu}", (unsigned long long)seq);
	return tg_store_alert_add(st, seq, "0123456789abcdef0123456789abcdef", fid, id, tags,
	    when, json, strlen(json), err, errlen);
}

static void
test_outbox_replay_and_retention(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[5];
	struct collected c;
	int64_t a = feed_id(fx, st, "https://a.example/rss");
	char id[24];

	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "i%d", i);
		make_item(&items[i], id);
	}
	assert_int_equal(tg_store_items_add(st, a, items, 5, NULL, fx->err, sizeof(fx->err)), 5);
	/* One transaction for several alerts, as the daemon batches them. */
	assert_int_equal(tg_store_begin(st, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(add_alert(st, a, "i0", 1, " iraq strike ", 1000, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(add_alert(st, a, "i1", 2, " iran ", 2000, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(add_alert(st, a, "i2", 3, " ", 3000, fx->err, sizeof(fx->err)), 0);
	/* The same sequence number twice is refused, and the batch goes on. */
	assert_int_equal(add_alert(st, a, "i3", 3, " ", 3000, fx->err, sizeof(fx->err)), -1);
	assert_int_equal(add_alert(st, a, "i3", 4, " iraq-iran iran ", 4000, fx->err,
			     sizeof(fx->err)),
	    0);
	assert_int_equal(tg_store_set_published_seq(st, 2, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_commit(st, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_max_seq(st), 4);
	assert_int_equal(tg_store_published_seq(st), 2);

	memset(&c, 0, sizeof(c));
	assert_int_equal(tg_store_alerts_range(st, 2, 0, NULL, 0, collect_alert, &c, fx->err,
			     sizeof(fx->err)),
	    3);
	assert_int_equal(c.seqs[0], 2);
	assert_int_equal(c.seqs[2], 4);
	assert_string_equal(c.last_json, "{\"seq\":4}");
	/* By tag: "iran" must not match "iraq-iran" alone, and the limit holds. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(tg_store_alerts_range(st, 1, 0, "iran", 0, collect_alert, &c, fx->err,
			     sizeof(fx->err)),
	    2);
	assert_int_equal(c.seqs[0], 2);
	assert_int_equal(c.seqs[1], 4);
	memset(&c, 0, sizeof(c));
	assert_int_equal(tg_store_alerts_range(st, 1, 3, NULL, 2, collect_alert, &c, fx->err,
			     sizeof(fx->err)),
	    2);
	/* Only i4 is still pending: the others have their alert. */
	{
		struct seen sn = { 0 };
		assert_int_equal(tg_store_items_pending(st, on_pending, &sn, fx->err,
				     sizeof(fx->err)),
		    1);
		assert_string_equal(sn.ids[0], "i4");
		seen_clear(&sn);
	}
	/* Retention. */
	assert_int_equal(tg_store_alerts_prune(st, 2500, fx->err, sizeof(fx->err)), 2);
	assert_int_equal(tg_store_min_alert_seq(st), 3);
	tg_store_close(st);
	st = open_ok(fx);
	assert_int_equal(tg_store_published_seq(st), 2);
	assert_int_equal(tg_store_max_seq(st), 4);
	free_items(items, 5);
	tg_store_close(st);
}

static void
test_dead_letters_and_pending_from(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[6];
	int64_t a = feed_id(fx, st, "https://a.example/rss");
	int64_t before = tg_store_max_item_rowid(st), last = 0;
	struct seen sn = { 0 };
	char id[24];

	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		make_item(&items[i], id);
	}
	assert_int_equal(tg_store_items_add(st, a, items, 6, NULL, fx->err, sizeof(fx->err)), 6);
	assert_int_equal(tg_store_max_item_rowid(st), before + 6);
	assert_int_equal(tg_store_dead_letter(st, a, "d1", 3, "took down 3 worker(s)", fx->err,
			     sizeof(fx->err)),
	    0);
	assert_int_equal(tg_store_dead_count(st), 1);
	/* From a rowid, at most a limit, dead letters left out. */
	assert_int_equal(tg_store_items_pending_from(st, before, 2, &last, on_pending, &sn,
			     fx->err, sizeof(fx->err)),
	    2);
	assert_string_equal(sn.ids[0], "d0");
	assert_string_equal(sn.ids[1], "d2");
	seen_clear(&sn);
	assert_int_equal(tg_store_items_pending_from(st, last, 0, &last, on_pending, &sn, fx->err,
			     sizeof(fx->err)),
	    3);
	assert_string_equal(sn.ids[0], "d3");
	assert_int_equal(last, before + 6);
	seen_clear(&sn);
	free_items(items, 6);
	tg_store_close(st);
}

/* A poison suspect's failure count: set, given back with the pending items, kept
 * across a reopen, dropped from the listing once the item is dead-lettered. */
static void
test_item_failures_kept(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[3];
	struct seen sn = { 0 };
	int64_t a = feed_id(fx, st, "https://a.example/rss");

	make_item(&items[0], "f0");
	make_item(&items[1], "f1");
	make_item(&items[2], "f2");
	assert_int_equal(tg_store_items_add(st, a, items, 3, NULL, fx->err, sizeof(fx->err)), 3);
	assert_int_equal(tg_store_items_pending(st, on_pending, &sn, fx->err, sizeof(fx->err)), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sn.failures[i], 0); /* new items start clean */
	seen_clear(&sn);

	assert_int_equal(tg_store_item_failed(st, a, "f1", 1, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_item_failed(st, a, "f1", 2, fx->err, sizeof(fx->err)), 0);
	/* unknown item, unknown feed: an error that names the item */
	assert_int_equal(tg_store_item_failed(st, a, "nope", 1, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "no pending item \"nope\""));
	assert_int_equal(tg_store_item_failed(st, a + 99, "f1", 1, fx->err, sizeof(fx->err)), -1);
	tg_store_close(st);

	st = open_ok(fx);
	assert_int_equal(tg_store_items_pending(st, on_pending, &sn, fx->err, sizeof(fx->err)), 3);
	assert_string_equal(sn.ids[1], "f1");
	assert_int_equal(sn.failures[0], 0);
	assert_int_equal(sn.failures[1], 2); /* the last count set, not a sum */
	assert_int_equal(sn.failures[2], 0);
	seen_clear(&sn);
	/* the refill path gives it too */
	assert_int_equal(tg_store_items_pending_from(st, 0, 2, NULL, on_pending, &sn, fx->err,
			     sizeof(fx->err)),
	    2);
	assert_int_equal(sn.failures[1], 2);
	seen_clear(&sn);

	/* a published item is no longer pending: its count cannot be set */
	assert_int_equal(publish(st, a, "f0", 1, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_item_failed(st, a, "f0", 1, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "no pending item \"f0\""));
	/* set from inside the listing (as the daemon may), then dead-lettered */
	assert_int_equal(tg_store_item_failed(st, a, "f1", 3, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_dead_letter(st, a, "f1", 3, "took down 3 worker(s)", fx->err,
			     sizeof(fx->err)),
	    0);
	assert_int_equal(tg_store_item_failed(st, a, "f1", 4, fx->err, sizeof(fx->err)), -1);
	assert_int_equal(tg_store_items_pending(st, on_pending, &sn, fx->err, sizeof(fx->err)), 1);
	assert_string_equal(sn.ids[0], "f2");
	assert_int_equal(sn.failures[0], 0);
	seen_clear(&sn);
	free_items(items, 3);
	tg_store_close(st);
}

/* A store of schema version 1 (no items.failures) is upgraded in place when
 * opened: its pending items are kept, with a count of 0 that can then be set. */
static void
test_upgrade_from_v1(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[2];
	struct seen sn = { 0 };
	int64_t a = feed_id(fx, st, "https://a.example/rss");
	char epoch[33];
	sqlite3_stmt *s;
	sqlite3 *db;

	make_item(&items[0], "old0");
	make_item(&items[1], "old1");
	assert_int_equal(tg_store_items_add(st, a, items, 2, NULL, fx->err, sizeof(fx->err)), 2);
	memcpy(epoch, tg_store_epoch(st), sizeof(epoch));
	tg_store_close(st);

	/* Make it what tigris with schema version 1 left: the items table without the
	 * column, and version 1 in meta. */
	raw_exec(fx, "ALTER TABLE items DROP COLUMN failures;"
		     "UPDATE meta SET value = '1' WHERE key = 'schema_version';");
	db = raw_open(fx);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT failures FROM items", -1, &s, NULL),
	    SQLITE_ERROR); /* the column is really gone */
	sqlite3_close(db);

	st = open_ok(fx);
	assert_string_equal(tg_store_epoch(st), epoch);
	assert_int_equal(tg_store_items_pending(st, on_pending, &sn, fx->err, sizeof(fx->err)), 2);
	assert_string_equal(sn.ids[0], "old0");
	assert_string_equal(sn.first.title, "title of old0"); /* content kept */
	assert_int_equal(sn.failures[0], 0);
	assert_int_equal(sn.failures[1], 0);
	seen_clear(&sn);
	assert_int_equal(tg_store_item_failed(st, a, "old1", 2, fx->err, sizeof(fx->err)), 0);
	tg_store_close(st);

	db = raw_open(fx);
	expect_text(db, SQL_SCHEMA_VERSION, "2");
	sqlite3_close(db);

	/* and the upgraded store reopens as it is, with the count */
	st = open_ok(fx);
	assert_int_equal(tg_store_items_pending(st, on_pending, &sn, fx->err, sizeof(fx->err)), 2);
	assert_int_equal(sn.failures[1], 2);
	seen_clear(&sn);
	free_items(items, 2);
	tg_store_close(st);
}

/* A migration step that fails leaves the store as it was: the open fails with
 * the step named and SQLite's reason, the schema version and the items are
 * untouched, and once the cause is gone the same store upgrades. */
static void
test_upgrade_fails_whole(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_item items[1];
	struct seen sn = { 0 };
	int64_t a = feed_id(fx, st, "https://a.example/rss");
	sqlite3 *db;

	make_item(&items[0], "kept");
	assert_int_equal(tg_store_items_add(st, a, items, 1, NULL, fx->err, sizeof(fx->err)), 1);
	tg_store_close(st);

	/* Version 1 in meta but the column already there: step 1 -> 2 cannot run. */
	raw_exec(fx, "UPDATE meta SET value = '1' WHERE key = 'schema_version'");
	assert_null(tg_store_open(fx->state, fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, "upgrading the schema to version 2"));
	assert_non_null(strstr(fx->err, "duplicate column"));

	db = raw_open(fx);
	expect_text(db, SQL_SCHEMA_VERSION, "1"); /* rolled back */
	expect_text(db, "SELECT count(*) FROM items", "1");
	sqlite3_close(db);
	/* the cause removed, the same store upgrades and keeps its item */
	raw_exec(fx, "ALTER TABLE items DROP COLUMN failures");
	st = open_ok(fx);
	assert_int_equal(tg_store_items_pending(st, on_pending, &sn, fx->err, sizeof(fx->err)), 1);
	assert_string_equal(sn.ids[0], "kept");
	assert_int_equal(sn.failures[0], 0);
	seen_clear(&sn);
	free_items(items, 1);
	tg_store_close(st);
}

static void
test_feed_moved_kept(void **state)
{
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_store_feed f;
	int64_t a = feed_id(fx, st, "https://old.example/rss");

	assert_int_equal(tg_store_feed_moved(st, a, "https://new.example/rss", fx->err,
			     sizeof(fx->err)),
	    0);
	tg_store_close(st);
	st = open_ok(fx);
	memset(&f, 0, sizeof(f));
	assert_int_equal(tg_store_feed_get(st, "https://old.example/rss", &f, fx->err,
			     sizeof(fx->err)),
	    0);
	assert_string_equal(f.moved_url, "https://new.example/rss");
	tg_store_feed_clear(&f);
	assert_int_equal(tg_store_feed_moved(st, a, NULL, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(tg_store_feed_get(st, "https://old.example/rss", &f, fx->err,
			     sizeof(fx->err)),
	    0);
	assert_null(f.moved_url);
	tg_store_feed_clear(&f);
	tg_store_close(st);
}

static off_t
file_size(struct fixture *fx, const char *name)
{
	char path[200];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", fx->state, name);
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* The checkpoint thread: woken by a long write-ahead log, it copies the log into
 * the database while the daemon's connection goes on writing, so the log file
 * stays far smaller than what was written, nothing fails, and everything is
 * there after a reopen. */
static void
test_checkpoint_thread(void **state)
{
	enum { ROUNDS = 6, PER_ROUND = 500 };
	struct fixture *fx = *state;
	struct tg_store *st = open_ok(fx);
	struct tg_store_feed f;
	char big[2048], json[2200], id[32];
	unsigned long long runs = 0, failures = 0, before;
	uint64_t seq = 0;
	int64_t fid;
	sqlite3 *db;
	sqlite3_stmt *q;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tg_store_feed_get(st, "https://ckpt.example/rss", &f, fx->err,
	    sizeof(fx->err)), 0);
	fid = f.id;
	tg_store_feed_clear(&f);
	for (int r = 0; r < ROUNDS; r++) {
		struct tg_item items[PER_ROUND];

		for (int i = 0; i < PER_ROUND; i++) {
			snprintf(id, sizeof(id), "ck-%d-%d", r, i);
			tg_item_init(&items[i]);
			items[i].id = tg_strdup(id);
			items[i].summary = tg_strdup(big);
		}
		assert_int_equal(tg_store_items_add(st, fid, items, PER_ROUND, NULL, fx->err,
		    sizeof(fx->err)), PER_ROUND);
		tg_store_checkpoint_stats(st, &before, &failures);
		assert_int_equal(tg_store_begin(st, fx->err, sizeof(fx->err)), 0);
		for (int i = 0; i < PER_ROUND; i++) {
			snprintf(json, sizeof(json), "{\"seq\":%llu,\"pad\":\"%s\"}",
			    (unsigned long long)(seq + 1), big);
			assert_int_equal(tg_store_alert_add(st, ++seq,
			    "0123456789abcdef0123456789abcdef", fid, items[i].id, " iraq ",
			    tg_now_wall_ms(), json, strlen(json), fx->err, sizeof(fx->err)), 0);
		}
		assert_int_equal(tg_store_commit(st, fx->err, sizeof(fx->err)), 0);
		free_items(items, PER_ROUND);
		/* The commits passed the hook's threshold: a checkpoint comes soon. */
		for (int w = 0; w < 300; w++) {
			tg_store_checkpoint_stats(st, &runs, &failures);
			if (runs > before)
				break;
			usleep(10000);
		}
		assert_true(runs > before);
	}
	assert_int_equal(failures, 0);
	assert_int_equal(tg_store_checkpoint_error(st, fx->err, sizeof(fx->err)), 0);
	/* About 24 MB went through the log and reached the database; the log was
	 * reused, not grown (without checkpoints it would be as large). */
	assert_true(file_size(fx, "tigris.db") > 12 * 1024 * 1024);
	if (file_size(fx, "tigris.db-wal") * 2 >= file_size(fx, "tigris.db"))
		fail_msg("the WAL grew to %lld bytes (database %lld)",
		    (long long)file_size(fx, "tigris.db-wal"), (long long)file_size(fx, "tigris.db"));
	tg_store_close(st);
	st = open_ok(fx);
	tg_store_close(st);
	db = raw_open(fx);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(seq) FROM alerts", -1, &q,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 0), ROUNDS * PER_ROUND);
	assert_int_equal(sqlite3_column_int64(q, 1), ROUNDS * PER_ROUND);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_and_reopen_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epochs_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_and_pragmas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_new_vs_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_duplicates_in_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_unknown_feed_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_and_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_items_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integrity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_state_dir_under_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_corrupt_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_fails_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_replay_and_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_letters_and_pending_from, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_item_failures_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_moved_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_thread, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

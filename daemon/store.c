/*
 * The daemon's SQLite store: feeds with their validators and health, and every
 * item seen with its journal state. Statements are prepared once at open and
 * reused; each batch of items is one transaction. WAL checkpoints (which copy
 * the log into the database and fsync it) run on a thread of the store's own,
 * with its own connection, so the daemon's thread never waits for the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_MAX_ERROR_LEN 1024 /* cap on a feed's last_error */
#define STORE_PENDING_BATCH 256  /* pending items loaded per query */
#define STORE_CKPT_PAGES 1000     /* WAL pages that wake the checkpointer (SQLite's default) */
#define STORE_CKPT_IDLE_MS 2000   /* and it looks anyway this often */

enum {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_FEED_INSERT,
	S_FEED_SELECT,
	S_FEED_OK,
	S_FEED_FAILED,
	S_ITEM_INSERT,
	S_ITEMS_PENDING,
	S_MAX_SEQ,
	S_ITEM_COUNT,
	S_ALERT_INSERT,
	S_ITEM_DONE,
	S_ALERTS_RANGE,
	S_ALERTS_RANGE_TAG,
	S_ALERTS_PRUNE,
	S_META_SET,
	S_META_GET,
	S_DEAD_INSERT,
	S_ITEM_DEAD,
	S_DEAD_COUNT,
	S_MAX_ITEM_ROWID,
	S_MIN_ALERT_SEQ,
	S_FEED_MOVED,
	S_ITEM_FAILED,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_NSTMT
};

static const char *const stmt_sql[S_NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_FEED_INSERT] = "INSERT INTO feeds(url) VALUES (?1) ON CONFLICT(url) DO NOTHING",
	[S_FEED_SELECT] = "SELECT id, url, etag, last_modified, next_fetch_ms, error_count, "
			  "last_error, last_success_ms, moved_url FROM feeds WHERE url = ?1",
	[S_FEED_OK] = "UPDATE feeds SET etag = ?1, last_modified = ?2, error_count = 0, "
		      "last_error = NULL, last_success_ms = ?3, last_fetch_ms = ?3, "
		      "next_fetch_ms = ?4 WHERE id = ?5",
	[S_FEED_FAILED] = "UPDATE feeds SET error_count = error_count + 1, last_error = ?1, "
			  "last_fetch_ms = ?2, next_fetch_ms = ?3 WHERE id = ?4",
	[S_ITEM_INSERT] = "INSERT INTO items(feed_id, item_id, state, seq, first_seen_ms, title, "
			  "link, summary, published, updated, authors, categories) "
			  "VALUES (?1, ?2, 0, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
			  "ON CONFLICT(feed_id, item_id) DO NOTHING",
	[S_ITEMS_PENDING] = "SELECT rowid, feed_id, item_id, title, link, summary, published, "
			    "updated, authors, categories, first_seen_ms, failures FROM items "
			    "WHERE state = 0 AND rowid > ?1 ORDER BY rowid LIMIT ?2",
	[S_MAX_SEQ] = "SELECT MAX(seq) FROM alerts",
	[S_ITEM_COUNT] = "SELECT COUNT(*) FROM items WHERE feed_id = ?1",
	[S_ALERT_INSERT] = "INSERT INTO alerts(seq, alert_id, feed_id, item_id, "
			   "published_ms, tags, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_ITEM_DONE] = "UPDATE items SET state = 1, seq = ?1, title = NULL, summary = NULL, "
			"link = NULL, authors = NULL, categories = NULL "
			"WHERE feed_id = ?2 AND item_id = ?3",
	[S_ALERTS_RANGE] = "SELECT seq, json FROM alerts WHERE seq >= ?1 AND seq <= ?2 "
			   "ORDER BY seq LIMIT ?3",
	[S_ALERTS_RANGE_TAG] = "SELECT seq, json FROM alerts WHERE seq >= ?1 AND seq <= ?2 "
			       "AND instr(tags, ?4) > 0 ORDER BY seq LIMIT ?3",
	[S_ALERTS_PRUNE] = "DELETE FROM alerts WHERE published_ms < ?1",
	[S_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2) "
		       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[S_DEAD_INSERT] = "INSERT OR REPLACE INTO dead_letters(feed_id, item_id, attempts, reason, "
			  "dead_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_ITEM_DEAD] = "UPDATE items SET state = 2 WHERE feed_id = ?1 AND item_id = ?2",
	[S_DEAD_COUNT] = "SELECT COUNT(*) FROM dead_letters",
	[S_MAX_ITEM_ROWID] = "SELECT MAX(rowid) FROM items",
	[S_MIN_ALERT_SEQ] = "SELECT MIN(seq) FROM alerts",
	[S_FEED_MOVED] = "UPDATE feeds SET moved_url = ?1 WHERE id = ?2",
	[S_ITEM_FAILED] = "UPDATE items SET failures = ?1 "
			  "WHERE feed_id = ?2 AND item_id = ?3 AND state = 0",
	[S_SAVEPOINT] = "SAVEPOINT alert",
	[S_RELEASE] = "RELEASE alert",
	[S_ROLLBACK_TO] = "ROLLBACK TO alert",
};

static const char schema_sql[] =
	"CREATE TABLE feeds ("
	" id INTEGER PRIMARY KEY,"
	" url TEXT UNIQUE NOT NULL,"
	" etag TEXT,"
	" last_modified TEXT,"
	" next_fetch_ms INTEGER NOT NULL DEFAULT 0,"
	" error_count INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT,"
	" last_success_ms INTEGER NOT NULL DEFAULT 0,"
	" last_fetch_ms INTEGER NOT NULL DEFAULT 0,"
	" moved_url TEXT);" /* where a permanent redirect led */
	"CREATE TABLE items ("
	" feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,"
	" item_id TEXT NOT NULL,"
	" state INTEGER NOT NULL,"
	" seq INTEGER NOT NULL DEFAULT 0,"
	" first_seen_ms INTEGER NOT NULL,"
	" title TEXT,"
	" link TEXT,"
	" summary TEXT,"
	" published TEXT,"
	" updated TEXT,"
	" authors TEXT,"    /* JSON array of strings, NULL when empty */
	" categories TEXT," /* likewise */
	" failures INTEGER NOT NULL DEFAULT 0," /* workers it took down while pending */
	" PRIMARY KEY (feed_id, item_id));"
	"CREATE INDEX items_state ON items(state);"
	/* The outbox and the replay history: every alert, by sequence number. */
	"CREATE TABLE alerts ("
	" seq INTEGER PRIMARY KEY,"
	" alert_id TEXT NOT NULL,"
	" feed_id INTEGER NOT NULL,"
	" item_id TEXT NOT NULL,"
	" published_ms INTEGER NOT NULL,"
	" tags TEXT NOT NULL," /* " iran strike " : each tag between spaces, for replay by tag */
	" json TEXT NOT NULL);"
	"CREATE INDEX alerts_time ON alerts(published_ms);"
	"CREATE TABLE dead_letters ("
	" feed_id INTEGER NOT NULL,"
	" item_id TEXT NOT NULL,"
	" attempts INTEGER NOT NULL,"
	" reason TEXT,"
	" dead_ms INTEGER NOT NULL,"
	" PRIMARY KEY (feed_id, item_id));";

/* What brings a store made by an older tigris up to date, in order: step i turns
 * schema version i + 1 into i + 2. A new store gets schema_sql and the newest
 * version at once. The steps run in the schema transaction of tg_store_open, so
 * a store is upgraded whole or not at all. */
static const struct {
	const char *sql;
	const char *what;
} migrations[] = {
	/* 1 -> 2: the failure count of a poison suspect survives a restart. */
	{ "ALTER TABLE items ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",
	    "upgrading the schema to version 2 (items.failures)" },
};

#define STORE_SCHEMA_VERSION (1 + (int)(sizeof(migrations) / sizeof(migrations[0])))

/* The checkpointer: a thread with its own connection, woken by the WAL hook of
 * the daemon's connection when the log passes STORE_CKPT_PAGES. */
struct ckpt {
	pthread_t thread;
	bool started;
	sqlite3 *db;
	pthread_mutex_t mu;    /* guards the fields below */
	pthread_cond_t cv;
	bool stop, kick;
	unsigned long long runs;
	unsigned long long failures; /* checkpoints that failed (not merely busy) */
	char error[256];       /* the last failure, "" when none */
};

struct tg_store {
	sqlite3 *db;
	char *path;     /* of tigris.db, for messages */
	int lockfd;     /* flock'd <dir>/tigris.lock: one daemon per state dir */
	char epoch[33]; /* 32 hex digits */
	sqlite3_stmt *stmt[S_NSTMT];
	struct ckpt ckpt;
	unsigned long long ckpt_reported; /* failures already handed to the daemon */
};

static int
fail_db(struct tg_store *st, char *err, size_t errlen, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "store %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
	return -1;
}

static int
fail_msg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Create dir and its missing parents with mode; it must end up a directory. */
static int
make_dirs(const char *dir, mode_t mode, char *err, size_t errlen)
{
	char *p = tg_strdup(dir);
	struct stat sb;
	int rc = -1;
	char c;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			fail_msg(err, errlen, "store: cannot create state directory %s: %s", p,
			    strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &sb) != 0) {
		fail_msg(err, errlen, "store: state directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		fail_msg(err, errlen, "store: state directory %s exists and is not a directory",
		    dir);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* Run one statement that returns no rows (or whose rows we ignore). */
static int
exec_sql(struct tg_store *st, const char *sql, const char *what, char *err, size_t errlen)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail_db(st, err, errlen, what);
	return 0;
}

/* Read the text value of meta[key] into a malloc'd string, NULL when absent. */
static int
meta_get(struct tg_store *st, const char *key, char **out, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) !=
	    SQLITE_OK)
		return fail_db(st, err, errlen, "reading meta");
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = tg_strdup((const char *)sqlite3_column_text(s, 0));
	else if (rc != SQLITE_DONE)
		fail_db(st, err, errlen, "reading meta");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
meta_set(struct tg_store *st, const char *key, const char *value, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1,
		&s, NULL) != SQLITE_OK)
		return fail_db(st, err, errlen, "writing meta");
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		fail_db(st, err, errlen, "writing meta");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
make_epoch(char out[33], char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(raw)) {
		n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail_msg(err, errlen, "store: getrandom: %s", strerror(errno));
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

static bool
is_epoch(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 32;
}

/* Create the schema and the epoch on a new store, or check an existing one. */
static int
schema_init(struct tg_store *st, char *err, size_t errlen)
{
	char *version = NULL, *epoch = NULL, num[24];
	long v, upgraded_from = 0;
	int rc = -1;

	if (exec_sql(st, "BEGIN IMMEDIATE", "starting schema transaction", err, errlen) < 0)
		return -1;
	if (exec_sql(st, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
		"creating meta table", err, errlen) < 0)
		goto out;
	if (meta_get(st, "schema_version", &version, err, errlen) < 0)
		goto out;
	if (version == NULL) {
		if (exec_sql(st, schema_sql, "creating tables", err, errlen) < 0)
			goto out;
		snprintf(num, sizeof(num), "%d", STORE_SCHEMA_VERSION);
		if (meta_set(st, "schema_version", num, err, errlen) < 0)
			goto out;
	} else if (tg_parse_long(version, 1, 1000000, &v) < 0 || v > STORE_SCHEMA_VERSION) {
		fail_msg(err, errlen, "store %s: schema version %s, this tigris knows version %d",
		    st->path, version, STORE_SCHEMA_VERSION);
		goto out;
	} else if (v < STORE_SCHEMA_VERSION) {
		for (long i = v - 1; i < STORE_SCHEMA_VERSION - 1; i++)
			if (exec_sql(st, migrations[i].sql, migrations[i].what, err, errlen) < 0)
				goto out;
		snprintf(num, sizeof(num), "%d", STORE_SCHEMA_VERSION);
		if (meta_set(st, "schema_version", num, err, errlen) < 0)
			goto out;
		upgraded_from = v;
	}
	/* Stores made before it was found unused had an index on items(seq): it only
	 * cost a write per alert. */
	if (exec_sql(st, "DROP INDEX IF EXISTS items_seq", "dropping an unused index", err,
	    errlen) < 0)
		goto out;
	if (meta_get(st, "epoch", &epoch, err, errlen) < 0)
		goto out;
	if (epoch == NULL) {
		if (make_epoch(st->epoch, err, errlen) < 0 ||
		    meta_set(st, "epoch", st->epoch, err, errlen) < 0)
			goto out;
	} else if (is_epoch(epoch)) {
		memcpy(st->epoch, epoch, 33);
	} else {
		fail_msg(err, errlen, "store %s: malformed epoch in meta table", st->path);
		goto out;
	}
	if (exec_sql(st, "COMMIT", "committing schema", err, errlen) < 0)
		goto out;
	if (upgraded_from)
		tg_notice("store %s: schema upgraded from version %ld to %d", st->path,
		    upgraded_from, STORE_SCHEMA_VERSION);
	rc = 0;
out:
	if (rc < 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	free(version);
	free(epoch);
	return rc;
}

/* Set the journal mode and check that SQLite agreed (it answers with the mode). */
static int
set_wal(struct tg_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const char *mode;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK)
		return fail_db(st, err, errlen, "setting journal mode");
	if (sqlite3_step(s) != SQLITE_ROW) {
		fail_db(st, err, errlen, "setting journal mode");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		fail_msg(err, errlen, "store %s: cannot use WAL journal (got %s)", st->path,
		    mode ? mode : "nothing");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* "dir/name" (malloc'd), without doubling a trailing slash of dir. */
static char *
dir_join(const char *dir, const char *name)
{
	size_t dlen = strlen(dir), nlen = strlen(name);
	char *p;

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	p = tg_malloc(dlen + nlen + 2);
	memcpy(p, dir, dlen);
	p[dlen] = '/';
	memcpy(p + dlen + 1, name, nlen + 1);
	return p;
}

static void *
ckpt_main(void *arg)
{
	struct ckpt *k = arg;

	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		struct timespec until;
		int rc, log = 0, done = 0;

		if (!k->kick) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += STORE_CKPT_IDLE_MS / 1000;
			pthread_cond_timedwait(&k->cv, &k->mu, &until);
			if (k->stop)
				break;
		}
		k->kick = false;
		pthread_mutex_unlock(&k->mu);
		/* PASSIVE: copy what no reader still needs, never block the writer. */
		rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		pthread_mutex_lock(&k->mu);
		k->runs++;
		if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
			k->failures++;
			snprintf(k->error, sizeof(k->error), "%s", sqlite3_errmsg(k->db));
		}
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/* The WAL hook of the daemon's connection (after each commit): wake the
 * checkpointer when the log is long. Replaces SQLite's own auto-checkpoint,
 * which would run in the committing thread. */
static int
on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct ckpt *k = arg;

	(void)db;
	(void)name;
	if (pages >= STORE_CKPT_PAGES) {
		pthread_mutex_lock(&k->mu);
		k->kick = true;
		pthread_cond_signal(&k->cv);
		pthread_mutex_unlock(&k->mu);
	}
	return SQLITE_OK;
}

static int
ckpt_start(struct tg_store *st, char *err, size_t errlen)
{
	struct ckpt *k = &st->ckpt;
	sigset_t all, old;
	int rc;

	if (sqlite3_open_v2(st->path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		fail_msg(err, errlen, "store %s: opening the checkpoint connection: %s", st->path,
		    k->db ? sqlite3_errmsg(k->db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(k->db, STORE_BUSY_TIMEOUT_MS);
	/* This connection never writes; it must not checkpoint on close either
	 * while the daemon's connection is open (the daemon's close does). */
	sqlite3_db_config(k->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/* A connection learns that the database is in WAL mode when it first reads;
	 * until then a checkpoint on it does nothing. */
	if (sqlite3_exec(k->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fail_msg(err, errlen, "store %s: reading on the checkpoint connection: %s",
		    st->path, sqlite3_errmsg(k->db));
		sqlite3_close(k->db);
		k->db = NULL;
		return -1;
	}
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	/* The thread starts with every signal blocked, so that the daemon's
	 * signals (SIGTERM, SIGCHLD, SIGHUP) are always taken by its loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&k->thread, NULL, ckpt_main, k);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		fail_msg(err, errlen, "store %s: cannot start the checkpoint thread", st->path);
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->mu);
		return -1;
	}
	k->started = true;
	sqlite3_wal_hook(st->db, on_wal_commit, k);
	return 0;
}

static void
ckpt_stop(struct tg_store *st)
{
	struct ckpt *k = &st->ckpt;

	if (k->started) {
		if (st->db)
			sqlite3_wal_hook(st->db, NULL, NULL);
		pthread_mutex_lock(&k->mu);
		k->stop = true;
		pthread_cond_signal(&k->cv);
		pthread_mutex_unlock(&k->mu);
		pthread_join(k->thread, NULL);
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->mu);
		k->started = false;
	}
	if (k->db) {
		sqlite3_close(k->db);
		k->db = NULL;
	}
}

void
tg_store_checkpoint_stats(struct tg_store *st, unsigned long long *runs,
    unsigned long long *failures)
{
	struct ckpt *k = &st->ckpt;

	*runs = *failures = 0;
	if (!k->started)
		return;
	pthread_mutex_lock(&k->mu);
	*runs = k->runs;
	*failures = k->failures;
	pthread_mutex_unlock(&k->mu);
}

int
tg_store_checkpoint_error(struct tg_store *st, char *err, size_t errlen)
{
	struct ckpt *k = &st->ckpt;
	int rc = 0;

	if (!k->started)
		return 0;
	pthread_mutex_lock(&k->mu);
	if (k->failures > st->ckpt_reported) {
		fail_msg(err, errlen, "store %s: checkpoint failed (%llu time(s) so far): %s",
		    st->path, k->failures, k->error);
		st->ckpt_reported = k->failures;
		rc = -1;
	}
	pthread_mutex_unlock(&k->mu);
	return rc;
}

struct tg_store *
tg_store_open(const char *dir, char *err, size_t errlen)
{
	struct tg_store *st = NULL;
	char *lockpath = NULL;

	if (dir == NULL || *dir == '\0') {
		fail_msg(err, errlen, "store: no state directory");
		return NULL;
	}
	if (make_dirs(dir, 0750, err, errlen) < 0)
		return NULL;
	st = tg_calloc(1, sizeof(*st));
	st->lockfd = -1;
	lockpath = dir_join(dir, "tigris.lock");
	st->path = dir_join(dir, "tigris.db");
	st->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (st->lockfd < 0) {
		fail_msg(err, errlen, "store: cannot open %s: %s", lockpath, strerror(errno));
		goto fail;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			fail_msg(err, errlen, "store: state directory %s is in use by another tigrisd "
					      "(%s is locked)", dir, lockpath);
		else
			fail_msg(err, errlen, "store: cannot lock %s: %s", lockpath, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(st->path, &st->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (st->db)
			fail_db(st, err, errlen, "opening");
		else
			fail_msg(err, errlen, "store %s: opening: out of memory", st->path);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if (set_wal(st, err, errlen) < 0 ||
	    exec_sql(st, "PRAGMA synchronous=NORMAL", "setting synchronous", err, errlen) < 0 ||
	    exec_sql(st, "PRAGMA foreign_keys=ON", "enabling foreign keys", err, errlen) < 0 ||
	    schema_init(st, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < S_NSTMT; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
			&st->stmt[i], NULL) != SQLITE_OK) {
			fail_db(st, err, errlen, "preparing statements");
			goto fail;
		}
	}
	if (ckpt_start(st, err, errlen) < 0)
		goto fail;
	free(lockpath);
	return st;
fail:
	free(lockpath);
	tg_store_close(st);
	return NULL;
}

void
tg_store_close(struct tg_store *st)
{
	if (st == NULL)
		return;
	ckpt_stop(st);
	for (int i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db && sqlite3_close(st->db) != SQLITE_OK)
		tg_err("store %s: close: %s", st->path, sqlite3_errmsg(st->db));
	if (st->lockfd >= 0)
		close(st->lockfd);
	free(st->path);
	free(st);
}

/* Step a statement that returns no row, then reset it. */
static int
step_done(struct tg_store *st, sqlite3_stmt *s, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE) {
		fail_db(st, err, errlen, what);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return -1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return 0;
}

static char *
column_strdup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? tg_strdup((const char *)t) : NULL;
}

int
tg_store_feed_get(struct tg_store *st, const char *url, struct tg_store_feed *out, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_FEED_SELECT];
	int rc;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_text(st->stmt[S_FEED_INSERT], 1, url, -1, SQLITE_STATIC);
	if (step_done(st, st->stmt[S_FEED_INSERT], "adding feed", err, errlen) < 0)
		return -1;
	sqlite3_bind_text(s, 1, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			fail_msg(err, errlen, "store %s: feed %s vanished", st->path, url);
		else
			fail_db(st, err, errlen, "reading feed");
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return -1;
	}
	out->id = sqlite3_column_int64(s, 0);
	out->url = column_strdup(s, 1);
	out->etag = column_strdup(s, 2);
	out->last_modified = column_strdup(s, 3);
	out->next_fetch_ms = sqlite3_column_int64(s, 4);
	out->error_count = sqlite3_column_int(s, 5);
	out->last_error = column_strdup(s, 6);
	out->last_success_ms = sqlite3_column_int64(s, 7);
	out->moved_url = column_strdup(s, 8);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return 0;
}

void
tg_store_feed_clear(struct tg_store_feed *f)
{
	if (f == NULL)
		return;
	free(f->url);
	free(f->etag);
	free(f->last_modified);
	free(f->last_error);
	free(f->moved_url);
	memset(f, 0, sizeof(*f));
}

/* The update touched a row, else the feed id is unknown. */
static int
check_changed(struct tg_store *st, const char *what, int64_t id, char *err, size_t errlen)
{
	if (sqlite3_changes(st->db) == 0)
		return fail_msg(err, errlen, "store %s: %s: no feed with id %lld", st->path, what,
		    (long long)id);
	return 0;
}

int
tg_store_feed_ok(struct tg_store *st, int64_t feed_id, const char *etag,
    const char *last_modified, int64_t now_ms, int64_t next_fetch_ms, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_FEED_OK];

	sqlite3_bind_text(s, 1, etag, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, last_modified, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now_ms);
	sqlite3_bind_int64(s, 4, next_fetch_ms);
	sqlite3_bind_int64(s, 5, feed_id);
	if (step_done(st, s, "recording fetch", err, errlen) < 0)
		return -1;
	return check_changed(st, "recording fetch", feed_id, err, errlen);
}

int
tg_store_feed_failed(struct tg_store *st, int64_t feed_id, const char *why,
    int64_t next_fetch_ms, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_FEED_FAILED];
	size_t len = why ? strlen(why) : 0;

	if (len > STORE_MAX_ERROR_LEN) {
		len = STORE_MAX_ERROR_LEN;
		while (len > 0 && ((unsigned char)why[len] & 0xc0) == 0x80)
			len--; /* do not cut a UTF-8 sequence */
	}
	sqlite3_bind_text(s, 1, why ? why : "unknown error", why ? (int)len : -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, tg_now_wall_ms());
	sqlite3_bind_int64(s, 3, next_fetch_ms);
	sqlite3_bind_int64(s, 4, feed_id);
	if (step_done(st, s, "recording failed fetch", err, errlen) < 0)
		return -1;
	return check_changed(st, "recording failed fetch", feed_id, err, errlen);
}

/* JSON array text of a string list, NULL when empty; caller frees. */
static char *
list_to_json(char *const *v, size_t n)
{
	json_t *a;
	char *s;

	if (n == 0)
		return NULL;
	a = json_array();
	for (size_t i = 0; i < n; i++)
		if (v[i])
			json_array_append_new(a, json_string(v[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static void
list_from_json(const char *text, struct tg_item *it, void (*add)(struct tg_item *, const char *))
{
	json_t *a, *v;
	size_t i;

	if (text == NULL)
		return;
	a = json_loads(text, 0, NULL);
	if (a == NULL)
		return;
	json_array_foreach(a, i, v) {
		if (json_is_string(v))
			add(it, json_string_value(v));
	}
	json_decref(a);
}

/* Bind an optional string by reference (the item outlives the step). */
static void
bind_opt(sqlite3_stmt *s, int col, const char *v)
{
	if (v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, col);
}

int
tg_store_items_add(struct tg_store *st, int64_t feed_id, const struct tg_item *items,
    size_t n, bool *is_new, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_ITEM_INSERT];
	const struct tg_item *it;
	int64_t now = tg_now_wall_ms();
	int added = 0;

	if (is_new)
		memset(is_new, 0, n * sizeof(*is_new));
	if (n == 0)
		return 0;
	if (step_done(st, st->stmt[S_BEGIN], "starting item transaction", err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		it = &items[i];
		if (it->id == NULL || it->id[0] == '\0')
			continue; /* an item without an id cannot be de-duplicated */
		sqlite3_bind_int64(s, 1, feed_id);
		sqlite3_bind_text(s, 2, it->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, it->fetched_ms > 0 ? it->fetched_ms : now);
		bind_opt(s, 4, it->title);
		bind_opt(s, 5, it->link);
		bind_opt(s, 6, it->summary);
		bind_opt(s, 7, it->published);
		bind_opt(s, 8, it->updated);
		sqlite3_bind_text(s, 9, list_to_json(it->authors, it->nauthors), -1, free);
		sqlite3_bind_text(s, 10, list_to_json(it->categories, it->ncategories), -1, free);
		if (step_done(st, s, "adding items", err, errlen) < 0)
			goto fail;
		if (sqlite3_changes(st->db) > 0) {
			added++;
			if (is_new)
				is_new[i] = true;
		}
	}
	if (step_done(st, st->stmt[S_COMMIT], "committing items", err, errlen) < 0)
		goto fail;
	return added;
fail:
	sqlite3_step(st->stmt[S_ROLLBACK]);
	sqlite3_reset(st->stmt[S_ROLLBACK]);
	if (is_new)
		memset(is_new, 0, n * sizeof(*is_new));
	return -1;
}

struct pending_row {
	int64_t feed_id;
	int failures;
	struct tg_item it;
};

int
tg_store_items_pending(struct tg_store *st, tg_store_pending_cb fn, void *arg, char *err,
    size_t errlen)
{
	return tg_store_items_pending_from(st, 0, 0, NULL, fn, arg, err, errlen);
}

int
tg_store_items_pending_from(struct tg_store *st, int64_t after_rowid, size_t limit,
    int64_t *last_rowid, tg_store_pending_cb fn, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_ITEMS_PENDING];
	struct pending_row *rows;
	int64_t last = after_rowid;
	size_t n;
	int total = 0, rc;

	rows = tg_calloc(STORE_PENDING_BATCH, sizeof(*rows));
	/* In batches, with the statement reset before the callbacks run, so that fn
	 * may publish (update) the items it is given. */
	for (;;) {
		int batch = STORE_PENDING_BATCH;

		n = 0;
		if (limit && limit - (size_t)total < (size_t)batch)
			batch = (int)(limit - (size_t)total);
		if (batch == 0)
			break;
		sqlite3_bind_int64(s, 1, last);
		sqlite3_bind_int(s, 2, batch);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			struct pending_row *r = &rows[n++];

			last = sqlite3_column_int64(s, 0);
			r->feed_id = sqlite3_column_int64(s, 1);
			tg_item_init(&r->it);
			r->it.id = column_strdup(s, 2);
			r->it.title = column_strdup(s, 3);
			r->it.link = column_strdup(s, 4);
			r->it.summary = column_strdup(s, 5);
			r->it.published = column_strdup(s, 6);
			r->it.updated = column_strdup(s, 7);
			list_from_json((const char *)sqlite3_column_text(s, 8), &r->it,
			    tg_item_add_author);
			list_from_json((const char *)sqlite3_column_text(s, 9), &r->it,
			    tg_item_add_category);
			r->it.fetched_ms = sqlite3_column_int64(s, 10);
			r->failures = sqlite3_column_int(s, 11);
		}
		if (rc != SQLITE_DONE)
			fail_db(st, err, errlen, "listing pending items");
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		for (size_t i = 0; i < n; i++) {
			if (rc == SQLITE_DONE)
				fn(arg, rows[i].feed_id, &rows[i].it, rows[i].failures);
			tg_item_clear(&rows[i].it);
		}
		if (rc != SQLITE_DONE) {
			total = -1;
			break;
		}
		total += (int)n;
		if (n < (size_t)batch)
			break;
	}
	free(rows);
	if (last_rowid)
		*last_rowid = last;
	return total;
}

uint64_t
tg_store_max_seq(struct tg_store *st)
{
	sqlite3_stmt *s = st->stmt[S_MAX_SEQ];
	sqlite3_int64 v = 0;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0); /* NULL (no items) reads as 0 */
	else
		tg_err("store %s: reading the highest sequence number: %s", st->path,
		    sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return v > 0 ? (uint64_t)v : 0;
}

const char *
tg_store_epoch(struct tg_store *st)
{
	return st->epoch;
}

int64_t
tg_store_item_count(struct tg_store *st, int64_t feed_id)
{
	sqlite3_stmt *s = st->stmt[S_ITEM_COUNT];
	int64_t v = -1;

	sqlite3_bind_int64(s, 1, feed_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return v;
}

int
tg_store_check(struct tg_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const char *r;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(1)", -1, &s, NULL) != SQLITE_OK)
		return fail_db(st, err, errlen, "integrity check");
	if (sqlite3_step(s) != SQLITE_ROW) {
		fail_db(st, err, errlen, "integrity check");
		goto out;
	}
	r = (const char *)sqlite3_column_text(s, 0);
	if (r == NULL || strcmp(r, "ok") != 0) {
		fail_msg(err, errlen, "store %s: integrity check: %s", st->path, r ? r : "failed");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

int
tg_store_begin(struct tg_store *st, char *err, size_t errlen)
{
	return step_done(st, st->stmt[S_BEGIN], "starting a transaction", err, errlen) < 0 ? -1 : 0;
}

int
tg_store_commit(struct tg_store *st, char *err, size_t errlen)
{
	if (step_done(st, st->stmt[S_COMMIT], "committing", err, errlen) < 0) {
		sqlite3_step(st->stmt[S_ROLLBACK]);
		sqlite3_reset(st->stmt[S_ROLLBACK]);
		return -1;
	}
	return 0;
}

int
tg_store_alert_add(struct tg_store *st, uint64_t seq, const char *alert_id, int64_t feed_id,
    const char *item_id, const char *tags, int64_t published_ms, const char *json, size_t len,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_ALERT_INSERT];

	/* All or nothing, also inside the caller's transaction. */
	if (step_done(st, st->stmt[S_SAVEPOINT], "storing an alert", err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
	sqlite3_bind_text(s, 2, alert_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, feed_id);
	sqlite3_bind_text(s, 4, item_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, published_ms);
	sqlite3_bind_text(s, 6, tags, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, json, (int)len, SQLITE_STATIC);
	if (step_done(st, s, "storing an alert", err, errlen) < 0)
		goto fail;
	s = st->stmt[S_ITEM_DONE];
	sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
	sqlite3_bind_int64(s, 2, feed_id);
	sqlite3_bind_text(s, 3, item_id, -1, SQLITE_STATIC);
	if (step_done(st, s, "marking an item done", err, errlen) < 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		fail_msg(err, errlen, "store %s: storing an alert: no item \"%s\" in feed %lld",
		    st->path, item_id, (long long)feed_id);
		goto fail;
	}
	return step_done(st, st->stmt[S_RELEASE], "storing an alert", err, errlen) < 0 ? -1 : 0;
fail:
	sqlite3_step(st->stmt[S_ROLLBACK_TO]);
	sqlite3_reset(st->stmt[S_ROLLBACK_TO]);
	sqlite3_step(st->stmt[S_RELEASE]);
	sqlite3_reset(st->stmt[S_RELEASE]);
	return -1;
}

int
tg_store_alerts_range(struct tg_store *st, uint64_t from_seq, uint64_t to_seq, const char *tag,
    size_t limit, void (*fn)(void *arg, uint64_t seq, const char *json, size_t len), void *arg,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[tag ? S_ALERTS_RANGE_TAG : S_ALERTS_RANGE];
	char needle[TG_TAG_NAME_MAX + 3];
	int rc, n = 0;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)from_seq);
	sqlite3_bind_int64(s, 2, to_seq ? (sqlite3_int64)to_seq : INT64_MAX);
	sqlite3_bind_int64(s, 3, limit ? (sqlite3_int64)limit : -1);
	if (tag) {
		snprintf(needle, sizeof(needle), " %s ", tag);
		sqlite3_bind_text(s, 4, needle, -1, SQLITE_TRANSIENT);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		fn(arg, (uint64_t)sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1));
		n++;
	}
	if (rc != SQLITE_DONE)
		n = fail_db(st, err, errlen, "reading alerts");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return n;
}

int64_t
tg_store_alerts_prune(struct tg_store *st, int64_t older_than_ms, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_ALERTS_PRUNE];

	sqlite3_bind_int64(s, 1, older_than_ms);
	if (step_done(st, s, "pruning old alerts", err, errlen) < 0)
		return -1;
	return sqlite3_changes(st->db);
}

static int64_t
single_int(struct tg_store *st, int which, const char *what)
{
	sqlite3_stmt *s = st->stmt[which];
	sqlite3_int64 v = 0;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		tg_err("store %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return v;
}

uint64_t
tg_store_min_alert_seq(struct tg_store *st)
{
	int64_t v = single_int(st, S_MIN_ALERT_SEQ, "reading the oldest alert");
	return v > 0 ? (uint64_t)v : 0;
}

int64_t
tg_store_max_item_rowid(struct tg_store *st)
{
	return single_int(st, S_MAX_ITEM_ROWID, "reading the newest item");
}

int64_t
tg_store_dead_count(struct tg_store *st)
{
	return single_int(st, S_DEAD_COUNT, "counting dead letters");
}

int
tg_store_set_published_seq(struct tg_store *st, uint64_t seq, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_META_SET];
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)seq);
	sqlite3_bind_text(s, 1, "published_seq", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, num, -1, SQLITE_TRANSIENT);
	return step_done(st, s, "recording the published sequence", err, errlen) < 0 ? -1 : 0;
}

uint64_t
tg_store_published_seq(struct tg_store *st)
{
	sqlite3_stmt *s = st->stmt[S_META_GET];
	long long v = 0;

	sqlite3_bind_text(s, 1, "published_seq", -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = strtoll((const char *)sqlite3_column_text(s, 0), NULL, 10);
	sqlite3_reset(s);
	return v > 0 ? (uint64_t)v : 0;
}

int
tg_store_dead_letter(struct tg_store *st, int64_t feed_id, const char *item_id, int attempts,
    const char *reason, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_DEAD_INSERT];

	sqlite3_bind_int64(s, 1, feed_id);
	sqlite3_bind_text(s, 2, item_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, attempts);
	sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, tg_now_wall_ms());
	if (step_done(st, s, "storing a dead letter", err, errlen) < 0)
		return -1;
	s = st->stmt[S_ITEM_DEAD];
	sqlite3_bind_int64(s, 1, feed_id);
	sqlite3_bind_text(s, 2, item_id, -1, SQLITE_STATIC);
	return step_done(st, s, "marking an item dead", err, errlen) < 0 ? -1 : 0;
}

int
tg_store_item_failed(struct tg_store *st, int64_t feed_id, const char *item_id, int failures,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_ITEM_FAILED];

	sqlite3_bind_int(s, 1, failures > 0 ? failures : 0);
	sqlite3_bind_int64(s, 2, feed_id);
	sqlite3_bind_text(s, 3, item_id, -1, SQLITE_STATIC);
	if (step_done(st, s, "recording an item's failures", err, errlen) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return fail_msg(err, errlen, "store %s: recording an item's failures: no pending "
					     "item \"%s\" in feed %lld",
		    st->path, item_id, (long long)feed_id);
	return 0;
}

int
tg_store_feed_moved(struct tg_store *st, int64_t feed_id, const char *url, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_FEED_MOVED];

	bind_opt(s, 1, url);
	sqlite3_bind_int64(s, 2, feed_id);
	return step_done(st, s, "recording a moved feed", err, errlen) < 0 ? -1 : 0;
}

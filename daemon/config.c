/*
 * The configuration file: one JSON object whose keys are all described by the
 * option tables below. The tables drive parsing, defaults, type and bounds
 * checks, unknown-key errors, --help and the reference in docs/config.md.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/curvekeys.h"
#include "../common/util.h"
#include "config.h"
#include "netfilter.h"
#include "httpd.h"

#define CONFIG_MAX_BYTES (4 * 1024 * 1024) /* cap on the config file */
#define CONFIG_MAX_FEEDS 10000
#define CONFIG_MAX_LIST 1024 /* entries in a list option */

enum opt_type {
	OPT_STRING,
	OPT_INT,
	OPT_BOOL,
	OPT_FEEDS,    /* array of feed entries, described by feed_options */
	OPT_PATH,     /* string; relative paths are resolved against the config dir */
	OPT_ENDPOINT, /* ZeroMQ endpoint: tcp://, ipc:// or inproc:// */
	OPT_URL,      /* feed URL: http, https or (when allowed) file */
	OPT_STRLIST,  /* array of non-empty strings, each checked by the option's check */
	OPT_LISTEN,   /* host:port to listen on; "" turns the listener off */
};

static const char *const type_names[] = {
	[OPT_STRING] = "string",
	[OPT_INT] = "int",
	[OPT_BOOL] = "bool",
	[OPT_FEEDS] = "feeds",
	[OPT_PATH] = "path",
	[OPT_ENDPOINT] = "endpoint",
	[OPT_URL] = "url",
	[OPT_STRLIST] = "list",
	[OPT_LISTEN] = "listen",
};

#define F_NULL 0x01     /* null is accepted (and may be the default) */
#define F_REQUIRED 0x02 /* the key must be present */
#define F_INHERIT 0x04  /* int: the default is the top-level default_interval */
#define F_FEED_INTERVAL 0x08 /* feed int: the default is the feed's own interval */

struct opt {
	const char *name;
	enum opt_type type;
	unsigned flags;
	const char *def_str;        /* default of string-like options; NULL: none */
	long def_num;               /* default of int and bool options */
	long min, max;              /* bounds of int options */
	const char *const *choices; /* allowed values of a string, NULL-terminated */
	const char *def_doc;        /* default as shown in help, when not the value */
	const char *allowed_doc;    /* allowed values as shown in help, when not derived */
	int (*check)(const char *s, char *err, size_t errlen); /* list entries; 0 if good */
	size_t offset;              /* where the value lives in its struct */
	size_t size;                /* and its size */
	const char *help;
};

#define AT(type, member) \
	.offset = offsetof(struct type, member), .size = sizeof(((struct type *)0)->member)

static const char *const log_levels[] = { "error", "warning", "notice", "info", "debug", NULL };

static int
check_cidr(const char *s, char *err, size_t errlen)
{
	struct tg_cidr c;

	return tg_netfilter_parse_cidr(s, &c, err, errlen);
}

static int
check_curve_key(const char *s, char *err, size_t errlen)
{
	return tg_curvekeys_check_z85(s, err, errlen);
}

static const struct opt options[] = {
	{ .name = "feeds", .type = OPT_FEEDS, AT(tg_config, feeds),
	    .help = "Feeds to watch: an array of objects with the keys listed under Feed entries." },
	{ .name = "state_dir", .type = OPT_PATH, .def_str = "/var/lib/tigris", AT(tg_config, state_dir),
	    .help = "Directory of the SQLite store (tigris.db); created with mode 0750 if missing." },
	{ .name = "taxonomy", .type = OPT_PATH, .def_str = "/etc/tigris/taxonomy.tgt",
	    AT(tg_config, taxonomy), .help = "Taxonomy file the workers classify items with." },
	{ .name = "workers", .type = OPT_INT, .def_num = 2, .min = 0, .max = 256,
	    AT(tg_config, workers),
	    .help = "Worker processes the daemon starts itself; 0 when workers are run apart." },
	{ .name = "worker_program", .type = OPT_PATH, .flags = F_NULL,
	    AT(tg_config, worker_program),
	    .help = "Worker executable; null: tigris-worker in the directory of tigrisd." },
	{ .name = "worker_credit", .type = OPT_INT, .def_num = 32, .min = 1, .max = 1024,
	    AT(tg_config, worker_credit), .help = "Items each worker may hold at once." },
	{ .name = "publish", .type = OPT_ENDPOINT, .def_str = "tcp://127.0.0.1:7700",
	    AT(tg_config, publish), .help = "ZeroMQ endpoint the alert PUB socket binds." },
	{ .name = "worker_endpoint", .type = OPT_ENDPOINT, .def_str = "ipc:///run/tigris/workers.sock",
	    AT(tg_config, worker_endpoint),
	    .help = "ZeroMQ endpoint of the ROUTER socket workers connect to." },
	{ .name = "publish_hwm", .type = OPT_INT, .def_num = 100000, .min = 10, .max = 10000000,
	    AT(tg_config, publish_hwm),
	    .help = "Alerts queued per subscriber before a slow one starts missing some (it "
		    "recovers them through replay)." },
	{ .name = "replay", .type = OPT_ENDPOINT, .flags = F_NULL, .def_str = "tcp://127.0.0.1:7702",
	    AT(tg_config, replay),
	    .help = "ZeroMQ endpoint of the replay ROUTER (alerts by sequence number); null: off." },
	{ .name = "replay_retention", .type = OPT_INT, .def_num = 604800, .min = 60,
	    .max = 31536000, AT(tg_config, replay_retention),
	    .help = "Seconds alerts are kept for replay." },
	{ .name = "max_attempts", .type = OPT_INT, .def_num = 3, .min = 1, .max = 100,
	    AT(tg_config, max_attempts),
	    .help = "Workers an item may take down (crash, hang) before it is dead-lettered." },
	{ .name = "max_queue", .type = OPT_INT, .def_num = 10000, .min = 10, .max = 10000000,
	    AT(tg_config, max_queue),
	    .help = "Items held in memory for the workers; beyond, they wait in the store and "
		    "fetching slows down." },
	{ .name = "allow_file_urls", .type = OPT_BOOL, .def_num = 0, AT(tg_config, allow_file_urls),
	    .help = "Accept file: URLs and plain paths as feed URLs (demos and tests)." },
	{ .name = "default_interval", .type = OPT_INT, .def_num = 300, .min = 1, .max = 604800,
	    AT(tg_config, default_interval),
	    .help = "Seconds between fetches of a feed without its own interval." },
	{ .name = "jitter_pct", .type = OPT_INT, .def_num = 10, .min = 0, .max = 50,
	    AT(tg_config, jitter_pct),
	    .help = "Random jitter added to each interval, in percent either way." },
	{ .name = "fetch_timeout", .type = OPT_INT, .def_num = 30, .min = 1, .max = 600,
	    AT(tg_config, fetch_timeout), .help = "Seconds allowed for a whole fetch." },
	{ .name = "connect_timeout", .type = OPT_INT, .def_num = 10, .min = 1, .max = 120,
	    AT(tg_config, connect_timeout), .help = "Seconds allowed to connect to a feed's server." },
	{ .name = "max_body_bytes", .type = OPT_INT, .def_num = 16777216, .min = 1024,
	    .max = 268435456, AT(tg_config, max_body_bytes),
	    .help = "Largest feed body accepted, after decompression. A JSON Feed is also "
		    "refused above 6 MiB, and when one of its strings passes 1 MiB, before it is "
		    "decoded (docs/security.md)." },
	{ .name = "max_items_per_feed", .type = OPT_INT, .def_num = 1000, .min = 1, .max = 100000,
	    AT(tg_config, max_items_per_feed), .help = "Items kept from one fetch of a feed." },
	{ .name = "user_agent", .type = OPT_STRING,
	    .def_str = "tigris/0.1 (feed monitor; +https://example.invalid/tigris)",
	    AT(tg_config, user_agent), .help = "User-Agent header sent with every fetch." },
	{ .name = "log_level", .type = OPT_STRING, .def_str = "info", .choices = log_levels,
	    AT(tg_config, log_level), .help = "Most verbose level logged." },
	{ .name = "allow_networks", .type = OPT_STRLIST, .check = check_cidr,
	    .allowed_doc = "IPv4/IPv6 CIDRs", AT(tg_config, allow_networks),
	    .help = "Networks feeds may be fetched from although they are loopback, private, "
		    "link-local or otherwise inward (refused by default, redirects and DNS "
		    "answers included), e.g. [\"127.0.0.0/8\"]." },
	{ .name = "backoff_cap", .type = OPT_INT, .def_num = 3600, .min = 1, .max = 604800,
	    AT(tg_config, backoff_cap),
	    .help = "Longest wait in seconds between retries of a failing feed (never shorter "
		    "than its interval); it is retried at that pace for ever." },
	{ .name = "host_max_concurrent", .type = OPT_INT, .def_num = 2, .min = 1, .max = 64,
	    AT(tg_config, host_max_concurrent),
	    .help = "Fetches under way at once to one host name; more wait their turn." },
	{ .name = "host_min_gap_ms", .type = OPT_INT, .def_num = 100, .min = 0, .max = 60000,
	    AT(tg_config, host_min_gap_ms),
	    .help = "Least time in milliseconds between the starts of two fetches to one host." },
	{ .name = "low_speed_limit", .type = OPT_INT, .def_num = 100, .min = 0, .max = 1000000,
	    AT(tg_config, low_speed_limit),
	    .help = "A fetch slower than this many bytes per second for low_speed_time seconds "
		    "is aborted; 0 turns the check off." },
	{ .name = "low_speed_time", .type = OPT_INT, .def_num = 15, .min = 1, .max = 600,
	    AT(tg_config, low_speed_time),
	    .help = "Seconds a fetch may stay below low_speed_limit." },
	{ .name = "http_listen", .type = OPT_LISTEN, .def_str = TG_HTTPD_DEFAULT_LISTEN,
	    AT(tg_config, http_listen),
	    .help = "Address of the HTTP server for /metrics, /healthz and /feeds; \"\" turns it off." },
	{ .name = "curve_secret_key", .type = OPT_PATH, .flags = F_NULL,
	    AT(tg_config, curve_secret_key),
	    .help = "Key file of the daemon (NAME.key from `tigris keygen`): the publish, replay "
		    "and worker sockets then admit only CURVE clients listed in curve_clients; "
		    "null: CURVE off (plaintext)." },
	{ .name = "curve_clients", .type = OPT_STRLIST, .check = check_curve_key,
	    .allowed_doc = "Z85 public keys (40 characters)", AT(tg_config, curve_clients),
	    .help = "Public keys of the clients (workers, subscribers) admitted when "
		    "curve_secret_key is set: the public-key value of each NAME.pub; must not be "
		    "empty then. The workers tigrisd starts use its own key." },
};

static const struct opt feed_options[] = {
	{ .name = "url", .type = OPT_URL, .flags = F_REQUIRED, .def_doc = "required",
	    AT(tg_feed_conf, url),
	    .help = "http:// or https:// URL; file: URLs and paths when allow_file_urls is true." },
	{ .name = "interval", .type = OPT_INT, .flags = F_INHERIT, .min = 1, .max = 604800,
	    .def_doc = "default_interval", AT(tg_feed_conf, interval),
	    .help = "Seconds between fetches of this feed." },
	{ .name = "name", .type = OPT_STRING, .flags = F_NULL, .def_doc = "the url",
	    AT(tg_feed_conf, name), .help = "Feed id carried by its items and alerts; unique." },
	{ .name = "min_interval", .type = OPT_INT, .flags = F_FEED_INTERVAL, .min = 1,
	    .max = 604800, .def_doc = "interval", AT(tg_feed_conf, min_interval),
	    .help = "Shortest interval adaptive polling may use for a feed that posts often." },
	{ .name = "max_interval", .type = OPT_INT, .flags = F_FEED_INTERVAL, .min = 1,
	    .max = 604800, .def_doc = "interval", AT(tg_feed_conf, max_interval),
	    .help = "Longest interval adaptive polling may use for a feed that rarely posts." },
};

#define NOPTS(t) (sizeof(t) / sizeof((t)[0]))

/* State of one parse: where problems go and what paths are relative to. */
struct parse {
	const char *file;  /* as given, for messages */
	char *basedir;     /* absolute directory of the file */
	struct tg_config *cfg;
	char *err;
	size_t errlen;
	size_t used;
	int nerr;
};

static void problem(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append one line "file: message" to the caller's error buffer. */
static void
problem(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	p->nerr++;
	if (p->err == NULL || p->errlen == 0 || p->used + 1 >= p->errlen)
		return;
	n = snprintf(p->err + p->used, p->errlen - p->used, "%s%s: ", p->nerr > 1 ? "\n" : "",
	    p->file);
	if (n < 0 || (size_t)n >= p->errlen - p->used) {
		p->used = p->errlen - 1;
		return;
	}
	p->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(p->err + p->used, p->errlen - p->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= p->errlen - p->used)
		p->used = p->errlen - 1;
	else
		p->used += (size_t)n;
}

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* Lexically normalise an absolute path: collapse "//", drop ".", apply "..". */
static char *
path_normalize(const char *in)
{
	size_t o = 0, len;
	const char *s = in, *e;
	char *out = tg_malloc(strlen(in) + 2);

	while (*s) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		len = (size_t)(e - s);
		if (len == 1 && s[0] == '.') {
			/* nothing */
		} else if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, s, len);
			o += len;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* Absolute, normalised form of path, relative ones taken from basedir. */
static char *
path_resolve(const char *basedir, const char *path)
{
	struct tg_buf b;
	char *r;

	if (path[0] == '/')
		return path_normalize(path);
	tg_buf_init(&b, 0);
	if (tg_buf_append_str(&b, basedir) < 0 || tg_buf_append_str(&b, "/") < 0 ||
	    tg_buf_append_str(&b, path) < 0) {
		tg_buf_free(&b);
		return NULL;
	}
	r = path_normalize(b.data);
	tg_buf_free(&b);
	return r;
}

/* Absolute directory of the config file (the working directory for NULL). */
static char *
config_basedir(const char *file)
{
	char *cwd, *dir, *r;
	const char *slash;

	cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		return NULL;
	if (file == NULL || (slash = strrchr(file, '/')) == NULL)
		return cwd;
	dir = slash == file ? tg_strdup("/") : tg_strndup(file, (size_t)(slash - file));
	r = path_resolve(cwd, dir);
	free(dir);
	free(cwd);
	return r;
}

/* Length of the URI scheme at the start of s (RFC 3986), 0 when there is none. */
static size_t
scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (s[i] && (strchr("+-.", s[i]) != NULL || (s[i] >= '0' && s[i] <= '9') ||
			   (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	return s[i] == ':' ? i : 0;
}

/* "file://" + path, percent-encoding what may not appear raw in a URL path. */
static char *
file_url(const char *abs, bool encode)
{
	static const char hex[] = "0123456789ABCDEF";
	struct tg_buf b;
	char esc[3];

	tg_buf_init(&b, 0);
	if (tg_buf_append_str(&b, "file://") < 0)
		goto fail;
	for (const unsigned char *s = (const unsigned char *)abs; *s; s++) {
		if (!encode || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || (*s < 0x80 && strchr("-._~/!$&'()*+,;=:@", *s))) {
			if (tg_buf_append(&b, s, 1) < 0)
				goto fail;
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[*s >> 4];
		esc[2] = hex[*s & 15];
		if (tg_buf_append(&b, esc, 3) < 0)
			goto fail;
	}
	return tg_buf_take(&b);
fail:
	tg_buf_free(&b);
	return NULL;
}

static bool
has_space_or_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Validate a feed URL; returns the URL to keep (malloc'd) or NULL after a problem. */
static char *
check_url(struct parse *p, const char *key, const char *s)
{
	size_t n = scheme_len(s);
	const char *rest;
	char *abs, *url;
	bool encode = false;

	if (n > 0 && has_space_or_control(s)) {
		problem(p, "%s: \"%s\" contains a space or control character", key, s);
		return NULL;
	}
	if (n == 4 && strncasecmp(s, "http", 4) == 0)
		rest = s + 5;
	else if (n == 5 && strncasecmp(s, "https", 5) == 0)
		rest = s + 6;
	else
		rest = NULL;
	if (rest) {
		if (strncmp(rest, "//", 2) != 0 || rest[2] == '\0' || rest[2] == '/' ||
		    rest[2] == '?' || rest[2] == '#') {
			problem(p, "%s: \"%s\" has no host (expected %.*s://host/...)", key, s, (int)n,
			    s);
			return NULL;
		}
		return tg_strdup(s);
	}
	if (n > 0 && !(n == 4 && strncasecmp(s, "file", 4) == 0)) {
		problem(p, "%s: unsupported scheme \"%.*s\" (use http, https or file)", key, (int)n, s);
		return NULL;
	}
	if (!p->cfg->allow_file_urls) {
		if (n > 0)
			problem(p, "%s: file URLs are not allowed unless allow_file_urls is true",
			    key);
		else
			problem(p, "%s: \"%s\" has no scheme (use http:// or https://; paths "
				   "need allow_file_urls)", key, s);
		return NULL;
	}
	if (n > 0) {
		rest = s + 5;
		if (strncmp(rest, "//", 2) == 0) {
			rest += 2;
			if (strncasecmp(rest, "localhost/", 10) == 0)
				rest += 9;
			if (rest[0] != '/') {
				problem(p, "%s: \"%s\": file URLs with a host are not supported", key,
				    s);
				return NULL;
			}
		}
	} else {
		rest = s;
		encode = true; /* a plain path: make it a valid URL */
	}
	if (rest[0] == '\0' || strchr(rest, '?') != NULL || strchr(rest, '#') != NULL) {
		problem(p, "%s: \"%s\" is not a usable file URL", key, s);
		return NULL;
	}
	abs = path_resolve(p->basedir, rest);
	if (abs == NULL) {
		problem(p, "%s: out of memory", key);
		return NULL;
	}
	url = file_url(abs, encode);
	free(abs);
	return url;
}

static bool
check_endpoint(const char *s)
{
	static const char *const prefixes[] = { "tcp://", "ipc://", "inproc://" };

	for (size_t i = 0; i < NOPTS(prefixes); i++)
		if (tg_str_has_prefix(s, prefixes[i]) && s[strlen(prefixes[i])] != '\0')
			return true;
	return false;
}

/* Edit distance of two short strings, for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= 63 || lb >= 63)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

static const struct opt *
opt_find(const struct opt *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static void *
opt_field(const struct opt *o, void *base)
{
	return (char *)base + o->offset;
}

static void
store_int(const struct opt *o, void *base, long v)
{
	if (o->size == sizeof(long))
		*(long *)opt_field(o, base) = v;
	else
		*(int *)opt_field(o, base) = (int)v;
}

static void
strlist_clear(struct tg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* An array of non-empty strings, each passing o->check, into the list at base. */
static void
parse_strlist(struct parse *p, const struct opt *o, void *base, const char *key, json_t *v)
{
	struct tg_strlist *l = opt_field(o, base), nl = { NULL, 0 };
	char cerr[256];
	size_t n;
	int bad = 0;

	if (!json_is_array(v)) {
		problem(p, "%s: expected an array of strings, got %s", key, json_kind(v));
		return;
	}
	n = json_array_size(v);
	if (n > CONFIG_MAX_LIST) {
		problem(p, "%s: %zu entries, more than the %d allowed", key, n, CONFIG_MAX_LIST);
		return;
	}
	nl.v = tg_calloc(n ? n : 1, sizeof(*nl.v));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		const char *s;

		if (!json_is_string(e)) {
			problem(p, "%s[%zu]: expected a string, got %s", key, i, json_kind(e));
			bad++;
			continue;
		}
		s = json_string_value(e);
		if (*s == '\0') {
			problem(p, "%s[%zu]: must not be empty", key, i);
			bad++;
			continue;
		}
		if (o->check && o->check(s, cerr, sizeof(cerr)) != 0) {
			problem(p, "%s[%zu]: %s", key, i, cerr);
			bad++;
			continue;
		}
		nl.v[nl.n++] = tg_strdup(s);
	}
	if (bad) {
		strlist_clear(&nl);
		return;
	}
	strlist_clear(l);
	*l = nl;
}

static void
set_default(struct parse *p, const struct opt *o, void *base)
{
	switch (o->type) {
	case OPT_INT:
		store_int(o, base, (o->flags & F_INHERIT) ? p->cfg->default_interval : o->def_num);
		break;
	case OPT_BOOL:
		*(bool *)opt_field(o, base) = o->def_num != 0;
		break;
	case OPT_STRING:
	case OPT_PATH:
	case OPT_ENDPOINT:
	case OPT_URL:
	case OPT_LISTEN:
		tg_str_set(opt_field(o, base), o->def_str);
		break;
	case OPT_STRLIST:
		strlist_clear(opt_field(o, base));
		break;
	case OPT_FEEDS:
		break;
	}
}

static void parse_feeds(struct parse *p, const char *key, json_t *v);

/* Check a string value for its option type; returns the value to keep or NULL. */
static char *
check_string(struct parse *p, const struct opt *o, const char *key, const char *s)
{
	char *r, host[256], lerr[256];
	int port;

	if (*s == '\0' && o->type == OPT_LISTEN)
		return tg_strdup("");
	if (*s == '\0') {
		problem(p, "%s: must not be empty", key);
		return NULL;
	}
	if (o->choices) {
		for (const char *const *c = o->choices; *c; c++)
			if (strcmp(*c, s) == 0)
				return tg_strdup(s);
		problem(p, "%s: \"%s\" is not one of the allowed values", key, s);
		return NULL;
	}
	switch (o->type) {
	case OPT_PATH:
		r = path_resolve(p->basedir, s);
		if (r == NULL)
			problem(p, "%s: out of memory", key);
		return r;
	case OPT_ENDPOINT:
		if (!check_endpoint(s)) {
			problem(p, "%s: \"%s\" is not a ZeroMQ endpoint (tcp://, ipc:// or inproc://)",
			    key, s);
			return NULL;
		}
		return tg_strdup(s);
	case OPT_URL:
		return check_url(p, key, s);
	case OPT_LISTEN:
		if (tg_httpd_parse_listen(s, host, sizeof(host), &port, lerr, sizeof(lerr)) != 0) {
			problem(p, "%s: %s", key, lerr);
			return NULL;
		}
		return tg_strdup(s);
	default:
		return tg_strdup(s);
	}
}

static void
parse_value(struct parse *p, const struct opt *o, void *base, const char *key, json_t *v)
{
	json_int_t n;
	char *s;

	switch (o->type) {
	case OPT_INT:
		if (!json_is_integer(v)) {
			problem(p, "%s: expected an integer, got %s", key, json_kind(v));
			return;
		}
		n = json_integer_value(v);
		if (n < o->min || n > o->max) {
			problem(p, "%s: %lld is out of range (%ld..%ld)", key, (long long)n, o->min,
			    o->max);
			return;
		}
		store_int(o, base, (long)n);
		return;
	case OPT_BOOL:
		if (!json_is_boolean(v)) {
			problem(p, "%s: expected true or false, got %s", key, json_kind(v));
			return;
		}
		*(bool *)opt_field(o, base) = json_is_true(v);
		return;
	case OPT_FEEDS:
		parse_feeds(p, key, v);
		return;
	case OPT_STRLIST:
		parse_strlist(p, o, base, key, v);
		return;
	case OPT_STRING:
	case OPT_PATH:
	case OPT_ENDPOINT:
	case OPT_URL:
	case OPT_LISTEN:
		if (json_is_null(v) && (o->flags & F_NULL)) {
			tg_str_set(opt_field(o, base), NULL);
			return;
		}
		if (!json_is_string(v)) {
			problem(p, "%s: expected a string, got %s", key, json_kind(v));
			return;
		}
		s = check_string(p, o, key, json_string_value(v));
		if (s == NULL)
			return;
		free(*(char **)opt_field(o, base));
		*(char **)opt_field(o, base) = s;
		return;
	}
}

/* Apply defaults, then the values of obj, to base through table. where names
 * the object in messages (NULL for the top level). */
static void
parse_object(struct parse *p, const struct opt *table, size_t nopts, json_t *obj, void *base,
    const char *where)
{
	const struct opt *o, *best;
	const char *k;
	char key[128];
	json_t *v;
	size_t d, bestd;

	for (size_t i = 0; i < nopts; i++)
		set_default(p, &table[i], base);
	json_object_foreach(obj, k, v) {
		if (opt_find(table, nopts, k) != NULL)
			continue;
		best = NULL;
		bestd = 3;
		for (size_t i = 0; i < nopts; i++) {
			d = edit_distance(k, table[i].name);
			if (d < bestd) {
				bestd = d;
				best = &table[i];
			}
		}
		problem(p, "%s%sunknown key \"%s\"%s%s%s", where ? where : "", where ? ": " : "", k,
		    best ? " (did you mean \"" : "", best ? best->name : "", best ? "\"?)" : "");
	}
	/* Feeds last: their checks depend on default_interval and allow_file_urls. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nopts; i++) {
			o = &table[i];
			if ((o->type == OPT_FEEDS) != (pass == 1))
				continue;
			if (snprintf(key, sizeof(key), "%s%s%s", where ? where : "",
				where ? "." : "", o->name) >= (int)sizeof(key))
				continue; /* cannot happen: names and places are short */
			v = json_object_get(obj, o->name);
			if (v != NULL)
				parse_value(p, o, base, key, v);
			else if (o->flags & F_REQUIRED)
				problem(p, "%s: missing (required)", key);
		}
	}
}

/* min_interval and max_interval default to the interval and must hold it. */
static void
feed_interval_bounds(struct parse *p, struct tg_feed_conf *f, const char *where)
{
	if (f->min_interval == 0)
		f->min_interval = f->interval;
	if (f->max_interval == 0)
		f->max_interval = f->interval;
	if (f->min_interval > f->interval)
		problem(p, "%s.min_interval: %d is longer than the interval (%d)", where,
		    f->min_interval, f->interval);
	if (f->max_interval < f->interval)
		problem(p, "%s.max_interval: %d is shorter than the interval (%d)", where,
		    f->max_interval, f->interval);
}

static void
parse_feeds(struct parse *p, const char *key, json_t *v)
{
	struct tg_config *cfg = p->cfg;
	struct tg_feed_conf *f;
	char where[160];
	size_t n;

	if (!json_is_array(v)) {
		problem(p, "%s: expected an array of feed objects, got %s", key, json_kind(v));
		return;
	}
	n = json_array_size(v);
	if (n > CONFIG_MAX_FEEDS) {
		problem(p, "%s: %zu feeds, more than the %d allowed", key, n, CONFIG_MAX_FEEDS);
		return;
	}
	cfg->feeds = tg_calloc(n, sizeof(*cfg->feeds));
	cfg->nfeeds = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);

		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (!json_is_object(e)) {
			problem(p, "%s: expected an object with a \"url\", got %s", where, json_kind(e));
			continue;
		}
		f = &cfg->feeds[i];
		parse_object(p, feed_options, NOPTS(feed_options), e, f, where);
		if (f->name == NULL && f->url != NULL)
			f->name = tg_strdup(f->url);
		feed_interval_bounds(p, f, where);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (cfg->feeds[i].url && cfg->feeds[j].url &&
			    strcmp(cfg->feeds[i].url, cfg->feeds[j].url) == 0) {
				problem(p, "%s[%zu].url: duplicate of %s[%zu].url (%s)", key, i, key, j,
				    cfg->feeds[i].url);
				break;
			}
			if (cfg->feeds[i].name && cfg->feeds[j].name &&
			    strcmp(cfg->feeds[i].name, cfg->feeds[j].name) == 0) {
				problem(p, "%s[%zu].name: duplicate of %s[%zu].name (\"%s\")", key, i,
				    key, j, cfg->feeds[i].name);
				break;
			}
		}
	}
}

/* CURVE on needs an allowlist, and an allowlist without CURVE protects nothing. */
static void
check_curve(struct parse *p)
{
	const struct tg_config *cfg = p->cfg;

	if (cfg->curve_secret_key && cfg->curve_clients.n == 0)
		problem(p, "curve_clients: empty while curve_secret_key is set: list the public "
			   "keys of the clients allowed to connect (tigris keygen NAME writes "
			   "NAME.pub)");
	if (cfg->curve_secret_key == NULL && cfg->curve_clients.n > 0)
		problem(p, "curve_clients: set while curve_secret_key is null, so CURVE is off and "
			   "anyone may connect: set curve_secret_key (or drop curve_clients)");
}

int
tg_config_parse(const char *text, size_t len, const char *path, struct tg_config **out,
    char *err, size_t errlen)
{
	struct parse p = { 0 };
	json_error_t jerr;
	json_t *root = NULL;
	char *cwd = NULL;
	int rc = -1;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	p.file = path ? path : "config";
	p.err = err;
	p.errlen = errlen;
	p.cfg = tg_calloc(1, sizeof(*p.cfg));
	p.basedir = config_basedir(path);
	if (p.basedir == NULL) {
		problem(&p, "cannot determine the current directory: %s", strerror(errno));
		goto out;
	}
	if (path) {
		cwd = getcwd(NULL, 0);
		p.cfg->path = cwd ? path_resolve(cwd, path) : tg_strdup(path);
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		problem(&p, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		problem(&p, "expected a JSON object at the top, got %s", json_kind(root));
		goto out;
	}
	parse_object(&p, options, NOPTS(options), root, p.cfg, NULL);
	check_curve(&p);
	if (p.nerr == 0)
		rc = 0;
out:
	json_decref(root);
	free(p.basedir);
	free(cwd);
	if (rc == 0)
		*out = p.cfg;
	else
		tg_config_free(p.cfg);
	return rc;
}

int
tg_config_load(const char *path, struct tg_config **out, char *err, size_t errlen)
{
	struct tg_buf b;
	char chunk[8192];
	FILE *f;
	size_t n;
	int rc = -1;

	*out = NULL;
	tg_buf_init(&b, CONFIG_MAX_BYTES);
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (tg_buf_append(&b, chunk, n) < 0) {
			snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG_MAX_BYTES);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	rc = tg_config_parse(b.data ? b.data : "", b.len, path, out, err, errlen);
out:
	fclose(f);
	tg_buf_free(&b);
	return rc;
}

void
tg_config_free(struct tg_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		free(cfg->feeds[i].url);
		free(cfg->feeds[i].name);
	}
	free(cfg->feeds);
	for (size_t i = 0; i < NOPTS(options); i++) {
		switch (options[i].type) {
		case OPT_STRING:
		case OPT_PATH:
		case OPT_ENDPOINT:
		case OPT_URL:
		case OPT_LISTEN:
			free(*(char **)opt_field(&options[i], cfg));
			break;
		case OPT_STRLIST:
			strlist_clear(opt_field(&options[i], cfg));
			break;
		default:
			break;
		}
	}
	free(cfg->path);
	free(cfg);
}

static void
format_default(const struct opt *o, char *buf, size_t len)
{
	if (o->def_doc) {
		snprintf(buf, len, "%s", o->def_doc);
		return;
	}
	switch (o->type) {
	case OPT_INT:
		snprintf(buf, len, "%ld", o->def_num);
		break;
	case OPT_BOOL:
		snprintf(buf, len, "%s", o->def_num ? "true" : "false");
		break;
	case OPT_FEEDS:
	case OPT_STRLIST:
		snprintf(buf, len, "[]");
		break;
	default:
		if (o->def_str)
			snprintf(buf, len, "\"%s\"", o->def_str);
		else
			snprintf(buf, len, "null");
		break;
	}
}

static void
format_allowed(const struct opt *o, char *buf, size_t len)
{
	size_t used = 0;
	int n;

	buf[0] = '\0';
	if (o->allowed_doc) {
		snprintf(buf, len, "%s", o->allowed_doc);
		return;
	}
	if (o->type == OPT_INT) {
		snprintf(buf, len, "%ld..%ld", o->min, o->max);
		return;
	}
	if (o->type == OPT_ENDPOINT) {
		snprintf(buf, len, "tcp://, ipc://, inproc://");
		return;
	}
	if (o->type == OPT_URL) {
		snprintf(buf, len, "http://, https://, file:");
		return;
	}
	if (o->type == OPT_LISTEN) {
		snprintf(buf, len, "host:port, [v6addr]:port, \"\"");
		return;
	}
	if (o->choices == NULL)
		return;
	for (const char *const *c = o->choices; *c && used < len; c++) {
		n = snprintf(buf + used, len - used, "%s%s", c == o->choices ? "" : ", ", *c);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

static void
help_table(FILE *f, const struct opt *table, size_t n, const char *indent)
{
	char def[128], allowed[128];

	for (size_t i = 0; i < n; i++) {
		format_default(&table[i], def, sizeof(def));
		format_allowed(&table[i], allowed, sizeof(allowed));
		fprintf(f, "%s%s (%s, %s%s%s%s)\n%s    %s\n", indent, table[i].name,
		    type_names[table[i].type], (table[i].flags & F_REQUIRED) ? "" : "default ", def,
		    allowed[0] ? ", allowed " : "", allowed, indent, table[i].help);
	}
}

void
tg_config_print_help(FILE *f)
{
	fprintf(f, "Configuration keys (one JSON object):\n");
	help_table(f, options, NOPTS(options), "  ");
	fprintf(f, "\nKeys of each feeds entry:\n");
	help_table(f, feed_options, NOPTS(feed_options), "  ");
}

static void
markdown_table(FILE *f, const struct opt *table, size_t n)
{
	char def[128], allowed[128];

	fprintf(f, "| Key | Type | Default | Allowed | Description |\n");
	fprintf(f, "|-----|------|---------|---------|-------------|\n");
	for (size_t i = 0; i < n; i++) {
		format_default(&table[i], def, sizeof(def));
		format_allowed(&table[i], allowed, sizeof(allowed));
		fprintf(f, "| `%s` | %s | %s%s%s | %s | %s |\n", table[i].name,
		    type_names[table[i].type], table[i].def_doc ? "" : "`", def,
		    table[i].def_doc ? "" : "`", allowed, table[i].help);
	}
}

void
tg_config_print_markdown(FILE *f)
{
	fprintf(f, "### Top-level keys\n\n");
	markdown_table(f, options, NOPTS(options));
	fprintf(f, "\n### Feed entries\n\n");
	fprintf(f, "Each element of `feeds` is an object with these keys:\n\n");
	markdown_table(f, feed_options, NOPTS(feed_options));
}

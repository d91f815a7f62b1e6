/*
 * The configuration: one JSON file, every key described once in a table (name,
 * type, default, bounds, help) that drives parsing, unknown-key errors, --help
 * and docs/config.md. Relative paths and relative file: URLs in the file are
 * resolved against the directory of the config file.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct tg_feed_conf {
	char *url;     /* absolute URL (http, https, or file when allowed) */
	char *name;    /* configured name, else a copy of url */
	int interval;  /* seconds between fetches */
	int min_interval; /* adaptive polling bounds in seconds; both equal interval */
	int max_interval; /* when not configured (a fixed schedule) */
};

/* A list of strings; v and every string are owned by the list. */
struct tg_strlist {
	char **v;
	size_t n;
};

struct tg_config {
	char *path;             /* the file this was read from */
	struct tg_feed_conf *feeds;
	size_t nfeeds;
	char *state_dir;        /* absolute */
	char *taxonomy;         /* absolute path of the taxonomy file */
	int workers;            /* worker processes the daemon starts itself */
	char *worker_program;   /* absolute path of tigris-worker; NULL: next to tigrisd */
	int worker_credit;      /* items each worker may hold at once */
	char *publish;          /* ZeroMQ endpoint of the alert PUB socket */
	char *worker_endpoint;  /* ZeroMQ endpoint workers connect to (ROUTER) */
	int publish_hwm;        /* ZMQ_SNDHWM of the PUB socket */
	char *replay;           /* ZeroMQ endpoint of the replay ROUTER; NULL: off */
	int replay_retention;   /* seconds alerts are kept for replay */
	int max_attempts;       /* deliveries before an item is dead-lettered */
	int max_queue;          /* items held in memory for the workers */
	bool allow_file_urls;
	int default_interval;   /* seconds, for feeds without "interval" */
	int jitter_pct;         /* +- percent of the interval added at random */
	int fetch_timeout;      /* seconds for a whole fetch */
	int connect_timeout;    /* seconds */
	long max_body_bytes;    /* cap on a decoded feed body */
	int max_items_per_feed; /* items kept from one fetch */
	char *user_agent;
	char *log_level;        /* error, warning, notice, info, debug */
	struct tg_strlist allow_networks; /* CIDRs exempt from the inward-address filter */
	int backoff_cap;        /* seconds: longest wait between retries of a failing feed */
	int host_max_concurrent; /* fetches under way at once to one host */
	int host_min_gap_ms;    /* least time between the starts of two fetches to one host */
	int low_speed_limit;    /* a fetch slower than this many bytes/s ... */
	int low_speed_time;     /* ... for this many seconds is aborted */
	char *http_listen;      /* host:port of the operations HTTP server; "" disables */
	char *curve_secret_key; /* absolute path of the daemon's CURVE key file; NULL: off */
	struct tg_strlist curve_clients; /* Z85 public keys admitted when CURVE is on */
};

/* Read and validate path. On success returns 0 and *out (caller frees with
 * tg_config_free). On failure returns -1 and writes every problem found, one per
 * line, each naming the file and key, into err. */
int tg_config_load(const char *path, struct tg_config **out, char *err, size_t errlen);

/* Parse config text (path is used for messages and to resolve relative paths). */
int tg_config_parse(const char *text, size_t len, const char *path, struct tg_config **out,
    char *err, size_t errlen);

/* Free a config; NULL is fine. */
void tg_config_free(struct tg_config *cfg);

/* Print the table of keys (name, type, default, bounds, help) to f. */
void tg_config_print_help(FILE *f);

/* Print the table as a Markdown reference (used to write docs/config.md). */
void tg_config_print_markdown(FILE *f);

#endif

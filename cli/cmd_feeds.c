/*
 * `tigris feeds`: ask a running tigrisd for the status of every feed (GET /feeds
 * on its operations HTTP server) and print a table, or the raw JSON (--json).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/date.h"
#include "../common/util.h"
#include "commands.h"

#define DEFAULT_URL "http://127.0.0.1:9464"
#define BODY_MAX (64 * 1024 * 1024)
#define TIMEOUT_S 10
#define NAME_COL_MAX 32
#define ERROR_COL_MAX 72

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct tg_buf *b = arg;

	if (tg_buf_append(b, p, size * n) != 0)
		return 0; /* over the cap: curl fails the transfer */
	return size * n;
}

/* GET url into body. Returns 0, or -1 with err. */
static int
http_get(const char *url, struct tg_buf *body, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	CURLcode rc;
	long status = 0;

	if (c == NULL) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tigris-feeds");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
		return -1;
	}
	if (status != 200) {
		snprintf(err, errlen, "%s: HTTP status %ld", url, status);
		return -1;
	}
	return 0;
}

/* "5s", "3m", "2h", "4d" for a span of seconds. */
static void
format_span(long long s, char *out, size_t len)
{
	if (s < 120)
		snprintf(out, len, "%llds", s);
	else if (s < 2 * 3600)
		snprintf(out, len, "%lldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, len, "%lldh", s / 3600);
	else
		snprintf(out, len, "%lldd", s / 86400);
}

/* A JSON time (RFC 3339 string or null) relative to now: "3m ago", "in 5s". */
static void
format_when(const json_t *v, time_t now, const char *none, char *out, size_t len)
{
	const char *s = json_string_value(v);
	char span[32];
	time_t t;

	if (s == NULL) {
		snprintf(out, len, "%s", none);
		return;
	}
	if (tg_date_parse(s, strlen(s), &t) != 0) {
		snprintf(out, len, "%s", s);
		return;
	}
	if (t <= now) {
		format_span((long long)(now - t), span, sizeof(span));
		snprintf(out, len, "%s ago", span);
	} else {
		format_span((long long)(t - now), span, sizeof(span));
		snprintf(out, len, "in %s", span);
	}
}

static const char *
str_field(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* Print the table; returns -1 when arr is not an array of feed objects. */
static int
print_table(FILE *f, const json_t *arr, time_t now)
{
	size_t i, namew = 4, counts[3] = { 0, 0, 0 };
	const json_t *o;

	if (!json_is_array(arr))
		return -1;
	json_array_foreach(arr, i, o) {
		size_t n;
		if (!json_is_object(o))
			return -1;
		n = strlen(str_field(o, "name", "?"));
		if (n > namew)
			namew = n > NAME_COL_MAX ? NAME_COL_MAX : n;
	}
	fprintf(f, "%-*s  %-8s  %-12s  %-10s  %s\n", (int)namew, "NAME", "HEALTH", "LAST SUCCESS",
	    "NEXT FETCH", "LAST ERROR");
	json_array_foreach(arr, i, o) {
		const char *name = str_field(o, "name", "?");
		const char *health = str_field(o, "health", "?");
		const char *lasterr = str_field(o, "last_error", "-");
		char last[40], next[40];
		json_int_t errors = json_integer_value(json_object_get(o, "error_count"));

		if (strcmp(health, "ok") == 0)
			counts[0]++;
		else if (strcmp(health, "degraded") == 0)
			counts[1]++;
		else
			counts[2]++;
		format_when(json_object_get(o, "last_success"), now, "never", last, sizeof(last));
		format_when(json_object_get(o, "next_fetch"), now, "-", next, sizeof(next));
		if (strstr(next, " ago") != NULL)
			snprintf(next, sizeof(next), "due");
		fprintf(f, "%-*.*s  %-8s  %-12s  %-10s  ", (int)namew, (int)namew, name, health, last,
		    next);
		if (errors > 0)
			fprintf(f, "(%lld) ", (long long)errors);
		fprintf(f, "%.*s%s\n", ERROR_COL_MAX, lasterr,
		    strlen(lasterr) > ERROR_COL_MAX ? "..." : "");
	}
	fprintf(f, "\n%zu feed(s): %zu ok, %zu degraded, %zu failing\n", json_array_size(arr),
	    counts[0], counts[1], counts[2]);
	return 0;
}

/* The /feeds URL for base: base itself if it already ends in /feeds. */
static char *
feeds_url(const char *base)
{
	size_t n = strlen(base);
	struct tg_buf b;

	tg_buf_init(&b, 0);
	while (n > 0 && base[n - 1] == '/')
		n--;
	tg_buf_append(&b, base, n);
	if (!(n >= 6 && strncmp(base + n - 6, "/feeds", 6) == 0))
		tg_buf_append_str(&b, "/feeds");
	return tg_buf_take(&b);
}

int
tg_cmd_feeds(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = DEFAULT_URL;
	bool json = false;
	struct tg_buf body;
	json_error_t jerr;
	json_t *arr = NULL;
	char err[1024], *url = NULL;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "u:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			base = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			puts("usage: tigris feeds [--url http://127.0.0.1:9464] [--json]\n\n"
			     "Prints the status of every feed of a running tigrisd (its http_listen\n"
			     "address): health (ok, degraded after 1-2 failed fetches in a row,\n"
			     "failing after 3 or more), last success, next fetch and last error.\n"
			     "--json prints the daemon's JSON as it came.");
			return 0;
		default:
			fputs("usage: tigris feeds [--url URL] [--json]\n", stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs("usage: tigris feeds [--url URL] [--json]\n", stderr);
		return 2;
	}
	tg_buf_init(&body, BODY_MAX);
	url = feeds_url(base);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (http_get(url, &body, err, sizeof(err)) != 0) {
		fprintf(stderr, "tigris feeds: %s\n", err);
		goto out;
	}
	arr = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
	if (arr == NULL || !json_is_array(arr)) {
		fprintf(stderr, "tigris feeds: %s: not a JSON array of feeds%s%s\n", url,
		    arr ? "" : ": ", arr ? "" : jerr.text);
		goto out;
	}
	if (json) {
		fwrite(body.data, 1, body.len, stdout);
		if (body.len == 0 || body.data[body.len - 1] != '\n')
			putchar('\n');
		rc = 0;
	} else if (print_table(stdout, arr, time(NULL)) != 0) {
		fprintf(stderr, "tigris feeds: %s: unexpected JSON (not feed objects)\n", url);
	} else {
		rc = 0;
	}
	fflush(stdout);
out:
	json_decref(arr);
	tg_buf_free(&body);
	free(url);
	curl_global_cleanup();
	return rc;
}

/*
 * `tigris import-opml OPML --config FILE`: add the feeds of an OPML subscription
 * list (what feed readers export) to a tigris config. Feeds already in the config
 * (same URL) are skipped; names come from the outline's title or text and are made
 * unique. The merged config is validated before anything is written; without
 * --write it goes to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "../daemon/config.h"
#include "commands.h"

#define MAX_OPML_BYTES (16u << 20)
#define MAX_OPML_DEPTH 32

struct import {
	json_t *feeds;    /* the config's "feeds" array (borrowed) */
	long interval;    /* 0: leave the feed's interval to default_interval */
	size_t added, skipped;
};

static bool
has_url(json_t *feeds, const char *url)
{
	size_t i;
	json_t *f;

	json_array_foreach(feeds, i, f) {
		const char *u = json_string_value(json_object_get(f, "url"));
		if (u && strcmp(u, url) == 0)
			return true;
	}
	return false;
}

static bool
has_name(json_t *feeds, const char *name)
{
	size_t i;
	json_t *f;

	json_array_foreach(feeds, i, f) {
		const char *n = json_string_value(json_object_get(f, "name"));
		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

/* A unique feed name from the outline's title: lower case, [a-z0-9-] only. */
static void
make_name(json_t *feeds, const char *title, char *out, size_t outlen)
{
	char base[64];
	size_t n = 0;
	bool dash = false;

	for (const char *p = title ? title : ""; *p && n < sizeof(base) - 1; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			base[n++] = c;
			dash = false;
		} else if (n > 0 && !dash) {
			base[n++] = '-';
			dash = true;
		}
	}
	while (n > 0 && base[n - 1] == '-')
		n--;
	if (n == 0) {
		memcpy(base, "feed", 4);
		n = 4;
	}
	base[n] = '\0';
	snprintf(out, outlen, "%s", base);
	for (int i = 2; has_name(feeds, out) && i < 100000; i++)
		snprintf(out, outlen, "%s-%d", base, i);
}

static void
walk(struct import *im, xmlNode *node, int depth)
{
	for (xmlNode *n = node; n; n = n->next) {
		xmlChar *url, *title;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, (const xmlChar *)"outline") == 0) {
			url = xmlGetProp(n, (const xmlChar *)"xmlUrl");
			if (url && *url) {
				title = xmlGetProp(n, (const xmlChar *)"title");
				if (title == NULL)
					title = xmlGetProp(n, (const xmlChar *)"text");
				if (has_url(im->feeds, (const char *)url)) {
					im->skipped++;
				} else {
					char name[80];
					json_t *f = json_object();

					make_name(im->feeds, (const char *)title, name, sizeof(name));
					json_object_set_new(f, "url", json_string((const char *)url));
					json_object_set_new(f, "name", json_string(name));
					if (im->interval)
						json_object_set_new(f, "interval", json_integer(im->interval));
					json_array_append_new(im->feeds, f);
					im->added++;
				}
				xmlFree(title);
			}
			xmlFree(url);
		}
		if (depth < MAX_OPML_DEPTH)
			walk(im, n->children, depth + 1);
	}
}

static int
read_capped(const char *path, struct tg_buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (tg_buf_append(out, chunk, n) != 0) {
			rc = -1;
			break;
		}
	if (ferror(f))
		rc = -1;
	fclose(f);
	return rc;
}

/* Write text to path through a temporary file and rename, so that a crash never
 * leaves half a config. */
static int
write_atomically(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (f == NULL || fputs(text, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (f)
			fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
tg_cmd_import_opml(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "write", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	struct import im;
	json_error_t jerr;
	json_t *cfg = NULL;
	xmlDoc *doc = NULL;
	xmlNode *root;
	char *text = NULL;
	struct tg_config *parsed = NULL;
	struct tg_buf body;
	static char err[65536];
	bool write = false;
	int ch, rc = 1;

	memset(&im, 0, sizeof(im));
	tg_buf_init(&body, MAX_OPML_BYTES);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:i:wh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'i':
			if (tg_parse_long(optarg, 1, 604800, &im.interval) != 0) {
				fprintf(stderr, "tigris import-opml: --interval must be 1..604800\n");
				return 2;
			}
			break;
		case 'w':
			write = true;
			break;
		case 'h':
			puts("usage: tigris import-opml OPML --config FILE [--interval SECONDS] [--write]\n\n"
			     "Adds the feeds of an OPML file to the config. Feeds already there are\n"
			     "skipped. The result is validated; it is printed, or with --write\n"
			     "replaces FILE (atomically).");
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || config == NULL) {
		fputs("usage: tigris import-opml OPML --config FILE [--interval SECONDS] [--write]\n",
		    stderr);
		return 2;
	}
	cfg = json_load_file(config, JSON_REJECT_DUPLICATES, &jerr);
	if (cfg == NULL || !json_is_object(cfg)) {
		fprintf(stderr, "tigris import-opml: %s: %s\n", config,
		    cfg ? "not a JSON object" : jerr.text);
		goto out;
	}
	im.feeds = json_object_get(cfg, "feeds");
	if (im.feeds == NULL) {
		im.feeds = json_array();
		json_object_set_new(cfg, "feeds", im.feeds);
	}
	if (!json_is_array(im.feeds)) {
		fprintf(stderr, "tigris import-opml: %s: \"feeds\" is not an array\n", config);
		goto out;
	}
	/* Read whole (capped), then parse from memory with no network, no entities
	 * from outside and no DTD: an OPML file is untrusted. */
	if (read_capped(argv[optind], &body) != 0) {
		fprintf(stderr, "tigris import-opml: %s: cannot read it (or larger than %u bytes)\n",
		    argv[optind], MAX_OPML_BYTES);
		goto out;
	}
	doc = xmlReadMemory(body.data ? body.data : "", (int)body.len, argv[optind], NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (root == NULL || xmlStrcmp(root->name, (const xmlChar *)"opml") != 0) {
		fprintf(stderr, "tigris import-opml: %s: not an OPML file%s\n", argv[optind],
		    doc ? " (the root element is not <opml>)" : " (not well-formed XML)");
		goto out;
	}
	walk(&im, root->children, 0);
	text = json_dumps(cfg, JSON_INDENT(2));
	if (text == NULL)
		goto out;
	if (tg_config_parse(text, strlen(text), config, &parsed, err, sizeof(err)) != 0) {
		fprintf(stderr, "tigris import-opml: the merged config would not be valid; nothing "
				"written:\n%s",
		    err);
		goto out;
	}
	if (write) {
		size_t n = strlen(text);
		char *withnl = tg_malloc(n + 2);

		memcpy(withnl, text, n);
		withnl[n] = '\n';
		withnl[n + 1] = '\0';
		if (write_atomically(config, withnl, err, sizeof(err)) != 0) {
			fprintf(stderr, "tigris import-opml: %s\n", err);
			free(withnl);
			goto out;
		}
		free(withnl);
	} else {
		printf("%s\n", text);
	}
	fprintf(stderr, "tigris import-opml: %zu feed(s) added, %zu already there\n", im.added,
	    im.skipped);
	rc = 0;
out:
	tg_config_free(parsed);
	free(text);
	if (doc)
		xmlFreeDoc(doc);
	json_decref(cfg);
	tg_buf_free(&body);
	return rc;
}

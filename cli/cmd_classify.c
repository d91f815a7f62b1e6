/*
 * `tigris classify`: tag items offline with the same classifier the workers use.
 * Reads JSON lines {"id","title","body"[,"categories"]} on stdin and writes one
 * JSON line per input line; --explain prints the evidence for a person instead,
 * with the tags that scored but fell short of their threshold ("why not"), which
 * --near-misses adds to the JSON lines too.
 * --html first turns title and body into plain text the way tigrisd does with a
 * feed's fields (tags stripped, character references decoded), so that raw RSS
 * descriptions are tagged as the daemon would tag them.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/text.h"
#include "../common/util.h"
#include "../proto/item.h"
#include "../proto/result.h"
#include "../workers/classify.h"
#include "commands.h"

#define MAX_LINE (4u << 20)
#define DEFAULT_TAXONOMY "/etc/tigris/taxonomy.tgt"

static const char *
field_text(const char *title, const char *body, const char *cats, enum tg_field f)
{
	return f == TG_FIELD_TITLE ? title : f == TG_FIELD_SUMMARY ? body : cats;
}

/* Print the tags of r with their evidence quoted from the text; below marks the
 * near misses. */
static void
print_tags(const char *title, const char *body, const char *cats,
    const struct tg_result *r, bool below)
{
	for (uint32_t i = 0; i < r->ntags; i++) {
		const struct tg_tag *t = &r->tags[i];
		printf("  %-10s score %.2f (threshold %.2f)%s\n", t->name, t->score, t->threshold,
		    below ? "  below threshold" : "");
		for (uint32_t j = 0; j < t->nevidence; j++) {
			const struct tg_evidence *e = &t->evidence[j];
			const char *text = field_text(title, body, cats, e->field);
			size_t tl = strlen(text);
			int n = e->end <= tl && e->start <= e->end ? (int)(e->end - e->start) : 0;
			printf("      %-8s [%u,%u) \"%.*s\"  rule %s\n", tg_field_name(e->field),
			    e->start, e->end, n, n ? text + e->start : "", e->rule);
		}
	}
}

static void
explain(const char *id, const char *title, const char *body, const char *cats,
    const struct tg_result *r, const struct tg_result *near)
{
	printf("%s: %s\n", id, r->relevant ? "RELEVANT" : "not relevant");
	if (r->ntags == 0)
		printf("  (no tags)\n");
	print_tags(title, body, cats, r, false);
	if (near->ntags > 0) {
		printf("  -- scored, not given:\n");
		print_tags(title, body, cats, near, true);
	}
	printf("\n");
}

/* Join a JSON array of strings with '\n' into buf; returns buf's data or "". */
static const char *
join_categories(const json_t *arr, struct tg_buf *buf)
{
	size_t i;
	const json_t *v;

	tg_buf_reset(buf);
	if (!json_is_array(arr))
		return "";
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		if (buf->len)
			tg_buf_append(buf, "\n", 1);
		tg_buf_append_str(buf, json_string_value(v));
	}
	return buf->data ? buf->data : "";
}

/* The plain text of a feed field, as tigrisd's feed parser makes it; NULL when
 * memory ran out. The caller frees it. */
static char *
plain_text(const char *s, size_t max)
{
	return tg_text_plain(s, strlen(s), TG_TEXT_HTML, max, NULL);
}

/* The JSON line of one result; near (may be NULL) adds "near_misses". */
static json_t *
result_line(const char *id, const struct tg_result *r, const struct tg_result *near)
{
	json_t *out = json_object(), *names = json_array(), *full = tg_result_to_json(r);

	json_object_set_new(out, "id", json_string(id));
	for (uint32_t i = 0; i < r->ntags; i++)
		json_array_append_new(names, json_string(r->tags[i].name));
	json_object_set_new(out, "tags", names);
	json_object_set_new(out, "relevant", json_boolean(r->relevant));
	json_object_set_new(out, "taxonomy", json_string(r->taxonomy));
	json_object_set(out, "evidence", json_object_get(full, "tags"));
	json_decref(full);
	if (near) {
		full = tg_result_to_json(near);
		json_object_set(out, "near_misses", json_object_get(full, "tags"));
		json_decref(full);
	}
	return out;
}

int
tg_cmd_classify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "taxonomy", required_argument, NULL, 't' },
		{ "explain", no_argument, NULL, 'e' },
		{ "html", no_argument, NULL, 'H' },
		{ "near-misses", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *taxonomy = getenv("TIGRIS_TAXONOMY");
	struct tg_classifier *clf = NULL;
	struct tg_result *r = NULL, *near = NULL;
	struct tg_buf cats;
	bool do_explain = false, html = false, near_misses = false;
	char *line = NULL, err[8192];
	size_t cap = 0, lineno = 0, bad = 0;
	ssize_t n;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "t:eHnh", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			taxonomy = optarg;
			break;
		case 'e':
			do_explain = true;
			break;
		case 'H':
			html = true;
			break;
		case 'n':
			near_misses = true;
			break;
		case 'h':
			puts("usage: tigris classify [--taxonomy FILE] [--explain] [--html] [--near-misses]\n"
			     "                       < items.jsonl\n\n"
			     "Reads JSON lines {\"id\",\"title\",\"body\"} and writes one line each:\n"
			     "{\"id\",\"tags\":[...],\"relevant\":bool,\"taxonomy\",\"evidence\":[...]}."
			     "\nThe taxonomy defaults to $TIGRIS_TAXONOMY, then " DEFAULT_TAXONOMY "."
			     "\n--html: title and body are feed markup (an RSS description, say): they are"
			     "\nturned into plain text as tigrisd does first, and each line also carries"
			     "\n\"text\":{\"title\",\"body\"}, the plain text the evidence offsets refer to."
			     "\n--explain: the evidence for a person, and the tags that scored but stayed"
			     "\nbelow their threshold; --near-misses adds those to each JSON line as"
			     "\n\"near_misses\":[...] (same shape as \"evidence\").");
			return 0;
		default:
			return 2;
		}
	}
	if (taxonomy == NULL)
		taxonomy = DEFAULT_TAXONOMY;
	clf = tg_classifier_load(taxonomy, err, sizeof(err));
	if (clf == NULL) {
		fprintf(stderr, "tigris classify: %s: cannot load the taxonomy:\n%s\n", taxonomy,
		    err);
		return 1;
	}
	r = tg_malloc(sizeof(*r));
	near = tg_malloc(sizeof(*near));
	tg_buf_init(&cats, MAX_LINE);
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		json_error_t jerr;
		json_t *in = NULL, *out = NULL;
		struct tg_classify_input ci;
		const char *id, *title, *body, *catstr;
		char *ptitle = NULL, *pbody = NULL;

		lineno++;
		if (n == 0 || (n == 1 && line[0] == '\n'))
			continue;
		if ((size_t)n > MAX_LINE) {
			snprintf(err, sizeof(err), "line longer than %u bytes", MAX_LINE);
			goto bad_line;
		}
		in = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
		if (in == NULL || !json_is_object(in)) {
			snprintf(err, sizeof(err), "%s", in ? "not a JSON object" : jerr.text);
			goto bad_line;
		}
		id = json_string_value(json_object_get(in, "id"));
		title = json_string_value(json_object_get(in, "title"));
		body = json_string_value(json_object_get(in, "body"));
		if (id == NULL) {
			snprintf(err, sizeof(err), "\"id\" missing or not a string");
			goto bad_line;
		}
		title = title ? title : "";
		body = body ? body : "";
		if (html) {
			ptitle = plain_text(title, TG_ITEM_MAX_TITLE);
			pbody = plain_text(body, TG_ITEM_MAX_SUMMARY);
			if (ptitle == NULL || pbody == NULL) {
				snprintf(err, sizeof(err), "out of memory");
				goto bad_line;
			}
			title = ptitle;
			body = pbody;
		}
		catstr = join_categories(json_object_get(in, "categories"), &cats);
		ci.title = title;
		ci.title_len = strlen(title);
		ci.summary = body;
		ci.summary_len = strlen(body);
		ci.categories = catstr;
		ci.categories_len = strlen(catstr);
		if (tg_classify(clf, &ci, r, err, sizeof(err)) != 0)
			goto bad_line;
		if (do_explain || near_misses)
			tg_classify_near_misses(clf, near);
		if (do_explain) {
			explain(id, title, body, catstr, r, near);
		} else {
			out = result_line(id, r, near_misses ? near : NULL);
			if (html)
				json_object_set_new(out, "text", json_pack("{s:s,s:s}", "title",
				    title, "body", body));
			json_dumpf(out, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(out);
		}
		json_decref(in);
		free(ptitle);
		free(pbody);
		continue;
bad_line:
		bad++;
		fprintf(stderr, "tigris classify: stdin:%zu: %s\n", lineno, err);
		out = json_pack("{s:I,s:s}", "line", (json_int_t)lineno, "error", err);
		if (!do_explain && out) {
			json_dumpf(out, stdout, JSON_COMPACT);
			fputc('\n', stdout);
		}
		json_decref(out);
		json_decref(in);
		free(ptitle);
		free(pbody);
	}
	fflush(stdout);
	rc = bad ? 1 : 0;
	free(line);
	free(r);
	free(near);
	tg_buf_free(&cats);
	tg_classifier_free(clf);
	return rc;
}

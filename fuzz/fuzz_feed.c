/*
 * libFuzzer target: the feed parser (RSS, Atom, JSON Feed) on arbitrary bytes.
 * Beyond "no crash", every parsed document must hold only valid UTF-8 strings
 * within the item caps, and every kept item must have an id.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/text.h"
#include "../daemon/feed.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tg_feed_global_init();
	return 0;
}

static void
check_str(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	if (!tg_utf8_valid(s, n) || n > max)
		abort();
}

static void
check_doc(const struct tg_feed_doc *doc, const struct tg_feed_limits *lim)
{
	if (doc->nitems > lim->max_items)
		abort();
	check_str(doc->title, TG_ITEM_MAX_TITLE);
	check_str(doc->link, TG_ITEM_MAX_LINK);
	check_str(doc->subtitle, TG_ITEM_MAX_SUMMARY);
	check_str(doc->updated, TG_ITEM_MAX_DATE);
	check_str(doc->bozo_reason, 1024);
	for (size_t i = 0; i < doc->nitems; i++) {
		const struct tg_item *it = &doc->items[i];

		if (it->id == NULL || it->id[0] == '\0')
			abort();
		check_str(it->id, TG_ITEM_MAX_LINK);
		check_str(it->title, TG_ITEM_MAX_TITLE);
		check_str(it->link, TG_ITEM_MAX_LINK);
		check_str(it->summary, TG_ITEM_MAX_SUMMARY);
		check_str(it->published, TG_ITEM_MAX_DATE);
		check_str(it->updated, TG_ITEM_MAX_DATE);
		if (it->nauthors > TG_ITEM_MAX_LIST || it->ncategories > TG_ITEM_MAX_LIST)
			abort();
		for (size_t k = 0; k < it->nauthors; k++)
			check_str(it->authors[k], TG_ITEM_MAX_TITLE);
		for (size_t k = 0; k < it->ncategories; k++)
			check_str(it->categories[k], TG_ITEM_MAX_TITLE);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_feed_limits lim;
	struct tg_feed_doc doc;
	char err[256];
	json_t *j;
	char *s;

	tg_feed_limits_default(&lim);
	lim.max_items = 100;
	if (tg_feed_parse((const char *)data, size, "https://example.com/a/feed.xml", NULL,
	    "fuzz", &lim, &doc, err, sizeof(err)) == 0) {
		check_doc(&doc, &lim);
		/* The JSON form must always be producible (json_string refuses bad UTF-8). */
		j = tg_feed_doc_to_json(&doc);
		s = json_dumps(j, JSON_COMPACT);
		if (s == NULL)
			abort();
		free(s);
		json_decref(j);
		tg_feed_doc_clear(&doc);
	}
	return 0;
}

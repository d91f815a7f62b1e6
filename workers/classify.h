/*
 * The classifier: a taxonomy (deploy/taxonomy.tgt, a readable file analysts edit)
 * compiled into one Hyperscan database of its aliases spelled in word symbols
 * (lexicon.h; a second one over the text only for regex aliases), and the
 * scoring that turns matches into tags with scores, thresholds and evidence. Stateless per item: one classifier
 * is built at start (and on reload) and then used for every item; a scratch
 * space per thread does the matching.
 */
#ifndef TG_CLASSIFY_H
#define TG_CLASSIFY_H

#include <stddef.h>

#include "../proto/item.h"
#include "../proto/result.h"

struct tg_classifier;

/* The text of one item as the classifier sees it (borrowed, not NUL-terminated
 * necessarily; lengths given). */
struct tg_classify_input {
	const char *title;
	size_t title_len;
	const char *summary;
	size_t summary_len;
	const char *categories; /* joined by '\n' */
	size_t categories_len;
};

/* Point in at the text of an ITEM message viewed in place (tg_item_decode_view):
 * what a worker classifies, without copying. */
void tg_classify_input_from_view(struct tg_classify_input *in, const struct tg_item_view *v);

/* Load and compile the taxonomy at path. On failure returns NULL and writes every
 * problem, one per line as "file:line: why", into err. */
struct tg_classifier *tg_classifier_load(const char *path, char *err, size_t errlen);

/* Free; NULL is fine. */
void tg_classifier_free(struct tg_classifier *c);

/* The taxonomy version: hex hash of the taxonomy file's bytes. */
const char *tg_classifier_version(const struct tg_classifier *c);

/* Classify one item into out (reset first). Returns 0, or -1 with err (a scan
 * failure; out is then empty). */
int tg_classify(struct tg_classifier *c, const struct tg_classify_input *in,
    struct tg_result *out, char *err, size_t errlen);

/* After tg_classify on c: fill out (reset first) with the tags of the last item
 * that scored above zero but stayed below their threshold, each with its score,
 * threshold and evidence, in taxonomy order (dyads and relevance are left out: a
 * dyad falls short when one of its actors does). This is the "why not" of
 * `tigris classify --explain`. Reads only what tg_classify left in c, so it is
 * valid until the next tg_classify on c. Returns the number of tags in out. */
int tg_classify_near_misses(const struct tg_classifier *c, struct tg_result *out);

struct tg_taxonomy;

/* The parsed taxonomy behind c (owned by c). */
const struct tg_taxonomy *tg_classifier_taxonomy(const struct tg_classifier *c);

#endif

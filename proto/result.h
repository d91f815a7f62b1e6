/*
 * A classification result: the tags a worker gave one item, each with its score,
 * threshold and evidence. Fixed-size so that a worker reuses one result for every
 * item without allocating. Sent as a compact binary frame on the worker -> daemon
 * hop (it is also the acknowledgement of the item) and as JSON in alerts and in
 * `tigris classify`.
 */
#ifndef TG_RESULT_H
#define TG_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

#define TG_RESULT_MAX_TAGS 32
#define TG_TAG_MAX_EVIDENCE 8
#define TG_TAG_NAME_MAX 32     /* bytes including NUL */
#define TG_RULE_NAME_MAX 64    /* bytes including NUL */
#define TG_TAXONOMY_ID_MAX 65  /* bytes including NUL */

/* Which part of the item a match was found in. */
enum tg_field {
	TG_FIELD_TITLE = 0,
	TG_FIELD_SUMMARY = 1,
	TG_FIELD_CATEGORY = 2,
	TG_FIELD_COUNT
};

/* One piece of evidence: rule (or term) `rule` matched bytes [start,end) of field. */
struct tg_evidence {
	uint8_t field; /* enum tg_field */
	uint32_t start;
	uint32_t end;
	char rule[TG_RULE_NAME_MAX];
};

struct tg_tag {
	char name[TG_TAG_NAME_MAX]; /* "iraq", "us-iran", "strike", ... */
	float score;
	float threshold;
	uint32_t nevidence;
	struct tg_evidence evidence[TG_TAG_MAX_EVIDENCE];
};

struct tg_result {
	char taxonomy[TG_TAXONOMY_ID_MAX]; /* taxonomy version: a hash of its files */
	bool relevant;
	uint32_t ntags;
	struct tg_tag tags[TG_RESULT_MAX_TAGS];
};

/* Empty the result (keeps nothing; no memory is owned). */
void tg_result_reset(struct tg_result *r);

/* Add a tag (name truncated to fit); returns it, or NULL when the result is full. */
struct tg_tag *tg_result_add_tag(struct tg_result *r, const char *name, float score,
    float threshold);

/* The tag named name, or NULL. */
const struct tg_tag *tg_result_find(const struct tg_result *r, const char *name);

/* Add evidence to a tag; ignored (returns -1) when the tag already has TG_TAG_MAX_EVIDENCE. */
int tg_tag_add_evidence(struct tg_tag *t, enum tg_field field, uint32_t start, uint32_t end,
    const char *rule);

/* Name of a field ("title", "summary", "category"). */
const char *tg_field_name(enum tg_field f);

/* Send a RESULT message: [route][hdr 'R'][delivery u64][taxonomy][flags u8][tags blob].
 * Returns 0 or -1 with errno from ZeroMQ. */
int tg_result_send(void *sock, const void *route, size_t routelen, uint64_t delivery,
    const struct tg_result *r);

/* Decode a RESULT message whose header is frame `first` of m. Validates every
 * length, count and string. Returns 0, or -1 with the reason in err. */
int tg_result_decode(const struct tg_wire_msg *m, size_t first, uint64_t *delivery,
    struct tg_result *out, char *err, size_t errlen);

/* New JSON object {"taxonomy", "relevant", "tags": [{"tag","score","threshold",
 * "evidence":[{"field","start","end","rule"}]}]}; caller decrefs. */
json_t *tg_result_to_json(const struct tg_result *r);

/* Fill out from JSON as written by tg_result_to_json. Returns 0 or -1 with err. */
int tg_result_from_json(const json_t *obj, struct tg_result *out, char *err, size_t errlen);

#endif

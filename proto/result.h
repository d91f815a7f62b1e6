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
#define TG_RESULT_FRAMES 5     /* frames of a RESULT message from its header on */

/* Flags for json_dumps of a result (or an alert): scores print as 0.7, not as
 * 0.69999998807907104 (floats carry about 7 significant digits). */
#define TG_RESULT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

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

/* Copy src into dst: the header and the tags in use only (a whole struct
 * tg_result is about 20 KB, a typical result a few hundred bytes). */
void tg_result_copy(struct tg_result *dst, const struct tg_result *src);

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

/* True when n bytes at s make a valid tag name: 1..TG_TAG_NAME_MAX-1 bytes of
 * ASCII letters, digits, '-' and '_' (so "tag.<name>." is a safe topic). */
bool tg_tag_name_valid(const char *s, size_t n);

/* Check everything a decoder checks: taxonomy (printable ASCII), counts within the
 * maxima, tag names valid and distinct, scores and thresholds finite, evidence
 * fields known, start <= end, rule names UTF-8 without control characters.
 * Returns 0, or -1 with the first problem in err. */
int tg_result_check(const struct tg_result *r, char *err, size_t errlen);

/* Send a RESULT message: [route][hdr 'R'][delivery u64][taxonomy][flags u8][tags blob]
 * (the blob layout is in docs/protocol.md). Never blocks (ZMQ_DONTWAIT). Returns 0,
 * or -1 with errno EINVAL when tg_result_check fails, else errno from ZeroMQ
 * (EAGAIN: the peer's queue is full). */
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

/* Just the "tags" array of tg_result_to_json; caller decrefs. */
json_t *tg_result_tags_to_json(const struct tg_result *r);

/* Replace the tags of out by those of a "tags" array as written above (taxonomy and
 * relevant are kept), then tg_result_check it. Returns 0 or -1 with err. */
int tg_result_tags_from_json(const json_t *arr, struct tg_result *out, char *err,
    size_t errlen);

#endif

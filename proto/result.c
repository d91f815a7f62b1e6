/*
 * Classification results: building one without allocating, the one validator
 * every path shares, the RESULT message (a compact big-endian tags blob, layout
 * in docs/protocol.md) and the JSON form used in alerts and by `tigris classify`.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "../common/text.h"
#include "result.h"

static const char *const field_names[TG_FIELD_COUNT] = {"title", "summary", "category"};

/* Bytes of one encoded tag before its evidence, and of one evidence before its rule. */
#define TAG_FIXED 10      /* namelen u8, score f32, threshold f32, nevidence u8 */
#define EVIDENCE_FIXED 10 /* field u8, start u32, end u32, rulelen u8 */

void
tg_result_reset(struct tg_result *r)
{
	r->taxonomy[0] = '\0';
	r->relevant = false;
	r->ntags = 0;
}

void
tg_result_copy(struct tg_result *dst, const struct tg_result *src)
{
	uint32_t n = src->ntags < TG_RESULT_MAX_TAGS ? src->ntags : TG_RESULT_MAX_TAGS;

	memcpy(dst->taxonomy, src->taxonomy, sizeof(dst->taxonomy));
	dst->relevant = src->relevant;
	dst->ntags = n;
	for (uint32_t i = 0; i < n; i++) {
		const struct tg_tag *t = &src->tags[i];
		uint32_t ne = t->nevidence < TG_TAG_MAX_EVIDENCE ? t->nevidence : TG_TAG_MAX_EVIDENCE;

		/* name, score, threshold, nevidence, then the evidence in use */
		memcpy(&dst->tags[i], t, offsetof(struct tg_tag, evidence));
		memcpy(dst->tags[i].evidence, t->evidence, ne * sizeof(t->evidence[0]));
	}
}

/* Copy at most max-1 bytes of s into dst, cut on a character boundary. */
static void
copy_name(char *dst, size_t max, const char *s, size_t len)
{
	len = tg_utf8_cut(s, len, max - 1);
	memcpy(dst, s, len);
	dst[len] = '\0';
}

struct tg_tag *
tg_result_add_tag(struct tg_result *r, const char *name, float score, float threshold)
{
	struct tg_tag *t;

	if (r->ntags >= TG_RESULT_MAX_TAGS)
		return NULL;
	t = &r->tags[r->ntags++];
	copy_name(t->name, sizeof(t->name), name, strlen(name));
	t->score = score;
	t->threshold = threshold;
	t->nevidence = 0;
	return t;
}

const struct tg_tag *
tg_result_find(const struct tg_result *r, const char *name)
{
	for (uint32_t i = 0; i < r->ntags && i < TG_RESULT_MAX_TAGS; i++)
		if (strcmp(r->tags[i].name, name) == 0)
			return &r->tags[i];
	return NULL;
}

int
tg_tag_add_evidence(struct tg_tag *t, enum tg_field field, uint32_t start, uint32_t end,
    const char *rule)
{
	struct tg_evidence *e;

	if (t->nevidence >= TG_TAG_MAX_EVIDENCE)
		return -1;
	e = &t->evidence[t->nevidence++];
	e->field = (uint8_t)field;
	e->start = start;
	e->end = end;
	copy_name(e->rule, sizeof(e->rule), rule ? rule : "", rule ? strlen(rule) : 0);
	return 0;
}

const char *
tg_field_name(enum tg_field f)
{
	return (unsigned)f < TG_FIELD_COUNT ? field_names[f] : "unknown";
}

bool
tg_tag_name_valid(const char *s, size_t n)
{
	if (n == 0 || n >= TG_TAG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool
taxonomy_valid(const char *s, size_t n)
{
	if (n >= TG_TAXONOMY_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

static bool
rule_valid(const char *s, size_t n)
{
	if (n >= TG_RULE_NAME_MAX || !tg_wire_valid_text(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int
tg_result_check(const struct tg_result *r, char *err, size_t errlen)
{
	const struct tg_tag *t;
	const struct tg_evidence *e;

	if (!taxonomy_valid(r->taxonomy, strnlen(r->taxonomy, sizeof(r->taxonomy)))) {
		snprintf(err, errlen, "result: taxonomy is not 0..%d printable ASCII bytes",
		    TG_TAXONOMY_ID_MAX - 1);
		return -1;
	}
	if (r->ntags > TG_RESULT_MAX_TAGS) {
		snprintf(err, errlen, "result: %u tags, over %d", r->ntags, TG_RESULT_MAX_TAGS);
		return -1;
	}
	for (uint32_t i = 0; i < r->ntags; i++) {
		t = &r->tags[i];
		if (!tg_tag_name_valid(t->name, strnlen(t->name, sizeof(t->name)))) {
			snprintf(err, errlen, "result: tag %u has an invalid name", i);
			return -1;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(r->tags[j].name, t->name) == 0) {
				snprintf(err, errlen, "result: tag \"%s\" appears twice", t->name);
				return -1;
			}
		}
		if (!isfinite(t->score) || !isfinite(t->threshold)) {
			snprintf(err, errlen, "result: tag \"%s\": score or threshold not finite",
			    t->name);
			return -1;
		}
		if (t->nevidence > TG_TAG_MAX_EVIDENCE) {
			snprintf(err, errlen, "result: tag \"%s\": %u pieces of evidence, over %d",
			    t->name, t->nevidence, TG_TAG_MAX_EVIDENCE);
			return -1;
		}
		for (uint32_t j = 0; j < t->nevidence; j++) {
			e = &t->evidence[j];
			if (e->field >= TG_FIELD_COUNT || e->start > e->end ||
			    !rule_valid(e->rule, strnlen(e->rule, sizeof(e->rule)))) {
				snprintf(err, errlen, "result: tag \"%s\" evidence %u: %s", t->name, j,
				    e->field >= TG_FIELD_COUNT ? "unknown field" :
				    e->start > e->end ? "start after end" : "invalid rule name");
				return -1;
			}
		}
	}
	return 0;
}

static unsigned char *
put_f32(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	tg_wire_put_u32(p, u);
	return p + 4;
}

/* Size of the tags blob of a checked result. */
static size_t
blob_size(const struct tg_result *r)
{
	size_t n = 1;

	for (uint32_t i = 0; i < r->ntags; i++) {
		n += TAG_FIXED + strlen(r->tags[i].name);
		for (uint32_t j = 0; j < r->tags[i].nevidence; j++)
			n += EVIDENCE_FIXED + strlen(r->tags[i].evidence[j].rule);
	}
	return n;
}

static void
blob_fill(const struct tg_result *r, unsigned char *p)
{
	const struct tg_tag *t;
	const struct tg_evidence *e;
	size_t len;

	*p++ = (unsigned char)r->ntags;
	for (uint32_t i = 0; i < r->ntags; i++) {
		t = &r->tags[i];
		len = strlen(t->name);
		*p++ = (unsigned char)len;
		memcpy(p, t->name, len);
		p = put_f32(p + len, t->score);
		p = put_f32(p, t->threshold);
		*p++ = (unsigned char)t->nevidence;
		for (uint32_t j = 0; j < t->nevidence; j++) {
			e = &t->evidence[j];
			*p++ = e->field;
			tg_wire_put_u32(p, e->start);
			tg_wire_put_u32(p + 4, e->end);
			p += 8;
			len = strlen(e->rule);
			*p++ = (unsigned char)len;
			memcpy(p, e->rule, len);
			p += len;
		}
	}
}

int
tg_result_send(void *sock, const void *route, size_t routelen, uint64_t delivery,
    const struct tg_result *r)
{
	struct tg_wire_part parts[5];
	unsigned char hdr[4], dv[8], flags;
	char err[128];
	zmq_msg_t blob;
	size_t n = 0;
	int e;

	if (tg_result_check(r, err, sizeof(err)) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (route != NULL && routelen > 0)
		parts[n++] = (struct tg_wire_part){route, routelen};
	tg_wire_header(hdr, TG_WIRE_RESULT);
	parts[n++] = (struct tg_wire_part){hdr, 4};
	tg_wire_put_u64(dv, delivery);
	parts[n++] = (struct tg_wire_part){dv, 8};
	parts[n++] = (struct tg_wire_part){r->taxonomy, strlen(r->taxonomy)};
	flags = r->relevant ? 1 : 0;
	parts[n++] = (struct tg_wire_part){&flags, 1};
	/* The blob is written straight into the frame ZeroMQ sends. */
	if (zmq_msg_init_size(&blob, blob_size(r)) < 0)
		return -1;
	blob_fill(r, zmq_msg_data(&blob));
	if (tg_wire_send_more(sock, parts, n, 1) < 0 ||
	    zmq_msg_send(&blob, sock, ZMQ_DONTWAIT) < 0) {
		e = errno;
		zmq_msg_close(&blob);
		errno = e;
		return -1;
	}
	return 0;
}

/* A bounds-checked reader over the tags blob. */
struct cursor {
	const unsigned char *p;
	size_t left;
};

static bool
get_u8(struct cursor *c, uint8_t *v)
{
	if (c->left < 1)
		return false;
	*v = *c->p++;
	c->left--;
	return true;
}

static bool
get_u32(struct cursor *c, uint32_t *v)
{
	if (c->left < 4)
		return false;
	*v = tg_wire_get_u32(c->p);
	c->p += 4;
	c->left -= 4;
	return true;
}

static bool
get_f32(struct cursor *c, float *f)
{
	uint32_t u;

	if (!get_u32(c, &u))
		return false;
	memcpy(f, &u, sizeof(*f));
	return true;
}

/* A string of n bytes (n < max, checked by the caller) into dst. */
static bool
get_str(struct cursor *c, size_t n, char *dst)
{
	if (c->left < n)
		return false;
	memcpy(dst, c->p, n);
	dst[n] = '\0';
	c->p += n;
	c->left -= n;
	return true;
}

static int
parse_blob(struct cursor *c, struct tg_result *out, char *err, size_t errlen)
{
	struct tg_tag *t;
	struct tg_evidence *e;
	uint8_t ntags, len, nev;

	if (!get_u8(c, &ntags))
		goto truncated;
	if (ntags > TG_RESULT_MAX_TAGS) {
		snprintf(err, errlen, "result: %u tags, over %d", ntags, TG_RESULT_MAX_TAGS);
		return -1;
	}
	for (out->ntags = 0; out->ntags < ntags; out->ntags++) {
		t = &out->tags[out->ntags];
		if (!get_u8(c, &len))
			goto truncated;
		if (len == 0 || len >= TG_TAG_NAME_MAX) {
			snprintf(err, errlen, "result: tag %u name is %u bytes", out->ntags, len);
			return -1;
		}
		if (!get_str(c, len, t->name))
			goto truncated;
		if (strlen(t->name) != len)
			goto nul;
		if (!get_f32(c, &t->score) || !get_f32(c, &t->threshold) || !get_u8(c, &nev))
			goto truncated;
		if (nev > TG_TAG_MAX_EVIDENCE) {
			snprintf(err, errlen, "result: tag %u has %u pieces of evidence, over %d",
			    out->ntags, nev, TG_TAG_MAX_EVIDENCE);
			return -1;
		}
		for (t->nevidence = 0; t->nevidence < nev; t->nevidence++) {
			e = &t->evidence[t->nevidence];
			if (!get_u8(c, &e->field) || !get_u32(c, &e->start) ||
			    !get_u32(c, &e->end) || !get_u8(c, &len))
				goto truncated;
			if (len >= TG_RULE_NAME_MAX) {
				snprintf(err, errlen, "result: rule name of %u bytes", len);
				return -1;
			}
			if (!get_str(c, len, e->rule))
				goto truncated;
			if (strlen(e->rule) != len)
				goto nul;
		}
	}
	if (c->left != 0) {
		snprintf(err, errlen, "result: %zu bytes after the last tag", c->left);
		return -1;
	}
	return 0;
truncated:
	snprintf(err, errlen, "result: tags blob truncated in tag %u", out->ntags);
	return -1;
nul:
	snprintf(err, errlen, "result: NUL byte in a name in tag %u", out->ntags);
	return -1;
}

int
tg_result_decode(const struct tg_wire_msg *m, size_t first, uint64_t *delivery,
    struct tg_result *out, char *err, size_t errlen)
{
	struct cursor c;
	const unsigned char *flags;
	size_t n;

	tg_result_reset(out);
	if (tg_wire_expect(m, first, TG_WIRE_RESULT, TG_RESULT_FRAMES, err, errlen) < 0)
		return -1;
	if (tg_wire_size(m, first + 1) != 8) {
		snprintf(err, errlen, "result: delivery id is %zu bytes, want 8",
		    tg_wire_size(m, first + 1));
		return -1;
	}
	*delivery = tg_wire_get_u64(tg_wire_data(m, first + 1));
	flags = tg_wire_data(m, first + 3);
	if (tg_wire_size(m, first + 3) != 1 || (flags[0] & ~1u) != 0) {
		snprintf(err, errlen, "result: bad flags frame");
		return -1;
	}
	n = tg_wire_size(m, first + 2);
	if (!taxonomy_valid(tg_wire_data(m, first + 2), n)) {
		snprintf(err, errlen, "result: taxonomy is not 0..%d printable ASCII bytes",
		    TG_TAXONOMY_ID_MAX - 1);
		return -1;
	}
	c.p = tg_wire_data(m, first + 4);
	c.left = tg_wire_size(m, first + 4);
	if (parse_blob(&c, out, err, errlen) < 0 || tg_result_check(out, err, errlen) < 0) {
		tg_result_reset(out);
		return -1;
	}
	memcpy(out->taxonomy, tg_wire_data(m, first + 2), n);
	out->taxonomy[n] = '\0';
	out->relevant = flags[0] & 1;
	return 0;
}

json_t *
tg_result_tags_to_json(const struct tg_result *r)
{
	json_t *tags = json_array(), *t, *ev;
	const struct tg_evidence *e;

	for (uint32_t i = 0; i < r->ntags && i < TG_RESULT_MAX_TAGS; i++) {
		ev = json_array();
		for (uint32_t j = 0; j < r->tags[i].nevidence && j < TG_TAG_MAX_EVIDENCE; j++) {
			e = &r->tags[i].evidence[j];
			json_array_append_new(ev, json_pack("{s:s, s:I, s:I, s:s}", "field",
			    tg_field_name(e->field), "start", (json_int_t)e->start, "end",
			    (json_int_t)e->end, "rule", e->rule));
		}
		t = json_pack("{s:s, s:f, s:f, s:o}", "tag", r->tags[i].name, "score",
		    (double)r->tags[i].score, "threshold", (double)r->tags[i].threshold,
		    "evidence", ev);
		json_array_append_new(tags, t);
	}
	return tags;
}

json_t *
tg_result_to_json(const struct tg_result *r)
{
	return json_pack("{s:s, s:b, s:o}", "taxonomy", r->taxonomy, "relevant", r->relevant,
	    "tags", tg_result_tags_to_json(r));
}

static int
evidence_from_json(const json_t *o, struct tg_evidence *e, char *err, size_t errlen)
{
	json_t *field = json_object_get(o, "field"), *start = json_object_get(o, "start");
	json_t *end = json_object_get(o, "end"), *rule = json_object_get(o, "rule");
	int f;

	if (!json_is_string(field) || !json_is_integer(start) || !json_is_integer(end) ||
	    !json_is_string(rule)) {
		snprintf(err, errlen, "evidence needs \"field\", \"rule\" (strings), \"start\" "
		    "and \"end\" (integers)");
		return -1;
	}
	for (f = 0; f < TG_FIELD_COUNT; f++)
		if (strcmp(json_string_value(field), field_names[f]) == 0)
			break;
	if (f == TG_FIELD_COUNT) {
		snprintf(err, errlen, "evidence: unknown field \"%.32s\"", json_string_value(field));
		return -1;
	}
	if (json_integer_value(start) < 0 || json_integer_value(start) > UINT32_MAX ||
	    json_integer_value(end) < 0 || json_integer_value(end) > UINT32_MAX ||
	    json_string_length(rule) >= TG_RULE_NAME_MAX ||
	    memchr(json_string_value(rule), 0, json_string_length(rule))) {
		snprintf(err, errlen, "evidence: offset or rule out of range");
		return -1;
	}
	e->field = (uint8_t)f;
	e->start = (uint32_t)json_integer_value(start);
	e->end = (uint32_t)json_integer_value(end);
	memcpy(e->rule, json_string_value(rule), json_string_length(rule) + 1);
	return 0;
}

/* A JSON number as a float; out-of-range values become infinite (and are refused). */
static float
to_float(const json_t *v)
{
	double d = json_number_value(v);

	return fabs(d) <= FLT_MAX ? (float)d : INFINITY;
}

int
tg_result_tags_from_json(const json_t *arr, struct tg_result *out, char *err, size_t errlen)
{
	json_t *o, *name, *score, *thr, *ev, *e;
	struct tg_tag *t;
	size_t i, j;
	char why[160];

	out->ntags = 0;
	if (!json_is_array(arr) || json_array_size(arr) > TG_RESULT_MAX_TAGS) {
		snprintf(err, errlen, "result: \"tags\" is not an array of at most %d",
		    TG_RESULT_MAX_TAGS);
		return -1;
	}
	json_array_foreach(arr, i, o) {
		t = &out->tags[i];
		name = json_object_get(o, "tag");
		score = json_object_get(o, "score");
		thr = json_object_get(o, "threshold");
		ev = json_object_get(o, "evidence");
		if (!json_is_string(name) || json_string_length(name) >= TG_TAG_NAME_MAX ||
		    !json_is_number(score) || !json_is_number(thr) ||
		    (ev != NULL && (!json_is_array(ev) ||
		    json_array_size(ev) > TG_TAG_MAX_EVIDENCE))) {
			snprintf(err, errlen, "result: tag %zu needs \"tag\" (a name), \"score\" and "
			    "\"threshold\" (numbers), \"evidence\" (an array of at most %d)", i,
			    TG_TAG_MAX_EVIDENCE);
			goto fail;
		}
		/* The length is checked above; a NUL inside is caught by the name check. */
		memcpy(t->name, json_string_value(name), json_string_length(name) + 1);
		if (strlen(t->name) != json_string_length(name))
			t->name[0] = '\0';
		t->score = to_float(score);
		t->threshold = to_float(thr);
		t->nevidence = 0;
		json_array_foreach(ev, j, e) {
			if (evidence_from_json(e, &t->evidence[j], why, sizeof(why)) < 0) {
				snprintf(err, errlen, "result: tag %zu %s", i, why);
				goto fail;
			}
			t->nevidence++;
		}
		out->ntags++;
	}
	if (tg_result_check(out, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	out->ntags = 0;
	return -1;
}

int
tg_result_from_json(const json_t *obj, struct tg_result *out, char *err, size_t errlen)
{
	json_t *tax = json_object_get(obj, "taxonomy"), *rel = json_object_get(obj, "relevant");

	tg_result_reset(out);
	if (!json_is_object(obj) || !json_is_string(tax) || !json_is_boolean(rel)) {
		snprintf(err, errlen, "result: need an object with \"taxonomy\" (a string) and "
		    "\"relevant\" (a boolean)");
		return -1;
	}
	if (!taxonomy_valid(json_string_value(tax), json_string_length(tax))) {
		snprintf(err, errlen, "result: taxonomy is not 0..%d printable ASCII bytes",
		    TG_TAXONOMY_ID_MAX - 1);
		return -1;
	}
	memcpy(out->taxonomy, json_string_value(tax), json_string_length(tax) + 1);
	out->relevant = json_is_true(rel);
	if (tg_result_tags_from_json(json_object_get(obj, "tags"), out, err, errlen) < 0) {
		tg_result_reset(out);
		return -1;
	}
	return 0;
}

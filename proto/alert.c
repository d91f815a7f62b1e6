/*
 * Alerts as tigrisd publishes them: one JSON object per classified item, sent on
 * the topics "all.", "relevant." and "tag.<name>." (see alert.h and
 * docs/protocol.md), with a validating decoder for subscribers and tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "alert.h"

/* Seed of the second half of the alert id (the first half uses TG_HASH_INIT). */
#define ALERT_ID_SEED2 0x9e3779b97f4a7c15ULL

void
tg_alert_init(struct tg_alert *a)
{
	a->seq = 0;
	a->epoch[0] = '\0';
	a->alert_id[0] = '\0';
	a->published_ms = 0;
	tg_item_init(&a->item);
	tg_result_reset(&a->result);
}

void
tg_alert_clear(struct tg_alert *a)
{
	tg_item_clear(&a->item);
	tg_alert_init(a);
}

static uint64_t
id_hash(uint64_t h, const char *feed, const char *item_id, const char *taxonomy)
{
	h = tg_hash64(h, feed, strlen(feed) + 1);
	h = tg_hash64(h, item_id, strlen(item_id) + 1);
	return tg_hash64(h, taxonomy, strlen(taxonomy));
}

void
tg_alert_make_id(const char *feed, const char *item_id, const char *taxonomy, char out[33])
{
	feed = feed ? feed : "";
	item_id = item_id ? item_id : "";
	taxonomy = taxonomy ? taxonomy : "";
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64,
	    id_hash(TG_HASH_INIT, feed, item_id, taxonomy),
	    id_hash(ALERT_ID_SEED2, feed, item_id, taxonomy));
}

/* The alert is written straight into one buffer rather than built as a jansson
 * tree and dumped: it is the daemon's hottest per-item step. The output is the
 * same JSON that tg_alert_decode reads (and the tests decode it to check). */

static void
put(struct tg_buf *b, const char *s, size_t n, bool *ok)
{
	if (*ok && tg_buf_append(b, s, n) != 0)
		*ok = false;
}

#define PUT_LIT(b, lit, ok) put((b), (lit), sizeof(lit) - 1, (ok))

/* A JSON string: quotes, backslashes and control characters escaped; the text is
 * UTF-8 already (items and results are validated where they enter). */
static void
put_str(struct tg_buf *b, const char *s, bool *ok)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	put(b, "\"", 1, ok);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, run, (size_t)(s - run), ok);
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		put(b, esc, n, ok);
		run = s + 1;
	}
	if (s)
		put(b, run, (size_t)(s - run), ok);
	put(b, "\"", 1, ok);
}

static void
put_key_str(struct tg_buf *b, const char *key, const char *v, bool *ok)
{
	if (v == NULL)
		return;
	put_str(b, key, ok);
	put(b, ":", 1, ok);
	put_str(b, v, ok);
	put(b, ",", 1, ok);
}

/* Decimal digits of v (no sign) ending at end; returns where they start. */
static char *
put_digits(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* An integer, without snprintf (the encoder writes a score of them per alert). */
static void
put_int(struct tg_buf *b, long long v, bool *ok)
{
	char num[24], *end = num + sizeof(num), *p;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	p = put_digits(end, u);
	if (v < 0)
		*--p = '-';
	put(b, p, (size_t)(end - p), ok);
}

/* A real as jansson writes it with 7 significant digits ("%.7g"), always with a
 * '.' or an exponent. Scores and thresholds are nearly always short binary
 * fractions (3.5, 0.25, 2): those under 10,000 with at most three decimals are
 * written directly, which gives the same text; anything else goes to snprintf. */
static void
put_real(struct tg_buf *b, double v, bool *ok)
{
	char num[40];
	double x = v * 1000.0;
	int n;

	if (v > -10000.0 && v < 10000.0 && x == (double)(long long)x) {
		long long m = (long long)x;
		unsigned long long u = m < 0 ? 0ull - (unsigned long long)m : (unsigned long long)m;
		unsigned frac = (unsigned)(u % 1000);
		char *end = num + sizeof(num), *p = end;

		if (frac == 0)
			*--p = '0';
		else {
			int digits = 3;

			while (frac % 10 == 0) {
				frac /= 10;
				digits--;
			}
			while (digits-- > 0) {
				*--p = (char)('0' + frac % 10);
				frac /= 10;
			}
		}
		*--p = '.';
		p = put_digits(p, u / 1000);
		if (m < 0)
			*--p = '-';
		put(b, p, (size_t)(end - p), ok);
		return;
	}
	n = snprintf(num, sizeof(num), "%.7g", v);

	if (strpbrk(num, ".eEn") == NULL && n < (int)sizeof(num) - 2) {
		memcpy(num + n, ".0", 3);
		n += 2;
	}
	put(b, num, (size_t)n, ok);
}

static void
put_list(struct tg_buf *b, char *const *v, size_t n, bool *ok)
{
	put(b, "[", 1, ok);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(b, ",", 1, ok);
		put_str(b, v[i], ok);
	}
	put(b, "]", 1, ok);
}

static size_t
text_len(const char *s)
{
	return s ? strlen(s) : 0;
}

char *
tg_alert_encode(const struct tg_alert *a, size_t *len)
{
	const struct tg_item *it = &a->item;
	const struct tg_result *r = &a->result;
	struct tg_buf b;
	bool ok = true;
	uint32_t ntags = r->ntags < TG_RESULT_MAX_TAGS ? r->ntags : TG_RESULT_MAX_TAGS;

	tg_buf_init(&b, TG_ALERT_MAX_BYTES);
	/* One allocation for most alerts: the item's text plus room for the rest
	 * (escapes and a long evidence list may still grow it). */
	if (tg_buf_reserve(&b, text_len(it->title) + text_len(it->summary) + text_len(it->link) +
	    1024 + 160 * (size_t)ntags) != 0) {
		tg_buf_free(&b);
		return NULL;
	}
	PUT_LIT(&b, "{\"v\":", &ok);
	put_int(&b, TG_ALERT_VERSION, &ok);
	PUT_LIT(&b, ",\"type\":\"alert\",\"alert_id\":", &ok);
	put_str(&b, a->alert_id, &ok);
	PUT_LIT(&b, ",\"epoch\":", &ok);
	put_str(&b, a->epoch, &ok);
	PUT_LIT(&b, ",\"seq\":", &ok);
	put_int(&b, (long long)a->seq, &ok);
	PUT_LIT(&b, ",\"published_ms\":", &ok);
	put_int(&b, (long long)a->published_ms, &ok);
	if (r->relevant)
		PUT_LIT(&b, ",\"relevant\":true,\"taxonomy\":", &ok);
	else
		PUT_LIT(&b, ",\"relevant\":false,\"taxonomy\":", &ok);
	put_str(&b, r->taxonomy, &ok);
	PUT_LIT(&b, ",\"tags\":[", &ok);
	for (uint32_t i = 0; i < ntags; i++) {
		if (i)
			put(&b, ",", 1, &ok);
		put_str(&b, r->tags[i].name, &ok);
	}
	PUT_LIT(&b, "],\"item\":{", &ok);
	put_key_str(&b, "id", it->id, &ok);
	put_key_str(&b, "feed", it->feed, &ok);
	put_key_str(&b, "title", it->title, &ok);
	put_key_str(&b, "link", it->link, &ok);
	put_key_str(&b, "summary", it->summary, &ok);
	put_key_str(&b, "published", it->published, &ok);
	put_key_str(&b, "updated", it->updated, &ok);
	PUT_LIT(&b, "\"authors\":", &ok);
	put_list(&b, it->authors, it->nauthors, &ok);
	PUT_LIT(&b, ",\"categories\":", &ok);
	put_list(&b, it->categories, it->ncategories, &ok);
	if (it->fetched_ms != 0) {
		PUT_LIT(&b, ",\"fetched_ms\":", &ok);
		put_int(&b, (long long)it->fetched_ms, &ok);
	}
	PUT_LIT(&b, "},\"evidence\":[", &ok);
	for (uint32_t i = 0; i < ntags; i++) {
		const struct tg_tag *t = &r->tags[i];
		uint32_t nev = t->nevidence < TG_TAG_MAX_EVIDENCE ? t->nevidence : TG_TAG_MAX_EVIDENCE;

		if (i)
			put(&b, ",", 1, &ok);
		PUT_LIT(&b, "{\"tag\":", &ok);
		put_str(&b, t->name, &ok);
		PUT_LIT(&b, ",\"score\":", &ok);
		put_real(&b, (double)t->score, &ok);
		PUT_LIT(&b, ",\"threshold\":", &ok);
		put_real(&b, (double)t->threshold, &ok);
		PUT_LIT(&b, ",\"evidence\":[", &ok);
		for (uint32_t j = 0; j < nev; j++) {
			const struct tg_evidence *e = &t->evidence[j];

			if (j)
				put(&b, ",", 1, &ok);
			PUT_LIT(&b, "{\"field\":", &ok);
			put_str(&b, tg_field_name((enum tg_field)e->field), &ok);
			PUT_LIT(&b, ",\"start\":", &ok);
			put_int(&b, e->start, &ok);
			PUT_LIT(&b, ",\"end\":", &ok);
			put_int(&b, e->end, &ok);
			PUT_LIT(&b, ",\"rule\":", &ok);
			put_str(&b, e->rule, &ok);
			put(&b, "}", 1, &ok);
		}
		PUT_LIT(&b, "]}", &ok);
	}
	PUT_LIT(&b, "]}", &ok);
	if (!ok) {
		tg_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return tg_buf_take(&b);
}

static bool
epoch_valid(const char *s, size_t n)
{
	if (n == 0 || n >= TG_EPOCH_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

static bool
alert_id_valid(const char *s, size_t n)
{
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The "tags" list must name the tags of the "evidence" list, in order. */
static int
check_names(const json_t *names, const struct tg_result *r, char *err, size_t errlen)
{
	json_t *v;
	size_t i;

	if (!json_is_array(names) || json_array_size(names) != r->ntags) {
		snprintf(err, errlen, "alert: \"tags\" is not an array as long as \"evidence\"");
		return -1;
	}
	json_array_foreach(names, i, v) {
		if (!json_is_string(v) || strcmp(json_string_value(v), r->tags[i].name) != 0) {
			snprintf(err, errlen, "alert: \"tags\"[%zu] does not match \"evidence\"", i);
			return -1;
		}
	}
	return 0;
}

int
tg_alert_decode(const char *json, size_t len, struct tg_alert *out, char *err, size_t errlen)
{
	json_t *o = NULL, *v, *type, *epoch, *seq, *id, *pub, *rel, *tax;
	json_error_t jerr;
	struct tg_result *r = &out->result;
	unsigned long failures = tg_alloc_failures();
	int rc = -1;

	tg_alert_init(out);
	if (len > TG_ALERT_MAX_BYTES) {
		snprintf(err, errlen, "alert: %zu bytes, over %d", len, TG_ALERT_MAX_BYTES);
		goto out;
	}
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jansson drops a byte of a string when growing its buffer fails: with the
	 * counting allocators of tg_feed_global_init that is seen here. */
	if (tg_alloc_failures() != failures) {
		snprintf(err, errlen, "alert: out of memory");
		goto out;
	}
	if (o == NULL) {
		snprintf(err, errlen, "alert: bad JSON at line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "alert: not a JSON object");
		goto out;
	}
	v = json_object_get(o, "v");
	type = json_object_get(o, "type");
	if (!json_is_integer(v) || json_integer_value(v) != TG_ALERT_VERSION) {
		snprintf(err, errlen, "alert: \"v\" is not %d", TG_ALERT_VERSION);
		goto out;
	}
	if (!json_is_string(type) || strcmp(json_string_value(type), "alert") != 0) {
		snprintf(err, errlen, "alert: \"type\" is not \"alert\"");
		goto out;
	}
	epoch = json_object_get(o, "epoch");
	seq = json_object_get(o, "seq");
	id = json_object_get(o, "alert_id");
	pub = json_object_get(o, "published_ms");
	rel = json_object_get(o, "relevant");
	tax = json_object_get(o, "taxonomy");
	if (!json_is_string(epoch) ||
	    !epoch_valid(json_string_value(epoch), json_string_length(epoch))) {
		snprintf(err, errlen, "alert: \"epoch\" is not 1..%d printable ASCII bytes",
		    TG_EPOCH_MAX - 1);
		goto out;
	}
	if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
		snprintf(err, errlen, "alert: \"seq\" is not a non-negative integer");
		goto out;
	}
	if (!json_is_string(id) || !alert_id_valid(json_string_value(id), json_string_length(id))) {
		snprintf(err, errlen, "alert: \"alert_id\" is not 32 lowercase hex digits");
		goto out;
	}
	if (!json_is_integer(pub) || json_integer_value(pub) < 0) {
		snprintf(err, errlen, "alert: \"published_ms\" is not a non-negative integer");
		goto out;
	}
	if (!json_is_boolean(rel) || !json_is_string(tax) ||
	    json_string_length(tax) >= TG_TAXONOMY_ID_MAX) {
		snprintf(err, errlen, "alert: \"relevant\" (a boolean) or \"taxonomy\" (a string) "
		    "missing or wrong");
		goto out;
	}
	if (!json_is_array(json_object_get(o, "evidence"))) {
		snprintf(err, errlen, "alert: \"evidence\" is not an array");
		goto out;
	}
	memcpy(out->epoch, json_string_value(epoch), json_string_length(epoch) + 1);
	out->seq = (uint64_t)json_integer_value(seq);
	memcpy(out->alert_id, json_string_value(id), 33);
	out->published_ms = json_integer_value(pub);
	memcpy(r->taxonomy, json_string_value(tax), json_string_length(tax) + 1);
	r->relevant = json_is_true(rel);
	/* tg_result_tags_from_json checks the taxonomy along with the tags. */
	if (tg_result_tags_from_json(json_object_get(o, "evidence"), r, err, errlen) < 0 ||
	    check_names(json_object_get(o, "tags"), r, err, errlen) < 0 ||
	    tg_item_from_json(json_object_get(o, "item"), &out->item, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	if (rc < 0)
		tg_alert_clear(out);
	return rc;
}

int
tg_alert_tag_topic(const char *tag, char *out, size_t outlen)
{
	int n;

	if (tag == NULL || tag[0] == '\0')
		return -1;
	n = snprintf(out, outlen, "%s%s.", TG_TOPIC_TAG_PREFIX, tag);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

/* Send [topic][body]; body is a copy of msg (ZeroMQ shares the bytes, no copy). */
static int
send_topic(void *pub, const char *topic, size_t tlen, zmq_msg_t *msg)
{
	zmq_msg_t body;

	zmq_msg_init(&body);
	if (zmq_msg_copy(&body, msg) < 0)
		return -1;
	if (zmq_send(pub, topic, tlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_msg_send(&body, pub, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&body);
		return -1;
	}
	return 0;
}

bool
tg_alert_tags_next(const char **p, char *name, size_t namelen)
{
	const char *s = *p;
	size_t n;

	while (s && *s) {
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n == 0)
			break;
		*p = s + n;
		if (n < namelen) {
			memcpy(name, s, n);
			name[n] = '\0';
			return true;
		}
		s += n; /* too long for the caller: skip it */
	}
	if (s)
		*p = s;
	return false;
}

int
tg_alert_publish_tags(void *pub, bool relevant, const char *tags, const char *json, size_t len)
{
	char topic[TG_TAG_NAME_MAX + sizeof(TG_TOPIC_TAG_PREFIX) + 1];
	char name[TG_TAG_NAME_MAX];
	zmq_msg_t msg;
	int sent = 0, tlen, e;
	const char *p = tags;

	if (zmq_msg_init_size(&msg, len) < 0)
		return -1;
	memcpy(zmq_msg_data(&msg), json, len);
	if (send_topic(pub, TG_TOPIC_ALL, strlen(TG_TOPIC_ALL), &msg) < 0)
		goto fail;
	sent++;
	if (relevant) {
		if (send_topic(pub, TG_TOPIC_RELEVANT, strlen(TG_TOPIC_RELEVANT), &msg) < 0)
			goto fail;
		sent++;
	}
	while (tg_alert_tags_next(&p, name, sizeof(name))) {
		tlen = tg_alert_tag_topic(name, topic, sizeof(topic));
		if (tlen < 0)
			continue;
		if (send_topic(pub, topic, (size_t)tlen, &msg) < 0)
			goto fail;
		sent++;
	}
	zmq_msg_close(&msg);
	return sent;
fail:
	e = errno;
	zmq_msg_close(&msg);
	errno = e;
	return -1;
}

int
tg_alert_publish_heartbeat(void *pub, const char *json, size_t len)
{
	if (zmq_send(pub, TG_TOPIC_HEARTBEAT, strlen(TG_TOPIC_HEARTBEAT),
		ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -1;
	return zmq_send(pub, json, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

size_t
tg_alert_join_tags(const struct tg_result *r, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen == 0)
		return 0;
	out[n++] = ' ';
	for (uint32_t i = 0; i < r->ntags && i < TG_RESULT_MAX_TAGS; i++) {
		size_t l = strlen(r->tags[i].name);
		if (n + l + 2 > outlen)
			break;
		memcpy(out + n, r->tags[i].name, l);
		n += l;
		out[n++] = ' ';
	}
	out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}

int
tg_alert_publish(void *pub, const struct tg_result *r, const char *json, size_t len)
{
	char tags[TG_ALERT_TAGS_MAX];

	tg_alert_join_tags(r, tags, sizeof(tags));
	return tg_alert_publish_tags(pub, r->relevant, tags, json, len);
}

/*
 * Alerts: what tigrisd publishes on its PUB socket, one per classified item.
 * A published message has two frames: a topic, then the alert as JSON.
 *
 * Topics end with '.' so that ZeroMQ prefix matching never confuses one tag with
 * another ("tag.us." is not a prefix of "tag.us-iran."). Each alert is sent once
 * on "all." (subscribe to it to get every item exactly once), once on
 * "relevant." if it is relevant, and once on "tag.<name>." for each of its tags.
 */
#ifndef TG_ALERT_H
#define TG_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "item.h"
#include "result.h"

#define TG_ALERT_VERSION 1
#define TG_TOPIC_ALL "all."
#define TG_TOPIC_RELEVANT "relevant."
#define TG_TOPIC_TAG_PREFIX "tag."
#define TG_TOPIC_HEARTBEAT "hb." /* {"v":1,"type":"heartbeat","epoch","seq"} every second */
#define TG_ALERT_MAX_BYTES (1024 * 1024)
#define TG_EPOCH_MAX 33

struct tg_alert {
	uint64_t seq;              /* increases by one per alert within an epoch */
	char epoch[TG_EPOCH_MAX];  /* identifies the daemon's sequence; changes when it restarts from zero */
	char alert_id[33];         /* hex id stable across retries: hash of feed, item id, taxonomy */
	int64_t published_ms;      /* wall clock when published */
	struct tg_item item;
	struct tg_result result;
};

/* Zero an alert; tg_alert_clear frees what its item owns. */
void tg_alert_init(struct tg_alert *a);
void tg_alert_clear(struct tg_alert *a);

/* Compute the alert id from feed, item id and taxonomy version into out. */
void tg_alert_make_id(const char *feed, const char *item_id, const char *taxonomy, char out[33]);

/* Encode as one line of JSON (no newline). Returns a malloc'd string (caller frees)
 * with its length in *len, or NULL when it would exceed TG_ALERT_MAX_BYTES. */
char *tg_alert_encode(const struct tg_alert *a, size_t *len);

/* Decode and validate alert JSON into out (zeroed; caller clears).
 * Returns 0, or -1 with the reason in err. */
int tg_alert_decode(const char *json, size_t len, struct tg_alert *out, char *err, size_t errlen);

/* Write the topic for tag into out ("tag.<name>."); returns its length or -1 if too long. */
int tg_alert_tag_topic(const char *tag, char *out, size_t outlen);

/* Room for every tag name of a result joined as " a b c ". */
#define TG_ALERT_TAGS_MAX (TG_RESULT_MAX_TAGS * TG_TAG_NAME_MAX + 2)

/* Write the tag names of r as " a b c " (spaces around each) into out; returns
 * the length. The form the store keeps for replay by tag. */
size_t tg_alert_join_tags(const struct tg_result *r, char *out, size_t outlen);

/* Copy the next name of a " a b " tag list at *p into name (at most namelen-1
 * bytes; longer ones are skipped) and move *p past it. Returns false at the end. */
bool tg_alert_tags_next(const char **p, char *name, size_t namelen);

/* Publish on "all.", on "relevant." when relevant, and on "tag.<name>." for each
 * name in tags (" a b " as tg_alert_join_tags writes). Returns messages sent or -1. */
int tg_alert_publish_tags(void *pub, bool relevant, const char *tags, const char *json, size_t len);

/* Publish a heartbeat (its JSON already made) on TG_TOPIC_HEARTBEAT. 0 or -1. */
int tg_alert_publish_heartbeat(void *pub, const char *json, size_t len);

/* Publish the encoded alert on every topic it belongs to (see above).
 * Returns the number of messages sent, or -1 with errno from ZeroMQ. */
int tg_alert_publish(void *pub, const struct tg_result *r, const char *json, size_t len);

#endif

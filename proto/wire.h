/*
 * Multipart ZeroMQ messages as tigris sends them on its internal hops
 * (daemon <-> worker). Every message starts with a 4-byte header frame
 * "T" "G" <type> <version>; the frames after it depend on the type (see
 * docs/protocol.md). This module receives whole messages with a size cap and
 * sends lists of frames; the typed encoders and decoders live in item.c,
 * result.c and control.c.
 */
#ifndef TG_WIRE_H
#define TG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define TG_WIRE_VERSION 1
#define TG_WIRE_MAX_FRAMES 16
#define TG_WIRE_MAX_BYTES (256 * 1024) /* fits the largest valid message of any type */

/* Message types: the third byte of the header frame. */
enum tg_wire_type {
	TG_WIRE_ITEM = 'I',      /* daemon -> worker: one item to classify */
	TG_WIRE_RESULT = 'R',    /* worker -> daemon: the classification, also the ack */
	TG_WIRE_HELLO = 'H',     /* worker -> daemon: I am here, with this many credits */
	TG_WIRE_HEARTBEAT = 'B', /* either way: I am alive */
};

/* One received multipart message: up to TG_WIRE_MAX_FRAMES frames. */
struct tg_wire_msg {
	size_t n;
	size_t total; /* bytes in all frames */
	zmq_msg_t f[TG_WIRE_MAX_FRAMES];
};

/* A frame to send: borrowed bytes, copied by ZeroMQ when sent. */
struct tg_wire_part {
	const void *data;
	size_t len;
};

/* Receive one whole multipart message without blocking. Returns 1 when a message
 * was received (caller calls tg_wire_msg_close), 0 when none is waiting, -1 when
 * the message broke a limit (more than TG_WIRE_MAX_FRAMES frames or more than
 * max_bytes in total; max_bytes 0 means TG_WIRE_MAX_BYTES): its remaining frames
 * are drained and discarded, err says why, errno is EMSGSIZE, and m holds nothing
 * to close. -1 with any other errno is a socket error (ETERM, ENOTSOCK, EINTR...). */
int tg_wire_recv(void *sock, struct tg_wire_msg *m, size_t max_bytes, char *err, size_t errlen);

/* Release the frames of a received message. */
void tg_wire_msg_close(struct tg_wire_msg *m);

/* Send n parts as one multipart message (ZMQ_DONTWAIT when dontwait). Returns 0 or
 * -1 with errno from zmq_send. */
int tg_wire_send(void *sock, const struct tg_wire_part *parts, size_t n, int dontwait);

/* As tg_wire_send but every part, the last included, is sent with ZMQ_SNDMORE:
 * the caller sends the final frame itself. */
int tg_wire_send_more(void *sock, const struct tg_wire_part *parts, size_t n, int dontwait);

/* Frame i of m as pointer and length. */
const void *tg_wire_data(const struct tg_wire_msg *m, size_t i);
size_t tg_wire_size(const struct tg_wire_msg *m, size_t i);

/* Fill hdr with the 4-byte header of a message of this type. */
void tg_wire_header(unsigned char hdr[4], enum tg_wire_type type);

/* Check that frame i of m is a valid header; returns its type, or -1 with err. */
int tg_wire_check_header(const struct tg_wire_msg *m, size_t i, char *err, size_t errlen);

/* Check that frame first of m is a valid header of this type and that the message
 * has exactly nframes frames from the header on; else -1 with err. */
int tg_wire_expect(const struct tg_wire_msg *m, size_t first, enum tg_wire_type type,
    size_t nframes, char *err, size_t errlen);

/* Name of a message type ("item", "result", "hello", "heartbeat"), or "unknown". */
const char *tg_wire_type_name(int type);

/* True when n bytes at p are valid UTF-8 (tg_utf8_valid) and hold no NUL byte:
 * what every text frame must be. */
bool tg_wire_valid_text(const void *p, size_t n);

/* Big-endian 64-bit and 32-bit integers in frames. */
void tg_wire_put_u64(unsigned char out[8], uint64_t v);
uint64_t tg_wire_get_u64(const unsigned char in[8]);
void tg_wire_put_u32(unsigned char out[4], uint32_t v);
uint32_t tg_wire_get_u32(const unsigned char in[4]);

#endif

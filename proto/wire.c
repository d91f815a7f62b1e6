/*
 * Whole multipart messages on the internal hops: a capped non-blocking receive
 * that never leaves half a message on the socket, a send of borrowed frames, the
 * 4-byte header and the big-endian and UTF-8 helpers every decoder shares.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/text.h"
#include "wire.h"

/* Discard the rest of a message whose frame with ZMQ_RCVMORE was just read. */
static void
drain(void *sock)
{
	zmq_msg_t t;
	int more;

	do {
		zmq_msg_init(&t);
		if (zmq_msg_recv(&t, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&t);
			return;
		}
		more = zmq_msg_more(&t);
		zmq_msg_close(&t);
	} while (more);
}

int
tg_wire_recv(void *sock, struct tg_wire_msg *m, size_t max_bytes, char *err, size_t errlen)
{
	zmq_msg_t *f;
	int more, e;

	if (max_bytes == 0)
		max_bytes = TG_WIRE_MAX_BYTES;
	m->n = 0;
	m->total = 0;
	for (;;) {
		f = &m->f[m->n];
		zmq_msg_init(f);
		if (zmq_msg_recv(f, sock, ZMQ_DONTWAIT) < 0) {
			e = errno;
			zmq_msg_close(f);
			if (m->n == 0 && e == EAGAIN)
				return 0;
			snprintf(err, errlen, "receive frame %zu: %s", m->n, zmq_strerror(e));
			tg_wire_msg_close(m);
			errno = e;
			return -1;
		}
		m->n++;
		m->total += zmq_msg_size(f);
		more = zmq_msg_more(f);
		if (m->total > max_bytes) {
			snprintf(err, errlen, "message over %zu bytes (frame %zu)", max_bytes,
			    m->n - 1);
			goto bad;
		}
		if (!more)
			return 1;
		if (m->n == TG_WIRE_MAX_FRAMES) {
			snprintf(err, errlen, "message has more than %d frames", TG_WIRE_MAX_FRAMES);
			goto bad;
		}
	}
bad:
	if (more)
		drain(sock);
	tg_wire_msg_close(m);
	errno = EMSGSIZE;
	return -1;
}

void
tg_wire_msg_close(struct tg_wire_msg *m)
{
	for (size_t i = 0; i < m->n; i++)
		zmq_msg_close(&m->f[i]);
	m->n = 0;
	m->total = 0;
}

static int
send_parts(void *sock, const struct tg_wire_part *parts, size_t n, int dontwait, int last_more)
{
	int flags, base = dontwait ? ZMQ_DONTWAIT : 0;

	for (size_t i = 0; i < n; i++) {
		flags = base | (i + 1 < n || last_more ? ZMQ_SNDMORE : 0);
		if (zmq_send(sock, parts[i].data, parts[i].len, flags) < 0)
			return -1;
	}
	return 0;
}

int
tg_wire_send(void *sock, const struct tg_wire_part *parts, size_t n, int dontwait)
{
	return send_parts(sock, parts, n, dontwait, 0);
}

int
tg_wire_send_more(void *sock, const struct tg_wire_part *parts, size_t n, int dontwait)
{
	return send_parts(sock, parts, n, dontwait, 1);
}

const void *
tg_wire_data(const struct tg_wire_msg *m, size_t i)
{
	/* zmq_msg_data takes a non-const message but does not change it. */
	return zmq_msg_data((zmq_msg_t *)&m->f[i]);
}

size_t
tg_wire_size(const struct tg_wire_msg *m, size_t i)
{
	return zmq_msg_size(&m->f[i]);
}

void
tg_wire_header(unsigned char hdr[4], enum tg_wire_type type)
{
	hdr[0] = 'T';
	hdr[1] = 'G';
	hdr[2] = (unsigned char)type;
	hdr[3] = TG_WIRE_VERSION;
}

const char *
tg_wire_type_name(int type)
{
	switch (type) {
	case TG_WIRE_ITEM:
		return "item";
	case TG_WIRE_RESULT:
		return "result";
	case TG_WIRE_HELLO:
		return "hello";
	case TG_WIRE_HEARTBEAT:
		return "heartbeat";
	default:
		return "unknown";
	}
}

int
tg_wire_check_header(const struct tg_wire_msg *m, size_t i, char *err, size_t errlen)
{
	const unsigned char *h;

	if (i >= m->n) {
		snprintf(err, errlen, "no header frame (message has %zu frames)", m->n);
		return -1;
	}
	if (tg_wire_size(m, i) != 4) {
		snprintf(err, errlen, "header frame is %zu bytes, want 4", tg_wire_size(m, i));
		return -1;
	}
	h = tg_wire_data(m, i);
	if (h[0] != 'T' || h[1] != 'G') {
		snprintf(err, errlen, "bad magic 0x%02x%02x in header", h[0], h[1]);
		return -1;
	}
	if (h[2] != TG_WIRE_ITEM && h[2] != TG_WIRE_RESULT && h[2] != TG_WIRE_HELLO &&
	    h[2] != TG_WIRE_HEARTBEAT) {
		snprintf(err, errlen, "unknown message type 0x%02x", h[2]);
		return -1;
	}
	if (h[3] != TG_WIRE_VERSION) {
		snprintf(err, errlen, "%s: version %u, want %d", tg_wire_type_name(h[2]), h[3],
		    TG_WIRE_VERSION);
		return -1;
	}
	return h[2];
}

int
tg_wire_expect(const struct tg_wire_msg *m, size_t first, enum tg_wire_type type,
    size_t nframes, char *err, size_t errlen)
{
	int t = tg_wire_check_header(m, first, err, errlen);
	size_t have;

	if (t < 0)
		return -1;
	if (t != (int)type) {
		snprintf(err, errlen, "expected %s message, got %s", tg_wire_type_name(type),
		    tg_wire_type_name(t));
		return -1;
	}
	have = m->n - first;
	if (have != nframes) {
		snprintf(err, errlen, "%s: %s frames (%zu from the header on, want %zu)",
		    tg_wire_type_name(t), have < nframes ? "missing" : "extra", have, nframes);
		return -1;
	}
	return 0;
}

void
tg_wire_put_u64(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char)v;
		v >>= 8;
	}
}

uint64_t
tg_wire_get_u64(const unsigned char in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

void
tg_wire_put_u32(unsigned char out[4], uint32_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

uint32_t
tg_wire_get_u32(const unsigned char in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

bool
tg_wire_valid_text(const void *p, size_t n)
{
	return n == 0 || (memchr(p, 0, n) == NULL && tg_utf8_valid(p, n));
}

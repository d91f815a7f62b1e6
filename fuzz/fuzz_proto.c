/*
 * libFuzzer target: the validating decoders of the worker hop (ITEM, RESULT,
 * HELLO, HEARTBEAT) on multipart messages built from the input, and the alert
 * JSON decoder. Input: one selector byte, then frames as [u16 big-endian length]
 * [bytes]; for the alert decoder the rest of the input is the JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "../common/text.h"
#include "../proto/alert.h"
#include "../proto/control.h"
#include "../proto/item.h"
#include "../proto/result.h"
#include "../proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split data into frames of m; the last frame takes what is left when its
 * length runs past the end. */
static void
build_msg(const uint8_t *data, size_t size, struct tg_wire_msg *m)
{
	size_t off = 0;

	memset(m, 0, sizeof(*m));
	while (off < size && m->n < TG_WIRE_MAX_FRAMES) {
		size_t len = 0;

		if (size - off >= 2) {
			len = ((size_t)data[off] << 8) | data[off + 1];
			off += 2;
		} else
			off = size;
		if (len > size - off)
			len = size - off;
		if (zmq_msg_init_size(&m->f[m->n], len) != 0)
			abort();
		if (len)
			memcpy(zmq_msg_data(&m->f[m->n]), data + off, len);
		m->total += len;
		m->n++;
		off += len;
	}
}

static void
check_text(const char *s)
{
	if (s && !tg_utf8_valid(s, strlen(s)))
		abort();
}

static void
decode_item(const struct tg_wire_msg *m, size_t first)
{
	struct tg_item it;
	struct tg_item_view v;
	uint64_t delivery;
	char err[256];
	int a, b;

	memset(&it, 0, sizeof(it));
	a = tg_item_decode_view(m, first, &delivery, &v, err, sizeof(err));
	b = tg_item_decode(m, first, &delivery, &it, err, sizeof(err));
	if (a != b)
		abort();
	if (b == 0) {
		if (it.id == NULL)
			abort();
		check_text(it.id);
		check_text(it.feed);
		check_text(it.title);
		check_text(it.summary);
		for (size_t i = 0; i < it.ncategories; i++)
			check_text(it.categories[i]);
	}
	tg_item_clear(&it);
}

static void
decode_result(const struct tg_wire_msg *m, size_t first)
{
	struct tg_result r;
	uint64_t delivery;
	char err[256];

	if (tg_result_decode(m, first, &delivery, &r, err, sizeof(err)) == 0 &&
	    tg_result_check(&r, err, sizeof(err)) != 0)
		abort(); /* the decoder let through what the checker refuses */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_wire_msg m;
	struct tg_hello h;
	struct tg_alert a;
	char err[256];
	size_t first;

	if (size < 1)
		return 0;
	if ((data[0] & 7) == 7) {
		tg_alert_init(&a);
		tg_alert_decode((const char *)data + 1, size - 1, &a, err, sizeof(err));
		tg_alert_clear(&a);
		return 0;
	}
	build_msg(data + 1, size - 1, &m);
	first = (data[0] & 8) ? 1 : 0; /* with or without a routing frame */
	if (first < m.n || m.n == 0) {
		switch (data[0] & 7) {
		case 0:
		case 1:
			decode_item(&m, first);
			break;
		case 2:
		case 3:
			decode_result(&m, first);
			break;
		case 4:
			if (tg_hello_decode(&m, first, &h, err, sizeof(err)) == 0 &&
			    (h.credit == 0 || h.credit > TG_HELLO_MAX_CREDIT))
				abort();
			break;
		case 5:
			tg_heartbeat_decode(&m, first, err, sizeof(err));
			break;
		default:
			tg_wire_check_header(&m, first, err, sizeof(err));
			break;
		}
	}
	tg_wire_msg_close(&m);
	return 0;
}

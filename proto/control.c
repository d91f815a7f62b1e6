/*
 * Control messages on the daemon <-> worker hop: HELLO carries a worker's credit
 * and pid, HEARTBEAT carries nothing but the header.
 */
#include <stdio.h>

#include "control.h"

int
tg_hello_send(void *sock, const void *route, size_t routelen, const struct tg_hello *h)
{
	struct tg_wire_part parts[4];
	unsigned char hdr[4], credit[4], pid[4];
	size_t n = 0;

	if (route != NULL && routelen > 0)
		parts[n++] = (struct tg_wire_part){route, routelen};
	tg_wire_header(hdr, TG_WIRE_HELLO);
	parts[n++] = (struct tg_wire_part){hdr, 4};
	tg_wire_put_u32(credit, h->credit);
	parts[n++] = (struct tg_wire_part){credit, 4};
	tg_wire_put_u32(pid, h->pid);
	parts[n++] = (struct tg_wire_part){pid, 4};
	return tg_wire_send(sock, parts, n, 1);
}

int
tg_hello_decode(const struct tg_wire_msg *m, size_t first, struct tg_hello *out, char *err,
    size_t errlen)
{
	if (tg_wire_expect(m, first, TG_WIRE_HELLO, 3, err, errlen) < 0)
		return -1;
	if (tg_wire_size(m, first + 1) != 4 || tg_wire_size(m, first + 2) != 4) {
		snprintf(err, errlen, "hello: credit and pid must be 4 bytes each");
		return -1;
	}
	out->credit = tg_wire_get_u32(tg_wire_data(m, first + 1));
	out->pid = tg_wire_get_u32(tg_wire_data(m, first + 2));
	if (out->credit < 1 || out->credit > TG_HELLO_MAX_CREDIT) {
		snprintf(err, errlen, "hello: credit %u outside 1..%d", out->credit,
		    TG_HELLO_MAX_CREDIT);
		return -1;
	}
	return 0;
}

int
tg_heartbeat_send(void *sock, const void *route, size_t routelen)
{
	struct tg_wire_part parts[2];
	unsigned char hdr[4];
	size_t n = 0;

	if (route != NULL && routelen > 0)
		parts[n++] = (struct tg_wire_part){route, routelen};
	tg_wire_header(hdr, TG_WIRE_HEARTBEAT);
	parts[n++] = (struct tg_wire_part){hdr, 4};
	return tg_wire_send(sock, parts, n, 1);
}

int
tg_heartbeat_decode(const struct tg_wire_msg *m, size_t first, char *err, size_t errlen)
{
	return tg_wire_expect(m, first, TG_WIRE_HEARTBEAT, 1, err, errlen);
}

/*
 * Control messages on the daemon <-> worker hop: HELLO (a worker announces itself
 * and how many items it may hold at once) and HEARTBEAT (either side is alive).
 */
#ifndef TG_CONTROL_H
#define TG_CONTROL_H

#include <stdint.h>

#include "wire.h"

#define TG_HELLO_MAX_CREDIT 1024

struct tg_hello {
	uint32_t credit; /* items the worker may hold at once, 1..TG_HELLO_MAX_CREDIT */
	uint32_t pid;    /* the worker's process id, for logs */
};

/* Send [route][hdr 'H'][credit u32][pid u32] without blocking. Returns 0 or -1
 * (errno from ZeroMQ; EAGAIN: the peer's queue is full). */
int tg_hello_send(void *sock, const void *route, size_t routelen, const struct tg_hello *h);

/* Decode a HELLO whose header is frame `first`. Returns 0 or -1 with err. */
int tg_hello_decode(const struct tg_wire_msg *m, size_t first, struct tg_hello *out, char *err,
    size_t errlen);

/* Send [route][hdr 'B'] without blocking. Returns 0 or -1 (errno from ZeroMQ). */
int tg_heartbeat_send(void *sock, const void *route, size_t routelen);

/* Check a HEARTBEAT whose header is frame `first` (nothing may follow it).
 * Returns 0 or -1 with err. */
int tg_heartbeat_decode(const struct tg_wire_msg *m, size_t first, char *err, size_t errlen);

#endif

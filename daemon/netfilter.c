/*
 * The address filter: a fixed table of networks no feed should live in, an
 * allowlist from the config, and one check on a resolved socket address.
 * Everything is compared in IPv6 form; see netfilter.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "netfilter.h"

#define CIDR_TEXT_MAX 64  /* longest input accepted */
#define ALLOW_MAX 1024    /* entries in one allowlist */

/* Networks refused unless allowed, with what they are. */
static const struct {
	const char *net;
	const char *kind;
} deny_table[] = {
	{ "0.0.0.0/8", "unspecified network" },
	{ "10.0.0.0/8", "private network" },
	{ "100.64.0.0/10", "shared address space (carrier-grade NAT)" },
	{ "127.0.0.0/8", "loopback network" },
	{ "169.254.0.0/16", "link-local network (cloud metadata)" },
	{ "172.16.0.0/12", "private network" },
	{ "192.0.0.0/24", "IETF protocol assignments" },
	{ "192.168.0.0/16", "private network" },
	{ "198.18.0.0/15", "benchmarking network" },
	{ "224.0.0.0/4", "multicast network" },
	{ "240.0.0.0/4", "reserved network (and broadcast)" },
	{ "::/128", "unspecified address" },
	{ "::1/128", "loopback address" },
	{ "::/96", "IPv4-compatible network (deprecated)" },
	{ "64:ff9b:1::/48", "local-use NAT64 network" },
	{ "100::/64", "discard-only network" },
	{ "fc00::/7", "unique-local network" },
	{ "fe80::/10", "link-local network" },
	{ "fec0::/10", "site-local network (deprecated)" },
	{ "ff00::/8", "multicast network" },
};

#define NDENY (sizeof(deny_table) / sizeof(deny_table[0]))

/* The well-known NAT64 prefix: its addresses are judged by the IPv4 inside. */
static const uint8_t nat64_prefix[12] = { 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

struct tg_netfilter {
	struct tg_cidr deny[NDENY];
	struct tg_cidr *allow;
	size_t nallow;
};

/* True when the first bits of a and b agree over prefix bits. */
static bool
prefix_match(const uint8_t *a, const uint8_t *b, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* True when no bit of a is set past prefix. */
static bool
host_bits_clear(const uint8_t *a, int prefix)
{
	for (int bit = prefix; bit < 128; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int
tg_netfilter_parse_cidr(const char *s, struct tg_cidr *out, char *err, size_t errlen)
{
	char text[CIDR_TEXT_MAX + 1];
	const char *slash;
	size_t alen;
	long prefix = -1;
	struct in_addr a4;
	struct in6_addr a6;
	int maxp;

	memset(out, 0, sizeof(*out));
	if (strlen(s) > CIDR_TEXT_MAX) {
		snprintf(err, errlen, "\"%.20s...\" is too long for a network", s);
		return -1;
	}
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	memcpy(text, s, alen);
	text[alen] = '\0';
	if (inet_pton(AF_INET, text, &a4) == 1) {
		memcpy(out->addr, mapped_prefix, 12);
		memcpy(out->addr + 12, &a4, 4);
		out->v4 = true;
		maxp = 32;
	} else if (strchr(text, '%') == NULL && inet_pton(AF_INET6, text, &a6) == 1) {
		memcpy(out->addr, &a6, 16);
		maxp = 128;
	} else {
		snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 network (expected e.g. "
		    "10.0.0.0/8 or fc00::/7)", s);
		return -1;
	}
	if (slash == NULL) {
		prefix = maxp;
	} else if (slash[1] < '0' || slash[1] > '9' ||
	    tg_parse_long(slash + 1, 0, maxp, &prefix) != 0) {
		snprintf(err, errlen, "\"%s\": the prefix length must be a number from 0 to %d", s,
		    maxp);
		return -1;
	}
	out->prefix = (int)prefix + (out->v4 ? 96 : 0);
	if (!host_bits_clear(out->addr, out->prefix)) {
		struct tg_cidr fixed = *out;
		char ok[TG_CIDR_TEXT_MAX];

		for (int bit = fixed.prefix; bit < 128; bit++)
			fixed.addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
		tg_netfilter_format_cidr(&fixed, ok, sizeof(ok));
		snprintf(err, errlen, "\"%s\" has bits set past the prefix (did you mean %s?)", s, ok);
		return -1;
	}
	return 0;
}

void
tg_netfilter_format_cidr(const struct tg_cidr *c, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];

	if (c->v4 && c->prefix >= 96 && memcmp(c->addr, mapped_prefix, 12) == 0) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		snprintf(out, outlen, "%s/%d", a, c->prefix - 96);
	} else {
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
		snprintf(out, outlen, "%s/%d", a, c->prefix);
	}
}

struct tg_netfilter *
tg_netfilter_new(const char *const *allow, size_t n, char *err, size_t errlen)
{
	struct tg_netfilter *nf;
	char e[256];

	if (n > ALLOW_MAX) {
		snprintf(err, errlen, "allow_networks: %zu networks, more than the %d allowed", n,
		    ALLOW_MAX);
		return NULL;
	}
	nf = tg_calloc(1, sizeof(*nf));
	for (size_t i = 0; i < NDENY; i++) {
		/* The table is ours: a failure here is a bug caught by the unit test. */
		if (tg_netfilter_parse_cidr(deny_table[i].net, &nf->deny[i], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "netfilter: built-in rule %s", e);
			goto fail;
		}
	}
	nf->allow = tg_calloc(n ? n : 1, sizeof(*nf->allow));
	for (size_t i = 0; i < n; i++) {
		if (tg_netfilter_parse_cidr(allow[i], &nf->allow[i], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "allow_networks[%zu]: %s", i, e);
			goto fail;
		}
	}
	nf->nallow = n;
	return nf;
fail:
	tg_netfilter_free(nf);
	return NULL;
}

void
tg_netfilter_free(struct tg_netfilter *nf)
{
	if (nf == NULL)
		return;
	free(nf->allow);
	free(nf);
}

/* The allowlist entry that holds a, or NULL. */
static const struct tg_cidr *
find_allowed(const struct tg_netfilter *nf, const uint8_t *a)
{
	for (size_t i = 0; i < nf->nallow; i++)
		if (prefix_match(a, nf->allow[i].addr, nf->allow[i].prefix))
			return &nf->allow[i];
	return NULL;
}

/* Index of the deny rule that holds a, or -1. */
static int
find_denied(const struct tg_netfilter *nf, const uint8_t *a)
{
	for (size_t i = 0; i < NDENY; i++)
		if (prefix_match(a, nf->deny[i].addr, nf->deny[i].prefix))
			return (int)i;
	return -1;
}

/* Judge the 16-byte address a. */
static bool
check16(const struct tg_netfilter *nf, const uint8_t *a, char *why, size_t whylen)
{
	char net[TG_CIDR_TEXT_MAX];
	const struct tg_cidr *ok;
	uint8_t inner[16];
	int rule;

	ok = find_allowed(nf, a);
	rule = find_denied(nf, a);
	if (rule < 0 && memcmp(a, nat64_prefix, 12) == 0) {
		/* NAT64 reaches the IPv4 address inside: judge that one as well. */
		memcpy(inner, mapped_prefix, 12);
		memcpy(inner + 12, a + 12, 4);
		if (ok == NULL)
			ok = find_allowed(nf, inner);
		rule = find_denied(nf, inner);
	}
	if (ok != NULL) {
		if (why) {
			tg_netfilter_format_cidr(ok, net, sizeof(net));
			snprintf(why, whylen, "allow_networks %s", net);
		}
		return true;
	}
	if (rule >= 0) {
		if (why) {
			tg_netfilter_format_cidr(&nf->deny[rule], net, sizeof(net));
			snprintf(why, whylen, "%s %s", deny_table[rule].kind, net);
		}
		return false;
	}
	if (why)
		snprintf(why, whylen, "public address");
	return true;
}

bool
tg_netfilter_check(const struct tg_netfilter *nf, const struct sockaddr *sa, size_t salen,
    char *why, size_t whylen)
{
	uint8_t a[16];

	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		memcpy(a, mapped_prefix, 12);
		memcpy(a + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		memcpy(a, &s6->sin6_addr, 16);
	} else {
		if (why)
			snprintf(why, whylen, "address family %d is not IPv4 or IPv6",
			    (int)sa->sa_family);
		return false;
	}
	return check16(nf, a, why, whylen);
}

bool
tg_netfilter_check_text(const struct tg_netfilter *nf, const char *addr, char *why,
    size_t whylen)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return tg_netfilter_check(nf, (struct sockaddr *)&s4, sizeof(s4), why, whylen);
	}
	if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return tg_netfilter_check(nf, (struct sockaddr *)&s6, sizeof(s6), why, whylen);
	}
	if (why)
		snprintf(why, whylen, "\"%s\" is not an IP address", addr);
	return false;
}

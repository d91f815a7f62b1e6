/*
 * Which addresses tigrisd may connect to. Loopback, private, link-local,
 * unique-local, multicast, reserved and unspecified networks (IPv4, IPv6 and
 * IPv4 inside IPv6) are refused, so that no feed URL, redirect or DNS answer can
 * make tigrisd reach inside its own network (SSRF); an allowlist of networks
 * opens exceptions. The fetcher checks the resolved address of every connection.
 */
#ifndef TG_NETFILTER_H
#define TG_NETFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A network. IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d) so that one
 * comparison serves both families; v4 says how to print it. */
struct tg_cidr {
	uint8_t addr[16];
	int prefix; /* 0..128, counted on the IPv6 form */
	bool v4;
};

/* Longest text tg_netfilter_format_cidr writes, with its NUL. */
#define TG_CIDR_TEXT_MAX 52

/* Parse "10.0.0.0/8", "fc00::/7" or one address ("127.0.0.1" is a /32, "::1" a
 * /128) into out. Bits set past the prefix are an error ("10.1.0.0/8").
 * Returns 0, or -1 with err saying what is wrong. */
int tg_netfilter_parse_cidr(const char *s, struct tg_cidr *out, char *err, size_t errlen);

/* Write c as text ("10.0.0.0/8", "fc00::/7") into out (TG_CIDR_TEXT_MAX bytes). */
void tg_netfilter_format_cidr(const struct tg_cidr *c, char *out, size_t outlen);

struct tg_netfilter;

/* A filter that refuses the built-in inward networks except those in the n
 * CIDR strings of allow. Returns NULL with err naming the bad entry. Free with
 * tg_netfilter_free. */
struct tg_netfilter *tg_netfilter_new(const char *const *allow, size_t n, char *err,
    size_t errlen);

/* Free a filter; NULL is fine. */
void tg_netfilter_free(struct tg_netfilter *nf);

/* May a connection go to sa (AF_INET or AF_INET6, salen bytes)? Returns true or
 * false; why (may be NULL) gets the rule that decided: for a refusal the network
 * and its kind ("private network 10.0.0.0/8"), else "public address" or
 * "allow_networks 127.0.0.0/8". Other families are refused. */
bool tg_netfilter_check(const struct tg_netfilter *nf, const struct sockaddr *sa, size_t salen,
    char *why, size_t whylen);

/* The same for an address in text ("10.0.0.1", "::ffff:127.0.0.1"); text that is
 * not an address is refused with why saying so. */
bool tg_netfilter_check_text(const struct tg_netfilter *nf, const char *addr, char *why,
    size_t whylen);

#endif

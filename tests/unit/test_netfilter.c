/*
 * Tests of the address filter: CIDR parsing and printing, the whole matrix of
 * inward networks (IPv4, IPv6, IPv4-mapped, NAT64) with the rule each refusal
 * names, public addresses, and allowlist exceptions.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/config.h"
#include "../../daemon/netfilter.h"

static char why[256];
static char err[256];

static struct tg_netfilter *
filter(const char *const *allow, size_t n)
{
	struct tg_netfilter *nf = tg_netfilter_new(allow, n, err, sizeof(err));

	if (nf == NULL)
		fprintf(stderr, "unexpected: %s\n", err);
	assert_non_null(nf);
	return nf;
}

/* addr is refused and why names rule. */
static void
assert_denied(const struct tg_netfilter *nf, const char *addr, const char *rule)
{
	bool ok = tg_netfilter_check_text(nf, addr, why, sizeof(why));

	if (ok || strcmp(why, rule) != 0) {
		fprintf(stderr, "%s: expected refused by \"%s\", got %s \"%s\"\n", addr, rule,
		    ok ? "allowed" : "refused", why);
		fail();
	}
}

static void
assert_allowed(const struct tg_netfilter *nf, const char *addr, const char *rule)
{
	bool ok = tg_netfilter_check_text(nf, addr, why, sizeof(why));

	if (!ok || strcmp(why, rule) != 0) {
		fprintf(stderr, "%s: expected allowed by \"%s\", got %s \"%s\"\n", addr, rule,
		    ok ? "allowed" : "refused", why);
		fail();
	}
}

static void
test_cidr_parse(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "127.0.0.1", "127.0.0.1/32" },
		{ "127.0.0.1/32", "127.0.0.1/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "172.16.0.0/12", "172.16.0.0/12" },
		{ "::1", "::1/128" },
		{ "fc00::/7", "fc00::/7" },
		{ "::/0", "::/0" },
		{ "FE80::/10", "fe80::/10" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104" },
	};
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "", "is not an IPv4 or IPv6 network" },
		{ "10.0.0/8", "is not an IPv4 or IPv6 network" },
		{ "example.com", "is not an IPv4 or IPv6 network" },
		{ "10.0.0.0/33", "prefix length must be a number from 0 to 32" },
		{ "::/129", "prefix length must be a number from 0 to 128" },
		{ "10.0.0.0/", "prefix length" },
		{ "10.0.0.0/-1", "prefix length" },
		{ "10.0.0.0/+8", "prefix length" },
		{ "10.0.0.0/ 8", "prefix length" },
		{ "10.0.0.0/8x", "prefix length" },
		{ "10.1.0.0/8", "bits set past the prefix (did you mean 10.0.0.0/8?)" },
		{ "fc00::1/7", "bits set past the prefix (did you mean fc00::/7?)" },
		{ "fe80::1%eth0/64", "is not an IPv4 or IPv6 network" },
		{ "1.2.3.4/32/1", "prefix length" },
		{ "111111111111111111111111111111111111111111111111111111111111111111111/8",
		    "too long" },
	};
	struct tg_cidr c;
	char text[TG_CIDR_TEXT_MAX];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (tg_netfilter_parse_cidr(good[i].in, &c, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", good[i].in, err);
			fail();
		}
		tg_netfilter_format_cidr(&c, text, sizeof(text));
		assert_string_equal(text, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (tg_netfilter_parse_cidr(bad[i].in, &c, err, sizeof(err)) == 0 ||
		    strstr(err, bad[i].msg) == NULL) {
			fprintf(stderr, "\"%s\": expected \"%s\", got \"%s\"\n", bad[i].in, bad[i].msg,
			    err);
			fail();
		}
	}
	/* The IPv4 form and its IPv4-mapped IPv6 form are the same network. */
	struct tg_cidr a, b;
	assert_int_equal(tg_netfilter_parse_cidr("192.168.0.0/16", &a, err, sizeof(err)), 0);
	assert_int_equal(tg_netfilter_parse_cidr("::ffff:192.168.0.0/112", &b, err, sizeof(err)), 0);
	assert_memory_equal(a.addr, b.addr, 16);
	assert_int_equal(a.prefix, b.prefix);
}

/* Every inward network is refused by default, with the rule named. */
static void
test_default_matrix(void **state)
{
	static const struct {
		const char *addr, *rule;
	} denied[] = {
		{ "127.0.0.1", "loopback network 127.0.0.0/8" },
		{ "127.255.255.254", "loopback network 127.0.0.0/8" },
		{ "::1", "loopback address ::1/128" },
		{ "169.254.169.254", "link-local network (cloud metadata) 169.254.0.0/16" },
		{ "10.0.0.1", "private network 10.0.0.0/8" },
		{ "10.255.255.1", "private network 10.0.0.0/8" },
		{ "172.16.0.1", "private network 172.16.0.0/12" },
		{ "172.31.255.255", "private network 172.16.0.0/12" },
		{ "192.168.1.1", "private network 192.168.0.0/16" },
		{ "100.64.0.1", "shared address space (carrier-grade NAT) 100.64.0.0/10" },
		{ "100.100.100.200", "shared address space (carrier-grade NAT) 100.64.0.0/10" },
		{ "192.0.0.192", "IETF protocol assignments 192.0.0.0/24" },
		{ "198.18.0.1", "benchmarking network 198.18.0.0/15" },
		{ "fc00::1", "unique-local network fc00::/7" },
		{ "fd12:3456::1", "unique-local network fc00::/7" },
		{ "fe80::1", "link-local network fe80::/10" },
		{ "febf::1", "link-local network fe80::/10" },
		{ "fec0::1", "site-local network (deprecated) fec0::/10" },
		{ "::ffff:127.0.0.1", "loopback network 127.0.0.0/8" },
		{ "::ffff:10.1.2.3", "private network 10.0.0.0/8" },
		{ "::ffff:169.254.169.254", "link-local network (cloud metadata) 169.254.0.0/16" },
		{ "::ffff:0.0.0.0", "unspecified network 0.0.0.0/8" },
		{ "0.0.0.0", "unspecified network 0.0.0.0/8" },
		{ "0.1.2.3", "unspecified network 0.0.0.0/8" },
		{ "::", "unspecified address ::/128" },
		{ "::127.0.0.1", "IPv4-compatible network (deprecated) ::/96" },
		{ "224.0.0.1", "multicast network 224.0.0.0/4" },
		{ "239.255.255.250", "multicast network 224.0.0.0/4" },
		{ "ff02::1", "multicast network ff00::/8" },
		{ "ff05::1:3", "multicast network ff00::/8" },
		{ "240.0.0.1", "reserved network (and broadcast) 240.0.0.0/4" },
		{ "255.255.255.255", "reserved network (and broadcast) 240.0.0.0/4" },
		{ "64:ff9b::a00:1", "private network 10.0.0.0/8" },     /* NAT64 of 10.0.0.1 */
		{ "64:ff9b::7f00:1", "loopback network 127.0.0.0/8" },  /* NAT64 of 127.0.0.1 */
		{ "64:ff9b:1::1", "local-use NAT64 network 64:ff9b:1::/48" },
		{ "100::1", "discard-only network 100::/64" },
	};
	static const char *const public[] = {
		"93.184.216.34", "8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.0", "192.169.0.1",
		"11.0.0.1", "9.255.255.255", "126.255.255.255", "128.0.0.1", "169.253.255.255",
		"223.255.255.255", "100.63.255.255", "100.128.0.0", "2606:4700::1111",
		"2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "fbff::1", "fe00::1",
		"2001:db8::1",
	};
	struct tg_netfilter *nf = filter(NULL, 0);

	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		assert_denied(nf, denied[i].addr, denied[i].rule);
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		assert_allowed(nf, public[i], "public address");
	assert_false(tg_netfilter_check_text(nf, "not-an-address", why, sizeof(why)));
	assert_non_null(strstr(why, "is not an IP address"));
	tg_netfilter_free(nf);
}

/* Real socket addresses of both families, and families that are not IP. */
static void
test_sockaddr(void **state)
{
	struct tg_netfilter *nf = filter(NULL, 0);
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr sa;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(80);
	inet_pton(AF_INET, "10.9.8.7", &s4.sin_addr);
	assert_false(tg_netfilter_check(nf, (struct sockaddr *)&s4, sizeof(s4), why, sizeof(why)));
	assert_string_equal(why, "private network 10.0.0.0/8");
	inet_pton(AF_INET, "93.184.216.34", &s4.sin_addr);
	assert_true(tg_netfilter_check(nf, (struct sockaddr *)&s4, sizeof(s4), NULL, 0));
	/* A truncated address is refused rather than read past its end. */
	assert_false(tg_netfilter_check(nf, (struct sockaddr *)&s4, 4, why, sizeof(why)));

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.168.0.10", &s6.sin6_addr);
	assert_false(tg_netfilter_check(nf, (struct sockaddr *)&s6, sizeof(s6), why, sizeof(why)));
	assert_string_equal(why, "private network 192.168.0.0/16");
	inet_pton(AF_INET6, "2606:4700::1111", &s6.sin6_addr);
	assert_true(tg_netfilter_check(nf, (struct sockaddr *)&s6, sizeof(s6), why, sizeof(why)));

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_false(tg_netfilter_check(nf, &sa, sizeof(sa), why, sizeof(why)));
	assert_non_null(strstr(why, "not IPv4 or IPv6"));
	tg_netfilter_free(nf);
}

/* The allowlist opens exactly its networks, in both IPv4 spellings. */
static void
test_allowlist(void **state)
{
	static const char *const allow[] = { "127.0.0.1/32", "10.20.0.0/16", "fd00:1::/32",
		"::1" };
	struct tg_netfilter *nf = filter(allow, 4);

	assert_allowed(nf, "127.0.0.1", "allow_networks 127.0.0.1/32");
	assert_allowed(nf, "::ffff:127.0.0.1", "allow_networks 127.0.0.1/32");
	assert_denied(nf, "127.0.0.2", "loopback network 127.0.0.0/8");
	assert_allowed(nf, "10.20.30.40", "allow_networks 10.20.0.0/16");
	assert_denied(nf, "10.21.0.1", "private network 10.0.0.0/8");
	assert_allowed(nf, "fd00:1:2::3", "allow_networks fd00:1::/32");
	assert_denied(nf, "fd00:2::3", "unique-local network fc00::/7");
	assert_allowed(nf, "::1", "allow_networks ::1/128");
	assert_allowed(nf, "64:ff9b::7f00:1", "allow_networks 127.0.0.1/32"); /* NAT64 */
	assert_denied(nf, "169.254.169.254", "link-local network (cloud metadata) 169.254.0.0/16");
	assert_allowed(nf, "8.8.8.8", "public address");
	tg_netfilter_free(nf);

	/* A whole-loopback allowance, as the demo and the tests use. */
	static const char *const lo[] = { "127.0.0.0/8" };
	nf = filter(lo, 1);
	assert_allowed(nf, "127.0.0.2", "allow_networks 127.0.0.0/8");
	assert_denied(nf, "::1", "loopback address ::1/128");
	assert_denied(nf, "0.0.0.0", "unspecified network 0.0.0.0/8");
	tg_netfilter_free(nf);

	/* Everything: the filter switched off on purpose. */
	static const char *const all[] = { "0.0.0.0/0", "::/0" };
	nf = filter(all, 2);
	assert_allowed(nf, "10.0.0.1", "allow_networks 0.0.0.0/0");
	assert_allowed(nf, "fe80::1", "allow_networks ::/0");
	tg_netfilter_free(nf);
}

static void
test_bad_allowlist(void **state)
{
	static const char *const allow[] = { "127.0.0.0/8", "10.0.0.1/8" };

	assert_null(tg_netfilter_new(allow, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "allow_networks[1]: \"10.0.0.1/8\" has bits set past the prefix"));
	tg_netfilter_free(NULL);
}

/* The allow_networks config key: a list of CIDRs, each checked, all errors reported. */
static void
test_config_key(void **state)
{
	static const char ok[] = "{\"allow_networks\": [\"127.0.0.0/8\", \"::1\", \"10.1.0.0/16\"]}";
	static const char bad[] = "{\"allow_networks\": [\"127.0.0.1/8\", 7, \"\", \"lan\"]}";
	struct tg_config *cfg = NULL;
	struct tg_netfilter *nf;
	char cerr[2048];

	assert_int_equal(tg_config_parse(ok, strlen(ok), "t.json", &cfg, cerr, sizeof(cerr)), 0);
	assert_int_equal(cfg->allow_networks.n, 3);
	assert_string_equal(cfg->allow_networks.v[0], "127.0.0.0/8");
	assert_string_equal(cfg->allow_networks.v[2], "10.1.0.0/16");
	nf = filter((const char *const *)cfg->allow_networks.v, cfg->allow_networks.n);
	assert_allowed(nf, "10.1.2.3", "allow_networks 10.1.0.0/16");
	assert_allowed(nf, "::1", "allow_networks ::1/128");
	tg_netfilter_free(nf);
	tg_config_free(cfg);

	assert_int_equal(tg_config_parse("{}", 2, "t.json", &cfg, cerr, sizeof(cerr)), 0);
	assert_int_equal(cfg->allow_networks.n, 0);
	tg_config_free(cfg);

	assert_int_equal(tg_config_parse(bad, strlen(bad), "t.json", &cfg, cerr, sizeof(cerr)), -1);
	assert_non_null(strstr(cerr, "allow_networks[0]: \"127.0.0.1/8\" has bits set past the "
				     "prefix (did you mean 127.0.0.0/8?)"));
	assert_non_null(strstr(cerr, "allow_networks[1]: expected a string, got an integer"));
	assert_non_null(strstr(cerr, "allow_networks[2]: must not be empty"));
	assert_non_null(strstr(cerr, "allow_networks[3]: \"lan\" is not an IPv4 or IPv6 network"));
	static const char notlist[] = "{\"allow_networks\": \"127.0.0.0/8\"}";
	assert_int_equal(tg_config_parse(notlist, strlen(notlist), "t.json", &cfg, cerr,
			     sizeof(cerr)), -1);
	assert_non_null(strstr(cerr, "allow_networks: expected an array of strings, got a string"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_default_matrix),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_allowlist),
		cmocka_unit_test(test_bad_allowlist),
		cmocka_unit_test(test_config_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * `tigris keygen NAME`: make a CURVE key pair for tigrisd, a worker or a
 * subscriber. NAME.key (mode 0600) holds the public and the secret key, NAME.pub
 * the public key only; neither is ever overwritten. See docs/security.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/curvekeys.h"
#include "commands.h"

#define NAME_MAX_LEN 4000

static void
usage(FILE *f)
{
	fputs("usage: tigris keygen NAME\n\n"
	      "Writes a new CURVE key pair: NAME.key (the public and the secret key, mode 0600)\n"
	      "and NAME.pub (the public key). Existing files are never overwritten.\n"
	      "tigrisd takes its own NAME.key as curve_secret_key and lists the public key of\n"
	      "each client in curve_clients; clients take --curve-key NAME.key and\n"
	      "--curve-server-key with the daemon's .pub file (or its public key).\n",
	    f);
}

int
tg_cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tg_curve_keypair kp;
	char keypath[NAME_MAX_LEN + 8], pubpath[NAME_MAX_LEN + 8], comment[256], err[512];
	const char *name, *base;
	struct stat st;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || argv[optind][0] == '\0') {
		usage(stderr);
		return 2;
	}
	name = argv[optind];
	if (strlen(name) > NAME_MAX_LEN) {
		fprintf(stderr, "tigris keygen: name too long\n");
		return 2;
	}
	snprintf(keypath, sizeof(keypath), "%s.key", name);
	snprintf(pubpath, sizeof(pubpath), "%s.pub", name);
	/* Check both first, so that a refusal leaves nothing half written. */
	if (lstat(keypath, &st) == 0 || lstat(pubpath, &st) == 0) {
		fprintf(stderr, "tigris keygen: %s exists already; not overwritten\n",
		    lstat(keypath, &st) == 0 ? keypath : pubpath);
		return 1;
	}
	if (tg_curvekeys_generate(&kp, err, sizeof(err)) != 0) {
		fprintf(stderr, "tigris keygen: %s\n", err);
		return 1;
	}
	base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	snprintf(comment, sizeof(comment),
	    "tigris CURVE key pair \"%.100s\" (tigris keygen): keep this file secret", base);
	if (tg_curvekeys_write(keypath, &kp, true, comment, err, sizeof(err)) != 0) {
		fprintf(stderr, "tigris keygen: %s\n", err);
		goto out;
	}
	snprintf(comment, sizeof(comment),
	    "tigris CURVE public key \"%.100s\" (tigris keygen): safe to share", base);
	if (tg_curvekeys_write(pubpath, &kp, false, comment, err, sizeof(err)) != 0) {
		fprintf(stderr, "tigris keygen: %s\n", err);
		unlink(keypath);
		goto out;
	}
	printf("%s: secret key (mode 0600)\n%s: public key %s\n", keypath, pubpath,
	    kp.public_key);
	rc = 0;
out:
	explicit_bzero(&kp, sizeof(kp));
	return rc;
}

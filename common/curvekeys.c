/*
 * CURVE key files and client-side CurveZMQ setup. A key file is text: lines
 * starting with '#' and blank lines are ignored, the others are
 * "public-key = Z85" and (in a NAME.key file only) "secret-key = Z85".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "curvekeys.h"

#define KEYFILE_MAX_BYTES 4096 /* a key file is a few lines */

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   ".-:+=^!/*?&<>()[]{}@%$#";

int
tg_curvekeys_check_z85(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n != TG_CURVE_Z85_LEN) {
		snprintf(err, errlen, "a CURVE key is %d Z85 characters, not %zu", TG_CURVE_Z85_LEN,
		    n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' || strchr(z85_alphabet, s[i]) == NULL) {
			snprintf(err, errlen, "character %zu of the key is not in the Z85 alphabet",
			    i + 1);
			return -1;
		}
	}
	return 0;
}

int
tg_curvekeys_decode(const char *z85, unsigned char out[TG_CURVE_KEY_BYTES], char *err,
    size_t errlen)
{
	if (tg_curvekeys_check_z85(z85, err, errlen) != 0)
		return -1;
	if (zmq_z85_decode(out, z85) == NULL) {
		snprintf(err, errlen, "not a valid Z85 key");
		return -1;
	}
	return 0;
}

void
tg_curvekeys_encode(const unsigned char key[TG_CURVE_KEY_BYTES], char out[TG_CURVE_Z85_LEN + 1])
{
	if (zmq_z85_encode(out, key, TG_CURVE_KEY_BYTES) == NULL)
		out[0] = '\0'; /* cannot happen: 32 is a multiple of 4 */
}

int
tg_curvekeys_generate(struct tg_curve_keypair *kp, char *err, size_t errlen)
{
	if (!zmq_has("curve")) {
		snprintf(err, errlen, "this libzmq was built without CURVE support");
		return -1;
	}
	if (zmq_curve_keypair(kp->public_key, kp->secret_key) != 0) {
		snprintf(err, errlen, "cannot make a key pair: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

/* Read the whole (small) file into buf; NUL-terminated. */
static int
slurp(const char *path, char *buf, size_t buflen, size_t *len, mode_t *mode, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t used = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	*mode = st.st_mode;
	while ((n = read(fd, buf + used, buflen - 1 - used)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto out;
		}
		used += (size_t)n;
		if (used == buflen - 1) {
			snprintf(err, errlen, "%s: larger than %zu bytes: not a key file", path,
			    buflen - 1);
			goto out;
		}
	}
	buf[used] = '\0';
	*len = used;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* One "name = value" line: the value (trimmed) into dst, which must be empty. */
static int
take_value(const char *path, int lineno, const char *name, const char *v, char *dst,
    char *err, size_t errlen)
{
	char kerr[128];

	if (dst[0] != '\0') {
		snprintf(err, errlen, "%s: line %d: %s given twice", path, lineno, name);
		return -1;
	}
	if (tg_curvekeys_check_z85(v, kerr, sizeof(kerr)) != 0) {
		snprintf(err, errlen, "%s: line %d: %s: %s", path, lineno, name, kerr);
		return -1;
	}
	memcpy(dst, v, TG_CURVE_Z85_LEN + 1);
	return 0;
}

static int
parse_line(const char *path, int lineno, char *line, struct tg_curve_keypair *out, char *err,
    size_t errlen)
{
	static const char *const names[] = { "public-key", "secret-key" };
	size_t n = strlen(line), nl;
	char *v;

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 || line[0] == '#')
		return 0;
	for (size_t i = 0; i < 2; i++) {
		nl = strlen(names[i]);
		if (strncmp(line, names[i], nl) != 0)
			continue;
		v = line + nl;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			break;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		return take_value(path, lineno, names[i], v,
		    i == 0 ? out->public_key : out->secret_key, err, errlen);
	}
	snprintf(err, errlen, "%s: line %d: expected \"public-key = Z85\" or \"secret-key = Z85\"",
	    path, lineno);
	return -1;
}

int
tg_curvekeys_read(const char *path, bool need_secret, struct tg_curve_keypair *out, char *err,
    size_t errlen)
{
	char buf[KEYFILE_MAX_BYTES + 1], derived[TG_CURVE_Z85_LEN + 1];
	char *line, *next;
	size_t len;
	mode_t mode;
	int lineno = 0;

	memset(out, 0, sizeof(*out));
	if (slurp(path, buf, sizeof(buf), &len, &mode, err, errlen) != 0)
		return -1;
	if (strlen(buf) != len) {
		snprintf(err, errlen, "%s: not a text file", path);
		return -1;
	}
	for (line = buf; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (parse_line(path, lineno, line, out, err, errlen) != 0)
			goto fail;
	}
	if (out->public_key[0] == '\0') {
		snprintf(err, errlen, "%s: no \"public-key = \" line", path);
		goto fail;
	}
	if (need_secret && out->secret_key[0] == '\0') {
		snprintf(err, errlen,
		    "%s: no \"secret-key = \" line: give the NAME.key file made by tigris keygen, "
		    "not NAME.pub",
		    path);
		goto fail;
	}
	if (need_secret && (mode & (S_IROTH | S_IWOTH))) {
		snprintf(err, errlen,
		    "%s: holds a secret key but others may read or write it (mode %04o); "
		    "chmod 600 it",
		    path, (unsigned)(mode & 07777));
		goto fail;
	}
	if (out->secret_key[0] != '\0') {
		if (zmq_curve_public(derived, out->secret_key) != 0) {
			snprintf(err, errlen, "%s: cannot check the secret key: %s", path,
			    zmq_strerror(zmq_errno()));
			goto fail;
		}
		if (strcmp(derived, out->public_key) != 0) {
			snprintf(err, errlen, "%s: the public key does not belong to the secret key",
			    path);
			goto fail;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
fail:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(out, sizeof(*out));
	return -1;
}

int
tg_curvekeys_write(const char *path, const struct tg_curve_keypair *kp, bool with_secret,
    const char *comment, char *err, size_t errlen)
{
	char text[1024];
	size_t len, off = 0;
	ssize_t n;
	int fd, m;

	m = snprintf(text, sizeof(text), "# %s\npublic-key = %s\n", comment ? comment : "tigris",
	    kp->public_key);
	if (m < 0 || (size_t)m >= sizeof(text)) {
		snprintf(err, errlen, "%s: comment too long", path);
		return -1;
	}
	len = (size_t)m;
	if (with_secret) {
		m = snprintf(text + len, sizeof(text) - len, "secret-key = %s\n", kp->secret_key);
		if (m < 0 || (size_t)m >= sizeof(text) - len) {
			snprintf(err, errlen, "%s: comment too long", path);
			return -1;
		}
		len += (size_t)m;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, with_secret ? 0600 : 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
		    errno == EEXIST ? "exists already; not overwritten" : strerror(errno));
		return -1;
	}
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
tg_curvekeys_public_arg(const char *arg, char out[TG_CURVE_Z85_LEN + 1], char *err,
    size_t errlen)
{
	struct tg_curve_keypair kp;
	char kerr[128];

	/* Z85 text unless a file of that name exists (a key never looks like a path
	 * by accident, but a file named like one is taken as the file). */
	if (tg_curvekeys_check_z85(arg, kerr, sizeof(kerr)) == 0 && access(arg, F_OK) != 0) {
		memcpy(out, arg, TG_CURVE_Z85_LEN + 1);
		return 0;
	}
	if (tg_curvekeys_read(arg, false, &kp, err, errlen) != 0)
		return -1;
	memcpy(out, kp.public_key, TG_CURVE_Z85_LEN + 1);
	return 0;
}

int
tg_curvekeys_client_setup(void *sock, const char *server_key, const char *key_file,
    char *err, size_t errlen)
{
	struct tg_curve_keypair kp;
	char server[TG_CURVE_Z85_LEN + 1], serr[512];
	int rc = -1;

	if (server_key == NULL && key_file == NULL)
		return 0;
	if (server_key == NULL || key_file == NULL) {
		snprintf(err, errlen, "CURVE needs both the server's public key "
				      "(--curve-server-key) and a key file (--curve-key)");
		return -1;
	}
	if (!zmq_has("curve")) {
		snprintf(err, errlen, "this libzmq was built without CURVE support");
		return -1;
	}
	if (tg_curvekeys_public_arg(server_key, server, serr, sizeof(serr)) != 0) {
		snprintf(err, errlen, "server key: %s", serr);
		return -1;
	}
	if (tg_curvekeys_read(key_file, true, &kp, err, errlen) != 0)
		return -1;
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, TG_CURVE_Z85_LEN + 1) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, kp.public_key, TG_CURVE_Z85_LEN + 1) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp.secret_key, TG_CURVE_Z85_LEN + 1) != 0) {
		snprintf(err, errlen, "cannot set the CURVE keys on the socket: %s",
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(&kp, sizeof(kp));
	return rc;
}

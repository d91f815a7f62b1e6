/*
 * CURVE key files and the client side of CurveZMQ, shared by tigris-worker and
 * `tigris tail`. The key file format (written by `tigris keygen`) is described
 * in docs/security.md and in curvekeys.c.
 */
#ifndef TG_CURVEKEYS_H
#define TG_CURVEKEYS_H

#include <stdbool.h>
#include <stddef.h>

#define TG_CURVE_KEY_BYTES 32 /* a CURVE public or secret key */
#define TG_CURVE_Z85_LEN 40   /* the same key in Z85 text */

/* A key pair in Z85, each NUL-terminated; secret_key is "" when only the
 * public key is known (a .pub file). */
struct tg_curve_keypair {
	char public_key[TG_CURVE_Z85_LEN + 1];
	char secret_key[TG_CURVE_Z85_LEN + 1];
};

/* 0 if s is a Z85 CURVE key (40 characters of the Z85 alphabet); else -1 with
 * the reason in err. */
int tg_curvekeys_check_z85(const char *s, char *err, size_t errlen);

/* Decode a Z85 key (checked first) into 32 bytes; -1 with err if it is not one. */
int tg_curvekeys_decode(const char *z85, unsigned char out[TG_CURVE_KEY_BYTES], char *err,
    size_t errlen);

/* Encode 32 key bytes as Z85 into out (41 bytes with the NUL). */
void tg_curvekeys_encode(const unsigned char key[TG_CURVE_KEY_BYTES],
    char out[TG_CURVE_Z85_LEN + 1]);

/* Make a new key pair (zmq_curve_keypair); -1 with err when libzmq lacks CURVE. */
int tg_curvekeys_generate(struct tg_curve_keypair *kp, char *err, size_t errlen);

/* Read a key file into *out. need_secret: the file must hold the secret key too
 * (a NAME.key file), which must match the public key and must not be readable
 * by others than the owner and group. Returns 0, or -1 with what and where
 * (file, line) in err. */
int tg_curvekeys_read(const char *path, bool need_secret, struct tg_curve_keypair *out,
    char *err, size_t errlen);

/* Create path with kp: with_secret writes both keys (mode 0600), else only the
 * public key (mode 0644). Never overwrites: -1 with err if path exists. */
int tg_curvekeys_write(const char *path, const struct tg_curve_keypair *kp, bool with_secret,
    const char *comment, char *err, size_t errlen);

/* A public key given on a command line: Z85 text, or the path of a file that
 * holds one (NAME.pub or NAME.key). 0 with the Z85 key in out, else -1. */
int tg_curvekeys_public_arg(const char *arg, char out[TG_CURVE_Z85_LEN + 1], char *err,
    size_t errlen);

/* Make sock (before it connects) a CURVE client of the server whose public key
 * is server_key (Z85 or a file, see tg_curvekeys_public_arg), with the key pair
 * in key_file. Both NULL: plaintext, nothing to do, 0. Only one given, a bad
 * key or file, or a failing setsockopt: -1 with err. */
int tg_curvekeys_client_setup(void *sock, const char *server_key, const char *key_file,
    char *err, size_t errlen);

#endif

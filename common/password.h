/* password.h: task passwords.
 *
 * A password is PASSWORD_LEN characters from [0-9A-Za-z] drawn from the
 * kernel CSPRNG (getrandom(2)), about 190 bits. Only a hash is stored:
 *
 *     sha256$<32 hex digits of salt>$<64 hex digits of SHA-256(salt || password)>
 *
 * computed with OpenSSL's libcrypto and compared with CRYPTO_memcmp().
 * A slow password hash (bcrypt, yescrypt) exists to make guessing a
 * human-chosen password expensive; at 190 random bits guessing is already
 * out of reach, and the stretching would only cap how often a client may
 * poll (sha256crypt costs 0.5 ms a check here, yescrypt 17 ms).
 */
#ifndef RETRACE_PASSWORD_H
#define RETRACE_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PASSWORD_LEN 32
#define PASSWORD_HASH_LEN (6 + 1 + 32 + 1 + 64)   /* without the NUL */

/* Fills out with PASSWORD_LEN random characters and a NUL. */
int password_generate(char out[PASSWORD_LEN + 1], struct error *err);

/* Fills out with the stored form (PASSWORD_HASH_LEN chars and a NUL) under
 * a fresh random salt. */
int password_hash(const char *password, char out[PASSWORD_HASH_LEN + 1],
                  struct error *err);

/* True when password matches the stored form. Time does not depend on
 * where the two differ. */
bool password_verify(const char *password, const char *stored);

/* True for PASSWORD_LEN characters of [0-9A-Za-z]. */
bool password_well_formed(const char *password);

/* Sets a task's password: writes the hash to task_dir/password. */
int task_password_set(const char *task_dir, const char *password, struct error *err);

/* Checks a presented password against task_dir/password.
 *
 * rotate false: returns 0 when it matches.
 * rotate true: under an exclusive lock on the task directory, checks and,
 * on a match, replaces the stored hash with that of a new password returned
 * in new_password; of two requests racing with one password exactly one
 * gets 0.
 *
 * Returns -EACCES for a wrong or malformed password, another negative errno
 * when the task cannot be read or written. */
int task_password_check(const char *task_dir, const char *presented, bool rotate,
                        char new_password[PASSWORD_LEN + 1], struct error *err);

#endif

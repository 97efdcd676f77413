/* verify.h: RPM signatures, checked with librpm against the keys a
 * repository names (gpgkey), for gpgcheck=1. */
#ifndef REPOSYNC_VERIFY_H
#define REPOSYNC_VERIFY_H

#include "error.h"

struct verifier;

/* Keys: ASCII-armored public key files (local paths; file:// and
 * http(s):// keys are fetched by the caller into files first). */
int verifier_new(const char *const *key_files, size_t count, struct verifier **out,
                 struct error *err);
void verifier_free(struct verifier *v);

/* 0 when the package carries a valid signature made by one of the keys;
 * -EPERM for an unsigned package, a signature by another key, or a bad
 * signature or digest; the message says which and names the file. */
int verify_package(struct verifier *v, const char *path, struct error *err);

/* 0 when path is an RPM whose lead and header read and whose header
 * digests hold (no key needed): what --import checks before a file joins
 * the repository. -EINVAL naming the file otherwise. */
int verify_readable(const char *path, struct error *err);

#endif

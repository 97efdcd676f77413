/* release.h: which distribution release a crash came from.
 *
 * A release id is "<distribution>-<version>-<arch>", lower case:
 *     fedora-40-x86_64  fedora-rawhide-x86_64  rhel-9-x86_64  centos-9-aarch64
 * RHEL and CentOS use the major version only (9.4 -> 9); CentOS Stream and
 * CentOS Linux are both "centos". i386/i486/i586/i686/athlon map to "i386",
 * as ABRT's client does. These are the directory names of the local
 * repository.
 *
 * Inputs understood:
 *  - release lines as ABRT records them in os_release / release
 *    (/etc/system-release): "Fedora release 40 (Forty)",
 *    "Fedora release 41 (Rawhide)", "Red Hat Enterprise Linux release 9.4 (Plow)",
 *    "Red Hat Enterprise Linux Server release 7.9 (Maipo)",
 *    "CentOS Stream release 9", "CentOS Linux release 7.9.2009 (Core)";
 *  - os-release files (ID=, VERSION_ID=, REDHAT_SUPPORT_PRODUCT_VERSION=,
 *    VERSION= with "Rawhide", ...), values quoted with " or ' or bare;
 *    a text with any "KEY=" line is read as one;
 *  - release ids themselves ("fedora-40-x86_64", as ABRT's client sends in
 *    X-OS-Release), by release_id_parse() only.
 *
 * Errors fill err with a message quoting the input, cut to 80 characters
 * with non-printable bytes escaped.
 */
#ifndef RETRACE_RELEASE_H
#define RETRACE_RELEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define RELEASE_ID_MAX 64

struct release {
        char distribution[24];  /* "fedora", "rhel", "centos" */
        char version[16];       /* "40", "rawhide", "9" */
};

/* Parses a release line or an os-release file (its whole text, at most
 * 64 KiB). Returns 0; -ENOTSUP for a distribution other than Fedora, RHEL
 * or CentOS ("unsupported release 'Ubuntu 22.04': unknown distribution");
 * -EINVAL for anything malformed (several lines that are no os-release,
 * control characters, a bad version). out is zeroed on failure. */
int release_parse(const char *text, struct release *out, struct error *err);

/* Writes "<distribution>-<version>-<arch>" (arch normalised) into id.
 * -EINVAL when the result would not be valid (see release_id_valid()),
 * -ENOSPC when id_len is too small; id is "" on failure. */
int release_id_make(const struct release *rel, const char *arch,
                    char *id, size_t id_len, struct error *err);

/* Splits a release id; arch receives its third part as written (not
 * normalised). arch may be NULL. -EINVAL for an invalid id, -ENOSPC when
 * arch_len is too small. */
int release_id_parse(const char *id, struct release *out, char *arch,
                     size_t arch_len, struct error *err);

/* True for a syntactically valid release id, shorter than RELEASE_ID_MAX:
 * distribution [a-z]+, version [a-z0-9]+ in dot-separated parts, then a
 * known architecture other than noarch, src and nosrc. Each part fits its
 * field of struct release. */
bool release_id_valid(const char *id);

/* i386/i486/i586/i686/athlon -> "i386"; others (and NULL) unchanged. */
const char *release_arch_normalize(const char *arch);

#endif

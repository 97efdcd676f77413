/* nevra.h: RPM package names: NEVR and NEVRA.
 *
 * Accepted forms (epoch optional, arch only in NEVRA):
 *     bash-5.2.26-3.fc40              name-version-release
 *     bash-0:5.2.26-3.fc40            name-epoch:version-release   (dnf)
 *     1:foo-1.0-1.fc40                epoch:name-version-release   (yum, ABRT)
 *     bash-5.2.26-3.fc40.x86_64       ... .arch
 * Versions and releases may hold '~' (sorts before) and '^' (sorts after),
 * as RPM allows: 1.0~rc1, 1.0^20240101git. Comparison follows rpmvercmp.
 *
 * Characters: name [A-Za-z0-9._+-] starting with a letter, digit or '_';
 * version and release [A-Za-z0-9._+~^], neither empty; epoch digits only,
 * at most 4294967295. Whitespace, control and non-ASCII bytes are refused,
 * so a parsed name is safe as one file-name component.
 */
#ifndef RETRACE_NEVRA_H
#define RETRACE_NEVRA_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Input of NEVRA_MAX bytes or more is refused. */
#define NEVRA_MAX 512

/* Do not copy by assignment or memcpy: the pointers would still point into
 * the original's buf. Parse the formatted string again instead. */
struct nevra {
        /* Pointers into buf; epoch and arch are "" when absent. The epoch is
         * kept as written ("0", "007"). */
        const char *name, *epoch, *version, *release, *arch;
        char buf[NEVRA_MAX];
};

/* Parses "name-[epoch:]version-release" (or "epoch:name-version-release").
 * A trailing ".arch" is taken as part of the release. Returns 0, or -EINVAL
 * with err saying why ("invalid package name 'x': no version-release");
 * on failure every field of out is "". */
int nevra_parse_nevr(const char *text, struct nevra *out, struct error *err);

/* Parses a NEVRA: the last ".component" must be a known architecture.
 * Errors as nevra_parse_nevr(), messages starting "invalid NEVRA '". */
int nevra_parse_nevra(const char *text, struct nevra *out, struct error *err);

/* True for the architectures RPM builds for (x86_64, i686, noarch, src, ...). */
bool arch_known(const char *arch);

/* "name-[epoch:]version-release[.arch]" into buf; an epoch of 0 and an
 * epoch or arch that is "" or NULL are left out. Returns 0, -ENOSPC when len
 * is too small (buf is then ""), -EINVAL when name, version or release is
 * NULL. */
int nevra_format(const struct nevra *n, char *buf, size_t len);

/* rpmvercmp(3) of rpm >= 4.15 (with '~' and '^'): -1, 0, 1. Our own code,
 * as the library is also loaded into httpd; NULL counts as "". */
int rpm_vercmp(const char *a, const char *b);

/* Compares epoch (absent = 0), version, release, as rpmVersionCompare();
 * names and arches are not compared. -1, 0, 1. */
int nevra_evr_compare(const struct nevra *a, const struct nevra *b);

#endif

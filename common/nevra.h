/* nevra.h: RPM package names: NEVR and NEVRA.
 *
 * Accepted forms (epoch optional, arch only in NEVRA):
 *     bash-5.2.26-3.fc40              name-version-release
 *     bash-0:5.2.26-3.fc40            name-epoch:version-release   (dnf)
 *     1:foo-1.0-1.fc40                epoch:name-version-release   (yum, ABRT)
 *     bash-5.2.26-3.fc40.x86_64       ... .arch
 * Versions and releases may hold '~' (sorts before) and '^' (sorts after),
 * as RPM allows: 1.0~rc1, 1.0^20240101git. Comparison follows rpmvercmp.
 */
#ifndef RETRACE_NEVRA_H
#define RETRACE_NEVRA_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define NEVRA_MAX 512

struct nevra {
        /* Pointers into buf; epoch and arch are "" when absent. */
        const char *name, *epoch, *version, *release, *arch;
        char buf[NEVRA_MAX];
};

/* Parses "name-[epoch:]version-release" (or "epoch:name-version-release").
 * A trailing ".arch" is taken as part of the release. */
int nevra_parse_nevr(const char *text, struct nevra *out, struct error *err);

/* Parses a NEVRA: the last ".component" must be a known architecture. */
int nevra_parse_nevra(const char *text, struct nevra *out, struct error *err);

/* True for the architectures RPM builds for (x86_64, i686, noarch, src, ...). */
bool arch_known(const char *arch);

/* "name-[epoch:]version-release[.arch]" into buf; epoch "0" is omitted. */
int nevra_format(const struct nevra *n, char *buf, size_t len);

/* rpmvercmp(3): <0, 0, >0. */
int rpm_vercmp(const char *a, const char *b);

/* Compares epoch (absent = 0), version, release. */
int nevra_evr_compare(const struct nevra *a, const struct nevra *b);

#endif

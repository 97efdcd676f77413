/* resolve.h: from what the core maps to the packages a retrace needs.
 *
 * For each mapped module: the binary package that ships its build-id
 * (/usr/lib/.build-id/xx/yyyy), or failing that the owner of its path
 * (canonicalised: /lib64/... -> /usr/lib64/...); the debuginfo package
 * that ships or provides the build-id; then the -debugsource and dwz
 * packages those debuginfo packages need. Where several versions fit, the
 * one of the crashed package's own build (same version-release) wins, then
 * one from the same distribution release (.fc40), then the newest.
 */
#ifndef WORKER_RESOLVE_H
#define WORKER_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "coreinfo.h"
#include "error.h"
#include "nevra.h"
#include "repoindex.h"

struct unresolved {
        char *what;             /* "/usr/lib64/libfoo.so.1 (build-id 1234...)" */
};

struct resolution {
        repo_pkg *packages;     /* each once: binaries, debuginfo, companions */
        size_t count;
        size_t binaries, debuginfo, companions;
        repo_pkg crashed;       /* the package named by the task's `package` */
        /* Modules with no package at all, and with a package but no
         * debuginfo: said in the task's log. */
        struct unresolved *no_package;
        size_t no_package_count;
        struct unresolved *no_debuginfo;
        size_t no_debuginfo_count;
};

/* crashed: the task's `package` (NEVR, epoch optional); arch: the core's.
 * -ENOENT with a message naming it when that package is not in the
 * index: without the crashed program's own package there is nothing to
 * retrace. */
int resolve_packages(const struct repoindex *idx, const struct core_info *core,
                     const struct nevra *crashed, const char *arch,
                     struct resolution *out, struct error *err);
void resolution_free(struct resolution *r);

/* The packaged form of a path a core names: /lib64/x -> /usr/lib64/x,
 * /lib/x, /bin/x, /sbin/x likewise; "//", "/./" and "/../" folded; a
 * " (deleted)" suffix dropped. out holds PATH_MAX. */
void path_canonical(const char *path, char *out, size_t len);

#endif

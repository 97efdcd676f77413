#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

#define CANDIDATES 64

void path_canonical(const char *path, char *out, size_t len)
{
        static const char *const merged[] = { "/lib64/", "/lib/", "/bin/", "/sbin/" };
        char buf[PATH_MAX];
        size_t o = 0;

        /* Fold //, /./ and /../ component by component. */
        const char *p = path;
        while (*p && o + 2 < sizeof buf) {
                while (*p == '/')
                        p++;
                const char *end = strchr(p, '/');
                size_t n = end ? (size_t)(end - p) : strlen(p);
                if (n == 0)
                        break;
                if (n == 1 && p[0] == '.') {
                        /* nothing */
                } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        while (o > 0 && buf[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                } else if (o + 1 + n < sizeof buf) {
                        buf[o++] = '/';
                        memcpy(buf + o, p, n);
                        o += n;
                }
                p += n;
        }
        buf[o] = '\0';
        if (o == 0)
                snprintf(buf, sizeof buf, "/");
        static const char deleted[] = " (deleted)";
        size_t blen = strlen(buf);
        if (blen > sizeof deleted - 1 && strcmp(buf + blen - (sizeof deleted - 1), deleted) == 0)
                buf[blen - (sizeof deleted - 1)] = '\0';
        for (size_t i = 0; i < sizeof merged / sizeof merged[0]; i++)
                if (strncmp(buf, merged[i], strlen(merged[i])) == 0) {
                        snprintf(out, len, "/usr%s", buf);
                        return;
                }
        snprintf(out, len, "%s", buf);
}

/* The distribution tag of a release: "3.fc40" -> ".fc40", "" when none. */
static const char *dist_tag(const char *release)
{
        const char *dot = strrchr(release, '.');
        return dot ? dot : "";
}

static int evr_cmp(const struct repo_pkg_info *a, const struct repo_pkg_info *b)
{
        struct nevra x = { .name = a->name, .epoch = a->epoch, .version = a->version,
                           .release = a->release, .arch = a->arch };
        struct nevra y = { .name = b->name, .epoch = b->epoch, .version = b->version,
                           .release = b->release, .arch = b->arch };
        return nevra_evr_compare(&x, &y);
}

/* Of several packages that fit, the one the crashed build belongs with. */
static repo_pkg pick(const struct repoindex *idx, const repo_pkg *cands, size_t n,
                     const struct nevra *crashed, const char *arch)
{
        repo_pkg best = cands[0];
        int best_score = -1;
        struct repo_pkg_info bi = { 0 };
        for (size_t i = 0; i < n; i++) {
                struct repo_pkg_info pi;
                repoindex_package(idx, cands[i], &pi);
                int score = 0;
                if (strcmp(pi.version, crashed->version) == 0 &&
                    strcmp(pi.release, crashed->release) == 0)
                        score += 4;
                if (strcmp(dist_tag(pi.release), dist_tag(crashed->release)) == 0)
                        score += 2;
                if (arch && (strcmp(pi.arch, arch) == 0 || strcmp(pi.arch, "noarch") == 0))
                        score += 1;
                if (score > best_score || (score == best_score && evr_cmp(&pi, &bi) > 0)) {
                        best = cands[i];
                        best_score = score;
                        bi = pi;
                }
        }
        return best;
}

static int add_unique(struct resolution *r, repo_pkg p, size_t *cap)
{
        for (size_t i = 0; i < r->count; i++)
                if (r->packages[i] == p)
                        return 0;
        if (r->count == *cap) {
                size_t ncap = *cap ? *cap * 2 : 32;
                repo_pkg *np = realloc(r->packages, ncap * sizeof *np);
                if (!np)
                        return -ENOMEM;
                r->packages = np;
                *cap = ncap;
        }
        r->packages[r->count++] = p;
        return 1;
}

static int note(struct unresolved **list, size_t *count, const struct core_module *m)
{
        struct unresolved *nl = realloc(*list, (*count + 1) * sizeof *nl);
        if (!nl)
                return -ENOMEM;
        *list = nl;
        char *what;
        /* A core without NT_FILE (old kernels) names no path. */
        const char *name = m->path ? m->path : m->main ? "[the executable]" : "[unnamed module]";
        if (asprintf(&what, "%s (build-id %s)", name, m->build_id[0] ? m->build_id : "none") < 0)
                return -ENOMEM;
        nl[(*count)++].what = what;
        return 0;
}

/* A debuginfo package for binary package bin, by name when no build-id
 * says: <name>-debuginfo, then <source name>-debuginfo (RHEL 7 and older
 * Fedora ship one per source package), same version, release and arch. */
static bool debuginfo_by_name(const struct repoindex *idx, repo_pkg bin, repo_pkg *out)
{
        struct repo_pkg_info bi;
        repoindex_package(idx, bin, &bi);
        char names[2][NEVRA_MAX];
        snprintf(names[0], sizeof names[0], "%s-debuginfo", bi.name);
        /* sourcerpm: name-version-release.src.rpm */
        char src[NEVRA_MAX];
        snprintf(src, sizeof src, "%s", bi.sourcerpm);
        char *cut = strstr(src, ".src.rpm");
        names[1][0] = '\0';
        if (cut) {
                *cut = '\0';
                struct nevra sn;
                if (nevra_parse_nevr(src, &sn, NULL) == 0)
                        snprintf(names[1], sizeof names[1], "%s-debuginfo", sn.name);
        }
        for (int i = 0; i < 2; i++) {
                if (!names[i][0])
                        continue;
                struct nevra want = { .name = names[i], .epoch = bi.epoch, .version = bi.version,
                                      .release = bi.release, .arch = bi.arch };
                if (repoindex_find_nevra(idx, &want, out, 1) > 0)
                        return true;
        }
        return false;
}

/* Module i was found by its path in several versions (its package has no
 * /usr/lib/.build-id link: Debian's rpmbuild, old Fedora) and a debuginfo
 * package was found by its build-id: the binary package of that very build
 * (same epoch, version, release and arch) is the one the core mapped, not
 * whichever version the `package` file suggested. Swaps binaries[i] for it
 * in out, dropping the first choice if no other module uses it. */
static int realign_binary(const struct repoindex *idx, const struct core_info *core, size_t i,
                          repo_pkg dbg, repo_pkg *binaries, const bool *have,
                          struct resolution *out, size_t *cap)
{
        struct repo_pkg_info di, bi;
        repo_pkg cands[CANDIDATES];
        char path[PATH_MAX];
        repoindex_package(idx, dbg, &di);
        path_canonical(core->modules[i].path, path, sizeof path);
        size_t n = repoindex_find_path(idx, path, cands, CANDIDATES);
        for (size_t k = 0; k < n && k < CANDIDATES; k++) {
                repoindex_package(idx, cands[k], &bi);
                if (strcmp(bi.epoch, di.epoch) != 0 || strcmp(bi.version, di.version) != 0 ||
                    strcmp(bi.release, di.release) != 0 || strcmp(bi.arch, di.arch) != 0)
                        continue;
                repo_pkg old = binaries[i];
                if (cands[k] == old)
                        return 0;
                binaries[i] = cands[k];
                bool used = false;
                for (size_t j = 0; j < core->count; j++)
                        used |= have[j] && binaries[j] == old;
                for (size_t j = 0; j < out->count && !used; j++)
                        if (out->packages[j] == old) {
                                memmove(out->packages + j, out->packages + j + 1,
                                        (out->count - j - 1) * sizeof *out->packages);
                                out->count--;
                                out->binaries--;
                                break;
                        }
                int added = add_unique(out, cands[k], cap);
                if (added < 0)
                        return added;
                out->binaries += (size_t)added;
                return 0;
        }
        return 0;
}

int resolve_packages(const struct repoindex *idx, const struct core_info *core,
                     const struct nevra *crashed, const char *arch,
                     struct resolution *out, struct error *err)
{
        repo_pkg cands[CANDIDATES];
        size_t cap = 0;
        int rc;

        memset(out, 0, sizeof *out);
        /* The crashed program's own package. */
        struct nevra want = *crashed;
        want.arch = "";
        size_t n = repoindex_find_nevra(idx, &want, cands, CANDIDATES);
        if (n == 0) {
                char shown[QUOTE_BUF];
                return error_set(err, ENOENT, "package '%s-%s%s%s-%s' is not in the repository",
                                 error_quote(crashed->name, shown),
                                 crashed->epoch[0] ? crashed->epoch : "",
                                 crashed->epoch[0] ? ":" : "", crashed->version, crashed->release);
        }
        out->crashed = pick(idx, cands, n > CANDIDATES ? CANDIDATES : n, crashed, arch);

        repo_pkg *binaries = calloc(core->count ? core->count : 1, sizeof *binaries);
        bool *have = calloc(core->count ? core->count : 1, sizeof *have);
        bool *by_path = calloc(core->count ? core->count : 1, sizeof *by_path);
        if (!binaries || !have || !by_path) {
                rc = error_set(err, ENOMEM, "out of memory resolving packages");
                goto fail;
        }
        for (size_t i = 0; i < core->count; i++) {
                const struct core_module *m = &core->modules[i];
                n = 0;
                if (m->build_id[0])
                        n = repoindex_find_build_id(idx, m->build_id, BUILD_ID_BINARY, cands, CANDIDATES);
                if (n == 0 && m->path) {
                        char path[PATH_MAX];
                        path_canonical(m->path, path, sizeof path);
                        n = repoindex_find_path(idx, path, cands, CANDIDATES);
                        by_path[i] = n > 1;
                }
                if (n == 0 && m->main)
                        cands[n++] = out->crashed;
                if (n == 0) {
                        /* The vdso is the kernel's, not a package's. A
                         * module without a path is reported all the same
                         * when it has a build-id (a core without NT_FILE):
                         * its frames will lack names. */
                        if (m->vdso || (!m->path && !m->build_id[0]) ||
                            (m->path && (strncmp(m->path, "[vdso", 5) == 0 ||
                                         strstr(m->path, "linux-vdso") ||
                                         strstr(m->path, "linux-gate"))))
                                continue;
                        if (note(&out->no_package, &out->no_package_count, m) < 0)
                                goto nomem;
                        continue;
                }
                binaries[i] = pick(idx, cands, n > CANDIDATES ? CANDIDATES : n, crashed, arch);
                have[i] = true;
                int added = add_unique(out, binaries[i], &cap);
                if (added < 0)
                        goto nomem;
                out->binaries += (size_t)added;
        }

        /* Binaries found by path only: the build their debuginfo names. */
        for (size_t i = 0; i < core->count; i++) {
                const struct core_module *m = &core->modules[i];
                if (!have[i] || !by_path[i] || !m->build_id[0])
                        continue;
                n = repoindex_find_build_id(idx, m->build_id, BUILD_ID_DEBUG, cands, CANDIDATES);
                if (n > 0 && realign_binary(idx, core, i,
                                            pick(idx, cands, n > CANDIDATES ? CANDIDATES : n,
                                                 crashed, arch),
                                            binaries, have, out, &cap) < 0)
                        goto nomem;
        }

        size_t first_debug = out->count;
        for (size_t i = 0; i < core->count; i++) {
                const struct core_module *m = &core->modules[i];
                if (!have[i])
                        continue;
                repo_pkg dbg;
                n = 0;
                if (m->build_id[0])
                        n = repoindex_find_build_id(idx, m->build_id, BUILD_ID_DEBUG, cands, CANDIDATES);
                if (n > 0)
                        dbg = pick(idx, cands, n > CANDIDATES ? CANDIDATES : n, crashed, arch);
                else if (!debuginfo_by_name(idx, binaries[i], &dbg)) {
                        if (note(&out->no_debuginfo, &out->no_debuginfo_count, m) < 0)
                                goto nomem;
                        continue;
                }
                int added = add_unique(out, dbg, &cap);
                if (added < 0)
                        goto nomem;
                out->debuginfo += (size_t)added;
        }
        /* Their -debugsource and dwz companions; those need nothing more. */
        size_t last_debug = out->count;
        for (size_t i = first_debug; i < last_debug; i++) {
                repo_pkg comp[16];
                size_t k = repoindex_debug_companions(idx, out->packages[i], comp, 16);
                for (size_t j = 0; j < k && j < 16; j++) {
                        int added = add_unique(out, comp[j], &cap);
                        if (added < 0)
                                goto nomem;
                        out->companions += (size_t)added;
                }
        }
        free(binaries);
        free(have);
        free(by_path);
        return 0;
nomem:
        rc = error_set(err, ENOMEM, "out of memory resolving packages");
fail:
        free(binaries);
        free(have);
        free(by_path);
        resolution_free(out);
        return rc;
}

void resolution_free(struct resolution *r)
{
        if (!r)
                return;
        free(r->packages);
        for (size_t i = 0; i < r->no_package_count; i++)
                free(r->no_package[i].what);
        free(r->no_package);
        for (size_t i = 0; i < r->no_debuginfo_count; i++)
                free(r->no_debuginfo[i].what);
        free(r->no_debuginfo);
        memset(r, 0, sizeof *r);
}

/* index-bench.c: the repository index at the size of a Fedora release.
 * Built and run by bench/index.sh; not a test.
 *
 *   index-bench gen REPO RELEASE N
 *       A synthetic release of N packages, per source package a binary, a
 *       -debuginfo and a -debugsource package with Fedora-like file lists
 *       (libraries, programs, docs, man pages, /usr/lib/.build-id links,
 *       .debug files, sources) and provides. Written the way an older
 *       writer would leave it: Packages/ with an empty file per package and
 *       .index-1/packages.solv whose size and modification time keys match
 *       them, `index` pointing there, no lookup.tbl. The next update makes
 *       the tables from packages.solv without reading any RPM.
 *   index-bench update REPO RELEASE
 *       repoindex_update(), timed; prints seconds and the counts.
 *   index-bench query REPO RELEASE N
 *       repoindex_open() and the lookups against what gen made, timed.
 *       Prints "name median-ns" lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>

#include "repoindex.h"

#define BUILD_IDS 3             /* ELF files per binary package */

static void die(const char *what)
{
        fprintf(stderr, "index-bench: %s: %s\n", what, strerror(errno));
        exit(1);
}

static uint64_t mix(uint64_t x)
{
        x += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

/* The k-th build-id of source package s: 40 hex digits. */
static void build_id(unsigned s, unsigned k, char out[41])
{
        uint64_t a = mix((uint64_t)s * 8 + k), b = mix(a), c = mix(b);
        snprintf(out, 41, "%016" PRIx64 "%016" PRIx64 "%08" PRIx32, a, b, (uint32_t)c);
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_file(Repodata *data, Id p, const char *path)
{
        char dir[512];
        const char *slash = strrchr(path, '/');
        size_t len = (size_t)(slash - path);
        memcpy(dir, path, len);
        dir[len] = '\0';
        repodata_add_dirstr(data, p, SOLVABLE_FILELIST,
                            repodata_str2dir(data, len ? dir : "/", 1), slash + 1);
}

static Id dep(Pool *pool, const char *name, const char *evr)
{
        Id n = pool_str2id(pool, name, 1);
        return evr ? pool_rel2id(pool, n, pool_str2id(pool, evr, 1), REL_EQ, 1) : n;
}

static const char description[] =
        "This package contains a library and the programs that come with it. It is "
        "one of many packages generated for a benchmark of the retrace server's "
        "repository index; its text is about as long as a typical description in "
        "Fedora, so that packages.solv has a realistic size.";

static int gen(const char *repo_dir, const char *release, unsigned n)
{
        char rel[4096], path[4096], pkgs[4096], loc[512], file[256];
        snprintf(rel, sizeof rel, "%s/%s", repo_dir, release);
        snprintf(pkgs, sizeof pkgs, "%s/%s", rel, REPOINDEX_PACKAGES);
        mkdir(repo_dir, 0755);
        mkdir(rel, 0755);
        if (mkdir(pkgs, 0755) < 0)
                die(pkgs);
        int pkg_fd = open(pkgs, O_RDONLY | O_DIRECTORY);
        if (pkg_fd < 0)
                die(pkgs);

        Pool *pool = pool_create();
        pool_setdisttype(pool, DISTTYPE_RPM);
        pool_setarch(pool, "x86_64");
        Repo *repo = repo_create(pool, release);
        Repodata *data = repo_add_repodata(repo, 0);
        Id key_size = pool_str2id(pool, REPOINDEX_SOLV_KEY_SIZE, 1);
        Id key_mtime = pool_str2id(pool, REPOINDEX_SOLV_KEY_MTIME, 1);
        size_t files = 0;

        for (unsigned i = 0; i < n; i++) {
                unsigned s = i / 3, kind = i % 3;       /* binary, debuginfo, debugsource */
                char src[64], name[96], evr[32], srpm[128], id[41];
                snprintf(src, sizeof src, "pkg%05u", s);
                snprintf(evr, sizeof evr, "%u.%u-%u.fc40", 1 + s % 7, s % 13, 1 + s % 3);
                snprintf(name, sizeof name, "%s%s", src,
                         kind == 0 ? "" : kind == 1 ? "-debuginfo" : "-debugsource");
                snprintf(srpm, sizeof srpm, "%s-%s.src.rpm", src, evr);
                const char *arch = kind == 0 && s % 10 == 9 ? "noarch" : "x86_64";

                Id p = repo_add_solvable(repo);
                Solvable *sv = pool_id2solvable(pool, p);
                sv->name = pool_str2id(pool, name, 1);
                sv->evr = pool_str2id(pool, evr, 1);
                sv->arch = pool_str2id(pool, arch, 1);
                sv->provides = repo_addid_dep(repo, sv->provides, dep(pool, name, evr), 0);
                repodata_set_sourcepkg(data, p, srpm);
                repodata_set_str(data, p, SOLVABLE_SUMMARY, "A package made up for a benchmark");
                repodata_set_str(data, p, SOLVABLE_DESCRIPTION, description);

                if (kind == 0) {
                        char lib[128];
                        snprintf(lib, sizeof lib, "lib%s.so.1()(64bit)", src);
                        sv->provides = repo_addid_dep(repo, sv->provides, dep(pool, lib, NULL), 0);
                        sv->requires = repo_addid_dep(repo, sv->requires,
                                                      dep(pool, "libc.so.6()(64bit)", NULL), 0);
                        sv->requires = repo_addid_dep(repo, sv->requires,
                                                      dep(pool, "libc.so.6(GLIBC_2.34)(64bit)", NULL), 0);
                        snprintf(path, sizeof path, "/usr/lib64/lib%s.so.1", src);
                        add_file(data, p, path);
                        snprintf(path, sizeof path, "/usr/lib64/lib%s.so.1.0.0", src);
                        add_file(data, p, path);
                        for (unsigned k = 0; k < BUILD_IDS; k++) {
                                build_id(s, k, id);
                                snprintf(path, sizeof path, "/usr/lib/.build-id/%.2s", id);
                                add_file(data, p, path);
                                snprintf(path, sizeof path, "/usr/lib/.build-id/%.2s/%s", id, id + 2);
                                add_file(data, p, path);
                        }
                        for (unsigned k = 0; k < 2; k++) {
                                snprintf(path, sizeof path, "/usr/bin/%s-tool%u", src, k);
                                add_file(data, p, path);
                        }
                        for (unsigned k = 0; k < 25; k++) {
                                snprintf(path, sizeof path, "/usr/share/%s/data/file%02u.dat", src, k);
                                add_file(data, p, path);
                        }
                        for (unsigned k = 0; k < 8; k++) {
                                snprintf(path, sizeof path, "/usr/share/doc/%s/DOC%u", src, k);
                                add_file(data, p, path);
                                snprintf(path, sizeof path, "/usr/share/locale/l%u/LC_MESSAGES/%s.mo", k, src);
                                add_file(data, p, path);
                        }
                        snprintf(path, sizeof path, "/usr/share/man/man1/%s-tool0.1.gz", src);
                        add_file(data, p, path);
                        files += 45;
                } else if (kind == 1) {
                        char dsrc[128];
                        snprintf(dsrc, sizeof dsrc, "%s-debugsource(x86-64)", src);
                        sv->recommends = repo_addid_dep(repo, sv->recommends, dep(pool, dsrc, evr), 0);
                        if (s % 4 == 0)         /* dwz: the common debuginfo of another */
                                sv->requires = repo_addid_dep(repo, sv->requires,
                                                              dep(pool, "pkg00000-debuginfo", NULL), 0);
                        for (unsigned k = 0; k < BUILD_IDS; k++) {
                                build_id(s, k, id);
                                sv->provides = repo_addid_dep(repo, sv->provides,
                                                              dep(pool, "debuginfo(build-id)", id), 0);
                                snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%.2s/%s", id, id + 2);
                                add_file(data, p, path);
                                snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
                                add_file(data, p, path);
                        }
                        snprintf(path, sizeof path, "/usr/lib/debug/usr/lib64/lib%s.so.1.0.0-%s.x86_64.debug",
                                 src, evr);
                        add_file(data, p, path);
                        for (unsigned k = 0; k < 2; k++) {
                                snprintf(path, sizeof path, "/usr/lib/debug/usr/bin/%s-tool%u-%s.x86_64.debug",
                                         src, k, evr);
                                add_file(data, p, path);
                        }
                        snprintf(path, sizeof path, "/usr/lib/debug/.dwz/%s-%s.x86_64", src, evr);
                        add_file(data, p, path);
                        files += 10;
                } else {
                        for (unsigned k = 0; k < 60; k++) {
                                snprintf(path, sizeof path, "/usr/src/debug/%s-%s.x86_64/src/f%02u.c",
                                         src, evr, k);
                                add_file(data, p, path);
                        }
                        files += 60;
                }

                snprintf(file, sizeof file, "%s-%s.%s.rpm", name, evr, arch);
                snprintf(loc, sizeof loc, REPOINDEX_PACKAGES "/%s", file);
                int fd = openat(pkg_fd, file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0)
                        die(file);
                close(fd);
                repodata_set_location(data, p, 0, NULL, loc);
                repodata_set_num(data, p, key_size, (unsigned long long)st.st_size);
                repodata_set_num(data, p, key_mtime,
                                 (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
                                 (unsigned long long)st.st_mtim.tv_nsec);
        }
        close(pkg_fd);
        repo_internalize(repo);

        snprintf(path, sizeof path, "%s/.index-1", rel);
        if (mkdir(path, 0755) < 0)
                die(path);
        snprintf(path, sizeof path, "%s/.index-1/%s", rel, REPOINDEX_SOLV);
        FILE *fp = fopen(path, "w");
        if (!fp || repo_write(repo, fp) != 0 || fclose(fp) != 0)
                die(path);
        snprintf(path, sizeof path, "%s/%s", rel, REPOINDEX_LINK);
        if (symlink(".index-1", path) < 0)
                die(path);
        pool_free(pool);
        printf("packages %u files %zu\n", n, files);
        return 0;
}

static int update(const char *repo_dir, const char *release)
{
        struct repoindex_stats st;
        struct error err = { 0 };
        double t0 = now();
        if (repoindex_update(repo_dir, release, &st, &err) < 0) {
                fprintf(stderr, "index-bench: %s\n", err.msg);
                return 1;
        }
        printf("seconds %.3f packages %zu added %zu removed %zu\n", now() - t0, st.packages,
               st.added, st.removed);
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

#define ROUNDS 201
#define BATCH 1000

typedef size_t (*lookup_fn)(const struct repoindex *idx, unsigned i, unsigned n);

/* Median over ROUNDS batches of BATCH lookups, in ns per lookup. */
static double time_lookups(const struct repoindex *idx, lookup_fn fn, unsigned n,
                           size_t *found)
{
        double t[ROUNDS];
        unsigned seed = 12345;
        *found = 0;
        for (int r = 0; r < ROUNDS; r++) {
                double t0 = now();
                for (int b = 0; b < BATCH; b++) {
                        seed = seed * 1103515245u + 12345u;
                        *found += fn(idx, seed >> 8, n);
                }
                t[r] = (now() - t0) / BATCH * 1e9;
        }
        qsort(t, ROUNDS, sizeof *t, cmp_double);
        return t[ROUNDS / 2];
}

static size_t look_build_id_binary(const struct repoindex *idx, unsigned i, unsigned n)
{
        char id[41];
        build_id(i % (n / 3), i % BUILD_IDS, id);
        repo_pkg out[4];
        return repoindex_find_build_id(idx, id, BUILD_ID_BINARY, out, 4);
}

static size_t look_build_id_debug(const struct repoindex *idx, unsigned i, unsigned n)
{
        char id[41];
        build_id(i % (n / 3), i % BUILD_IDS, id);
        repo_pkg out[4];
        return repoindex_find_build_id(idx, id, BUILD_ID_DEBUG, out, 4);
}

static size_t look_build_id_miss(const struct repoindex *idx, unsigned i, unsigned n)
{
        char id[41];
        build_id(n + i, 7, id);
        repo_pkg out[4];
        return repoindex_find_build_id(idx, id, BUILD_ID_DEBUG, out, 4);
}

static size_t look_path(const struct repoindex *idx, unsigned i, unsigned n)
{
        char path[128];
        snprintf(path, sizeof path, "/usr/lib64/libpkg%05u.so.1.0.0", i % (n / 3));
        repo_pkg out[4];
        return repoindex_find_path(idx, path, out, 4);
}

static size_t look_path_miss(const struct repoindex *idx, unsigned i, unsigned n)
{
        char path[128];
        snprintf(path, sizeof path, "/usr/lib64/libnone%05u.so.1", i % (n / 3));
        repo_pkg out[4];
        return repoindex_find_path(idx, path, out, 4);
}

static size_t look_nevra(const struct repoindex *idx, unsigned i, unsigned n)
{
        unsigned s = i % (n / 3);
        char name[64], version[16], release[16];
        snprintf(name, sizeof name, "pkg%05u-debuginfo", s);
        snprintf(version, sizeof version, "%u.%u", 1 + s % 7, s % 13);
        snprintf(release, sizeof release, "%u.fc40", 1 + s % 3);
        struct nevra nv = { .name = name, .epoch = "", .version = version,
                            .release = release, .arch = "x86_64" };
        repo_pkg out[4];
        return repoindex_find_nevra(idx, &nv, out, 4);
}

static size_t look_companions(const struct repoindex *idx, unsigned i, unsigned n)
{
        (void)n;
        repo_pkg out[8];
        return repoindex_debug_companions(idx, (repo_pkg)(i % repoindex_package_count(idx)),
                                          out, 8);
}

static int query(const char *repo_dir, const char *release, unsigned n)
{
        struct error err = { 0 };
        struct repoindex *idx;
        double t[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
                double t0 = now();
                if (repoindex_open(repo_dir, release, &idx, &err) < 0) {
                        fprintf(stderr, "index-bench: %s\n", err.msg);
                        return 1;
                }
                t[r] = (now() - t0) * 1e9;
                if (r < ROUNDS - 1)
                        repoindex_free(idx);
        }
        qsort(t, ROUNDS, sizeof *t, cmp_double);
        printf("open %.0f %zu\n", t[ROUNDS / 2], repoindex_package_count(idx));
        double t0 = now();
        bool current = repoindex_is_current(idx);
        printf("is_current %.0f %d\n", (now() - t0) * 1e9, current);

        static const struct {
                const char *name;
                lookup_fn fn;
                size_t want;    /* found per lookup */
        } lookups[] = {
                { "build_id_binary", look_build_id_binary, 1 },
                { "build_id_debug", look_build_id_debug, 1 },
                { "build_id_miss", look_build_id_miss, 0 },
                { "path", look_path, 1 },
                { "path_miss", look_path_miss, 0 },
                { "nevra", look_nevra, 1 },
                { "companions", look_companions, 0 },
        };
        for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
                size_t found;
                double ns = time_lookups(idx, lookups[i].fn, n, &found);
                size_t calls = (size_t)ROUNDS * BATCH;
                if (lookups[i].want && found != calls * lookups[i].want) {
                        fprintf(stderr, "index-bench: %s found %zu of %zu\n", lookups[i].name,
                                found, calls);
                        return 1;
                }
                printf("%s %.0f %.2f\n", lookups[i].name, ns, (double)found / (double)calls);
        }
        repoindex_free(idx);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 5 && strcmp(argv[1], "gen") == 0)
                return gen(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10));
        if (argc == 4 && strcmp(argv[1], "update") == 0)
                return update(argv[2], argv[3]);
        if (argc == 5 && strcmp(argv[1], "query") == 0)
                return query(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10));
        fprintf(stderr, "usage: index-bench gen|query REPO RELEASE N\n"
                        "       index-bench update REPO RELEASE\n");
        return 2;
}

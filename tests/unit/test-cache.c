/* test-cache.c: the package cache on real Fedora/RHEL RPMs from the shared
 * test data ($TESTDATA: gzip, xz and zstd payloads), checked against
 * rpm2cpio | cpio, plus packages built here with rpmbuild (a hostile one:
 * absolute and climbing symlinks, setuid, FIFO, device node, a 3 GiB
 * sparse file, hard links) and payloads crafted with libarchive and
 * grafted onto a real RPM header (".." names, absolute names, paths
 * through symlinks, hard links to what is not a file).
 *
 * Everything happens in a scratch directory; rpmbuild's output is kept in
 * tests/unit/test-cache.fixtures/ under the working directory when it
 * exists (make check runs in the build directory) so reruns are quick.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../retrace-worker/cache.h"
#include "spool.h"
#include "testutil.h"

#define ABIGAIL "libabigail-real-fedora-rhel-rpms-with-debuginfo"
#define ELFUTILS "elfutils-debuginfod-rpms"
#define BIGGEST "spice-debuginfo-0.12.8-1.el7.x86_64"  /* the largest debuginfo */
#define SPARSE_SIZE (UINT64_C(3) << 30)        /* under 4 GiB: see hostile_rpm() */
#define SPARSE_DATA_AT (UINT64_C(5) << 29)     /* 2.5 GiB */

static char scratch[PATH_MAX];
static char testdata[PATH_MAX];
static char fixtures[PATH_MAX];

/* ---- helpers -------------------------------------------------------------- */

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs cmd with bash; its stdout goes to stderr (TAP owns stdout), or
 * into out (at most outlen - 1 bytes, NUL-terminated) when out is given.
 * Returns the exit status. */
static int vrun(char *out, size_t outlen, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

static int vrun(char *out, size_t outlen, const char *fmt, va_list ap)
{
        char cmd[16384];
        int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
        assert_true(n > 0 && (size_t)n < sizeof cmd);
        int p[2];
        assert_int_equal(pipe(p), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                dup2(out ? p[1] : 2, 1);
                close(p[1]);
                execl("/bin/bash", "bash", "-o", "pipefail", "-c", cmd, (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        size_t o = 0;
        char buf[4096];
        ssize_t got;
        while ((got = read(p[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)) {
                if (got < 0)
                        continue;
                if (out && o + 1 < outlen) {
                        size_t take = (size_t)got < outlen - 1 - o ? (size_t)got : outlen - 1 - o;
                        memcpy(out + o, buf, take);
                        o += take;
                }
        }
        if (out)
                out[o] = '\0';
        close(p[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                assert_int_equal(errno, EINTR);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vrun(NULL, 0, fmt, ap);
        va_end(ap);
        return r;
}

static void capture(char *out, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void capture(char *out, size_t len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vrun(out, len, fmt, ap);
        va_end(ap);
        if (r != 0)
                fail_msg("command failed (%d): %s", r, fmt);
}

static void must(int status, const char *what)
{
        if (status != 0)
                fail_msg("%s: exit status %d", what, status);
}

static struct pkg_cache *open_cache(const char *name, uint64_t max)
{
        char dir[PATH_MAX];
        struct pkg_cache *c;
        struct error err;
        test_path(dir, sizeof dir, "%s/%s", scratch, name);
        if (cache_open(dir, max, &c, &err) < 0)
                fail_msg("%s", err.msg);
        return c;
}

static void get(struct pkg_cache *c, const char *nevra, const char *rpm, char *tree,
                bool *extracted)
{
        struct error err;
        char t[PATH_MAX];
        bool e;
        if (cache_get(c, nevra, rpm, tree ? tree : t, PATH_MAX, extracted ? extracted : &e,
                      &err) < 0)
                fail_msg("cache_get '%s': %s", nevra, err.msg);
}

static const char *abigail(char *buf, const char *nevra)
{
        return test_path(buf, PATH_MAX, "%s/" ABIGAIL "/%s.rpm", testdata, nevra);
}

/* The test RPMs: file name without ".rpm" is the nevra. */
static size_t list_rpms(char names[][PATH_MAX], char paths[][PATH_MAX], size_t max)
{
        static const char *const dirs[] = {
                ABIGAIL, ELFUTILS "/fedora30", ELFUTILS "/fedora31", ELFUTILS "/rhel6",
                ELFUTILS "/rhel7",
        };
        size_t n = 0;
        for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
                char dir[PATH_MAX];
                test_path(dir, sizeof dir, "%s/%s", testdata, dirs[i]);
                DIR *d = opendir(dir);
                if (!d)
                        fail_msg("cannot read test data '%s' (set TESTDATA)", dir);
                struct dirent *de;
                while ((de = readdir(d))) {
                        size_t len = strlen(de->d_name);
                        if (len < 5 || strcmp(de->d_name + len - 4, ".rpm") != 0)
                                continue;
                        assert_true(n < max);
                        snprintf(names[n], PATH_MAX, "%s%s%.*s",
                                 i ? dirs[i] + strlen(ELFUTILS) + 1 : "", i ? "-" : "",
                                 (int)(len - 4), de->d_name);
                        /* elfutils' packages share names across releases. */
                        for (char *p = names[n]; *p; p++)
                                if (*p == '/')
                                        *p = '-';
                        test_path(paths[n], PATH_MAX, "%s/%s", dir, de->d_name);
                        n++;
                }
                closedir(d);
        }
        return n;
}

/* Every symlink under dir: relative, and when it resolves, inside top. */
static unsigned links_checked, links_resolved;
static const char *links_top;
static int check_link(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (flag != FTW_SL && flag != FTW_SLN)
                return 0;
        char target[PATH_MAX], real[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        assert_true(n > 0);
        target[n] = '\0';
        if (target[0] == '/')
                fail_msg("'%s' still points at an absolute '%s'", path, target);
        links_checked++;
        if (realpath(path, real)) {
                size_t len = strlen(links_top);
                if (strncmp(real, links_top, len) != 0 || (real[len] && real[len] != '/'))
                        fail_msg("'%s' -> '%s' resolves outside '%s': '%s'", path, target,
                                 links_top, real);
                links_resolved++;
        }
        return 0;
}

static void check_links(const char *top)
{
        char real[PATH_MAX];
        assert_non_null(realpath(top, real));
        links_top = real;
        assert_int_equal(nftw(real, check_link, 32, FTW_PHYS), 0);
}

/* Disk usage of a tree as du counts it. */
static uint64_t du(const char *path)
{
        char out[64];
        capture(out, sizeof out, "du -s -B1 '%s' | cut -f1", path);
        return strtoull(out, NULL, 10);
}

/* ---- fixtures ------------------------------------------------------------- */

static int setup(void **state)
{
        (void)state;
        const char *env = getenv("TESTDATA");
        const char *top = getenv("top_srcdir");
        if (env && *env)
                snprintf(testdata, sizeof testdata, "%s", env);
        else if (top && *top)
                snprintf(testdata, sizeof testdata, "%s", testdata_dir());
        else {
                /* Run by hand from a build directory: next to the sources. */
                snprintf(testdata, sizeof testdata, "%s", __FILE__);
                char *s = strstr(testdata, "/tests/unit/test-cache.c");
                if (s)
                        strcpy(s, "/../shared/testdata");
        }
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/test-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch))
                return -1;
        struct stat st;
        if (stat("tests/unit", &st) == 0 && S_ISDIR(st.st_mode)) {
                char unit[PATH_MAX];
                assert_non_null(realpath("tests/unit", unit));
                test_path(fixtures, sizeof fixtures, "%s/test-cache.fixtures", unit);
        } else {
                test_path(fixtures, sizeof fixtures, "%s/fixtures", scratch);
        }
        mkdir(fixtures, 0755);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        struct error err;
        if (scratch[0] && remove_tree(scratch, &err) < 0)
                fprintf(stderr, "# %s\n", err.msg);
        return 0;
}

/* ---- real packages -------------------------------------------------------- */

/* Every test RPM is extracted; the tree equals what cpio -idm makes of
 * rpm2cpio's output (names, types, contents, link targets), every file
 * rpm -qlp lists is there, a few hashes agree. */
static void test_real_packages(void **state)
{
        (void)state;
        static char names[64][PATH_MAX], paths[64][PATH_MAX];
        size_t n = list_rpms(names, paths, 64);
        assert_true(n >= 30);
        struct pkg_cache *c = open_cache("real", 0);
        char tree[PATH_MAX], ref[PATH_MAX], out[256];
        bool gzip = false, xz = false, zstd = false;
        for (size_t i = 0; i < n; i++) {
                bool extracted;
                double t0 = now_s();
                get(c, names[i], paths[i], tree, &extracted);
                double dt = now_s() - t0;
                assert_true(extracted);
                if (strcmp(names[i], BIGGEST) == 0) {
                        char dest[PATH_MAX];
                        struct error err;
                        test_path(dest, sizeof dest, "%s/real/unsynced", scratch);
                        double t1 = now_s();
                        if (cache_extract(paths[i], dest, NULL, &err) < 0)
                                fail_msg("%s", err.msg);
                        print_message("# extraction of %s: %.1f ms by cache_get, %.1f ms "
                                      "without its syncfs\n", names[i], dt * 1e3,
                                      (now_s() - t1) * 1e3);
                }

                capture(out, sizeof out, "rpm -qp --qf '%%{PAYLOADCOMPRESSOR}' '%s' 2>/dev/null",
                        paths[i]);
                gzip |= strcmp(out, "gzip") == 0;
                xz |= strcmp(out, "xz") == 0;
                zstd |= strcmp(out, "zstd") == 0;

                test_path(ref, sizeof ref, "%s/ref/%s", scratch, names[i]);
                must(run("mkdir -p '%s' && cd '%s' && rpm2cpio '%s' | cpio -idm --quiet",
                         ref, ref, paths[i]), "rpm2cpio | cpio -idm");
                if (run("diff -r --no-dereference '%s' '%s' >&2", ref, tree) != 0)
                        fail_msg("'%s': the tree differs from cpio's", names[i]);
                /* Types too (diff -r says nothing of modes). */
                if (run("diff <(cd '%s' && find . -printf '%%y %%p\\n' | sort) "
                        "<(cd '%s' && find . -printf '%%y %%p\\n' | sort) >&2", ref, tree) != 0)
                        fail_msg("'%s': types differ", names[i]);
                if (run("rpm2cpio '%s' | cpio -t --quiet | while read -r f; do "
                        "[ -e '%s'/\"$f\" ] || [ -L '%s'/\"$f\" ] || "
                        "{ echo \"missing $f\"; exit 1; }; "
                        "done >&2", paths[i], tree, tree) != 0)
                        fail_msg("'%s': a cpio member is missing", names[i]);
                if (run("rpm -qlp '%s' 2>/dev/null | grep '^/' | while read -r f; do "
                        "[ -e '%s'\"$f\" ] || [ -L '%s'\"$f\" ] || "
                        "{ echo \"missing $f\"; exit 1; }; "
                        "done >&2", paths[i], tree, tree) != 0)
                        fail_msg("'%s': a file rpm -qlp lists is missing", names[i]);
                /* The three largest files, by hash. */
                if (run("cd '%s' && for f in $(find . -type f -printf '%%s %%p\\n' | sort -rn | "
                        "head -3 | cut -d' ' -f2); do a=$(sha256sum < \"$f\"); "
                        "b=$(sha256sum < '%s'/\"$f\"); [ \"$a\" = \"$b\" ] || exit 1; done",
                        ref, tree) != 0)
                        fail_msg("'%s': sha256 differs", names[i]);
                /* No special bits, owner can write, group/other cannot. */
                if (run("find '%s' ! -type l -perm /7022 | grep . >&2", tree) == 0)
                        fail_msg("'%s': modes not normalised", names[i]);
                /* The recorded size is what du sees. */
                char size_path[PATH_MAX], size[32];
                test_path(size_path, sizeof size_path, "%s.size", tree);
                size_t len;
                struct error err;
                assert_int_equal(spool_read_file(size_path, size, sizeof size, &len, &err), 0);
                uint64_t recorded = strtoull(size, NULL, 10), seen = du(tree);
                if (recorded != seen)
                        fail_msg("'%s': .size says %" PRIu64 ", du %" PRIu64, names[i], recorded,
                                 seen);
        }
        assert_true(gzip && xz && zstd);
        cache_close(c);
}

/* Debuginfo symlinks climb to the root (../../../../../usr/lib/debug/...):
 * in a root made of a package and its debuginfo they all stay inside, and
 * the build-id .debug links resolve. */
static void test_debuginfo_links(void **state)
{
        (void)state;
        static const char *const pairs[][2] = {
                { "libxcrypt-4.4.18-3.el9.x86_64", "libxcrypt-debuginfo-4.4.18-3.el9.x86_64" },
                { "sshpass-1.07-1.fc34.x86_64", "sshpass-debuginfo-1.07-1.fc34.x86_64" },
                { "spice-server-0.12.8-1.el7.x86_64", BIGGEST },
                { "tbb-4.3-3.20141204.fc23.x86_64", "tbb-debuginfo-4.3-3.20141204.fc23.x86_64" },
                { "libcdio-0.94-2.fc26.x86_64", "libcdio-debuginfo-0.94-2.fc26.x86_64" },
        };
        struct pkg_cache *c = open_cache("links", 0);
        for (size_t i = 0; i < N_ELEMENTS(pairs); i++) {
                char root[PATH_MAX], tree[PATH_MAX], rpm[PATH_MAX];
                struct error err;
                test_path(root, sizeof root, "%s/links/roots/%zu", scratch, i);
                for (size_t j = 0; j < 2; j++) {
                        get(c, pairs[i][j], abigail(rpm, pairs[i][j]), tree, NULL);
                        if (root_add_package(root, tree, &err) < 0)
                                fail_msg("%s", err.msg);
                }
                links_checked = links_resolved = 0;
                check_links(root);
                assert_true(links_checked > 0);
                /* Each .build-id/xx/yyyy.debug resolves to a file. */
                if (run("cd '%s/usr/lib/debug/.build-id' && for l in */*.debug; do "
                        "[ -f \"$l\" ] || { echo \"dangling $l\"; exit 1; }; done >&2", root) != 0)
                        fail_msg("'%s': a .debug build-id link does not resolve", pairs[i][1]);
        }
        cache_close(c);
}

/* A second cache_get is a hit and rewrites nothing; .used moves. */
static void test_hit(void **state)
{
        (void)state;
        struct pkg_cache *c = open_cache("hit", 0);
        char tree[PATH_MAX], rpm[PATH_MAX], path[PATH_MAX];
        bool extracted;
        get(c, BIGGEST, abigail(rpm, BIGGEST), tree, &extracted);
        assert_true(extracted);

        char before[1 << 16], after[1 << 16];
        capture(before, sizeof before, "cd '%s/..' && find '" BIGGEST "' '" BIGGEST ".complete' '"
                BIGGEST ".size' -printf '%%i %%T@ %%C@ %%p\\n' | sort", tree);
        test_path(path, sizeof path, "%s.used", tree);
        struct timespec old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
        assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);

        double t0 = now_s();
        get(c, BIGGEST, rpm, tree, &extracted);
        double dt = now_s() - t0;
        assert_false(extracted);
        print_message("# cache hit: %.1f us\n", dt * 1e6);

        capture(after, sizeof after, "cd '%s/..' && find '" BIGGEST "' '" BIGGEST ".complete' '"
                BIGGEST ".size' -printf '%%i %%T@ %%C@ %%p\\n' | sort", tree);
        assert_string_equal(before, after);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_mtime > time(NULL) - 60);

        /* 1000 hits, for the report. */
        t0 = now_s();
        for (int i = 0; i < 1000; i++)
                get(c, BIGGEST, rpm, tree, &extracted);
        print_message("# cache hit, mean of 1000: %.1f us\n", (now_s() - t0) * 1e3);
        cache_close(c);
}

/* A tree without .complete (a killed worker) is removed and redone, and
 * a dead worker's temporary directory goes too. */
static void test_half_extracted(void **state)
{
        (void)state;
        struct pkg_cache *c = open_cache("half", 0);
        const char *nevra = "libICE-debuginfo-1.0.9-2.el7.x86_64";
        char tree[PATH_MAX], rpm[PATH_MAX], ref[PATH_MAX];
        test_path(tree, sizeof tree, "%s/half/packages/%s", scratch, nevra);
        must(run("mkdir -p '%s/usr/lib/debug' '%s/../.%s.tmp.999999/usr' && "
                 "echo junk > '%s/junk' && echo junk > '%s/usr/lib/debug/junk' && "
                 "echo 5 > '%s.size'", tree, tree, nevra, tree, tree, tree), "setup");
        bool extracted;
        get(c, nevra, abigail(rpm, nevra), tree, &extracted);
        assert_true(extracted);
        test_path(ref, sizeof ref, "%s/half/ref", scratch);
        must(run("mkdir -p '%s' && cd '%s' && rpm2cpio '%s' | cpio -idm --quiet", ref, ref, rpm),
             "cpio");
        must(run("diff -r --no-dereference '%s' '%s' >&2", ref, tree), "the redone tree differs");
        must(run("! ls -d '%s/../.%s.tmp.'* 2>/dev/null", tree, nevra), "a temporary is left");
        must(run("test \"$(cat '%s.size')\" -gt 4096", tree), ".size not rewritten");

        /* A marker without its tree: redone as well. */
        must(run("rm -rf '%s'", tree), "rm");
        get(c, nevra, rpm, tree, &extracted);
        assert_true(extracted);
        must(run("diff -r --no-dereference '%s' '%s' >&2", ref, tree), "the redone tree differs");
        cache_close(c);
}

/* The cache in dir holds BIGGEST exactly as rpm2cpio extracts rpm, and
 * no temporary or eviction leftover. */
static void assert_extracted_once(const char *dir, const char *rpm)
{
        char tree[PATH_MAX], ref[PATH_MAX];
        test_path(tree, sizeof tree, "%s/packages/" BIGGEST, dir);
        test_path(ref, sizeof ref, "%s/ref", dir);
        must(run("mkdir -p '%s' && cd '%s' && rpm2cpio '%s' | cpio -idm --quiet", ref, ref, rpm),
             "cpio");
        must(run("diff -r --no-dereference '%s' '%s' >&2", ref, tree), "the tree differs");
        must(run("! ls -a '%s/packages' | grep -E '\\.(tmp|evict)\\.'", dir), "leftovers");
}

/* Four processes want one package at once: one extracts, the others wait
 * and find it complete. */
static void test_concurrent(void **state)
{
        (void)state;
        char rpm[PATH_MAX], dir[PATH_MAX];
        abigail(rpm, BIGGEST);
        test_path(dir, sizeof dir, "%s/concurrent", scratch);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t pids[4];
        fflush(NULL);
        for (int i = 0; i < 4; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        close(go[1]);
                        char b;
                        if (read(go[0], &b, 1) != 0)
                                _exit(100);
                        struct pkg_cache *c;
                        struct error err;
                        char t[PATH_MAX];
                        bool extracted;
                        if (cache_open(dir, 0, &c, &err) < 0 ||
                            cache_get(c, BIGGEST, rpm, t, sizeof t, &extracted, &err) < 0) {
                                fprintf(stderr, "# child: %s\n", err.msg);
                                _exit(101);
                        }
                        cache_close(c);
                        _exit(extracted ? 1 : 0);
                }
        }
        close(go[0]);
        close(go[1]);           /* all start now */
        int extractors = 0;
        for (int i = 0; i < 4; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                assert_true(WEXITSTATUS(status) <= 1);
                extractors += WEXITSTATUS(status);
        }
        assert_int_equal(extractors, 1);
        assert_extracted_once(dir, rpm);
}

/* The worker extracts a task's packages from several threads sharing one
 * cache handle: four threads wanting one package at once still make one
 * extraction (the package lock is a flock on a file each opens itself). */
struct thread_get {
        struct pkg_cache *cache;
        const char *rpm;
        pthread_barrier_t *start;
        int r;
        bool extracted;
        struct error err;
};

static void *thread_get(void *arg)
{
        struct thread_get *g = arg;
        char t[PATH_MAX];
        pthread_barrier_wait(g->start);
        g->r = cache_get(g->cache, BIGGEST, g->rpm, t, sizeof t, &g->extracted, &g->err);
        return NULL;
}

static void test_concurrent_threads(void **state)
{
        (void)state;
        char rpm[PATH_MAX], dir[PATH_MAX];
        abigail(rpm, BIGGEST);
        test_path(dir, sizeof dir, "%s/threads", scratch);
        struct pkg_cache *c = open_cache("threads", 0);
        pthread_barrier_t start;
        assert_int_equal(pthread_barrier_init(&start, NULL, 4), 0);
        struct thread_get g[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
                g[i] = (struct thread_get){ .cache = c, .rpm = rpm, .start = &start };
                assert_int_equal(pthread_create(&th[i], NULL, thread_get, &g[i]), 0);
        }
        int extractors = 0;
        for (int i = 0; i < 4; i++) {
                assert_int_equal(pthread_join(th[i], NULL), 0);
                if (g[i].r < 0)
                        fail_msg("thread %d: %s", i, g[i].err.msg);
                extractors += g[i].extracted;
        }
        pthread_barrier_destroy(&start);
        cache_close(c);
        assert_int_equal(extractors, 1);
        assert_extracted_once(dir, rpm);
}

static void set_used(const char *dir, const char *nevra, time_t when)
{
        char path[PATH_MAX];
        test_path(path, sizeof path, "%s/packages/%s.used", dir, nevra);
        struct timespec ts[2] = { { .tv_sec = when }, { .tv_sec = when } };
        assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool cached(const char *dir, const char *nevra)
{
        char path[PATH_MAX];
        struct stat st;
        bool tree = stat(test_path(path, sizeof path, "%s/packages/%s", dir, nevra), &st) == 0;
        bool complete = stat(test_path(path, sizeof path, "%s/packages/%s.complete", dir, nevra),
                             &st) == 0;
        assert_int_equal(tree, complete);
        return tree;
}

static uint64_t size_of(const char *dir, const char *nevra)
{
        char path[PATH_MAX];
        return du(test_path(path, sizeof path, "%s/packages/%s", dir, nevra));
}

/* Least recently used first; never a locked one, never one used in the
 * grace period; what remains is under the cap. */
static void test_evict(void **state)
{
        (void)state;
        static const char *const pkgs[] = {
                "tbb-debuginfo-4.3-3.20141204.fc23.x86_64",     /* oldest */
                "libcdio-debuginfo-0.94-2.fc26.x86_64",
                "nss-util-debuginfo-3.24.0-2.0.fc25.x86_64",
                "dbus-glib-debuginfo-0.80-3.fc12.x86_64",
                "libICE-debuginfo-1.0.6-1.el6.x86_64",          /* just used */
        };
        char dir[PATH_MAX], rpm[PATH_MAX];
        test_path(dir, sizeof dir, "%s/evict", scratch);
        struct pkg_cache *c = open_cache("evict", 0);
        for (size_t i = 0; i < N_ELEMENTS(pkgs); i++)
                get(c, pkgs[i], abigail(rpm, pkgs[i]), NULL, NULL);
        cache_close(c);
        time_t now = time(NULL);
        uint64_t size[N_ELEMENTS(pkgs)], total = 0;
        for (size_t i = 0; i < N_ELEMENTS(pkgs); i++) {
                size[i] = size_of(dir, pkgs[i]);
                total += size[i];
                if (i + 1 < N_ELEMENTS(pkgs))
                        set_used(dir, pkgs[i], now - 10000 + (time_t)i * 1000);
        }
        struct error err;

        /* No cap, or under it: nothing goes. */
        c = open_cache("evict", 0);
        assert_int_equal(cache_evict(c, &err), 0);
        cache_close(c);
        c = open_cache("evict", total);
        assert_int_equal(cache_evict(c, &err), 0);
        cache_close(c);

        /* One byte over: the oldest goes, alone. */
        c = open_cache("evict", total - 1);
        assert_int_equal(cache_evict(c, &err), (int64_t)size[0]);
        cache_close(c);
        assert_false(cached(dir, pkgs[0]));
        for (size_t i = 1; i < N_ELEMENTS(pkgs); i++)
                assert_true(cached(dir, pkgs[i]));
        must(run("! ls -a '%s/packages' | grep -E '^%s\\.|\\.evict\\.'", dir, pkgs[0]),
             "the evicted package left files");

        /* The next oldest is locked (being extracted or looked at by
         * another worker): it stays, the one after goes. */
        char lock[PATH_MAX];
        test_path(lock, sizeof lock, "%s/packages/%s.lock", dir, pkgs[1]);
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(flock(fd, LOCK_EX), 0);
        c = open_cache("evict", total - size[0] - 1);
        assert_int_equal(cache_evict(c, &err), (int64_t)size[2]);
        cache_close(c);
        assert_true(cached(dir, pkgs[1]));
        assert_false(cached(dir, pkgs[2]));
        close(fd);

        /* A tiny cap: all but the one used within the grace period go. */
        c = open_cache("evict", 1);
        assert_int_equal(cache_evict(c, &err), (int64_t)(size[1] + size[3]));
        cache_close(c);
        for (size_t i = 0; i + 1 < N_ELEMENTS(pkgs); i++)
                assert_false(cached(dir, pkgs[i]));
        assert_true(cached(dir, pkgs[4]));

        /* An eviction cut short (the tree renamed, not removed) is
         * cleaned by the next one. */
        must(run("mkdir -p '%s/packages/.x-1-1.noarch.evict.12345/usr' && "
                 "touch '%s/packages/.x-1-1.noarch.evict.12345/usr/f'", dir, dir), "setup");
        c = open_cache("evict", 0);
        assert_int_equal(cache_evict(c, &err), 0);
        cache_close(c);
        must(run("! ls -a '%s/packages' | grep -F .evict.", dir), "an old evict dir left");

        /* An evicted package comes back on demand. */
        c = open_cache("evict", 0);
        bool extracted;
        get(c, pkgs[0], abigail(rpm, pkgs[0]), NULL, &extracted);
        assert_true(extracted);
        cache_close(c);
}

/* A root from two packages: hard links to the cache's inodes, symlinks
 * copied, what the root already holds is kept. */
static void test_root(void **state)
{
        (void)state;
        static const char *const pkgs[] = {
                "spice-server-0.12.8-1.el7.x86_64", BIGGEST,
        };
        struct pkg_cache *c = open_cache("root", 0);
        char root[PATH_MAX], tree[2][PATH_MAX], rpm[PATH_MAX], mine[PATH_MAX];
        struct error err;
        test_path(root, sizeof root, "%s/root/roots/1", scratch);
        test_path(mine, sizeof mine, "%s/usr/lib64/libspice-server.so.1", root);
        must(run("mkdir -p '%s/usr/lib64' && echo mine > '%s'", root, mine), "setup");
        double total = 0;
        for (size_t i = 0; i < 2; i++) {
                get(c, pkgs[i], abigail(rpm, pkgs[i]), tree[i], NULL);
                double t0 = now_s();
                if (root_add_package(root, tree[i], &err) < 0)
                        fail_msg("%s", err.msg);
                total += now_s() - t0;
        }
        print_message("# root_add_package of 2 packages: %.2f ms\n", total * 1e3);

        for (size_t i = 0; i < 2; i++) {
                /* Every file: the cache's inode. Every symlink: the same
                 * target. */
                if (run("cd '%s' && find . -type f | while read -r f; do "
                        "[ \"$(stat -c %%i \"$f\")\" = \"$(stat -c %%i '%s'/\"$f\")\" ] && "
                        "[ \"$(stat -c %%h \"$f\")\" -gt 1 ] || "
                        "{ echo \"not linked: $f\"; exit 1; }; done >&2", tree[i], root) != 0)
                        fail_msg("'%s': a file is not a hard link", pkgs[i]);
                if (run("cd '%s' && find . -type l | while read -r f; do "
                        "[ \"$(readlink \"$f\")\" = \"$(readlink '%s'/\"$f\")\" ] || "
                        "[ \"$f\" = ./usr/lib64/libspice-server.so.1 ] || "
                        "{ echo \"not copied: $f\"; exit 1; }; done >&2", tree[i], root) != 0)
                        fail_msg("'%s': a symlink is not copied", pkgs[i]);
                if (run("cd '%s' && find . -type d | while read -r f; do "
                        "[ -d '%s'/\"$f\" ] && [ ! -L '%s'/\"$f\" ] || exit 1; done", tree[i], root,
                        root) != 0)
                        fail_msg("'%s': a directory is missing", pkgs[i]);
        }
        /* libspice-server.so.1 is a symlink in the package; the root's own
         * file won. */
        char text[64];
        capture(text, sizeof text, "cat '%s'", mine);
        assert_string_equal(text, "mine\n");

        /* Adding again changes nothing and succeeds. */
        for (size_t i = 0; i < 2; i++)
                if (root_add_package(root, tree[i], &err) < 0)
                        fail_msg("%s", err.msg);

        /* The links keep a file after its package is evicted. */
        must(run("rm -rf '%s'", tree[1]), "rm");
        must(run("test -s '%s/usr/lib/debug/usr/lib64/libspice-server.so.1.10.1.debug'", root),
             "the linked file went with the tree");

        /* A tree that is not there. */
        assert_true(root_add_package(root, tree[1], &err) < 0);
        check_message(&err, "cannot open the package tree", NULL, tree[1]);
        cache_close(c);
}

/* ---- hostile packages ----------------------------------------------------- */

static const char HOSTILE_SPEC[] =
        "%global _binary_payload w1.zstdio\n"
        "%global debug_package %{nil}\n"
        "%global __os_install_post %{nil}\n"
        "Name: hostile\n"
        "Version: 1\n"
        "Release: 1\n"
        "Summary: Everything an extractor must not trust\n"
        "License: MIT\n"
        "BuildArch: noarch\n"
        "%description\n"
        "Absolute and climbing symlinks, setuid, FIFO, device, sparse file.\n"
        "%install\n"
        "b=%{buildroot}\n"
        "mkdir -p $b/usr/bin $b/usr/lib/debug/.build-id/ab $b/usr/share/gdb/auto-load/usr/bin\n"
        "mkdir -p $b/usr/share/hostile/private\n"
        "ln -s /etc/passwd $b/usr/bin/passwd-link\n"
        "ln -s /usr/bin/suid $b/usr/lib/debug/.build-id/ab/cdef\n"
        "ln -s / $b/usr/bin/rootlink\n"
        "ln -s ../../../../../../etc/shadow $b/usr/lib/debug/shadow-link\n"
        "ln -s ../../../../../../../../../../../../../../tmp $b/usr/bin/tmp-link\n"
        "ln -s rootlink/../../../etc/group $b/usr/bin/through-link\n"
        "printf '#!/bin/sh\\necho suid\\n' > $b/usr/bin/suid\n"
        "echo sgid > $b/usr/bin/sgid\n"
        "echo ro > $b/usr/share/hostile/readonly\n"
        "echo secret > $b/usr/share/hostile/private/secret\n"
        "echo same > $b/usr/share/hostile/link1\n"
        "ln $b/usr/share/hostile/link1 $b/usr/share/hostile/link2\n"
        "ln $b/usr/share/hostile/link1 $b/usr/share/hostile/link3\n"
        "mkfifo $b/usr/bin/fifo\n"
        "truncate -s @SIZE@ $b/usr/bin/sparse\n"
        "printf hello | dd of=$b/usr/bin/sparse bs=1 seek=@AT@ conv=notrunc status=none\n"
        "echo 'import os; os.system(\"touch /tmp/pwned\")' > "
        "$b/usr/share/gdb/auto-load/usr/bin/suid-gdb.py\n"
        "%files\n"
        "%attr(4755,root,root) /usr/bin/suid\n"
        "%attr(2711,root,root) /usr/bin/sgid\n"
        "/usr/bin/passwd-link\n"
        "/usr/bin/rootlink\n"
        "/usr/bin/tmp-link\n"
        "/usr/bin/through-link\n"
        "/usr/lib/debug/shadow-link\n"
        "/usr/lib/debug/.build-id/ab/cdef\n"
        "/usr/bin/fifo\n"
        "/usr/bin/sparse\n"
        "%dir %attr(1777,root,root) /usr/share/hostile\n"
        "%dir %attr(0500,root,root) /usr/share/hostile/private\n"
        "%attr(0600,root,root) /usr/share/hostile/private/secret\n"
        "%attr(0444,root,root) /usr/share/hostile/readonly\n"
        "/usr/share/hostile/link1\n"
        "/usr/share/hostile/link2\n"
        "/usr/share/hostile/link3\n"
        "%dev(c, 1, 3) /dev/null2\n"
        "/usr/share/gdb/auto-load/usr/bin/suid-gdb.py\n";

/* Builds (or finds in fixtures/) hostile-1-1.noarch.rpm. The sparse file
 * stays under 4 GiB: past that, rpm writes its "stripped" cpio variant
 * (07070X), which neither libarchive 3.6 nor rpm2cpio reads. */
static const char *hostile_rpm(char *out)
{
        char spec[sizeof HOSTILE_SPEC + 64], *o = spec;
        for (const char *p = HOSTILE_SPEC; *p;) {
                if (strncmp(p, "@SIZE@", 6) == 0) {
                        o += sprintf(o, "%" PRIu64, SPARSE_SIZE);
                        p += 6;
                } else if (strncmp(p, "@AT@", 4) == 0) {
                        o += sprintf(o, "%" PRIu64, SPARSE_DATA_AT);
                        p += 4;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        char saved[PATH_MAX], *old = NULL;
        test_path(out, PATH_MAX, "%s/hostile-1-1.noarch.rpm", fixtures);
        test_path(saved, sizeof saved, "%s/hostile.spec", fixtures);
        FILE *f = fopen(saved, "r");
        if (f) {
                old = calloc(1, sizeof spec);
                assert_non_null(old);
                size_t got = fread(old, 1, sizeof spec - 1, f);
                (void)got;
                fclose(f);
        }
        if (old && strcmp(old, spec) == 0 && access(out, R_OK) == 0) {
                free(old);
                return out;
        }
        free(old);
        char top[PATH_MAX];
        test_path(top, sizeof top, "%s/rpmbuild", scratch);
        must(run("mkdir -p '%s'/{SOURCES,SPECS,BUILD,RPMS,SRPMS,BUILDROOT}", top), "mkdir");
        char spec_path[PATH_MAX];
        test_path(spec_path, sizeof spec_path, "%s/SPECS/hostile.spec", top);
        f = fopen(spec_path, "w");
        assert_non_null(f);
        fputs(spec, f);
        fclose(f);
        double t0 = now_s();
        if (run("rpmbuild -bb --nodeps --quiet --define '_topdir %s' '%s' > '%s/log' 2>&1 || "
                "{ cat '%s/log' >&2; exit 1; }", top, spec_path, top, top) != 0)
                fail_msg("rpmbuild failed (is cpio installed?)");
        print_message("# rpmbuild of the hostile package: %.1f s\n", now_s() - t0);
        must(run("cp '%s/RPMS/noarch/hostile-1-1.noarch.rpm' '%s.tmp' && mv '%s.tmp' '%s' && "
                 "rm -rf '%s'", top, out, out, out, top), "cp");
        f = fopen(saved, "w");
        assert_non_null(f);
        fputs(spec, f);
        fclose(f);
        return out;
}

/* What the host has that the package names: unchanged afterwards. */
static void host_state(char *buf, size_t len)
{
        capture(buf, len, "stat -c '%%n %%i %%s %%Y %%Z %%h' /etc/passwd /etc/shadow /etc/group "
                "/dev/null; ls -a /etc /tmp | grep -F -x -e null2 -e pwned -e sparse "
                "-e suid -e secret; true");
}

static mode_t mode_of(const char *tree, const char *rel)
{
        char path[PATH_MAX];
        struct stat st;
        if (lstat(test_path(path, sizeof path, "%s/%s", tree, rel), &st) < 0)
                fail_msg("'%s': %s", path, strerror(errno));
        return st.st_mode;
}

static void assert_target(const char *tree, const char *rel, const char *want)
{
        char path[PATH_MAX], target[PATH_MAX];
        ssize_t n = readlink(test_path(path, sizeof path, "%s/%s", tree, rel), target,
                             sizeof target - 1);
        assert_true(n > 0);
        target[n] = '\0';
        if (strcmp(target, want) != 0)
                fail_msg("'%s' -> '%s', expected '%s'", rel, target, want);
}

static void test_hostile(void **state)
{
        (void)state;
        char rpm[PATH_MAX], tree[PATH_MAX], dest[PATH_MAX];
        char host_before[4096], host_after[4096], scratch_before[8192], scratch_after[8192];
        char scratch_new[256];
        hostile_rpm(rpm);
        host_state(host_before, sizeof host_before);
        capture(scratch_before, sizeof scratch_before, "ls -A '%s'", scratch);

        struct pkg_cache *c = open_cache("hostile", 0);
        bool extracted;
        double t0 = now_s();
        get(c, "hostile-1-1.noarch", rpm, tree, &extracted);
        print_message("# extraction of the hostile package (3 GiB sparse): %.2f s\n", now_s() - t0);
        assert_true(extracted);
        cache_close(c);

        /* Specials skipped and counted. */
        struct cache_extract_stats st;
        struct error err;
        test_path(dest, sizeof dest, "%s/hostile-direct", scratch);
        if (cache_extract(rpm, dest, &st, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(st.skipped, 2);
        assert_int_equal(st.hardlinks, 2);
        assert_int_equal(st.symlinks, 6);
        assert_int_equal(st.rewritten, 6);
        assert_int_equal(st.file_bytes, SPARSE_SIZE + 20 + 5 + 3 + 7 + 5 +
                         strlen("import os; os.system(\"touch /tmp/pwned\")\n"));
        /* (The sparse file is compared below: diff would read 3 GiB.) */
        must(run("diff -r --no-dereference -x sparse '%s' '%s' >&2", tree, dest),
             "two extractions differ");
        must(run("[ ! -e '%s/dev/null2' ] && [ ! -e '%s/usr/bin/fifo' ] && "
                 "[ ! -L '%s/usr/bin/fifo' ]",
                 tree, tree, tree), "a special file was made");

        /* Modes. */
        assert_int_equal(mode_of(tree, "usr/bin/suid"), S_IFREG | 0755);
        assert_int_equal(mode_of(tree, "usr/bin/sgid"), S_IFREG | 0755);
        assert_int_equal(mode_of(tree, "usr/share/hostile"), S_IFDIR | 0755);
        assert_int_equal(mode_of(tree, "usr/share/hostile/private"), S_IFDIR | 0755);
        assert_int_equal(mode_of(tree, "usr/share/hostile/private/secret"), S_IFREG | 0644);
        assert_int_equal(mode_of(tree, "usr/share/hostile/readonly"), S_IFREG | 0644);
        assert_int_equal(mode_of(tree, "usr/share/gdb/auto-load/usr/bin/suid-gdb.py"),
                         S_IFREG | 0644);
        must(run("find '%s' ! -type l -perm /7022 | grep . >&2", tree) == 0, "special bits left");
        must(run("[ \"$(find '%s' ! -user \"$(id -u)\" | wc -l)\" = 0 ]", tree), "foreign owner");

        /* Symlinks: absolute ones relative, climbing ones clamped. */
        assert_target(tree, "usr/bin/passwd-link", "../../etc/passwd");
        assert_target(tree, "usr/lib/debug/.build-id/ab/cdef", "../../../../bin/suid");
        assert_target(tree, "usr/bin/rootlink", "../..");
        assert_target(tree, "usr/lib/debug/shadow-link", "../../../etc/shadow");
        assert_target(tree, "usr/bin/tmp-link", "../../tmp");
        assert_target(tree, "usr/bin/through-link", "../../etc/group");
        check_links(tree);
        must(run("[ \"$(cat '%s/usr/lib/debug/.build-id/ab/cdef')\" = \"$(printf '#!/bin/sh\\n"
                 "echo suid')\" ]", tree), "the build-id link does not reach its file");

        /* Hard links stay hard links, with their data. */
        must(run("cd '%s/usr/share/hostile' && "
                 "[ \"$(stat -c %%i link1)\" = \"$(stat -c %%i link2)\" ] "
                 "&& [ \"$(stat -c %%i link1)\" = \"$(stat -c %%i link3)\" ] && "
                 "[ \"$(stat -c %%h link1)\" = 3 ] && [ \"$(cat link3)\" = same ]", tree),
             "hard links");

        /* The sparse file: its size, its data, almost no blocks. */
        char path[PATH_MAX];
        struct stat sb;
        assert_int_equal(stat(test_path(path, sizeof path, "%s/usr/bin/sparse", tree), &sb), 0);
        assert_int_equal((uint64_t)sb.st_size, SPARSE_SIZE);
        if ((uint64_t)sb.st_blocks * 512 > 64 * 1024)
                fail_msg("the sparse file takes %" PRIu64 " bytes", (uint64_t)sb.st_blocks * 512);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        char buf[16] = { 0 };
        assert_int_equal(pread(fd, buf, 7, (off_t)SPARSE_DATA_AT - 1), 7);
        assert_memory_equal(buf, "\0hello\0", 7);
        /* Every data region holds zeros but for "hello". */
        static char region[1 << 16];
        uint64_t data_bytes = 0;
        for (off_t at = 0;;) {
                off_t data = lseek(fd, at, SEEK_DATA);
                if (data < 0)
                        break;
                off_t hole = lseek(fd, data, SEEK_HOLE);
                assert_true(hole > data);
                data_bytes += (uint64_t)(hole - data);
                assert_true(data_bytes < 1024 * 1024);
                for (off_t o = data; o < hole;) {
                        size_t n = (size_t)(hole - o) < sizeof region ? (size_t)(hole - o)
                                                                       : sizeof region;
                        assert_int_equal(pread(fd, region, n, o), (ssize_t)n);
                        for (size_t k = 0; k < n; k++) {
                                uint64_t pos = (uint64_t)o + k;
                                bool in_hello = pos >= SPARSE_DATA_AT && pos < SPARSE_DATA_AT + 5;
                                if (!in_hello && region[k] != 0)
                                        fail_msg("the sparse file has 0x%02x at %" PRIu64,
                                                 (unsigned char)region[k], pos);
                        }
                        o += (off_t)n;
                }
                at = hole;
        }
        assert_true(data_bytes > 0);
        close(fd);
        test_path(path, sizeof path, "%s/usr/bin/sparse", dest);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal((uint64_t)sb.st_size, SPARSE_SIZE);
        assert_true((uint64_t)sb.st_blocks * 512 <= 64 * 1024);
        if (du(tree) > 1024 * 1024)
                fail_msg("the tree takes %" PRIu64 " bytes", du(tree));

        /* Nothing outside the tree changed. */
        host_state(host_after, sizeof host_after);
        assert_string_equal(host_before, host_after);
        capture(scratch_after, sizeof scratch_after, "ls -A '%s'", scratch);
        /* The scratch dir gained hostile/ and hostile-direct/ only. */
        capture(scratch_new, sizeof scratch_new,
                "comm -13 <(echo '%s' | sort) <(echo '%s' | sort) | tr '\\n' ' '",
                scratch_before, scratch_after);
        assert_string_equal(scratch_new, "hostile hostile-direct ");
        must(run("[ \"$(ls -A '%s/hostile')\" = packages ] && "
                 "[ \"$(ls -A '%s/hostile/packages' | tr '\\n' ' ')\" = "
                 "'hostile-1-1.noarch hostile-1-1.noarch.complete hostile-1-1.noarch.lock "
                 "hostile-1-1.noarch.size hostile-1-1.noarch.used ' ]", scratch, scratch),
             "unexpected files in the cache");
        /* Beyond the tree's top: only what the payload names. */
        must(run("[ \"$(ls -A '%s' | tr '\\n' ' ')\" = 'usr ' ]", tree), "the tree's top");

        /* In a root, through root_add_package: the links are the same. */
        char root[PATH_MAX];
        test_path(root, sizeof root, "%s/hostile/roots/1", scratch);
        if (root_add_package(root, tree, &err) < 0)
                fail_msg("%s", err.msg);
        check_links(root);
        assert_target(root, "usr/bin/passwd-link", "../../etc/passwd");
}

/* A worker killed while it extracts (the hostile package's 3 GiB of zeros
 * take a while): the next cache_get removes its temporary and extracts. */
static void test_killed(void **state)
{
        (void)state;
        char rpm[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX], tree[PATH_MAX];
        hostile_rpm(rpm);
        test_path(dir, sizeof dir, "%s/killed", scratch);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct pkg_cache *c;
                struct error err;
                bool extracted;
                if (cache_open(dir, 0, &c, &err) < 0 ||
                    cache_get(c, "hostile-1-1.noarch", rpm, tree, sizeof tree, &extracted,
                              &err) < 0)
                        _exit(1);
                _exit(0);
        }
        test_path(tmp, sizeof tmp, "%s/packages/.hostile-1-1.noarch.tmp.%ld/usr", dir, (long)pid);
        struct stat st;
        for (int i = 0; i < 20000 && stat(tmp, &st) < 0; i++)
                usleep(500);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        bool died = WIFSIGNALED(status);
        if (!died)
                print_message("# the extraction ended before the kill\n");

        struct pkg_cache *c = open_cache("killed", 0);
        bool extracted;
        get(c, "hostile-1-1.noarch", rpm, tree, &extracted);
        assert_int_equal(extracted, died);
        cache_close(c);
        must(run("! ls -a '%s/packages' | grep -F .tmp.", dir), "the temporary is left");
        must(run("[ \"$(stat -c %%s '%s/usr/bin/sparse')\" = %" PRIu64 " ] && "
                 "[ \"$(cat '%s/usr/share/hostile/link3')\" = same ]", tree, SPARSE_SIZE, tree),
             "the tree is not whole");
}

/* ---- crafted payloads ----------------------------------------------------- */

struct member {
        const char *name;
        mode_t type;            /* AE_IFREG, ... */
        const char *data;       /* file data or symlink target */
        unsigned ino, nlink;    /* to make cpio hard links */
};

/* An RPM: the lead, signature and header of a real package, then a gzip'd
 * newc cpio of the members. libarchive's RPM filter skips the headers and
 * sniffs the payload's compression. */
static void craft(const char *path, const struct member *m, size_t n)
{
        char real[PATH_MAX];
        hostile_rpm(real);
        FILE *in = fopen(real, "rb");
        assert_non_null(in);
        static unsigned char head[1 << 20];
        size_t len = fread(head, 1, sizeof head, in);
        fclose(in);
        size_t off = 96;
        for (int h = 0; h < 2; h++) {
                assert_true(off + 16 <= len);
                assert_memory_equal(head + off, "\x8e\xad\xe8\x01", 4);
                uint32_t il = (uint32_t)head[off + 8] << 24 | (uint32_t)head[off + 9] << 16 |
                              (uint32_t)head[off + 10] << 8 | head[off + 11];
                uint32_t dl = (uint32_t)head[off + 12] << 24 | (uint32_t)head[off + 13] << 16 |
                              (uint32_t)head[off + 14] << 8 | head[off + 15];
                off += 16 + (size_t)il * 16 + dl;
                if (h == 0)
                        off = (off + 7) & ~(size_t)7;
        }
        assert_true(off < len);
        FILE *o = fopen(path, "wb");
        assert_non_null(o);
        assert_int_equal(fwrite(head, 1, off, o), off);
        fclose(o);

        char payload[PATH_MAX];
        test_path(payload, sizeof payload, "%s.payload", path);
        struct archive *a = archive_write_new();
        assert_int_equal(archive_write_set_format_cpio_newc(a), ARCHIVE_OK);
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, payload), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, m[i].name);
                archive_entry_set_filetype(e, m[i].type);
                archive_entry_set_perm(e, m[i].type == AE_IFDIR ? 0755 : 0644);
                archive_entry_set_ino(e, m[i].ino ? m[i].ino : 1000 + i);
                archive_entry_set_nlink(e, m[i].nlink ? m[i].nlink : 1);
                archive_entry_set_mtime(e, 1600000000, 0);
                size_t size = 0;
                if (m[i].type == AE_IFLNK)
                        archive_entry_set_symlink(e, m[i].data);
                else if (m[i].type == AE_IFREG && m[i].data)
                        size = strlen(m[i].data);
                archive_entry_set_size(e, (la_int64_t)size);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (size)
                        assert_int_equal(archive_write_data(a, m[i].data, size), (la_ssize_t)size);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        must(run("cat '%s' >> '%s' && rm '%s'", payload, path, payload), "append");
}

static void test_crafted(void **state)
{
        (void)state;
        char outside[PATH_MAX];
        test_path(outside, sizeof outside, "%s/outside", scratch);
        assert_int_equal(mkdir(outside, 0755), 0);
        char through_abs[PATH_MAX + 32];
        snprintf(through_abs, sizeof through_abs, "%s", outside);

        static char deep[CACHE_MAX_DEPTH * 2 + 16];
        for (int i = 0; i <= CACHE_MAX_DEPTH; i++)
                memcpy(deep + 2 * i, "d/", 2);
        strcpy(deep + 2 * (CACHE_MAX_DEPTH + 1), "f");

        static const struct member dotdot[] = { { "./../escape", AE_IFREG, "x", 0, 0 } };
        static const struct member dotdot2[] = {
                { "./usr/bin/ok", AE_IFREG, "ok", 0, 0 },
                { "./usr/../../escape", AE_IFREG, "x", 0, 0 },
        };
        static const struct member absolute[] = { { "/abs/escape", AE_IFREG, "x", 0, 0 } };
        static const struct member absolute2[] = { { ".//abs/escape", AE_IFREG, "x", 0, 0 } };
        struct member via_abs_link[] = {
                { "./usr/evil", AE_IFLNK, through_abs, 0, 0 },
                { "./usr/evil/pwned", AE_IFREG, "x", 0, 0 },
        };
        static const struct member via_rel_link[] = {
                { "./usr/evil", AE_IFLNK, "../../../../../../../../../../../../../../tmp",
                  0, 0 },
                { "./usr/evil/pwned", AE_IFREG, "x", 0, 0 },
        };
        static const struct member via_dir_link[] = {
                { "./usr/evil", AE_IFLNK, ".", 0, 0 },
                { "./usr/evil", AE_IFDIR, NULL, 0, 0 },
        };
        static const struct member link_to_fifo[] = {
                { "./usr/fifo", AE_IFIFO, NULL, 7, 2 },
                { "./usr/h", AE_IFREG, "x", 7, 2 },
        };
        static const struct member link_to_symlink[] = {
                { "./usr/s", AE_IFLNK, "/etc/passwd", 8, 2 },
                { "./usr/h", AE_IFREG, "pwned", 8, 2 },
        };
        static const struct member link_to_dir[] = {
                { "./usr/d", AE_IFDIR, NULL, 9, 2 },
                { "./usr/h", AE_IFREG, "pwned", 9, 2 },
        };
        static const struct member file_then_dir[] = {
                { "./usr/x", AE_IFREG, "x", 0, 0 },
                { "./usr/x/y", AE_IFREG, "x", 0, 0 },
        };
        static const struct member dir_then_file[] = {
                { "./usr/x", AE_IFDIR, NULL, 0, 0 },
                { "./usr/x", AE_IFREG, "x", 0, 0 },
        };
        struct member too_deep[] = { { deep, AE_IFREG, "x", 0, 0 } };

        static const struct {
                const char *name;
                const struct member *m;
                size_t n;
                const char *member, *why;
        } bad[] = {
#define CASE(m, member, why) { #m, m, N_ELEMENTS(m), member, why }
                CASE(dotdot, "./../escape", "a '..' component"),
                CASE(dotdot2, "./usr/../../escape", "a '..' component"),
                CASE(absolute, "/abs/escape", "an absolute path"),
                CASE(absolute2, ".//abs/escape", "an absolute path"),
                CASE(via_rel_link, "./usr/evil/pwned", "is a symlink or a file"),
                CASE(via_dir_link, "./usr/evil", "not a directory"),
                CASE(link_to_fifo, "./usr/h", "not an extracted file"),
                CASE(link_to_symlink, "./usr/h", "not an extracted file"),
                CASE(link_to_dir, "./usr/h", "not an extracted file"),
                CASE(file_then_dir, "./usr/x/y", "is a symlink or a file"),
                CASE(dir_then_file, "./usr/x", "is a directory"),
#undef CASE
        };
        struct {
                const char *name;
                struct member *m;
                size_t n;
                const char *member, *why;
        } bad2[] = {
                { "via_abs_link", via_abs_link, 2, "./usr/evil/pwned", "is a symlink or a file" },
                { "too_deep", too_deep, 1, NULL, "more than 128 directories deep" },
        };

        char host_before[4096], host_after[4096];
        host_state(host_before, sizeof host_before);
        struct pkg_cache *c = open_cache("crafted", 0);
        char rpm[PATH_MAX], tree[PATH_MAX], nevra[64], prefix[128];
        struct error err;
        bool extracted;
        for (size_t i = 0; i < N_ELEMENTS(bad) + N_ELEMENTS(bad2); i++) {
                bool second = i >= N_ELEMENTS(bad);
                size_t k = second ? i - N_ELEMENTS(bad) : i;
                const char *name = second ? bad2[k].name : bad[k].name;
                const char *member = second ? bad2[k].member : bad[k].member;
                const char *why = second ? bad2[k].why : bad[k].why;
                snprintf(nevra, sizeof nevra, "crafted-%zu-1.noarch", i);
                test_path(rpm, sizeof rpm, "%s/%s.rpm", scratch, name);
                if (second)
                        craft(rpm, bad2[k].m, bad2[k].n);
                else
                        craft(rpm, bad[k].m, bad[k].n);
                memset(&err, 0, sizeof err);
                int r = cache_get(c, nevra, rpm, tree, sizeof tree, &extracted, &err);
                if (r >= 0)
                        fail_msg("%s: extracted", name);
                assert_int_equal(r, -err.code);
                if (member)
                        snprintf(prefix, sizeof prefix, "cannot extract '%s': member '%s': ",
                                 nevra, member);
                else
                        snprintf(prefix, sizeof prefix, "cannot extract '%s': member ", nevra);
                check_message(&err, prefix, why, name);
                /* Nothing of it in the cache. */
                if (run("ls -A '%s/crafted/packages' | grep -v -x '%s.lock' | grep -F '%s' >&2",
                        scratch, nevra, nevra) == 0)
                        fail_msg("%s: something was left in the cache", name);
        }
        must(run("[ -z \"$(ls -A '%s')\" ] && [ ! -e /abs ] && [ ! -e /tmp/pwned ] && "
                 "[ ! -e '%s/escape' ] && [ ! -e '%s/crafted/escape' ] && "
                 "[ ! -e '%s/crafted/packages/escape' ]", outside, scratch, scratch, scratch),
             "something was written outside");

        /* Fine: a member replacing an earlier symlink replaces the link,
         * never writes through it; cpio hard links carry their data on the
         * last member. */
        static const struct member replace[] = {
                { "./usr/s", AE_IFLNK, "/etc/passwd", 0, 0 },
                { "./usr/s", AE_IFREG, "mine", 0, 0 },
                { "./usr/a", AE_IFREG, NULL, 5, 3 },
                { "./usr/b", AE_IFREG, NULL, 5, 3 },
                { "./usr/c", AE_IFREG, "shared", 5, 3 },
                { "./usr/fifo", AE_IFIFO, NULL, 0, 0 },
                { "./usr/sock", AE_IFSOCK, NULL, 0, 0 },
                { "./usr/blk", AE_IFBLK, NULL, 0, 0 },
                { ".", AE_IFDIR, NULL, 0, 0 },
                { "./", AE_IFDIR, NULL, 0, 0 },
                { "usr/./plain//name", AE_IFREG, "p", 0, 0 },
        };
        test_path(rpm, sizeof rpm, "%s/replace.rpm", scratch);
        craft(rpm, replace, N_ELEMENTS(replace));
        get(c, "replace-1-1.noarch", rpm, tree, &extracted);
        assert_true(extracted);
        must(run("cd '%s/usr' && [ -f s ] && [ ! -L s ] && [ \"$(cat s)\" = mine ] && "
                 "[ \"$(cat a)\" = shared ] && [ \"$(stat -c %%i a)\" = \"$(stat -c %%i c)\" ] && "
                 "[ \"$(stat -c %%h b)\" = 3 ] && [ \"$(cat plain/name)\" = p ] && "
                 "[ \"$(ls | tr '\\n' ' ')\" = 'a b c plain s ' ]", tree), "replace");

        /* Not an RPM, a truncated RPM, a missing file. */
        char real[PATH_MAX];
        test_path(rpm, sizeof rpm, "%s/plain.cpio.gz", scratch);
        must(run("cd '%s' && echo x > f && echo f | cpio -o -H newc --quiet | gzip > '%s'",
                 scratch, rpm), "cpio");
        assert_true(cache_get(c, "plain-1-1.noarch", rpm, tree, sizeof tree, &extracted, &err) < 0);
        check_message(&err, "cannot extract 'plain-1-1.noarch'", "not an RPM package", rpm);
        test_path(rpm, sizeof rpm, "%s/truncated.rpm", scratch);
        abigail(real, "libcdio-debuginfo-0.94-2.fc26.x86_64");
        must(run("head -c 150000 '%s' > '%s'", real, rpm), "head");
        assert_true(cache_get(c, "truncated-1-1.noarch", rpm, tree, sizeof tree, &extracted,
                              &err) < 0);
        check_message(&err, "cannot extract 'truncated-1-1.noarch'", NULL, rpm);
        assert_true(cache_get(c, "missing-1-1.noarch", "/nonexistent.rpm", tree, sizeof tree,
                              &extracted, &err) < 0);
        check_message(&err, "cannot extract 'missing-1-1.noarch' from '/nonexistent.rpm'", NULL,
                      "missing");
        must(run("! ls -A '%s/crafted/packages' | "
                 "grep -E '^(truncated|plain|missing)-.*[^k]$|tmp' >&2",
                 scratch), "a failed extraction left files");

        /* Package names that are not file names. */
        static const char *const names[] = { "", ".hidden", "a/b", "..", "a b", "a\nb" };
        for (size_t i = 0; i < N_ELEMENTS(names); i++) {
                assert_true(cache_get(c, names[i], rpm, tree, sizeof tree, &extracted, &err) < 0);
                check_message(&err, "invalid package name", NULL, names[i]);
        }
        cache_close(c);

        host_state(host_after, sizeof host_after);
        assert_string_equal(host_before, host_after);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_packages),
                cmocka_unit_test(test_debuginfo_links),
                cmocka_unit_test(test_hit),
                cmocka_unit_test(test_half_extracted),
                cmocka_unit_test(test_concurrent),
                cmocka_unit_test(test_concurrent_threads),
                cmocka_unit_test(test_evict),
                cmocka_unit_test(test_root),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_killed),
                cmocka_unit_test(test_crafted),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

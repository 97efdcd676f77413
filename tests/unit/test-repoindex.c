/* test-repoindex.c: releases, index building and package lookups on real
 * Fedora/RHEL RPMs from the shared test data ($TESTDATA).
 *
 * A temporary RepoDir holds symlinks to the test RPMs; nothing is copied
 * into the project tree.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/selection.h>
#include <solv/solvable.h>

#include "repoindex.h"
#include "testutil.h"

#define MAIN_RELEASE "fedora-34-x86_64"
#define ABIGAIL "libabigail-real-fedora-rhel-rpms-with-debuginfo"
#define ELFUTILS "elfutils-debuginfod-rpms"
#define SSHPASS_BUILD_ID "de412ea6c4b961388c2b51f54e3c78f5e800b8ae"
#define SSHPASS_BUILD_ID_PATH "de/412ea6c4b961388c2b51f54e3c78f5e800b8ae"

static char testdata[PATH_MAX];
static char repo_dir[PATH_MAX];
static size_t main_count;       /* packages linked into MAIN_RELEASE */

/* ---- helpers -------------------------------------------------------------- */

static void path_of(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void path_of(char *buf, size_t len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, len, fmt, ap);
        va_end(ap);
        assert_true(n > 0 && (size_t)n < len);
}

static void mkdir_p(const char *path)
{
        char buf[PATH_MAX];
        path_of(buf, sizeof buf, "%s", path);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) < 0)
                        assert_int_equal(errno, EEXIST);
                *p = '/';
        }
        if (mkdir(buf, 0755) < 0)
                assert_int_equal(errno, EEXIST);
}

static void write_file(const char *path, const void *data, size_t len)
{
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        if (len)
                assert_int_equal(fwrite(data, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
}

static char *read_file(const char *path, size_t *len)
{
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        long size = ftell(fp);
        assert_true(size >= 0);
        rewind(fp);
        char *buf = malloc((size_t)size + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
        fclose(fp);
        *len = (size_t)size;
        return buf;
}

/* Links testdata/<sub>/<file> into <repo>/<release>/Packages/. */
static void link_package(const char *repo, const char *release, const char *sub,
                         const char *file)
{
        char from[PATH_MAX], to[PATH_MAX], dir[PATH_MAX];
        path_of(dir, sizeof dir, "%s/%s/" REPOINDEX_PACKAGES, repo, release);
        mkdir_p(dir);
        path_of(from, sizeof from, "%s/%s/%s", testdata, sub, file);
        path_of(to, sizeof to, "%s/%s", dir, file);
        assert_int_equal(access(from, R_OK), 0);
        assert_int_equal(symlink(from, to), 0);
}

/* Links every RPM of testdata/<sub>; returns how many. */
static size_t link_all(const char *repo, const char *release, const char *sub)
{
        char dir_path[PATH_MAX];
        path_of(dir_path, sizeof dir_path, "%s/%s", testdata, sub);
        DIR *dir = opendir(dir_path);
        assert_non_null(dir);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
                size_t len = strlen(de->d_name);
                if (len > 4 && strcmp(de->d_name + len - 4, ".rpm") == 0) {
                        link_package(repo, release, sub, de->d_name);
                        n++;
                }
        }
        closedir(dir);
        return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static void rm_rf(const char *path)
{
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void set_nevra(struct nevra *n, const char *name, const char *epoch,
                      const char *version, const char *release, const char *arch)
{
        memset(n, 0, sizeof *n);
        n->name = name;
        n->epoch = epoch;
        n->version = version;
        n->release = release;
        n->arch = arch;
}

/* stderr into a file while libsolv runs: it must stay silent. */
struct captured {
        int saved;
        char path[PATH_MAX];
};

static void capture_begin(struct captured *c)
{
        path_of(c->path, sizeof c->path, "%s/stderr.XXXXXX", repo_dir);
        int fd = mkstemp(c->path);
        assert_true(fd >= 0);
        fflush(stderr);
        c->saved = dup(STDERR_FILENO);
        assert_true(c->saved >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
}

static size_t capture_end(struct captured *c)
{
        fflush(stderr);
        assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
        close(c->saved);
        struct stat st;
        assert_int_equal(stat(c->path, &st), 0);
        unlink(c->path);
        return (size_t)st.st_size;
}

static bool has_hidden_files(const char *dir_path)
{
        DIR *dir = opendir(dir_path);
        assert_non_null(dir);
        bool found = false;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL)
                if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
                    strcmp(de->d_name, "..") != 0)
                        found = true;
        closedir(dir);
        return found;
}

static bool lookup(const char *repo, const char *release, const char *name,
                   const char *version, const char *rel, const char *arch)
{
        struct repoindex *idx;
        struct error err = { 0 };
        int r = repoindex_open(repo, release, &idx, &err);
        if (r < 0)
                fail_msg("repoindex_open(%s): %s", release, err.msg);
        struct nevra n;
        set_nevra(&n, name, "", version, rel, arch);
        bool found = repoindex_has_package(idx, &n);
        repoindex_free(idx);
        return found;
}

/* ---- fixtures ------------------------------------------------------------- */

static int group_setup(void **state)
{
        (void)state;
        path_of(testdata, sizeof testdata, "%s", testdata_dir());

        path_of(repo_dir, sizeof repo_dir, "/tmp/test-repoindex.XXXXXX");
        if (!mkdtemp(repo_dir))
                return -1;

        main_count = link_all(repo_dir, MAIN_RELEASE, ABIGAIL);
        main_count += link_all(repo_dir, MAIN_RELEASE, ELFUTILS "/fedora30");
        main_count += link_all(repo_dir, MAIN_RELEASE, ELFUTILS "/rhel6");

        struct error err = { 0 };
        struct captured c;
        capture_begin(&c);
        int r = repoindex_build(repo_dir, MAIN_RELEASE, &err);
        size_t noise = capture_end(&c);
        if (r < 0)
                fail_msg("repoindex_build: %s", err.msg);
        assert_int_equal(noise, 0);
        return 0;
}

static int group_teardown(void **state)
{
        (void)state;
        if (repo_dir[0])
                rm_rf(repo_dir);
        return 0;
}

/* ---- releases ------------------------------------------------------------- */

static void test_list_missing_repo_dir(void **state)
{
        (void)state;
        char path[PATH_MAX];
        path_of(path, sizeof path, "%s/no-such-dir", repo_dir);
        struct release_list list = { .count = 99 };
        struct error err = { 0 };
        assert_int_equal(repo_list_releases(path, &list, &err), 0);
        assert_int_equal(list.count, 0);
        assert_false(release_list_contains(&list, MAIN_RELEASE));
        release_list_free(&list);
}

static void test_list_releases(void **state)
{
        (void)state;
        char repo[PATH_MAX], path[PATH_MAX];
        path_of(repo, sizeof repo, "%s/list", repo_dir);
        mkdir_p(repo);

        /* Ignored: invalid ids (even with an index), a valid id without an
         * index, an index that is no regular file, a plain file. */
        static const char *const decoys[] = {
                "Fedora-35-x86_64", "fedora-35", "fedora-35-bogusarch",
                "fedora-35-noarch", ".fedora-35-x86_64", "fedora-35-x86_64.old",
                "repodata",
        };
        for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; i++) {
                path_of(path, sizeof path, "%s/%s", repo, decoys[i]);
                mkdir_p(path);
                path_of(path, sizeof path, "%s/%s/" REPOINDEX_FILE, repo, decoys[i]);
                write_file(path, "", 0);
        }
        path_of(path, sizeof path, "%s/rhel-9-x86_64/" REPOINDEX_PACKAGES, repo);
        mkdir_p(path);
        path_of(path, sizeof path, "%s/centos-9-x86_64/" REPOINDEX_FILE, repo);
        mkdir_p(path);
        path_of(path, sizeof path, "%s/rhel-8-x86_64", repo);
        write_file(path, "", 0);
        /* Listed: any valid id with an index file (not parsed here). */
        path_of(path, sizeof path, "%s/centos-8-aarch64", repo);
        mkdir_p(path);
        path_of(path, sizeof path, "%s/centos-8-aarch64/" REPOINDEX_FILE, repo);
        write_file(path, "", 0);

        link_package(repo, "fedora-33-x86_64", ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm");

        struct release_list list;
        struct error err = { 0 };
        assert_int_equal(repo_list_releases(repo, &list, &err), 0);
        assert_int_equal(list.count, 1);
        assert_string_equal(list.ids[0], "centos-8-aarch64");
        assert_false(release_list_contains(&list, "fedora-33-x86_64"));
        release_list_free(&list);

        assert_int_equal(repoindex_build(repo, "fedora-33-x86_64", &err), 0);
        assert_int_equal(repoindex_build(repo, "rhel-9-x86_64", &err), 0);  /* empty */

        assert_int_equal(repo_list_releases(repo, &list, &err), 0);
        assert_int_equal(list.count, 3);
        assert_string_equal(list.ids[0], "centos-8-aarch64");
        assert_string_equal(list.ids[1], "fedora-33-x86_64");
        assert_string_equal(list.ids[2], "rhel-9-x86_64");

        static const struct {
                const char *id;
                bool want;
        } contains[] = {
                { "centos-8-aarch64", true },
                { "fedora-33-x86_64", true },
                { "rhel-9-x86_64", true },
                { "centos-9-x86_64", false },
                { "fedora-35-x86_64", false },
                { "Fedora-35-x86_64", false },
                { "fedora-33", false },
                { "", false },
        };
        for (size_t i = 0; i < sizeof contains / sizeof contains[0]; i++)
                if (release_list_contains(&list, contains[i].id) != contains[i].want)
                        fail_msg("release_list_contains(%s) != %d", contains[i].id,
                                 contains[i].want);
        assert_false(release_list_contains(&list, NULL));
        assert_false(release_list_contains(NULL, "rhel-9-x86_64"));

        release_list_free(&list);
        assert_int_equal(list.count, 0);
        assert_null(list.ids);
        release_list_free(&list);       /* twice is harmless */
        release_list_free(NULL);

        /* An empty release is supported and holds nothing. */
        assert_false(lookup(repo, "rhel-9-x86_64", "sshpass", "1.07", "1.fc34", ""));
        assert_true(lookup(repo, "fedora-33-x86_64", "sshpass", "1.07", "1.fc34", ""));
}

static void test_list_limit(void **state)
{
        (void)state;
        char repo[PATH_MAX], path[PATH_MAX];
        path_of(repo, sizeof repo, "%s/many", repo_dir);
        struct release_list list;
        struct error err = { 0 };
        for (int i = 0; i <= REPOINDEX_MAX_RELEASES; i++) {
                path_of(path, sizeof path, "%s/fedora-%03d-x86_64", repo, i);
                mkdir_p(path);
                path_of(path, sizeof path, "%s/fedora-%03d-x86_64/" REPOINDEX_FILE, repo, i);
                write_file(path, "", 0);
                if (i == REPOINDEX_MAX_RELEASES - 1) {
                        assert_int_equal(repo_list_releases(repo, &list, &err), 0);
                        assert_int_equal(list.count, REPOINDEX_MAX_RELEASES);
                        assert_string_equal(list.ids[0], "fedora-000-x86_64");
                        assert_string_equal(list.ids[REPOINDEX_MAX_RELEASES - 1],
                                            "fedora-255-x86_64");
                        assert_true(release_list_contains(&list, "fedora-128-x86_64"));
                        release_list_free(&list);
                }
        }
        assert_int_equal(repo_list_releases(repo, &list, &err), -E2BIG);
        assert_int_equal(list.count, 0);
        assert_null(list.ids);
        assert_non_null(strstr(err.msg, repo));
}

static void test_list_unreadable_repo_dir(void **state)
{
        (void)state;
        char path[PATH_MAX];
        path_of(path, sizeof path, "%s/not-a-dir", repo_dir);
        write_file(path, "", 0);
        struct release_list list;
        struct error err = { 0 };
        assert_int_equal(repo_list_releases(path, &list, &err), -ENOTDIR);
        assert_int_equal(list.count, 0);
        assert_non_null(strstr(err.msg, path));
}

/* ---- lookups -------------------------------------------------------------- */

struct lookup_case {
        const char *name, *epoch, *version, *release, *arch;
        bool want;
};

static void run_lookups(const char *release, const struct lookup_case *cases,
                        size_t count)
{
        struct repoindex *idx = NULL;
        struct error err = { 0 };
        int r = repoindex_open(repo_dir, release, &idx, &err);
        if (r < 0)
                fail_msg("repoindex_open(%s): %s", release, err.msg);
        for (size_t i = 0; i < count; i++) {
                const struct lookup_case *c = &cases[i];
                struct nevra n;
                set_nevra(&n, c->name, c->epoch, c->version, c->release, c->arch);
                if (repoindex_has_package(idx, &n) != c->want)
                        fail_msg("%s: '%s' epoch '%s' '%s'-'%s' arch '%s': expected %s",
                                 release, c->name, c->epoch, c->version, c->release,
                                 c->arch, c->want ? "found" : "absent");
        }
        repoindex_free(idx);
}

static void test_has_package(void **state)
{
        (void)state;
        static const struct lookup_case cases[] = {
                /* exact NEVRA, arch optional, epoch absent = 0 */
                { "sshpass", "", "1.07", "1.fc34", "x86_64", true },
                { "sshpass", "", "1.07", "1.fc34", "", true },
                { "sshpass", "0", "1.07", "1.fc34", "x86_64", true },
                { "sshpass", "00", "1.07", "1.fc34", "", true },
                { "sshpass", "1", "1.07", "1.fc34", "x86_64", false },
                { "sshpass", "x", "1.07", "1.fc34", "x86_64", false },
                { "sshpass-debuginfo", "", "1.07", "1.fc34", "x86_64", true },
                { "sshpass-debuginfo", "", "1.07", "1.fc34", "", true },
                /* wrong version, release, arch, name */
                { "sshpass", "", "1.08", "1.fc34", "x86_64", false },
                { "sshpass", "", "1.0", "1.fc34", "x86_64", false },
                { "sshpass", "", "1.07", "2.fc34", "x86_64", false },
                { "sshpass", "", "1.07", "1.fc3", "x86_64", false },
                { "sshpass", "", "1.07", "1.fc34.x86_64", "", false },
                { "sshpass", "", "1.07-1", "fc34", "x86_64", false },
                { "sshpass", "", "1.0", "7-1.fc34", "x86_64", false },
                { "sshpass", "", "", "", "", false },
                { "sshpass", "", "1.07", "1.fc34", "i686", false },
                { "sshpass", "", "1.07", "1.fc34", "noarch", false },
                { "sshpass", "", "1.07", "1.fc34", "sparc64", false },
                { "sshpas", "", "1.07", "1.fc34", "x86_64", false },
                { "sshpass-1.07", "", "1.07", "1.fc34", "x86_64", false },
                { "Sshpass", "", "1.07", "1.fc34", "x86_64", false },
                { "no-such-package", "", "1.0", "1", "", false },
                { "", "", "1.07", "1.fc34", "", false },
                /* provides and files are not package names */
                { "sshpass(x86-64)", "", "1.07", "1.fc34", "", false },
                { "debuginfo(build-id)", "", SSHPASS_BUILD_ID, "", "", false },
                { "/usr/bin/sshpass", "", "1.07", "1.fc34", "", false },
                { "libICE.so.6()(64bit)", "", "1.0.9", "2.el7", "", false },
                /* two versions of one name */
                { "libICE", "", "1.0.6", "1.el6", "x86_64", true },
                { "libICE", "", "1.0.9", "2.el7", "x86_64", true },
                { "libICE", "", "1.0.9", "1.el6", "x86_64", false },
                { "libICE", "", "1.0.6", "2.el7", "", false },
                { "libICE-debuginfo", "", "1.0.9", "2.el7", "", true },
                /* one NEVR, two arches: x86_64 and i686 (rhel6) */
                { "hello2", "", "1.0", "2", "x86_64", true },
                { "hello2", "", "1.0", "2", "i686", true },
                { "hello2", "", "1.0", "2", "", true },
                { "hello2", "", "1.0", "2", "aarch64", false },
                { "hello2-two-debuginfo", "", "1.0", "2", "x86_64", true },
                { "hello2-two-debuginfo", "", "1.0", "2", "i686", false },
                { "hello2-debugsource", "", "1.0", "2", "x86_64", true },
                /* one of each payload compression and naming scheme */
                { "dbus-glib", "", "0.80", "3.fc12", "x86_64", true },        /* gzip */
                { "nss-util", "", "3.24.0", "2.0.fc25", "x86_64", true },     /* xz */
                /* zstd */
                { "libxcrypt-compat-debuginfo", "", "4.4.18", "3.el9", "x86_64", true },
                { "spice-debuginfo", "", "0.12.8", "1.el7", "x86_64", true },
                { "spice-server-debuginfo", "", "0.12.8", "1.el7", "x86_64", false },
                { "tbb", "", "4.3", "3.20141204.fc23", "x86_64", true },
                { "libcdio-debuginfo", "", "0.94", "2.fc26", "x86_64", true },
        };
        run_lookups(MAIN_RELEASE, cases, sizeof cases / sizeof cases[0]);
}

static void test_has_package_null(void **state)
{
        (void)state;
        struct repoindex *idx;
        struct error err = { 0 };
        assert_int_equal(repoindex_open(repo_dir, MAIN_RELEASE, &idx, &err), 0);
        struct nevra n;
        set_nevra(&n, "sshpass", NULL, "1.07", "1.fc34", NULL);
        assert_true(repoindex_has_package(idx, &n));    /* NULL as "" */
        set_nevra(&n, NULL, "", "1.07", "1.fc34", "");
        assert_false(repoindex_has_package(idx, &n));
        assert_false(repoindex_has_package(idx, NULL));
        assert_false(repoindex_has_package(NULL, &n));
        repoindex_free(idx);
        repoindex_free(NULL);
}

/* ---- the index file itself, read with libsolv ---------------------------- */

static void quiet(Pool *pool, void *data, int type, const char *str)
{
        (void)pool;
        (void)data;
        (void)type;
        (void)str;
}

static Pool *load_index(const char *release, Repo **repo_out)
{
        char path[PATH_MAX];
        path_of(path, sizeof path, "%s/%s/" REPOINDEX_FILE, repo_dir, release);
        Pool *pool = pool_create();
        assert_true(pool_setdisttype(pool, DISTTYPE_RPM) >= 0);
        pool_setdebugcallback(pool, quiet, NULL);
        pool_setarch(pool, "x86_64");
        Repo *repo = repo_create(pool, release);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        assert_int_equal(repo_add_solv(repo, fp, 0), 0);
        fclose(fp);
        pool_addfileprovides(pool);
        pool_createwhatprovides(pool);
        *repo_out = repo;
        return pool;
}

/* The names of the solvables a selection of `what` yields, sorted and
 * joined by spaces. */
static void select_names(Pool *pool, const char *what, int flags, char *buf,
                         size_t len)
{
        Queue sel, pkgs;
        queue_init(&sel);
        queue_init(&pkgs);
        selection_make(pool, &sel, what, flags);
        selection_solvables(pool, &sel, &pkgs);
        const char *names[64];
        size_t n = 0;
        for (int i = 0; i < pkgs.count && n < 64; i++)
                names[n++] = pool_solvid2str(pool, pkgs.elements[i]);
        buf[0] = '\0';
        /* pool_solvid2str uses temporary space: copy at once */
        for (size_t i = 0; i < n; i++) {
                size_t used = strlen(buf);
                snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i]);
        }
        queue_free(&sel);
        queue_free(&pkgs);
}

static void test_index_contents(void **state)
{
        (void)state;
        Repo *repo;
        Pool *pool = load_index(MAIN_RELEASE, &repo);
        assert_int_equal((size_t)repo->nsolvables, main_count);

        /* Full file lists: the filtered ones keep only bin/ and /etc/. */
        static const struct {
                const char *path, *owners;
        } files[] = {
                { "/usr/bin/sshpass", "sshpass-1.07-1.fc34.x86_64" },
                { "/usr/share/man/man1/sshpass.1.gz", "sshpass-1.07-1.fc34.x86_64" },
                { "/usr/lib/.build-id/" SSHPASS_BUILD_ID_PATH, "sshpass-1.07-1.fc34.x86_64" },
                { "/usr/lib/debug/.build-id/" SSHPASS_BUILD_ID_PATH ".debug",
                  "sshpass-debuginfo-1.07-1.fc34.x86_64" },
                { "/usr/lib/debug/.dwz/libxcrypt-4.4.18-3.el9.x86_64",
                  "libxcrypt-debuginfo-4.4.18-3.el9.x86_64" },
                { "/usr/lib64/libcrypt.so.2.0.0", "libxcrypt-4.4.18-3.el9.x86_64" },
                { "/usr/bin/no-such-file", "" },
        };
        char buf[1024];
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                select_names(pool, files[i].path, SELECTION_FILELIST, buf, sizeof buf);
                if (strcmp(buf, files[i].owners) != 0)
                        fail_msg("owner of %s: '%s', expected '%s'", files[i].path, buf,
                                 files[i].owners);
        }

        /* Build-id provides of the debuginfo packages. */
        Id dep = pool_rel2id(pool, pool_str2id(pool, "debuginfo(build-id)", 0),
                             pool_str2id(pool, SSHPASS_BUILD_ID, 0), REL_EQ, 1);
        Id p, pp;
        size_t providers = 0;
        FOR_PROVIDES(p, pp, dep) {
                assert_string_equal(pool_solvid2str(pool, p),
                                    "sshpass-debuginfo-1.07-1.fc34.x86_64");
                providers++;
        }
        assert_int_equal(providers, 1);

        /* Every location is Packages/<file>, relative to the release. */
        Solvable *s;
        FOR_REPO_SOLVABLES(repo, p, s) {
                unsigned int medianr;
                const char *loc = solvable_lookup_location(s, &medianr);
                assert_non_null(loc);
                char want[PATH_MAX], file[PATH_MAX];
                path_of(want, sizeof want, REPOINDEX_PACKAGES "/%s.rpm",
                        pool_solvid2str(pool, p));
                assert_string_equal(loc, want);
                path_of(file, sizeof file, "%s/" MAIN_RELEASE "/%s", repo_dir, loc);
                assert_int_equal(access(file, R_OK), 0);
        }
        pool_free(pool);

        /* Readable by the other users of the repository. */
        char path[PATH_MAX];
        struct stat st;
        path_of(path, sizeof path, "%s/" MAIN_RELEASE "/" REPOINDEX_FILE, repo_dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        path_of(path, sizeof path, "%s/" MAIN_RELEASE, repo_dir);
        assert_false(has_hidden_files(path));
}

/* ---- epochs and packages outside the arch policy ------------------------- */

struct fake_package {
        const char *name, *evr, *arch, *provides;
};

/* Writes an index the way any libsolv writer could: epochs and arches the
 * test RPMs lack. */
static void write_fake_index(const char *release, const struct fake_package *pkgs,
                             size_t count)
{
        char path[PATH_MAX];
        path_of(path, sizeof path, "%s/%s", repo_dir, release);
        mkdir_p(path);
        path_of(path, sizeof path, "%s/%s/" REPOINDEX_FILE, repo_dir, release);

        Pool *pool = pool_create();
        assert_true(pool_setdisttype(pool, DISTTYPE_RPM) >= 0);
        pool_setdebugcallback(pool, quiet, NULL);
        Repo *repo = repo_create(pool, release);
        for (size_t i = 0; i < count; i++) {
                Solvable *s = pool_id2solvable(pool, repo_add_solvable(repo));
                s->name = pool_str2id(pool, pkgs[i].name, 1);
                s->evr = pool_str2id(pool, pkgs[i].evr, 1);
                s->arch = pool_str2id(pool, pkgs[i].arch, 1);
                if (s->arch != ARCH_SRC && s->arch != ARCH_NOSRC)
                        s->provides = repo_addid_dep(repo, s->provides,
                                                     pool_rel2id(pool, s->name, s->evr,
                                                                 REL_EQ, 1), 0);
                if (pkgs[i].provides)
                        s->provides = repo_addid_dep(repo, s->provides,
                                                     pool_str2id(pool, pkgs[i].provides, 1),
                                                     0);
        }
        repo_internalize(repo);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        assert_int_equal(repo_write(repo, fp), 0);
        assert_int_equal(fclose(fp), 0);
        pool_free(pool);
}

static void test_epochs_and_arches(void **state)
{
        (void)state;
        static const struct fake_package pkgs[] = {
                { "epochpkg", "2:1.0-1.fc34", "x86_64", NULL },
                { "zeropkg", "0:1.0-1.fc34", "x86_64", NULL },
                { "srcpkg", "1.0-1.fc34", "src", NULL },
                { "foreignpkg", "1.0-1.fc34", "aarch64", NULL },
                { "noarchpkg", "3:2.5-7.fc34", "noarch", NULL },
                { "provider", "1.0-1.fc34", "x86_64", "virtual-name" },
        };
        write_fake_index("fedora-99-x86_64", pkgs, sizeof pkgs / sizeof pkgs[0]);

        static const struct lookup_case cases[] = {
                { "epochpkg", "2", "1.0", "1.fc34", "x86_64", true },
                { "epochpkg", "2", "1.0", "1.fc34", "", true },
                { "epochpkg", "02", "1.0", "1.fc34", "", true },
                { "epochpkg", "", "1.0", "1.fc34", "", false },
                { "epochpkg", "0", "1.0", "1.fc34", "", false },
                { "epochpkg", "1", "1.0", "1.fc34", "", false },
                { "epochpkg", "2", "2:1.0", "1.fc34", "", false },
                { "zeropkg", "", "1.0", "1.fc34", "", true },
                { "zeropkg", "0", "1.0", "1.fc34", "", true },
                { "zeropkg", "1", "1.0", "1.fc34", "", false },
                { "noarchpkg", "3", "2.5", "7.fc34", "noarch", true },
                { "noarchpkg", "3", "2.5", "7.fc34", "x86_64", false },
                { "noarchpkg", "", "2.5", "7.fc34", "", false },
                /* not installable on x86_64, still in the index */
                { "srcpkg", "", "1.0", "1.fc34", "src", true },
                { "srcpkg", "", "1.0", "1.fc34", "", true },
                { "srcpkg", "", "1.0", "1.fc34", "x86_64", false },
                { "foreignpkg", "", "1.0", "1.fc34", "aarch64", true },
                { "foreignpkg", "", "1.0", "1.fc34", "", true },
                { "foreignpkg", "", "1.0", "1.fc34", "x86_64", false },
                { "provider", "", "1.0", "1.fc34", "", true },
                { "virtual-name", "", "1.0", "1.fc34", "", false },
        };
        run_lookups("fedora-99-x86_64", cases, sizeof cases / sizeof cases[0]);
}

/* ---- errors --------------------------------------------------------------- */

static void test_open_errors(void **state)
{
        (void)state;
        char path[PATH_MAX];
        path_of(path, sizeof path, "%s/fedora-97-x86_64/" REPOINDEX_PACKAGES, repo_dir);
        mkdir_p(path);
        path_of(path, sizeof path, "%s/fedora-96-x86_64", repo_dir);
        mkdir_p(path);
        path_of(path, sizeof path, "%s/fedora-96-x86_64/" REPOINDEX_FILE, repo_dir);
        static const char garbage[] = "this is not a solv file\n";
        write_file(path, garbage, sizeof garbage - 1);

        static const struct {
                const char *release;
                int code;
                const char *in_msg;
        } cases[] = {
                { "fedora-98-x86_64", -ENOENT, "'fedora-98-x86_64'" },  /* no dir */
                { "fedora-97-x86_64", -ENOENT, "'fedora-97-x86_64'" },  /* no index */
                { "../etc", -EINVAL, "'../etc'" },
                { "Fedora-34-x86_64", -EINVAL, "'Fedora-34-x86_64'" },
                { "fedora-34-x86_64/../fedora-34-x86_64", -EINVAL, "not a valid release id" },
                { "", -EINVAL, "''" },
                { "fedora-34\n-x86_64'", -EINVAL, "'fedora-34\\x0a-x86_64\\''" },
                { "fedora-000000000000000000000000000000000000"
                  "00000000000000000000000000000000-x86_64",
                  -EINVAL, "-x86_...': not a valid release id" },        /* cut at 80 */
                { "fedora-96-x86_64", -EBADMSG, "fedora-96-x86_64/" REPOINDEX_FILE "'" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct repoindex *idx = (struct repoindex *)&idx;
                struct error err = { 0 };
                struct captured c;
                capture_begin(&c);
                int r = repoindex_open(repo_dir, cases[i].release, &idx, &err);
                size_t noise = capture_end(&c);
                if (r != cases[i].code || err.code != -cases[i].code ||
                    !strstr(err.msg, cases[i].in_msg))
                        fail_msg("open '%s': %d '%s'", cases[i].release, r, err.msg);
                assert_null(idx);
                assert_int_equal(noise, 0);
        }

        /* err may be NULL */
        struct repoindex *idx;
        assert_int_equal(repoindex_open(repo_dir, "fedora-98-x86_64", &idx, NULL), -ENOENT);
}

static void test_build_errors(void **state)
{
        (void)state;
        char path[PATH_MAX];
        path_of(path, sizeof path, "%s/fedora-95-x86_64", repo_dir);
        mkdir_p(path);

        struct error err = { 0 };
        assert_int_equal(repoindex_build(repo_dir, "../fedora-95-x86_64", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'../fedora-95-x86_64'"));

        /* no Packages/ */
        assert_int_equal(repoindex_build(repo_dir, "fedora-95-x86_64", &err), -ENOENT);
        assert_non_null(strstr(err.msg, "fedora-95-x86_64/" REPOINDEX_PACKAGES "'"));
        path_of(path, sizeof path, "%s/fedora-95-x86_64/" REPOINDEX_FILE, repo_dir);
        assert_int_equal(access(path, F_OK), -1);

        /* a directory named like a package */
        path_of(path, sizeof path, "%s/fedora-95-x86_64/" REPOINDEX_PACKAGES
                "/dir-1-1.x86_64.rpm", repo_dir);
        mkdir_p(path);
        assert_int_equal(repoindex_build(repo_dir, "fedora-95-x86_64", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "dir-1-1.x86_64.rpm'"));
        rmdir(path);

        /* a dangling symlink */
        path_of(path, sizeof path, "%s/fedora-95-x86_64/" REPOINDEX_PACKAGES
                "/gone-1-1.x86_64.rpm", repo_dir);
        assert_int_equal(symlink("/nonexistent/gone-1-1.x86_64.rpm", path), 0);
        assert_int_equal(repoindex_build(repo_dir, "fedora-95-x86_64", &err), -ENOENT);
        assert_non_null(strstr(err.msg, "gone-1-1.x86_64.rpm'"));
        unlink(path);

        assert_int_equal(repoindex_build(repo_dir, "fedora-95-x86_64", NULL), 0);
}

static void test_corrupt_package_keeps_old_index(void **state)
{
        (void)state;
        const char *release = "fedora-32-x86_64";
        link_package(repo_dir, release, ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm");
        struct error err = { 0 };
        assert_int_equal(repoindex_build(repo_dir, release, &err), 0);

        char rel_dir[PATH_MAX], index[PATH_MAX], pkg_dir[PATH_MAX], bad[PATH_MAX];
        path_of(rel_dir, sizeof rel_dir, "%s/%s", repo_dir, release);
        path_of(index, sizeof index, "%s/" REPOINDEX_FILE, rel_dir);
        path_of(pkg_dir, sizeof pkg_dir, "%s/" REPOINDEX_PACKAGES, rel_dir);
        /* An index opened now keeps answering whatever happens on disk. */
        struct repoindex *before;
        assert_int_equal(repoindex_open(repo_dir, release, &before, &err), 0);

        /* Not-RPM names and hidden files are no packages: ignored. */
        char path[PATH_MAX];
        path_of(path, sizeof path, "%s/README", pkg_dir);
        write_file(path, "hello\n", 6);
        path_of(path, sizeof path, "%s/.partial-1-1.x86_64.rpm", pkg_dir);
        write_file(path, "partial", 7);
        assert_int_equal(repoindex_build(repo_dir, release, &err), 0);
        size_t old_len;
        char *old = read_file(index, &old_len);
        struct stat old_st;
        assert_int_equal(stat(index, &old_st), 0);

        /* Corrupt: garbage, empty, a lead without a header. */
        size_t rpm_len;
        char real[PATH_MAX];
        path_of(real, sizeof real, "%s/" ABIGAIL "/sshpass-1.07-1.fc34.x86_64.rpm", testdata);
        char *rpm = read_file(real, &rpm_len);
        static const struct {
                const char *file;
                size_t len;     /* of the real RPM; 0 = content below */
                const char *content;
        } bads[] = {
                { "broken-1.0-1.fc32.x86_64.rpm", 0, "not an rpm at all\n" },
                { "empty-1.0-1.fc32.x86_64.rpm", 0, "" },
                { "truncated-1.0-1.fc32.x86_64.rpm", 200, NULL },
                { "truncated-1.0-1.fc32.x86_64.rpm", 96, NULL },
        };
        for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
                path_of(bad, sizeof bad, "%s/%s", pkg_dir, bads[i].file);
                if (bads[i].content)
                        write_file(bad, bads[i].content, strlen(bads[i].content));
                else
                        write_file(bad, rpm, bads[i].len);

                memset(&err, 0, sizeof err);
                struct captured c;
                capture_begin(&c);
                int r = repoindex_build(repo_dir, release, &err);
                size_t noise = capture_end(&c);
                if (r != -EINVAL || !strstr(err.msg, bad))
                        fail_msg("build with %s (%zu bytes): %d '%s'", bads[i].file,
                                 bads[i].len, r, err.msg);
                assert_int_equal(noise, 0);

                /* The old index is untouched, no temporary file is left. */
                struct stat st;
                assert_int_equal(stat(index, &st), 0);
                assert_int_equal(st.st_ino, old_st.st_ino);
                size_t len;
                char *now = read_file(index, &len);
                assert_int_equal(len, old_len);
                assert_memory_equal(now, old, len);
                free(now);
                assert_false(has_hidden_files(rel_dir));
                assert_true(lookup(repo_dir, release, "sshpass", "1.07", "1.fc34", "x86_64"));
                unlink(bad);
        }
        free(rpm);
        free(old);

        /* Rebuild with one more package: both are found; the index opened
         * before still sees the old set. */
        link_package(repo_dir, release, ABIGAIL, "libICE-1.0.9-2.el7.x86_64.rpm");
        assert_int_equal(repoindex_build(repo_dir, release, &err), 0);
        assert_true(lookup(repo_dir, release, "libICE", "1.0.9", "2.el7", "x86_64"));
        assert_true(lookup(repo_dir, release, "sshpass", "1.07", "1.fc34", "x86_64"));
        assert_false(lookup(repo_dir, release, "libICE", "1.0.6", "1.el6", ""));

        struct nevra n;
        set_nevra(&n, "libICE", "", "1.0.9", "2.el7", "x86_64");
        assert_false(repoindex_has_package(before, &n));
        set_nevra(&n, "sshpass", "", "1.07", "1.fc34", "x86_64");
        assert_true(repoindex_has_package(before, &n));
        repoindex_free(before);

        /* And without it again. */
        path_of(path, sizeof path, "%s/libICE-1.0.9-2.el7.x86_64.rpm", pkg_dir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(repoindex_build(repo_dir, release, &err), 0);
        assert_false(lookup(repo_dir, release, "libICE", "1.0.9", "2.el7", "x86_64"));
        assert_false(has_hidden_files(rel_dir));
}

static void test_rebuild_is_deterministic(void **state)
{
        (void)state;
        const char *release = "fedora-31-x86_64";
        link_all(repo_dir, release, ELFUTILS "/fedora31");
        char index[PATH_MAX];
        path_of(index, sizeof index, "%s/%s/" REPOINDEX_FILE, repo_dir, release);
        struct error err = { 0 };
        assert_int_equal(repoindex_build(repo_dir, release, &err), 0);
        size_t len1, len2;
        char *first = read_file(index, &len1);
        assert_int_equal(repoindex_build(repo_dir, release, &err), 0);
        char *second = read_file(index, &len2);
        assert_int_equal(len1, len2);
        assert_memory_equal(first, second, len1);
        free(first);
        free(second);
        assert_true(lookup(repo_dir, release, "hello3-two-debuginfo", "1.0", "2", "x86_64"));
        assert_false(lookup(repo_dir, release, "hello2", "1.0", "2", ""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list_missing_repo_dir),
                cmocka_unit_test(test_list_releases),
                cmocka_unit_test(test_list_limit),
                cmocka_unit_test(test_list_unreadable_repo_dir),
                cmocka_unit_test(test_has_package),
                cmocka_unit_test(test_has_package_null),
                cmocka_unit_test(test_index_contents),
                cmocka_unit_test(test_epochs_and_arches),
                cmocka_unit_test(test_open_errors),
                cmocka_unit_test(test_build_errors),
                cmocka_unit_test(test_corrupt_package_keeps_old_index),
                cmocka_unit_test(test_rebuild_is_deterministic),
        };
        return cmocka_run_group_tests_name("repoindex", tests, group_setup,
                                           group_teardown);
}

/* test-repoindex.c: releases, index updates and lookups on real Fedora/RHEL
 * RPMs from the shared test data ($TESTDATA), plus synthetic packages for
 * what those RPMs lack (epochs, foreign arches, several versions of a dwz
 * package), and damaged lookup tables.
 *
 * A temporary RepoDir holds symlinks to the test RPMs; nothing is copied
 * into the project tree.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
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

#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>

#include "release.h"
#include "repoindex.h"
#include "testutil.h"

#define MAIN_RELEASE "fedora-34-x86_64"
#define ABIGAIL "libabigail-real-fedora-rhel-rpms-with-debuginfo"
#define ELFUTILS "elfutils-debuginfod-rpms"
#define MAX_FOUND 64

static char testdata[PATH_MAX];
static char repo_dir[PATH_MAX];
static size_t main_count;       /* packages linked into MAIN_RELEASE */
static struct repoindex *main_idx;

/* ---- helpers -------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t len)
{
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        if (len)
                assert_int_equal(fwrite(data, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
}

/* Replaces path with data through a rename, as a new file. */
static void replace_file(const char *path, const void *data, size_t len)
{
        char tmp[PATH_MAX];
        test_path(tmp, sizeof tmp, "%s.new", path);
        write_file(tmp, data, len);
        assert_int_equal(rename(tmp, path), 0);
}

static unsigned char *read_file(const char *path, size_t *len)
{
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        long size = ftell(fp);
        assert_true(size >= 0);
        rewind(fp);
        unsigned char *buf = malloc((size_t)size + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
        fclose(fp);
        *len = (size_t)size;
        return buf;
}

/* Links testdata/<sub>/<file> into <repo>/<release>/Packages/<as>. */
static void link_as(const char *repo, const char *release, const char *sub,
                    const char *file, const char *as)
{
        char from[PATH_MAX], to[PATH_MAX], dir[PATH_MAX];
        test_path(dir, sizeof dir, "%s/%s/" REPOINDEX_PACKAGES, repo, release);
        test_mkdirs(dir);
        test_path(from, sizeof from, "%s/%s/%s", testdata, sub, file);
        test_path(to, sizeof to, "%s/%s", dir, as);
        assert_int_equal(access(from, R_OK), 0);
        assert_int_equal(symlink(from, to), 0);
}

static void link_package(const char *repo, const char *release, const char *sub,
                         const char *file)
{
        link_as(repo, release, sub, file, file);
}

/* Links every RPM of testdata/<sub>; returns how many. */
static size_t link_all(const char *repo, const char *release, const char *sub)
{
        char dir_path[PATH_MAX];
        test_path(dir_path, sizeof dir_path, "%s/%s", testdata, sub);
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
        test_path(c->path, sizeof c->path, "%s/stderr.XXXXXX", repo_dir);
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
        if (st.st_size > 0) {
                /* show what was said */
                size_t len;
                unsigned char *text = read_file(c->path, &len);
                fprintf(stderr, "unexpected output: %.*s\n", (int)len, (char *)text);
                free(text);
        }
        unlink(c->path);
        return (size_t)st.st_size;
}

/* Updates (silently) and checks the counts; want_added < 0: any. */
static void update(const char *repo, const char *release, long want_added,
                   long want_removed, long want_packages)
{
        struct repoindex_stats st = { 99, 99, 99 };
        struct error err = { 0 };
        struct captured c;
        capture_begin(&c);
        int r = repoindex_update(repo, release, &st, &err);
        size_t noise = capture_end(&c);
        if (r < 0)
                fail_msg("repoindex_update(%s): %s", release, err.msg);
        assert_int_equal(noise, 0);
        if ((want_added >= 0 && st.added != (size_t)want_added) ||
            (want_removed >= 0 && st.removed != (size_t)want_removed) ||
            (want_packages >= 0 && st.packages != (size_t)want_packages))
                fail_msg("update %s: added %zu removed %zu packages %zu, expected "
                         "%ld %ld %ld", release, st.added, st.removed, st.packages,
                         want_added, want_removed, want_packages);
}

static struct repoindex *open_index(const char *repo, const char *release)
{
        struct repoindex *idx = NULL;
        struct error err = { 0 };
        int r = repoindex_open(repo, release, &idx, &err);
        if (r < 0)
                fail_msg("repoindex_open(%s): %s", release, err.msg);
        assert_non_null(idx);
        return idx;
}

/* The target of RepoDir/<release>/index. */
static void current_gen(const char *repo, const char *release, char *buf, size_t len)
{
        char link[PATH_MAX];
        test_path(link, sizeof link, "%s/%s/" REPOINDEX_LINK, repo, release);
        ssize_t n = readlink(link, buf, len - 1);
        assert_true(n > 0);
        buf[n] = '\0';
}

/* The hidden entries of a release directory besides the current generation
 * and the lock, joined by spaces: what a writer left behind. */
static void leftovers(const char *repo, const char *release, char *buf, size_t len)
{
        char dir_path[PATH_MAX], cur[PATH_MAX];
        test_path(dir_path, sizeof dir_path, "%s/%s", repo, release);
        current_gen(repo, release, cur, sizeof cur);
        DIR *dir = opendir(dir_path);
        assert_non_null(dir);
        buf[0] = '\0';
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
                const char *n = de->d_name;
                if (n[0] != '.' || strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
                    strcmp(n, cur) == 0 || strcmp(n, REPOINDEX_LOCK) == 0)
                        continue;
                size_t used = strlen(buf);
                snprintf(buf + used, len - used, "%s%s", used ? " " : "", n);
        }
        closedir(dir);
}

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "name-[epoch:]version-release.arch" */
static void pkg_name(const struct repoindex *idx, repo_pkg p, char *buf, size_t len)
{
        struct repo_pkg_info info;
        repoindex_package(idx, p, &info);
        snprintf(buf, len, "%s-%s%s%s-%s.%s", info.name, info.epoch,
                 info.epoch[0] ? ":" : "", info.version, info.release, info.arch);
}

/* The packages, as pkg_name() strings, sorted and joined by spaces. */
static void names_of(const struct repoindex *idx, const repo_pkg *pkgs, size_t n,
                     char *buf, size_t len, bool sort)
{
        char names[MAX_FOUND][256];
        char *ptrs[MAX_FOUND];
        assert_true(n <= MAX_FOUND);
        for (size_t i = 0; i < n; i++) {
                pkg_name(idx, pkgs[i], names[i], sizeof names[i]);
                ptrs[i] = names[i];
        }
        if (sort)
                qsort(ptrs, n, sizeof *ptrs, cmp_strp);
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                size_t used = strlen(buf);
                snprintf(buf + used, len - used, "%s%s", used ? " " : "", ptrs[i]);
        }
}

/* The one package of idx with this NEVRA. */
static repo_pkg find_one_epoch(const struct repoindex *idx, const char *name,
                               const char *epoch, const char *version,
                               const char *release, const char *arch)
{
        struct nevra n;
        set_nevra(&n, name, epoch, version, release, arch);
        repo_pkg out[4];
        size_t found = repoindex_find_nevra(idx, &n, out, 4);
        if (found != 1)
                fail_msg("%s-%s-%s.%s: %zu packages", name, version, release, arch, found);
        return out[0];
}

static repo_pkg find_one(const struct repoindex *idx, const char *name,
                         const char *version, const char *release, const char *arch)
{
        return find_one_epoch(idx, name, "", version, release, arch);
}

/* ---- synthetic releases ------------------------------------------------------ */

struct fake_package {
        const char *name, *evr, *arch;
        const char *sourcerpm;  /* NULL: none */
        const char *provides;   /* "a;b = 1" */
        const char *requires;
        const char *files;      /* "/usr/bin/a;/usr/lib/x" */
};

static void quiet(Pool *pool, void *data, int type, const char *str)
{
        (void)pool;
        (void)data;
        (void)type;
        (void)str;
}

/* "name" or "name = evr" */
static Id dep_of(Pool *pool, const char *text)
{
        char buf[512];
        test_path(buf, sizeof buf, "%s", text);
        char *eq = strstr(buf, " = ");
        if (!eq)
                return pool_str2id(pool, buf, 1);
        *eq = '\0';
        return pool_rel2id(pool, pool_str2id(pool, buf, 1), pool_str2id(pool, eq + 3, 1),
                           REL_EQ, 1);
}

static Offset add_deps(Repo *repo, Offset deps, const char *list)
{
        if (!list)
                return deps;
        char buf[1024];
        test_path(buf, sizeof buf, "%s", list);
        for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok;
             tok = strtok_r(NULL, ";", &save))
                deps = repo_addid_dep(repo, deps, dep_of(repo->pool, tok), 0);
        return deps;
}

/* Writes the generation an older writer (or another tool) could have made:
 * packages.solv only, with empty files Packages/<name>-<evr>.<arch>.rpm to
 * match, and `index` pointing at it. The next update must make the tables
 * without reading any RPM. */
static void write_fake_generation(const char *repo_path, const char *release,
                                  const struct fake_package *pkgs, size_t count)
{
        char dir[PATH_MAX], path[PATH_MAX];
        test_path(dir, sizeof dir, "%s/%s/" REPOINDEX_PACKAGES, repo_path, release);
        test_mkdirs(dir);
        test_path(dir, sizeof dir, "%s/%s/.index-7", repo_path, release);
        test_mkdirs(dir);

        Pool *pool = pool_create();
        assert_true(pool_setdisttype(pool, DISTTYPE_RPM) >= 0);
        pool_setdebugcallback(pool, quiet, NULL);
        Repo *repo = repo_create(pool, release);
        Repodata *data = repo_add_repodata(repo, 0);
        Id key_size = pool_str2id(pool, REPOINDEX_SOLV_KEY_SIZE, 1);
        Id key_mtime = pool_str2id(pool, REPOINDEX_SOLV_KEY_MTIME, 1);
        for (size_t i = 0; i < count; i++) {
                const struct fake_package *f = &pkgs[i];
                Id p = repo_add_solvable(repo);
                Solvable *s = pool_id2solvable(pool, p);
                s->name = pool_str2id(pool, f->name, 1);
                s->evr = pool_str2id(pool, f->evr, 1);
                s->arch = pool_str2id(pool, f->arch, 1);
                s->provides = repo_addid_dep(repo, s->provides,
                                             pool_rel2id(pool, s->name, s->evr, REL_EQ, 1), 0);
                s->provides = add_deps(repo, s->provides, f->provides);
                s->requires = add_deps(repo, s->requires, f->requires);
                if (f->sourcerpm)
                        repodata_set_sourcepkg(data, p, f->sourcerpm);
                if (f->files) {
                        char buf[1024];
                        test_path(buf, sizeof buf, "%s", f->files);
                        for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok;
                             tok = strtok_r(NULL, ";", &save)) {
                                char *slash = strrchr(tok, '/');
                                *slash = '\0';
                                Id did = repodata_str2dir(data, *tok ? tok : "/", 1);
                                repodata_add_dirstr(data, p, SOLVABLE_FILELIST, did, slash + 1);
                        }
                }
                char file[256], loc[300];
                const char *evr = strchr(f->evr, ':') ? strchr(f->evr, ':') + 1 : f->evr;
                test_path(file, sizeof file, "%s-%s.%s.rpm", f->name, evr, f->arch);
                test_path(loc, sizeof loc, REPOINDEX_PACKAGES "/%s", file);
                test_path(path, sizeof path, "%s/%s/%s", repo_path, release, loc);
                write_file(path, "", 0);
                struct stat st;
                assert_int_equal(stat(path, &st), 0);
                repodata_set_location(data, p, 0, NULL, loc);
                repodata_set_num(data, p, key_size, (unsigned long long)st.st_size);
                repodata_set_num(data, p, key_mtime,
                                 (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
                                 (unsigned long long)st.st_mtim.tv_nsec);
        }
        repo_internalize(repo);
        test_path(path, sizeof path, "%s/" REPOINDEX_SOLV, dir);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        assert_int_equal(repo_write(repo, fp), 0);
        assert_int_equal(fclose(fp), 0);
        pool_free(pool);

        test_path(path, sizeof path, "%s/%s/" REPOINDEX_LINK, repo_path, release);
        assert_int_equal(symlink(".index-7", path), 0);
}

/* ---- fixtures ------------------------------------------------------------- */

static int group_setup(void **state)
{
        (void)state;
        test_path(testdata, sizeof testdata, "%s", testdata_dir());

        test_path(repo_dir, sizeof repo_dir, "/tmp/test-repoindex.XXXXXX");
        if (!mkdtemp(repo_dir))
                return -1;

        main_count = link_all(repo_dir, MAIN_RELEASE, ABIGAIL);
        main_count += link_all(repo_dir, MAIN_RELEASE, ELFUTILS "/fedora30");
        main_count += link_all(repo_dir, MAIN_RELEASE, ELFUTILS "/fedora31");
        main_count += link_all(repo_dir, MAIN_RELEASE, ELFUTILS "/rhel6");
        update(repo_dir, MAIN_RELEASE, (long)main_count, 0, (long)main_count);
        main_idx = open_index(repo_dir, MAIN_RELEASE);
        return 0;
}

static int group_teardown(void **state)
{
        (void)state;
        repoindex_free(main_idx);
        if (repo_dir[0])
                rm_rf(repo_dir);
        return 0;
}

/* ---- NEVRA -------------------------------------------------------------------- */

struct nevra_case {
        const char *name, *epoch, *version, *release, *arch;
        size_t want;
};

static void run_nevra_cases(const struct repoindex *idx, const char *what,
                            const struct nevra_case *cases, size_t count)
{
        for (size_t i = 0; i < count; i++) {
                const struct nevra_case *c = &cases[i];
                struct nevra n;
                set_nevra(&n, c->name, c->epoch, c->version, c->release, c->arch);
                repo_pkg out[MAX_FOUND];
                size_t found = repoindex_find_nevra(idx, &n, out, MAX_FOUND);
                if (found != c->want || repoindex_has_package(idx, &n) != (c->want > 0))
                        fail_msg("%s: '%s' epoch '%s' '%s'-'%s' arch '%s': %zu found, "
                                 "expected %zu", what, show(c->name), show(c->epoch),
                                 show(c->version), show(c->release), show(c->arch), found,
                                 c->want);
                /* every answer really is the package asked for */
                for (size_t j = 0; j < found; j++) {
                        struct repo_pkg_info info;
                        repoindex_package(idx, out[j], &info);
                        assert_string_equal(info.name, c->name);
                        assert_string_equal(info.version, c->version);
                        assert_string_equal(info.release, c->release);
                        if (c->arch && c->arch[0])
                                assert_string_equal(info.arch, c->arch);
                }
        }
}

static void test_nevra(void **state)
{
        (void)state;
        static const struct nevra_case cases[] = {
                /* exact NEVRA, arch optional, epoch absent = 0 */
                { "sshpass", "", "1.07", "1.fc34", "x86_64", 1 },
                { "sshpass", "", "1.07", "1.fc34", "", 1 },
                { "sshpass", "0", "1.07", "1.fc34", "x86_64", 1 },
                { "sshpass", "00", "1.07", "1.fc34", "", 1 },
                { "sshpass", "1", "1.07", "1.fc34", "x86_64", 0 },
                { "sshpass", "x", "1.07", "1.fc34", "x86_64", 0 },
                { "sshpass-debuginfo", "", "1.07", "1.fc34", "x86_64", 1 },
                /* wrong version, release, arch, name */
                { "sshpass", "", "1.08", "1.fc34", "x86_64", 0 },
                { "sshpass", "", "1.0", "1.fc34", "x86_64", 0 },
                { "sshpass", "", "1.07", "2.fc34", "x86_64", 0 },
                { "sshpass", "", "1.07", "1.fc3", "x86_64", 0 },
                { "sshpass", "", "1.07", "1.fc34.x86_64", "", 0 },
                { "sshpass", "", "1.07-1", "fc34", "x86_64", 0 },
                { "sshpass", "", "", "", "", 0 },
                { "sshpass", "", "1.07", "1.fc34", "i686", 0 },
                { "sshpass", "", "1.07", "1.fc34", "noarch", 0 },
                { "sshpas", "", "1.07", "1.fc34", "x86_64", 0 },
                { "Sshpass", "", "1.07", "1.fc34", "x86_64", 0 },
                { "no-such-package", "", "1.0", "1", "", 0 },
                { "", "", "1.07", "1.fc34", "", 0 },
                /* provides and files are not package names */
                { "sshpass(x86-64)", "", "1.07", "1.fc34", "", 0 },
                { "/usr/bin/sshpass", "", "1.07", "1.fc34", "", 0 },
                { "libICE.so.6()(64bit)", "", "1.0.9", "2.el7", "", 0 },
                /* two versions of one name */
                { "libICE", "", "1.0.6", "1.el6", "x86_64", 1 },
                { "libICE", "", "1.0.9", "2.el7", "x86_64", 1 },
                { "libICE", "", "1.0.9", "1.el6", "x86_64", 0 },
                { "libICE-debuginfo", "", "1.0.9", "2.el7", "", 1 },
                /* one NEVR, two arches: x86_64 (fedora30) and i686 (rhel6) */
                { "hello2", "", "1.0", "2", "x86_64", 1 },
                { "hello2", "", "1.0", "2", "i686", 1 },
                { "hello2", "", "1.0", "2", "", 2 },
                { "hello2", "0", "1.0", "2", "", 2 },
                { "hello2", "", "1.0", "2", "aarch64", 0 },
                { "hello2-debuginfo", "", "1.0", "2", "", 2 },
                { "hello2-two-debuginfo", "", "1.0", "2", "i686", 0 },
                { "hello2-debugsource", "", "1.0", "2", "x86_64", 1 },
                { "hello3-two", "", "1.0", "2", "x86_64", 1 },
                /* one of each payload compression and naming scheme */
                { "dbus-glib", "", "0.80", "3.fc12", "x86_64", 1 },            /* gzip */
                { "nss-util", "", "3.24.0", "2.0.fc25", "x86_64", 1 },         /* xz */
                { "libxcrypt-compat-debuginfo", "", "4.4.18", "3.el9", "x86_64", 1 },
                { "spice-debuginfo", "", "0.12.8", "1.el7", "x86_64", 1 },
                { "spice-server-debuginfo", "", "0.12.8", "1.el7", "x86_64", 0 },
                { "tbb", "", "4.3", "3.20141204.fc23", "x86_64", 1 },
                { "libcdio-debuginfo", "", "0.94", "2.fc26", "x86_64", 1 },
        };
        run_nevra_cases(main_idx, MAIN_RELEASE, cases, N_ELEMENTS(cases));
}

static void test_nevra_edges(void **state)
{
        (void)state;
        struct nevra n;
        set_nevra(&n, "sshpass", NULL, "1.07", "1.fc34", NULL);
        assert_true(repoindex_has_package(main_idx, &n));       /* NULL as "" */
        repo_pkg out[1];
        assert_int_equal(repoindex_find_nevra(main_idx, &n, NULL, 5), 1);
        set_nevra(&n, "hello2", "", "1.0", "2", "");
        assert_int_equal(repoindex_find_nevra(main_idx, &n, out, 1), 2); /* all counted */
        assert_true(out[0] < repoindex_package_count(main_idx));
        set_nevra(&n, NULL, "", "1.07", "1.fc34", "");
        assert_false(repoindex_has_package(main_idx, &n));
        assert_false(repoindex_has_package(main_idx, NULL));
        assert_false(repoindex_has_package(NULL, &n));
        assert_int_equal(repoindex_find_nevra(NULL, &n, out, 1), 0);
        repoindex_free(NULL);
}

static void test_package_info(void **state)
{
        (void)state;
        assert_int_equal(repoindex_package_count(main_idx), main_count);
        assert_int_equal(repoindex_package_count(NULL), 0);

        static const struct {
                const char *name, *version, *release, *arch, *location, *sourcerpm;
                bool debuginfo;
        } cases[] = {
                { "sshpass", "1.07", "1.fc34", "x86_64",
                  "Packages/sshpass-1.07-1.fc34.x86_64.rpm", "sshpass-1.07-1.fc34.src.rpm",
                  false },
                { "sshpass-debuginfo", "1.07", "1.fc34", "x86_64",
                  "Packages/sshpass-debuginfo-1.07-1.fc34.x86_64.rpm",
                  "sshpass-1.07-1.fc34.src.rpm", true },
                { "spice-debuginfo", "0.12.8", "1.el7", "x86_64",
                  "Packages/spice-debuginfo-0.12.8-1.el7.x86_64.rpm",
                  "spice-0.12.8-1.el7.src.rpm", true },
                { "spice-server", "0.12.8", "1.el7", "x86_64",
                  "Packages/spice-server-0.12.8-1.el7.x86_64.rpm",
                  "spice-0.12.8-1.el7.src.rpm", false },
                { "libxcrypt-compat", "4.4.18", "3.el9", "x86_64",
                  "Packages/libxcrypt-compat-4.4.18-3.el9.x86_64.rpm",
                  "libxcrypt-4.4.18-3.el9.src.rpm", false },
                { "hello2-debugsource", "1.0", "2", "x86_64",
                  "Packages/hello2-debugsource-1.0-2.x86_64.rpm", "hello2-1.0-2.src.rpm",
                  true },
                { "hello2", "1.0", "2", "i686", "Packages/hello2-1.0-2.i686.rpm",
                  "hello2-1.0-2.src.rpm", false },
        };
        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                repo_pkg p = find_one(main_idx, cases[i].name, cases[i].version,
                                      cases[i].release, cases[i].arch);
                struct repo_pkg_info info;
                repoindex_package(main_idx, p, &info);
                assert_string_equal(info.name, cases[i].name);
                assert_string_equal(info.epoch, "");
                assert_string_equal(info.version, cases[i].version);
                assert_string_equal(info.release, cases[i].release);
                assert_string_equal(info.arch, cases[i].arch);
                assert_string_equal(info.location, cases[i].location);
                assert_string_equal(info.sourcerpm, cases[i].sourcerpm);
                assert_int_equal(info.debuginfo, cases[i].debuginfo);
                /* the location leads to the file */
                char path[PATH_MAX];
                test_path(path, sizeof path, "%s/" MAIN_RELEASE "/%s", repo_dir, info.location);
                assert_int_equal(access(path, R_OK), 0);
        }

        /* Sorted by location, every package once. */
        char prev[PATH_MAX] = "";
        for (repo_pkg p = 0; p < repoindex_package_count(main_idx); p++) {
                struct repo_pkg_info info;
                repoindex_package(main_idx, p, &info);
                assert_true(strcmp(prev, info.location) < 0);
                test_path(prev, sizeof prev, "%s", info.location);
        }

        /* Out of range: empty strings, no crash. */
        struct repo_pkg_info info;
        repoindex_package(main_idx, (repo_pkg)main_count, &info);
        assert_string_equal(info.name, "");
        assert_string_equal(info.location, "");
        assert_false(info.debuginfo);
        repoindex_package(NULL, 0, &info);
        assert_string_equal(info.name, "");
}

/* ---- build-ids ------------------------------------------------------------------ */

static void test_build_ids(void **state)
{
        (void)state;
        /* From `rpm -qlp` (/usr/lib/.build-id/..., /usr/lib/debug/.build-id/...)
         * and `rpm -qp --provides` (debuginfo(build-id) = ...). */
        static const struct {
                const char *build_id;
                enum build_id_kind kind;
                const char *want;       /* pkg_name()s, sorted */
        } cases[] = {
                /* Fedora 34: the binary package has the link, the debuginfo both
                 * the .debug file and the provides */
                { "de412ea6c4b961388c2b51f54e3c78f5e800b8ae", BUILD_ID_BINARY,
                  "sshpass-1.07-1.fc34.x86_64" },
                { "de412ea6c4b961388c2b51f54e3c78f5e800b8ae", BUILD_ID_DEBUG,
                  "sshpass-debuginfo-1.07-1.fc34.x86_64" },
                { "DE412EA6C4B961388C2B51F54E3C78F5E800B8AE", BUILD_ID_DEBUG,
                  "sshpass-debuginfo-1.07-1.fc34.x86_64" },
                /* RHEL 9, one source package, two binary packages */
                { "6ce4e5eb200e61d07398af52f8bcb316cf8466e0", BUILD_ID_BINARY,
                  "libxcrypt-4.4.18-3.el9.x86_64" },
                { "6ce4e5eb200e61d07398af52f8bcb316cf8466e0", BUILD_ID_DEBUG,
                  "libxcrypt-debuginfo-4.4.18-3.el9.x86_64" },
                { "04223841a4d0ee72f0b75751c32b09dff905e173", BUILD_ID_BINARY,
                  "libxcrypt-compat-4.4.18-3.el9.x86_64" },
                { "04223841a4d0ee72f0b75751c32b09dff905e173", BUILD_ID_DEBUG,
                  "libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64" },
                /* RHEL 7: libspice-server.so.1.10.1 of spice-server; its
                 * debuginfo is named after the source package, and the binary
                 * package has no .build-id link (found by path instead) */
                { "39f38736b31f3c9037e0fe5079d5a3e1ec89a6f4", BUILD_ID_DEBUG,
                  "spice-debuginfo-0.12.8-1.el7.x86_64" },
                { "39f38736b31f3c9037e0fe5079d5a3e1ec89a6f4", BUILD_ID_BINARY, "" },
                /* Fedora 26 (before 27): the links to the binaries live only in
                 * the debuginfo package, which does not ship the binaries: the
                 * debug kind is answered, the binary kind is not */
                { "4355e4539ac27c21af2d64af25a2acef021ed128", BUILD_ID_DEBUG,
                  "libcdio-debuginfo-0.94-2.fc26.x86_64" },
                { "4355e4539ac27c21af2d64af25a2acef021ed128", BUILD_ID_BINARY, "" },
                { "69fcbda9f8b42463604d43561e9f8c1c8c4090fc", BUILD_ID_DEBUG,
                  "libcdio-debuginfo-0.94-2.fc26.x86_64" },     /* .debug, no link */
                { "edb81777ec18e1590b7cc7b32e038862c6b3db66", BUILD_ID_DEBUG,
                  "libICE-debuginfo-1.0.6-1.el6.x86_64" },
                { "9592f5c2b0e63d8f8ebcb9c099dd3c10e058ddbd", BUILD_ID_DEBUG,
                  "libICE-debuginfo-1.0.9-2.el7.x86_64" },
                { "2752b826b4fc2a9e4191e4c89b4159ed05bd5022", BUILD_ID_DEBUG,
                  "dbus-glib-debuginfo-0.80-3.fc12.x86_64" },
                { "cde8eeb402a0790fcd077f34d243908e3926f3a8", BUILD_ID_DEBUG,
                  "nss-util-debuginfo-3.24.0-2.0.fc25.x86_64" },
                { "71c7be484ff629ff451f7d422633d2a277339d57", BUILD_ID_DEBUG,
                  "tbb-debuginfo-4.3-3.20141204.fc23.x86_64" },
                /* Fedora 30/31 hello programs; RHEL 6 i686 */
                { "c36708a78618d597dee15d0dc989f093ca5f9120", BUILD_ID_BINARY,
                  "hello2-1.0-2.x86_64" },
                { "c36708a78618d597dee15d0dc989f093ca5f9120", BUILD_ID_DEBUG,
                  "hello2-debuginfo-1.0-2.x86_64" },
                { "87c08d12c78174f1082b7c888b3238219b0eb265", BUILD_ID_BINARY,
                  "hello3-two-1.0-2.x86_64" },
                { "87c08d12c78174f1082b7c888b3238219b0eb265", BUILD_ID_DEBUG,
                  "hello3-two-debuginfo-1.0-2.x86_64" },
                { "bbbf92ebee5228310e398609c23c2d7d53f6e2f9", BUILD_ID_DEBUG,
                  "hello2-debuginfo-1.0-2.i686" },
                /* unknown, malformed */
                { "de412ea6c4b961388c2b51f54e3c78f5e800b8af", BUILD_ID_BINARY, "" },
                { "de412ea6c4b961388c2b51f54e3c78f5e800b8a", BUILD_ID_DEBUG, "" },
                { "de/412ea6c4b961388c2b51f54e3c78f5e800b8ae", BUILD_ID_DEBUG, "" },
                { "de412ea6c4b961388c2b51f54e3c78f5e800b8ae.debug", BUILD_ID_DEBUG, "" },
                { "", BUILD_ID_DEBUG, "" },
                { "d", BUILD_ID_DEBUG, "" },
                { "xyz", BUILD_ID_BINARY, "" },
                { "de412ea6c4b961388c2b51f54e3c78f5e800b8ae"
                  "de412ea6c4b961388c2b51f54e3c78f5e800b8ae"
                  "de412ea6c4b961388c2b51f54e3c78f5e800b8ae"
                  "de412ea6c4b961388c2b51f54e3c78f5e800b8ae", BUILD_ID_DEBUG, "" },
        };
        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                repo_pkg out[MAX_FOUND];
                size_t n = repoindex_find_build_id(main_idx, cases[i].build_id,
                                                   cases[i].kind, out, MAX_FOUND);
                char got[4096];
                names_of(main_idx, out, n, got, sizeof got, true);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("build-id %s (%s): '%s', expected '%s'",
                                 show(cases[i].build_id),
                                 cases[i].kind == BUILD_ID_BINARY ? "binary" : "debug",
                                 got, cases[i].want);
        }
        assert_int_equal(repoindex_find_build_id(main_idx, NULL, BUILD_ID_DEBUG, NULL, 0), 0);
        assert_int_equal(repoindex_find_build_id(NULL, "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                                                 BUILD_ID_DEBUG, NULL, 0), 0);
        assert_int_equal(repoindex_find_build_id(main_idx,
                                                 "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                                                 (enum build_id_kind)7, NULL, 0), 0);

        /* The debuginfo of spice-server's library is spice-debuginfo: the
         * source package ties them together. */
        repo_pkg dbg, bin;
        assert_int_equal(repoindex_find_build_id(main_idx, "39f38736b31f3c9037e0fe5079d5a3e1ec89a6f4",
                                                 BUILD_ID_DEBUG, &dbg, 1), 1);
        assert_int_equal(repoindex_find_path(main_idx, "/usr/lib64/libspice-server.so.1.10.1",
                                             &bin, 1), 1);
        struct repo_pkg_info di, bi;
        repoindex_package(main_idx, dbg, &di);
        repoindex_package(main_idx, bin, &bi);
        assert_string_equal(bi.name, "spice-server");
        assert_string_equal(di.sourcerpm, bi.sourcerpm);
}

/* ---- paths ------------------------------------------------------------------------ */

static void test_paths(void **state)
{
        (void)state;
        static const struct {
                const char *path, *want;
        } cases[] = {
                { "/usr/bin/sshpass", "sshpass-1.07-1.fc34.x86_64" },
                { "/usr/lib64/libcrypt.so.2.0.0", "libxcrypt-4.4.18-3.el9.x86_64" },
                { "/usr/lib64/libcrypt.so.1", "libxcrypt-compat-4.4.18-3.el9.x86_64" },
                { "/usr/lib64/libICE.so.6.3.0",
                  "libICE-1.0.6-1.el6.x86_64 libICE-1.0.9-2.el7.x86_64" },
                { "/usr/lib64/libspice-server.so.1.10.1", "spice-server-0.12.8-1.el7.x86_64" },
                { "/usr/lib64/libcdio.so.16.0.0", "libcdio-0.94-2.fc26.x86_64" },
                { "/usr/lib64/libtbbmalloc.so.2", "tbb-4.3-3.20141204.fc23.x86_64" },
                /* dwz files */
                { "/usr/lib/debug/.dwz/libxcrypt-4.4.18-3.el9.x86_64",
                  "libxcrypt-debuginfo-4.4.18-3.el9.x86_64" },
                { "/usr/lib/debug/.dwz/hello2-1.0-2.x86_64", "hello2-debuginfo-1.0-2.x86_64" },
                /* one path, several packages, arches and releases */
                { "/usr/local/bin/hello",
                  "hello2-1.0-2.i686 hello2-1.0-2.x86_64 hello3-1.0-2.x86_64" },
                { "/usr/lib/debug/.build-id/de/412ea6c4b961388c2b51f54e3c78f5e800b8ae.debug",
                  "sshpass-debuginfo-1.07-1.fc34.x86_64" },
                { "/usr/lib/debug/usr/lib64/libcrypt.so.1.1.0-4.4.18-3.el9.x86_64.debug",
                  "libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64" },
                /* not indexed */
                { "/usr/share/man/man1/sshpass.1.gz", "" },
                { "/usr/share/doc/sshpass/AUTHORS", "" },
                { "/usr/share/doc/sshpass", "" },
                { "/usr/src/debug/hello2-1.0-2.x86_64/hello.c", "" },
                /* not there */
                { "/usr/bin/sshpass/", "" },
                { "/usr/bin/sshpas", "" },
                { "/usr/bin/no-such-file", "" },
                { "usr/bin/sshpass", "" },
                { "/lib64/libcrypt.so.1", "" },
                { "", "" },
        };
        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                repo_pkg out[MAX_FOUND];
                size_t n = repoindex_find_path(main_idx, cases[i].path, out, MAX_FOUND);
                char got[4096];
                names_of(main_idx, out, n, got, sizeof got, true);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("path %s: '%s', expected '%s'", cases[i].path, got,
                                 cases[i].want);
        }
        assert_int_equal(repoindex_find_path(main_idx, NULL, NULL, 0), 0);
        assert_int_equal(repoindex_find_path(NULL, "/usr/bin/sshpass", NULL, 0), 0);
        repo_pkg one;
        assert_int_equal(repoindex_find_path(main_idx, "/usr/local/bin/hello", &one, 1), 3);
        assert_int_equal(repoindex_find_path(main_idx, "/usr/local/bin/hello", NULL, 0), 3);
}

/* ---- debug companions --------------------------------------------------------- */

struct companion_case {
        const char *name, *version, *release, *arch;
        const char *want;       /* pkg_name()s in the order given */
};

static void run_companion_cases(const struct repoindex *idx,
                                const struct companion_case *cases, size_t count)
{
        for (size_t i = 0; i < count; i++) {
                const struct companion_case *c = &cases[i];
                repo_pkg p = find_one(idx, c->name, c->version, c->release, c->arch);
                repo_pkg out[MAX_FOUND];
                size_t n = repoindex_debug_companions(idx, p, out, MAX_FOUND);
                char got[4096];
                names_of(idx, out, n, got, sizeof got, false);
                if (strcmp(got, c->want) != 0)
                        fail_msg("companions of %s-%s-%s.%s: '%s', expected '%s'", c->name,
                                 c->version, c->release, c->arch, got, c->want);
        }
}

static void test_companions(void **state)
{
        (void)state;
        static const struct companion_case cases[] = {
                /* dwz: its .gnu_debugaltlink names a file of libxcrypt-debuginfo,
                 * which it requires; libxcrypt-debugsource is not in the test data */
                { "libxcrypt-compat-debuginfo", "4.4.18", "3.el9", "x86_64",
                  "libxcrypt-debuginfo-4.4.18-3.el9.x86_64" },
                { "libxcrypt-debuginfo", "4.4.18", "3.el9", "x86_64", "" },
                /* Fedora 30/31: the -debugsource of the source package first */
                { "hello2-debuginfo", "1.0", "2", "x86_64", "hello2-debugsource-1.0-2.x86_64" },
                { "hello2-two-debuginfo", "1.0", "2", "x86_64",
                  "hello2-debugsource-1.0-2.x86_64 hello2-debuginfo-1.0-2.x86_64" },
                { "hello3-debuginfo", "1.0", "2", "x86_64", "hello3-debugsource-1.0-2.x86_64" },
                { "hello3-two-debuginfo", "1.0", "2", "x86_64",
                  "hello3-debugsource-1.0-2.x86_64 hello3-debuginfo-1.0-2.x86_64" },
                /* RHEL 6 i686: an x86_64 debugsource is no companion */
                { "hello2-debuginfo", "1.0", "2", "i686", "" },
                /* no debugsource packages in these releases */
                { "spice-debuginfo", "0.12.8", "1.el7", "x86_64", "" },
                { "sshpass-debuginfo", "1.07", "1.fc34", "x86_64", "" },
                { "libcdio-debuginfo", "0.94", "2.fc26", "x86_64", "" },
                /* not debuginfo */
                { "sshpass", "1.07", "1.fc34", "x86_64", "" },
                { "hello2-debugsource", "1.0", "2", "x86_64", "" },
        };
        run_companion_cases(main_idx, cases, N_ELEMENTS(cases));

        repo_pkg p = find_one(main_idx, "hello2-two-debuginfo", "1.0", "2", "x86_64");
        repo_pkg one[1];
        assert_int_equal(repoindex_debug_companions(main_idx, p, one, 1), 2);
        assert_int_equal(repoindex_debug_companions(main_idx, p, NULL, 0), 2);
        assert_int_equal(repoindex_debug_companions(main_idx, (repo_pkg)main_count, one, 1), 0);
        assert_int_equal(repoindex_debug_companions(NULL, p, one, 1), 0);
}

/* ---- synthetic packages: epochs, arches, provides-only build-ids ------------------ */

static void test_synthetic(void **state)
{
        (void)state;
        const char *release = "fedora-99-x86_64";
        static const struct fake_package pkgs[] = {
                { "epochpkg", "2:1.0-1.fc34", "x86_64", "epochpkg-1.0-1.fc34.src.rpm",
                  NULL, NULL, "/usr/bin/epoch" },
                { "zeropkg", "0:1.0-1.fc34", "x86_64", "zeropkg-1.0-1.fc34.src.rpm",
                  NULL, NULL, NULL },
                { "noarchpkg", "3:2.5-7.fc34", "noarch", "noarchpkg-2.5-7.fc34.src.rpm",
                  NULL, NULL, "/usr/share/noarch/data" },
                { "srcpkg", "1.0-1.fc34", "src", NULL, NULL, NULL, NULL },
                { "foreignpkg", "1.0-1.fc34", "aarch64", "foreignpkg-1.0-1.fc34.src.rpm",
                  NULL, NULL, "/usr/bin/foreign" },
                { "provider", "1.0-1.fc34", "x86_64", "provider-1.0-1.fc34.src.rpm",
                  "virtual-name", NULL,
                  "/usr/lib/.build-id/ab/cdef0123456789;/usr/lib/.build-id/ab/cdef0123456789.1;"
                  "/usr/lib/.build-id/12/3456789a.debug;/usr/lib/.build-id/xy/z0" },
                /* build-id by provides only; a duplicate link .1 */
                { "provider-debuginfo", "1.0-1.fc34", "x86_64", "provider-1.0-1.fc34.src.rpm",
                  "debuginfo(build-id) = 00112233445566778899aabbccddeeff00112233;"
                  "debuginfo(build-id) = NOT-HEX", NULL,
                  "/usr/lib/debug/.build-id/ab/cdef0123456789.1.debug" },
                /* dwz provider in three versions and two arches */
                { "common-debuginfo", "1.0-1.fc34", "x86_64", "common-1.0-1.fc34.src.rpm",
                  "common-dwz", NULL, "/usr/lib/debug/.dwz/common-1.0-1.fc34.x86_64" },
                { "common-debuginfo", "1.0-1.fc34", "i686", "common-1.0-1.fc34.src.rpm",
                  "common-dwz", NULL, "/usr/lib/debug/.dwz/common-1.0-1.fc34.i686" },
                { "common-debuginfo", "2.0-1.fc34", "x86_64", "common-2.0-1.fc34.src.rpm",
                  "common-dwz", NULL, "/usr/lib/debug/.dwz/common-2.0-1.fc34.x86_64" },
                { "common-debuginfo", "1.5-1.fc34", "x86_64", "common-1.5-1.fc34.src.rpm",
                  "common-dwz", NULL, NULL },
                { "common-debugsource", "1.0-1.fc34", "x86_64", "common-1.0-1.fc34.src.rpm",
                  NULL, NULL, NULL },
                /* same EVR as one of them: that one; otherwise the highest */
                { "common-libs-debuginfo", "1.0-1.fc34", "x86_64", "common-1.0-1.fc34.src.rpm",
                  NULL, "common-dwz", NULL },
                { "other-debuginfo", "7.0-1.fc34", "x86_64", "other-7.0-1.fc34.src.rpm",
                  NULL, "common-dwz;common-debugsource;provider", NULL },
                /* no source package at all */
                { "nosource-debuginfo", "1.0-1.fc34", "x86_64", NULL, NULL,
                  "common-debuginfo = 1.5-1.fc34", NULL },
        };
        write_fake_generation(repo_dir, release, pkgs, N_ELEMENTS(pkgs));

        /* No lookup.tbl yet: the update makes one from packages.solv alone. */
        struct repoindex *idx = NULL;
        assert_int_equal(repoindex_open(repo_dir, release, &idx, NULL), -ENOENT);
        update(repo_dir, release, 0, 0, (long)N_ELEMENTS(pkgs));
        char gen[PATH_MAX];
        current_gen(repo_dir, release, gen, sizeof gen);
        assert_string_equal(gen, ".index-8");
        char left[1024];
        leftovers(repo_dir, release, left, sizeof left);
        assert_string_equal(left, "");
        update(repo_dir, release, 0, 0, (long)N_ELEMENTS(pkgs));
        current_gen(repo_dir, release, gen, sizeof gen);
        assert_string_equal(gen, ".index-8");

        idx = open_index(repo_dir, release);
        assert_int_equal(repoindex_package_count(idx), N_ELEMENTS(pkgs));
        static const struct nevra_case cases[] = {
                { "epochpkg", "2", "1.0", "1.fc34", "x86_64", 1 },
                { "epochpkg", "2", "1.0", "1.fc34", "", 1 },
                { "epochpkg", "02", "1.0", "1.fc34", "", 1 },
                { "epochpkg", "", "1.0", "1.fc34", "", 0 },
                { "epochpkg", "0", "1.0", "1.fc34", "", 0 },
                { "epochpkg", "1", "1.0", "1.fc34", "", 0 },
                { "epochpkg", "2", "2:1.0", "1.fc34", "", 0 },
                { "zeropkg", "", "1.0", "1.fc34", "", 1 },
                { "zeropkg", "0", "1.0", "1.fc34", "", 1 },
                { "zeropkg", "1", "1.0", "1.fc34", "", 0 },
                { "noarchpkg", "3", "2.5", "7.fc34", "noarch", 1 },
                { "noarchpkg", "3", "2.5", "7.fc34", "x86_64", 0 },
                { "noarchpkg", "", "2.5", "7.fc34", "", 0 },
                /* not installable on x86_64, still in the index */
                { "srcpkg", "", "1.0", "1.fc34", "src", 1 },
                { "srcpkg", "", "1.0", "1.fc34", "", 1 },
                { "srcpkg", "", "1.0", "1.fc34", "x86_64", 0 },
                { "foreignpkg", "", "1.0", "1.fc34", "aarch64", 1 },
                { "foreignpkg", "", "1.0", "1.fc34", "x86_64", 0 },
                { "provider", "", "1.0", "1.fc34", "", 1 },
                { "virtual-name", "", "1.0", "1.fc34", "", 0 },
                { "common-debuginfo", "", "1.0", "1.fc34", "", 2 },
        };
        run_nevra_cases(idx, release, cases, N_ELEMENTS(cases));

        struct repo_pkg_info info;
        repoindex_package(idx, find_one_epoch(idx, "epochpkg", "2", "1.0", "1.fc34", "x86_64"),
                          &info);
        assert_string_equal(info.epoch, "2");
        assert_string_equal(info.location, "Packages/epochpkg-1.0-1.fc34.x86_64.rpm");
        repoindex_package(idx, find_one(idx, "srcpkg", "1.0", "1.fc34", "src"), &info);
        assert_string_equal(info.sourcerpm, "");
        repoindex_package(idx, find_one(idx, "nosource-debuginfo", "1.0", "1.fc34", "x86_64"),
                          &info);
        assert_string_equal(info.sourcerpm, "");
        assert_true(info.debuginfo);

        static const struct {
                const char *build_id;
                enum build_id_kind kind;
                const char *want;
        } ids[] = {
                { "00112233445566778899aabbccddeeff00112233", BUILD_ID_DEBUG,
                  "provider-debuginfo-1.0-1.fc34.x86_64" },
                { "00112233445566778899aabbccddeeff00112233", BUILD_ID_BINARY, "" },
                { "abcdef0123456789", BUILD_ID_BINARY, "provider-1.0-1.fc34.x86_64" },
                { "abcdef0123456789", BUILD_ID_DEBUG, "provider-debuginfo-1.0-1.fc34.x86_64" },
                { "123456789a", BUILD_ID_BINARY, "" },  /* .debug below /usr/lib/.build-id */
                { "xyz0", BUILD_ID_BINARY, "" },
        };
        for (size_t i = 0; i < N_ELEMENTS(ids); i++) {
                repo_pkg out[MAX_FOUND];
                size_t n = repoindex_find_build_id(idx, ids[i].build_id, ids[i].kind, out,
                                                   MAX_FOUND);
                char got[1024];
                names_of(idx, out, n, got, sizeof got, true);
                if (strcmp(got, ids[i].want) != 0)
                        fail_msg("build-id %s: '%s', expected '%s'", ids[i].build_id, got,
                                 ids[i].want);
        }
        repo_pkg one;
        assert_int_equal(repoindex_find_path(idx, "/usr/share/noarch/data", &one, 1), 1);
        assert_int_equal(repoindex_find_path(idx, "/usr/bin/foreign", &one, 1), 1);

        static const struct companion_case comps[] = {
                /* by source name + EVR + arch, and the dwz provider of its EVR */
                { "common-libs-debuginfo", "1.0", "1.fc34", "x86_64",
                  "common-debugsource-1.0-1.fc34.x86_64 common-debuginfo-1.0-1.fc34.x86_64" },
                /* no EVR matches: the highest of each name; a non-debug provider
                 * (provider) is no companion */
                { "other-debuginfo", "7.0", "1.fc34", "x86_64",
                  "common-debuginfo-2.0-1.fc34.x86_64 common-debugsource-1.0-1.fc34.x86_64" },
                /* no sourcerpm: companions from Requires only, at the version asked */
                { "nosource-debuginfo", "1.0", "1.fc34", "x86_64",
                  "common-debuginfo-1.5-1.fc34.x86_64" },
                /* debuginfo of the dwz provider itself: its debugsource only */
                { "common-debuginfo", "1.0", "1.fc34", "x86_64",
                  "common-debugsource-1.0-1.fc34.x86_64" },
                { "common-debuginfo", "2.0", "1.fc34", "x86_64", "" },
        };
        run_companion_cases(idx, comps, N_ELEMENTS(comps));
        repoindex_free(idx);
}

/* ---- incremental updates ------------------------------------------------------------ */

static void count_generations(const char *repo, const char *release, size_t want)
{
        char dir_path[PATH_MAX];
        test_path(dir_path, sizeof dir_path, "%s/%s", repo, release);
        DIR *dir = opendir(dir_path);
        assert_non_null(dir);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL)
                if (strncmp(de->d_name, ".index", 6) == 0)
                        n++;
        closedir(dir);
        assert_int_equal(n, want);
}

static void copy_file(const char *from, const char *to)
{
        size_t len;
        unsigned char *data = read_file(from, &len);
        write_file(to, data, len);
        free(data);
}

static void test_incremental(void **state)
{
        (void)state;
        const char *release = "fedora-33-x86_64";
        char g1[PATH_MAX], g2[PATH_MAX], g3[PATH_MAX], path[PATH_MAX], pkg_dir[PATH_MAX];
        test_path(pkg_dir, sizeof pkg_dir, "%s/%s/" REPOINDEX_PACKAGES, repo_dir, release);

        link_package(repo_dir, release, ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm");
        link_package(repo_dir, release, ABIGAIL, "sshpass-debuginfo-1.07-1.fc34.x86_64.rpm");
        update(repo_dir, release, 2, 0, 2);
        current_gen(repo_dir, release, g1, sizeof g1);
        count_generations(repo_dir, release, 1);

        /* Nothing new: no header read, no new generation. */
        update(repo_dir, release, 0, 0, 2);
        current_gen(repo_dir, release, g2, sizeof g2);
        assert_string_equal(g1, g2);
        count_generations(repo_dir, release, 1);

        /* Not packages: hidden (downloads in progress) and other names. */
        test_path(path, sizeof path, "%s/.partial-1-1.x86_64.rpm", pkg_dir);
        write_file(path, "partial", 7);
        test_path(path, sizeof path, "%s/README", pkg_dir);
        write_file(path, "hello\n", 6);
        test_path(path, sizeof path, "%s/notes.rpm.txt", pkg_dir);
        write_file(path, "", 0);
        update(repo_dir, release, 0, 0, 2);

        /* One more: exactly one header read; the old generation goes. */
        struct repoindex *before = open_index(repo_dir, release);
        assert_true(repoindex_is_current(before));
        link_package(repo_dir, release, ABIGAIL, "libICE-1.0.9-2.el7.x86_64.rpm");
        update(repo_dir, release, 1, 0, 3);
        current_gen(repo_dir, release, g2, sizeof g2);
        assert_string_not_equal(g1, g2);
        count_generations(repo_dir, release, 1);
        char left[1024];
        leftovers(repo_dir, release, left, sizeof left);
        assert_string_equal(left, "");

        /* The index opened before keeps answering from its mapping, though its
         * generation is gone, and knows it is old. */
        assert_false(repoindex_is_current(before));
        struct nevra n;
        set_nevra(&n, "libICE", "", "1.0.9", "2.el7", "x86_64");
        assert_false(repoindex_has_package(before, &n));
        set_nevra(&n, "sshpass", "", "1.07", "1.fc34", "x86_64");
        assert_true(repoindex_has_package(before, &n));
        repo_pkg p;
        assert_int_equal(repoindex_find_build_id(before, "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                                                 BUILD_ID_DEBUG, &p, 1), 1);
        repoindex_free(before);

        struct repoindex *now = open_index(repo_dir, release);
        assert_true(repoindex_is_current(now));
        set_nevra(&n, "libICE", "", "1.0.9", "2.el7", "x86_64");
        assert_true(repoindex_has_package(now, &n));
        assert_int_equal(repoindex_package_count(now), 3);
        /* file lists and provides of the new package and of the ones kept
         * from packages.solv alike */
        assert_int_equal(repoindex_find_path(now, "/usr/lib64/libICE.so.6.3.0", NULL, 0), 1);
        assert_int_equal(repoindex_find_path(now, "/usr/bin/sshpass", NULL, 0), 1);
        assert_int_equal(repoindex_find_build_id(now, "9592f5c2b0e63d8f8ebcb9c099dd3c10e058ddbd",
                                                 BUILD_ID_DEBUG, NULL, 0), 0);
        assert_int_equal(repoindex_find_build_id(now, "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                                                 BUILD_ID_BINARY, NULL, 0), 1);
        assert_int_equal(repoindex_find_build_id(now, "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                                                 BUILD_ID_DEBUG, NULL, 0), 1);

        /* A removed file drops its package, without reading anything. */
        test_path(path, sizeof path, "%s/libICE-1.0.9-2.el7.x86_64.rpm", pkg_dir);
        assert_int_equal(unlink(path), 0);
        update(repo_dir, release, 0, 1, 2);
        assert_false(repoindex_is_current(now));
        assert_true(repoindex_has_package(now, &n));    /* still its old view */
        repoindex_free(now);
        now = open_index(repo_dir, release);
        assert_false(repoindex_has_package(now, &n));
        assert_int_equal(repoindex_find_path(now, "/usr/lib64/libICE.so.6.3.0", NULL, 0), 0);
        repoindex_free(now);

        /* A replaced file (other size or modification time) is read again. */
        char src[PATH_MAX];
        test_path(src, sizeof src, "%s/" ABIGAIL "/sshpass-1.07-1.fc34.x86_64.rpm", testdata);
        test_path(path, sizeof path, "%s/copy.rpm", pkg_dir);
        copy_file(src, path);
        update(repo_dir, release, 1, 0, 3);
        update(repo_dir, release, 0, 0, 3);
        struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
        assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
        update(repo_dir, release, 1, 0, 3);
        update(repo_dir, release, 0, 0, 3);
        test_path(src, sizeof src, "%s/" ABIGAIL "/libICE-1.0.6-1.el6.x86_64.rpm", testdata);
        copy_file(src, path);
        assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);   /* same mtime */
        update(repo_dir, release, 1, 0, 3);
        now = open_index(repo_dir, release);
        set_nevra(&n, "sshpass", "", "1.07", "1.fc34", "x86_64");
        assert_int_equal(repoindex_find_nevra(now, &n, NULL, 0), 1);
        set_nevra(&n, "libICE", "", "1.0.6", "1.el6", "x86_64");
        repo_pkg out[2];
        assert_int_equal(repoindex_find_nevra(now, &n, out, 2), 1);
        struct repo_pkg_info info;
        repoindex_package(now, out[0], &info);
        assert_string_equal(info.location, "Packages/copy.rpm");
        /* after five generations, each made from the one before */
        repo_pkg by_path;
        assert_int_equal(repoindex_find_path(now, "/usr/lib64/libICE.so.6.3.0", &by_path, 1), 1);
        assert_int_equal(by_path, out[0]);
        assert_int_equal(repoindex_find_path(now, "/usr/bin/sshpass", NULL, 0), 1);
        assert_int_equal(repoindex_find_path(now, "/usr/lib/debug/.build-id/de/"
                                             "412ea6c4b961388c2b51f54e3c78f5e800b8ae.debug",
                                             NULL, 0), 1);
        assert_int_equal(repoindex_find_build_id(now, "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                                                 BUILD_ID_DEBUG, NULL, 0), 1);
        repoindex_free(now);

        /* Everything gone: an empty release, still supported. */
        rm_rf(pkg_dir);
        test_mkdirs(pkg_dir);
        update(repo_dir, release, 0, 3, 0);
        now = open_index(repo_dir, release);
        assert_int_equal(repoindex_package_count(now), 0);
        assert_int_equal(repoindex_find_path(now, "/usr/bin/sshpass", NULL, 0), 0);
        repoindex_free(now);
        current_gen(repo_dir, release, g3, sizeof g3);
        count_generations(repo_dir, release, 1);

        /* Readable by the other users of the repository. */
        struct stat st;
        test_path(path, sizeof path, "%s/%s/%s", repo_dir, release, g3);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
        test_path(path, sizeof path, "%s/%s/%s/" REPOINDEX_TABLES, repo_dir, release, g3);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        test_path(path, sizeof path, "%s/%s/%s/" REPOINDEX_SOLV, repo_dir, release, g3);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
}

/* An unreadable packages.solv: every header is read again. */
static void test_lost_solv(void **state)
{
        (void)state;
        const char *release = "fedora-30-x86_64";
        link_all(repo_dir, release, ELFUTILS "/fedora31");
        update(repo_dir, release, 5, 0, 5);
        char path[PATH_MAX];
        test_path(path, sizeof path, "%s/%s/" REPOINDEX_LINK "/" REPOINDEX_SOLV, repo_dir,
                release);
        replace_file(path, "garbage", 7);
        update(repo_dir, release, 5, 0, 5);
        update(repo_dir, release, 0, 0, 5);
        assert_int_equal(unlink(path), 0);
        update(repo_dir, release, 5, 0, 5);
        struct repoindex *idx = open_index(repo_dir, release);
        assert_int_equal(repoindex_package_count(idx), 5);
        repoindex_free(idx);
}

/* ---- errors --------------------------------------------------------------------- */

static void test_corrupt_package_keeps_old_index(void **state)
{
        (void)state;
        const char *release = "fedora-32-x86_64";
        link_package(repo_dir, release, ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm");
        update(repo_dir, release, 1, 0, 1);
        char gen[PATH_MAX], now_gen[PATH_MAX], pkg_dir[PATH_MAX], bad[PATH_MAX], rel_dir[PATH_MAX];
        current_gen(repo_dir, release, gen, sizeof gen);
        test_path(rel_dir, sizeof rel_dir, "%s/%s", repo_dir, release);
        test_path(pkg_dir, sizeof pkg_dir, "%s/" REPOINDEX_PACKAGES, rel_dir);

        size_t rpm_len;
        char real[PATH_MAX];
        test_path(real, sizeof real, "%s/" ABIGAIL "/libICE-1.0.9-2.el7.x86_64.rpm", testdata);
        unsigned char *rpm = read_file(real, &rpm_len);
        static const struct {
                const char *file;
                size_t len;     /* of the real RPM; 0 = content below */
                const char *content;
                const char *why;
        } bads[] = {
                { "broken-1.0-1.fc32.x86_64.rpm", 0, "not an rpm at all\n", "not a rpm" },
                { "empty-1.0-1.fc32.x86_64.rpm", 0, "", "not a rpm" },
                { "truncated-1.0-1.fc32.x86_64.rpm", 96, NULL, "not a rpm" },
                { "truncated-1.0-1.fc32.x86_64.rpm", 200, NULL, "cut short in its signature" },
                { "truncated-1.0-1.fc32.x86_64.rpm", 5000, NULL, "cut short in its header" },
        };
        for (size_t i = 0; i < N_ELEMENTS(bads); i++) {
                /* a good new package next to it, read before it */
                link_package(repo_dir, release, ABIGAIL, "libICE-1.0.9-2.el7.x86_64.rpm");
                test_path(bad, sizeof bad, "%s/%s", pkg_dir, bads[i].file);
                if (bads[i].content)
                        write_file(bad, bads[i].content, strlen(bads[i].content));
                else
                        write_file(bad, rpm, bads[i].len);

                struct error err = { 0 };
                struct repoindex_stats st = { 9, 9, 9 };
                struct captured c;
                capture_begin(&c);
                int r = repoindex_update(repo_dir, release, &st, &err);
                size_t noise = capture_end(&c);
                if (r != -EINVAL || !strstr(err.msg, bad))
                        fail_msg("update with %s (%zu bytes): %d '%s'", bads[i].file,
                                 bads[i].len, r, err.msg);
                check_message(&err, "cannot index package '", bads[i].file, bads[i].file);
                check_message(&err, NULL, bads[i].why, bads[i].file);
                assert_int_equal(noise, 0);
                assert_int_equal(st.added, 0);          /* stats only on success */

                /* The old generation stays, nothing half-made is left. */
                current_gen(repo_dir, release, now_gen, sizeof now_gen);
                assert_string_equal(gen, now_gen);
                char left[1024];
                leftovers(repo_dir, release, left, sizeof left);
                assert_string_equal(left, "");
                struct repoindex *idx = open_index(repo_dir, release);
                assert_int_equal(repoindex_package_count(idx), 1);
                repoindex_free(idx);
                unlink(bad);
                test_path(bad, sizeof bad, "%s/libICE-1.0.9-2.el7.x86_64.rpm", pkg_dir);
                unlink(bad);
        }
        free(rpm);
        update(repo_dir, release, 0, 0, 1);
        current_gen(repo_dir, release, now_gen, sizeof now_gen);
        assert_string_equal(gen, now_gen);
}

static void test_update_errors(void **state)
{
        (void)state;
        char path[PATH_MAX];
        test_path(path, sizeof path, "%s/fedora-95-x86_64", repo_dir);
        test_mkdirs(path);

        struct error err = { 0 };
        assert_int_equal(repoindex_update(repo_dir, "../fedora-95-x86_64", NULL, &err), -EINVAL);
        check_message(&err, "cannot update the index of release '", "'../fedora-95-x86_64'",
                      "../fedora-95-x86_64");
        assert_int_equal(repoindex_update(repo_dir, NULL, NULL, &err), -EINVAL);

        /* no Packages/ */
        assert_int_equal(repoindex_update(repo_dir, "fedora-95-x86_64", NULL, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "fedora-95-x86_64/" REPOINDEX_PACKAGES "'"));
        test_path(path, sizeof path, "%s/fedora-95-x86_64/" REPOINDEX_LINK, repo_dir);
        assert_int_equal(access(path, F_OK), -1);

        /* a directory named like a package */
        test_path(path, sizeof path, "%s/fedora-95-x86_64/" REPOINDEX_PACKAGES
                "/dir-1-1.x86_64.rpm", repo_dir);
        test_mkdirs(path);
        assert_int_equal(repoindex_update(repo_dir, "fedora-95-x86_64", NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "dir-1-1.x86_64.rpm'"));
        rmdir(path);

        /* a dangling symlink */
        test_path(path, sizeof path, "%s/fedora-95-x86_64/" REPOINDEX_PACKAGES
                "/gone-1-1.x86_64.rpm", repo_dir);
        assert_int_equal(symlink("/nonexistent/gone-1-1.x86_64.rpm", path), 0);
        assert_int_equal(repoindex_update(repo_dir, "fedora-95-x86_64", NULL, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "gone-1-1.x86_64.rpm'"));
        unlink(path);

        /* empty: an index all the same, err may be NULL */
        assert_int_equal(repoindex_update(repo_dir, "fedora-95-x86_64", NULL, NULL), 0);
        test_path(path, sizeof path, "%s/fedora-95-x86_64/" REPOINDEX_LINK "/" REPOINDEX_TABLES,
                repo_dir);
        assert_int_equal(access(path, R_OK), 0);
}

static void test_open_errors(void **state)
{
        (void)state;
        char path[PATH_MAX];
        /* fedora-97: Packages/ but no index; fedora-96: index is a file;
         * fedora-94: index leads nowhere; fedora-93: to a generation
         * without lookup.tbl */
        test_path(path, sizeof path, "%s/fedora-97-x86_64/" REPOINDEX_PACKAGES, repo_dir);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/fedora-96-x86_64", repo_dir);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/fedora-96-x86_64/" REPOINDEX_LINK, repo_dir);
        write_file(path, "x", 1);
        test_path(path, sizeof path, "%s/fedora-94-x86_64", repo_dir);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/fedora-94-x86_64/" REPOINDEX_LINK, repo_dir);
        assert_int_equal(symlink(".index-3", path), 0);
        test_path(path, sizeof path, "%s/fedora-93-x86_64/.index-3", repo_dir);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/fedora-93-x86_64/" REPOINDEX_LINK, repo_dir);
        assert_int_equal(symlink(".index-3", path), 0);

        static const struct {
                const char *release;
                int code;
                const char *in_msg;
        } cases[] = {
                { "fedora-98-x86_64", -ENOENT, "'fedora-98-x86_64' is not supported" },
                { "fedora-97-x86_64", -ENOENT, "'fedora-97-x86_64' is not supported" },
                { "fedora-96-x86_64", -ENOENT, "'fedora-96-x86_64' is not supported" },
                { "fedora-94-x86_64", -ENOENT, "'fedora-94-x86_64' is not supported" },
                { "fedora-93-x86_64", -ENOENT, REPOINDEX_LINK "/" REPOINDEX_TABLES "'" },
                { "../etc", -EINVAL, "'../etc'" },
                { "Fedora-34-x86_64", -EINVAL, "'Fedora-34-x86_64'" },
                { "fedora-34-x86_64/../fedora-34-x86_64", -EINVAL, "not a valid release id" },
                { "", -EINVAL, "''" },
                { "fedora-34\n-x86_64'", -EINVAL, "'fedora-34\\x0a-x86_64\\''" },
                { "fedora-000000000000000000000000000000000000"
                  "00000000000000000000000000000000-x86_64",
                  -EINVAL, "-x86_...': not a valid release id" },        /* cut at 80 */
        };
        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                struct repoindex *idx = (struct repoindex *)&idx;
                struct error err = { 0 };
                int r = repoindex_open(repo_dir, cases[i].release, &idx, &err);
                if (r != cases[i].code || err.code != -cases[i].code ||
                    !strstr(err.msg, cases[i].in_msg))
                        fail_msg("open '%s': %d '%s'", show(cases[i].release), r, err.msg);
                check_message(&err, NULL, NULL, cases[i].release);
                assert_null(idx);
        }

        /* err may be NULL */
        struct repoindex *idx;
        assert_int_equal(repoindex_open(repo_dir, "fedora-98-x86_64", &idx, NULL), -ENOENT);
        assert_int_equal(repoindex_open(repo_dir, NULL, &idx, NULL), -EINVAL);

        /* None of these is a supported release. */
        struct release_list list;
        assert_int_equal(repo_list_releases(repo_dir, &list, NULL), 0);
        for (size_t i = 0; i < N_ELEMENTS(cases); i++)
                assert_false(release_list_contains(&list, cases[i].release));
        assert_true(release_list_contains(&list, MAIN_RELEASE));
        release_list_free(&list);
}

/* ---- damaged tables ------------------------------------------------------------------ */

/* The layout of lookup.tbl (repoindex.c), as a reader of the file sees it. */
#define H_MAGIC 0
#define H_VERSION 8
#define H_BYTE_ORDER 12
#define H_HEADER_SIZE 16
#define H_SECTION_COUNT 20
#define H_FILE_SIZE 24
#define H_SECTION(i) (40 + 16 * (i))
#define HEADER_SIZE 152
#define SEC_STRINGS 0
#define SEC_PACKAGES 1
#define SEC_COMPANIONS 2
#define SEC_PATHS 6
#define PKG_SIZE 40
#define PKG_FLAGS 28
#define PKG_COMPANIONS 32
#define PKG_NCOMPANIONS 36

static uint64_t get64(const unsigned char *buf, size_t off)
{
        uint64_t v;
        memcpy(&v, buf + off, sizeof v);
        return v;
}

static void put64(unsigned char *buf, size_t off, uint64_t v)
{
        memcpy(buf + off, &v, sizeof v);
}

static void put32(unsigned char *buf, size_t off, uint32_t v)
{
        memcpy(buf + off, &v, sizeof v);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
        rnd_state ^= rnd_state << 13;
        rnd_state ^= rnd_state >> 7;
        rnd_state ^= rnd_state << 17;
        return rnd_state;
}

/* Every kind of lookup over a (possibly damaged) index: none may crash. */
static void exercise(const struct repoindex *idx)
{
        static const char *const paths[] = {
                "/usr/bin/sshpass", "/usr/lib64/libcrypt.so.1",
                "/usr/lib/debug/.dwz/libxcrypt-4.4.18-3.el9.x86_64", "/usr/local/bin/hello",
        };
        static const char *const ids[] = {
                "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                "04223841a4d0ee72f0b75751c32b09dff905e173",
                "6ce4e5eb200e61d07398af52f8bcb316cf8466e0",
        };
        repo_pkg out[MAX_FOUND], comp[MAX_FOUND];
        size_t total = 0;
        for (repo_pkg p = 0; p < repoindex_package_count(idx) + 2; p++) {
                struct repo_pkg_info info;
                repoindex_package(idx, p, &info);
                total += strlen(info.name) + strlen(info.epoch) + strlen(info.version) +
                         strlen(info.release) + strlen(info.arch) + strlen(info.location) +
                         strlen(info.sourcerpm);
                struct nevra n;
                set_nevra(&n, info.name, info.epoch, info.version, info.release, info.arch);
                size_t k = repoindex_find_nevra(idx, &n, out, MAX_FOUND);
                for (size_t j = 0; j < k && j < MAX_FOUND; j++)
                        assert_true(out[j] < repoindex_package_count(idx));
                k = repoindex_debug_companions(idx, p, comp, MAX_FOUND);
                for (size_t j = 0; j < k && j < MAX_FOUND; j++)
                        assert_true(comp[j] < repoindex_package_count(idx));
        }
        for (size_t i = 0; i < N_ELEMENTS(paths); i++) {
                size_t k = repoindex_find_path(idx, paths[i], out, MAX_FOUND);
                for (size_t j = 0; j < k && j < MAX_FOUND; j++)
                        assert_true(out[j] < repoindex_package_count(idx));
        }
        for (size_t i = 0; i < N_ELEMENTS(ids); i++)
                for (int kind = BUILD_ID_BINARY; kind <= BUILD_ID_DEBUG; kind++) {
                        size_t k = repoindex_find_build_id(idx, ids[i],
                                                           (enum build_id_kind)kind, out,
                                                           MAX_FOUND);
                        for (size_t j = 0; j < k && j < MAX_FOUND; j++)
                                assert_true(out[j] < repoindex_package_count(idx));
                }
        (void)repoindex_is_current((struct repoindex *)idx);
        assert_true(total > 0 || repoindex_package_count(idx) == 0);
}

/* Writes data as the current lookup.tbl and opens it: 0 or -EBADMSG. */
static int open_damaged(const char *release, const char *tbl, const unsigned char *data,
                        size_t len, bool run)
{
        replace_file(tbl, data, len);
        struct repoindex *idx = NULL;
        struct error err = { 0 };
        int r = repoindex_open(repo_dir, release, &idx, &err);
        if (r == 0) {
                if (run)
                        exercise(idx);
                repoindex_free(idx);
        } else {
                if (r != -EBADMSG)
                        fail_msg("damaged table: %d '%s'", r, err.msg);
                check_message(&err, "damaged index '", REPOINDEX_TABLES "': ", release);
                assert_null(idx);
        }
        return r;
}

static void test_damaged_tables(void **state)
{
        (void)state;
        const char *release = "rhel-9-x86_64";
        link_package(repo_dir, release, ABIGAIL, "libxcrypt-4.4.18-3.el9.x86_64.rpm");
        link_package(repo_dir, release, ABIGAIL, "libxcrypt-compat-4.4.18-3.el9.x86_64.rpm");
        link_package(repo_dir, release, ABIGAIL, "libxcrypt-debuginfo-4.4.18-3.el9.x86_64.rpm");
        link_package(repo_dir, release, ABIGAIL,
                     "libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64.rpm");
        link_package(repo_dir, release, ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm");
        update(repo_dir, release, 5, 0, 5);

        char tbl[PATH_MAX];
        test_path(tbl, sizeof tbl, "%s/%s/" REPOINDEX_LINK "/" REPOINDEX_TABLES, repo_dir, release);
        size_t len;
        unsigned char *good = read_file(tbl, &len);
        unsigned char *buf = malloc(len + 64);
        assert_non_null(buf);
        assert_true(len > HEADER_SIZE);
        assert_int_equal(get64(good, H_FILE_SIZE), len);
        assert_int_equal(open_damaged(release, tbl, good, len, true), 0);

        uint64_t str_off = get64(good, H_SECTION(SEC_STRINGS));
        uint64_t nstr = get64(good, H_SECTION(SEC_STRINGS) + 8);
        uint64_t pkg_off = get64(good, H_SECTION(SEC_PACKAGES));
        uint64_t npkg = get64(good, H_SECTION(SEC_PACKAGES) + 8);
        uint64_t comp_off = get64(good, H_SECTION(SEC_COMPANIONS));
        uint64_t ncomp = get64(good, H_SECTION(SEC_COMPANIONS) + 8);
        assert_int_equal(npkg, 5);
        assert_true(ncomp >= 1);

        /* Truncated. */
        static const size_t cuts[] = { 0, 1, 7, 100, HEADER_SIZE - 1, HEADER_SIZE };
        for (size_t i = 0; i < N_ELEMENTS(cuts); i++)
                assert_int_equal(open_damaged(release, tbl, good, cuts[i], false), -EBADMSG);
        assert_int_equal(open_damaged(release, tbl, good, len / 2, false), -EBADMSG);
        assert_int_equal(open_damaged(release, tbl, good, len - 1, false), -EBADMSG);
        /* Longer than its header says. */
        memcpy(buf, good, len);
        memset(buf + len, 0, 8);
        assert_int_equal(open_damaged(release, tbl, buf, len + 8, false), -EBADMSG);

        /* Garbage. */
        for (size_t i = 0; i < len; i++)
                buf[i] = (unsigned char)rnd();
        assert_int_equal(open_damaged(release, tbl, buf, len, false), -EBADMSG);
        memset(buf, 0, len);
        assert_int_equal(open_damaged(release, tbl, buf, len, false), -EBADMSG);
        memset(buf, 0xff, len);
        assert_int_equal(open_damaged(release, tbl, buf, len, false), -EBADMSG);

        /* The header and the sections it describes, one field at a time:
         * refused at open. */
        struct mutation {
                size_t off;
                int width;      /* 4 or 8 */
                uint64_t value;
        };
        const struct mutation muts[] = {
                { H_MAGIC, 4, 0x41414141 },
                { H_VERSION, 4, 2 },
                { H_VERSION, 4, 0 },
                { H_BYTE_ORDER, 4, 0x04030201 },
                { H_HEADER_SIZE, 4, HEADER_SIZE + 8 },
                { H_SECTION_COUNT, 4, 6 },
                { H_SECTION_COUNT, 4, 8 },
                { H_FILE_SIZE, 8, len + 1 },
                { H_FILE_SIZE, 8, len - 8 },
                { H_FILE_SIZE, 8, UINT64_MAX },
                /* strings: not terminated, not starting with "" */
                { (size_t)(str_off + nstr - 1), 4, 0x41 },
                { (size_t)str_off, 4, 0x41 },
                { H_SECTION(SEC_STRINGS) + 8, 8, 0 },
        };
        for (size_t i = 0; i < N_ELEMENTS(muts); i++) {
                memcpy(buf, good, len);
                if (muts[i].width == 8)
                        put64(buf, muts[i].off, muts[i].value);
                else
                        put32(buf, muts[i].off, (uint32_t)muts[i].value);
                if (open_damaged(release, tbl, buf, len, false) != -EBADMSG)
                        fail_msg("mutation %zu (at %zu) accepted", i, muts[i].off);
        }

        /* Entries are checked when used (open stays O(1)): a string outside
         * its section reads as "", a package index outside the table is
         * skipped, unknown flags are ignored. The next update finds the
         * damage and writes a sound generation, reading no RPM. */
        /* by location: libxcrypt, -compat, -compat-debuginfo, -debuginfo, sshpass */
        const struct {
                size_t off;
                uint32_t value;
                uint32_t pkg;                   /* then looks like this */
                const char *name, *location;
                bool debuginfo;
                size_t companions;
        } entries[] = {
                { (size_t)pkg_off, (uint32_t)nstr, 0, "",
                  "Packages/libxcrypt-4.4.18-3.el9.x86_64.rpm", false, 0 },
                { (size_t)(pkg_off + PKG_SIZE * 4 + 20), UINT32_MAX, 4, "sshpass", "", false, 0 },
                { (size_t)(pkg_off + PKG_SIZE * 2 + PKG_FLAGS), 2, 2,
                  "libxcrypt-compat-debuginfo",
                  "Packages/libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64.rpm", false, 1 },
                { (size_t)(pkg_off + PKG_SIZE * 2 + PKG_COMPANIONS), (uint32_t)ncomp + 1, 2,
                  "libxcrypt-compat-debuginfo",
                  "Packages/libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64.rpm", true, 0 },
                { (size_t)(pkg_off + PKG_SIZE * 2 + PKG_NCOMPANIONS), UINT32_MAX, 2,
                  "libxcrypt-compat-debuginfo",
                  "Packages/libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64.rpm", true, 0 },
                { (size_t)comp_off, (uint32_t)npkg, 2, "libxcrypt-compat-debuginfo",
                  "Packages/libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64.rpm", true, 0 },
                { (size_t)comp_off, UINT32_MAX, 2, "libxcrypt-compat-debuginfo",
                  "Packages/libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64.rpm", true, 0 },
        };
        for (size_t i = 0; i < N_ELEMENTS(entries); i++) {
                memcpy(buf, good, len);
                put32(buf, entries[i].off, entries[i].value);
                assert_int_equal(open_damaged(release, tbl, buf, len, true), 0);
                struct repoindex *idx = open_index(repo_dir, release);
                struct repo_pkg_info info;
                repoindex_package(idx, entries[i].pkg, &info);
                repo_pkg comp[4];
                size_t nc = repoindex_debug_companions(idx, entries[i].pkg, comp, 4);
                if (strcmp(info.name, entries[i].name) != 0 ||
                    strcmp(info.location, entries[i].location) != 0 ||
                    nc != entries[i].companions || info.debuginfo != entries[i].debuginfo)
                        fail_msg("entry mutation %zu: package %u is '%s' at '%s' with %zu "
                                 "companions", i, entries[i].pkg, info.name, info.location, nc);
                repoindex_free(idx);
                update(repo_dir, release, 0, 0, 5);
                idx = open_index(repo_dir, release);
                repoindex_package(idx, entries[i].pkg, &info);
                assert_true(info.name[0] && info.location[0]);
                repoindex_free(idx);
        }

        /* Every section: past the end, misaligned, inside the header, too
         * many entries, counts that overflow. */
        for (int s = 0; s < 7; s++) {
                const uint64_t offsets[] = { len + 8, UINT64_MAX - 7, get64(good, H_SECTION(s)) + 1,
                                             0, 8 };
                for (size_t i = 0; i < N_ELEMENTS(offsets); i++) {
                        memcpy(buf, good, len);
                        put64(buf, H_SECTION(s), offsets[i]);
                        if (open_damaged(release, tbl, buf, len, false) != -EBADMSG)
                                fail_msg("section %d at %" PRIu64 " accepted", s, offsets[i]);
                }
                const uint64_t counts[] = { len, UINT64_MAX, UINT64_MAX / 16 + 1,
                                            (len - get64(good, H_SECTION(s))) + 1 };
                for (size_t i = 0; i < N_ELEMENTS(counts); i++) {
                        memcpy(buf, good, len);
                        put64(buf, H_SECTION(s) + 8, counts[i]);
                        if (open_damaged(release, tbl, buf, len, false) != -EBADMSG)
                                fail_msg("section %d with %" PRIu64 " entries accepted", s,
                                         counts[i]);
                }
        }

        /* A key naming a package past the table is skipped, not followed. */
        uint64_t path_off = get64(good, H_SECTION(SEC_PATHS));
        uint64_t npaths = get64(good, H_SECTION(SEC_PATHS) + 8);
        assert_true(npaths > 0);
        memcpy(buf, good, len);
        for (uint64_t i = 0; i < npaths; i++)
                put32(buf, (size_t)(path_off + 16 * i + 12), (uint32_t)(npkg + i));
        replace_file(tbl, buf, len);
        struct repoindex *idx = open_index(repo_dir, release);
        assert_int_equal(repoindex_find_path(idx, "/usr/bin/sshpass", NULL, 0), 0);
        exercise(idx);
        repoindex_free(idx);
        update(repo_dir, release, 0, 0, 5);
        idx = open_index(repo_dir, release);
        assert_int_equal(repoindex_find_path(idx, "/usr/bin/sshpass", NULL, 0), 1);
        repoindex_free(idx);

        /* Random damage: refused or answered, never a crash (run this under
         * ASan: --enable-sanitizers). */
        size_t refused = 0, opened = 0;
        for (int round = 0; round < 3000; round++) {
                memcpy(buf, good, len);
                size_t n = len;
                switch (rnd() % 4) {
                case 0:         /* a few bytes anywhere */
                        for (int k = 1 + (int)(rnd() % 8); k > 0; k--)
                                buf[rnd() % len] = (unsigned char)rnd();
                        break;
                case 1:         /* the header */
                        buf[rnd() % HEADER_SIZE] ^= (unsigned char)(1u << (rnd() % 8));
                        break;
                case 2:         /* a package or a companion */
                        buf[pkg_off + rnd() % (npkg * PKG_SIZE + ncomp * 4 + 8)] =
                                (unsigned char)rnd();
                        break;
                default:        /* cut short */
                        n = (size_t)(rnd() % len);
                        break;
                }
                if (open_damaged(release, tbl, buf, n, true) == 0)
                        opened++;
                else
                        refused++;
        }
        assert_true(refused > 0 && opened > 0);

        /* The next update notices the damage and writes a sound generation
         * from packages.solv, reading no RPM. */
        replace_file(tbl, good + 1, len - 1);
        update(repo_dir, release, 0, 0, 5);
        idx = open_index(repo_dir, release);
        repo_pkg p = find_one(idx, "libxcrypt-compat-debuginfo", "4.4.18", "3.el9", "x86_64");
        repo_pkg comp[4];
        assert_int_equal(repoindex_debug_companions(idx, p, comp, 4), 1);
        struct repo_pkg_info info;
        repoindex_package(idx, comp[0], &info);
        assert_string_equal(info.name, "libxcrypt-debuginfo");
        repoindex_free(idx);
        free(buf);
        free(good);
}

/* ---- releases ------------------------------------------------------------------------ */

static void test_list_missing_repo_dir(void **state)
{
        (void)state;
        char path[PATH_MAX];
        test_path(path, sizeof path, "%s/no-such-dir", repo_dir);
        struct release_list list = { .count = 99 };
        struct error err = { 0 };
        assert_int_equal(repo_list_releases(path, &list, &err), 0);
        assert_int_equal(list.count, 0);
        assert_false(release_list_contains(&list, MAIN_RELEASE));
        release_list_free(&list);
}

/* A generation with a (not necessarily valid) lookup.tbl, as listing sees it. */
static void fake_index(const char *repo, const char *release)
{
        char path[PATH_MAX];
        test_path(path, sizeof path, "%s/%s/.index-1", repo, release);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/%s/.index-1/" REPOINDEX_TABLES, repo, release);
        write_file(path, "", 0);
        test_path(path, sizeof path, "%s/%s/" REPOINDEX_LINK, repo, release);
        assert_int_equal(symlink(".index-1", path), 0);
}

static void test_list_releases(void **state)
{
        (void)state;
        char repo[PATH_MAX], path[PATH_MAX];
        test_path(repo, sizeof repo, "%s/list", repo_dir);
        test_mkdirs(repo);

        /* Ignored: invalid ids (even with an index), a valid id without an
         * index, an index without lookup.tbl, an index that is a file, a
         * dangling index, the old design's index.solv, a plain file. */
        static const char *const decoys[] = {
                "Fedora-35-x86_64", "fedora-35", "fedora-35-bogusarch",
                "fedora-35-noarch", ".fedora-35-x86_64", "fedora-35-x86_64.old",
                "repodata",
        };
        for (size_t i = 0; i < N_ELEMENTS(decoys); i++)
                fake_index(repo, decoys[i]);
        test_path(path, sizeof path, "%s/rhel-9-x86_64/" REPOINDEX_PACKAGES, repo);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/centos-9-x86_64/.index-1", repo);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/centos-9-x86_64/" REPOINDEX_LINK, repo);
        assert_int_equal(symlink(".index-1", path), 0);
        test_path(path, sizeof path, "%s/centos-10-x86_64", repo);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/centos-10-x86_64/" REPOINDEX_LINK, repo);
        write_file(path, "", 0);
        test_path(path, sizeof path, "%s/centos-11-x86_64", repo);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/centos-11-x86_64/" REPOINDEX_LINK, repo);
        assert_int_equal(symlink(".index-9", path), 0);
        test_path(path, sizeof path, "%s/fedora-36-x86_64", repo);
        test_mkdirs(path);
        test_path(path, sizeof path, "%s/fedora-36-x86_64/index.solv", repo);
        write_file(path, "", 0);
        test_path(path, sizeof path, "%s/rhel-8-x86_64", repo);
        write_file(path, "", 0);
        /* Listed: any valid id whose index has a lookup.tbl (not read here). */
        fake_index(repo, "centos-8-aarch64");

        link_package(repo, "fedora-33-x86_64", ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm");

        struct release_list list;
        struct error err = { 0 };
        assert_int_equal(repo_list_releases(repo, &list, &err), 0);
        assert_int_equal(list.count, 1);
        assert_string_equal(list.ids[0], "centos-8-aarch64");
        assert_false(release_list_contains(&list, "fedora-33-x86_64"));
        release_list_free(&list);

        update(repo, "fedora-33-x86_64", 1, 0, 1);
        update(repo, "rhel-9-x86_64", 0, 0, 0);         /* empty */

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
                { "centos-10-x86_64", false },
                { "centos-11-x86_64", false },
                { "fedora-35-x86_64", false },
                { "fedora-36-x86_64", false },
                { "Fedora-35-x86_64", false },
                { "fedora-33", false },
                { "", false },
        };
        for (size_t i = 0; i < N_ELEMENTS(contains); i++)
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
        struct repoindex *idx = open_index(repo, "rhel-9-x86_64");
        struct nevra n;
        set_nevra(&n, "sshpass", "", "1.07", "1.fc34", "");
        assert_false(repoindex_has_package(idx, &n));
        assert_int_equal(repoindex_package_count(idx), 0);
        assert_int_equal(repoindex_find_build_id(idx, "de412ea6c4b961388c2b51f54e3c78f5e800b8ae",
                                                 BUILD_ID_BINARY, NULL, 0), 0);
        repoindex_free(idx);
        /* The fake centos-8 table is listed but refused when opened. */
        assert_int_equal(repoindex_open(repo, "centos-8-aarch64", &idx, &err), -EBADMSG);
}

static void test_list_limit(void **state)
{
        (void)state;
        char repo[PATH_MAX], id[RELEASE_ID_MAX];
        test_path(repo, sizeof repo, "%s/many", repo_dir);
        struct release_list list;
        struct error err = { 0 };
        for (int i = 0; i <= REPOINDEX_MAX_RELEASES; i++) {
                test_path(id, sizeof id, "fedora-%03d-x86_64", i);
                fake_index(repo, id);
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
        test_path(path, sizeof path, "%s/not-a-dir", repo_dir);
        write_file(path, "", 0);
        struct release_list list;
        struct error err = { 0 };
        assert_int_equal(repo_list_releases(path, &list, &err), -ENOTDIR);
        assert_int_equal(list.count, 0);
        assert_non_null(strstr(err.msg, path));
}

/* ---- the lock ------------------------------------------------------------------------- */

static void test_lock(void **state)
{
        (void)state;
        char repo[PATH_MAX], path[PATH_MAX];
        test_path(repo, sizeof repo, "%s/locks/deeper", repo_dir);
        struct error err = { 0 };

        /* Creates the release directory (and the repository's). */
        int fd = repoindex_lock(repo, "fedora-40-x86_64", false, &err);
        if (fd < 0)
                fail_msg("repoindex_lock: %s", err.msg);
        test_path(path, sizeof path, "%s/fedora-40-x86_64/" REPOINDEX_LOCK, repo);
        assert_int_equal(access(path, F_OK), 0);

        /* A second holder (another open file, as another process has) waits
         * or is refused. */
        assert_int_equal(repoindex_lock(repo, "fedora-40-x86_64", false, &err), -EWOULDBLOCK);
        check_message(&err, "cannot lock '", "fedora-40-x86_64", "second lock");
        /* Another release is another lock. */
        int other = repoindex_lock(repo, "fedora-41-x86_64", false, &err);
        assert_true(other >= 0);
        close(other);

        close(fd);
        fd = repoindex_lock(repo, "fedora-40-x86_64", false, &err);
        assert_true(fd >= 0);
        close(fd);
        fd = repoindex_lock(repo, "fedora-40-x86_64", true, &err);
        assert_true(fd >= 0);
        close(fd);

        assert_int_equal(repoindex_lock(repo, "../x", false, &err), -EINVAL);
        check_message(&err, "cannot lock the index of release '", "'../x'", "../x");
        assert_int_equal(repoindex_lock(repo, "fedora-40-x86_64/..", true, NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nevra),
                cmocka_unit_test(test_nevra_edges),
                cmocka_unit_test(test_package_info),
                cmocka_unit_test(test_build_ids),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_companions),
                cmocka_unit_test(test_synthetic),
                cmocka_unit_test(test_incremental),
                cmocka_unit_test(test_lost_solv),
                cmocka_unit_test(test_corrupt_package_keeps_old_index),
                cmocka_unit_test(test_update_errors),
                cmocka_unit_test(test_open_errors),
                cmocka_unit_test(test_damaged_tables),
                cmocka_unit_test(test_list_missing_repo_dir),
                cmocka_unit_test(test_list_releases),
                cmocka_unit_test(test_list_limit),
                cmocka_unit_test(test_list_unreadable_repo_dir),
                cmocka_unit_test(test_lock),
        };
        return cmocka_run_group_tests_name("repoindex", tests, group_setup,
                                           group_teardown);
}

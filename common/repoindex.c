/* repoindex.c: the local repository's releases and their libsolv indexes.
 *
 * index.solv is a plain libsolv repository (repo_write) of every RPM under
 * Packages/, read back with repo_add_solv. Package lookups go through the
 * pool's whatprovides table on the package name (every binary RPM provides
 * its own name), so a lookup costs a hash probe and a short list walk, not a
 * scan of the release. Solvables whatprovides leaves out (source packages,
 * architectures outside the release's arch policy) are kept in a side list.
 *
 * An opened index is read-only: after repoindex_open() returns, lookups do
 * not modify the pool, so one index may serve several threads.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/queue.h>
#include <solv/repo.h>
#include <solv/repo_rpmdb.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>

#include "release.h"
#include "repoindex.h"

#define INDEX_MODE 0644

struct repoindex {
        Pool *pool;
        Repo *repo;
        Queue extra;            /* solvables not in whatprovides */
};

/* ---- helpers -------------------------------------------------------------- */

static void quiet_debug(Pool *pool, void *data, int type, const char *str)
{
        /* libsolv prints errors on its own unless a callback takes them;
         * they reach us through pool_errstr() instead. */
        (void)pool;
        (void)data;
        (void)type;
        (void)str;
}

/* The libsolv architecture whose policy covers a release's packages. */
static const char *pool_arch_of(const char *release_id)
{
        static const struct {
                const char *release, *pool;
        } map[] = {
                { "i386", "i686" },     /* ABRT's name; packages are i686 */
                { "armhfp", "armv7hl" },
        };
        const char *arch = strrchr(release_id, '-');
        arch = arch ? arch + 1 : release_id;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (strcmp(arch, map[i].release) == 0)
                        return map[i].pool;
        return arch;
}

static int quiet_pool_new(const char *release_id, Pool **out,
                          struct error *err)
{
        Pool *pool = pool_create();
        /* Debian's libsolv defaults to Debian semantics; this must come
         * before pool_setarch() (noarch, version comparison). */
        if (pool_setdisttype(pool, DISTTYPE_RPM) < 0) {
                pool_free(pool);
                *out = NULL;
                return error_set(err, ENOTSUP, "cannot use libsolv: it was "
                                 "built without RPM semantics");
        }
        pool_setdebugcallback(pool, quiet_debug, NULL);
        pool_setdebugmask(pool, 0);
        pool_setarch(pool, pool_arch_of(release_id));
        *out = pool;
        return 0;
}

static int path_fmt(char *buf, size_t len, const char *a, const char *b,
                    const char *c)
{
        int n = c ? snprintf(buf, len, "%s/%s/%s", a, b, c)
                  : snprintf(buf, len, "%s/%s", a, b);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* libsolv's messages often start with the file name we already quote. */
static const char *solv_reason(Pool *pool, const char *path)
{
        const char *msg = pool_errstr(pool);
        size_t len = strlen(path);
        if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
                return msg + len + 2;
        return msg;
}

/* ---- releases ------------------------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
        return strcmp((const char *)a, (const char *)b);
}

static bool has_index(int dir_fd, const char *name)
{
        char rel[RELEASE_ID_MAX + sizeof "/" REPOINDEX_FILE];
        struct stat st;
        if (path_fmt(rel, sizeof rel, name, REPOINDEX_FILE, NULL) < 0)
                return false;
        return fstatat(dir_fd, rel, &st, 0) == 0 && S_ISREG(st.st_mode);
}

int repo_list_releases(const char *repo_dir, struct release_list *out,
                       struct error *err)
{
        typedef char id_buf[sizeof *out->ids];

        out->count = 0;
        out->ids = NULL;

        DIR *dir = opendir(repo_dir);
        if (!dir) {
                if (errno == ENOENT)
                        return 0;
                return error_set_errno(err, errno,
                                       "cannot open repository directory '%s'",
                                       repo_dir);
        }

        id_buf *ids = NULL;
        size_t count = 0, alloc = 0;
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(dir);
                if (!de) {
                        if (errno)
                                r = error_set_errno(err, errno, "cannot read "
                                                    "repository directory '%s'",
                                                    repo_dir);
                        break;
                }
                const char *name = de->d_name;
                if (strlen(name) >= sizeof(id_buf) || !release_id_valid(name) ||
                    !has_index(dirfd(dir), name))
                        continue;
                if (count == REPOINDEX_MAX_RELEASES) {
                        r = error_set(err, E2BIG,
                                      "cannot list releases in '%s': more than %d "
                                      "release directories hold an index",
                                      repo_dir, REPOINDEX_MAX_RELEASES);
                        break;
                }
                if (count == alloc) {
                        size_t n = alloc ? alloc * 2 : 16;
                        id_buf *p = realloc(ids, n * sizeof *ids);
                        if (!p) {
                                r = error_set_errno(err, ENOMEM,
                                                    "cannot list releases in '%s'",
                                                    repo_dir);
                                break;
                        }
                        ids = p;
                        alloc = n;
                }
                memcpy(ids[count++], name, strlen(name) + 1);
        }
        closedir(dir);

        if (r < 0) {
                free(ids);
                return r;
        }
        if (count)
                qsort(ids, count, sizeof *ids, cmp_id);
        out->count = count;
        out->ids = ids;
        return 0;
}

void release_list_free(struct release_list *list)
{
        if (!list)
                return;
        free(list->ids);
        list->ids = NULL;
        list->count = 0;
}

bool release_list_contains(const struct release_list *list, const char *id)
{
        if (!list || !list->count || !id)
                return false;
        return bsearch(id, list->ids, list->count, sizeof *list->ids, cmp_id) != NULL;
}

/* ---- reading -------------------------------------------------------------- */

int repoindex_open(const char *repo_dir, const char *release_id,
                   struct repoindex **out, struct error *err)
{
        char q[QUOTE_BUF];
        *out = NULL;
        if (!release_id || !release_id_valid(release_id))
                return error_set(err, EINVAL,
                                 "cannot open the index of release '%s': "
                                 "not a valid release id",
                                 error_quote(release_id ? release_id : "", q));

        char path[PATH_MAX];
        if (path_fmt(path, sizeof path, repo_dir, release_id, REPOINDEX_FILE) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s/%s'",
                                 repo_dir, release_id, REPOINDEX_FILE);

        FILE *fp = fopen(path, "re");
        if (!fp) {
                if (errno == ENOENT)
                        return error_set(err, ENOENT,
                                         "release '%s' is not supported: "
                                         "no index '%s'", release_id, path);
                return error_set_errno(err, errno, "cannot open index '%s'", path);
        }

        int r;
        struct repoindex *idx = calloc(1, sizeof *idx);
        if (!idx) {
                r = error_set_errno(err, ENOMEM, "cannot load index '%s'", path);
                goto fail;
        }
        queue_init(&idx->extra);
        r = quiet_pool_new(release_id, &idx->pool, err);
        if (r < 0)
                goto fail;
        idx->repo = repo_create(idx->pool, release_id);
        if (repo_add_solv(idx->repo, fp, 0) != 0) {
                r = error_set(err, EBADMSG, "cannot load index '%s': %s", path,
                              solv_reason(idx->pool, path));
                goto fail;
        }
        fclose(fp);
        fp = NULL;

        Pool *pool = idx->pool;
        pool_createwhatprovides(pool);
        /* pool_createwhatprovides() drops the string hash and the next
         * pool_str2id() rebuilds it: do that now, so that lookups only read. */
        pool_str2id(pool, "x", 0);

        Id p;
        Solvable *s;
        FOR_REPO_SOLVABLES(idx->repo, p, s)
                if (!pool_installable(pool, s) || !s->provides)
                        queue_push(&idx->extra, p);

        *out = idx;
        return 0;

fail:
        if (fp)
                fclose(fp);
        repoindex_free(idx);
        return r;
}

void repoindex_free(struct repoindex *idx)
{
        if (!idx)
                return;
        queue_free(&idx->extra);
        if (idx->pool)
                pool_free(idx->pool);
        free(idx);
}

static const char *or_empty(const char *s)
{
        return s ? s : "";
}

/* Epochs compare as numbers: "", "0" and "00" are the same epoch. */
static bool epoch_equal(const char *a, size_t alen, const char *b)
{
        size_t blen = strlen(b);
        for (size_t i = 0; i < blen; i++)
                if (b[i] < '0' || b[i] > '9')
                        return false;
        while (alen && *a == '0') {
                a++;
                alen--;
        }
        while (blen && *b == '0') {
                b++;
                blen--;
        }
        return alen == blen && memcmp(a, b, alen) == 0;
}

/* evr as libsolv stores it: "[epoch:]version-release". */
static bool evr_matches(const char *evr, const struct nevra *n)
{
        const char *p = evr;
        while (*p >= '0' && *p <= '9')
                p++;
        const char *vr = evr;
        size_t elen = 0;
        if (p != evr && *p == ':') {
                elen = (size_t)(p - evr);
                vr = p + 1;
        }
        if (!epoch_equal(evr, elen, or_empty(n->epoch)))
                return false;
        const char *version = or_empty(n->version);
        size_t vlen = strlen(version);
        return strncmp(vr, version, vlen) == 0 && vr[vlen] == '-' &&
               strcmp(vr + vlen + 1, or_empty(n->release)) == 0;
}

static bool solvable_matches(struct repoindex *idx, Id p, Id name, Id arch,
                             const struct nevra *n)
{
        Solvable *s = idx->pool->solvables + p;
        return s->repo == idx->repo && s->name == name &&
               (!arch || s->arch == arch) &&
               evr_matches(pool_id2str(idx->pool, s->evr), n);
}

bool repoindex_has_package(struct repoindex *idx, const struct nevra *n)
{
        if (!idx || !n || !n->name || !n->name[0])
                return false;
        Pool *pool = idx->pool;

        /* create = 0: a string the index never saw is no package of it. */
        Id name = pool_str2id(pool, n->name, 0);
        if (!name)
                return false;
        Id arch = 0;
        if (n->arch && n->arch[0]) {
                arch = pool_str2id(pool, n->arch, 0);
                if (!arch)
                        return false;
        }

        /* The whatprovides list of the name, read directly: FOR_PROVIDES
         * would compute (and store) the lazy entries of file names. */
        Offset off = pool->whatprovides[name];
        if (off) {
                for (const Id *pp = pool->whatprovidesdata + off; *pp; pp++)
                        if (solvable_matches(idx, *pp, name, arch, n))
                                return true;
        }
        for (int i = 0; i < idx->extra.count; i++)
                if (solvable_matches(idx, idx->extra.elements[i], name, arch, n))
                        return true;
        return false;
}

/* ---- building ------------------------------------------------------------- */

struct name_list {
        char **names;
        size_t count, alloc;
};

static void name_list_free(struct name_list *l)
{
        for (size_t i = 0; i < l->count; i++)
                free(l->names[i]);
        free(l->names);
        l->names = NULL;
        l->count = l->alloc = 0;
}

static int name_list_add(struct name_list *l, const char *name)
{
        if (l->count == l->alloc) {
                size_t n = l->alloc ? l->alloc * 2 : 64;
                char **p = realloc(l->names, n * sizeof *p);
                if (!p)
                        return -ENOMEM;
                l->names = p;
                l->alloc = n;
        }
        char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        l->names[l->count++] = copy;
        return 0;
}

static bool is_rpm_name(const char *name)
{
        size_t len = strlen(name);
        /* Hidden names are downloads in progress. */
        return name[0] != '.' && len > 4 && strcmp(name + len - 4, ".rpm") == 0;
}

/* The *.rpm files of pkg_dir, sorted, so that a rebuild of the same
 * directory writes the same index. */
static int scan_packages(const char *pkg_dir, struct name_list *out,
                         struct error *err)
{
        DIR *dir = opendir(pkg_dir);
        if (!dir)
                return error_set_errno(err, errno,
                                       "cannot open package directory '%s'", pkg_dir);
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(dir);
                if (!de) {
                        if (errno)
                                r = error_set_errno(err, errno,
                                                    "cannot read package directory '%s'",
                                                    pkg_dir);
                        break;
                }
                if (!is_rpm_name(de->d_name))
                        continue;
                struct stat st;
                if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0) {
                        r = error_set_errno(err, errno, "cannot stat package '%s/%s'",
                                            pkg_dir, de->d_name);
                        break;
                }
                if (!S_ISREG(st.st_mode)) {
                        r = error_set(err, EINVAL,
                                      "cannot index package '%s/%s': not a regular file",
                                      pkg_dir, de->d_name);
                        break;
                }
                if (name_list_add(out, de->d_name) < 0) {
                        r = error_set_errno(err, ENOMEM, "cannot list packages in '%s'",
                                            pkg_dir);
                        break;
                }
        }
        closedir(dir);
        if (r < 0) {
                name_list_free(out);
                return r;
        }
        if (out->count)
                qsort(out->names, out->count, sizeof *out->names, cmp_str);
        return 0;
}

/* Writes repo to rel_dir/index.solv through a hidden temporary file:
 * readers see the old index or the whole new one. */
static int write_index(Repo *repo, const char *rel_dir, struct error *err)
{
        char tmp[PATH_MAX], final[PATH_MAX];
        if (path_fmt(final, sizeof final, rel_dir, REPOINDEX_FILE, NULL) < 0 ||
            path_fmt(tmp, sizeof tmp, rel_dir, "." REPOINDEX_FILE ".XXXXXX", NULL) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'",
                                 rel_dir, REPOINDEX_FILE);

        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return error_set_errno(err, errno,
                                       "cannot create a temporary file in '%s'", rel_dir);
        FILE *fp = fdopen(fd, "w");
        if (!fp) {
                int e = errno;
                close(fd);
                unlink(tmp);
                return error_set_errno(err, e, "cannot write index '%s'", final);
        }

        int r = 0;
        if (repo_write(repo, fp) != 0)
                r = error_set(err, EIO, "cannot write index '%s': %s", final,
                              pool_errstr(repo->pool));
        else if (fflush(fp) != 0 || fchmod(fd, INDEX_MODE) < 0 || fsync(fd) < 0)
                r = error_set_errno(err, errno, "cannot write index '%s'", final);
        if (fclose(fp) != 0 && r == 0)
                r = error_set_errno(err, errno, "cannot write index '%s'", final);
        if (r == 0 && rename(tmp, final) < 0)
                r = error_set_errno(err, errno, "cannot rename '%s' to '%s'", tmp, final);
        if (r < 0) {
                unlink(tmp);
                return r;
        }

        /* Make the rename itself durable; the new index is in place either
         * way, so a failure here is not worth failing the build for. */
        int dfd = open(rel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                (void)fsync(dfd);
                close(dfd);
        }
        return 0;
}

int repoindex_build(const char *repo_dir, const char *release_id,
                    struct error *err)
{
        char q[QUOTE_BUF];
        if (!release_id || !release_id_valid(release_id))
                return error_set(err, EINVAL,
                                 "cannot build the index of release '%s': "
                                 "not a valid release id",
                                 error_quote(release_id ? release_id : "", q));

        char rel_dir[PATH_MAX], pkg_dir[PATH_MAX];
        if (path_fmt(rel_dir, sizeof rel_dir, repo_dir, release_id, NULL) < 0 ||
            path_fmt(pkg_dir, sizeof pkg_dir, repo_dir, release_id, REPOINDEX_PACKAGES) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s/%s'",
                                 repo_dir, release_id, REPOINDEX_PACKAGES);

        struct name_list names = { 0 };
        int r = scan_packages(pkg_dir, &names, err);
        if (r < 0)
                return r;

        Pool *pool;
        r = quiet_pool_new(release_id, &pool, err);
        if (r < 0) {
                name_list_free(&names);
                return r;
        }
        Repo *repo = repo_create(pool, release_id);
        repo_add_repodata(repo, 0);

        /* Full file lists (no RPM_ADD_FILTERED_FILELIST): the resolver looks
         * up /usr/lib/.build-id links and arbitrary library paths. */
        const int flags = REPO_REUSE_REPODATA | REPO_NO_INTERNALIZE |
                          REPO_NO_LOCATION | RPM_ADD_NO_RPMLIBREQS;
        for (size_t i = 0; i < names.count; i++) {
                char path[PATH_MAX], location[PATH_MAX];
                if (path_fmt(path, sizeof path, pkg_dir, names.names[i], NULL) < 0 ||
                    path_fmt(location, sizeof location, REPOINDEX_PACKAGES,
                             names.names[i], NULL) < 0) {
                        r = error_set(err, ENAMETOOLONG, "path too long: '%s/%s'",
                                      pkg_dir, names.names[i]);
                        goto out;
                }
                Id p = repo_add_rpm(repo, path, flags);
                if (!p) {
                        r = error_set(err, EINVAL, "cannot index package '%s': %s",
                                      path, solv_reason(pool, path));
                        goto out;
                }
                repodata_set_location(repo_last_repodata(repo), p, 0, NULL, location);
        }
        repo_internalize(repo);
        r = write_index(repo, rel_dir, err);

out:
        pool_free(pool);
        name_list_free(&names);
        return r;
}

/* metadata.c: repomd.xml and primary, read with libsolv.
 *
 * repomd.xml goes through repo_add_repomdxml(); the <data type="primary">
 * entry's location, checksum and size are looked up the way libsolv's own
 * examples do (REPOSITORY_REPOMD_* keys under SOLVID_META). primary is
 * fetched into memory (at most its declared size, or PRIMARY_MAX), its
 * checksum, which is of the compressed file, is checked, and it is handed
 * to repo_add_rpmmd() through a memfd that solv_xfopen_fd() decompresses
 * by the location's suffix (.gz, .xz, .zst, .bz2, or none).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <solv/chksum.h>
#include <solv/dataiterator.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_repomdxml.h>
#include <solv/repo_rpmmd.h>
#include <solv/solv_xfopen.h>
#include <solv/solvable.h>

#include "fsutil.h"
#include "metadata.h"

#define REPOMD_MAX ((size_t)16 << 20)
#define PRIMARY_MAX ((size_t)512 << 20)
#define URL_QUOTE_MAX 400
#define URL_QUOTE_BUF QUOTE_SIZE(URL_QUOTE_MAX)

static const char *qurl(const char *url, char buf[URL_QUOTE_BUF])
{
        return error_quote_n(url, SIZE_MAX, URL_QUOTE_MAX, buf);
}

static void quiet_debug(Pool *pool, void *data, int type, const char *str)
{
        /* libsolv's errors reach us through pool_errstr(). */
        (void)pool;
        (void)data;
        (void)type;
        (void)str;
}

/* baseurl + "/" + rel, whether or not baseurl ends with '/'. */
static char *join_url(const char *baseurl, const char *rel)
{
        size_t n = strlen(baseurl);
        while (n > 0 && baseurl[n - 1] == '/')
                n--;
        while (*rel == '/')
                rel++;
        size_t m = strlen(rel);
        char *url = malloc(n + 1 + m + 1);
        if (!url)
                return NULL;
        memcpy(url, baseurl, n);
        url[n] = '/';
        memcpy(url + n + 1, rel, m + 1);
        return url;
}

/* A location we may append to the baseurl and whose last component may
 * name a local file: relative, no "." or ".." components, no empty
 * last component, printable ASCII without backslash. */
static bool safe_location(const char *loc)
{
        if (!*loc || *loc == '/')
                return false;
        for (const char *c = loc; *c; c++)
                if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '\\')
                        return false;
        const char *p = loc;
        for (;;) {
                const char *e = strchr(p, '/');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                if (len == 0 || (len == 1 && p[0] == '.') ||
                    (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (!e)
                        return true;
                p = e + 1;
        }
}

static char *memdup0(const char *s, size_t len)
{
        char *d = malloc(len + 1);
        if (d) {
                memcpy(d, s, len);
                d[len] = '\0';
        }
        return d;
}

int metadata_fetch_repomd(struct fetcher *f, const char *baseurl, char **repomd,
                          size_t *len, struct error *err)
{
        *repomd = NULL;
        *len = 0;
        char *url = join_url(baseurl, "repodata/repomd.xml");
        if (!url)
                return error_set(err, ENOMEM, "out of memory");
        int r = fetch_to_memory(f, url, REPOMD_MAX, repomd, len, err);
        free(url);
        return r;
}

void remote_repo_free(struct remote_repo *repo)
{
        if (!repo)
                return;
        for (size_t i = 0; i < repo->count; i++) {
                struct remote_package *p = &repo->packages[i];
                free(p->nevra);
                free(p->location);
                free(p->checksum_type);
                free(p->checksum);
        }
        free(repo->packages);
        free(repo->repomd);
        memset(repo, 0, sizeof *repo);
}

static Pool *quiet_pool_new(void)
{
        Pool *pool = pool_create();
        pool_setdebugcallback(pool, quiet_debug, NULL);
        pool_setdebugmask(pool, 0);
        /* Debian's libsolv defaults to Debian version rules; RPM's must be
         * set before any pool_setarch(). */
        if (pool_setdisttype(pool, DISTTYPE_RPM) < 0) {
                pool_free(pool);
                return NULL;
        }
        return pool;
}

struct primary_ref {
        char *location;
        Id chktype;
        unsigned char chk[64];
        int chklen;
        unsigned long long size;
};

static int find_primary(Pool *pool, Repo *repo, struct primary_ref *ref)
{
        Dataiterator di;
        int found = 0;

        memset(ref, 0, sizeof *ref);
        dataiterator_init(&di, pool, repo, SOLVID_META, REPOSITORY_REPOMD_TYPE, "primary",
                          SEARCH_STRING);
        dataiterator_prepend_keyname(&di, REPOSITORY_REPOMD);
        if (dataiterator_step(&di)) {
                dataiterator_setpos_parent(&di);
                found = 1;
                const char *loc = pool_lookup_str(pool, SOLVID_POS, REPOSITORY_REPOMD_LOCATION);
                Id type = 0;
                const unsigned char *chk = pool_lookup_bin_checksum(pool, SOLVID_POS,
                                                                    REPOSITORY_REPOMD_CHECKSUM,
                                                                    &type);
                ref->size = pool_lookup_num(pool, SOLVID_POS, REPOSITORY_REPOMD_SIZE, 0);
                if (loc && !(ref->location = strdup(loc)))
                        found = -ENOMEM;
                int len = chk && type ? solv_chksum_len(type) : 0;
                if (len > 0 && (size_t)len <= sizeof ref->chk) {
                        memcpy(ref->chk, chk, (size_t)len);
                        ref->chklen = len;
                        ref->chktype = type;
                }
        }
        dataiterator_free(&di);
        return found;
}

static bool checksum_matches(const struct primary_ref *ref, const char *data, size_t len,
                             char hex[129])
{
        Chksum *h = solv_chksum_create(ref->chktype);
        if (!h)
                return false;
        for (size_t off = 0; off < len;) {
                size_t n = len - off > (1u << 20) ? (1u << 20) : len - off;
                solv_chksum_add(h, data + off, (int)n);
                off += n;
        }
        int dlen = 0;
        const unsigned char *d = solv_chksum_get(h, &dlen);
        bool ok = d && dlen == ref->chklen && memcmp(d, ref->chk, (size_t)dlen) == 0;
        if (d && dlen > 0 && dlen <= 64)
                solv_bin2hex(d, dlen, hex);
        else
                hex[0] = '\0';
        solv_chksum_free(h, NULL);
        return ok;
}

/* Reads primary (compressed as its location says) into repo. */
static int parse_primary(Pool *pool, Repo *repo, const char *url, const char *location,
                         char *data, size_t len, struct error *err)
{
        char u[URL_QUOTE_BUF], q[QUOTE_SIZE(300)];

        if (solv_xfopen_iscompressed(location) < 0)
                return error_set(err, ENOTSUP, "primary at %s: this libsolv cannot "
                                 "decompress it", qurl(url, u));
        int fd = memfd_create("primary", MFD_CLOEXEC);
        if (fd < 0)
                return error_set_errno(err, errno, "primary at %s: cannot make a memfd",
                                       qurl(url, u));
        int w = fd_write_all(fd, data, len);
        if (w < 0) {
                close(fd);
                return error_set_errno(err, -w, "primary at %s: cannot buffer it", qurl(url, u));
        }
        lseek(fd, 0, SEEK_SET);
        /* solv_xfopen_fd() owns fd from here on when it succeeds; some of
         * its failure paths close it too, so it is not closed again. */
        FILE *fp = solv_xfopen_fd(location, fd, "r");
        if (!fp)
                return error_set(err, EIO, "primary at %s: cannot open it for decompression",
                                 qurl(url, u));
        int r = repo_add_rpmmd(repo, fp, NULL, 0);
        fclose(fp);
        if (r != 0)
                return error_set(err, EBADMSG, "primary at %s does not parse: %s", qurl(url, u),
                                 error_quote_n(pool_errstr(pool), SIZE_MAX, 300, q));
        return 0;
}

static int list_packages(Pool *pool, Repo *repo, const char *url, struct remote_repo *out,
                         struct error *err)
{
        char u[URL_QUOTE_BUF], q[QUOTE_BUF], q2[QUOTE_BUF];
        Solvable *s;
        Id p;

        out->packages = calloc(repo->nsolvables ? (size_t)repo->nsolvables : 1,
                               sizeof *out->packages);
        if (!out->packages)
                return error_set(err, ENOMEM, "out of memory for %d packages", repo->nsolvables);
        FOR_REPO_SOLVABLES(repo, p, s) {
                const char *nevra = pool_solvable2str(pool, s);
                const char *loc = solvable_lookup_location(s, NULL);
                if (!loc || !safe_location(loc))
                        return error_set(err, EBADMSG, "primary at %s: package '%s' has an "
                                         "unusable location '%s'", qurl(url, u),
                                         error_quote(nevra, q), loc ? error_quote(loc, q2) : "");
                Id type = 0;
                const char *hex = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
                const char *tname = type ? solv_chksum_type2str(type) : NULL;
                if (!hex || !tname)
                        return error_set(err, EBADMSG, "primary at %s: package '%s' has no "
                                         "checksum", qurl(url, u), error_quote(nevra, q));
                struct remote_package *rp = &out->packages[out->count];
                rp->nevra = strdup(nevra);
                rp->location = strdup(loc);
                rp->checksum_type = strdup(tname);
                rp->checksum = strdup(hex);
                rp->size = solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0);
                out->count++;
                if (!rp->nevra || !rp->location || !rp->checksum_type || !rp->checksum)
                        return error_set(err, ENOMEM, "out of memory");
                char *slash = strrchr(rp->location, '/');
                rp->filename = slash ? slash + 1 : rp->location;
        }
        return 0;
}

int metadata_load(struct fetcher *f, const char *baseurl, const char *repomd,
                  size_t repomd_len, struct remote_repo *out, struct error *err)
{
        char u[URL_QUOTE_BUF], q[QUOTE_SIZE(300)], q2[QUOTE_BUF];
        struct primary_ref ref = { 0 };
        char *repomd_url = NULL, *url = NULL, *data = NULL;
        size_t len = 0;
        Pool *pool = NULL;
        int r;

        memset(out, 0, sizeof *out);
        repomd_url = join_url(baseurl, "repodata/repomd.xml");
        if (!repomd_url || !(out->repomd = memdup0(repomd, repomd_len))) {
                r = error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        out->repomd_len = repomd_len;
        if (!(pool = quiet_pool_new())) {
                r = error_set(err, ENOTSUP, "cannot use libsolv: it was built without RPM "
                              "semantics");
                goto out;
        }
        Repo *repo = repo_create(pool, "remote");
        FILE *fp = solv_fmemopen(repomd, repomd_len, "r");
        if (!fp) {
                r = error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        r = repo_add_repomdxml(repo, fp, 0);
        fclose(fp);
        if (r != 0) {
                r = error_set(err, EBADMSG, "repomd.xml at %s does not parse: %s",
                              qurl(repomd_url, u),
                              error_quote_n(pool_errstr(pool), SIZE_MAX, 300, q));
                goto out;
        }
        r = find_primary(pool, repo, &ref);
        if (r < 0) {
                r = error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        if (r == 0 || !ref.location) {
                r = error_set(err, EBADMSG, "repomd.xml at %s names no primary",
                              qurl(repomd_url, u));
                goto out;
        }
        if (!safe_location(ref.location)) {
                r = error_set(err, EBADMSG, "repomd.xml at %s: unusable primary location '%s'",
                              qurl(repomd_url, u), error_quote(ref.location, q2));
                goto out;
        }
        if (!(url = join_url(baseurl, ref.location))) {
                r = error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        if (!ref.chktype) {
                r = error_set(err, EBADMSG, "repomd.xml at %s gives no usable checksum for "
                              "primary %s", qurl(repomd_url, u), error_quote(ref.location, q2));
                goto out;
        }
        if (ref.size > PRIMARY_MAX) {
                r = error_set(err, EFBIG, "primary at %s: %llu bytes is more than the "
                              "%zu allowed", qurl(url, u), ref.size, PRIMARY_MAX);
                goto out;
        }
        /* Not capped at the declared size: a file that differs from what
         * repomd.xml says is reported as a checksum mismatch. */
        r = fetch_to_memory(f, url, PRIMARY_MAX, &data, &len, err);
        if (r < 0)
                goto out;
        char hex[129];
        if (!checksum_matches(&ref, data, len, hex)) {
                char want[129], sizes[80] = "";
                solv_bin2hex(ref.chk, ref.chklen, want);
                if (ref.size && len != ref.size)
                        snprintf(sizes, sizeof sizes, " (%zu bytes, repomd.xml says %llu)", len,
                                 ref.size);
                r = error_set(err, EBADMSG, "primary at %s: checksum mismatch: %s %s, "
                              "repomd.xml says %s%s", qurl(url, u),
                              solv_chksum_type2str(ref.chktype), hex, want, sizes);
                goto out;
        }
        r = parse_primary(pool, repo, url, ref.location, data, len, err);
        free(data);
        data = NULL;
        if (r < 0)
                goto out;
        r = list_packages(pool, repo, url, out, err);
out:
        free(data);
        free(url);
        free(repomd_url);
        free(ref.location);
        if (pool)
                pool_free(pool);
        if (r < 0)
                remote_repo_free(out);
        return r < 0 ? r : 0;
}

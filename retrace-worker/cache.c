/* cache.c: the package cache (see cache.h).
 *
 * The extractor writes only through directory file descriptors: every
 * member's parent is reached from the tree's root one component at a time
 * with O_NOFOLLOW | O_DIRECTORY, and files are created with O_CREAT |
 * O_EXCL | O_NOFOLLOW. A symlink made by an earlier member therefore can
 * never redirect a later one, whatever the archive holds. No chdir, no
 * umask (modes are set with fchmod), no global state: tasks may extract in
 * several threads at once.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "fsutil.h"
#include "spool.h"

#define PACKAGES_DIR "packages"
#define HOLE_CHUNK 4096         /* zero runs this size, aligned, become holes */
#define READ_BLOCK 65536
#define NEVRA_MAX_LEN CACHE_NEVRA_MAX
#define COMPLETE_TEXT "retrace-cache 1\n"

struct pkg_cache {
        char *pkgdir;           /* CacheDir/packages */
        int dfd;                /* open on pkgdir */
        uint64_t max_bytes;
        uint64_t bytes;         /* what the last cache_evict() left */
        bool bytes_known;
};

/* --- small helpers ---------------------------------------------------------- */

static int path_join2(char *buf, size_t len, const char *dir, const char *name)
{
        int n = snprintf(buf, len, "%s/%s", dir, name);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int name_with(char *buf, size_t len, const char *prefix, const char *nevra,
                     const char *suffix)
{
        int n = snprintf(buf, len, "%s%s%s", prefix, nevra, suffix);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool nevra_valid(const char *nevra)
{
        size_t len = strnlen(nevra, NEVRA_MAX_LEN + 1);
        if (len == 0 || len > NEVRA_MAX_LEN || nevra[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)nevra[i];
                if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '\\')
                        return false;
        }
        return true;
}

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static bool all_zero(const char *p, size_t n)
{
        if (n == 0)
                return true;
        return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* --- disk usage ------------------------------------------------------------ */

/* Inodes with several links, counted once. */
struct inoset {
        uint64_t *v;            /* ino + 1; 0: free */
        size_t cap, n;
};

static bool inoset_add(struct inoset *s, uint64_t ino)
{
        if ((s->n + 1) * 2 > s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 256;
                uint64_t *v = calloc(cap, sizeof *v);
                if (!v && s->n + 1 >= s->cap)
                        return true;    /* counted twice, at worst */
                for (size_t i = 0; v && i < s->cap; i++) {
                        if (!s->v[i])
                                continue;
                        size_t j = (size_t)(s->v[i] * 0x9e3779b97f4a7c15u) & (cap - 1);
                        while (v[j])
                                j = (j + 1) & (cap - 1);
                        v[j] = s->v[i];
                }
                if (v) {
                        free(s->v);
                        s->v = v;
                        s->cap = cap;
                }
        }
        uint64_t key = ino + 1;
        size_t j = (size_t)(key * 0x9e3779b97f4a7c15u) & (s->cap - 1);
        while (s->v[j]) {
                if (s->v[j] == key)
                        return false;
                j = (j + 1) & (s->cap - 1);
        }
        s->v[j] = key;
        s->n++;
        return true;
}

/* st_blocks * 512 of a tree (dfd, consumed), each inode once, as du. */
static uint64_t tree_usage(int dfd, unsigned depth, struct inoset *seen)
{
        uint64_t total = 0;
        struct stat st;
        if (fstat(dfd, &st) == 0)
                total += (uint64_t)st.st_blocks * 512;
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return total;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int fd = depth < CACHE_MAX_DEPTH
                                 ? openat(dirfd(d), de->d_name,
                                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                                 : -1;
                        if (fd >= 0)
                                total += tree_usage(fd, depth + 1, seen);
                } else if (st.st_nlink < 2 || inoset_add(seen, (uint64_t)st.st_ino)) {
                        total += (uint64_t)st.st_blocks * 512;
                }
        }
        closedir(d);
        return total;
}

static uint64_t disk_usage(int dirfd_, const char *name)
{
        struct inoset seen = { 0 };
        int fd = openat(dirfd_, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        uint64_t v = fd >= 0 ? tree_usage(fd, 0, &seen) : 0;
        free(seen.v);
        return v;
}

/* --- the extractor ---------------------------------------------------------- */

struct extractor {
        struct archive *a;
        const char *label;      /* the package, in messages */
        const char *member;     /* the current member's name as archived */
        struct error *err;
        int root;               /* the tree */
        /* The directories of the last member's parent, open: cur names
         * them ("usr/lib/debug"), end[i] is where component i ends in cur. */
        unsigned depth;
        int fd[CACHE_MAX_DEPTH];
        size_t end[CACHE_MAX_DEPTH];
        char cur[PATH_MAX];
        unsigned entries;
        bool durable;
        struct cache_extract_stats st;
};

static int fail(struct extractor *x, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* "cannot extract 'PKG': member 'NAME': WHAT[: strerror]"; code < 0 adds
 * strerror(-code). */
static int fail(struct extractor *x, int code, const char *fmt, ...)
{
        char what[512], qp[QUOTE_BUF], qm[QUOTE_BUF];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        error_quote(x->label, qp);
        if (!x->member)
                return code < 0
                       ? error_set_errno(x->err, -code, "cannot extract '%s': %s", qp, what)
                       : error_set(x->err, code, "cannot extract '%s': %s", qp, what);
        error_quote(x->member, qm);
        return code < 0 ? error_set_errno(x->err, -code, "cannot extract '%s': member '%s': %s",
                                          qp, qm, what)
                        : error_set(x->err, code, "cannot extract '%s': member '%s': %s",
                                    qp, qm, what);
}

/* Normalises an archived name into out ("usr/bin/x"): a leading "./" goes,
 * empty and "." components go. An absolute name or a ".." component is
 * refused. out is empty for the archive's root itself. */
static int normalize(struct extractor *x, const char *name, char *out, size_t outlen,
                     const char *role)
{
        const char *p = name;
        while (p[0] == '.' && p[1] == '/')
                p += 2;
        if (p[0] == '.' && p[1] == '\0')
                p++;
        if (p[0] == '/')
                return fail(x, EPERM, "%san absolute path", role);
        size_t o = 0;
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t clen = slash ? (size_t)(slash - p) : strlen(p);
                if (clen == 2 && p[0] == '.' && p[1] == '.')
                        return fail(x, EPERM, "%sa '..' component", role);
                if (clen > NAME_MAX)
                        return fail(x, ENAMETOOLONG, "%sa component longer than %d bytes",
                                    role, NAME_MAX);
                if (clen > 0 && !(clen == 1 && p[0] == '.')) {
                        if (o + clen + 2 > outlen)
                                return fail(x, ENAMETOOLONG, "%sa name too long", role);
                        if (o)
                                out[o++] = '/';
                        memcpy(out + o, p, clen);
                        o += clen;
                }
                p += clen;
                if (*p == '/')
                        p++;
        }
        out[o] = '\0';
        return 0;
}

static void stack_truncate(struct extractor *x, unsigned keep)
{
        while (x->depth > keep)
                close(x->fd[--x->depth]);
}

/* Opens directory name in parent, creating it when missing; never through
 * a symlink. */
static int open_dir(struct extractor *x, int parent, const char *name)
{
        char q[QUOTE_BUF];
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        if (errno == ENOTDIR || errno == ELOOP)
                return fail(x, ENOTDIR, "its directory '%s' is a symlink or a file",
                            error_quote(name, q));
        if (errno != ENOENT)
                return fail(x, -errno, "cannot open directory '%s'", error_quote(name, q));
        if (mkdirat(parent, name, 0700) < 0)
                return fail(x, -errno, "cannot create directory '%s'", error_quote(name, q));
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return fail(x, -errno, "cannot open directory '%s'", error_quote(name, q));
        if (fchmod(fd, 0755) < 0) {
                int e = errno;
                close(fd);
                return fail(x, -e, "cannot set the mode of directory '%s'",
                            error_quote(name, q));
        }
        x->st.dirs++;
        return fd;
}

/* Opens the parent directory of the normalised path (creating what is
 * missing) and points *base at its last component. Consecutive members
 * mostly share their parent: the open directories are kept and reused. */
static int open_parent(struct extractor *x, const char *path, int *pfd, const char **base)
{
        const char *slash = strrchr(path, '/');
        size_t dlen = slash ? (size_t)(slash - path) : 0;
        *base = slash ? slash + 1 : path;

        unsigned k = 0;
        size_t pos = 0;
        while (pos < dlen && k < x->depth) {
                const char *c = path + pos;
                const char *e = memchr(c, '/', dlen - pos);
                size_t clen = e ? (size_t)(e - c) : dlen - pos;
                size_t start = k ? x->end[k - 1] + 1 : 0;
                if (x->end[k] - start != clen || memcmp(x->cur + start, c, clen) != 0)
                        break;
                k++;
                pos += clen + 1;
        }
        stack_truncate(x, k);
        while (pos < dlen) {
                const char *c = path + pos;
                const char *e = memchr(c, '/', dlen - pos);
                size_t clen = e ? (size_t)(e - c) : dlen - pos;
                if (x->depth == CACHE_MAX_DEPTH)
                        return fail(x, ENAMETOOLONG, "more than %d directories deep",
                                    CACHE_MAX_DEPTH);
                size_t start = x->depth ? x->end[x->depth - 1] + 1 : 0;
                char *name = x->cur + start;
                if (x->depth)
                        x->cur[start - 1] = '/';
                memcpy(name, c, clen);      /* fits: cur is as long as path's buffer */
                name[clen] = '\0';
                int fd = open_dir(x, x->depth ? x->fd[x->depth - 1] : x->root, name);
                if (fd < 0)
                        return fd;
                x->fd[x->depth] = fd;
                x->end[x->depth] = start + clen;
                x->depth++;
                pos += clen + 1;
        }
        *pfd = x->depth ? x->fd[x->depth - 1] : x->root;
        return 0;
}

/* Makes room for a new non-directory base in pfd: an earlier member of
 * the same name that is not a directory is replaced (the last one wins,
 * as with cpio). Returns 1 when something was removed. */
static int replace_existing(struct extractor *x, int pfd, const char *base)
{
        struct stat st;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail(x, -errno, "cannot inspect the earlier member");
        if (S_ISDIR(st.st_mode))
                return fail(x, EEXIST, "an earlier member of the same name is a directory");
        if (unlinkat(pfd, base, 0) < 0)
                return fail(x, -errno, "cannot replace the earlier member");
        return 1;
}

static int write_range(struct extractor *x, int fd, const char *p, size_t n, int64_t off)
{
        int r = fd_pwrite_all(fd, p, n, (off_t)off);
        return r < 0 ? fail(x, r, "cannot write") : 0;
}

/* Copies the member's data into fd; aligned all-zero chunks are not
 * written, and the final ftruncate leaves them as holes. */
static int write_data(struct extractor *x, int fd, int64_t size)
{
        for (;;) {
                const void *buf;
                size_t len;
                int64_t off;
                int r = archive_read_data_block(x->a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        char q[QUOTE_BUF];
                        const char *msg = archive_error_string(x->a);
                        return fail(x, EIO, "cannot read its data: %s",
                                    error_quote(msg ? msg : "unknown error", q));
                }
                if (off < 0 || (uint64_t)len > (uint64_t)size || off > size - (int64_t)len)
                        return fail(x, EINVAL, "data beyond its declared size of %" PRId64
                                    " bytes", size);
                const char *p = buf, *run = NULL;
                int64_t run_off = 0;
                size_t run_len = 0;
                while (len) {
                        size_t n = HOLE_CHUNK - (size_t)(off % HOLE_CHUNK);
                        if (n > len)
                                n = len;
                        if (all_zero(p, n)) {
                                if (run_len && (r = write_range(x, fd, run, run_len, run_off)) < 0)
                                        return r;
                                run_len = 0;
                        } else {
                                if (!run_len) {
                                        run = p;
                                        run_off = off;
                                }
                                run_len += n;
                        }
                        p += n;
                        off += (int64_t)n;
                        len -= n;
                }
                if (run_len && (r = write_range(x, fd, run, run_len, run_off)) < 0)
                        return r;
        }
        if (ftruncate(fd, (off_t)size) < 0)
                return fail(x, -errno, "cannot set its size");
        return 0;
}

/* Mode and time of a regular file. */
static int finish_file(struct extractor *x, int fd, struct archive_entry *e)
{
        mode_t mode = 0644 | ((mode_t)archive_entry_perm(e) & 0111);
        if (fchmod(fd, mode) < 0)
                return fail(x, -errno, "cannot set its mode");
        /* Start writing it out now: the syncfs() at the end then mostly
         * waits for writes already done while the rest was unpacked. */
        if (x->durable)
                sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        if (archive_entry_mtime_is_set(e)) {
                struct timespec ts[2] = {
                        { .tv_sec = 0, .tv_nsec = UTIME_OMIT },
                        { .tv_sec = archive_entry_mtime(e), .tv_nsec = 0 },
                };
                if (futimens(fd, ts) < 0)
                        return fail(x, -errno, "cannot set its time");
        }
        return 0;
}

static int extract_hardlink(struct extractor *x, struct archive_entry *e, const char *path,
                            int64_t size)
{
        char target[PATH_MAX];
        int r = normalize(x, archive_entry_hardlink(e), target, sizeof target,
                          "hard link to ");
        if (r < 0)
                return r;
        if (strcmp(target, path) == 0 || !*target)
                return fail(x, EINVAL, "hard link to itself");
        int tpfd;
        const char *tbase;
        if ((r = open_parent(x, target, &tpfd, &tbase)) < 0)
                return r;
        struct stat st;
        if (fstatat(tpfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return fail(x, EINVAL, "hard link to a member that is not an extracted file");
        /* The next open_parent() may close tpfd: keep a copy. */
        int tdir = fcntl(tpfd, F_DUPFD_CLOEXEC, 0);
        if (tdir < 0)
                return fail(x, -errno, "cannot duplicate a descriptor");
        int pfd;
        const char *base;
        if ((r = open_parent(x, path, &pfd, &base)) < 0)
                goto out;
        if ((r = replace_existing(x, pfd, base)) < 0)
                goto out;
        if (linkat(tdir, tbase, pfd, base, 0) < 0) {
                r = fail(x, -errno, "cannot make the hard link");
                goto out;
        }
        x->st.hardlinks++;
        r = 0;
        if (size > 0) {
                /* cpio carries the data of a group of links on its last
                 * member: write it through the new name. */
                int fd = openat(pfd, base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = fail(x, -errno, "cannot open the linked file");
                        goto out;
                }
                if (ftruncate(fd, 0) < 0)
                        r = fail(x, -errno, "cannot truncate the linked file");
                if (r == 0)
                        r = write_data(x, fd, size);
                if (r == 0)
                        r = finish_file(x, fd, e);
                close(fd);
        }
out:
        close(tdir);
        return r;
}

static int extract_file(struct extractor *x, struct archive_entry *e, const char *path)
{
        int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
        if (size < 0 || (uint64_t)size > CACHE_MAX_FILE_BYTES)
                return fail(x, EFBIG, "declares an absurd size (%" PRId64 " bytes)", size);
        if (x->st.file_bytes + (uint64_t)size > CACHE_MAX_PACKAGE_BYTES)
                return fail(x, EFBIG, "the payload expands beyond %" PRIu64 " bytes",
                            (uint64_t)CACHE_MAX_PACKAGE_BYTES);
        x->st.file_bytes += (uint64_t)size;
        if (archive_entry_hardlink(e))
                return extract_hardlink(x, e, path, size);

        int pfd, r;
        const char *base;
        if ((r = open_parent(x, path, &pfd, &base)) < 0)
                return r;
        int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
                if ((r = replace_existing(x, pfd, base)) < 0)
                        return r;
                fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            0600);
        }
        if (fd < 0)
                return fail(x, -errno, "cannot create the file");
        r = write_data(x, fd, size);
        if (r == 0)
                r = finish_file(x, fd, e);
        if (r == 0)
                x->st.files++;
        close(fd);
        return r;
}

static int extract_dir(struct extractor *x, const char *path)
{
        int pfd, r;
        const char *base;
        if ((r = open_parent(x, path, &pfd, &base)) < 0)
                return r;
        int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                return 0;
        }
        if (errno == ENOTDIR || errno == ELOOP)
                return fail(x, EEXIST, "an earlier member of the same name is not a directory");
        if (errno != ENOENT)
                return fail(x, -errno, "cannot open the directory");
        fd = open_dir(x, pfd, base);
        if (fd < 0)
                return fd;
        close(fd);
        return 0;
}

/* The symlink target rule of cache.h. path is the link's normalised path. */
static int link_target(struct extractor *x, const char *path, const char *target, char *out,
                       size_t outlen)
{
        /* The link's directory, as components. */
        const char *comp[CACHE_MAX_DEPTH];
        size_t clen[CACHE_MAX_DEPTH];
        unsigned ndir = 0;
        const char *slash = strrchr(path, '/');
        size_t dlen = slash ? (size_t)(slash - path) : 0;
        for (size_t pos = 0; pos < dlen;) {
                const char *e = memchr(path + pos, '/', dlen - pos);
                size_t l = e ? (size_t)(e - path - pos) : dlen - pos;
                if (ndir == CACHE_MAX_DEPTH)
                        return fail(x, ENAMETOOLONG, "more than %d directories deep",
                                    CACHE_MAX_DEPTH);
                comp[ndir] = path + pos;
                clen[ndir++] = l;
                pos += l + 1;
        }

        /* Kept as it is: relative, ".." only in front, no higher than the
         * tree's top. (A ".." after a name is not: the name may be a
         * symlink, and the kernel would climb from where that leads.) */
        if (target[0] != '/') {
                unsigned ups = 0;
                bool leading = true, safe = true;
                for (const char *p = target; *p;) {
                        const char *e = strchr(p, '/');
                        size_t l = e ? (size_t)(e - p) : strlen(p);
                        if (l == 2 && p[0] == '.' && p[1] == '.') {
                                if (!leading)
                                        safe = false;
                                ups++;
                        } else if (l > 0 && !(l == 1 && p[0] == '.')) {
                                leading = false;
                        }
                        p += l + (e ? 1 : 0);
                }
                if (safe && ups <= ndir) {
                        if (strlen(target) >= outlen)
                                return fail(x, ENAMETOOLONG, "a symlink target too long");
                        strcpy(out, target);
                        return 0;
                }
        }

        /* Resolved by name from the link's directory (or the top, for an
         * absolute target), ".." at the top staying at the top. */
        const char *rc[PATH_MAX / 2];
        size_t rl[PATH_MAX / 2];
        unsigned n = 0;
        if (target[0] != '/') {
                memcpy(rc, comp, ndir * sizeof comp[0]);
                memcpy(rl, clen, ndir * sizeof clen[0]);
                n = ndir;
        }
        for (const char *p = target; *p;) {
                const char *e = strchr(p, '/');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                if (l == 2 && p[0] == '.' && p[1] == '.') {
                        if (n)
                                n--;
                } else if (l > 0 && !(l == 1 && p[0] == '.')) {
                        if (n == PATH_MAX / 2)
                                return fail(x, ENAMETOOLONG, "a symlink target too long");
                        rc[n] = p;
                        rl[n++] = l;
                }
                p += l + (e ? 1 : 0);
        }
        /* Relative to the link's directory: up to the common ancestor,
         * then down. */
        unsigned common = 0;
        while (common < ndir && common < n && clen[common] == rl[common] &&
               memcmp(comp[common], rc[common], rl[common]) == 0)
                common++;
        size_t o = 0;
        for (unsigned i = common; i < ndir; i++) {
                if (o + 4 > outlen)
                        return fail(x, ENAMETOOLONG, "a symlink target too long");
                memcpy(out + o, "../", 3);
                o += 3;
        }
        for (unsigned i = common; i < n; i++) {
                if (o + rl[i] + 2 > outlen)
                        return fail(x, ENAMETOOLONG, "a symlink target too long");
                memcpy(out + o, rc[i], rl[i]);
                o += rl[i];
                out[o++] = '/';
        }
        if (o == 0)
                out[o++] = '.';
        else
                o--;            /* the last '/' */
        out[o] = '\0';
        x->st.rewritten++;
        return 0;
}

static int extract_symlink(struct extractor *x, struct archive_entry *e, const char *path)
{
        const char *target = archive_entry_symlink(e);
        if (!target || !*target) {
                x->st.skipped++;        /* Linux cannot make one */
                return 0;
        }
        char fixed[PATH_MAX];
        int pfd, r;
        const char *base;
        if ((r = link_target(x, path, target, fixed, sizeof fixed)) < 0)
                return r;
        if ((r = open_parent(x, path, &pfd, &base)) < 0)
                return r;
        if (symlinkat(fixed, pfd, base) < 0) {
                if (errno != EEXIST)
                        return fail(x, -errno, "cannot create the symlink");
                if ((r = replace_existing(x, pfd, base)) < 0)
                        return r;
                if (symlinkat(fixed, pfd, base) < 0)
                        return fail(x, -errno, "cannot create the symlink");
        }
        x->st.symlinks++;
        return 0;
}

static bool read_through_rpm(struct archive *a)
{
        for (int i = 0; i < archive_filter_count(a); i++)
                if (archive_filter_code(a, i) == ARCHIVE_FILTER_RPM)
                        return true;
        return false;
}

static int extract_entries(struct extractor *x)
{
        char path[PATH_MAX];
        bool first = true;
        for (;;) {
                struct archive_entry *e;
                x->member = NULL;
                int r = archive_read_next_header(x->a, &e);
                /* r >= ARCHIVE_WARN: a member or the end (ARCHIVE_EOF). */
                if (first && r >= ARCHIVE_WARN && !read_through_rpm(x->a))
                        return fail(x, EINVAL, "not an RPM package");
                first = false;
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN) {
                        char q[QUOTE_BUF];
                        const char *msg = archive_error_string(x->a);
                        return fail(x, EIO, "cannot read the payload: %s",
                                    error_quote(msg ? msg : "unknown error", q));
                }
                if (++x->entries > CACHE_MAX_ENTRIES)
                        return fail(x, EFBIG, "more than %u members", CACHE_MAX_ENTRIES);
                x->member = archive_entry_pathname(e);
                if (!x->member)
                        return fail(x, EINVAL, "a member without a name");
                if ((r = normalize(x, x->member, path, sizeof path, "")) < 0)
                        return r;
                if (!*path)
                        continue;       /* "." itself: the tree */
                switch (archive_entry_filetype(e)) {
                case AE_IFREG:
                        r = extract_file(x, e, path);
                        break;
                case AE_IFDIR:
                        r = extract_dir(x, path);
                        break;
                case AE_IFLNK:
                        r = extract_symlink(x, e, path);
                        break;
                default:                /* devices, FIFOs, sockets */
                        x->st.skipped++;
                        r = 0;
                        break;
                }
                if (r < 0)
                        return r;
        }
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* cache_extract() with a label for messages; durable: syncfs before
 * returning, so a marker written afterwards never outlives the data. */
static int extract_tree(const char *label, const char *rpm_path, const char *dest,
                        bool durable, struct cache_extract_stats *stats, struct error *err)
{
        struct extractor *x = calloc(1, sizeof *x);
        if (!x)
                return error_set_errno(err, ENOMEM, "cannot extract '%s'", label);
        x->label = label;
        x->err = err;
        x->durable = durable;
        x->root = -1;
        int r;

        if (mkdir(dest, 0700) < 0) {
                r = error_set_errno(err, errno, "cannot create '%s'", dest);
                goto out;
        }
        x->root = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (x->root < 0) {
                r = error_set_errno(err, errno, "cannot open '%s'", dest);
                goto out;
        }

        x->a = archive_read_new();
        if (!x->a) {
                r = error_set_errno(err, ENOMEM, "cannot extract '%s'", label);
                goto out;
        }
        /* Only built-in decompressors: archive_read_support_filter_all()
         * would run external programs for some formats. */
        archive_read_support_filter_rpm(x->a);
        archive_read_support_filter_gzip(x->a);
        archive_read_support_filter_xz(x->a);
        archive_read_support_filter_lzma(x->a);
        archive_read_support_filter_bzip2(x->a);
        archive_read_support_filter_zstd(x->a);
        archive_read_support_format_cpio(x->a);
        if (archive_read_open_filename(x->a, rpm_path, READ_BLOCK) != ARCHIVE_OK) {
                char q[QUOTE_BUF], qp[QUOTE_BUF];
                const char *msg = archive_error_string(x->a);
                int e = archive_errno(x->a);
                r = error_set(err, e > 0 ? e : EINVAL, "cannot extract '%s' from '%s': %s",
                              error_quote(label, qp), rpm_path,
                              error_quote(msg ? msg : "unknown error", q));
                goto out;
        }
        r = extract_entries(x);
        stack_truncate(x, 0);
        if (r == 0 && fchmod(x->root, 0755) < 0)
                r = error_set_errno(err, errno, "cannot set the mode of '%s'", dest);
        if (r == 0 && durable && syncfs(x->root) < 0)
                r = error_set_errno(err, errno, "cannot sync '%s'", dest);
        if (r == 0 && stats) {
                /* After the data is on disk, st_blocks is what stays. */
                x->st.disk_bytes = disk_usage(x->root, ".");
                *stats = x->st;
        }
out:
        stack_truncate(x, 0);
        if (x->a)
                archive_read_free(x->a);
        if (x->root >= 0)
                close(x->root);
        free(x);
        return r;
}

int cache_extract(const char *rpm_path, const char *dest, struct cache_extract_stats *stats,
                  struct error *err)
{
        return extract_tree(base_name(rpm_path), rpm_path, dest, false, stats, err);
}

/* --- the cache -------------------------------------------------------------- */

int cache_open(const char *dir, uint64_t max_bytes, struct pkg_cache **out, struct error *err)
{
        char path[PATH_MAX];
        *out = NULL;
        if (path_join2(path, sizeof path, dir, PACKAGES_DIR) < 0)
                return error_set(err, ENAMETOOLONG, "cache path too long: '%s'", dir);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return error_set_errno(err, errno, "cannot create the cache '%s'", dir);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return error_set_errno(err, errno, "cannot create '%s'", path);
        struct pkg_cache *c = calloc(1, sizeof *c);
        if (!c || !(c->pkgdir = strdup(path))) {
                free(c);
                return error_set_errno(err, ENOMEM, "cannot open the cache '%s'", dir);
        }
        c->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dfd < 0) {
                int e = errno;
                free(c->pkgdir);
                free(c);
                return error_set_errno(err, e, "cannot open '%s'", path);
        }
        c->max_bytes = max_bytes;
        *out = c;
        return 0;
}

void cache_close(struct pkg_cache *c)
{
        if (!c)
                return;
        close(c->dfd);
        free(c->pkgdir);
        free(c);
}

/* Locks <nevra>.lock. The lock file is the one its name holds once the
 * lock is taken (eviction removes lock files while holding them). */
static int lock_package(struct pkg_cache *c, const char *nevra, bool wait, int *out,
                        struct error *err)
{
        char name[NAME_MAX + 1];
        if (name_with(name, sizeof name, "", nevra, ".lock") < 0)
                return error_set(err, ENAMETOOLONG, "package name too long: '%s'", nevra);
        for (;;) {
                int fd = openat(c->dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                        return error_set_errno(err, errno, "cannot open '%s/%s'", c->pkgdir, name);
                int r = fd_lock(fd, wait);
                if (r < 0) {
                        close(fd);
                        if (r == -EWOULDBLOCK)
                                return r;
                        return error_set_errno(err, -r, "cannot lock '%s/%s'", c->pkgdir, name);
                }
                struct stat a, b;
                if (fstat(fd, &a) == 0 && fstatat(c->dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        *out = fd;
                        return 0;
                }
                close(fd);
        }
}

static int touch(int dfd, const char *name)
{
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = futimens(fd, NULL) < 0 ? -errno : 0;
        close(fd);
        return r;
}

/* Removes .<nevra>.tmp.* left by workers killed mid-extraction (the
 * caller holds the package's lock: nobody else extracts it). */
static void remove_stale_temporaries(struct pkg_cache *c, const char *nevra)
{
        char prefix[NAME_MAX + 1], path[PATH_MAX];
        if (name_with(prefix, sizeof prefix, ".", nevra, ".tmp.") < 0)
                return;
        int fd = openat(c->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        size_t plen = strlen(prefix);
        struct dirent *de;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, prefix, plen) == 0 && all_digits(de->d_name + plen) &&
                    path_join2(path, sizeof path, c->pkgdir, de->d_name) == 0)
                        remove_tree(path, NULL);
        closedir(d);
}

int cache_get(struct pkg_cache *c, const char *nevra, const char *rpm_path, char *tree,
              size_t tree_len, bool *extracted, struct error *err)
{
        char q[QUOTE_BUF], name[NAME_MAX + 1], tmp[NAME_MAX + 1], tmp_path[PATH_MAX];
        *extracted = false;
        if (!nevra_valid(nevra))
                return error_set(err, EINVAL, "invalid package name '%s'", error_quote(nevra, q));
        if (path_join2(tree, tree_len, c->pkgdir, nevra) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'", c->pkgdir, nevra);

        int lock, r;
        if ((r = lock_package(c, nevra, true, &lock, err)) < 0)
                return r;

        struct stat st;
        name_with(name, sizeof name, "", nevra, ".complete");
        bool complete = fstatat(c->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
        bool have_tree = fstatat(c->dfd, nevra, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                         S_ISDIR(st.st_mode);
        if (complete && have_tree) {
                name_with(name, sizeof name, "", nevra, ".used");
                touch(c->dfd, name);
                close(lock);
                return 0;
        }

        /* A tree without its marker (or a marker without its tree): left by
         * a worker that died, extract again. */
        if (complete)
                unlinkat(c->dfd, name, 0);
        if ((r = remove_tree(tree, err)) < 0)
                goto out;
        remove_stale_temporaries(c, nevra);
        if (name_with(tmp, sizeof tmp, ".", nevra, ".tmp.") < 0 ||
            snprintf(tmp + strlen(tmp), sizeof tmp - strlen(tmp), "%ld", (long)getpid()) < 0 ||
            path_join2(tmp_path, sizeof tmp_path, c->pkgdir, tmp) < 0) {
                r = error_set(err, ENAMETOOLONG, "path too long: '%s/%s'", c->pkgdir, nevra);
                goto out;
        }
        struct cache_extract_stats stats;
        if ((r = extract_tree(nevra, rpm_path, tmp_path, true, &stats, err)) < 0) {
                remove_tree(tmp_path, NULL);
                goto out;
        }
        if (renameat(c->dfd, tmp, c->dfd, nevra) < 0) {
                r = error_set_errno(err, errno, "cannot rename '%s' to '%s'", tmp_path, tree);
                remove_tree(tmp_path, NULL);
                goto out;
        }
        char size[32];
        int n = snprintf(size, sizeof size, "%" PRIu64 "\n", stats.disk_bytes);
        name_with(name, sizeof name, "", nevra, ".size");
        if ((r = spool_write_file(c->pkgdir, name, size, (size_t)n, 0644, err)) < 0)
                goto out;
        name_with(name, sizeof name, "", nevra, ".used");
        if ((r = touch(c->dfd, name)) < 0) {
                r = error_set_errno(err, -r, "cannot write '%s/%s'", c->pkgdir, name);
                goto out;
        }
        name_with(name, sizeof name, "", nevra, ".complete");
        if ((r = spool_write_file(c->pkgdir, name, COMPLETE_TEXT, strlen(COMPLETE_TEXT), 0644,
                                  err)) < 0)
                goto out;
        if (fsync(c->dfd) < 0) {
                r = error_set_errno(err, errno, "cannot sync '%s'", c->pkgdir);
                goto out;
        }
        *extracted = true;
out:
        close(lock);
        return r;
}

/* --- eviction --------------------------------------------------------------- */

/* ".<nevra>.evict.<pid>" */
static bool is_evicted(const char *name)
{
        const char *p = NULL;
        for (const char *q = name; (q = strstr(q, ".evict.")); q++)
                p = q;
        return p && all_digits(p + strlen(".evict."));
}

struct cached {
        char nevra[NEVRA_MAX_LEN + 1];
        uint64_t bytes;
        struct timespec used;
};

static int by_use(const void *a, const void *b)
{
        const struct timespec *x = &((const struct cached *)a)->used;
        const struct timespec *y = &((const struct cached *)b)->used;
        if (x->tv_sec != y->tv_sec)
                return x->tv_sec < y->tv_sec ? -1 : 1;
        return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

static bool last_use(struct pkg_cache *c, const char *nevra, struct timespec *used)
{
        char name[NAME_MAX + 1];
        struct stat st;
        name_with(name, sizeof name, "", nevra, ".used");
        if (fstatat(c->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                name_with(name, sizeof name, "", nevra, ".complete");
                if (fstatat(c->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return false;
        }
        *used = st.st_mtim;
        return true;
}

static uint64_t tree_size(struct pkg_cache *c, const char *nevra)
{
        char name[NAME_MAX + 1], buf[32];
        size_t len;
        name_with(name, sizeof name, "", nevra, ".size");
        int fd = openat(c->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t n = read(fd, buf, sizeof buf - 1);
                close(fd);
                if (n > 0) {
                        buf[n] = '\0';
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(buf, &end, 10);
                        if (errno == 0 && end != buf && *end == '\n')
                                return v;
                }
        }
        uint64_t v = disk_usage(c->dfd, nevra);
        len = (size_t)snprintf(buf, sizeof buf, "%" PRIu64 "\n", v);
        spool_write_file(c->pkgdir, name, buf, len, 0644, NULL);
        return v;
}

/* Removes one package, under its lock. Returns 1 when removed, 0 when
 * it is in use (locked, or used since the scan), or an error. */
static int evict_one(struct pkg_cache *c, const struct cached *p, struct error *err)
{
        int lock, r = lock_package(c, p->nevra, false, &lock, err);
        if (r == -EWOULDBLOCK)
                return 0;
        if (r < 0)
                return r;
        struct timespec used;
        char name[NAME_MAX + 1], gone[NAME_MAX + 1], path[PATH_MAX];
        name_with(name, sizeof name, "", p->nevra, ".complete");
        if (faccessat(c->dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 ||
            !last_use(c, p->nevra, &used) || used.tv_sec != p->used.tv_sec ||
            used.tv_nsec != p->used.tv_nsec) {
                close(lock);
                return 0;
        }
        /* The marker goes first: from then on the tree is incomplete for
         * everyone, and a crash here leaves something cache_get() redoes. */
        if (unlinkat(c->dfd, name, 0) < 0) {
                r = error_set_errno(err, errno, "cannot remove '%s/%s'", c->pkgdir, name);
                close(lock);
                return r;
        }
        /* Renamed away under the lock, removed after it: a waiting
         * cache_get() extracts afresh instead of waiting for the removal.
         * Should the rename fail, the tree goes in place, under the lock. */
        snprintf(gone, sizeof gone, ".%s.evict.%ld", p->nevra, (long)getpid());
        bool moved = renameat(c->dfd, p->nevra, c->dfd, gone) == 0;
        r = 1;
        if (path_join2(path, sizeof path, c->pkgdir, moved ? gone : p->nevra) < 0)
                r = error_set(err, ENAMETOOLONG, "path too long: '%s'", c->pkgdir);
        else if (!moved && remove_tree(path, err) < 0)
                r = -err->code;
        name_with(name, sizeof name, "", p->nevra, ".size");
        unlinkat(c->dfd, name, 0);
        name_with(name, sizeof name, "", p->nevra, ".used");
        unlinkat(c->dfd, name, 0);
        name_with(name, sizeof name, "", p->nevra, ".lock");
        unlinkat(c->dfd, name, 0);
        close(lock);
        if (moved && r == 1 && remove_tree(path, err) < 0)
                r = -err->code;
        return r;
}

int64_t cache_evict(struct pkg_cache *c, struct error *err)
{
        struct error local;
        if (!err)
                err = &local;
        int fd = openat(c->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                return error_set_errno(err, e, "cannot read '%s'", c->pkgdir);
        }
        struct cached *list = NULL;
        size_t count = 0, cap = 0;
        uint64_t total = 0;
        struct dirent *de;
        char path[PATH_MAX];
        while ((de = readdir(d))) {
                const char *s = de->d_name;
                size_t len = strlen(s);
                /* Trees whose eviction was cut short. */
                if (s[0] == '.' && is_evicted(s)) {
                        if (path_join2(path, sizeof path, c->pkgdir, s) == 0)
                                remove_tree(path, NULL);
                        continue;
                }
                if (s[0] == '.' || len <= strlen(".complete") ||
                    strcmp(s + len - strlen(".complete"), ".complete") != 0)
                        continue;
                len -= strlen(".complete");
                if (len > NEVRA_MAX_LEN)
                        continue;
                if (count == cap) {
                        cap = cap ? cap * 2 : 64;
                        struct cached *bigger = realloc(list, cap * sizeof *list);
                        if (!bigger) {
                                free(list);
                                closedir(d);
                                return error_set_errno(err, ENOMEM, "cannot read '%s'",
                                                       c->pkgdir);
                        }
                        list = bigger;
                }
                struct cached *p = &list[count];
                memcpy(p->nevra, s, len);
                p->nevra[len] = '\0';
                if (!last_use(c, p->nevra, &p->used))
                        continue;
                p->bytes = tree_size(c, p->nevra);
                total += p->bytes;
                count++;
        }
        closedir(d);

        int64_t freed = 0;
        int r = 0;
        if (c->max_bytes && total > c->max_bytes) {
                qsort(list, count, sizeof *list, by_use);
                time_t now = time(NULL);
                for (size_t i = 0; i < count && total > c->max_bytes; i++) {
                        if (now - list[i].used.tv_sec < CACHE_EVICT_GRACE_SECONDS)
                                break;          /* this and all later ones are in use */
                        int e = evict_one(c, &list[i], err);
                        if (e < 0 && r == 0)
                                r = e;
                        if (e > 0) {
                                freed += (int64_t)list[i].bytes;
                                total -= list[i].bytes;
                        }
                }
        }
        free(list);
        c->bytes = total;
        c->bytes_known = true;
        return r < 0 && freed == 0 ? r : freed;
}

bool cache_size(const struct pkg_cache *c, uint64_t *bytes)
{
        *bytes = c->bytes;
        return c->bytes_known;
}

/* --- task roots ------------------------------------------------------------- */

struct linker {
        const char *root, *tree;
        char rel[PATH_MAX];     /* the current directory, relative */
        size_t rel_len;
        struct error *err;
};

static int link_fail(struct linker *l, int code, const char *what, const char *name)
{
        char q[QUOTE_BUF];
        error_quote_n(l->rel, l->rel_len, QUOTE_MAX, q);
        return error_set_errno(l->err, code, "cannot %s '%s/%s%s%s' into '%s'", what, l->tree,
                               q, l->rel_len ? "/" : "", name, l->root);
}

/* A copy, when the file has as many links as its file system allows. */
static int copy_file(int sfd, int dfd, const char *name)
{
        int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return -errno;
        struct stat st;
        int out = -1, r = 0;
        if (fstat(in, &st) < 0) {
                r = -errno;
                goto out;
        }
        out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0) {
                r = errno == EEXIST ? 0 : -errno;
                goto out;
        }
        for (off_t left = st.st_size; left > 0;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        break;
                }
                left -= n;
        }
        if (r == 0 && fchmod(out, st.st_mode & 0755) < 0)
                r = -errno;
out:
        if (out >= 0)
                close(out);
        close(in);
        return r;
}

/* Links the entries of directory src (consumed) into dst. */
static int link_dir(struct linker *l, int src, int dst, unsigned depth)
{
        DIR *d = fdopendir(src);
        if (!d) {
                int e = errno;
                close(src);
                return link_fail(l, e, "read", ".");
        }
        int r = 0;
        struct dirent *de;
        char target[PATH_MAX];
        while (r == 0 && (errno = 0, de = readdir(d))) {
                const char *name = de->d_name;
                if (!strcmp(name, ".") || !strcmp(name, ".."))
                        continue;
                unsigned char type = de->d_type;
                if (type == DT_UNKNOWN) {
                        struct stat st;
                        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                                r = link_fail(l, errno, "inspect", name);
                                break;
                        }
                        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
                             : S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
                }
                if (type == DT_REG) {
                        if (linkat(dirfd(d), name, dst, name, 0) == 0 || errno == EEXIST)
                                continue;
                        int e = errno;
                        if (e == EMLINK && (e = -copy_file(dirfd(d), dst, name)) == 0)
                                continue;
                        r = link_fail(l, e, "link", name);
                } else if (type == DT_LNK) {
                        ssize_t n = readlinkat(dirfd(d), name, target, sizeof target);
                        if (n < 0 || (size_t)n >= sizeof target) {
                                r = link_fail(l, n < 0 ? errno : ENAMETOOLONG, "read", name);
                                break;
                        }
                        target[n] = '\0';
                        if (symlinkat(target, dst, name) < 0 && errno != EEXIST)
                                r = link_fail(l, errno, "copy the symlink", name);
                } else if (type == DT_DIR) {
                        if (depth >= CACHE_MAX_DEPTH) {
                                r = link_fail(l, ENAMETOOLONG, "descend into", name);
                                break;
                        }
                        bool made = mkdirat(dst, name, 0700) == 0;
                        if (!made && errno != EEXIST) {
                                r = link_fail(l, errno, "create directory", name);
                                break;
                        }
                        int cdst = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                          O_CLOEXEC);
                        if (cdst < 0) {
                                if (errno == ENOTDIR || errno == ELOOP)
                                        continue;       /* not a directory in root: it wins */
                                r = link_fail(l, errno, "open directory", name);
                                break;
                        }
                        if (made && fchmod(cdst, 0755) < 0) {
                                r = link_fail(l, errno, "set the mode of", name);
                                close(cdst);
                                break;
                        }
                        int csrc = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                          O_CLOEXEC);
                        if (csrc < 0) {
                                r = link_fail(l, errno, "open directory", name);
                                close(cdst);
                                break;
                        }
                        size_t saved = l->rel_len, nlen = strlen(name);
                        if (saved + nlen + 2 > sizeof l->rel) {
                                r = link_fail(l, ENAMETOOLONG, "descend into", name);
                                close(csrc);
                                close(cdst);
                                break;
                        }
                        if (saved)
                                l->rel[l->rel_len++] = '/';
                        memcpy(l->rel + l->rel_len, name, nlen + 1);
                        l->rel_len += nlen;
                        r = link_dir(l, csrc, cdst, depth + 1);
                        l->rel_len = saved;
                        l->rel[saved] = '\0';
                        close(cdst);
                }
                /* Anything else cannot be in a tree the cache made. */
        }
        if (r == 0 && errno != 0)
                r = link_fail(l, errno, "read", ".");
        closedir(d);
        return r;
}

int root_add_package(const char *root, const char *tree, struct error *err)
{
        struct linker l = { .root = root, .tree = tree, .err = err };
        int r = mkdir_parents(root, 0755);
        if (r < 0)
                return error_set_errno(err, -r, "cannot create the root '%s'", root);
        int dst = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
                return error_set_errno(err, errno, "cannot open the root '%s'", root);
        int src = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (src < 0) {
                int e = errno;
                close(dst);
                return error_set_errno(err, e, "cannot open the package tree '%s'", tree);
        }
        r = link_dir(&l, src, dst, 0);
        close(dst);
        return r;
}

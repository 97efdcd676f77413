#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "problemdir.h"

#define LOCK_NAME ".lock"
#define LOCK_WAIT_MS 10000
#define LOCK_STEP_MS 10

int problem_dir_open(const char *path, struct problem_dir **out, struct error *err)
{
        char q[QUOTE_BUF];
        *out = NULL;
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return error_set_errno(err, errno, "cannot open the problem directory '%s'",
                                       error_quote(path, q));
        struct stat st;
        if (fstat(dfd, &st) < 0) {
                int e = errno;
                close(dfd);
                return error_set_errno(err, e, "cannot open the problem directory '%s'",
                                       error_quote(path, q));
        }
        struct problem_dir *pd = calloc(1, sizeof *pd);
        if (!pd || !(pd->path = strdup(path))) {
                free(pd);
                close(dfd);
                return error_set(err, ENOMEM, "out of memory");
        }
        pd->dfd = dfd;
        /* ABRT makes elements with the directory's mode less the x bits. */
        pd->file_mode = (st.st_mode & 0666) | 0600;
        pd->uid = st.st_uid;
        pd->gid = st.st_gid;
        *out = pd;
        return 0;
}

void problem_dir_free(struct problem_dir *pd)
{
        if (!pd)
                return;
        if (pd->dfd >= 0)
                close(pd->dfd);
        free(pd->path);
        free(pd);
}

int problem_dir_open_element(const struct problem_dir *pd, const char *name,
                             struct stat *st, struct error *err)
{
        char q[QUOTE_BUF];
        int fd = openat(pd->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                if (e == ENOENT)
                        return error_set(err, ENOENT, "'%s' is missing in the problem "
                                         "directory '%s'", name, error_quote(pd->path, q));
                if (e == ELOOP)
                        return error_set(err, e, "'%s' in '%s' is a symbolic link; it must be a "
                                         "regular file", name, error_quote(pd->path, q));
                return error_set_errno(err, e, "cannot open '%s' in '%s'", name,
                                       error_quote(pd->path, q));
        }
        if (fstat(fd, st) < 0) {
                int e = errno;
                close(fd);
                return error_set_errno(err, e, "cannot read '%s' in '%s'", name,
                                       error_quote(pd->path, q));
        }
        if (!S_ISREG(st->st_mode)) {
                close(fd);
                return error_set(err, EINVAL, "'%s' in '%s' is not a regular file", name,
                                 error_quote(pd->path, q));
        }
        /* O_NONBLOCK only kept a FIFO from blocking the open. */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
                (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        return fd;
}

int problem_dir_read(const struct problem_dir *pd, const char *name, char *buf,
                     size_t len, struct error *err)
{
        char q[QUOTE_BUF];
        struct stat st;
        buf[0] = '\0';
        int fd = problem_dir_open_element(pd, name, &st, err);
        if (fd < 0)
                return fd;
        size_t got = 0;
        for (;;) {
                if (got == len) {
                        close(fd);
                        buf[0] = '\0';
                        return error_set(err, EFBIG, "'%s' in '%s' is longer than %zu bytes", name,
                                         error_quote(pd->path, q), len - 1);
                }
                ssize_t n = read(fd, buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        close(fd);
                        buf[0] = '\0';
                        return error_set_errno(err, e, "cannot read '%s' in '%s'", name,
                                               error_quote(pd->path, q));
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        if (got == len) {
                buf[0] = '\0';
                return error_set(err, EFBIG, "'%s' in '%s' is longer than %zu bytes", name,
                                 error_quote(pd->path, q), len - 1);
        }
        while (got > 0 && isspace((unsigned char)buf[got - 1]))
                got--;
        buf[got] = '\0';
        if (memchr(buf, '\0', got))
                return error_set(err, EINVAL, "'%s' in '%s' holds a NUL byte", name,
                                 error_quote(pd->path, q));
        return 0;
}

/* --- ABRT's lock --------------------------------------------------------
 * libreport locks a problem directory with a symlink ".lock" whose target
 * is the holder's pid; a lock whose process is gone is stale. Returns 0
 * when we took it, 1 when our parent holds it (ABRT running us on this
 * directory: we write under its lock and must not remove it), -errno. */

static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int dir_lock(const struct problem_dir *pd, struct error *err)
{
        char q[QUOTE_BUF];
        char me[32];
        snprintf(me, sizeof me, "%ld", (long)getpid());
        for (long waited = 0;; waited += LOCK_STEP_MS) {
                if (symlinkat(me, pd->dfd, LOCK_NAME) == 0)
                        return 0;
                if (errno != EEXIST)
                        return error_set_errno(err, errno, "cannot lock the problem directory '%s'",
                                               error_quote(pd->path, q));
                char holder[32];
                ssize_t n = readlinkat(pd->dfd, LOCK_NAME, holder, sizeof holder - 1);
                if (n < 0) {
                        if (errno == ENOENT || errno == EINVAL)
                                continue;       /* released meanwhile, or not a link: retry */
                        return error_set_errno(err, errno, "cannot lock the problem directory '%s'",
                                               error_quote(pd->path, q));
                }
                holder[n] = '\0';
                char *end;
                long pid = strtol(holder, &end, 10);
                if (*end || pid <= 0) {
                        return error_set(err, EBUSY, "cannot lock the problem directory '%s': "
                                         "its lock '" LOCK_NAME "' is not a pid",
                                         error_quote(pd->path, q));
                }
                if (pid == (long)getpid())
                        return 1;       /* a lock we left behind: ours already */
                if (pid == (long)getppid())
                        return 1;
                char proc[64];
                snprintf(proc, sizeof proc, "/proc/%ld", pid);
                if (access(proc, F_OK) < 0 && errno == ENOENT) {
                        /* Stale: its holder is gone. */
                        if (unlinkat(pd->dfd, LOCK_NAME, 0) < 0 && errno != ENOENT)
                                return error_set_errno(err, errno, "cannot remove the stale lock "
                                                       "of '%s'", error_quote(pd->path, q));
                        continue;
                }
                if (waited >= LOCK_WAIT_MS)
                        return error_set(err, EBUSY, "the problem directory '%s' stayed locked by "
                                         "process %ld for %d s", error_quote(pd->path, q), pid,
                                         LOCK_WAIT_MS / 1000);
                sleep_ms(LOCK_STEP_MS);
        }
}

static void dir_unlock(const struct problem_dir *pd, int how)
{
        if (how == 0)
                (void)unlinkat(pd->dfd, LOCK_NAME, 0);
}

/* --- atomic writes ------------------------------------------------------ */

int problem_dir_write_begin(const struct problem_dir *pd, struct pd_write *w,
                            mode_t mode, struct error *err)
{
        char q[QUOTE_BUF];
        static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
        w->fd = -1;
        for (int attempt = 0; attempt < 100; attempt++) {
                char suffix[7];
                for (int i = 0; i < 6; i++) {
                        seed = seed * 1103515245u + 12345u + (unsigned)attempt;
                        suffix[i] = chars[(seed >> 16) % (sizeof chars - 1)];
                }
                suffix[6] = '\0';
                snprintf(w->tmp, sizeof w->tmp, ".retrace-client.%s", suffix);
                int fd = openat(pd->dfd, w->tmp,
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                mode ? mode : pd->file_mode);
                if (fd >= 0) {
                        /* The umask must not widen or narrow what we asked for. */
                        (void)fchmod(fd, mode ? mode : pd->file_mode);
                        if (geteuid() == 0 && fchown(fd, pd->uid, pd->gid) < 0) {
                                int e = errno;
                                close(fd);
                                (void)unlinkat(pd->dfd, w->tmp, 0);
                                return error_set_errno(err, e, "cannot give a new file in '%s' "
                                                       "the directory's owner",
                                                       error_quote(pd->path, q));
                        }
                        w->fd = fd;
                        return 0;
                }
                if (errno != EEXIST)
                        return error_set_errno(err, errno, "cannot write in the problem "
                                               "directory '%s'", error_quote(pd->path, q));
        }
        return error_set(err, EEXIST, "cannot write in the problem directory '%s': no free "
                         "temporary name", error_quote(pd->path, q));
}

void problem_dir_write_abort(const struct problem_dir *pd, struct pd_write *w)
{
        if (w->fd >= 0) {
                close(w->fd);
                w->fd = -1;
                (void)unlinkat(pd->dfd, w->tmp, 0);
        }
}

int problem_dir_write_commit(const struct problem_dir *pd, struct pd_write *w,
                             const char *name, struct error *err)
{
        char q[QUOTE_BUF];
        if (fsync(w->fd) < 0) {
                int e = errno;
                problem_dir_write_abort(pd, w);
                return error_set_errno(err, e, "cannot write '%s' in '%s'", name,
                                       error_quote(pd->path, q));
        }
        int r = close(w->fd);
        w->fd = -1;
        if (r < 0) {
                int e = errno;
                (void)unlinkat(pd->dfd, w->tmp, 0);
                return error_set_errno(err, e, "cannot write '%s' in '%s'", name,
                                       error_quote(pd->path, q));
        }
        int how = dir_lock(pd, err);
        if (how < 0) {
                (void)unlinkat(pd->dfd, w->tmp, 0);
                return how;
        }
        r = renameat(pd->dfd, w->tmp, pd->dfd, name);
        int e = errno;
        dir_unlock(pd, how);
        if (r < 0) {
                (void)unlinkat(pd->dfd, w->tmp, 0);
                return error_set_errno(err, e, "cannot write '%s' in '%s'", name,
                                       error_quote(pd->path, q));
        }
        if (fsync(pd->dfd) < 0 && errno != EINVAL)
                return error_set_errno(err, errno, "cannot write '%s' in '%s'", name,
                                       error_quote(pd->path, q));
        return 0;
}

int problem_dir_save(const struct problem_dir *pd, const char *name, const void *data,
                     size_t len, mode_t mode, struct error *err)
{
        char q[QUOTE_BUF];
        struct pd_write w;
        int r = problem_dir_write_begin(pd, &w, mode, err);
        if (r < 0)
                return r;
        if ((r = fd_write_all(w.fd, data, len)) < 0) {
                problem_dir_write_abort(pd, &w);
                return error_set_errno(err, -r, "cannot write '%s' in '%s'", name,
                                       error_quote(pd->path, q));
        }
        return problem_dir_write_commit(pd, &w, name, err);
}

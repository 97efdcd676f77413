/* fsutil.h: small file-system helpers every program needs. */
#ifndef RETRACE_FSUTIL_H
#define RETRACE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* snprintf into buf; -ENAMETOOLONG instead of a silently cut path. */
int path_format(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* mkdir -p: creates path and its missing parents with mode (filtered by
 * the umask). 0 when it exists as a directory; -errno otherwise. */
int mkdir_parents(const char *path, mode_t mode);

/* Writes all len bytes of data to fd (at offset for fd_pwrite_all),
 * going on after short writes and EINTR. 0, or -errno (-EIO if the
 * kernel accepts nothing and says no error). */
int fd_write_all(int fd, const void *data, size_t len);
int fd_pwrite_all(int fd, const void *data, size_t len, off_t offset);

/* An exclusive flock() on fd, going on after EINTR; wait false: -EWOULDBLOCK
 * at once when another holds it. 0, or -errno. */
int fd_lock(int fd, bool wait);

/* A process's state letter (R, S, Z, ...) and parent from /proc/PID/stat.
 * 0, or -errno (-ENOENT: no such process). */
int proc_stat_read(long pid, char *state, long *ppid);

#endif

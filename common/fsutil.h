/* fsutil.h: small file-system helpers every program needs. */
#ifndef RETRACE_FSUTIL_H
#define RETRACE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* snprintf into buf; -ENAMETOOLONG instead of a silently cut path. */
int path_format(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* mkdir -p: creates path and its missing parents with mode (filtered by
 * the umask). 0 when it exists as a directory; -errno otherwise. */
int mkdir_parents(const char *path, mode_t mode);

#endif

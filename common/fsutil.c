#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "fsutil.h"

int path_format(char *buf, size_t len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, len, fmt, ap);
        va_end(ap);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int mkdir_parents(const char *path, mode_t mode)
{
        char buf[PATH_MAX];
        if (path_format(buf, sizeof buf, "%s", path) < 0)
                return -ENAMETOOLONG;
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        struct stat st;
        if (stat(buf, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* offset < 0: write() at the file position. */
static int write_all(int fd, const void *data, size_t len, off_t offset)
{
        const char *p = data;
        while (len) {
                ssize_t n = offset < 0 ? write(fd, p, len) : pwrite(fd, p, len, offset);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
                if (offset >= 0)
                        offset += n;
        }
        return 0;
}

int fd_write_all(int fd, const void *data, size_t len)
{
        return write_all(fd, data, len, -1);
}

int fd_pwrite_all(int fd, const void *data, size_t len, off_t offset)
{
        return offset < 0 ? -EINVAL : write_all(fd, data, len, offset);
}

int fd_lock(int fd, bool wait)
{
        while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

int proc_stat_read(long pid, char *state, long *ppid)
{
        char path[64], line[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, line, sizeof line - 1);
        int e = errno;
        close(fd);
        if (n < 0)
                return -e;
        line[n] = '\0';
        /* "pid (comm) state ppid ...": comm may hold anything, ')' too. */
        const char *rp = strrchr(line, ')');
        return rp && sscanf(rp + 1, " %c %ld", state, ppid) == 2 ? 0 : -EINVAL;
}

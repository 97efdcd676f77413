/* problemdir.h: the ABRT problem directory the client reads and writes.
 *
 * Elements are the files of the directory. They are opened with
 * O_NOFOLLOW relative to the directory's descriptor and must be regular
 * files. Writes replace an element atomically: a hidden temporary file in
 * the directory, fsync, rename over the element, fsync of the directory,
 * the rename done under ABRT's lock on the directory (libreport's
 * ".lock" symlink to the holder's pid) so that ABRT never sees a half
 * written element and does not delete the directory under us mid-write.
 *
 * Elements the client writes (see retrace-client(1)):
 *   retrace_task_id        the task's id, as soon as /create answers
 *   retrace_task_password  the password to use next (mode 0600), replaced
 *                          after every answer that carries a new one
 *   backtrace              the task's backtrace (FINISHED_SUCCESS)
 *   exploitable            the exploitability text, when its rating >= 4
 */
#ifndef RETRACE_CLIENT_PROBLEMDIR_H
#define RETRACE_CLIENT_PROBLEMDIR_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

#define PD_TASK_ID "retrace_task_id"
#define PD_TASK_PASSWORD "retrace_task_password"
#define PD_BACKTRACE "backtrace"
#define PD_EXPLOITABLE "exploitable"

struct problem_dir {
        char *path;
        int dfd;
        mode_t file_mode;       /* for new elements: the directory's mode without x bits */
        uid_t uid;              /* the directory's owner: new elements get it when */
        gid_t gid;              /* we run as root, as ABRT's dd_save_text() does */
};

/* Opens the directory. */
int problem_dir_open(const char *path, struct problem_dir **out, struct error *err);
void problem_dir_free(struct problem_dir *pd);

/* Opens an element read-only; it must be a regular file. Returns the
 * descriptor (st filled), -ENOENT when it does not exist, another
 * negative errno otherwise (err says which and why). */
int problem_dir_open_element(const struct problem_dir *pd, const char *name,
                             struct stat *st, struct error *err);

/* Reads a small element into buf (NUL-terminated), trailing whitespace
 * removed. -ENOENT when missing, -EFBIG when it holds len bytes or more. */
int problem_dir_read(const struct problem_dir *pd, const char *name, char *buf,
                     size_t len, struct error *err);

/* Atomic replacement of an element written in pieces. */
struct pd_write {
        char tmp[64];
        int fd;
};

/* Creates the temporary file; w->fd is open for writing. */
int problem_dir_write_begin(const struct problem_dir *pd, struct pd_write *w,
                            mode_t mode, struct error *err);
/* fsync, rename to name under the directory's lock, fsync the directory.
 * On failure the temporary file is removed. */
int problem_dir_write_commit(const struct problem_dir *pd, struct pd_write *w,
                             const char *name, struct error *err);
/* Removes the temporary file (no-op after commit). */
void problem_dir_write_abort(const struct problem_dir *pd, struct pd_write *w);

/* Writes data[0..len) as element name, atomically. mode 0 means the
 * directory's default (pd->file_mode). */
int problem_dir_save(const struct problem_dir *pd, const char *name, const void *data,
                     size_t len, mode_t mode, struct error *err);

#endif

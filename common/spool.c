#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "spool.h"

static const struct {
        const char *word, *status, *progress;
} stages[TASK_STAGE_COUNT] = {
        [TASK_STAGE_QUEUED] = { "QUEUED", "PENDING", "Queued" },
        [TASK_STAGE_ANALYZING] = { "ANALYZING", "PENDING", "Analyzing crash data" },
        [TASK_STAGE_PREPARING] = { "PREPARING", "PENDING",
                "Preparing environment for backtrace generation" },
        [TASK_STAGE_RETRACING] = { "RETRACING", "PENDING", "Generating backtrace" },
        [TASK_STAGE_CLEANING] = { "CLEANING", "PENDING",
                "Cleaning environment after backtrace generation" },
        [TASK_STAGE_FINISHED_SUCCESS] = { "FINISHED_SUCCESS", "FINISHED_SUCCESS",
                "Retrace job finished successfully" },
        [TASK_STAGE_FINISHED_FAILURE] = { "FINISHED_FAILURE", "FINISHED_FAILURE",
                "Retrace job failed" },
};

const char *task_stage_word(enum task_stage stage)
{
        return stage < TASK_STAGE_COUNT ? stages[stage].word : "UNKNOWN";
}

const char *task_stage_status(enum task_stage stage)
{
        return stage < TASK_STAGE_COUNT ? stages[stage].status : "PENDING";
}

const char *task_stage_progress(enum task_stage stage)
{
        return stage < TASK_STAGE_COUNT ? stages[stage].progress : "Unknown";
}

int task_stage_parse(const char *word, enum task_stage *stage)
{
        for (int i = 0; i < TASK_STAGE_COUNT; i++)
                if (strcmp(word, stages[i].word) == 0) {
                        *stage = (enum task_stage)i;
                        return 0;
                }
        return -EINVAL;
}

bool task_id_parse(const char *s, size_t len, task_id *id)
{
        if (len != TASK_ID_LEN || s[0] < '1' || s[0] > '9')
                return false;
        uint32_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint32_t)(s[i] - '0');
        }
        *id = v;
        return true;
}

static int path_join(char *buf, size_t len, const char *a, const char *b)
{
        int n = snprintf(buf, len, "%s/%s", a, b);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int spool_task_path(const char *spool_dir, task_id id, const char *file,
                    char *path, size_t path_len)
{
        int n = file ? snprintf(path, path_len, "%s/" SPOOL_TASKS_DIR "/%u/%s",
                                spool_dir, id, file)
                     : snprintf(path, path_len, "%s/" SPOOL_TASKS_DIR "/%u",
                                spool_dir, id);
        return n < 0 || (size_t)n >= path_len ? -ENAMETOOLONG : 0;
}

static int marker_path(const char *spool_dir, const char *sub, task_id id,
                       char *path, size_t path_len)
{
        int n = snprintf(path, path_len, "%s/%s/%u", spool_dir, sub, id);
        return n < 0 || (size_t)n >= path_len ? -ENAMETOOLONG : 0;
}

int spool_read_file(const char *path, char *buf, size_t max, size_t *len,
                    struct error *err)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot open '%s'", path);
        size_t got = 0;
        while (got < max) {
                ssize_t n = read(fd, buf + got, max - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        close(fd);
                        return error_set_errno(err, e, "cannot read '%s'", path);
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        if (got == max)
                return error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max - 1);
        buf[got] = '\0';
        if (len)
                *len = got;
        return 0;
}

int spool_write_file(const char *dir, const char *name, const void *data,
                     size_t len, mode_t mode, struct error *err)
{
        char tmp[PATH_MAX], final[PATH_MAX];
        if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp ||
            path_join(final, sizeof final, dir, name) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'", dir, name);

        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot create a temporary file in '%s'", dir);
        int r = fd_write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        /* fsync before the rename: after a crash the name holds either the
         * old file or the whole new one, never an empty one. */
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, final) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return error_set_errno(err, -r, "cannot write '%s'", final);
        }
        return 0;
}

static int give_to(const char *path, uid_t owner, gid_t group, struct error *err)
{
        if (owner != (uid_t)-1 && lchown(path, owner, group) < 0)
                return error_set_errno(err, errno, "cannot change the owner of '%s'", path);
        return 0;
}

int spool_mkdir(const char *path, mode_t mode, struct error *err)
{
        struct stat st;
        if (mkdir(path, mode) < 0)
                return error_set_errno(err, errno, "cannot create directory '%s'", path);
        /* mkdir(2) filters mode through the umask; chmod(2) would clear an
         * inherited S_ISGID unless it is asked for. */
        if (stat(path, &st) < 0 || chmod(path, (st.st_mode & S_ISGID) | mode) < 0) {
                int e = errno;
                rmdir(path);
                return error_set_errno(err, e, "cannot set the mode of '%s'", path);
        }
        return 0;
}

static int mkdir_if_missing(const char *path, mode_t mode, uid_t owner,
                            gid_t group, struct error *err)
{
        int r = spool_mkdir(path, mode, err);
        if (r == 0) {
                r = give_to(path, owner, group, err);
                if (r < 0)
                        return r;
        } else if (r != -EEXIST) {
                return r;
        }
        struct stat st;
        if (stat(path, &st) < 0)
                return error_set_errno(err, errno, "cannot stat '%s'", path);
        if (!S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "'%s' is not a directory", path);
        return 0;
}

int spool_init(const char *spool_dir, uid_t owner, gid_t group, struct error *err)
{
        static const char *const subdirs[] = {
                SPOOL_TASKS_DIR, SPOOL_QUEUE_DIR, SPOOL_RUNNING_DIR, SPOOL_STATS_DIR
        };
        char path[PATH_MAX], buf[64];
        int r = mkdir_if_missing(spool_dir, TASK_DIR_MODE, owner, group, err);
        if (r < 0)
                return r;
        if (path_join(path, sizeof path, spool_dir, "layout") < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);

        char expected[64];
        snprintf(expected, sizeof expected, "retrace-spool %d\n", SPOOL_LAYOUT_VERSION);
        r = spool_read_file(path, buf, sizeof buf, NULL, NULL);
        if (r == -ENOENT) {
                r = spool_write_file(spool_dir, "layout", expected, strlen(expected),
                                     0664, err);
                if (r == 0)
                        r = give_to(path, owner, group, err);
                if (r < 0)
                        return r;
        } else if (r < 0) {
                return spool_read_file(path, buf, sizeof buf, NULL, err);
        } else if (strcmp(buf, expected) != 0) {
                buf[strcspn(buf, "\n")] = '\0';
                return error_set(err, EPROTO,
                                 "spool '%s' has layout '%s', this program knows 'retrace-spool %d'",
                                 spool_dir, buf, SPOOL_LAYOUT_VERSION);
        }
        for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
                if (path_join(path, sizeof path, spool_dir, subdirs[i]) < 0)
                        return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
                r = mkdir_if_missing(path, TASK_DIR_MODE, owner, group, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int spool_task_create(const char *spool_dir, task_id *id, char *path,
                      size_t path_len, struct error *err)
{
        /* With a million live tasks a random id collides one time in 900;
         * a hundred tries failing means something else is wrong. */
        for (int attempt = 0; attempt < 100; attempt++) {
                uint32_t rnd;
                if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                        return error_set_errno(err, errno, "cannot read random bytes for a task id");
                /* 2^32 is not a multiple of 9e8, so some ids come up a
                 * quarter more often than others. Ids are names, not
                 * secrets (the password guards a task): that is harmless. */
                task_id candidate = TASK_ID_MIN + rnd % (TASK_ID_MAX - TASK_ID_MIN + 1);
                if (spool_task_path(spool_dir, candidate, NULL, path, path_len) < 0)
                        return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
                int r = spool_mkdir(path, TASK_DIR_MODE, err);
                if (r == 0) {
                        *id = candidate;
                        return 0;
                }
                if (r != -EEXIST)
                        return error_set_errno(err, -r, "cannot create task directory '%s'", path);
        }
        return error_set(err, EEXIST, "no free task id found in '%s/" SPOOL_TASKS_DIR "'", spool_dir);
}

int spool_task_queue(const char *spool_dir, task_id id, struct error *err)
{
        char path[PATH_MAX];
        if (marker_path(spool_dir, SPOOL_QUEUE_DIR, id, path, sizeof path) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, TASK_FILE_MODE);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot queue task %u: '%s'", id, path);
        close(fd);
        return 0;
}

int spool_task_claim(const char *spool_dir, task_id id, struct error *err)
{
        char from[PATH_MAX], to[PATH_MAX];
        if (marker_path(spool_dir, SPOOL_QUEUE_DIR, id, from, sizeof from) < 0 ||
            marker_path(spool_dir, SPOOL_RUNNING_DIR, id, to, sizeof to) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        /* rename(2) replaces an existing target, so refuse to claim a task
         * that already has a running marker (a second claim after a crash). */
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
                return error_set_errno(err, errno, "cannot claim task %u", id);
        return 0;
}

int spool_dir_path(const char *spool_dir, const char *sub, char *path, size_t path_len)
{
        return path_join(path, path_len, spool_dir, sub);
}

int spool_task_requeue(const char *spool_dir, task_id id, struct error *err)
{
        char from[PATH_MAX], to[PATH_MAX];
        if (marker_path(spool_dir, SPOOL_RUNNING_DIR, id, from, sizeof from) < 0 ||
            marker_path(spool_dir, SPOOL_QUEUE_DIR, id, to, sizeof to) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
                return error_set_errno(err, errno, "cannot queue task %u again", id);
        return 0;
}

int spool_task_release(const char *spool_dir, task_id id, struct error *err)
{
        char path[PATH_MAX];
        if (marker_path(spool_dir, SPOOL_RUNNING_DIR, id, path, sizeof path) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        if (unlink(path) < 0 && errno != ENOENT)
                return error_set_errno(err, errno, "cannot remove '%s'", path);
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
        return r < 0 && errno != ENOENT ? errno : 0;
}

int remove_tree(const char *path, struct error *err)
{
        /* FTW_PHYS: a symlink is removed, never followed. */
        int r = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        if (r < 0 && errno == ENOENT)
                return 0;
        if (r != 0)
                return error_set_errno(err, r > 0 ? r : errno, "cannot remove '%s'", path);
        return 0;
}

int spool_task_remove(const char *spool_dir, task_id id, struct error *err)
{
        char path[PATH_MAX];
        static const char *const markers[] = { SPOOL_QUEUE_DIR, SPOOL_RUNNING_DIR };
        for (size_t i = 0; i < 2; i++) {
                if (marker_path(spool_dir, markers[i], id, path, sizeof path) < 0)
                        return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
                if (unlink(path) < 0 && errno != ENOENT)
                        return error_set_errno(err, errno, "cannot remove '%s'", path);
        }
        if (spool_task_path(spool_dir, id, NULL, path, sizeof path) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        return remove_tree(path, err);
}

static int count_entries(const char *dir, unsigned *count, struct error *err)
{
        DIR *d = opendir(dir);
        if (!d)
                return error_set_errno(err, errno, "cannot open directory '%s'", dir);
        unsigned n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        *count = n;
        return 0;
}

int spool_count_active(const char *spool_dir, unsigned *queued,
                       unsigned *running, struct error *err)
{
        char path[PATH_MAX];
        int r;
        if (path_join(path, sizeof path, spool_dir, SPOOL_QUEUE_DIR) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        if ((r = count_entries(path, queued, err)) < 0)
                return r;
        if (path_join(path, sizeof path, spool_dir, SPOOL_RUNNING_DIR) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        return count_entries(path, running, err);
}

int task_read_stage(const char *task_dir, enum task_stage *stage, struct error *err)
{
        char path[PATH_MAX], buf[64];
        if (path_join(path, sizeof path, task_dir, TASK_STATUS_FILE) < 0)
                return error_set(err, ENAMETOOLONG, "task path too long: '%s'", task_dir);
        int r = spool_read_file(path, buf, sizeof buf, NULL, err);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = '\0';
        if (task_stage_parse(buf, stage) < 0)
                return error_set(err, EINVAL, "'%s' holds an unknown stage '%s'", path, buf);
        return 0;
}

int task_write_stage(const char *task_dir, enum task_stage stage, struct error *err)
{
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%s\n", task_stage_word(stage));
        return spool_write_file(task_dir, TASK_STATUS_FILE, buf, (size_t)n,
                                TASK_FILE_MODE, err);
}

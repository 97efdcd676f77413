/* spool.h: the spool, the contract between mod_retrace and retrace-worker.
 *
 * Layout version 1 (SPOOL_LAYOUT_VERSION). Everything below lives in
 * SpoolDir (retrace-server.conf, [paths] SpoolDir):
 *
 *   layout                  "retrace-spool 1\n"; a spool of another version
 *                           is refused, never guessed at
 *   tasks/<id>/             one directory per task, mode 0770: httpd's user
 *                           and the worker share a group, nobody else reads
 *       password            hash of the task's current password (password.h)
 *       type                task type, "0\n" or "1\n" (X-Task-Type)
 *       crash/              the accepted archive members (coredump,
 *                           executable, package, os_release, ...)
 *       status              one stage word (task_stage_word()), newline
 *       retrace_log         the task's log, lines "[YYYY-MM-DD HH:MM:SS] LEVEL text"
 *       retrace_backtrace   gdb's output, once FINISHED_SUCCESS
 *       exploitable         the exploitability rating, when there is one
 *       started_time        unix seconds, when the worker claimed it
 *       finished_time       unix seconds, when it finished
 *   queue/<id>              empty marker: the task is complete and waits
 *   running/<id>            the same marker, renamed here by the worker
 *                           that claimed the task
 *   stats/                  counters for /metrics that the worker keeps
 *       worker              text, "retrace-worker-stats 1" then "name value"
 *                           lines: tasks finished by result, stage duration
 *                           histograms, cache hits, misses and size; the
 *                           fields and the update rule are in stats.h
 *       .lock               flock(2) by whoever updates worker
 *
 * Publishing rule: every file another process reads is written to a
 * temporary name starting with '.' in the same directory and renamed into
 * place (spool_write_file()), so a reader sees the old or the new content,
 * never half of it. Names starting with '.' are never read or counted.
 *
 * Life of a task:
 *   1. mod_retrace makes tasks/<id>/ with an atomic mkdir (the id is
 *      reserved), streams the upload into crash/, writes password, type and
 *      status (QUEUED). A task directory without a status file is still
 *      being created: invisible to clients, and removed by whoever made it
 *      if the upload fails.
 *   2. mod_retrace creates queue/<id>. From now on the worker may take it.
 *   3. A worker claims it: rename(queue/<id>, running/<id>). Exactly one
 *      rename succeeds, on one host or several sharing the spool.
 *   4. The worker rewrites status through the stages, writes the results,
 *      writes status FINISHED_SUCCESS or FINISHED_FAILURE, then removes
 *      running/<id>.
 *   5. A task is deleted by removing its marker first, then its directory.
 *
 * queue/ plus running/ is the number of active tasks (/settings
 * running_tasks, the 503 limit).
 */
#ifndef RETRACE_SPOOL_H
#define RETRACE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define SPOOL_LAYOUT_VERSION 1

#define SPOOL_TASKS_DIR    "tasks"
#define SPOOL_QUEUE_DIR    "queue"
#define SPOOL_RUNNING_DIR  "running"
#define SPOOL_STATS_DIR    "stats"

#define TASK_PASSWORD_FILE   "password"
#define TASK_TYPE_FILE       "type"
#define TASK_CRASH_DIR       "crash"
#define TASK_STATUS_FILE     "status"
#define TASK_LOG_FILE        "retrace_log"
#define TASK_BACKTRACE_FILE  "retrace_backtrace"
#define TASK_EXPLOITABLE_FILE "exploitable"
#define TASK_STARTED_FILE    "started_time"
#define TASK_FINISHED_FILE   "finished_time"

#define TASK_DIR_MODE   0770
#define TASK_FILE_MODE  0660

/* Task ids: 9 decimal digits, [100000000, 999999999]. */
#define TASK_ID_MIN 100000000u
#define TASK_ID_MAX 999999999u
#define TASK_ID_LEN 9

typedef uint32_t task_id;

enum task_type {
        TASK_TYPE_RETRACE = 0,  /* retrace a coredump */
        TASK_TYPE_DEBUG = 1,    /* the same, keep the environment */
        TASK_TYPE_COUNT
};

enum task_stage {
        TASK_STAGE_QUEUED,
        TASK_STAGE_ANALYZING,
        TASK_STAGE_PREPARING,
        TASK_STAGE_RETRACING,
        TASK_STAGE_CLEANING,
        TASK_STAGE_FINISHED_SUCCESS,
        TASK_STAGE_FINISHED_FAILURE,
        TASK_STAGE_COUNT
};

/* The word stored in the status file ("QUEUED", "ANALYZING", ...). */
const char *task_stage_word(enum task_stage stage);
/* X-Task-Status: PENDING, FINISHED_SUCCESS or FINISHED_FAILURE. */
const char *task_stage_status(enum task_stage stage);
/* X-Task-Progress: "Queued", "Analyzing crash data", ... */
const char *task_stage_progress(enum task_stage stage);
int task_stage_parse(const char *word, enum task_stage *stage);

/* Exactly TASK_ID_LEN digits, no sign, no leading zero. */
bool task_id_parse(const char *s, size_t len, task_id *id);

/* Creates the spool's directories and layout file when missing, and checks
 * the layout version of an existing spool. What it creates is given to
 * owner:group unless owner is (uid_t)-1 (httpd calls this as root, before
 * its children switch to their user). */
int spool_init(const char *spool_dir, uid_t owner, gid_t group, struct error *err);

/* Reserves a fresh random id with an atomic mkdir of tasks/<id>
 * (TASK_DIR_MODE), retrying on collision. path receives the directory. */
int spool_task_create(const char *spool_dir, task_id *id,
                      char *path, size_t path_len, struct error *err);

/* path = SpoolDir/<sub> (SPOOL_QUEUE_DIR, ...). */
int spool_dir_path(const char *spool_dir, const char *sub, char *path, size_t path_len);

/* path = SpoolDir/tasks/<id>[/file]; file may be NULL. */
int spool_task_path(const char *spool_dir, task_id id, const char *file,
                    char *path, size_t path_len);

/* Creates queue/<id>: the task becomes visible to workers. */
int spool_task_queue(const char *spool_dir, task_id id, struct error *err);

/* Moves queue/<id> to running/<id>. -ENOENT: another worker was first. */
int spool_task_claim(const char *spool_dir, task_id id, struct error *err);

/* Moves running/<id> back to queue/<id>: a claim given up (its worker was
 * interrupted). */
int spool_task_requeue(const char *spool_dir, task_id id, struct error *err);

/* Removes running/<id> once the task has its final status. */
int spool_task_release(const char *spool_dir, task_id id, struct error *err);

/* Removes the task's marker, then its directory and everything in it. */
int spool_task_remove(const char *spool_dir, task_id id, struct error *err);

/* Counts queue/ and running/ entries (names starting with '.' excluded). */
int spool_count_active(const char *spool_dir, unsigned *queued,
                       unsigned *running, struct error *err);

/* Writes data to dir/name atomically: a '.'-prefixed temporary in dir,
 * fsync, rename. mode as for open(2). */
int spool_write_file(const char *dir, const char *name, const void *data,
                     size_t len, mode_t mode, struct error *err);

/* Reads a small file (at most max bytes, NUL-terminated) into buf. */
int spool_read_file(const char *path, char *buf, size_t max, size_t *len,
                    struct error *err);

/* Task stage, through the status file. */
int task_read_stage(const char *task_dir, enum task_stage *stage, struct error *err);
int task_write_stage(const char *task_dir, enum task_stage stage, struct error *err);

/* mkdir(path) with exactly `mode`, past the umask, keeping the
 * set-group-ID bit a directory inherits from a setgid parent: in a 2770
 * spool that bit is what gives every task directory the group httpd and
 * the worker share. -EEXIST when it exists. */
int spool_mkdir(const char *path, mode_t mode, struct error *err);

/* Removes a directory tree without following symlinks. */
int remove_tree(const char *path, struct error *err);

#endif

/* task.h: one task, from claimed to finished.
 *
 * Stages (common/spool.h): ANALYZING (read the crash data and the core),
 * PREPARING (resolve and assemble the root), RETRACING (gdb), CLEANING,
 * then FINISHED_SUCCESS or FINISHED_FAILURE. Each stage is logged to the
 * task's retrace_log with its duration; a failure says why in words the
 * user can act on. Results are published by rename.
 */
#ifndef WORKER_TASK_H
#define WORKER_TASK_H

#include <stdbool.h>

#include "cache.h"
#include "conf.h"
#include "spool.h"

struct worker_env {
        const struct retrace_conf *conf;
        struct pkg_cache *cache;
        bool verbose;           /* mirror task log lines to stderr */
};

/* Runs a task this worker has claimed (running/<id>) to its end: the
 * final status is written and the claim released. Returns 0 when the task
 * ended (well or not); a negative errno when it could not be touched at
 * all (its directory vanished: deleted by its owner). */
int task_run(const struct worker_env *env, task_id id);

/* Appends a line to a task's log (level "INFO", "WARN" or "ERROR"),
 * for what the daemon does to a task outside task_run(). */
int task_note(const struct worker_env *env, task_id id, const char *level, const char *text);

/* Marks a task FINISHED_FAILURE with a reason in its log, releasing the
 * claim; for tasks that cannot be run (interrupted too often). */
int task_fail(const struct worker_env *env, task_id id, const char *why);

#endif

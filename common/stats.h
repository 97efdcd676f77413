/* stats.h: the counters behind /metrics that other programs keep.
 *
 * mod_retrace answers /metrics; much of what it reports is known only to
 * the programs beside it, so each keeps its part in a file that the
 * module reads. One home for each fact:
 *
 *   SpoolDir/stats/worker   retrace-worker's counters (layout in spool.h):
 *                           tasks finished by result, the duration of each
 *                           stage as a histogram, package-cache hits and
 *                           misses, and the cache's size. A task process
 *                           adds what its task did when it ends; the
 *                           daemon records the cache's size at housekeeping.
 *   RepoDir/<release>/.reposync/last-success
 *                           unix seconds and a newline: when
 *                           retrace-reposync last synced (or imported into)
 *                           the release with no failure at all.
 *
 * What httpd itself sees (uploads refused, by reason) stays in httpd's
 * shared memory (mod_retrace.c); the task counts come from the spool.
 *
 * The worker's file is text: a first line "retrace-worker-stats 1", then
 * one "name value" line per field, values unsigned decimal integers:
 *
 *   tasks_success N         tasks that ended FINISHED_SUCCESS
 *   tasks_failure N         ... FINISHED_FAILURE (task_fail() included)
 *   cache_hits N            packages a task found extracted in the cache
 *   cache_misses N          packages it had to extract
 *   cache_bytes N           the cache's size at the last housekeeping
 *                           (absent until the first)
 *   <stage>_count N         for stage analyze, resolve, assemble, gdb:
 *   <stage>_sum_us N          observations and their sum in microseconds;
 *   <stage>_le_<us> N         observations in (previous bound, us]: one
 *                             line per bound of stats_bucket_us(), not
 *                             cumulative;
 *   <stage>_le_inf N          observations above the last bound.
 *
 * Readers ignore names they do not know (a newer writer may add some).
 * Writers serialize on flock(2) of SpoolDir/stats/.lock: read, add, then
 * publish by rename (spool_write_file()), so no increment is lost between
 * processes and a reader, which takes no lock, never sees half a file. A
 * file that does not parse is started again from zero: for Prometheus a
 * counter reset.
 */
#ifndef RETRACE_STATS_H
#define RETRACE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define STATS_WORKER_FILE    "worker"           /* in SpoolDir/stats/ */
#define STATS_LOCK_FILE      ".lock"            /* in SpoolDir/stats/ */
#define STATS_WORKER_HEADER  "retrace-worker-stats 1"
#define STATS_SYNC_DIR       ".reposync"        /* in RepoDir/<release>/ */
#define STATS_SYNC_FILE      "last-success"

/* The stages timed, in the order /metrics lists them. */
enum stats_stage {
        STATS_STAGE_ANALYZE,    /* read the crash data and the core */
        STATS_STAGE_RESOLVE,    /* find the packages in the release's index */
        STATS_STAGE_ASSEMBLE,   /* extract them (or find them cached), link the root */
        STATS_STAGE_GDB,        /* gdb in its sandbox, and the rating */
        STATS_STAGE_COUNT
};

/* "analyze", "resolve", "assemble", "gdb". */
const char *stats_stage_name(enum stats_stage stage);

/* Histogram buckets: STATS_BUCKETS upper bounds, ascending, from 50 ms
 * to 30 minutes (a gdb that hits GdbTimeout still lands in a bucket). */
#define STATS_BUCKETS 14
uint64_t stats_bucket_us(size_t i);
/* The bound as Prometheus's le label shows it: "0.05", "1", "1800". */
const char *stats_bucket_le(size_t i);

struct stats_histogram {
        uint64_t bucket[STATS_BUCKETS + 1];     /* not cumulative; [STATS_BUCKETS]: above all */
        uint64_t count;
        uint64_t sum_us;
};

void stats_observe(struct stats_histogram *h, uint64_t us);

struct worker_stats {
        uint64_t tasks_success, tasks_failure;
        uint64_t cache_hits, cache_misses;
        struct stats_histogram stage[STATS_STAGE_COUNT];
        uint64_t cache_bytes;           /* a gauge: */
        bool cache_bytes_known;         /* cache_bytes was recorded */
};

/* The file's text; returns its length, or -ENOSPC when len is too short
 * (STATS_TEXT_MAX always does). */
#define STATS_TEXT_MAX 8192
int stats_worker_format(const struct worker_stats *s, char *buf, size_t len);

/* Parses the file's text into s (zeroed first). -EBADMSG for another
 * header, a line without a value, or a value that is not a number. */
int stats_worker_parse(const char *text, struct worker_stats *s, struct error *err);

/* SpoolDir/stats/worker into s; all zero when there is none yet. */
int stats_worker_read(const char *spool_dir, struct worker_stats *s, struct error *err);

/* Adds delta's counters and histograms to SpoolDir/stats/worker, under
 * the lock. cache_bytes, a gauge, replaces the stored value when
 * delta->cache_bytes_known. */
int stats_worker_add(const char *spool_dir, const struct worker_stats *delta, struct error *err);

/* RepoDir/<release>/.reposync/last-success := when (creating .reposync/). */
int stats_sync_record(const char *repo_dir, const char *release, time_t when, struct error *err);

/* When the release was last synced without failure; -ENOENT: never. */
int stats_sync_read(const char *repo_dir, const char *release, time_t *when, struct error *err);

#endif

/* Unit tests for common/stats.c: histogram buckets, the worker's
 * statistics file (format, parse, damaged files, additions from many
 * processes at once), and retrace-reposync's last-success record. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"
#include "stats.h"

static int make_dir(void **state)
{
        char *dir = strdup("/tmp/test-stats-XXXXXX");
        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int remove_dir(void **state)
{
        remove_tree(*state, NULL);
        free(*state);
        return 0;
}

static void test_buckets(void **state)
{
        (void)state;
        static const struct {
                uint64_t us;
                size_t bucket;
        } cases[] = {
                { 0, 0 }, { 50000, 0 }, { 50001, 1 }, { 100000, 1 }, { 999999, 4 },
                { 1000000, 4 }, { 1000001, 5 }, { 300000000, 11 }, { 1800000000, 13 },
                { 1800000001, STATS_BUCKETS }, { UINT64_MAX / 2, STATS_BUCKETS },
        };
        for (size_t i = 1; i < STATS_BUCKETS; i++)
                assert_true(stats_bucket_us(i - 1) < stats_bucket_us(i));
        assert_string_equal(stats_bucket_le(0), "0.05");
        assert_string_equal(stats_bucket_le(4), "1");
        assert_string_equal(stats_bucket_le(STATS_BUCKETS - 1), "1800");
        assert_string_equal(stats_bucket_le(STATS_BUCKETS), "+Inf");
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct stats_histogram h = { 0 };
                stats_observe(&h, cases[i].us);
                if (h.bucket[cases[i].bucket] != 1)
                        fail_msg("%" PRIu64 " us should land in bucket %zu", cases[i].us,
                                 cases[i].bucket);
                assert_int_equal(h.count, 1);
                assert_int_equal(h.sum_us, cases[i].us);
        }
        assert_string_equal(stats_stage_name(STATS_STAGE_ANALYZE), "analyze");
        assert_string_equal(stats_stage_name(STATS_STAGE_RESOLVE), "resolve");
        assert_string_equal(stats_stage_name(STATS_STAGE_ASSEMBLE), "assemble");
        assert_string_equal(stats_stage_name(STATS_STAGE_GDB), "gdb");
}

static void test_format_parse(void **state)
{
        (void)state;
        struct worker_stats s = { .tasks_success = 3, .tasks_failure = 2, .cache_hits = 40,
                                  .cache_misses = UINT64_MAX };
        stats_observe(&s.stage[STATS_STAGE_GDB], 2000000);
        stats_observe(&s.stage[STATS_STAGE_GDB], 9000000000);
        stats_observe(&s.stage[STATS_STAGE_ANALYZE], 1);
        char text[STATS_TEXT_MAX];
        int len = stats_worker_format(&s, text, sizeof text);
        assert_true(len > 0 && (size_t)len == strlen(text));
        assert_non_null(strstr(text, "retrace-worker-stats 1\ntasks_success 3\n"));
        assert_non_null(strstr(text, "\ngdb_le_2500000 1\n"));
        assert_non_null(strstr(text, "\ngdb_le_inf 1\n"));
        assert_non_null(strstr(text, "\ngdb_sum_us 9002000000\n"));
        assert_non_null(strstr(text, "\ncache_misses 18446744073709551615\n"));
        assert_null(strstr(text, "cache_bytes"));       /* not recorded yet */

        struct worker_stats back;
        char again[STATS_TEXT_MAX];
        assert_int_equal(stats_worker_parse(text, &back, NULL), 0);
        assert_int_equal(stats_worker_format(&back, again, sizeof again), len);
        assert_string_equal(again, text);
        assert_int_equal(back.stage[STATS_STAGE_GDB].bucket[STATS_BUCKETS], 1);
        assert_int_equal(back.stage[STATS_STAGE_ANALYZE].bucket[0], 1);

        s.cache_bytes = 12345;
        s.cache_bytes_known = true;
        len = stats_worker_format(&s, text, sizeof text);
        assert_true(len > 0);
        assert_int_equal(stats_worker_parse(text, &back, NULL), 0);
        assert_true(back.cache_bytes_known);
        assert_int_equal(back.cache_bytes, 12345);

        /* Too small a buffer is refused, never cut. */
        assert_int_equal(stats_worker_format(&s, text, 100), -ENOSPC);
}

static void test_parse_cases(void **state)
{
        (void)state;
        static const struct {
                const char *text;
                int result;
                uint64_t success;
        } cases[] = {
                { "retrace-worker-stats 1\n", 0, 0 },
                { "retrace-worker-stats 1\ntasks_success 7\n", 0, 7 },
                { "retrace-worker-stats 1\ntasks_success 7", 0, 7 },         /* no last newline */
                { "retrace-worker-stats 1\nfuture_field 9\ntasks_success 1\n", 0, 1 },
                { "retrace-worker-stats 1\ntasks_success 18446744073709551615\n", 0, UINT64_MAX },
                { "retrace-worker-stats 1\ntasks_success 18446744073709551616\n", -EBADMSG, 0 },
                { "retrace-worker-stats 1\ntasks_success -1\n", -EBADMSG, 0 },
                { "retrace-worker-stats 1\ntasks_success\n", -EBADMSG, 0 },
                { "retrace-worker-stats 1\ntasks_success 1x\n", -EBADMSG, 0 },
                { "retrace-worker-stats 1\ntasks_success  1\n", -EBADMSG, 0 },
                { "retrace-worker-stats 1\n\n", -EBADMSG, 0 },
                { "retrace-worker-stats 2\ntasks_success 1\n", -EBADMSG, 0 },
                { "", -EBADMSG, 0 },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct worker_stats s;
                struct error err;
                int r = stats_worker_parse(cases[i].text, &s, &err);
                if (r != cases[i].result)
                        fail_msg("case %zu: %d, want %d", i, r, cases[i].result);
                if (r == 0)
                        assert_int_equal(s.tasks_success, cases[i].success);
        }
}

static void test_add_and_read(void **state)
{
        const char *spool = *state;
        struct error err;
        struct worker_stats s, d = { 0 };
        assert_int_equal(spool_init(spool, (uid_t)-1, (gid_t)-1, &err), 0);
        assert_int_equal(stats_worker_read(spool, &s, &err), 0);       /* none yet: zeros */
        assert_int_equal(s.tasks_success + s.tasks_failure, 0);
        assert_false(s.cache_bytes_known);

        d.tasks_failure = 1;
        d.cache_hits = 2;
        stats_observe(&d.stage[STATS_STAGE_RESOLVE], 300000);
        assert_int_equal(stats_worker_add(spool, &d, &err), 0);
        assert_int_equal(stats_worker_add(spool, &d, &err), 0);
        assert_int_equal(stats_worker_read(spool, &s, &err), 0);
        assert_int_equal(s.tasks_failure, 2);
        assert_int_equal(s.cache_hits, 4);
        assert_int_equal(s.stage[STATS_STAGE_RESOLVE].count, 2);
        assert_int_equal(s.stage[STATS_STAGE_RESOLVE].bucket[3], 2);
        assert_int_equal(s.stage[STATS_STAGE_RESOLVE].sum_us, 600000);
        assert_false(s.cache_bytes_known);

        /* The gauge replaces; counters stay. */
        struct worker_stats g = { .cache_bytes = 77, .cache_bytes_known = true };
        assert_int_equal(stats_worker_add(spool, &g, &err), 0);
        g.cache_bytes = 55;
        assert_int_equal(stats_worker_add(spool, &g, &err), 0);
        assert_int_equal(stats_worker_read(spool, &s, &err), 0);
        assert_true(s.cache_bytes_known);
        assert_int_equal(s.cache_bytes, 55);
        assert_int_equal(s.tasks_failure, 2);

        /* Published with the spool's file mode; no temporary left. */
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/stats/worker", spool);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, TASK_FILE_MODE);

        /* A damaged file: read says so, the next addition starts again. */
        snprintf(path, sizeof path, "%s/stats", spool);
        assert_int_equal(spool_write_file(path, "worker", "garbage", 7, 0660, &err), 0);
        assert_int_equal(stats_worker_read(spool, &s, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "stats/worker' is damaged"));
        assert_int_equal(stats_worker_add(spool, &d, &err), 0);
        assert_int_equal(stats_worker_read(spool, &s, &err), 0);
        assert_int_equal(s.tasks_failure, 1);
}

/* Task processes finishing at once: not one increment is lost. */
static void test_concurrent_add(void **state)
{
        const char *spool = *state;
        struct error err;
        enum { PROCS = 8, ROUNDS = 40 };
        assert_int_equal(spool_init(spool, (uid_t)-1, (gid_t)-1, &err), 0);
        pid_t pids[PROCS];
        for (int i = 0; i < PROCS; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        struct worker_stats d = { .tasks_success = 1, .cache_misses = 3 };
                        stats_observe(&d.stage[STATS_STAGE_GDB], (uint64_t)i * 1000000);
                        for (int k = 0; k < ROUNDS; k++)
                                if (stats_worker_add(spool, &d, NULL) < 0)
                                        _exit(1);
                        _exit(0);
                }
        }
        for (int i = 0; i < PROCS; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        struct worker_stats s;
        assert_int_equal(stats_worker_read(spool, &s, &err), 0);
        assert_int_equal(s.tasks_success, PROCS * ROUNDS);
        assert_int_equal(s.cache_misses, 3 * PROCS * ROUNDS);
        assert_int_equal(s.stage[STATS_STAGE_GDB].count, PROCS * ROUNDS);
        uint64_t sum = 0;
        for (int i = 0; i < PROCS; i++)
                sum += (uint64_t)i * 1000000 * ROUNDS;
        assert_int_equal(s.stage[STATS_STAGE_GDB].sum_us, sum);
}

static void test_sync_record(void **state)
{
        const char *repo = *state;
        struct error err;
        time_t when = 0;
        assert_int_equal(stats_sync_read(repo, "fedora-40-x86_64", &when, &err), -ENOENT);
        assert_int_equal(stats_sync_record(repo, "fedora-40-x86_64", 1700000000, &err), 0);
        assert_int_equal(stats_sync_read(repo, "fedora-40-x86_64", &when, &err), 0);
        assert_int_equal(when, 1700000000);

        char path[4096], text[64];
        snprintf(path, sizeof path, "%s/fedora-40-x86_64/.reposync/last-success", repo);
        assert_int_equal(spool_read_file(path, text, sizeof text, NULL, &err), 0);
        assert_string_equal(text, "1700000000\n");

        assert_int_equal(stats_sync_record(repo, "../etc", 1, &err), -EINVAL);
        assert_int_equal(stats_sync_read(repo, "not a release", &when, &err), -EINVAL);
        snprintf(path, sizeof path, "%s/fedora-40-x86_64/.reposync", repo);
        assert_int_equal(spool_write_file(path, "last-success", "soon\n", 5, 0644, &err), 0);
        assert_int_equal(stats_sync_read(repo, "fedora-40-x86_64", &when, &err), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_buckets),
                cmocka_unit_test(test_format_parse),
                cmocka_unit_test(test_parse_cases),
                cmocka_unit_test_setup_teardown(test_add_and_read, make_dir, remove_dir),
                cmocka_unit_test_setup_teardown(test_concurrent_add, make_dir, remove_dir),
                cmocka_unit_test_setup_teardown(test_sync_record, make_dir, remove_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

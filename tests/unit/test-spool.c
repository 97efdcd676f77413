/* Unit tests for common/spool.c: ids, stages, the layout, atomic
 * publishing, claims and counts. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"

static int make_spool(void **state)
{
        char *dir = strdup("/tmp/test-spool-XXXXXX");
        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int remove_spool(void **state)
{
        remove_tree(*state, NULL);
        free(*state);
        return 0;
}

static const struct {
        const char *text;
        int ok;
        task_id id;
} id_cases[] = {
        { "123456789", 1, 123456789 },
        { "100000000", 1, 100000000 },
        { "999999999", 1, 999999999 },
        { "012345678", 0, 0 },         /* leading zero */
        { "12345678", 0, 0 },          /* 8 digits */
        { "1234567890", 0, 0 },        /* 10 digits */
        { "12345678a", 0, 0 },
        { "+12345678", 0, 0 },
        { " 12345678", 0, 0 },
        { "..", 0, 0 },
        { "", 0, 0 },
};

static void test_task_id_parse(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof id_cases / sizeof id_cases[0]; i++) {
                task_id id = 0;
                bool r = task_id_parse(id_cases[i].text, strlen(id_cases[i].text), &id);
                if (r != (bool)id_cases[i].ok)
                        fail_msg("'%s': %s", id_cases[i].text, r ? "accepted" : "refused");
                if (r)
                        assert_int_equal(id, id_cases[i].id);
        }
}

static void test_stages(void **state)
{
        (void)state;
        static const char *const progress[TASK_STAGE_COUNT] = {
                "Queued", "Analyzing crash data",
                "Preparing environment for backtrace generation", "Generating backtrace",
                "Cleaning environment after backtrace generation",
                "Retrace job finished successfully", "Retrace job failed",
        };
        for (int s = 0; s < TASK_STAGE_COUNT; s++) {
                enum task_stage back;
                assert_int_equal(task_stage_parse(task_stage_word(s), &back), 0);
                assert_int_equal(back, s);
                assert_string_equal(task_stage_progress(s), progress[s]);
                const char *st = task_stage_status(s);
                assert_string_equal(st, s == TASK_STAGE_FINISHED_SUCCESS ? "FINISHED_SUCCESS" :
                                        s == TASK_STAGE_FINISHED_FAILURE ? "FINISHED_FAILURE" : "PENDING");
        }
        enum task_stage x;
        assert_int_equal(task_stage_parse("queued", &x), -EINVAL);
        assert_int_equal(task_stage_parse("", &x), -EINVAL);
}

static void test_init_and_layout(void **state)
{
        const char *spool = *state;
        char path[4096], buf[64];
        struct error err = { 0 };
        assert_int_equal(spool_init(spool, (uid_t)-1, (gid_t)-1, &err), 0);
        assert_int_equal(spool_init(spool, (uid_t)-1, (gid_t)-1, &err), 0); /* again: fine */
        static const char *const subs[] = { "tasks", "queue", "running" };
        for (int i = 0; i < 3; i++) {
                struct stat st;
                snprintf(path, sizeof path, "%s/%s", spool, subs[i]);
                assert_int_equal(stat(path, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_int_equal(st.st_mode & 0777, TASK_DIR_MODE);
        }
        snprintf(path, sizeof path, "%s/layout", spool);
        assert_int_equal(spool_read_file(path, buf, sizeof buf, NULL, &err), 0);
        assert_string_equal(buf, "retrace-spool 1\n");

        /* A spool of another layout is refused, not guessed at. */
        assert_int_equal(spool_write_file(spool, "layout", "retrace-spool 2\n", 16, 0644, &err), 0);
        assert_int_equal(spool_init(spool, (uid_t)-1, (gid_t)-1, &err), -EPROTO);
        assert_non_null(strstr(err.msg, "retrace-spool 2"));
}

static void test_write_file_is_atomic(void **state)
{
        const char *spool = *state;
        char path[4096], buf[64];
        struct error err = { 0 };
        assert_int_equal(spool_write_file(spool, "f", "one\n", 4, 0640, &err), 0);
        assert_int_equal(spool_write_file(spool, "f", "two!\n", 5, 0640, &err), 0);
        snprintf(path, sizeof path, "%s/f", spool);
        size_t len;
        assert_int_equal(spool_read_file(path, buf, sizeof buf, &len, &err), 0);
        assert_string_equal(buf, "two!\n");
        assert_int_equal(len, 5);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        /* No temporary left behind. */
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep '^\\.')\"", spool);
        assert_int_equal(system(cmd), 0);

        /* A file larger than asked for is refused, not cut. */
        assert_int_equal(spool_read_file(path, buf, 4, NULL, &err), -EFBIG);
        /* A symlink is not followed. */
        snprintf(cmd, sizeof cmd, "ln -s /etc/passwd '%s/link'", spool);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof path, "%s/link", spool);
        assert_int_equal(spool_read_file(path, buf, sizeof buf, NULL, &err), -ELOOP);
}

static void test_task_life(void **state)
{
        const char *spool = *state;
        char dir[4096], path[4096];
        struct error err = { 0 };
        unsigned q, r;
        task_id ids[3];

        assert_int_equal(spool_init(spool, (uid_t)-1, (gid_t)-1, &err), 0);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(spool_task_create(spool, &ids[i], dir, sizeof dir, &err), 0);
                assert_true(ids[i] >= TASK_ID_MIN && ids[i] <= TASK_ID_MAX);
                struct stat st;
                assert_int_equal(stat(dir, &st), 0);
                assert_int_equal(st.st_mode & 0777, TASK_DIR_MODE);
                assert_int_equal(task_write_stage(dir, TASK_STAGE_QUEUED, &err), 0);
        }
        assert_int_equal(spool_count_active(spool, &q, &r, &err), 0);
        assert_int_equal(q + r, 0);     /* created, not yet queued */

        for (int i = 0; i < 3; i++)
                assert_int_equal(spool_task_queue(spool, ids[i], &err), 0);
        assert_int_equal(spool_task_queue(spool, ids[0], &err), -EEXIST);
        assert_int_equal(spool_count_active(spool, &q, &r, &err), 0);
        assert_int_equal(q, 3);
        assert_int_equal(r, 0);

        /* Exactly one claim wins. */
        assert_int_equal(spool_task_claim(spool, ids[0], &err), 0);
        assert_int_equal(spool_task_claim(spool, ids[0], &err), -ENOENT);
        assert_int_equal(spool_count_active(spool, &q, &r, &err), 0);
        assert_int_equal(q, 2);
        assert_int_equal(r, 1);

        /* Stages round-trip. */
        enum task_stage st;
        spool_task_path(spool, ids[0], NULL, dir, sizeof dir);
        assert_int_equal(task_write_stage(dir, TASK_STAGE_RETRACING, &err), 0);
        assert_int_equal(task_read_stage(dir, &st, &err), 0);
        assert_int_equal(st, TASK_STAGE_RETRACING);
        assert_int_equal(spool_write_file(dir, TASK_STATUS_FILE, "BOGUS\n", 6, 0660, &err), 0);
        assert_int_equal(task_read_stage(dir, &st, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'BOGUS'"));

        assert_int_equal(spool_task_release(spool, ids[0], &err), 0);
        assert_int_equal(spool_count_active(spool, &q, &r, &err), 0);
        assert_int_equal(q + r, 2);

        /* Removal takes the marker and the whole tree, symlinks unfollowed. */
        spool_task_path(spool, ids[1], TASK_CRASH_DIR, path, sizeof path);
        assert_int_equal(mkdir(path, 0770), 0);
        char cmd[8400];
        snprintf(cmd, sizeof cmd, "echo x > '%s/f' && ln -s '%s' '%s/up'", path, spool, path);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(spool_task_remove(spool, ids[1], &err), 0);
        spool_task_path(spool, ids[1], NULL, dir, sizeof dir);
        assert_int_equal(access(dir, F_OK), -1);
        assert_int_equal(access(spool, F_OK), 0);
        assert_int_equal(spool_count_active(spool, &q, &r, &err), 0);
        assert_int_equal(q + r, 1);
        /* Removing what is gone is not an error. */
        assert_int_equal(spool_task_remove(spool, ids[1], &err), 0);
}

/* In a setgid spool (2770, as tmpfiles.d makes it) every task directory
 * keeps the bit, so what httpd writes carries the group the worker is in. */
static void test_setgid_spool_is_kept(void **state)
{
        const char *spool = *state;
        char dir[4096], sub[4200];
        struct error err = { 0 };
        task_id id;
        assert_int_equal(spool_init(spool, (uid_t)-1, (gid_t)-1, &err), 0);
        snprintf(dir, sizeof dir, "%s/tasks", spool);
        assert_int_equal(chmod(dir, 02770), 0);
        assert_int_equal(spool_task_create(spool, &id, dir, sizeof dir, &err), 0);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 02000 | TASK_DIR_MODE);
        snprintf(sub, sizeof sub, "%s/crash", dir);
        assert_int_equal(spool_mkdir(sub, TASK_DIR_MODE, &err), 0);
        assert_int_equal(stat(sub, &st), 0);
        assert_int_equal(st.st_mode & 07777, 02000 | TASK_DIR_MODE);
        assert_int_equal(spool_mkdir(sub, TASK_DIR_MODE, &err), -EEXIST);
}

static void test_paths(void **state)
{
        (void)state;
        char buf[64];
        assert_int_equal(spool_task_path("/s", 123456789, "status", buf, sizeof buf), 0);
        assert_string_equal(buf, "/s/tasks/123456789/status");
        assert_int_equal(spool_task_path("/s", 123456789, NULL, buf, sizeof buf), 0);
        assert_string_equal(buf, "/s/tasks/123456789");
        assert_int_equal(spool_task_path("/a/very/long/spool/directory/name", 123456789,
                                         "retrace_backtrace", buf, 40), -ENAMETOOLONG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_task_id_parse),
                cmocka_unit_test(test_stages),
                cmocka_unit_test(test_paths),
                cmocka_unit_test_setup_teardown(test_init_and_layout, make_spool, remove_spool),
                cmocka_unit_test_setup_teardown(test_write_file_is_atomic, make_spool, remove_spool),
                cmocka_unit_test_setup_teardown(test_task_life, make_spool, remove_spool),
                cmocka_unit_test_setup_teardown(test_setgid_spool_is_kept, make_spool, remove_spool),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

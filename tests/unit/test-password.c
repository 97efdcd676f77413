/* Unit tests for common/password.c: generation, hashing, verification,
 * and the task-level check with rotation, including a race. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "password.h"
#include "spool.h"

static void test_generate(void **state)
{
        (void)state;
        char a[PASSWORD_LEN + 1], b[PASSWORD_LEN + 1];
        unsigned counts[256] = { 0 };
        for (int i = 0; i < 2000; i++) {
                assert_int_equal(password_generate(a, NULL), 0);
                assert_int_equal(strlen(a), PASSWORD_LEN);
                assert_true(password_well_formed(a));
                for (int j = 0; j < PASSWORD_LEN; j++)
                        counts[(unsigned char)a[j]]++;
        }
        assert_int_equal(password_generate(b, NULL), 0);
        assert_string_not_equal(a, b);
        /* All 62 characters turn up, none far from 64000/62 ~ 1032. */
        unsigned used = 0;
        for (int c = 0; c < 256; c++) {
                if (!counts[c])
                        continue;
                used++;
                if (counts[c] < 800 || counts[c] > 1300)
                        fail_msg("'%c' drawn %u times of ~1032", c, counts[c]);
        }
        assert_int_equal(used, 62);
}

static const struct {
        const char *password;
        bool well_formed;
} form_cases[] = {
        { "abcdefghijABCDEFGHIJ0123456789xy", true },
        { "abcdefghijABCDEFGHIJ0123456789x", false },      /* 31 */
        { "abcdefghijABCDEFGHIJ0123456789xyz", false },    /* 33 */
        { "abcdefghijABCDEFGHIJ0123456789x!", false },
        { "abcdefghijABCDEFGHIJ0123456789x ", false },
        { "", false },
};

static void test_well_formed(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof form_cases / sizeof form_cases[0]; i++)
                if (password_well_formed(form_cases[i].password) != form_cases[i].well_formed)
                        fail_msg("'%s'", form_cases[i].password);
}

static void test_hash_and_verify(void **state)
{
        (void)state;
        char pw[PASSWORD_LEN + 1], other[PASSWORD_LEN + 1];
        char h1[PASSWORD_HASH_LEN + 1], h2[PASSWORD_HASH_LEN + 1];
        password_generate(pw, NULL);
        password_generate(other, NULL);
        assert_int_equal(password_hash(pw, h1, NULL), 0);
        assert_int_equal(password_hash(pw, h2, NULL), 0);
        assert_int_equal(strlen(h1), PASSWORD_HASH_LEN);
        assert_string_not_equal(h1, h2);        /* salted */
        assert_null(strstr(h1, pw));
        assert_true(password_verify(pw, h1));
        assert_true(password_verify(pw, h2));
        assert_false(password_verify(other, h1));
        assert_false(password_verify("", h1));
        char upper[PASSWORD_LEN + 1];
        strcpy(upper, pw);
        upper[0] = upper[0] == 'A' ? 'B' : 'A';
        assert_false(password_verify(upper, h1));
        /* Malformed stored forms never verify. */
        assert_false(password_verify(pw, ""));
        assert_false(password_verify(pw, "sha256$"));
        char cut[PASSWORD_HASH_LEN + 1];
        strcpy(cut, h1);
        cut[PASSWORD_HASH_LEN - 1] = '\0';
        assert_false(password_verify(pw, cut));
        char wrong_prefix[PASSWORD_HASH_LEN + 1];
        strcpy(wrong_prefix, h1);
        wrong_prefix[0] = 'x';
        assert_false(password_verify(pw, wrong_prefix));
}

struct race {
        const char *dir;
        const char *password;
        int result;
        char fresh[PASSWORD_LEN + 1];
};

static void *racer(void *arg)
{
        struct race *r = arg;
        r->result = task_password_check(r->dir, r->password, true, r->fresh, NULL);
        return NULL;
}

static void test_task_rotation(void **state)
{
        (void)state;
        char dir[] = "/tmp/test-password-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char pw[PASSWORD_LEN + 1], next[PASSWORD_LEN + 1], next2[PASSWORD_LEN + 1];
        struct error err = { 0 };
        password_generate(pw, NULL);
        assert_int_equal(task_password_set(dir, pw, &err), 0);

        /* Without rotation the password stays. */
        for (int i = 0; i < 3; i++)
                assert_int_equal(task_password_check(dir, pw, false, next, &err), 0);
        assert_int_equal(task_password_check(dir, "wrong", false, next, &err), -EACCES);

        /* With rotation it works once and hands out the next. */
        assert_int_equal(task_password_check(dir, pw, true, next, &err), 0);
        assert_true(password_well_formed(next));
        assert_string_not_equal(pw, next);
        assert_int_equal(task_password_check(dir, pw, true, next2, &err), -EACCES);
        assert_int_equal(task_password_check(dir, next, true, next2, &err), 0);
        assert_int_equal(task_password_check(dir, next, false, pw, &err), -EACCES);

        /* 32 threads race with one password: exactly one wins, and its
         * fresh password is the one that works. */
        enum { N = 32 };
        struct race races[N];
        pthread_t threads[N];
        for (int i = 0; i < N; i++) {
                races[i] = (struct race){ .dir = dir, .password = next2 };
                assert_int_equal(pthread_create(&threads[i], NULL, racer, &races[i]), 0);
        }
        int winners = 0, winner = -1;
        for (int i = 0; i < N; i++) {
                pthread_join(threads[i], NULL);
                if (races[i].result == 0) {
                        winners++;
                        winner = i;
                } else {
                        assert_int_equal(races[i].result, -EACCES);
                }
        }
        assert_int_equal(winners, 1);
        assert_int_equal(task_password_check(dir, races[winner].fresh, false, pw, &err), 0);

        /* A task without a password file: not EACCES, the caller sees why. */
        char nodir[] = "/tmp/test-password-none-XXXXXX";
        assert_non_null(mkdtemp(nodir));
        assert_int_equal(task_password_check(nodir, next, true, next2, &err), -ENOENT);
        remove_tree(dir, NULL);
        remove_tree(nodir, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_generate),
                cmocka_unit_test(test_well_formed),
                cmocka_unit_test(test_hash_and_verify),
                cmocka_unit_test(test_task_rotation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

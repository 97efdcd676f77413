/* Unit tests for common/conf.c: defaults, every value type, bounds, and
 * files that must be refused with their name and line. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static char *write_temp(const char *text)
{
        static char path[64];
        strcpy(path, "/tmp/test-conf-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

static void test_defaults_parse(void **state)
{
        (void)state;
        /* Every default is a valid value of its own key. */
        struct retrace_conf c;
        memset(&c, 0, sizeof c);
        for (size_t i = 0; i < conf_keys_count; i++) {
                struct error err = { 0 };
                int r = conf_set(&c, &conf_keys[i], conf_keys[i].default_value, "default", &err);
                if (r < 0)
                        fail_msg("default of %s: %s", conf_keys[i].name, err.msg);
        }
        conf_init(&c);
        assert_string_equal(c.spool_dir, "/var/spool/retrace-server");
        assert_int_equal(c.max_packed_size, 50);
        assert_int_equal(c.max_parallel_tasks, 5);
        assert_true(c.password_rotation);
        assert_true(c.require_https);
        assert_false(c.allow_delete);
        assert_int_equal(c.gdb_timeout, 300);
}

static void test_table_is_consistent(void **state)
{
        (void)state;
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct conf_key *k = &conf_keys[i];
                assert_ptr_equal(conf_key_find(k->section, k->name), k);
                assert_non_null(k->help);
                if (k->directive) {
                        assert_ptr_equal(conf_key_by_directive(k->directive), k);
                        /* RetraceMaxPackedSize <-> MaxPackedSize */
                        assert_string_equal(k->directive + strlen("Retrace"), k->name);
                }
                for (size_t j = 0; j < i; j++)
                        assert_false(strcasecmp(k->name, conf_keys[j].name) == 0 &&
                                     strcasecmp(k->section, conf_keys[j].section) == 0);
        }
        /* The directives of the design, all present. */
        static const char *const directives[] = {
                "RetraceSpoolDir", "RetraceRepoDir", "RetraceMaxPackedSize",
                "RetraceMaxUnpackedSize", "RetraceMinStorageLeft", "RetraceMaxParallelTasks",
                "RetracePasswordRotation", "RetraceRequireHTTPS", "RetraceAllowDelete",
                "RetraceAllowDebugTasks", "RetraceMetrics",
        };
        for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++)
                if (!conf_key_by_directive(directives[i]))
                        fail_msg("no key for directive %s", directives[i]);
}

static const struct {
        const char *section, *key, *value;
        int ok;
        const char *expect;     /* conf_format_value() after, or a part of the error */
} value_cases[] = {
        { "limits", "MaxPackedSize", "100", 1, "100" },
        { "limits", "MaxPackedSize", "0", 0, "out of range" },
        { "limits", "MaxPackedSize", "-5", 0, "whole number" },
        { "limits", "MaxPackedSize", "5MiB", 0, "whole number" },
        { "limits", "MaxPackedSize", "", 0, "whole number" },
        { "limits", "MaxPackedSize", "99999999999999999999999", 0, "whole number" },
        { "limits", "MinStorageLeft", "0", 1, "0" },
        { "limits", "MaxParallelTasks", "100001", 0, "out of range" },
        { "http", "PasswordRotation", "off", 1, "off" },
        { "http", "PasswordRotation", "Yes", 1, "on" },
        { "http", "PasswordRotation", "FALSE", 1, "off" },
        { "http", "PasswordRotation", "0", 1, "off" },
        { "http", "PasswordRotation", "maybe", 0, "on or off" },
        { "paths", "SpoolDir", "/srv/spool/", 1, "/srv/spool" },
        { "paths", "SpoolDir", "/", 1, "/" },
        { "paths", "SpoolDir", "relative/dir", 0, "absolute path" },
};

static void test_values(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
                struct retrace_conf c;
                struct error err = { 0 };
                char buf[PATH_MAX];
                conf_init(&c);
                const struct conf_key *k = conf_key_find(value_cases[i].section, value_cases[i].key);
                assert_non_null(k);
                int r = conf_set(&c, k, value_cases[i].value, "here", &err);
                if (value_cases[i].ok) {
                        if (r < 0)
                                fail_msg("%s = '%s': %s", value_cases[i].key, value_cases[i].value, err.msg);
                        conf_format_value(&c, k, buf, sizeof buf);
                        assert_string_equal(buf, value_cases[i].expect);
                } else {
                        if (r >= 0)
                                fail_msg("%s = '%s' accepted", value_cases[i].key, value_cases[i].value);
                        if (!strstr(err.msg, value_cases[i].expect) || strncmp(err.msg, "here: ", 6) != 0)
                                fail_msg("%s = '%s': message '%s'", value_cases[i].key,
                                         value_cases[i].value, err.msg);
                }
        }
}

static const struct {
        const char *text;
        const char *error;      /* NULL: loads */
} file_cases[] = {
        { "[paths]\nSpoolDir = /a\n[limits]\nMaxPackedSize = 7 ; MiB\n# comment\n; comment\n", NULL },
        { "\n\n[limits]\nMaxPackedSize = 7\nMaxPakcedSize = 8\n", ":5: unknown key 'MaxPakcedSize' in section [limits]" },
        { "MaxPackedSize = 7\n", ":1: 'MaxPackedSize' is outside any [section]" },
        { "[limits]\nMaxPackedSize = 0\n", ":2: MaxPackedSize = 0 is out of range" },
        { "[limits]\nthis is not ini\n", ":2: not an INI line" },
        { "[paths]\nSpoolDir = relative\n", ":2: SpoolDir must be an absolute path" },
        { "[nosuch]\nKey = 1\n", ":2: unknown key 'Key' in section [nosuch]" },
        /* An indented line continues a value (inih's multi-line values). */
        { "[limits]\nMaxPackedSize = 7\n  8\n", ":3: MaxPackedSize takes one value" },
        { "[limits]\nMaxPackedSize = 7\n[paths\n", ":3: '[' without its closing ']'" },
};

static void test_files(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof file_cases / sizeof file_cases[0]; i++) {
                struct retrace_conf c;
                struct error err = { 0 };
                conf_init(&c);
                const char *path = write_temp(file_cases[i].text);
                int r = conf_load(&c, path, &err);
                if (!file_cases[i].error) {
                        if (r < 0)
                                fail_msg("case %zu: %s", i, err.msg);
                        assert_string_equal(c.spool_dir, "/a");
                        assert_int_equal(c.max_packed_size, 7);
                } else {
                        if (r >= 0)
                                fail_msg("case %zu loaded", i);
                        /* The message starts with the file's name. */
                        if (strncmp(err.msg, path, strlen(path)) != 0 ||
                            !strstr(err.msg, file_cases[i].error))
                                fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, file_cases[i].error);
                        /* A refused file changes nothing. */
                        assert_int_equal(c.max_packed_size, 50);
                }
                unlink(path);
        }
}

static void test_overlong_line_is_refused(void **state)
{
        (void)state;
        char text[1024];
        char value[400];
        memset(value, 'a', sizeof value - 1);
        value[0] = '/';
        value[sizeof value - 1] = '\0';
        snprintf(text, sizeof text, "[paths]\nSpoolDir = %s\n", value);
        const char *path = write_temp(text);
        struct retrace_conf c;
        struct error err = { 0 };
        conf_init(&c);
        assert_true(conf_load(&c, path, &err) < 0);
        if (!strstr(err.msg, ":2: line longer than"))
                fail_msg("message: %s", err.msg);
        /* Not silently cut: the old value stays. */
        assert_string_equal(c.spool_dir, "/var/spool/retrace-server");
        unlink(path);
}

static void test_missing_file(void **state)
{
        (void)state;
        struct retrace_conf c;
        struct error err = { 0 };
        conf_init(&c);
        assert_int_equal(conf_load(&c, "/nonexistent/retrace.conf", &err), -ENOENT);
        assert_non_null(strstr(err.msg, "'/nonexistent/retrace.conf'"));
}

static void test_copy_key(void **state)
{
        (void)state;
        struct retrace_conf a, b;
        conf_init(&a);
        conf_init(&b);
        conf_set(&a, conf_key_find("paths", "RepoDir"), "/x/repo", "t", NULL);
        conf_set(&a, conf_key_find("http", "Metrics"), "on", "t", NULL);
        conf_copy_key(&b, &a, conf_key_find("paths", "RepoDir"));
        assert_string_equal(b.repo_dir, "/x/repo");
        assert_false(b.metrics);
        conf_copy_key(&b, &a, conf_key_find("http", "Metrics"));
        assert_true(b.metrics);
}

/* The README documents every key and directive: a new row in conf_keys[]
 * without its line in the admin's guide fails here. */
static void test_readme_documents_every_key(void **state)
{
        (void)state;
        const char *top = getenv("top_srcdir");
        char path[4096];
        snprintf(path, sizeof path, "%s/README", top && *top ? top : ".");
        FILE *f = fopen(path, "r");
        if (!f)
                fail_msg("cannot open %s (set top_srcdir)", path);
        static char text[1 << 17];
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
        for (size_t i = 0; i < conf_keys_count; i++) {
                char needle[128];
                snprintf(needle, sizeof needle, "`%s`", conf_keys[i].name);
                if (!strstr(text, needle))
                        fail_msg("README does not document key %s", conf_keys[i].name);
                snprintf(needle, sizeof needle, "[%s]", conf_keys[i].section);
                if (!strstr(text, needle))
                        fail_msg("README does not document section %s", needle);
                if (conf_keys[i].directive && !strstr(text, conf_keys[i].directive))
                        fail_msg("README does not document directive %s", conf_keys[i].directive);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_parse),
                cmocka_unit_test(test_table_is_consistent),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_overlong_line_is_refused),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_copy_key),
                cmocka_unit_test(test_readme_documents_every_key),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

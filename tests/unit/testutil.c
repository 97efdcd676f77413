#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>

#include <cmocka.h>

#include "testutil.h"

const char *show(const char *s)
{
        static char bufs[4][200];
        static unsigned turn;
        char *buf = bufs[turn++ % 4];
        size_t o = 0;

        if (!s)
                return "(null)";
        for (size_t i = 0; s[i] && o + 8 < sizeof bufs[0]; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f)
                        buf[o++] = (char)c;
                else
                        o += (size_t)snprintf(buf + o, sizeof bufs[0] - o, "\\x%02x", c);
        }
        buf[o] = '\0';
        return buf;
}

void check_message(const struct error *err, const char *prefix, const char *part,
                   const char *input)
{
        size_t len = strnlen(err->msg, sizeof err->msg);
        if (len == 0 || len >= 500)
                fail_msg("'%s': message of length %zu", show(input), len);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)err->msg[i];
                if (c < 0x20 || c >= 0x7f)
                        fail_msg("'%s': raw byte 0x%02x in message", show(input), c);
        }
        if (prefix && strncmp(err->msg, prefix, strlen(prefix)) != 0)
                fail_msg("'%s': message \"%s\" does not start with \"%s\"",
                         show(input), err->msg, prefix);
        if (part && !strstr(err->msg, part))
                fail_msg("'%s': message \"%s\" lacks \"%s\"", show(input), err->msg, part);
}

const char *testdata_dir(void)
{
        static char dir[4096];
        const char *env = getenv("TESTDATA");
        if (env && *env)
                return env;
        const char *top = getenv("top_srcdir");
        snprintf(dir, sizeof dir, "%s/../shared/testdata", top && *top ? top : ".");
        return dir;
}

char *slurp(const char *rel)
{
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s", testdata_dir(), rel);
        if (len < 0 || (size_t)len >= sizeof path)
                fail_msg("test data path too long: '%s'", rel);
        FILE *f = fopen(path, "rb");
        if (!f)
                fail_msg("cannot open test data '%s' (set TESTDATA)", path);
        char *buf = malloc(1024 * 1024 + 1);
        assert_non_null(buf);
        size_t n = fread(buf, 1, 1024 * 1024, f);
        assert_int_equal(ferror(f), 0);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

const char *test_path(char *buf, size_t len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= len)
                fail_msg("path too long: %s", fmt);
        return buf;
}

void test_mkdirs(const char *path)
{
        char p[PATH_MAX];
        test_path(p, sizeof p, "%s", path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        fail_msg("mkdir '%s': %s", p, strerror(errno));
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                fail_msg("mkdir '%s': %s", p, strerror(errno));
}

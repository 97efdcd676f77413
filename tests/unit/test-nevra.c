/* Unit tests for common/nevra.c: table-driven parsing, formatting and
 * comparison; rpm_vercmp() checked against librpm's rpmvercmp(); NEVRs and
 * NEVRAs from real ABRT problem directories under $TESTDATA. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rpm/rpmver.h>

#include "nevra.h"
#include "testutil.h"


/* --- helpers ------------------------------------------------------------ */

static int sign(int v)
{
        return (v > 0) - (v < 0);
}

/* --- parsing ------------------------------------------------------------ */

struct parse_row {
        const char *in;
        int rc;
        /* on success */
        const char *name, *epoch, *version, *release, *arch;
        /* on failure: a part of the message */
        const char *msg;
};

#define OK(in, n, e, v, r, a) { in, 0, n, e, v, r, a, NULL }
#define BAD(in, m) { in, -EINVAL, NULL, NULL, NULL, NULL, NULL, m }

static const struct parse_row nevr_rows[] = {
        OK("bash-5.2.26-3.fc40", "bash", "", "5.2.26", "3.fc40", ""),
        OK("bash-0:5.2.26-3.fc40", "bash", "0", "5.2.26", "3.fc40", ""),
        OK("1:foo-1.0-1.fc40", "foo", "1", "1.0", "1.fc40", ""),
        OK("foo-1:1.0-1.fc40", "foo", "1", "1.0", "1.fc40", ""),
        OK("perl-libs-4:5.12.4-159.fc15", "perl-libs", "4", "5.12.4", "159.fc15", ""),
        OK("xorg-x11-server-Xorg-21.1.11-1.fc40", "xorg-x11-server-Xorg", "",
           "21.1.11", "1.fc40", ""),
        /* A NEVR parser keeps a trailing arch in the release. */
        OK("bash-5.2.26-3.fc40.x86_64", "bash", "", "5.2.26", "3.fc40.x86_64", ""),
        OK("389-ds-base-2.4.5-1.fc40", "389-ds-base", "", "2.4.5", "1.fc40", ""),
        OK("0ad-0.0.26-1.fc40", "0ad", "", "0.0.26", "1.fc40", ""),
        OK("libstdc++-14.0.1-0.13.fc40", "libstdc++", "", "14.0.1", "0.13.fc40", ""),
        OK("python3.12-3.12.2-2.fc40", "python3.12", "", "3.12.2", "2.fc40", ""),
        OK("_foo-1-1", "_foo", "", "1", "1", ""),
        OK("a-1-1", "a", "", "1", "1", ""),
        OK("glibc-2.14-4", "glibc", "", "2.14", "4", ""),
        OK("foo-1.0~rc1-0.1.fc40", "foo", "", "1.0~rc1", "0.1.fc40", ""),
        OK("foo-1.0^20240101git3c0ffee-1.fc40", "foo", "", "1.0^20240101git3c0ffee",
           "1.fc40", ""),
        OK("foo-1_2+3-1~bootstrap", "foo", "", "1_2+3", "1~bootstrap", ""),
        OK("4294967295:foo-1-1", "foo", "4294967295", "1", "1", ""),
        OK("foo-007:1-1", "foo", "007", "1", "1", ""),
        OK("kernel-6.8.5-301.fc40", "kernel", "", "6.8.5", "301.fc40", ""),

        BAD("", "empty"),
        BAD("foo", "no version-release"),
        BAD("foo-1.0", "no version-release"),
        BAD("1:foo-1.0", "no version-release"),
        BAD("-1.0-1", "empty name"),
        BAD("1:-1.0-1", "empty name"),
        BAD("foo--1", "empty version"),
        BAD("foo-1.0-", "empty release"),
        BAD("foo-:1.0-1", "empty epoch"),
        BAD("foo-a:1.0-1", "epoch is not a number"),
        BAD("foo-1a:1.0-1", "epoch is not a number"),
        BAD("1:foo-2:1.0-1", "two epochs"),
        BAD("4294967296:foo-1-1", "epoch out of range"),
        BAD("foo-99999999999999999999999:1-1", "epoch out of range"),
        BAD("foo-1.0:-1", "epoch is not a number"),
        BAD("foo-1.0-1:2", "invalid character ':' in release"),
        BAD("a:b-1-1", "invalid character ':' in name"),
        BAD("foo-1/2-1", "invalid character '/' in version"),
        BAD("foo/bar-1-1", "invalid character '/' in name"),
        BAD("../etc-1-1", "name starts with '.'"),
        BAD(".-1-1", "name starts with '.'"),
        BAD("+foo-1-1", "name starts with '+'"),
        BAD("foo-1.0-1.fc40%", "invalid character '%' in release"),
        BAD("foo-%{version}-1", "invalid character '%' in version"),
        BAD("foo-1.0-1;reboot", "invalid character ';' in release"),
        BAD("$(reboot)-1-1", "name starts with '$'"),
        BAD("foo`id`-1-1", "invalid character '`' in name"),
        BAD("foo|cat-1-1", "invalid character '|' in name"),
        BAD("foo'-1-1", "invalid character '''"),
        BAD("foo\"-1-1", "invalid character '\"' in name"),
        BAD("foo-1.0-1 ", "space"),
        BAD(" foo-1.0-1", "space"),
        BAD("foo-1.0-1\n", "'foo-1.0-1\\x0a'"),
        BAD("foo-1.0-1\r\n", "space"),
        BAD("foo\t-1-1", "'foo\\x09-1-1'"),
        BAD("foo-1.0-1; rm -rf /", "space"),
        BAD("foo-1-1\x1b[31m", "'foo-1-1\\x1b[31m'"),
        BAD("foo-1-1\x7f", "control"),
        BAD("f\xc3\xb6\xc3\xb6-1-1", "non-ASCII"),
        BAD("foo-1-1\xff", "'foo-1-1\\xff'"),
        BAD("-", "no version-release"),
        BAD("--", "empty name"),
        BAD(":", "no version-release"),
        BAD("1:", "no version-release"),
};

static const struct parse_row nevra_rows[] = {
        OK("bash-5.2.26-3.fc40.x86_64", "bash", "", "5.2.26", "3.fc40", "x86_64"),
        OK("bash-0:5.2.26-3.fc40.x86_64", "bash", "0", "5.2.26", "3.fc40", "x86_64"),
        OK("1:foo-1.0-1.fc40.noarch", "foo", "1", "1.0", "1.fc40", "noarch"),
        OK("libpng-2:1.2.46-1.fc15.x86_64", "libpng", "2", "1.2.46", "1.fc15", "x86_64"),
        OK("xorg-x11-server-Xorg-21.1.11-1.fc40.x86_64", "xorg-x11-server-Xorg", "",
           "21.1.11", "1.fc40", "x86_64"),
        OK("kernel-6.8.5-301.fc40.aarch64", "kernel", "", "6.8.5", "301.fc40", "aarch64"),
        OK("glibc-2.39-5.fc40.i686", "glibc", "", "2.39", "5.fc40", "i686"),
        OK("glibc-2.14-4.x86_64", "glibc", "", "2.14", "4", "x86_64"),
        OK("foo-1.0-1.src", "foo", "", "1.0", "1", "src"),
        OK("foo-1.0-1.el9.ppc64le", "foo", "", "1.0", "1.el9", "ppc64le"),
        OK("foo-1.0-1.el9.s390x", "foo", "", "1.0", "1.el9", "s390x"),
        OK("foo-1.0-1.fc40.riscv64", "foo", "", "1.0", "1.fc40", "riscv64"),
        OK("foo-1.0-1.an23.loongarch64", "foo", "", "1.0", "1.an23", "loongarch64"),
        OK("foo-1.0-1.fc36.armv7hl", "foo", "", "1.0", "1.fc36", "armv7hl"),
        OK("python3.12-3.12.2-2.fc40.x86_64", "python3.12", "", "3.12.2", "2.fc40",
           "x86_64"),
        OK("foo-1.0~rc1^git2-1.fc40.x86_64", "foo", "", "1.0~rc1^git2", "1.fc40",
           "x86_64"),
        OK("i686-1-1.i686", "i686", "", "1", "1", "i686"),

        BAD("bash-5.2.26-3.fc40", "unknown architecture 'fc40'"),
        BAD("bash-5.2.26-3", "no architecture"),
        BAD("bash-5.2.26-x86_64", "no architecture"),
        BAD("bash-5.2.26-3.fc40.X86_64", "unknown architecture 'X86_64'"),
        BAD("bash-5.2.26-3.fc40.amd64", "unknown architecture 'amd64'"),
        BAD("bash-5.2.26-3.fc40.", "unknown architecture ''"),
        BAD("bash-5.2.26-.x86_64", "empty release"),
        BAD("bash-5.2.26-3.fc40.x86_64 ", "space"),
        BAD("bash-5.2.26-3.fc40.x86_64\n", "control"),
        BAD("bash-5.2.26-3.fc40.x86_64/../../x", "unknown architecture '/x'"),
        BAD("x86_64", "no version-release"),
        BAD("", "empty"),
};

static void check_parse_rows(const struct parse_row *rows, size_t n,
                             int (*parse)(const char *, struct nevra *, struct error *),
                             const char *prefix)
{
        for (size_t i = 0; i < n; i++) {
                const struct parse_row *row = &rows[i];
                struct nevra nv;
                struct error err = { 0, "" };
                int rc = parse(row->in, &nv, &err);

                if (rc != row->rc)
                        fail_msg("row %zu '%s': rc %d, expected %d (%s)", i,
                                 show(row->in), rc, row->rc, err.msg);
                if (rc == 0) {
                        const char *got[] = { nv.name, nv.epoch, nv.version,
                                              nv.release, nv.arch };
                        const char *want[] = { row->name, row->epoch, row->version,
                                               row->release, row->arch };
                        for (size_t f = 0; f < N_ELEMENTS(got); f++)
                                if (strcmp(got[f], want[f]) != 0)
                                        fail_msg("row %zu '%s': field %zu is '%s', "
                                                 "expected '%s'", i, show(row->in),
                                                 f, got[f], want[f]);
                        /* Every part points into the struct itself. */
                        for (size_t f = 0; f < N_ELEMENTS(got); f++)
                                assert_true(got[f] >= nv.buf &&
                                            got[f] < nv.buf + sizeof nv.buf);
                } else {
                        assert_int_equal(err.code, -row->rc);
                        check_message(&err, prefix, row->msg, row->in);
                        /* A failed parse leaves no half-filled fields. */
                        assert_string_equal(nv.name, "");
                        assert_string_equal(nv.version, "");
                        assert_string_equal(nv.arch, "");
                }
        }
}

static void test_parse_nevr(void **state)
{
        (void)state;
        check_parse_rows(nevr_rows, N_ELEMENTS(nevr_rows), nevra_parse_nevr,
                         "invalid package name '");
}

static void test_parse_nevra(void **state)
{
        (void)state;
        check_parse_rows(nevra_rows, N_ELEMENTS(nevra_rows), nevra_parse_nevra,
                         "invalid NEVRA '");
}

/* Lengths around NEVRA_MAX, 1 MiB of input, NULL arguments. */
static void test_parse_limits(void **state)
{
        (void)state;
        struct nevra nv;
        struct error err;
        size_t big = 1024 * 1024;
        char *s = malloc(big + 1);
        assert_non_null(s);

        /* NEVRA_MAX - 1 bytes is the longest accepted. */
        memset(s, 'a', NEVRA_MAX - 1);
        memcpy(s + NEVRA_MAX - 1 - 4, "-1-1", 5);
        assert_int_equal(strlen(s), NEVRA_MAX - 1);
        assert_int_equal(nevra_parse_nevr(s, &nv, &err), 0);
        assert_int_equal(strlen(nv.name), NEVRA_MAX - 5);

        memset(s, 'a', NEVRA_MAX);
        memcpy(s + NEVRA_MAX - 4, "-1-1", 5);
        assert_int_equal(nevra_parse_nevr(s, &nv, &err), -EINVAL);
        check_message(&err, "invalid package name '", "longer than 511 bytes", s);
        assert_non_null(strstr(err.msg, "...'"));

        memset(s, 'a', big);
        s[big] = '\0';
        s[10] = '-';
        s[20] = '-';
        assert_int_equal(nevra_parse_nevra(s, &nv, &err), -EINVAL);
        check_message(&err, "invalid NEVRA '", "longer than", s);

        /* Control characters everywhere in a long line. */
        for (size_t i = 0; i < big; i++)
                s[i] = (char)(1 + i % 31);
        assert_int_equal(nevra_parse_nevr(s, &nv, &err), -EINVAL);
        check_message(&err, "invalid package name '", NULL, s);
        free(s);

        assert_int_equal(nevra_parse_nevr(NULL, &nv, &err), -EINVAL);
        check_message(&err, "invalid package name", "none given", NULL);
        assert_int_equal(nevra_parse_nevra("a-1-1.noarch", NULL, &err), -EINVAL);
        /* err is optional. */
        assert_int_equal(nevra_parse_nevra("a-1-1", &nv, NULL), -EINVAL);
        assert_int_equal(nevra_parse_nevra("a-1-1.noarch", &nv, NULL), 0);
}

/* --- arch_known --------------------------------------------------------- */

static void test_arch_known(void **state)
{
        (void)state;
        static const struct {
                const char *arch;
                bool known;
        } rows[] = {
                { "x86_64", true }, { "i386", true }, { "i486", true },
                { "i586", true }, { "i686", true }, { "athlon", true },
                { "noarch", true }, { "src", true }, { "nosrc", true },
                { "aarch64", true }, { "armv7hl", true }, { "armv7hnl", true },
                { "armhfp", true }, { "ppc", true }, { "ppc64", true },
                { "ppc64le", true }, { "ppc64p7", true }, { "s390", true },
                { "s390x", true }, { "riscv64", true }, { "loongarch64", true },
                { "ia64", true }, { "alpha", true }, { "sparc", true },
                { "sparc64", true }, { "sparcv9", true }, { "mips", true },
                { "mipsel", true }, { "mips64", true }, { "mips64el", true },
                { "", false }, { "X86_64", false }, { "x86_64 ", false },
                { "x86-64", false }, { "amd64", false }, { "arm64", false },
                { "armv7l", false }, { "fc40", false }, { "x86_6", false },
                { "x86_644", false }, { NULL, false },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++)
                if (arch_known(rows[i].arch) != rows[i].known)
                        fail_msg("arch_known('%s') != %d", show(rows[i].arch),
                                 rows[i].known);
}

/* --- formatting --------------------------------------------------------- */

static void test_format(void **state)
{
        (void)state;
        static const struct {
                const char *in;
                bool nevra;
                const char *out;
        } rows[] = {
                { "bash-5.2.26-3.fc40", false, "bash-5.2.26-3.fc40" },
                { "bash-0:5.2.26-3.fc40", false, "bash-5.2.26-3.fc40" },
                { "bash-000:5.2.26-3.fc40", false, "bash-5.2.26-3.fc40" },
                { "1:foo-1.0-1.fc40", false, "foo-1:1.0-1.fc40" },
                { "foo-10:1.0-1.fc40", false, "foo-10:1.0-1.fc40" },
                { "bash-5.2.26-3.fc40.x86_64", true, "bash-5.2.26-3.fc40.x86_64" },
                { "bash-0:5.2.26-3.fc40.x86_64", true, "bash-5.2.26-3.fc40.x86_64" },
                { "2:libpng-1.2.46-1.fc15.x86_64", true, "libpng-2:1.2.46-1.fc15.x86_64" },
                { "xorg-x11-server-Xorg-21.1.11-1.fc40.x86_64", true,
                  "xorg-x11-server-Xorg-21.1.11-1.fc40.x86_64" },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
                struct nevra nv, again;
                char buf[NEVRA_MAX];
                int rc = rows[i].nevra ? nevra_parse_nevra(rows[i].in, &nv, NULL)
                                       : nevra_parse_nevr(rows[i].in, &nv, NULL);
                assert_int_equal(rc, 0);
                assert_int_equal(nevra_format(&nv, buf, sizeof buf), 0);
                if (strcmp(buf, rows[i].out) != 0)
                        fail_msg("format('%s') = '%s', expected '%s'", rows[i].in,
                                 buf, rows[i].out);

                /* Round trip. */
                rc = rows[i].nevra ? nevra_parse_nevra(buf, &again, NULL)
                                   : nevra_parse_nevr(buf, &again, NULL);
                assert_int_equal(rc, 0);
                assert_string_equal(again.name, nv.name);
                assert_string_equal(again.version, nv.version);
                assert_string_equal(again.release, nv.release);
                assert_string_equal(again.arch, nv.arch);
                assert_int_equal(nevra_evr_compare(&nv, &again), 0);

                /* Exactly fitting, then one byte short. */
                size_t len = strlen(rows[i].out);
                assert_int_equal(nevra_format(&nv, buf, len + 1), 0);
                assert_string_equal(buf, rows[i].out);
                assert_int_equal(nevra_format(&nv, buf, len), -ENOSPC);
                assert_string_equal(buf, "");
        }

        /* A struct filled by hand, with absent parts as NULL. */
        struct nevra hand = { .name = "a", .epoch = NULL, .version = "1",
                              .release = "2", .arch = NULL };
        char buf[32];
        assert_int_equal(nevra_format(&hand, buf, sizeof buf), 0);
        assert_string_equal(buf, "a-1-2");
        hand.name = NULL;
        assert_int_equal(nevra_format(&hand, buf, sizeof buf), -EINVAL);
        assert_int_equal(nevra_format(NULL, buf, sizeof buf), -EINVAL);
        assert_int_equal(nevra_format(&hand, buf, 0), -EINVAL);
}

/* --- version comparison ------------------------------------------------- */

/* rpm's own test cases (tests/rpmvercmp.at) and some edges. */
static const struct {
        const char *a, *b;
        int cmp;
} vercmp_rows[] = {
        { "1.0", "1.0", 0 }, { "1.0", "2.0", -1 }, { "2.0", "1.0", 1 },
        { "2.0.1", "2.0.1", 0 }, { "2.0", "2.0.1", -1 }, { "2.0.1", "2.0", 1 },
        { "2.0.1a", "2.0.1a", 0 }, { "2.0.1a", "2.0.1", 1 }, { "2.0.1", "2.0.1a", -1 },
        { "5.5p1", "5.5p1", 0 }, { "5.5p1", "5.5p2", -1 }, { "5.5p2", "5.5p1", 1 },
        { "5.5p10", "5.5p10", 0 }, { "5.5p1", "5.5p10", -1 }, { "5.5p10", "5.5p1", 1 },
        { "10xyz", "10.1xyz", -1 }, { "10.1xyz", "10xyz", 1 },
        { "xyz10", "xyz10", 0 }, { "xyz10", "xyz10.1", -1 }, { "xyz10.1", "xyz10", 1 },
        { "xyz.4", "xyz.4", 0 }, { "xyz.4", "8", -1 }, { "8", "xyz.4", 1 },
        { "xyz.4", "2", -1 }, { "2", "xyz.4", 1 },
        { "5.5p2", "5.6p1", -1 }, { "5.6p1", "5.5p2", 1 },
        { "5.6p1", "6.5p1", -1 }, { "6.5p1", "5.6p1", 1 },
        { "6.0.rc1", "6.0", 1 }, { "6.0", "6.0.rc1", -1 },
        { "10b2", "10a1", 1 }, { "10a2", "10b2", -1 },
        { "1.0aa", "1.0aa", 0 }, { "1.0a", "1.0aa", -1 }, { "1.0aa", "1.0a", 1 },
        { "10.0001", "10.0001", 0 }, { "10.0001", "10.1", 0 }, { "10.1", "10.0001", 0 },
        { "10.0001", "10.0039", -1 }, { "10.0039", "10.0001", 1 },
        { "4.999.9", "5.0", -1 }, { "5.0", "4.999.9", 1 },
        { "20101121", "20101121", 0 }, { "20101121", "20101122", -1 },
        { "20101122", "20101121", 1 },
        { "2_0", "2_0", 0 }, { "2.0", "2_0", 0 }, { "2_0", "2.0", 0 },
        { "a", "a", 0 }, { "a+", "a+", 0 }, { "a+", "a_", 0 }, { "a_", "a+", 0 },
        { "+a", "+a", 0 }, { "+a", "_a", 0 }, { "_a", "+a", 0 },
        { "+_", "+_", 0 }, { "_+", "+_", 0 }, { "_+", "_", 0 }, { "+", "_", 0 },
        { "_", "+", 0 },
        { "1.0~rc1", "1.0~rc1", 0 }, { "1.0~rc1", "1.0", -1 }, { "1.0", "1.0~rc1", 1 },
        { "1.0~rc1", "1.0~rc2", -1 }, { "1.0~rc2", "1.0~rc1", 1 },
        { "1.0~rc1~git123", "1.0~rc1~git123", 0 },
        { "1.0~rc1~git123", "1.0~rc1", -1 }, { "1.0~rc1", "1.0~rc1~git123", 1 },
        { "1.0^", "1.0^", 0 }, { "1.0^", "1.0", 1 }, { "1.0", "1.0^", -1 },
        { "1.0^git1", "1.0^git1", 0 }, { "1.0^git1", "1.0", 1 },
        { "1.0", "1.0^git1", -1 }, { "1.0^git1", "1.0^git2", -1 },
        { "1.0^git2", "1.0^git1", 1 }, { "1.0^git1", "1.01", -1 },
        { "1.01", "1.0^git1", 1 }, { "1.0^20160101", "1.0^20160101", 0 },
        { "1.0^20160101", "1.0.1", -1 }, { "1.0.1", "1.0^20160101", 1 },
        { "1.0^20160101^git1", "1.0^20160101^git1", 0 },
        { "1.0^20160102", "1.0^20160101^git1", 1 },
        { "1.0^20160101^git1", "1.0^20160102", -1 },
        { "1.0~rc1^git1", "1.0~rc1^git1", 0 }, { "1.0~rc1^git1", "1.0~rc1", 1 },
        { "1.0~rc1", "1.0~rc1^git1", -1 },
        { "1.0^git1~pre", "1.0^git1~pre", 0 }, { "1.0^git1", "1.0^git1~pre", 1 },
        { "1.0^git1~pre", "1.0^git1", -1 },
        /* edges */
        { "", "", 0 }, { "", "1", -1 }, { "1", "", 1 }, { "~", "", -1 },
        { "", "~", 1 }, { "^", "", 1 }, { "", "^", -1 }, { "~", "^", -1 },
        { "0", "00", 0 }, { "1.0", "1.0.", 0 }, { "1..0", "1.0", 0 },
        { "a", "1", -1 }, { "1", "a", 1 }, { "A", "a", -1 }, { "Z", "a", -1 },
        { "1.a", "1a", 0 }, { "1a", "1.1", -1 },
        { "100000000000000000000000000000001", "99999999999999999999999999999999", 1 },
        { "000000000000000000000000000000002", "1", 1 },
        { "1.0.fc40", "1.0.fc39", 1 }, { "3.fc40", "10.fc40", -1 },
        { "1.1.\xce\xb1", "1.1.\xce\xb1", 0 }, { "1.1.\xce\xb1", "1.1.\xce\xb2", 0 },
        { "1.1\xce\xb1", "1.1", 0 },
};

static void test_vercmp_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(vercmp_rows); i++) {
                const char *a = vercmp_rows[i].a, *b = vercmp_rows[i].b;
                int ours = sign(rpm_vercmp(a, b));
                int rpms = sign(rpmvercmp(a, b));
                if (ours != vercmp_rows[i].cmp || rpms != vercmp_rows[i].cmp)
                        fail_msg("vercmp('%s', '%s'): ours %d, librpm %d, table %d",
                                 show(a), show(b), ours, rpms, vercmp_rows[i].cmp);
                assert_int_equal(sign(rpm_vercmp(b, a)), -ours);
        }
        /* NULL sorts as "" rather than crashing. */
        assert_int_equal(rpm_vercmp(NULL, ""), 0);
        assert_int_equal(sign(rpm_vercmp(NULL, "1")), -1);
}

/* Deterministic random strings over the characters that matter to
 * rpmvercmp, compared with librpm. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint32_t)(rng_state >> 32);
}

static void random_version(char *s, size_t max)
{
        static const char alphabet[] = "0001123999aabzAZ..._+~~^^-";
        size_t len = rng() % max;
        for (size_t i = 0; i < len; i++)
                s[i] = alphabet[rng() % (sizeof alphabet - 1)];
        s[len] = '\0';
}

static void test_vercmp_random(void **state)
{
        (void)state;
        char a[16], b[16];

        for (int i = 0; i < 200000; i++) {
                random_version(a, sizeof a);
                if (i % 2) {
                        /* A near neighbour: one character changed. */
                        memcpy(b, a, sizeof b);
                        size_t len = strlen(b);
                        if (len)
                                b[rng() % len] = "0a.~^"[rng() % 5];
                } else {
                        random_version(b, sizeof b);
                }
                int ours = sign(rpm_vercmp(a, b));
                int rpms = sign(rpmvercmp(a, b));
                if (ours != rpms)
                        fail_msg("vercmp('%s', '%s'): ours %d, librpm %d", a, b, ours,
                                 rpms);
        }
}

static void test_evr_compare(void **state)
{
        (void)state;
        static const struct {
                const char *a, *b;
                int cmp;
        } rows[] = {
                { "foo-1.0-1", "foo-1.0-1", 0 },
                { "foo-0:1.0-1", "foo-1.0-1", 0 },
                { "foo-00:1.0-1", "foo-1.0-1", 0 },
                { "foo-1.0-1", "foo-1:0.1-1", -1 },
                { "1:foo-0.1-1", "foo-9.9-9", 1 },
                { "foo-2:1-1", "foo-10:1-1", -1 },
                { "foo-1.0-2", "foo-1.0-10", -1 },
                { "foo-1.0-1.fc40", "foo-1.0-1.fc39", 1 },
                { "foo-1.0~rc1-1", "foo-1.0-1", -1 },
                { "foo-1.0^git1-1", "foo-1.0-1", 1 },
                { "foo-1.0-1~bootstrap", "foo-1.0-1", -1 },
                { "foo-1.0-1", "bar-1.0-1", 0 },  /* names are not compared */
                { "glibc-2.14.90-24.fc16.4", "glibc-2.14.90-24.fc16", 1 },
                { "bash-5.2.26-3.fc40", "bash-5.2.26-3.fc40.x86_64", -1 },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
                struct nevra a, b;
                assert_int_equal(nevra_parse_nevr(rows[i].a, &a, NULL), 0);
                assert_int_equal(nevra_parse_nevr(rows[i].b, &b, NULL), 0);
                int ours = sign(nevra_evr_compare(&a, &b));

                /* librpm's own EVR comparison must agree. */
                rpmver va = rpmverNew(*a.epoch ? a.epoch : NULL, a.version, a.release);
                rpmver vb = rpmverNew(*b.epoch ? b.epoch : NULL, b.version, b.release);
                assert_non_null(va);
                assert_non_null(vb);
                int rpms = sign(rpmverCmp(va, vb));
                rpmverFree(va);
                rpmverFree(vb);

                if (ours != rows[i].cmp || rpms != rows[i].cmp)
                        fail_msg("evr_compare('%s', '%s'): ours %d, librpm %d, table %d",
                                 rows[i].a, rows[i].b, ours, rpms, rows[i].cmp);
                assert_int_equal(sign(nevra_evr_compare(&b, &a)), -ours);
        }
}

/* --- real data ---------------------------------------------------------- */

#define PD_F24 "real-backtraces-and-problemdirs/satyr-problem_dir-sleep-f24/problem_dir/"
#define PD_F15 "real-backtraces-and-problemdirs/abrt-problem_dir-urxvtd-f15-backtrace/problem_dir/"
#define PD_F16 "abrt-problemdir-sleep-f16-with-coredump/problem_dir/"

/* The `package` file of ABRT problem directories: a NEVR. */
static void test_real_package(void **state)
{
        (void)state;
        static const struct {
                const char *path;
                const char *name, *epoch, *version, *release;
        } rows[] = {
                { PD_F24 "package", "coreutils", "", "8.25", "5.fc24" },
                { PD_F15 "package", "rxvt-unicode", "", "9.12", "2.fc15" },
                { PD_F16 "package", "coreutils", "", "8.12", "6.fc16" },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
                char *text = slurp(rows[i].path);
                struct nevra nv;
                struct error err;
                if (nevra_parse_nevr(text, &nv, &err) != 0)
                        fail_msg("%s: %s", rows[i].path, err.msg);
                assert_string_equal(nv.name, rows[i].name);
                assert_string_equal(nv.epoch, rows[i].epoch);
                assert_string_equal(nv.version, rows[i].version);
                assert_string_equal(nv.release, rows[i].release);
                free(text);
        }

        /* The F24 directory also records the parts one by one. */
        static const struct {
                const char *file;
                size_t field;
        } parts[] = {
                { PD_F24 "pkg_name", 0 }, { PD_F24 "pkg_epoch", 1 },
                { PD_F24 "pkg_version", 2 }, { PD_F24 "pkg_release", 3 },
        };
        char *text = slurp(PD_F24 "package");
        struct nevra nv;
        assert_int_equal(nevra_parse_nevr(text, &nv, NULL), 0);
        free(text);
        const char *fields[] = { nv.name, *nv.epoch ? nv.epoch : "0", nv.version,
                                 nv.release };
        for (size_t i = 0; i < N_ELEMENTS(parts); i++) {
                text = slurp(parts[i].file);
                assert_string_equal(fields[parts[i].field], text);
                free(text);
        }
}

/* dso_list lines: "<path> <NEVRA> (<vendor>) <install time>". */
static void test_real_dso_list(void **state)
{
        (void)state;
        static const struct {
                const char *path;
                size_t lines;
                /* one line checked field by field */
                const char *nevra, *name, *epoch, *version, *release, *arch;
        } rows[] = {
                { PD_F24 "dso_list", 4, "glibc-2.23.1-5.fc24.x86_64",
                  "glibc", "", "2.23.1", "5.fc24", "x86_64" },
                { PD_F16 "dso_list", 4, "glibc-common-2.14.90-24.fc16.4.x86_64",
                  "glibc-common", "", "2.14.90", "24.fc16.4", "x86_64" },
                { PD_F15 "dso_list", 0, "libpng-2:1.2.46-1.fc15.x86_64",
                  "libpng", "2", "1.2.46", "1.fc15", "x86_64" },
                { PD_F15 "dso_list", 0, "perl-libs-4:5.12.4-159.fc15.x86_64",
                  "perl-libs", "4", "5.12.4", "159.fc15", "x86_64" },
                { PD_F15 "dso_list", 0, "dejavu-sans-mono-fonts-2.33-1.fc15.noarch",
                  "dejavu-sans-mono-fonts", "", "2.33", "1.fc15", "noarch" },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
                char *text = slurp(rows[i].path);
                size_t lines = 0;
                bool seen = false;
                char *save = NULL;
                for (char *line = strtok_r(text, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        char path[4096], field[NEVRA_MAX];
                        if (sscanf(line, "%4095s %511s", path, field) != 2)
                                fail_msg("%s: odd line '%s'", rows[i].path, line);
                        struct nevra nv;
                        struct error err;
                        if (nevra_parse_nevra(field, &nv, &err) != 0)
                                fail_msg("%s: %s", rows[i].path, err.msg);
                        char back[NEVRA_MAX];
                        assert_int_equal(nevra_format(&nv, back, sizeof back), 0);
                        assert_string_equal(back, field);
                        lines++;
                        if (strcmp(field, rows[i].nevra) != 0)
                                continue;
                        seen = true;
                        assert_string_equal(nv.name, rows[i].name);
                        assert_string_equal(nv.epoch, rows[i].epoch);
                        assert_string_equal(nv.version, rows[i].version);
                        assert_string_equal(nv.release, rows[i].release);
                        assert_string_equal(nv.arch, rows[i].arch);
                }
                if (!seen)
                        fail_msg("%s: no line with %s", rows[i].path, rows[i].nevra);
                if (rows[i].lines)
                        assert_int_equal(lines, rows[i].lines);
                else
                        assert_true(lines > 10);
                free(text);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_nevr),
                cmocka_unit_test(test_parse_nevra),
                cmocka_unit_test(test_parse_limits),
                cmocka_unit_test(test_arch_known),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_vercmp_table),
                cmocka_unit_test(test_vercmp_random),
                cmocka_unit_test(test_evr_compare),
                cmocka_unit_test(test_real_package),
                cmocka_unit_test(test_real_dso_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

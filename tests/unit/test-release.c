/* Unit tests for common/release.c: release lines and os-release files to
 * (distribution, version), release ids, hostile input; the os_release and
 * os_info files of real ABRT problem directories under $TESTDATA. */
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

#include "release.h"
#include "testutil.h"


/* --- helpers ------------------------------------------------------------ */

/* A release error must also say what failed, in one of these words. */
static void check_release_message(const struct error *err, const char *part,
                                  const char *input)
{
        check_message(err, NULL, part, input);
        static const char *const prefixes[] = {
                "invalid release", "unsupported release '", "invalid os-release",
                "unsupported distribution '", "cannot ",
        };
        bool prefixed = false;
        for (size_t i = 0; i < N_ELEMENTS(prefixes); i++)
                if (strncmp(err->msg, prefixes[i], strlen(prefixes[i])) == 0)
                        prefixed = true;
        if (!prefixed)
                fail_msg("'%s': message \"%s\" does not say what failed", show(input),
                         err->msg);
}

/* --- release_parse ------------------------------------------------------ */

struct parse_row {
        const char *in;
        int rc;
        const char *distribution, *version;     /* on success */
        const char *msg;                        /* on failure: part of it */
};

#define OK(in, d, v) { in, 0, d, v, NULL }
#define BAD(in, m) { in, -EINVAL, NULL, NULL, m }
#define UNSUP(in, m) { in, -ENOTSUP, NULL, NULL, m }

#define FEDORA_40_OS_RELEASE \
        "NAME=\"Fedora Linux\"\n" \
        "VERSION=\"40 (Workstation Edition)\"\n" \
        "ID=fedora\n" \
        "VERSION_ID=40\n" \
        "VERSION_CODENAME=\"\"\n" \
        "PLATFORM_ID=\"platform:f40\"\n" \
        "PRETTY_NAME=\"Fedora Linux 40 (Workstation Edition)\"\n" \
        "ANSI_COLOR=\"0;38;2;60;110;180\"\n" \
        "LOGO=fedora-logo-icon\n" \
        "CPE_NAME=\"cpe:/o:fedoraproject:fedora:40\"\n" \
        "DEFAULT_HOSTNAME=\"fedora\"\n" \
        "HOME_URL=\"https://fedoraproject.org/\"\n" \
        "DOCUMENTATION_URL=\"https://docs.fedoraproject.org/en-US/fedora/f40/system-administrators-guide/\"\n" \
        "SUPPORT_URL=\"https://ask.fedoraproject.org/\"\n" \
        "BUG_REPORT_URL=\"https://bugzilla.redhat.com/\"\n" \
        "REDHAT_BUGZILLA_PRODUCT=\"Fedora\"\n" \
        "REDHAT_BUGZILLA_PRODUCT_VERSION=40\n" \
        "REDHAT_SUPPORT_PRODUCT=\"Fedora\"\n" \
        "REDHAT_SUPPORT_PRODUCT_VERSION=40\n" \
        "SUPPORT_END=2025-05-13\n" \
        "VARIANT=\"Workstation Edition\"\n" \
        "VARIANT_ID=workstation\n"

#define FEDORA_RAWHIDE_OS_RELEASE \
        "NAME=\"Fedora Linux\"\n" \
        "VERSION=\"41 (Rawhide)\"\n" \
        "ID=fedora\n" \
        "VERSION_ID=41\n" \
        "VERSION_CODENAME=\"\"\n" \
        "PLATFORM_ID=\"platform:f41\"\n" \
        "PRETTY_NAME=\"Fedora Linux 41 (Rawhide)\"\n" \
        "REDHAT_BUGZILLA_PRODUCT=\"Fedora\"\n" \
        "REDHAT_BUGZILLA_PRODUCT_VERSION=rawhide\n" \
        "REDHAT_SUPPORT_PRODUCT=\"Fedora\"\n" \
        "REDHAT_SUPPORT_PRODUCT_VERSION=rawhide\n"

#define RHEL_94_OS_RELEASE \
        "NAME=\"Red Hat Enterprise Linux\"\n" \
        "VERSION=\"9.4 (Plow)\"\n" \
        "ID=\"rhel\"\n" \
        "ID_LIKE=\"fedora\"\n" \
        "VERSION_ID=\"9.4\"\n" \
        "PLATFORM_ID=\"platform:el9\"\n" \
        "PRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n" \
        "ANSI_COLOR=\"0;31\"\n" \
        "LOGO=\"fedora-logo-icon\"\n" \
        "CPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"\n" \
        "HOME_URL=\"https://www.redhat.com/\"\n" \
        "REDHAT_BUGZILLA_PRODUCT=\"Red Hat Enterprise Linux 9\"\n" \
        "REDHAT_BUGZILLA_PRODUCT_VERSION=9.4\n" \
        "REDHAT_SUPPORT_PRODUCT=\"Red Hat Enterprise Linux\"\n" \
        "REDHAT_SUPPORT_PRODUCT_VERSION=\"9.4\"\n"

#define CENTOS_STREAM_9_OS_RELEASE \
        "NAME=\"CentOS Stream\"\n" \
        "VERSION=\"9\"\n" \
        "ID=\"centos\"\n" \
        "ID_LIKE=\"rhel fedora\"\n" \
        "VERSION_ID=\"9\"\n" \
        "PLATFORM_ID=\"platform:el9\"\n" \
        "PRETTY_NAME=\"CentOS Stream 9\"\n" \
        "REDHAT_SUPPORT_PRODUCT=\"Red Hat Enterprise Linux 9\"\n" \
        "REDHAT_SUPPORT_PRODUCT_VERSION=\"CentOS Stream\"\n"

#define CENTOS_7_OS_RELEASE \
        "NAME=\"CentOS Linux\"\n" \
        "VERSION=\"7 (Core)\"\n" \
        "ID=\"centos\"\n" \
        "ID_LIKE=\"rhel fedora\"\n" \
        "VERSION_ID=\"7\"\n" \
        "PRETTY_NAME=\"CentOS Linux 7 (Core)\"\n" \
        "CENTOS_MANTISBT_PROJECT_VERSION=\"7\"\n" \
        "REDHAT_SUPPORT_PRODUCT=\"centos\"\n" \
        "REDHAT_SUPPORT_PRODUCT_VERSION=\"7\"\n"

#define UBUNTU_OS_RELEASE \
        "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n" \
        "NAME=\"Ubuntu\"\n" \
        "VERSION_ID=\"22.04\"\n" \
        "VERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\n" \
        "ID=ubuntu\n" \
        "ID_LIKE=debian\n"

static const struct parse_row parse_rows[] = {
        /* release lines */
        OK("Fedora release 40 (Forty)", "fedora", "40"),
        OK("Fedora release 41 (Rawhide)", "fedora", "rawhide"),
        OK("Fedora release 40 (Forty)\n", "fedora", "40"),
        OK("Fedora release 40 (Forty)\r\n", "fedora", "40"),
        OK("  Fedora  release\t40   (Forty)  \n\n", "fedora", "40"),
        OK("Fedora release 40", "fedora", "40"),
        OK("Fedora release 24 (Twenty Four)", "fedora", "24"),
        OK("Fedora Linux release 39 (Thirty Nine)", "fedora", "39"),
        OK("Fedora release rawhide", "fedora", "rawhide"),
        OK("Fedora release 42 (Rawhide Prerelease)", "fedora", "rawhide"),
        OK("fedora release 40 (forty)", "fedora", "40"),
        OK("Fedora release 40 (Forty (really))", "fedora", "40"),
        OK("Red Hat Enterprise Linux release 9.4 (Plow)", "rhel", "9"),
        OK("Red Hat Enterprise Linux release 8.10 (Ootpa)", "rhel", "8"),
        OK("Red Hat Enterprise Linux release 10.0 (Coughlan)", "rhel", "10"),
        OK("Red Hat Enterprise Linux Server release 7.9 (Maipo)", "rhel", "7"),
        OK("Red Hat Enterprise Linux Workstation release 6.10 (Santiago)", "rhel", "6"),
        OK("Red Hat Enterprise Linux Client release 7.9 (Maipo)", "rhel", "7"),
        OK("Red Hat Enterprise Linux ComputeNode release 7.9 (Maipo)", "rhel", "7"),
        OK("Red Hat Enterprise Linux AS release 4 (Nahant Update 9)", "rhel", "4"),
        OK("Red Hat Enterprise Linux release 9", "rhel", "9"),
        OK("CentOS Stream release 9", "centos", "9"),
        OK("CentOS Stream release 8", "centos", "8"),
        OK("CentOS Linux release 7.9.2009 (Core)", "centos", "7"),
        OK("CentOS Linux release 8.5.2111", "centos", "8"),
        OK("CentOS release 6.10 (Final)", "centos", "6"),

        /* os-release files */
        OK(FEDORA_40_OS_RELEASE, "fedora", "40"),
        OK(FEDORA_RAWHIDE_OS_RELEASE, "fedora", "rawhide"),
        OK("ID=fedora\nVERSION_ID=41\nVERSION=\"41 (Workstation Edition Prerelease) Rawhide\"\n",
           "fedora", "rawhide"),
        OK("ID=fedora\nVERSION_ID=41\nREDHAT_SUPPORT_PRODUCT_VERSION=rawhide\n",
           "fedora", "rawhide"),
        OK("ID=fedora\nVERSION_ID=41\nREDHAT_BUGZILLA_PRODUCT_VERSION=Rawhide\n",
           "fedora", "rawhide"),
        OK("ID=fedora\nVERSION_ID=rawhide\n", "fedora", "rawhide"),
        OK("ID=fedora\nREDHAT_SUPPORT_PRODUCT_VERSION=rawhide\n", "fedora", "rawhide"),
        OK(RHEL_94_OS_RELEASE, "rhel", "9"),
        OK(CENTOS_STREAM_9_OS_RELEASE, "centos", "9"),
        OK(CENTOS_7_OS_RELEASE, "centos", "7"),
        OK("ID='fedora'\nVERSION_ID='40'\n", "fedora", "40"),
        OK("ID=fedora\nVERSION_ID=40", "fedora", "40"),
        OK("ID=fedora\r\nVERSION_ID=40\r\n", "fedora", "40"),
        OK("# comment\n\n  ID=fedora\n\tVERSION_ID=\"4\"'0'\nVERSION=\"40 (\\\"Forty\\\")\"\n",
           "fedora", "40"),
        OK("ID=ubuntu\nID=fedora\nVERSION_ID=40\n", "fedora", "40"),
        OK("Fedora release 40 (Forty)\nID=rhel\nVERSION_ID=9.4\n", "rhel", "9"),
        OK("ID=fedora\nVERSION_ID=40\nthis line is not an assignment\nX=\"unterminated\n",
           "fedora", "40"),
        OK("ID=fedora\nVERSION_ID=40\nNAME=$(reboot)`id`;rm -rf /\n", "fedora", "40"),

        /* release lines that are wrong or unknown */
        BAD("", "empty"),
        BAD("   \n\t\n", "empty"),
        UNSUP("Ubuntu 22.04.4 LTS", "'Ubuntu 22.04.4 LTS': unknown distribution"),
        UNSUP("Gentoo Base System release 2.14", "unknown distribution"),
        UNSUP("Debian GNU/Linux 12", "unknown distribution"),
        UNSUP("Red Hat Enterprise Linux Foo Bar release 9", "unknown distribution"),
        UNSUP("Red Hat Enterprise Linux 9 release 9", "unknown distribution"),
        UNSUP("Fedoraa release 40", "unknown distribution"),
        UNSUP("AlmaLinux release 9.4 (Seafoam Ocelot)", "unknown distribution"),
        UNSUP("release 40", "unknown distribution"),
        UNSUP("$(reboot)", "'$(reboot)'"),
        UNSUP("fedora-40-x86_64", "unknown distribution"),
        BAD("Fedora", "no version"),
        BAD("Fedora release", "no version"),
        BAD("Fedora release forty", "bad version 'forty'"),
        BAD("Fedora release 40.1", "bad version '40.1'"),
        BAD("Fedora release 040", "bad version"),
        BAD("Fedora release 0", "bad version"),
        BAD("Fedora release 1234567890123456", "bad version"),
        BAD("Fedora release -40", "bad version"),
        BAD("Fedora release 40; rm -rf /", "unexpected text"),
        BAD("Fedora release 40;reboot", "bad version '40;reboot'"),
        BAD("Fedora release 40 $(reboot)", "unexpected text"),
        BAD("Fedora release 40 (Forty) extra", "unexpected text"),
        BAD("Fedora release 40 (Forty", "unexpected text"),
        BAD("Fedora release 40 (Forty)\nrm -rf /", "more than one line"),
        BAD("Fedora release 40\n\nFedora release 41", "more than one line"),
        BAD("Fedora release 40\x1b[2J", "control"),
        BAD("Fedora release 40\x1b[2J", "'Fedora release 40\\x1b[2J'"),
        BAD("Fedora release 40 (F\xc3\xb6rty)", "non-ASCII"),
        BAD("Fedora\x01release 40", "control"),
        BAD("Red Hat Enterprise Linux release 9.x", "bad version '9.x'"),
        BAD("Red Hat Enterprise Linux release .9", "bad version"),
        BAD("Red Hat Enterprise Linux release 9.", "bad version"),
        BAD("Red Hat Enterprise Linux release 09.4", "bad version"),
        BAD("CentOS Stream release 9..1", "bad version"),
        BAD("CentOS Stream release nine", "bad version"),
        BAD("Red Hat Enterprise Linux release 1234567890123456.1", "bad version"),

        /* os-release files that are wrong or unknown */
        UNSUP(UBUNTU_OS_RELEASE, "unsupported distribution 'ubuntu'"),
        UNSUP("ID=debian\nVERSION_ID=\"12\"\n", "'debian'"),
        UNSUP("ID=almalinux\nVERSION_ID=\"9.4\"\n", "'almalinux'"),
        UNSUP("ID=Fedora\nVERSION_ID=40\n", "'Fedora'"),
        UNSUP("ID=$(reboot)\n", "'$(reboot)'"),
        UNSUP("ID=\"fedora\\x1b\"\nVERSION_ID=40\n", "'fedora\\\\x1b'"),
        UNSUP("ID=\"fedora\x1b[2J\"\nVERSION_ID=40\n", "'fedora\\x1b[2J'"),
        UNSUP("ID=fedora\nID=ubuntu\nVERSION_ID=40\n", "'ubuntu'"),
        BAD("NAME=Fedora\nVERSION_ID=40\n", "no ID"),
        BAD("ID=\nVERSION_ID=40\n", "no ID"),
        BAD("ID=fedora\n", "no VERSION_ID"),
        BAD("ID=fedora\nVERSION_ID=\n", "bad VERSION_ID ''"),
        BAD("ID=fedora\nVERSION_ID=forty\n", "bad VERSION_ID 'forty'"),
        BAD("ID=fedora\nVERSION_ID=40.1\n", "bad VERSION_ID"),
        BAD("ID=rhel\nVERSION_ID=\"9.4; reboot\"\n", "bad VERSION_ID '9.4; reboot'"),
        BAD("ID=rhel\nVERSION_ID=\"nine\"\n", "bad VERSION_ID 'nine'"),
        BAD("ID=\"fedora\nVERSION_ID=40\n", "bad quoting"),
        BAD("ID='fedora\nVERSION_ID=40\n", "bad quoting"),
        BAD("ID=fedora\nVERSION_ID=40 41\n", "bad quoting"),
        BAD("ID=fedora\\\nVERSION_ID=40\n", "bad quoting"),
        BAD("ID=fedora\nVERSION_ID=\"40000000000000000000000000000000000000000000000000000000000000000000000000\"\n",
            "too long"),
};

static void test_parse(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(parse_rows); i++) {
                const struct parse_row *row = &parse_rows[i];
                struct release rel;
                struct error err = { 0, "" };
                memset(&rel, 'X', sizeof rel);
                int rc = release_parse(row->in, &rel, &err);

                if (rc != row->rc)
                        fail_msg("row %zu '%s': rc %d, expected %d (%s)", i,
                                 show(row->in), rc, row->rc, err.msg);
                if (rc == 0) {
                        if (strcmp(rel.distribution, row->distribution) != 0 ||
                            strcmp(rel.version, row->version) != 0)
                                fail_msg("row %zu '%s': got %s/%s, expected %s/%s", i,
                                         show(row->in), rel.distribution, rel.version,
                                         row->distribution, row->version);
                } else {
                        assert_int_equal(err.code, -row->rc);
                        check_release_message(&err, row->msg, row->in);
                        /* No half-filled result on failure. */
                        assert_string_equal(rel.distribution, "");
                        assert_string_equal(rel.version, "");
                }
        }
}

/* Big, repetitive and control-laden inputs: bounded work, bounded messages,
 * never a read past the NUL (the ASan build checks that). */
static void test_parse_hostile(void **state)
{
        (void)state;
        struct release rel;
        struct error err;
        size_t big = 1024 * 1024;
        char *s = malloc(big + 1);
        assert_non_null(s);

        /* 1 MiB after a good start. */
        memset(s, 'A', big);
        memcpy(s, "Fedora release 40 (", 19);
        s[big - 1] = ')';
        s[big] = '\0';
        assert_int_equal(release_parse(s, &rel, &err), -EINVAL);
        check_release_message(&err, "longer than", s);
        assert_non_null(strstr(err.msg, "...'"));

        /* 1 MiB of newlines, of NUL-free control bytes, of os-release lines. */
        memset(s, '\n', big);
        assert_int_equal(release_parse(s, &rel, &err), -EINVAL);
        check_release_message(&err, NULL, "(newlines)");
        for (size_t i = 0; i < big; i++)
                s[i] = (char)(1 + i % 255);
        assert_int_equal(release_parse(s, &rel, &err), -EINVAL);
        check_release_message(&err, NULL, "(bytes)");
        for (size_t i = 0; i + 10 <= big; i += 10)
                memcpy(s + i, "ID=fedora\n", 10);
        assert_int_equal(release_parse(s, &rel, &err), -EINVAL);
        check_release_message(&err, NULL, "(os-release)");

        /* Long but under the limit: a 60 KiB os-release of comments. */
        size_t n = 0;
        while (n + 30 < 60 * 1024) {
                memcpy(s + n, "# a comment of 20 bytes\n", 24);
                n += 24;
        }
        strcpy(s + n, "ID=fedora\nVERSION_ID=40\n");
        assert_int_equal(release_parse(s, &rel, &err), 0);
        assert_string_equal(rel.version, "40");

        /* A 10 KiB unknown line: the quote in the message is cut. */
        memset(s, 'A', 10 * 1024);
        s[10 * 1024] = '\0';
        assert_int_equal(release_parse(s, &rel, &err), -ENOTSUP);
        check_release_message(&err, "...'", "(10 KiB)");

        /* Long values and names in every position. */
        memset(s, '9', 10 * 1024);
        memcpy(s, "ID=fedora\nVERSION_ID=", 21);
        s[10 * 1024] = '\0';
        assert_int_equal(release_parse(s, &rel, &err), -EINVAL);
        check_release_message(&err, "too long", "(long VERSION_ID)");
        memset(s, '9', 10 * 1024);
        memcpy(s, "Fedora release ", 15);
        assert_int_equal(release_parse(s, &rel, &err), -EINVAL);
        check_release_message(&err, "bad version", "(long version)");
        memset(s, 'a', 10 * 1024);
        memcpy(s + 10 * 1024 - 11, " release 40", 11);
        assert_int_equal(release_parse(s, &rel, &err), -ENOTSUP);
        check_release_message(&err, "unknown distribution", "(long name)");
        for (size_t i = 0; i < 10 * 1024; i += 2)
                memcpy(s + i, "a ", 2);
        memcpy(s + 10 * 1024 - 11, " release 40", 11);
        assert_int_equal(release_parse(s, &rel, &err), -ENOTSUP);
        check_release_message(&err, "unknown distribution", "(many words)");
        free(s);

        assert_int_equal(release_parse(NULL, &rel, &err), -EINVAL);
        check_release_message(&err, "none given", NULL);
        assert_int_equal(release_parse("Fedora release 40", NULL, &err), -EINVAL);
        /* err is optional. */
        assert_int_equal(release_parse("Ubuntu", &rel, NULL), -ENOTSUP);
        assert_int_equal(release_parse("Fedora release 40", &rel, NULL), 0);
}

/* --- release ids -------------------------------------------------------- */

static void test_arch_normalize(void **state)
{
        (void)state;
        static const struct {
                const char *in, *out;
        } rows[] = {
                { "i386", "i386" }, { "i486", "i386" }, { "i586", "i386" },
                { "i686", "i386" }, { "athlon", "i386" }, { "x86_64", "x86_64" },
                { "aarch64", "aarch64" }, { "I686", "I686" }, { "i686 ", "i686 " },
                { "", "" },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++)
                assert_string_equal(release_arch_normalize(rows[i].in), rows[i].out);
        const char *arch = "x86_64";
        assert_ptr_equal(release_arch_normalize(arch), arch);
        assert_null(release_arch_normalize(NULL));
}

static void test_id_make(void **state)
{
        (void)state;
        static const struct {
                const char *distribution, *version, *arch;
                int rc;
                const char *out;        /* the id, or part of the message */
        } rows[] = {
                { "fedora", "40", "x86_64", 0, "fedora-40-x86_64" },
                { "fedora", "rawhide", "x86_64", 0, "fedora-rawhide-x86_64" },
                { "rhel", "9", "x86_64", 0, "rhel-9-x86_64" },
                { "centos", "9", "aarch64", 0, "centos-9-aarch64" },
                { "fedora", "40", "i686", 0, "fedora-40-i386" },
                { "fedora", "40", "i586", 0, "fedora-40-i386" },
                { "fedora", "40", "i486", 0, "fedora-40-i386" },
                { "fedora", "40", "athlon", 0, "fedora-40-i386" },
                { "fedora", "40", "i386", 0, "fedora-40-i386" },
                { "rhel", "9", "s390x", 0, "rhel-9-s390x" },
                { "fedora", "9.4", "ppc64le", 0, "fedora-9.4-ppc64le" },
                { "abcdefghijklmnopqrstuvw", "123456789012345", "loongarch64", 0,
                  "abcdefghijklmnopqrstuvw-123456789012345-loongarch64" },
                { "fedora", "40", "noarch", -EINVAL, "unknown architecture" },
                { "fedora", "40", "src", -EINVAL, "unknown architecture" },
                { "fedora", "40", "nosrc", -EINVAL, "unknown architecture" },
                { "fedora", "40", "armv7l", -EINVAL, "unknown architecture" },
                { "fedora", "40", "X86_64", -EINVAL, "unknown architecture" },
                { "fedora", "40", "", -EINVAL, "unknown architecture" },
                { "fedora", "40", "x86_64-extra", -EINVAL, "not distribution-version-arch" },
                { "fedora", "40", "../../etc", -EINVAL, "unknown architecture" },
                { "fedora", "40", "x86_64\n", -EINVAL, "'fedora-40-x86_64\\x0a'" },
                { "Fedora", "40", "x86_64", -EINVAL, "bad distribution" },
                { "", "40", "x86_64", -EINVAL, "bad distribution" },
                { "fedora1", "40", "x86_64", -EINVAL, "bad distribution" },
                { "fedora", "", "x86_64", -EINVAL, "bad version" },
                { "fedora", "4-0", "x86_64", -EINVAL, "not distribution-version-arch" },
                { "fedora", "..", "x86_64", -EINVAL, "bad version" },
                { "fedora", ".", "x86_64", -EINVAL, "bad version" },
                { "fedora", "4.", "x86_64", -EINVAL, "bad version" },
                { "fedora", "4_0", "x86_64", -EINVAL, "bad version" },
                { "fedora", "Rawhide", "x86_64", -EINVAL, "bad version" },
                { "fedora", "4/0", "x86_64", -EINVAL, "bad version" },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
                struct release rel;
                struct error err = { 0, "" };
                char id[RELEASE_ID_MAX];
                memset(&rel, 0, sizeof rel);
                snprintf(rel.distribution, sizeof rel.distribution, "%s",
                         rows[i].distribution);
                snprintf(rel.version, sizeof rel.version, "%s", rows[i].version);
                memset(id, 'X', sizeof id);

                int rc = release_id_make(&rel, rows[i].arch, id, sizeof id, &err);
                if (rc != rows[i].rc)
                        fail_msg("row %zu %s/%s/%s: rc %d, expected %d (%s)", i,
                                 rows[i].distribution, rows[i].version,
                                 show(rows[i].arch), rc, rows[i].rc, err.msg);
                if (rc == 0) {
                        assert_string_equal(id, rows[i].out);
                        assert_true(release_id_valid(id));

                        /* Exactly fitting, then one byte short. */
                        size_t len = strlen(rows[i].out);
                        assert_int_equal(release_id_make(&rel, rows[i].arch, id,
                                                         len + 1, &err), 0);
                        assert_string_equal(id, rows[i].out);
                        assert_int_equal(release_id_make(&rel, rows[i].arch, id,
                                                         len, &err), -ENOSPC);
                        assert_string_equal(id, "");
                        check_release_message(&err, "buffer", rows[i].out);
                } else {
                        assert_string_equal(id, "");
                        check_release_message(&err, rows[i].out, rows[i].distribution);
                }
        }

        /* Arrays filled to the brim, no NUL: read within bounds, rejected. */
        struct release full;
        char id[RELEASE_ID_MAX];
        struct error err;
        memset(full.distribution, 'a', sizeof full.distribution);
        memcpy(full.version, "40", 3);
        assert_int_equal(release_id_make(&full, "x86_64", id, sizeof id, &err), -EINVAL);
        check_release_message(&err, "bad distribution", "(full distribution)");
        memcpy(full.distribution, "fedora", 7);
        memset(full.version, '1', sizeof full.version);
        assert_int_equal(release_id_make(&full, "x86_64", id, sizeof id, &err), -EINVAL);
        check_release_message(&err, "bad version", "(full version)");

        memcpy(full.version, "40", 3);
        assert_int_equal(release_id_make(NULL, "x86_64", id, sizeof id, &err), -EINVAL);
        assert_int_equal(release_id_make(&full, NULL, id, sizeof id, &err), -EINVAL);
        assert_int_equal(release_id_make(&full, "x86_64", NULL, 0, &err), -EINVAL);
        assert_int_equal(release_id_make(&full, "x86_64", id, 0, NULL), -ENOSPC);
}

static void test_id_parse(void **state)
{
        (void)state;
        char long_id[RELEASE_ID_MAX + 8];
        const struct {
                const char *id;
                int rc;
                const char *distribution, *version, *arch;
                const char *msg;
        } rows[] = {
                { "fedora-40-x86_64", 0, "fedora", "40", "x86_64", NULL },
                { "fedora-rawhide-x86_64", 0, "fedora", "rawhide", "x86_64", NULL },
                { "rhel-9-x86_64", 0, "rhel", "9", "x86_64", NULL },
                { "centos-9-aarch64", 0, "centos", "9", "aarch64", NULL },
                { "fedora-40-i386", 0, "fedora", "40", "i386", NULL },
                { "fedora-40-i686", 0, "fedora", "40", "i686", NULL },
                { "fedora-9.4-ppc64le", 0, "fedora", "9.4", "ppc64le", NULL },
                { "abcdefghijklmnopqrstuvw-123456789012345-loongarch64", 0,
                  "abcdefghijklmnopqrstuvw", "123456789012345", "loongarch64", NULL },

                { "", -EINVAL, NULL, NULL, NULL, "empty" },
                { "fedora", -EINVAL, NULL, NULL, NULL, "not distribution-version-arch" },
                { "fedora-40", -EINVAL, NULL, NULL, NULL, "not distribution-version-arch" },
                { "fedora-40-x86_64-extra", -EINVAL, NULL, NULL, NULL,
                  "not distribution-version-arch" },
                { "fedora-40-x86-64", -EINVAL, NULL, NULL, NULL,
                  "not distribution-version-arch" },
                { "fedora 40 x86_64", -EINVAL, NULL, NULL, NULL,
                  "not distribution-version-arch" },
                { "Fedora-40-x86_64", -EINVAL, NULL, NULL, NULL, "bad distribution" },
                { "fedora1-40-x86_64", -EINVAL, NULL, NULL, NULL, "bad distribution" },
                { "-40-x86_64", -EINVAL, NULL, NULL, NULL, "bad distribution" },
                { "abcdefghijklmnopqrstuvwx-1-x86_64", -EINVAL, NULL, NULL, NULL,
                  "bad distribution" },
                { "fedora--x86_64", -EINVAL, NULL, NULL, NULL, "bad version" },
                { "fedora-4.-x86_64", -EINVAL, NULL, NULL, NULL, "bad version" },
                { "fedora-.4-x86_64", -EINVAL, NULL, NULL, NULL, "bad version" },
                { "fedora-..-x86_64", -EINVAL, NULL, NULL, NULL, "bad version" },
                { "fedora-4..0-x86_64", -EINVAL, NULL, NULL, NULL, "bad version" },
                { "fedora-4_0-x86_64", -EINVAL, NULL, NULL, NULL, "bad version" },
                { "fedora-Rawhide-x86_64", -EINVAL, NULL, NULL, NULL, "bad version" },
                { "fedora-1234567890123456-x86_64", -EINVAL, NULL, NULL, NULL,
                  "bad version" },
                { "fedora-40-amd64", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-noarch", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-src", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-X86_64", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-x86_64\n", -EINVAL, NULL, NULL, NULL, "'fedora-40-x86_64\\x0a'" },
                { "fedora-40-x86_64 ", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-../../etc", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-x86_64/../x", -EINVAL, NULL, NULL, NULL, "unknown architecture" },
                { "fedora-40-x86_64;reboot", -EINVAL, NULL, NULL, NULL,
                  "unknown architecture" },
                { long_id, -EINVAL, NULL, NULL, NULL, "too long" },
        };

        /* fedora-4000...-x86_64, RELEASE_ID_MAX bytes long. */
        memset(long_id, '0', sizeof long_id);
        memcpy(long_id, "fedora-4", 8);
        memcpy(long_id + RELEASE_ID_MAX - 7, "-x86_64", 8);
        assert_int_equal(strlen(long_id), RELEASE_ID_MAX);

        for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
                struct release rel;
                struct error err = { 0, "" };
                char arch[16];
                memset(&rel, 'X', sizeof rel);
                memset(arch, 'X', sizeof arch);

                int rc = release_id_parse(rows[i].id, &rel, arch, sizeof arch, &err);
                if (rc != rows[i].rc)
                        fail_msg("row %zu '%s': rc %d, expected %d (%s)", i,
                                 show(rows[i].id), rc, rows[i].rc, err.msg);
                if (release_id_valid(rows[i].id) != (rc == 0))
                        fail_msg("row %zu '%s': release_id_valid disagrees", i,
                                 show(rows[i].id));
                if (rc == 0) {
                        assert_string_equal(rel.distribution, rows[i].distribution);
                        assert_string_equal(rel.version, rows[i].version);
                        assert_string_equal(arch, rows[i].arch);

                        /* Back again; only the arch is normalised. */
                        char id[RELEASE_ID_MAX], want[RELEASE_ID_MAX];
                        assert_int_equal(release_id_make(&rel, arch, id, sizeof id,
                                                         &err), 0);
                        snprintf(want, sizeof want, "%s-%s-%s", rel.distribution,
                                 rel.version, release_arch_normalize(arch));
                        assert_string_equal(id, want);

                        /* The arch buffer: exactly fitting, then one byte short. */
                        size_t alen = strlen(rows[i].arch);
                        assert_int_equal(release_id_parse(rows[i].id, &rel, arch,
                                                          alen + 1, &err), 0);
                        assert_int_equal(release_id_parse(rows[i].id, &rel, arch,
                                                          alen, &err), -ENOSPC);
                        assert_string_equal(arch, "");
                        check_release_message(&err, "buffer", rows[i].id);
                        /* The arch is optional. */
                        assert_int_equal(release_id_parse(rows[i].id, &rel, NULL, 0,
                                                          NULL), 0);
                        assert_string_equal(rel.version, rows[i].version);
                } else {
                        assert_int_equal(err.code, EINVAL);
                        check_release_message(&err, rows[i].msg, rows[i].id);
                        assert_string_equal(rel.distribution, "");
                        assert_string_equal(rel.version, "");
                        assert_string_equal(arch, "");
                }
        }

        struct release rel;
        struct error err;
        assert_false(release_id_valid(NULL));
        assert_int_equal(release_id_parse(NULL, &rel, NULL, 0, &err), -EINVAL);
        check_release_message(&err, "none given", NULL);
        assert_int_equal(release_id_parse("fedora-40-x86_64", NULL, NULL, 0, &err),
                         -EINVAL);
}

/* --- real data ---------------------------------------------------------- */

#define PD_F24 "real-backtraces-and-problemdirs/satyr-problem_dir-sleep-f24/problem_dir/"
#define PD_F15 "real-backtraces-and-problemdirs/abrt-problem_dir-urxvtd-f15-backtrace/problem_dir/"
#define PD_F16 "abrt-problemdir-sleep-f16-with-coredump/problem_dir/"

/* os_release holds the release line, os_info the os-release file; the arch
 * comes from `architecture` or `pkg_arch`. */
static void test_real_problem_dirs(void **state)
{
        (void)state;
        static const struct {
                const char *file, *arch_file;
                const char *distribution, *version, *id;
        } rows[] = {
                { PD_F24 "os_release", PD_F24 "pkg_arch", "fedora", "24",
                  "fedora-24-x86_64" },
                { PD_F24 "os_info", PD_F24 "pkg_arch", "fedora", "24",
                  "fedora-24-x86_64" },
                { PD_F15 "os_release", NULL, "fedora", "15", NULL },
                /* Upstream's F15 directory carries an F25 os_info. */
                { PD_F15 "os_info", NULL, "fedora", "25", NULL },
                { PD_F16 "os_release", PD_F16 "architecture", "fedora", "16",
                  "fedora-16-x86_64" },
        };
        for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
                char *text = slurp(rows[i].file);
                struct release rel;
                struct error err;
                if (release_parse(text, &rel, &err) != 0)
                        fail_msg("%s: %s", rows[i].file, err.msg);
                assert_string_equal(rel.distribution, rows[i].distribution);
                assert_string_equal(rel.version, rows[i].version);
                free(text);
                if (!rows[i].arch_file)
                        continue;
                char *arch = slurp(rows[i].arch_file);
                char id[RELEASE_ID_MAX];
                if (release_id_make(&rel, arch, id, sizeof id, &err) != 0)
                        fail_msg("%s: %s", rows[i].arch_file, err.msg);
                assert_string_equal(id, rows[i].id);
                free(arch);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_parse_hostile),
                cmocka_unit_test(test_arch_normalize),
                cmocka_unit_test(test_id_make),
                cmocka_unit_test(test_id_parse),
                cmocka_unit_test(test_real_problem_dirs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nevra.h"

/* The architectures RPM builds for. Short on purpose: the last dot component
 * of a NEVRA is only taken as an arch when it is one of these. */
static const char *const known_arches[] = {
        "x86_64", "i386", "i486", "i586", "i686", "athlon",
        "noarch", "src", "nosrc",
        "aarch64", "armv7hl", "armv7hnl", "armhfp",
        "ppc", "ppc64", "ppc64le", "ppc64p7", "s390", "s390x",
        "riscv64", "loongarch64", "ia64", "alpha",
        "sparc", "sparc64", "sparcv9",
        "mips", "mipsel", "mips64", "mips64el",
};

/* Our own ASCII classes: <ctype.h> follows the locale, RPM does not. */
static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
        return is_digit(c) || is_alpha(c);
}

static bool name_char(char c)
{
        return is_alnum(c) || (c != '\0' && strchr("._+-", c));
}

static bool verrel_char(char c)
{
        return is_alnum(c) || (c != '\0' && strchr("._+~^", c));
}

bool arch_known(const char *arch)
{
        if (!arch)
                return false;
        for (size_t i = 0; i < sizeof known_arches / sizeof known_arches[0]; i++)
                if (strcmp(arch, known_arches[i]) == 0)
                        return true;
        return false;
}

static void nevra_clear(struct nevra *n)
{
        n->buf[0] = '\0';
        n->name = n->epoch = n->version = n->release = n->arch = n->buf;
}

/* Returns the first character of s that fails ok(), or '\0'. */
static char bad_char(const char *s, bool (*ok)(char))
{
        for (; *s; s++)
                if (!ok(*s))
                        return *s;
        return '\0';
}

static int parse(const char *text, struct nevra *out, bool want_arch,
                 struct error *err)
{
        const char *what = want_arch ? "NEVRA" : "package name";
        char q[QUOTE_BUF];
        char c;

        if (!text)
                return error_set(err, EINVAL, "invalid %s: none given", what);
        size_t len = strnlen(text, NEVRA_MAX);
        if (len == 0)
                return error_set(err, EINVAL, "invalid %s '': empty", what);
        if (len >= NEVRA_MAX)
                return error_set(err, EINVAL,
                                 "invalid %s '%s': longer than %d bytes",
                                 what, error_quote(text, q), NEVRA_MAX - 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char u = (unsigned char)text[i];
                if (u <= 0x20 || u >= 0x7f)
                        return error_set(err, EINVAL,
                                         "invalid %s '%s': contains a space, "
                                         "control or non-ASCII character",
                                         what, error_quote(text, q));
        }

        memcpy(out->buf, text, len + 1);
        char *s = out->buf, *epoch = NULL;

        /* "E:name-V-R", as yum and ABRT write it. Names never hold ':', so a
         * digit run and a colon at the start can only be an epoch. */
        char *p = s;
        while (is_digit(*p))
                p++;
        if (p > s && *p == ':') {
                *p = '\0';
                epoch = s;
                s = p + 1;
        }

        /* Names hold '-', versions and releases do not: split from the end. */
        char *release = strrchr(s, '-');
        if (!release)
                return error_set(err, EINVAL, "invalid %s '%s': no version-release",
                                 what, error_quote(text, q));
        *release++ = '\0';
        char *version = strrchr(s, '-');
        if (!version)
                return error_set(err, EINVAL, "invalid %s '%s': no version-release",
                                 what, error_quote(text, q));
        *version++ = '\0';
        char *name = s;

        /* "name-E:V-R", as dnf writes it. */
        char *colon = strchr(version, ':');
        if (colon) {
                if (epoch)
                        return error_set(err, EINVAL, "invalid %s '%s': two epochs",
                                         what, error_quote(text, q));
                *colon = '\0';
                epoch = version;
                version = colon + 1;
        }

        char *arch = NULL;
        if (want_arch) {
                char *dot = strrchr(release, '.');
                if (!dot)
                        return error_set(err, EINVAL,
                                         "invalid %s '%s': no architecture",
                                         what, error_quote(text, q));
                *dot = '\0';
                arch = dot + 1;
                if (!arch_known(arch)) {
                        char qa[QUOTE_BUF];
                        return error_set(err, EINVAL,
                                         "invalid %s '%s': unknown architecture '%s'",
                                         what, error_quote(text, q), error_quote(arch, qa));
                }
        }

        if (!*name)
                return error_set(err, EINVAL, "invalid %s '%s': empty name",
                                 what, error_quote(text, q));
        /* As rpmbuild demands; also keeps "." and ".." out of file names. */
        if (!is_alnum(name[0]) && name[0] != '_')
                return error_set(err, EINVAL,
                                 "invalid %s '%s': name starts with '%c'",
                                 what, error_quote(text, q), name[0]);
        if ((c = bad_char(name, name_char)))
                return error_set(err, EINVAL,
                                 "invalid %s '%s': invalid character '%c' in name",
                                 what, error_quote(text, q), c);
        if (epoch) {
                if (!*epoch)
                        return error_set(err, EINVAL, "invalid %s '%s': empty epoch",
                                         what, error_quote(text, q));
                uint64_t e = 0;
                for (p = epoch; *p; p++) {
                        if (!is_digit(*p))
                                return error_set(err, EINVAL,
                                                 "invalid %s '%s': epoch is not a number",
                                                 what, error_quote(text, q));
                        e = e * 10 + (uint64_t)(*p - '0');
                        /* RPM stores the epoch in 32 bits. */
                        if (e > UINT32_MAX)
                                return error_set(err, EINVAL,
                                                 "invalid %s '%s': epoch out of range",
                                                 what, error_quote(text, q));
                }
        }
        if (!*version)
                return error_set(err, EINVAL, "invalid %s '%s': empty version",
                                 what, error_quote(text, q));
        if ((c = bad_char(version, verrel_char)))
                return error_set(err, EINVAL,
                                 "invalid %s '%s': invalid character '%c' in version",
                                 what, error_quote(text, q), c);
        if (!*release)
                return error_set(err, EINVAL, "invalid %s '%s': empty release",
                                 what, error_quote(text, q));
        if ((c = bad_char(release, verrel_char)))
                return error_set(err, EINVAL,
                                 "invalid %s '%s': invalid character '%c' in release",
                                 what, error_quote(text, q), c);

        /* buf[len] is the copy's own NUL: the "" for absent parts. */
        out->name = name;
        out->epoch = epoch ? epoch : out->buf + len;
        out->version = version;
        out->release = release;
        out->arch = arch ? arch : out->buf + len;
        return 0;
}

static int parse_checked(const char *text, struct nevra *out, bool want_arch,
                         struct error *err)
{
        if (!out)
                return error_set(err, EINVAL, "invalid %s: no output",
                                 want_arch ? "NEVRA" : "package name");
        nevra_clear(out);
        int r = parse(text, out, want_arch, err);
        if (r < 0)
                nevra_clear(out);
        return r;
}

int nevra_parse_nevr(const char *text, struct nevra *out, struct error *err)
{
        return parse_checked(text, out, false, err);
}

int nevra_parse_nevra(const char *text, struct nevra *out, struct error *err)
{
        return parse_checked(text, out, true, err);
}

static bool epoch_is_zero(const char *epoch)
{
        if (!epoch)
                return true;
        while (*epoch == '0')
                epoch++;
        return *epoch == '\0';
}

int nevra_format(const struct nevra *n, char *buf, size_t len)
{
        if (!buf || len == 0)
                return -EINVAL;
        buf[0] = '\0';
        if (!n || !n->name || !n->version || !n->release)
                return -EINVAL;

        bool epoch = !epoch_is_zero(n->epoch);
        bool arch = n->arch && *n->arch;
        int r = snprintf(buf, len, "%s-%s%s%s-%s%s%s", n->name,
                         epoch ? n->epoch : "", epoch ? ":" : "",
                         n->version, n->release,
                         arch ? "." : "", arch ? n->arch : "");
        if (r < 0 || (size_t)r >= len) {
                buf[0] = '\0';
                return -ENOSPC;
        }
        return 0;
}

/* Characters that only separate segments in rpmvercmp(). */
static bool vercmp_sep(char c)
{
        return c != '\0' && !is_alnum(c) && c != '~' && c != '^';
}

/* rpmvercmp() of rpm >= 4.15, step by step, comparing segments in place
 * rather than cutting copies of the strings. */
int rpm_vercmp(const char *a, const char *b)
{
        const char *one = a ? a : "", *two = b ? b : "";

        if (strcmp(one, two) == 0)
                return 0;

        while (*one || *two) {
                while (vercmp_sep(*one))
                        one++;
                while (vercmp_sep(*two))
                        two++;

                /* '~' sorts before everything, even the end of the string. */
                if (*one == '~' || *two == '~') {
                        if (*one != '~')
                                return 1;
                        if (*two != '~')
                                return -1;
                        one++;
                        two++;
                        continue;
                }

                /* '^' sorts after the end of the string, before the rest. */
                if (*one == '^' || *two == '^') {
                        if (!*one)
                                return -1;
                        if (!*two)
                                return 1;
                        if (*one != '^')
                                return 1;
                        if (*two != '^')
                                return -1;
                        one++;
                        two++;
                        continue;
                }

                if (!(*one && *two))
                        break;

                /* The segment type is set by one; two's segment of the same
                 * type may be empty. */
                const char *end1 = one, *end2 = two;
                bool isnum = is_digit(*one);
                if (isnum) {
                        while (is_digit(*end1))
                                end1++;
                        while (is_digit(*end2))
                                end2++;
                } else {
                        while (is_alpha(*end1))
                                end1++;
                        while (is_alpha(*end2))
                                end2++;
                }

                /* Numeric segments are newer than alpha ones. */
                if (end2 == two)
                        return isnum ? 1 : -1;

                if (isnum) {
                        while (*one == '0')
                                one++;
                        while (*two == '0')
                                two++;
                        /* More digits is larger: no overflow however long. */
                        if (end1 - one != end2 - two)
                                return end1 - one > end2 - two ? 1 : -1;
                }

                size_t len1 = (size_t)(end1 - one), len2 = (size_t)(end2 - two);
                int rc = memcmp(one, two, len1 < len2 ? len1 : len2);
                if (rc)
                        return rc < 0 ? -1 : 1;
                if (len1 != len2)
                        return len1 < len2 ? -1 : 1;

                one = end1;
                two = end2;
        }

        /* Equal segments, different separators: equal. */
        if (!*one && !*two)
                return 0;
        /* Otherwise whichever has segments left is newer. */
        return *one ? 1 : -1;
}

static const char *epoch_or_zero(const char *epoch)
{
        return epoch && *epoch ? epoch : "0";
}

int nevra_evr_compare(const struct nevra *a, const struct nevra *b)
{
        /* Epochs are digits only, which rpm_vercmp() compares as numbers. */
        int r = rpm_vercmp(epoch_or_zero(a->epoch), epoch_or_zero(b->epoch));
        if (r == 0)
                r = rpm_vercmp(a->version, b->version);
        if (r == 0)
                r = rpm_vercmp(a->release, b->release);
        return r;
}

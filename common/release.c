#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nevra.h"
#include "release.h"

/* Release lines are one line and os-release files a few hundred bytes; a
 * bound keeps a hostile upload from making us scan megabytes. */
#define RELEASE_TEXT_MAX 65536

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
        return c >= 'a' && c <= 'z';
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
               c == '\f';
}

static char to_lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII, locale-independent case folding. */
static bool eq_nocase(const char *a, size_t alen, const char *b)
{
        size_t blen = strlen(b);
        if (alen != blen)
                return false;
        for (size_t i = 0; i < alen; i++)
                if (to_lower(a[i]) != to_lower(b[i]))
                        return false;
        return true;
}

static bool contains_nocase(const char *s, size_t len, const char *needle)
{
        size_t nlen = strlen(needle);
        for (size_t i = 0; i + nlen <= len; i++)
                if (eq_nocase(s + i, nlen, needle))
                        return true;
        return false;
}

enum version_rule {
        VERSION_FEDORA,         /* "40", or "rawhide" */
        VERSION_MAJOR,          /* "9.4" -> "9" */
};

struct distro {
        const char *os_release_id;      /* ID= */
        const char *distribution;       /* first part of the release id */
        enum version_rule rule;
};

static const struct distro distros[] = {
        { "fedora", "fedora", VERSION_FEDORA },
        { "rhel", "rhel", VERSION_MAJOR },
        { "centos", "centos", VERSION_MAJOR },
};

/* Names before " release " in release lines. A variant word may follow some
 * ("Red Hat Enterprise Linux Server", "... Workstation", "... AS"). */
static const struct {
        const char *name;
        const struct distro *distro;
        bool variant;
} line_names[] = {
        { "Fedora", &distros[0], false },
        { "Fedora Linux", &distros[0], false },
        { "Red Hat Enterprise Linux", &distros[1], true },
        { "CentOS", &distros[2], false },
        { "CentOS Linux", &distros[2], false },
        { "CentOS Stream", &distros[2], false },
};

/* A positive number without leading zeros, short enough for struct
 * release: canonical, so one release has one id. */
static bool plain_number(const char *s, size_t len)
{
        if (len == 0 || len >= sizeof ((struct release *)0)->version)
                return false;
        if (s[0] == '0')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_digit(s[i]))
                        return false;
        return true;
}

/* Sets out->version by the distribution's rule; rawhide is decided by the
 * caller. Returns false when the version does not fit the rule. */
static bool set_version(const struct distro *d, const char *v, size_t len,
                        bool rawhide, struct release *out)
{
        if (d->rule == VERSION_FEDORA) {
                if (rawhide || eq_nocase(v, len, "rawhide")) {
                        strcpy(out->version, "rawhide");
                        return true;
                }
                if (!plain_number(v, len))
                        return false;
                memcpy(out->version, v, len);
                out->version[len] = '\0';
                return true;
        }

        /* "9", "9.4", "7.9.2009": keep the major number. */
        size_t major = 0;
        while (major < len && is_digit(v[major]))
                major++;
        if (!plain_number(v, major))
                return false;
        for (size_t i = major; i < len;) {
                if (v[i] != '.' || i + 1 == len || !is_digit(v[i + 1]))
                        return false;
                for (i++; i < len && is_digit(v[i]); i++)
                        ;
        }
        memcpy(out->version, v, major);
        out->version[major] = '\0';
        return true;
}

static void set_distribution(const struct distro *d, struct release *out)
{
        snprintf(out->distribution, sizeof out->distribution, "%s",
                 d->distribution);
}

/* Next run of non-blank characters in [*p, end). */
static bool next_word(const char **p, const char *end, const char **w,
                      size_t *wlen)
{
        const char *s = *p;
        while (s < end && is_space(*s))
                s++;
        if (s == end)
                return false;
        *w = s;
        while (s < end && !is_space(*s))
                s++;
        *wlen = (size_t)(s - *w);
        *p = s;
        return true;
}

/* "Fedora release 40 (Forty)" and the like: [start, end) is the line with
 * surrounding blanks already trimmed. */
static int parse_line(const char *text, const char *start, const char *end,
                      struct release *out, struct error *err)
{
        char q[QUOTE_BUF], name[48];
        size_t nlen = 0;
        const char *p = start, *w, *v = NULL;
        size_t wlen, vlen = 0;
        bool too_long = false;

        /* The words before "release" make the name, blanks collapsed. */
        while (next_word(&p, end, &w, &wlen)) {
                if (eq_nocase(w, wlen, "release")) {
                        if (next_word(&p, end, &w, &wlen)) {
                                v = w;
                                vlen = wlen;
                        }
                        break;
                }
                if (nlen + (nlen > 0) + wlen >= sizeof name) {
                        too_long = true;
                        continue;
                }
                if (nlen > 0)
                        name[nlen++] = ' ';
                memcpy(name + nlen, w, wlen);
                nlen += wlen;
        }
        name[nlen] = '\0';

        const struct distro *d = NULL;
        size_t n_names = too_long ? 0 : sizeof line_names / sizeof line_names[0];
        for (size_t i = 0; i < n_names; i++) {
                size_t l = strlen(line_names[i].name);
                if (nlen < l || !eq_nocase(name, l, line_names[i].name))
                        continue;
                const char *rest = name + l;
                bool ok = *rest == '\0';
                if (!ok && line_names[i].variant && *rest == ' ') {
                        ok = true;
                        for (rest++; *rest; rest++)
                                if (!is_lower(to_lower(*rest)))
                                        ok = false;
                        ok = ok && rest > name + l + 1;
                }
                if (ok) {
                        d = line_names[i].distro;
                        break;
                }
        }
        if (!d)
                return error_set(err, ENOTSUP,
                                 "unsupported release '%s': unknown distribution",
                                 error_quote(text, q));
        if (!v)
                return error_set(err, EINVAL, "invalid release '%s': no version",
                                 error_quote(text, q));

        /* After the version: nothing, or one "(codename)". */
        const char *rest = p;
        while (rest < end && is_space(*rest))
                rest++;
        if (rest < end && (*rest != '(' || end[-1] != ')'))
                return error_set(err, EINVAL,
                                 "invalid release '%s': unexpected text after "
                                 "the version",
                                 error_quote(text, q));
        bool rawhide = d->rule == VERSION_FEDORA &&
                       contains_nocase(rest, (size_t)(end - rest), "rawhide");

        set_distribution(d, out);
        if (!set_version(d, v, vlen, rawhide, out)) {
                char qv[QUOTE_BUF];
                return error_set(err, EINVAL, "invalid release '%s': bad version '%s'",
                                 error_quote(text, q), error_quote_n(v, vlen, QUOTE_MAX, qv));
        }
        return 0;
}

/* os-release values are shell-quoted: "...", '...' or bare. Returns 0,
 * -EINVAL when malformed, -E2BIG when longer than the buffer. */
static int os_value(const char *p, const char *eol, char *out, size_t outlen)
{
        size_t o = 0;

#define PUT(c) do { \
                if (o + 1 >= outlen) \
                        return -E2BIG; \
                out[o++] = (c); \
        } while (0)

        while (p < eol) {
                if (*p == '"') {
                        for (p++; p < eol && *p != '"'; p++) {
                                if (*p == '\\' && p + 1 < eol &&
                                    strchr("\"\\$`", p[1]))
                                        p++;
                                PUT(*p);
                        }
                        if (p == eol)
                                return -EINVAL;
                        p++;
                } else if (*p == '\'') {
                        for (p++; p < eol && *p != '\''; p++)
                                PUT(*p);
                        if (p == eol)
                                return -EINVAL;
                        p++;
                } else if (is_space(*p)) {
                        /* Blanks end a bare value; only blanks may follow. */
                        while (p < eol && is_space(*p))
                                p++;
                        if (p < eol)
                                return -EINVAL;
                } else if (*p == '\\') {
                        if (p + 1 == eol)
                                return -EINVAL;
                        PUT(p[1]);
                        p += 2;
                } else {
                        PUT(*p);
                        p++;
                }
        }
#undef PUT
        out[o] = '\0';
        return 0;
}

static bool key_start(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool key_char(char c)
{
        return key_start(c) || is_digit(c);
}

/* Length of "KEY" when line starts with "KEY=", else 0. */
static size_t os_key(const char *line, const char *eol)
{
        const char *p = line;
        if (p == eol || !key_start(*p))
                return 0;
        while (p < eol && key_char(*p))
                p++;
        return p < eol && *p == '=' ? (size_t)(p - line) : 0;
}

enum { OS_ID, OS_VERSION_ID, OS_VERSION, OS_SUPPORT_VERSION, OS_BUGZILLA_VERSION,
       OS_KEYS };

static const char *const os_keys[OS_KEYS] = {
        [OS_ID] = "ID",
        [OS_VERSION_ID] = "VERSION_ID",
        [OS_VERSION] = "VERSION",
        [OS_SUPPORT_VERSION] = "REDHAT_SUPPORT_PRODUCT_VERSION",
        [OS_BUGZILLA_VERSION] = "REDHAT_BUGZILLA_PRODUCT_VERSION",
};

static int parse_os_release(const char *text, const char *end,
                            struct release *out, struct error *err)
{
        char val[OS_KEYS][64];
        bool have[OS_KEYS] = { false };
        char q[QUOTE_BUF];

        for (const char *line = text; line < end;) {
                const char *eol = memchr(line, '\n', (size_t)(end - line));
                if (!eol)
                        eol = end;
                while (line < eol && is_space(*line))
                        line++;
                size_t klen = os_key(line, eol);
                for (size_t k = 0; klen && k < OS_KEYS; k++) {
                        if (strlen(os_keys[k]) != klen ||
                            memcmp(line, os_keys[k], klen) != 0)
                                continue;
                        /* Shell semantics: the last assignment wins. */
                        int r = os_value(line + klen + 1, eol, val[k], sizeof val[k]);
                        if (r < 0) {
                                const char *why = r == -E2BIG ? "too long"
                                                              : "bad quoting";
                                return error_set(err, EINVAL,
                                                 "invalid os-release: %s in '%s'", why,
                                                 error_quote_n(line, (size_t)(eol - line), QUOTE_MAX, q));
                        }
                        have[k] = true;
                }
                line = eol + (eol < end);
        }

        if (!have[OS_ID] || !*val[OS_ID])
                return error_set(err, EINVAL, "invalid os-release '%s': no ID",
                                 error_quote(text, q));
        const struct distro *d = NULL;
        for (size_t i = 0; i < sizeof distros / sizeof distros[0]; i++)
                if (strcmp(val[OS_ID], distros[i].os_release_id) == 0)
                        d = &distros[i];
        if (!d)
                return error_set(err, ENOTSUP,
                                 "unsupported distribution '%s' in os-release",
                                 error_quote(val[OS_ID], q));

        /* Rawhide keeps a number in VERSION_ID (the next release's) and says
         * "rawhide" in the Red Hat product versions or in VERSION. */
        bool rawhide = false;
        if (d->rule == VERSION_FEDORA) {
                rawhide = (have[OS_SUPPORT_VERSION] &&
                           eq_nocase(val[OS_SUPPORT_VERSION],
                                     strlen(val[OS_SUPPORT_VERSION]), "rawhide")) ||
                          (have[OS_BUGZILLA_VERSION] &&
                           eq_nocase(val[OS_BUGZILLA_VERSION],
                                     strlen(val[OS_BUGZILLA_VERSION]), "rawhide")) ||
                          (have[OS_VERSION] &&
                           contains_nocase(val[OS_VERSION], strlen(val[OS_VERSION]),
                                           "rawhide"));
        }
        if (!rawhide && !have[OS_VERSION_ID])
                return error_set(err, EINVAL,
                                 "invalid os-release of '%s': no VERSION_ID",
                                 error_quote(val[OS_ID], q));

        set_distribution(d, out);
        const char *v = have[OS_VERSION_ID] ? val[OS_VERSION_ID] : "";
        if (!set_version(d, v, strlen(v), rawhide, out))
                return error_set(err, EINVAL,
                                 "invalid os-release of '%s': bad VERSION_ID '%s'",
                                 d->distribution, error_quote(v, q));
        return 0;
}

int release_parse(const char *text, struct release *out, struct error *err)
{
        char q[QUOTE_BUF];

        if (!out)
                return error_set(err, EINVAL, "invalid release: no output");
        memset(out, 0, sizeof *out);
        if (!text)
                return error_set(err, EINVAL, "invalid release: none given");
        size_t len = strnlen(text, RELEASE_TEXT_MAX + 1);
        if (len > RELEASE_TEXT_MAX)
                return error_set(err, EINVAL,
                                 "invalid release '%s': longer than %d bytes",
                                 error_quote(text, q), RELEASE_TEXT_MAX);

        /* Any "KEY=" line makes it an os-release file; release lines hold no
         * '='. */
        const char *end = text + len;
        bool os_release = false;
        for (const char *line = text; line < end && !os_release;) {
                const char *eol = memchr(line, '\n', (size_t)(end - line));
                if (!eol)
                        eol = end;
                while (line < eol && is_space(*line))
                        line++;
                os_release = os_key(line, eol) > 0;
                line = eol + (eol < end);
        }

        int r;
        if (os_release) {
                r = parse_os_release(text, end, out, err);
        } else {
                const char *start = text, *stop = end;
                while (start < stop && is_space(*start))
                        start++;
                while (stop > start && is_space(stop[-1]))
                        stop--;
                r = 0;
                if (start == stop)
                        r = error_set(err, EINVAL, "invalid release '%s': empty",
                                      error_quote(text, q));
                for (const char *p = start; r == 0 && p < stop; p++) {
                        unsigned char c = (unsigned char)*p;
                        if (c == '\n')
                                r = error_set(err, EINVAL,
                                              "invalid release '%s': more than one line",
                                              error_quote(text, q));
                        else if ((c < 0x20 && c != '\t') || c >= 0x7f)
                                r = error_set(err, EINVAL,
                                              "invalid release '%s': contains a control "
                                              "or non-ASCII character", error_quote(text, q));
                }
                if (r == 0)
                        r = parse_line(text, start, stop, out, err);
        }
        if (r < 0)
                memset(out, 0, sizeof *out);
        return r;
}

const char *release_arch_normalize(const char *arch)
{
        static const char *const x86_32[] = { "i386", "i486", "i586", "i686", "athlon" };

        if (!arch)
                return NULL;
        for (size_t i = 0; i < sizeof x86_32 / sizeof x86_32[0]; i++)
                if (strcmp(arch, x86_32[i]) == 0)
                        return "i386";
        return arch;
}

/* Why id is not a valid release id, or NULL when it is. */
static const char *release_id_problem(const char *id)
{
        if (!id)
                return "none given";
        size_t len = strnlen(id, RELEASE_ID_MAX);
        if (len == 0)
                return "empty";
        if (len >= RELEASE_ID_MAX)
                return "too long";

        const char *d1 = strchr(id, '-');
        const char *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
        if (!d2 || strchr(d2 + 1, '-'))
                return "not distribution-version-arch";

        size_t dlen = (size_t)(d1 - id);
        if (dlen == 0 || dlen >= sizeof ((struct release *)0)->distribution)
                return "bad distribution";
        for (const char *p = id; p < d1; p++)
                if (!is_lower(*p))
                        return "bad distribution";

        /* Dot-separated, no empty component: "." and ".." never appear. */
        const char *v = d1 + 1;
        size_t vlen = (size_t)(d2 - v);
        if (vlen == 0 || vlen >= sizeof ((struct release *)0)->version)
                return "bad version";
        for (const char *p = v; p < d2; p++) {
                if (is_lower(*p) || is_digit(*p))
                        continue;
                if (*p == '.' && p > v && p[-1] != '.' && p + 1 < d2)
                        continue;
                return "bad version";
        }

        /* A crash comes from a machine: noarch and source are no release. */
        const char *arch = d2 + 1;
        if (!arch_known(arch) || strcmp(arch, "noarch") == 0 ||
            strcmp(arch, "src") == 0 || strcmp(arch, "nosrc") == 0)
                return "unknown architecture";
        return NULL;
}

bool release_id_valid(const char *id)
{
        return release_id_problem(id) == NULL;
}

int release_id_make(const struct release *rel, const char *arch,
                    char *id, size_t id_len, struct error *err)
{
        char buf[RELEASE_ID_MAX], q[QUOTE_BUF];

        if (id && id_len > 0)
                id[0] = '\0';
        if (!rel || !arch || !id)
                return error_set(err, EINVAL,
                                 "cannot make a release id: argument missing");
        /* Bounded reads: the arrays need not hold a NUL. */
        int n = snprintf(buf, sizeof buf, "%.*s-%.*s-%s",
                         (int)sizeof rel->distribution, rel->distribution,
                         (int)sizeof rel->version, rel->version,
                         release_arch_normalize(arch));
        if (n < 0 || (size_t)n >= sizeof buf)
                return error_set(err, EINVAL, "invalid release id '%s': too long",
                                 error_quote(buf, q));
        const char *why = release_id_problem(buf);
        if (why)
                return error_set(err, EINVAL, "invalid release id '%s': %s",
                                 error_quote(buf, q), why);
        if ((size_t)n >= id_len)
                return error_set(err, ENOSPC,
                                 "cannot store release id '%s': buffer of %zu bytes",
                                 buf, id_len);
        memcpy(id, buf, (size_t)n + 1);
        return 0;
}

int release_id_parse(const char *id, struct release *out, char *arch,
                     size_t arch_len, struct error *err)
{
        char q[QUOTE_BUF];

        if (arch && arch_len > 0)
                arch[0] = '\0';
        if (!out)
                return error_set(err, EINVAL, "cannot parse a release id: no output");
        memset(out, 0, sizeof *out);
        const char *why = release_id_problem(id);
        if (why)
                return error_set(err, EINVAL, "invalid release id '%s': %s",
                                 id ? error_quote(id, q) : "", why);

        /* release_id_problem() checked the sizes and the two dashes. */
        const char *d1 = strchr(id, '-'), *d2 = strchr(d1 + 1, '-');
        size_t alen = strlen(d2 + 1);
        if (arch && alen >= arch_len)
                return error_set(err, ENOSPC,
                                 "cannot store the architecture of release id '%s': "
                                 "buffer of %zu bytes", id, arch_len);
        memcpy(out->distribution, id, (size_t)(d1 - id));
        memcpy(out->version, d1 + 1, (size_t)(d2 - d1 - 1));
        if (arch)
                memcpy(arch, d2 + 1, alen + 1);
        return 0;
}

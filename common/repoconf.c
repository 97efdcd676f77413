#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ini.h"
#include "release.h"
#include "repoconf.h"

/* --- $variables --------------------------------------------------------- */

struct vars {
        const char *releasever;
        const char *basearch;
};

/* dnf's base architecture of a machine architecture (the ones a release id
 * may name; the rest are their own). */
static const char *basearch_of(const char *arch)
{
        static const struct {
                const char *arch, *basearch;
        } map[] = {
                { "armv7hl", "armhfp" }, { "armv7hnl", "armhfp" },
                { "ppc64p7", "ppc64" }, { "sparcv9", "sparc" },
        };

        arch = release_arch_normalize(arch);    /* i686 and friends: i386 */
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (strcmp(arch, map[i].arch) == 0)
                        return map[i].basearch;
        return arch;
}

static bool is_var_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_';
}

/* The value of $name (name is len bytes); "" for a known name when v is
 * NULL; NULL for an unknown name. */
static const char *var_value(const struct vars *v, const char *name, size_t len)
{
#define IS(s) (len == sizeof s - 1 && memcmp(name, s, len) == 0)
        if (IS("releasever"))
                return v ? v->releasever : "";
        if (IS("basearch") || IS("arch"))       /* $arch: as $basearch */
                return v ? v->basearch : "";
#undef IS
        return NULL;
}

/* Expands text into out (len bytes) with v; with v NULL, only checks that
 * every $variable is known and well formed. */
static int expand_vars(const char *text, const struct vars *v, char *out, size_t len,
                       struct error *err)
{
        char q[QUOTE_BUF], qv[QUOTE_BUF];
        size_t o = 0;

        if (out && len)
                out[0] = '\0';
        for (const char *p = text; *p;) {
                const char *name = NULL, *next = p + 1;
                size_t nlen = 0;

                if (p[0] == '$' && p[1] == '{') {
                        const char *close = strchr(p + 2, '}');
                        if (!close)
                                return error_set(err, EINVAL,
                                                 "'${' without its closing '}' in '%s'",
                                                 error_quote(text, q));
                        name = p + 2;
                        nlen = (size_t)(close - name);
                        next = close + 1;
                        bool good = nlen > 0;
                        for (size_t i = 0; i < nlen; i++)
                                good = good && is_var_char(name[i]);
                        if (!good)
                                return error_set(err, EINVAL,
                                                 "unsupported variable '%s' in '%s' (a name "
                                                 "of letters, digits and '_' between the "
                                                 "braces)",
                                                 error_quote_n(p, (size_t)(next - p),
                                                               QUOTE_MAX, qv),
                                                 error_quote(text, q));
                } else if (p[0] == '$' && is_var_char(p[1])) {
                        name = p + 1;
                        while (is_var_char(name[nlen]))
                                nlen++;
                        next = name + nlen;
                }

                /* A variable's value, or the character as it is ('$' too). */
                const char *value = p;
                size_t vlen = 1;
                if (name) {
                        value = var_value(v, name, nlen);
                        if (!value)
                                return error_set(err, EINVAL,
                                                 "unknown variable '%s' in '%s' (known: "
                                                 "$releasever, $basearch, $arch)",
                                                 error_quote_n(p, (size_t)(next - p),
                                                               QUOTE_MAX, qv),
                                                 error_quote(text, q));
                        vlen = strlen(value);
                }
                if (out) {
                        if (o + vlen >= len)
                                return error_set(err, ENOSPC,
                                                 "'%s' is longer than %zu bytes once expanded",
                                                 error_quote(text, q), len ? len - 1 : 0);
                        memcpy(out + o, value, vlen);
                        o += vlen;
                        out[o] = '\0';
                }
                p = next;
        }
        return 0;
}

int repoconf_expand(const char *text, const char *release, char *out, size_t len,
                    struct error *err)
{
        struct release rel;
        char arch[32];

        if (out && len)
                out[0] = '\0';
        if (!text || !out)
                return error_set(err, EINVAL, "cannot expand variables: argument missing");
        int r = release_id_parse(release, &rel, arch, sizeof arch, err);
        if (r < 0)
                return r;
        struct vars v = { .releasever = rel.version, .basearch = basearch_of(arch) };
        r = expand_vars(text, &v, out, len, err);
        if (r < 0 && len)
                out[0] = '\0';         /* not half of it */
        return r;
}

/* --- .repo files -------------------------------------------------------- */

enum kind {
        K_NAME, K_BASEURL, K_GPGKEY, K_ENABLED, K_GPGCHECK, K_RELEASE,
        K_METALINK, K_MIRRORLIST,
        K_USED,                 /* the ones above are read */
        K_IGNORED = K_USED,
};

static const struct {
        const char *name;
        enum kind kind;
} repo_keys[] = {
        { "name", K_NAME },
        { "baseurl", K_BASEURL },
        { "gpgkey", K_GPGKEY },
        { "enabled", K_ENABLED },
        { "gpgcheck", K_GPGCHECK },
        { "pkg_gpgcheck", K_GPGCHECK },         /* dnf5's name for it */
        { "release", K_RELEASE },               /* ours */
        { "metalink", K_METALINK },
        { "mirrorlist", K_MIRRORLIST },
        /* dnf's other repository options: they change nothing here. */
        { "bandwidth", K_IGNORED },
        { "cost", K_IGNORED },
        { "countme", K_IGNORED },
        { "deltarpm", K_IGNORED },
        { "deltarpm_percentage", K_IGNORED },
        { "enabled_metadata", K_IGNORED },
        { "enablegroups", K_IGNORED },
        { "exclude", K_IGNORED },
        { "excludepkgs", K_IGNORED },
        { "failovermethod", K_IGNORED },        /* yum's; dnf ignores it too */
        { "fastestmirror", K_IGNORED },
        { "gpgkey_dns_verification", K_IGNORED },
        { "includepkgs", K_IGNORED },
        { "ip_resolve", K_IGNORED },
        { "keepcache", K_IGNORED },
        { "localpkg_gpgcheck", K_IGNORED },
        { "max_parallel_downloads", K_IGNORED },
        { "mediaid", K_IGNORED },
        { "metadata_expire", K_IGNORED },
        { "minrate", K_IGNORED },
        { "module_hotfixes", K_IGNORED },
        { "priority", K_IGNORED },
        { "protected_packages", K_IGNORED },
        { "proxy", K_IGNORED },
        { "proxy_auth_method", K_IGNORED },
        { "proxy_password", K_IGNORED },
        { "proxy_sslcacert", K_IGNORED },
        { "proxy_sslclientcert", K_IGNORED },
        { "proxy_sslclientkey", K_IGNORED },
        { "proxy_sslverify", K_IGNORED },
        { "proxy_username", K_IGNORED },
        { "repo_gpgcheck", K_IGNORED },
        { "retries", K_IGNORED },
        { "skip_if_unavailable", K_IGNORED },
        { "sslcacert", K_IGNORED },
        { "sslclientcert", K_IGNORED },
        { "sslclientkey", K_IGNORED },
        { "sslverify", K_IGNORED },
        { "sslverifystatus", K_IGNORED },
        { "throttle", K_IGNORED },
        { "timeout", K_IGNORED },
        { "type", K_IGNORED },
        { "user_agent", K_IGNORED },
        { "username", K_IGNORED },
        { "password", K_IGNORED },
};

static const char *const baseurl_schemes[] = { "http://", "https://", "ftp://", "file://", NULL };
static const char *const gpgkey_schemes[] = { "http://", "https://", "file://", NULL };

struct file_ctx {
        const char *path;
        struct repo_config *cfg;
        bool in_repo;           /* cfg->repos[cfg->count - 1] is being read */
        unsigned key_line[K_USED];      /* where each key was given, or 0 */
        unsigned url_line[2][REPOCONF_MAX_URLS];        /* of each baseurl, gpgkey */
};

static void source_clear(struct repo_source *r)
{
        for (size_t i = 0; i < r->baseurl_count; i++)
                free(r->baseurls[i]);
        for (size_t i = 0; i < r->gpgkey_count; i++)
                free(r->gpgkeys[i]);
        r->baseurl_count = r->gpgkey_count = 0;
}

void repoconf_free(struct repo_config *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < cfg->count; i++)
                source_clear(&cfg->repos[i]);
        free(cfg->repos);
        cfg->repos = NULL;
        cfg->count = 0;
}

static bool has_scheme(const char *url, const char *const *schemes)
{
        for (size_t i = 0; schemes[i]; i++) {
                size_t n = strlen(schemes[i]);
                if (strncasecmp(url, schemes[i], n) == 0 && url[n])
                        return true;
        }
        return false;
}

/* Adds the URLs of value (separated by whitespace or commas) to the list
 * of kind K_BASEURL or K_GPGKEY. */
static int add_urls(struct file_ctx *ctx, struct repo_source *r, const struct ini_entry *e,
                    enum kind kind, struct error *err)
{
        bool base = kind == K_BASEURL;
        char **list = base ? r->baseurls : r->gpgkeys;
        size_t *count = base ? &r->baseurl_count : &r->gpgkey_count;
        unsigned *lines = ctx->url_line[base ? 0 : 1];
        char q[QUOTE_BUF];
        struct error e2;

        for (const char *p = e->value; *p;) {
                size_t n = strcspn(p, " \t\r\n\v\f,");
                if (n == 0) {
                        p++;
                        continue;
                }
                if (*count == REPOCONF_MAX_URLS)
                        return error_set(err, E2BIG, "%s:%u: more than %d URLs in %s of [%s]",
                                         ctx->path, e->line, REPOCONF_MAX_URLS, e->key, r->id);
                char *url = strndup(p, n);
                if (!url)
                        return error_set(err, ENOMEM, "%s:%u: out of memory", ctx->path, e->line);
                list[*count] = url;
                lines[*count] = e->line;
                ++*count;
                p += n;

                if (!has_scheme(url, base ? baseurl_schemes : gpgkey_schemes))
                        return error_set(err, EINVAL, "%s:%u: %s '%s' of [%s] is not an %s URL",
                                         ctx->path, e->line, e->key, error_quote(url, q),
                                         r->id, base ? "http://, https://, ftp:// or file://"
                                                     : "http://, https:// or file://");
                int rc = expand_vars(url, NULL, NULL, 0, &e2);
                if (rc < 0)
                        return error_set(err, -rc, "%s:%u: %s of [%s]: %s", ctx->path,
                                         e->line, e->key, r->id, e2.msg);
        }
        return 0;
}

/* Expands the variables of every value once the release is known. */
static int finish_repo(struct file_ctx *ctx, struct error *err)
{
        struct repo_source *r = &ctx->cfg->repos[ctx->cfg->count - 1];
        struct error e2;
        char buf[4096];

        ctx->in_repo = false;
        if (!ctx->key_line[K_RELEASE])
                return error_set(err, EINVAL,
                                 "%s:%u: repository [%s] has no release (the release id it "
                                 "feeds, as in 'release = fedora-40-x86_64')",
                                 r->file, r->line, r->id);
        if (r->baseurl_count == 0) {
                enum kind mirror = ctx->key_line[K_METALINK] ? K_METALINK : K_MIRRORLIST;
                if (ctx->key_line[mirror])
                        return error_set(err, EINVAL,
                                         "%s:%u: repository [%s] has a %s (line %u) but no "
                                         "baseurl: retrace-reposync does not follow mirrors, "
                                         "give a baseurl",
                                         r->file, r->line, r->id,
                                         mirror == K_METALINK ? "metalink" : "mirrorlist",
                                         ctx->key_line[mirror]);
                return error_set(err, EINVAL, "%s:%u: repository [%s] has no baseurl",
                                 r->file, r->line, r->id);
        }

        if (!ctx->key_line[K_NAME]) {
                snprintf(r->name, sizeof r->name, "%s", r->id);     /* as dnf */
        } else {
                int rc = repoconf_expand(r->name, r->release, buf, sizeof r->name, &e2);
                if (rc < 0)
                        return error_set(err, -rc, "%s:%u: name of [%s]: %s", ctx->path,
                                         ctx->key_line[K_NAME], r->id, e2.msg);
                strcpy(r->name, buf);
        }
        for (int list = 0; list < 2; list++) {
                char **urls = list == 0 ? r->baseurls : r->gpgkeys;
                size_t count = list == 0 ? r->baseurl_count : r->gpgkey_count;
                for (size_t i = 0; i < count; i++) {
                        int rc = repoconf_expand(urls[i], r->release, buf, sizeof buf, &e2);
                        if (rc < 0)
                                return error_set(err, -rc, "%s:%u: %s of [%s]: %s", ctx->path,
                                                 ctx->url_line[list][i],
                                                 list == 0 ? "baseurl" : "gpgkey", r->id,
                                                 e2.msg);
                        char *url = strdup(buf);
                        if (!url)
                                return error_set(err, ENOMEM, "%s:%u: out of memory",
                                                 ctx->path, ctx->url_line[list][i]);
                        free(urls[i]);
                        urls[i] = url;
                }
        }
        return 0;
}

static int check_id(struct file_ctx *ctx, const struct ini_entry *e, struct error *err)
{
        char q[QUOTE_BUF];
        const char *why = NULL;

        if (!e->section[0])
                why = "empty";
        else if (e->section[0] == '.')
                why = "it starts with '.'";     /* it names a directory */
        else if (strlen(e->section) >= sizeof ((struct repo_source *)0)->id)
                why = "too long";
        for (const char *p = e->section; !why && *p; p++)
                if (!is_var_char(*p) && *p != '-' && *p != '.' && *p != ':')
                        why = "use letters, digits and -_.: only (as dnf)";
        if (why)
                return error_set(err, EINVAL, "%s:%u: invalid repository id '%s': %s",
                                 ctx->path, e->line, error_quote(e->section, q), why);

        const struct repo_config *cfg = ctx->cfg;
        for (size_t i = 0; i < cfg->count; i++)
                if (strcmp(cfg->repos[i].id, e->section) == 0)
                        return error_set(err, EEXIST,
                                         "%s:%u: repository [%s] is already defined at %s:%u",
                                         ctx->path, e->line, e->section,
                                         cfg->repos[i].file, cfg->repos[i].line);
        return 0;
}

static int start_repo(struct file_ctx *ctx, const struct ini_entry *e, struct error *err)
{
        struct repo_config *cfg = ctx->cfg;

        int rc = check_id(ctx, e, err);
        if (rc < 0)
                return rc;
        if (strlen(ctx->path) >= sizeof cfg->repos[0].file)
                return error_set(err, ENAMETOOLONG, "%s:%u: file name too long",
                                 ctx->path, e->line);
        struct repo_source *repos = realloc(cfg->repos, (cfg->count + 1) * sizeof *repos);
        if (!repos)
                return error_set(err, ENOMEM, "%s:%u: out of memory", ctx->path, e->line);
        cfg->repos = repos;
        struct repo_source *r = &repos[cfg->count++];
        memset(r, 0, sizeof *r);
        strcpy(r->id, e->section);
        strcpy(r->file, ctx->path);
        r->line = e->line;
        r->enabled = true;
        r->gpgcheck = false;
        ctx->in_repo = true;
        memset(ctx->key_line, 0, sizeof ctx->key_line);
        return 0;
}

static int set_release(struct file_ctx *ctx, struct repo_source *r, const struct ini_entry *e,
                       struct error *err)
{
        struct release rel;
        struct error e2;
        char arch[32], q[QUOTE_BUF];

        int rc = release_id_parse(e->value, &rel, arch, sizeof arch, &e2);
        if (rc < 0)
                return error_set(err, -rc, "%s:%u: release of [%s]: %s", ctx->path, e->line,
                                 r->id, e2.msg);
        /* The local repository's directories have normalised names. */
        if (strcmp(release_arch_normalize(arch), arch) != 0)
                return error_set(err, EINVAL,
                                 "%s:%u: release of [%s]: write '%s-%s-%s', not '%s'",
                                 ctx->path, e->line, r->id, rel.distribution, rel.version,
                                 release_arch_normalize(arch), error_quote(e->value, q));
        snprintf(r->release, sizeof r->release, "%s", e->value);
        return 0;
}

/* Adds value (a line of the name) to the repository's name, its
 * variables checked here and expanded at the end of the section. */
static int add_name(struct file_ctx *ctx, struct repo_source *r, const struct ini_entry *e,
                    struct error *err)
{
        struct error e2;
        size_t len = strlen(r->name);

        if (len + 1 + strlen(e->value) >= sizeof r->name)
                return error_set(err, EINVAL, "%s:%u: name of [%s] is longer than %zu bytes",
                                 ctx->path, e->line, r->id, sizeof r->name - 1);
        int rc = expand_vars(e->value, NULL, NULL, 0, &e2);
        if (rc < 0)
                return error_set(err, -rc, "%s:%u: name of [%s]: %s", ctx->path, e->line,
                                 r->id, e2.msg);
        snprintf(r->name + len, sizeof r->name - len, "%s%s", len ? " " : "", e->value);
        return 0;
}

static int on_entry(void *user, const struct ini_entry *e, struct error *err)
{
        struct file_ctx *ctx = user;
        char q[QUOTE_BUF];

        if (!e->key) {
                if (ctx->in_repo) {
                        int rc = finish_repo(ctx, err);
                        if (rc < 0)
                                return rc;
                }
                return start_repo(ctx, e, err);
        }
        if (!ctx->in_repo)
                return error_set(err, EINVAL, "%s:%u: '%s' is outside any [section]",
                                 ctx->path, e->line, error_quote(e->key, q));

        struct repo_source *r = &ctx->cfg->repos[ctx->cfg->count - 1];
        size_t k = 0;
        while (k < sizeof repo_keys / sizeof repo_keys[0] && strcmp(repo_keys[k].name, e->key))
                k++;
        if (k == sizeof repo_keys / sizeof repo_keys[0])
                return error_set(err, EINVAL, "%s:%u: unknown key '%s' in [%s]",
                                 ctx->path, e->line, error_quote(e->key, q), r->id);
        enum kind kind = repo_keys[k].kind;
        if (kind == K_IGNORED)
                return 0;

        if (e->continuation) {
                switch (kind) {
                case K_BASEURL:
                case K_GPGKEY:
                        return add_urls(ctx, r, e, kind, err);
                case K_NAME:
                        return add_name(ctx, r, e, err);
                case K_METALINK:
                case K_MIRRORLIST:
                        return 0;
                default:
                        return error_set(err, EINVAL,
                                         "%s:%u: %s of [%s] takes one value, but this "
                                         "indented line continues it",
                                         ctx->path, e->line, e->key, r->id);
                }
        }

        if (ctx->key_line[kind])
                return error_set(err, EINVAL, "%s:%u: %s given twice in [%s] (first at line %u)",
                                 ctx->path, e->line, e->key, r->id, ctx->key_line[kind]);
        ctx->key_line[kind] = e->line;

        switch (kind) {
        case K_NAME:
                return add_name(ctx, r, e, err);
        case K_BASEURL:
        case K_GPGKEY:
                return add_urls(ctx, r, e, kind, err);
        case K_ENABLED:
        case K_GPGCHECK:
                if (ini_parse_bool(e->value, kind == K_ENABLED ? &r->enabled : &r->gpgcheck) < 0)
                        return error_set(err, EINVAL,
                                         "%s:%u: %s of [%s] must be 1 or 0, yes or no, true or "
                                         "false, on or off, not '%s'",
                                         ctx->path, e->line, e->key, r->id,
                                         error_quote(e->value, q));
                return 0;
        case K_RELEASE:
                return set_release(ctx, r, e, err);
        default:        /* metalink, mirrorlist: noted in key_line */
                return 0;
        }
}

int repoconf_load_file(const char *path, struct repo_config *cfg, struct error *err)
{
        struct file_ctx ctx = { .path = path, .cfg = cfg };
        size_t first = cfg->count;

        int r = ini_load(path, "repository file", on_entry, &ctx, err);
        if (r == 0 && ctx.in_repo)
                r = finish_repo(&ctx, err);
        if (r < 0) {
                /* A refused file adds nothing. */
                while (cfg->count > first)
                        source_clear(&cfg->repos[--cfg->count]);
                if (cfg->count == 0) {
                        free(cfg->repos);
                        cfg->repos = NULL;
                }
        }
        return r;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_repo_file(const char *name)
{
        size_t len = strlen(name);
        return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".repo") == 0;
}

int repoconf_load_dir(const char *dir, struct repo_config *out, struct error *err)
{
        char **names = NULL;
        size_t count = 0;
        int r = 0;

        out->repos = NULL;
        out->count = 0;
        DIR *d = opendir(dir);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                return error_set_errno(err, errno, "cannot open repository directory '%s'", dir);
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno)
                                r = error_set_errno(err, errno,
                                                    "cannot read repository directory '%s'", dir);
                        break;
                }
                if (!is_repo_file(de->d_name))
                        continue;
                char **more = realloc(names, (count + 1) * sizeof *names);
                char *name = more ? strdup(de->d_name) : NULL;
                if (more)
                        names = more;
                if (!name) {
                        r = error_set(err, ENOMEM, "cannot read repository directory '%s': "
                                      "out of memory", dir);
                        break;
                }
                names[count++] = name;
        }
        closedir(d);

        if (r == 0 && count > 1)
                qsort(names, count, sizeof *names, compare_names);
        for (size_t i = 0; r == 0 && i < count; i++) {
                char path[PATH_MAX];
                struct stat st;
                int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
                if (n < 0 || (size_t)n >= sizeof path)
                        r = error_set(err, ENAMETOOLONG, "cannot open repository file '%s/%s': "
                                      "name too long", dir, names[i]);
                else if (stat(path, &st) < 0)
                        r = error_set_errno(err, errno, "cannot open repository file '%s'", path);
                else if (!S_ISREG(st.st_mode))
                        r = error_set(err, EINVAL, "repository file '%s' is not a regular file",
                                      path);
                else
                        r = repoconf_load_file(path, out, err);
        }
        for (size_t i = 0; i < count; i++)
                free(names[i]);
        free(names);
        if (r < 0)
                repoconf_free(out);
        return r;
}

/* Unit tests for common/repoconf.c (and the INI reading of common/ini.c
 * under it): dnf .repo files that load, with the repositories they give;
 * files that are refused, with the file, line and words of the message;
 * $variable expansion; the order and choice of files in a directory. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "repoconf.h"
#include "testutil.h"

/* --- helpers ------------------------------------------------------------ */

static char *make_dir(void)
{
        static char dir[64];
        strcpy(dir, "/tmp/test-repoconf-XXXXXX");
        assert_non_null(mkdtemp(dir));
        return dir;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static void remove_dir(const char *dir)
{
        assert_int_equal(nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* Writes len bytes of text (strlen when len is 0) to dir/name; returns the
 * path in one of four buffers in turn. */
static const char *write_file(const char *dir, const char *name, const char *text, size_t len)
{
        static char paths[4][PATH_MAX];
        static unsigned turn;
        char *path = paths[turn++ % 4];
        snprintf(path, PATH_MAX, "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        if (!len)
                len = strlen(text);
        assert_int_equal(fwrite(text, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
        return path;
}

/* The number of the line of text that is exactly line_text. */
static unsigned line_of(const char *text, const char *line_text)
{
        unsigned n = 1;
        size_t len = strlen(line_text);
        for (const char *p = text; *p; n++) {
                if (strncmp(p, line_text, len) == 0 && (p[len] == '\n' || !p[len]))
                        return n;
                p = strchr(p, '\n');
                if (!p)
                        break;
                p++;
        }
        fail_msg("no line '%s'", line_text);
        return 0;
}

/* A copy of text with insert put on a line of its own after each line that
 * starts with '['. free() it. */
static char *after_sections(const char *text, const char *insert)
{
        char *out = malloc(strlen(text) * 2 + 4096);
        assert_non_null(out);
        char *o = out;
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
                memcpy(o, p, len);
                o += len;
                if (*p == '[')
                        o += sprintf(o, "%s\n", insert);
                p += len;
        }
        *o = '\0';
        return out;
}

/* text with every from replaced by to. free() it. */
static char *replace_all(const char *text, const char *from, const char *to)
{
        char *out = malloc(strlen(text) * 2 + 1);
        assert_non_null(out);
        char *o = out;
        size_t flen = strlen(from);
        for (const char *p = text; *p;) {
                if (strncmp(p, from, flen) == 0) {
                        o += sprintf(o, "%s", to);
                        p += flen;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        return out;
}

#define MAX_WANT_URLS 8

struct want_repo {
        const char *id, *name, *release;
        const char *baseurls[MAX_WANT_URLS];    /* up to the first NULL */
        const char *gpgkeys[MAX_WANT_URLS];
        bool enabled, gpgcheck;
        const char *file;       /* base name */
        unsigned line;
};

static void check_repo(const struct repo_source *r, const struct want_repo *w,
                       const char *dir, const char *what)
{
        char file[PATH_MAX];

        if (strcmp(r->id, w->id) != 0)
                fail_msg("%s: repository [%s] where [%s] was expected", what, r->id, w->id);
        assert_string_equal(r->name, w->name);
        assert_string_equal(r->release, w->release);
        size_t n = 0;
        while (n < MAX_WANT_URLS && w->baseurls[n])
                n++;
        if (r->baseurl_count != n)
                fail_msg("%s [%s]: %zu baseurls, not %zu", what, w->id, r->baseurl_count, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(r->baseurls[i], w->baseurls[i]);
        n = 0;
        while (n < MAX_WANT_URLS && w->gpgkeys[n])
                n++;
        if (r->gpgkey_count != n)
                fail_msg("%s [%s]: %zu gpgkeys, not %zu", what, w->id, r->gpgkey_count, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(r->gpgkeys[i], w->gpgkeys[i]);
        if (r->enabled != w->enabled || r->gpgcheck != w->gpgcheck)
                fail_msg("%s [%s]: enabled %d gpgcheck %d", what, w->id, r->enabled,
                         r->gpgcheck);
        snprintf(file, sizeof file, "%s/%s", dir, w->file);
        assert_string_equal(r->file, file);
        if (r->line != w->line)
                fail_msg("%s [%s]: line %u, not %u", what, w->id, r->line, w->line);
}

/* --- files that load ---------------------------------------------------- */

struct file {
        const char *name, *text;
};

struct good_case {
        const char *what;
        struct file files[4];   /* up to the first without a name */
        struct want_repo repos[6];      /* up to the first without an id */
};

#define F40 "fedora-40-x86_64"
#define DL "https://dl.fedoraproject.org/pub/fedora/linux"

static const struct good_case good_cases[] = {
        { "several repositories feeding one release, from two files", {
                { "fedora.repo",
                  "[fedora-40]\n"
                  "name = Fedora 40\n"
                  "baseurl = " DL "/releases/40/Everything/x86_64/os/\n"
                  "release = " F40 "\n"
                  "\n"
                  "[fedora-40-debuginfo]\n"
                  "release = " F40 "\n"
                  "baseurl = " DL "/releases/40/Everything/x86_64/debug/tree/\n"
                  "enabled = 0\n"
                  "gpgcheck = 1\n"
                  "gpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-40-x86_64\n" },
                { "updates.repo",
                  "# Updates, and one repository of another release\n"
                  "[fedora-40-updates]\n"
                  "name=Fedora 40 updates\n"
                  "baseurl=" DL "/updates/40/Everything/x86_64/\n"
                  "release=" F40 "\n"
                  "[fedora-39]\n"
                  "baseurl=" DL "/releases/39/Everything/x86_64/os/\n"
                  "release=fedora-39-x86_64\n" } }, {
                { "fedora-40", "Fedora 40", F40, { DL "/releases/40/Everything/x86_64/os/" },
                  { NULL }, true, false, "fedora.repo", 1 },
                { "fedora-40-debuginfo", "fedora-40-debuginfo", F40,
                  { DL "/releases/40/Everything/x86_64/debug/tree/" },
                  { "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-40-x86_64" },
                  false, true, "fedora.repo", 6 },
                { "fedora-40-updates", "Fedora 40 updates", F40,
                  { DL "/updates/40/Everything/x86_64/" }, { NULL }, true, false,
                  "updates.repo", 2 },
                { "fedora-39", "fedora-39", "fedora-39-x86_64",
                  { DL "/releases/39/Everything/x86_64/os/" }, { NULL }, true, false,
                  "updates.repo", 6 } } },

        { "variables in name, baseurl and gpgkey, both forms", {
                { "vars.repo",
                  "[rawhide-debug]\n"
                  "name = Fedora $releasever ${basearch} debug\n"
                  "baseurl = " DL "/development/$releasever/Everything/${basearch}/debug/tree/\n"
                  "gpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-${releasever}-$basearch\n"
                  "gpgcheck = 1\n"
                  "release = fedora-rawhide-x86_64\n"
                  "[f40-i386]\n"
                  "release = fedora-40-i386\n"
                  "baseurl = https://archive.example/$releasever/$arch/os/\n"
                  "gpgkey = https://keys.example/fedora-$releasever-$basearch.asc\n"
                  "[rhel]\n"
                  "baseurl = https://cdn.example/rhel$releasever/$basearch/baseos/debug/os\n"
                  "release = rhel-9-aarch64\n"
                  "[arm]\n"
                  "baseurl = https://arm.example/$releasever/$basearch/\n"
                  "release = fedora-36-armv7hl\n" } }, {
                { "rawhide-debug", "Fedora rawhide x86_64 debug", "fedora-rawhide-x86_64",
                  { DL "/development/rawhide/Everything/x86_64/debug/tree/" },
                  { "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-rawhide-x86_64" },
                  true, true, "vars.repo", 1 },
                { "f40-i386", "f40-i386", "fedora-40-i386",
                  { "https://archive.example/40/i386/os/" },
                  { "https://keys.example/fedora-40-i386.asc" }, true, false, "vars.repo", 7 },
                { "rhel", "rhel", "rhel-9-aarch64",
                  { "https://cdn.example/rhel9/aarch64/baseos/debug/os" }, { NULL },
                  true, false, "vars.repo", 11 },
                { "arm", "arm", "fedora-36-armv7hl", { "https://arm.example/36/armhfp/" },
                  { NULL }, true, false, "vars.repo", 14 } } },

        { "several URLs: on continuation lines, with spaces and commas", {
                { "multi.repo",
                  "[multi]\n"
                  "baseurl =\n"
                  "    https://a.example/$releasever/\n"
                  "    https://b.example/$releasever/ https://c.example/,ftp://d.example/x\n"
                  "\n"
                  "# a comment does not end the value\n"
                  "\tfile:///srv/mirror/$basearch/\n"
                  "gpgkey = file:///k1, file:///k2\n"
                  "  https://keys.example/k3\n"
                  "name = A name\n"
                  "  on two lines\n"
                  "release = " F40 "\n" } }, {
                { "multi", "A name on two lines", F40,
                  { "https://a.example/40/", "https://b.example/40/", "https://c.example/",
                    "ftp://d.example/x", "file:///srv/mirror/x86_64/" },
                  { "file:///k1", "file:///k2", "https://keys.example/k3" },
                  true, false, "multi.repo", 1 } } },

        { "dnf's other keys ignored, booleans in every spelling", {
                { "ignored.repo",
                  "[ignored]\n"
                  "baseurl=https://a.example/\n"
                  "release=" F40 "\n"
                  "enabled=False\n"
                  "gpgcheck=YES\n"
                  "metalink=https://mirrors.example/metalink?repo=x&arch=$basearch\n"
                  "mirrorlist=https://mirrors.example/list\n"
                  "metadata_expire=7d\n"
                  "skip_if_unavailable=False\n"
                  "repo_gpgcheck=0\n"
                  "type=rpm\n"
                  "countme=1\n"
                  "enabled_metadata=1\n"
                  "cost=1000\n"
                  "priority=99\n"
                  "exclude=kernel*\n"
                  "excludepkgs=foo\n"
                  "includepkgs=bar\n"
                  "module_hotfixes=1\n"
                  "sslverify=1\n"
                  "sslcacert=/etc/pki/tls/certs/ca.pem\n"
                  "sslclientcert=/etc/pki/c.pem\n"
                  "sslclientkey=/etc/pki/c.key\n"
                  "proxy=http://proxy.example:3128\n"
                  "proxy_username=u\n"
                  "proxy_password=p\n"
                  "username=u\n"
                  "password=p\n"
                  "max_parallel_downloads=10\n"
                  "timeout=30\n"
                  "minrate=1000\n"
                  "throttle=0\n"
                  "bandwidth=0\n"
                  "deltarpm=0\n"
                  "fastestmirror=1\n"
                  "mediaid=1234\n"
                  "ip_resolve=4\n"
                  "keepcache=0\n"
                  "retries=10\n"
                  "gpgkey_dns_verification=0\n"
                  "failovermethod=priority\n"
                  "user_agent=x\n"
                  "  continued, ignored too\n"
                  "[b1]\nbaseurl=https://a.example/\nrelease=" F40 "\nenabled=on\ngpgcheck=TRUE\n"
                  "[b2]\nbaseurl=https://a.example/\nrelease=" F40 "\nenabled=No\ngpgcheck=0\n"
                  "[b3]\nbaseurl=https://a.example/\nrelease=" F40 "\nenabled=OFF\n"
                  "pkg_gpgcheck=1\n"
                  "[more]\n"
                  "deltarpm_percentage=75\nenablegroups=1\nlocalpkg_gpgcheck=0\n"
                  "protected_packages=dnf\nproxy_auth_method=any\nproxy_sslcacert=/c.pem\n"
                  "proxy_sslclientcert=/c.pem\nproxy_sslclientkey=/c.key\n"
                  "proxy_sslverify=1\nsslverifystatus=0\n"
                  "baseurl=https://a.example/\nrelease=" F40 "\n" } }, {
                { "ignored", "ignored", F40, { "https://a.example/" }, { NULL }, false, true,
                  "ignored.repo", 1 },
                { "b1", "b1", F40, { "https://a.example/" }, { NULL }, true, true,
                  "ignored.repo", 44 },
                { "b2", "b2", F40, { "https://a.example/" }, { NULL }, false, false,
                  "ignored.repo", 49 },
                { "b3", "b3", F40, { "https://a.example/" }, { NULL }, false, true,
                  "ignored.repo", 54 },
                { "more", "more", F40, { "https://a.example/" }, { NULL }, true, false,
                  "ignored.repo", 59 } } },

        { "INI forms: BOM, CRLF, 'key: value', inline comments, odd ids", {
                { "forms.repo",
                  "\xEF\xBB\xBF; written on Windows\r\n"
                  "[Repo_1.x:y-z]\r\n"
                  "baseurl: https://a.example/ ; the mirror\r\n"
                  "release : " F40 "\r\n"
                  "   \r\n"
                  "name=semi;colon\r\n" } }, {
                { "Repo_1.x:y-z", "semi;colon", F40, { "https://a.example/" }, { NULL },
                  true, false, "forms.repo", 2 } } },

        { "a file with no repository, an empty file", {
                { "comments.repo", "# nothing here yet\n\n; still nothing\n" },
                { "empty.repo", "" } }, { { .id = NULL } } },
};

static void test_good_files(void **state)
{
        (void)state;
        for (size_t c = 0; c < N_ELEMENTS(good_cases); c++) {
                const struct good_case *gc = &good_cases[c];
                const char *dir = make_dir();
                for (size_t i = 0; i < N_ELEMENTS(gc->files) && gc->files[i].name; i++)
                        write_file(dir, gc->files[i].name, gc->files[i].text, 0);

                struct repo_config cfg;
                struct error err = { 0 };
                if (repoconf_load_dir(dir, &cfg, &err) < 0)
                        fail_msg("%s: %s", gc->what, err.msg);
                size_t n = 0;
                while (n < N_ELEMENTS(gc->repos) && gc->repos[n].id)
                        n++;
                if (cfg.count != n)
                        fail_msg("%s: %zu repositories, not %zu", gc->what, cfg.count, n);
                for (size_t i = 0; i < n; i++)
                        check_repo(&cfg.repos[i], &gc->repos[i], dir, gc->what);
                repoconf_free(&cfg);
                assert_null(cfg.repos);
                assert_int_equal(cfg.count, 0);
                repoconf_free(&cfg);    /* twice is harmless */
                remove_dir(dir);
        }
        repoconf_free(NULL);
}

/* --- the files of Fedora's fedora-repos package ------------------------- */

/* /etc/yum.repos.d/fedora.repo and fedora-updates.repo as fedora-repos 40
 * ships them. */
static const char fedora_repo[] =
        "[fedora]\n"
        "name=Fedora $releasever - $basearch\n"
        "#baseurl=http://download.example/pub/fedora/linux/releases/$releasever/Everything/$basearch/os/\n"
        "metalink=https://mirrors.fedoraproject.org/metalink?repo=fedora-$releasever&arch=$basearch\n"
        "enabled=1\n"
        "countme=1\n"
        "metadata_expire=7d\n"
        "repo_gpgcheck=0\n"
        "type=rpm\n"
        "gpgcheck=1\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch\n"
        "skip_if_unavailable=False\n"
        "\n"
        "[fedora-debuginfo]\n"
        "name=Fedora $releasever - $basearch - Debug\n"
        "#baseurl=http://download.example/pub/fedora/linux/releases/$releasever/Everything/$basearch/debug/tree/\n"
        "metalink=https://mirrors.fedoraproject.org/metalink?repo=fedora-debug-$releasever&arch=$basearch\n"
        "enabled=0\n"
        "metadata_expire=7d\n"
        "repo_gpgcheck=0\n"
        "type=rpm\n"
        "gpgcheck=1\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch\n"
        "skip_if_unavailable=False\n"
        "\n"
        "[fedora-source]\n"
        "name=Fedora $releasever - Source\n"
        "#baseurl=http://download.example/pub/fedora/linux/releases/$releasever/Everything/source/tree/\n"
        "metalink=https://mirrors.fedoraproject.org/metalink?repo=fedora-source-$releasever&arch=$basearch\n"
        "enabled=0\n"
        "metadata_expire=7d\n"
        "repo_gpgcheck=0\n"
        "type=rpm\n"
        "gpgcheck=1\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch\n"
        "skip_if_unavailable=False\n";

static const char fedora_updates_repo[] =
        "[updates]\n"
        "name=Fedora $releasever - $basearch - Updates\n"
        "#baseurl=http://download.example/pub/fedora/linux/updates/$releasever/Everything/$basearch/\n"
        "metalink=https://mirrors.fedoraproject.org/metalink?repo=updates-released-f$releasever&arch=$basearch\n"
        "enabled=1\n"
        "countme=1\n"
        "repo_gpgcheck=0\n"
        "type=rpm\n"
        "gpgcheck=1\n"
        "metadata_expire=6h\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch\n"
        "skip_if_unavailable=False\n"
        "\n"
        "[updates-debuginfo]\n"
        "name=Fedora $releasever - $basearch - Updates - Debug\n"
        "#baseurl=http://download.example/pub/fedora/linux/updates/$releasever/Everything/$basearch/debug/\n"
        "metalink=https://mirrors.fedoraproject.org/metalink?repo=updates-released-debug-f$releasever&arch=$basearch\n"
        "enabled=0\n"
        "repo_gpgcheck=0\n"
        "type=rpm\n"
        "gpgcheck=1\n"
        "metadata_expire=6h\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch\n"
        "skip_if_unavailable=False\n"
        "\n"
        "[updates-source]\n"
        "name=Fedora $releasever - Updates Source\n"
        "#baseurl=http://download.example/pub/fedora/linux/updates/$releasever/Everything/source/tree/\n"
        "metalink=https://mirrors.fedoraproject.org/metalink?repo=updates-released-source-f$releasever&arch=$basearch\n"
        "enabled=0\n"
        "repo_gpgcheck=0\n"
        "type=rpm\n"
        "gpgcheck=1\n"
        "metadata_expire=6h\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch\n"
        "skip_if_unavailable=False\n";

#define FEDORA_KEY "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-40-x86_64"
#define DLX "http://download.example/pub/fedora/linux"

static void test_fedora_repos(void **state)
{
        (void)state;
        const char *dir = make_dir();
        struct repo_config cfg;
        struct error err = { 0 };
        char prefix[PATH_MAX + 32];

        /* As shipped, with our release added: metalink only, refused. */
        char *shipped = after_sections(fedora_repo, "release = " F40);
        const char *path = write_file(dir, "fedora.repo", shipped, 0);
        assert_int_equal(repoconf_load_dir(dir, &cfg, &err), -EINVAL);
        assert_int_equal(cfg.count, 0);
        assert_null(cfg.repos);
        snprintf(prefix, sizeof prefix, "%s:1: ", path);
        check_message(&err, prefix, "repository [fedora] has a metalink (line 5) but no baseurl: "
                      "retrace-reposync does not follow mirrors", "shipped fedora.repo");

        /* With the baseurl lines taken out of their comments: loads. */
        char *fedora = replace_all(shipped, "#baseurl=", "baseurl=");
        char *with_release = after_sections(fedora_updates_repo, "release=" F40);
        char *updates = replace_all(with_release, "#baseurl=", "baseurl=");
        write_file(dir, "fedora.repo", fedora, 0);
        write_file(dir, "fedora-updates.repo", updates, 0);
        const struct want_repo want[] = {
                /* "fedora-updates.repo" sorts before "fedora.repo" ('-' < '.') */
                { "updates", "Fedora 40 - x86_64 - Updates", F40,
                  { DLX "/updates/40/Everything/x86_64/" }, { FEDORA_KEY }, true, true,
                  "fedora-updates.repo", line_of(updates, "[updates]") },
                { "updates-debuginfo", "Fedora 40 - x86_64 - Updates - Debug", F40,
                  { DLX "/updates/40/Everything/x86_64/debug/" }, { FEDORA_KEY }, false, true,
                  "fedora-updates.repo", line_of(updates, "[updates-debuginfo]") },
                { "updates-source", "Fedora 40 - Updates Source", F40,
                  { DLX "/updates/40/Everything/source/tree/" }, { FEDORA_KEY }, false, true,
                  "fedora-updates.repo", line_of(updates, "[updates-source]") },
                { "fedora", "Fedora 40 - x86_64", F40,
                  { DLX "/releases/40/Everything/x86_64/os/" }, { FEDORA_KEY }, true, true,
                  "fedora.repo", 1 },
                { "fedora-debuginfo", "Fedora 40 - x86_64 - Debug", F40,
                  { DLX "/releases/40/Everything/x86_64/debug/tree/" }, { FEDORA_KEY },
                  false, true, "fedora.repo", line_of(fedora, "[fedora-debuginfo]") },
                { "fedora-source", "Fedora 40 - Source", F40,
                  { DLX "/releases/40/Everything/source/tree/" }, { FEDORA_KEY }, false, true,
                  "fedora.repo", line_of(fedora, "[fedora-source]") },
        };
        if (repoconf_load_dir(dir, &cfg, &err) < 0)
                fail_msg("fedora-repos: %s", err.msg);
        assert_int_equal(cfg.count, N_ELEMENTS(want));
        for (size_t i = 0; i < N_ELEMENTS(want); i++)
                check_repo(&cfg.repos[i], &want[i], dir, "fedora-repos");
        assert_int_equal(want[4].line, 15);     /* 14 in the file as shipped */
        repoconf_free(&cfg);

        free(shipped);
        free(fedora);
        free(with_release);
        free(updates);
        remove_dir(dir);
}

/* --- files that are refused --------------------------------------------- */

struct bad_case {
        const char *text;
        unsigned line;          /* in the message: "<path>:<line>: " */
        const char *words;      /* a part of it */
};

#define GOOD_TAIL "baseurl = https://a.example/\nrelease = " F40 "\n"
#define ARCH5 "$arch$arch$arch$arch$arch"       /* 25 bytes, 30 once expanded */
#define S50 "Fifty bytes of a name, to make a long one with ..."

static const struct bad_case bad_cases[] = {
        /* Keys */
        { "[fedora]\nname=Fedora\nrelease=" F40 "\nenabled=1\n\n# the mirror\n"
          "baseur=https://a.example/\n", 7, "unknown key 'baseur' in [fedora]" },
        { "[x]\nBaseURL = https://a.example/\n", 2, "unknown key 'BaseURL' in [x]" },
        { "baseurl = https://a.example/\n[x]\n", 1, "'baseurl' is outside any [section]" },
        { "[x]\n" GOOD_TAIL "baseurl = https://b.example/\n", 4,
          "baseurl given twice in [x] (first at line 2)" },
        { "[x]\n" GOOD_TAIL "enabled = 1\ngpgcheck = 1\npkg_gpgcheck = 1\n", 6,
          "pkg_gpgcheck given twice in [x] (first at line 5)" },
        { "[x]\n" GOOD_TAIL "enabled = maybe\n", 4,
          "enabled of [x] must be 1 or 0, yes or no, true or false, on or off, not 'maybe'" },
        { "[x]\n" GOOD_TAIL "gpgcheck = 2\n", 4, "gpgcheck of [x] must be 1 or 0" },
        { "[x]\n" GOOD_TAIL "enabled =\n", 4, "enabled of [x] must be" },
        { "[x]\nrelease = " F40 "\n  fedora-39-x86_64\nbaseurl = https://a.example/\n", 3,
          "release of [x] takes one value" },
        { "[x]\n" GOOD_TAIL "enabled = 1\n 0\n", 5, "enabled of [x] takes one value" },

        /* Sections */
        { "# a comment\n[x]\nrelease = " F40 "\n\n[y]\n" GOOD_TAIL, 2,
          "repository [x] has no baseurl" },
        { "[x]\nbaseurl = https://a.example/\n", 1,
          "repository [x] has no release (the release id it feeds" },
        { "[x]\n", 1, "repository [x] has no release" },
        { "[x]\nbaseurl =\nrelease = " F40 "\n", 1, "repository [x] has no baseurl" },
        { "\n[x]\nrelease = " F40 "\nmetalink = https://mirrors.example/?repo=x\n", 2,
          "repository [x] has a metalink (line 4) but no baseurl: retrace-reposync does "
          "not follow mirrors, give a baseurl" },
        { "[x]\nmirrorlist = https://mirrors.example/list\nrelease = " F40 "\n", 1,
          "repository [x] has a mirrorlist (line 2) but no baseurl" },
        { "[x]\n" GOOD_TAIL "[y]\n" GOOD_TAIL "[x]\n" GOOD_TAIL, 7,
          "repository [x] is already defined at " },
        { "[my repo]\n" GOOD_TAIL, 1, "invalid repository id 'my repo': use letters, digits" },
        { "[a/b]\n" GOOD_TAIL, 1, "invalid repository id 'a/b'" },
        { "[..]\n" GOOD_TAIL, 1, "invalid repository id '..': it starts with '.'" },
        { "[]\n" GOOD_TAIL, 1, "invalid repository id '': empty" },
        { "[x]\n" GOOD_TAIL "[0123456789012345678901234567890123456789012345678901]\n", 4,
          "section name longer than 49 bytes" },

        /* Releases */
        { "[x]\nbaseurl = https://a.example/\nrelease = fedora-40\n", 3,
          "release of [x]: invalid release id 'fedora-40'" },
        { "[x]\nbaseurl = https://a.example/\nrelease = debian-12-amd64\n", 3,
          "release of [x]: invalid release id" },
        { "[x]\nbaseurl = https://a.example/\nrelease =\n", 3, "invalid release id ''" },
        { "[x]\nbaseurl = https://a.example/\nrelease = fedora-40-i686\n", 3,
          "release of [x]: write 'fedora-40-i386', not 'fedora-40-i686'" },

        /* URLs and variables */
        { "[x]\nrelease = " F40 "\nbaseurl = https://a.example/$releasever/$foo/\n", 3,
          "baseurl of [x]: unknown variable '$foo' in 'https://a.example/$releasever/$foo/' "
          "(known: $releasever, $basearch, $arch)" },
        { "[x]\nrelease = " F40 "\nbaseurl = https://a.example/\n"
          "  https://b.example/${basearch}/\n  https://c.example/${stream}/\n", 5,
          "baseurl of [x]: unknown variable '${stream}'" },
        { "[x]\n" GOOD_TAIL "gpgkey = file:///etc/pki/key-$releasever_major\n", 4,
          "gpgkey of [x]: unknown variable '$releasever_major'" },
        { "[x]\nname = Fedora $RELEASEVER\n" GOOD_TAIL, 2,
          "name of [x]: unknown variable '$RELEASEVER'" },
        { "[x]\n" GOOD_TAIL "name = Fedora\n  $releasever\n  $stream\n", 6,
          "name of [x]: unknown variable '$stream'" },
        { "[x]\n" GOOD_TAIL "name = " S50 S50 S50 "\n  " S50 S50 S50 "\n", 5,
          "name of [x] is longer than 255 bytes" },
        { "[x]\nname = " ARCH5 ARCH5 ARCH5 ARCH5 ARCH5 ARCH5 "\n  " ARCH5 ARCH5 ARCH5 ARCH5
          "\n" GOOD_TAIL, 2, "name of [x]: '$arch$arch" },
        { "[x]\n" GOOD_TAIL "gpgkey = https://k.example/${releasever:-40}\n", 4,
          "gpgkey of [x]: unsupported variable '${releasever:-40}'" },
        { "[x]\nrelease = " F40 "\nbaseurl = https://a.example/${releasever\n", 3,
          "'${' without its closing '}'" },
        { "[x]\nrelease = " F40 "\nbaseurl = https://a.example/${}/\n", 3,
          "unsupported variable '${}'" },
        { "[x]\nrelease = " F40 "\nbaseurl = a.example/repo/\n", 3,
          "baseurl 'a.example/repo/' of [x] is not an http://, https://, ftp:// or file:// URL" },
        { "[x]\nrelease = " F40 "\nbaseurl = https://\n", 3, "baseurl 'https://' of [x]" },
        { "[x]\n" GOOD_TAIL "gpgkey = /etc/pki/rpm-gpg/KEY\n", 4,
          "gpgkey '/etc/pki/rpm-gpg/KEY' of [x] is not an http://, https:// or file:// URL" },
        { "[x]\n" GOOD_TAIL "gpgkey = ftp://k.example/key\n", 4, "gpgkey 'ftp://k.example/key'" },
        { "[x]\nrelease = " F40 "\nbaseurl = https://1/ https://2/ https://3/ https://4/\n"
          "  https://5/ https://6/ https://7/ https://8/\n  https://9/\n", 5,
          "more than 8 URLs in baseurl of [x]" },

        /* Lines */
        { "[x]\n" GOOD_TAIL "this is not ini\n", 4,
          "not an INI line (expected 'key = value' or '[section]')" },
        { "[x]\n" GOOD_TAIL "[y\n", 4, "'[' without its closing ']'" },
        { "[x]\nbaseurl = https://a.example/\nthe first error\nbaseur = wins\n", 3,
          "not an INI line" },
        { "[x]\n" GOOD_TAIL "enabled = 1 ; [y]\n  [z]\n", 5, "enabled of [x] takes one value" },
        { "[x]\n" GOOD_TAIL "0123456789012345678901234567890123456789012345678901 = 1\n", 4,
          "key longer than 49 bytes" },
        { "[x]\n" GOOD_TAIL "= 1\n", 4, "unknown key '' in [x]" },
        { "[x]\n  indented = 1\n" GOOD_TAIL, 2, "unknown key 'indented' in [x]" },
};

static void test_bad_files(void **state)
{
        (void)state;
        for (size_t c = 0; c < N_ELEMENTS(bad_cases); c++) {
                const struct bad_case *bc = &bad_cases[c];
                const char *dir = make_dir();
                const char *path = write_file(dir, "bad.repo", bc->text, 0);
                char prefix[PATH_MAX + 32];
                struct repo_config cfg = { 0 };
                struct error err = { 0 };

                snprintf(prefix, sizeof prefix, "%s:%u: ", path, bc->line);
                int r = repoconf_load_file(path, &cfg, &err);
                if (r >= 0)
                        fail_msg("case %zu ('%s') loaded", c, show(bc->text));
                assert_int_equal(r, -err.code);
                check_message(&err, prefix, bc->words, bc->text);
                /* A refused file adds nothing (and ASan sees nothing leak). */
                assert_int_equal(cfg.count, 0);
                assert_null(cfg.repos);

                /* The same through a directory. */
                memset(&err, 0, sizeof err);
                cfg.count = 99;         /* load_dir fills out whatever it holds */
                assert_int_equal(repoconf_load_dir(dir, &cfg, &err), r);
                check_message(&err, prefix, bc->words, bc->text);
                assert_int_equal(cfg.count, 0);
                assert_null(cfg.repos);
                remove_dir(dir);
        }
}

/* The same id in two files: the message names both places. */
static void test_duplicate_across_files(void **state)
{
        (void)state;
        const char *dir = make_dir();
        char a[PATH_MAX], b[PATH_MAX], prefix[PATH_MAX + 32], part[PATH_MAX + 64];
        snprintf(a, sizeof a, "%s", write_file(dir, "a.repo", "\n\n[fedora]\n" GOOD_TAIL, 0));
        snprintf(b, sizeof b, "%s", write_file(dir, "b.repo",
                                               "[other]\n" GOOD_TAIL "[fedora]\n" GOOD_TAIL, 0));
        struct repo_config cfg;
        struct error err = { 0 };
        assert_int_equal(repoconf_load_dir(dir, &cfg, &err), -EEXIST);
        snprintf(prefix, sizeof prefix, "%s:4: ", b);
        snprintf(part, sizeof part, "repository [fedora] is already defined at %s:3", a);
        check_message(&err, prefix, part, "duplicate");
        assert_int_equal(cfg.count, 0);
        assert_null(cfg.repos);

        /* repoconf_load_file() on a config that holds a.repo already: b.repo
         * adds nothing, a.repo's repository stays. */
        memset(&cfg, 0, sizeof cfg);
        assert_int_equal(repoconf_load_file(a, &cfg, &err), 0);
        assert_int_equal(repoconf_load_file(b, &cfg, &err), -EEXIST);
        assert_int_equal(cfg.count, 1);
        assert_string_equal(cfg.repos[0].id, "fedora");
        assert_string_equal(cfg.repos[0].baseurls[0], "https://a.example/");
        repoconf_free(&cfg);
        remove_dir(dir);
}

/* Lines as long as inih takes (198 bytes and the newline), and longer. */
static void test_line_length(void **state)
{
        (void)state;
        static const struct {
                size_t len;             /* of the baseurl line without its newline */
                bool newline;
                const char *error;      /* NULL: loads */
        } cases[] = {
                { 100, true, NULL },
                { 198, true, NULL },
                { 199, true, "line longer than 198 bytes" },
                { 199, false, NULL },   /* the last line, without its newline */
                { 200, false, "line longer than 198 bytes" },
                { 5000, true, "line longer than 198 bytes" },
        };
        for (size_t c = 0; c < N_ELEMENTS(cases); c++) {
                const char *dir = make_dir();
                char text[8192], line[6000];
                int n = snprintf(line, sizeof line, "baseurl = https://a.example/");
                memset(line + n, 'a', cases[c].len - (size_t)n);
                line[cases[c].len] = '\0';
                snprintf(text, sizeof text, "[x]\nrelease = " F40 "\n%s%s", line,
                         cases[c].newline ? "\n" : "");
                const char *path = write_file(dir, "x.repo", text, 0);
                struct repo_config cfg = { 0 };
                struct error err = { 0 };
                int r = repoconf_load_file(path, &cfg, &err);
                if (!cases[c].error) {
                        if (r < 0)
                                fail_msg("line of %zu bytes: %s", cases[c].len, err.msg);
                        assert_int_equal(cfg.count, 1);
                        assert_string_equal(cfg.repos[0].baseurls[0], line + strlen("baseurl = "));
                } else {
                        char prefix[PATH_MAX + 32];
                        snprintf(prefix, sizeof prefix, "%s:3: ", path);
                        assert_int_equal(r, -EINVAL);
                        check_message(&err, prefix, cases[c].error, "long line");
                        assert_int_equal(cfg.count, 0);
                }
                repoconf_free(&cfg);
                remove_dir(dir);
        }
}

static void test_nul_byte(void **state)
{
        (void)state;
        static const char text[] = "[x]\nrelease = " F40 "\nbaseurl = https://a.example/\0x\n";
        const char *dir = make_dir();
        const char *path = write_file(dir, "x.repo", text, sizeof text - 1);
        char prefix[PATH_MAX + 32];
        struct repo_config cfg = { 0 };
        struct error err = { 0 };
        snprintf(prefix, sizeof prefix, "%s:3: ", path);
        assert_int_equal(repoconf_load_file(path, &cfg, &err), -EINVAL);
        check_message(&err, prefix, "NUL byte", "NUL");
        assert_int_equal(cfg.count, 0);
        remove_dir(dir);
}

/* --- $variables --------------------------------------------------------- */

static const struct {
        const char *text, *release;
        int rc;
        const char *out;        /* the expansion, or a part of the message */
} expand_cases[] = {
        { "https://a.example/repo/", F40, 0, "https://a.example/repo/" },
        { "", F40, 0, "" },
        { "$releasever/$basearch/$arch", F40, 0, "40/x86_64/x86_64" },
        { "${releasever}/${basearch}/${arch}", F40, 0, "40/x86_64/x86_64" },
        { "f$releasever${basearch}x", F40, 0, "f40x86_64x" },
        { "$releasever$basearch", F40, 0, "40x86_64" },
        { "$releasever", "fedora-rawhide-x86_64", 0, "rawhide" },
        { "$releasever-$basearch-$arch", "fedora-40-i386", 0, "40-i386-i386" },
        { "$basearch", "fedora-40-i686", 0, "i386" },
        { "$basearch", "fedora-40-athlon", 0, "i386" },
        { "$basearch/$arch", "fedora-38-armv7hl", 0, "armhfp/armhfp" },
        { "$basearch", "fedora-40-ppc64le", 0, "ppc64le" },
        { "$basearch", "fedora-40-s390x", 0, "s390x" },
        { "rhel$releasever/$basearch", "rhel-9-aarch64", 0, "rhel9/aarch64" },
        { "$releasever", "centos-9-x86_64", 0, "9" },
        { "a$", F40, 0, "a$" },
        { "a$-b $ $/", F40, 0, "a$-b $ $/" },
        { "$$releasever", F40, 0, "$40" },
        { "$foo", F40, -EINVAL, "unknown variable '$foo' in '$foo' (known: $releasever, "
                                "$basearch, $arch)" },
        { "x/$releaseverx/", F40, -EINVAL, "unknown variable '$releaseverx'" },
        { "$RELEASEVER", F40, -EINVAL, "unknown variable '$RELEASEVER'" },
        { "$releasever_major", F40, -EINVAL, "unknown variable '$releasever_major'" },
        { "${foo}", F40, -EINVAL, "unknown variable '${foo}'" },
        { "$1", F40, -EINVAL, "unknown variable '$1'" },
        { "${}", F40, -EINVAL, "unsupported variable '${}'" },
        { "${releasever:-40}", F40, -EINVAL, "unsupported variable '${releasever:-40}'" },
        { "${a b}", F40, -EINVAL, "unsupported variable '${a b}'" },
        { "x${releasever", F40, -EINVAL, "'${' without its closing '}' in 'x${releasever'" },
        { "$releasever", "fedora-40", -EINVAL, "invalid release id 'fedora-40'" },
        { "plain", "", -EINVAL, "invalid release id" },
        { "$foo\n\x01", F40, -EINVAL, "unknown variable '$foo' in '$foo\\x0a\\x01'" },
};

static void test_expand(void **state)
{
        (void)state;
        for (size_t c = 0; c < N_ELEMENTS(expand_cases); c++) {
                char out[256];
                struct error err = { 0 };
                memset(out, 'z', sizeof out);
                int r = repoconf_expand(expand_cases[c].text, expand_cases[c].release, out,
                                        sizeof out, &err);
                if (r != expand_cases[c].rc)
                        fail_msg("'%s' for %s: %d (%s)", show(expand_cases[c].text),
                                 expand_cases[c].release, r, err.msg);
                if (r == 0) {
                        assert_string_equal(out, expand_cases[c].out);
                } else {
                        check_message(&err, NULL, expand_cases[c].out, expand_cases[c].text);
                        assert_string_equal(out, "");
                }
        }
        /* err may be NULL. */
        char out[16];
        assert_int_equal(repoconf_expand("$nope", F40, out, sizeof out, NULL), -EINVAL);
}

static void test_expand_bounds(void **state)
{
        (void)state;
        char out[16];
        struct error err = { 0 };

        /* 15 bytes and the NUL fit, 16 do not. */
        assert_int_equal(repoconf_expand("abcdefghij-$releasever", "fedora-rawhide-x86_64",
                                         out, 16, &err), -ENOSPC);
        check_message(&err, NULL, "longer than 15 bytes once expanded", "bounds");
        assert_string_equal(out, "");
        assert_int_equal(repoconf_expand("abcdefg-$releasever", "fedora-rawhide-x86_64",
                                         out, 16, &err), 0);
        assert_string_equal(out, "abcdefg-rawhide");
        assert_int_equal(repoconf_expand("x", F40, out, 1, &err), -ENOSPC);
        assert_int_equal(repoconf_expand("", F40, out, 1, &err), 0);
        assert_string_equal(out, "");
}

/* --- directories -------------------------------------------------------- */

static void test_dir_order(void **state)
{
        (void)state;
        static const char *const files[] = {
                "b.repo", "a.repo", "10-x.repo", "9-y.repo",
                /* not read (the first four are): */
                "c.repo.rpmnew", "c.repo.rpmsave", "d.repo~", "README", ".hidden.repo",
                "repo", "e.Repo", ".repo",
        };
        const char *dir = make_dir();
        char sub[PATH_MAX];
        for (size_t i = 0; i < N_ELEMENTS(files); i++) {
                char text[256], id[64];
                /* The id is the name up to its first '.'. */
                snprintf(id, sizeof id, "%s", files[i]);
                id[strcspn(id, ".")] = '\0';
                /* Only the files to read are good: the others would fail. */
                if (i < 4)
                        snprintf(text, sizeof text, "[%s]\n" GOOD_TAIL, id);
                else
                        snprintf(text, sizeof text, "not ini at all\n");
                write_file(dir, files[i], text, 0);
        }
        snprintf(sub, sizeof sub, "%s/subdir", dir);
        assert_int_equal(mkdir(sub, 0755), 0);

        struct repo_config cfg;
        struct error err = { 0 };
        if (repoconf_load_dir(dir, &cfg, &err) < 0)
                fail_msg("%s", err.msg);
        static const char *const order[] = { "10-x", "9-y", "a", "b" };
        assert_int_equal(cfg.count, N_ELEMENTS(order));
        for (size_t i = 0; i < N_ELEMENTS(order); i++) {
                char file[PATH_MAX];
                snprintf(file, sizeof file, "%s/%s.repo", dir, order[i]);
                assert_string_equal(cfg.repos[i].id, order[i]);
                assert_string_equal(cfg.repos[i].file, file);
                assert_int_equal(cfg.repos[i].line, 1);
        }
        repoconf_free(&cfg);

        /* A directory named like a .repo file is an error, not skipped. */
        snprintf(sub, sizeof sub, "%s/z.repo", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(repoconf_load_dir(dir, &cfg, &err), -EINVAL);
        check_message(&err, "repository file '", "z.repo' is not a regular file", "z.repo");
        assert_int_equal(cfg.count, 0);
        remove_dir(dir);
}

static void test_dir_missing_or_not_a_dir(void **state)
{
        (void)state;
        struct repo_config cfg = { (struct repo_source *)&cfg, 42 };   /* garbage in */
        struct error err = { 0 };

        assert_int_equal(repoconf_load_dir("/nonexistent/repos.d", &cfg, &err), 0);
        assert_int_equal(cfg.count, 0);
        assert_null(cfg.repos);

        const char *dir = make_dir();
        const char *path = write_file(dir, "file", "", 0);
        assert_int_equal(repoconf_load_dir(path, &cfg, &err), -ENOTDIR);
        check_message(&err, "cannot open repository directory '", "/file': Not a directory",
                      path);
        assert_int_equal(cfg.count, 0);
        remove_dir(dir);

        /* An empty directory: no repository, no error. */
        dir = make_dir();
        assert_int_equal(repoconf_load_dir(dir, &cfg, &err), 0);
        assert_int_equal(cfg.count, 0);
        remove_dir(dir);

        /* repoconf_load_file() on a directory, on a missing file. */
        memset(&cfg, 0, sizeof cfg);
        assert_int_equal(repoconf_load_file("/", &cfg, &err), -EISDIR);
        check_message(&err, "cannot read repository file '/': Is a directory", NULL, "/");
        assert_int_equal(cfg.count, 0);
        memset(&cfg, 0, sizeof cfg);
        assert_int_equal(repoconf_load_file("/nonexistent/x.repo", &cfg, &err), -ENOENT);
        check_message(&err, "cannot open repository file '/nonexistent/x.repo'", NULL,
                      "missing");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_files),
                cmocka_unit_test(test_fedora_repos),
                cmocka_unit_test(test_bad_files),
                cmocka_unit_test(test_duplicate_across_files),
                cmocka_unit_test(test_line_length),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_expand),
                cmocka_unit_test(test_expand_bounds),
                cmocka_unit_test(test_dir_order),
                cmocka_unit_test(test_dir_missing_or_not_a_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz-repoconf: dnf .repo files (common/repoconf.c over common/ini.c)
 * and the expansion of $releasever and $basearch. The input is one .repo
 * file; its first line is also expanded for a few release ids. */
#include "config.h"

#include <errno.h>

#include "fuzz.h"
#include "repoconf.h"

static const char *const releases[] = {
        "fedora-40-x86_64", "fedora-rawhide-i386", "rhel-9-armv7hl", "centos-10-aarch64",
        "not a release",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct repo_config cfg = { 0 };
        struct error err = { 0 };

        const char *path = fuzz_file(data, size);
        if (repoconf_load_file(path, &cfg, &err) < 0) {
                fuzz_assert(cfg.count == 0 && cfg.repos == NULL);
                fuzz_assert(err.msg[0] != '\0');
        }
        for (size_t i = 0; i < cfg.count; i++) {
                const struct repo_source *rs = &cfg.repos[i];
                fuzz_assert(rs->id[0] && rs->release[0]);
                fuzz_assert(rs->baseurl_count >= 1 && rs->baseurl_count <= REPOCONF_MAX_URLS);
                fuzz_assert(rs->gpgkey_count <= REPOCONF_MAX_URLS);
                for (size_t u = 0; u < rs->baseurl_count; u++)
                        fuzz_assert(rs->baseurls[u] && rs->baseurls[u][0]);
                for (size_t u = 0; u < rs->gpgkey_count; u++)
                        fuzz_assert(rs->gpgkeys[u] && rs->gpgkeys[u][0]);
        }
        repoconf_free(&cfg);
        fuzz_assert(cfg.count == 0 && cfg.repos == NULL);

        char *line, *rest;
        fuzz_split(data, size, &line, &rest);
        for (size_t i = 0; i < sizeof releases / sizeof releases[0]; i++) {
                char out[512], tiny[8];
                int r = repoconf_expand(line, releases[i], out, sizeof out, &err);
                if (r < 0)
                        fuzz_assert(out[0] == '\0');
                else
                        fuzz_assert(strlen(out) < sizeof out);
                r = repoconf_expand(line, releases[i], tiny, sizeof tiny, &err);
                fuzz_assert(r == 0 ? strlen(tiny) < sizeof tiny : tiny[0] == '\0');
        }
        free(line);
        free(rest);
        return 0;
}

/* fuzz-release: release lines, os-release files and release ids
 * (common/release.c). The input is an os_release file or an X-OS-Release
 * header value. */
#include "config.h"

#include <errno.h>

#include "fuzz.h"
#include "release.h"

static const char *const arches[] = { "x86_64", "i686", "aarch64", "noarch", "" };

static void check_release(const char *text)
{
        struct release rel, back;
        struct error err = { 0 };
        char id[RELEASE_ID_MAX], arch[32];

        int r = release_parse(text, &rel, &err);
        if (r < 0) {
                fuzz_assert(r == -EINVAL || r == -ENOTSUP);
                fuzz_assert(!rel.distribution[0] && !rel.version[0] && err.msg[0]);
                return;
        }
        fuzz_assert(rel.distribution[0] && rel.version[0]);
        fuzz_assert(memchr(rel.distribution, '\0', sizeof rel.distribution));
        fuzz_assert(memchr(rel.version, '\0', sizeof rel.version));
        for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
                if (release_id_make(&rel, arches[i], id, sizeof id, &err) < 0) {
                        fuzz_assert(id[0] == '\0');
                        continue;
                }
                /* A release id we make is valid and splits back. */
                if (!release_id_valid(id))
                        fuzz_fail("'%s' gave the invalid release id '%s'", text, id);
                if (release_id_parse(id, &back, arch, sizeof arch, &err) != 0)
                        fuzz_fail("release id '%s' does not parse: %s", id, err.msg);
                fuzz_assert(strcmp(back.distribution, rel.distribution) == 0);
                fuzz_assert(strcmp(back.version, rel.version) == 0);
                fuzz_assert(strcmp(arch, release_arch_normalize(arches[i])) == 0);
        }
}

static void check_id(const char *text)
{
        struct release rel;
        struct error err = { 0 };
        char arch[64], id[RELEASE_ID_MAX];

        bool valid = release_id_valid(text);
        int r = release_id_parse(text, &rel, arch, sizeof arch, &err);
        if ((r == 0) != valid)
                fuzz_fail("release id '%s': valid %d but parse %d", text, valid, r);
        if (r < 0)
                return;
        /* An id made of the parts is the id itself, arch normalised. */
        if (release_id_make(&rel, arch, id, sizeof id, &err) != 0)
                fuzz_fail("release id '%s' parses but does not make again: %s", text, err.msg);
        if (strcmp(release_arch_normalize(arch), arch) == 0 && strcmp(id, text) != 0)
                fuzz_fail("release id '%s' makes '%s'", text, id);
        /* Too small an arch buffer is -ENOSPC, not an overflow. */
        char tiny[2];
        r = release_id_parse(text, &rel, tiny, sizeof tiny, &err);
        fuzz_assert(r == 0 || r == -ENOSPC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);
        check_release(text);
        check_id(text);
        (void)release_arch_normalize(text);
        free(text);
        return 0;
}

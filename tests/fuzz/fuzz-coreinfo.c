/* fuzz-coreinfo: core analysis (retrace-worker/coreinfo.c over elfutils'
 * libelf and libdwfl), which reads every uploaded coredump before
 * anything else does. The input is the core file. */
#include "config.h"

#include <errno.h>

#include "coreinfo.h"
#include "fuzz.h"

static bool lower_hex(const char *s)
{
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct core_info ci;
        struct error err = { 0 };

        const char *path = fuzz_file(data, size);
        /* With and without the client's `executable`: it only marks the
         * main module when the core does not. */
        for (int pass = 0; pass < 2; pass++) {
                int r = core_analyze(path, pass ? "/usr/bin/crash" : NULL, &ci, &err);
                if (r < 0) {
                        fuzz_assert(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
                        fuzz_assert(ci.count == 0 && !ci.modules && !ci.executable);
                        fuzz_assert(err.msg[0] != '\0');
                        core_info_free(&ci);
                        continue;
                }
                fuzz_assert(ci.count <= CORE_MAX_MODULES);
                fuzz_assert(memchr(ci.arch, '\0', sizeof ci.arch) && ci.arch[0]);
                fuzz_assert(ci.file_size == size);
                size_t mains = 0, vdsos = 0;
                for (size_t i = 0; i < ci.count; i++) {
                        const struct core_module *m = &ci.modules[i];
                        fuzz_assert(m->start <= m->end);
                        if (i > 0)
                                fuzz_assert(ci.modules[i - 1].start <= m->start);
                        fuzz_assert(memchr(m->build_id, '\0', sizeof m->build_id));
                        fuzz_assert(strlen(m->build_id) % 2 == 0 && lower_hex(m->build_id));
                        mains += m->main;
                        vdsos += m->vdso;
                        if (m->path)
                                (void)strlen(m->path);
                }
                fuzz_assert(mains <= 1 && vdsos <= 1);
                if (ci.executable)
                        (void)strlen(ci.executable);
                core_info_free(&ci);
                fuzz_assert(ci.count == 0 && !ci.modules);
        }
        return 0;
}

/* coreinfo.h: what a coredump says about the crashed process, read with
 * elfutils' libdwfl: the architecture, the signal, and every mapped ELF
 * module with its build-id and the path the core names for it.
 *
 * Cores come from anyone: a file that is not an ELF core, is cut short,
 * is of another architecture, carries notes that lie (build-ids of modules
 * it did not map) or a huge note section must give an error or a partial
 * answer, never a crash or unbounded memory. */
#ifndef WORKER_COREINFO_H
#define WORKER_COREINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define CORE_MAX_MODULES 4096
#define CORE_BUILD_ID_MAX 64            /* bytes; hex is twice that */

struct core_module {
        char *path;             /* as the core names it (NT_FILE / link map); NULL when unknown */
        char build_id[2 * CORE_BUILD_ID_MAX + 1];       /* lower-case hex; "" when none */
        uint64_t start, end;    /* mapped address range */
        bool main;              /* the executable itself */
};

struct core_info {
        char arch[16];          /* RPM's name: x86_64, i686, aarch64, ppc64le, s390x, ... */
        int signal;             /* that killed it; 0 when the core does not say */
        pid_t pid;
        char *executable;       /* from the core (AT_EXECFN or NT_FILE's first), or NULL */
        struct core_module *modules;
        size_t count;
};

/* Reads the core at path. executable: the path of the crashed program as
 * the client gave it (the `executable` file), or NULL; used only to mark
 * the main module when the core does not. */
int core_analyze(const char *path, const char *executable, struct core_info *out,
                 struct error *err);
void core_info_free(struct core_info *info);

#endif

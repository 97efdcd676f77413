/* coreinfo.h: what a coredump says about the crashed process, read with
 * elfutils' libdwfl: the architecture, the signal, and every mapped ELF
 * module with its build-id and the path the core names for it.
 *
 * Cores come from anyone: a file that is not an ELF core, is cut short,
 * is of another architecture, carries notes that lie (build-ids of modules
 * it did not map) or a huge note section must give an error or a partial
 * answer, never a crash or unbounded memory.
 *
 * Only the core is read: no file of this host is opened for a name the
 * core gives (libdwfl on its own would open NT_FILE and link-map paths;
 * here it sees no notes, and the notes are read by coreinfo.c itself).
 * The dynamic linker's link map is not followed. */
#ifndef WORKER_COREINFO_H
#define WORKER_COREINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define CORE_MAX_MODULES 4096
#define CORE_BUILD_ID_MAX 64            /* bytes; hex is twice that */

/* A module is either one libdwfl found by its ELF header in the dumped
 * memory (with its build-id when the page holding it was dumped), or a
 * file NT_FILE lists whose header was not dumped (gcore's cores, pages
 * the kernel left out) and that looks like code: an executable mapping,
 * or a shared object's name. Those have a path and no build-id. */
struct core_module {
        char *path;             /* as NT_FILE names it (the mapping at start with file
                                 * offset 0); NULL when unknown: no NT_FILE (old
                                 * kernels), the vDSO, a damaged note */
        char build_id[2 * CORE_BUILD_ID_MAX + 1];       /* lower-case hex; "" when none */
        uint64_t start, end;    /* mapped address range */
        bool main;              /* the executable itself: the module holding AT_ENTRY;
                                 * else libdwfl's "[exe]"/"[pie]"; else the one AT_EXECFN
                                 * or NT_FILE's first mapping names; else the executable
                                 * argument (by path, or by file name when only one
                                 * module has it). At most one. */
        bool vdso;              /* the kernel's vDSO (the module at AT_SYSINFO_EHDR): no
                                 * package ships it */
};

struct core_info {
        char arch[16];          /* RPM's name: x86_64, i686, aarch64, ppc64le/ppc64,
                                 * s390x, armv7hl, riscv64, ...; "em-N" for an
                                 * e_machine without one. Not checked: the caller
                                 * refuses a foreign one. */
        int signal;             /* that killed it (pr_cursig of the first NT_PRSTATUS);
                                 * 0 when the core does not say (gcore writes 0) */
        pid_t pid;              /* of the first thread; 0 when unknown */
        char *executable;       /* AT_EXECFN when absolute, else the main module's
                                 * path, else a relative AT_EXECFN ("./a.out"), else a
                                 * copy of the executable argument, else NULL */
        struct core_module *modules;    /* sorted by start */
        size_t count;
        uint64_t file_size;     /* of the core file */
        uint64_t needed_size;   /* the end of its furthest segment (p_offset + p_filesz):
                                 * more than file_size when the core was cut short
                                 * (a core size limit, a full disk, a partial upload) */
};

/* Reads the core at path. executable: the path of the crashed program as
 * the client gave it (the `executable` file), or NULL; used only to mark
 * the main module when the core does not, and as the last resort for
 * core_info.executable.
 *
 * Returns 0 with *out filled, or a negative errno with *out empty (safe
 * to core_info_free) and err filled: -EINVAL for a file that is not an ELF
 * core ("'PATH' is not an ELF core file...") or one too damaged or cut
 * short to name any module; -E2BIG for more than CORE_MAX_MODULES modules,
 * more than 131072 program headers, or ELF headers in the dump claiming
 * more than 64 MiB of module headers, notes and dynamic sections (what
 * libdwfl would read, per module); -ENOMEM; open(2)'s errno. A core
 * cut short or with damaged notes otherwise gives what it still holds. */
int core_analyze(const char *path, const char *executable, struct core_info *out,
                 struct error *err);
/* Frees what *info holds and empties it; an empty or zeroed info is left
 * as it is. */
void core_info_free(struct core_info *info);

#endif

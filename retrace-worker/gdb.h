/* gdb.h: gdb in batch mode inside bubblewrap.
 *
 * The sandbox: no network, a new user, IPC, PID and UTS namespace, no
 * capabilities, read-only binds of the host's /usr (gdb itself) and of the
 * task's root and core, a private /tmp, --die-with-parent, a time limit
 * and an output cap. gdb runs with the root as sysroot and its
 * usr/lib/debug as debug-file-directory, debuginfod and auto-load off
 * (no *-gdb.py from a debuginfo package ever runs).
 */
#ifndef WORKER_GDB_H
#define WORKER_GDB_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct gdb_job {
        const char *root;       /* the assembled tree (sysroot) */
        const char *core;       /* the uncompressed core */
        const char *executable; /* the crashed program's path as packaged (/usr/bin/foo) */
        const char *output;     /* where the backtrace goes */
        unsigned timeout_s;
        uint64_t output_limit;  /* bytes */
};

struct gdb_result {
        double seconds;
        int exit_status;        /* gdb's, or -1 */
        int timed_out;
        int truncated;          /* output hit the cap */
        int frames;             /* "#N " frame lines seen */
        int frames_with_source; /* of them, with " at file:line" */
};

/* Writes the gdb script and runs it; the backtrace (the contract's
 * sections: core banner, crash frame, every thread's backtrace full, info
 * sharedlib, __abort_msg / __glib_assert_msg, registers, disassembly) goes
 * to job->output. Fails on a timeout (saying after how long) or when gdb
 * could not load the core. */
int gdb_retrace(const struct gdb_job *job, struct gdb_result *result, struct error *err);

#endif

/* pack.h: the upload archive, made while it is sent.
 *
 * The archive holds what ABRT's client packs: coredump, executable,
 * package, os_release, and rootdir and os_release_in_rootdir when present,
 * as an xz-compressed tar (libarchive: pax restricted format, xz preset 1
 * where ABRT's "tar | xz -2" used 2; see pack.c). Nothing is written to
 * disk: a packer runs libarchive one input chunk at a time, pulled by its
 * reader (libcurl's read callback), and libarchive's output lands in a
 * small buffer the reader drains. Memory stays about 25 MiB (the xz
 * encoder's), whatever the size of the core.
 *
 * /create needs a Content-Length, so the compressed size must be known
 * before the first byte goes out. The client packs twice: a first pass
 * only counts the bytes (and keeps them when the archive is at most 4 MiB,
 * which is then sent from memory), the second pass makes them again while
 * they are sent, so that the CPU is paid twice but neither the core nor
 * the archive is ever copied to disk or held in memory. A temporary
 * archive file would have cost one pass, but it is a copy of the core's
 * contents on disk, the thing this client must not leave behind (/tmp on
 * a tmpfs is memory, and a crash of the client leaves it). On a 100 MiB
 * core the first pass costs about 10 s of CPU here; the second one runs
 * while the bytes go out, so over a network slower than the compressor
 * it costs CPU but no time.
 *
 * xz with the same input and settings gives the same bytes (one thread);
 * the files are read through descriptors opened once, and a file that
 * changes between or during the passes is detected (its size, mtime or
 * ctime differ, or the second pass's length differs) and the upload fails
 * before its last byte instead of sending a damaged body.
 */
#ifndef RETRACE_CLIENT_PACK_H
#define RETRACE_CLIENT_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "problemdir.h"

#define PACK_CONTENT_TYPE "application/x-xz-compressed-tar"
#define PACK_MAX_FILES 6

struct pack_file {
        const char *name;
        int fd;
        struct stat st;
};

/* The problem directory's files that go into the archive, open. */
struct pack_set {
        struct pack_file files[PACK_MAX_FILES];
        size_t count;
        uint64_t unpacked;      /* sum of the files' sizes */
};

/* Opens the files. coredump, executable and package are required;
 * os_release, rootdir and os_release_in_rootdir are taken when present.
 * Each must be a regular file (not a link). */
int pack_set_open(const struct problem_dir *pd, struct pack_set *set, struct error *err);
void pack_set_close(struct pack_set *set);

/* -ESTALE when a file changed (size, mtime, ctime) since pack_set_open(). */
int pack_set_check(const struct pack_set *set, struct error *err);

struct packer;

/* A packer produces the compressed archive of set from its beginning. */
int packer_new(const struct pack_set *set, struct packer **out, struct error *err);
void packer_free(struct packer *p);

/* Copies up to len bytes of the archive into buf. Returns the count, 0 at
 * the end, or a negative errno (err filled). */
ssize_t packer_read(struct packer *p, void *buf, size_t len, struct error *err);

/* Input bytes consumed so far (of set->unpacked). */
uint64_t packer_consumed(const struct packer *p);

/* Largest amount of output the packer ever held (bounded memory). */
size_t packer_peak_buffer(const struct packer *p);

#endif

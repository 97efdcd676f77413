/* cache.h: RPM payloads extracted once, shared by every task.
 *
 *   CacheDir/packages/<nevra>/            the payload's tree (usr/..., etc/...)
 *   CacheDir/packages/<nevra>.complete    written last: the tree is whole
 *   CacheDir/packages/<nevra>.lock        flock(2): one extraction at a time
 *   CacheDir/packages/<nevra>.used        its mtime is the last use (LRU)
 *   CacheDir/packages/<nevra>.size        the tree's disk usage in bytes,
 *                                         written at extraction for eviction
 *   CacheDir/packages/.<nevra>.tmp.<pid>  an extraction in progress
 *   CacheDir/packages/.<nevra>.evict.<pid> a tree being removed
 *
 * (<nevra> is the caller's key for a package: the worker uses
 * "<nevra>@<release-id>", so releases never share an extraction.)
 *
 * Extraction (libarchive: RPM filter + cpio, gzip/xz/zstd payloads) keeps
 * regular files, directories and symlinks only: no device nodes, FIFOs or
 * sockets, no setuid/setgid/sticky bits, no file owned by anyone but the
 * worker; absolute symlink targets are rewritten relative so they stay
 * inside the tree; no entry may leave the tree (.., absolute names, paths
 * through a symlink). A tree without its .complete marker (a worker
 * killed mid-extraction) is removed and extracted again.
 *
 * Task roots are built from the cache by hard links (root_add_package), so
 * nothing is copied and the cache's size cap can evict a package while a
 * task still uses its files: the links keep them.
 */
#ifndef WORKER_CACHE_H
#define WORKER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct pkg_cache;

/* Bounds on what one package may hold; a payload past them is refused
 * (the size bounds count declared file sizes, holes included: they bound
 * the decompression work, while holes never take disk space). */
#define CACHE_MAX_PACKAGE_BYTES (UINT64_C(16) << 30)   /* all files together */
#define CACHE_MAX_FILE_BYTES    CACHE_MAX_PACKAGE_BYTES /* one file */
#define CACHE_MAX_ENTRIES       1000000u               /* cpio members */
#define CACHE_MAX_DEPTH         128                    /* path components */

/* The longest nevra cache_get() takes: ".<nevra>.evict.<pid>" must still
 * be a file name (NAME_MAX 255). */
#define CACHE_NEVRA_MAX         230

/* cache_evict() leaves alone a package used less than this long ago: a
 * task may still be linking it into its root. The cap is therefore soft. */
#define CACHE_EVICT_GRACE_SECONDS 600

/* dir: CacheDir; max_bytes: the size cap (0: none). */
int cache_open(const char *dir, uint64_t max_bytes, struct pkg_cache **out, struct error *err);
void cache_close(struct pkg_cache *c);

/* Makes sure rpm_path's payload is extracted as nevra; tree receives its
 * directory. Safe against other processes and threads doing the same at
 * once: the first extracts (into .<nevra>.tmp.<pid>, synced to disk, then
 * renamed), the others wait on the lock and find it complete.
 * *extracted tells whether this call extracted it (false: cache hit).
 * nevra must be a plain file name (no '/', no leading '.', printable).
 * A package with a file of 4 GiB or more is refused: rpm writes those
 * with a cpio variant ("07070X") that libarchive does not read. */
int cache_get(struct pkg_cache *c, const char *nevra, const char *rpm_path, char *tree,
              size_t tree_len, bool *extracted, struct error *err);

/* Evicts least recently used packages until the cache is under its cap
 * (the sizes come from the .size files). Never a package whose lock is
 * held, nor one used in the last CACHE_EVICT_GRACE_SECONDS. Also removes
 * the remains of evictions cut short. Returns the bytes freed, or a
 * negative errno when nothing could be freed because of an error. */
int64_t cache_evict(struct pkg_cache *c, struct error *err);

/* The cache's size in bytes (the .size files summed) as the last
 * cache_evict() left it; false before the first. Packages extracted since
 * are not in it. */
bool cache_size(const struct pkg_cache *c, uint64_t *bytes);

/* What one extraction made. */
struct cache_extract_stats {
        uint64_t disk_bytes;    /* st_blocks * 512 of what was created */
        uint64_t file_bytes;    /* declared sizes of the regular files */
        unsigned files, dirs, symlinks;
        unsigned hardlinks;     /* regular members linked to an earlier one */
        unsigned rewritten;     /* symlink targets made relative or clamped */
        unsigned skipped;       /* device nodes, FIFOs, sockets, empty links */
};

/* The extractor cache_get() uses, on its own: rpm_path's payload into dest,
 * which must not exist yet (it is created, mode 0755). Nothing is written
 * outside dest. Symlink targets: an absolute one is made relative to the
 * link's directory; a relative one is kept as it is when it only climbs
 * (leading ".." components) and no higher than dest, otherwise it is
 * resolved by name, with ".." at dest's top staying there as at "/" in a
 * chroot, and written back relative (a link at usr/lib/debug/x to
 * ../../../../../../etc/shadow becomes ../../../etc/shadow). Modes: files
 * 0644 plus their execute bits, directories 0755. On failure dest may hold
 * part of the payload; the caller removes it. stats may be NULL. */
int cache_extract(const char *rpm_path, const char *dest, struct cache_extract_stats *stats,
                  struct error *err);

/* Links every file of tree into root (creating root and directories,
 * re-creating symlinks), without copying contents and without following
 * symlinks in either. root and the cache must share a file system (a file
 * already at the file system's link limit is copied). A path that already
 * exists in root is left as it is, and so is everything below a
 * non-directory there (packages of one task do not conflict; when they
 * do, the first wins). */
int root_add_package(const char *root, const char *tree, struct error *err);

#endif

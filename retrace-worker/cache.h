/* cache.h: RPM payloads extracted once, shared by every task.
 *
 *   CacheDir/packages/<nevra>/            the payload's tree (usr/..., etc/...)
 *   CacheDir/packages/<nevra>.complete    written last: the tree is whole
 *   CacheDir/packages/<nevra>.lock        flock(2): one extraction at a time
 *   CacheDir/packages/<nevra>.used        its mtime is the last use (LRU)
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

/* dir: CacheDir; max_bytes: the size cap (0: none). */
int cache_open(const char *dir, uint64_t max_bytes, struct pkg_cache **out, struct error *err);
void cache_close(struct pkg_cache *c);

/* Makes sure rpm_path's payload is extracted as nevra; tree receives its
 * directory. Safe against other processes doing the same at once.
 * *extracted tells whether this call extracted it (false: cache hit). */
int cache_get(struct pkg_cache *c, const char *nevra, const char *rpm_path, char *tree,
              size_t tree_len, bool *extracted, struct error *err);

/* Evicts least recently used packages until the cache is under its cap.
 * Returns the bytes freed. */
int64_t cache_evict(struct pkg_cache *c, struct error *err);

/* Links every file of tree into root (creating directories, re-creating
 * symlinks), without copying contents. root and the cache must share a
 * file system. A path that already exists in root is left as it is
 * (packages of one task do not conflict; when they do, the first wins). */
int root_add_package(const char *root, const char *tree, struct error *err);

#endif

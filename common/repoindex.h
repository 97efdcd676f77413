/* repoindex.h: the local repository and its index.
 *
 * Written by retrace-reposync (and its import mode), read by
 * retrace-worker and mod_retrace.
 *
 *   RepoDir/<release-id>/Packages/<file>.rpm  every version ever mirrored
 *   RepoDir/<release-id>/repodata/            RPM-MD for dnf (createrepo_c)
 *   RepoDir/<release-id>/index                symlink to the current
 *                                             generation, .index-<gen>
 *   RepoDir/<release-id>/.index-<gen>/packages.solv
 *                          libsolv repository of every package under
 *                          Packages/, with provides, requires and full file
 *                          lists: the store the next update starts from,
 *                          so no RPM header is ever read twice
 *   RepoDir/<release-id>/.index-<gen>/lookup.tbl
 *                          our tables, made from packages.solv, mapped
 *                          into memory by readers (no parsing, no libsolv):
 *                          packages (NEVRA, location, the debugsource and
 *                          dwz packages a debuginfo package needs), and
 *                          sorted hashes of NEVRAs, build-ids and paths
 *   RepoDir/<release-id>/.lock                flock(2)ed by a writer
 *
 * Publishing: a writer builds a new generation directory completely
 * (fsynced), then renames a new symlink over `index`: readers see the old
 * generation or the new one, whole. A reader opens `index` as a directory
 * once and reads both files through that descriptor, so the two always
 * belong together; an old generation is removed after the switch (a reader
 * that loses that race opens again).
 *
 * A release is supported exactly when `index` resolves to a generation with
 * its lookup.tbl. Directory names that are not valid release ids
 * (release.h) are ignored.
 */
#ifndef RETRACE_REPOINDEX_H
#define RETRACE_REPOINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "nevra.h"

#define REPOINDEX_LINK      "index"
#define REPOINDEX_SOLV      "packages.solv"
#define REPOINDEX_TABLES    "lookup.tbl"
#define REPOINDEX_PACKAGES  "Packages"
#define REPOINDEX_LOCK      ".lock"
#define REPOINDEX_MAX_RELEASES 256

/* Keys of packages.solv beyond libsolv's own, numbers on every package: the
 * size and the modification time (nanoseconds since the epoch) of its file
 * under Packages/ when the header was read. An update reads a file again
 * when either differs. A tool that writes packages.solv itself (the
 * benchmark does) sets them to match the files. */
#define REPOINDEX_SOLV_KEY_SIZE  "retrace:filesize"
#define REPOINDEX_SOLV_KEY_MTIME "retrace:filemtime"

/* --- releases ----------------------------------------------------------- */

struct release_list {
        size_t count;
        char (*ids)[64];        /* sorted */
};

/* Lists supported releases (valid id, index present), sorted. A missing
 * repo_dir is an empty list. */
int repo_list_releases(const char *repo_dir, struct release_list *out,
                       struct error *err);
void release_list_free(struct release_list *list);
bool release_list_contains(const struct release_list *list, const char *id);

/* --- reading ------------------------------------------------------------ */

struct repoindex;

/* A package of an open index: an index into its package table. */
typedef uint32_t repo_pkg;

struct repo_pkg_info {
        /* Pointers into the mapped index, valid while it is open. epoch is
         * "" when the package has none. */
        const char *name, *epoch, *version, *release, *arch;
        const char *location;   /* relative to the release directory */
        const char *sourcerpm;  /* "" for a source package */
        bool debuginfo;         /* a -debuginfo or -debugsource package */
};

enum build_id_kind {
        BUILD_ID_BINARY,        /* ships /usr/lib/.build-id/xx/yyyy */
        BUILD_ID_DEBUG,         /* ships /usr/lib/debug/.build-id/xx/yyyy.debug
                                   or provides debuginfo(build-id) = <hex> */
};

/* Maps RepoDir/<release_id>/index. -ENOENT when the release is not
 * supported, -EINVAL for a malformed id, -EBADMSG for a damaged index
 * (header or section bounds; a damaged entry is found when used and reads
 * as empty, see repoindex.c). Takes well under a millisecond whatever the
 * release's size. */
int repoindex_open(const char *repo_dir, const char *release_id,
                   struct repoindex **out, struct error *err);
void repoindex_free(struct repoindex *idx);

/* True when this process's view is still the current generation (`index`
 * names the generation mapped, and is the same directory); when not, a
 * caller that keeps indexes open should open it again. An index stays
 * usable after its generation was replaced or removed. */
bool repoindex_is_current(struct repoindex *idx);

size_t repoindex_package_count(const struct repoindex *idx);
void repoindex_package(const struct repoindex *idx, repo_pkg pkg, struct repo_pkg_info *info);

/* Packages matching n: an empty epoch matches epoch 0 or none; an empty
 * arch matches any. Returns how many were found (all of them), storing at
 * most max in out. */
size_t repoindex_find_nevra(const struct repoindex *idx, const struct nevra *n,
                            repo_pkg *out, size_t max);

/* True when repoindex_find_nevra() finds anything. */
bool repoindex_has_package(const struct repoindex *idx, const struct nevra *n);

/* Packages carrying build_id (lower-case hex) in the given way. Returns
 * how many (all), storing at most max in out. */
size_t repoindex_find_build_id(const struct repoindex *idx, const char *build_id,
                               enum build_id_kind kind, repo_pkg *out, size_t max);

/* Packages (every version) that ship the file at path (absolute, as
 * packaged: /usr/lib64/libc.so.6, not /lib64/...). Returns how many.
 * Paths under /usr/share/{doc,man,locale,licenses}, /usr/include and
 * /usr/src/debug are not indexed. Paths are matched by a 96-bit hash
 * (repoindex.c), not compared as text. */
size_t repoindex_find_path(const struct repoindex *idx, const char *path,
                           repo_pkg *out, size_t max);

/* What a debuginfo package needs besides itself: its -debugsource package
 * (named after the source package, same EVR and arch) and the packages
 * holding the dwz files (/usr/lib/debug/.dwz/...) it refers to, as its
 * Requires and Recommends name them: each -debuginfo or -debugsource
 * package providing one, one per name, preferring the debuginfo's own EVR,
 * then its arch, then the highest EVR. Worked out at update time; one level
 * (the companions' own needs are not added). Returns how many; 0 for a
 * package that is no -debuginfo package. */
size_t repoindex_debug_companions(const struct repoindex *idx, repo_pkg debuginfo,
                                  repo_pkg *out, size_t max);

/* --- writing (the caller holds RepoDir/<release_id>/.lock) --------------- */

struct repoindex_stats {
        size_t packages;        /* in the new index */
        size_t added;           /* RPM headers read this time */
        size_t removed;         /* indexed files gone from Packages/ */
};

/* Brings the index up to date with Packages/: reads the headers of RPM
 * files not yet indexed (and only those; a file whose size or modification
 * time changed counts as not indexed), drops packages whose file is gone,
 * writes a new generation and switches to it. With nothing changed,
 * nothing is written, except that a release without an index gets one
 * (also with an empty Packages/) and a current generation whose lookup.tbl
 * is missing, damaged or of another format version gets a new generation
 * made from its packages.solv without reading any RPM (every entry
 * of the table is checked here, unlike at open). An unreadable
 * packages.solv makes every header be read again. Old generations are
 * removed after the switch. A file that is not a valid RPM is an error that
 * names it, and the previous index stays. -ENOENT without Packages/. stats
 * (may be NULL) is filled on success. */
int repoindex_update(const char *repo_dir, const char *release_id,
                     struct repoindex_stats *stats, struct error *err);

/* Takes RepoDir/<release_id>/.lock (creating the release directory): fd
 * to close to release it. -EWOULDBLOCK when another process holds it and
 * wait is false. */
int repoindex_lock(const char *repo_dir, const char *release_id, bool wait,
                   struct error *err);

#endif

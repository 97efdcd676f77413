/* repoindex.h: the local repository and its index.
 *
 * Written by retrace-reposync, read by retrace-worker and mod_retrace.
 *
 *   RepoDir/<release-id>/Packages/<name>-<ver>-<rel>.<arch>.rpm   every version
 *   RepoDir/<release-id>/repodata/            RPM-MD for dnf
 *   RepoDir/<release-id>/index.solv           libsolv repository of every
 *                                             package under Packages/, with
 *                                             provides and full file lists
 *   RepoDir/<release-id>/.lock                flock(2)ed by a writer
 *
 * A release is supported exactly when index.solv exists: it is written to a
 * temporary name and renamed into place only when complete, so a reader
 * sees the previous index or the new one, whole. Each solvable's location
 * (SOLVABLE_MEDIAFILE) is its path relative to the release directory.
 *
 * Directory names that are not valid release ids (release.h) are ignored.
 */
#ifndef RETRACE_REPOINDEX_H
#define RETRACE_REPOINDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "nevra.h"

#define REPOINDEX_FILE      "index.solv"
#define REPOINDEX_PACKAGES  "Packages"
#define REPOINDEX_MAX_RELEASES 256

struct release_list {
        size_t count;
        char (*ids)[64];        /* sorted */
};

/* Lists supported releases (valid id, index present), sorted. */
int repo_list_releases(const char *repo_dir, struct release_list *out,
                       struct error *err);
void release_list_free(struct release_list *list);
bool release_list_contains(const struct release_list *list, const char *id);

struct repoindex;

/* Loads RepoDir/<release_id>/index.solv. -ENOENT when the release is not
 * supported. */
int repoindex_open(const char *repo_dir, const char *release_id,
                   struct repoindex **out, struct error *err);
void repoindex_free(struct repoindex *idx);

/* True when the index holds the package. An empty epoch matches epoch 0 or
 * none; an empty arch matches any arch. */
bool repoindex_has_package(struct repoindex *idx, const struct nevra *n);

/* Scans RepoDir/<release_id>/Packages/ and writes a fresh index.solv (the
 * import path of retrace-reposync, and what tests use to make a release). */
int repoindex_build(const char *repo_dir, const char *release_id,
                    struct error *err);

#endif

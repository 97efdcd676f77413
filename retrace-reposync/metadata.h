/* metadata.h: an upstream repository's RPM-MD metadata, fetched and read
 * with libsolv: repomd.xml, then primary (gzip, xz or zstd). */
#ifndef REPOSYNC_METADATA_H
#define REPOSYNC_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fetch.h"

struct remote_package {
        char *nevra;            /* name-[epoch:]version-release.arch */
        char *location;         /* relative to the baseurl, e.g. Packages/s/sshpass-1.07-1.fc34.x86_64.rpm */
        char *filename;         /* its last component (points into location) */
        char *checksum_type;    /* "sha256", "sha512", "sha1" (as in primary) */
        char *checksum;         /* lower-case hex */
        uint64_t size;          /* download size, 0 when not given */
};

struct remote_repo {
        char *repomd;           /* repomd.xml as fetched */
        size_t repomd_len;
        struct remote_package *packages;
        size_t count;
};

/* Fetches baseurl/repodata/repomd.xml into *repomd (malloc'ed). */
int metadata_fetch_repomd(struct fetcher *f, const char *baseurl, char **repomd,
                          size_t *len, struct error *err);

/* Reads repomd (already fetched), fetches the primary it names, checks it
 * against repomd's checksum, and lists the packages. Errors name the URL. */
int metadata_load(struct fetcher *f, const char *baseurl, const char *repomd,
                  size_t repomd_len, struct remote_repo *out, struct error *err);

void remote_repo_free(struct remote_repo *repo);

#endif

/* fetch.h: downloads with libcurl: several at a time, retries with
 * back-off, resuming a partial file, and every package checked against its
 * checksum before it gets its final name (temp file, then rename). */
#ifndef REPOSYNC_FETCH_H
#define REPOSYNC_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct fetch_options {
        unsigned parallel;      /* transfers at once (>= 1) */
        unsigned retries;       /* further tries after a failure */
        unsigned backoff_ms;    /* first wait; doubles each retry */
        unsigned timeout_s;     /* no progress for this long fails a try */
};

struct fetcher;

int fetcher_new(const struct fetch_options *opt, struct fetcher **out, struct error *err);
void fetcher_free(struct fetcher *f);

/* Fetches a small file (metadata) into memory, at most max bytes; *data
 * is NUL-terminated (the NUL not counted in *len). Transient failures are
 * tried again as in fetch_run(). Errors name the URL and say what went
 * wrong (HTTP 404, connection refused, ...). */
int fetch_to_memory(struct fetcher *f, const char *url, size_t max, char **data,
                    size_t *len, struct error *err);

/* One file to download into dest (an absolute path in an existing
 * directory; no two jobs of a run may share a dest). */
struct fetch_job {
        const char *url;
        const char *dest;
        const char *checksum_type;      /* "sha256", ...; NULL: not checked */
        const char *checksum;           /* lower-case hex */
        uint64_t size;                  /* expected, 0 when unknown */
        void *user;
        /* Filled in: */
        int result;                     /* 0, or negative errno */
        struct error err;
        unsigned tries;
};

/* Progress, called from fetch_run() as bytes arrive (may be NULL). */
typedef void (*fetch_progress_fn)(void *user, uint64_t bytes_done, size_t jobs_done,
                                  size_t jobs_failed);
/* Called when a job finishes, well or not (may be NULL). Before it returns
 * a successful job's file exists at dest, complete and checked. */
typedef void (*fetch_done_fn)(void *user, struct fetch_job *job);

/* Runs the jobs, opt->parallel at a time. Data arrives in dest + ".part"
 * (resumed with a Range request when a .part is already there: a download
 * interrupted by a killed sync continues), is checked against the
 * checksum, and is renamed to dest. A mismatch deletes the .part and
 * counts as a failed try. Returns 0 when every job succeeded, else the
 * number of failed jobs as a negative count (see each job's result). */
int fetch_run(struct fetcher *f, struct fetch_job *jobs, size_t count,
              fetch_progress_fn progress, fetch_done_fn done, void *user);

/* Hex digest of a file ("sha256", "sha512", "sha1", "sha224", "sha384",
 * "md5"); out holds 129 bytes. */
int file_checksum(const char *path, const char *type, char out[129], struct error *err);

#endif

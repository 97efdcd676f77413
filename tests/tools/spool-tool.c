/* spool-tool: does to a task what retrace-worker does, through the same
 * common/ calls, so the integration tests can drive a task through its
 * stages and give it results without running a retrace.
 *
 *   spool-tool stage SPOOL ID STAGE     write the status file (QUEUED, ..., FINISHED_FAILURE)
 *   spool-tool put SPOOL ID FILE        publish stdin as tasks/ID/FILE
 *   spool-tool claim SPOOL ID           move queue/ID to running/ID
 *   spool-tool release SPOOL ID         remove running/ID
 *   spool-tool index REPO RELEASE       bring the index of REPO/RELEASE/Packages
 *                                       up to date under the release's lock
 *                                       (what retrace-reposync's import does)
 *
 * Lookups through the index, as retrace-worker and mod_retrace make them;
 * each prints the matching packages' NEVRAs (epoch only when not 0), one a
 * line, sorted; nothing found is exit 0 with no output; an index that does
 * not open is exit 1 with its message:
 *   spool-tool nevra REPO RELEASE NEVRA          repoindex_find_nevra()
 *                                                (NEVR or NEVRA)
 *   spool-tool build-id REPO RELEASE HEX binary|debug
 *                                                repoindex_find_build_id()
 *   spool-tool path REPO RELEASE PATH            repoindex_find_path()
 *   spool-tool companions REPO RELEASE NEVRA     repoindex_debug_companions()
 *                                                of each package NEVRA matches
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nevra.h"
#include "repoindex.h"
#include "spool.h"

#define LOOKUP_MAX 4096

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the NEVRAs of pkgs[0..n), sorted. */
static int print_packages(const struct repoindex *idx, const repo_pkg *pkgs, size_t n)
{
        char **lines = calloc(n ? n : 1, sizeof *lines);
        if (!lines)
                return 1;
        for (size_t i = 0; i < n; i++) {
                struct repo_pkg_info info;
                repoindex_package(idx, pkgs[i], &info);
                bool epoch = info.epoch[0] && strcmp(info.epoch, "0") != 0;
                if (asprintf(&lines[i], "%s-%s%s%s-%s.%s", info.name, epoch ? info.epoch : "",
                             epoch ? ":" : "", info.version, info.release, info.arch) < 0) {
                        while (i > 0)
                                free(lines[--i]);
                        free(lines);
                        return 1;
                }
        }
        qsort(lines, n, sizeof *lines, cmp_str);
        for (size_t i = 0; i < n; i++) {
                puts(lines[i]);
                free(lines[i]);
        }
        free(lines);
        return 0;
}

static int parse_nevr_or_nevra(const char *text, struct nevra *out, struct error *err)
{
        if (nevra_parse_nevra(text, out, err) == 0)
                return 0;
        return nevra_parse_nevr(text, out, err);
}

/* spool-tool nevra|build-id|path|companions REPO RELEASE ARG [KIND] */
static int lookup(int argc, char **argv)
{
        const char *cmd = argv[1], *arg = argv[4];
        struct error err = { 0 };
        struct repoindex *idx;
        struct nevra n;
        static repo_pkg found[LOOKUP_MAX];
        size_t count = 0;

        if (repoindex_open(argv[2], argv[3], &idx, &err) < 0) {
                fprintf(stderr, "spool-tool: %s\n", err.msg);
                return 1;
        }
        if (strcmp(cmd, "nevra") == 0 && argc == 5) {
                if (parse_nevr_or_nevra(arg, &n, &err) < 0)
                        goto bad;
                count = repoindex_find_nevra(idx, &n, found, LOOKUP_MAX);
        } else if (strcmp(cmd, "build-id") == 0 && argc == 6) {
                enum build_id_kind kind;
                if (strcmp(argv[5], "binary") == 0)
                        kind = BUILD_ID_BINARY;
                else if (strcmp(argv[5], "debug") == 0)
                        kind = BUILD_ID_DEBUG;
                else {
                        error_set(&err, EINVAL, "build-id kind is binary or debug, not '%s'",
                                  argv[5]);
                        goto bad;
                }
                count = repoindex_find_build_id(idx, arg, kind, found, LOOKUP_MAX);
        } else if (strcmp(cmd, "path") == 0 && argc == 5) {
                count = repoindex_find_path(idx, arg, found, LOOKUP_MAX);
        } else if (strcmp(cmd, "companions") == 0 && argc == 5) {
                repo_pkg debuginfo[LOOKUP_MAX];
                if (parse_nevr_or_nevra(arg, &n, &err) < 0)
                        goto bad;
                size_t d = repoindex_find_nevra(idx, &n, debuginfo, LOOKUP_MAX);
                for (size_t i = 0; i < d && i < LOOKUP_MAX && count < LOOKUP_MAX; i++)
                        count += repoindex_debug_companions(idx, debuginfo[i], found + count,
                                                            LOOKUP_MAX - count);
        } else {
                repoindex_free(idx);
                return -1;
        }
        if (count > LOOKUP_MAX)
                count = LOOKUP_MAX;
        int rc = print_packages(idx, found, count);
        repoindex_free(idx);
        return rc;
bad:
        fprintf(stderr, "spool-tool: %s\n", err.msg);
        repoindex_free(idx);
        return 1;
}

static int usage(void)
{
        fprintf(stderr, "usage: spool-tool stage|put|claim|release SPOOL ID [ARG]\n"
                        "       spool-tool index REPO RELEASE\n"
                        "       spool-tool nevra|path|companions REPO RELEASE ARG\n"
                        "       spool-tool build-id REPO RELEASE HEX binary|debug\n");
        return 2;
}

int main(int argc, char **argv)
{
        struct error err = { 0 };
        task_id id;
        char dir[4096];
        int r;

        if (argc == 4 && strcmp(argv[1], "index") == 0) {
                int lock = repoindex_lock(argv[2], argv[3], true, &err);
                if (lock < 0 || repoindex_update(argv[2], argv[3], NULL, &err) < 0) {
                        fprintf(stderr, "spool-tool: %s\n", err.msg);
                        if (lock >= 0)
                                close(lock);
                        return 1;
                }
                close(lock);
                return 0;
        }
        if ((argc == 5 || argc == 6) &&
            (strcmp(argv[1], "nevra") == 0 || strcmp(argv[1], "build-id") == 0 ||
             strcmp(argv[1], "path") == 0 || strcmp(argv[1], "companions") == 0)) {
                r = lookup(argc, argv);
                return r < 0 ? usage() : r;
        }
        if (argc < 4 || !task_id_parse(argv[3], strlen(argv[3]), &id))
                return usage();
        const char *cmd = argv[1], *spool = argv[2];
        spool_task_path(spool, id, NULL, dir, sizeof dir);

        if (strcmp(cmd, "stage") == 0 && argc == 5) {
                enum task_stage stage;
                if (task_stage_parse(argv[4], &stage) < 0)
                        return usage();
                r = task_write_stage(dir, stage, &err);
        } else if (strcmp(cmd, "put") == 0 && argc == 5) {
                size_t cap = 1 << 20, len = 0, n;
                char *buf = malloc(cap);
                while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
                        len += n;
                        if (len == cap)
                                buf = realloc(buf, cap *= 2);
                }
                if (!buf)
                        return 1;
                r = spool_write_file(dir, argv[4], buf, len, TASK_FILE_MODE, &err);
                free(buf);
        } else if (strcmp(cmd, "claim") == 0) {
                r = spool_task_claim(spool, id, &err);
        } else if (strcmp(cmd, "release") == 0) {
                r = spool_task_release(spool, id, &err);
        } else {
                return usage();
        }
        if (r < 0) {
                fprintf(stderr, "spool-tool: %s\n", err.msg);
                return 1;
        }
        return 0;
}

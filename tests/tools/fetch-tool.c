/* fetch-tool: retrace-reposync's fetcher, metadata reader and signature
 * checker on the command line, one result per line, for
 * tests/integration/test-fetch.py.
 *
 *   fetch-tool [OPTIONS] fetch URL DEST TYPE HEX SIZE [URL DEST TYPE HEX SIZE]...
 *        fetch_run(); TYPE and HEX "-" for no checksum, SIZE 0 when unknown.
 *        Prints "done I" as jobs finish, then per job
 *        "job I ok tries=N" or "job I fail tries=N code=E: MESSAGE",
 *        "progress calls=N bytes=B ok=K failed=F" and "result R".
 *   fetch-tool [OPTIONS] get URL MAX OUT    fetch_to_memory() into the file OUT
 *   fetch-tool [OPTIONS] repo BASEURL       metadata_fetch_repomd() + metadata_load():
 *        "package NEVRA LOCATION FILENAME TYPE HEX SIZE" lines, "count N"
 *   fetch-tool verify KEYFILE[,KEYFILE]... RPM...
 *        "ok RPM" or "refused code=E: MESSAGE" per package
 *   fetch-tool readable RPM...              verify_readable(), same output
 *   fetch-tool checksum TYPE PATH           file_checksum()
 *
 * OPTIONS: -p PARALLEL -r RETRIES -b BACKOFF_MS -t TIMEOUT_S
 * Errors of a whole command print "error code=E: MESSAGE" and exit 1.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "metadata.h"
#include "verify.h"

static int usage(void)
{
        fprintf(stderr, "usage: fetch-tool [-p N] [-r N] [-b MS] [-t S] "
                        "fetch|get|repo|verify|readable|checksum ARGS...\n");
        return 2;
}

static int fail(const struct error *err)
{
        printf("error code=%d: %s\n", err->code, err->msg);
        return 1;
}

struct progress {
        unsigned calls;
        uint64_t bytes;
        size_t ok, failed;
};

static void on_progress(void *user, uint64_t bytes, size_t ok, size_t failed)
{
        struct progress *p = user;
        p->calls++;
        p->bytes = bytes;
        p->ok = ok;
        p->failed = failed;
}

static void on_done(void *user, struct fetch_job *job)
{
        (void)user;
        /* The contract: a successful job's file is in place already. */
        if (job->result == 0 && access(job->dest, F_OK) != 0)
                printf("done %zu MISSING\n", (size_t)(uintptr_t)job->user);
        else
                printf("done %zu\n", (size_t)(uintptr_t)job->user);
        fflush(stdout);
}

static int cmd_fetch(struct fetcher *f, int argc, char **argv)
{
        if (argc % 5 != 0 || argc == 0)
                return usage();
        size_t n = (size_t)argc / 5;
        struct fetch_job *jobs = calloc(n, sizeof *jobs);
        if (!jobs)
                return 1;
        for (size_t i = 0; i < n; i++) {
                char **a = argv + 5 * i;
                jobs[i].url = a[0];
                jobs[i].dest = a[1];
                jobs[i].checksum_type = strcmp(a[2], "-") ? a[2] : NULL;
                jobs[i].checksum = strcmp(a[3], "-") ? a[3] : NULL;
                jobs[i].size = strtoull(a[4], NULL, 10);
                jobs[i].user = (void *)(uintptr_t)i;
        }
        struct progress p = { 0 };
        int r = fetch_run(f, jobs, n, on_progress, on_done, &p);
        for (size_t i = 0; i < n; i++) {
                if (jobs[i].result == 0)
                        printf("job %zu ok tries=%u\n", i, jobs[i].tries);
                else
                        printf("job %zu fail tries=%u code=%d: %s\n", i, jobs[i].tries,
                               -jobs[i].result, jobs[i].err.msg);
        }
        printf("progress calls=%u bytes=%llu ok=%zu failed=%zu\n", p.calls,
               (unsigned long long)p.bytes, p.ok, p.failed);
        printf("result %d\n", r);
        free(jobs);
        return r == 0 ? 0 : 1;
}

static int cmd_get(struct fetcher *f, int argc, char **argv)
{
        if (argc != 3)
                return usage();
        struct error err = { 0 };
        char *data;
        size_t len;
        if (fetch_to_memory(f, argv[0], strtoull(argv[1], NULL, 10), &data, &len, &err) < 0)
                return fail(&err);
        FILE *out = fopen(argv[2], "wb");
        if (!out || fwrite(data, 1, len, out) != len || fclose(out) != 0) {
                perror(argv[2]);
                free(data);
                return 1;
        }
        printf("ok %zu%s\n", len, data[len] == '\0' ? "" : " UNTERMINATED");
        free(data);
        return 0;
}

static int cmd_repo(struct fetcher *f, int argc, char **argv)
{
        if (argc != 1)
                return usage();
        struct error err = { 0 };
        char *repomd;
        size_t len;
        if (metadata_fetch_repomd(f, argv[0], &repomd, &len, &err) < 0)
                return fail(&err);
        struct remote_repo repo;
        int r = metadata_load(f, argv[0], repomd, len, &repo, &err);
        free(repomd);
        if (r < 0)
                return fail(&err);
        for (size_t i = 0; i < repo.count; i++) {
                const struct remote_package *p = &repo.packages[i];
                printf("package %s %s %s %s %s %llu\n", p->nevra, p->location, p->filename,
                       p->checksum_type, p->checksum, (unsigned long long)p->size);
        }
        printf("count %zu repomd=%zu\n", repo.count, repo.repomd_len);
        remote_repo_free(&repo);
        return 0;
}

static int cmd_verify(int argc, char **argv)
{
        if (argc < 2)
                return usage();
        char *list = strdup(argv[0]);
        const char *keys[16];
        size_t nkeys = 0;
        for (char *save, *k = strtok_r(list, ",", &save); k && nkeys < 16;
             k = strtok_r(NULL, ",", &save))
                keys[nkeys++] = k;
        struct error err = { 0 };
        struct verifier *v;
        if (verifier_new(keys, nkeys, &v, &err) < 0) {
                free(list);
                return fail(&err);
        }
        free(list);
        int refused = 0;
        for (int i = 1; i < argc; i++) {
                if (verify_package(v, argv[i], &err) == 0) {
                        printf("ok %s\n", argv[i]);
                } else {
                        printf("refused code=%d: %s\n", err.code, err.msg);
                        refused++;
                }
        }
        verifier_free(v);
        return refused ? 1 : 0;
}

static int cmd_readable(int argc, char **argv)
{
        int bad = 0;
        for (int i = 0; i < argc; i++) {
                struct error err = { 0 };
                if (verify_readable(argv[i], &err) == 0) {
                        printf("ok %s\n", argv[i]);
                } else {
                        printf("refused code=%d: %s\n", err.code, err.msg);
                        bad++;
                }
        }
        return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
        struct fetch_options opt = { .parallel = 4, .retries = 2, .backoff_ms = 100,
                                     .timeout_s = 30 };
        int c;
        while ((c = getopt(argc, argv, "+p:r:b:t:")) != -1) {
                unsigned v = (unsigned)strtoul(optarg, NULL, 10);
                switch (c) {
                case 'p': opt.parallel = v; break;
                case 'r': opt.retries = v; break;
                case 'b': opt.backoff_ms = v; break;
                case 't': opt.timeout_s = v; break;
                default: return usage();
                }
        }
        if (optind >= argc)
                return usage();
        const char *cmd = argv[optind];
        int n = argc - optind - 1;
        char **args = argv + optind + 1;

        if (strcmp(cmd, "verify") == 0)
                return cmd_verify(n, args);
        if (strcmp(cmd, "readable") == 0)
                return cmd_readable(n, args);
        if (strcmp(cmd, "checksum") == 0) {
                if (n != 2)
                        return usage();
                char hex[129];
                struct error err = { 0 };
                if (file_checksum(args[1], args[0], hex, &err) < 0)
                        return fail(&err);
                printf("%s\n", hex);
                return 0;
        }

        struct error err = { 0 };
        struct fetcher *f;
        if (fetcher_new(&opt, &f, &err) < 0)
                return fail(&err);
        int r;
        if (strcmp(cmd, "fetch") == 0)
                r = cmd_fetch(f, n, args);
        else if (strcmp(cmd, "get") == 0)
                r = cmd_get(f, n, args);
        else if (strcmp(cmd, "repo") == 0)
                r = cmd_repo(f, n, args);
        else
                r = usage();
        fetcher_free(f);
        return r;
}

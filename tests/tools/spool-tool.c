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
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repoindex.h"
#include "spool.h"

static int usage(void)
{
        fprintf(stderr, "usage: spool-tool stage|put|claim|release SPOOL ID [ARG]\n"
                        "       spool-tool index REPO RELEASE\n");
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

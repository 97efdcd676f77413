#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "ini.h"

#define KEY(sec, nm, dir, ty, field, def, lo, hi, un, hl) \
        { sec, nm, dir, ty, offsetof(struct retrace_conf, field), def, lo, hi, un, hl }

const struct conf_key conf_keys[] = {
        KEY("paths", "SpoolDir", "RetraceSpoolDir", CONF_PATH, spool_dir,
            "/var/spool/retrace-server", 0, 0, NULL,
            "Task directories, the queue and the results. Must be writable by "
            "httpd's user and the worker."),
        KEY("paths", "RepoDir", "RetraceRepoDir", CONF_PATH, repo_dir,
            "/var/lib/retrace-server/repo", 0, 0, NULL,
            "The local repository: one directory per release id, written by "
            "retrace-reposync."),
        KEY("paths", "CacheDir", NULL, CONF_PATH, cache_dir,
            "/var/cache/retrace-server", 0, 0, NULL,
            "The worker's cache of extracted packages."),
        KEY("paths", "RepoConfDir", NULL, CONF_PATH, repo_conf_dir,
            "/etc/retrace-server/repos.d", 0, 0, NULL,
            "Directory of dnf-style .repo files that retrace-reposync mirrors."),

        KEY("limits", "MaxPackedSize", "RetraceMaxPackedSize", CONF_UINT,
            max_packed_size, "50", 1, 1024 * 1024, "MiB",
            "Largest upload accepted (the compressed archive)."),
        KEY("limits", "MaxUnpackedSize", "RetraceMaxUnpackedSize", CONF_UINT,
            max_unpacked_size, "1024", 1, 16 * 1024 * 1024, "MiB",
            "Largest unpacked archive accepted; counted while unpacking."),
        KEY("limits", "MinStorageLeft", "RetraceMinStorageLeft", CONF_UINT,
            min_storage_left, "1024", 0, UINT64_MAX / (1024 * 1024), "MiB",
            "An upload is refused (507) when it would leave less free space "
            "than this in the spool."),
        KEY("limits", "MaxParallelTasks", "RetraceMaxParallelTasks", CONF_UINT,
            max_parallel_tasks, "5", 1, 100000, NULL,
            "Queued plus running tasks at which /create answers 503."),

        KEY("http", "PasswordRotation", "RetracePasswordRotation", CONF_BOOL,
            password_rotation, "on", 0, 1, NULL,
            "On: every request to a task consumes its password and returns a "
            "new one in X-Task-Password. Off: the password from /create stays "
            "valid (what ABRT's retrace client expects)."),
        KEY("http", "RequireHTTPS", "RetraceRequireHTTPS", CONF_BOOL,
            require_https, "on", 0, 1, NULL,
            "Refuse task creation and task access over plain HTTP (403)."),
        KEY("http", "AllowDelete", "RetraceAllowDelete", CONF_BOOL,
            allow_delete, "off", 0, 1, NULL,
            "Allow clients to delete their task with /<id>/delete."),
        KEY("http", "AllowDebugTasks", "RetraceAllowDebugTasks", CONF_BOOL,
            allow_debug_tasks, "off", 0, 1, NULL,
            "Accept X-Task-Type 1 (keep the assembled environment)."),
        KEY("http", "Metrics", "RetraceMetrics", CONF_BOOL,
            metrics, "off", 0, 1, NULL,
            "Serve Prometheus metrics at /metrics."),

        KEY("worker", "Jobs", NULL, CONF_UINT, worker_jobs, "0", 0, 1024, NULL,
            "Tasks the worker runs at once; 0 means one per online CPU."),
        KEY("worker", "GdbTimeout", NULL, CONF_UINT, gdb_timeout, "300",
            1, 86400, "s", "Time limit for gdb on one task."),
        KEY("worker", "GdbOutputLimit", NULL, CONF_UINT, gdb_output_limit,
            "64", 1, 4096, "MiB", "Largest backtrace kept from gdb."),
        KEY("worker", "DeleteTaskAfter", NULL, CONF_UINT, delete_task_after,
            "120", 1, 876000, "h",
            "Hours after which a successful task and its results are deleted."),
        KEY("worker", "DeleteFailedTaskAfter", NULL, CONF_UINT,
            delete_failed_task_after, "24", 1, 876000, "h",
            "Hours after which a failed task is deleted."),
        KEY("worker", "CacheMaxSize", NULL, CONF_UINT, cache_max_size,
            "20480", 1, UINT64_MAX / (1024 * 1024), "MiB",
            "Size of the extracted-package cache before the least recently "
            "used packages are evicted."),
        KEY("worker", "ScanInterval", NULL, CONF_UINT, scan_interval, "30",
            1, 3600, "s",
            "Seconds between full spool scans (inotify does not see a spool "
            "shared over the network)."),

        KEY("reposync", "Parallel", NULL, CONF_UINT, reposync_parallel, "4", 1, 64, NULL,
            "Packages retrace-reposync downloads at once."),
        KEY("reposync", "Retries", NULL, CONF_UINT, reposync_retries, "3", 0, 100, NULL,
            "Further tries of a download that failed, with doubling waits."),
        KEY("reposync", "Timeout", NULL, CONF_UINT, reposync_timeout, "60", 1, 3600, "s",
            "A download that makes no progress for this long fails its try."),
};

const size_t conf_keys_count = sizeof conf_keys / sizeof conf_keys[0];

static void *field(struct retrace_conf *conf, const struct conf_key *key)
{
        return (char *)conf + key->offset;
}

static const void *field_const(const struct retrace_conf *conf,
                               const struct conf_key *key)
{
        return (const char *)conf + key->offset;
}

int conf_set(struct retrace_conf *conf, const struct conf_key *key,
             const char *value, const char *where, struct error *err)
{
        switch (key->type) {
        case CONF_PATH: {
                size_t len = strlen(value);
                if (value[0] != '/')
                        return error_set(err, EINVAL,
                                         "%s: %s must be an absolute path, not '%s'",
                                         where, key->name, value);
                if (len >= PATH_MAX)
                        return error_set(err, ENAMETOOLONG,
                                         "%s: %s is longer than %d bytes",
                                         where, key->name, PATH_MAX - 1);
                char *dst = field(conf, key);
                memcpy(dst, value, len + 1);
                /* "/spool/" and "/spool" name one directory; keep one form. */
                while (len > 1 && dst[len - 1] == '/')
                        dst[--len] = '\0';
                return 0;
        }
        case CONF_UINT: {
                char *end;
                if (value[0] < '0' || value[0] > '9')
                        goto bad_number;
                errno = 0;
                unsigned long long v = strtoull(value, &end, 10);
                if (errno || *end)
                        goto bad_number;
                if (v < key->min || v > key->max)
                        return error_set(err, ERANGE,
                                         "%s: %s = %s is out of range [%" PRIu64
                                         ", %" PRIu64 "]",
                                         where, key->name, value, key->min, key->max);
                *(uint64_t *)field(conf, key) = v;
                return 0;
        bad_number:
                return error_set(err, EINVAL,
                                 "%s: %s must be a whole number, not '%s'",
                                 where, key->name, value);
        }
        case CONF_BOOL:
                if (ini_parse_bool(value, field(conf, key)) < 0)
                        return error_set(err, EINVAL,
                                         "%s: %s must be on or off, not '%s'",
                                         where, key->name, value);
                return 0;
        }
        return error_set(err, EINVAL, "%s: %s has an unknown type", where, key->name);
}

void conf_init(struct retrace_conf *conf)
{
        memset(conf, 0, sizeof *conf);
        for (size_t i = 0; i < conf_keys_count; i++) {
                /* The defaults are constants checked by the unit tests. */
                (void)conf_set(conf, &conf_keys[i], conf_keys[i].default_value,
                               "default", NULL);
        }
}

const struct conf_key *conf_key_find(const char *section, const char *name)
{
        for (size_t i = 0; i < conf_keys_count; i++)
                if (strcasecmp(conf_keys[i].section, section) == 0 &&
                    strcasecmp(conf_keys[i].name, name) == 0)
                        return &conf_keys[i];
        return NULL;
}

const struct conf_key *conf_key_by_directive(const char *directive)
{
        for (size_t i = 0; i < conf_keys_count; i++)
                if (conf_keys[i].directive &&
                    strcasecmp(conf_keys[i].directive, directive) == 0)
                        return &conf_keys[i];
        return NULL;
}

void conf_copy_key(struct retrace_conf *dst, const struct retrace_conf *src,
                   const struct conf_key *key)
{
        size_t size = 0;
        switch (key->type) {
        case CONF_PATH: size = PATH_MAX; break;
        case CONF_UINT: size = sizeof(uint64_t); break;
        case CONF_BOOL: size = sizeof(bool); break;
        }
        memcpy(field(dst, key), field_const(src, key), size);
}

void conf_format_value(const struct retrace_conf *conf,
                       const struct conf_key *key, char *buf, size_t len)
{
        const void *p = field_const(conf, key);
        switch (key->type) {
        case CONF_PATH:
                snprintf(buf, len, "%s", (const char *)p);
                break;
        case CONF_UINT:
                snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p);
                break;
        case CONF_BOOL:
                snprintf(buf, len, "%s", *(const bool *)p ? "on" : "off");
                break;
        }
}

struct load_ctx {
        const char *path;
        struct retrace_conf *conf;
};

static int on_ini_entry(void *user, const struct ini_entry *e, struct error *err)
{
        struct load_ctx *ctx = user;
        char where[PATH_MAX + 32];

        if (!e->key)    /* a [section] line: its keys are checked one by one */
                return 0;
        snprintf(where, sizeof where, "%s:%u", ctx->path, e->line);
        if (e->continuation)
                return error_set(err, EINVAL, "%s: %s takes one value, not a second line",
                                 where, e->key);
        const struct conf_key *key = conf_key_find(e->section, e->key);
        if (!key && e->section[0] == '\0')
                return error_set(err, EINVAL, "%s: '%s' is outside any [section]",
                                 where, e->key);
        if (!key)
                return error_set(err, EINVAL, "%s: unknown key '%s' in section [%s]",
                                 where, e->key, e->section);
        return conf_set(ctx->conf, key, e->value, where, err);
}

int conf_load(struct retrace_conf *conf, const char *path, struct error *err)
{
        struct retrace_conf tmp = *conf;
        struct load_ctx ctx = { .path = path, .conf = &tmp };

        int r = ini_load(path, "configuration file", on_ini_entry, &ctx, err);
        if (r < 0)
                return r;
        *conf = tmp;
        return 0;
}

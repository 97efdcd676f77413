/* conf.h: retrace-server.conf, the one configuration file of the Retrace
 * Server, read by mod_retrace, retrace-worker and retrace-reposync.
 *
 * Every setting has one home: a row of conf_keys[] (conf.c) gives its INI
 * section and key, the httpd directive that may override it, its type,
 * default and bounds, and a line of help. Parsing, the module's directives
 * and their merging, and the documentation all come from that table.
 *
 * The file is INI (parsed by inih):
 *
 *     [paths]
 *     SpoolDir = /var/spool/retrace-server
 *     [limits]
 *     MaxPackedSize = 50        ; MiB
 *
 * Unknown sections and keys are errors that name the file and line: a typo
 * must not silently fall back to a default.
 */
#ifndef RETRACE_CONF_H
#define RETRACE_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum conf_type {
        CONF_PATH,      /* absolute path, stored in a char[PATH_MAX] */
        CONF_UINT,      /* unsigned decimal, stored in a uint64_t */
        CONF_BOOL,      /* yes/no, on/off, true/false, 1/0, stored in a bool */
};

struct retrace_conf {
        /* [paths] */
        char spool_dir[PATH_MAX];
        char repo_dir[PATH_MAX];
        char cache_dir[PATH_MAX];
        char repo_conf_dir[PATH_MAX];
        /* [limits] */
        uint64_t max_packed_size;       /* MiB */
        uint64_t max_unpacked_size;     /* MiB */
        uint64_t min_storage_left;      /* MiB */
        uint64_t max_parallel_tasks;
        /* [http] */
        bool password_rotation;
        bool require_https;
        bool allow_delete;
        bool allow_debug_tasks;
        bool metrics;
        /* [worker] */
        uint64_t worker_jobs;           /* 0: the number of online CPUs */
        uint64_t gdb_timeout;           /* seconds */
        uint64_t gdb_output_limit;      /* MiB */
        uint64_t delete_task_after;     /* hours, finished successfully */
        uint64_t delete_failed_task_after; /* hours */
        uint64_t cache_max_size;        /* MiB */
        uint64_t scan_interval;         /* seconds between spool scans */
        /* [reposync] */
        uint64_t reposync_parallel;     /* downloads at once */
        uint64_t reposync_retries;      /* further tries of a failed download */
        uint64_t reposync_timeout;      /* seconds without progress */
};

struct conf_key {
        const char *section;
        const char *name;
        const char *directive;  /* httpd directive overriding it, or NULL */
        enum conf_type type;
        size_t offset;          /* in struct retrace_conf */
        const char *default_value; /* as it would be written in the file */
        uint64_t min, max;      /* CONF_UINT bounds, inclusive */
        const char *unit;       /* for help and docs: "MiB", "s", NULL */
        const char *help;
};

extern const struct conf_key conf_keys[];
extern const size_t conf_keys_count;

/* Where the programs look when not told otherwise. */
#define RETRACE_CONF_DEFAULT_PATH SYSCONFDIR "/retrace-server.conf"

/* Every key at its default. */
void conf_init(struct retrace_conf *conf);

/* Reads path over the values already in conf (call conf_init() first).
 * Errors name the file and line. */
int conf_load(struct retrace_conf *conf, const char *path, struct error *err);

/* Parses one value the way the file does; `where` prefixes the error
 * ("retrace.conf:12", "RetraceMaxPackedSize"). */
int conf_set(struct retrace_conf *conf, const struct conf_key *key,
             const char *value, const char *where, struct error *err);

const struct conf_key *conf_key_find(const char *section, const char *name);
const struct conf_key *conf_key_by_directive(const char *directive);

/* Copies one setting from src to dst. */
void conf_copy_key(struct retrace_conf *dst, const struct retrace_conf *src,
                   const struct conf_key *key);

/* The value of one setting as text, as the file would hold it. */
void conf_format_value(const struct retrace_conf *conf,
                       const struct conf_key *key, char *buf, size_t len);

#endif

/* mod_retrace: the HTTP interface of the Retrace Server.
 *
 * Serves the contract of shared/spec/http-api.md: task creation (the
 * upload is streamed through libarchive into the spool, never held in
 * memory), task status and results with per-request password rotation,
 * /settings, /checkpackage, /metrics and an index page. The worker reads
 * what this module writes through the layout in common/spool.h.
 *
 * Configuration: every setting lives in retrace-server.conf (common/conf.c);
 * RetraceConfigFile loads it and the Retrace* directives override single
 * settings. Precedence for a virtual host: its own directive, its own
 * RetraceConfigFile, then whatever the main server resolved to.
 *
 *     LoadModule retrace_module modules/mod_retrace.so
 *     RetraceConfigFile /etc/retrace-server.conf
 *     <Location /retrace>
 *         SetHandler retrace
 *     </Location>
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "unixd.h"
#include "apr_strings.h"
#include "util_filter.h"

#include "conf.h"
#include "decompress.h"
#include "nevra.h"
#include "password.h"
#include "release.h"
#include "repoindex.h"
#include "spool.h"

/* Unique tags for error-log lines, like httpd's APLOGNO. */
#define RTLOGNO(n) "RT" #n ": "

#define HANDLER_NAME "retrace"
#define TEXT_PLAIN "text/plain; charset=utf-8"
#define MIB ((apr_off_t)1024 * 1024)
#define RETRY_AFTER_SECONDS "60"
/* Archives with more members than this are refused without reading on. */
#define MAX_MEMBERS 64

extern module AP_MODULE_DECLARE_DATA retrace_module
        __attribute__((visibility("default")));

APLOG_USE_MODULE(retrace);

/* ------------------------------------------------------------------------
 * Configuration
 */

typedef struct {
        struct retrace_conf conf;       /* effective values once resolved */
        uint64_t set;                   /* bit i: conf_keys[i] set by a directive here */
        const char *conf_file;          /* RetraceConfigFile here, or NULL */
        const struct retrace_conf *file; /* its contents */
        int resolved;
} server_conf;

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
        (void)s;
        server_conf *sc = apr_pcalloc(p, sizeof *sc);
        conf_init(&sc->conf);
        return sc;
}

/* The value a server ends up with for one key, before merging. */
static const struct retrace_conf *own_source(const server_conf *sc, size_t key)
{
        if (sc->resolved || (sc->set & (UINT64_C(1) << key)))
                return &sc->conf;
        if (sc->file)
                return sc->file;
        return NULL;
}

static void *merge_server_conf(apr_pool_t *p, void *base_, void *add_)
{
        const server_conf *base = base_, *add = add_;
        server_conf *sc = apr_pcalloc(p, sizeof *sc);
        struct retrace_conf defaults;
        conf_init(&defaults);

        *sc = *add;
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct retrace_conf *from = own_source(add, i);
                if (!from)
                        from = own_source(base, i);
                conf_copy_key(&sc->conf, from ? from : &defaults, &conf_keys[i]);
        }
        if (!sc->conf_file) {
                sc->conf_file = base->conf_file;
                sc->file = base->file;
        }
        sc->resolved = 1;
        return sc;
}

static const char *set_conf_file(cmd_parms *cmd, void *dummy, const char *arg)
{
        (void)dummy;
        server_conf *sc = ap_get_module_config(cmd->server->module_config, &retrace_module);
        const char *path = ap_server_root_relative(cmd->pool, arg);
        struct retrace_conf *file = apr_palloc(cmd->pool, sizeof *file);
        struct error err;

        if (!path)
                return apr_psprintf(cmd->pool, "RetraceConfigFile: bad path '%s'", arg);
        conf_init(file);
        if (conf_load(file, path, &err) < 0)
                return apr_psprintf(cmd->pool, "RetraceConfigFile: %s", err.msg);
        sc->conf_file = path;
        sc->file = file;
        return NULL;
}

static const char *set_conf_key(cmd_parms *cmd, void *dummy, const char *arg)
{
        (void)dummy;
        server_conf *sc = ap_get_module_config(cmd->server->module_config, &retrace_module);
        const struct conf_key *key = cmd->info;
        struct error err;

        if (conf_set(&sc->conf, key, arg, cmd->directive->directive, &err) < 0)
                return apr_pstrdup(cmd->pool, err.msg);
        sc->set |= UINT64_C(1) << (size_t)(key - conf_keys);
        return NULL;
}

/* The directives are made from conf_keys[] when the module is loaded, so
 * that a setting is declared in exactly one place. httpd reads
 * module->cmds right after dlopen(), before register_hooks, hence a
 * constructor. One slot for RetraceConfigFile, one for the terminator. */
#define MAX_COMMANDS 48
static command_rec commands[MAX_COMMANDS];

static void __attribute__((constructor)) build_commands(void)
{
        size_t c = 0;
        commands[c++] = (command_rec)AP_INIT_TAKE1("RetraceConfigFile", set_conf_file, NULL,
                RSRC_CONF, "retrace-server.conf to read the settings from");
        for (size_t i = 0; i < conf_keys_count && c < MAX_COMMANDS - 1; i++)
                if (conf_keys[i].directive)
                        commands[c++] = (command_rec)AP_INIT_TAKE1(conf_keys[i].directive,
                                set_conf_key, (void *)&conf_keys[i], RSRC_CONF, conf_keys[i].help);
        /* commands[c] stays zeroed: the terminator. post_config checks
         * that nothing was left out. */
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *main_server)
{
        (void)plog;
        (void)ptemp;
        if (conf_keys_count > 64 || conf_keys_count > MAX_COMMANDS - 2) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, main_server, RTLOGNO(00001)
                             "mod_retrace was built for at most %d settings, the table has %zu",
                             MAX_COMMANDS - 2, conf_keys_count);
                return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* The main server was never merged: resolve it like a vhost. */
        server_conf *main_sc = ap_get_module_config(main_server->module_config, &retrace_module);
        if (!main_sc->resolved) {
                server_conf *resolved = merge_server_conf(pconf, create_server_conf(pconf, main_server),
                                                          main_sc);
                *main_sc = *resolved;
        }

        /* httpd's parent runs as root here; what it creates in the spool
         * must belong to the user its children run as. */
        uid_t owner = geteuid() == 0 ? ap_unixd_config.user_id : (uid_t)-1;
        gid_t group = geteuid() == 0 ? ap_unixd_config.group_id : (gid_t)-1;
        for (server_rec *s = main_server; s; s = s->next) {
                server_conf *sc = ap_get_module_config(s->module_config, &retrace_module);
                struct error err;
                if (spool_init(sc->conf.spool_dir, owner, group, &err) < 0) {
                        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, RTLOGNO(00002)
                                     "cannot use the spool: %s", err.msg);
                        return HTTP_INTERNAL_SERVER_ERROR;
                }
        }
        return OK;
}

/* ------------------------------------------------------------------------
 * Responses
 */

/* Text from a client (a member name, a header) shortened and escaped
 * for a response body or the error log. */
static const char *printable(apr_pool_t *p, const char *s, size_t max)
{
        return error_quote_n(s, SIZE_MAX, max, apr_palloc(p, QUOTE_SIZE(max)));
}

/* A short text body with an explicit length. The handler then returns OK,
 * so httpd sends this body rather than its own error page. */
static int send_text(request_rec *r, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int send_text(request_rec *r, int status, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        const char *body = apr_pvsprintf(r->pool, fmt, ap);
        va_end(ap);
        size_t len = strlen(body);

        r->status = status;
        ap_set_content_type(r, TEXT_PLAIN);
        ap_set_content_length(r, (apr_off_t)len);
        if (!r->header_only && len > 0)
                ap_rwrite(body, (int)len, r);
        return OK;
}

/* An answer sent before the body was read: closing the connection
 * afterwards spares httpd from reading (and discarding) the whole body to
 * keep the connection alive. */
static int refuse_early(request_rec *r, int status, const char *msg)
{
        r->connection->keepalive = AP_CONN_CLOSE;
        return send_text(r, status, "%s\n", msg);
}

static int method_not_allowed(request_rec *r, const char *allow)
{
        apr_table_setn(r->headers_out, "Allow", allow);
        return refuse_early(r, HTTP_METHOD_NOT_ALLOWED,
                            apr_psprintf(r->pool, "Method %s is not allowed here; use %s.",
                                         r->method, allow));
}

static int is_get(request_rec *r)
{
        return r->method_number == M_GET; /* HEAD is M_GET with header_only */
}

static int serve_file(request_rec *r, const char *path, const char *type)
{
        apr_file_t *f;
        apr_finfo_t fi;
        apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY |
                                        APR_FOPEN_SENDFILE_ENABLED, 0, r->pool);
        if (rv != APR_SUCCESS)
                return rv;
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
        if (rv != APR_SUCCESS)
                return rv;

        ap_set_content_type(r, type);
        ap_set_content_length(r, fi.size);
        apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
        if (!r->header_only && fi.size > 0)
                apr_brigade_insert_file(bb, f, 0, fi.size, r->pool);
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(r->connection->bucket_alloc));
        rv = ap_pass_brigade(r->output_filters, bb);
        if (rv != APR_SUCCESS)
                ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, RTLOGNO(00003)
                              "sending '%s' to the client failed", path);
        return APR_SUCCESS;
}

static int is_https(request_rec *r)
{
        /* "https" when mod_ssl serves the connection, or when ServerName
         * says https:// behind a TLS-terminating proxy. */
        return strcmp(ap_http_scheme(r), "https") == 0;
}

/* ------------------------------------------------------------------------
 * /settings, the index page, /metrics
 */

struct load {
        unsigned queued, running;
        struct release_list releases;
};

/* What /settings, the index page and /metrics report. A spool or
 * repository that cannot be read is logged and reported as empty. */
static void load_read(request_rec *r, const server_conf *sc, struct load *load)
{
        struct error err;
        memset(load, 0, sizeof *load);
        if (spool_count_active(sc->conf.spool_dir, &load->queued, &load->running, &err) < 0)
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00004)
                              "cannot count tasks: %s", err.msg);
        if (repo_list_releases(sc->conf.repo_dir, &load->releases, &err) < 0)
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00005)
                              "cannot list supported releases: %s", err.msg);
}

static const char *const supported_formats[] = {
        "application/x-xz-compressed-tar",
        "application/x-gzip",
        "application/x-tar",
        "application/zstd",
};
#define FORMAT_COUNT (sizeof supported_formats / sizeof supported_formats[0])
/* ABRT's client keeps at most this many of each list. */
#define SETTINGS_MAX_RELEASES 32

static int handle_settings(request_rec *r, const server_conf *sc)
{
        if (!is_get(r))
                return method_not_allowed(r, "GET, HEAD");
        struct load load;
        load_read(r, sc, &load);

        apr_array_header_t *rel = apr_array_make(r->pool, 8, sizeof(const char *));
        for (size_t i = 0; i < load.releases.count && i < SETTINGS_MAX_RELEASES; i++)
                APR_ARRAY_PUSH(rel, const char *) = apr_pstrdup(r->pool, load.releases.ids[i]);
        release_list_free(&load.releases);
        apr_array_header_t *fmt = apr_array_make(r->pool, FORMAT_COUNT, sizeof(const char *));
        for (size_t i = 0; i < FORMAT_COUNT; i++)
                APR_ARRAY_PUSH(fmt, const char *) = supported_formats[i];

        return send_text(r, HTTP_OK,
                         "running_tasks %u\n"
                         "max_running_tasks %" APR_UINT64_T_FMT "\n"
                         "max_packed_size %" APR_UINT64_T_FMT "\n"
                         "max_unpacked_size %" APR_UINT64_T_FMT "\n"
                         "supported_formats %s\n"
                         "supported_releases %s\n",
                         load.queued + load.running,
                         (apr_uint64_t)sc->conf.max_parallel_tasks,
                         (apr_uint64_t)sc->conf.max_packed_size,
                         (apr_uint64_t)sc->conf.max_unpacked_size,
                         apr_array_pstrcat(r->pool, fmt, ' '),
                         apr_array_pstrcat(r->pool, rel, ' '));
}

static int handle_index(request_rec *r, const server_conf *sc)
{
        if (!is_get(r))
                return method_not_allowed(r, "GET, HEAD");
        struct load load;
        load_read(r, sc, &load);

        const char *base = ap_escape_html(r->pool, r->uri);
        size_t blen = strlen(base);
        const char *slash = (blen && base[blen - 1] == '/') ? "" : "/";
        apr_array_header_t *rows = apr_array_make(r->pool, 8, sizeof(const char *));
        for (size_t i = 0; i < load.releases.count; i++)
                APR_ARRAY_PUSH(rows, const char *) = apr_psprintf(r->pool, "<li><code>%s</code></li>",
                        ap_escape_html(r->pool, load.releases.ids[i]));
        if (load.releases.count == 0)
                APR_ARRAY_PUSH(rows, const char *) = "<li>none yet: the local repository is empty</li>";
        release_list_free(&load.releases);

        const char *page = apr_psprintf(r->pool,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>Retrace Server</title>\n</head>\n<body>\n"
                "<h1>Retrace Server</h1>\n"
                "<p>This server turns a coredump from a supported release into a full symbolic "
                "backtrace, using the exact packages and debuginfo of the crashed program. "
                "ABRT's <code>retrace-client</code> talks to it; the interface is plain HTTP "
                "(<a href=\"%s%ssettings\">settings</a>).</p>\n"
                "<h2>Load</h2>\n<p>%u of %" APR_UINT64_T_FMT " task slots in use "
                "(%u queued, %u running).</p>\n"
                "<h2>Limits</h2>\n<ul>\n<li>Upload (compressed): %" APR_UINT64_T_FMT " MiB</li>\n"
                "<li>Unpacked: %" APR_UINT64_T_FMT " MiB</li>\n"
                "<li>Accepted formats: <code>application/x-xz-compressed-tar</code>, "
                "<code>application/x-gzip</code>, <code>application/x-tar</code>, "
                "<code>application/zstd</code></li>\n</ul>\n"
                "<h2>Supported releases</h2>\n<ul>\n%s\n</ul>\n"
                "<h2>Your data</h2>\n<p>A coredump can hold passwords, keys and personal data "
                "from the crashed program's memory. Only the holder of a task's password can read "
                "its results%s. The coredump is deleted when the backtrace has been generated; "
                "a task and its results are deleted %" APR_UINT64_T_FMT " hours after it finished "
                "(%" APR_UINT64_T_FMT " hours for a failed task)%s.</p>\n"
                "</body>\n</html>\n",
                base, slash,
                load.queued + load.running, (apr_uint64_t)sc->conf.max_parallel_tasks,
                load.queued, load.running,
                (apr_uint64_t)sc->conf.max_packed_size, (apr_uint64_t)sc->conf.max_unpacked_size,
                apr_array_pstrcat(r->pool, rows, '\n'),
                sc->conf.password_rotation ? "; each password works once and every answer "
                                             "carries the next one" : "",
                (apr_uint64_t)sc->conf.delete_task_after,
                (apr_uint64_t)sc->conf.delete_failed_task_after,
                sc->conf.allow_delete ? ", or earlier when you delete it" : "");
        size_t len = strlen(page);
        ap_set_content_type(r, "text/html; charset=utf-8");
        ap_set_content_length(r, (apr_off_t)len);
        if (!r->header_only)
                ap_rwrite(page, (int)len, r);
        return OK;
}

static unsigned count_finished(request_rec *r, const server_conf *sc, unsigned *failed)
{
        unsigned ok = 0;
        *failed = 0;
        apr_dir_t *dir;
        apr_finfo_t fi;
        const char *tasks = apr_pstrcat(r->pool, sc->conf.spool_dir, "/" SPOOL_TASKS_DIR, NULL);
        if (apr_dir_open(&dir, tasks, r->pool) != APR_SUCCESS)
                return 0;
        while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
                task_id id;
                enum task_stage stage;
                if (!task_id_parse(fi.name, strlen(fi.name), &id))
                        continue;
                if (task_read_stage(apr_pstrcat(r->pool, tasks, "/", fi.name, NULL), &stage, NULL) < 0)
                        continue;
                ok += stage == TASK_STAGE_FINISHED_SUCCESS;
                *failed += stage == TASK_STAGE_FINISHED_FAILURE;
        }
        apr_dir_close(dir);
        return ok;
}

static int handle_metrics(request_rec *r, const server_conf *sc)
{
        if (!sc->conf.metrics)
                return send_text(r, HTTP_NOT_FOUND,
                                 "Metrics are not enabled on this server (RetraceMetrics Off).\n");
        if (!is_get(r))
                return method_not_allowed(r, "GET, HEAD");
        struct load load;
        load_read(r, sc, &load);
        size_t releases = load.releases.count;
        release_list_free(&load.releases);
        unsigned failed, ok = count_finished(r, sc, &failed);
        struct statvfs vfs;
        apr_uint64_t free_bytes = 0;
        if (statvfs(sc->conf.spool_dir, &vfs) == 0)
                free_bytes = (apr_uint64_t)vfs.f_bavail * vfs.f_frsize;

        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        send_text(r, HTTP_OK,
                  "# HELP retrace_tasks_queued Tasks waiting for a worker.\n"
                  "# TYPE retrace_tasks_queued gauge\n"
                  "retrace_tasks_queued %u\n"
                  "# HELP retrace_tasks_running Tasks a worker is retracing.\n"
                  "# TYPE retrace_tasks_running gauge\n"
                  "retrace_tasks_running %u\n"
                  "# HELP retrace_tasks_max Queued plus running tasks at which new tasks are refused.\n"
                  "# TYPE retrace_tasks_max gauge\n"
                  "retrace_tasks_max %" APR_UINT64_T_FMT "\n"
                  "# HELP retrace_tasks_finished Finished tasks kept in the spool, by result.\n"
                  "# TYPE retrace_tasks_finished gauge\n"
                  "retrace_tasks_finished{result=\"success\"} %u\n"
                  "retrace_tasks_finished{result=\"failure\"} %u\n"
                  "# HELP retrace_supported_releases Releases the local repository can retrace.\n"
                  "# TYPE retrace_supported_releases gauge\n"
                  "retrace_supported_releases %zu\n"
                  "# HELP retrace_spool_free_bytes Free space in the spool's file system.\n"
                  "# TYPE retrace_spool_free_bytes gauge\n"
                  "retrace_spool_free_bytes %" APR_UINT64_T_FMT "\n",
                  load.queued, load.running, (apr_uint64_t)sc->conf.max_parallel_tasks,
                  ok, failed, releases, free_bytes);
        ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
        return OK;
}

/* ------------------------------------------------------------------------
 * /checkpackage
 */

static int handle_checkpackage(request_rec *r, const server_conf *sc)
{
        if (!is_get(r))
                return method_not_allowed(r, "GET, HEAD");
        const char *nvr = apr_table_get(r->headers_in, "X-Package-NVR");
        const char *arch = apr_table_get(r->headers_in, "X-Package-Arch");
        const char *os_release = apr_table_get(r->headers_in, "X-OS-Release");
        struct nevra n;
        struct error err;

        if (!nvr)
                return send_text(r, HTTP_BAD_REQUEST,
                                 "The X-Package-NVR header is missing (name-version-release of the package).\n");
        if (nevra_parse_nevr(nvr, &n, &err) < 0)
                return send_text(r, HTTP_BAD_REQUEST, "X-Package-NVR: %s\n",
                                 printable(r->pool, err.msg, 300));
        if (!arch)
                return send_text(r, HTTP_BAD_REQUEST,
                                 "The X-Package-Arch header is missing (x86_64, noarch, ...).\n");
        if (!arch_known(arch))
                return send_text(r, HTTP_BAD_REQUEST, "X-Package-Arch: unknown architecture '%s'.\n",
                                 printable(r->pool, arch, 64));
        n.arch = arch;

        /* ABRT's client sends a release id; accept a release line too. */
        const char *release_id = NULL;
        if (os_release) {
                if (release_id_valid(os_release)) {
                        release_id = os_release;
                } else {
                        struct release rel;
                        char id[RELEASE_ID_MAX];
                        if (release_parse(os_release, &rel, &err) < 0 ||
                            release_id_make(&rel, arch, id, sizeof id, &err) < 0)
                                return send_text(r, HTTP_BAD_REQUEST, "X-OS-Release: %s\n",
                                                 printable(r->pool, err.msg, 300));
                        release_id = apr_pstrdup(r->pool, id);
                }
        }

        struct release_list list;
        if (repo_list_releases(sc->conf.repo_dir, &list, &err) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00006)
                              "cannot list supported releases: %s", err.msg);
                return send_text(r, HTTP_INTERNAL_SERVER_ERROR,
                                 "The server cannot read its repository; try again later.\n");
        }
        int found = 0;
        for (size_t i = 0; i < list.count && !found; i++) {
                if (release_id && strcmp(release_id, list.ids[i]) != 0)
                        continue;
                struct repoindex *idx;
                if (repoindex_open(sc->conf.repo_dir, list.ids[i], &idx, &err) < 0) {
                        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00007)
                                      "cannot open the index: %s", err.msg);
                        continue;
                }
                found = repoindex_has_package(idx, &n);
                repoindex_free(idx);
        }
        int supported = !release_id || release_list_contains(&list, release_id);
        release_list_free(&list);

        if (found)
                return send_text(r, HTTP_MOVED_TEMPORARILY, "%s", "");
        if (!supported)
                return send_text(r, HTTP_NOT_FOUND, "Release '%s' is not supported by this server.\n",
                                 printable(r->pool, release_id, 64));
        return send_text(r, HTTP_NOT_FOUND, "Package '%s.%s' is not in this server's repository.\n",
                         printable(r->pool, nvr, 128), printable(r->pool, arch, 64));
}

/* ------------------------------------------------------------------------
 * /create
 */

struct member_rule {
        const char *name;
        apr_off_t cap;          /* bytes; 0: the unpacked limit */
};

static const struct member_rule member_rules[] = {
        { "coredump", 0 },
        { "coredump.xz", 0 },
        { "coredump.zst", 0 },
        { "executable", 512 },
        { "package", 128 },
        { "os_release", 128 },
        { "release", 128 },
        { "architecture", 32 },
        { "packages", 1024 * 1024 },
        { "rootdir", 256 },
        { "os_release_in_rootdir", 128 },
};
#define MEMBER_RULE_COUNT (sizeof member_rules / sizeof member_rules[0])

/* The request body, decompressed a bucket at a time and fed to libarchive
 * as a plain tar: memory stays bounded whatever the upload's size. The
 * decompression is ours (common/decompress.c), not libarchive's, so that
 * the declared compression is the only one tried, every stream is read to
 * its end and its checks verified (libarchive's gzip reader skips the
 * CRC, and it stops reading at the tar's end-of-archive blocks), and a
 * stream that asks for a huge window is refused. */
enum body_failure {
        BODY_OK,
        BODY_CLIENT,            /* reading from the client failed: status */
        BODY_BAD_DATA,          /* not the declared compression, or damaged */
        BODY_TOO_BIG,           /* decompresses past the unpacked limit */
        BODY_NEEDS_MEMORY,      /* needs more memory than we allow */
};

struct body_reader {
        request_rec *r;
        apr_bucket_brigade *bb;
        apr_bucket *current;    /* the bucket `in` points into */
        const char *in;         /* what the decoder has not taken of it */
        apr_size_t in_len;
        int eos;                /* the client's body has been read whole */
        int done;               /* the compressed stream ended cleanly */
        struct decoder *decoder; /* NULL for an uncompressed body */
        int passthrough;        /* uncompressed: buckets go to libarchive as they are */
        char *out;
        size_t out_cap;
        apr_off_t decoded;      /* bytes of tar so far */
        apr_off_t limit;
        enum body_failure failure;
        apr_status_t status;
        struct error err;
};

/* Decompression memory: xz -9 needs 65 MiB, zstd's default limit is a
 * 128 MiB window. Streams made to need more are refused. */
#define DECODER_MEMORY_LIMIT (80 * MIB)
#define BODY_CHUNK (64 * 1024)

static apr_status_t decoder_cleanup(void *data)
{
        decoder_free(data);
        return APR_SUCCESS;
}

/* The next decoded bytes, at *out: their count, 0 at the end of the
 * stream, -1 on failure (br->failure says which). An uncompressed body is
 * handed on from httpd's buckets as it is, without a copy. */
static apr_ssize_t body_next(struct body_reader *br, const void **out)
{
        if (br->done)
                return 0;
        if (br->failure != BODY_OK)
                return -1;
        for (;;) {
                if (br->in_len == 0 && !br->eos) {
                        if (br->current) {
                                apr_bucket_delete(br->current);
                                br->current = NULL;
                        }
                        if (APR_BRIGADE_EMPTY(br->bb)) {
                                apr_status_t rv = ap_get_brigade(br->r->input_filters, br->bb,
                                                                 AP_MODE_READBYTES, APR_BLOCK_READ,
                                                                 BODY_CHUNK);
                                if (rv != APR_SUCCESS) {
                                        br->status = rv;
                                        br->failure = BODY_CLIENT;
                                        return -1;
                                }
                                continue;
                        }
                        apr_bucket *e = APR_BRIGADE_FIRST(br->bb);
                        if (APR_BUCKET_IS_EOS(e)) {
                                br->eos = 1;
                                apr_brigade_cleanup(br->bb);
                        } else if (APR_BUCKET_IS_METADATA(e)) {
                                apr_bucket_delete(e);
                                continue;
                        } else {
                                const char *data;
                                apr_size_t len;
                                apr_status_t rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ);
                                if (rv != APR_SUCCESS) {
                                        br->status = rv;
                                        br->failure = BODY_CLIENT;
                                        return -1;
                                }
                                br->current = e;
                                br->in = data;
                                br->in_len = len;
                                continue;
                        }
                }
                if (br->passthrough) {
                        if (br->in_len == 0) {
                                br->done = 1;
                                return 0;
                        }
                        *out = br->in;
                        apr_ssize_t n = (apr_ssize_t)br->in_len;
                        br->in_len = 0;
                        return n;
                }
                size_t consumed, produced;
                int r = decoder_run(br->decoder, br->in, br->in_len, &consumed, br->out,
                                    br->out_cap, &produced, br->eos, &br->err);
                if (r < 0) {
                        br->failure = r == -ENOMEM ? BODY_NEEDS_MEMORY : BODY_BAD_DATA;
                        return -1;
                }
                br->in += consumed;
                br->in_len -= consumed;
                br->decoded += (apr_off_t)produced;
                if (br->decoded > br->limit) {
                        br->failure = BODY_TOO_BIG;
                        return -1;
                }
                if (produced > 0) {
                        *out = br->out;
                        return (apr_ssize_t)produced;
                }
                if (r == 1) {
                        br->done = 1;
                        return 0;
                }
                if (br->eos && consumed == 0) {
                        /* The decoder promises progress or an answer; do
                         * not spin if it breaks that promise. */
                        error_set(&br->err, EBADMSG, "the upload ends inside the compressed stream");
                        br->failure = BODY_BAD_DATA;
                        return -1;
                }
        }
}

static la_ssize_t archive_read_body(struct archive *a, void *data, const void **out)
{
        struct body_reader *br = data;
        apr_ssize_t n = body_next(br, out);
        if (n < 0) {
                archive_set_error(a, EIO, "%s", br->failure == BODY_CLIENT ?
                                  "reading the request body failed" : br->err.msg);
                return -1;
        }
        return (la_ssize_t)n;
}

/* Reads the stream to its end after the tar ended: its trailer and
 * checksums are verified, and the client has sent everything before it
 * gets an answer (as mod_dav does) instead of a reset connection. */
static void body_finish(struct body_reader *br)
{
        const void *ignored;
        while (body_next(br, &ignored) > 0)
                ;
        /* What follows a finished stream is left to httpd to discard. */
}

/* A task directory that is removed when the request ends, unless the task
 * was queued. */
struct pending_task {
        const char *spool_dir;
        task_id id;
        int queued;
        server_rec *s;
};

static apr_status_t pending_task_cleanup(void *data)
{
        struct pending_task *pt = data;
        struct error err;
        if (!pt->queued && spool_task_remove(pt->spool_dir, pt->id, &err) < 0)
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, pt->s, RTLOGNO(00008)
                             "cannot remove the rejected task %u: %s", pt->id, err.msg);
        return APR_SUCCESS;
}

enum unpack_result {
        UNPACK_OK,
        UNPACK_CLIENT_ERROR,    /* reading the body failed: br.status */
        UNPACK_NOT_ARCHIVE,     /* 415 */
        UNPACK_TOO_BIG,         /* 413 */
        UNPACK_BAD_MEMBER,      /* 403 */
        UNPACK_WRITE_ERROR,     /* 507 or 500, errno in write_errno */
};

struct unpack {
        request_rec *r;
        struct body_reader *br;
        int crash_fd;
        apr_off_t max_unpacked;
        apr_off_t unpacked;     /* logical size of the members, summed */
        const char *bad_member; /* first refused member: the 403 body */
        const char *error;      /* why a 415 or 413 */
        int write_errno;
        char *write_buf;        /* WRITE_CHUNK bytes */
        unsigned char seen[MEMBER_RULE_COUNT];
};

static const struct member_rule *member_rule_find(const char *name)
{
        for (size_t i = 0; i < MEMBER_RULE_COUNT; i++)
                if (strcmp(member_rules[i].name, name) == 0)
                        return &member_rules[i];
        return NULL;
}

/* Why a member is refused (403), or NULL when it is to be written. */
static const char *member_check(struct unpack *u, struct archive_entry *entry,
                                const char *name, const struct member_rule **rule_out)
{
        apr_pool_t *p = u->r->pool;
        const char *shown = printable(p, name, 200);
        mode_t type = archive_entry_filetype(entry);

        *rule_out = NULL;
        if (archive_entry_hardlink(entry))
                return apr_psprintf(p, "member '%s' is a hard link; only regular files are accepted", shown);
        if (type == AE_IFLNK)
                return apr_psprintf(p, "member '%s' is a symbolic link; only regular files are accepted", shown);
        if (name[0] == '/')
                return apr_psprintf(p, "member '%s' has an absolute path", shown);
        if (strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 || strstr(name, "/../") ||
            (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0))
                return apr_psprintf(p, "member '%s' has a '..' path component", shown);
        if (type == AE_IFDIR)
                return apr_psprintf(p, "member '%s' is a directory; the archive must hold plain files at its top level", shown);
        if (type != AE_IFREG)
                return apr_psprintf(p, "member '%s' is not a regular file (a device, FIFO or socket)", shown);
        if (strchr(name, '/'))
                return apr_psprintf(p, "member '%s' is not at the top level of the archive", shown);
        const struct member_rule *rule = member_rule_find(name);
        if (!rule)
                return apr_psprintf(p, "member '%s' is not allowed; allowed are coredump (or coredump.xz, "
                                    "coredump.zst), executable, package, os_release, release, architecture, "
                                    "packages, rootdir, os_release_in_rootdir", shown);
        size_t idx = (size_t)(rule - member_rules);
        if (u->seen[idx])
                return apr_psprintf(p, "member '%s' appears twice", shown);
        u->seen[idx] = 1;
        if (rule->cap && archive_entry_size(entry) > rule->cap)
                return apr_psprintf(p, "member '%s' is larger than its limit of %" APR_OFF_T_FMT " bytes",
                                    shown, rule->cap);
        *rule_out = rule;
        return NULL;
}

/* What a failed libarchive call means: the body reader knows when it was
 * the client, the compression or the limit; otherwise the tar itself is
 * bad. */
static enum unpack_result archive_failure(struct unpack *u, struct archive *a)
{
        struct body_reader *br = u->br;
        switch (br->failure) {
        case BODY_CLIENT:
                return UNPACK_CLIENT_ERROR;
        case BODY_TOO_BIG:
                return UNPACK_TOO_BIG;
        case BODY_NEEDS_MEMORY:
                u->error = apr_pstrdup(u->r->pool, br->err.msg);
                return UNPACK_TOO_BIG;
        case BODY_BAD_DATA:
                u->error = apr_pstrdup(u->r->pool, br->err.msg);
                return UNPACK_NOT_ARCHIVE;
        case BODY_OK:
                break;
        }
        const char *msg = a ? archive_error_string(a) : NULL;
        u->error = apr_pstrdup(u->r->pool, msg ? msg : "not a tar archive");
        return UNPACK_NOT_ARCHIVE;
}

static int write_all_at(int fd, const char *buf, size_t len, off_t offset)
{
        while (len) {
                ssize_t n = pwrite(fd, buf, len, offset);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno;
                buf += n;
                len -= (size_t)n;
                offset += n;
        }
        return 0;
}

/* Member data is gathered into writes of this size: the tar reader hands
 * it over in pieces as small as httpd's 8 KB socket reads, and a system
 * call for each of those cost a third of an upload's time. */
#define WRITE_CHUNK (256 * 1024)

struct gather {
        int fd;
        char *buf;
        size_t len;
        off_t offset;           /* where buf[0] goes */
};

static int gather_flush(struct gather *g)
{
        int e = write_all_at(g->fd, g->buf, g->len, g->offset);
        g->offset += (off_t)g->len;
        g->len = 0;
        return e;
}

/* Queues len bytes for offset; holes (sparse members) start a new write. */
static int gather_add(struct gather *g, const char *data, size_t len, off_t offset)
{
        if (g->len && (offset != g->offset + (off_t)g->len || g->len + len > WRITE_CHUNK)) {
                int e = gather_flush(g);
                if (e)
                        return e;
        }
        if (g->len == 0)
                g->offset = offset;
        if (len >= WRITE_CHUNK)
                return write_all_at(g->fd, data, len, offset);
        memcpy(g->buf + g->len, data, len);
        g->len += len;
        return 0;
}

/* Reads one member's data, writing it to fd, or dropping it when fd < 0. */
static enum unpack_result member_copy(struct unpack *u, struct archive *a, int fd,
                                      apr_off_t size)
{
        struct gather g = { .fd = fd, .buf = u->write_buf };
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t offset;
                int r = archive_read_data_block(a, &buf, &len, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_failure(u, a);
                if (fd < 0)
                        continue;
                if (offset < 0 || offset + (la_int64_t)len > size) {
                        u->error = "a member's data runs past its declared size";
                        return UNPACK_NOT_ARCHIVE;
                }
                int e = gather_add(&g, buf, len, (off_t)offset);
                if (e) {
                        u->write_errno = e;
                        return UNPACK_WRITE_ERROR;
                }
        }
        if (fd < 0)
                return UNPACK_OK;
        int e = gather_flush(&g);
        /* A sparse member may end in a hole: give the file its full size. */
        if (!e && ftruncate(fd, (off_t)size) < 0)
                e = errno;
        if (e) {
                u->write_errno = e;
                return UNPACK_WRITE_ERROR;
        }
        return UNPACK_OK;
}

static enum unpack_result unpack_members(struct unpack *u, struct archive *a)
{
        unsigned members = 0;
        for (;;) {
                struct archive_entry *entry;
                int r = archive_read_next_header(a, &entry);
                if (r == ARCHIVE_EOF)
                        return u->bad_member ? UNPACK_BAD_MEMBER : UNPACK_OK;
                if (r < ARCHIVE_WARN)
                        return archive_failure(u, a);

                const char *name = archive_entry_pathname(entry);
                if (!name)
                        name = "";
                while (name[0] == '.' && name[1] == '/')
                        name += 2;
                /* "./" itself, as `tar -C dir .` writes it. */
                if (name[0] == '\0' && archive_entry_filetype(entry) == AE_IFDIR)
                        continue;
                if (++members > MAX_MEMBERS) {
                        if (!u->bad_member)
                                u->bad_member = apr_psprintf(u->r->pool,
                                        "the archive has more than %d members", MAX_MEMBERS);
                        return UNPACK_BAD_MEMBER;
                }

                const struct member_rule *rule = NULL;
                const char *why = member_check(u, entry, name, &rule);
                if (why && !u->bad_member)
                        u->bad_member = why;
                /* Sizes count even for a refused member: the limit on what
                 * an archive unpacks to comes before the member checks. */
                apr_off_t size = archive_entry_size(entry);
                u->unpacked += size > 0 ? size : 0;
                if (u->unpacked > u->max_unpacked)
                        return UNPACK_TOO_BIG;
                if (u->bad_member) {
                        /* Read on without writing: a corrupt archive is a 415
                         * even when a member was refused first. */
                        enum unpack_result res = member_copy(u, a, -1, 0);
                        if (res != UNPACK_OK)
                                return res;
                        continue;
                }

                int fd = openat(u->crash_fd, rule->name,
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                TASK_FILE_MODE);
                /* The mode is set past the umask: the worker reads these
                 * through the shared group. */
                if (fd < 0 || fchmod(fd, TASK_FILE_MODE) < 0) {
                        u->write_errno = errno;
                        if (fd >= 0)
                                close(fd);
                        return UNPACK_WRITE_ERROR;
                }
                enum unpack_result res = member_copy(u, a, fd, size);
                if (close(fd) < 0 && res == UNPACK_OK) {
                        u->write_errno = errno;
                        res = UNPACK_WRITE_ERROR;
                }
                if (res != UNPACK_OK)
                        return res;
        }
}

/* Reads the body as a tar into the crash directory. Members are written
 * with openat() under names taken from the allow-list, never from the
 * archive, so nothing can land outside the task directory.
 * archive_write_disk, with its ARCHIVE_EXTRACT_SECURE_* flags, would give
 * the same guarantee but calls umask(umask(0)) for every entry: in a
 * threaded httpd that can leave the whole process at umask 0 (libarchive
 * issue #1876). */
static enum unpack_result unpack_body(struct unpack *u)
{
        struct archive *a = archive_read_new();
        if (!a) {
                u->write_errno = ENOMEM;
                return UNPACK_WRITE_ERROR;
        }
        archive_read_support_format_tar(a);
        enum unpack_result res;
        if (archive_read_open(a, u->br, NULL, archive_read_body, NULL) != ARCHIVE_OK)
                res = archive_failure(u, a);
        else
                res = unpack_members(u, a);
        archive_read_free(a);
        if (res == UNPACK_OK || res == UNPACK_BAD_MEMBER) {
                /* The tar ended; the compressed stream must end whole too. */
                body_finish(u->br);
                if (u->br->failure != BODY_OK)
                        res = archive_failure(u, NULL);
        }
        return res;
}

static const char *media_type(request_rec *r)
{
        const char *ct = apr_table_get(r->headers_in, "Content-Type");
        if (!ct)
                return NULL;
        size_t len = strcspn(ct, "; \t");
        return apr_pstrmemdup(r->pool, ct, len);
}

static int handle_create(request_rec *r, const server_conf *sc)
{
        const struct retrace_conf *c = &sc->conf;
        struct error err;

        /* 1 */
        if (c->require_https && !is_https(r))
                return refuse_early(r, HTTP_FORBIDDEN,
                                    "This server accepts tasks only over HTTPS.");
        /* 2 */
        unsigned queued, running;
        if (spool_count_active(c->spool_dir, &queued, &running, &err) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00009)
                              "cannot count tasks: %s", err.msg);
                return refuse_early(r, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot read its spool; try again later.");
        }
        if (queued + running >= c->max_parallel_tasks) {
                apr_table_setn(r->headers_out, "Retry-After", RETRY_AFTER_SECONDS);
                return refuse_early(r, HTTP_SERVICE_UNAVAILABLE,
                                    apr_psprintf(r->pool, "The server is busy: %u of %" APR_UINT64_T_FMT
                                                 " tasks are queued or running. Try again later.",
                                                 queued + running,
                                                 (apr_uint64_t)c->max_parallel_tasks));
        }
        /* 3 */
        if (r->method_number != M_POST)
                return method_not_allowed(r, "POST");
        /* 4 */
        const char *type = media_type(r);
        size_t f;
        for (f = 0; type && f < FORMAT_COUNT; f++)
                if (strcasecmp(type, supported_formats[f]) == 0)
                        break;
        if (!type || f == FORMAT_COUNT)
                return refuse_early(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    apr_psprintf(r->pool, "Content-Type '%s' is not accepted; send one of: "
                                                 "application/x-xz-compressed-tar, application/x-gzip, "
                                                 "application/x-tar, application/zstd.",
                                                 type ? printable(r->pool, type, 100) : "(none)"));
        type = supported_formats[f];
        /* 5 */
        const char *cl = apr_table_get(r->headers_in, "Content-Length");
        if (!cl || apr_table_get(r->headers_in, "Transfer-Encoding"))
                return refuse_early(r, HTTP_LENGTH_REQUIRED,
                                    "The upload needs a Content-Length header; chunked uploads are not accepted.");
        apr_off_t length;
        if (apr_strtoff(&length, cl, NULL, 10) != APR_SUCCESS || length < 0)
                return refuse_early(r, HTTP_BAD_REQUEST, "The Content-Length header is not a number.");
        /* 6 */
        if (length > (apr_off_t)c->max_packed_size * MIB)
                return refuse_early(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    apr_psprintf(r->pool, "The archive is %" APR_OFF_T_FMT " bytes; this server "
                                                 "accepts at most %" APR_UINT64_T_FMT " MiB.",
                                                 length, (apr_uint64_t)c->max_packed_size));
        /* httpd would refuse the body at its first read (LimitRequestBody,
         * 1 GiB by default since 2.4.54); say why now. */
        apr_off_t httpd_limit = ap_get_limit_req_body(r);
        if (httpd_limit > 0 && length > httpd_limit) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, RTLOGNO(00026)
                              "refused an upload of %" APR_OFF_T_FMT " bytes: httpd's LimitRequestBody is %"
                              APR_OFF_T_FMT " bytes, below RetraceMaxPackedSize (%" APR_UINT64_T_FMT
                              " MiB); set LimitRequestBody 0 where SetHandler retrace is",
                              length, httpd_limit, (apr_uint64_t)c->max_packed_size);
                return refuse_early(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    apr_psprintf(r->pool, "The archive is %" APR_OFF_T_FMT " bytes; this server "
                                                 "accepts at most %" APR_OFF_T_FMT " bytes.",
                                                 length, httpd_limit));
        }
        /* 7 */
        struct statvfs vfs;
        if (statvfs(c->spool_dir, &vfs) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, errno, r, RTLOGNO(00010)
                              "cannot read the free space of spool '%s'", c->spool_dir);
                return refuse_early(r, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot read its spool; try again later.");
        }
        apr_off_t free_bytes = (apr_off_t)vfs.f_bavail * (apr_off_t)vfs.f_frsize;
        if (free_bytes - length < (apr_off_t)c->min_storage_left * MIB) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, RTLOGNO(00011)
                              "refused an upload of %" APR_OFF_T_FMT " bytes: spool '%s' has %"
                              APR_OFF_T_FMT " bytes free, MinStorageLeft is %" APR_UINT64_T_FMT " MiB",
                              length, c->spool_dir, free_bytes, (apr_uint64_t)c->min_storage_left);
                return refuse_early(r, HTTP_INSUFFICIENT_STORAGE,
                                    "The server is low on disk space; try again later.");
        }

        /* 8 */
        char task_dir[PATH_MAX];
        task_id id;
        if (spool_task_create(c->spool_dir, &id, task_dir, sizeof task_dir, &err) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00012)
                              "cannot create a task: %s", err.msg);
                return refuse_early(r, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot create a task; try again later.");
        }
        struct pending_task *pt = apr_pcalloc(r->pool, sizeof *pt);
        pt->spool_dir = c->spool_dir;
        pt->id = id;
        pt->s = r->server;
        apr_pool_cleanup_register(r->pool, pt, pending_task_cleanup, apr_pool_cleanup_null);

        const char *crash_dir = apr_pstrcat(r->pool, task_dir, "/" TASK_CRASH_DIR, NULL);
        int crash_fd = -1;
        if (mkdir(crash_dir, TASK_DIR_MODE) < 0 || chmod(crash_dir, TASK_DIR_MODE) < 0 ||
            (crash_fd = open(crash_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, errno, r, RTLOGNO(00013)
                              "cannot create '%s'", crash_dir);
                return refuse_early(r, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot create a task; try again later.");
        }

        static const enum compression compressions[FORMAT_COUNT] = {
                COMPRESSION_XZ, COMPRESSION_GZIP, COMPRESSION_NONE, COMPRESSION_ZSTD,
        };
        struct body_reader br = {
                .r = r,
                .bb = apr_brigade_create(r->pool, r->connection->bucket_alloc),
                .out_cap = BODY_CHUNK,
                .out = apr_palloc(r->pool, BODY_CHUNK),
                /* What a compressed body expands to, the tar's own blocks
                 * on top of the members' sizes. An uncompressed body is
                 * already bounded by max_packed_size, and zero blocks
                 * padding it out are no reason to refuse it. */
                .limit = compressions[f] == COMPRESSION_NONE ? APR_INT64_MAX :
                         (apr_off_t)c->max_unpacked_size * MIB + MIB,
        };
        br.passthrough = compressions[f] == COMPRESSION_NONE;
        if (!br.passthrough && decoder_new(compressions[f], DECODER_MEMORY_LIMIT, &br.decoder, &err) < 0) {
                close(crash_fd);
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00027)
                              "cannot read task %u: %s", id, err.msg);
                return refuse_early(r, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot read uploads now; try again later.");
        }
        if (br.decoder)
                apr_pool_cleanup_register(r->pool, br.decoder, decoder_cleanup, apr_pool_cleanup_null);
        struct unpack u = {
                .r = r,
                .br = &br,
                .crash_fd = crash_fd,
                .max_unpacked = (apr_off_t)c->max_unpacked_size * MIB,
                .write_buf = apr_palloc(r->pool, WRITE_CHUNK),
        };
        enum unpack_result res = unpack_body(&u);
        close(crash_fd);

        switch (res) {
        case UNPACK_OK:
                break;
        case UNPACK_CLIENT_ERROR:
                ap_log_rerror(APLOG_MARK, APLOG_INFO, br.status, r, RTLOGNO(00014)
                              "upload of task %u ended early; the task was discarded", id);
                r->connection->keepalive = AP_CONN_CLOSE;
                return ap_map_http_request_error(br.status, HTTP_BAD_REQUEST);
        case UNPACK_NOT_ARCHIVE:
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00015)
                              "refused task %u: not a valid %s: %s", id, type, u.error);
                return send_text(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "The body is not a valid %s archive: %s.\n", type,
                                 printable(r->pool, u.error, 200));
        case UNPACK_TOO_BIG:
                if (u.error) {  /* a stream that wants too much memory */
                        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00028)
                                      "refused task %u: %s", id, u.error);
                        return send_text(r, HTTP_REQUEST_ENTITY_TOO_LARGE, "The archive was refused: %s.\n",
                                         printable(r->pool, u.error, 200));
                }
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00016)
                              "refused task %u: unpacks to more than %" APR_UINT64_T_FMT " MiB",
                              id, (apr_uint64_t)c->max_unpacked_size);
                return send_text(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "The archive unpacks to more than %" APR_UINT64_T_FMT
                                 " MiB, the limit of this server.\n",
                                 (apr_uint64_t)c->max_unpacked_size);
        case UNPACK_BAD_MEMBER:
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00017)
                              "refused task %u: %s", id, u.bad_member);
                return send_text(r, HTTP_FORBIDDEN, "The archive was refused: %s.\n", u.bad_member);
        case UNPACK_WRITE_ERROR:
                ap_log_rerror(APLOG_MARK, APLOG_ERR, u.write_errno, r, RTLOGNO(00018)
                              "cannot write task %u into '%s'", id, crash_dir);
                if (u.write_errno == ENOSPC || u.write_errno == EDQUOT)
                        return send_text(r, HTTP_INSUFFICIENT_STORAGE,
                                         "The server ran out of disk space; try again later.\n");
                return send_text(r, HTTP_INTERNAL_SERVER_ERROR,
                                 "The server could not store the upload; try again later.\n");
        }

        /* 11 */
        enum task_type task_type = TASK_TYPE_RETRACE;
        const char *type_header = apr_table_get(r->headers_in, "X-Task-Type");
        if (type_header) {
                if (strcmp(type_header, "0") == 0)
                        task_type = TASK_TYPE_RETRACE;
                else if (strcmp(type_header, "1") == 0)
                        task_type = TASK_TYPE_DEBUG;
                else
                        return send_text(r, HTTP_BAD_REQUEST,
                                         "X-Task-Type '%s' is not a known task type; use 0 (retrace a "
                                         "coredump) or 1 (the same, keeping the environment).\n",
                                         printable(r->pool, type_header, 32));
                if (task_type == TASK_TYPE_DEBUG && !c->allow_debug_tasks)
                        return send_text(r, HTTP_FORBIDDEN,
                                         "Task type 1 (keep the environment) is not enabled on this server.\n");
        }
        int have_core = u.seen[0] || u.seen[1] || u.seen[2];
        const char *missing = !have_core ? "coredump" :
                              !u.seen[3] ? "executable" :
                              !u.seen[4] ? "package" : NULL;
        if (missing)
                return send_text(r, HTTP_FORBIDDEN, "The archive was refused: the required file '%s' "
                                 "is missing.\n", missing);

        /* 12 */
        char password[PASSWORD_LEN + 1], type_text[8];
        int n = snprintf(type_text, sizeof type_text, "%d\n", (int)task_type);
        if (spool_write_file(task_dir, TASK_TYPE_FILE, type_text, (size_t)n, TASK_FILE_MODE, &err) < 0 ||
            password_generate(password, &err) < 0 ||
            task_password_set(task_dir, password, &err) < 0 ||
            task_write_stage(task_dir, TASK_STAGE_QUEUED, &err) < 0 ||
            spool_task_queue(c->spool_dir, id, &err) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00019)
                              "cannot queue task %u: %s", id, err.msg);
                if (err.code == ENOSPC || err.code == EDQUOT)
                        return send_text(r, HTTP_INSUFFICIENT_STORAGE,
                                         "The server ran out of disk space; try again later.\n");
                return send_text(r, HTTP_INTERNAL_SERVER_ERROR,
                                 "The server could not queue the task; try again later.\n");
        }
        pt->queued = 1;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00020)
                      "created task %u (%" APR_OFF_T_FMT " bytes unpacked)", id, u.unpacked);
        apr_table_setn(r->headers_out, "X-Task-Id", apr_psprintf(r->pool, "%u", id));
        apr_table_setn(r->headers_out, "X-Task-Password", apr_pstrdup(r->pool, password));
        return send_text(r, HTTP_CREATED, "%s", "");
}

/* ------------------------------------------------------------------------
 * /<id>, /<id>/log, /<id>/backtrace, /<id>/exploitable, /<id>/delete
 */

enum task_action { TASK_STATUS, TASK_LOG, TASK_BACKTRACE, TASK_EXPLOITABLE, TASK_DELETE };

static int handle_task(request_rec *r, const server_conf *sc, task_id id,
                       enum task_action action)
{
        const struct retrace_conf *c = &sc->conf;
        struct error err;

        if (action == TASK_DELETE) {
                if (r->method_number != M_POST && r->method_number != M_DELETE &&
                    r->method_number != M_GET)
                        return method_not_allowed(r, "POST, DELETE, GET");
        } else if (!is_get(r)) {
                return method_not_allowed(r, "GET, HEAD");
        }
        if (c->require_https && !is_https(r))
                return send_text(r, HTTP_FORBIDDEN, "This server gives access to tasks only over HTTPS.\n");

        char task_dir[PATH_MAX];
        enum task_stage stage;
        spool_task_path(c->spool_dir, id, NULL, task_dir, sizeof task_dir);
        /* No status file: no such task, or one still being uploaded. */
        int r_stage = task_read_stage(task_dir, &stage, &err);
        if (r_stage == -ENOENT || r_stage == -ENOTDIR)
                return send_text(r, HTTP_NOT_FOUND, "There is no task %u on this server.\n", id);
        if (r_stage < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00021)
                              "cannot read the status of task %u: %s", id, err.msg);
                return send_text(r, HTTP_INTERNAL_SERVER_ERROR,
                                 "The server cannot read this task; try again later.\n");
        }
        if (action == TASK_DELETE && !c->allow_delete)
                return send_text(r, HTTP_FORBIDDEN, "Deleting tasks is not enabled on this server.\n");

        const char *password = apr_table_get(r->headers_in, "X-Task-Password");
        char new_password[PASSWORD_LEN + 1];
        /* Deleting consumes the password too: under the task's lock, of two
         * deletes racing with one password only one gets through. */
        int rotate = c->password_rotation;
        int auth = password ? task_password_check(task_dir, password, rotate, new_password, &err)
                            : -EACCES;
        if (auth == -EACCES)
                return send_text(r, HTTP_FORBIDDEN,
                                 "Wrong or missing password (X-Task-Password) for this task.\n");
        if (auth == -ENOENT)
                return send_text(r, HTTP_NOT_FOUND, "There is no task %u on this server.\n", id);
        if (auth < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00022)
                              "cannot check the password of task %u: %s", id, err.msg);
                if (err.code == ENOSPC || err.code == EDQUOT)
                        return send_text(r, HTTP_INSUFFICIENT_STORAGE,
                                         "The server is out of disk space; your password is unchanged. "
                                         "Try again later.\n");
                return send_text(r, HTTP_INTERNAL_SERVER_ERROR,
                                 "The server cannot read this task; try again later.\n");
        }
        if (rotate)
                apr_table_setn(r->headers_out, "X-Task-Password", apr_pstrdup(r->pool, new_password));
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");

        /* The worker may have moved the task on since the first read. */
        if (task_read_stage(task_dir, &stage, &err) < 0)
                return send_text(r, HTTP_NOT_FOUND, "There is no task %u on this server.\n", id);

        const char *file = NULL;
        switch (action) {
        case TASK_STATUS:
                apr_table_setn(r->headers_out, "X-Task-Status", task_stage_status(stage));
                apr_table_setn(r->headers_out, "X-Task-Progress", task_stage_progress(stage));
                return send_text(r, HTTP_OK, "%s", task_stage_status(stage));
        case TASK_DELETE:
                if (spool_task_remove(c->spool_dir, id, &err) < 0) {
                        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00023)
                                      "cannot delete task %u: %s", id, err.msg);
                        return send_text(r, HTTP_INTERNAL_SERVER_ERROR,
                                         "The task could not be deleted completely; try again later.\n");
                }
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00024)
                              "deleted task %u at the client's request", id);
                return send_text(r, HTTP_OK, "Task %u was deleted.\n", id);
        case TASK_LOG:
                file = TASK_LOG_FILE;
                break;
        case TASK_BACKTRACE:
                if (stage != TASK_STAGE_FINISHED_SUCCESS)
                        return send_text(r, HTTP_NOT_FOUND,
                                         "Task %u has no backtrace: it is %s (%s).\n", id,
                                         task_stage_status(stage), task_stage_progress(stage));
                file = TASK_BACKTRACE_FILE;
                break;
        case TASK_EXPLOITABLE:
                file = TASK_EXPLOITABLE_FILE;
                break;
        }

        const char *path = apr_pstrcat(r->pool, task_dir, "/", file, NULL);
        apr_status_t rv = serve_file(r, path, TEXT_PLAIN);
        if (APR_STATUS_IS_ENOENT(rv))
                return send_text(r, HTTP_NOT_FOUND, "Task %u has no %s yet.\n", id,
                                 action == TASK_LOG ? "log" :
                                 action == TASK_BACKTRACE ? "backtrace" : "exploitability rating");
        if (rv != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, RTLOGNO(00025)
                              "cannot read '%s'", path);
                return send_text(r, HTTP_INTERNAL_SERVER_ERROR,
                                 "The server cannot read this task; try again later.\n");
        }
        return OK;
}

/* ------------------------------------------------------------------------
 * Routing
 */

/* The request path below the mount point, "" for the mount point itself.
 * The mount point is the <Location> that set the handler: core's merged
 * per-directory config keeps the path of the last section merged. A
 * section that is not a plain prefix of the URI (a regex, a <Directory>)
 * mounts the handler at the root. */
static const char *relative_path(request_rec *r)
{
        const core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
        const char *uri = r->uri;
        if (core && core->d && !core->r && !core->d_is_fnmatch && core->d[0] == '/') {
                size_t mlen = strlen(core->d);
                while (mlen > 0 && core->d[mlen - 1] == '/')
                        mlen--;
                if (strncmp(uri, core->d, mlen) == 0 && (uri[mlen] == '/' || uri[mlen] == '\0'))
                        uri += mlen;
        }
        while (*uri == '/')
                uri++;
        return uri;
}

static int retrace_handler(request_rec *r)
{
        if (!r->handler || strcmp(r->handler, HANDLER_NAME) != 0)
                return DECLINED;
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST) |
                     (AP_METHOD_BIT << M_DELETE);
        const server_conf *sc = ap_get_module_config(r->server->module_config, &retrace_module);
        const char *path = relative_path(r);

        if (path[0] == '\0')
                return handle_index(r, sc);
        if (strcmp(path, "settings") == 0)
                return handle_settings(r, sc);
        if (strcmp(path, "checkpackage") == 0)
                return handle_checkpackage(r, sc);
        if (strcmp(path, "create") == 0)
                return handle_create(r, sc);
        if (strcmp(path, "metrics") == 0)
                return handle_metrics(r, sc);

        size_t id_len = strcspn(path, "/");
        task_id id;
        if (!task_id_parse(path, id_len, &id))
                return send_text(r, HTTP_NOT_FOUND, "Not found. Task ids are 9 digits.\n");
        static const struct {
                const char *suffix;
                enum task_action action;
        } routes[] = {
                { "", TASK_STATUS }, { "/", TASK_STATUS },
                { "/log", TASK_LOG }, { "/backtrace", TASK_BACKTRACE },
                { "/exploitable", TASK_EXPLOITABLE }, { "/delete", TASK_DELETE },
        };
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
                if (strcmp(path + id_len, routes[i].suffix) == 0)
                        return handle_task(r, sc, id, routes[i].action);
        return send_text(r, HTTP_NOT_FOUND, "Not found.\n");
}

static void register_hooks(apr_pool_t *p)
{
        (void)p;
        ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
        ap_hook_handler(retrace_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA retrace_module = {
        STANDARD20_MODULE_STUFF,
        NULL,                   /* per-directory config: none */
        NULL,
        create_server_conf,
        merge_server_conf,
        commands,               /* filled from conf_keys[] by build_commands() */
        register_hooks,
        AP_MODULE_FLAG_NONE,
};

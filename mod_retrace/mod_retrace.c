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

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "unixd.h"
#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "util_filter.h"

#include "conf.h"
#include "decompress.h"
#include "nevra.h"
#include "password.h"
#include "release.h"
#include "repoindex.h"
#include "spool.h"
#include "stats.h"
#include "unpack.h"

/* Unique tags for error-log lines, like httpd's APLOGNO. */
#define RTLOGNO(n) "RT" #n ": "

#define HANDLER_NAME "retrace"
#define TEXT_PLAIN "text/plain; charset=utf-8"
#define MIB ((apr_off_t)1024 * 1024)
#define RETRY_AFTER_SECONDS "60"

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

/* ------------------------------------------------------------------------
 * Upload counters for /metrics
 *
 * Every httpd child counts into one anonymous shared-memory segment that
 * post_config makes in the parent, before it forks the children: they
 * inherit the mapping. Increments are atomic (apr_atomic_inc32), so no
 * lock is needed, and they cost nothing measurable. A restart, graceful or
 * not, makes a new segment: the counters start again from zero, which
 * Prometheus reads as a counter reset (the HELP text says so). They wrap
 * at 2^32, which Prometheus takes as a reset too.
 */

enum refusal {
        REFUSED_HTTPS,                  /* 403: plain HTTP with RequireHTTPS */
        REFUSED_BUSY,                   /* 503: MaxParallelTasks reached */
        REFUSED_METHOD,                 /* 405 */
        REFUSED_TYPE,                   /* 415: Content-Type not accepted */
        REFUSED_LENGTH,                 /* 411, or a Content-Length that is no number */
        REFUSED_TOO_LARGE,              /* 413 before reading: MaxPackedSize */
        REFUSED_STORAGE,                /* 507: MinStorageLeft, or the disk filled */
        REFUSED_BAD_ARCHIVE,            /* 415: not the declared type, damaged */
        REFUSED_BAD_MEMBER,             /* 403: a member not allowed */
        REFUSED_UNPACKED_TOO_LARGE,     /* 413 while unpacking: MaxUnpackedSize */
        REFUSED_BAD_TASK_TYPE,          /* 400 unknown X-Task-Type, 403 type 1 not enabled */
        REFUSED_MISSING_FILE,           /* 403: coredump, executable or package missing */
        REFUSED_CLIENT_ERROR,           /* the client sent less than it announced, or stalled */
        REFUSED_SERVER_ERROR,           /* 500: the server could not store or queue it */
        REFUSAL_COUNT
};

static const char *const refusal_names[REFUSAL_COUNT] = {
        [REFUSED_HTTPS] = "https", [REFUSED_BUSY] = "busy", [REFUSED_METHOD] = "method",
        [REFUSED_TYPE] = "type", [REFUSED_LENGTH] = "length", [REFUSED_TOO_LARGE] = "too_large",
        [REFUSED_STORAGE] = "storage", [REFUSED_BAD_ARCHIVE] = "bad_archive",
        [REFUSED_BAD_MEMBER] = "bad_member", [REFUSED_UNPACKED_TOO_LARGE] = "unpacked_too_large",
        [REFUSED_BAD_TASK_TYPE] = "bad_task_type", [REFUSED_MISSING_FILE] = "missing_file",
        [REFUSED_CLIENT_ERROR] = "client_error", [REFUSED_SERVER_ERROR] = "server_error",
};

struct upload_counters {
        apr_uint32_t accepted;
        apr_uint32_t refused[REFUSAL_COUNT];
};

/* In the shared segment; NULL when it could not be made (then nothing is
 * counted and /metrics leaves these out). */
static struct upload_counters *upload_counters;

static void count_refusal(enum refusal why)
{
        if (upload_counters)
                apr_atomic_inc32(&upload_counters->refused[why]);
}

static void count_accepted(void)
{
        if (upload_counters)
                apr_atomic_inc32(&upload_counters->accepted);
}

/* A fresh segment for this generation of children; pconf's cleanup
 * unmaps it at the next restart. */
static void make_upload_counters(apr_pool_t *pconf, server_rec *s)
{
        apr_shm_t *shm;
        upload_counters = NULL;
        apr_status_t rv = apr_shm_create(&shm, sizeof *upload_counters, NULL, pconf);
        if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, RTLOGNO(00029)
                             "cannot create shared memory for the upload counters; "
                             "/metrics leaves them out");
                return;
        }
        upload_counters = apr_shm_baseaddr_get(shm);
        memset(upload_counters, 0, sizeof *upload_counters);
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
        make_upload_counters(pconf, main_server);
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

/* A refused upload: counted, then answered like any other. */
static int refuse_upload_early(request_rec *r, enum refusal why, int status, const char *msg)
{
        count_refusal(why);
        return refuse_early(r, status, msg);
}

static int refuse_upload(request_rec *r, enum refusal why, int status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int refuse_upload(request_rec *r, enum refusal why, int status, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        const char *body = apr_pvsprintf(r->pool, fmt, ap);
        va_end(ap);
        count_refusal(why);
        return send_text(r, status, "%s", body);
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

/* The index page: a person's first stop. Everything shown from the
 * request or the configuration is escaped. */
static int handle_index(request_rec *r, const server_conf *sc)
{
        if (!is_get(r))
                return method_not_allowed(r, "GET, HEAD");
        const struct retrace_conf *c = &sc->conf;
        struct load load;
        load_read(r, sc, &load);

        const char *base = ap_escape_html(r->pool, r->uri);
        size_t blen = strlen(base);
        const char *slash = (blen && base[blen - 1] == '/') ? "" : "/";
        /* The URL a client is given: this page's, without the last '/'. */
        char *url = ap_construct_url(r->pool, r->uri, r);
        size_t ulen = strlen(url);
        while (ulen > 0 && url[ulen - 1] == '/')
                url[--ulen] = '\0';
        url = ap_escape_html(r->pool, url);

        apr_array_header_t *rows = apr_array_make(r->pool, 8, sizeof(const char *));
        for (size_t i = 0; i < load.releases.count; i++)
                APR_ARRAY_PUSH(rows, const char *) = apr_psprintf(r->pool, "<li><code>%s</code></li>",
                        ap_escape_html(r->pool, load.releases.ids[i]));
        if (load.releases.count == 0)
                APR_ARRAY_PUSH(rows, const char *) = "<li>none yet: the local repository is empty</li>";
        release_list_free(&load.releases);

        const char *page = apr_pstrcat(r->pool,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>Retrace Server</title>\n"
                "<style>body{font-family:sans-serif;max-width:48em;margin:2em auto;padding:0 1em;"
                "line-height:1.4}pre{background:#f0f0f0;padding:.6em;overflow-x:auto}"
                "h2{margin-top:1.6em;border-bottom:1px solid #ccc}</style>\n"
                "</head>\n<body>\n"
                "<h1>Retrace Server</h1>\n"
                "<p>This server turns a coredump from a supported release into a full symbolic "
                "backtrace, using the exact packages and debuginfo of the crashed program. "
                "Send it a crash with ABRT or with <code>retrace-client</code>; the interface "
                "is plain HTTP (<a href=\"", base, slash, "settings\">settings</a>).</p>\n",

                "<h2 id=\"load\">Load</h2>\n",
                apr_psprintf(r->pool, "<p>%u of %" APR_UINT64_T_FMT " task slots in use "
                             "(%u queued, %u running). When all are in use, new crashes are "
                             "refused for a while (503) and the client tries again.</p>\n",
                             load.queued + load.running, (apr_uint64_t)c->max_parallel_tasks,
                             load.queued, load.running),

                "<h2 id=\"limits\">Limits</h2>\n<ul>\n",
                apr_psprintf(r->pool,
                             "<li>Upload (compressed): %" APR_UINT64_T_FMT " MiB</li>\n"
                             "<li>Unpacked: %" APR_UINT64_T_FMT " MiB</li>\n"
                             "<li>Tasks queued or running at once: %" APR_UINT64_T_FMT "</li>\n"
                             "<li>Time gdb may take on one crash: %" APR_UINT64_T_FMT " s</li>\n",
                             (apr_uint64_t)c->max_packed_size, (apr_uint64_t)c->max_unpacked_size,
                             (apr_uint64_t)c->max_parallel_tasks, (apr_uint64_t)c->gdb_timeout),
                "<li>Accepted formats: <code>application/x-xz-compressed-tar</code>, "
                "<code>application/x-gzip</code>, <code>application/x-tar</code>, "
                "<code>application/zstd</code></li>\n",
                c->require_https ? "<li>Crashes are accepted over HTTPS only.</li>\n" : "",
                "</ul>\n",

                "<h2 id=\"releases\">Supported releases</h2>\n<ul>\n",
                apr_array_pstrcat(r->pool, rows, '\n'), "\n</ul>\n",

                "<h2 id=\"client\">How to send a crash</h2>\n"
                "<p>With ABRT: choose the <em>Retrace Server</em> analysis (the event "
                "<code>analyze_RetraceServer</code>) for a C/C++ crash, with this server as its "
                "URL (<code>RETRACE_SERVER_URI</code>). ABRT uploads the crash and saves the "
                "backtrace into the problem directory.</p>\n"
                "<p>From a shell, with the problem directory ABRT made:</p>\n"
                "<pre>retrace-client batch --url ", url, " -d /var/spool/abrt/&lt;problem "
                "directory&gt;</pre>\n"
                "<p><code>retrace-client</code> checks that this server supports the crash's "
                "release, uploads the coredump with the executable, package and release files, "
                "shows the task's progress and saves <code>backtrace</code> into the directory. "
                "It keeps the task's id there, so <code>retrace-client status -d DIR</code> (or "
                "<code>log</code>, <code>backtrace</code>) can pick the task up again.",
                c->password_rotation
                        ? " ABRT's older <code>abrt-retrace-client</code> does not work with this "
                          "server: every answer here carries the task's next password."
                        : " ABRT's older <code>abrt-retrace-client</code> works too.",
                "</p>\n",

                "<h2 id=\"data\">Your data</h2>\n<p>A coredump can hold passwords, keys and "
                "personal data from the crashed program's memory. Through this interface only "
                "the holder of a task's password, the client that uploaded the crash, can read "
                "its status, log and backtrace",
                c->password_rotation ? "; each password works once and every answer carries "
                                       "the next one" : "",
                ". The server's administrators can read the crash data on the server itself; "
                "nobody else can.</p>\n",
                apr_psprintf(r->pool,
                             "<p>The coredump is deleted when the backtrace has been generated%s. "
                             "A task and its results are deleted %" APR_UINT64_T_FMT " hours after "
                             "it finished (%" APR_UINT64_T_FMT " hours for a failed task)%s.</p>\n",
                             c->allow_debug_tasks ? " (a task of type 1, which this server accepts, "
                                                    "keeps it for the administrators)" : "",
                             (apr_uint64_t)c->delete_task_after,
                             (apr_uint64_t)c->delete_failed_task_after,
                             c->allow_delete ? ", or earlier when you delete it" : ""),
                "</body>\n</html>\n", NULL);
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

/* The Prometheus text exposition format (version 0.0.4), written into an
 * array of strings and sent whole. */
struct exposition {
        apr_pool_t *p;
        apr_array_header_t *parts;
};

static void expo(struct exposition *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expo(struct exposition *e, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        APR_ARRAY_PUSH(e->parts, const char *) = apr_pvsprintf(e->p, fmt, ap);
        va_end(ap);
}

/* A family's HELP and TYPE lines. HELP texts here hold no '\' or newline. */
static void expo_family(struct exposition *e, const char *name, const char *type, const char *help)
{
        expo(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with '\', '"' and newline escaped. */
static const char *expo_label(apr_pool_t *p, const char *v)
{
        size_t n = 0;
        for (const char *s = v; *s; s++)
                n += (*s == '\\' || *s == '"' || *s == '\n') ? 2 : 1;
        char *out = apr_palloc(p, n + 1), *o = out;
        for (const char *s = v; *s; s++) {
                if (*s == '\\' || *s == '"' || *s == '\n') {
                        *o++ = '\\';
                        *o++ = *s == '\n' ? 'n' : *s;
                } else {
                        *o++ = *s;
                }
        }
        *o = '\0';
        return out;
}

/* Microseconds as seconds, without floating point. */
static const char *expo_seconds(apr_pool_t *p, apr_uint64_t us)
{
        return apr_psprintf(p, "%" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT,
                            us / 1000000, us % 1000000);
}

static void expo_worker(struct exposition *e, const struct worker_stats *w)
{
        expo_family(e, "retrace_tasks_finished_total", "counter",
                    "Tasks retrace-worker finished, by result (kept in SpoolDir/stats/worker).");
        expo(e, "retrace_tasks_finished_total{result=\"success\"} %" APR_UINT64_T_FMT "\n"
                "retrace_tasks_finished_total{result=\"failure\"} %" APR_UINT64_T_FMT "\n",
             (apr_uint64_t)w->tasks_success, (apr_uint64_t)w->tasks_failure);

        expo_family(e, "retrace_stage_duration_seconds", "histogram",
                    "Time tasks spent in each stage of retrace-worker: analyze (crash data and "
                    "core), resolve (packages from the index), assemble (extract or find them in "
                    "the cache, link the root), gdb; each stage that ran, whether it succeeded "
                    "or not.");
        for (size_t st = 0; st < STATS_STAGE_COUNT; st++) {
                const struct stats_histogram *h = &w->stage[st];
                const char *name = stats_stage_name((enum stats_stage)st);
                apr_uint64_t cumulative = 0;
                for (size_t b = 0; b < STATS_BUCKETS; b++) {
                        cumulative += h->bucket[b];
                        expo(e, "retrace_stage_duration_seconds_bucket{stage=\"%s\",le=\"%s\"} %"
                             APR_UINT64_T_FMT "\n", name, stats_bucket_le(b), cumulative);
                }
                /* +Inf is the count, whatever the buckets say. */
                expo(e, "retrace_stage_duration_seconds_bucket{stage=\"%s\",le=\"+Inf\"} %"
                     APR_UINT64_T_FMT "\n", name, (apr_uint64_t)h->count);
                expo(e, "retrace_stage_duration_seconds_sum{stage=\"%s\"} %s\n", name,
                     expo_seconds(e->p, h->sum_us));
                expo(e, "retrace_stage_duration_seconds_count{stage=\"%s\"} %" APR_UINT64_T_FMT "\n",
                     name, (apr_uint64_t)h->count);
        }

        expo_family(e, "retrace_cache_hits_total", "counter",
                    "Packages a task found already extracted in retrace-worker's cache.");
        expo(e, "retrace_cache_hits_total %" APR_UINT64_T_FMT "\n", (apr_uint64_t)w->cache_hits);
        expo_family(e, "retrace_cache_misses_total", "counter",
                    "Packages a task had to extract into retrace-worker's cache.");
        expo(e, "retrace_cache_misses_total %" APR_UINT64_T_FMT "\n", (apr_uint64_t)w->cache_misses);
        expo_family(e, "retrace_cache_size_bytes", "gauge",
                    "Disk space of retrace-worker's package cache at its last housekeeping "
                    "(no sample before the first).");
        if (w->cache_bytes_known)
                expo(e, "retrace_cache_size_bytes %" APR_UINT64_T_FMT "\n",
                     (apr_uint64_t)w->cache_bytes);
}

static int handle_metrics(request_rec *r, const server_conf *sc)
{
        if (!sc->conf.metrics)
                return send_text(r, HTTP_NOT_FOUND,
                                 "Metrics are not enabled on this server (RetraceMetrics Off).\n");
        if (!is_get(r))
                return method_not_allowed(r, "GET, HEAD");
        const struct retrace_conf *c = &sc->conf;
        struct exposition e = { r->pool, apr_array_make(r->pool, 128, sizeof(const char *)) };
        struct error err;

        /* From the spool. */
        struct load load;
        load_read(r, sc, &load);
        unsigned failed, succeeded = count_finished(r, sc, &failed);
        expo_family(&e, "retrace_tasks", "gauge",
                    "Tasks in the spool by state; finished ones stay until they expire.");
        expo(&e, "retrace_tasks{state=\"queued\"} %u\nretrace_tasks{state=\"running\"} %u\n"
                 "retrace_tasks{state=\"finished_success\"} %u\n"
                 "retrace_tasks{state=\"finished_failure\"} %u\n",
             load.queued, load.running, succeeded, failed);
        expo_family(&e, "retrace_tasks_max", "gauge",
                    "Queued plus running tasks at which new tasks are refused (MaxParallelTasks).");
        expo(&e, "retrace_tasks_max %" APR_UINT64_T_FMT "\n", (apr_uint64_t)c->max_parallel_tasks);
        struct statvfs vfs;
        expo_family(&e, "retrace_spool_free_bytes", "gauge",
                    "Free space in the spool's file system.");
        if (statvfs(c->spool_dir, &vfs) == 0)
                expo(&e, "retrace_spool_free_bytes %" APR_UINT64_T_FMT "\n",
                     (apr_uint64_t)vfs.f_bavail * (apr_uint64_t)vfs.f_frsize);

        /* From retrace-worker's statistics. */
        struct worker_stats w;
        if (stats_worker_read(c->spool_dir, &w, &err) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00030)
                              "cannot read the worker's statistics: %s", err.msg);
                memset(&w, 0, sizeof w);
        }
        expo_worker(&e, &w);

        /* From the repository and retrace-reposync. */
        expo_family(&e, "retrace_supported_releases", "gauge",
                    "Releases the local repository can retrace.");
        expo(&e, "retrace_supported_releases %" APR_SIZE_T_FMT "\n", (apr_size_t)load.releases.count);
        expo_family(&e, "retrace_reposync_last_success_timestamp_seconds", "gauge",
                    "When retrace-reposync last synced (or imported into) each supported release "
                    "without any failure, in unix time; 0: never.");
        for (size_t i = 0; i < load.releases.count; i++) {
                time_t when = 0;
                int rs = stats_sync_read(c->repo_dir, load.releases.ids[i], &when, &err);
                if (rs < 0 && rs != -ENOENT)
                        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00031)
                                      "cannot read the last sync of %s: %s", load.releases.ids[i],
                                      err.msg);
                expo(&e, "retrace_reposync_last_success_timestamp_seconds{release=\"%s\"} %"
                     APR_INT64_T_FMT "\n", expo_label(r->pool, load.releases.ids[i]),
                     (apr_int64_t)(rs < 0 ? 0 : when));
        }
        release_list_free(&load.releases);

        /* From this httpd's children. */
        if (upload_counters) {
                expo_family(&e, "retrace_uploads_accepted_total", "counter",
                            "Uploads to /create that became tasks; counted by httpd's children "
                            "since httpd last started or restarted.");
                expo(&e, "retrace_uploads_accepted_total %u\n",
                     apr_atomic_read32(&upload_counters->accepted));
                expo_family(&e, "retrace_uploads_refused_total", "counter",
                            "Uploads to /create refused, by reason; counted by httpd's children "
                            "since httpd last started or restarted.");
                for (size_t i = 0; i < REFUSAL_COUNT; i++)
                        expo(&e, "retrace_uploads_refused_total{reason=\"%s\"} %u\n",
                             refusal_names[i], apr_atomic_read32(&upload_counters->refused[i]));
        }

        const char *body = apr_array_pstrcat(r->pool, e.parts, 0);
        size_t len = strlen(body);
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
        ap_set_content_length(r, (apr_off_t)len);
        if (!r->header_only)
                ap_rwrite(body, (int)len, r);
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

/* Decompression output, and httpd's reads of the body. */
#define BODY_CHUNK (64 * 1024)

static apr_status_t decoder_cleanup(void *data)
{
        decoder_free(data);
        return APR_SUCCESS;
}

/* The request body for unpack.c: httpd's buckets one at a time. */
struct brigade_source {
        request_rec *r;
        apr_bucket_brigade *bb;
        apr_bucket *current;    /* the bucket handed out last */
        apr_status_t status;    /* why reading failed */
};

static ssize_t brigade_next(void *arg, const char **data)
{
        struct brigade_source *bs = arg;
        for (;;) {
                if (bs->current) {
                        apr_bucket_delete(bs->current);
                        bs->current = NULL;
                }
                if (APR_BRIGADE_EMPTY(bs->bb)) {
                        apr_status_t rv = ap_get_brigade(bs->r->input_filters, bs->bb,
                                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                                         BODY_CHUNK);
                        if (rv != APR_SUCCESS) {
                                bs->status = rv;
                                return -1;
                        }
                        continue;
                }
                apr_bucket *e = APR_BRIGADE_FIRST(bs->bb);
                if (APR_BUCKET_IS_EOS(e)) {
                        apr_brigade_cleanup(bs->bb);
                        return 0;
                }
                if (APR_BUCKET_IS_METADATA(e)) {
                        apr_bucket_delete(e);
                        continue;
                }
                const char *d;
                apr_size_t len;
                apr_status_t rv = apr_bucket_read(e, &d, &len, APR_BLOCK_READ);
                if (rv != APR_SUCCESS) {
                        bs->status = rv;
                        return -1;
                }
                bs->current = e;
                if (len == 0)
                        continue;
                *data = d;
                return (ssize_t)len;
        }
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
                return refuse_upload_early(r, REFUSED_HTTPS, HTTP_FORBIDDEN,
                                           "This server accepts tasks only over HTTPS.");
        /* 2 */
        unsigned queued, running;
        if (spool_count_active(c->spool_dir, &queued, &running, &err) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00009)
                              "cannot count tasks: %s", err.msg);
                return refuse_upload_early(r, REFUSED_SERVER_ERROR, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot read its spool; try again later.");
        }
        if (queued + running >= c->max_parallel_tasks) {
                apr_table_setn(r->headers_out, "Retry-After", RETRY_AFTER_SECONDS);
                return refuse_upload_early(r, REFUSED_BUSY, HTTP_SERVICE_UNAVAILABLE,
                                    apr_psprintf(r->pool, "The server is busy: %u of %" APR_UINT64_T_FMT
                                                 " tasks are queued or running. Try again later.",
                                                 queued + running,
                                                 (apr_uint64_t)c->max_parallel_tasks));
        }
        /* 3 */
        if (r->method_number != M_POST) {
                count_refusal(REFUSED_METHOD);
                return method_not_allowed(r, "POST");
        }
        /* 4 */
        const char *type = media_type(r);
        size_t f;
        for (f = 0; type && f < FORMAT_COUNT; f++)
                if (strcasecmp(type, supported_formats[f]) == 0)
                        break;
        if (!type || f == FORMAT_COUNT)
                return refuse_upload_early(r, REFUSED_TYPE, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    apr_psprintf(r->pool, "Content-Type '%s' is not accepted; send one of: "
                                                 "application/x-xz-compressed-tar, application/x-gzip, "
                                                 "application/x-tar, application/zstd.",
                                                 type ? printable(r->pool, type, 100) : "(none)"));
        type = supported_formats[f];
        /* 5 */
        const char *cl = apr_table_get(r->headers_in, "Content-Length");
        if (!cl || apr_table_get(r->headers_in, "Transfer-Encoding"))
                return refuse_upload_early(r, REFUSED_LENGTH, HTTP_LENGTH_REQUIRED,
                                    "The upload needs a Content-Length header; chunked uploads are not accepted.");
        apr_off_t length;
        if (apr_strtoff(&length, cl, NULL, 10) != APR_SUCCESS || length < 0)
                return refuse_upload_early(r, REFUSED_LENGTH, HTTP_BAD_REQUEST,
                                           "The Content-Length header is not a number.");
        /* 6 */
        if (length > (apr_off_t)c->max_packed_size * MIB)
                return refuse_upload_early(r, REFUSED_TOO_LARGE, HTTP_REQUEST_ENTITY_TOO_LARGE,
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
                return refuse_upload_early(r, REFUSED_TOO_LARGE, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    apr_psprintf(r->pool, "The archive is %" APR_OFF_T_FMT " bytes; this server "
                                                 "accepts at most %" APR_OFF_T_FMT " bytes.",
                                                 length, httpd_limit));
        }
        /* 7 */
        struct statvfs vfs;
        if (statvfs(c->spool_dir, &vfs) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, errno, r, RTLOGNO(00010)
                              "cannot read the free space of spool '%s'", c->spool_dir);
                return refuse_upload_early(r, REFUSED_SERVER_ERROR, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot read its spool; try again later.");
        }
        apr_off_t free_bytes = (apr_off_t)vfs.f_bavail * (apr_off_t)vfs.f_frsize;
        if (free_bytes - length < (apr_off_t)c->min_storage_left * MIB) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, RTLOGNO(00011)
                              "refused an upload of %" APR_OFF_T_FMT " bytes: spool '%s' has %"
                              APR_OFF_T_FMT " bytes free, MinStorageLeft is %" APR_UINT64_T_FMT " MiB",
                              length, c->spool_dir, free_bytes, (apr_uint64_t)c->min_storage_left);
                return refuse_upload_early(r, REFUSED_STORAGE, HTTP_INSUFFICIENT_STORAGE,
                                    "The server is low on disk space; try again later.");
        }

        /* 8 */
        char task_dir[PATH_MAX];
        task_id id;
        if (spool_task_create(c->spool_dir, &id, task_dir, sizeof task_dir, &err) < 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00012)
                              "cannot create a task: %s", err.msg);
                return refuse_upload_early(r, REFUSED_SERVER_ERROR, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot create a task; try again later.");
        }
        struct pending_task *pt = apr_pcalloc(r->pool, sizeof *pt);
        pt->spool_dir = c->spool_dir;
        pt->id = id;
        pt->s = r->server;
        apr_pool_cleanup_register(r->pool, pt, pending_task_cleanup, apr_pool_cleanup_null);

        const char *crash_dir = apr_pstrcat(r->pool, task_dir, "/" TASK_CRASH_DIR, NULL);
        int crash_fd = -1;
        err.code = 0;
        if (spool_mkdir(crash_dir, TASK_DIR_MODE, &err) < 0 ||
            (crash_fd = open(crash_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                if (!err.code)
                        error_set_errno(&err, errno, "cannot open '%s'", crash_dir);
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00013)
                              "cannot create the task's crash directory: %s", err.msg);
                return refuse_upload_early(r, REFUSED_SERVER_ERROR, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot create a task; try again later.");
        }

        static const enum compression compressions[FORMAT_COUNT] = {
                COMPRESSION_XZ, COMPRESSION_GZIP, COMPRESSION_NONE, COMPRESSION_ZSTD,
        };
        struct brigade_source src = {
                .r = r,
                .bb = apr_brigade_create(r->pool, r->connection->bucket_alloc),
        };
        struct body_reader br = {
                .source = brigade_next,
                .source_arg = &src,
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
        if (!br.passthrough && decoder_new(compressions[f], UNPACK_DECODER_MEMORY_LIMIT, &br.decoder, &err) < 0) {
                close(crash_fd);
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, RTLOGNO(00027)
                              "cannot read task %u: %s", id, err.msg);
                return refuse_upload_early(r, REFUSED_SERVER_ERROR, HTTP_INTERNAL_SERVER_ERROR,
                                    "The server cannot read uploads now; try again later.");
        }
        if (br.decoder)
                apr_pool_cleanup_register(r->pool, br.decoder, decoder_cleanup, apr_pool_cleanup_null);
        struct unpack u = {
                .br = &br,
                .crash_fd = crash_fd,
                .max_unpacked = (apr_off_t)c->max_unpacked_size * MIB,
                .write_buf = apr_palloc(r->pool, UNPACK_WRITE_CHUNK),
        };
        enum unpack_result res = unpack_body(&u);
        close(crash_fd);

        switch (res) {
        case UNPACK_OK:
                break;
        case UNPACK_CLIENT_ERROR:
                ap_log_rerror(APLOG_MARK, APLOG_INFO, src.status, r, RTLOGNO(00014)
                              "upload of task %u ended early; the task was discarded", id);
                r->connection->keepalive = AP_CONN_CLOSE;
                count_refusal(REFUSED_CLIENT_ERROR);
                return ap_map_http_request_error(src.status, HTTP_BAD_REQUEST);
        case UNPACK_NOT_ARCHIVE:
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00015)
                              "refused task %u: not a valid %s: %s", id, type, u.error);
                return refuse_upload(r, REFUSED_BAD_ARCHIVE, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "The body is not a valid %s archive: %s.\n", type,
                                 printable(r->pool, u.error, 200));
        case UNPACK_TOO_BIG:
                if (u.error) {  /* a stream that wants too much memory */
                        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00028)
                                      "refused task %u: %s", id, u.error);
                        return refuse_upload(r, REFUSED_UNPACKED_TOO_LARGE, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                             "The archive was refused: %s.\n",
                                         printable(r->pool, u.error, 200));
                }
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00016)
                              "refused task %u: unpacks to more than %" APR_UINT64_T_FMT " MiB",
                              id, (apr_uint64_t)c->max_unpacked_size);
                return refuse_upload(r, REFUSED_UNPACKED_TOO_LARGE, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "The archive unpacks to more than %" APR_UINT64_T_FMT
                                 " MiB, the limit of this server.\n",
                                 (apr_uint64_t)c->max_unpacked_size);
        case UNPACK_BAD_MEMBER:
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00017)
                              "refused task %u: %s", id, u.bad_member);
                return refuse_upload(r, REFUSED_BAD_MEMBER, HTTP_FORBIDDEN, "The archive was refused: %s.\n",
                                     u.bad_member);
        case UNPACK_WRITE_ERROR:
                ap_log_rerror(APLOG_MARK, APLOG_ERR, u.write_errno, r, RTLOGNO(00018)
                              "cannot write task %u into '%s'", id, crash_dir);
                if (u.write_errno == ENOSPC || u.write_errno == EDQUOT)
                        return refuse_upload(r, REFUSED_STORAGE, HTTP_INSUFFICIENT_STORAGE,
                                             "The server ran out of disk space; try again later.\n");
                return refuse_upload(r, REFUSED_SERVER_ERROR, HTTP_INTERNAL_SERVER_ERROR,
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
                        return refuse_upload(r, REFUSED_BAD_TASK_TYPE, HTTP_BAD_REQUEST,
                                         "X-Task-Type '%s' is not a known task type; use 0 (retrace a "
                                         "coredump) or 1 (the same, keeping the environment).\n",
                                         printable(r->pool, type_header, 32));
                if (task_type == TASK_TYPE_DEBUG && !c->allow_debug_tasks)
                        return refuse_upload(r, REFUSED_BAD_TASK_TYPE, HTTP_FORBIDDEN,
                                         "Task type 1 (keep the environment) is not enabled on this server.\n");
        }
        const char *missing = unpack_missing(&u);
        if (missing)
                return refuse_upload(r, REFUSED_MISSING_FILE, HTTP_FORBIDDEN,
                                     "The archive was refused: the required file '%s' "
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
                        return refuse_upload(r, REFUSED_STORAGE, HTTP_INSUFFICIENT_STORAGE,
                                             "The server ran out of disk space; try again later.\n");
                return refuse_upload(r, REFUSED_SERVER_ERROR, HTTP_INTERNAL_SERVER_ERROR,
                                     "The server could not queue the task; try again later.\n");
        }
        pt->queued = 1;
        count_accepted();
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, RTLOGNO(00020)
                      "created task %u (%" APR_OFF_T_FMT " bytes unpacked)", id, (apr_off_t)u.unpacked);
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

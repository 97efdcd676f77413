/* retrace-client: sends an ABRT problem directory to a Retrace Server and
 * brings the backtrace back, speaking shared/spec/http-api.md.
 *
 *   retrace-client batch -d DIR         settings, checks, pack + upload,
 *                                       poll, save backtrace (+ exploitable)
 *   retrace-client create -d DIR        the first half: prints id and password
 *   retrace-client status|log|backtrace|exploitable (-t ID -p PASSWORD | -d DIR)
 *
 * Order of a batch:
 *   1. read the problem directory: package (NEVR), architecture (and
 *      pkg_arch), the release (os_release_in_rootdir when there is a
 *      rootdir, else os_release, else os_info) -> release id
 *      (common/release.h); open the files to pack (retrace-client/pack.h);
 *   2. GET /settings: refuse early when xz is not among supported_formats,
 *      the release is not among supported_releases, the files' sizes sum
 *      over max_unpacked_size, or running_tasks >= max_running_tasks (the
 *      last one is retried like a 503);
 *   3. GET /checkpackage (unless --no-pkgcheck): 404 refuses;
 *   4. pack once to count the compressed bytes (refused over
 *      max_packed_size), then POST /create with that Content-Length,
 *      packing again into the request body (see pack.h for why);
 *      503 waits Retry-After and tries again, up to --retries;
 *   5. store the task id and password in the directory, poll /<id> every
 *      --status-delay seconds showing X-Task-Progress;
 *   6. FINISHED_SUCCESS: save backtrace, and exploitable when its rating is
 *      >= 4; FINISHED_FAILURE: print the task's log, exit 8.
 * Every answer's X-Task-Password replaces the password in memory and, when
 * the task lives in a problem directory, in retrace_task_password, before
 * the answer's body is read (retrace-client/http.h). A server that does
 * not rotate sends none, and the password from /create stays.
 *
 * Exit codes (also in retrace-client(1)): see enum exit_code.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "http.h"
#include "nevra.h"
#include "pack.h"
#include "password.h"
#include "problemdir.h"
#include "progress.h"
#include "settings.h"
#include "release.h"

enum exit_code {
        EXIT_OK = 0,
        EXIT_INPUT = 1,                 /* usage; a problem directory the client cannot use */
        EXIT_ERROR = 2,                 /* connection, TLS, unexpected answer, local I/O */
        EXIT_FORBIDDEN = 3,             /* 403 */
        EXIT_TOO_LARGE = 4,             /* 413, or over the limits /settings states */
        EXIT_UNSUPPORTED_TYPE = 5,      /* 415, or xz not among supported_formats */
        EXIT_BUSY = 6,                  /* 503 or a full server, after the retries */
        EXIT_NO_SPACE = 7,              /* 507 */
        EXIT_RETRACE_FAILED = 8,        /* FINISHED_FAILURE; the log was printed */
        EXIT_NOT_SUPPORTED = 9,         /* release not supported, or package unknown */
        EXIT_NOT_FOUND = 10,            /* 404: no such task, or no such result */
};

#define DEFAULT_URL "https://retrace.fedoraproject.org"
#define DEFAULT_STATUS_DELAY 10.0
#define DEFAULT_RETRIES 3
#define DEFAULT_MAX_WAIT 300.0
/* What a full server (from /settings) or a 503 without Retry-After costs. */
#define DEFAULT_BUSY_WAIT 60.0
#define MIN_EXPLOITABLE_RATING 4
/* An archive up to this size is kept from the counting pass and sent from
 * memory; a larger one is packed a second time while it is sent. */
#define KEEP_MAX (4 * 1024 * 1024)
#define OS_INFO_MAX (64 * 1024)

static const char *prog = "retrace-client";

struct options {
        const char *url;
        bool insecure;
        bool verbose;
        const char *dir;
        const char *task;
        const char *password;
        bool no_pkgcheck;
        double status_delay;
        unsigned retries;
        double max_wait;
};

struct client {
        struct options opt;
        struct http *http;
        struct progress prog;
        struct problem_dir *pd;
        bool store;                     /* keep id and password in pd */
        char task_id[16];
        char password[PASSWORD_LEN + 1];
        bool creating;                  /* the request in flight is /create */
        bool rotated;                   /* the password changed since the user gave it */
        bool password_unsaved;          /* it changed and could not be stored */
};

/* --- messages ------------------------------------------------------------ */

static void complain(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void complain(struct client *c, const char *fmt, ...)
{
        if (c)
                progress_clear(&c->prog);
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", prog);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* Server text shown to a person: printable ASCII and UTF-8 bytes, tabs,
 * newlines; other control bytes (terminal escapes) become '?'. */
static void sanitize(char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];
                if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
                        s[i] = '?';
        }
}

/* The first lines of a response body, trimmed, for a message. */
static const char *body_text(const struct http_response *r, char *buf, size_t len)
{
        if (!r->body || r->body_len == 0)
                return "";
        size_t n = r->body_len < len - 1 ? r->body_len : len - 1;
        memcpy(buf, r->body, n);
        buf[n] = '\0';
        sanitize(buf, n);
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
                buf[--n] = '\0';
        char *p = buf;
        while (isspace((unsigned char)*p))
                p++;
        return p;
}

/* stdout for data (a log, a backtrace): raw into a pipe or file, through
 * sanitize() on a terminal. */
static ssize_t safe_write(void *cookie, const char *buf, size_t len)
{
        (void)cookie;
        char tmp[4096];
        size_t done = 0;
        while (done < len) {
                size_t n = len - done < sizeof tmp ? len - done : sizeof tmp;
                memcpy(tmp, buf + done, n);
                sanitize(tmp, n);
                if (fwrite(tmp, 1, n, stdout) != n)
                        return -1;
                done += n;
        }
        return (ssize_t)len;
}

static FILE *data_out(void)
{
        static FILE *safe;
        if (!isatty(STDOUT_FILENO))
                return stdout;
        if (!safe) {
                cookie_io_functions_t io = { .write = safe_write };
                safe = fopencookie(NULL, "w", io);
        }
        return safe ? safe : stdout;
}

static void sleep_seconds(double s)
{
        if (s <= 0)
                return;
        struct timespec ts;
        ts.tv_sec = (time_t)s;
        ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static const char *reason_phrase(long status)
{
        switch (status) {
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 411: return "Length Required";
        case 413: return "Request Entity Too Large";
        case 415: return "Unsupported Media Type";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        case 507: return "Insufficient Storage";
        default: return "";
        }
}

/* Maps a response that is not what the operation wanted to an exit code,
 * saying why. what: "creating the task", "asking for the task's status". */
static int fail_response(struct client *c, const char *what, const struct http_response *r)
{
        char text[512];
        const char *t = body_text(r, text, sizeof text);
        complain(c, "%s failed: the server answered %ld %s%s%s", what, r->status,
                 reason_phrase(r->status), *t ? ": " : "", t);
        bool plain = strncasecmp(http_url(c->http), "http://", 7) == 0;
        switch (r->status) {
        case 403:
                if (plain)
                        complain(c, "the server may accept this only over HTTPS; "
                                 "try an https:// URL");
                if (c->task_id[0])
                        complain(c, "a task password works for its task only, and on a server that "
                                 "rotates passwords only once");
                return EXIT_FORBIDDEN;
        case 404:
                return EXIT_NOT_FOUND;
        case 413:
                complain(c, "the crash is too large for this server; retrace it locally");
                return EXIT_TOO_LARGE;
        case 415:
                return EXIT_UNSUPPORTED_TYPE;
        case 503:
                complain(c, "the server is fully occupied; try again later");
                return EXIT_BUSY;
        case 507:
                complain(c, "the server is short of storage; try again later");
                return EXIT_NO_SPACE;
        default:
                return EXIT_ERROR;
        }
}

static int fail_transport(struct client *c, const struct error *err)
{
        complain(c, "%s", err->msg);
        return EXIT_ERROR;
}

/* --- passwords ------------------------------------------------------------ */

static bool task_id_valid(const char *id)
{
        if (strlen(id) != 9 || id[0] == '0')
                return false;
        for (const char *p = id; *p; p++)
                if (!isdigit((unsigned char)*p))
                        return false;
        return true;
}

/* The http password hook: every new password, before the body is read.
 * For /create's 201 the task id goes into the directory first. */
static int on_password(void *arg, const struct http_response *resp, struct error *err)
{
        struct client *c = arg;
        if (c->creating) {
                if (resp->status != 201)
                        return 0;
                if (!task_id_valid(resp->task_id))
                        return error_set(err, EPROTO, "the server's answer to /create has no "
                                         "valid X-Task-Id");
                memcpy(c->task_id, resp->task_id, sizeof c->task_id);
        }
        memcpy(c->password, resp->task_password, PASSWORD_LEN + 1);
        c->rotated = true;
        if (!c->store)
                return 0;
        int r = 0;
        if (c->creating)
                r = problem_dir_save(c->pd, PD_TASK_ID, c->task_id, strlen(c->task_id), 0, err);
        if (r == 0)
                r = problem_dir_save(c->pd, PD_TASK_PASSWORD, c->password, PASSWORD_LEN, 0600, err);
        c->password_unsaved = r < 0;
        return r;
}

/* After a failure, the password must not be lost with the process. */
static void tell_unsaved_password(struct client *c)
{
        if (c->password_unsaved || (c->rotated && !c->store && c->task_id[0])) {
                progress_clear(&c->prog);
                fprintf(stderr, "Task Id: %s\nTask Password: %s\n", c->task_id, c->password);
        }
}

/* --- /settings --------------------------------------------------------------- */

static int get_settings(struct client *c, struct settings *s)
{
        struct error err;
        struct http_response r = { 0 };
        struct http_request req = { .method = "GET", .path = "settings" };
        if (http_request(c->http, &req, &r, &err) < 0) {
                http_response_clear(&r);
                return fail_transport(c, &err);
        }
        int ret = EXIT_OK;
        if (r.status != 200)
                ret = fail_response(c, "reading the server's settings", &r);
        else if (settings_parse(r.body ? r.body : "", s) < 0)
                ret = EXIT_ERROR;
        http_response_clear(&r);
        return ret;
}

/* --- the problem directory ------------------------------------------------ */

struct crash {
        char package[NEVRA_MAX];
        char arch[32];          /* of the system (architecture) */
        char pkg_arch[32];      /* of the package: pkg_arch, else arch */
        char release_id[RELEASE_ID_MAX];
        struct pack_set files;
};

static bool element_exists(const struct problem_dir *pd, const char *name)
{
        return faccessat(pd->dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int read_release(struct client *c, struct crash *cr)
{
        struct error err;
        const char *names[4];
        size_t n = 0;
        if (element_exists(c->pd, "rootdir")) {
                names[n++] = "os_release_in_rootdir";
                names[n++] = "os_info_in_rootdir";
        }
        names[n++] = "os_release";
        names[n++] = "os_info";
        char *text = malloc(OS_INFO_MAX + 1);
        if (!text) {
                complain(c, "out of memory");
                return EXIT_ERROR;
        }
        int ret = EXIT_INPUT;
        size_t i;
        for (i = 0; i < n; i++) {
                int r = problem_dir_read(c->pd, names[i], text, OS_INFO_MAX + 1, &err);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        complain(c, "%s", err.msg);
                        break;
                }
                struct release rel;
                if (release_parse(text, &rel, &err) < 0 ||
                    release_id_make(&rel, cr->arch, cr->release_id, sizeof cr->release_id,
                                    &err) < 0) {
                        complain(c, "the release in '%s' cannot be used: %s", names[i], err.msg);
                        if (err.code == ENOTSUP)
                                ret = EXIT_NOT_SUPPORTED;
                        break;
                }
                ret = EXIT_OK;
                break;
        }
        if (i == n)
                complain(c, "the problem directory '%s' has no os_release", c->pd->path);
        free(text);
        return ret;
}

static int read_crash(struct client *c, struct crash *cr)
{
        struct error err;
        char q[QUOTE_BUF];
        memset(cr, 0, sizeof *cr);

        int r = problem_dir_read(c->pd, "package", cr->package, sizeof cr->package, &err);
        if (r < 0) {
                complain(c, "%s", err.msg);
                return EXIT_INPUT;
        }
        struct nevra n;
        if (nevra_parse_nevr(cr->package, &n, &err) < 0) {
                complain(c, "'package' in '%s': %s", c->pd->path, err.msg);
                return EXIT_INPUT;
        }
        r = problem_dir_read(c->pd, "architecture", cr->arch, sizeof cr->arch, &err);
        if (r == -ENOENT) {
                struct utsname u;
                uname(&u);
                snprintf(cr->arch, sizeof cr->arch, "%.31s", u.machine);
        } else if (r < 0) {
                complain(c, "%s", err.msg);
                return EXIT_INPUT;
        }
        r = problem_dir_read(c->pd, "pkg_arch", cr->pkg_arch, sizeof cr->pkg_arch, &err);
        if (r < 0 || !cr->pkg_arch[0])
                snprintf(cr->pkg_arch, sizeof cr->pkg_arch, "%s", cr->arch);
        if (!arch_known(cr->arch) || !arch_known(cr->pkg_arch)) {
                const char *bad = arch_known(cr->arch) ? cr->pkg_arch : cr->arch;
                complain(c, "the problem directory '%s' names an unknown architecture '%s'",
                         c->pd->path, error_quote(bad, q));
                return EXIT_INPUT;
        }
        int ret = read_release(c, cr);
        if (ret != EXIT_OK)
                return ret;
        if (pack_set_open(c->pd, &cr->files, &err) < 0) {
                complain(c, "%s", err.msg);
                return EXIT_INPUT;
        }
        return EXIT_OK;
}

/* --- create ------------------------------------------------------------------ */

static int wait_busy(struct client *c, double seconds, unsigned attempt, const char *why)
{
        if (seconds > c->opt.max_wait)
                seconds = c->opt.max_wait;
        char d[32];
        format_duration(seconds, d, sizeof d);
        progress_say(&c->prog, "%s; trying again in %s (%u of %u)", why, d, attempt + 1,
                     c->opt.retries);
        sleep_seconds(seconds);
        return 0;
}

/* Step 2: /settings, retried while the server is full. */
static int check_settings(struct client *c, const struct crash *cr, struct settings *s)
{
        char a[32], b[32];
        for (unsigned attempt = 0;; attempt++) {
                int ret = get_settings(c, s);
                if (ret != EXIT_OK)
                        return ret;
                if (s->formats && !settings_list_has(s->formats, PACK_CONTENT_TYPE)) {
                        complain(c, "the server does not accept xz-compressed tar archives "
                                 "(" PACK_CONTENT_TYPE "); it accepts: %s", s->formats);
                        return EXIT_UNSUPPORTED_TYPE;
                }
                if (s->releases && !settings_list_has(s->releases, cr->release_id)) {
                        complain(c, "the release '%s' is not supported by the server%s%s",
                                 cr->release_id,
                                 *s->releases ? "; it supports: " : " (it supports none yet)",
                                 s->releases);
                        return EXIT_NOT_SUPPORTED;
                }
                if (s->max_unpacked && cr->files.unpacked > s->max_unpacked) {
                        format_size(cr->files.unpacked, a, sizeof a);
                        format_size(s->max_unpacked, b, sizeof b);
                        complain(c, "the crash is %s unpacked, but the server accepts at most %s; "
                                 "retrace it locally", a, b);
                        return EXIT_TOO_LARGE;
                }
                if (s->max_running_tasks < 0 || s->running_tasks < s->max_running_tasks)
                        return EXIT_OK;
                char why[128];
                snprintf(why, sizeof why, "The server is fully occupied (%ld of %ld tasks)",
                         s->running_tasks, s->max_running_tasks);
                if (attempt >= c->opt.retries) {
                        complain(c, "%s; try again later", why);
                        return EXIT_BUSY;
                }
                wait_busy(c, DEFAULT_BUSY_WAIT, attempt, why);
        }
}

/* Step 3: /checkpackage. */
static int check_package(struct client *c, const struct crash *cr)
{
        char h_nvr[NEVRA_MAX + 32], h_arch[64], h_rel[RELEASE_ID_MAX + 32];
        snprintf(h_nvr, sizeof h_nvr, "X-Package-NVR: %s", cr->package);
        snprintf(h_arch, sizeof h_arch, "X-Package-Arch: %s", cr->pkg_arch);
        snprintf(h_rel, sizeof h_rel, "X-OS-Release: %s", cr->release_id);
        const char *headers[] = { h_nvr, h_arch, h_rel, NULL };
        struct http_request req = { .method = "GET", .path = "checkpackage", .headers = headers };
        struct http_response r = { 0 };
        struct error err;
        if (http_request(c->http, &req, &r, &err) < 0) {
                http_response_clear(&r);
                return fail_transport(c, &err);
        }
        int ret = EXIT_OK;
        if (r.status == 404) {
                char text[512];
                const char *t = body_text(&r, text, sizeof text);
                complain(c, "the server cannot retrace package '%s.%s' of %s%s%s", cr->package,
                         cr->pkg_arch, cr->release_id, *t ? ": " : "", t);
                complain(c, "is it part of the release's official repositories? "
                         "(--no-pkgcheck sends the crash anyway)");
                ret = EXIT_NOT_SUPPORTED;
        } else if (r.status != 302) {
                ret = fail_response(c, "checking the package", &r);
        } else if (c->opt.verbose) {
                progress_say(&c->prog, "The server knows %s.%s of %s", cr->package, cr->pkg_arch,
                             cr->release_id);
        }
        http_response_clear(&r);
        return ret;
}

struct packed {
        uint64_t size;
        char *kept;             /* the whole archive when size <= KEEP_MAX */
};

/* Step 4a: the counting pass. */
static int count_archive(struct client *c, const struct crash *cr, uint64_t limit,
                         struct packed *out)
{
        struct error err;
        struct packer *p;
        memset(out, 0, sizeof out[0]);
        if (packer_new(&cr->files, &p, &err) < 0) {
                complain(c, "%s", err.msg);
                return EXIT_ERROR;
        }
        char *buf = malloc(64 * 1024);
        out->kept = malloc(KEEP_MAX);
        if (!buf || !out->kept) {
                free(buf);
                free(out->kept);
                out->kept = NULL;
                packer_free(p);
                complain(c, "out of memory");
                return EXIT_ERROR;
        }
        double start = now_seconds();
        progress_begin(&c->prog, "Compressing", "Compressed");
        int ret = EXIT_OK;
        for (;;) {
                ssize_t n = packer_read(p, buf, 64 * 1024, &err);
                if (n < 0) {
                        complain(c, "%s", err.msg);
                        ret = EXIT_ERROR;
                        break;
                }
                if (n == 0)
                        break;
                if (out->kept && out->size + (uint64_t)n <= KEEP_MAX) {
                        memcpy(out->kept + out->size, buf, (size_t)n);
                } else {
                        free(out->kept);
                        out->kept = NULL;
                }
                out->size += (uint64_t)n;
                progress_update(&c->prog, packer_consumed(p), cr->files.unpacked);
                if (limit && out->size > limit) {
                        char a[32], b[32];
                        format_size(limit, b, sizeof b);
                        format_size(packer_consumed(p), a, sizeof a);
                        complain(c, "the archive would be larger than the %s the server accepts "
                                 "(more than that after compressing %s of the crash); "
                                 "retrace it locally", b, a);
                        ret = EXIT_TOO_LARGE;
                        break;
                }
        }
        size_t peak = packer_peak_buffer(p);
        packer_free(p);
        free(buf);
        if (ret == EXIT_OK && pack_set_check(&cr->files, &err) < 0) {
                complain(c, "%s", err.msg);
                ret = EXIT_ERROR;
        }
        if (ret != EXIT_OK) {
                free(out->kept);
                out->kept = NULL;
                progress_clear(&c->prog);
                return ret;
        }
        char a[32], b[32], d[32];
        format_size(cr->files.unpacked, a, sizeof a);
        format_size(out->size, b, sizeof b);
        format_duration(now_seconds() - start, d, sizeof d);
        progress_say(&c->prog, "Compressed %s to %s in %s", a, b, d);
        if (c->opt.verbose)
                progress_say(&c->prog, "(%" PRIu64 " bytes; largest output buffer %zu bytes; %s)",
                             out->size, peak,
                             out->kept ? "kept in memory" : "packed again while sent");
        return EXIT_OK;
}

/* Step 4b: the body of /create. */
struct upload {
        const struct pack_set *files;
        const struct packed *packed;
        struct packer *packer;
        uint64_t sent;
};

static ssize_t upload_read(void *arg, char *buf, size_t len, struct error *err)
{
        struct upload *u = arg;
        uint64_t left = u->packed->size - u->sent;
        if (len > left)
                len = (size_t)left;
        if (u->packed->kept) {
                memcpy(buf, u->packed->kept + u->sent, len);
                u->sent += len;
                return (ssize_t)len;
        }
        size_t got = 0;
        while (got < len) {
                ssize_t n = packer_read(u->packer, buf + got, len - got, err);
                if (n < 0)
                        return n;
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        u->sent += got;
        if (got < len || (len > 0 && got == 0))
                return error_set(err, ESTALE, "the problem directory changed while it was being "
                                 "sent: the archive came out shorter than counted");
        if (u->sent == u->packed->size) {
                /* Before the last bytes go: nothing more may follow. */
                char extra;
                ssize_t n = packer_read(u->packer, &extra, 1, err);
                if (n < 0)
                        return n;
                if (n > 0)
                        return error_set(err, ESTALE, "the problem directory changed while it was "
                                         "being sent: the archive came out longer than counted");
                if (pack_set_check(u->files, err) < 0)
                        return -ESTALE;
        }
        return (ssize_t)got;
}

static void upload_progress(void *arg, uint64_t sent, uint64_t total)
{
        struct client *c = arg;
        progress_update(&c->prog, sent, total);
}

static int post_create(struct client *c, const struct crash *cr, const struct packed *packed)
{
        struct error err;
        struct http_response r = { 0 };
        for (unsigned attempt = 0;; attempt++) {
                struct upload u = { .files = &cr->files, .packed = packed };
                if (!packed->kept) {
                        if (pack_set_check(&cr->files, &err) < 0 ||
                            packer_new(&cr->files, &u.packer, &err) < 0) {
                                complain(c, "%s", err.msg);
                                return EXIT_ERROR;
                        }
                }
                const char *headers[] = { "X-Task-Type: 0", NULL };
                struct http_request req = {
                        .method = "POST", .path = "create", .headers = headers,
                        .body_size = packed->size, .content_type = PACK_CONTENT_TYPE,
                        .body_reader = upload_read, .body_arg = &u,
                        .progress = upload_progress, .progress_arg = c,
                };
                progress_begin(&c->prog, "Uploading", "Uploaded");
                int rc = http_request(c->http, &req, &r, &err);
                packer_free(u.packer);
                if (rc < 0) {
                        http_response_clear(&r);
                        return fail_transport(c, &err);
                }
                if (r.status == 201) {
                        progress_end(&c->prog, packed->size);
                        break;
                }
                progress_clear(&c->prog);
                if (r.status == 503 && attempt < c->opt.retries) {
                        char text[256], why[400];
                        const char *t = body_text(&r, text, sizeof text);
                        snprintf(why, sizeof why, "The server is busy%s%s", *t ? ": " : "", t);
                        wait_busy(c, r.retry_after >= 0 ? (double)r.retry_after : DEFAULT_BUSY_WAIT,
                                  attempt, why);
                        continue;
                }
                int ret = fail_response(c, "creating the task", &r);
                http_response_clear(&r);
                return ret;
        }
        /* on_password already took the id and password (and stored them). */
        if (!task_id_valid(c->task_id) || !r.has_task_password) {
                complain(c, "creating the task failed: the server's answer has no valid "
                         "X-Task-Id and X-Task-Password");
                http_response_clear(&r);
                return EXIT_ERROR;
        }
        http_response_clear(&r);
        return EXIT_OK;
}

static int do_create(struct client *c)
{
        struct crash cr;
        int ret = read_crash(c, &cr);
        if (ret != EXIT_OK)
                return ret;
        struct settings s = { 0 };
        settings_clear(&s);
        struct packed packed = { 0 };
        ret = check_settings(c, &cr, &s);
        if (ret == EXIT_OK && !c->opt.no_pkgcheck)
                ret = check_package(c, &cr);
        if (ret == EXIT_OK)
                ret = count_archive(c, &cr, s.max_packed, &packed);
        if (ret == EXIT_OK) {
                c->store = true;
                c->creating = true;
                ret = post_create(c, &cr, &packed);
                c->creating = false;
        }
        free(packed.kept);
        settings_clear(&s);
        pack_set_close(&cr.files);
        return ret;
}

/* --- task requests --------------------------------------------------------- */

/* GET /<id><sub> with the current password; the body to sink when 200. */
static int task_get(struct client *c, const char *sub, FILE *sink, struct http_response *r)
{
        char path[64];
        snprintf(path, sizeof path, "%s%s", c->task_id, sub);
        struct http_request req = { .method = "GET", .path = path, .password = c->password,
                                    .sink = sink };
        struct error err;
        for (unsigned attempt = 0;; attempt++) {
                int rc = http_request(c->http, &req, r, &err);
                if (rc == 0)
                        return EXIT_OK;
                /* Not connected: nothing was sent, the password still holds. */
                if (rc == -ECONNREFUSED && attempt < c->opt.retries) {
                        progress_say(&c->prog, "%s; trying again in %.0f s", err.msg,
                                     c->opt.status_delay > 1 ? c->opt.status_delay : 1);
                        sleep_seconds(c->opt.status_delay > 1 ? c->opt.status_delay : 1);
                        continue;
                }
                return fail_transport(c, &err);
        }
}

static int op_status(struct client *c)
{
        struct http_response r = { 0 };
        int ret = task_get(c, "", NULL, &r);
        if (ret == EXIT_OK && r.status != 200)
                ret = fail_response(c, "asking for the task's status", &r);
        if (ret == EXIT_OK) {
                char st[64], pr[160];
                snprintf(st, sizeof st, "%s", r.task_status);
                snprintf(pr, sizeof pr, "%s", r.task_progress);
                sanitize(st, strlen(st));
                sanitize(pr, strlen(pr));
                printf("Task Status: %s\n", st);
                if (pr[0])
                        printf("Task Progress: %s\n", pr);
        }
        http_response_clear(&r);
        return ret;
}

static int op_fetch(struct client *c, const char *sub, const char *what)
{
        struct http_response r = { 0 };
        FILE *out = data_out();
        int ret = task_get(c, sub, out, &r);
        fflush(out);
        if (ret == EXIT_OK && r.status != 200) {
                char msg[64];
                snprintf(msg, sizeof msg, "fetching the task's %s", what);
                ret = fail_response(c, msg, &r);
        }
        http_response_clear(&r);
        return ret;
}

/* "Exploitable rating (0-9 scale): N"; else, as ABRT's client, the number
 * after the last colon. -1 when there is none. */
static int exploitable_rating(const char *text)
{
        const char *key = "Exploitable rating (0-9 scale):";
        const char *p = strstr(text, key);
        int n;
        if (p && sscanf(p + strlen(key), " %d", &n) == 1)
                return n;
        p = strrchr(text, ':');
        if (p && sscanf(p, ": %d", &n) == 1)
                return n;
        return -1;
}

static int op_exploitable(struct client *c)
{
        struct http_response r = { 0 };
        int ret = task_get(c, "/exploitable", NULL, &r);
        if (ret == EXIT_OK) {
                if (r.status == 404) {
                        puts("No exploitability information available.");
                } else if (r.status == 200) {
                        FILE *out = data_out();
                        fwrite(r.body ? r.body : "", 1, r.body_len, out);
                        if (r.body_len && r.body[r.body_len - 1] != '\n')
                                fputc('\n', out);
                        fflush(out);
                } else {
                        ret = fail_response(c, "fetching the exploitability rating", &r);
                }
        }
        http_response_clear(&r);
        return ret;
}

/* --- batch ----------------------------------------------------------------- */

static int poll_task(struct client *c, char *final_status, size_t len)
{
        char last[160] = "";
        double start = now_seconds();
        for (;;) {
                struct http_response r = { 0 };
                int ret = task_get(c, "", NULL, &r);
                if (ret == EXIT_OK && r.status != 200)
                        ret = fail_response(c, "asking for the task's status", &r);
                if (ret != EXIT_OK) {
                        http_response_clear(&r);
                        return ret;
                }
                char st[32], pr[128];
                snprintf(st, sizeof st, "%s", r.task_status);
                snprintf(pr, sizeof pr, "%s", r.task_progress[0] ? r.task_progress : r.task_status);
                sanitize(pr, strlen(pr));
                http_response_clear(&r);

                char line[200];
                if (c->prog.tty) {
                        char d[32];
                        format_duration(now_seconds() - start, d, sizeof d);
                        snprintf(line, sizeof line, "Task %s: %s (%s)", c->task_id, pr, d);
                        progress_status(&c->prog, line);
                } else if (strcmp(pr, last) != 0) {
                        snprintf(line, sizeof line, "Task %s: %s", c->task_id, pr);
                        progress_status(&c->prog, line);
                }
                snprintf(last, sizeof last, "%s", pr);

                if (strcmp(st, "FINISHED_SUCCESS") == 0 || strcmp(st, "FINISHED_FAILURE") == 0) {
                        if (c->prog.tty) {
                                progress_clear(&c->prog);
                                progress_say(&c->prog, "Task %s: %s", c->task_id, pr);
                        }
                        snprintf(final_status, len, "%s", st);
                        return EXIT_OK;
                }
                if (strcmp(st, "PENDING") != 0) {
                        sanitize(st, strlen(st));
                        complain(c, "the server reports an unknown task status '%s'", st);
                        return EXIT_ERROR;
                }
                sleep_seconds(c->opt.status_delay);
        }
}

/* Fetches the backtrace into w and renames it to "backtrace". */
static int save_backtrace_into(struct client *c, struct pd_write *w)
{
        struct error err;
        FILE *f = fdopen(w->fd, "w");
        if (!f) {
                complain(c, "cannot write the backtrace: %s", strerror(errno));
                problem_dir_write_abort(c->pd, w);
                return EXIT_ERROR;
        }
        struct http_response r = { 0 };
        int ret = task_get(c, "/backtrace", f, &r);
        if (ret == EXIT_OK && r.status != 200)
                ret = fail_response(c, "fetching the backtrace", &r);
        uint64_t size = r.sink_bytes;
        http_response_clear(&r);
        if (fflush(f) != 0 && ret == EXIT_OK) {
                complain(c, "cannot write the backtrace into '%s': %s", c->pd->path,
                         strerror(errno));
                ret = EXIT_ERROR;
        }
        /* The descriptor now belongs to f; commit fsyncs and closes a copy. */
        w->fd = dup(fileno(f));
        fclose(f);
        if (ret != EXIT_OK || w->fd < 0) {
                if (w->fd < 0)
                        (void)unlinkat(c->pd->dfd, w->tmp, 0);
                problem_dir_write_abort(c->pd, w);
                return ret != EXIT_OK ? ret : EXIT_ERROR;
        }
        if (problem_dir_write_commit(c->pd, w, PD_BACKTRACE, &err) < 0) {
                complain(c, "%s", err.msg);
                return EXIT_ERROR;
        }
        char s[32];
        format_size(size, s, sizeof s);
        progress_say(&c->prog, "Backtrace (%s) saved as %s/" PD_BACKTRACE, s, c->pd->path);
        return EXIT_OK;
}

/* A temporary file in the problem directory, removed when a signal ends
 * the client before it is renamed into place (ABRT would list it). */
static volatile sig_atomic_t tmp_dfd = -1;
static char tmp_name[sizeof ((struct pd_write *)0)->tmp];

static void on_fatal_signal(int sig)
{
        if (tmp_dfd >= 0)
                (void)unlinkat(tmp_dfd, tmp_name, 0);
        signal(sig, SIG_DFL);
        raise(sig);
}

static void tmp_guard(const struct problem_dir *pd, const struct pd_write *w)
{
        if (w) {
                memcpy(tmp_name, w->tmp, sizeof tmp_name);
                tmp_dfd = pd->dfd;
        } else {
                tmp_dfd = -1;
        }
}

static int save_backtrace(struct client *c)
{
        struct error err;
        struct pd_write w;
        if (problem_dir_write_begin(c->pd, &w, 0, &err) < 0) {
                complain(c, "%s", err.msg);
                return EXIT_ERROR;
        }
        tmp_guard(c->pd, &w);
        int ret = save_backtrace_into(c, &w);
        tmp_guard(NULL, NULL);
        return ret;
}

static int save_exploitable(struct client *c)
{
        struct http_response r = { 0 };
        int ret = task_get(c, "/exploitable", NULL, &r);
        if (ret != EXIT_OK) {
                http_response_clear(&r);
                return ret;
        }
        if (r.status == 404) {
                progress_say(&c->prog, "No exploitability rating");
        } else if (r.status != 200) {
                ret = fail_response(c, "fetching the exploitability rating", &r);
        } else {
                int rating = exploitable_rating(r.body ? r.body : "");
                if (rating >= MIN_EXPLOITABLE_RATING) {
                        struct error err;
                        if (problem_dir_save(c->pd, PD_EXPLOITABLE, r.body, r.body_len, 0,
                                             &err) < 0) {
                                complain(c, "%s", err.msg);
                                ret = EXIT_ERROR;
                        } else {
                                progress_say(&c->prog, "Exploitability rating %d saved as %s/"
                                             PD_EXPLOITABLE, rating, c->pd->path);
                        }
                } else {
                        progress_say(&c->prog, "Exploitability rating %d (below %d): not saved",
                                     rating, MIN_EXPLOITABLE_RATING);
                }
        }
        http_response_clear(&r);
        return ret;
}

static int op_batch(struct client *c)
{
        int ret = do_create(c);
        if (ret != EXIT_OK)
                return ret;
        progress_say(&c->prog, "Task %s created; its id and password are kept in %s", c->task_id,
                     c->pd->path);
        char status[32];
        ret = poll_task(c, status, sizeof status);
        if (ret != EXIT_OK)
                return ret;
        if (strcmp(status, "FINISHED_SUCCESS") == 0) {
                ret = save_backtrace(c);
                if (ret == EXIT_OK)
                        ret = save_exploitable(c);
                return ret;
        }
        complain(c, "the retrace failed; the task's log follows. Try again later, and if it "
                 "keeps failing, report it with this log");
        struct http_response r = { 0 };
        FILE *out = data_out();
        ret = task_get(c, "/log", out, &r);
        fflush(out);
        if (ret == EXIT_OK && r.status != 200)
                fail_response(c, "fetching the task's log", &r);
        http_response_clear(&r);
        return ret == EXIT_OK ? EXIT_RETRACE_FAILED : ret;
}

/* --- the id and password for task operations ------------------------------ */

static int load_task(struct client *c)
{
        struct error err;
        char q[QUOTE_BUF];
        if (c->opt.task || c->opt.password) {
                if (!c->opt.task || !c->opt.password) {
                        complain(c, "-t ID and -p PASSWORD go together (or use -d DIR)");
                        return EXIT_INPUT;
                }
                snprintf(c->task_id, sizeof c->task_id, "%s", c->opt.task);
                if (strlen(c->opt.password) > PASSWORD_LEN) {
                        complain(c, "invalid task password: not %d characters of [0-9A-Za-z]",
                                 PASSWORD_LEN);
                        return EXIT_INPUT;
                }
                snprintf(c->password, sizeof c->password, "%s", c->opt.password);
        } else if (c->pd) {
                if (problem_dir_read(c->pd, PD_TASK_ID, c->task_id, sizeof c->task_id, &err) < 0 ||
                    problem_dir_read(c->pd, PD_TASK_PASSWORD, c->password, sizeof c->password,
                                     &err) < 0) {
                        complain(c, "%s (no task was created from this directory?)", err.msg);
                        return EXIT_INPUT;
                }
                c->store = true;
        } else {
                complain(c, "which task? give -t ID -p PASSWORD, or -d DIR");
                return EXIT_INPUT;
        }
        if (!task_id_valid(c->task_id)) {
                complain(c, "invalid task id '%s': 9 digits", error_quote(c->task_id, q));
                return EXIT_INPUT;
        }
        if (!password_well_formed(c->password)) {
                complain(c, "invalid task password: not %d characters of [0-9A-Za-z]",
                         PASSWORD_LEN);
                return EXIT_INPUT;
        }
        return EXIT_OK;
}

/* --- main ------------------------------------------------------------------ */

static void usage(FILE *out)
{
        fprintf(out,
"Usage: retrace-client OPERATION [OPTION]...\n"
"Sends an ABRT problem directory to a Retrace Server and brings the backtrace back.\n"
"\n"
"Operations:\n"
"  batch        create a task from -d DIR, wait for it, save its backtrace in DIR\n"
"  create       create a task from -d DIR; print its id and password\n"
"  status       print a task's status\n"
"  log          print a task's log\n"
"  backtrace    print a task's backtrace\n"
"  exploitable  print a task's exploitability rating\n"
"\n"
"Options:\n"
"      --url URL            the server (default: $RETRACE_SERVER_URI, else " DEFAULT_URL ")\n"
"  -k, --insecure           do not verify the server's TLS certificate\n"
"  -d, --dir DIR            the ABRT problem directory; also keeps the task's id\n"
"                           and password (retrace_task_id, retrace_task_password)\n"
"  -t, --task ID            the task, for status, log, backtrace, exploitable\n"
"  -p, --password PASSWORD  its password\n"
"      --no-pkgcheck        do not ask the server whether it knows the package\n"
"  -l, --status-delay SECS  seconds between status requests (default 10)\n"
"      --retries N          tries again this often when the server is full (default 3)\n"
"      --max-wait SECS      wait at most this long before trying again (default 300)\n"
"  -v, --verbose            say more\n"
"  -h, --help               this text\n"
"      --version            the version\n"
"\n"
"Exit codes: 0 done, 1 usage or unusable problem directory, 2 connection or other\n"
"error, 3 forbidden (403), 4 too large (413), 5 unsupported format (415), 6 server\n"
"full (503), 7 server out of storage (507), 8 retrace failed, 9 release or package\n"
"not supported, 10 no such task or result (404). See retrace-client(1).\n");
}

static bool parse_seconds(const char *s, double *out)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 86400)
                return false;
        *out = v;
        return true;
}

int main(int argc, char **argv)
{
        struct client cl;
        memset(&cl, 0, sizeof cl);
        struct client *c = &cl;
        struct options *o = &c->opt;
        o->url = getenv("RETRACE_SERVER_URI");
        o->status_delay = DEFAULT_STATUS_DELAY;
        o->retries = DEFAULT_RETRIES;
        o->max_wait = DEFAULT_MAX_WAIT;
        const char *env = getenv("RETRACE_SERVER_INSECURE");
        if (env && strncmp(env, "insecure", 8) == 0)
                o->insecure = true;
        env = getenv("ABRT_STATUS_DELAY");
        if (env && *env && !parse_seconds(env, &o->status_delay)) {
                complain(NULL, "ABRT_STATUS_DELAY: not a number of seconds: '%s'", env);
                return EXIT_INPUT;
        }

        enum { OPT_URL = 256, OPT_NO_PKGCHECK, OPT_RETRIES, OPT_MAX_WAIT, OPT_VERSION };
        static const struct option longopts[] = {
                { "url", required_argument, NULL, OPT_URL },
                { "uri", required_argument, NULL, OPT_URL },    /* ABRT's spelling */
                { "insecure", no_argument, NULL, 'k' },
                { "dir", required_argument, NULL, 'd' },
                { "task", required_argument, NULL, 't' },
                { "password", required_argument, NULL, 'p' },
                { "no-pkgcheck", no_argument, NULL, OPT_NO_PKGCHECK },
                { "status-delay", required_argument, NULL, 'l' },
                { "retries", required_argument, NULL, OPT_RETRIES },
                { "max-wait", required_argument, NULL, OPT_MAX_WAIT },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        int ch;
        while ((ch = getopt_long(argc, argv, "kd:t:p:l:vh", longopts, NULL)) != -1) {
                switch (ch) {
                case OPT_URL: o->url = optarg; break;
                case 'k': o->insecure = true; break;
                case 'd': o->dir = optarg; break;
                case 't': o->task = optarg; break;
                case 'p': o->password = optarg; break;
                case OPT_NO_PKGCHECK: o->no_pkgcheck = true; break;
                case 'l':
                        if (!parse_seconds(optarg, &o->status_delay)) {
                                complain(NULL, "--status-delay: not a number of seconds: '%s'",
                                         optarg);
                                return EXIT_INPUT;
                        }
                        break;
                case OPT_RETRIES: {
                        char *end;
                        errno = 0;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || n > 1000 || optarg[0] == '-') {
                                complain(NULL, "--retries: not a number from 0 to 1000: '%s'",
                                         optarg);
                                return EXIT_INPUT;
                        }
                        o->retries = (unsigned)n;
                        break;
                }
                case OPT_MAX_WAIT:
                        if (!parse_seconds(optarg, &o->max_wait)) {
                                complain(NULL, "--max-wait: not a number of seconds: '%s'", optarg);
                                return EXIT_INPUT;
                        }
                        break;
                case 'v': o->verbose = true; break;
                case 'h': usage(stdout); return EXIT_OK;
                case OPT_VERSION: printf("retrace-client %s\n", PACKAGE_VERSION); return EXIT_OK;
                default: usage(stderr); return EXIT_INPUT;
                }
        }
        if (optind != argc - 1) {
                if (optind >= argc)
                        complain(NULL, "no operation given");
                else
                        complain(NULL, "one operation at a time");
                usage(stderr);
                return EXIT_INPUT;
        }
        const char *op = argv[optind];
        static const char *const ops[] = { "batch", "create", "status", "log", "backtrace",
                                           "exploitable" };
        size_t opi;
        for (opi = 0; opi < sizeof ops / sizeof ops[0]; opi++)
                if (strcasecmp(op, ops[opi]) == 0)
                        break;
        if (opi == sizeof ops / sizeof ops[0]) {
                complain(NULL, "unknown operation '%s'", op);
                usage(stderr);
                return EXIT_INPUT;
        }
        bool makes_task = opi <= 1;
        if (makes_task && !o->dir) {
                complain(NULL, "%s needs the problem directory: -d DIR", ops[opi]);
                return EXIT_INPUT;
        }
        if (makes_task && (o->task || o->password)) {
                complain(NULL, "%s makes a new task: -t and -p do not apply", ops[opi]);
                return EXIT_INPUT;
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, on_fatal_signal);
        signal(SIGTERM, on_fatal_signal);
        signal(SIGHUP, on_fatal_signal);
        progress_init(&c->prog, stderr, isatty(STDERR_FILENO));

        struct error err;
        int ret;
        if (o->dir && problem_dir_open(o->dir, &c->pd, &err) < 0) {
                complain(NULL, "%s", err.msg);
                return EXIT_INPUT;
        }
        if (!makes_task && (ret = load_task(c)) != EXIT_OK)
                goto out;
        if (http_new(o->url ? o->url : DEFAULT_URL, o->insecure, o->verbose, &c->http, &err) < 0) {
                complain(NULL, "%s", err.msg);
                ret = EXIT_INPUT;
                goto out;
        }
        http_set_password_hook(c->http, on_password, c);

        switch (opi) {
        case 0:
                ret = op_batch(c);
                break;
        case 1:
                ret = do_create(c);
                if (ret == EXIT_OK)
                        printf("Task Id: %s\nTask Password: %s\n", c->task_id, c->password);
                break;
        case 2:
                ret = op_status(c);
                break;
        case 3:
                ret = op_fetch(c, "/log", "log");
                break;
        case 4:
                ret = op_fetch(c, "/backtrace", "backtrace");
                break;
        default:
                ret = op_exploitable(c);
                break;
        }
        progress_clear(&c->prog);
        tell_unsaved_password(c);
out:
        http_free(c->http);
        problem_dir_free(c->pd);
        if (fflush(stdout) != 0 && ret == EXIT_OK)
                ret = EXIT_ERROR;
        return ret;
}

/* fetch.c: downloads with libcurl.
 *
 * fetch_run() is one thread driving a curl multi handle: up to
 * opt.parallel transfers at once, each streaming into DEST.part with
 * pwrite() (memory does not grow with file size). A try that fails for a
 * reason that may pass (connection error, timeout, HTTP 5xx/408/429, a
 * body cut short, a checksum or size mismatch) is tried again after
 * backoff_ms, doubling each time; HTTP 4xx and local errors are final.
 * A try fails after timeout_s without a byte (our own progress watch,
 * besides libcurl's low-speed limit, which averages over seconds).
 *
 * Resume: an existing DEST.part is continued with a Range request. A
 * server that ignores Range answers 200 with the whole file: the .part is
 * then truncated and written from the start (libcurl usually refuses such
 * an answer itself, CURLE_RANGE_ERROR; the job then starts over at once,
 * without Range and without counting a failed try). A 416 to a Range
 * request means the .part is as long as the file or longer: it is checked
 * as it is, and started over if that fails.
 *
 * A complete .part is fsync'ed, checked against the expected size and
 * checksum, renamed to DEST and the directory fsync'ed. A checksum or size
 * mismatch deletes the .part; a transfer cut short keeps it so the next
 * try (or the next run) continues it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "fetch.h"
#include "fsutil.h"

/* Paths are quoted longer than QUOTE_MAX: their last component matters. */
#define PATH_QUOTE_MAX 300
#define PATH_QUOTE_BUF QUOTE_SIZE(PATH_QUOTE_MAX)

static const char *qpath(const char *path, char buf[PATH_QUOTE_BUF])
{
        return error_quote_n(path, SIZE_MAX, PATH_QUOTE_MAX, buf);
}

#define URL_QUOTE_MAX 400
#define URL_QUOTE_BUF QUOTE_SIZE(URL_QUOTE_MAX)
#define BACKOFF_MAX_MS (10u * 60 * 1000)
#define POLL_MAX_MS 1000

struct fetcher {
        struct fetch_options opt;
        CURLM *multi;
        CURL *easy;             /* fetch_to_memory(); keeps its connections */
};

static const char *qurl(const char *url, char buf[URL_QUOTE_BUF])
{
        return error_quote_n(url, SIZE_MAX, URL_QUOTE_MAX, buf);
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t backoff_for(const struct fetch_options *opt, unsigned failures)
{
        uint64_t ms = opt->backoff_ms;
        for (unsigned i = 1; i < failures && ms < BACKOFF_MAX_MS; i++)
                ms *= 2;
        return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

static void sleep_ms(uint64_t ms)
{
        struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
                               .tv_nsec = (long)(ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* "No progress for timeout_s fails a try", exactly: libcurl's low-speed
 * check averages over several seconds, so after a burst of data it lets a
 * stalled transfer hang on for up to five seconds longer. */
struct stall_watch {
        uint64_t last_ms;
        curl_off_t last_bytes;
        unsigned timeout_s;
        bool stalled;
};

static int on_xferinfo(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        struct stall_watch *w = user;
        uint64_t now = now_ms();
        (void)dltotal;
        (void)ultotal;
        (void)ulnow;
        if (w->last_ms == 0 || dlnow != w->last_bytes) {
                w->last_ms = now;
                w->last_bytes = dlnow;
                return 0;
        }
        if (w->timeout_s > 0 && now - w->last_ms >= (uint64_t)w->timeout_s * 1000) {
                w->stalled = true;
                return 1;       /* CURLE_ABORTED_BY_CALLBACK */
        }
        return 0;
}

static void watch_stalls(CURL *e, struct stall_watch *w, unsigned timeout_s)
{
        *w = (struct stall_watch){ .last_ms = now_ms(), .timeout_s = timeout_s };
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, w);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
}

/* ---- fetcher -------------------------------------------------------------- */

int fetcher_new(const struct fetch_options *opt, struct fetcher **out, struct error *err)
{
        *out = NULL;
        if (opt->parallel < 1)
                return error_set(err, EINVAL, "parallel transfers must be at least 1");
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return error_set(err, ENOMEM, "cannot initialise libcurl");
        struct fetcher *f = calloc(1, sizeof *f);
        if (!f) {
                curl_global_cleanup();
                return error_set(err, ENOMEM, "out of memory");
        }
        f->opt = *opt;
        f->multi = curl_multi_init();
        f->easy = curl_easy_init();
        if (!f->multi || !f->easy) {
                fetcher_free(f);
                return error_set(err, ENOMEM, "cannot create a libcurl handle");
        }
        curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)opt->parallel * 2);
        *out = f;
        return 0;
}

void fetcher_free(struct fetcher *f)
{
        if (!f)
                return;
        if (f->easy)
                curl_easy_cleanup(f->easy);
        if (f->multi)
                curl_multi_cleanup(f->multi);
        free(f);
        curl_global_cleanup();
}

/* Options every transfer shares. */
static void setup_easy(const struct fetcher *f, CURL *e, const char *url, char *errbuf)
{
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
        /* A remote server must not redirect us into the local file system. */
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                         (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        if (f->opt.timeout_s > 0) {
                curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)f->opt.timeout_s);
                curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
                curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)f->opt.timeout_s);
        }
        curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "-reposync/" PACKAGE_VERSION);
        /* No CURLOPT_ACCEPT_ENCODING: files arrive byte for byte as the
         * checksums describe them. */
        errbuf[0] = '\0';
}

static bool is_http(CURL *e)
{
        const char *scheme = NULL;
        curl_easy_getinfo(e, CURLINFO_SCHEME, &scheme);
        return scheme && (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0);
}

static bool curl_retryable(CURLcode rc)
{
        switch (rc) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
        case CURLE_FILE_COULDNT_READ_FILE:
        case CURLE_REMOTE_ACCESS_DENIED:
        case CURLE_REMOTE_FILE_NOT_FOUND:
        case CURLE_TOO_MANY_REDIRECTS:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_LOGIN_DENIED:
        case CURLE_OUT_OF_MEMORY:
        case CURLE_FILESIZE_EXCEEDED:
                return false;
        default:
                return true;
        }
}

static int curl_errno(CURLcode rc)
{
        switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
                return ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return EHOSTUNREACH;
        case CURLE_FILE_COULDNT_READ_FILE:
        case CURLE_REMOTE_FILE_NOT_FOUND:
                return ENOENT;
        case CURLE_REMOTE_ACCESS_DENIED:
                return EACCES;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
                return EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return ENOMEM;
        case CURLE_PARTIAL_FILE:
                return EPIPE;
        default:
                return EIO;
        }
}

static int http_errno(long status)
{
        switch (status) {
        case 404:
        case 410:
                return ENOENT;
        case 401:
        case 403:
                return EACCES;
        case 408:
        case 504:
                return ETIMEDOUT;
        default:
                return EPROTO;
        }
}

static bool http_retryable(long status)
{
        return status >= 500 || status == 408 || status == 429;
}

/* The error of a transfer that ended in rc with HTTP status (0 when not
 * HTTP); true when another try may do better. */
static bool transfer_error(CURLcode rc, long status, const char *url, const char *errbuf,
                           const struct stall_watch *w, struct error *err)
{
        char q[URL_QUOTE_BUF];
        if (status >= 400) {
                error_set(err, http_errno(status), "HTTP %ld for %s", status, qurl(url, q));
                return http_retryable(status);
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK && w->stalled) {
                error_set(err, ETIMEDOUT, "cannot fetch %s: no data for %u seconds",
                          qurl(url, q), w->timeout_s);
                return true;
        }
        error_set(err, curl_errno(rc), "cannot fetch %s: %s", qurl(url, q),
                  errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return curl_retryable(rc);
}

/* ---- into memory ---------------------------------------------------------- */

struct membuf {
        CURL *easy;
        char *data;
        size_t len, cap, max;
        long status;
        bool too_big;
};

static size_t mem_write(char *p, size_t size, size_t n, void *user)
{
        struct membuf *m = user;
        size_t len = size * n;

        if (m->status == 0 && is_http(m->easy)) {
                curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &m->status);
                if (m->status >= 400)
                        return 0;       /* the body of an error page is of no use */
        }
        if (len > m->max - m->len) {
                m->too_big = true;
                return 0;
        }
        if (m->len + len + 1 > m->cap) {
                size_t cap = m->cap ? m->cap : 64 * 1024;
                while (cap < m->len + len + 1)
                        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
                if (cap > m->max + 1)
                        cap = m->max + 1;
                char *d = realloc(m->data, cap);
                if (!d)
                        return 0;
                m->data = d;
                m->cap = cap;
        }
        memcpy(m->data + m->len, p, len);
        m->len += len;
        return len;
}

int fetch_to_memory(struct fetcher *f, const char *url, size_t max, char **data,
                    size_t *len, struct error *err)
{
        char errbuf[CURL_ERROR_SIZE], q[URL_QUOTE_BUF];
        unsigned failures = 0;

        *data = NULL;
        *len = 0;
        if (max == SIZE_MAX)
                max--;
        for (;;) {
                struct membuf m = { .easy = f->easy, .max = max };
                struct stall_watch watch;
                curl_easy_reset(f->easy);
                setup_easy(f, f->easy, url, errbuf);
                watch_stalls(f->easy, &watch, f->opt.timeout_s);
                curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, mem_write);
                curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, &m);
                CURLcode rc = curl_easy_perform(f->easy);

                long status = 0;
                if (is_http(f->easy))
                        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
                bool retry;
                int r;
                if (m.too_big) {
                        r = error_set(err, EFBIG, "%s is larger than %zu bytes",
                                      qurl(url, q), max);
                        retry = false;
                } else if (rc == CURLE_OK && status < 400) {
                        if (!m.data && !(m.data = malloc(1))) {
                                return error_set(err, ENOMEM, "out of memory for %s",
                                                 qurl(url, q));
                        }
                        m.data[m.len] = '\0';
                        *data = m.data;
                        *len = m.len;
                        return 0;
                } else if (rc == CURLE_WRITE_ERROR && status < 400) {
                        r = error_set(err, ENOMEM, "out of memory for %s", qurl(url, q));
                        retry = false;
                } else {
                        retry = transfer_error(rc, status, url, errbuf, &watch, err);
                        r = err ? -err->code : -EIO;
                }
                free(m.data);
                if (!retry || failures >= f->opt.retries)
                        return r;
                failures++;
                sleep_ms(backoff_for(&f->opt, failures));
        }
}

/* ---- checksums ------------------------------------------------------------ */

static const EVP_MD *digest_by_name(const char *type)
{
        static const struct {
                const char *name;
                const EVP_MD *(*md)(void);
        } map[] = {
                { "sha256", EVP_sha256 }, { "sha512", EVP_sha512 },
                { "sha1", EVP_sha1 },     { "sha", EVP_sha1 },
                { "sha224", EVP_sha224 }, { "sha384", EVP_sha384 },
                { "md5", EVP_md5 },
        };
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (strcmp(type, map[i].name) == 0)
                        return map[i].md();
        return NULL;
}

int file_checksum(const char *path, const char *type, char out[129], struct error *err)
{
        char q[PATH_QUOTE_BUF];
        const EVP_MD *md = digest_by_name(type);
        out[0] = '\0';
        if (!md)
                return error_set(err, EINVAL, "unknown checksum type '%s'",
                                 error_quote(type, q));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot open '%s'", qpath(path, q));
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
                EVP_MD_CTX_free(ctx);
                close(fd);
                return error_set(err, ENOMEM, "cannot compute a %s digest", type);
        }
        unsigned char buf[64 * 1024];
        int r = 0;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = error_set_errno(err, errno, "cannot read '%s'", qpath(path, q));
                        break;
                }
                if (n == 0)
                        break;
                EVP_DigestUpdate(ctx, buf, (size_t)n);
        }
        close(fd);
        unsigned char dig[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        if (r == 0 && EVP_DigestFinal_ex(ctx, dig, &dlen)) {
                for (unsigned i = 0; i < dlen && i < 64; i++)
                        snprintf(out + 2 * i, 3, "%02x", dig[i]);
        } else if (r == 0) {
                r = error_set(err, EIO, "cannot compute a %s digest", type);
        }
        EVP_MD_CTX_free(ctx);
        return r;
}

/* ---- many files ----------------------------------------------------------- */

enum xfer_state { XFER_PENDING, XFER_ACTIVE, XFER_DONE };

struct xfer {
        struct fetch_job *job;
        struct fetcher *f;
        enum xfer_state state;
        CURL *easy;
        int fd;
        char *part;
        uint64_t resume_from;   /* .part length when the try started */
        uint64_t offset;        /* where the next byte goes */
        long status;            /* HTTP status, read at the first byte */
        bool status_seen;
        bool too_large;         /* more bytes than job->size */
        bool no_range;          /* the server ignored Range: do not ask again */
        int write_errno;
        unsigned failures;
        uint64_t ready_at;
        uint64_t *bytes_done;
        struct stall_watch watch;
        char errbuf[CURL_ERROR_SIZE];
};

struct run {
        struct fetcher *f;
        struct xfer *x;
        size_t count;
        size_t next_fresh;      /* jobs before it have been started once */
        struct xfer **waiting;  /* tries to start again (after back-off) */
        size_t nwaiting;
        size_t active, finished, failed;
        uint64_t bytes_done;
        fetch_done_fn done;
        void *user;
};

static size_t part_write(char *p, size_t size, size_t n, void *user)
{
        struct xfer *x = user;
        size_t len = size * n;

        if (!x->status_seen) {
                x->status_seen = true;
                if (is_http(x->easy)) {
                        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
                        if (x->status >= 400)
                                return 0;       /* no error page in the .part */
                        if (x->status == 200 && x->offset > 0) {
                                /* Range ignored: the whole file follows. */
                                x->offset = 0;
                                x->no_range = true;
                                if (ftruncate(x->fd, 0) < 0) {
                                        x->write_errno = errno;
                                        return 0;
                                }
                        }
                }
        }
        if (x->job->size && (x->offset > x->job->size || len > x->job->size - x->offset)) {
                x->too_large = true;
                return 0;
        }
        int w = fd_pwrite_all(x->fd, p, len, (off_t)x->offset);
        if (w < 0) {
                x->write_errno = -w;
                return 0;
        }
        x->offset += len;
        *x->bytes_done += len;
        return len;
}

static int fsync_dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');
        char *dir = !slash ? strdup(".") : slash == path ? strdup("/")
                                         : strndup(path, (size_t)(slash - path));
        if (!dir)
                return -ENOMEM;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        free(dir);
        if (fd < 0)
                return -errno;
        int r = fsync(fd) < 0 && errno != EINVAL ? -errno : 0;
        close(fd);
        return r;
}

static void close_part(struct xfer *x)
{
        if (x->fd >= 0)
                close(x->fd);
        x->fd = -1;
}

/* Checks the complete .part and renames it. 0 when dest is in place;
 * 1 when the .part is wrong (deleted, a failed try); negative for a
 * local error. */
static int finish_part(struct xfer *x, struct error *err)
{
        struct fetch_job *job = x->job;
        char q[PATH_QUOTE_BUF], u[URL_QUOTE_BUF];
        struct stat st;

        if (fsync(x->fd) < 0 || fstat(x->fd, &st) < 0) {
                int e = errno;
                close_part(x);
                return error_set_errno(err, e, "cannot write '%s'", qpath(x->part, q));
        }
        close_part(x);
        uint64_t got = (uint64_t)st.st_size;
        if (job->size && got != job->size) {
                error_set(err, got < job->size ? EPIPE : EBADMSG,
                          "%s: got %llu bytes, expected %llu", qurl(job->url, u),
                          (unsigned long long)got, (unsigned long long)job->size);
                if (got > job->size)
                        unlink(x->part);
                return 1;
        }
        if (job->checksum_type && job->checksum) {
                char hex[129];
                struct error e2;
                int r = file_checksum(x->part, job->checksum_type, hex, &e2);
                if (r == -EINVAL) {
                        unlink(x->part);
                        return error_set(err, EINVAL, "%s: %s", qurl(job->url, u), e2.msg);
                }
                if (r < 0) {
                        if (err)
                                *err = e2;
                        return r;
                }
                if (strcasecmp(hex, job->checksum) != 0) {
                        char want[QUOTE_SIZE(128)];
                        error_set(err, EBADMSG, "%s: checksum mismatch: %s %s, expected %s",
                                  qurl(job->url, u), job->checksum_type, hex,
                                  error_quote_n(job->checksum, SIZE_MAX, 128, want));
                        unlink(x->part);
                        return 1;
                }
        }
        if (rename(x->part, job->dest) < 0)
                return error_set_errno(err, errno, "cannot rename '%s' to its final name",
                                       qpath(x->part, q));
        int r = fsync_dir_of(job->dest);
        if (r < 0)
                return error_set_errno(err, -r, "cannot sync the directory of '%s'",
                                       qpath(job->dest, q));
        return 0;
}

static void job_finished(struct run *run, struct xfer *x, int result)
{
        x->state = XFER_DONE;
        x->job->result = result;
        if (result == 0) {
                x->job->err.code = 0;
                x->job->err.msg[0] = '\0';
        } else {
                run->failed++;
        }
        run->finished++;
        if (run->done)
                run->done(run->user, x->job);
}

static int push_waiting(struct run *run, struct xfer *x, uint64_t at)
{
        x->state = XFER_PENDING;
        x->ready_at = at;
        struct xfer **w = realloc(run->waiting, (run->nwaiting + 1) * sizeof *w);
        if (!w)
                return -ENOMEM;
        run->waiting = w;
        run->waiting[run->nwaiting++] = x;
        return 0;
}

/* A try failed (job->err says why): again later, or the job has failed. */
static void try_failed(struct run *run, struct xfer *x, bool retry)
{
        if (retry && x->failures < run->f->opt.retries) {
                x->failures++;
                uint64_t at = now_ms() + backoff_for(&run->f->opt, x->failures);
                if (push_waiting(run, x, at) == 0)
                        return;
        }
        job_finished(run, x, -x->job->err.code);
}

/* The try is over without an error from libcurl's side worth reporting:
 * check the file and put it in place. */
static void complete_part(struct run *run, struct xfer *x)
{
        int r = finish_part(x, &x->job->err);
        if (r == 0)
                job_finished(run, x, 0);
        else if (r == 1)
                try_failed(run, x, true);
        else
                job_finished(run, x, r);
}

static void start(struct run *run, struct xfer *x)
{
        struct fetch_job *job = x->job;
        char q[PATH_QUOTE_BUF];
        struct stat st;

        job->tries++;
        x->status = 0;
        x->status_seen = x->too_large = false;
        x->write_errno = 0;
        if (!x->part) {
                size_t n = strlen(job->dest);
                x->part = malloc(n + sizeof ".part");
                if (!x->part) {
                        job_finished(run, x, error_set(&job->err, ENOMEM, "out of memory"));
                        return;
                }
                memcpy(x->part, job->dest, n);
                memcpy(x->part + n, ".part", sizeof ".part");
        }
        x->fd = open(x->part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (x->fd < 0 || fstat(x->fd, &st) < 0) {
                int e = errno;
                close_part(x);
                job_finished(run, x, error_set_errno(&job->err, e, "cannot open '%s'",
                                                     qpath(x->part, q)));
                return;
        }
        x->resume_from = (uint64_t)st.st_size;
        if (x->resume_from > 0 &&
            (x->no_range || (job->size && x->resume_from > job->size))) {
                if (ftruncate(x->fd, 0) < 0) {
                        int e = errno;
                        close_part(x);
                        job_finished(run, x, error_set_errno(&job->err, e, "cannot truncate '%s'",
                                                             qpath(x->part, q)));
                        return;
                }
                x->resume_from = 0;
        }
        x->offset = x->resume_from;
        if (job->size && x->resume_from == job->size) {
                /* Left complete by an earlier run: check it, no transfer. */
                complete_part(run, x);
                return;
        }

        x->easy = curl_easy_init();
        if (!x->easy) {
                close_part(x);
                job_finished(run, x, error_set(&job->err, ENOMEM, "cannot create a libcurl handle"));
                return;
        }
        setup_easy(run->f, x->easy, job->url, x->errbuf);
        watch_stalls(x->easy, &x->watch, run->f->opt.timeout_s);
        curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, part_write);
        curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
        if (x->resume_from > 0)
                curl_easy_setopt(x->easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->resume_from);
        if (curl_multi_add_handle(run->f->multi, x->easy) != CURLM_OK) {
                curl_easy_cleanup(x->easy);
                x->easy = NULL;
                close_part(x);
                job_finished(run, x, error_set(&job->err, ENOMEM, "cannot start a transfer"));
                return;
        }
        x->state = XFER_ACTIVE;
        run->active++;
}

static void transfer_done(struct run *run, struct xfer *x, CURLcode rc)
{
        struct fetch_job *job = x->job;
        char q[PATH_QUOTE_BUF];
        long status = 0;
        bool http = is_http(x->easy);

        if (http)
                curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(run->f->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        run->active--;

        if (x->write_errno) {
                close_part(x);
                job_finished(run, x, error_set_errno(&job->err, x->write_errno, "cannot write '%s'",
                                                     qpath(x->part, q)));
                return;
        }
        if (status == 416 && x->resume_from > 0) {
                /* The .part is as long as the file, or longer. Without a
                 * checksum or size to tell, it cannot be trusted. */
                if (job->size || (job->checksum_type && job->checksum)) {
                        int r = finish_part(x, &job->err);
                        if (r == 0) {
                                job_finished(run, x, 0);
                                return;
                        }
                        if (r < 0) {
                                job_finished(run, x, r);
                                return;
                        }
                } else {
                        close_part(x);
                }
                unlink(x->part);
                x->no_range = true;
                if (push_waiting(run, x, now_ms()) < 0)
                        job_finished(run, x, error_set(&job->err, ENOMEM, "out of memory"));
                return;
        }
        if (rc == CURLE_RANGE_ERROR && x->resume_from > 0 && !x->no_range && status < 400) {
                /* libcurl refused a 200 to our Range request: start over. */
                close_part(x);
                x->no_range = true;
                if (push_waiting(run, x, now_ms()) < 0)
                        job_finished(run, x, error_set(&job->err, ENOMEM, "out of memory"));
                return;
        }
        if (x->too_large) {
                char u[URL_QUOTE_BUF];
                close_part(x);
                unlink(x->part);
                error_set(&job->err, EBADMSG, "%s: more than the expected %llu bytes",
                          qurl(job->url, u), (unsigned long long)job->size);
                try_failed(run, x, true);
                return;
        }
        if (status >= 400 || rc != CURLE_OK) {
                close_part(x);
                bool retry = transfer_error(rc, status, job->url, x->errbuf, &x->watch,
                                            &job->err);
                if (!retry && status >= 400)
                        unlink(x->part);        /* stale: the file is gone */
                try_failed(run, x, retry);
                return;
        }
        complete_part(run, x);
}

int fetch_run(struct fetcher *f, struct fetch_job *jobs, size_t count,
              fetch_progress_fn progress, fetch_done_fn done, void *user)
{
        struct run run = { .f = f, .count = count, .done = done, .user = user };

        for (size_t i = 0; i < count; i++) {
                jobs[i].result = 0;
                jobs[i].tries = 0;
                jobs[i].err.code = 0;
                jobs[i].err.msg[0] = '\0';
        }
        run.x = calloc(count ? count : 1, sizeof *run.x);
        if (!run.x) {
                for (size_t i = 0; i < count; i++)
                        jobs[i].result = error_set(&jobs[i].err, ENOMEM, "out of memory");
                return count > INT_MAX ? -INT_MAX : -(int)count;
        }
        for (size_t i = 0; i < count; i++) {
                run.x[i].job = &jobs[i];
                run.x[i].f = f;
                run.x[i].fd = -1;
                run.x[i].bytes_done = &run.bytes_done;
        }

        uint64_t reported_bytes = 0;
        size_t reported_done = 0;
        while (run.finished < count) {
                uint64_t now = now_ms(), next_ready = UINT64_MAX;

                /* Tries due again first, then jobs not started yet. */
                for (size_t i = 0; i < run.nwaiting && run.active < f->opt.parallel;) {
                        struct xfer *x = run.waiting[i];
                        if (x->ready_at <= now) {
                                run.waiting[i] = run.waiting[--run.nwaiting];
                                start(&run, x);
                        } else {
                                i++;
                        }
                }
                while (run.next_fresh < count && run.active < f->opt.parallel)
                        start(&run, &run.x[run.next_fresh++]);
                for (size_t i = 0; i < run.nwaiting; i++)
                        if (run.waiting[i]->ready_at < next_ready)
                                next_ready = run.waiting[i]->ready_at;

                int running = 0;
                curl_multi_perform(f->multi, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(f->multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        char *priv = NULL;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
                        transfer_done(&run, (struct xfer *)(void *)priv, msg->data.result);
                }

                if (progress && (run.bytes_done != reported_bytes ||
                                 run.finished != reported_done)) {
                        reported_bytes = run.bytes_done;
                        reported_done = run.finished;
                        progress(user, run.bytes_done, run.finished - run.failed, run.failed);
                }
                if (run.finished == count)
                        break;
                /* Something finished: new transfers can start at once. */
                if (run.active < f->opt.parallel &&
                    (run.next_fresh < count || next_ready <= now_ms()))
                        continue;

                long timeout = -1;
                curl_multi_timeout(f->multi, &timeout);
                if (timeout < 0 || timeout > POLL_MAX_MS)
                        timeout = POLL_MAX_MS;
                if (next_ready != UINT64_MAX) {
                        uint64_t n = now_ms();
                        uint64_t wait = next_ready > n ? next_ready - n : 0;
                        if (wait < (uint64_t)timeout)
                                timeout = (long)wait;
                }
                if (run.active > 0)
                        curl_multi_poll(f->multi, NULL, 0, (int)timeout, NULL);
                else if (timeout > 0)
                        sleep_ms((uint64_t)timeout);
        }

        for (size_t i = 0; i < count; i++) {
                struct xfer *x = &run.x[i];
                if (x->easy) {
                        curl_multi_remove_handle(f->multi, x->easy);
                        curl_easy_cleanup(x->easy);
                }
                close_part(x);
                free(x->part);
        }
        free(run.waiting);
        free(run.x);
        return run.failed > INT_MAX ? -INT_MAX : -(int)run.failed;
}

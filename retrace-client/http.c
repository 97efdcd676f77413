#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"

#define CONNECT_TIMEOUT 30L
/* An upload's answer comes once the server has unpacked and checked the
 * whole archive; a stall shorter than this is not a failure. */
#define STALL_TIMEOUT 600L
#define USER_AGENT "retrace-client/" PACKAGE_VERSION

struct http {
        CURL *curl;
        char *base;             /* without trailing '/' */
        bool verbose;
        http_password_hook hook;
        void *hook_arg;
};

/* The request in flight, seen by the callbacks. */
struct exchange {
        struct http *h;
        const struct http_request *req;
        struct http_response *resp;
        struct error *err;
        bool failed;            /* a callback set err */
        bool final;             /* the final (non-1xx) response's headers are complete */
        uint64_t sent;
        int sink_errno;
};

int http_new(const char *url, bool insecure, bool verbose, struct http **out, struct error *err)
{
        char q[QUOTE_BUF];
        *out = NULL;
        if (!url || !*url)
                return error_set(err, EINVAL, "no server URL given");
        for (const char *s = url; *s; s++)
                if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
                        return error_set(err, EINVAL, "invalid server URL '%s'",
                                         error_quote(url, q));
        const char *scheme = strstr(url, "://");
        if (scheme && strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
                return error_set(err, EINVAL, "invalid server URL '%s': only http:// and https:// "
                                 "are supported", error_quote(url, q));
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return error_set(err, EIO, "cannot initialise libcurl");
        struct http *h = calloc(1, sizeof *h);
        if (!h) {
                curl_global_cleanup();
                return error_set(err, ENOMEM, "out of memory");
        }
        size_t len = strlen(url);
        while (len > 0 && url[len - 1] == '/')
                len--;
        h->base = malloc(len + sizeof "https://");
        h->curl = curl_easy_init();
        if (!h->base || !h->curl) {
                http_free(h);
                return error_set(err, ENOMEM, "out of memory");
        }
        snprintf(h->base, len + sizeof "https://", "%s%.*s", scheme ? "" : "https://", (int)len,
                 url);
        h->verbose = verbose;

        CURL *c = h->curl;
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        if (insecure) {
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        *out = h;
        return 0;
}

void http_free(struct http *h)
{
        if (!h)
                return;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        free(h->base);
        free(h);
        curl_global_cleanup();
}

void http_set_password_hook(struct http *h, http_password_hook hook, void *arg)
{
        h->hook = hook;
        h->hook_arg = arg;
}

const char *http_url(const struct http *h)
{
        return h->base;
}

void http_response_clear(struct http_response *resp)
{
        free(resp->body);
        memset(resp, 0, sizeof *resp);
        resp->retry_after = -1;
}

long http_parse_retry_after(const char *value, long now)
{
        while (*value == ' ' || *value == '\t')
                value++;
        if (isdigit((unsigned char)*value)) {
                char *end;
                errno = 0;
                long s = strtol(value, &end, 10);
                while (*end == ' ' || *end == '\t')
                        end++;
                if (errno || *end)
                        return -1;
                return s;
        }
        time_t t = curl_getdate(value, NULL);
        if (t < 0)
                return -1;
        return t > now ? (long)(t - now) : 0;
}

/* --- callbacks ---------------------------------------------------------- */

static void copy_value(char *dst, size_t cap, const char *v, size_t len)
{
        size_t n = len < cap - 1 ? len : cap - 1;
        memcpy(dst, v, n);
        dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nitems, void *arg)
{
        struct exchange *x = arg;
        struct http_response *resp = x->resp;
        size_t total = size * nitems;
        size_t len = total;
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
                len--;

        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                /* A new response (after a 100 Continue, say): start over. */
                char *body = resp->body;
                memset(resp, 0, sizeof *resp);
                resp->body = body;
                resp->retry_after = -1;
                const char *sp = memchr(data, ' ', len);
                if (sp)
                        resp->status = strtol(sp + 1, NULL, 10);
                return total;
        }
        if (len == 0) {
                if (resp->status >= 200) {
                        x->final = true;
                        if (resp->has_task_password && x->h->hook &&
                            x->h->hook(x->h->hook_arg, resp, x->err) < 0) {
                                x->failed = true;
                                return 0;       /* aborts the transfer */
                        }
                }
                return total;
        }
        const char *colon = memchr(data, ':', len);
        if (!colon)
                return total;
        size_t nlen = (size_t)(colon - data);
        const char *v = colon + 1;
        size_t vlen = len - nlen - 1;
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vlen--;
        }
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;

#define IS(name) (nlen == sizeof name - 1 && strncasecmp(data, name, nlen) == 0)
        if (IS("X-Task-Id")) {
                copy_value(resp->task_id, sizeof resp->task_id, v, vlen);
        } else if (IS("X-Task-Status")) {
                copy_value(resp->task_status, sizeof resp->task_status, v, vlen);
        } else if (IS("X-Task-Progress")) {
                copy_value(resp->task_progress, sizeof resp->task_progress, v, vlen);
        } else if (IS("X-Task-Password")) {
                char pw[PASSWORD_LEN + 2];
                copy_value(pw, sizeof pw, v, vlen);
                if (vlen != PASSWORD_LEN || !password_well_formed(pw)) {
                        error_set(x->err, EPROTO, "the server sent a malformed X-Task-Password "
                                  "(%zu characters, not %d of [0-9A-Za-z])", vlen, PASSWORD_LEN);
                        x->failed = true;
                        return 0;
                }
                memcpy(resp->task_password, pw, PASSWORD_LEN + 1);
                resp->has_task_password = true;
        } else if (IS("Retry-After")) {
                char buf[64];
                copy_value(buf, sizeof buf, v, vlen);
                resp->retry_after = http_parse_retry_after(buf, (long)time(NULL));
        }
#undef IS
        return total;
}

static size_t on_body(char *data, size_t size, size_t nitems, void *arg)
{
        struct exchange *x = arg;
        struct http_response *resp = x->resp;
        size_t n = size * nitems;
        if (x->req->sink && resp->status == 200) {
                if (fwrite(data, 1, n, x->req->sink) != n) {
                        x->sink_errno = errno ? errno : EIO;
                        return 0;
                }
                resp->sink_bytes += n;
                return n;
        }
        size_t room = HTTP_MEMORY_MAX - resp->body_len;
        size_t take = n < room ? n : room;
        if (take < n)
                resp->body_cut = true;
        if (take > 0) {
                char *grown = realloc(resp->body, resp->body_len + take + 1);
                if (!grown) {
                        error_set(x->err, ENOMEM, "out of memory");
                        x->failed = true;
                        return 0;
                }
                resp->body = grown;
                memcpy(resp->body + resp->body_len, data, take);
                resp->body_len += take;
                resp->body[resp->body_len] = '\0';
        }
        return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
        struct exchange *x = arg;
        const struct http_request *req = x->req;
        size_t len = size * nitems;
        /* libcurl would send whatever we give it, past Content-Length too. */
        uint64_t left = req->body_size - x->sent;
        if (len > left)
                len = (size_t)left;
        if (len == 0)
                return 0;
        ssize_t n = req->body_reader(req->body_arg, buf, len, x->err);
        if (n < 0) {
                x->failed = true;
                return CURL_READFUNC_ABORT;
        }
        x->sent += (uint64_t)n;
        return (size_t)n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        (void)dltotal;
        (void)dlnow;
        (void)ultotal;
        struct exchange *x = arg;
        if (x->req->progress && x->req->body_reader)
                x->req->progress(x->req->progress_arg, (uint64_t)ulnow, x->req->body_size);
        return 0;
}

/* --- requests ------------------------------------------------------------ */

static struct curl_slist *add_header(struct curl_slist *list, const char *h, bool *oom)
{
        struct curl_slist *l = curl_slist_append(list, h);
        if (!l)
                *oom = true;
        return l ? l : list;
}

int http_request(struct http *h, const struct http_request *req, struct http_response *resp,
                 struct error *err)
{
        char q[QUOTE_BUF];
        http_response_clear(resp);
        size_t ulen = strlen(h->base) + strlen(req->path) + 2;
        char *url = malloc(ulen);
        if (!url)
                return error_set(err, ENOMEM, "out of memory");
        snprintf(url, ulen, "%s/%s", h->base, req->path);

        bool oom = false;
        struct curl_slist *headers = NULL;
        char line[256];
        if (req->password) {
                snprintf(line, sizeof line, "X-Task-Password: %s", req->password);
                headers = add_header(headers, line, &oom);
        }
        if (req->content_type) {
                snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
                headers = add_header(headers, line, &oom);
        }
        for (size_t i = 0; req->headers && req->headers[i]; i++)
                headers = add_header(headers, req->headers[i], &oom);
        if (oom) {
                curl_slist_free_all(headers);
                free(url);
                return error_set(err, ENOMEM, "out of memory");
        }

        struct exchange x = { .h = h, .req = req, .resp = resp, .err = err };
        CURL *c = h->curl;
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        if (strcmp(req->method, "POST") == 0) {
                curl_easy_setopt(c, CURLOPT_POST, 1L);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(c, CURLOPT_READDATA, &x);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_size);
                curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
                curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
        } else {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
        }
        if (h->verbose)
                fprintf(stderr, "retrace-client: > %s %s\n", req->method, url);

        CURLcode rc = curl_easy_perform(c);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
        curl_slist_free_all(headers);

        int ret = 0;
        if (x.failed) {
                ret = -(err && err->code ? err->code : EIO);
        } else if (x.sink_errno) {
                ret = error_set_errno(err, x.sink_errno, "cannot write the answer of '%s'",
                                      error_quote(url, q));
        } else if (rc != CURLE_OK) {
                const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
                int code;
                switch (rc) {
                case CURLE_COULDNT_RESOLVE_HOST:
                case CURLE_COULDNT_RESOLVE_PROXY:
                case CURLE_COULDNT_CONNECT:
                        code = ECONNREFUSED;
                        break;
                case CURLE_OPERATION_TIMEDOUT:
                        code = ETIMEDOUT;
                        break;
                case CURLE_PEER_FAILED_VERIFICATION:
                case CURLE_SSL_CONNECT_ERROR:
                case CURLE_SSL_CERTPROBLEM:
                case CURLE_SSL_CACERT_BADFILE:
                        code = EPROTO;
                        break;
                default:
                        code = EIO;
                }
                ret = error_set(err, code, "%s %s failed: %s%s", req->method, url, why,
                                code == EPROTO ? " (-k accepts a certificate that cannot be "
                                                 "verified)" : "");
        } else if (!x.final) {
                ret = error_set(err, EPROTO, "%s %s: no complete answer", req->method, url);
        }
        if (ret == 0 && h->verbose)
                fprintf(stderr, "retrace-client: < %ld%s\n", resp->status,
                        resp->has_task_password ? " (with the next task password)" : "");
        free(url);
        return ret;
}

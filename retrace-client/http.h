/* http.h: requests to a Retrace Server with libcurl.
 *
 * One session keeps one connection alive across requests. A request names
 * a path relative to the server's URL ("settings", "123456789/log"). Any
 * answer with a status line is a response (the caller maps its status);
 * only transport failures (no connection, TLS, timeout) are errors.
 *
 * Task passwords: every response's X-Task-Password, whatever its status,
 * is handed to the session's password hook as soon as the response's
 * headers are complete, before its body is read, so that a client that
 * dies while the body arrives still has the password it must use next.
 * A server that does not rotate sends no such header; the hook is then
 * never called.
 */
#ifndef RETRACE_CLIENT_HTTP_H
#define RETRACE_CLIENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "password.h"

struct http;

struct http_response;

/* Called with each response that carries a new password (in
 * resp->task_password), its headers complete; a negative return aborts
 * the request (err filled by the hook). */
typedef int (*http_password_hook)(void *arg, const struct http_response *resp,
                                  struct error *err);

/* url: "https://host[:port][/prefix]"; without a scheme https:// is
 * assumed (as ABRT's client does). insecure: do not verify the server's
 * certificate. verbose: requests and statuses to stderr (passwords masked). */
int http_new(const char *url, bool insecure, bool verbose, struct http **out, struct error *err);
void http_free(struct http *h);
void http_set_password_hook(struct http *h, http_password_hook hook, void *arg);
const char *http_url(const struct http *h);

/* Pulls up to len bytes of the request body; returns the count, 0 at the
 * end, or a negative errno (err filled). */
typedef ssize_t (*http_body_reader)(void *arg, char *buf, size_t len, struct error *err);
/* Upload progress: bytes sent of total. */
typedef void (*http_progress)(void *arg, uint64_t sent, uint64_t total);

struct http_request {
        const char *method;             /* "GET" or "POST" */
        const char *path;
        const char *password;           /* X-Task-Password, or NULL */
        const char *const *headers;     /* "Name: value", NULL-terminated, or NULL */
        /* A body (POST): its exact size, type and reader. */
        uint64_t body_size;
        const char *content_type;
        http_body_reader body_reader;
        void *body_arg;
        http_progress progress;
        void *progress_arg;
        /* Where a 200 body goes: a stream (stdout, a file), else memory. */
        FILE *sink;
};

#define HTTP_MEMORY_MAX (1024 * 1024)

struct http_response {
        long status;
        /* The body when it was not sent to the sink, NUL-terminated, cut
         * at HTTP_MEMORY_MAX bytes. */
        char *body;
        size_t body_len;
        bool body_cut;
        uint64_t sink_bytes;            /* bytes written to the sink */
        char task_id[16];               /* X-Task-Id */
        char task_status[32];           /* X-Task-Status */
        char task_progress[128];        /* X-Task-Progress */
        char task_password[PASSWORD_LEN + 1];   /* X-Task-Password */
        bool has_task_password;
        long retry_after;               /* seconds; -1 when absent */
};

void http_response_clear(struct http_response *resp);

/* 0 when a response arrived (resp filled, any status); a negative errno
 * for a transport failure, with err saying what failed: -ECONNREFUSED
 * when the server could not be reached at all (nothing was sent). */
int http_request(struct http *h, const struct http_request *req, struct http_response *resp,
                 struct error *err);

/* Retry-After: delta-seconds or an HTTP date; -1 when unparseable. */
long http_parse_retry_after(const char *value, long now);

#endif

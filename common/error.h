/* error.h: how common/ reports failure.
 *
 * Library code never prints, logs or exits. A function that can fail takes a
 * `struct error *` (which may be NULL), fills it with a sentence that starts
 * with what failed and quotes the subject, and returns a negative errno. The
 * caller decides what to do and logs once.
 */
#ifndef RETRACE_ERROR_H
#define RETRACE_ERROR_H

#include <stddef.h>

struct error {
        int code;               /* positive errno */
        char msg[1024];
};

/* Fills err (when not NULL) and returns -code. code 0 is treated as EIO. */
int error_set(struct error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Like error_set(), appending ": strerror(code)". */
int error_set_errno(struct error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Quoted input in messages is cut and escaped: hostile text must neither
 * flood a log nor forge a line in it. */
#define QUOTE_MAX 80
#define QUOTE_SIZE(max) ((max) * 4 + sizeof "...")
#define QUOTE_BUF QUOTE_SIZE(QUOTE_MAX)

/* Writes at most max bytes of s[0..len) (stopping at a NUL) into buf, which
 * holds QUOTE_SIZE(max): printable ASCII as it is, backslash and single
 * quote escaped with a backslash, other bytes as \xNN, and "..." when cut.
 * Returns buf. */
const char *error_quote_n(const char *s, size_t len, size_t max, char *buf);

/* error_quote_n(s, SIZE_MAX, QUOTE_MAX, buf) */
const char *error_quote(const char *s, char buf[QUOTE_BUF]);

#endif

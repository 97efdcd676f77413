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

#endif

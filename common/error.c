#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int error_vset(struct error *err, int code, int with_errno,
                      const char *fmt, va_list ap)
{
        if (code <= 0)
                code = EIO;
        if (err) {
                err->code = code;
                int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
                if (with_errno && n >= 0 && (size_t)n < sizeof err->msg)
                        snprintf(err->msg + n, sizeof err->msg - (size_t)n,
                                 ": %s", strerror(code));
        }
        return -code;
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(err, code, 0, fmt, ap);
        va_end(ap);
        return r;
}

int error_set_errno(struct error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(err, code, 1, fmt, ap);
        va_end(ap);
        return r;
}

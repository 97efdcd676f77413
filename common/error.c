#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int error_vset(struct error *err, int code, int with_errno,
                      const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));

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

const char *error_quote_n(const char *s, size_t len, size_t max, char *buf)
{
        size_t i, o = 0;

        for (i = 0; i < len && i < max && s[i]; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '\\' || c == '\'') {
                        buf[o++] = '\\';
                        buf[o++] = (char)c;
                } else if (c >= 0x20 && c < 0x7f) {
                        buf[o++] = (char)c;
                } else {
                        snprintf(buf + o, 5, "\\x%02x", c);
                        o += 4;
                }
        }
        if (i < len && s[i]) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = '\0';
        return buf;
}

const char *error_quote(const char *s, char buf[QUOTE_BUF])
{
        return error_quote_n(s, SIZE_MAX, QUOTE_MAX, buf);
}

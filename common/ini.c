#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Ours, then inih's (see the end of common/ini.h). */
#define RETRACE_INI_INCLUDE_INIH
#include <ini.h>

/* inih copies a section name and a key into buffers of this size (its
 * MAX_SECTION and MAX_NAME, not in its header) and cuts what is longer. */
#define INIH_NAME_SIZE 50

/* The line handling below mirrors inih's ini_parse_stream() as the
 * distributions build it (multi-line values, ';' and '#' comments, inline
 * comments after a space): the reader sees each line before inih does, so
 * it can number it, refuse it, and tell a [section] line or a continuation
 * from a value line. inih's own result stays the last word on syntax. */

struct ini_ctx {
        FILE *file;
        const char *path;
        const char *what;
        ini_entry_fn *fn;
        void *user;
        struct error *err;
        unsigned line;          /* of the line inih is working on */
        bool after_key;         /* inih's prev_name is set: an indented line continues */
        bool continuation;      /* the current line is one */
        int read_errno;         /* when reading failed */
        int failed;             /* first error, or 0: stops the reading */
};

static bool is_space(char c)
{
        return isspace((unsigned char)c) != 0;     /* as inih tests it */
}

/* inih's ini_find_chars_or_comment(): the first of chars, or of an inline
 * comment (';' after whitespace), or the end. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
        bool was_space = false;
        while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
                was_space = is_space(*s);
                s++;
        }
        return s;
}

static int fail(struct ini_ctx *ctx, int code, const char *problem)
{
        ctx->failed = error_set(ctx->err, code, "%s:%u: %s", ctx->path, ctx->line, problem);
        return ctx->failed;
}

/* What inih will make of the line, told before it does: a [section] line
 * goes to the callback at once; an error stops the reading. */
static int classify(struct ini_ctx *ctx, const char *line)
{
        const char *start = line;
        if (ctx->line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
                start += 3;
        while (*start && is_space(*start))
                start++;

        ctx->continuation = false;
        if (*start == '\0' || *start == ';' || *start == '#')
                return 0;
        if (ctx->after_key && start > line) {
                ctx->continuation = true;
                return 0;
        }
        if (*start == '[') {
                const char *end = find_chars_or_comment(start + 1, "]");
                if (*end != ']')
                        return fail(ctx, EINVAL, "'[' without its closing ']'");
                size_t len = (size_t)(end - start - 1);
                if (len >= INIH_NAME_SIZE) {
                        char msg[64];
                        snprintf(msg, sizeof msg, "section name longer than %d bytes",
                                 INIH_NAME_SIZE - 1);
                        return fail(ctx, EINVAL, msg);
                }
                char section[INIH_NAME_SIZE];
                memcpy(section, start + 1, len);
                section[len] = '\0';
                ctx->after_key = false;
                struct ini_entry e = { .section = section, .line = ctx->line };
                int r = ctx->fn(ctx->user, &e, ctx->err);
                if (r < 0)
                        ctx->failed = r;
                return r < 0 ? r : 0;
        }
        const char *end = find_chars_or_comment(start, "=:");
        if (*end != '=' && *end != ':')
                return fail(ctx, EINVAL,
                            "not an INI line (expected 'key = value' or '[section]')");
        while (end > start && is_space(end[-1]))
                end--;
        if (end - start >= INIH_NAME_SIZE) {
                char msg[64];
                snprintf(msg, sizeof msg, "key longer than %d bytes", INIH_NAME_SIZE - 1);
                return fail(ctx, EINVAL, msg);
        }
        ctx->after_key = end > start;   /* inih keeps no empty key */
        return 0;
}

/* inih's reader, fgets() as inih expects it, plus the checks above. */
static char *read_line(char *buf, int size, void *user)
{
        struct ini_ctx *ctx = user;
        size_t len = 0;
        int c = EOF;

        if (ctx->failed || size < 2)
                return NULL;
        errno = 0;
        while (len < (size_t)size - 1 && (c = getc(ctx->file)) != EOF) {
                if (len == 0)
                        ctx->line++;
                if (c == '\0') {
                        fail(ctx, EINVAL, "NUL byte in the line");
                        return NULL;
                }
                buf[len++] = (char)c;
                if (c == '\n')
                        break;
        }
        if (c == EOF && ferror(ctx->file)) {
                ctx->read_errno = errno ? errno : EIO;
                return NULL;
        }
        if (len == 0)
                return NULL;
        buf[len] = '\0';
        /* A full buffer without the newline: inih would cut the line and
         * read the rest as more of it. The last line may end without one. */
        if (len == (size_t)size - 1 && buf[len - 1] != '\n') {
                if (getc(ctx->file) != EOF) {
                        char msg[64];
                        snprintf(msg, sizeof msg, "line longer than %d bytes", size - 2);
                        fail(ctx, EINVAL, msg);
                        return NULL;
                }
                if (ferror(ctx->file)) {
                        ctx->read_errno = errno ? errno : EIO;
                        return NULL;
                }
        }
        if (classify(ctx, buf) < 0)
                return NULL;
        return buf;
}

/* inih's handler: a "key = value" line or a continuation of one. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
        struct ini_ctx *ctx = user;

        if (ctx->failed)        /* not reached: the reader stops first */
                return 0;
        struct ini_entry e = {
                .section = section, .key = name, .value = value,
                .line = ctx->line, .continuation = ctx->continuation,
        };
        int r = ctx->fn(ctx->user, &e, ctx->err);
        if (r < 0)
                ctx->failed = r;
        return r >= 0;
}

int ini_load(const char *path, const char *what, ini_entry_fn *fn, void *user,
             struct error *err)
{
        struct ini_ctx ctx = {
                .path = path, .what = what ? what : "file", .fn = fn, .user = user,
                .err = err,
        };

        ctx.file = fopen(path, "re");
        if (!ctx.file)
                return error_set_errno(err, errno, "cannot open %s '%s'", ctx.what, path);
        int r = ini_parse_stream(read_line, &ctx, on_value, &ctx);
        fclose(ctx.file);

        if (ctx.failed)
                return ctx.failed;
        if (ctx.read_errno)
                return error_set_errno(err, ctx.read_errno, "cannot read %s '%s'",
                                       ctx.what, path);
        if (r < 0)
                return error_set(err, ENOMEM, "cannot read %s '%s': out of memory",
                                 ctx.what, path);
        if (r > 0)      /* an error inih found and classify() did not foresee */
                return error_set(err, EINVAL,
                                 "%s:%d: not an INI line (expected 'key = value' or "
                                 "'[section]')", path, r);
        return 0;
}

int ini_parse_bool(const char *s, bool *out)
{
        static const char *const yes[] = { "on", "yes", "true", "1" };
        static const char *const no[] = { "off", "no", "false", "0" };
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *out = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *out = false;
                        return 0;
                }
        }
        return -EINVAL;
}

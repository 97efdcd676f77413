#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "progress.h"

#define REDRAW_INTERVAL 0.1

double now_seconds(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
        if (bytes < 1024) {
                snprintf(buf, len, "%u B", (unsigned)bytes);
                return;
        }
        double v = (double)bytes / 1024;
        size_t u = 0;
        while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
                v /= 1024;
                u++;
        }
        snprintf(buf, len, "%.1f %s", v, units[u]);
}

void format_duration(double seconds, char *buf, size_t len)
{
        if (seconds < 0)
                seconds = 0;
        unsigned long s = (unsigned long)(seconds + 0.5);
        if (s >= 3600)
                snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
        else
                snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
}

void progress_init(struct progress *p, FILE *out, bool tty)
{
        memset(p, 0, sizeof *p);
        p->out = out;
        p->tty = tty;
}

void progress_clear(struct progress *p)
{
        if (p->shown) {
                fputs("\r\033[K", p->out);
                fflush(p->out);
                p->shown = false;
        }
}

void progress_say(struct progress *p, const char *fmt, ...)
{
        progress_clear(p);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(p->out, fmt, ap);
        va_end(ap);
        fputc('\n', p->out);
        fflush(p->out);
}

void progress_begin(struct progress *p, const char *verb, const char *done_verb)
{
        p->verb = verb;
        p->done_verb = done_verb;
        p->start = now_seconds();
        p->last_draw = 0;
        p->last_tenth = -1;
        p->last_done = 0;
}

static void describe(struct progress *p, uint64_t done, uint64_t total, char *buf, size_t len,
                     const char *sep)
{
        char d[32], t[32], r[32], left[32];
        double elapsed = now_seconds() - p->start;
        double rate = elapsed > 0.05 ? (double)done / elapsed : 0;
        format_size(done, d, sizeof d);
        format_size(total, t, sizeof t);
        format_size((uint64_t)rate, r, sizeof r);
        unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
        if (rate > 0 && done < total) {
                format_duration((double)(total - done) / rate, left, sizeof left);
                snprintf(buf, len, "%s %s of %s%s%u%%%s%s/s%s%s left", p->verb, d, t, sep, pct, sep,
                         r, sep, left);
        } else {
                snprintf(buf, len, "%s %s of %s%s%u%%", p->verb, d, t, sep, pct);
        }
}

void progress_update(struct progress *p, uint64_t done, uint64_t total)
{
        char line[160];
        if (p->tty) {
                double now = now_seconds();
                if (now - p->last_draw < REDRAW_INTERVAL && done < total)
                        return;
                p->last_draw = now;
                describe(p, done, total, line, sizeof line, "  ");
                fprintf(p->out, "\r%s\033[K", line);
                fflush(p->out);
                p->shown = true;
                return;
        }
        int tenth = total ? (int)(done * 10 / total) : 10;
        if (tenth <= p->last_tenth || tenth == 0 || tenth == 10)
                return;         /* the closing line says 100% */
        p->last_tenth = tenth;
        describe(p, done, total, line, sizeof line, ", ");
        fprintf(p->out, "%s\n", line);
        fflush(p->out);
}

void progress_end(struct progress *p, uint64_t done)
{
        char d[32], e[32], r[32];
        double elapsed = now_seconds() - p->start;
        format_size(done, d, sizeof d);
        format_duration(elapsed, e, sizeof e);
        format_size(elapsed > 0.001 ? (uint64_t)((double)done / elapsed) : done, r, sizeof r);
        progress_say(p, "%s %s in %s (%s/s)", p->done_verb, d, e, r);
}

void progress_status(struct progress *p, const char *text)
{
        if (p->tty) {
                fprintf(p->out, "\r%s\033[K", text);
                fflush(p->out);
                p->shown = true;
        } else {
                fprintf(p->out, "%s\n", text);
                fflush(p->out);
        }
}

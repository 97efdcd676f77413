/* progress.h: what the client shows while it packs, uploads and waits.
 *
 * On a terminal one line is redrawn in place ("\r", erased to its end) at
 * most ten times a second: bytes done of total, percentage, rate and time
 * left. Elsewhere (a log, ABRT's event runner) plain lines come instead,
 * one at each tenth of the total, so that a log stays short and readable.
 * Messages printed through progress_say() first erase a redrawn line.
 */
#ifndef RETRACE_CLIENT_PROGRESS_H
#define RETRACE_CLIENT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
        FILE *out;
        bool tty;
        bool shown;             /* a redrawn line is on the terminal */
        const char *verb;       /* "Uploading" */
        const char *done_verb;  /* "Uploaded" */
        double start, last_draw;
        int last_tenth;
        uint64_t last_done;
};

void progress_init(struct progress *p, FILE *out, bool tty);

/* Starts a transfer-like operation: "Uploading"/"Uploaded". */
void progress_begin(struct progress *p, const char *verb, const char *done_verb);
void progress_update(struct progress *p, uint64_t done, uint64_t total);
/* The closing line: "Uploaded 12.0 MiB in 0:03 (4.0 MiB/s)". */
void progress_end(struct progress *p, uint64_t done);

/* A status that replaces the previous one: redrawn on a terminal,
 * printed when it differs from the last one otherwise (the caller
 * decides; see client.c). */
void progress_status(struct progress *p, const char *text);

/* Erases a redrawn line (before other output). */
void progress_clear(struct progress *p);

/* A message line, on its own line. */
void progress_say(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "12.3 MiB", "512 B" */
void format_size(uint64_t bytes, char *buf, size_t len);
/* "0:07", "1:02:03" */
void format_duration(double seconds, char *buf, size_t len);

double now_seconds(void);

#endif

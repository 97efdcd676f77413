/* settings.h: what a server's GET /settings says, as the client reads it.
 *
 * The body is lines "key value" (keys case-insensitive, unknown keys and
 * lines ignored): running_tasks, max_running_tasks, max_packed_size and
 * max_unpacked_size (MiB), supported_formats and supported_releases
 * (space-separated lists). tests/fuzz/fuzz-headers.c fuzzes it.
 */
#ifndef RETRACE_CLIENT_SETTINGS_H
#define RETRACE_CLIENT_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

struct settings {
        long running_tasks, max_running_tasks;          /* -1: not stated */
        uint64_t max_packed, max_unpacked;              /* bytes; 0: not stated */
        char *formats, *releases;                       /* NULL: not stated */
};

/* Frees what s holds and sets every field to "not stated". s must be
 * zeroed or filled by these functions. */
void settings_clear(struct settings *s);

/* Parses a /settings body into s (cleared first). 0, or -ENOMEM. */
int settings_parse(const char *text, struct settings *s);

/* True when word is one of the space- or tab-separated words of list. */
bool settings_list_has(const char *list, const char *word);

#endif

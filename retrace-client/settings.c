/* settings.c: a server's /settings as the client reads it (settings.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings.h"

void settings_clear(struct settings *s)
{
        free(s->formats);
        free(s->releases);
        memset(s, 0, sizeof *s);
        s->running_tasks = s->max_running_tasks = -1;
}

static uint64_t mib_to_bytes(const char *v)
{
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || end == v || n > UINT64_MAX / (1024 * 1024))
                return 0;
        return (uint64_t)n * 1024 * 1024;
}

/* Lines "key value": keys case-insensitive, unknown keys ignored. */
int settings_parse(const char *text, struct settings *s)
{
        settings_clear(s);
        const char *line = text;
        while (line && *line) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t)(eol - line) : strlen(line);
                char buf[8192];
                if (len >= sizeof buf)
                        len = sizeof buf - 1;
                memcpy(buf, line, len);
                buf[len] = '\0';
                while (len > 0 && isspace((unsigned char)buf[len - 1]))
                        buf[--len] = '\0';
                char *value = buf + strcspn(buf, " \t");
                if (*value) {
                        *value++ = '\0';
                        while (*value == ' ' || *value == '\t')
                                value++;
                }
                if (strcasecmp(buf, "running_tasks") == 0)
                        s->running_tasks = strtol(value, NULL, 10);
                else if (strcasecmp(buf, "max_running_tasks") == 0)
                        s->max_running_tasks = strtol(value, NULL, 10);
                else if (strcasecmp(buf, "max_packed_size") == 0)
                        s->max_packed = mib_to_bytes(value);
                else if (strcasecmp(buf, "max_unpacked_size") == 0)
                        s->max_unpacked = mib_to_bytes(value);
                else if (strcasecmp(buf, "supported_formats") == 0) {
                        free(s->formats);
                        if (!(s->formats = strdup(value)))
                                return -ENOMEM;
                } else if (strcasecmp(buf, "supported_releases") == 0) {
                        free(s->releases);
                        if (!(s->releases = strdup(value)))
                                return -ENOMEM;
                }
                line = eol ? eol + 1 : NULL;
        }
        return 0;
}

bool settings_list_has(const char *list, const char *word)
{
        size_t wl = strlen(word);
        const char *p = list;
        while (*p) {
                p += strspn(p, " \t");
                size_t n = strcspn(p, " \t");
                if (n == wl && strncmp(p, word, n) == 0)
                        return true;
                p += n;
        }
        return false;
}

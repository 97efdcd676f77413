/* conf-doc: the documentation of every setting, printed from conf_keys[].
 *
 * A setting has one home, its row in common/conf.c. The default
 * retrace-server.conf, the key list of retrace-server.conf(5), the directive
 * list of mod_retrace(8) and the commented directives of httpd's
 * conf.d/retrace.conf are printed from that table at build time, so none of
 * them can drift from it.
 *
 *   conf-doc fill TEMPLATE   copy TEMPLATE ("-": standard input) to standard
 *                            output, replacing each line "@conf-doc:FORMAT@"
 *                            with FORMAT's text and each "@conf:Section.Key@"
 *                            with the key's default
 *   conf-doc FORMAT          FORMAT's text alone:
 *       config-keys          every section and key, commented, at its default
 *       man-keys             roff, for retrace-server.conf(5)
 *       man-directives       roff, for mod_retrace(8)
 *       httpd-directives     commented httpd directives with their defaults
 *   conf-doc check FILE      load FILE as the programs do (conf_load) and print
 *                            "Section.Key = value" for every key; exit 1 with
 *                            the error when the file does not load
 *
 * A build tool: never installed.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define WRAP 72

/* --- helpers ----------------------------------------------------------------- */

/* Prints text word-wrapped, each line starting with prefix. */
static void print_wrapped(const char *prefix, const char *text)
{
        size_t col = 0;
        const char *p = text;
        while (*p) {
                while (*p == ' ')
                        p++;
                const char *end = p;
                while (*end && *end != ' ')
                        end++;
                size_t len = (size_t)(end - p);
                if (len == 0)
                        break;
                if (col > 0 && col + 1 + len > WRAP) {
                        putchar('\n');
                        col = 0;
                }
                if (col == 0) {
                        fputs(prefix, stdout);
                        col = strlen(prefix);
                } else {
                        putchar(' ');
                        col++;
                }
                fwrite(p, 1, len, stdout);
                col += len;
                p = end;
        }
        if (col > 0)
                putchar('\n');
}

/* roff text: backslashes escaped, no line starting with a control
 * character. */
static void roff_text(const char *text)
{
        for (const char *p = text; *p; p++) {
                if (*p == '\\')
                        fputs("\\e", stdout);
                else
                        putchar(*p);
        }
}

/* A literal a reader may copy (a path, a name): '-' as the minus sign. */
static void roff_literal(const char *text)
{
        for (const char *p = text; *p; p++) {
                if (*p == '-')
                        fputs("\\-", stdout);
                else if (*p == '\\')
                        fputs("\\e", stdout);
                else
                        putchar(*p);
        }
}

static const char *type_word(const struct conf_key *k)
{
        switch (k->type) {
        case CONF_PATH: return "path";
        case CONF_BOOL: return "on|off";
        case CONF_UINT:
                if (!k->unit)
                        return "number";
                if (strcmp(k->unit, "s") == 0)
                        return "seconds";
                if (strcmp(k->unit, "h") == 0)
                        return "hours";
                return k->unit;
        }
        return "value";
}

/* "1 to 1048576 MiB" and the like; empty for paths and booleans. */
static void range_text(const struct conf_key *k, char *buf, size_t len)
{
        const char *sp = k->unit ? " " : "", *unit = k->unit ? k->unit : "";
        buf[0] = '\0';
        if (k->type != CONF_UINT)
                return;
        if (k->max == UINT64_MAX / (1024 * 1024))
                snprintf(buf, len, "%" PRIu64 "%s%s or more", k->min, sp, unit);
        else
                snprintf(buf, len, "%" PRIu64 " to %" PRIu64 "%s%s", k->min, k->max, sp, unit);
}

/* The default as httpd's directives are usually written: On/Off. */
static const char *httpd_value(const struct conf_key *k)
{
        if (k->type != CONF_BOOL)
                return k->default_value;
        struct retrace_conf c;
        char buf[8];
        conf_init(&c);
        conf_format_value(&c, k, buf, sizeof buf);
        return strcmp(buf, "on") == 0 ? "On" : "Off";
}

static const struct conf_key *key_by_dotted(const char *name, size_t len)
{
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct conf_key *k = &conf_keys[i];
                size_t sl = strlen(k->section), nl = strlen(k->name);
                if (len == sl + 1 + nl && strncmp(name, k->section, sl) == 0 &&
                    name[sl] == '.' && strncmp(name + sl + 1, k->name, nl) == 0)
                        return k;
        }
        return NULL;
}

/* --- the formats --------------------------------------------------------------- */

static void config_keys(void)
{
        const char *section = NULL;
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct conf_key *k = &conf_keys[i];
                char range[96], line[512];
                if (!section || strcmp(section, k->section) != 0) {
                        printf("%s[%s]\n", section ? "\n" : "", k->section);
                        section = k->section;
                }
                putchar('\n');
                print_wrapped("# ", k->help);
                range_text(k, range, sizeof range);
                line[0] = '\0';
                if (range[0])
                        snprintf(line, sizeof line, "%s.", range);
                if (k->type == CONF_BOOL)
                        snprintf(line, sizeof line, "on or off.");
                if (k->directive)
                        snprintf(line + strlen(line), sizeof line - strlen(line),
                                 "%shttpd: %s overrides it.", line[0] ? " " : "", k->directive);
                if (line[0])
                        print_wrapped("# ", line);
                printf("#%s = %s\n", k->name, k->default_value);
        }
}

static void man_keys(void)
{
        const char *section = NULL;
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct conf_key *k = &conf_keys[i];
                char range[96];
                if (!section || strcmp(section, k->section) != 0) {
                        printf(".SS [%s]\n", k->section);
                        section = k->section;
                }
                printf(".TP\n\\fB%s\\fR = \\fI%s\\fR (default \\fB", k->name, type_word(k));
                roff_literal(k->default_value);
                printf("\\fR)\n");
                roff_text(k->help);
                putchar('\n');
                range_text(k, range, sizeof range);
                if (range[0]) {
                        roff_text(range);
                        printf(".\n");
                }
                if (k->directive)
                        printf("In httpd, \\fB%s\\fR overrides it (\\fBmod_retrace\\fR(8)).\n",
                               k->directive);
        }
}

static void man_directives(void)
{
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct conf_key *k = &conf_keys[i];
                char range[96];
                if (!k->directive)
                        continue;
                printf(".TP\n\\fB%s\\fR \\fI%s\\fR\n", k->directive,
                       k->type == CONF_BOOL ? "On|Off" : type_word(k));
                roff_text(k->help);
                putchar('\n');
                range_text(k, range, sizeof range);
                printf("Default \\fB");
                roff_literal(httpd_value(k));
                printf("\\fR");
                if (range[0]) {
                        printf(" (");
                        roff_text(range);
                        printf(")");
                }
                printf(". Overrides \\fB[%s] %s\\fR of the file.\n", k->section, k->name);
        }
}

static void httpd_directives(void)
{
        size_t width = 0;
        for (size_t i = 0; i < conf_keys_count; i++)
                if (conf_keys[i].directive && strlen(conf_keys[i].directive) > width)
                        width = strlen(conf_keys[i].directive);
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct conf_key *k = &conf_keys[i];
                char range[96], text[1024];
                if (!k->directive)
                        continue;
                range_text(k, range, sizeof range);
                snprintf(text, sizeof text, "%s%s%s%s In the file: [%s] %s.", k->help,
                         range[0] ? " " : "", range, range[0] ? "." : "", k->section, k->name);
                printf("#%-*s %s\n", (int)width, k->directive, httpd_value(k));
                print_wrapped("#     ", text);
        }
}

static int print_format(const char *format)
{
        if (strcmp(format, "config-keys") == 0)
                config_keys();
        else if (strcmp(format, "man-keys") == 0)
                man_keys();
        else if (strcmp(format, "man-directives") == 0)
                man_directives();
        else if (strcmp(format, "httpd-directives") == 0)
                httpd_directives();
        else
                return -1;
        return 0;
}

/* --- fill ------------------------------------------------------------------------ */

static int fill(const char *path)
{
        FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
        char line[4096];
        unsigned lineno = 0;
        if (!in) {
                fprintf(stderr, "conf-doc: cannot open '%s'\n", path);
                return 1;
        }
        while (fgets(line, sizeof line, in)) {
                lineno++;
                if (strncmp(line, "@conf-doc:", 10) == 0) {
                        char *end = strchr(line + 10, '@');
                        if (!end) {
                                fprintf(stderr, "%s:%u: unterminated @conf-doc:\n", path, lineno);
                                return 1;
                        }
                        *end = '\0';
                        if (print_format(line + 10) < 0) {
                                fprintf(stderr, "%s:%u: unknown format '%s'\n", path, lineno,
                                        line + 10);
                                return 1;
                        }
                        continue;
                }
                for (const char *p = line; *p;) {
                        const char *at = strstr(p, "@conf:");
                        if (!at) {
                                fputs(p, stdout);
                                break;
                        }
                        fwrite(p, 1, (size_t)(at - p), stdout);
                        const char *name = at + 6, *end = strchr(name, '@');
                        const struct conf_key *k = end ? key_by_dotted(name, (size_t)(end - name)) : NULL;
                        if (!k) {
                                fprintf(stderr, "%s:%u: unknown setting in '%.*s'\n", path, lineno,
                                        (int)strcspn(at, "\n"), at);
                                return 1;
                        }
                        fputs(k->default_value, stdout);
                        p = end + 1;
                }
        }
        if (ferror(in)) {
                fprintf(stderr, "conf-doc: cannot read '%s'\n", path);
                return 1;
        }
        if (in != stdin)
                fclose(in);
        return 0;
}

/* --- check ---------------------------------------------------------------------- */

static int check(const char *path)
{
        struct retrace_conf conf;
        struct error err;
        conf_init(&conf);
        if (conf_load(&conf, path, &err) < 0) {
                fprintf(stderr, "conf-doc: %s\n", err.msg);
                return 1;
        }
        for (size_t i = 0; i < conf_keys_count; i++) {
                char buf[PATH_MAX];
                conf_format_value(&conf, &conf_keys[i], buf, sizeof buf);
                printf("%s.%s = %s\n", conf_keys[i].section, conf_keys[i].name, buf);
        }
        return 0;
}

static void usage(FILE *out)
{
        fputs("Usage: conf-doc fill TEMPLATE\n"
              "       conf-doc config-keys|man-keys|man-directives|httpd-directives\n"
              "       conf-doc check FILE\n", out);
}

int main(int argc, char **argv)
{
        int r;
        if (argc == 3 && strcmp(argv[1], "fill") == 0)
                r = fill(argv[2]);
        else if (argc == 3 && strcmp(argv[1], "check") == 0)
                r = check(argv[2]);
        else if (argc == 2 && print_format(argv[1]) == 0)
                r = 0;
        else {
                usage(stderr);
                return 2;
        }
        if (r == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
                fprintf(stderr, "conf-doc: cannot write the output\n");
                return 1;
        }
        return r;
}

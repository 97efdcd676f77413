/* ini.h: reading an INI file strictly (the server's configuration, dnf
 * .repo files), with inih underneath.
 *
 * inih as Debian and Fedora build it has no line numbers for the handler
 * (INI_HANDLER_LINENO is off), cuts lines at 200 bytes and goes on after
 * a syntax error. ini_load() reads the lines for it and so:
 *  - numbers the lines and hands each entry its line;
 *  - refuses a line longer than inih's buffer (198 bytes and the newline)
 *    instead of letting inih split it in two, and refuses a NUL byte;
 *  - stops at the first error, its own, inih's or the callback's;
 *  - reports "[section]" lines too (key and value NULL), so an empty
 *    section or one given twice is visible and has a line;
 *  - refuses a section name or key longer than inih keeps (49 bytes)
 *    instead of letting inih cut it.
 *
 * The syntax is inih's, as built by the distributions: "key = value" or
 * "key: value" (both stripped), "[section]", whole-line comments starting
 * with ';' or '#', inline comments starting with " ;" (a ';' after a
 * space), blank lines, a UTF-8 byte order mark at the start.
 *
 * Multi-line values: a line that starts with whitespace and follows a
 * "key = value" line (blank and comment lines between do not count) is a
 * continuation, as in Python's configparser:
 *
 *     baseurl = https://a.example/repo/
 *               https://b.example/repo/
 *
 * The callback is then called again with the same section and key, the
 * continuation line's own text (stripped) as value, its line number, and
 * continuation set. A caller that allows one value only must refuse it;
 * one that takes lists adds to the list. An indented line that follows a
 * [section] line or nothing is read as an ordinary line.
 */
#ifndef RETRACE_INI_H
#define RETRACE_INI_H

#include <stdbool.h>

#include "error.h"

struct ini_entry {
        const char *section;    /* "" before the first [section] */
        const char *key;        /* NULL for the [section] line itself */
        const char *value;      /* stripped; NULL for a [section] line */
        unsigned line;          /* 1-based */
        bool continuation;      /* more of key's value, on an indented line */
};

/* Called for every [section] line and every value line, in file order.
 * Returns 0 to go on, or a negative errno after filling err with a message
 * that starts with "<path>:<line>: ", as ini_load()'s own messages do.
 * The strings are valid during the call only. */
typedef int ini_entry_fn(void *user, const struct ini_entry *entry, struct error *err);

/* Reads the INI file at path, calling fn for each entry. what names the
 * kind of file in the messages about opening and reading it ("cannot open
 * configuration file '/etc/x.conf': ..."). Returns 0, the callback's
 * error, or a negative errno with err naming path (and the line when the
 * error is in one). After an error fn may have been called for the lines
 * before it: the caller throws away what it gathered. */
int ini_load(const char *path, const char *what, ini_entry_fn *fn, void *user,
             struct error *err);

/* A boolean value as dnf and httpd write them: on/off, yes/no,
 * true/false, 1/0, in any case. 0, or -EINVAL (out unchanged). */
int ini_parse_bool(const char *s, bool *out);

/* inih's header is called ini.h too, and -I common puts this one first
 * on the search path: ini.c, which uses inih, asks for inih's with this
 * macro, and must include <ini.h> in angle brackets. */
#ifdef RETRACE_INI_INCLUDE_INIH
#include_next <ini.h>
#endif

#endif

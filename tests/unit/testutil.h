/* testutil.h: what the unit tests share. Include after <cmocka.h>. */
#ifndef RETRACE_TESTUTIL_H
#define RETRACE_TESTUTIL_H

#include <stddef.h>

#include "error.h"

#define N_ELEMENTS(a) (sizeof (a) / sizeof (a)[0])

/* Printable form of a test input for failure messages (inputs may hold
 * control characters or be megabytes long). Four buffers in turn: one
 * message may show several inputs. */
const char *show(const char *s);

/* Fails unless err->msg is one bounded line of printable ASCII (it ends
 * up in logs and HTTP answers) that starts with prefix and holds part
 * (either may be NULL). input names the case in the failure. */
void check_message(const struct error *err, const char *prefix, const char *part,
                   const char *input);

/* $TESTDATA as make check sets it; otherwise ../shared/testdata next to
 * the source tree. */
const char *testdata_dir(void);

/* A file of the test data, whole and NUL-terminated (at most 1 MiB);
 * fails the test when unreadable. free() it. */
char *slurp(const char *rel);

/* printf into buf, failing the test when it does not fit. Returns buf. */
const char *test_path(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* mkdir -p path (mode 0755), failing the test on an error. */
void test_mkdirs(const char *path);

#endif

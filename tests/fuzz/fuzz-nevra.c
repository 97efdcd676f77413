/* fuzz-nevra: NEVR and NEVRA parsing, formatting and rpmvercmp
 * (common/nevra.c). The input is a package name as a client sends it
 * (X-Package-NVR, the `package` file) and, after its first newline, a
 * second version for the comparison. */
#include "config.h"

#include <errno.h>

#include "fuzz.h"
#include "nevra.h"

typedef int parse_fn(const char *text, struct nevra *out, struct error *err);

static void check_parse(parse_fn *parse, const char *text)
{
        struct nevra n, again;
        struct error err = { 0 };
        char buf[2 * NEVRA_MAX];

        if (parse(text, &n, &err) < 0) {
                /* Failure: every field "", and a message. */
                fuzz_assert(!*n.name && !*n.epoch && !*n.version && !*n.release && !*n.arch);
                fuzz_assert(err.code != 0 && err.msg[0] != '\0');
                return;
        }
        fuzz_assert(*n.name && *n.version && *n.release);
        fuzz_assert(strlen(n.name) < NEVRA_MAX);
        /* What parses formats, and the formatted name parses back to the
         * same package. */
        if (nevra_format(&n, buf, sizeof buf) != 0)
                fuzz_fail("'%s' parsed but does not format", text);
        if (parse(buf, &again, &err) != 0)
                fuzz_fail("'%s' formats as '%s', which does not parse: %s", text, buf, err.msg);
        if (strcmp(n.name, again.name) || strcmp(n.version, again.version) ||
            strcmp(n.release, again.release) || strcmp(n.arch, again.arch) ||
            nevra_evr_compare(&n, &again) != 0)
                fuzz_fail("'%s' formats as '%s', which parses differently", text, buf);
        /* A buffer one byte short is -ENOSPC with "". */
        size_t len = strlen(buf);
        char small[2 * NEVRA_MAX];
        fuzz_assert(nevra_format(&n, small, len) == -ENOSPC && small[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_string(data, size);
        check_parse(nevra_parse_nevr, text);
        check_parse(nevra_parse_nevra, text);
        (void)arch_known(text);

        /* rpmvercmp is an order: antisymmetric, reflexive. */
        char *a, *b;
        fuzz_split(data, size, &a, &b);
        int ab = rpm_vercmp(a, b), ba = rpm_vercmp(b, a);
        if (ab < -1 || ab > 1 || ab != -ba)
                fuzz_fail("rpm_vercmp('%s', '%s') = %d but the reverse = %d", a, b, ab, ba);
        fuzz_assert(rpm_vercmp(a, a) == 0 && rpm_vercmp(b, b) == 0);
        free(a);
        free(b);
        free(text);
        return 0;
}

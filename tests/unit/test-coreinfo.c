/* test-coreinfo.c: retrace-worker/coreinfo.c on the real cores of the
 * shared test data ($TESTDATA), compared with what `eu-unstrip -n` said of
 * them (the LOCAL-eu-unstrip-n.* files), and on hostile cores made here:
 * empty and random files, ELF files that are no core, real cores cut
 * short, patched to another architecture, with damaged notes and build-id
 * notes, with note sizes past the end of the file, and synthetic cores
 * (many modules, big-endian, an NT_FILE naming a FIFO).
 *
 * Compressed cores are unpacked with bzip2 and xz into a temporary
 * directory; nothing is written into the project or the test data.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../retrace-worker/coreinfo.h"
#include "testutil.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

/* ---- the temporary directory and files ----------------------------------- */

static char tmpdir[PATH_MAX];
static char datadir[PATH_MAX];

struct blob {
        unsigned char *p;
        size_t n;
};

static void tmp_path(char *buf, const char *name)
{
        int n = snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
        if (n < 0 || n >= PATH_MAX)
                fail_msg("path too long: %s", name);
}

static void data_path(char *buf, const char *rel)
{
        int n = snprintf(buf, PATH_MAX, "%s/%s", datadir, rel);
        if (n < 0 || n >= PATH_MAX)
                fail_msg("path too long: %s", rel);
}

static struct blob read_file(const char *path)
{
        struct blob b = { 0 };
        FILE *f = fopen(path, "rb");
        if (!f)
                fail_msg("cannot open '%s': %s", path, strerror(errno));
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        long len = ftell(f);
        assert_true(len >= 0);
        rewind(f);
        b.n = (size_t)len;
        b.p = malloc(b.n ? b.n : 1);
        assert_non_null(b.p);
        assert_int_equal(fread(b.p, 1, b.n, f), b.n);
        fclose(f);
        return b;
}

static void write_file(const char *path, const void *p, size_t n)
{
        FILE *f = fopen(path, "wb");
        if (!f)
                fail_msg("cannot create '%s': %s", path, strerror(errno));
        if (n)
                assert_int_equal(fwrite(p, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
}

/* tool -dc src > dst */
static void unpack(const char *tool, const char *src, const char *dst)
{
        int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                fail_msg("cannot create '%s': %s", dst, strerror(errno));
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(fd, STDOUT_FILENO);
                execlp(tool, tool, "-dc", src, (char *)NULL);
                _exit(127);
        }
        close(fd);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("%s -dc '%s' failed (status %d)", tool, src, status);
}

static void remove_tree(const char *dir)
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
                _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
}

/* ---- what eu-unstrip -n said --------------------------------------------- */

struct unstrip_line {
        uint64_t start, end;
        char build_id[2 * CORE_BUILD_ID_MAX + 1];       /* "" for "-" */
        char name[PATH_MAX];
};

/* Lines "START+SIZE BUILDID@ADDR FILE DEBUGFILE MODULENAME", BUILDID@ADDR
 * or "-"; anything else fails the test. */
static size_t parse_unstrip(const char *rel, struct unstrip_line *out, size_t max)
{
        char *text = slurp(rel);
        size_t n = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (n == max)
                        fail_msg("%s: more than %zu lines", rel, max);
                struct unstrip_line *u = &out[n++];
                char id[300], file[PATH_MAX], debug[PATH_MAX], extra[8];
                uint64_t size;
                int used = 0;
                if (sscanf(line, "0x%" SCNx64 "+0x%" SCNx64 " %299s %4095s %4095s %4095s%n %7s",
                           &u->start, &size, id, file, debug, u->name, &used, extra) != 6 ||
                    line[used] != '\0')
                        fail_msg("%s: unexpected line '%s'", rel, show(line));
                u->end = u->start + size;
                if (strcmp(id, "-") == 0) {
                        u->build_id[0] = '\0';
                } else {
                        char *at = strchr(id, '@');
                        if (!at || at == id || (size_t)(at - id) > 2 * CORE_BUILD_ID_MAX ||
                            strncmp(at, "@0x", 3) != 0)
                                fail_msg("%s: unexpected build-id '%s'", rel, show(id));
                        memcpy(u->build_id, id, (size_t)(at - id));
                        u->build_id[at - id] = '\0';
                        if (strspn(u->build_id, "0123456789abcdef") != strlen(u->build_id))
                                fail_msg("%s: build-id '%s' is not hex", rel, u->build_id);
                }
                if (strcmp(file, "-") != 0 && strcmp(file, ".") != 0 && file[0] != '/')
                        fail_msg("%s: unexpected file column '%s'", rel, show(file));
        }
        free(text);
        return n;
}

/* ---- checks every answer must pass ---------------------------------------- */

static bool hex_to_bytes(const char *hex, unsigned char *out, size_t *len)
{
        size_t n = strlen(hex);
        if (n % 2 || n > 2 * CORE_BUILD_ID_MAX)
                return false;
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;
                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return false;
                out[i] = (unsigned char)v;
        }
        *len = n / 2;
        return true;
}

/* Whatever the core: bounded, well-formed, and nothing that is not in
 * the file (a path is a NUL-terminated string of it, a build-id its
 * bytes). hint: the executable argument given. */
static void check_sane(const struct core_info *ci, const struct blob *file, const char *hint,
                       const char *what)
{
        if (ci->count > CORE_MAX_MODULES)
                fail_msg("%s: %zu modules", what, ci->count);
        if (ci->count && !ci->modules)
                fail_msg("%s: modules NULL", what);
        if (memchr(ci->arch, '\0', sizeof ci->arch) == NULL || !ci->arch[0])
                fail_msg("%s: arch not a string", what);
        if (ci->signal < 0 || ci->signal >= 128)
                fail_msg("%s: signal %d", what, ci->signal);
        size_t mains = 0;
        for (size_t i = 0; i < ci->count; i++) {
                const struct core_module *m = &ci->modules[i];
                if (m->main)
                        mains++;
                if (m->start > m->end)
                        fail_msg("%s: module %zu range %" PRIx64 "-%" PRIx64, what, i,
                                 m->start, m->end);
                if (i > 0 && ci->modules[i - 1].start > m->start)
                        fail_msg("%s: modules not sorted at %zu", what, i);
                size_t idlen = strnlen(m->build_id, sizeof m->build_id);
                if (idlen == sizeof m->build_id ||
                    strspn(m->build_id, "0123456789abcdef") != idlen)
                        fail_msg("%s: module %zu build-id not lower-case hex", what, i);
                if (idlen) {
                        unsigned char bin[CORE_BUILD_ID_MAX];
                        size_t n;
                        if (!hex_to_bytes(m->build_id, bin, &n))
                                fail_msg("%s: module %zu build-id '%s'", what, i, m->build_id);
                        if (!memmem(file->p, file->n, bin, n))
                                fail_msg("%s: build-id %s is not in the file", what, m->build_id);
                }
                if (m->path) {
                        size_t len = strlen(m->path);
                        if (len == 0 || len >= 4096 || m->path[0] != '/')
                                fail_msg("%s: module %zu path '%s'", what, i, show(m->path));
                        if (!memmem(file->p, file->n, m->path, len + 1))
                                fail_msg("%s: path '%s' is not in the file", what, show(m->path));
                }
        }
        if (mains > 1)
                fail_msg("%s: %zu main modules", what, mains);
        if (ci->executable) {
                size_t len = strlen(ci->executable);
                if (len == 0 || len >= 4096)
                        fail_msg("%s: executable of length %zu", what, len);
                if (!(hint && strcmp(ci->executable, hint) == 0) &&
                    !memmem(file->p, file->n, ci->executable, len + 1))
                        fail_msg("%s: executable '%s' is not in the file", what,
                                 show(ci->executable));
        }
}

/* What a message about path holds: its file name, unless the quoted path
 * is cut before it. */
static const char *named(const char *path)
{
        const char *base = strrchr(path, '/');
        return strlen(path) < QUOTE_MAX ? (base ? base + 1 : path) : NULL;
}

/* Runs core_analyze on path (whose bytes are file): either an answer that
 * passes check_sane, or an error with a one-line message naming the file.
 * Returns its result; *ci is to be freed by the caller. */
static int analyze_any(const char *path, const struct blob *file, const char *hint,
                       struct core_info *ci, const char *what)
{
        struct error err = { 0 };
        int r = core_analyze(path, hint, ci, &err);
        if (r == 0) {
                check_sane(ci, file, hint, what);
        } else {
                if (r > 0 || -r != err.code)
                        fail_msg("%s: returned %d with code %d", what, r, err.code);
                check_message(&err, NULL, named(path), what);
                if (ci->count || ci->modules || ci->executable)
                        fail_msg("%s: error but the answer is not empty", what);
        }
        return r;
}

static bool same_modules(const struct core_info *a, const struct core_info *b)
{
        if (a->count != b->count)
                return false;
        for (size_t i = 0; i < a->count; i++) {
                const struct core_module *x = &a->modules[i], *y = &b->modules[i];
                if (x->start != y->start || x->end != y->end || x->main != y->main ||
                    strcmp(x->build_id, y->build_id) != 0 || !x->path != !y->path ||
                    (x->path && strcmp(x->path, y->path) != 0))
                        return false;
        }
        return true;
}

/* ---- the real cores ------------------------------------------------------ */

enum packing { PLAIN, BZIP2, XZ };

struct extra_module {           /* listed by NT_FILE, not found by eu-unstrip */
        uint64_t start, end;
        const char *path;
};

struct real_core {
        const char *name;       /* also the unpacked file's name */
        const char *core;       /* in the test data */
        enum packing packing;
        const char *unstrip;    /* LOCAL-eu-unstrip-n file */
        const char *hint;       /* the executable argument */
        const char *arch;
        int signal;
        pid_t pid;
        const char *executable;
        uint64_t main_start;
        struct extra_module extra[4];
};

#define ELFUTILS "elfutils-cores-x86_64/"
#define F26 "gsauthof-systemd-coredumpctl-core-f26/"

static const struct real_core real_cores[] = {
        { "backtrace.x86_64.core", ELFUTILS "backtrace.x86_64.core.bz2", BZIP2,
          ELFUTILS "LOCAL-eu-unstrip-n.backtrace.x86_64.core.txt", NULL,
          "x86_64", SIGABRT, 23097,
          "/home/jkratoch/redhat/elfutils/tests/backtrace.x86_64.exec", 0x400000, { { 0 } } },
        { "backtrace.x86_64.fp.core", ELFUTILS "backtrace.x86_64.fp.core.bz2", BZIP2,
          ELFUTILS "LOCAL-eu-unstrip-n.backtrace.x86_64.fp.core.txt", NULL,
          "x86_64", SIGABRT, 28872,
          "/home/ulf/dev/elfutils/tests/backtrace.x86_64.fp.exec", 0x400000, { { 0 } } },
        { "testfile-backtrace-demangle.core", ELFUTILS "testfile-backtrace-demangle.core.bz2", BZIP2,
          ELFUTILS "LOCAL-eu-unstrip-n.testfile-backtrace-demangle.core.txt", NULL,
          "x86_64", SIGSEGV, 18460,
          "/usr/local/src/elfutils/tests/testfile-backtrace-demangle", 0x400000, { { 0 } } },
        { "testfiledwarfinlines.core", ELFUTILS "testfiledwarfinlines.core.bz2", BZIP2,
          ELFUTILS "LOCAL-eu-unstrip-n.testfiledwarfinlines.core.txt", NULL,
          "x86_64", SIGFPE, 13654,
          "/usr/local/src/tests/testfiledwarfinlines", 0x400000, { { 0 } } },
        /* No build-ids anywhere; the executable, ld.so and libc have no ELF
         * header in the dump, only NT_FILE names them. */
        { "test-core.core", ELFUTILS "test-core.core.bz2", BZIP2,
          ELFUTILS "LOCAL-eu-unstrip-n.test-core.core.txt", NULL,
          "x86_64", SIGSEGV, 4246,
          "/home/jkratoch/redhat/elfutils-libregr/test-core-main", 0x400000,
          { { 0x400000, 0x603000, "/home/jkratoch/redhat/elfutils-libregr/test-core-main" },
            { 0x37ef400000, 0x37ef622000, "/usr/lib64/ld-2.16.so" },
            { 0x37efc00000, 0x37effb3000, "/usr/lib64/libc-2.16.so" } } },
        /* NT_FILE lacks the executable and the library (eu-unstrip names
         * them from the link map, which is not read here): no paths. */
        { "linkmap-cut.core", ELFUTILS "linkmap-cut.core.bz2", BZIP2,
          ELFUTILS "LOCAL-eu-unstrip-n.linkmap-cut.core.txt", NULL,
          "x86_64", SIGSEGV, 3130, "./linkmap-cut", 0x400000, { { 0 } } },
        { "core.snooze.x86_64.coredumpctl.11677", F26 "core.snooze.x86_64.coredumpctl.11677.xz", XZ,
          F26 "LOCAL-eu-unstrip-n.core.snooze.x86_64.coredumpctl.11677.txt", NULL,
          "x86_64", SIGABRT, 11677, "/var/tmp/utility/build/snooze", 0x400000, { { 0 } } },
        /* gcore: no signal, and libc and ld.so only by their NT_FILE paths. */
        { "core.snooze.x86_64.11685", F26 "core.snooze.x86_64.11685.xz", XZ,
          F26 "LOCAL-eu-unstrip-n.core.snooze.x86_64.11685.txt", NULL,
          "x86_64", 0, 11685, "/var/tmp/utility/build/snooze", 0x600000,
          { { 0x7fe3f4d92000, 0x7fe3f4d98000, "/usr/lib64/libc-2.25.so" },
            { 0x7fe3f4fc2000, 0x7fe3f4fc5000, "/usr/lib64/ld-2.25.so" } } },
        { "core.snooze32.x86_64.11699", F26 "core.snooze32.x86_64.11699.xz", XZ,
          F26 "LOCAL-eu-unstrip-n.core.snooze32.x86_64.11699.txt", NULL,
          "i686", 0, 11699, "/var/tmp/utility/build/snooze32", 0x8049000,
          { { 0xf7f2a000, 0xf7f2d000, "/usr/lib/libc-2.25.so" },
            { 0xf7f95000, 0xf7f97000, "/usr/lib/ld-2.25.so" } } },
        /* No NT_FILE at all (2012 kernel): build-ids, no paths. */
        { "null_dereference.core.x86_64", "satyr-null-dereference-x86_64/null_dereference.core.x86_64",
          PLAIN, "satyr-null-dereference-x86_64/LOCAL-eu-unstrip-n-core.txt", NULL,
          "x86_64", SIGSEGV, 21729, "./a.out", 0x400000, { { 0 } } },
        { "f16-coredump", "abrt-problemdir-sleep-f16-with-coredump/problem_dir/coredump",
          PLAIN, "abrt-problemdir-sleep-f16-with-coredump/LOCAL-eu-unstrip-n-core.txt", "/bin/sleep",
          "x86_64", SIGSEGV, 22031, "/bin/sleep", 0x400000, { { 0 } } },
};

/* Where each real core is, unpacked. */
static char core_file[N_ELEMENTS(real_cores)][PATH_MAX];

static const struct real_core *real_core(const char *name, const char **path)
{
        for (size_t i = 0; i < N_ELEMENTS(real_cores); i++)
                if (strcmp(real_cores[i].name, name) == 0) {
                        *path = core_file[i];
                        return &real_cores[i];
                }
        fail_msg("no real core '%s'", name);
        return NULL;
}

static void analyze_ok(const char *path, const char *hint, struct core_info *ci)
{
        struct error err = { 0 };
        int r = core_analyze(path, hint, ci, &err);
        if (r != 0)
                fail_msg("'%s': %d %s", path, r, err.msg);
}

static void test_real_cores(void **state)
{
        (void)state;
        static struct unstrip_line lines[64];
        for (size_t c = 0; c < N_ELEMENTS(real_cores); c++) {
                const struct real_core *rc = &real_cores[c];
                size_t n = parse_unstrip(rc->unstrip, lines, N_ELEMENTS(lines));
                assert_true(n > 0);
                struct core_info ci;
                analyze_ok(core_file[c], rc->hint, &ci);
                struct blob file = read_file(core_file[c]);
                check_sane(&ci, &file, rc->hint, rc->name);
                free(file.p);

                if (strcmp(ci.arch, rc->arch) != 0)
                        fail_msg("%s: arch %s, expected %s", rc->name, ci.arch, rc->arch);
                if (ci.signal != rc->signal)
                        fail_msg("%s: signal %d, expected %d", rc->name, ci.signal, rc->signal);
                if (ci.pid != rc->pid)
                        fail_msg("%s: pid %d, expected %d", rc->name, (int)ci.pid, (int)rc->pid);
                if (!ci.executable || strcmp(ci.executable, rc->executable) != 0)
                        fail_msg("%s: executable '%s', expected '%s'", rc->name,
                                 show(ci.executable), rc->executable);

                size_t extras = 0;
                while (extras < N_ELEMENTS(rc->extra) && rc->extra[extras].path)
                        extras++;
                if (ci.count != n + extras)
                        fail_msg("%s: %zu modules, expected %zu from eu-unstrip and %zu from NT_FILE",
                                 rc->name, ci.count, n, extras);

                /* Each eu-unstrip module: same range and build-id; its
                 * path when eu-unstrip names it by an absolute path (from
                 * NT_FILE), none when by a soname, "[exe]" or a link-map
                 * name. */
                for (size_t i = 0; i < n; i++) {
                        const struct unstrip_line *u = &lines[i];
                        const struct core_module *m = NULL;
                        for (size_t j = 0; j < ci.count; j++)
                                if (ci.modules[j].start == u->start)
                                        m = &ci.modules[j];
                        if (!m)
                                fail_msg("%s: no module at 0x%" PRIx64 " (%s)", rc->name,
                                         u->start, u->name);
                        if (m->end != u->end)
                                fail_msg("%s: %s ends at 0x%" PRIx64 ", eu-unstrip says 0x%" PRIx64,
                                         rc->name, u->name, m->end, u->end);
                        if (strcmp(m->build_id, u->build_id) != 0)
                                fail_msg("%s: %s build-id '%s', eu-unstrip says '%s'", rc->name,
                                         u->name, m->build_id, u->build_id);
                        const char *want = u->name[0] == '/' ? u->name : NULL;
                        if (!want != !m->path || (want && strcmp(want, m->path) != 0))
                                fail_msg("%s: module at 0x%" PRIx64 " path '%s', expected '%s'",
                                         rc->name, u->start, show(m->path), show(want));
                        if (m->main != (u->start == rc->main_start))
                                fail_msg("%s: %s main flag %d", rc->name, u->name, m->main);
                }
                for (size_t i = 0; i < extras; i++) {
                        const struct extra_module *x = &rc->extra[i];
                        const struct core_module *m = NULL;
                        for (size_t j = 0; j < ci.count; j++)
                                if (ci.modules[j].start == x->start)
                                        m = &ci.modules[j];
                        if (!m || m->end != x->end || !m->path || strcmp(m->path, x->path) != 0 ||
                            m->build_id[0] || m->main != (x->start == rc->main_start))
                                fail_msg("%s: no module 0x%" PRIx64 "-0x%" PRIx64 " %s without build-id",
                                         rc->name, x->start, x->end, x->path);
                }
                core_info_free(&ci);
                core_info_free(&ci);    /* a freed answer is an empty one */
                assert_int_equal(ci.count, 0);
                assert_null(ci.modules);
        }
}

/* The executable argument marks nothing when the core names its main
 * module, and is not the executable when the core says one. */
static void test_hint(void **state)
{
        (void)state;
        const char *path;
        real_core("testfiledwarfinlines.core", &path);
        struct core_info a, b;
        analyze_ok(path, NULL, &a);
        analyze_ok(path, "/usr/lib64/libc-2.18.so", &b);
        assert_true(same_modules(&a, &b));
        assert_string_equal(a.executable, b.executable);
        core_info_free(&a);
        core_info_free(&b);
}

/* ---- files that are no core ---------------------------------------------- */

static void expect_refusal(const char *path, int code, const char *part)
{
        struct core_info ci;
        memset(&ci, 0x5a, sizeof ci);   /* filled on any return */
        struct error err = { 0 };
        int r = core_analyze(path, NULL, &ci, &err);
        if (r != -code)
                fail_msg("'%s': returned %d (%s), expected %d", path, r, err.msg, -code);
        check_message(&err, NULL, named(path), path);
        if (part)
                check_message(&err, NULL, part, path);
        assert_int_equal(ci.count, 0);
        assert_null(ci.modules);
        assert_null(ci.executable);
        core_info_free(&ci);
}

static void test_not_cores(void **state)
{
        (void)state;
        char path[PATH_MAX], src[PATH_MAX];

        tmp_path(path, "empty");
        write_file(path, "", 0);
        expect_refusal(path, EINVAL, "is not an ELF core file");

        /* Random bytes, with and without an ELF magic in front. */
        uint32_t x = 12345;
        unsigned char *rnd = malloc(65536);
        assert_non_null(rnd);
        for (size_t i = 0; i < 65536; i++) {
                x = x * 1103515245 + 12345;
                rnd[i] = (unsigned char)(x >> 16);
        }
        tmp_path(path, "random");
        write_file(path, rnd, 65536);
        expect_refusal(path, EINVAL, "is not an ELF core file");
        memcpy(rnd, ELFMAG, SELFMAG);
        tmp_path(path, "random-elf-magic");
        write_file(path, rnd, 65536);
        struct blob b = { rnd, 65536 };
        struct core_info ci;
        if (analyze_any(path, &b, NULL, &ci, "random-elf-magic") == 0)
                fail_msg("random bytes after an ELF magic taken for a core");
        /* A valid class and byte order, then random bytes. */
        rnd[EI_CLASS] = ELFCLASS64;
        rnd[EI_DATA] = ELFDATA2LSB;
        rnd[EI_VERSION] = EV_CURRENT;
        tmp_path(path, "random-elf-ident");
        write_file(path, rnd, 65536);
        if (analyze_any(path, &b, NULL, &ci, "random-elf-ident") == 0)
                core_info_free(&ci);
        free(rnd);

        /* Real executables and a shared object. */
        data_path(src, "satyr-null-dereference-x86_64/null_dereference.bin.x86_64");
        expect_refusal(src, EINVAL, "is not an ELF core file but an ELF executable");
        tmp_path(path, "linkmap-cut-lib.so");
        data_path(src, ELFUTILS "linkmap-cut-lib.so.bz2");
        unpack("bzip2", src, path);
        expect_refusal(path, EINVAL, "is not an ELF core file but an ELF shared object");

        tmp_path(path, "no-such-core");
        expect_refusal(path, ENOENT, "cannot open core");

        /* A FIFO must not block the worker. */
        tmp_path(path, "fifo");
        assert_int_equal(mkfifo(path, 0600), 0);
        expect_refusal(path, EINVAL, "not a regular file");
        expect_refusal(tmpdir, EINVAL, "not a regular file");
}

/* ---- ELF helpers for the mutations (ELF64 little-endian cores) ----------- */

static uint64_t get64(const unsigned char *p)
{
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static uint32_t get32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(unsigned char *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (unsigned char)(v >> (8 * i));
}

static void put32(unsigned char *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (unsigned char)(v >> (8 * i));
}

/* The first program header of type `type`, or NULL. */
static unsigned char *phdr_of(const struct blob *b, uint32_t type)
{
        uint64_t phoff = get64(b->p + 32);
        unsigned phnum = b->p[56] | b->p[57] << 8;
        for (unsigned i = 0; i < phnum; i++) {
                unsigned char *ph = b->p + phoff + 56 * (uint64_t)i;
                if (get32(ph) == type)
                        return ph;
        }
        return NULL;
}

/* The descriptor of the "CORE" note of type `type`, and its size. */
static unsigned char *note_of(const struct blob *b, uint32_t type, uint32_t *descsz,
                              unsigned char **header)
{
        unsigned char *ph = phdr_of(b, PT_NOTE);
        assert_non_null(ph);
        uint64_t off = get64(ph + 8), len = get64(ph + 32), pos = 0;
        while (pos + 12 <= len) {
                unsigned char *h = b->p + off + pos;
                uint32_t nsz = get32(h), dsz = get32(h + 4), t = get32(h + 8);
                uint64_t desc = pos + 12 + ((nsz + 3) & ~3u);
                if (t == type && nsz == 5 && memcmp(h + 12, "CORE", 5) == 0) {
                        *descsz = dsz;
                        if (header)
                                *header = h;
                        return b->p + off + desc;
                }
                pos = desc + ((dsz + 3) & ~3u);
        }
        fail_msg("no note of type 0x%x", type);
        return NULL;
}

static struct blob copy_of(const struct blob *b)
{
        struct blob c = { malloc(b->n ? b->n : 1), b->n };
        assert_non_null(c.p);
        memcpy(c.p, b->p, b->n);
        return c;
}

/* Writes b into the temporary directory (as `name` up to its first '-',
 * so that the many variants of a kind share a file), analyzes it, checks
 * the answer is sane. Returns the result; *ci holds the answer. */
static int run_mutant(const struct blob *b, const char *name, const char *hint, struct core_info *ci)
{
        char path[PATH_MAX], file[64];
        snprintf(file, sizeof file, "mutant-%.*s", (int)strcspn(name, "-"), name);
        tmp_path(path, file);
        write_file(path, b->p, b->n);
        return analyze_any(path, b, hint, ci, name);
}

/* ---- cut short ----------------------------------------------------------- */

static void cut_and_check(const struct blob *full, size_t len, const struct core_info *whole,
                          const char *what)
{
        struct blob cut = { full->p, len };
        char name[PATH_MAX];
        snprintf(name, sizeof name, "cut-%s-%zu", what, len);
        struct core_info ci;
        if (run_mutant(&cut, name, NULL, &ci) != 0)
                return;
        /* Nothing but what the whole core says. */
        for (size_t i = 0; i < ci.count; i++) {
                const struct core_module *m = &ci.modules[i];
                bool known = false;
                for (size_t j = 0; j < whole->count && !known; j++) {
                        const struct core_module *w = &whole->modules[j];
                        known = (!m->path || (w->path && strcmp(m->path, w->path) == 0)) &&
                                (!m->build_id[0] || strcmp(m->build_id, w->build_id) == 0);
                }
                if (!known)
                        fail_msg("%s: module %s %s not in the whole core", name,
                                 show(m->path), m->build_id);
        }
        assert_string_equal(ci.arch, whole->arch);
        core_info_free(&ci);
}

static void test_cut_short(void **state)
{
        (void)state;
        const char *names[] = { "testfiledwarfinlines.core", "core.snooze32.x86_64.11699",
                                "core.snooze.x86_64.11685" };
        for (size_t k = 0; k < N_ELEMENTS(names); k++) {
                const char *path;
                real_core(names[k], &path);
                struct blob full = read_file(path);
                struct core_info whole;
                analyze_ok(path, NULL, &whole);
                bool is64 = full.p[EI_CLASS] == ELFCLASS64;
                uint64_t phoff = is64 ? get64(full.p + 32) : get32(full.p + 28);
                unsigned phnum = is64 ? (full.p[56] | full.p[57] << 8) : (full.p[44] | full.p[45] << 8);
                size_t phend = (size_t)phoff + phnum * (is64 ? 56u : 32u);

                /* In the ELF header and the program headers: refused. */
                size_t early[] = { 1, 4, 16, 17, 40, 51, 52, 63, 64, phoff + 1, phend - 1 };
                for (size_t i = 0; i < N_ELEMENTS(early); i++) {
                        struct blob cut = { full.p, early[i] };
                        char name[64];
                        snprintf(name, sizeof name, "cut-early-%zu-%zu", k, early[i]);
                        struct core_info ci;
                        if (run_mutant(&cut, name, NULL, &ci) == 0)
                                fail_msg("%s: a core cut at %zu taken", names[k], early[i]);
                }
                /* Then every few hundred bytes through notes and segments. */
                for (size_t len = phend; len < full.n; len += len < 8192 ? 61 : 1021)
                        cut_and_check(&full, len, &whole, names[k]);
                cut_and_check(&full, full.n - 1, &whole, names[k]);
                core_info_free(&whole);
                free(full.p);
        }
}

/* ---- another architecture ------------------------------------------------ */

static void test_other_arch(void **state)
{
        (void)state;
        const char *path;
        real_core("testfiledwarfinlines.core", &path);
        struct blob full = read_file(path);
        struct core_info whole;
        analyze_ok(path, NULL, &whole);
        static const struct {
                uint16_t machine;
                const char *arch;
        } machines[] = {
                { EM_AARCH64, "aarch64" }, { EM_PPC64, "ppc64le" }, { EM_S390, "s390x" },
                { EM_RISCV, "riscv64" }, { EM_386, "i686" }, { EM_ARM, "armv7hl" },
                { 0xbeef, "em-48879" },
        };
        for (size_t i = 0; i < N_ELEMENTS(machines); i++) {
                struct blob b = copy_of(&full);
                b.p[18] = (unsigned char)machines[i].machine;
                b.p[19] = (unsigned char)(machines[i].machine >> 8);
                struct core_info ci;
                assert_int_equal(run_mutant(&b, "other-arch", NULL, &ci), 0);
                assert_string_equal(ci.arch, machines[i].arch);
                assert_true(same_modules(&ci, &whole));
                core_info_free(&ci);
                free(b.p);
        }
        /* The other byte order: everything reads differently; no crash. */
        struct blob b = copy_of(&full);
        b.p[EI_DATA] = ELFDATA2MSB;
        struct core_info ci;
        if (run_mutant(&b, "other-byte-order", NULL, &ci) == 0)
                core_info_free(&ci);
        free(b.p);
        core_info_free(&whole);
        free(full.p);
}

/* ---- damaged notes ------------------------------------------------------- */

/* Every byte of the note segment flipped in turn (in steps): answers stay
 * sane (paths only strings of the file). */
static void test_flipped_notes(void **state)
{
        (void)state;
        const char *names[] = { "testfiledwarfinlines.core", "core.snooze.x86_64.11685" };
        for (size_t k = 0; k < N_ELEMENTS(names); k++) {
                const char *path;
                real_core(names[k], &path);
                struct blob full = read_file(path);
                unsigned char *ph = phdr_of(&full, PT_NOTE);
                assert_non_null(ph);
                uint64_t off = get64(ph + 8), len = get64(ph + 32);
                struct blob b = copy_of(&full);
                for (uint64_t i = 0; i < len; i += 5) {
                        unsigned char old = b.p[off + i];
                        b.p[off + i] = i % 2 ? 0xff : old ^ 0x80;
                        char name[64];
                        snprintf(name, sizeof name, "flip-%zu-%" PRIu64, k, i);
                        struct core_info ci;
                        if (run_mutant(&b, name, NULL, &ci) == 0)
                                core_info_free(&ci);
                        b.p[off + i] = old;
                }
                free(b.p);
                free(full.p);
        }
}

static void test_damaged_nt_file(void **state)
{
        (void)state;
        const char *path;
        real_core("testfiledwarfinlines.core", &path);
        struct blob full = read_file(path);
        struct core_info whole;
        analyze_ok(path, NULL, &whole);
        uint32_t dsz = 0;
        unsigned char *hdr = NULL;
        size_t desc = (size_t)(note_of(&full, NT_FILE, &dsz, &hdr) - full.p);
        size_t hoff = (size_t)(hdr - full.p);
        uint64_t count = get64(full.p + desc);
        assert_true(count > 10);

        struct core_info ci;
        struct blob b;

        /* A table longer than the note: no paths at all, the modules and
         * their build-ids all the same. */
        uint64_t counts[] = { UINT64_MAX, UINT64_MAX / 24, count + 1000, (uint64_t)1 << 40 };
        for (size_t i = 0; i < N_ELEMENTS(counts); i++) {
                b = copy_of(&full);
                put64(b.p + desc, counts[i]);
                assert_int_equal(run_mutant(&b, "nt-file-count", NULL, &ci), 0);
                for (size_t j = 0; j < ci.count; j++)
                        if (ci.modules[j].path)
                                fail_msg("count %" PRIu64 ": path '%s'", counts[i],
                                         ci.modules[j].path);
                assert_int_equal(ci.count, whole.count);
                core_info_free(&ci);
                free(b.p);
        }

        /* Fewer entries than names: those entries keep their own names. */
        b = copy_of(&full);
        put64(b.p + desc, 0);
        assert_int_equal(run_mutant(&b, "nt-file-none", NULL, &ci), 0);
        for (size_t j = 0; j < ci.count; j++)
                assert_null(ci.modules[j].path);
        core_info_free(&ci);
        free(b.p);

        /* No NUL after the names: none is taken. */
        b = copy_of(&full);
        for (size_t i = desc + 16 + 24 * count; i < desc + dsz; i++)
                if (b.p[i] == '\0')
                        b.p[i] = 'x';
        assert_int_equal(run_mutant(&b, "nt-file-no-nul", NULL, &ci), 0);
        for (size_t j = 0; j < ci.count; j++)
                assert_null(ci.modules[j].path);
        core_info_free(&ci);
        free(b.p);

        /* Ranges turned around, offsets not 0: no path attached. */
        b = copy_of(&full);
        for (uint64_t i = 0; i < count; i++) {
                unsigned char *e = b.p + desc + 16 + 24 * i;
                uint64_t s = get64(e), t = get64(e + 8);
                put64(e, t);
                put64(e + 8, s);
        }
        assert_int_equal(run_mutant(&b, "nt-file-reversed", NULL, &ci), 0);
        for (size_t j = 0; j < ci.count; j++)
                assert_null(ci.modules[j].path);
        core_info_free(&ci);
        free(b.p);
        b = copy_of(&full);
        for (uint64_t i = 0; i < count; i++)
                put64(b.p + desc + 16 + 24 * i + 16, 7);
        assert_int_equal(run_mutant(&b, "nt-file-offsets", NULL, &ci), 0);
        for (size_t j = 0; j < ci.count; j++)
                if (ci.modules[j].build_id[0])
                        assert_null(ci.modules[j].path);
        core_info_free(&ci);
        free(b.p);

        /* The note's size past its segment, or huge: the note is skipped. */
        uint32_t sizes[] = { UINT32_MAX, UINT32_MAX - 3, dsz + 4096, 0, 7 };
        for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
                b = copy_of(&full);
                put32(b.p + hoff + 4, sizes[i]);
                if (run_mutant(&b, "nt-file-size", NULL, &ci) == 0)
                        core_info_free(&ci);
                put32(b.p + hoff, UINT32_MAX);  /* and the name's size */
                if (run_mutant(&b, "nt-file-namesz", NULL, &ci) == 0)
                        core_info_free(&ci);
                free(b.p);
        }
        core_info_free(&whole);
        free(full.p);
}

/* The build-id notes inside the dumped modules: damaged, they give no
 * build-id or the damaged bytes; never a crash, paths unchanged. */
static void test_damaged_build_ids(void **state)
{
        (void)state;
        const char *path;
        real_core("testfiledwarfinlines.core", &path);
        struct blob full = read_file(path);
        struct core_info whole;
        analyze_ok(path, NULL, &whole);

        for (size_t m = 0; m < whole.count; m++) {
                unsigned char id[CORE_BUILD_ID_MAX];
                size_t n;
                if (!whole.modules[m].build_id[0])
                        continue;
                assert_true(hex_to_bytes(whole.modules[m].build_id, id, &n));
                unsigned char *at = memmem(full.p, full.n, id, n);
                assert_non_null(at);
                size_t desc = (size_t)(at - full.p);
                assert_true(desc >= 16);
                size_t note = desc - 16;        /* namesz, descsz, type, "GNU\0" */
                assert_int_equal(get32(full.p + note), 4);
                assert_int_equal(get32(full.p + note + 4), n);
                assert_int_equal(get32(full.p + note + 8), NT_GNU_BUILD_ID);

                struct {
                        size_t off;
                        uint32_t value;
                        bool byte;
                } damage[] = {
                        { note + 4, UINT32_MAX, false }, { note + 4, 2, false },
                        { note + 4, 65, false }, { note + 4, 0, false },
                        { note, UINT32_MAX, false }, { note, 0, false },
                        { note + 8, 0x77, false }, { note + 14, 'X', true },
                        { desc, 0, true }, { desc + n - 1, 0xff, true },
                };
                for (size_t d = 0; d < N_ELEMENTS(damage); d++) {
                        struct blob b = copy_of(&full);
                        if (damage[d].byte)
                                b.p[damage[d].off] = (unsigned char)damage[d].value;
                        else
                                put32(b.p + damage[d].off, damage[d].value);
                        struct core_info ci;
                        assert_int_equal(run_mutant(&b, "build-id-damaged", NULL, &ci), 0);
                        for (size_t j = 0; j < ci.count; j++) {
                                const struct core_module *x = &ci.modules[j];
                                if (x->start != whole.modules[m].start)
                                        continue;
                                if (x->build_id[0] && strcmp(x->build_id, whole.modules[m].build_id) == 0 &&
                                    damage[d].off >= desc && damage[d].off < desc + n &&
                                    full.p[damage[d].off] != (unsigned char)damage[d].value)
                                        fail_msg("damaged build-id of %s still reported",
                                                 show(x->path));
                                if (!x->path != !whole.modules[m].path ||
                                    (x->path && strcmp(x->path, whole.modules[m].path) != 0))
                                        fail_msg("damaged build-id changed the path of %s",
                                                 show(whole.modules[m].path));
                        }
                        core_info_free(&ci);
                        free(b.p);
                }
        }
        core_info_free(&whole);
        free(full.p);
}

/* ---- sizes past the end of the file -------------------------------------- */

static long max_rss_kib(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss;
}

static void test_huge_sizes(void **state)
{
        (void)state;
        const char *path;
        real_core("testfiledwarfinlines.core", &path);
        struct blob full = read_file(path);
        struct core_info whole;
        analyze_ok(path, NULL, &whole);
        long rss = max_rss_kib();

        unsigned char *ph = phdr_of(&full, PT_NOTE);
        size_t note_ph = (size_t)(ph - full.p);
        uint64_t filesz[] = { UINT64_MAX, INT64_MAX, (uint64_t)full.n * 1000, full.n, 1ull << 40 };
        for (size_t i = 0; i < N_ELEMENTS(filesz); i++) {
                struct blob b = copy_of(&full);
                put64(b.p + note_ph + 32, filesz[i]);
                put64(b.p + note_ph + 40, filesz[i]);
                struct core_info ci;
                assert_int_equal(run_mutant(&b, "huge-note", NULL, &ci), 0);
                /* The notes are read to the end of the file, no further. */
                assert_true(same_modules(&ci, &whole));
                assert_int_equal(ci.signal, whole.signal);
                core_info_free(&ci);
                /* A note segment that starts past the end. */
                put64(b.p + note_ph + 8, full.n + 4096);
                assert_int_equal(run_mutant(&b, "note-past-end", NULL, &ci), 0);
                assert_int_equal(ci.signal, 0);
                for (size_t j = 0; j < ci.count; j++)
                        assert_null(ci.modules[j].path);
                core_info_free(&ci);
                free(b.p);
        }

        /* Load segments that claim more than the file holds. */
        struct blob b = copy_of(&full);
        uint64_t phoff = get64(b.p + 32);
        unsigned phnum = b.p[56] | b.p[57] << 8;
        for (unsigned i = 0; i < phnum; i++) {
                unsigned char *p = b.p + phoff + 56 * (uint64_t)i;
                if (get32(p) == PT_LOAD) {
                        put64(p + 32, UINT64_MAX / 2);
                        put64(p + 40, UINT64_MAX / 2);
                }
        }
        struct core_info ci;
        if (run_mutant(&b, "huge-loads", NULL, &ci) == 0)
                core_info_free(&ci);
        for (unsigned i = 0; i < phnum; i++) {
                unsigned char *p = b.p + phoff + 56 * (uint64_t)i;
                if (get32(p) == PT_LOAD)
                        put64(p + 8, UINT64_MAX - 4095);
        }
        if (run_mutant(&b, "loads-past-end", NULL, &ci) == 0)
                core_info_free(&ci);
        /* Program headers past the end. */
        put64(b.p + 32, full.n - 8);
        if (run_mutant(&b, "phdrs-past-end", NULL, &ci) == 0)
                fail_msg("program headers past the end taken");
        put64(b.p + 32, UINT64_MAX - 8);
        if (run_mutant(&b, "phdrs-wrap", NULL, &ci) == 0)
                fail_msg("program headers at 2^64 taken");
        free(b.p);

#ifndef __SANITIZE_ADDRESS__    /* ASan's quarantine and shadow grow on their own */
        long grown = max_rss_kib() - rss;
        if (grown > 256 * 1024)
                fail_msg("huge sizes made the process grow by %ld KiB", grown);
#else
        (void)rss;
#endif
        core_info_free(&whole);
        free(full.p);
}

/* ---- synthetic cores ----------------------------------------------------- */

struct synth {
        size_t modules;
        bool msb;               /* big-endian (an s390x core) */
        uint16_t machine;
        bool nt_file, auxv;
        size_t entry_module;    /* AT_ENTRY inside it */
        const char *execfn;     /* AT_EXECFN, or NULL */
        const char *first_file; /* a data file listed first in NT_FILE */
        const char *name0;      /* NT_FILE's name of module 0 */
        bool reverse;           /* program headers in descending order */
        uint64_t note_size;     /* the modules' PT_NOTE p_filesz, when not 0 */
        size_t pad;             /* bytes of zeros after the last segment */
};

struct out {
        unsigned char *p;
        size_t n, cap;
        bool msb;
};

static void out_need(struct out *o, size_t n)
{
        if (o->n + n > o->cap) {
                size_t cap = o->cap ? o->cap : 65536;
                while (cap < o->n + n)
                        cap *= 2;
                o->p = realloc(o->p, cap);
                assert_non_null(o->p);
                memset(o->p + o->cap, 0, cap - o->cap);
                o->cap = cap;
        }
}

static void wr(struct out *o, size_t at, uint64_t v, int bytes)
{
        out_need(o, at + (size_t)bytes > o->n ? at + (size_t)bytes - o->n : 0);
        for (int i = 0; i < bytes; i++)
                o->p[at + (size_t)i] = (unsigned char)(v >> (8 * (o->msb ? bytes - 1 - i : i)));
        if (at + (size_t)bytes > o->n)
                o->n = at + (size_t)bytes;
}

static void wr_bytes(struct out *o, size_t at, const void *p, size_t n)
{
        out_need(o, at + n > o->n ? at + n - o->n : 0);
        memcpy(o->p + at, p, n);
        if (at + n > o->n)
                o->n = at + n;
}

static void ehdr64(struct out *o, size_t at, uint16_t type, uint16_t machine, uint64_t phoff,
                   uint16_t phnum)
{
        unsigned char ident[EI_NIDENT] = { 0x7f, 'E', 'L', 'F', ELFCLASS64,
                                           o->msb ? ELFDATA2MSB : ELFDATA2LSB, EV_CURRENT };
        wr_bytes(o, at, ident, sizeof ident);
        wr(o, at + 16, type, 2);
        wr(o, at + 18, machine, 2);
        wr(o, at + 20, EV_CURRENT, 4);
        wr(o, at + 32, phoff, 8);
        wr(o, at + 52, 64, 2);
        wr(o, at + 54, 56, 2);
        wr(o, at + 56, phnum, 2);
}

static void phdr64(struct out *o, size_t at, uint32_t type, uint32_t flags, uint64_t offset,
                   uint64_t vaddr, uint64_t size, uint64_t align)
{
        wr(o, at, type, 4);
        wr(o, at + 4, flags, 4);
        wr(o, at + 8, offset, 8);
        wr(o, at + 16, vaddr, 8);
        wr(o, at + 32, size, 8);
        wr(o, at + 40, size, 8);
        wr(o, at + 48, align, 8);
}

/* A "CORE" note at o->n; returns where its descriptor goes. */
static size_t note_start(struct out *o, uint32_t type, uint32_t descsz)
{
        size_t at = o->n;
        wr(o, at, 5, 4);
        wr(o, at + 4, descsz, 4);
        wr(o, at + 8, type, 4);
        wr_bytes(o, at + 12, "CORE\0\0\0", 8);
        size_t desc = at + 20;
        out_need(o, desc + ((descsz + 3) & ~3u) - o->n);
        o->n = desc + ((descsz + 3) & ~3u);
        return desc;
}

#define SYNTH_BASE 0x10000000ull
#define SYNTH_STEP 0x10000ull
#define SYNTH_STACK 0x7ff000000000ull

static uint64_t synth_addr(size_t i)
{
        return SYNTH_BASE + SYNTH_STEP * i;
}

static void synth_build_id(size_t i, unsigned char id[20])
{
        for (int k = 0; k < 20; k++)
                id[k] = (unsigned char)(k < 2 ? i >> (8 * k) : i * 31 + (size_t)k * 7 + 1);
}

static void synth_name(size_t i, char *buf, size_t len)
{
        snprintf(buf, len, "/usr/lib64/libsynthetic-%zu.so.1", i);
}

static struct blob synth_core(const struct synth *s)
{
        struct out o = { .msb = s->msb };
        size_t loads = s->modules + (s->execfn ? 1 : 0);
        size_t phnum = 1 + loads;
        assert_true(phnum < 0xffff);
        ehdr64(&o, 0, ET_CORE, s->machine, 64, (uint16_t)phnum);
        o.n = 64 + 56 * phnum;
        out_need(&o, 0);

        /* Notes. */
        size_t notes = o.n;
        size_t d = note_start(&o, NT_PRSTATUS, 336);
        wr(&o, d, SIGBUS, 4);
        wr(&o, d + 12, SIGBUS, 2);
        wr(&o, d + 32, 4242, 4);
        if (s->auxv) {
                d = note_start(&o, NT_AUXV, 16 * 4);
                wr(&o, d, AT_PAGESZ, 8);
                wr(&o, d + 8, 4096, 8);
                wr(&o, d + 16, AT_ENTRY, 8);
                wr(&o, d + 24, synth_addr(s->entry_module) + 0x100, 8);
                wr(&o, d + 32, s->execfn ? 31 : AT_IGNORE, 8);
                wr(&o, d + 40, SYNTH_STACK + 0x10, 8);
        }
        if (s->nt_file) {
                size_t count = s->modules + (s->first_file ? 1 : 0), size = 16 + 24 * count;
                char name[PATH_MAX];
                for (size_t i = 0; i < s->modules; i++) {
                        synth_name(i, name, sizeof name);
                        size += strlen(i == 0 && s->name0 ? s->name0 : name) + 1;
                }
                if (s->first_file)
                        size += strlen(s->first_file) + 1;
                d = note_start(&o, NT_FILE, (uint32_t)size);
                wr(&o, d, count, 8);
                wr(&o, d + 8, 4096, 8);
                size_t e = d + 16, names = d + 16 + 24 * count;
                if (s->first_file) {
                        wr(&o, e, 0x1000, 8);
                        wr(&o, e + 8, 0x2000, 8);
                        wr(&o, e + 16, 0, 8);
                        e += 24;
                        wr_bytes(&o, names, s->first_file, strlen(s->first_file) + 1);
                        names += strlen(s->first_file) + 1;
                }
                for (size_t i = 0; i < s->modules; i++, e += 24) {
                        wr(&o, e, synth_addr(i), 8);
                        wr(&o, e + 8, synth_addr(i) + 0x1000, 8);
                        wr(&o, e + 16, 0, 8);
                        synth_name(i, name, sizeof name);
                        const char *n = i == 0 && s->name0 ? s->name0 : name;
                        wr_bytes(&o, names, n, strlen(n) + 1);
                        names += strlen(n) + 1;
                }
        }
        size_t notes_end = o.n;
        phdr64(&o, 64, PT_NOTE, 0, notes, 0, notes_end - notes, 4);

        /* Module pages: an ELF header, a PT_LOAD and a build-id note. */
        size_t page = (o.n + 4095) & ~(size_t)4095;
        for (size_t i = 0; i < s->modules; i++) {
                size_t at = page + 4096 * i;
                ehdr64(&o, at, ET_DYN, s->machine, 64, 2);
                phdr64(&o, at + 64, PT_LOAD, PF_R | PF_X, 0, 0, 0x1000, 0x1000);
                phdr64(&o, at + 120, PT_NOTE, PF_R, 176, 176, s->note_size ? s->note_size : 36, 4);
                wr(&o, at + 176, 4, 4);
                wr(&o, at + 180, 20, 4);
                wr(&o, at + 184, NT_GNU_BUILD_ID, 4);
                wr_bytes(&o, at + 188, "GNU", 4);
                unsigned char id[20];
                synth_build_id(i, id);
                wr_bytes(&o, at + 192, id, 20);
                out_need(&o, at + 4096 - o.n);
                o.n = at + 4096;
                size_t slot = s->reverse ? s->modules - 1 - i : i;
                phdr64(&o, 64 + 56 * (1 + slot), PT_LOAD, PF_R | PF_X, at, synth_addr(i), 4096, 4096);
        }
        if (s->execfn) {
                size_t at = o.n;
                wr_bytes(&o, at + 0x10, s->execfn, strlen(s->execfn) + 1);
                out_need(&o, at + 4096 - o.n);
                o.n = at + 4096;
                phdr64(&o, 64 + 56 * (1 + s->modules), PT_LOAD, PF_R | PF_W, at, SYNTH_STACK, 4096, 4096);
        }
        if (s->pad) {
                out_need(&o, s->pad);
                o.n += s->pad;
        }
        return (struct blob){ o.p, o.n };
}

static void check_synth(const struct synth *s, const struct core_info *ci)
{
        char name[PATH_MAX];
        assert_int_equal(ci->count, s->modules);
        assert_int_equal(ci->signal, SIGBUS);
        assert_int_equal(ci->pid, 4242);
        for (size_t i = 0; i < s->modules; i++) {
                const struct core_module *m = &ci->modules[i];
                unsigned char id[20];
                char hex[41];
                synth_build_id(i, id);
                for (int k = 0; k < 20; k++)
                        snprintf(hex + 2 * k, 3, "%02x", id[k]);
                assert_int_equal(m->start, synth_addr(i));
                assert_int_equal(m->end, synth_addr(i) + 0x1000);
                assert_string_equal(m->build_id, hex);
                synth_name(i, name, sizeof name);
                if (!s->nt_file)
                        assert_null(m->path);
                else
                        assert_string_equal(m->path, i == 0 && s->name0 ? s->name0 : name);
        }
}

static void test_synthetic(void **state)
{
        (void)state;
        struct core_info ci;
        struct error err;

        /* Little- and big-endian, with everything. */
        for (int msb = 0; msb < 2; msb++) {
                struct synth s = { .modules = 5, .msb = msb, .machine = msb ? EM_S390 : EM_X86_64,
                                   .nt_file = true, .auxv = true, .entry_module = 3,
                                   .execfn = "/usr/bin/synthetic" };
                struct blob b = synth_core(&s);
                assert_int_equal(run_mutant(&b, msb ? "synth-msb" : "synth-lsb", NULL, &ci), 0);
                check_synth(&s, &ci);
                assert_string_equal(ci.arch, msb ? "s390x" : "x86_64");
                for (size_t i = 0; i < ci.count; i++)
                        assert_int_equal(ci.modules[i].main, i == 3);
                assert_string_equal(ci.executable, "/usr/bin/synthetic");
                core_info_free(&ci);
                free(b.p);
        }

        /* A relative AT_EXECFN: the executable is the main module's path. */
        struct synth rel = { .modules = 3, .machine = EM_X86_64, .nt_file = true, .auxv = true,
                             .entry_module = 1, .execfn = "./synthetic" };
        struct blob b = synth_core(&rel);
        assert_int_equal(run_mutant(&b, "synth-relative", NULL, &ci), 0);
        check_synth(&rel, &ci);
        assert_string_equal(ci.executable, "/usr/lib64/libsynthetic-1.so.1");
        core_info_free(&ci);
        free(b.p);

        /* No auxv: the first NT_FILE file is the main module; when that is
         * a data file, the executable argument, by path or file name. */
        struct synth noaux = { .modules = 3, .machine = EM_X86_64, .nt_file = true };
        b = synth_core(&noaux);
        assert_int_equal(run_mutant(&b, "synth-noauxv", "/elsewhere/x", &ci), 0);
        check_synth(&noaux, &ci);
        assert_true(ci.modules[0].main);
        assert_string_equal(ci.executable, "/usr/lib64/libsynthetic-0.so.1");
        core_info_free(&ci);
        free(b.p);
        noaux.first_file = "/usr/share/synthetic/data.bin";
        b = synth_core(&noaux);
        const char *hints[] = { "/usr/lib64/libsynthetic-2.so.1", "/lib64/libsynthetic-2.so.1" };
        for (size_t h = 0; h < N_ELEMENTS(hints); h++) {
                assert_int_equal(run_mutant(&b, "synth-hint", hints[h], &ci), 0);
                check_synth(&noaux, &ci);
                for (size_t i = 0; i < ci.count; i++)
                        assert_int_equal(ci.modules[i].main, i == 2);
                assert_string_equal(ci.executable, "/usr/lib64/libsynthetic-2.so.1");
                core_info_free(&ci);
        }
        assert_int_equal(run_mutant(&b, "synth-nohint", NULL, &ci), 0);
        for (size_t i = 0; i < ci.count; i++)
                assert_false(ci.modules[i].main);
        assert_null(ci.executable);
        core_info_free(&ci);
        free(b.p);

        /* No notes at all: build-ids, no paths, no signal. */
        struct synth bare = { .modules = 2, .machine = EM_AARCH64 };
        b = synth_core(&bare);
        assert_int_equal(run_mutant(&b, "synth-bare", NULL, &ci), 0);
        assert_int_equal(ci.count, 2);
        assert_string_equal(ci.arch, "aarch64");
        assert_null(ci.modules[0].path);
        core_info_free(&ci);
        free(b.p);

        /* An NT_FILE path naming a FIFO: libdwfl on its own would open it
         * and block; here nothing but the core is opened. */
        char fifo[PATH_MAX];
        tmp_path(fifo, "synth-fifo");
        assert_int_equal(mkfifo(fifo, 0600), 0);
        struct synth f = { .modules = 2, .machine = EM_X86_64, .nt_file = true, .auxv = true,
                           .name0 = fifo };
        b = synth_core(&f);
        alarm(60);
        assert_int_equal(run_mutant(&b, "synth-fifo-core", NULL, &ci), 0);
        alarm(0);
        check_synth(&f, &ci);
        core_info_free(&ci);
        free(b.p);

        /* Program headers in descending order. */
        struct synth rev = { .modules = 300, .machine = EM_X86_64, .nt_file = true, .auxv = true,
                             .reverse = true };
        b = synth_core(&rev);
        assert_int_equal(run_mutant(&b, "synth-reverse", NULL, &ci), 0);
        check_synth(&rev, &ci);
        core_info_free(&ci);
        free(b.p);

        /* Build-id notes claiming a terabyte: libdwfl would read up to the
         * whole core for each; too much of that is refused up front, a
         * little gives modules without build-ids. */
        struct synth forged = { .modules = 5, .machine = EM_X86_64, .nt_file = true, .auxv = true,
                                .note_size = (uint64_t)1 << 40, .pad = 8u << 20 };
        b = synth_core(&forged);
        assert_int_equal(run_mutant(&b, "synth-forged-notes", NULL, &ci), 0);
        assert_int_equal(ci.count, 5);
        for (size_t i = 0; i < ci.count; i++) {
                assert_string_equal(ci.modules[i].build_id, "");
                assert_non_null(ci.modules[i].path);
        }
        core_info_free(&ci);
        free(b.p);
        forged.modules = 10;
        b = synth_core(&forged);
        memset(&err, 0, sizeof err);
        assert_int_equal(run_mutant(&b, "synth-forged-notes", NULL, &ci), -E2BIG);
        free(b.p);

        /* As many modules as allowed, and one more. */
        struct synth many = { .modules = CORE_MAX_MODULES, .machine = EM_X86_64, .nt_file = true,
                              .auxv = true };
        b = synth_core(&many);
        char path[PATH_MAX];
        tmp_path(path, "synth-many");
        write_file(path, b.p, b.n);
        analyze_ok(path, NULL, &ci);    /* check_synth is exact: no check_sane */
        check_synth(&many, &ci);
        core_info_free(&ci);
        free(b.p);
        many.modules++;
        b = synth_core(&many);
        tmp_path(path, "synth-too-many");
        write_file(path, b.p, b.n);
        memset(&err, 0, sizeof err);
        assert_int_equal(core_analyze(path, NULL, &ci, &err), -E2BIG);
        check_message(&err, "core '", "more than 4096 modules", path);
        assert_int_equal(ci.count, 0);
        core_info_free(&ci);
        free(b.p);
}

/* An ELF header in the dump whose PT_LOADs are out of order, the first
 * far above the second: libdwfl reports a module that ends before it
 * starts (found by tests/fuzz/fuzz-coreinfo, in a core whose executable's
 * page had one byte of a p_vaddr changed). Such a module is left out,
 * and so are sizes that run past the top of the address space; the
 * modules before it stay. */
static void test_wrapping_module(void **state)
{
        (void)state;
        struct synth s = { .modules = 3, .machine = EM_X86_64, .nt_file = true, .auxv = true };
        struct blob b = synth_core(&s);
        /* Module 1's page, from the core's PT_LOAD for it (after PT_NOTE). */
        size_t page = (size_t)get64(b.p + 64 + 56 * 2 + 8);
        /* Its PT_LOAD (after its ELF header), and its PT_NOTE, which may be
         * made a second PT_LOAD. */
        const struct {
                uint64_t vaddr, memsz;
                bool second_load;
        } loads[] = {
                { 0x0a00000000000000ull, 0x1000, true },
                { 0xfffffffffffff000ull, 0x1000, true },
                { 0, UINT64_MAX - 0xfff, false }, { 0, UINT64_MAX, false },
                { 0xfffffffffffff000ull, 0x2000, false },
        };
        for (size_t i = 0; i < N_ELEMENTS(loads); i++) {
                struct blob m = copy_of(&b);
                unsigned char *ph = m.p + page + 64;
                put64(ph + 16, loads[i].vaddr);
                put64(ph + 24, loads[i].vaddr);
                put64(ph + 40, loads[i].memsz);
                if (loads[i].second_load) {
                        put32(ph + 56, PT_LOAD);
                        put64(ph + 56 + 8, 0);          /* p_offset */
                        put64(ph + 56 + 16, 0);         /* p_vaddr */
                        put64(ph + 56 + 24, 0);
                        put64(ph + 56 + 32, 0x1000);    /* p_filesz */
                        put64(ph + 56 + 40, 0x1000);    /* p_memsz */
                }
                struct core_info ci;
                assert_int_equal(run_mutant(&m, "wrapping-module", NULL, &ci), 0);
                bool first = false;
                for (size_t k = 0; k < ci.count; k++) {
                        if (ci.modules[k].end <= ci.modules[k].start)
                                fail_msg("PT_LOAD %zu: module %zu range %" PRIx64 "-%" PRIx64, i, k,
                                         ci.modules[k].start, ci.modules[k].end);
                        if (ci.modules[k].start == synth_addr(0) && ci.modules[k].build_id[0])
                                first = true;
                }
                assert_true(first);
                core_info_free(&ci);
                free(m.p);
        }
        free(b.p);
}

/* More program headers than a process has mappings (PN_XNUM: the count
 * in section 0): refused before libdwfl, whose look for modules takes
 * time quadratic in their number. */
static void test_too_many_segments(void **state)
{
        (void)state;
        const size_t n = (1u << 17) + 1;
        struct out o = { 0 };
        ehdr64(&o, 0, ET_CORE, EM_X86_64, 64, PN_XNUM);
        size_t shoff = 64 + 56 * n;
        wr(&o, 40, shoff, 8);
        wr(&o, 58, 64, 2);
        wr(&o, 60, 1, 2);
        for (size_t i = 0; i < n; i++)
                phdr64(&o, 64 + 56 * i, PT_LOAD, PF_R, shoff, 0x10000 * (i + 1), 4096, 4096);
        for (size_t i = 0; i < n; i++)
                wr(&o, 64 + 56 * i + 32, 0, 8);         /* nothing in the file */
        wr(&o, shoff + 44, n, 4);                       /* section 0's sh_info */
        wr(&o, shoff + 63, 0, 1);
        char path[PATH_MAX];
        tmp_path(path, "xnum");
        write_file(path, o.p, o.n);
        struct core_info ci;
        struct error err = { 0 };
        assert_int_equal(core_analyze(path, NULL, &ci, &err), -E2BIG);
        check_message(&err, "core '", "program headers", path);
        free(o.p);
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
        (void)state;
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/test-coreinfo.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
                fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
                return -1;
        }
        snprintf(datadir, sizeof datadir, "%s", testdata_dir());
        if (access(datadir, R_OK) != 0) {
                /* Run by hand in a build directory: the data next to the
                 * source tree this file is in. */
                char *cut = strstr(__FILE__, "/tests/unit/test-coreinfo.c");
                if (cut) {
                        snprintf(datadir, sizeof datadir, "%.*s/../shared/testdata",
                                 (int)(cut - __FILE__), __FILE__);
                        setenv("TESTDATA", datadir, 1);         /* for slurp() */
                }
        }
        for (size_t i = 0; i < N_ELEMENTS(real_cores); i++) {
                const struct real_core *rc = &real_cores[i];
                char src[PATH_MAX];
                data_path(src, rc->core);
                if (access(src, R_OK) != 0) {
                        fprintf(stderr, "cannot read '%s' (set TESTDATA)\n", src);
                        remove_tree(tmpdir);
                        return -1;
                }
                if (rc->packing == PLAIN) {
                        snprintf(core_file[i], PATH_MAX, "%s", src);
                        continue;
                }
                tmp_path(core_file[i], rc->name);
                unpack(rc->packing == BZIP2 ? "bzip2" : "xz", src, core_file[i]);
        }
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        if (tmpdir[0])
                remove_tree(tmpdir);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_cores),
                cmocka_unit_test(test_hint),
                cmocka_unit_test(test_not_cores),
                cmocka_unit_test(test_cut_short),
                cmocka_unit_test(test_other_arch),
                cmocka_unit_test(test_flipped_notes),
                cmocka_unit_test(test_damaged_nt_file),
                cmocka_unit_test(test_damaged_build_ids),
                cmocka_unit_test(test_huge_sizes),
                cmocka_unit_test(test_synthetic),
                cmocka_unit_test(test_wrapping_module),
                cmocka_unit_test(test_too_many_segments),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

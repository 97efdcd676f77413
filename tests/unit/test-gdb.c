/* test-gdb.c: gdb_retrace() on real cores (elfutils' test cores with their
 * executables), its limits (time, output), its failures (a core gdb cannot
 * load, bad paths), a hostile root whose auto-load scripts must never run,
 * and the sandbox itself (capabilities, network, uid, mounts, descriptors,
 * environment, killing everything inside).
 *
 * The .bz2 test data is unpacked at run time into a private directory
 * (mode 0755: when the test runs as root, gdb runs as uid 65534 and must
 * read it). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../retrace-worker/coreinfo.h"
#include "../../retrace-worker/gdb.h"
#include "spool.h"
#include "testutil.h"

#define CORES "elfutils-cores-x86_64"

static char work[PATH_MAX];     /* the test's private directory */
static char rnd[32];            /* makes names of this run unique */

/* --- helpers ---------------------------------------------------------------- */

static void mkparent(const char *path)
{
        char p[PATH_MAX];
        test_path(p, sizeof p, "%s", path);
        char *slash = strrchr(p, '/');
        assert_non_null(slash);
        *slash = '\0';
        test_mkdirs(p);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
        mkparent(path);
        FILE *f = fopen(path, "w");
        if (!f)
                fail_msg("cannot write '%s': %s", path, strerror(errno));
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, mode), 0);
}

/* bzip2 -dc TESTDATA/CORES/name.bz2 > dst */
static void unpack(const char *name, const char *dst, mode_t mode)
{
        char src[PATH_MAX];
        test_path(src, sizeof src, "%s/" CORES "/%s.bz2", testdata_dir(), name);
        if (access(src, R_OK) < 0)
                fail_msg("no test data at '%s' (set TESTDATA)", src);
        mkparent(dst);
        int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(fd, 1);
                execlp("bzip2", "bzip2", "-dc", src, (char *)NULL);
                _exit(127);
        }
        close(fd);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("cannot unpack '%s' (bzip2 missing?)", src);
        assert_int_equal(chmod(dst, mode), 0);
}

/* The unpacked file `name` of the test data (unpacked once). */
static const char *data(const char *name)
{
        static char paths[16][PATH_MAX];
        static unsigned used;
        char p[PATH_MAX];
        test_path(p, sizeof p, "%s/data/%s", work, name);
        for (unsigned i = 0; i < used; i++)
                if (!strcmp(paths[i], p))
                        return paths[i];
        assert_true(used < 16);
        unpack(name, p, 0644);
        memcpy(paths[used], p, sizeof p);
        return paths[used++];
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
        mkparent(to);
        int in = open(from, O_RDONLY | O_CLOEXEC);
        int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(in >= 0 && out >= 0);
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0)
                assert_int_equal(write(out, buf, (size_t)n), n);
        assert_int_equal(n, 0);
        close(in);
        close(out);
        assert_int_equal(chmod(to, mode), 0);
}

/* A fresh, empty directory work/name. */
static void fresh_dir(char *buf, size_t len, const char *name)
{
        test_path(buf, len, "%s/%s", work, name);
        test_mkdirs(buf);
}

/* The whole file, NUL-terminated; "" when missing. free() it. */
static char *read_all(const char *path, size_t *size)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                if (size)
                        *size = 0;
                return calloc(1, 1);
        }
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap + 1);
        size_t n;
        while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
                len += n;
                if (len == cap)
                        buf = realloc(buf, (cap *= 2) + 1);
        }
        fclose(f);
        buf[len] = '\0';
        if (size)
                *size = len;
        return buf;
}

/* The section after marker's line, up to the next marker line; "" when
 * absent. Returns a malloc'd copy. */
static char *section(const char *out, const char *marker)
{
        char line[128];
        test_path(line, sizeof line, "%s\n", marker);
        const char *p = strstr(out, line);
        while (p && p != out && p[-1] != '\n')
                p = strstr(p + 1, line);
        if (!p)
                return calloc(1, 1);
        p += strlen(line);
        const char *end = strstr(p, "\n[retrace: ");
        size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
        char *s = malloc(n + 1);
        memcpy(s, p, n);
        s[n] = '\0';
        return s;
}

/* The function of a frame line: "#1  0x... in NAME (...)" or "#1  NAME (...)". */
static void frame_function(const char *line, char *buf, size_t len)
{
        const char *p = line + 1;
        while (*p >= '0' && *p <= '9')
                p++;
        while (*p == ' ')
                p++;
        if (!strncmp(p, "0x", 2)) {
                const char *in = strstr(p, " in ");
                p = in ? in + 4 : p;
        }
        size_t n = strcspn(p, " \n");
        if (n >= len)
                n = len - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
}

/* The functions of thread `number` in the threads section, innermost
 * first, space-separated. */
static void thread_functions(const char *threads, int number, char *buf, size_t len)
{
        char header[32];
        test_path(header, sizeof header, "Thread %d ", number);
        buf[0] = '\0';
        bool in = false;
        for (const char *l = threads; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
                if (!strncmp(l, "Thread ", 7)) {
                        in = !strncmp(l, header, strlen(header));
                        continue;
                }
                if (in && l[0] == '#') {
                        char fn[128];
                        frame_function(l, fn, sizeof fn);
                        size_t used = strlen(buf);
                        snprintf(buf + used, len - used, "%s%s", used ? " " : "", fn);
                }
        }
}

/* What satyr's gdb parser needs (lib/gdb_stacktrace.c): the first "#"
 * line (the crash frame) comes before the first "Thread " line, no other
 * "#" line lies between them (it would read as an extra thread), and
 * every line starting with "Thread " is a thread header. */
static void check_satyr_shape(const char *out)
{
        const char *first_thread = strstr(out, "\nThread ");
        const char *first_frame = strstr(out, "\n#");
        assert_non_null(first_thread);
        assert_non_null(first_frame);
        assert_true(first_frame < first_thread);
        const char *second = strstr(first_frame + 1, "\n#");
        assert_true(second > first_thread);
        for (const char *l = strstr(out, "\nThread "); l; l = strstr(l + 1, "\nThread ")) {
                const char *eol = strchr(l + 1, '\n');
                assert_non_null(eol);
                assert_true(eol[-1] == ':');
        }
}

/* --- the cores ---------------------------------------------------------------- */

struct core_case {
        const char *core;               /* in the test data, without .bz2 */
        const char *exec;               /* the executable there */
        const char *exec_path;          /* where the core ran it from, as a path in the root */
        const char *lib, *lib_path;     /* a shared library and where it goes, or NULL */
        const char *signal;             /* "Program terminated with signal ..." */
        int frames, with_source;        /* in all threads */
        const char *thread1, *thread2;  /* frames of threads 1 and 2, innermost first */
};

/* Expected frames: LOCAL-gdb13.1-bt.*.txt beside the cores, with the
 * executables in place (those files were made without them for some). */
static const struct core_case cases[] = {
        { "backtrace.x86_64.core", "backtrace.x86_64.exec",
          "/home/jkratoch/redhat/elfutils/tests/backtrace.x86_64.exec", NULL, NULL,
          "SIGABRT, Aborted", 9, 0,
          "raise sigusr2 stdarg backtracegen start start_thread clone", "pthread_join main" },
        { "backtrace.x86_64.fp.core", "backtrace.x86_64.fp.exec",
          "/home/ulf/dev/elfutils/tests/backtrace.x86_64.fp.exec", NULL, NULL,
          "SIGABRT, Aborted", 6, 2, "raise sigusr2 stdarg ??", "pthread_join main" },
        { "testfile-backtrace-demangle.core", "testfile-backtrace-demangle",
          "/usr/local/src/elfutils/tests/testfile-backtrace-demangle", NULL, NULL,
          "SIGSEGV, Segmentation fault", 3, 3, "cxxfunc f main", NULL },
        { "testfiledwarfinlines.core", "testfiledwarfinlines",
          "/usr/local/src/tests/testfiledwarfinlines", NULL, NULL,
          "SIGFPE, Arithmetic exception", 6, 6, "fubar foobar bar foo fu main", NULL },
        /* The link map names the library "./test-core-lib.so": relative
         * names resolve in the root (gdb's working directory). */
        { "test-core.core", "test-core.exec", "/home/jkratoch/redhat/elfutils-libregr/test-core-main",
          "test-core-lib.so", "/test-core-lib.so",
          "SIGSEGV, Segmentation fault", 2, 0, "libfunc main", NULL },
        /* A cut link map: gdb cannot name frame #0. */
        { "linkmap-cut.core", "linkmap-cut", "/linkmap-cut", NULL, NULL,
          "SIGSEGV, Segmentation fault", 3, 0, "?? ?? main", NULL },
};

/* work/<name>/root with the case's executable (and library) in place. */
static void build_root(const struct core_case *c, const char *name, char *root, size_t len)
{
        fresh_dir(root, len, name);
        char p[PATH_MAX];
        test_path(p, sizeof p, "%s%s", root, c->exec_path);
        copy_file(data(c->exec), p, 0755);
        if (c->lib) {
                test_path(p, sizeof p, "%s%s", root, c->lib_path);
                copy_file(data(c->lib), p, 0755);
        }
}

static void check_case(const struct core_case *c)
{
        char root[PATH_MAX], output[PATH_MAX], name[128];
        test_path(name, sizeof name, "root-%s", c->core);
        build_root(c, name, root, sizeof root);
        test_path(output, sizeof output, "%s/bt-%s", work, c->core);

        struct gdb_job job = { root, data(c->core), c->exec_path, output, 60, 16 << 20 };
        struct gdb_result res;
        struct error err = { 0, "" };
        int r = gdb_retrace(&job, &res, &err);
        char *out = read_all(output, NULL);
        if (r < 0)
                fail_msg("%s: %s\n%s", c->core, err.msg, out);
        print_message("%s: %.2f s, %d frames, %d with source\n", c->core, res.seconds,
                      res.frames, res.frames_with_source);

        assert_int_equal(res.exit_status, 0);
        assert_false(res.timed_out);
        assert_false(res.truncated);
        /* The sections, in order. */
        assert_true(!strncmp(out, GDB_MARK_CORE "\n", strlen(GDB_MARK_CORE) + 1));
        const char *marks[] = { GDB_MARK_THREADS, GDB_MARK_SHAREDLIB, GDB_MARK_MESSAGES,
                                GDB_MARK_REGISTERS, GDB_MARK_DISASSEMBLY };
        const char *prev = out;
        for (size_t i = 0; i < N_ELEMENTS(marks); i++) {
                char line[80];
                test_path(line, sizeof line, "\n%s\n", marks[i]);
                const char *at = strstr(out, line);
                if (!at || at < prev)
                        fail_msg("%s: %s missing or out of order:\n%s", c->core, marks[i], out);
                prev = at;
        }

        /* The banner and the crash frame, in the core section. */
        char *core = section(out, GDB_MARK_CORE);
        char expect[256];
        assert_non_null(strstr(core, "\nCore was generated by `"));
        test_path(expect, sizeof expect, "\nProgram terminated with signal %s.\n", c->signal);
        if (!strstr(core, expect))
                fail_msg("%s: no '%s' in\n%s", c->core, expect, core);
        const char *crash = strstr(core, "\n#0 ");
        assert_non_null(crash);
        char fn[128], top[128];
        frame_function(crash + 1, fn, sizeof fn);
        test_path(top, sizeof top, "%s", c->thread1);
        top[strcspn(top, " ")] = '\0';
        assert_string_equal(fn, top);
        free(core);

        /* Every thread's frames. */
        char *threads = section(out, GDB_MARK_THREADS);
        char got[512];
        thread_functions(threads, 1, got, sizeof got);
        if (strcmp(got, c->thread1))
                fail_msg("%s: thread 1 is '%s', not '%s'", c->core, got, c->thread1);
        thread_functions(threads, 2, got, sizeof got);
        if (strcmp(got, c->thread2 ? c->thread2 : ""))
                fail_msg("%s: thread 2 is '%s', not '%s'", c->core, got,
                         c->thread2 ? c->thread2 : "");
        free(threads);
        assert_int_equal(res.frames, c->frames);
        assert_int_equal(res.frames_with_source, c->with_source);

        /* info sharedlibrary: a table, or gdb's word that there is none
         * (the static executables). */
        char *libs = section(out, GDB_MARK_SHAREDLIB);
        assert_true(strstr(libs, "From                To                  Syms Read   "
                                 "Shared Object Library\n") ||
                    strstr(libs, "No shared libraries loaded at this time."));
        if (c->lib)
                assert_non_null(strstr(libs, c->lib));
        free(libs);

        char *msgs = section(out, GDB_MARK_MESSAGES);
        assert_non_null(strstr(msgs, "$_siginfo = {si_signo = "));
        free(msgs);
        char *regs = section(out, GDB_MARK_REGISTERS);
        assert_non_null(strstr(regs, "\nrip            0x"));
        free(regs);
        /* The crash instruction, marked "=> " (exploitable.c reads it). */
        char *dis = section(out, GDB_MARK_DISASSEMBLY);
        assert_non_null(strstr(dis, "=> 0x"));
        free(dis);

        check_satyr_shape(out);

        struct stat st;
        assert_int_equal(stat(output, &st), 0);
        assert_int_equal(st.st_mode & 07777, TASK_FILE_MODE);
        free(out);
}

static void test_cores(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(cases); i++)
                check_case(&cases[i]);
}

/* No script directory and no temporary output file stay behind. */
static void test_leaves_nothing(void **state)
{
        (void)state;
        char tmp[PATH_MAX];
        test_path(tmp, sizeof tmp, "%s/tmpdir", work);
        DIR *d = opendir(tmp);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        fail_msg("left in TMPDIR: %s", e->d_name);
        closedir(d);
        d = opendir(work);
        assert_non_null(d);
        while ((e = readdir(d)))
                if (!strncmp(e->d_name, ".bt-", 4))
                        fail_msg("temporary output left: %s", e->d_name);
        closedir(d);
}

/* The executable's path goes quoted into gdb's `file`. */
static void test_executable_quoting(void **state)
{
        (void)state;
        struct core_case c = cases[3];
        c.exec_path = "/usr/local/src/a \"quoted\" dir\\/testfiledwarfinlines";
        char root[PATH_MAX], output[PATH_MAX];
        build_root(&c, "root-quoting", root, sizeof root);
        test_path(output, sizeof output, "%s/bt-quoting", work);
        struct gdb_job job = { root, data(c.core), c.exec_path, output, 60, 16 << 20 };
        struct gdb_result res;
        struct error err = { 0, "" };
        if (gdb_retrace(&job, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res.frames_with_source, 6);

        /* No executable: gdb reads the core alone (no symbols, still frames). */
        job.executable = NULL;
        if (gdb_retrace(&job, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_true(res.frames > 0);
        assert_int_equal(res.frames_with_source, 0);
}

/* A program of our own that aborts in glibc (a double free), its core
 * written by gdb's gcore at the SIGABRT (independent of core_pattern), a
 * root made of the host's files at the paths the core names: glibc's
 * message comes out of __abort_msg, and libthread_db names the thread. */
static void run_quiet(const char *const argv[])
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                dup2(null, 2);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("'%s' failed", argv[0]);
}

static void test_glibc_abort(void **state)
{
        (void)state;
        char src[PATH_MAX], prog[PATH_MAX], core[PATH_MAX], root[PATH_MAX], output[PATH_MAX];
        test_path(src, sizeof src, "%s/abort.c", work);
        test_path(prog, sizeof prog, "%s/abort-prog", work);
        test_path(core, sizeof core, "%s/abort.core", work);
        write_text(src,
                   "#include <stdlib.h>\n"
                   "static void twice(char *p)\n{\n        free(p);\n        free(p);\n}\n"
                   "int main(void)\n{\n        twice(malloc(10));\n        return 0;\n}\n",
                   0644);
        const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
        const char *compile[] = { cc, "-g", "-O0", "-o", prog, src, NULL };
        run_quiet(compile);
        char gcore[PATH_MAX + 16];
        test_path(gcore, sizeof gcore, "gcore %s", core);
        const char *dump[] = { "gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off",
                               "-ex", "run", "-ex", gcore, prog, NULL };
        run_quiet(dump);
        assert_int_equal(chmod(core, 0644), 0);

        fresh_dir(root, sizeof root, "root-abort");
        struct core_info ci;
        struct error err = { 0, "" };
        if (core_analyze(core, prog, &ci, &err) < 0)
                fail_msg("%s", err.msg);
        size_t copied = 0;
        for (size_t i = 0; i < ci.count; i++) {
                const char *m = ci.modules[i].path;
                char to[PATH_MAX];
                if (!m || m[0] != '/' || access(m, R_OK) < 0)
                        continue;
                test_path(to, sizeof to, "%s%s", root, m);
                copy_file(m, to, 0755);
                copied++;
        }
        core_info_free(&ci);
        assert_true(copied >= 3);       /* the program, libc, ld.so */
        /* The link map names the libraries by the host's merged-/usr links
         * (/lib/x86_64-linux-gnu/libc.so.6): the root gets them too, as
         * the worker's root does. */
        const char *tops[] = { "lib", "lib32", "lib64", "bin", "sbin" };
        for (size_t i = 0; i < N_ELEMENTS(tops); i++) {
                char from[64], target[256], to[PATH_MAX];
                test_path(from, sizeof from, "/%s", tops[i]);
                ssize_t n = readlink(from, target, sizeof target - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                test_path(to, sizeof to, "%s/%s", root, tops[i]);
                assert_int_equal(symlink(target, to), 0);
        }

        test_path(output, sizeof output, "%s/bt-abort", work);
        struct gdb_job job = { root, core, prog, output, 60, 16 << 20 };
        struct gdb_result res;
        if (gdb_retrace(&job, &res, &err) < 0)
                fail_msg("%s", err.msg);
        char *out = read_all(output, NULL);
        print_message("glibc abort: %.2f s, %d frames, %d with source\n", res.seconds,
                      res.frames, res.frames_with_source);
        assert_non_null(strstr(out, "\nProgram terminated with signal SIGABRT, Aborted.\n"));
        char *msgs = section(out, GDB_MARK_MESSAGES);
        if (!strstr(msgs, "__abort_msg->msg = 0x") || !strstr(msgs, "double free"))
                fail_msg("no abort message in\n%s", msgs);
        assert_non_null(strstr(msgs, "si_signo = 6,"));
        free(msgs);
        char *threads = section(out, GDB_MARK_THREADS);
        char got[1024];
        thread_functions(threads, 1, got, sizeof got);
        if (!strstr(got, " twice main"))
                fail_msg("thread 1 is '%s'", got);
        free(threads);
        assert_true(res.frames_with_source >= 2);       /* twice, main */
        char *libs = section(out, GDB_MARK_SHAREDLIB);
        assert_non_null(strstr(libs, GDB_SANDBOX_ROOT));
        assert_non_null(strstr(libs, "/libc.so.6\n"));
        free(libs);
        check_satyr_shape(out);
        free(out);
}

/* --- failures ----------------------------------------------------------------- */

static void test_bad_jobs(void **state)
{
        (void)state;
        char root[PATH_MAX], output[PATH_MAX], fifo[PATH_MAX], text[PATH_MAX];
        build_root(&cases[3], "root-bad", root, sizeof root);
        test_path(output, sizeof output, "%s/bt-bad", work);
        struct gdb_job job = { root, data(cases[3].core), "/usr/bin/x\ny", output, 60, 1 << 20 };
        struct gdb_result res;
        struct error err = { 0, "" };

        assert_int_equal(gdb_retrace(&job, &res, &err), -EINVAL);
        check_message(&err, "the executable '/usr/bin/x\\x0ay' has a control character", NULL,
                      "newline");
        job.executable = "/usr/../../etc/passwd";
        assert_int_equal(gdb_retrace(&job, &res, &err), -EINVAL);
        check_message(&err, "the executable '/usr/../../etc/passwd' leads out of the root", NULL,
                      "dotdot");
        job.executable = "usr/bin/x";
        assert_int_equal(gdb_retrace(&job, &res, &err), -EINVAL);
        check_message(&err, "the executable 'usr/bin/x' is not an absolute path", NULL,
                      "relative");

        job.executable = cases[3].exec_path;
        test_path(fifo, sizeof fifo, "%s/fifo-core", work);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        job.core = fifo;
        assert_int_equal(gdb_retrace(&job, &res, &err), -EINVAL);
        check_message(&err, "the core '", "' is not a regular file", "fifo");
        test_path(text, sizeof text, "%s/missing-core", work);
        job.core = text;
        assert_int_equal(gdb_retrace(&job, &res, &err), -ENOENT);
        check_message(&err, "cannot read the core '", "No such file or directory", "missing");
        job.core = data(cases[3].core);
        job.root = text;
        assert_int_equal(gdb_retrace(&job, &res, &err), -ENOTDIR);
        check_message(&err, "the root '", "is not a directory", "root");
}

/* A core gdb cannot load: gdb's own reason, quoted. */
static void test_unloadable(void **state)
{
        (void)state;
        char root[PATH_MAX], output[PATH_MAX], core[PATH_MAX];
        build_root(&cases[3], "root-unloadable", root, sizeof root);
        test_path(output, sizeof output, "%s/bt-unloadable", work);
        test_path(core, sizeof core, "%s/not-a-core", work);
        write_text(core, "this is not an ELF core\n", 0644);
        struct gdb_job job = { root, core, cases[3].exec_path, output, 60, 1 << 20 };
        struct gdb_result res;
        struct error err = { 0, "" };
        assert_int_equal(gdb_retrace(&job, &res, &err), -EINVAL);
        check_message(&err, "gdb could not load the core: '", "is not a core dump", "text");
        print_message("%s\n", err.msg);
        char *out = read_all(output, NULL);
        assert_null(strstr(out, GDB_MARK_THREADS));     /* nothing ran after the load */
        free(out);

        /* The executable missing from the root. */
        job.core = data(cases[3].core);
        job.executable = "/usr/bin/not-there";
        assert_int_equal(gdb_retrace(&job, &res, &err), -EINVAL);
        check_message(&err, "gdb could not load the core: '",
                      "/retrace/root/usr/bin/not-there: No such file or directory.", "no exe");

        /* A core the sandbox's user cannot read (uid 65534 when the test
         * runs as root; the owner without read permission otherwise). */
        test_path(core, sizeof core, "%s/unreadable-core", work);
        copy_file(data(cases[3].core), core, 0);
        job.core = core;
        job.executable = cases[3].exec_path;
        assert_int_equal(gdb_retrace(&job, &res, &err), -EINVAL);
        check_message(&err, "gdb could not load the core: '", "Permission denied", "mode 0");
        print_message("%s\n", err.msg);

        /* A root the sandbox's user cannot enter: bwrap itself fails. */
        if (geteuid() == 0) {
                assert_int_equal(chmod(root, 0700), 0);
                job.core = data(cases[3].core);
                assert_int_equal(gdb_retrace(&job, &res, &err), -EIO);
                check_message(&err, "the sandbox for gdb failed to start: 'bwrap: ",
                              "Permission denied", "root 0700");
                print_message("%s\n", err.msg);
                assert_int_equal(chmod(root, 0755), 0);
        }
}

/* --- limits ------------------------------------------------------------------- */

/* gdb hangs for good on a FIFO where a library should be (a package could
 * hold one): it opens it and waits for a writer, deaf to SIGTERM. */
static void test_timeout(void **state)
{
        (void)state;
        char root[PATH_MAX], output[PATH_MAX], fifo[PATH_MAX];
        build_root(&cases[3], "root-fifo", root, sizeof root);
        test_path(fifo, sizeof fifo, "%s/lib64/libc.so.6", root);
        mkparent(fifo);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        test_path(output, sizeof output, "%s/bt-timeout", work);
        struct gdb_job job = { root, data(cases[3].core), cases[3].exec_path, output, 1, 1 << 20 };
        struct gdb_result res;
        struct error err = { 0, "" };
        assert_int_equal(gdb_retrace(&job, &res, &err), -ETIMEDOUT);
        assert_string_equal(err.msg, "gdb timed out after 1 s");
        assert_true(res.timed_out);
        assert_int_equal(res.exit_status, -1);
        assert_true(res.seconds >= 1.0 && res.seconds < 5.0);
        print_message("timed out after %.2f s\n", res.seconds);
        char *out = read_all(output, NULL);     /* what gdb said until then */
        assert_non_null(strstr(out, GDB_MARK_CORE));
        free(out);
}

static void test_output_cap(void **state)
{
        (void)state;
        char root[PATH_MAX], output[PATH_MAX];
        build_root(&cases[0], "root-cap", root, sizeof root);
        test_path(output, sizeof output, "%s/bt-cap", work);
        struct gdb_job job = { root, data(cases[0].core), cases[0].exec_path, output, 60, 0 };
        struct gdb_result res;
        struct error err = { 0, "" };
        if (gdb_retrace(&job, &res, &err) < 0)
                fail_msg("%s", err.msg);
        size_t full;
        free(read_all(output, &full));
        assert_false(res.truncated);

        job.output_limit = 3000;
        assert_true(full > job.output_limit);
        if (gdb_retrace(&job, &res, &err) < 0)
                fail_msg("%s", err.msg);
        size_t size;
        char *out = read_all(output, &size);
        assert_true(res.truncated);
        assert_false(res.timed_out);
        assert_int_equal(size, 3000);
        assert_int_equal(res.exit_status, -1);  /* stopped */
        free(out);
        print_message("full output %zu bytes, cut at 3000\n", full);
}

/* --- a hostile root ------------------------------------------------------------- */

/* Auto-load scripts where gdb looks for them: beside the objfile, under the
 * debug-file-directory (by the objfile's path in the sandbox and on its
 * own), under the root's share/gdb/auto-load; a .gdbinit in gdb's working
 * directory (the root). Each would print PWNED and write files into the
 * sandbox's /tmp, the host's /tmp and the test's directory. */
static void plant_scripts(const char *root, const char *exe)
{
        char py[1024], gdbs[1024], p[PATH_MAX];
        test_path(py, sizeof py,
              "print('PWNED-py')\n"
              "for p in ('/tmp/pwned-%s', '%s/pwned-py-%s'):\n"
              "    try:\n"
              "        open(p, 'w').close()\n"
              "    except OSError as e:\n"
              "        print('PWNED-py but', e)\n", rnd, work, rnd);
        test_path(gdbs, sizeof gdbs, "echo PWNED-gdb\\n\nshell touch /tmp/pwned-%s %s/pwned-gdb-%s\n",
              rnd, work, rnd);
        const char *dirs[] = { "", "/usr/lib/debug", "/usr/lib/debug" GDB_SANDBOX_ROOT,
                               "/usr/share/gdb/auto-load", "/usr/share/gdb/auto-load" GDB_SANDBOX_ROOT };
        for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
                test_path(p, sizeof p, "%s%s%s-gdb.py", root, dirs[i], exe);
                write_text(p, py, 0644);
                test_path(p, sizeof p, "%s%s%s-gdb.gdb", root, dirs[i], exe);
                write_text(p, gdbs, 0644);
        }
        test_path(p, sizeof p, "%s/.gdbinit", root);
        write_text(p, gdbs, 0644);
}

static void test_hostile_root(void **state)
{
        (void)state;
        const struct core_case *c = &cases[3];
        char root[PATH_MAX], output[PATH_MAX], p[PATH_MAX];
        build_root(c, "root-hostile", root, sizeof root);
        plant_scripts(root, c->exec_path);

        /* They are real bait: gdb without our settings runs them. */
        char cmd[4 * PATH_MAX];
        test_path(cmd, sizeof cmd, "cd '%s' && gdb -batch -nx -iex 'set auto-load safe-path /' "
              "-iex 'set debuginfod enabled off' -iex 'set sysroot %s' "
              "-iex 'set debug-file-directory %s/usr/lib/debug' -ex 'file %s%s' 2>&1",
              root, root, root, root, c->exec_path);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        pclose(f);
        if (!strstr(buf, "PWNED-py") || !strstr(buf, "PWNED-gdb"))
                fail_msg("the planted scripts do not run even without the sandbox:\n%s", buf);
        test_path(p, sizeof p, "%s/pwned-py-%s", work, rnd);
        assert_int_equal(access(p, F_OK), 0);
        unlink(p);
        test_path(p, sizeof p, "%s/pwned-gdb-%s", work, rnd);
        unlink(p);
        test_path(p, sizeof p, "/tmp/pwned-%s", rnd);
        unlink(p);

        test_path(output, sizeof output, "%s/bt-hostile", work);
        struct gdb_job job = { root, data(c->core), c->exec_path, output, 60, 16 << 20 };
        struct gdb_result res;
        struct error err = { 0, "" };
        if (gdb_retrace(&job, &res, &err) < 0)
                fail_msg("%s", err.msg);
        char *out = read_all(output, NULL);
        if (strstr(out, "PWNED"))
                fail_msg("a planted script ran:\n%s", out);
        assert_int_equal(res.frames_with_source, c->with_source);
        free(out);
        test_path(p, sizeof p, "%s/pwned-py-%s", work, rnd);
        assert_int_equal(access(p, F_OK), -1);
        test_path(p, sizeof p, "%s/pwned-gdb-%s", work, rnd);
        assert_int_equal(access(p, F_OK), -1);
        test_path(p, sizeof p, "/tmp/pwned-%s", rnd);
        assert_int_equal(access(p, F_OK), -1);
}

/* --- the sandbox itself --------------------------------------------------------- */

/* The argv itself: every safety option there, the job's files only
 * read-only, the command after "--"; too long a command refused. */
static void test_sandbox_argv(void **state)
{
        (void)state;
        struct gdb_sandbox sb = { "/some/root", "/some/core", "/some/cmd" };
        const char *cmd[] = { "gdb", "-batch", NULL };
        struct gdb_sandbox_argv a;
        struct error err = { 0, "" };
        if (gdb_sandbox_argv(&sb, cmd, &a, &err) < 0)
                fail_msg("%s", err.msg);
        char joined[8192] = "";
        for (size_t i = 0; i < a.argc; i++) {
                assert_non_null(a.argv[i]);
                size_t used = strlen(joined);
                snprintf(joined + used, sizeof joined - used, "%s%s", i ? " " : "", a.argv[i]);
        }
        assert_null(a.argv[a.argc]);
        print_message("%s\n", joined);
        const char *must[] = {
                " --unshare-all ", " --unshare-user ", " --disable-userns ",
                " --die-with-parent ", " --new-session ", " --cap-drop ALL ", " --clearenv ",
                " --setenv PATH /usr/bin:/bin ", " --setenv HOME /tmp ",
                " --ro-bind /usr /usr ", " --proc /proc ", " --dev /dev ",
                " --size 67108864 --tmpfs /tmp ",
                " --ro-bind /some/root " GDB_SANDBOX_ROOT " ",
                " --ro-bind /some/core " GDB_SANDBOX_CORE " ",
                " --ro-bind /some/cmd " GDB_SANDBOX_CMD " ",
                " --remount-ro / ", " --chdir " GDB_SANDBOX_ROOT " -- gdb -batch",
        };
        for (size_t i = 0; i < N_ELEMENTS(must); i++)
                if (!strstr(joined, must[i]))
                        fail_msg("no '%s' in %s", must[i], joined);
        assert_null(strstr(joined, " --bind "));
        assert_null(strstr(joined, " --dev-bind "));
        assert_null(strstr(joined, " --share-net"));
        assert_string_equal(a.argv[a.argc - 1], "-batch");

        const char *many[GDB_SANDBOX_ARGV_MAX + 1];
        for (size_t i = 0; i < GDB_SANDBOX_ARGV_MAX; i++)
                many[i] = "x";
        many[GDB_SANDBOX_ARGV_MAX] = NULL;
        assert_int_equal(gdb_sandbox_argv(&sb, many, &a, &err), -E2BIG);
        check_message(&err, "cannot run the sandbox: more than", NULL, "many");
}

static const char probe[] =
        "echo uid $(id -u) gid $(id -g)\n"
        "grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status\n"
        /* Interfaces of this network namespace. */
        "echo net $(tail -n +3 /proc/net/dev | cut -d: -f1)\n"
        "echo tmp \"$(ls -A /tmp)\"\n"
        "echo secret \"$RETRACE_TEST_SECRET\"\n"
        "echo fds $(ls /proc/self/fd)\n"
        "echo pids $(ls /proc | grep -c '^[0-9]')\n"
        "echo pwd $(pwd)\n"
        "touch /retrace/root/x 2>/dev/null && echo ROOT-WRITABLE\n"
        "touch /usr/x 2>/dev/null && echo USR-WRITABLE\n"
        "touch /retrace/core 2>/dev/null && echo CORE-WRITABLE\n"
        "touch /x 2>/dev/null && echo SLASH-WRITABLE\n"
        "touch /retrace/x 2>/dev/null && echo RETRACE-WRITABLE\n"
        "echo hello > /tmp/t && echo tmp-writable $(cat /tmp/t)\n"
        "test -e /home && echo HOME-VISIBLE\n"
        "test -e /etc/passwd && echo PASSWD-VISIBLE\n"
        "unshare -U true 2>/dev/null && echo USERNS-ALLOWED\n"
        "echo core $(head -c 4 /retrace/core | od -An -c | tr -d ' ')\n"
        "echo done\n";

static void test_sandbox(void **state)
{
        (void)state;
        char root[PATH_MAX], output[PATH_MAX], p[PATH_MAX];
        build_root(&cases[3], "root-sandbox", root, sizeof root);
        test_path(output, sizeof output, "%s/sandbox-out", work);
        test_path(p, sizeof p, "/tmp/visible-%s", rnd);
        write_text(p, "host /tmp\n", 0644);
        setenv("RETRACE_TEST_SECRET", "leaked", 1);
        int leak = open(work, O_RDONLY | O_DIRECTORY);  /* no O_CLOEXEC on purpose */
        assert_true(leak >= 3);

        struct gdb_sandbox sb = { root, data(cases[3].core), NULL };
        const char *cmd[] = { "sh", "-c", probe, NULL };
        struct gdb_sandbox_result res;
        struct error err = { 0, "" };
        if (gdb_sandbox_run(&sb, cmd, output, 30, 1 << 20, &res, &err) < 0)
                fail_msg("%s", err.msg);
        close(leak);
        unsetenv("RETRACE_TEST_SECRET");
        unlink(p);
        char *out = read_all(output, NULL);
        print_message("%s", out);
        assert_int_equal(res.exit_status, 0);
        assert_non_null(strstr(out, "\ndone\n"));

        /* Never root outside: uid 65534 when the test is root. */
        unsigned uid = geteuid() == 0 ? GDB_SANDBOX_UID : (unsigned)geteuid();
        char expect[128];
        test_path(expect, sizeof expect, "uid %u gid ", uid);
        assert_non_null(strstr(out, expect));
        assert_non_null(strstr(out, "CapEff:\t0000000000000000\n"));
        assert_non_null(strstr(out, "CapPrm:\t0000000000000000\n"));
        assert_non_null(strstr(out, "CapBnd:\t0000000000000000\n"));
        assert_non_null(strstr(out, "\nnet lo\n"));
        assert_non_null(strstr(out, "\ntmp \n"));
        assert_non_null(strstr(out, "\nsecret \n"));
        assert_non_null(strstr(out, "\nfds 0 1 2 3\n"));       /* 3: ls's own */
        assert_non_null(strstr(out, "\npwd " GDB_SANDBOX_ROOT "\n"));
        assert_non_null(strstr(out, "\ntmp-writable hello\n"));
        assert_non_null(strstr(out, "\ncore 177ELF\n"));
        const char *never[] = { "ROOT-WRITABLE", "USR-WRITABLE", "CORE-WRITABLE",
                                "SLASH-WRITABLE", "RETRACE-WRITABLE", "HOME-VISIBLE", "PASSWD-VISIBLE",
                                "USERNS-ALLOWED" };
        for (size_t i = 0; i < N_ELEMENTS(never); i++)
                if (strstr(out, never[i]))
                        fail_msg("%s", never[i]);
        const char *pids = strstr(out, "\npids ");
        assert_non_null(pids);
        assert_true(atoi(pids + 6) <= 8);       /* bwrap's init, sh, and its children */
        test_path(p, sizeof p, "%s/x", root);
        assert_int_equal(access(p, F_OK), -1);
        free(out);
}

/* The processes whose command line (arguments joined by spaces) holds
 * `s` (starts with it, when prefix): their number, the first `max` pids
 * into pids. */
static int find_processes(const char *s, bool prefix, pid_t *pids, int max)
{
        int count = 0;
        DIR *d = opendir("/proc");
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d))) {
                if (e->d_name[0] < '0' || e->d_name[0] > '9')
                        continue;
                char p[300], buf[4096];
                snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                ssize_t n = read(fd, buf, sizeof buf - 1);
                close(fd);
                if (n <= 0)
                        continue;
                for (ssize_t i = 0; i < n; i++)
                        if (!buf[i])
                                buf[i] = ' ';
                buf[n] = '\0';
                const char *at = strstr(buf, s);
                if (!at || (prefix && at != buf))
                        continue;
                if (count < max)
                        pids[count] = (pid_t)atoi(e->d_name);
                count++;
        }
        closedir(d);
        return count;
}

/* The "Uid:" line of /proc/pid/status, as the host sees it. */
static void host_uids(pid_t pid, char *buf, size_t len)
{
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
        buf[0] = '\0';
        FILE *f = fopen(p, "r");
        if (!f)
                return;
        char line[256];
        while (fgets(line, sizeof line, f))
                if (!strncmp(line, "Uid:", 4))
                        snprintf(buf, len, "%s", line);
        fclose(f);
}

/* At the time limit everything inside dies, also what the command left in
 * the background; at the output cap too. While it runs, the host sees the
 * sandbox's processes under the expected uid (never 0). */
static void test_sandbox_limits(void **state)
{
        (void)state;
        char output[PATH_MAX], script[256], tag[64];
        test_path(output, sizeof output, "%s/sandbox-limits", work);
        test_path(tag, sizeof tag, "1000.%s", rnd);
        test_path(script, sizeof script, "sleep %s & sleep %s & echo started; exec sleep %s", tag,
              tag, tag);
        struct gdb_sandbox sb = { NULL, NULL, NULL };
        const char *cmd[] = { "sh", "-c", script, NULL };
        struct gdb_sandbox_result res;
        struct error err = { 0, "" };

        fflush(NULL);
        pid_t runner = fork();
        assert_true(runner >= 0);
        if (runner == 0) {
                int ok = gdb_sandbox_run(&sb, cmd, output, 2, 1 << 20, &res, &err) == 0 &&
                         res.timed_out && res.exit_status == -1;
                _exit(ok ? 0 : 1);
        }
        pid_t pids[8];
        char sleep_tag[80];
        test_path(sleep_tag, sizeof sleep_tag, "sleep %s", tag);
        int n = 0;
        for (int i = 0; i < 150 && (n = find_processes(sleep_tag, true, pids, 8)) < 3; i++)
                usleep(10000);
        assert_int_equal(n, 3);
        /* The sleeps and both bwrap processes (the outer one and the init
         * of the PID namespace, whose arguments hold the tag too). */
        n = find_processes(tag, false, pids, 8);
        assert_int_equal(n, 5);
        unsigned uid = geteuid() == 0 ? GDB_SANDBOX_UID : (unsigned)geteuid();
        char expect[128], got[256];
        test_path(expect, sizeof expect, "Uid:\t%u\t%u\t%u\t%u\n", uid, uid, uid, uid);
        for (int i = 0; i < n; i++) {
                host_uids(pids[i], got, sizeof got);
                assert_string_equal(got, expect);
        }
        int status;
        assert_int_equal(waitpid(runner, &status, 0), runner);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char *out = read_all(output, NULL);
        assert_string_equal(out, "started\n");
        free(out);
        int left = 0;
        for (int i = 0; i < 200 && (left = find_processes(tag, false, pids, 8)) > 0; i++)
                usleep(10000);
        assert_int_equal(left, 0);

        const char *yes[] = { "yes", tag, NULL };
        if (gdb_sandbox_run(&sb, yes, output, 30, 4096, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_true(res.truncated);
        assert_false(res.timed_out);
        size_t size;
        out = read_all(output, &size);
        assert_int_equal(size, 4096);
        assert_true(res.seconds < 5);
        free(out);
        for (int i = 0; i < 200 && (left = find_processes(tag, false, pids, 8)) > 0; i++)
                usleep(10000);
        assert_int_equal(left, 0);
}

/* --- setup ---------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        chmod(path, 0755);
        return remove(path);
}

static int setup(void **state)
{
        (void)state;
        /* Run by hand from a build directory: the test data beside the
         * source tree this file was compiled from. */
        if (!getenv("TESTDATA") && !getenv("top_srcdir") && __FILE__[0] == '/') {
                char top[PATH_MAX];
                snprintf(top, sizeof top, "%s", __FILE__);
                for (int i = 0; i < 3; i++) {
                        char *slash = strrchr(top, '/');
                        if (slash)
                                *slash = '\0';
                }
                setenv("top_srcdir", top, 1);
        }
        snprintf(work, sizeof work, "/tmp/test-gdb.XXXXXX");
        if (!mkdtemp(work))
                return -1;
        /* gdb may run as uid 65534: it must reach the data. */
        if (chmod(work, 0755) < 0)
                return -1;
        snprintf(rnd, sizeof rnd, "%d%ld", (int)getpid(), (long)time(NULL) % 100000);
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof tmp, "%s/tmpdir", work) >= (int)sizeof tmp ||
            mkdir(tmp, 0755) < 0)
                return -1;
        setenv("TMPDIR", tmp, 1);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        if (work[0] && !getenv("TEST_GDB_KEEP"))
                nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cores),
                cmocka_unit_test(test_executable_quoting),
                cmocka_unit_test(test_glibc_abort),
                cmocka_unit_test(test_bad_jobs),
                cmocka_unit_test(test_unloadable),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_output_cap),
                cmocka_unit_test(test_hostile_root),
                cmocka_unit_test(test_sandbox_argv),
                cmocka_unit_test(test_sandbox),
                cmocka_unit_test(test_sandbox_limits),
                cmocka_unit_test(test_leaves_nothing),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

/* gdb.c: gdb in batch mode inside bubblewrap (see gdb.h).
 *
 * The script. gdb reads it from one small command file per section,
 * GDB_SANDBOX_CMD/N-name.gdb, given in order with -x. An error inside a
 * command file ends that file only (gdb -batch goes on with the next -x),
 * so a missing __abort_msg or a function gdb cannot disassemble costs its
 * own section and nothing else. The first file holds the settings, then
 * `file` and `core-file`, and sets $retrace_loaded last: should a setting
 * fail (auto-load off among them), nothing is loaded at all. Every later
 * file runs only when $_isvoid($retrace_loaded) is false, so a core gdb
 * cannot load leaves gdb's reason as the last line of the output. No
 * python: the script is plain gdb CLI.
 *
 * Values from the core are printed with print/output, which escape what
 * they show; never with printf "%s", which would copy the crashed
 * program's bytes (newlines, a fake "Thread 1 (LWP 1):") into the report.
 *
 * The sandbox: see gdb_sandbox_argv() below for every bwrap option and why.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "gdb.h"
#include "spool.h"

#define SANDBOX_PATH "/usr/bin:/bin"
#define SANDBOX_TMP_SIZE "67108864"     /* bytes of the private /tmp (tmpfs) */
#define BT_DEPTH "1024"                 /* frames per thread, as ABRT: endless
                                         * recursion must not exhaust gdb */
#define READ_CHUNK 65536

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the sandbox ------------------------------------------------------------ */

/* The first executable `name` in the worker's PATH. */
static int find_program(const char *name, char *buf, size_t len, struct error *err)
{
        const char *path = getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        while (*path) {
                const char *end = strchr(path, ':');
                size_t n = end ? (size_t)(end - path) : strlen(path);
                if (n > 0 && n < len) {
                        int w = snprintf(buf, len, "%.*s/%s", (int)n, path, name);
                        if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0)
                                return 0;
                }
                path += n + (end ? 1 : 0);
        }
        return error_set(err, ENOENT, "cannot run the sandbox: '%s' is not in PATH "
                         "(install bubblewrap)", name);
}

struct argv_builder {
        struct gdb_sandbox_argv *a;
        bool overflow;
};

static void add(struct argv_builder *b, const char *s)
{
        if (b->a->argc + 1 >= GDB_SANDBOX_ARGV_MAX) {
                b->overflow = true;
                return;
        }
        b->a->argv[b->a->argc++] = s;
        b->a->argv[b->a->argc] = NULL;
}

static void add2(struct argv_builder *b, const char *s1, const char *s2)
{
        add(b, s1);
        add(b, s2);
}

static void add3(struct argv_builder *b, const char *s1, const char *s2, const char *s3)
{
        add(b, s1);
        add(b, s2);
        add(b, s3);
}

/* Debian 12 and Fedora: /bin, /sbin, /lib, /lib64 are symlinks into /usr;
 * elsewhere they may be directories. */
static const char *const host_top_dirs[] = {
        "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
};

int gdb_sandbox_argv(const struct gdb_sandbox *sb, const char *const command[],
                     struct gdb_sandbox_argv *out, struct error *err)
{
        _Static_assert(sizeof host_top_dirs / sizeof host_top_dirs[0] <= GDB_SANDBOX_LINKS,
                       "link[] too small");
        if (!command || !command[0])
                return error_set(err, EINVAL, "cannot run the sandbox: no command");
        memset(out, 0, sizeof *out);
        int r = find_program("bwrap", out->bwrap, sizeof out->bwrap, err);
        if (r < 0)
                return r;

        struct argv_builder b = { out, false };
        add(&b, out->bwrap);
        /* Namespaces: user, IPC, PID, network (only lo), UTS, cgroup. A
         * user namespace always (the worker is never root here, see
         * gdb_sandbox_run), and none further inside. */
        add(&b, "--unshare-all");
        add(&b, "--unshare-user");
        add(&b, "--disable-userns");
        /* The sandbox dies with the worker; no controlling terminal (no
         * TIOCSTI); no capabilities even inside the namespace. */
        add(&b, "--die-with-parent");
        add(&b, "--new-session");
        add2(&b, "--cap-drop", "ALL");
        /* Nothing of the worker's environment (DEBUGINFOD_URLS, PYTHONPATH,
         * LD_PRELOAD...). HOME is the private /tmp. */
        add(&b, "--clearenv");
        add3(&b, "--setenv", "PATH", SANDBOX_PATH);
        add3(&b, "--setenv", "HOME", "/tmp");
        add3(&b, "--setenv", "LANG", "C.UTF-8");
        /* The host's gdb and its libraries, read-only. */
        add3(&b, "--ro-bind", "/usr", "/usr");
        size_t links = 0;
        for (size_t i = 0; i < sizeof host_top_dirs / sizeof host_top_dirs[0]; i++) {
                const char *d = host_top_dirs[i];
                struct stat st;
                if (lstat(d, &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode)) {
                        char *t = out->link[links];
                        ssize_t n = readlink(d, t, sizeof out->link[0]);
                        if (n > 0 && (size_t)n < sizeof out->link[0]) {
                                t[n] = '\0';
                                links++;
                                add3(&b, "--symlink", t, d);
                                continue;
                        }
                        /* A target too long to keep: bind what it points to. */
                }
                if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
                        add3(&b, "--ro-bind-try", d, d);
        }
        add3(&b, "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache");
        add2(&b, "--proc", "/proc");
        add2(&b, "--dev", "/dev");
        add2(&b, "--size", SANDBOX_TMP_SIZE);
        add2(&b, "--tmpfs", "/tmp");
        /* The job's files, read-only, at fixed paths. */
        if (sb->root)
                add3(&b, "--ro-bind", sb->root, GDB_SANDBOX_ROOT);
        if (sb->core)
                add3(&b, "--ro-bind", sb->core, GDB_SANDBOX_CORE);
        if (sb->cmd_dir)
                add3(&b, "--ro-bind", sb->cmd_dir, GDB_SANDBOX_CMD);
        /* bwrap's own root (a tmpfs holding the mount points) read-only
         * too: only /tmp can be written. */
        add2(&b, "--remount-ro", "/");
        /* Relative library names in a core ("./libfoo.so") then resolve in
         * the root, as sysroot resolves absolute ones. */
        add2(&b, "--chdir", sb->root ? GDB_SANDBOX_ROOT : "/");
        add(&b, "--");
        for (size_t i = 0; command[i]; i++)
                add(&b, command[i]);
        if (b.overflow)
                return error_set(err, E2BIG, "cannot run the sandbox: more than %d arguments",
                                 GDB_SANDBOX_ARGV_MAX - 1);
        return 0;
}

/* A descriptor >= 3, close-on-exec, so dup2() onto 0, 1, 2 in the child
 * always makes a fresh, inheritable copy. */
static int high_fd(int fd)
{
        if (fd < 0 || fd > 2)
                return fd;
        int h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        int saved = errno;
        close(fd);
        errno = saved;
        return h;
}

/* Only async-signal-safe calls: the worker may have threads. */
static void child_fail(const char *msg, int code) __attribute__((noreturn));
static void child_fail(const char *msg, int code)
{
        ssize_t n = write(2, msg, strlen(msg));
        (void)n;
        _exit(code);
}

static void run_child(const char *const argv[], int devnull, int wfd, bool drop, pid_t parent)
        __attribute__((noreturn));
static void run_child(const char *const argv[], int devnull, int wfd, bool drop, pid_t parent)
{
        static char *const env[] = { "PATH=" SANDBOX_PATH, "LANG=C.UTF-8", NULL };
        setpgid(0, 0);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++)
                sigaction(s, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(devnull, 0) < 0 || dup2(wfd, 1) < 0 || dup2(wfd, 2) < 0)
                _exit(126);
        /* Nothing else of the worker's reaches the sandbox: an inherited
         * directory descriptor would lead out of any mount namespace. */
        if (close_range(3, ~0U, 0) < 0)
                for (int fd = 3; fd < 65536; fd++)
                        close(fd);
        if (drop && (setgroups(0, NULL) < 0 || setgid(GDB_SANDBOX_UID) < 0 ||
                     setuid(GDB_SANDBOX_UID) < 0 || setuid(0) == 0))
                child_fail("retrace: cannot drop root privileges before starting bwrap\n", 126);
        /* After the uid change, which clears it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(126);
        execve(argv[0], (char *const *)argv, env);
        child_fail("retrace: cannot execute bwrap\n", 127);
}

static void kill_sandbox(pid_t pid)
{
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
}

/* Temporaries of an earlier run for the same output (template ends in
 * XXXXXX), left by a worker killed mid-run: one output has one writer at
 * a time (a task has one worker), so any such file is stale. */
static void remove_stale_outputs(const char *template)
{
        char dir[PATH_MAX];
        const char *slash = strrchr(template, '/');
        const char *base = slash ? slash + 1 : template;
        size_t plen = strlen(base) - 6;         /* ".NAME." */
        if (snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - template) : 1,
                     slash ? template : ".") >= (int)sizeof dir)
                return;
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d)))
                if (strlen(e->d_name) == plen + 6 && strncmp(e->d_name, base, plen) == 0)
                        unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
}

/* Whether process pid is gone: no such process, or a zombie nobody has
 * reaped yet (its parent was killed with it). */
static bool pid_gone(long pid)
{
        if (kill((pid_t)pid, 0) < 0)
                return errno == ESRCH;
        char state;
        long ppid;
        return proc_stat_read(pid, &state, &ppid) == 0 && (state == 'Z' || state == 'X');
}

/* Script directories (TMPDIR/retrace-gdb.PID.XXXXXX) of processes that
 * are gone (a worker killed while gdb ran), owned by this user. */
static void remove_stale_script_dirs(const char *tmpdir)
{
        DIR *d = opendir(tmpdir);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d))) {
                char *end;
                if (strncmp(e->d_name, "retrace-gdb.", 12) != 0)
                        continue;
                long pid = strtol(e->d_name + 12, &end, 10);
                struct stat st;
                if (pid <= 0 || *end != '.' || !pid_gone(pid) ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
                        continue;
                char path[PATH_MAX];
                if (snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name) < (int)sizeof path)
                        remove_tree(path, NULL);
        }
        closedir(d);
}

/* The temporary that becomes output: DIR/.NAME.XXXXXX. */
static int output_template(const char *output, char *tmp, size_t len)
{
        const char *slash = strrchr(output, '/');
        int w = slash ? snprintf(tmp, len, "%.*s/.%s.XXXXXX", (int)(slash - output),
                                 output, slash + 1)
                      : snprintf(tmp, len, ".%s.XXXXXX", output);
        return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

static const char *tmp_dir(void)
{
        const char *tmpdir = getenv("TMPDIR");
        return tmpdir && *tmpdir ? tmpdir : "/tmp";
}

void gdb_remove_leftovers(const char *output)
{
        char tmp[PATH_MAX];
        if (output_template(output, tmp, sizeof tmp) == 0)
                remove_stale_outputs(tmp);
        remove_stale_script_dirs(tmp_dir());
}

int gdb_sandbox_run(const struct gdb_sandbox *sb, const char *const command[],
                    const char *output, unsigned timeout_s, uint64_t output_limit,
                    struct gdb_sandbox_result *res, struct error *err)
{
        struct gdb_sandbox_argv a;
        memset(res, 0, sizeof *res);
        res->exit_status = -1;
        int r = gdb_sandbox_argv(sb, command, &a, err);
        if (r < 0)
                return r;

        char tmp[PATH_MAX];
        if (output_template(output, tmp, sizeof tmp) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s'", output);
        remove_stale_outputs(tmp);
        int out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0)
                return error_set_errno(err, errno, "cannot create a temporary file for '%s'",
                                       output);

        int pfd[2] = { -1, -1 };
        int devnull = -1;
        if (pipe2(pfd, O_CLOEXEC) < 0 || (pfd[0] = high_fd(pfd[0])) < 0 ||
            (pfd[1] = high_fd(pfd[1])) < 0 ||
            (devnull = high_fd(open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0) {
                r = error_set_errno(err, errno, "cannot run the sandbox: no pipe");
                goto fail;
        }

        bool drop = geteuid() == 0;
        pid_t parent = getpid();
        double t0 = now_s();
        double deadline = timeout_s ? t0 + timeout_s : 0;
        pid_t pid = fork();
        if (pid < 0) {
                r = error_set_errno(err, errno, "cannot run the sandbox: fork");
                goto fail;
        }
        if (pid == 0)
                run_child(a.argv, devnull, pfd[1], drop, parent);
        setpgid(pid, pid);      /* also here: no race with kill(-pid) */
        close(pfd[1]);
        pfd[1] = -1;
        close(devnull);
        devnull = -1;

        char buf[READ_CHUNK];
        uint64_t written = 0;
        bool killed = false;
        for (;;) {
                int wait_ms = -1;
                if (deadline) {
                        double left = deadline - now_s();
                        if (left <= 0) {
                                res->timed_out = 1;
                                break;
                        }
                        wait_ms = left > 60 ? 60000 : (int)(left * 1000) + 1;
                }
                struct pollfd p = { pfd[0], POLLIN, 0 };
                int n = poll(&p, 1, wait_ms);
                if (n < 0 && errno != EINTR) {
                        r = error_set_errno(err, errno, "cannot read gdb's output");
                        break;
                }
                if (n <= 0)
                        continue;
                ssize_t got = read(pfd[0], buf, sizeof buf);
                if (got < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (got < 0) {
                        r = error_set_errno(err, errno, "cannot read gdb's output");
                        break;
                }
                if (got == 0)
                        break;          /* every writer is gone */
                size_t keep = (size_t)got;
                if (output_limit && written + keep > output_limit) {
                        keep = (size_t)(output_limit - written);
                        res->truncated = 1;
                }
                int wr = fd_write_all(out, buf, keep);
                if (wr < 0) {
                        r = error_set_errno(err, -wr, "cannot write '%s'", tmp);
                        break;
                }
                written += keep;
                if (res->truncated)
                        break;
        }
        if (res->timed_out || res->truncated || r < 0) {
                kill_sandbox(pid);
                killed = true;
        }
        close(pfd[0]);
        pfd[0] = -1;

        /* Reap bwrap; the output has ended but bwrap may linger: still
         * under the deadline. */
        int status = 0;
        for (;;) {
                pid_t got = waitpid(pid, &status, deadline && !killed ? WNOHANG : 0);
                if (got == pid)
                        break;
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0) {          /* ECHILD: the caller reaps children itself */
                        status = -1;
                        break;
                }
                if (now_s() >= deadline) {
                        res->timed_out = 1;
                        kill_sandbox(pid);
                        killed = true;
                        continue;
                }
                struct timespec ts = { 0, 5 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        res->seconds = now_s() - t0;
        if (!killed && status != -1 && WIFEXITED(status))
                res->exit_status = WEXITSTATUS(status);
        if (r < 0)
                goto fail;

        if (fchmod(out, TASK_FILE_MODE) < 0 || fsync(out) < 0) {
                r = error_set_errno(err, errno, "cannot write '%s'", tmp);
                goto fail;
        }
        r = close(out);
        out = -1;
        if (r < 0 || rename(tmp, output) < 0) {
                r = error_set_errno(err, errno, "cannot write '%s'", output);
                unlink(tmp);
                return r;
        }
        return 0;

fail:
        if (pfd[0] >= 0)
                close(pfd[0]);
        if (pfd[1] >= 0)
                close(pfd[1]);
        if (devnull >= 0)
                close(devnull);
        if (out >= 0)
                close(out);
        unlink(tmp);
        return r;
}

/* --- the script ------------------------------------------------------------- */

/* Each runs only when the core loaded (see the top of this file). Every
 * file evaluates what may fail before it echoes a label, and gives each
 * value its own convenience variable: one that held $_siginfo would write
 * into the siginfo when assigned again. */
#define WHEN_LOADED(body) "if !$_isvoid($retrace_loaded)\n" body "end\n"

static const struct {
        const char *name;
        const char *text;
} report_files[] = {
        { "1-threads.gdb", WHEN_LOADED(
          "  echo \\n" GDB_MARK_THREADS "\\n\n"
          "  thread apply all -ascending backtrace full " BT_DEPTH "\n") },
        { "2-sharedlib.gdb", WHEN_LOADED(
          "  echo \\n" GDB_MARK_SHAREDLIB "\\n\n"
          "  info sharedlibrary\n") },
        /* $_siginfo: si_addr is the faulting address (exploitable.c reads
         * it). */
        { "3-siginfo.gdb", WHEN_LOADED(
          "  echo \\n" GDB_MARK_MESSAGES "\\n\n"
          "  set $retrace_signo = $_siginfo.si_signo\n"
          "  echo $_siginfo =\\040\n"
          "  output $_siginfo\n"
          "  echo \\n\n") },
        /* glibc's __abort_msg points to { unsigned int size; char msg[]; }
         * (the abort and malloc messages). Read through its address, it
         * needs no debuginfo for glibc. */
        { "4-abort-msg.gdb", WHEN_LOADED(
          "  set $retrace_abort_msg = *(char **) &__abort_msg\n"
          "  if $retrace_abort_msg != 0\n"
          "    echo __abort_msg->msg =\\040\n"
          "    output $retrace_abort_msg + 4\n"
          "  else\n"
          "    echo __abort_msg =\\040\n"
          "    output $retrace_abort_msg\n"
          "  end\n"
          "  echo \\n\n") },
        /* GLib's char *__glib_assert_msg. */
        { "5-glib-assert-msg.gdb", WHEN_LOADED(
          "  set $retrace_glib_msg = *(char **) &__glib_assert_msg\n"
          "  echo __glib_assert_msg =\\040\n"
          "  output $retrace_glib_msg\n"
          "  echo \\n\n") },
        { "6-registers.gdb", WHEN_LOADED(
          "  echo \\n" GDB_MARK_REGISTERS "\\n\n"
          "  info registers\n") },
        /* The crash frame's function, or (no symbol for the pc) the
         * instructions from the pc on. */
        { "7-disassemble.gdb", WHEN_LOADED(
          "  echo \\n" GDB_MARK_DISASSEMBLY "\\n\n"
          "  disassemble\n"
          "  set $retrace_disassembled = 1\n") },
        { "8-instructions.gdb", WHEN_LOADED(
          "  if $_isvoid($retrace_disassembled)\n"
          "    x/16i $pc\n"
          "  end\n") },
};

#define LOAD_FILE "0-load.gdb"
#define N_FILES (1 + sizeof report_files / sizeof report_files[0])

static int write_file(int dfd, const char *name, const char *text, struct error *err)
{
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot write the gdb script '%s'", name);
        int r = fd_write_all(fd, text, strlen(text));
        if (r == 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0)
                return error_set_errno(err, -r, "cannot write the gdb script '%s'", name);
        return 0;
}

/* The executable's path escaped for a "..." argument of gdb's `file`
 * (gdb splits it like a shell: \" and \\ inside quotes). */
static int quote_executable(const char *exe, char *buf, size_t len, struct error *err)
{
        char q[QUOTE_BUF];
        if (exe[0] != '/')
                return error_set(err, EINVAL, "the executable '%s' is not an absolute path",
                                 error_quote(exe, q));
        size_t o = 0;
        for (const char *p = exe; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c < 0x20 || c == 0x7f)
                        return error_set(err, EINVAL, "the executable '%s' has a control "
                                         "character in its name", error_quote(exe, q));
                if (!strncmp(p, "/../", 4) || !strcmp(p, "/.."))
                        return error_set(err, EINVAL, "the executable '%s' leads out of the "
                                         "root", error_quote(exe, q));
                if (o + 3 >= len)
                        return error_set(err, ENAMETOOLONG, "the executable '%s' has too long "
                                         "a name", error_quote(exe, q));
                if (c == '"' || c == '\\')
                        buf[o++] = '\\';
                buf[o++] = (char)c;
        }
        buf[o] = '\0';
        return 0;
}

static int write_scripts(const char *dir, const char *executable, struct error *err)
{
        char file_cmd[PATH_MAX * 2 + 64] = "";
        if (executable && *executable) {
                char quoted[PATH_MAX * 2];
                int r = quote_executable(executable, quoted, sizeof quoted, err);
                if (r < 0)
                        return r;
                snprintf(file_cmd, sizeof file_cmd, "file \"" GDB_SANDBOX_ROOT "%s\"\n",
                         quoted);
        }
        char load[sizeof file_cmd + 2048];
        int n = snprintf(load, sizeof load,
                "# Settings first: set after the file is loaded they fail silently.\n"
                "# An error here ends this file: nothing is loaded without them.\n"
                "set debuginfod enabled off\n"
                "set auto-load off\n"
                "set sysroot " GDB_SANDBOX_ROOT "\n"
                "set debug-file-directory " GDB_SANDBOX_ROOT "/usr/lib/debug\n"
                "set substitute-path /usr/src/debug " GDB_SANDBOX_ROOT "/usr/src/debug\n"
                "set pagination off\n"
                "set height 0\n"
                "set width 0\n"
                "set confirm off\n"
                "set style enabled off\n"
                "echo " GDB_MARK_CORE "\\n\n"
                "%s"
                "core-file " GDB_SANDBOX_CORE "\n"
                "set $retrace_loaded = 1\n", file_cmd);
        if (n < 0 || (size_t)n >= sizeof load)
                return error_set(err, ENAMETOOLONG, "the gdb script is too long");

        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return error_set_errno(err, errno, "cannot open '%s'", dir);
        int r = write_file(dfd, LOAD_FILE, load, err);
        for (size_t i = 0; r == 0 && i < sizeof report_files / sizeof report_files[0]; i++)
                r = write_file(dfd, report_files[i].name, report_files[i].text, err);
        close(dfd);
        return r;
}

static void remove_scripts(const char *dir)
{
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, LOAD_FILE);
        unlink(p);
        for (size_t i = 0; i < sizeof report_files / sizeof report_files[0]; i++) {
                snprintf(p, sizeof p, "%s/%s", dir, report_files[i].name);
                unlink(p);
        }
        rmdir(dir);
}

/* --- reading the output ----------------------------------------------------- */

static bool is_marker(const char *line)
{
        return !strncmp(line, "[retrace: ", 10);
}

/* "#12 " or "#3  ": a frame line. */
static bool is_frame(const char *line)
{
        if (line[0] != '#' || line[1] < '0' || line[1] > '9')
                return false;
        const char *p = line + 1;
        while (*p >= '0' && *p <= '9')
                p++;
        return *p == ' ';
}

/* The line ends in " at FILE:LINE". */
static bool has_source(const char *line)
{
        const char *at = NULL;
        for (const char *p = strstr(line, " at "); p; p = strstr(p + 1, " at "))
                at = p;
        if (!at)
                return false;
        const char *colon = strrchr(at + 4, ':');
        if (!colon || colon == at + 4)
                return false;
        for (const char *p = at + 4; p < colon; p++)
                if (*p == ' ')
                        return false;
        const char *d = colon + 1;
        if (*d < '0' || *d > '9')
                return false;
        while (*d >= '0' && *d <= '9')
                d++;
        return *d == '\0';
}

struct output_facts {
        bool loaded;            /* the threads marker is there */
        int frames, frames_with_source;
        char last[256];         /* the last line that is neither empty nor ours */
};

static int read_output(const char *path, struct output_facts *f, struct error *err)
{
        memset(f, 0, sizeof *f);
        FILE *fp = fopen(path, "re");
        if (!fp)
                return error_set_errno(err, errno, "cannot read '%s'", path);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        bool in_threads = false;
        while ((len = getline(&line, &cap, fp)) >= 0) {
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                if (is_marker(line)) {
                        in_threads = !strcmp(line, GDB_MARK_THREADS);
                        f->loaded |= in_threads;
                        continue;
                }
                if (in_threads && is_frame(line)) {
                        f->frames++;
                        f->frames_with_source += has_source(line);
                }
                /* gdb's "FILE:N: Error in sourced command file:" precedes
                 * the message itself. */
                if (len > 0 && !strstr(line, "Error in sourced command file:"))
                        snprintf(f->last, sizeof f->last, "%s", line);
        }
        free(line);
        fclose(fp);
        return 0;
}

/* --- gdb_retrace ------------------------------------------------------------ */

int gdb_retrace(const struct gdb_job *job, struct gdb_result *result, struct error *err)
{
        char q[QUOTE_BUF];
        memset(result, 0, sizeof *result);
        result->exit_status = -1;
        if (!job->root || !job->core || !job->output)
                return error_set(err, EINVAL, "cannot run gdb: no root, core or output");

        struct stat st;
        if (stat(job->core, &st) < 0)
                return error_set_errno(err, errno, "cannot read the core '%s'",
                                       error_quote(job->core, q));
        /* A FIFO or device would hang gdb or read without end. */
        if (!S_ISREG(st.st_mode))
                return error_set(err, EINVAL, "the core '%s' is not a regular file",
                                 error_quote(job->core, q));
        if (stat(job->root, &st) < 0 || !S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "the root '%s' is not a directory",
                                 error_quote(job->root, q));

        const char *tmpdir = tmp_dir();
        char dir[PATH_MAX];
        /* The pid in the name: what a killed worker left can be told from
         * what others are using. */
        remove_stale_script_dirs(tmpdir);
        if (snprintf(dir, sizeof dir, "%s/retrace-gdb.%ld.XXXXXX", tmpdir,
                     (long)getpid()) >= (int)sizeof dir)
                return error_set(err, ENAMETOOLONG, "TMPDIR is too long");
        if (!mkdtemp(dir))
                return error_set_errno(err, errno, "cannot create a directory in '%s'", tmpdir);
        /* gdb runs as GDB_SANDBOX_UID when the worker is root: it may
         * enter the directory and read the files, not list or change them. */
        int r = 0;
        if (geteuid() == 0 && chmod(dir, 0711) < 0)
                r = error_set_errno(err, errno, "cannot change the mode of '%s'", dir);
        if (r == 0)
                r = write_scripts(dir, job->executable, err);
        if (r < 0) {
                remove_scripts(dir);
                return r;
        }

        const char *argv[4 + 2 * N_FILES];
        char paths[N_FILES][sizeof GDB_SANDBOX_CMD + 32];
        size_t n = 0;
        argv[n++] = "gdb";
        argv[n++] = "-batch";
        argv[n++] = "-nx";
        for (size_t i = 0; i < N_FILES; i++) {
                snprintf(paths[i], sizeof paths[i], GDB_SANDBOX_CMD "/%s",
                         i == 0 ? LOAD_FILE : report_files[i - 1].name);
                argv[n++] = "-x";
                argv[n++] = paths[i];
        }
        argv[n] = NULL;

        struct gdb_sandbox sb = { job->root, job->core, dir };
        struct gdb_sandbox_result sr;
        r = gdb_sandbox_run(&sb, argv, job->output, job->timeout_s, job->output_limit, &sr,
                            err);
        remove_scripts(dir);
        if (r < 0)
                return r;
        result->seconds = sr.seconds;
        result->exit_status = sr.exit_status;
        result->timed_out = sr.timed_out;
        result->truncated = sr.truncated;

        struct output_facts f;
        r = read_output(job->output, &f, err);
        if (r < 0)
                return r;
        result->frames = f.frames;
        result->frames_with_source = f.frames_with_source;

        if (sr.timed_out)
                return error_set(err, ETIMEDOUT, "gdb timed out after %u s", job->timeout_s);
        if (f.loaded || sr.truncated)
                return 0;

        /* The reason is the last thing gdb (or bwrap, or the child before
         * it) said: later sections are skipped when nothing loaded. */
        char rq[QUOTE_SIZE(160)];
        error_quote_n(f.last[0] ? f.last : "(no output)", SIZE_MAX, 160, rq);
        char hint[128] = "";
        if (geteuid() == 0 && strstr(f.last, "Permission denied"))
                snprintf(hint, sizeof hint, " (gdb runs as uid %d, which must be able to read "
                         "the root and the core)", GDB_SANDBOX_UID);
        if (!strncmp(f.last, "bwrap: ", 7) || !strncmp(f.last, "retrace: ", 9))
                return error_set(err, EIO, "the sandbox for gdb failed to start: '%s'%s", rq,
                                 hint);
        return error_set(err, EINVAL, "gdb could not load the core: '%s'%s", rq, hint);
}

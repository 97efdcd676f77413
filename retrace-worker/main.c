/* retrace-worker: the daemon that turns queued tasks into backtraces.
 *
 * It watches SpoolDir/queue/ with inotify and also scans it every
 * ScanInterval seconds (a spool on a network file system gets no inotify
 * events from other hosts), claims a task by renaming queue/<id> to
 * running/<id> (exactly one worker wins, on one host or several), and runs
 * it in a child process, up to Jobs at once, so that a crash while
 * handling one hostile core cannot take the daemon or other tasks down.
 *
 * A claim records its owner (tasks/<id>/worker: host, pid, boot). At
 * start-up the worker finds the claims of this host whose process is gone
 * (killed, or a reboot) and queues each again, up to three attempts, then
 * fails it with a log line saying so. No task is silently lost.
 *
 * Finished tasks are deleted after DeleteTaskAfter / DeleteFailedTaskAfter
 * hours, uploads abandoned by a killed httpd child after a day, and the
 * package cache is kept under CacheMaxSize. Each task process adds what
 * its task did to SpoolDir/stats/worker (stage durations, result, cache
 * hits), and housekeeping records the cache's size there: /metrics shows
 * them (common/stats.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "conf.h"
#include "fsutil.h"
#include "spool.h"
#include "stats.h"
#include "task.h"

#define MAX_ATTEMPTS 3
#define ABANDONED_UPLOAD_AGE (24 * 3600)

struct child {
        pid_t pid;
        task_id id;
};

static struct {
        const char *config;
        const char *pidfile;
        unsigned jobs;
        bool once;
        bool verbose;
} opt;

static struct retrace_conf conf;
static struct worker_env env;
static struct child *children;
static unsigned running;
static bool stopping;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("retrace-worker: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* --- claims ----------------------------------------------------------------- */

static void boot_id(char *buf, size_t len)
{
        if (spool_read_file("/proc/sys/kernel/random/boot_id", buf, len, NULL, NULL) < 0)
                snprintf(buf, len, "unknown");
        buf[strcspn(buf, "\n")] = '\0';
}

static void write_owner(task_id id, pid_t pid)
{
        char dir[PATH_MAX], host[256], boot[64], text[512];
        spool_task_path(conf.spool_dir, id, NULL, dir, sizeof dir);
        if (gethostname(host, sizeof host) < 0)
                snprintf(host, sizeof host, "unknown");
        boot_id(boot, sizeof boot);
        int n = snprintf(text, sizeof text, "%s %d %s\n", host, (int)pid, boot);
        spool_write_file(dir, "worker", text, (size_t)n, TASK_FILE_MODE, NULL);
}

/* Whether process pid is a live retrace-worker (this program: the daemon
 * or one of its task processes). Dead: no such process, a zombie not yet
 * reaped (its parent, the killed daemon, cannot reap it, and init may take
 * its time), or the pid taken by another program since. */
static bool worker_alive(int pid)
{
        char path[64], line[512], self[64];
        if (pid <= 0)
                return false;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        if (spool_read_file(path, line, sizeof line, NULL, NULL) < 0)
                return kill(pid, 0) == 0 || errno == EPERM;     /* no /proc: ask the kernel */
        /* "pid (comm) S ...": comm may hold spaces and parentheses. */
        char *lp = strchr(line, '('), *rp = strrchr(line, ')');
        if (!lp || !rp || rp < lp || rp[1] != ' ')
                return true;
        char state = rp[2];
        if (state == 'Z' || state == 'X' || state == 'x')
                return false;
        *rp = '\0';
        if (spool_read_file("/proc/self/comm", self, sizeof self, NULL, NULL) == 0) {
                self[strcspn(self, "\n")] = '\0';
                if (strcmp(lp + 1, self) != 0)
                        return false;
        }
        return true;
}

/* A claim without (readable) owner, younger than this, may be one another
 * worker of this host has just made: its task process writes the owner
 * right after the claim. */
#define OWNERLESS_CLAIM_GRACE 60

/* Whether this host's claim on a task is dead: its process is gone, or it
 * was made before this boot. Claims of other hosts are theirs. */
static bool claim_is_orphaned(task_id id)
{
        char path[PATH_MAX], text[512], host[256], owner_host[256], boot[64], owner_boot[64];
        int pid;
        spool_task_path(conf.spool_dir, id, "worker", path, sizeof path);
        if (spool_read_file(path, text, sizeof text, NULL, NULL) < 0 ||
            sscanf(text, "%255s %d %63s", owner_host, &pid, owner_boot) != 3) {
                /* Claimed and never started: by a worker that died at
                 * once, or by one that is starting it right now. The
                 * claim's rename set its ctime. */
                char dir[PATH_MAX], claim[PATH_MAX];
                struct stat st;
                if (spool_dir_path(conf.spool_dir, SPOOL_RUNNING_DIR, dir, sizeof dir) < 0 ||
                    snprintf(claim, sizeof claim, "%s/%u", dir, id) >= (int)sizeof claim ||
                    stat(claim, &st) < 0)
                        return false;
                return time(NULL) - st.st_ctime > OWNERLESS_CLAIM_GRACE;
        }
        if (gethostname(host, sizeof host) < 0 || strcmp(host, owner_host) != 0)
                return false;
        boot_id(boot, sizeof boot);
        if (strcmp(boot, owner_boot) != 0)
                return true;
        return !worker_alive(pid);
}

static bool is_our_child(task_id id)
{
        for (unsigned i = 0; i < opt.jobs; i++)
                if (children[i].pid && children[i].id == id)
                        return true;
        return false;
}

static unsigned bump_attempts(task_id id)
{
        char dir[PATH_MAX], path[PATH_MAX], text[32];
        spool_task_path(conf.spool_dir, id, NULL, dir, sizeof dir);
        spool_task_path(conf.spool_dir, id, "attempts", path, sizeof path);
        unsigned n = 0;
        if (spool_read_file(path, text, sizeof text, NULL, NULL) == 0)
                n = (unsigned)strtoul(text, NULL, 10);
        n++;
        int len = snprintf(text, sizeof text, "%u\n", n);
        spool_write_file(dir, "attempts", text, (size_t)len, TASK_FILE_MODE, NULL);
        return n;
}

/* Claims left by a worker of this host that is gone: queue each again, or
 * fail it after MAX_ATTEMPTS. Run at start-up and with the housekeeping:
 * a task process may die after this daemon started (it was left running
 * by a daemon killed alone, then was killed itself), and a killed task
 * process may still be an unreaped zombie at start-up. */
static void recover_claims(void)
{
        char dir[PATH_MAX];
        DIR *d;
        if (spool_dir_path(conf.spool_dir, SPOOL_RUNNING_DIR, dir, sizeof dir) < 0 ||
            !(d = opendir(dir)))
                return;
        struct dirent *e;
        while ((e = readdir(d))) {
                task_id id;
                if (!task_id_parse(e->d_name, strlen(e->d_name), &id) || is_our_child(id) ||
                    !claim_is_orphaned(id))
                        continue;
                unsigned attempts = bump_attempts(id);
                if (attempts >= MAX_ATTEMPTS) {
                        logmsg("task %u: interrupted %u times; failing it", id, attempts);
                        char why[256];
                        snprintf(why, sizeof why, "The worker handling this task was interrupted "
                                 "%u times (killed, or the machine restarted); giving up", attempts);
                        task_fail(&env, id, why);
                        continue;
                }
                if (spool_task_requeue(conf.spool_dir, id, NULL) == 0) {
                        logmsg("task %u: its worker was interrupted; queued again (attempt %u of %u)",
                               id, attempts + 1, MAX_ATTEMPTS);
                        char note[256];
                        snprintf(note, sizeof note, "The worker handling this task was interrupted "
                                 "(killed, or the machine restarted); the task is queued again "
                                 "(attempt %u of %u)", attempts + 1, MAX_ATTEMPTS);
                        task_note(&env, id, "WARN", note);
                        char task_dir[PATH_MAX];
                        spool_task_path(conf.spool_dir, id, NULL, task_dir, sizeof task_dir);
                        task_write_stage(task_dir, TASK_STAGE_QUEUED, NULL);
                }
        }
        closedir(d);
}

/* The oldest queued task (by its marker's time): first come, first served. */
static bool next_queued(task_id *out)
{
        char dir[PATH_MAX];
        DIR *d;
        if (spool_dir_path(conf.spool_dir, SPOOL_QUEUE_DIR, dir, sizeof dir) < 0 ||
            !(d = opendir(dir)))
                return false;
        struct dirent *e;
        bool found = false;
        struct timespec best = { 0 };
        int fd = dirfd(d);
        while ((e = readdir(d))) {
                task_id id;
                struct stat st;
                if (!task_id_parse(e->d_name, strlen(e->d_name), &id) ||
                    fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!found || st.st_mtim.tv_sec < best.tv_sec ||
                    (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec < best.tv_nsec)) {
                        best = st.st_mtim;
                        *out = id;
                        found = true;
                }
        }
        closedir(d);
        return found;
}

/* --- children -------------------------------------------------------------- */

static sigset_t handled;

static void start_task(task_id id)
{
        struct error err;
        if (spool_task_claim(conf.spool_dir, id, &err) < 0)
                return;         /* another worker was first */
        pid_t pid = fork();
        if (pid < 0) {
                logmsg("task %u: cannot fork: %s; queued again", id, strerror(errno));
                spool_task_requeue(conf.spool_dir, id, NULL);
                return;
        }
        if (pid == 0) {
                sigprocmask(SIG_UNBLOCK, &handled, NULL);
                signal(SIGTERM, SIG_DFL);
                write_owner(id, getpid());
                _exit(task_run(&env, id) < 0 ? 1 : 0);
        }
        for (unsigned i = 0; i < opt.jobs; i++)
                if (children[i].pid == 0) {
                        children[i] = (struct child){ pid, id };
                        break;
                }
        running++;
        if (opt.verbose)
                logmsg("task %u: started (pid %d, %u running)", id, (int)pid, running);
}

/* Descendants of a task process can outlive it when it dies abruptly:
 * bubblewrap 0.8 sets its sandbox's parent-death signal only after
 * cloning it, so a task process killed in between leaves the sandbox (and
 * gdb in it) running. As a child subreaper the daemon inherits such
 * orphans; every child of its own that is not a task process is one, and
 * is killed (a sandbox's init takes its whole PID namespace with it). */
static void kill_orphans(void)
{
        DIR *d = opendir("/proc");
        if (!d)
                return;
        pid_t self = getpid();
        struct dirent *e;
        while ((e = readdir(d))) {
                char *end;
                long pid = strtol(e->d_name, &end, 10);
                if (*end || pid <= 0 || pid == self)
                        continue;
                char state;
                long ppid;
                if (proc_stat_read(pid, &state, &ppid) < 0 || ppid != self || state == 'Z')
                        continue;
                bool ours = false;
                for (unsigned i = 0; i < opt.jobs; i++)
                        ours |= children[i].pid == (pid_t)pid;
                if (ours)
                        continue;
                logmsg("killing process %ld, left behind by a task process that died", pid);
                kill((pid_t)pid, SIGKILL);
        }
        closedir(d);
}

static void reap(void)
{
        int status;
        pid_t pid;
        bool reaped = false;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                for (unsigned i = 0; i < opt.jobs; i++) {
                        if (children[i].pid != pid)
                                continue;
                        task_id id = children[i].id;
                        children[i].pid = 0;
                        running--;
                        /* Before the task is failed and its root removed:
                         * nothing of it runs on. */
                        kill_orphans();
                        if (WIFSIGNALED(status) && !stopping) {
                                char why[256];
                                snprintf(why, sizeof why, "The worker process handling this task "
                                         "died of signal %d (%s)", WTERMSIG(status),
                                         strsignal(WTERMSIG(status)));
                                logmsg("task %u: %s", id, why);
                                task_fail(&env, id, why);
                        } else if (opt.verbose) {
                                logmsg("task %u: done", id);
                        }
                }
                reaped = true;
        }
        /* A task process gone, or an orphan killed: whatever they left
         * is ours now (an orphan's own children come back here). */
        if (reaped)
                kill_orphans();
}

/* --- housekeeping ---------------------------------------------------------- */

static void expire_tasks(void)
{
        char tasks[PATH_MAX];
        DIR *d;
        if (spool_dir_path(conf.spool_dir, SPOOL_TASKS_DIR, tasks, sizeof tasks) < 0 ||
            !(d = opendir(tasks)))
                return;
        time_t now = time(NULL);
        struct dirent *e;
        while ((e = readdir(d))) {
                task_id id;
                char dir[PATH_MAX], path[PATH_MAX], text[64];
                enum task_stage stage;
                struct stat st;
                if (!task_id_parse(e->d_name, strlen(e->d_name), &id))
                        continue;
                spool_task_path(conf.spool_dir, id, NULL, dir, sizeof dir);
                int r = task_read_stage(dir, &stage, NULL);
                if (r == -ENOENT) {
                        /* No status: an upload in progress, or one abandoned
                         * by an httpd child that was killed. */
                        if (stat(dir, &st) == 0 && now - st.st_mtime > ABANDONED_UPLOAD_AGE) {
                                logmsg("task %u: removing an upload abandoned %ld hours ago", id,
                                       (long)(now - st.st_mtime) / 3600);
                                spool_task_remove(conf.spool_dir, id, NULL);
                        }
                        continue;
                }
                if (r < 0 || (stage != TASK_STAGE_FINISHED_SUCCESS &&
                              stage != TASK_STAGE_FINISHED_FAILURE))
                        continue;
                spool_task_path(conf.spool_dir, id, TASK_FINISHED_FILE, path, sizeof path);
                if (spool_read_file(path, text, sizeof text, NULL, NULL) < 0)
                        continue;
                long long finished = atoll(text);
                uint64_t hours = stage == TASK_STAGE_FINISHED_SUCCESS ? conf.delete_task_after
                                                                      : conf.delete_failed_task_after;
                if (now - finished > (long long)hours * 3600) {
                        if (opt.verbose)
                                logmsg("task %u: expired", id);
                        spool_task_remove(conf.spool_dir, id, NULL);
                }
        }
        closedir(d);
}

/* The cache's size for /metrics (stats.h), when it changed. */
static void record_cache_size(void)
{
        static uint64_t recorded = UINT64_MAX;
        struct worker_stats delta = { 0 };
        struct error err;
        if (!cache_size(env.cache, &delta.cache_bytes) || delta.cache_bytes == recorded)
                return;
        delta.cache_bytes_known = true;
        if (stats_worker_add(conf.spool_dir, &delta, &err) < 0)
                logmsg("cannot record statistics: %s", err.msg);
        else
                recorded = delta.cache_bytes;
}

/* Task roots (CacheDir/roots/<id>) are removed by their task right after
 * its final status; one whose task process died in between, or whose task
 * is gone, is removed here. A debug task (type 1) keeps its root. */
static void sweep_roots(void)
{
        char roots[PATH_MAX];
        if (path_format(roots, sizeof roots, "%s/roots", conf.cache_dir) < 0)
                return;
        DIR *d = opendir(roots);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d))) {
                task_id id;
                char dir[PATH_MAX], path[PATH_MAX], type[8];
                enum task_stage stage;
                if (!task_id_parse(e->d_name, strlen(e->d_name), &id) || is_our_child(id))
                        continue;
                spool_task_path(conf.spool_dir, id, NULL, dir, sizeof dir);
                int r = task_read_stage(dir, &stage, NULL);
                bool gone = r == -ENOENT && access(dir, F_OK) != 0;
                bool finished = r == 0 && (stage == TASK_STAGE_FINISHED_SUCCESS ||
                                           stage == TASK_STAGE_FINISHED_FAILURE);
                spool_task_path(conf.spool_dir, id, TASK_TYPE_FILE, path, sizeof path);
                bool debug = spool_read_file(path, type, sizeof type, NULL, NULL) == 0 &&
                             atoi(type) == TASK_TYPE_DEBUG;
                if (gone || (finished && !debug)) {
                        if (path_format(path, sizeof path, "%s/%s", roots, e->d_name) == 0)
                                remove_tree(path, NULL);
                        if (opt.verbose)
                                logmsg("task %u: removed its leftover root", id);
                }
        }
        closedir(d);
}

static void housekeeping(void)
{
        struct error err;
        recover_claims();
        expire_tasks();
        sweep_roots();
        kill_orphans();
        int64_t freed = cache_evict(env.cache, &err);
        if (freed < 0)
                logmsg("cache: %s", err.msg);
        else if (freed > 0 && opt.verbose)
                logmsg("cache: evicted %lld MiB", (long long)(freed >> 20));
        record_cache_size();
}

/* --- main ------------------------------------------------------------------- */

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: retrace-worker [OPTION]...\n"
                "Run the Retrace Server's queued tasks.\n\n"
                "  -c, --config FILE   retrace-server.conf (default %s)\n"
                "  -j, --jobs N        tasks at once (default: [worker] Jobs, 0 = one per CPU)\n"
                "      --once          run what is queued, then exit\n"
                "      --pidfile FILE  write the process id there\n"
                "  -v, --verbose       log every task's steps to stderr\n"
                "  -h, --help          this text\n",
                RETRACE_CONF_DEFAULT_PATH);
}

static int parse_args(int argc, char **argv)
{
        enum { OPT_ONCE = 256, OPT_PIDFILE };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "jobs", required_argument, NULL, 'j' },
                { "once", no_argument, NULL, OPT_ONCE },
                { "pidfile", required_argument, NULL, OPT_PIDFILE },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c;
        opt.config = RETRACE_CONF_DEFAULT_PATH;
        while ((c = getopt_long(argc, argv, "c:j:vh", longopts, NULL)) != -1) {
                switch (c) {
                case 'c': opt.config = optarg; break;
                case 'j': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v < 1 || v > 1024) {
                                logmsg("--jobs takes a number from 1 to 1024, not '%s'", optarg);
                                return -1;
                        }
                        opt.jobs = (unsigned)v;
                        break;
                }
                case OPT_ONCE: opt.once = true; break;
                case OPT_PIDFILE: opt.pidfile = optarg; break;
                case 'v': opt.verbose = true; break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); return -1;
                }
        }
        if (optind < argc) {
                logmsg("unexpected argument '%s' (try --help)", argv[optind]);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct error err;
        if (parse_args(argc, argv) < 0)
                return 2;
        conf_init(&conf);
        if (conf_load(&conf, opt.config, &err) < 0) {
                logmsg("%s", err.msg);
                return 2;
        }
        if (!opt.jobs)
                opt.jobs = conf.worker_jobs ? (unsigned)conf.worker_jobs
                                            : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
        if (opt.jobs < 1)
                opt.jobs = 1;
        if (spool_init(conf.spool_dir, (uid_t)-1, (gid_t)-1, &err) < 0) {
                logmsg("%s", err.msg);
                return 1;
        }
        struct pkg_cache *cache;
        if (cache_open(conf.cache_dir, conf.cache_max_size << 20, &cache, &err) < 0) {
                logmsg("%s", err.msg);
                return 1;
        }
        env = (struct worker_env){ .conf = &conf, .cache = cache, .verbose = opt.verbose };
        children = calloc(opt.jobs, sizeof *children);
        if (!children)
                return 1;
        if (opt.pidfile) {
                char text[32];
                int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
                char dir[PATH_MAX], *slash;
                snprintf(dir, sizeof dir, "%s", opt.pidfile);
                slash = strrchr(dir, '/');
                if (slash)
                        *slash = '\0';
                if (spool_write_file(slash ? dir : ".", slash ? slash + 1 : opt.pidfile, text,
                                     (size_t)n, 0644, &err) < 0)
                        logmsg("%s", err.msg);
        }

        sigemptyset(&handled);
        sigaddset(&handled, SIGCHLD);
        sigaddset(&handled, SIGTERM);
        sigaddset(&handled, SIGINT);
        sigprocmask(SIG_BLOCK, &handled, NULL);
        /* Orphans of task processes come to us, not to init: kill_orphans(). */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                logmsg("cannot become a child subreaper: %s; processes left by a killed "
                       "task process are not cleaned up", strerror(errno));
        int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
        int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        char queue[PATH_MAX];
        spool_dir_path(conf.spool_dir, SPOOL_QUEUE_DIR, queue, sizeof queue);
        if (sfd < 0 || ifd < 0 || inotify_add_watch(ifd, queue, IN_CREATE | IN_MOVED_TO) < 0) {
                logmsg("cannot watch '%s': %s", queue, strerror(errno));
                return 1;
        }
        logmsg("watching %s, %u tasks at once", queue, opt.jobs);

        housekeeping();         /* recovers claims first */
        time_t last_housekeeping = time(NULL);
        for (;;) {
                task_id id;
                while (!stopping && running < opt.jobs && next_queued(&id))
                        start_task(id);
                if (opt.once && running == 0 && !next_queued(&id))
                        break;
                if (stopping && running == 0)
                        break;

                struct pollfd fds[2] = { { sfd, POLLIN, 0 }, { ifd, POLLIN, 0 } };
                int r = poll(fds, 2, (int)conf.scan_interval * 1000);
                if (r < 0 && errno != EINTR) {
                        logmsg("poll: %s", strerror(errno));
                        break;
                }
                if (fds[1].revents & POLLIN) {
                        char buf[4096];
                        while (read(ifd, buf, sizeof buf) > 0)
                                ;       /* the scan above reads the queue itself */
                }
                if (fds[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof si) == sizeof si) {
                                if (si.ssi_signo == SIGCHLD)
                                        continue;
                                if (!stopping)
                                        logmsg("stopping: the %u running tasks are interrupted and "
                                               "resume at the next start", running);
                                stopping = true;
                                for (unsigned i = 0; i < opt.jobs; i++)
                                        if (children[i].pid)
                                                kill(children[i].pid, SIGTERM);
                        }
                }
                reap();
                if (time(NULL) - last_housekeeping >= (time_t)conf.scan_interval) {
                        housekeeping();
                        last_housekeeping = time(NULL);
                }
        }
        if (opt.pidfile)
                unlink(opt.pidfile);
        cache_close(cache);
        free(children);
        return 0;
}

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coreinfo.h"
#include "decompress.h"
#include "exploitable.h"
#include "fsutil.h"
#include "gdb.h"
#include "nevra.h"
#include "release.h"
#include "repoindex.h"
#include "resolve.h"
#include "stats.h"
#include "task.h"

#define MIB (UINT64_C(1) << 20)

struct task {
        const struct worker_env *env;
        task_id id;
        char dir[PATH_MAX];             /* SpoolDir/tasks/<id> */
        char crash[PATH_MAX];           /* its crash/ */
        char root[PATH_MAX];            /* CacheDir/roots/<id> */
        int log_fd;
        bool keep_environment;          /* task type 1 */
        double stage_started;
        struct worker_stats stats;      /* what this task adds to /metrics */
};

/* --- the task's log -------------------------------------------------------- */

static void tlog(struct task *t, const char *level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void tlog(struct task *t, const char *level, const char *fmt, ...)
{
        char line[8192], stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "[%Y-%m-%d %H:%M:%S]", &tm);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        /* Text from the crash data (the executable's name) must not
         * start a line of its own: no control character goes through. */
        for (char *p = line; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        /* One write per line (O_APPEND): a reader sees whole lines. A
         * failed write (full disk) shows in the status write after it. */
        if (t->log_fd >= 0)
                dprintf(t->log_fd, "%s %s %s\n", stamp, level, line);
        if (t->env->verbose || strcmp(level, "ERROR") == 0)
                fprintf(stderr, "task %u: %s %s\n", t->id, level, line);
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int stage(struct task *t, enum task_stage s)
{
        struct error err;
        t->stage_started = now_s();
        tlog(t, "INFO", "%s", task_stage_progress(s));
        if (task_write_stage(t->dir, s, &err) < 0) {
                tlog(t, "ERROR", "%s", err.msg);
                return -1;
        }
        return 0;
}

static void stage_done(struct task *t, const char *what)
{
        tlog(t, "INFO", "%s took %.2f s", what, now_s() - t->stage_started);
}

/* A timed stage (stats.h) ran from t0 to now, well or not. */
static void stage_timed(struct task *t, enum stats_stage s, double t0)
{
        double d = now_s() - t0;
        stats_observe(&t->stats.stage[s], d > 0 ? (uint64_t)(d * 1e6) : 0);
}

/* Adds the task's counters to SpoolDir/stats/worker, before its final
 * status is written: a client that sees the task finished finds it
 * counted in /metrics. Not the user's concern: stderr only. */
static void stats_flush(struct task *t, bool success)
{
        struct error err;
        if (success)
                t->stats.tasks_success++;
        else
                t->stats.tasks_failure++;
        if (stats_worker_add(t->env->conf->spool_dir, &t->stats, &err) < 0)
                fprintf(stderr, "task %u: cannot record statistics: %s\n", t->id, err.msg);
        memset(&t->stats, 0, sizeof t->stats);
}

/* --- crash data -------------------------------------------------------------- */

/* A small member of crash/, trailing whitespace cut. "" when absent. */
static int read_member(struct task *t, const char *name, char *buf, size_t len)
{
        char path[PATH_MAX];
        size_t n;
        if (path_format(path, sizeof path, "%s/%s", t->crash, name) < 0)
                return -ENAMETOOLONG;
        int r = spool_read_file(path, buf, len, &n, NULL);
        if (r == -ENOENT) {
                buf[0] = '\0';
                return 0;
        }
        if (r < 0)
                return r;
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
                buf[--n] = '\0';
        return 1;
}

static bool file_exists(const char *dir, const char *name)
{
        char path[PATH_MAX];
        return path_format(path, sizeof path, "%s/%s", dir, name) == 0 &&
               access(path, F_OK) == 0;
}

/* coredump.xz or coredump.zst into coredump, at most `limit` bytes. */
static int decompress_core(struct task *t, struct error *err)
{
        static const struct { const char *name; enum compression c; } forms[] = {
                { "coredump.xz", COMPRESSION_XZ }, { "coredump.zst", COMPRESSION_ZSTD },
        };
        uint64_t limit = t->env->conf->max_unpacked_size * MIB;
        for (size_t i = 0; i < 2; i++) {
                if (!file_exists(t->crash, forms[i].name))
                        continue;
                char src[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX];
                if (path_format(src, sizeof src, "%s/%s", t->crash, forms[i].name) < 0 ||
                    path_format(dst, sizeof dst, "%s/coredump", t->crash) < 0 ||
                    path_format(tmp, sizeof tmp, "%s/.coredump.tmp", t->crash) < 0)
                        return error_set(err, ENAMETOOLONG, "task path too long: '%s'", t->crash);
                struct decoder *d;
                int r = decoder_new(forms[i].c, 80 * MIB, &d, err);
                if (r < 0)
                        return r;
                int in = open(src, O_RDONLY | O_CLOEXEC);
                int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, TASK_FILE_MODE);
                char *inbuf = malloc(1 << 16), *outbuf = malloc(1 << 18);
                const size_t inbuf_size = 1 << 16, outbuf_size = 1 << 18;
                uint64_t total = 0;
                r = (in < 0 || out < 0) ? error_set_errno(err, errno, "cannot decompress '%s'", src) :
                    (!inbuf || !outbuf) ? error_set(err, ENOMEM, "out of memory") : 0;
                ssize_t got = 0;
                size_t have = 0, off = 0;
                bool last = false;
                while (r == 0) {
                        if (off == have && !last) {
                                got = read(in, inbuf, inbuf_size);
                                if (got < 0) {
                                        r = error_set_errno(err, errno, "cannot read '%s'", src);
                                        break;
                                }
                                have = (size_t)got;
                                off = 0;
                                last = got == 0;
                        }
                        size_t used, made;
                        int dr = decoder_run(d, inbuf + off, have - off, &used, outbuf, outbuf_size,
                                             &made, last, err);
                        if (dr < 0) {
                                r = dr;
                                break;
                        }
                        off += used;
                        total += made;
                        if (total > limit) {
                                r = error_set(err, EFBIG, "the core unpacks to more than %" PRIu64
                                              " MiB, this server's limit", limit / MIB);
                                break;
                        }
                        int w = fd_write_all(out, outbuf, made);
                        if (w < 0) {
                                r = error_set_errno(err, -w, "cannot write the core");
                                break;
                        }
                        if (dr == 1)
                                break;
                }
                decoder_free(d);
                free(inbuf);
                free(outbuf);
                if (in >= 0)
                        close(in);
                if (out >= 0 && close(out) < 0 && r == 0)
                        r = error_set_errno(err, errno, "cannot write the core");
                if (r == 0 && rename(tmp, dst) < 0)
                        r = error_set_errno(err, errno, "cannot write the core");
                if (r < 0) {
                        unlink(tmp);
                        return r;
                }
                unlink(src);
                tlog(t, "INFO", "Decompressed %s: %" PRIu64 " MiB", forms[i].name, total / MIB);
                return 0;
        }
        return 0;
}

/* The release id the crash came from: its os_release (the container's
 * when it ran in one), else the package's dist tag (.fc40, .el9), with
 * the core's architecture. */
static int find_release(struct task *t, const char *arch, const char *package, char *id,
                        size_t len, struct error *err)
{
        char text[4096];
        struct release rel;
        bool in_root = file_exists(t->crash, "rootdir");
        const char *names[] = { in_root ? "os_release_in_rootdir" : "os_release", "release" };
        for (size_t i = 0; i < 2; i++) {
                if (read_member(t, names[i], text, sizeof text) <= 0 || !text[0])
                        continue;
                if (release_parse(text, &rel, err) < 0)
                        return -EINVAL;
                return release_id_make(&rel, arch, id, len, err);
        }
        /* No release file: the dist tag of the package's release. */
        const char *tag = strrchr(package, '.');
        if (tag && (strncmp(tag, ".fc", 3) == 0 || strncmp(tag, ".el", 3) == 0)) {
                const char *v = tag + 3;
                size_t digits = strspn(v, "0123456789");
                if (digits > 0 && digits < 4) {
                        snprintf(rel.distribution, sizeof rel.distribution, "%s",
                                 tag[1] == 'f' ? "fedora" : "rhel");
                        snprintf(rel.version, sizeof rel.version, "%.*s", (int)digits, v);
                        tlog(t, "INFO", "No os_release: taking the release from the package's "
                             "tag '%s'", tag);
                        return release_id_make(&rel, arch, id, len, err);
                }
        }
        return error_set(err, EINVAL, "the crash data names no release (no os_release file, "
                         "and the package '%s' has no .fcNN or .elN tag)", package);
}

/* --- the root -------------------------------------------------------------- */

/* The top-level links of a merged-/usr system (what Fedora's filesystem
 * package makes), so the paths a core names resolve in the root. */
static void link_merged_usr(const char *root)
{
        static const char *const links[][2] = {
                { "lib64", "usr/lib64" }, { "lib", "usr/lib" },
                { "bin", "usr/bin" }, { "sbin", "usr/sbin" },
        };
        char path[PATH_MAX];
        for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
                struct stat st;
                if (path_format(path, sizeof path, "%s/%s", root, links[i][0]) < 0 ||
                    lstat(path, &st) == 0)
                        continue;
                if (symlink(links[i][1], path) < 0) {
                        /* A root without it still has the packaged paths. */
                }
        }
}

/* Whether a path has a "." or ".." component: joined to the root as it
 * is, it could lead out of it. */
static bool has_dot_component(const char *p)
{
        for (const char *s = p; (s = strchr(s, '/')); s++)
                if (s[1] == '.' && (s[2] == '/' || s[2] == '\0' ||
                                    (s[2] == '.' && (s[3] == '/' || s[3] == '\0'))))
                        return true;
        return false;
}

/* A module the core names at a path the root lacks (a library loaded
 * through another name) gets a symlink there to its packaged path. The
 * path comes from the core: one with a "." or ".." component is left
 * alone, so nothing is ever created outside the root. */
static void link_module_paths(struct task *t, const struct core_info *core)
{
        for (size_t i = 0; i < core->count; i++) {
                const char *p = core->modules[i].path;
                char canon[PATH_MAX], at[PATH_MAX], target[PATH_MAX];
                if (!p || p[0] != '/' || has_dot_component(p))
                        continue;
                if (path_format(at, sizeof at, "%s%s", t->root, p) < 0 || access(at, F_OK) == 0)
                        continue;
                path_canonical(p, canon, sizeof canon);
                if (path_format(target, sizeof target, "%s%s", t->root, canon) < 0 ||
                    access(target, F_OK) != 0)
                        continue;
                char dir[PATH_MAX];
                memcpy(dir, at, sizeof dir);
                *strrchr(dir, '/') = '\0';
                if (mkdir_parents(dir, 0755) == 0 && symlink(target, at) == 0)
                        tlog(t, "INFO", "Linked %s to %s in the root", p, canon);
        }
}

/* --- the stages ------------------------------------------------------------ */

struct crash {
        char executable[1024];
        char package[256];
        struct nevra nevra;
        char release_id[RELEASE_ID_MAX];
        struct core_info core;
        char core_path[PATH_MAX];
};

static int analyze(struct task *t, struct crash *c, struct error *err)
{
        if (read_member(t, "executable", c->executable, sizeof c->executable) <= 0 ||
            !c->executable[0])
                return error_set(err, EINVAL, "the crash data has no 'executable' file");
        if (read_member(t, "package", c->package, sizeof c->package) <= 0 || !c->package[0])
                return error_set(err, EINVAL, "the crash data has no 'package' file");
        if (nevra_parse_nevr(c->package, &c->nevra, err) < 0)
                return -EINVAL;
        int r = decompress_core(t, err);
        if (r < 0)
                return r;
        if (path_format(c->core_path, sizeof c->core_path, "%s/coredump", t->crash) < 0 ||
            access(c->core_path, R_OK) != 0)
                return error_set(err, ENOENT, "the crash data has no coredump");
        r = core_analyze(c->core_path, c->executable, &c->core, err);
        if (r < 0)
                return r;
        size_t with_id = 0;
        for (size_t i = 0; i < c->core.count; i++)
                with_id += c->core.modules[i].build_id[0] != '\0';
        tlog(t, "INFO", "Core of %s (%s), signal %d, %zu mapped modules, %zu with a build-id",
             c->executable, c->core.arch, c->core.signal, c->core.count, with_id);
        /* A core cut short lacks the memory of its last segments, the
         * stacks among them: gdb would show the crash frame with its
         * variables unreadable and stop, a backtrace that looks complete
         * and is not. */
        if (c->core.needed_size > c->core.file_size) {
                uint64_t have = c->core.file_size, need = c->core.needed_size;
                return error_set(err, EINVAL, "the core is cut short: the file has %" PRIu64
                                 " bytes, its headers describe %" PRIu64 " (%.0f%% missing); "
                                 "upload the whole core (a core size limit such as 'ulimit -c' or "
                                 "ABRT's MaxCoreFileSize cuts cores short)", have, need,
                                 (double)(need - have) * 100.0 / (double)need);
        }
        if (find_release(t, c->core.arch, c->package, c->release_id, sizeof c->release_id, err) < 0)
                return -EINVAL;

        struct release_list list;
        if (repo_list_releases(t->env->conf->repo_dir, &list, err) < 0)
                return -EIO;
        bool ok = release_list_contains(&list, c->release_id);
        if (!ok) {
                char names[2048] = "";
                size_t o = 0;
                for (size_t i = 0; i < list.count && o < sizeof names - 80; i++)
                        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "",
                                              list.ids[i]);
                release_list_free(&list);
                return error_set(err, ENOTSUP, "release %s is not supported by this server; "
                                 "it supports: %s", c->release_id, o ? names : "none yet");
        }
        release_list_free(&list);
        tlog(t, "INFO", "Release %s, package %s", c->release_id, c->package);
        return 0;
}

/* One package of a task's root: its tree in the cache, fetched by
 * packages_fetch(). */
struct package_job {
        char nevra[NEVRA_MAX], key[NEVRA_MAX + RELEASE_ID_MAX];
        char rpm[PATH_MAX], tree[PATH_MAX];
        bool extracted;
        int r;
        struct error err;
};

struct package_pool {
        struct pkg_cache *cache;
        struct package_job *jobs;
        size_t count, next;
        bool failed;
        pthread_mutex_t lock;
};

static void *package_thread(void *arg)
{
        struct package_pool *p = arg;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->failed ? p->count : p->next++;
                pthread_mutex_unlock(&p->lock);
                if (i >= p->count)
                        return NULL;
                struct package_job *j = &p->jobs[i];
                j->r = cache_get(p->cache, j->key, j->rpm, j->tree, sizeof j->tree,
                                 &j->extracted, &j->err);
                if (j->r < 0) {
                        pthread_mutex_lock(&p->lock);
                        p->failed = true;       /* the task fails: start no more */
                        pthread_mutex_unlock(&p->lock);
                }
        }
}

/* Fills every job's tree, r and err: up to as many packages at once as
 * there are CPUs (at most 4), each locked in the cache on its own so
 * that concurrent tasks needing it wait for one extraction. After a
 * failure no further package is started; those jobs keep r = -ECANCELED. */
static void packages_fetch(struct pkg_cache *cache, struct package_job *jobs, size_t count)
{
        struct package_pool pool = { .cache = cache, .jobs = jobs, .count = count };
        for (size_t i = 0; i < count; i++)
                jobs[i].r = error_set(&jobs[i].err, ECANCELED, "not extracted after an earlier failure");
        pthread_mutex_init(&pool.lock, NULL);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t n = cpus < 1 ? 1 : cpus > 4 ? 4 : (size_t)cpus;
        if (n > count)
                n = count;
        pthread_t threads[4];
        size_t started = 0;
        /* The calling thread is one of the n; a thread that cannot be
         * created only means fewer at once. */
        while (started + 1 < n && pthread_create(&threads[started], NULL, package_thread, &pool) == 0)
                started++;
        package_thread(&pool);
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&pool.lock);
}

static int prepare(struct task *t, struct crash *c, struct error *err)
{
        struct package_job *jobs = NULL;
        struct repoindex *idx;
        struct resolution res;
        double resolve_t0 = now_s();
        int r = repoindex_open(t->env->conf->repo_dir, c->release_id, &idx, err);
        if (r < 0) {
                stage_timed(t, STATS_STAGE_RESOLVE, resolve_t0);
                return r;
        }
        r = resolve_packages(idx, &c->core, &c->nevra, c->core.arch, &res, err);
        stage_timed(t, STATS_STAGE_RESOLVE, resolve_t0);
        if (r < 0) {
                repoindex_free(idx);
                return r;
        }
        for (size_t i = 0; i < res.no_package_count; i++)
                tlog(t, "WARN", "No package ships %s", res.no_package[i].what);
        for (size_t i = 0; i < res.no_debuginfo_count; i++)
                tlog(t, "WARN", "No debuginfo for %s: unless the file carries its own, its "
                     "frames will lack source lines and variables", res.no_debuginfo[i].what);
        tlog(t, "INFO", "%zu packages: %zu binary, %zu debuginfo, %zu debugsource and dwz",
             res.count, res.binaries, res.debuginfo, res.companions);

        double t0 = now_s();
        if (!t->root[0]) {
                r = error_set(err, ENAMETOOLONG, "CacheDir '%s' is too long a path",
                              t->env->conf->cache_dir);
                goto out;
        }
        remove_tree(t->root, NULL);
        if ((r = mkdir_parents(t->root, 0755)) < 0) {
                r = error_set_errno(err, -r, "cannot create the root '%s'", t->root);
                goto out;
        }
        /* Every package's tree first, several extracted at once (a cold
         * task's time is mostly decompression), then the root from them in
         * the resolution's order. */
        jobs = calloc(res.count ? res.count : 1, sizeof *jobs);
        if (!jobs) {
                r = error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < res.count; i++) {
                struct repo_pkg_info pi;
                struct package_job *j = &jobs[i];
                repoindex_package(idx, res.packages[i], &pi);
                if (path_format(j->nevra, sizeof j->nevra, "%s-%s%s%s-%s.%s", pi.name, pi.epoch,
                                pi.epoch[0] ? ":" : "", pi.version, pi.release, pi.arch) < 0 ||
                    path_format(j->rpm, sizeof j->rpm, "%s/%s/%s", t->env->conf->repo_dir,
                                c->release_id, pi.location) < 0) {
                        r = error_set(err, ENAMETOOLONG, "path too long for package '%s'", pi.name);
                        goto out;
                }
                /* Keyed by release too: two releases could carry different
                 * files under one NEVRA, and must not share an extraction. */
                if (path_format(j->key, sizeof j->key, "%s@%s", j->nevra, c->release_id) < 0) {
                        r = error_set(err, ENAMETOOLONG, "package name too long: '%s'", pi.name);
                        goto out;
                }
        }
        packages_fetch(t->env->cache, jobs, res.count);
        size_t hits = 0;
        for (size_t i = 0; i < res.count; i++) {
                struct package_job *j = &jobs[i];
                if (j->r < 0) {
                        *err = j->err;
                        r = j->r;
                        goto out;
                }
                hits += !j->extracted;
                t->stats.cache_hits += !j->extracted;
                t->stats.cache_misses += j->extracted;
                tlog(t, "INFO", "%s %s", j->extracted ? "Extracted" : "Cached", j->nevra);
                r = root_add_package(t->root, j->tree, err);
                if (r < 0)
                        goto out;
        }
        link_merged_usr(t->root);
        link_module_paths(t, &c->core);
        tlog(t, "INFO", "Root assembled from %zu packages (%zu from the cache) in %.2f s",
             res.count, hits, now_s() - t0);
out:
        stage_timed(t, STATS_STAGE_ASSEMBLE, t0);
        free(jobs);
        resolution_free(&res);
        repoindex_free(idx);
        return r;
}

static int retrace(struct task *t, struct crash *c, struct error *err)
{
        char output[PATH_MAX], exe[PATH_MAX];
        if (path_format(output, sizeof output, "%s/" TASK_BACKTRACE_FILE, t->dir) < 0)
                return error_set(err, ENAMETOOLONG, "task path too long: '%s'", t->dir);
        /* The executable as the root has it: as the client named it, its
         * packaged form (/bin/x is /usr/bin/x), or as the core names it.
         * None of them: gdb reads the core alone, and the build-ids still
         * find every module. */
        const char *main_path = NULL;
        for (size_t i = 0; i < c->core.count; i++)
                if (c->core.modules[i].main)
                        main_path = c->core.modules[i].path;
        const char *candidates[] = { c->executable, c->core.executable, main_path };
        bool found = false;
        for (size_t i = 0; i < 3 && !found; i++) {
                const char *cand = candidates[i];
                if (!cand || cand[0] != '/' || strstr(cand, "/../") || strpbrk(cand, "\n\r\t"))
                        continue;
                for (int form = 0; form < 2 && !found; form++) {
                        char at[PATH_MAX];
                        if (form == 0)
                                snprintf(exe, sizeof exe, "%.*s", (int)sizeof exe - 1, cand);
                        else
                                path_canonical(cand, exe, sizeof exe);
                        found = path_format(at, sizeof at, "%s%s", t->root, exe) == 0 &&
                                access(at, F_OK) == 0;
                }
        }
        if (!found)
                tlog(t, "WARN", "The executable is not in the assembled root under any name the "
                     "crash data gives; gdb reads the core alone");
        else if (strcmp(exe, c->executable) != 0)
                tlog(t, "INFO", "The executable is %s in the root", exe);
        struct gdb_job job = {
                .root = t->root,
                .core = c->core_path,
                .executable = found ? exe : NULL,
                .output = output,
                .timeout_s = (unsigned)t->env->conf->gdb_timeout,
                .output_limit = t->env->conf->gdb_output_limit * MIB,
        };
        struct gdb_result gr = { 0 };
        int r = gdb_retrace(&job, &gr, err);
        if (r < 0)
                return r;
        tlog(t, "INFO", "gdb ran %.2f s: %d frames, %d with source file and line%s", gr.seconds,
             gr.frames, gr.frames_with_source, gr.truncated ? "; output cut at the limit" : "");
        if (gr.frames == 0)
                return error_set(err, EINVAL, "gdb produced no backtrace (see retrace_backtrace)");

        /* The exploitability guess, when the signal allows one. */
        size_t len;
        char *bt = malloc(1 << 20);
        if (bt && spool_read_file(output, bt, 1 << 20, &len, NULL) < 0) {
                /* Larger than 1 MiB: the first part has the crash frame. */
                int fd = open(output, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd >= 0 ? read(fd, bt, (1 << 20) - 1) : -1;
                bt[n > 0 ? n : 0] = '\0';
                if (fd >= 0)
                        close(fd);
        }
        char rating[512];
        if (bt && exploitable_rate(c->core.signal, bt, rating, sizeof rating) >= 0 &&
            spool_write_file(t->dir, TASK_EXPLOITABLE_FILE, rating, strlen(rating), TASK_FILE_MODE,
                             err) < 0) {
                free(bt);
                return -EIO;
        }
        free(bt);
        return 0;
}

static void write_time(struct task *t, const char *name)
{
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld\n", (long long)time(NULL));
        spool_write_file(t->dir, name, buf, (size_t)n, TASK_FILE_MODE, NULL);
}

/* The core goes when the task ends (it may hold secrets); a debug task
 * keeps it and the root for the admin. core false: the root only; core
 * true: the core, once the final status is on disk (a task whose final
 * status could not be written runs again, and needs its core). */
static void clean_up(struct task *t, bool core)
{
        if (t->keep_environment) {
                if (!core && t->root[0] && access(t->root, F_OK) == 0)
                        tlog(t, "INFO", "Task type 1: the environment stays in %s", t->root);
                return;
        }
        if (!core) {
                if (t->root[0])
                        remove_tree(t->root, NULL);
                return;
        }
        static const char *const cores[] = { "coredump", "coredump.xz", "coredump.zst" };
        for (size_t i = 0; i < 3; i++) {
                char p[PATH_MAX];
                if (path_format(p, sizeof p, "%s/%s", t->crash, cores[i]) == 0)
                        unlink(p);
        }
}

static int finish(struct task *t, enum task_stage final)
{
        struct error err;
        write_time(t, TASK_FINISHED_FILE);
        tlog(t, "INFO", "%s", task_stage_progress(final));
        int r = task_write_stage(t->dir, final, &err);
        if (r < 0 && r != -ENOENT && r != -ENOTDIR) {
                /* The final status is not on disk (a full disk): released,
                 * the task would stay PENDING for good. The claim stays;
                 * once this process is gone the daemon queues the task
                 * again, as after a crash. */
                fprintf(stderr, "task %u: %s; the task is kept to run again\n", t->id, err.msg);
                return r;
        }
        spool_task_release(t->env->conf->spool_dir, t->id, NULL);
        return r;
}

static int task_open(struct task *t, const struct worker_env *env, task_id id)
{
        memset(t, 0, sizeof *t);
        t->env = env;
        t->id = id;
        t->log_fd = -1;
        spool_task_path(env->conf->spool_dir, id, NULL, t->dir, sizeof t->dir);
        spool_task_path(env->conf->spool_dir, id, TASK_CRASH_DIR, t->crash, sizeof t->crash);
        /* Known from the start, so that a task failed from outside (its
         * process killed) still has a root left by it removed. */
        if (path_format(t->root, sizeof t->root, "%s/roots/%u", env->conf->cache_dir, id) < 0)
                t->root[0] = '\0';
        char path[PATH_MAX];
        if (path_format(path, sizeof path, "%s/" TASK_LOG_FILE, t->dir) < 0)
                return -ENAMETOOLONG;
        t->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, TASK_FILE_MODE);
        if (t->log_fd < 0)
                return -errno;
        fchmod(t->log_fd, TASK_FILE_MODE);
        char type[8];
        if (path_format(path, sizeof path, "%s/" TASK_TYPE_FILE, t->dir) == 0 &&
            spool_read_file(path, type, sizeof type, NULL, NULL) == 0)
                t->keep_environment = atoi(type) == TASK_TYPE_DEBUG;
        return 0;
}

int task_note(const struct worker_env *env, task_id id, const char *level, const char *text)
{
        struct task t;
        int r = task_open(&t, env, id);
        if (r < 0)
                return r;
        tlog(&t, level, "%s", text);
        close(t.log_fd);
        return 0;
}

int task_fail(const struct worker_env *env, task_id id, const char *why)
{
        struct task t;
        int r = task_open(&t, env, id);
        if (r < 0) {
                spool_task_release(env->conf->spool_dir, id, NULL);
                return r;
        }
        tlog(&t, "ERROR", "%s", why);
        clean_up(&t, false);
        /* A task process killed while gdb ran left the backtrace's
         * temporary and gdb's scripts; nothing runs the task again to
         * remove them. */
        char output[PATH_MAX];
        if (path_format(output, sizeof output, "%s/" TASK_BACKTRACE_FILE, t.dir) == 0)
                gdb_remove_leftovers(output);
        stats_flush(&t, false);
        r = finish(&t, TASK_STAGE_FINISHED_FAILURE);
        if (r == 0)
                clean_up(&t, true);
        close(t.log_fd);
        return r;
}

int task_run(const struct worker_env *env, task_id id)
{
        struct task t;
        struct crash *c = calloc(1, sizeof *c);
        struct error err = { 0 };
        int r = task_open(&t, env, id);
        if (r < 0 || !c) {
                /* Deleted under us: nothing left to tell anyone. */
                spool_task_release(env->conf->spool_dir, id, NULL);
                free(c);
                return r < 0 ? r : -ENOMEM;
        }
        write_time(&t, TASK_STARTED_FILE);
        double started = now_s();
        enum task_stage final = TASK_STAGE_FINISHED_FAILURE;

        if (stage(&t, TASK_STAGE_ANALYZING) < 0)
                goto done;
        r = analyze(&t, c, &err);
        stage_timed(&t, STATS_STAGE_ANALYZE, t.stage_started);
        if (r < 0)
                goto failed;
        stage_done(&t, "Analysis");
        if (stage(&t, TASK_STAGE_PREPARING) < 0)
                goto done;
        if (prepare(&t, c, &err) < 0)
                goto failed;
        stage_done(&t, "Preparation");
        if (stage(&t, TASK_STAGE_RETRACING) < 0)
                goto done;
        r = retrace(&t, c, &err);
        stage_timed(&t, STATS_STAGE_GDB, t.stage_started);
        if (r < 0)
                goto failed;
        stage_done(&t, "Retrace");
        final = TASK_STAGE_FINISHED_SUCCESS;
        goto done;
failed:
        tlog(&t, "ERROR", "%s", err.msg);
done:
        stage(&t, TASK_STAGE_CLEANING);
        tlog(&t, "INFO", "The task took %.2f s", now_s() - started);
        stats_flush(&t, final == TASK_STAGE_FINISHED_SUCCESS);
        /* The result first, then the clean-up: removing a root of a
         * hundred packages can take half a second on a busy disk, and the
         * submitter need not wait for it. A root left by a worker killed
         * in between is swept by the daemon's housekeeping. */
        if (finish(&t, final) == 0) {
                clean_up(&t, true);
                clean_up(&t, false);
        }
        core_info_free(&c->core);
        free(c);
        close(t.log_fd);
        return 0;
}

/* retrace-reposync: mirrors RPM-MD repositories into the local repository,
 * never deleting an old version, and keeps the release indexes that
 * retrace-worker and mod_retrace read (common/repoindex.h).
 *
 * For each release (RepoDir/<release-id>/), under that release's lock:
 *   for each enabled repository feeding it (the .repo files of RepoConfDir):
 *     fetch repomd.xml; unchanged since the last complete sync: done;
 *     fetch and check primary; download the packages not yet present into
 *     .reposync/incoming/ (checksum verified by the fetcher), check the
 *     signature when gpgcheck=1, rename into Packages/;
 *     when every package arrived, remember this repomd.xml;
 *   bring the index up to date (only new headers are read), then the
 *   RPM-MD repodata/ with createrepo_c when it is installed;
 *   when every repository synced and the index is up to date, record the
 *   time in .reposync/last-success (common/stats.h; /metrics shows it).
 * A package that disappears upstream stays. A sync killed at any point
 * leaves complete packages and a valid index; partial downloads resume.
 *
 * Exit codes (also in retrace-reposync(8)):
 *   0  every release is up to date
 *   1  a repository or some packages failed; everything else was synced
 *   2  usage or configuration error; nothing was done
 *   3  another retrace-reposync holds a release's lock; it was skipped
 *   4  a local failure (disk full, index not writable)
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fetch.h"
#include "fsutil.h"
#include "metadata.h"
#include "release.h"
#include "repoconf.h"
#include "repoindex.h"
#include "spool.h"
#include "stats.h"
#include "verify.h"

enum exit_code {
        EXIT_OK = 0,
        EXIT_PARTIAL = 1,
        EXIT_USAGE = 2,
        EXIT_LOCKED = 3,
        EXIT_LOCAL = 4,
};

#define STATE_DIR ".reposync"           /* RepoDir/<release>/.reposync/ */
#define INCOMING_DIR STATE_DIR "/incoming"

struct options {
        const char *config;
        const char *releases[64];
        size_t release_count;
        const char *import_dir;
        bool dry_run;
        bool quiet;
        int progress;           /* -1: when stderr is a terminal */
        unsigned parallel;
};

/* What happened, for the summary and the exit code. */
struct totals {
        size_t repos, repos_failed, repos_unchanged;
        size_t packages_new, packages_failed;
        uint64_t bytes;
        size_t releases_locked;
        bool local_failure;
};

static struct options opt = { .progress = -1 };
static struct totals totals;

/* --- output ---------------------------------------------------------------
 * Messages go to stderr: what happened, one line each, the subject quoted.
 * On a terminal a progress line is redrawn in place; elsewhere a plain
 * progress line comes every 10 s. */

static bool progress_on;
static bool progress_shown;

static void clear_progress(void)
{
        if (progress_shown) {
                fputs("\r\033[K", stderr);
                progress_shown = false;
        }
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
        if (opt.quiet)
                return;
        va_list ap;
        clear_progress();
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
        va_list ap;
        clear_progress();
        fputs("retrace-reposync: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void human_bytes(uint64_t n, char *buf, size_t len)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double)n;
        size_t u = 0;
        while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
                v /= 1024;
                u++;
        }
        snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct transfer {
        const char *release;
        const char *repo;
        size_t jobs;
        uint64_t total_bytes;
        double started;
        double last_line;
        const char *incoming;   /* where the fetcher puts files */
        const char *packages;   /* where they go once checked */
        struct verifier *verifier;
        size_t ok, failed;
        uint64_t done_bytes;
};

static void show_progress(void *user, uint64_t bytes, size_t done, size_t failed)
{
        struct transfer *t = user;
        double elapsed = now() - t->started;
        double rate = elapsed > 0 ? (double)bytes / elapsed : 0;
        char got[32], all[32], speed[32], left[32] = "?";

        if (opt.quiet)
                return;
        if (!progress_on && now() - t->last_line < 10)
                return;
        t->last_line = now();
        human_bytes(bytes, got, sizeof got);
        human_bytes(t->total_bytes, all, sizeof all);
        human_bytes((uint64_t)rate, speed, sizeof speed);
        if (rate > 0 && t->total_bytes > bytes) {
                unsigned s = (unsigned)((double)(t->total_bytes - bytes) / rate);
                snprintf(left, sizeof left, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
        }
        if (progress_on) {
                fprintf(stderr, "\r\033[K%s %s: %zu/%zu packages, %s of %s, %s/s, %s left",
                        t->release, t->repo, done + failed, t->jobs, got, all, speed, left);
                progress_shown = true;
        } else {
                fprintf(stderr, "%s %s: %zu/%zu packages, %s of %s, %s/s, %s left\n",
                        t->release, t->repo, done + failed, t->jobs, got, all, speed, left);
        }
        fflush(stderr);
}

/* --- files ---------------------------------------------------------------- */

static char *path_join3(const char *a, const char *b, const char *c)
{
        char *out;
        if (asprintf(&out, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "") < 0)
                return NULL;
        return out;
}

/* A file with the same name already in Packages/ is the same package:
 * RPM file names are NEVRAs, and every version is kept. */
static bool package_present(const char *packages, const char *filename)
{
        char path[PATH_MAX];
        return path_format(path, sizeof path, "%s/%s", packages, filename) == 0 &&
               access(path, F_OK) == 0;
}

/* Package file names come from upstream metadata: one path component,
 * nothing hidden. */
static bool safe_filename(const char *name)
{
        return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < 256;
}

/* --- one repository --------------------------------------------------------- */

static void on_package_done(void *user, struct fetch_job *job)
{
        struct transfer *t = user;
        const char *filename = strrchr(job->dest, '/') + 1;
        char final[PATH_MAX];

        if (job->result == 0 && t->verifier) {
                struct error err;
                if (verify_package(t->verifier, job->dest, &err) < 0) {
                        unlink(job->dest);
                        job->result = -EPERM;
                        job->err = err;
                }
        }
        if (job->result == 0) {
                int e = path_format(final, sizeof final, "%s/%s", t->packages, filename) < 0
                        ? ENAMETOOLONG : rename(job->dest, final) < 0 ? errno : 0;
                if (e) {
                        job->result = -e;
                        error_set_errno(&job->err, e, "cannot move '%s' into '%s'",
                                        filename, t->packages);
                        unlink(job->dest);
                }
        }
        if (job->result == 0) {
                t->ok++;
                t->done_bytes += job->size;
        } else {
                t->failed++;
                complain("%s %s: %s", t->release, t->repo, job->err.msg);
        }
}

/* Fetches gpgkey URLs that are not local into the repository's state
 * directory; local ones are used where they are. */
static int gather_keys(struct fetcher *f, const struct repo_source *r, const char *state,
                       char **paths, struct error *err)
{
        for (size_t i = 0; i < r->gpgkey_count; i++) {
                const char *url = r->gpgkeys[i];
                if (strncmp(url, "file://", 7) == 0) {
                        paths[i] = strdup(url + 7);
                } else if (url[0] == '/') {
                        paths[i] = strdup(url);
                } else {
                        char *data;
                        size_t len;
                        int rc = fetch_to_memory(f, url, 1 << 20, &data, &len, err);
                        if (rc < 0)
                                return rc;
                        char name[32];
                        snprintf(name, sizeof name, "key-%zu.asc", i);
                        rc = spool_write_file(state, name, data, len, 0644, err);
                        free(data);
                        if (rc < 0)
                                return rc;
                        paths[i] = path_join3(state, name, NULL);
                }
                if (!paths[i])
                        return error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

static bool same_repomd(const char *state, const char *repomd, size_t len)
{
        char path[PATH_MAX];
        struct stat st;
        if (path_format(path, sizeof path, "%s/repomd.xml", state) < 0 ||
            stat(path, &st) < 0 || (size_t)st.st_size != len)
                return false;
        char *old = malloc(len + 1);
        if (!old)
                return false;
        bool same = spool_read_file(path, old, len + 1, NULL, NULL) == 0 &&
                    memcmp(old, repomd, len) == 0;
        free(old);
        return same;
}

/* Returns 0, or -1 when the repository failed (reported); sets
 * *added to the packages that arrived. */
static int sync_repo(struct fetcher *f, const char *release_dir, const struct repo_source *r,
                     size_t *added)
{
        struct error err;
        char *state = NULL, *incoming = NULL, *packages = NULL;
        char *repomd = NULL, *keys[REPOCONF_MAX_URLS] = { 0 };
        size_t repomd_len = 0;
        struct remote_repo remote = { 0 };
        struct verifier *verifier = NULL;
        struct fetch_job *jobs = NULL;
        const char *baseurl = NULL;
        int result = -1;

        *added = 0;
        totals.repos++;
        state = path_join3(release_dir, STATE_DIR, r->id);
        incoming = path_join3(release_dir, INCOMING_DIR, NULL);
        packages = path_join3(release_dir, REPOINDEX_PACKAGES, NULL);
        if (!state || !incoming || !packages) {
                complain("out of memory");
                goto out;
        }
        /* A configuration error, whether or not upstream changed. */
        if (r->gpgcheck && r->gpgkey_count == 0) {
                complain("%s %s: gpgcheck is on but no gpgkey is given (%s:%u)", r->release, r->id,
                         r->file, r->line);
                goto out;
        }
        if (!opt.dry_run && (mkdir_parents(state, 0755) < 0 || mkdir_parents(incoming, 0755) < 0 ||
                             mkdir_parents(packages, 0755) < 0)) {
                complain("%s: cannot create the directories of '%s': %s", r->id, release_dir,
                         strerror(errno));
                totals.local_failure = true;
                goto out;
        }

        /* The first base URL that answers. */
        for (size_t i = 0; i < r->baseurl_count && !repomd; i++) {
                if (metadata_fetch_repomd(f, r->baseurls[i], &repomd, &repomd_len, &err) == 0)
                        baseurl = r->baseurls[i];
                else
                        complain("%s %s: %s", r->release, r->id, err.msg);
        }
        if (!repomd)
                goto out;
        if (same_repomd(state, repomd, repomd_len)) {
                say("%s %s: unchanged", r->release, r->id);
                totals.repos_unchanged++;
                result = 0;
                goto out;
        }
        if (metadata_load(f, baseurl, repomd, repomd_len, &remote, &err) < 0) {
                complain("%s %s: %s", r->release, r->id, err.msg);
                goto out;
        }

        size_t n = 0;
        uint64_t bytes = 0;
        jobs = calloc(remote.count ? remote.count : 1, sizeof *jobs);
        if (!jobs) {
                complain("out of memory");
                goto out;
        }
        for (size_t i = 0; i < remote.count; i++) {
                struct remote_package *p = &remote.packages[i];
                if (!safe_filename(p->filename)) {
                        complain("%s %s: refusing package file name '%s' from the metadata",
                                 r->release, r->id, p->filename);
                        totals.packages_failed++;
                        continue;
                }
                if (package_present(packages, p->filename))
                        continue;
                char *url, *dest = path_join3(incoming, p->filename, NULL);
                if (asprintf(&url, "%s%s%s", baseurl,
                             baseurl[strlen(baseurl) - 1] == '/' ? "" : "/", p->location) < 0 || !dest) {
                        complain("out of memory");
                        goto out;
                }
                jobs[n++] = (struct fetch_job){
                        .url = url, .dest = dest, .checksum_type = p->checksum_type,
                        .checksum = p->checksum, .size = p->size,
                };
                bytes += p->size;
        }
        char size[32];
        human_bytes(bytes, size, sizeof size);
        say("%s %s: %zu packages upstream, %zu to download (%s)", r->release, r->id,
            remote.count, n, size);
        if (opt.dry_run) {
                for (size_t i = 0; i < n && !opt.quiet; i++)
                        printf("%s %s %s\n", r->release, r->id, jobs[i].url);
                result = 0;
                goto out;
        }

        if (r->gpgcheck) {
                if (gather_keys(f, r, state, keys, &err) < 0 ||
                    verifier_new((const char *const *)keys, r->gpgkey_count, &verifier, &err) < 0) {
                        complain("%s %s: %s", r->release, r->id, err.msg);
                        goto out;
                }
        }

        struct transfer t = {
                .release = r->release, .repo = r->id, .jobs = n, .total_bytes = bytes,
                .started = now(), .incoming = incoming, .packages = packages,
                .verifier = verifier,
        };
        fetch_run(f, jobs, n, show_progress, on_package_done, &t);
        clear_progress();
        *added = t.ok;
        totals.packages_new += t.ok;
        totals.packages_failed += t.failed;
        totals.bytes += t.done_bytes;
        if (t.failed) {
                complain("%s %s: %zu of %zu packages failed; the rest are in place, "
                         "the next run tries again", r->release, r->id, t.failed, n);
                goto out;
        }
        /* Only a complete sync makes repomd.xml "seen". */
        if (spool_write_file(state, "repomd.xml", repomd, repomd_len, 0644, &err) < 0) {
                complain("%s %s: %s", r->release, r->id, err.msg);
                totals.local_failure = true;
                goto out;
        }
        result = 0;
out:
        if (result < 0)
                totals.repos_failed++;
        for (size_t i = 0; jobs && i < remote.count; i++) {
                free((char *)jobs[i].url);
                free((char *)jobs[i].dest);
        }
        free(jobs);
        for (size_t i = 0; i < REPOCONF_MAX_URLS; i++)
                free(keys[i]);
        verifier_free(verifier);
        remote_repo_free(&remote);
        free(repomd);
        free(state);
        free(incoming);
        free(packages);
        return result;
}

/* --- one release ------------------------------------------------------------ */

/* RPM-MD for dnf, when createrepo_c is installed; --update reuses what it
 * already read. Not having it is not an error: the index is what the
 * server itself needs. */
static void update_repodata(const char *release_dir)
{
        pid_t pid = fork();
        if (pid == 0) {
                int devnull = open("/dev/null", O_WRONLY);
                if (devnull >= 0)
                        dup2(devnull, STDOUT_FILENO);
                execlp("createrepo_c", "createrepo_c", "--update", "--quiet",
                       "--excludes", ".reposync/*", release_dir, (char *)NULL);
                _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0) {
                complain("cannot run createrepo_c: %s", strerror(errno));
                return;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                say("createrepo_c is not installed: %s/repodata not updated", release_dir);
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                complain("createrepo_c failed on '%s'; repodata/ may be stale", release_dir);
}

static int update_index(const struct retrace_conf *conf, const char *release, bool repodata)
{
        struct repoindex_stats stats = { 0 };
        struct error err;
        double t0 = now();
        if (repoindex_update(conf->repo_dir, release, &stats, &err) < 0) {
                complain("%s: the index was not updated: %s", release, err.msg);
                totals.local_failure = true;
                return -1;
        }
        say("%s: index has %zu packages (%zu new, read in %.1f s)", release, stats.packages,
            stats.added, now() - t0);
        if (repodata && stats.added + stats.removed > 0) {
                char dir[PATH_MAX];
                if (path_format(dir, sizeof dir, "%s/%s", conf->repo_dir, release) == 0)
                        update_repodata(dir);
        }
        return 0;
}

/* RepoDir/<release>/.reposync/last-success, for /metrics (common/stats.h):
 * every repository of the release synced and its index updated. */
static void record_success(const struct retrace_conf *conf, const char *release)
{
        struct error err;
        if (stats_sync_record(conf->repo_dir, release, time(NULL), &err) < 0) {
                complain("%s: %s", release, err.msg);
                totals.local_failure = true;
        }
}

static void sync_release(const struct retrace_conf *conf, const struct repo_config *repos,
                         const char *release, struct fetcher *f)
{
        struct error err;
        char release_dir[PATH_MAX];
        if (path_format(release_dir, sizeof release_dir, "%s/%s", conf->repo_dir, release) < 0) {
                complain("%s: RepoDir '%s' is too long a path", release, conf->repo_dir);
                totals.local_failure = true;
                return;
        }

        int lock = -1;
        if (!opt.dry_run) {
                lock = repoindex_lock(conf->repo_dir, release, false, &err);
                if (lock == -EWOULDBLOCK) {
                        complain("%s: another retrace-reposync is syncing it (%s/" REPOINDEX_LOCK
                                 " is locked); skipped", release, release_dir);
                        totals.releases_locked++;
                        return;
                }
                if (lock < 0) {
                        complain("%s: %s", release, err.msg);
                        totals.local_failure = true;
                        return;
                }
        }
        size_t synced = 0, arrived = 0, feeding = 0;
        for (size_t i = 0; i < repos->count; i++) {
                const struct repo_source *r = &repos->repos[i];
                size_t added = 0;
                if (r->enabled && strcmp(r->release, release) == 0) {
                        feeding++;
                        if (sync_repo(f, release_dir, r, &added) == 0)
                                synced++;
                        arrived += added;
                }
        }
        /* Index whatever arrived, even when a repository failed: every
         * package in Packages/ is complete and checked. But a new release
         * that got nothing at all gets no index: an (empty) index would
         * make the server announce it as supported. */
        char index_link[PATH_MAX];
        struct stat st;
        if (!opt.dry_run && synced == 0 && arrived == 0 &&
            path_format(index_link, sizeof index_link, "%s/" REPOINDEX_LINK, release_dir) == 0 &&
            lstat(index_link, &st) < 0 && errno == ENOENT)
                complain("%s: no repository was synced; the release gets no index yet", release);
        else if (!opt.dry_run && update_index(conf, release, true) == 0 && synced == feeding)
                record_success(conf, release);
        if (lock >= 0)
                close(lock);
}

/* --- import --------------------------------------------------------------- */

/* Copies src to dir/name through a temporary, so a half copy is never
 * seen under the final name. */
static int copy_in(const char *src, const char *dir, const char *name, struct error *err)
{
        char tmp[PATH_MAX], final[PATH_MAX];
        if (path_format(final, sizeof final, "%s/%s", dir, name) < 0 ||
            path_format(tmp, sizeof tmp, "%s/.%s.import", dir, name) < 0)
                return error_set(err, ENAMETOOLONG, "path too long for '%s' in '%s'", name, dir);
        /* Same file system: a hard link costs nothing. To the file itself:
         * link() would copy a symlink as it is, which then points nowhere
         * from Packages/ (a relative one) or into the import directory. */
        if (linkat(AT_FDCWD, src, AT_FDCWD, final, AT_SYMLINK_FOLLOW) == 0)
                return 0;
        int in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return error_set_errno(err, errno, "cannot open '%s'", src);
        int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) {
                close(in);
                return error_set_errno(err, errno, "cannot create '%s'", tmp);
        }
        char buf[1 << 16];
        ssize_t n;
        int rc = 0;
        while ((n = read(in, buf, sizeof buf)) > 0)
                if ((rc = fd_write_all(out, buf, (size_t)n)) < 0)
                        break;
        if (n < 0)
                rc = -errno;
        if (rc == 0 && fsync(out) < 0)
                rc = -errno;
        close(in);
        if (close(out) < 0 && rc == 0)
                rc = -errno;
        if (rc == 0 && rename(tmp, final) < 0)
                rc = -errno;
        if (rc < 0) {
                unlink(tmp);
                return error_set_errno(err, -rc, "cannot copy '%s' into '%s'", src, dir);
        }
        return 0;
}

static int run_import(const struct retrace_conf *conf, const char *release)
{
        struct error err;
        char packages[PATH_MAX];
        if (path_format(packages, sizeof packages, "%s/%s/" REPOINDEX_PACKAGES, conf->repo_dir,
                        release) < 0) {
                complain("%s: RepoDir '%s' is too long a path", release, conf->repo_dir);
                return EXIT_LOCAL;
        }

        int lock = repoindex_lock(conf->repo_dir, release, false, &err);
        if (lock == -EWOULDBLOCK) {
                complain("%s: another retrace-reposync holds its lock; try again later", release);
                return EXIT_LOCKED;
        }
        if (lock < 0) {
                complain("%s: %s", release, err.msg);
                return EXIT_LOCAL;
        }
        if (mkdir_parents(packages, 0755) < 0) {
                complain("cannot create '%s': %s", packages, strerror(errno));
                close(lock);
                return EXIT_LOCAL;
        }
        DIR *d = opendir(opt.import_dir);
        if (!d) {
                complain("cannot read '%s': %s", opt.import_dir, strerror(errno));
                close(lock);
                return EXIT_USAGE;
        }
        struct dirent *e;
        size_t added = 0, same = 0, bad = 0;
        while ((e = readdir(d))) {
                size_t len = strlen(e->d_name);
                if (len < 5 || strcmp(e->d_name + len - 4, ".rpm") != 0 || e->d_name[0] == '.')
                        continue;
                char src[PATH_MAX];
                if (path_format(src, sizeof src, "%s/%s", opt.import_dir, e->d_name) < 0) {
                        complain("%s: path too long: '%s/%s'", release, opt.import_dir, e->d_name);
                        bad++;
                        continue;
                }
                if (verify_readable(src, &err) < 0) {
                        complain("%s: not imported: %s", release, err.msg);
                        bad++;
                        continue;
                }
                if (package_present(packages, e->d_name)) {
                        same++;
                        continue;
                }
                if (copy_in(src, packages, e->d_name, &err) < 0) {
                        complain("%s: %s", release, err.msg);
                        totals.local_failure = true;
                        continue;
                }
                added++;
        }
        closedir(d);
        say("%s: imported %zu packages from '%s' (%zu already there, %zu refused)", release,
            added, opt.import_dir, same, bad);
        totals.packages_new = added;
        totals.packages_failed = bad;
        if (update_index(conf, release, true) == 0 && !bad && !totals.local_failure)
                record_success(conf, release);
        close(lock);
        if (totals.local_failure)
                return EXIT_LOCAL;
        return bad ? EXIT_PARTIAL : EXIT_OK;
}

/* --- main ------------------------------------------------------------------- */

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: retrace-reposync [OPTION]...\n"
                "Mirror the repositories of RepoConfDir into RepoDir, keeping every version,\n"
                "and update each release's index.\n\n"
                "  -c, --config FILE     retrace-server.conf (default %s)\n"
                "  -r, --release ID      only this release (repeatable)\n"
                "  -n, --dry-run         fetch metadata, list what would be downloaded, change nothing\n"
                "  -j, --parallel N      downloads at once (default: [reposync] Parallel)\n"
                "      --import DIR      add the RPM files of DIR to the release given by --release\n"
                "      --progress        progress line even when stderr is not a terminal\n"
                "      --no-progress     no progress line\n"
                "  -q, --quiet           errors only\n"
                "  -h, --help            this text\n"
                "      --version         the version\n\n"
                "Exit status: 0 up to date; 1 some repositories or packages failed (the rest\n"
                "was synced); 2 usage or configuration error; 3 another sync holds a release's\n"
                "lock; 4 a local failure (disk, index).\n",
                RETRACE_CONF_DEFAULT_PATH);
}

static int parse_args(int argc, char **argv)
{
        enum { OPT_IMPORT = 256, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_VERSION };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },
                { "release", required_argument, NULL, 'r' },
                { "dry-run", no_argument, NULL, 'n' },
                { "parallel", required_argument, NULL, 'j' },
                { "import", required_argument, NULL, OPT_IMPORT },
                { "progress", no_argument, NULL, OPT_PROGRESS },
                { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        int c;
        opt.config = RETRACE_CONF_DEFAULT_PATH;
        while ((c = getopt_long(argc, argv, "c:r:nj:qh", longopts, NULL)) != -1) {
                switch (c) {
                case 'c': opt.config = optarg; break;
                case 'r':
                        if (opt.release_count == sizeof opt.releases / sizeof opt.releases[0]) {
                                complain("too many --release options");
                                return -1;
                        }
                        if (!release_id_valid(optarg)) {
                                complain("--release '%s' is not a release id like fedora-40-x86_64", optarg);
                                return -1;
                        }
                        opt.releases[opt.release_count++] = optarg;
                        break;
                case 'n': opt.dry_run = true; break;
                case 'j': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v < 1 || v > 64) {
                                complain("--parallel takes a number from 1 to 64, not '%s'", optarg);
                                return -1;
                        }
                        opt.parallel = (unsigned)v;
                        break;
                }
                case OPT_IMPORT: opt.import_dir = optarg; break;
                case OPT_PROGRESS: opt.progress = 1; break;
                case OPT_NO_PROGRESS: opt.progress = 0; break;
                case 'q': opt.quiet = true; break;
                case 'h': usage(stdout); exit(EXIT_OK);
                case OPT_VERSION: printf("retrace-reposync %s\n", PACKAGE_VERSION); exit(EXIT_OK);
                default: usage(stderr); return -1;
                }
        }
        if (optind < argc) {
                complain("unexpected argument '%s' (try --help)", argv[optind]);
                return -1;
        }
        if (opt.import_dir && opt.release_count != 1) {
                complain("--import needs exactly one --release to add the packages to");
                return -1;
        }
        return 0;
}

/* The releases to sync: those named with --release, else every release
 * some enabled repository feeds, sorted and each once. */
static size_t releases_to_sync(const struct repo_config *repos, const char **out, size_t max)
{
        size_t n = 0;
        if (opt.release_count) {
                for (size_t i = 0; i < opt.release_count && n < max; i++)
                        out[n++] = opt.releases[i];
                return n;
        }
        for (size_t i = 0; i < repos->count; i++) {
                const struct repo_source *r = &repos->repos[i];
                bool seen = false;
                if (!r->enabled)
                        continue;
                for (size_t j = 0; j < n; j++)
                        seen |= strcmp(out[j], r->release) == 0;
                if (!seen && n < max)
                        out[n++] = r->release;
        }
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
                        const char *t = out[j];
                        out[j] = out[j - 1];
                        out[j - 1] = t;
                }
        return n;
}

int main(int argc, char **argv)
{
        struct retrace_conf conf;
        struct repo_config repos = { 0 };
        struct error err;
        int rc = EXIT_OK;

        if (parse_args(argc, argv) < 0)
                return EXIT_USAGE;
        conf_init(&conf);
        if (conf_load(&conf, opt.config, &err) < 0) {
                complain("%s", err.msg);
                return EXIT_USAGE;
        }
        progress_on = opt.progress == 1 || (opt.progress == -1 && isatty(STDERR_FILENO));
        /* A download in flight must not kill us through a closed pipe. */
        signal(SIGPIPE, SIG_IGN);

        if (opt.import_dir) {
                return run_import(&conf, opt.releases[0]);
        }

        if (repoconf_load_dir(conf.repo_conf_dir, &repos, &err) < 0) {
                complain("%s", err.msg);
                return EXIT_USAGE;
        }
        /* A release no repository feeds would be made empty: refuse it. */
        for (size_t i = 0; i < opt.release_count; i++) {
                bool fed = false;
                for (size_t j = 0; j < repos.count && !fed; j++)
                        fed = repos.repos[j].enabled &&
                              strcmp(repos.repos[j].release, opt.releases[i]) == 0;
                if (!fed) {
                        complain("no enabled repository in '%s' feeds release '%s'",
                                 conf.repo_conf_dir, opt.releases[i]);
                        repoconf_free(&repos);
                        return EXIT_USAGE;
                }
        }
        const char *releases[256];
        size_t count = releases_to_sync(&repos, releases, 256);
        if (count == 0) {
                complain("no enabled repository in '%s'", conf.repo_conf_dir);
                repoconf_free(&repos);
                return EXIT_USAGE;
        }

        struct fetch_options fo = {
                .parallel = opt.parallel ? opt.parallel : (unsigned)conf.reposync_parallel,
                .retries = (unsigned)conf.reposync_retries,
                .backoff_ms = 500,
                .timeout_s = (unsigned)conf.reposync_timeout,
        };
        struct fetcher *f;
        if (fetcher_new(&fo, &f, &err) < 0) {
                complain("%s", err.msg);
                repoconf_free(&repos);
                return EXIT_LOCAL;
        }
        double t0 = now();
        for (size_t i = 0; i < count; i++)
                sync_release(&conf, &repos, releases[i], f);
        fetcher_free(f);
        repoconf_free(&repos);

        char bytes[32];
        human_bytes(totals.bytes, bytes, sizeof bytes);
        say("%s%zu releases, %zu repositories (%zu unchanged, %zu failed): %zu packages "
            "downloaded (%s), %zu failed, in %.1f s",
            opt.dry_run ? "dry run: " : "", count, totals.repos, totals.repos_unchanged,
            totals.repos_failed, totals.packages_new, bytes, totals.packages_failed, now() - t0);

        if (totals.local_failure)
                rc = EXIT_LOCAL;
        else if (totals.releases_locked)
                rc = EXIT_LOCKED;
        else if (totals.repos_failed || totals.packages_failed)
                rc = EXIT_PARTIAL;
        return rc;
}

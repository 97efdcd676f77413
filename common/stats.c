#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "release.h"
#include "spool.h"
#include "stats.h"

static const char *const stage_names[STATS_STAGE_COUNT] = {
        [STATS_STAGE_ANALYZE] = "analyze",
        [STATS_STAGE_RESOLVE] = "resolve",
        [STATS_STAGE_ASSEMBLE] = "assemble",
        [STATS_STAGE_GDB] = "gdb",
};

static const struct {
        uint64_t us;
        const char *le;
} buckets[STATS_BUCKETS] = {
        { 50000, "0.05" }, { 100000, "0.1" }, { 250000, "0.25" }, { 500000, "0.5" },
        { 1000000, "1" }, { 2500000, "2.5" }, { 5000000, "5" }, { 10000000, "10" },
        { 30000000, "30" }, { 60000000, "60" }, { 120000000, "120" }, { 300000000, "300" },
        { 600000000, "600" }, { 1800000000, "1800" },
};

const char *stats_stage_name(enum stats_stage stage)
{
        return stage < STATS_STAGE_COUNT ? stage_names[stage] : "unknown";
}

uint64_t stats_bucket_us(size_t i)
{
        return i < STATS_BUCKETS ? buckets[i].us : UINT64_MAX;
}

const char *stats_bucket_le(size_t i)
{
        return i < STATS_BUCKETS ? buckets[i].le : "+Inf";
}

void stats_observe(struct stats_histogram *h, uint64_t us)
{
        size_t i = 0;
        while (i < STATS_BUCKETS && us > buckets[i].us)
                i++;
        h->bucket[i]++;
        h->count++;
        h->sum_us += us;
}

/* --- the file's fields ------------------------------------------------------- */

struct field {
        char name[48];
        uint64_t *value;
};

/* Every counter of s by its name in the file; cache_bytes, the gauge, is
 * not among them. */
#define FIELD_COUNT (4 + STATS_STAGE_COUNT * (STATS_BUCKETS + 3))

static size_t list_fields(struct worker_stats *s, struct field *f)
{
        size_t n = 0;
#define ADD(v, ...) do { snprintf(f[n].name, sizeof f[n].name, __VA_ARGS__); \
                         f[n++].value = (v); } while (0)
        ADD(&s->tasks_success, "tasks_success");
        ADD(&s->tasks_failure, "tasks_failure");
        ADD(&s->cache_hits, "cache_hits");
        ADD(&s->cache_misses, "cache_misses");
        for (size_t st = 0; st < STATS_STAGE_COUNT; st++) {
                struct stats_histogram *h = &s->stage[st];
                ADD(&h->count, "%s_count", stage_names[st]);
                ADD(&h->sum_us, "%s_sum_us", stage_names[st]);
                for (size_t b = 0; b < STATS_BUCKETS; b++)
                        ADD(&h->bucket[b], "%s_le_%" PRIu64, stage_names[st], buckets[b].us);
                ADD(&h->bucket[STATS_BUCKETS], "%s_le_inf", stage_names[st]);
        }
#undef ADD
        return n;
}

int stats_worker_format(const struct worker_stats *s, char *buf, size_t len)
{
        struct field f[FIELD_COUNT];
        struct worker_stats copy = *s;
        size_t n = list_fields(&copy, f), used = 0;
        int w = snprintf(buf, len, "%s\n", STATS_WORKER_HEADER);
        if (w < 0 || (size_t)w >= len)
                return -ENOSPC;
        used = (size_t)w;
        for (size_t i = 0; i <= n; i++) {
                if (i == n && !s->cache_bytes_known)
                        break;
                w = i < n ? snprintf(buf + used, len - used, "%s %" PRIu64 "\n", f[i].name, *f[i].value)
                          : snprintf(buf + used, len - used, "cache_bytes %" PRIu64 "\n", s->cache_bytes);
                if (w < 0 || (size_t)w >= len - used)
                        return -ENOSPC;
                used += (size_t)w;
        }
        return (int)used;
}

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
        uint64_t v = 0;
        if (len == 0 || len > 20)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                unsigned d = (unsigned)(s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *out = v;
        return true;
}

int stats_worker_parse(const char *text, struct worker_stats *s, struct error *err)
{
        struct field f[FIELD_COUNT];
        memset(s, 0, sizeof *s);
        size_t n = list_fields(s, f);
        size_t hlen = strlen(STATS_WORKER_HEADER);
        if (strncmp(text, STATS_WORKER_HEADER, hlen) != 0 || text[hlen] != '\n')
                return error_set(err, EBADMSG, "the worker's statistics do not start with '%s'",
                                 STATS_WORKER_HEADER);
        unsigned line = 1;
        for (const char *p = text + hlen + 1; *p; line++) {
                size_t len = strcspn(p, "\n");
                const char *sp = memchr(p, ' ', len);
                uint64_t v;
                if (!sp || !parse_u64(sp + 1, len - (size_t)(sp + 1 - p), &v))
                        return error_set(err, EBADMSG, "line %u of the worker's statistics is not "
                                         "'name number'", line + 1);
                size_t nlen = (size_t)(sp - p);
                if (nlen == strlen("cache_bytes") && memcmp(p, "cache_bytes", nlen) == 0) {
                        s->cache_bytes = v;
                        s->cache_bytes_known = true;
                }
                for (size_t i = 0; i < n; i++)
                        if (strlen(f[i].name) == nlen && memcmp(f[i].name, p, nlen) == 0) {
                                *f[i].value = v;
                                break;
                        }
                p += len;
                if (*p == '\n')
                        p++;
        }
        return 0;
}

/* --- the file ---------------------------------------------------------------- */

static int stats_dir(const char *spool_dir, char *dir, size_t len, struct error *err)
{
        if (path_format(dir, len, "%s/" SPOOL_STATS_DIR, spool_dir) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        return 0;
}

int stats_worker_read(const char *spool_dir, struct worker_stats *s, struct error *err)
{
        char dir[PATH_MAX], path[PATH_MAX], text[STATS_TEXT_MAX];
        memset(s, 0, sizeof *s);
        int r = stats_dir(spool_dir, dir, sizeof dir, err);
        if (r < 0)
                return r;
        if (path_format(path, sizeof path, "%s/" STATS_WORKER_FILE, dir) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        r = spool_read_file(path, text, sizeof text, NULL, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        struct error why;
        r = stats_worker_parse(text, s, &why);
        if (r < 0)
                return error_set(err, -r, "'%s' is damaged: %s", path, why.msg);
        return 0;
}

static void add_u64(uint64_t *to, uint64_t v)
{
        *to = *to > UINT64_MAX - v ? UINT64_MAX : *to + v;
}

int stats_worker_add(const char *spool_dir, const struct worker_stats *delta, struct error *err)
{
        char dir[PATH_MAX], lock[PATH_MAX], text[STATS_TEXT_MAX];
        int r = stats_dir(spool_dir, dir, sizeof dir, err);
        if (r < 0)
                return r;
        if (path_format(lock, sizeof lock, "%s/" STATS_LOCK_FILE, dir) < 0)
                return error_set(err, ENAMETOOLONG, "spool path too long: '%s'", spool_dir);
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, TASK_FILE_MODE);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot open '%s'", lock);
        /* Past the umask: whoever shares the spool's group takes it too. */
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
            (st.st_mode & 07777) != TASK_FILE_MODE)
                fchmod(fd, TASK_FILE_MODE);
        if ((r = fd_lock(fd, true)) < 0) {
                r = error_set_errno(err, -r, "cannot lock '%s'", lock);
                close(fd);
                return r;
        }

        struct worker_stats s;
        struct field mine[FIELD_COUNT], theirs[FIELD_COUNT];
        struct worker_stats d = *delta;
        /* Damaged: start again from zero rather than stop counting. */
        if (stats_worker_read(spool_dir, &s, NULL) < 0)
                memset(&s, 0, sizeof s);
        size_t n = list_fields(&s, mine);
        list_fields(&d, theirs);
        for (size_t i = 0; i < n; i++)
                add_u64(mine[i].value, *theirs[i].value);
        if (delta->cache_bytes_known) {
                s.cache_bytes = delta->cache_bytes;
                s.cache_bytes_known = true;
        }
        int len = stats_worker_format(&s, text, sizeof text);
        r = len < 0 ? error_set(err, -len, "the worker's statistics do not fit %zu bytes", sizeof text)
                    : spool_write_file(dir, STATS_WORKER_FILE, text, (size_t)len, TASK_FILE_MODE, err);
        close(fd);      /* releases the lock */
        return r;
}

/* --- retrace-reposync's last success ------------------------------------------ */

static int sync_path(const char *repo_dir, const char *release, char *dir, size_t dlen,
                     char *path, size_t plen, struct error *err)
{
        if (!release_id_valid(release))
                return error_set(err, EINVAL, "'%s' is not a release id", release);
        if (path_format(dir, dlen, "%s/%s/" STATS_SYNC_DIR, repo_dir, release) < 0 ||
            path_format(path, plen, "%s/" STATS_SYNC_FILE, dir) < 0)
                return error_set(err, ENAMETOOLONG, "RepoDir '%s' is too long a path", repo_dir);
        return 0;
}

int stats_sync_record(const char *repo_dir, const char *release, time_t when, struct error *err)
{
        char dir[PATH_MAX], path[PATH_MAX], text[32];
        int r = sync_path(repo_dir, release, dir, sizeof dir, path, sizeof path, err);
        if (r < 0)
                return r;
        if ((r = mkdir_parents(dir, 0755)) < 0)
                return error_set_errno(err, -r, "cannot create '%s'", dir);
        int n = snprintf(text, sizeof text, "%lld\n", (long long)when);
        return spool_write_file(dir, STATS_SYNC_FILE, text, (size_t)n, 0644, err);
}

int stats_sync_read(const char *repo_dir, const char *release, time_t *when, struct error *err)
{
        char dir[PATH_MAX], path[PATH_MAX], text[32];
        size_t len;
        int r = sync_path(repo_dir, release, dir, sizeof dir, path, sizeof path, err);
        if (r < 0)
                return r;
        r = spool_read_file(path, text, sizeof text, &len, err);
        if (r < 0)
                return r;
        while (len > 0 && text[len - 1] == '\n')
                len--;
        uint64_t v;
        if (!parse_u64(text, len, &v) || v > (uint64_t)INT64_MAX)
                return error_set(err, EBADMSG, "'%s' does not hold a time in unix seconds", path);
        *when = (time_t)v;
        return 0;
}

/* unpack.c: an upload's archive, decoded, checked and written into the
 * crash directory (see unpack.h). Moved out of mod_retrace.c as it was,
 * with httpd's buckets and pools replaced by a read callback and buffers
 * in struct unpack, so that a fuzz harness can run it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "decompress.h"
#include "fsutil.h"
#include "spool.h"
#include "unpack.h"

/* Archives with more members than this are refused without reading on. */
#define MAX_MEMBERS 64

struct member_rule {
        const char *name;
        int64_t cap;            /* bytes; 0: the unpacked limit */
};

static const struct member_rule member_rules[] = {
        { "coredump", 0 },
        { "coredump.xz", 0 },
        { "coredump.zst", 0 },
        { "executable", 512 },
        { "package", 128 },
        { "os_release", 128 },
        { "release", 128 },
        { "architecture", 32 },
        { "packages", 1024 * 1024 },
        { "rootdir", 256 },
        { "os_release_in_rootdir", 128 },
};
#define MEMBER_RULE_COUNT (sizeof member_rules / sizeof member_rules[0])
_Static_assert(MEMBER_RULE_COUNT == UNPACK_MEMBER_RULES, "UNPACK_MEMBER_RULES is the allow-list's length");

/* Text from the archive (a member name) shortened and escaped for a
 * response body or the error log. */
static const char *printable(const char *s, char buf[QUOTE_SIZE(UNPACK_NAME_SHOWN)])
{
        return error_quote_n(s, SIZE_MAX, UNPACK_NAME_SHOWN, buf);
}

/* The next decoded bytes, at *out: their count, 0 at the end of the
 * stream, -1 on failure (br->failure says which). An uncompressed body is
 * handed on from the source's pieces as it is, without a copy. */
static ssize_t body_next(struct body_reader *br, const void **out)
{
        if (br->done)
                return 0;
        if (br->failure != BODY_OK)
                return -1;
        for (;;) {
                if (br->in_len == 0 && !br->eos) {
                        const char *data;
                        ssize_t n = br->source(br->source_arg, &data);
                        if (n < 0) {
                                br->failure = BODY_CLIENT;
                                return -1;
                        }
                        if (n == 0) {
                                br->eos = 1;
                        } else {
                                br->in = data;
                                br->in_len = (size_t)n;
                                continue;
                        }
                }
                if (br->passthrough) {
                        if (br->in_len == 0) {
                                br->done = 1;
                                return 0;
                        }
                        *out = br->in;
                        ssize_t n = (ssize_t)br->in_len;
                        br->in_len = 0;
                        return n;
                }
                size_t consumed, produced;
                int r = decoder_run(br->decoder, br->in, br->in_len, &consumed, br->out,
                                    br->out_cap, &produced, br->eos, &br->err);
                if (r < 0) {
                        br->failure = r == -ENOMEM ? BODY_NEEDS_MEMORY : BODY_BAD_DATA;
                        return -1;
                }
                br->in += consumed;
                br->in_len -= consumed;
                br->decoded += (int64_t)produced;
                if (br->decoded > br->limit) {
                        br->failure = BODY_TOO_BIG;
                        return -1;
                }
                if (produced > 0) {
                        *out = br->out;
                        return (ssize_t)produced;
                }
                if (r == 1) {
                        br->done = 1;
                        return 0;
                }
                if (br->eos && consumed == 0) {
                        /* The decoder promises progress or an answer; do
                         * not spin if it breaks that promise. */
                        error_set(&br->err, EBADMSG, "the upload ends inside the compressed stream");
                        br->failure = BODY_BAD_DATA;
                        return -1;
                }
        }
}

static la_ssize_t archive_read_body(struct archive *a, void *data, const void **out)
{
        struct body_reader *br = data;
        ssize_t n = body_next(br, out);
        if (n < 0) {
                archive_set_error(a, EIO, "%s", br->failure == BODY_CLIENT ?
                                  "reading the request body failed" : br->err.msg);
                return -1;
        }
        return (la_ssize_t)n;
}

/* Reads the stream to its end after the tar ended: its trailer and
 * checksums are verified, and the client has sent everything before it
 * gets an answer (as mod_dav does) instead of a reset connection. */
static void body_finish(struct body_reader *br)
{
        const void *ignored;
        while (body_next(br, &ignored) > 0)
                ;
        /* What follows a finished stream is left to the caller to discard. */
}

static const struct member_rule *member_rule_find(const char *name)
{
        for (size_t i = 0; i < MEMBER_RULE_COUNT; i++)
                if (strcmp(member_rules[i].name, name) == 0)
                        return &member_rules[i];
        return NULL;
}

/* Why a member is refused (403), written into why (len bytes), or NULL
 * when it is to be written. */
static const char *member_check(struct unpack *u, struct archive_entry *entry,
                                const char *name, const struct member_rule **rule_out,
                                char *why, size_t len)
{
        char quoted[QUOTE_SIZE(UNPACK_NAME_SHOWN)];
        const char *shown = printable(name, quoted);
        mode_t type = archive_entry_filetype(entry);

        *rule_out = NULL;
        if (archive_entry_hardlink(entry)) {
                snprintf(why, len, "member '%s' is a hard link; only regular files are accepted", shown);
                return why;
        }
        if (type == AE_IFLNK) {
                snprintf(why, len, "member '%s' is a symbolic link; only regular files are accepted", shown);
                return why;
        }
        if (name[0] == '/') {
                snprintf(why, len, "member '%s' has an absolute path", shown);
                return why;
        }
        if (strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 || strstr(name, "/../") ||
            (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0)) {
                snprintf(why, len, "member '%s' has a '..' path component", shown);
                return why;
        }
        if (type == AE_IFDIR) {
                snprintf(why, len, "member '%s' is a directory; the archive must hold plain files at its top level", shown);
                return why;
        }
        if (type != AE_IFREG) {
                snprintf(why, len, "member '%s' is not a regular file (a device, FIFO or socket)", shown);
                return why;
        }
        if (strchr(name, '/')) {
                snprintf(why, len, "member '%s' is not at the top level of the archive", shown);
                return why;
        }
        const struct member_rule *rule = member_rule_find(name);
        if (!rule) {
                snprintf(why, len, "member '%s' is not allowed; allowed are coredump (or coredump.xz, "
                         "coredump.zst), executable, package, os_release, release, architecture, "
                         "packages, rootdir, os_release_in_rootdir", shown);
                return why;
        }
        size_t idx = (size_t)(rule - member_rules);
        if (u->seen[idx]) {
                snprintf(why, len, "member '%s' appears twice", shown);
                return why;
        }
        /* coredump, coredump.xz, coredump.zst: one core, in one form. */
        if (idx < 3 && (u->seen[0] || u->seen[1] || u->seen[2])) {
                snprintf(why, len, "member '%s' is a second core; send one of coredump, "
                         "coredump.xz and coredump.zst", shown);
                return why;
        }
        u->seen[idx] = 1;
        if (rule->cap && archive_entry_size(entry) > rule->cap) {
                snprintf(why, len, "member '%s' is larger than its limit of %" PRId64 " bytes",
                         shown, rule->cap);
                return why;
        }
        *rule_out = rule;
        return NULL;
}

static void set_error(struct unpack *u, const char *msg)
{
        snprintf(u->error_buf, sizeof u->error_buf, "%s", msg);
        u->error = u->error_buf;
}

/* What a failed libarchive call means: the body reader knows when it was
 * the client, the compression or the limit; otherwise the tar itself is
 * bad. */
static enum unpack_result archive_failure(struct unpack *u, struct archive *a)
{
        struct body_reader *br = u->br;
        switch (br->failure) {
        case BODY_CLIENT:
                return UNPACK_CLIENT_ERROR;
        case BODY_TOO_BIG:
                return UNPACK_TOO_BIG;
        case BODY_NEEDS_MEMORY:
                set_error(u, br->err.msg);
                return UNPACK_TOO_BIG;
        case BODY_BAD_DATA:
                set_error(u, br->err.msg);
                return UNPACK_NOT_ARCHIVE;
        case BODY_OK:
                break;
        }
        const char *msg = a ? archive_error_string(a) : NULL;
        set_error(u, msg ? msg : "not a tar archive");
        return UNPACK_NOT_ARCHIVE;
}

/* A positive errno, as the unpacker's results carry it. */
static int write_all_at(int fd, const char *buf, size_t len, off_t offset)
{
        return -fd_pwrite_all(fd, buf, len, offset);
}

/* Member data is gathered into writes of UNPACK_WRITE_CHUNK: the tar
 * reader hands it over in pieces as small as httpd's 8 KB socket reads,
 * and a system call for each of those cost a third of an upload's time. */
struct gather {
        int fd;
        char *buf;
        size_t len;
        off_t offset;           /* where buf[0] goes */
};

static int gather_flush(struct gather *g)
{
        int e = write_all_at(g->fd, g->buf, g->len, g->offset);
        g->offset += (off_t)g->len;
        g->len = 0;
        return e;
}

/* Queues len bytes for offset; holes (sparse members) start a new write. */
static int gather_add(struct gather *g, const char *data, size_t len, off_t offset)
{
        if (g->len && (offset != g->offset + (off_t)g->len || g->len + len > UNPACK_WRITE_CHUNK)) {
                int e = gather_flush(g);
                if (e)
                        return e;
        }
        if (g->len == 0)
                g->offset = offset;
        if (len >= UNPACK_WRITE_CHUNK)
                return write_all_at(g->fd, data, len, offset);
        memcpy(g->buf + g->len, data, len);
        g->len += len;
        return 0;
}

/* Reads one member's data, writing it to fd, or dropping it when fd < 0. */
static enum unpack_result member_copy(struct unpack *u, struct archive *a, int fd,
                                      int64_t size)
{
        struct gather g = { .fd = fd, .buf = u->write_buf };
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t offset;
                int r = archive_read_data_block(a, &buf, &len, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_failure(u, a);
                if (fd < 0)
                        continue;
                if (offset < 0 || offset + (la_int64_t)len > size) {
                        u->error = "a member's data runs past its declared size";
                        return UNPACK_NOT_ARCHIVE;
                }
                int e = gather_add(&g, buf, len, (off_t)offset);
                if (e) {
                        u->write_errno = e;
                        return UNPACK_WRITE_ERROR;
                }
        }
        if (fd < 0)
                return UNPACK_OK;
        int e = gather_flush(&g);
        /* A sparse member may end in a hole: give the file its full size. */
        if (!e && ftruncate(fd, (off_t)size) < 0)
                e = errno;
        if (e) {
                u->write_errno = e;
                return UNPACK_WRITE_ERROR;
        }
        return UNPACK_OK;
}

static enum unpack_result unpack_members(struct unpack *u, struct archive *a)
{
        unsigned members = 0;
        for (;;) {
                struct archive_entry *entry;
                int r = archive_read_next_header(a, &entry);
                if (r == ARCHIVE_EOF)
                        return u->bad_member ? UNPACK_BAD_MEMBER : UNPACK_OK;
                if (r < ARCHIVE_WARN)
                        return archive_failure(u, a);

                const char *name = archive_entry_pathname(entry);
                if (!name)
                        name = "";
                while (name[0] == '.' && name[1] == '/')
                        name += 2;
                /* "./" itself, as `tar -C dir .` writes it. */
                if (name[0] == '\0' && archive_entry_filetype(entry) == AE_IFDIR)
                        continue;
                if (++members > MAX_MEMBERS) {
                        if (!u->bad_member) {
                                snprintf(u->bad_member_buf, sizeof u->bad_member_buf,
                                         "the archive has more than %d members", MAX_MEMBERS);
                                u->bad_member = u->bad_member_buf;
                        }
                        return UNPACK_BAD_MEMBER;
                }

                const struct member_rule *rule = NULL;
                char why_buf[sizeof u->bad_member_buf];
                const char *why = member_check(u, entry, name, &rule, why_buf, sizeof why_buf);
                if (why && !u->bad_member) {
                        memcpy(u->bad_member_buf, why_buf, sizeof u->bad_member_buf);
                        u->bad_member = u->bad_member_buf;
                }
                /* Sizes count even for a refused member: the limit on what
                 * an archive unpacks to comes before the member checks. */
                int64_t size = archive_entry_size(entry);
                u->unpacked += size > 0 ? size : 0;
                if (u->unpacked > u->max_unpacked)
                        return UNPACK_TOO_BIG;
                if (u->bad_member) {
                        /* Read on without writing: a corrupt archive is a 415
                         * even when a member was refused first. */
                        enum unpack_result res = member_copy(u, a, -1, 0);
                        if (res != UNPACK_OK)
                                return res;
                        continue;
                }

                int fd = openat(u->crash_fd, rule->name,
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                TASK_FILE_MODE);
                /* The mode is set past the umask: the worker reads these
                 * through the shared group. */
                if (fd < 0 || fchmod(fd, TASK_FILE_MODE) < 0) {
                        u->write_errno = errno;
                        if (fd >= 0)
                                close(fd);
                        return UNPACK_WRITE_ERROR;
                }
                enum unpack_result res = member_copy(u, a, fd, size);
                if (close(fd) < 0 && res == UNPACK_OK) {
                        u->write_errno = errno;
                        res = UNPACK_WRITE_ERROR;
                }
                if (res != UNPACK_OK)
                        return res;
        }
}

/* Members are written with openat() under names taken from the
 * allow-list, never from the archive, so nothing can land outside the
 * task directory. archive_write_disk, with its ARCHIVE_EXTRACT_SECURE_*
 * flags, would give the same guarantee but calls umask(umask(0)) for
 * every entry: in a threaded httpd that can leave the whole process at
 * umask 0 (libarchive issue #1876). */
enum unpack_result unpack_body(struct unpack *u)
{
        struct archive *a = archive_read_new();
        if (!a) {
                u->write_errno = ENOMEM;
                return UNPACK_WRITE_ERROR;
        }
        archive_read_support_format_tar(a);
        enum unpack_result res;
        if (archive_read_open(a, u->br, NULL, archive_read_body, NULL) != ARCHIVE_OK)
                res = archive_failure(u, a);
        else
                res = unpack_members(u, a);
        archive_read_free(a);
        if (res == UNPACK_OK || res == UNPACK_BAD_MEMBER) {
                /* The tar ended; the compressed stream must end whole too. */
                body_finish(u->br);
                if (u->br->failure != BODY_OK)
                        res = archive_failure(u, NULL);
        }
        return res;
}

const char *unpack_missing(const struct unpack *u)
{
        int have_core = u->seen[0] || u->seen[1] || u->seen[2];
        return !have_core ? "coredump" :
               !u->seen[3] ? "executable" :
               !u->seen[4] ? "package" : NULL;
}

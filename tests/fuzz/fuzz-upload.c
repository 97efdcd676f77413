/* fuzz-upload: an upload to POST /create, through the module's own
 * pipeline (mod_retrace/unpack.c): decompression, libarchive's tar
 * reader, the member policy, and the members written into a crash
 * directory. The input is the body; its compression is the one its magic
 * bytes name (xz, gzip, zstd), else none, as if the client had declared
 * that Content-Type. The body reaches the pipeline in pieces, as httpd's
 * buckets do.
 *
 * Whatever the body, nothing but allowed names may appear in the crash
 * directory, each within its cap, and an accepted archive may not hold
 * more than the unpacked limit. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "decompress.h"
#include "fuzz.h"
#include "unpack.h"

/* Small limits, so that a bomb ends quickly (the module's are MiB). */
#define MAX_UNPACKED (1 << 20)
#define PIECE 8000

static const struct { const char *name; off_t cap; } allowed[] = {
        { "coredump", MAX_UNPACKED }, { "coredump.xz", MAX_UNPACKED },
        { "coredump.zst", MAX_UNPACKED }, { "executable", 512 }, { "package", 128 },
        { "os_release", 128 }, { "release", 128 }, { "architecture", 32 },
        { "packages", 1024 * 1024 }, { "rootdir", 256 }, { "os_release_in_rootdir", 128 },
};
#define ALLOWED_COUNT (sizeof allowed / sizeof allowed[0])

struct memory_source {
        const uint8_t *data;
        size_t size, pos;
};

static ssize_t memory_next(void *arg, const char **data)
{
        struct memory_source *m = arg;
        size_t n = m->size - m->pos;
        if (n > PIECE)
                n = PIECE;
        *data = (const char *)m->data + m->pos;
        m->pos += n;
        return (ssize_t)n;
}

static char crash_path[4096];

static void crash_dir_remove(void)
{
        rmdir(crash_path);
}

/* The crash directory, made once; the files in it are removed after
 * every input. */
static int crash_dir(void)
{
        static int fd = -1;
        if (fd < 0) {
                const char *tmp = getenv("TMPDIR");
                snprintf(crash_path, sizeof crash_path, "%s/fuzz-upload.XXXXXX",
                         tmp && *tmp ? tmp : "/tmp");
                if (!mkdtemp(crash_path) ||
                    (fd = open(crash_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                        perror("fuzz-upload: crash directory");
                        abort();
                }
                atexit(crash_dir_remove);
        }
        return fd;
}

/* Only allowed names, each within its cap; then empties the directory. */
static void check_and_clear(int dirfd, enum unpack_result res, const struct unpack *u)
{
        int fd = dup(dirfd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                abort();
        rewinddir(d);
        struct dirent *e;
        while ((e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                size_t i;
                for (i = 0; i < ALLOWED_COUNT; i++)
                        if (strcmp(e->d_name, allowed[i].name) == 0)
                                break;
                if (i == ALLOWED_COUNT)
                        fuzz_fail("'%s' was written into the crash directory", e->d_name);
                struct stat st;
                if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        abort();
                if (!S_ISREG(st.st_mode))
                        fuzz_fail("'%s' is not a regular file", e->d_name);
                if (res == UNPACK_OK && st.st_size > allowed[i].cap)
                        fuzz_fail("'%s' was accepted with %lld bytes, over its cap", e->d_name,
                                  (long long)st.st_size);
                if (unlinkat(dirfd, e->d_name, 0) < 0)
                        abort();
        }
        closedir(d);
        if (res == UNPACK_OK)
                fuzz_assert(u->unpacked <= u->max_unpacked && !u->bad_member);
        if (res == UNPACK_BAD_MEMBER)
                fuzz_assert(u->bad_member && u->bad_member[0]);
        if (res == UNPACK_NOT_ARCHIVE)
                fuzz_assert(u->error && u->error[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char *out, *write_buf;
        if (!out && (!(out = malloc(64 * 1024)) || !(write_buf = malloc(UNPACK_WRITE_CHUNK))))
                abort();

        enum compression c = COMPRESSION_NONE;
        if (size >= 6 && memcmp(data, "\xFD" "7zXZ\0", 6) == 0)
                c = COMPRESSION_XZ;
        else if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
                c = COMPRESSION_GZIP;
        else if (size >= 4 && memcmp(data, "\x28\xB5\x2F\xFD", 4) == 0)
                c = COMPRESSION_ZSTD;

        struct memory_source src = { .data = data, .size = size };
        struct body_reader br = {
                .source = memory_next,
                .source_arg = &src,
                .out = out,
                .out_cap = 64 * 1024,
                .limit = c == COMPRESSION_NONE ? INT64_MAX : MAX_UNPACKED + (1 << 20),
                .passthrough = c == COMPRESSION_NONE,
        };
        struct error err = { 0 };
        if (c != COMPRESSION_NONE &&
            decoder_new(c, UNPACK_DECODER_MEMORY_LIMIT, &br.decoder, &err) < 0)
                abort();
        int dirfd = crash_dir();
        struct unpack u = {
                .br = &br,
                .crash_fd = dirfd,
                .max_unpacked = MAX_UNPACKED,
                .write_buf = write_buf,
        };
        enum unpack_result res = unpack_body(&u);
        fuzz_assert(res != UNPACK_CLIENT_ERROR);        /* memory does not fail */
        if (res == UNPACK_WRITE_ERROR)
                fuzz_fail("write error %d (%s)", u.write_errno, strerror(u.write_errno));
        const char *missing = res == UNPACK_OK ? unpack_missing(&u) : NULL;
        if (getenv("FUZZ_VERBOSE"))     /* what became of a seed */
                fprintf(stderr, "fuzz-upload: %s, result %d, missing %s, %s\n",
                        compression_name(c), (int)res, missing ? missing : "none",
                        u.bad_member ? u.bad_member : u.error ? u.error : "");
        check_and_clear(dirfd, res, &u);
        decoder_free(br.decoder);
        return 0;
}

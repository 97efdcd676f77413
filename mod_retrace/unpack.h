/* unpack.h: an upload to POST /create, checked and unpacked into a task's
 * crash directory: the decode-then-libarchive pipeline and the archive's
 * member policy.
 *
 * The module feeds it httpd's buckets; tests/fuzz/fuzz-upload.c feeds it
 * bytes from memory. It knows nothing of httpd or APR.
 *
 * The body is decompressed a piece at a time and handed to libarchive as
 * a plain tar: memory stays bounded whatever the upload's size. The
 * decompression is ours (common/decompress.c), not libarchive's, so that
 * the declared compression is the only one tried, every stream is read to
 * its end and its checks verified (libarchive's gzip reader skips the
 * CRC, and it stops reading at the tar's end-of-archive blocks), and a
 * stream that asks for a huge window is refused.
 *
 * The archive holds, at its top level only, the members of the allow-list
 * in unpack.c (coredump, executable, package, ...), each at most once and
 * within its size cap; anything else (another name, a directory, a link,
 * a device, an absolute or '..' path) is refused, and the first refusal
 * is the answer. Members are written with openat() under names taken
 * from the allow-list, never from the archive, so nothing can land
 * outside the crash directory.
 */
#ifndef RETRACE_UNPACK_H
#define RETRACE_UNPACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct decoder;

/* What a compressed stream may need for its window and state: xz -9
 * needs 65 MiB, zstd's default limit is a 128 MiB window. Streams made
 * to need more are refused. */
#define UNPACK_DECODER_MEMORY_LIMIT (80 * 1024 * 1024)

/* Member data is gathered into writes of this size (the write_buf of
 * struct unpack). */
#define UNPACK_WRITE_CHUNK (256 * 1024)

/* Entries of the allow-list (the seen[] of struct unpack). */
#define UNPACK_MEMBER_RULES 11

/* Member names are quoted in messages up to this many characters. */
#define UNPACK_NAME_SHOWN 200

/* The next piece of the raw body: its length (> 0) with *data pointing at
 * it, valid until the next call; 0 at the end of the body; -1 when reading
 * it failed (the source keeps why). */
typedef ssize_t unpack_source_fn(void *arg, const char **data);

enum body_failure {
        BODY_OK,
        BODY_CLIENT,            /* reading from the client failed */
        BODY_BAD_DATA,          /* not the declared compression, or damaged */
        BODY_TOO_BIG,           /* decompresses past the unpacked limit */
        BODY_NEEDS_MEMORY,      /* needs more memory than we allow */
};

/* The request body, decoded. The caller sets source, source_arg, out,
 * out_cap, limit, and decoder or passthrough; the rest starts zeroed. */
struct body_reader {
        unpack_source_fn *source;
        void *source_arg;
        const char *in;         /* what the decoder has not taken of the piece */
        size_t in_len;
        int eos;                /* the client's body has been read whole */
        int done;               /* the compressed stream ended cleanly */
        struct decoder *decoder; /* NULL for an uncompressed body */
        int passthrough;        /* uncompressed: pieces go to libarchive as they are */
        char *out;              /* out_cap bytes for the decoder's output */
        size_t out_cap;
        int64_t decoded;        /* bytes of tar so far */
        int64_t limit;          /* of decoded: past it, BODY_TOO_BIG */
        enum body_failure failure;
        struct error err;
};

enum unpack_result {
        UNPACK_OK,
        UNPACK_CLIENT_ERROR,    /* reading the body failed: the source knows why */
        UNPACK_NOT_ARCHIVE,     /* 415, error says why */
        UNPACK_TOO_BIG,         /* 413; error is set when a stream wants too much memory */
        UNPACK_BAD_MEMBER,      /* 403, bad_member says why */
        UNPACK_WRITE_ERROR,     /* 507 or 500, errno in write_errno */
};

/* The caller sets br, crash_fd (the crash directory, open), max_unpacked
 * and write_buf (UNPACK_WRITE_CHUNK bytes); the rest starts zeroed. */
struct unpack {
        struct body_reader *br;
        int crash_fd;
        int64_t max_unpacked;   /* bytes: the members' sizes summed */
        int64_t unpacked;       /* logical size of the members, summed */
        const char *bad_member; /* first refused member: the 403 body */
        const char *error;      /* why a 415 or 413 */
        int write_errno;
        char *write_buf;
        unsigned char seen[UNPACK_MEMBER_RULES];
        char bad_member_buf[QUOTE_SIZE(UNPACK_NAME_SHOWN) + 256];
        char error_buf[sizeof ((struct error *)0)->msg];
};

/* Reads the body as a tar into the crash directory, then reads the
 * compressed stream to its end. Returns what became of it; the fields of
 * u say more. */
enum unpack_result unpack_body(struct unpack *u);

/* After UNPACK_OK: the name of a required member the archive lacked
 * ("coredump", "executable", "package"), or NULL. */
const char *unpack_missing(const struct unpack *u);

#endif

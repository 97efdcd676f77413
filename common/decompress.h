/* decompress.h: streaming decompression of gzip, xz and zstd, with the
 * checks each format carries and a memory limit.
 *
 * mod_retrace runs uploads through this before libarchive reads the tar
 * (libarchive's gzip reader does not check the CRC, and it stops reading
 * at the tar's end-of-archive blocks, so a damaged stream trailer would go
 * unseen); the worker uses it for coredump.xz and coredump.zst.
 * Concatenated streams are one stream, as the command-line tools treat
 * them.
 */
#ifndef RETRACE_DECOMPRESS_H
#define RETRACE_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum compression {
        COMPRESSION_NONE,
        COMPRESSION_GZIP,
        COMPRESSION_XZ,
        COMPRESSION_ZSTD,
};

const char *compression_name(enum compression c);

struct decoder;

/* memory_limit: bytes the decoder may use for its window and state; a
 * stream that needs more is refused (-ENOMEM), so a hostile header cannot
 * make it allocate gigabytes. */
int decoder_new(enum compression c, uint64_t memory_limit, struct decoder **out,
                struct error *err);
void decoder_free(struct decoder *d);

/* Decompresses in[0..in_len) into out[0..out_cap); *consumed and *produced
 * say how much of each was used. last: no input follows this call's.
 *
 * Returns 1 when last is set, all input is consumed and the data ended at
 * the end of a complete stream whose checks (CRC, size, checksum) all
 * held; 0 to be called again (more output to take, or more input to give);
 * -EBADMSG for data that is not of this format, damaged or cut short;
 * -ENOMEM when the stream needs more than the memory limit. */
int decoder_run(struct decoder *d, const void *in, size_t in_len, size_t *consumed,
                void *out, size_t out_cap, size_t *produced, bool last,
                struct error *err);

#endif

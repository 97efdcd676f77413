#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "decompress.h"

struct decoder {
        enum compression kind;
        bool at_boundary;       /* between streams: a clean place to end */
        bool started;           /* any input seen */
        z_stream z;
        lzma_stream lz;
        ZSTD_DCtx *zstd;
};

const char *compression_name(enum compression c)
{
        switch (c) {
        case COMPRESSION_NONE: return "uncompressed";
        case COMPRESSION_GZIP: return "gzip";
        case COMPRESSION_XZ: return "xz";
        case COMPRESSION_ZSTD: return "zstd";
        }
        return "unknown";
}

/* gzip needs no limit: a deflate window is at most 32 KiB. */
int decoder_new(enum compression c, uint64_t memory_limit, struct decoder **out,
                struct error *err)
{
        struct decoder *d = calloc(1, sizeof *d);
        if (!d)
                return error_set(err, ENOMEM, "out of memory for a %s decoder", compression_name(c));
        d->kind = c;
        d->at_boundary = true;
        switch (c) {
        case COMPRESSION_NONE:
                break;
        case COMPRESSION_GZIP:
                /* 16 + 15: a gzip wrapper, whose CRC-32 and size zlib checks. */
                if (inflateInit2(&d->z, 16 + 15) != Z_OK)
                        goto nomem;
                break;
        case COMPRESSION_XZ: {
                lzma_stream init = LZMA_STREAM_INIT;
                d->lz = init;
                if (lzma_stream_decoder(&d->lz, memory_limit, LZMA_CONCATENATED) != LZMA_OK)
                        goto nomem;
                break;
        }
        case COMPRESSION_ZSTD: {
                d->zstd = ZSTD_createDCtx();
                if (!d->zstd)
                        goto nomem;
                /* The window is the memory a frame makes us allocate. */
                int log = 10;
                while (log < 31 && (UINT64_C(1) << (log + 1)) <= memory_limit)
                        log++;
                if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_windowLogMax, log)))
                        goto nomem;
                break;
        }
        }
        *out = d;
        return 0;
nomem:
        decoder_free(d);
        return error_set(err, ENOMEM, "cannot set up a %s decoder", compression_name(c));
}

void decoder_free(struct decoder *d)
{
        if (!d)
                return;
        if (d->kind == COMPRESSION_GZIP)
                inflateEnd(&d->z);
        else if (d->kind == COMPRESSION_XZ)
                lzma_end(&d->lz);
        else if (d->kind == COMPRESSION_ZSTD)
                ZSTD_freeDCtx(d->zstd);
        free(d);
}

static int truncated(struct decoder *d, struct error *err)
{
        return error_set(err, EBADMSG, "the %s stream is cut short", compression_name(d->kind));
}

static int run_gzip(struct decoder *d, const void *in, size_t in_len, size_t *consumed,
                    void *out, size_t out_cap, size_t *produced, bool last, struct error *err)
{
        /* zlib counts in 32 bits: offer it at most that much at a time. */
        uInt in_max = in_len > UINT_MAX ? UINT_MAX : (uInt)in_len;
        uInt out_max = out_cap > UINT_MAX ? UINT_MAX : (uInt)out_cap;
        d->z.next_in = (Bytef *)in;
        d->z.avail_in = in_max;
        d->z.next_out = out;
        d->z.avail_out = out_max;
        int r = Z_OK;
        while (d->z.avail_out > 0 && (d->z.avail_in > 0 || !d->at_boundary)) {
                if (d->at_boundary) {
                        /* Another member follows: start it afresh. */
                        inflateReset(&d->z);
                        d->at_boundary = false;
                }
                r = inflate(&d->z, Z_NO_FLUSH);
                if (r == Z_STREAM_END) {
                        d->at_boundary = true;
                        continue;
                }
                if (r == Z_MEM_ERROR)
                        return error_set(err, ENOMEM, "out of memory decompressing gzip");
                if (r == Z_DATA_ERROR || r == Z_NEED_DICT)
                        return error_set(err, EBADMSG, "damaged gzip data: %s",
                                         d->z.msg ? d->z.msg : "invalid stream");
                if (r == Z_BUF_ERROR)   /* no progress: needs input */
                        break;
        }
        *consumed = in_max - d->z.avail_in;
        *produced = out_max - d->z.avail_out;
        if (last && *consumed == in_len && d->z.avail_out > 0) {
                if (!d->at_boundary)
                        return truncated(d, err);
                return 1;
        }
        return 0;
}

static int run_xz(struct decoder *d, const void *in, size_t in_len, size_t *consumed,
                  void *out, size_t out_cap, size_t *produced, bool last, struct error *err)
{
        d->lz.next_in = in;
        d->lz.avail_in = in_len;
        d->lz.next_out = out;
        d->lz.avail_out = out_cap;
        lzma_ret r = lzma_code(&d->lz, last ? LZMA_FINISH : LZMA_RUN);
        /* liblzma tells of input that ends inside a stream (LZMA_BUF_ERROR)
         * only on the second call in a row that makes no progress: with
         * all input given and room left, ask again until it answers. */
        while (last && r == LZMA_OK && d->lz.avail_in == 0 && d->lz.avail_out > 0)
                r = lzma_code(&d->lz, LZMA_FINISH);
        *consumed = in_len - d->lz.avail_in;
        *produced = out_cap - d->lz.avail_out;
        switch (r) {
        case LZMA_OK:
                return 0;
        case LZMA_STREAM_END:
                return 1;
        case LZMA_BUF_ERROR:
                /* No progress possible: with LZMA_FINISH, the input ended
                 * inside a stream. */
                return last ? truncated(d, err) : 0;
        case LZMA_MEMLIMIT_ERROR:
                return error_set(err, ENOMEM, "the xz stream needs %" PRIu64 " MiB to decompress, "
                                 "more than the limit of %" PRIu64 " MiB",
                                 lzma_memusage(&d->lz) >> 20, lzma_memlimit_get(&d->lz) >> 20);
        case LZMA_MEM_ERROR:
                return error_set(err, ENOMEM, "out of memory decompressing xz");
        case LZMA_FORMAT_ERROR:
                return error_set(err, EBADMSG, "not xz data");
        case LZMA_DATA_ERROR:
                return error_set(err, EBADMSG, "damaged xz data");
        default:
                return error_set(err, EBADMSG, "unusable xz data (liblzma error %d)", (int)r);
        }
}

static int run_zstd(struct decoder *d, const void *in, size_t in_len, size_t *consumed,
                    void *out, size_t out_cap, size_t *produced, bool last, struct error *err)
{
        ZSTD_inBuffer ib = { in, in_len, 0 };
        ZSTD_outBuffer ob = { out, out_cap, 0 };
        while (ob.pos < ob.size && (ib.pos < ib.size || !d->at_boundary)) {
                size_t before_in = ib.pos, before_out = ob.pos;
                size_t r = ZSTD_decompressStream(d->zstd, &ob, &ib);
                if (ZSTD_isError(r)) {
                        ZSTD_ErrorCode code = ZSTD_getErrorCode(r);
                        if (code == ZSTD_error_frameParameter_windowTooLarge)
                                return error_set(err, ENOMEM, "the zstd frame needs a window larger "
                                                 "than the memory limit");
                        if (code == ZSTD_error_memory_allocation)
                                return error_set(err, ENOMEM, "out of memory decompressing zstd");
                        return error_set(err, EBADMSG, "damaged zstd data: %s", ZSTD_getErrorName(r));
                }
                /* 0: a frame ended and everything of it was written out. */
                d->at_boundary = (r == 0);
                if (ib.pos == before_in && ob.pos == before_out)
                        break;
        }
        *consumed = ib.pos;
        *produced = ob.pos;
        if (last && ib.pos == in_len && ob.pos < out_cap) {
                if (!d->at_boundary || !d->started)
                        return d->started ? truncated(d, err)
                                          : error_set(err, EBADMSG, "no zstd data");
                return 1;
        }
        return 0;
}

int decoder_run(struct decoder *d, const void *in, size_t in_len, size_t *consumed,
                void *out, size_t out_cap, size_t *produced, bool last,
                struct error *err)
{
        *consumed = *produced = 0;
        if (in_len > 0)
                d->started = true;
        switch (d->kind) {
        case COMPRESSION_NONE: {
                size_t n = in_len < out_cap ? in_len : out_cap;
                if (n > 0)
                        memcpy(out, in, n);
                *consumed = *produced = n;
                return last && n == in_len ? 1 : 0;
        }
        case COMPRESSION_GZIP:
                if (last && !d->started)
                        return error_set(err, EBADMSG, "no gzip data");
                return run_gzip(d, in, in_len, consumed, out, out_cap, produced, last, err);
        case COMPRESSION_XZ:
                if (last && !d->started)
                        return error_set(err, EBADMSG, "no xz data");
                return run_xz(d, in, in_len, consumed, out, out_cap, produced, last, err);
        case COMPRESSION_ZSTD:
                return run_zstd(d, in, in_len, consumed, out, out_cap, produced, last, err);
        }
        return error_set(err, EINVAL, "unknown compression %d", (int)d->kind);
}

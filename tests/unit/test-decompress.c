/* Unit tests for common/decompress.c: gzip, xz, zstd and uncompressed data,
 * the streams made at test time with zlib, liblzma and libzstd (and with the
 * gzip, xz and zstd tools when they are installed), fed to the decoder in
 * slices of every size; concatenation, truncation, damage, foreign data,
 * trailing garbage, the memory limit and buffers beyond 4 GiB. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "decompress.h"

#define N_ELEMENTS(a) (sizeof (a) / sizeof (a)[0])
#define KIB ((size_t)1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/* Slice and buffer sizes: ALL is the whole input (or all the output and a
 * byte more), EXACT an output buffer of just the decoded size. */
#define ALL SIZE_MAX
#define EXACT (SIZE_MAX - 1)

/* Room enough for every stream here (the largest window is 1 GiB). */
#define BIG_LIMIT (UINT64_C(2) << 30)

/* --- data and streams --------------------------------------------------- */

/* Allocated to its exact size, so that ASan sees a read past the end. */
struct blob {
        uint8_t *p;
        size_t n, cap;
};

static void blob_append(struct blob *b, const void *p, size_t n)
{
        if (b->n + n > b->cap || !b->p) {
                size_t cap = b->cap ? b->cap : 4096;
                while (cap < b->n + n)
                        cap *= 2;
                b->p = realloc(b->p, cap);
                assert_non_null(b->p);
                b->cap = cap;
        }
        if (n > 0)
                memcpy(b->p + b->n, p, n);
        b->n += n;
}

static void blob_fit(struct blob *b)
{
        b->p = realloc(b->p, b->n ? b->n : 1);
        assert_non_null(b->p);
        b->cap = b->n;
}

static void blob_free(struct blob *b)
{
        free(b->p);
        memset(b, 0, sizeof *b);
}

static struct blob blob_of(const void *p, size_t n)
{
        struct blob b = { 0 };
        blob_append(&b, p, n);
        blob_fit(&b);
        return b;
}

static struct blob blob_cat(const struct blob *const *parts, size_t count)
{
        struct blob b = { 0 };
        blob_append(&b, "", 0);
        for (size_t i = 0; i < count; i++)
                blob_append(&b, parts[i]->p, parts[i]->n);
        blob_fit(&b);
        return b;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
        /* xorshift64* */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

/* Mixed data: text, runs of zeros, short repeats and random bytes in
 * pieces of 1 to 8 KiB, so every coder meets both compressible and
 * incompressible stretches. The same for the same seed. */
static struct blob make_data(size_t n, uint64_t seed)
{
        struct blob b = { 0 };
        blob_append(&b, "", 0);
        rng_state = seed;
        while (b.n < n) {
                size_t len = 1024 + (size_t)(rng() % (7 * 1024));
                uint8_t piece[8 * 1024];
                if (len > n - b.n)
                        len = n - b.n;
                switch (rng() % 4) {
                case 0:
                        for (size_t i = 0; i < len;) {
                                char line[100];
                                int k = snprintf(line, sizeof line,
                                                 "#%u 0x%08x in handler_%u (ctx=%u) at src/file%u.c:%u\n",
                                                 (unsigned)(rng() % 40), (unsigned)rng(),
                                                 (unsigned)(rng() % 50), (unsigned)(rng() % 9),
                                                 (unsigned)(rng() % 30), (unsigned)(rng() % 2000));
                                for (int j = 0; j < k && i < len; j++)
                                        piece[i++] = (uint8_t)line[j];
                        }
                        break;
                case 1:
                        memset(piece, 0, len);
                        break;
                case 2: {
                        uint8_t pattern[16];
                        size_t plen = 1 + (size_t)(rng() % sizeof pattern);
                        for (size_t i = 0; i < plen; i++)
                                pattern[i] = (uint8_t)rng();
                        for (size_t i = 0; i < len; i++)
                                piece[i] = pattern[i % plen];
                        break;
                }
                default:
                        for (size_t i = 0; i < len; i++)
                                piece[i] = (uint8_t)(rng() >> 32);
                }
                blob_append(&b, piece, len);
        }
        blob_fit(&b);
        return b;
}

/* One gzip member (zlib's deflate with the gzip wrapper: CRC-32, ISIZE). */
static struct blob enc_gzip(const struct blob *in, int level)
{
        z_stream z;
        memset(&z, 0, sizeof z);
        assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        struct blob b = { 0 };
        b.cap = deflateBound(&z, (uLong)in->n) + 64;
        b.p = malloc(b.cap);
        assert_non_null(b.p);
        z.next_in = in->p;
        z.avail_in = (uInt)in->n;
        z.next_out = b.p;
        z.avail_out = (uInt)b.cap;
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        b.n = b.cap - z.avail_out;
        deflateEnd(&z);
        blob_fit(&b);
        return b;
}

/* One xz stream of one block; dict 0 keeps the preset's (1 MiB). */
static struct blob enc_xz(const struct blob *in, uint32_t dict, lzma_check check)
{
        lzma_options_lzma opt;
        assert_false(lzma_lzma_preset(&opt, 1));
        if (dict)
                opt.dict_size = dict;
        lzma_filter filters[] = {
                { LZMA_FILTER_LZMA2, &opt },
                { LZMA_VLI_UNKNOWN, NULL },
        };
        struct blob b = { 0 };
        b.cap = lzma_stream_buffer_bound(in->n);
        b.p = malloc(b.cap);
        assert_non_null(b.p);
        assert_int_equal(lzma_stream_buffer_encode(filters, check, NULL, in->p, in->n,
                                                   b.p, &b.n, b.cap), LZMA_OK);
        blob_fit(&b);
        return b;
}

/* One zstd frame. streamed: fed in pieces with the size unknown, so the
 * frame has no content size and its window is not shrunk to the data's
 * size: window_log is then what the header declares. */
static struct blob enc_zstd(const struct blob *in, bool checksum, int window_log, bool streamed)
{
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        assert_non_null(cctx);
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)));
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum)));
        if (window_log)
                assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log)));
        struct blob b = { 0 };
        b.cap = ZSTD_compressBound(in->n) + 64;
        b.p = malloc(b.cap);
        assert_non_null(b.p);
        if (!streamed) {
                size_t r = ZSTD_compress2(cctx, b.p, b.cap, in->p, in->n);
                assert_false(ZSTD_isError(r));
                b.n = r;
        } else {
                ZSTD_outBuffer ob = { b.p, b.cap, 0 };
                for (size_t pos = 0; pos < in->n;) {
                        size_t n = in->n - pos < 64 * KIB ? in->n - pos : 64 * KIB;
                        ZSTD_inBuffer ib = { in->p + pos, n, 0 };
                        while (ib.pos < ib.size)
                                assert_false(ZSTD_isError(ZSTD_compressStream2(cctx, &ob, &ib,
                                                                               ZSTD_e_continue)));
                        pos += n;
                }
                ZSTD_inBuffer none = { NULL, 0, 0 };
                size_t left;
                do {
                        left = ZSTD_compressStream2(cctx, &ob, &none, ZSTD_e_end);
                        assert_false(ZSTD_isError(left));
                } while (left);
                b.n = ob.pos;
        }
        ZSTD_freeCCtx(cctx);
        blob_fit(&b);
        return b;
}

/* The window a zstd frame header declares (0 when single-segment). */
static int zstd_window_log(const struct blob *b)
{
        assert_true(b->n > 6);
        if (b->p[4] & 0x20)
                return 0;
        assert_int_equal(b->p[5] & 7, 0);  /* no mantissa: a power of two */
        return 10 + (b->p[5] >> 3);
}

static struct {
        struct blob big, small, other, empty;   /* plain */
        struct blob gz, xz, zst, zst_streamed;  /* of big */
        struct blob s_gz, s_xz, s_xz_crc32, s_xz_sha256, s_xz_nocheck, s_zst, s_zst_nocheck;
        struct blob o_gz, o_xz, o_zst;          /* of other */
        struct blob e_gz, e_xz, e_zst;          /* of empty */
        struct blob s_gz2, s_xz2, s_zst2;       /* small's then other's */
        struct blob pad3, pad4, pad8, skippable, random, text, one_byte, gzip_magic;
        struct blob big_dict_xz, big_dict_plain, wlog26, wlog27, wlog30;
} g;

static int make_streams(void **state)
{
        (void)state;
        g.big = make_data(MIB, 1);
        g.small = make_data(64 * KIB, 2);
        g.other = make_data(40 * KIB + 3, 3);
        g.empty = blob_of("", 0);

        g.gz = enc_gzip(&g.big, 6);
        g.xz = enc_xz(&g.big, 0, LZMA_CHECK_CRC64);
        g.zst = enc_zstd(&g.big, true, 0, false);
        g.zst_streamed = enc_zstd(&g.big, false, 0, true);

        g.s_gz = enc_gzip(&g.small, 6);
        g.s_xz = enc_xz(&g.small, 0, LZMA_CHECK_CRC64);
        g.s_xz_crc32 = enc_xz(&g.small, 0, LZMA_CHECK_CRC32);
        g.s_xz_sha256 = enc_xz(&g.small, 0, LZMA_CHECK_SHA256);
        g.s_xz_nocheck = enc_xz(&g.small, 0, LZMA_CHECK_NONE);
        g.s_zst = enc_zstd(&g.small, true, 0, false);
        g.s_zst_nocheck = enc_zstd(&g.small, false, 0, false);
        g.o_gz = enc_gzip(&g.other, 9);
        g.o_xz = enc_xz(&g.other, 0, LZMA_CHECK_SHA256);
        g.o_zst = enc_zstd(&g.other, false, 0, true);
        g.e_gz = enc_gzip(&g.empty, 6);
        g.e_xz = enc_xz(&g.empty, 0, LZMA_CHECK_CRC32);
        g.e_zst = enc_zstd(&g.empty, true, 0, false);

        g.s_gz2 = blob_cat((const struct blob *[]){ &g.s_gz, &g.o_gz }, 2);
        g.s_xz2 = blob_cat((const struct blob *[]){ &g.s_xz, &g.o_xz }, 2);
        g.s_zst2 = blob_cat((const struct blob *[]){ &g.s_zst, &g.o_zst }, 2);

        g.pad3 = blob_of("\0\0\0", 3);
        g.pad4 = blob_of("\0\0\0\0", 4);
        g.pad8 = blob_of("\0\0\0\0\0\0\0\0", 8);
        /* A zstd skippable frame: magic 0x184D2A50, length 5, payload. */
        g.skippable = blob_of("\x50\x2a\x4d\x18\x05\0\0\0hello", 13);
        rng_state = 4;
        uint8_t noise[4096];
        for (size_t i = 0; i < sizeof noise; i++)
                noise[i] = (uint8_t)(rng() >> 24);
        g.random = blob_of(noise, sizeof noise);
        g.text = blob_of("this is plain text, not a compressed stream\n", 44);
        g.one_byte = blob_of("x", 1);
        g.gzip_magic = blob_of("\x1f\x8b", 2);

        /* Headers that declare more memory than the data needs. The data
         * is repetitive: on random data, liblzma's encoder would touch its
         * whole 64 MiB hash table for a 192 MiB dictionary. */
        struct blob lines = { 0 };
        for (unsigned i = 0; lines.n < 256 * KIB; i++) {
                char line[64];
                int k = snprintf(line, sizeof line, "%02u: the same few lines, again\n", i % 37);
                blob_append(&lines, line, (size_t)k);
        }
        blob_fit(&lines);
        g.big_dict_plain = lines;
        g.big_dict_xz = enc_xz(&g.big_dict_plain, 192 << 20, LZMA_CHECK_CRC64);
        g.wlog26 = enc_zstd(&g.big_dict_plain, true, 26, true);
        g.wlog27 = enc_zstd(&g.big_dict_plain, true, 27, true);
        g.wlog30 = enc_zstd(&g.big_dict_plain, true, 30, true);
        assert_int_equal(zstd_window_log(&g.wlog26), 26);
        assert_int_equal(zstd_window_log(&g.wlog27), 27);
        assert_int_equal(zstd_window_log(&g.wlog30), 30);
        return 0;
}

static int free_streams(void **state)
{
        (void)state;
        struct blob *all = (struct blob *)&g;
        for (size_t i = 0; i < sizeof g / sizeof (struct blob); i++)
                blob_free(&all[i]);
        return 0;
}

/* --- the decoding loop -------------------------------------------------- */

static size_t out_size(size_t step, size_t expect)
{
        if (step == ALL)
                return expect + 1;
        if (step == EXACT)
                return expect ? expect : 1;
        return step;
}

/* How a test feeds the decoder: the input in slices of in bytes, out bytes
 * of room a call (ALL, EXACT: see above); last set with the final slice,
 * or, apart, on a call of its own with no input after all of it (as
 * mod_retrace does at the end of a request body). */
struct steps {
        size_t in, out;
        bool apart;
};

static const char *step_name(size_t step)
{
        static char bufs[4][32];
        static unsigned turn;
        char *buf = bufs[turn++ % 4];
        if (step == ALL)
                return "all";
        if (step == EXACT)
                return "exact";
        snprintf(buf, sizeof bufs[0], "%zu", step);
        return buf;
}

static const char *steps_name(const struct steps *st)
{
        static char buf[100];
        snprintf(buf, sizeof buf, "slices of %s, out by %s%s", step_name(st->in),
                 step_name(st->out), st->apart ? ", last apart" : "");
        return buf;
}

/* Decodes in as st says, with room for expect bytes of output where st
 * says ALL or EXACT, until the decoder answers; returns its answer, the
 * output in *out. Checks what every call must keep to: it takes and gives
 * no more than offered, and it makes progress or answers (what
 * mod_retrace's reading loop relies on). */
static int decode(enum compression c, uint64_t limit, const struct blob *in,
                  const struct steps *st, size_t expect, struct blob *out, struct error *err)
{
        size_t in_step = st->in, out_step = out_size(st->out, expect);
        struct decoder *d = NULL;
        memset(err, 0, sizeof *err);
        memset(out, 0, sizeof *out);
        blob_append(out, "", 0);
        assert_int_equal(decoder_new(c, limit, &d, err), 0);
        assert_non_null(d);
        if (in_step == ALL || in_step > in->n)
                in_step = in->n;
        uint8_t *buf = malloc(out_step);
        assert_non_null(buf);
        size_t pos = 0;
        int r;
        for (unsigned long calls = 1;; calls++) {
                size_t n = in->n - pos < in_step ? in->n - pos : in_step;
                bool last = st->apart ? pos == in->n : pos + n == in->n;
                size_t consumed = SIZE_MAX, produced = SIZE_MAX;
                r = decoder_run(d, in->p + pos, n, &consumed, buf, out_step, &produced, last, err);
                if (r < 0)
                        break;
                if (r != 0 && r != 1)
                        fail_msg("%s: call %lu returned %d", compression_name(c), calls, r);
                if (consumed > n || produced > out_step)
                        fail_msg("%s: call %lu took %zu of %zu, gave %zu of %zu", compression_name(c),
                                 calls, consumed, n, produced, out_step);
                blob_append(out, buf, produced);
                pos += consumed;
                if (r == 1) {
                        if (!last || consumed != n)
                                fail_msg("%s: done with %zu bytes left", compression_name(c),
                                         in->n - pos);
                        break;
                }
                if (last && consumed == n && produced < out_step)
                        fail_msg("%s: call %lu: 0 with last set, all input taken and room "
                                 "for output", compression_name(c), calls);
                if (consumed == 0 && produced == 0 && n > 0)
                        fail_msg("%s: call %lu made no progress", compression_name(c), calls);
                if (calls > 50000000)
                        fail_msg("%s: endless", compression_name(c));
        }
        free(buf);
        decoder_free(d);
        return r;
}

/* An error: the code, and a message that is one printable line, non-empty,
 * holding part when given. */
static void check_error(const char *what, int r, const struct error *err, int code,
                        const char *part)
{
        if (r != -code)
                fail_msg("%s: returned %d (\"%s\"), not %d", what, r, err->msg, -code);
        if (err->code != code)
                fail_msg("%s: err->code %d, not %d", what, err->code, code);
        size_t len = strnlen(err->msg, sizeof err->msg);
        if (len == 0 || len >= 500)
                fail_msg("%s: message of length %zu", what, len);
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)err->msg[i] < 0x20 || (unsigned char)err->msg[i] >= 0x7f)
                        fail_msg("%s: raw byte 0x%02x in the message", what,
                                 (unsigned char)err->msg[i]);
        if (part && !strstr(err->msg, part))
                fail_msg("%s: message \"%s\" lacks \"%s\"", what, err->msg, part);
}

static void check_output(const char *what, const struct blob *out, const struct blob *expect)
{
        if (out->n != expect->n)
                fail_msg("%s: %zu bytes out, not %zu", what, out->n, expect->n);
        if (expect->n && memcmp(out->p, expect->p, expect->n) != 0) {
                size_t i = 0;
                while (out->p[i] == expect->p[i])
                        i++;
                fail_msg("%s: output differs at byte %zu", what, i);
        }
}

/* --- tests ---------------------------------------------------------------- */

static void test_names(void **state)
{
        (void)state;
        assert_string_equal(compression_name(COMPRESSION_NONE), "uncompressed");
        assert_string_equal(compression_name(COMPRESSION_GZIP), "gzip");
        assert_string_equal(compression_name(COMPRESSION_XZ), "xz");
        assert_string_equal(compression_name(COMPRESSION_ZSTD), "zstd");
}

static void test_new_and_free(void **state)
{
        (void)state;
        decoder_free(NULL);
        static const enum compression all[] = {
                COMPRESSION_NONE, COMPRESSION_GZIP, COMPRESSION_XZ, COMPRESSION_ZSTD,
        };
        static const uint64_t limits[] = { 0, 1, 64 << 20, UINT64_MAX };
        for (size_t i = 0; i < N_ELEMENTS(all); i++)
                for (size_t j = 0; j < N_ELEMENTS(limits); j++) {
                        struct decoder *d = NULL;
                        struct error err = { 0 };
                        assert_int_equal(decoder_new(all[i], limits[j], &d, &err), 0);
                        assert_non_null(d);
                        decoder_free(d);        /* unused: nothing leaks (LSan) */
                }
}

static const struct steps round_trip_steps[] = {
        { ALL, ALL, false },
        { ALL, EXACT, false },  /* the output fills just as the stream ends */
        { ALL, 1, false },
        { ALL, 7, false },
        { 1, ALL, false },
        { 1, 7, false },
        { 3, 1, false },
        { 4096, 4096, false },
        { 65536, 1000, false },
        { 100000, 65536, false },
        { ALL, ALL, true },
        { 4096, 7, true },
};

static const struct {
        const char *name;
        enum compression c;
        const struct blob *in;
} round_trip_streams[] = {
        { "uncompressed", COMPRESSION_NONE, &g.big },
        { "gzip", COMPRESSION_GZIP, &g.gz },
        { "xz, CRC64", COMPRESSION_XZ, &g.xz },
        { "zstd, checksum and size", COMPRESSION_ZSTD, &g.zst },
        { "zstd, streamed: no checksum, no size", COMPRESSION_ZSTD, &g.zst_streamed },
};

static void test_round_trip(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(round_trip_streams); i++)
                for (size_t j = 0; j < N_ELEMENTS(round_trip_steps); j++) {
                        char what[200];
                        snprintf(what, sizeof what, "%s, %zu bytes, %s",
                                 round_trip_streams[i].name, round_trip_streams[i].in->n,
                                 steps_name(&round_trip_steps[j]));
                        struct blob out;
                        struct error err;
                        int r = decode(round_trip_streams[i].c, 64 << 20, round_trip_streams[i].in,
                                       &round_trip_steps[j], g.big.n, &out, &err);
                        if (r != 1)
                                fail_msg("%s: returned %d: %s", what, r, err.msg);
                        check_output(what, &out, &g.big);
                        blob_free(&out);
                }
}

/* Streams that are concatenations of pieces; a piece with no plain text
 * (padding, a skippable frame) adds nothing to the output. */
struct piece {
        const struct blob *stream, *plain;
};

static const struct {
        const char *name;
        enum compression c;
        struct piece p[5];
} concat_cases[] = {
        { "gzip, two members", COMPRESSION_GZIP,
          { { &g.s_gz, &g.small }, { &g.o_gz, &g.other } } },
        { "gzip, an empty member between", COMPRESSION_GZIP,
          { { &g.s_gz, &g.small }, { &g.e_gz, &g.empty }, { &g.o_gz, &g.other } } },
        { "gzip, empty members only", COMPRESSION_GZIP,
          { { &g.e_gz, &g.empty }, { &g.e_gz, &g.empty } } },
        { "xz, two streams", COMPRESSION_XZ,
          { { &g.s_xz, &g.small }, { &g.o_xz, &g.other } } },
        { "xz, checks of every kind, stream padding", COMPRESSION_XZ,
          { { &g.s_xz_crc32, &g.small }, { &g.pad4, NULL }, { &g.s_xz_nocheck, &g.small },
            { &g.o_xz, &g.other }, { &g.pad8, NULL } } },
        { "xz, an empty stream between", COMPRESSION_XZ,
          { { &g.s_xz_sha256, &g.small }, { &g.e_xz, &g.empty }, { &g.o_xz, &g.other } } },
        { "zstd, two frames", COMPRESSION_ZSTD,
          { { &g.s_zst, &g.small }, { &g.o_zst, &g.other } } },
        { "zstd, skippable frames and an empty frame", COMPRESSION_ZSTD,
          { { &g.skippable, NULL }, { &g.s_zst_nocheck, &g.small }, { &g.e_zst, &g.empty },
            { &g.skippable, NULL }, { &g.o_zst, &g.other } } },
        { "uncompressed, two pieces", COMPRESSION_NONE,
          { { &g.small, &g.small }, { &g.other, &g.other } } },
};

static const struct steps short_steps[] = {
        { ALL, ALL, false },
        { ALL, EXACT, false },
        { ALL, ALL, true },
        { 1, 7, false },
        { 4096, 1, false },
        { 1000, 3000, false },
        { 1000, 3000, true },
};

static void test_concatenated(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(concat_cases); i++) {
                const struct blob *parts[N_ELEMENTS(concat_cases[0].p)];
                const struct blob *plains[N_ELEMENTS(concat_cases[0].p)];
                size_t np = 0, nt = 0;
                for (size_t k = 0; k < N_ELEMENTS(concat_cases[i].p) && concat_cases[i].p[k].stream; k++) {
                        parts[np++] = concat_cases[i].p[k].stream;
                        if (concat_cases[i].p[k].plain)
                                plains[nt++] = concat_cases[i].p[k].plain;
                }
                struct blob in = blob_cat(parts, np), expect = blob_cat(plains, nt);
                for (size_t j = 0; j < N_ELEMENTS(short_steps); j++) {
                        char what[200];
                        snprintf(what, sizeof what, "%s, %s", concat_cases[i].name,
                                 steps_name(&short_steps[j]));
                        struct blob out;
                        struct error err;
                        int r = decode(concat_cases[i].c, 64 << 20, &in, &short_steps[j], expect.n,
                                       &out, &err);
                        if (r != 1)
                                fail_msg("%s: returned %d: %s", what, r, err.msg);
                        check_output(what, &out, &expect);
                        blob_free(&out);
                }
                blob_free(&in);
                blob_free(&expect);
        }
}

/* A place in a stream: offset bytes from where. */
enum origin {
        FROM_START,
        FROM_END,
        FROM_XZ_CHECK,  /* the block's check field (the stream's only block) */
        FROM_XZ_INDEX,
        FROM_FIRST_END, /* the end of the first stream (of s_*2) */
};

static size_t xz_index_start(const struct blob *b)
{
        /* The footer's backward size: the index's size / 4 - 1. */
        const uint8_t *f = b->p + b->n - 12;
        size_t index_size = ((size_t)f[4] | (size_t)f[5] << 8 | (size_t)f[6] << 16 |
                             (size_t)f[7] << 24) * 4 + 4;
        return b->n - 12 - index_size;
}

static size_t place(const struct blob *b, enum origin from, long offset, size_t check_size)
{
        size_t base = 0;
        switch (from) {
        case FROM_START: base = 0; break;
        case FROM_END: base = b->n; break;
        case FROM_XZ_CHECK: base = xz_index_start(b) - check_size; break;
        case FROM_XZ_INDEX: base = xz_index_start(b); break;
        case FROM_FIRST_END:
                base = b == &g.s_gz2 ? g.s_gz.n : b == &g.s_xz2 ? g.s_xz.n : g.s_zst.n;
                break;
        }
        long at = (long)base + offset;
        assert_true(at >= 0 && (size_t)at <= b->n);
        return (size_t)at;
}

static const struct {
        enum compression c;
        const struct blob *in;
        enum origin from;
        long at;
} cut_cases[] = {
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 1 },
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 9 },           /* in the header */
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 10 },
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 1000 },
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -9 },            /* the end of the data */
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -8 },            /* before the CRC-32 */
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -6 },            /* in the CRC-32 */
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -4 },            /* before ISIZE */
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -1 },            /* in ISIZE */
        { COMPRESSION_GZIP, &g.e_gz, FROM_END, -1 },
        { COMPRESSION_GZIP, &g.s_gz2, FROM_FIRST_END, 1 },      /* the next member's header */
        { COMPRESSION_GZIP, &g.s_gz2, FROM_FIRST_END, 2 },
        { COMPRESSION_GZIP, &g.s_gz2, FROM_FIRST_END, 100 },
        { COMPRESSION_GZIP, &g.s_gz2, FROM_END, -1 },
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 1 },
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 6 },             /* in the stream header */
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 12 },
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 14 },            /* in the block header */
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 1000 },
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_CHECK, 0 },          /* before the check */
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_CHECK, 5 },          /* in the check */
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_INDEX, 0 },
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_INDEX, 3 },
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -12 },             /* before the footer */
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -6 },
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -1 },
        { COMPRESSION_XZ, &g.s_xz2, FROM_FIRST_END, 1 },
        { COMPRESSION_XZ, &g.s_xz2, FROM_FIRST_END, 12 },
        { COMPRESSION_XZ, &g.s_xz2, FROM_END, -1 },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_START, 1 },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_START, 4 },          /* just the magic */
        { COMPRESSION_ZSTD, &g.s_zst, FROM_START, 6 },          /* in the frame header */
        { COMPRESSION_ZSTD, &g.s_zst, FROM_START, 1000 },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_END, -5 },           /* in the last block */
        { COMPRESSION_ZSTD, &g.s_zst, FROM_END, -4 },           /* before the checksum */
        { COMPRESSION_ZSTD, &g.s_zst, FROM_END, -1 },           /* in the checksum */
        { COMPRESSION_ZSTD, &g.s_zst_nocheck, FROM_END, -1 },   /* in the last block */
        { COMPRESSION_ZSTD, &g.e_zst, FROM_END, -1 },
        { COMPRESSION_ZSTD, &g.s_zst2, FROM_FIRST_END, 1 },
        { COMPRESSION_ZSTD, &g.s_zst2, FROM_FIRST_END, 5 },
        { COMPRESSION_ZSTD, &g.s_zst2, FROM_END, -1 },
        { COMPRESSION_ZSTD, &g.skippable, FROM_END, -1 },
        { COMPRESSION_ZSTD, &g.skippable, FROM_START, 6 },
};

static void test_truncated(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(cut_cases); i++) {
                const struct blob *full = cut_cases[i].in;
                size_t at = place(full, cut_cases[i].from, cut_cases[i].at, 8);
                struct blob in = blob_of(full->p, at);
                for (size_t j = 0; j < N_ELEMENTS(short_steps); j++) {
                        char what[200];
                        snprintf(what, sizeof what, "%s cut to %zu of %zu bytes, %s",
                                 compression_name(cut_cases[i].c), at, full->n,
                                 steps_name(&short_steps[j]));
                        struct blob out;
                        struct error err;
                        int r = decode(cut_cases[i].c, 64 << 20, &in, &short_steps[j], 2 * g.small.n,
                                       &out, &err);
                        check_error(what, r, &err, EBADMSG, "cut short");
                        assert_non_null(strstr(err.msg, compression_name(cut_cases[i].c)));
                        blob_free(&out);
                }
                blob_free(&in);
        }
}

static const struct {
        enum compression c;
        const struct blob *in;
        enum origin from;
        long at;
        uint8_t flip;
        size_t check_size;      /* xz */
        const char *part;
} damage_cases[] = {
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 0, 0x01, 0, "incorrect header check" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 2, 0x01, 0, "unknown compression method" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 3, 0x80, 0, "unknown header flags" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_START, 100, 0x10, 0, "damaged gzip data" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -3000, 0xff, 0, "damaged gzip data" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -8, 0x01, 0, "incorrect data check" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -5, 0x80, 0, "incorrect data check" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -4, 0x01, 0, "incorrect length check" },
        { COMPRESSION_GZIP, &g.s_gz, FROM_END, -1, 0x80, 0, "incorrect length check" },
        { COMPRESSION_GZIP, &g.e_gz, FROM_END, -1, 0x01, 0, "incorrect length check" },
        { COMPRESSION_GZIP, &g.s_gz2, FROM_FIRST_END, 0, 0x01, 0, "incorrect header check" },
        { COMPRESSION_GZIP, &g.s_gz2, FROM_FIRST_END, -2, 0x01, 0, "incorrect length check" },
        { COMPRESSION_GZIP, &g.s_gz2, FROM_END, -6, 0x01, 0, "incorrect data check" },
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 0, 0x01, 8, "not xz data" },
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 7, 0x01, 8, "damaged xz data" },  /* flags */
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 9, 0x01, 8, "damaged xz data" },  /* its CRC */
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 13, 0x01, 8, "damaged xz data" }, /* block header */
        { COMPRESSION_XZ, &g.s_xz, FROM_START, 1000, 0x10, 8, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_CHECK, -100, 0xff, 8, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_CHECK, 0, 0x01, 8, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_CHECK, 7, 0x80, 8, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz_crc32, FROM_XZ_CHECK, 3, 0x01, 4, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz_sha256, FROM_XZ_CHECK, 31, 0x01, 32, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_INDEX, 1, 0x01, 8, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz, FROM_XZ_INDEX, 2, 0x01, 8, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -13, 0x01, 8, "damaged xz data" },   /* index CRC */
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -12, 0x01, 8, "damaged xz data" },   /* footer CRC */
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -8, 0x01, 8, "damaged xz data" },    /* backward size */
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -3, 0x01, 8, "damaged xz data" },    /* flags */
        { COMPRESSION_XZ, &g.s_xz, FROM_END, -1, 0x01, 8, "damaged xz data" },    /* magic */
        { COMPRESSION_XZ, &g.s_xz2, FROM_FIRST_END, 0, 0x01, 8, "damaged xz data" },
        { COMPRESSION_XZ, &g.s_xz2, FROM_END, -50, 0x01, 8, "damaged xz data" },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_START, 0, 0x01, 0, "Unknown frame descriptor" },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_START, 1000, 0x10, 0, "damaged zstd data" },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_END, -3000, 0xff, 0, "damaged zstd data" },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_END, -4, 0x01, 0, "checksum" },
        { COMPRESSION_ZSTD, &g.s_zst, FROM_END, -1, 0x80, 0, "checksum" },
        { COMPRESSION_ZSTD, &g.e_zst, FROM_END, -2, 0x01, 0, "checksum" },
        { COMPRESSION_ZSTD, &g.s_zst2, FROM_FIRST_END, 0, 0x01, 0, "Unknown frame descriptor" },
        { COMPRESSION_ZSTD, &g.s_zst2, FROM_FIRST_END, -1, 0x01, 0, "checksum" },
};

static void test_damaged(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(damage_cases); i++) {
                size_t at = place(damage_cases[i].in, damage_cases[i].from, damage_cases[i].at,
                                  damage_cases[i].check_size);
                struct blob in = blob_of(damage_cases[i].in->p, damage_cases[i].in->n);
                assert_true(at < in.n);
                in.p[at] ^= damage_cases[i].flip;
                for (size_t j = 0; j < N_ELEMENTS(short_steps); j++) {
                        char what[200];
                        snprintf(what, sizeof what, "%s of %zu bytes, byte %zu ^ 0x%02x, %s",
                                 compression_name(damage_cases[i].c), in.n, at, damage_cases[i].flip,
                                 steps_name(&short_steps[j]));
                        struct blob out;
                        struct error err;
                        int r = decode(damage_cases[i].c, 64 << 20, &in, &short_steps[j], 2 * g.small.n,
                                       &out, &err);
                        check_error(what, r, &err, EBADMSG, damage_cases[i].part);
                        blob_free(&out);
                }
                blob_free(&in);
        }
}

/* Data of another format, or of none. */
static const struct {
        const char *name;
        const struct blob *in;
        enum compression is;    /* NONE: of no format */
} foreign_inputs[] = {
        { "gzip", &g.s_gz, COMPRESSION_GZIP },
        { "xz", &g.s_xz, COMPRESSION_XZ },
        { "zstd", &g.s_zst, COMPRESSION_ZSTD },
        { "random bytes", &g.random, COMPRESSION_NONE },
        { "text", &g.text, COMPRESSION_NONE },
        { "one byte", &g.one_byte, COMPRESSION_NONE },
        { "four zero bytes", &g.pad4, COMPRESSION_NONE },
        { "a zstd skippable frame", &g.skippable, COMPRESSION_NONE },
};

static void test_foreign_data(void **state)
{
        (void)state;
        static const enum compression decoders[] = {
                COMPRESSION_GZIP, COMPRESSION_XZ, COMPRESSION_ZSTD, COMPRESSION_NONE,
        };
        for (size_t i = 0; i < N_ELEMENTS(decoders); i++)
                for (size_t k = 0; k < N_ELEMENTS(foreign_inputs); k++) {
                        enum compression c = decoders[i];
                        if (foreign_inputs[k].is == c && c != COMPRESSION_NONE)
                                continue;
                        /* A lone skippable frame is a valid zstd stream. */
                        if (c == COMPRESSION_ZSTD && foreign_inputs[k].in == &g.skippable)
                                continue;
                        for (size_t j = 0; j < N_ELEMENTS(short_steps); j++) {
                                char what[200];
                                snprintf(what, sizeof what, "%s given to the %s decoder, %s",
                                         foreign_inputs[k].name, compression_name(c),
                                         steps_name(&short_steps[j]));
                                struct blob out;
                                struct error err;
                                int r = decode(c, 64 << 20, foreign_inputs[k].in, &short_steps[j],
                                               foreign_inputs[k].in->n, &out, &err);
                                if (c == COMPRESSION_NONE) {
                                        /* Passed through as it is. */
                                        if (r != 1)
                                                fail_msg("%s: returned %d", what, r);
                                        check_output(what, &out, foreign_inputs[k].in);
                                } else {
                                        check_error(what, r, &err, EBADMSG, NULL);
                                }
                                blob_free(&out);
                        }
                }
}

/* Nothing at all, with last set: no stream (uncompressed: empty data). A
 * NULL input of length 0 is what a reader passes at the end of its body. */
static void test_empty(void **state)
{
        (void)state;
        static const struct {
                enum compression c;
                const char *part;
        } cases[] = {
                { COMPRESSION_GZIP, "no gzip data" },
                { COMPRESSION_XZ, "no xz data" },
                { COMPRESSION_ZSTD, "no zstd data" },
                { COMPRESSION_NONE, NULL },
        };
        for (size_t i = 0; i < N_ELEMENTS(cases); i++)
                for (int null_in = 0; null_in <= 1; null_in++)
                        for (int first_not_last = 0; first_not_last <= 1; first_not_last++) {
                                char what[100];
                                snprintf(what, sizeof what, "%s, empty%s%s", compression_name(cases[i].c),
                                         null_in ? ", NULL" : "", first_not_last ? ", twice" : "");
                                struct decoder *d = NULL;
                                struct error err = { 0 };
                                assert_int_equal(decoder_new(cases[i].c, 64 << 20, &d, &err), 0);
                                uint8_t buf[16], *in = null_in ? NULL : buf;
                                size_t consumed = 99, produced = 99;
                                int r;
                                if (first_not_last) {
                                        r = decoder_run(d, in, 0, &consumed, buf, sizeof buf, &produced,
                                                        false, &err);
                                        assert_int_equal(r, 0);
                                        assert_int_equal(consumed, 0);
                                        assert_int_equal(produced, 0);
                                }
                                r = decoder_run(d, in, 0, &consumed, buf, sizeof buf, &produced, true, &err);
                                if (cases[i].c == COMPRESSION_NONE) {
                                        assert_int_equal(r, 1);
                                        assert_int_equal(consumed, 0);
                                        assert_int_equal(produced, 0);
                                } else {
                                        check_error(what, r, &err, EBADMSG, cases[i].part);
                                }
                                decoder_free(d);
                        }
}

static const struct {
        const char *name;
        enum compression c;
        const struct blob *in, *tail, *plain;
        int expect;
        const char *part;
} trailing_cases[] = {
        { "gzip + text", COMPRESSION_GZIP, &g.s_gz, &g.text, &g.small, -EBADMSG, "incorrect header check" },
        { "gzip + random", COMPRESSION_GZIP, &g.s_gz, &g.random, &g.small, -EBADMSG, NULL },
        { "gzip + a byte", COMPRESSION_GZIP, &g.s_gz, &g.one_byte, &g.small, -EBADMSG, NULL },
        { "gzip + zeros", COMPRESSION_GZIP, &g.s_gz, &g.pad8, &g.small, -EBADMSG, NULL },
        { "gzip + magic", COMPRESSION_GZIP, &g.s_gz, &g.gzip_magic, &g.small, -EBADMSG, "cut short" },
        { "gzip + xz", COMPRESSION_GZIP, &g.s_gz, &g.s_xz, &g.small, -EBADMSG, NULL },
        { "xz + text", COMPRESSION_XZ, &g.s_xz, &g.text, &g.small, -EBADMSG, "damaged xz data" },
        { "xz + random", COMPRESSION_XZ, &g.s_xz, &g.random, &g.small, -EBADMSG, NULL },
        { "xz + a byte", COMPRESSION_XZ, &g.s_xz, &g.one_byte, &g.small, -EBADMSG, NULL },
        { "xz + 3 zeros", COMPRESSION_XZ, &g.s_xz, &g.pad3, &g.small, -EBADMSG, NULL },
        { "xz + 4 zeros", COMPRESSION_XZ, &g.s_xz, &g.pad4, &g.small, 1, NULL },
        { "xz + 8 zeros", COMPRESSION_XZ, &g.s_xz, &g.pad8, &g.small, 1, NULL },
        { "xz + gzip", COMPRESSION_XZ, &g.s_xz, &g.s_gz, &g.small, -EBADMSG, NULL },
        { "zstd + text", COMPRESSION_ZSTD, &g.s_zst, &g.text, &g.small, -EBADMSG, "damaged zstd data" },
        { "zstd + random", COMPRESSION_ZSTD, &g.s_zst, &g.random, &g.small, -EBADMSG, NULL },
        { "zstd + a byte", COMPRESSION_ZSTD, &g.s_zst, &g.one_byte, &g.small, -EBADMSG, NULL },
        { "zstd + zeros", COMPRESSION_ZSTD, &g.s_zst, &g.pad8, &g.small, -EBADMSG, NULL },
        { "zstd + gzip", COMPRESSION_ZSTD, &g.s_zst, &g.s_gz, &g.small, -EBADMSG, NULL },
        { "zstd + skippable frame", COMPRESSION_ZSTD, &g.s_zst, &g.skippable, &g.small, 1, NULL },
        { "uncompressed + text", COMPRESSION_NONE, &g.small, &g.text, NULL, 1, NULL },
};

static void test_trailing_garbage(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_ELEMENTS(trailing_cases); i++) {
                struct blob in = blob_cat((const struct blob *[]){ trailing_cases[i].in,
                                                                   trailing_cases[i].tail }, 2);
                struct blob expect = trailing_cases[i].plain ? blob_of(trailing_cases[i].plain->p,
                                                                      trailing_cases[i].plain->n)
                                                             : blob_of(in.p, in.n);
                int want = trailing_cases[i].expect;
                for (size_t j = 0; j < N_ELEMENTS(short_steps); j++) {
                        char what[200];
                        snprintf(what, sizeof what, "%s, %s", trailing_cases[i].name,
                                 steps_name(&short_steps[j]));
                        struct blob out;
                        struct error err;
                        int r = decode(trailing_cases[i].c, 64 << 20, &in, &short_steps[j], expect.n,
                                       &out, &err);
                        if (want == 1) {
                                if (r != 1)
                                        fail_msg("%s: returned %d: %s", what, r, err.msg);
                                check_output(what, &out, &expect);
                        } else {
                                check_error(what, r, &err, -want, trailing_cases[i].part);
                                /* What came before the garbage was all there. */
                                if (out.n > expect.n || memcmp(out.p, expect.p, out.n) != 0)
                                        fail_msg("%s: output before the error is wrong", what);
                        }
                        blob_free(&out);
                }
                blob_free(&in);
                blob_free(&expect);
        }
}

static const struct {
        const char *name;
        enum compression c;
        const struct blob *in, *plain;
        uint64_t limit;
        int expect;
        const char *part;
} limit_cases[] = {
        { "xz, 192 MiB dictionary", COMPRESSION_XZ, &g.big_dict_xz, &g.big_dict_plain,
          64 << 20, -ENOMEM, "more than the limit of 64 MiB" },
        { "xz, 192 MiB dictionary", COMPRESSION_XZ, &g.big_dict_xz, &g.big_dict_plain,
          80 << 20, -ENOMEM, "more than the limit of 80 MiB" },
        { "xz, 192 MiB dictionary", COMPRESSION_XZ, &g.big_dict_xz, &g.big_dict_plain,
          256 << 20, 1, NULL },
        { "xz, 1 MiB dictionary", COMPRESSION_XZ, &g.s_xz, &g.small, 4 << 20, 1, NULL },
        { "xz, 1 MiB dictionary", COMPRESSION_XZ, &g.s_xz, &g.small, 1 << 20, -ENOMEM, "xz" },
        { "zstd, 1 GiB window", COMPRESSION_ZSTD, &g.wlog30, &g.big_dict_plain,
          64 << 20, -ENOMEM, "window" },
        { "zstd, 1 GiB window", COMPRESSION_ZSTD, &g.wlog30, &g.big_dict_plain,
          (UINT64_C(1) << 30) - 1, -ENOMEM, "window" },
        { "zstd, 1 GiB window", COMPRESSION_ZSTD, &g.wlog30, &g.big_dict_plain,
          UINT64_C(1) << 30, 1, NULL },
        { "zstd, 128 MiB window", COMPRESSION_ZSTD, &g.wlog27, &g.big_dict_plain,
          80 << 20, -ENOMEM, "window" },
        { "zstd, 128 MiB window", COMPRESSION_ZSTD, &g.wlog27, &g.big_dict_plain,
          128 << 20, 1, NULL },
        { "zstd, 64 MiB window", COMPRESSION_ZSTD, &g.wlog26, &g.big_dict_plain,
          64 << 20, 1, NULL },
        { "zstd, 64 MiB window", COMPRESSION_ZSTD, &g.wlog26, &g.big_dict_plain,
          32 << 20, -ENOMEM, "window" },
        /* A deflate window is 32 KiB at most: gzip needs no limit. */
        { "gzip", COMPRESSION_GZIP, &g.s_gz, &g.small, 1, 1, NULL },
        { "uncompressed", COMPRESSION_NONE, &g.small, &g.small, 0, 1, NULL },
};

static void test_memory_limit(void **state)
{
        (void)state;
        static const struct steps steps[] = {
                { ALL, ALL, false },
                { 1, 4096, false },
                { 4096, 7, true },
        };
        for (size_t i = 0; i < N_ELEMENTS(limit_cases); i++)
                for (size_t j = 0; j < N_ELEMENTS(steps); j++) {
                        char what[200];
                        snprintf(what, sizeof what, "%s, limit %" PRIu64 " bytes, %s",
                                 limit_cases[i].name, limit_cases[i].limit,
                                 steps_name(&steps[j]));
                        struct blob out;
                        struct error err;
                        int r = decode(limit_cases[i].c, limit_cases[i].limit, limit_cases[i].in,
                                       &steps[j], limit_cases[i].plain->n, &out, &err);
                        if (limit_cases[i].expect == 1) {
                                if (r != 1)
                                        fail_msg("%s: returned %d: %s", what, r, err.msg);
                                check_output(what, &out, limit_cases[i].plain);
                        } else {
                                check_error(what, r, &err, -limit_cases[i].expect, limit_cases[i].part);
                                /* Refused before anything was decoded. */
                                assert_int_equal(out.n, 0);
                        }
                        blob_free(&out);
                }
}

/* Errors with no struct error to fill. */
static void test_null_error(void **state)
{
        (void)state;
        static const struct {
                enum compression c;
                uint64_t limit;
                const struct blob *in;
                int expect;
        } cases[] = {
                { COMPRESSION_GZIP, 64 << 20, &g.s_xz, -EBADMSG },
                { COMPRESSION_GZIP, 64 << 20, &g.empty, -EBADMSG },
                { COMPRESSION_XZ, 64 << 20, &g.text, -EBADMSG },
                { COMPRESSION_XZ, 64 << 20, &g.big_dict_xz, -ENOMEM },
                { COMPRESSION_ZSTD, 64 << 20, &g.wlog30, -ENOMEM },
                { COMPRESSION_ZSTD, 64 << 20, &g.empty, -EBADMSG },
        };
        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                struct decoder *d = NULL;
                assert_int_equal(decoder_new(cases[i].c, cases[i].limit, &d, NULL), 0);
                uint8_t buf[4096];
                size_t consumed, produced;
                int r = decoder_run(d, cases[i].in->p, cases[i].in->n, &consumed, buf, sizeof buf,
                                    &produced, true, NULL);
                assert_int_equal(r, cases[i].expect);
                decoder_free(d);
        }
}

/* Buffers beyond 4 GiB (zlib counts in 32 bits): the sizes must not be cut
 * to their low 32 bits. Address space only: the pages are never touched
 * beyond the data. */
static void test_huge_buffers(void **state)
{
        (void)state;
        if (SIZE_MAX <= UINT32_MAX)
                skip();
        size_t huge = ((size_t)4 << 30) + MIB + 5;
        uint8_t *area = mmap(NULL, huge, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (area == MAP_FAILED)
                skip();

        /* The whole output room offered at once. */
        static const struct {
                enum compression c;
                const struct blob *in;
        } outs[] = {
                { COMPRESSION_NONE, &g.small },
                { COMPRESSION_GZIP, &g.s_gz },
                { COMPRESSION_XZ, &g.s_xz },
                { COMPRESSION_ZSTD, &g.s_zst },
                { COMPRESSION_ZSTD, &g.o_zst },
        };
        for (size_t i = 0; i < N_ELEMENTS(outs); i++) {
                struct decoder *d = NULL;
                struct error err = { 0 };
                assert_int_equal(decoder_new(outs[i].c, 64 << 20, &d, &err), 0);
                size_t consumed, produced;
                int r = decoder_run(d, outs[i].in->p, outs[i].in->n, &consumed, area, huge,
                                    &produced, true, &err);
                const struct blob *plain = outs[i].in == &g.o_zst ? &g.other : &g.small;
                if (r != 1)
                        fail_msg("%s into %zu bytes: returned %d: %s", compression_name(outs[i].c),
                                 huge, r, err.msg);
                assert_int_equal(consumed, outs[i].in->n);
                assert_int_equal(produced, plain->n);
                assert_memory_equal(area, plain->p, plain->n);
                decoder_free(d);
        }

        /* A whole stream and then 4 GiB of zeros, given at once: the zeros
         * are garbage, not something to skip by counting them away. (Not
         * xz: to liblzma, zeros are stream padding to read through.) */
        static const struct {
                enum compression c;
                const struct blob *in;
        } ins[] = {
                { COMPRESSION_GZIP, &g.s_gz },
                { COMPRESSION_ZSTD, &g.s_zst },
        };
        for (size_t i = 0; i < N_ELEMENTS(ins); i++) {
                memset(area, 0, 2 * MIB);       /* what the last loop wrote, and more */
                memcpy(area, ins[i].in->p, ins[i].in->n);
                struct decoder *d = NULL;
                struct error err = { 0 };
                assert_int_equal(decoder_new(ins[i].c, 64 << 20, &d, &err), 0);
                uint8_t *buf = malloc(2 * g.small.n);
                assert_non_null(buf);
                size_t in_len = ins[i].in->n + ((size_t)4 << 30), consumed, produced;
                assert_true(in_len <= huge);
                size_t pos = 0;
                int r;
                do {
                        r = decoder_run(d, area + pos, in_len - pos, &consumed, buf, 2 * g.small.n,
                                        &produced, true, &err);
                        if (r >= 0) {
                                assert_true(consumed <= in_len - pos);
                                pos += consumed;
                        }
                } while (r == 0 && (consumed > 0 || produced > 0));
                char what[100];
                snprintf(what, sizeof what, "%s and 4 GiB of zeros", compression_name(ins[i].c));
                check_error(what, r, &err, EBADMSG, NULL);
                free(buf);
                decoder_free(d);
        }
        munmap(area, huge);
}

/* Streams the command-line tools make, when they are installed, from
 * ./big (g.big) or ./small (g.small); each decoded under one or two
 * memory limits. */
struct limit_answer {
        uint64_t limit;         /* 0: none more */
        int expect;             /* 1, or a negative errno */
};

static const struct {
        const char *tool;
        enum compression c;
        const char *command;    /* makes ./out */
        bool small;             /* from ./small: else ./big */
        unsigned copies;        /* of it in the output */
        struct limit_answer limits[2];
} tool_cases[] = {
        { "gzip", COMPRESSION_GZIP, "gzip -c big > out", false, 1, { { 64 << 20, 1 } } },
        { "gzip", COMPRESSION_GZIP, "gzip -1 -c small > out && gzip -9 -n -c < small >> out", true, 2,
          { { 1, 1 } } },
        { "xz", COMPRESSION_XZ, "xz -c big > out", false, 1, { { 64 << 20, 1 } } },
        { "xz", COMPRESSION_XZ, "xz -1 -T1 --block-size=10KiB -C sha256 -c small > out"
                " && xz -0 -C none -c small >> out", true, 2, { { 64 << 20, 1 } } },
        /* The CLI keeps the dictionary size it is told, however small the
         * file. */
        { "xz", COMPRESSION_XZ, "xz --lzma2=preset=0,dict=192MiB -c small > out", true, 1,
          { { 64 << 20, -ENOMEM }, { 256 << 20, 1 } } },
        { "zstd", COMPRESSION_ZSTD, "zstd -q -c big > out", false, 1, { { 64 << 20, 1 } } },
        { "zstd", COMPRESSION_ZSTD, "zstd -q --no-check -c < small > out && zstd -q -12 -c small >> out",
          true, 2, { { 64 << 20, 1 } } },
        /* From a pipe the size is unknown and the 1 GiB window stays (from
         * a file it would shrink to the file's size). */
        { "zstd", COMPRESSION_ZSTD, "zstd -q --long=30 -c < small > out", true, 1,
          { { 64 << 20, -ENOMEM }, { BIG_LIMIT, 1 } } },
};

static int make_dir(void **state)
{
        char *dir = strdup("/tmp/test-decompress-XXXXXX");
        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int remove_dir(void **state)
{
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
        assert_int_equal(system(cmd), 0);
        free(*state);
        return 0;
}

static void write_file(const char *dir, const char *name, const struct blob *b)
{
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b->p, 1, b->n, f), b->n);
        assert_int_equal(fclose(f), 0);
}

static struct blob read_file(const char *dir, const char *name)
{
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "rb");
        if (!f)
                fail_msg("cannot open %s", path);
        struct blob b = { 0 };
        blob_append(&b, "", 0);
        uint8_t buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                blob_append(&b, buf, n);
        assert_int_equal(ferror(f), 0);
        fclose(f);
        blob_fit(&b);
        return b;
}

static void test_tools(void **state)
{
        static const struct steps tool_steps[] = {
                { ALL, ALL, false },
                { 1000, 3000, true },
                { 1, 7, false },
        };
        const char *dir = *state;
        char cmd[4400];
        write_file(dir, "big", &g.big);
        write_file(dir, "small", &g.small);
        struct blob small_twice = blob_cat((const struct blob *[]){ &g.small, &g.small }, 2);
        unsigned ran = 0;
        for (size_t i = 0; i < N_ELEMENTS(tool_cases); i++) {
                snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool_cases[i].tool);
                if (system(cmd) != 0) {
                        print_message("%s is not installed: '%s' not tried\n", tool_cases[i].tool,
                                      tool_cases[i].command);
                        continue;
                }
                snprintf(cmd, sizeof cmd, "cd '%s' && rm -f out && { %s; }", dir, tool_cases[i].command);
                if (system(cmd) != 0)
                        fail_msg("'%s' failed", tool_cases[i].command);
                struct blob in = read_file(dir, "out");
                const struct blob *expect = !tool_cases[i].small ? &g.big :
                                            tool_cases[i].copies == 2 ? &small_twice : &g.small;
                assert_true(tool_cases[i].small || tool_cases[i].copies == 1);
                for (size_t l = 0; l < N_ELEMENTS(tool_cases[i].limits) && tool_cases[i].limits[l].limit; l++)
                        for (size_t j = 0; j < N_ELEMENTS(tool_steps); j++) {
                                if (!tool_cases[i].small && tool_steps[j].in == 1)
                                        continue;       /* slow, and done above */
                                const struct limit_answer *la = &tool_cases[i].limits[l];
                                char what[300];
                                snprintf(what, sizeof what, "'%s', limit %" PRIu64 ", %s",
                                         tool_cases[i].command, la->limit,
                                         steps_name(&tool_steps[j]));
                                struct blob out;
                                struct error err;
                                int r = decode(tool_cases[i].c, la->limit, &in, &tool_steps[j], expect->n,
                                               &out, &err);
                                if (la->expect == 1) {
                                        if (r != 1)
                                                fail_msg("%s: returned %d: %s", what, r, err.msg);
                                        check_output(what, &out, expect);
                                } else {
                                        check_error(what, r, &err, -la->expect, NULL);
                                }
                                blob_free(&out);
                        }
                blob_free(&in);
                ran++;
        }
        blob_free(&small_twice);
        if (ran == 0)
                skip();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_new_and_free),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_concatenated),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_damaged),
                cmocka_unit_test(test_foreign_data),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_trailing_garbage),
                cmocka_unit_test(test_memory_limit),
                cmocka_unit_test(test_null_error),
                cmocka_unit_test(test_huge_buffers),
                cmocka_unit_test_setup_teardown(test_tools, make_dir, remove_dir),
        };
        return cmocka_run_group_tests(tests, make_streams, free_streams);
}

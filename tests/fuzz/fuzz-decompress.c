/* fuzz-decompress: the streaming gzip, xz and zstd decoders of
 * common/decompress.c, which every upload and every coredump.xz/.zst
 * goes through. The first byte of the input picks the format, the
 * second how the rest is cut into pieces; the rest is the stream.
 *
 * A stream is decoded twice, once in pieces of the chosen sizes into a
 * small buffer and once whole into a large one: the two must agree on
 * whether it is good, and on what a good one holds. */
#include "config.h"

#include <errno.h>

#include "decompress.h"
#include "fuzz.h"

/* Decompressed output is checked up to this much; a bomb stops there. */
#define OUTPUT_MAX (1u << 20)
/* Small: the -ENOMEM path is reachable, and each input stays fast. */
#define MEMORY_LIMIT (8u << 20)

struct outcome {
        int result;             /* 1 good, -errno bad, 0 stopped at OUTPUT_MAX */
        size_t produced;
        uint64_t hash;          /* FNV-1a of the output */
};

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 0x100000001b3ULL;
        return h;
}

/* pieces: sizes to cut the input into, in turn (0: all at once). */
static struct outcome decode(enum compression c, const uint8_t *in, size_t len,
                             const uint8_t *pieces, size_t piece_count,
                             unsigned char *out, size_t out_cap)
{
        struct outcome o = { .hash = 0xcbf29ce484222325ULL };
        struct decoder *d;
        struct error err = { 0 };
        if (decoder_new(c, MEMORY_LIMIT, &d, &err) < 0)
                abort();

        size_t pos = 0, turn = 0, stalls = 0;
        for (;;) {
                size_t piece = len - pos;
                if (piece_count) {
                        size_t want = 1 + pieces[turn++ % piece_count] * 37u;
                        if (want < piece)
                                piece = want;
                }
                bool last = pos + piece == len;
                size_t consumed = 0, produced = 0;
                err.code = 0;
                int r = decoder_run(d, in + pos, piece, &consumed, out, out_cap, &produced,
                                    last, &err);
                fuzz_assert(consumed <= piece && produced <= out_cap);
                pos += consumed;
                o.produced += produced;
                o.hash = fnv(o.hash, out, produced);
                if (r < 0) {
                        fuzz_assert(r == -EBADMSG || r == -ENOMEM);
                        fuzz_assert(err.code == -r && err.msg[0]);
                        o.result = r;
                        break;
                }
                fuzz_assert(r == 0 || r == 1);
                if (r == 1) {
                        fuzz_assert(last && pos == len);
                        o.result = 1;
                        break;
                }
                if (o.produced >= OUTPUT_MAX) {
                        o.result = 0;
                        break;
                }
                /* A decoder that takes nothing and gives nothing, with room
                 * and input offered, would make its caller spin (the module
                 * calls again while input is left, and stops only at the
                 * end of the body). */
                if (consumed == 0 && produced == 0) {
                        if (++stalls > 2)
                                fuzz_fail("%s decoder makes no progress (%zu of %zu bytes in, last %d)",
                                          compression_name(c), pos, len, last);
                } else {
                        stalls = 0;
                }
        }
        decoder_free(d);
        return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const enum compression kinds[] = {
                COMPRESSION_GZIP, COMPRESSION_XZ, COMPRESSION_ZSTD, COMPRESSION_NONE,
        };
        if (size < 2)
                return 0;
        enum compression c = kinds[data[0] % 4];
        const uint8_t *pieces = data + 1;
        size_t piece_count = data[1] % 8;
        if (piece_count > size - 2)
                piece_count = size - 2;
        const uint8_t *in = data + 2;
        size_t len = size - 2;

        static unsigned char out[OUTPUT_MAX];
        struct outcome small = decode(c, in, len, pieces, piece_count, out, 1 + data[1] % 97);
        struct outcome whole = decode(c, in, len, NULL, 0, out, sizeof out);
        if (small.result == 0 || whole.result == 0)
                return 0;       /* stopped early: nothing to compare */
        if ((small.result == 1) != (whole.result == 1))
                fuzz_fail("%s: in pieces %d, whole %d", compression_name(c), small.result,
                          whole.result);
        if (small.result == 1 && (small.produced != whole.produced || small.hash != whole.hash))
                fuzz_fail("%s: in pieces %zu bytes, whole %zu bytes, or other bytes",
                          compression_name(c), small.produced, whole.produced);
        return 0;
}

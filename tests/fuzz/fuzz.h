/* fuzz.h: what the libFuzzer harnesses of tests/fuzz share.
 *
 * Each harness is one LLVMFuzzerTestOneInput() over one parser of the
 * project, built with clang -fsanitize=fuzzer,address,undefined by
 * `configure --enable-fuzzing` (tests/fuzz/run does that). Besides not
 * crashing, a harness checks what the parser promises (a parsed name
 * formats and parses back the same, an unpacked archive holds only
 * allowed files, ...) and calls fuzz_fail() when a promise is broken, so
 * that libFuzzer keeps the input.
 */
#ifndef RETRACE_FUZZ_H
#define RETRACE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise: say which, and abort (libFuzzer saves the input). */
#define fuzz_fail(...) do { \
                fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__); \
                fputc('\n', stderr); \
                abort(); \
        } while (0)

#define fuzz_assert(cond) do { \
                if (!(cond)) \
                        fuzz_fail("promise broken: %s", #cond); \
        } while (0)

/* The input as a C string in a buffer of exactly its size + 1, so that
 * AddressSanitizer sees a read past its end. A NUL inside ends it early,
 * as it would for any C caller. Free it. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        if (!s)
                abort();
        if (size)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Parsers that read a file get the input through one memory file, reused
 * for every input: a path (/proc/self/fd/N) that holds exactly data. */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
        static int fd = -1;
        static char path[64];
        if (fd < 0) {
                fd = memfd_create("fuzz-input", MFD_CLOEXEC);
                if (fd < 0) {
                        perror("memfd_create");
                        abort();
                }
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        }
        if (ftruncate(fd, 0) < 0)
                abort();
        size_t done = 0;
        while (done < size) {
                ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
                if (n <= 0)
                        abort();
                done += (size_t)n;
        }
        return path;
}

/* The input split at its first NUL or newline: the part before into
 * *first (a fuzz_string), the rest into *rest (one too). */
static inline void fuzz_split(const uint8_t *data, size_t size, char **first, char **rest)
{
        size_t i = 0;
        while (i < size && data[i] != '\0' && data[i] != '\n')
                i++;
        *first = fuzz_string(data, i);
        *rest = i < size ? fuzz_string(data + i + 1, size - i - 1) : fuzz_string(data, 0);
}

#endif

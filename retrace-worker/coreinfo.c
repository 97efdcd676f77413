/* coreinfo.c: what a coredump says, read with libdwfl and from the core's
 * own notes.
 *
 * The core comes from another machine, so nothing on this host may stand
 * in for its files. libdwfl's core reader opens host files by the names
 * the core gives: every NT_FILE path whose module has a build-id, and
 * every name on the dynamic linker's link map (reached through NT_AUXV).
 * A hostile core could so make the worker open a FIFO (and hang), a
 * device, or a host library that happens to match. Hence:
 *
 *   - libdwfl gets an Elf opened with ELF_C_READ (no mmap: libdwfl then
 *     never copies a module image bigger than 8 KiB out of the core), in
 *     which every PT_NOTE program header is turned into PT_NULL in
 *     libelf's in-memory copy (the file is untouched). libdwfl thus finds
 *     modules only by the ELF headers in the core's memory segments, and
 *     its find_elf/find_debuginfo callbacks find nothing.
 *   - The notes are read here, from a read-only mapping of the core, with
 *     every size checked against the note and the file: NT_PRSTATUS and
 *     NT_SIGINFO (signal, pid), NT_AUXV (AT_ENTRY, AT_EXECFN, AT_PAGESZ, AT_SYSINFO_EHDR)
 *     and NT_FILE (paths). NT_AUXV's page size goes back into the
 *     in-memory PT_LOAD headers whose alignment is unset (gcore writes 1),
 *     which is what libdwfl would have done with it.
 *   - Paths come from NT_FILE: the mapping at a module's start with file
 *     offset 0 names it. Files NT_FILE lists that libdwfl found no ELF
 *     header for (gcore leaves those pages out; the kernel leaves out
 *     pages it does not dump) are added without a build-id when they
 *     look like code: a mapping of theirs is executable, or the name is a
 *     shared object's (".so", ".so.N").
 *   - Work is bounded before libdwfl starts: at most CORE_MAX_SEGMENTS
 *     program headers (its module search is quadratic in them), PT_LOAD
 *     headers put in address order (it assumes that order), and ELF
 *     headers in the dump that claim more than CORE_MAX_MODULE_BYTES of
 *     headers, notes and dynamic sections refused (it would read them,
 *     up to the whole core each time, for every module).
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>

#include "coreinfo.h"

/* NT_FILE entries read at most (the kernel's default limit of 65530
 * mappings, and 262144 where raised for databases); the rest is ignored. */
#define CORE_MAX_MAPPINGS (1u << 18)
/* Program headers at most: a segment per mapping and a few notes, twice
 * the kernel's default limit of 65530 mappings. libdwfl's look for
 * modules takes time quadratic in the number of segments: 4 s here at
 * this limit. */
#define CORE_MAX_SEGMENTS (1u << 17)
/* What libdwfl may read for the modules it finds: their program headers,
 * note and dynamic segments, which a real module keeps to a few KiB (a
 * 4096-module core: some 6 MiB). A forged header claiming more would make
 * it read up to the whole core again for every module. */
#define CORE_MAX_MODULE_BYTES (64u << 20)
/* Longest path or string taken from the core. */
#define CORE_MAX_STRING 4096
/* Auxiliary vector entries looked at. */
#define CORE_MAX_AUXV 1024

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif
#ifndef AT_EXECFN
#define AT_EXECFN 31
#endif

struct mapping {                /* one NT_FILE entry */
        uint64_t start, end, pgoff;
        const char *name;       /* NUL-terminated, inside the mapped core */
};

struct load {                   /* one PT_LOAD */
        uint64_t start, end;    /* p_vaddr, p_vaddr + p_memsz */
        uint32_t flags;
};

struct core {
        const char *path;
        char quoted[QUOTE_BUF];
        int fd;
        const unsigned char *map;       /* the whole core, read-only */
        size_t size;
        unsigned char ei_class, ei_data;
        Elf *elf;

        struct load *loads;             /* sorted by start */
        size_t nloads;

        bool have_prstatus, have_siginfo, have_auxv, have_file;
        int cursig, siginfo_signo;
        pid_t pid;
        uint64_t at_entry, at_execfn, at_pagesz, at_sysinfo_ehdr;
        bool have_entry, have_execfn, have_sysinfo_ehdr;

        struct mapping *maps;           /* NT_FILE, sorted by start */
        size_t nmaps;
};

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static bool elf_ok;

static void elf_init(void)
{
        elf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

/* --- reading the core's bytes ------------------------------------------ */

static uint16_t rd16(const struct core *c, const unsigned char *p)
{
        if (c->ei_data == ELFDATA2MSB)
                return (uint16_t)((unsigned)p[0] << 8 | p[1]);
        return (uint16_t)((unsigned)p[1] << 8 | p[0]);
}

static uint32_t rd32(const struct core *c, const unsigned char *p)
{
        if (c->ei_data == ELFDATA2MSB)
                return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t rd64(const struct core *c, const unsigned char *p)
{
        uint64_t a = rd32(c, p), b = rd32(c, p + 4);
        return c->ei_data == ELFDATA2MSB ? a << 32 | b : b << 32 | a;
}

/* A word of the core's class: 4 or 8 bytes. */
static uint64_t rdword(const struct core *c, const unsigned char *p)
{
        return c->ei_class == ELFCLASS64 ? rd64(c, p) : rd32(c, p);
}

static size_t word_size(const struct core *c)
{
        return c->ei_class == ELFCLASS64 ? 8 : 4;
}

/* --- notes -------------------------------------------------------------- */

static void note_prstatus(struct core *c, const unsigned char *d, uint32_t len)
{
        /* struct elf_prstatus: elf_siginfo (3 ints), short pr_cursig, then
         * two longs (pending, held) and pr_pid. */
        size_t pid_off = c->ei_class == ELFCLASS64 ? 32 : 24;
        if (c->have_prstatus || len < pid_off + 4)
                return;
        c->have_prstatus = true;
        c->cursig = rd16(c, d + 12);
        uint32_t pid = rd32(c, d + pid_off);
        if (pid > 0 && pid <= INT32_MAX)
                c->pid = (pid_t)pid;
}

static void note_siginfo(struct core *c, const unsigned char *d, uint32_t len)
{
        if (c->have_siginfo || len < 4)
                return;
        c->have_siginfo = true;
        c->siginfo_signo = (int)rd32(c, d);
}

static void note_auxv(struct core *c, const unsigned char *d, uint32_t len)
{
        size_t w = word_size(c);
        if (c->have_auxv)
                return;
        c->have_auxv = true;
        for (size_t i = 0; i < len / (2 * w) && i < CORE_MAX_AUXV; i++) {
                uint64_t type = rdword(c, d + 2 * w * i);
                uint64_t val = rdword(c, d + 2 * w * i + w);
                if (type == AT_NULL)
                        break;
                switch (type) {
                case AT_ENTRY:
                        c->at_entry = val;
                        c->have_entry = true;
                        break;
                case AT_EXECFN:
                        c->at_execfn = val;
                        c->have_execfn = true;
                        break;
                case AT_SYSINFO_EHDR:
                        c->at_sysinfo_ehdr = val;
                        c->have_sysinfo_ehdr = true;
                        break;
                case AT_PAGESZ:
                        /* A power of two a kernel could use. */
                        if (val >= 1024 && val <= (1u << 20) && (val & (val - 1)) == 0)
                                c->at_pagesz = val;
                        break;
                }
        }
}

static int mapping_cmp(const void *a, const void *b)
{
        const struct mapping *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

/* NT_FILE: count, page size, count x (start, end, page offset), then count
 * NUL-terminated names. Entries with a missing or oversized name, or an
 * empty range, are dropped; nothing is made up. */
static int note_file(struct core *c, const unsigned char *d, uint32_t len)
{
        size_t w = word_size(c);
        if (c->have_file)
                return 0;
        c->have_file = true;
        if (len < 2 * w)
                return 0;
        uint64_t count = rdword(c, d);
        if (count > (len - 2 * w) / (3 * w))
                return 0;               /* a table longer than the note: damaged */
        size_t n = count < CORE_MAX_MAPPINGS ? (size_t)count : CORE_MAX_MAPPINGS;
        if (n == 0)
                return 0;
        c->maps = calloc(n, sizeof *c->maps);
        if (!c->maps)
                return -ENOMEM;
        const unsigned char *table = d + 2 * w;
        const unsigned char *names = table + count * 3 * w;
        const unsigned char *end = d + len;
        bool sorted = true;
        for (size_t i = 0; i < n && names < end; i++) {
                const unsigned char *nul = memchr(names, '\0', (size_t)(end - names));
                if (!nul)
                        break;
                size_t namelen = (size_t)(nul - names);
                const unsigned char *e = table + i * 3 * w;
                struct mapping m = {
                        .start = rdword(c, e),
                        .end = rdword(c, e + w),
                        .pgoff = rdword(c, e + 2 * w),
                        .name = (const char *)names,
                };
                names = nul + 1;
                if (m.end <= m.start || namelen == 0 || namelen >= CORE_MAX_STRING ||
                    m.name[0] != '/')
                        continue;
                if (c->nmaps > 0 && m.start < c->maps[c->nmaps - 1].start)
                        sorted = false;
                c->maps[c->nmaps++] = m;
        }
        if (!sorted && c->nmaps > 1)
                qsort(c->maps, c->nmaps, sizeof *c->maps, mapping_cmp);
        return 0;
}

/* Walks one PT_NOTE segment (already clamped to the file). */
static int read_notes(struct core *c, uint64_t off, uint64_t len, uint64_t p_align)
{
        const uint64_t align = p_align == 8 ? 8 : 4;
        const unsigned char *seg = c->map + off;
        uint64_t pos = 0;

        while (len - pos >= 12) {
                uint32_t namesz = rd32(c, seg + pos);
                uint32_t descsz = rd32(c, seg + pos + 4);
                uint32_t type = rd32(c, seg + pos + 8);
                pos += 12;
                uint64_t name_pos = pos;
                uint64_t name_span = ((uint64_t)namesz + align - 1) & ~(align - 1);
                if (name_span > len - pos)
                        break;
                pos += name_span;
                uint64_t desc_pos = pos;
                if (descsz > len - pos)
                        break;
                uint64_t desc_span = ((uint64_t)descsz + align - 1) & ~(align - 1);
                pos = desc_span > len - pos ? len : pos + desc_span;

                if (namesz != sizeof "CORE" || memcmp(seg + name_pos, "CORE", sizeof "CORE") != 0)
                        continue;
                const unsigned char *desc = seg + desc_pos;
                switch (type) {
                case NT_PRSTATUS:
                        note_prstatus(c, desc, descsz);
                        break;
                case NT_SIGINFO:
                        note_siginfo(c, desc, descsz);
                        break;
                case NT_AUXV:
                        note_auxv(c, desc, descsz);
                        break;
                case NT_FILE: {
                        int r = note_file(c, desc, descsz);
                        if (r < 0)
                                return r;
                        break;
                }
                }
        }
        return 0;
}

/* --- the core's memory -------------------------------------------------- */

/* The NUL-terminated string at addr in the dumped memory, or NULL. */
static char *read_string(const struct core *c, uint64_t addr)
{
        size_t phnum;
        if (elf_getphdrnum(c->elf, &phnum) != 0)
                return NULL;
        for (size_t i = 0; i < phnum; i++) {
                GElf_Phdr ph;
                if (!gelf_getphdr(c->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
                        continue;
                if (addr < ph.p_vaddr || addr - ph.p_vaddr >= ph.p_filesz)
                        continue;
                uint64_t rel = addr - ph.p_vaddr;
                if (ph.p_offset > c->size || rel >= c->size - ph.p_offset)
                        return NULL;    /* cut off with the file */
                uint64_t off = ph.p_offset + rel;
                uint64_t avail = ph.p_filesz - rel;
                if (avail > c->size - off)
                        avail = c->size - off;
                if (avail > CORE_MAX_STRING)
                        avail = CORE_MAX_STRING;
                const unsigned char *nul = memchr(c->map + off, '\0', (size_t)avail);
                if (!nul || nul == c->map + off)
                        return NULL;
                return strndup((const char *)c->map + off, (size_t)(nul - (c->map + off)));
        }
        return NULL;
}

static int load_cmp(const void *a, const void *b)
{
        const struct load *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

/* The PT_LOAD holding addr, or NULL. */
static const struct load *load_at(const struct core *c, uint64_t addr)
{
        size_t lo = 0, hi = c->nloads;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (c->loads[mid].start <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        /* loads[lo - 1] is the last one starting at or below addr; segments
         * do not overlap in a real core, so look a few back for a bigger one. */
        for (size_t i = lo, k = 0; i > 0 && k < 4; i--, k++)
                if (addr < c->loads[i - 1].end)
                        return &c->loads[i - 1];
        return NULL;
}

/* --- the headers -------------------------------------------------------- */

static uint64_t rd_as(unsigned char ei_data, const unsigned char *p, int bytes)
{
        uint64_t v = 0;
        for (int i = 0; i < bytes; i++)
                v = v << 8 | p[ei_data == ELFDATA2MSB ? i : bytes - 1 - i];
        return v;
}

/* Bytes libdwfl may read for a module whose ELF header starts the segment
 * at off (at most avail bytes of it in the file): its program headers and
 * the note and dynamic segments they name, each at most the file. 0 when
 * there is no ELF header libdwfl would take. */
static uint64_t module_claim(const struct core *c, uint64_t off, uint64_t avail)
{
        const unsigned char *p = c->map + off;
        if (avail < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG) != 0)
                return 0;
        unsigned char cls = p[EI_CLASS], data = p[EI_DATA];
        bool is64 = cls == ELFCLASS64;
        if ((cls != ELFCLASS32 && !is64) || (data != ELFDATA2LSB && data != ELFDATA2MSB) ||
            avail < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
                return 0;
        uint64_t phoff = is64 ? rd_as(data, p + 32, 8) : rd_as(data, p + 28, 4);
        uint64_t phentsize = rd_as(data, p + (is64 ? 54 : 42), 2);
        uint64_t phnum = rd_as(data, p + (is64 ? 56 : 44), 2);
        if (phentsize != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum == 0)
                return 0;
        uint64_t claim = phnum * phentsize;
        if (phoff > avail || claim > avail - phoff)
                return claim;           /* its headers are not here to look at */
        for (uint64_t i = 0; i < phnum; i++) {
                const unsigned char *ph = p + phoff + i * phentsize;
                uint64_t type = rd_as(data, ph, 4);
                if (type != PT_NOTE && type != PT_DYNAMIC)
                        continue;
                uint64_t filesz = is64 ? rd_as(data, ph + 32, 8) : rd_as(data, ph + 16, 4);
                claim += filesz < c->size ? filesz : c->size;
                if (claim > CORE_MAX_MODULE_BYTES)
                        break;          /* enough to refuse; no overflow */
        }
        return claim;
}

struct indexed_phdr {
        GElf_Phdr ph;
        size_t index;
};

static int indexed_phdr_cmp(const void *a, const void *b)
{
        const struct indexed_phdr *x = a, *y = b;
        bool xl = x->ph.p_type == PT_LOAD, yl = y->ph.p_type == PT_LOAD;
        if (xl != yl)
                return xl ? -1 : 1;
        if (xl && x->ph.p_vaddr != y->ph.p_vaddr)
                return x->ph.p_vaddr < y->ph.p_vaddr ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* libdwfl takes the PT_LOAD headers to be in address order, as every core
 * writer puts them: out of order, it reads the wrong segments (and sorts
 * its table by insertion). Puts them in order, in libelf's copy. */
static int sort_phdrs(Elf *elf, size_t phnum)
{
        struct indexed_phdr *all = calloc(phnum, sizeof *all);
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < phnum; i++) {
                if (!gelf_getphdr(elf, (int)i, &all[i].ph)) {
                        free(all);
                        return -EINVAL;
                }
                all[i].index = i;
        }
        qsort(all, phnum, sizeof *all, indexed_phdr_cmp);
        int r = 0;
        for (size_t i = 0; i < phnum && r == 0; i++)
                if (!gelf_update_phdr(elf, (int)i, &all[i].ph))
                        r = -EIO;
        free(all);
        return r;
}

static const char *arch_name(unsigned machine, unsigned char ei_class, unsigned char ei_data,
                             char buf[16])
{
        switch (machine) {
        case EM_X86_64:
                return ei_class == ELFCLASS64 ? "x86_64" : "x32";
        case EM_386:
                return "i686";
        case EM_AARCH64:
                return "aarch64";
        case EM_ARM:
                return "armv7hl";
        case EM_PPC64:
                return ei_data == ELFDATA2LSB ? "ppc64le" : "ppc64";
        case EM_PPC:
                return "ppc";
        case EM_S390:
                return ei_class == ELFCLASS64 ? "s390x" : "s390";
        case EM_RISCV:
                return ei_class == ELFCLASS64 ? "riscv64" : "riscv32";
        case EM_MIPS:
                if (ei_class == ELFCLASS64)
                        return ei_data == ELFDATA2LSB ? "mips64el" : "mips64";
                return ei_data == ELFDATA2LSB ? "mipsel" : "mips";
        case EM_SPARCV9:
                return "sparc64";
        case EM_IA_64:
                return "ia64";
#ifdef EM_LOONGARCH
        case EM_LOONGARCH:
                return "loongarch64";
#endif
        }
        snprintf(buf, 16, "em-%u", machine);
        return buf;
}

static const char *elf_type_name(unsigned type)
{
        switch (type) {
        case ET_NONE: return "file of no type";
        case ET_REL: return "relocatable object";
        case ET_EXEC: return "executable";
        case ET_DYN: return "shared object or position-independent executable";
        }
        return "file of an unknown type";
}

/* Opens, maps and checks the core; reads its segments and notes, and
 * hides the notes from libdwfl. */
static int core_open(struct core *c, struct core_info *out, struct error *err)
{
        const char *q = c->quoted;
        c->fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (c->fd < 0)
                return error_set_errno(err, errno, "cannot open core '%s'", q);
        struct stat st;
        if (fstat(c->fd, &st) != 0)
                return error_set_errno(err, errno, "cannot stat core '%s'", q);
        if (!S_ISREG(st.st_mode))
                return error_set(err, EINVAL, "'%s' is not an ELF core file: not a regular file", q);
        if ((uint64_t)st.st_size > SIZE_MAX)
                return error_set(err, EFBIG, "core '%s' is too big to map", q);
        c->size = (size_t)st.st_size;

        unsigned char ident[EI_NIDENT] = { 0 };
        if (c->size < EI_NIDENT ||
            pread(c->fd, ident, sizeof ident, 0) != (ssize_t)sizeof ident ||
            memcmp(ident, ELFMAG, SELFMAG) != 0)
                return error_set(err, EINVAL, "'%s' is not an ELF core file", q);
        c->ei_class = ident[EI_CLASS];
        c->ei_data = ident[EI_DATA];
        if ((c->ei_class != ELFCLASS32 && c->ei_class != ELFCLASS64) ||
            (c->ei_data != ELFDATA2LSB && c->ei_data != ELFDATA2MSB))
                return error_set(err, EINVAL,
                                 "'%s' is not an ELF core file: ELF class %u, data encoding %u",
                                 q, ident[EI_CLASS], ident[EI_DATA]);
        size_t ehdr_size = c->ei_class == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
        if (c->size < ehdr_size)
                return error_set(err, EINVAL,
                                 "core '%s' is cut short: %zu bytes, less than its ELF header",
                                 q, c->size);

        void *m = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, c->fd, 0);
        if (m == MAP_FAILED)
                return error_set_errno(err, errno, "cannot map core '%s'", q);
        c->map = m;

        c->elf = elf_begin(c->fd, ELF_C_READ, NULL);
        if (!c->elf || elf_kind(c->elf) != ELF_K_ELF)
                return error_set(err, EINVAL, "'%s' is not an ELF core file: %s", q,
                                 elf_errmsg(-1) ? elf_errmsg(-1) : "libelf does not take it");
        GElf_Ehdr ehdr;
        if (!gelf_getehdr(c->elf, &ehdr))
                return error_set(err, EINVAL, "'%s' is not an ELF core file: %s", q,
                                 elf_errmsg(-1));
        if (ehdr.e_type != ET_CORE)
                return error_set(err, EINVAL, "'%s' is not an ELF core file but an ELF %s",
                                 q, elf_type_name(ehdr.e_type));

        char archbuf[16];
        snprintf(out->arch, sizeof out->arch, "%s",
                 arch_name(ehdr.e_machine, c->ei_class, c->ei_data, archbuf));

        size_t phnum;
        if (elf_getphdrnum(c->elf, &phnum) != 0)
                return error_set(err, EINVAL,
                                 "cannot read the program headers of core '%s': %s", q,
                                 elf_errmsg(-1));
        if (phnum == 0)
                return error_set(err, EINVAL, "core '%s' has no program headers", q);
        if (phnum > CORE_MAX_SEGMENTS)
                return error_set(err, E2BIG, "core '%s' has %zu program headers, more than %u",
                                 q, phnum, CORE_MAX_SEGMENTS);
        /* libelf reads them all on the first request; a table running past
         * the end of the file fails here. */
        GElf_Phdr ph;
        if (!gelf_getphdr(c->elf, 0, &ph))
                return error_set(err, EINVAL,
                                 "cannot read the program headers of core '%s' (cut short?): %s",
                                 q, elf_errmsg(-1));

        size_t nloads = 0;
        for (size_t i = 0; i < phnum; i++)
                if (gelf_getphdr(c->elf, (int)i, &ph) && ph.p_type == PT_LOAD)
                        nloads++;
        c->loads = calloc(nloads ? nloads : 1, sizeof *c->loads);
        if (!c->loads)
                return error_set(err, ENOMEM, "out of memory for the segments of core '%s'", q);

        bool sorted = true;
        uint64_t claimed = 0;
        out->file_size = c->size;
        for (size_t i = 0; i < phnum; i++) {
                if (!gelf_getphdr(c->elf, (int)i, &ph))
                        return error_set(err, EINVAL,
                                         "cannot read program header %zu of core '%s': %s",
                                         i, q, elf_errmsg(-1));
                if (ph.p_type != PT_NULL && ph.p_filesz > 0) {
                        uint64_t end = ph.p_offset + ph.p_filesz < ph.p_offset
                                        ? UINT64_MAX : ph.p_offset + ph.p_filesz;
                        if (end > out->needed_size)
                                out->needed_size = end;
                }
                if (ph.p_type == PT_LOAD && ph.p_offset < c->size) {
                        uint64_t avail = c->size - ph.p_offset;
                        if (claimed <= CORE_MAX_MODULE_BYTES)
                                claimed += module_claim(c, ph.p_offset,
                                                        ph.p_filesz < avail ? ph.p_filesz : avail);
                }
                if (ph.p_type == PT_LOAD && c->nloads < nloads) {
                        struct load l = {
                                .start = ph.p_vaddr,
                                .end = ph.p_vaddr + ph.p_memsz < ph.p_vaddr
                                        ? UINT64_MAX : ph.p_vaddr + ph.p_memsz,
                                .flags = ph.p_flags,
                        };
                        if (c->nloads > 0 && l.start < c->loads[c->nloads - 1].start)
                                sorted = false;
                        c->loads[c->nloads++] = l;
                } else if (ph.p_type == PT_NOTE) {
                        /* Only what the file holds; a size past its end is cut. */
                        if (ph.p_offset < c->size) {
                                uint64_t len = ph.p_filesz;
                                if (len > c->size - ph.p_offset)
                                        len = c->size - ph.p_offset;
                                int r = read_notes(c, ph.p_offset, len, ph.p_align);
                                if (r < 0)
                                        return error_set(err, -r,
                                                         "out of memory for the notes of core '%s'", q);
                        }
                        ph.p_type = PT_NULL;
                        if (!gelf_update_phdr(c->elf, (int)i, &ph))
                                return error_set(err, EIO,
                                                 "cannot hide the notes of core '%s' from libdwfl: %s",
                                                 q, elf_errmsg(-1));
                }
        }
        if (claimed > CORE_MAX_MODULE_BYTES)
                return error_set(err, E2BIG,
                                 "core '%s' is damaged: the ELF headers in it claim %" PRIu64
                                 " bytes of module headers, notes and dynamic sections",
                                 q, claimed);
        if (!sorted) {
                qsort(c->loads, c->nloads, sizeof *c->loads, load_cmp);
                int r = sort_phdrs(c->elf, phnum);
                if (r < 0)
                        return error_set(err, -r, "cannot sort the segments of core '%s'", q);
        }

        /* What libdwfl takes from NT_AUXV: the page size, which its module
         * bounds are rounded to. */
        if (c->at_pagesz) {
                for (size_t i = 0; i < phnum; i++) {
                        if (!gelf_getphdr(c->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
                            ph.p_align > 1)
                                continue;
                        ph.p_align = c->at_pagesz;
                        if (!gelf_update_phdr(c->elf, (int)i, &ph))
                                break;
                }
        }

        out->pid = c->pid;
        /* The kernel sets pr_cursig to the fatal signal. gcore writes 0
         * there and the signal that stopped the process (SIGSTOP from
         * ptrace) in NT_SIGINFO: that one killed nothing. */
        int sig = c->have_prstatus ? c->cursig : c->siginfo_signo;
        out->signal = sig > 0 && sig < 128 ? sig : 0;
        return 0;
}

/* --- modules ------------------------------------------------------------ */

static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname,
                       Dwarf_Addr base, char **file_name, Elf **elfp)
{
        (void)mod; (void)userdata; (void)modname; (void)base;
        *file_name = NULL;
        *elfp = NULL;
        return -1;
}

static int find_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                             Dwarf_Addr base, const char *file_name,
                             const char *debuglink_file, GElf_Word debuglink_crc,
                             char **debuginfo_file_name)
{
        (void)mod; (void)userdata; (void)modname; (void)base; (void)file_name;
        (void)debuglink_file; (void)debuglink_crc;
        *debuginfo_file_name = NULL;
        return -1;
}

static const Dwfl_Callbacks no_host_files = {
        .find_elf = find_no_elf,
        .find_debuginfo = find_no_debuginfo,
};

struct collect {
        struct core *c;
        struct core_info *out;
        size_t cap;
        bool too_many, nomem;
        bool have_exe;          /* libdwfl named a module "[exe]" or "[pie]" */
        uint64_t exe_start;
};

/* The NT_FILE entry starting at addr with file offset 0, or NULL. */
static const struct mapping *mapping_at(const struct core *c, uint64_t addr)
{
        size_t lo = 0, hi = c->nmaps;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (c->maps[mid].start < addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (size_t i = lo; i < c->nmaps && c->maps[i].start == addr; i++)
                if (c->maps[i].pgoff == 0)
                        return &c->maps[i];
        return NULL;
}

static struct core_module *add_module(struct collect *k)
{
        struct core_info *out = k->out;
        if (out->count >= CORE_MAX_MODULES) {
                k->too_many = true;
                return NULL;
        }
        if (out->count == k->cap) {
                size_t cap = k->cap ? k->cap * 2 : 16;
                if (cap > CORE_MAX_MODULES)
                        cap = CORE_MAX_MODULES;
                struct core_module *m = realloc(out->modules, cap * sizeof *m);
                if (!m) {
                        k->nomem = true;
                        return NULL;
                }
                out->modules = m;
                k->cap = cap;
        }
        struct core_module *m = &out->modules[out->count++];
        memset(m, 0, sizeof *m);
        return m;
}

static int each_module(Dwfl_Module *mod, void **userdata, const char *name,
                       Dwarf_Addr base, void *arg)
{
        (void)userdata; (void)base;
        struct collect *k = arg;
        Dwarf_Addr start = 0, end = 0;
        dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
        /* An ELF header in the dump whose segments lie out of order or run
         * past the top of the address space makes libdwfl report a module
         * that ends before it starts: nothing is mapped there. */
        if (end <= start)
                return DWARF_CB_OK;
        struct core_module *m = add_module(k);
        if (!m)
                return DWARF_CB_ABORT;
        /* Without NT_FILE and the link map, libdwfl names a module by its
         * DT_SONAME, else "[exe]" (ET_EXEC), "[pie]" (ET_DYN with DT_DEBUG)
         * or "[dso]". */
        if (!k->have_exe && name && (strcmp(name, "[exe]") == 0 || strcmp(name, "[pie]") == 0)) {
                k->have_exe = true;
                k->exe_start = start;
        }
        m->start = start;
        m->end = end;
        m->vdso = k->c->have_sysinfo_ehdr && start == k->c->at_sysinfo_ehdr;
        const unsigned char *bits;
        GElf_Addr vaddr;
        int len = dwfl_module_build_id(mod, &bits, &vaddr);
        if (len > 0 && len <= CORE_BUILD_ID_MAX)
                for (int i = 0; i < len; i++)
                        snprintf(m->build_id + 2 * i, 3, "%02x", bits[i]);
        const struct mapping *map = mapping_at(k->c, start);
        if (map) {
                m->path = strdup(map->name);
                if (!m->path) {
                        k->nomem = true;
                        return DWARF_CB_ABORT;
                }
        }
        return DWARF_CB_OK;
}

static int module_cmp(const void *a, const void *b)
{
        const struct core_module *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

/* Whether [start, end) meets a module of mods[0..n), sorted by start. */
static bool overlaps_module(const struct core_module *mods, size_t n, uint64_t start, uint64_t end)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (mods[mid].start < end)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        /* mods[0..lo) start below end; modules do not nest, so the last
         * few are the candidates. */
        for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
                if (mods[i - 1].end > start)
                        return true;
        return false;
}

/* "libfoo.so", "libfoo.so.1.2", "ld-2.25.so": a shared object's name. */
static bool shared_object_name(const char *path)
{
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *so = strstr(base, ".so");
        while (so) {
                if (so[3] == '\0' || so[3] == '.' || strncmp(so + 3, " (deleted)", 10) == 0)
                        return true;
                so = strstr(so + 1, ".so");
        }
        return false;
}

static bool not_a_file(const char *path)
{
        return strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/memfd:", 7) == 0 ||
               strncmp(path, "/SYSV", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
}

/* Files NT_FILE lists that libdwfl did not find: runs of entries with one
 * name; added when they look like code and meet no module found. */
static void add_mapped_files(struct collect *k)
{
        struct core *c = k->c;
        size_t found = k->out->count;
        for (size_t i = 0; i < c->nmaps;) {
                size_t j = i + 1;
                while (j < c->nmaps && strcmp(c->maps[j].name, c->maps[i].name) == 0)
                        j++;
                uint64_t start = c->maps[i].start, end = c->maps[i].end, first = UINT64_MAX;
                bool exec = false;
                for (size_t x = i; x < j; x++) {
                        const struct mapping *mp = &c->maps[x];
                        if (mp->end > end)
                                end = mp->end;
                        if (mp->pgoff == 0 && first == UINT64_MAX)
                                first = mp->start;
                        const struct load *l = load_at(c, mp->start);
                        if (l && (l->flags & PF_X))
                                exec = true;
                }
                const char *name = c->maps[i].name;
                if ((exec || shared_object_name(name)) && !not_a_file(name) &&
                    !overlaps_module(k->out->modules, found, start, end)) {
                        struct core_module *m = add_module(k);
                        if (!m)
                                return;
                        m->start = first != UINT64_MAX ? first : start;
                        m->end = end;
                        m->path = strdup(name);
                        if (!m->path) {
                                k->nomem = true;
                                return;
                        }
                }
                i = j;
        }
}

static const char *base_name(const char *p)
{
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

/* The main module: the one holding AT_ENTRY; else libdwfl's executable
 * ("[exe]", "[pie]" names it when nothing else does); else the one NT_FILE
 * or AT_EXECFN names; else the client's executable. */
static void mark_main(struct core *c, const struct collect *k, const char *execfn,
                      const char *hint)
{
        struct core_info *out = k->out;
        struct core_module *mods = out->modules;
        size_t n = out->count;
        if (c->have_entry)
                for (size_t i = 0; i < n; i++)
                        if (mods[i].start <= c->at_entry && c->at_entry < mods[i].end) {
                                mods[i].main = true;
                                return;
                        }
        if (k->have_exe)
                for (size_t i = 0; i < n; i++)
                        if (mods[i].start == k->exe_start) {
                                mods[i].main = true;
                                return;
                        }
        const char *names[] = { execfn, c->nmaps ? c->maps[0].name : NULL, hint };
        for (size_t x = 0; x < sizeof names / sizeof names[0]; x++) {
                if (!names[x] || names[x][0] != '/')
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (mods[i].path && strcmp(mods[i].path, names[x]) == 0) {
                                mods[i].main = true;
                                return;
                        }
        }
        /* The client's path may differ by a symlinked directory (/bin and
         * /usr/bin): its file name, when exactly one module has it. */
        if (hint && *base_name(hint)) {
                size_t hit = n, hits = 0;
                for (size_t i = 0; i < n; i++)
                        if (mods[i].path && strcmp(base_name(mods[i].path), base_name(hint)) == 0) {
                                hit = i;
                                hits++;
                        }
                if (hits == 1)
                        mods[hit].main = true;
        }
}

static int collect_modules(struct core *c, struct core_info *out, const char *hint,
                          struct error *err)
{
        const char *q = c->quoted;
        struct collect k = { .c = c, .out = out };
        char *execfn = NULL;
        int ret = 0;

        Dwfl *dwfl = dwfl_begin(&no_host_files);
        if (!dwfl)
                return error_set(err, ENOMEM, "cannot start libdwfl for core '%s': %s", q,
                                 dwfl_errmsg(-1));
        dwfl_report_begin(dwfl);
        char why[256] = "";
        if (dwfl_core_file_report(dwfl, c->elf, NULL) < 0)
                snprintf(why, sizeof why, "%s", dwfl_errmsg(-1));
        dwfl_report_end(dwfl, NULL, NULL);
        dwfl_getmodules(dwfl, each_module, &k, 0);
        dwfl_end(dwfl);
        if (k.nomem)
                goto nomem;
        if (k.too_many)
                goto too_many;
        if (out->count > 1)
                qsort(out->modules, out->count, sizeof *out->modules, module_cmp);

        add_mapped_files(&k);
        if (k.nomem)
                goto nomem;
        if (k.too_many)
                goto too_many;
        if (out->count == 0)
                return error_set(err, EINVAL,
                                 "no ELF module found in core '%s' (cut short or damaged?)%s%s",
                                 q, why[0] ? ": " : "", why);

        if (c->have_execfn)
                execfn = read_string(c, c->at_execfn);
        mark_main(c, &k, execfn, hint);
        if (out->count > 1)
                qsort(out->modules, out->count, sizeof *out->modules, module_cmp);

        const char *main_path = NULL;
        for (size_t i = 0; i < out->count; i++)
                if (out->modules[i].main)
                        main_path = out->modules[i].path;
        const char *exe = execfn && execfn[0] == '/' ? execfn
                        : main_path ? main_path
                        : execfn ? execfn
                        : hint;
        if (exe && !(out->executable = strdup(exe)))
                ret = error_set(err, ENOMEM, "out of memory for the modules of core '%s'", q);
        free(execfn);
        return ret;

nomem:
        return error_set(err, ENOMEM, "out of memory for the modules of core '%s'", q);
too_many:
        return error_set(err, E2BIG, "core '%s' maps more than %d modules", q, CORE_MAX_MODULES);
}

int core_analyze(const char *path, const char *executable, struct core_info *out,
                 struct error *err)
{
        memset(out, 0, sizeof *out);
        pthread_once(&elf_once, elf_init);
        if (!elf_ok)
                return error_set(err, EIO, "libelf does not support this ELF version");

        struct core c = { .path = path, .fd = -1 };
        error_quote(path, c.quoted);
        int r = core_open(&c, out, err);
        if (r == 0)
                r = collect_modules(&c, out, executable, err);

        if (c.elf)
                elf_end(c.elf);
        if (c.map)
                munmap((void *)c.map, c.size);
        if (c.fd >= 0)
                close(c.fd);
        free(c.loads);
        free(c.maps);
        if (r < 0)
                core_info_free(out);
        return r;
}

void core_info_free(struct core_info *info)
{
        if (!info)
                return;
        for (size_t i = 0; i < info->count; i++)
                free(info->modules[i].path);
        free(info->modules);
        free(info->executable);
        memset(info, 0, sizeof *info);
}

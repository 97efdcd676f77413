/* repoindex.c: the local repository's releases and their indexes.
 *
 * Two files per generation (see repoindex.h for the directory layout):
 *
 * packages.solv is a plain libsolv repository (repo_write) of every RPM
 * under Packages/, with full file lists, provides and requires, the
 * location "Packages/<file>" and two keys of our own (REPOINDEX_SOLV_KEY_SIZE
 * and REPOINDEX_SOLV_KEY_MTIME): the size and modification time of the file
 * when its header was read. The next update loads it and reads only the
 * files that are new or whose size or modification time changed.
 *
 * lookup.tbl is made from the same pool at update time and is all a reader
 * needs: it is mapped read-only, checked once, and searched in place, without
 * libsolv and without parsing. Its format, version 1:
 *
 *   All integers are in the byte order of the writing host; the header
 *   records it and a reader of the other byte order refuses the file. Every
 *   section starts at a multiple of 8 bytes.
 *
 *   header (152 bytes)
 *     char magic[8]         "RTLOOKUP"
 *     u32  version          1
 *     u32  byte_order       0x01020304 as written
 *     u32  header_size      152
 *     u32  section_count    7
 *     u64  file_size        the whole file, so truncation is noticed
 *     u64  generation       N of the .index-N directory it was written into
 *     {u64 offset, u64 count} sections[7], in this order:
 *
 *   STRINGS      count bytes of NUL-terminated strings. Byte 0 is NUL
 *                (offset 0 is ""), the last byte is NUL, so every offset
 *                below count is a terminated string inside the section.
 *                Equal strings are stored once.
 *   PACKAGES     count entries of 40 bytes, sorted by location:
 *                  u32 name, epoch, version, release, arch, location,
 *                      sourcerpm     string offsets (epoch "" when none,
 *                                    sourcerpm "" when none)
 *                  u32 flags         bit 0: a -debuginfo or -debugsource
 *                                    package; other bits are 0
 *                  u32 companions, ncompanions   a range of COMPANIONS
 *   COMPANIONS   count u32 package indexes: for each -debuginfo package the
 *                packages it needs besides itself (repoindex_debug_companions)
 *   NEVRA        \
 *   BUILD_ID_BINARY  > count keys of 16 bytes each, sorted by (hash, check,
 *   BUILD_ID_DEBUG   | package):
 *   PATHS        /     u64 hash    FNV-1a (64 bit) of the key string
 *                      u32 check   FNV-1a (32 bit) of the key string
 *                      u32 package index into PACKAGES
 *                The key string is the package name (NEVRA), the build-id in
 *                lower-case hex (BUILD_ID_*), or the absolute path (PATHS).
 *
 * Lookups are a binary search on the hash, then a walk over the equal
 * hashes. NEVRA candidates are verified against the package's own strings,
 * so NEVRA lookups are exact. Build-ids and paths are not stored as text
 * (that would more than double the table): a candidate must match both the
 * 64-bit hash and the independent 32-bit check, so a wrong answer needs a
 * 96-bit collision; at worst it costs a wrong extra candidate, which the
 * worker notices when the package's files do not carry that build-id.
 *
 * Which keys are made (at update time, from packages.solv):
 *   BUILD_ID_BINARY  file /usr/lib/.build-id/xx/yyyy (not ending in .debug)
 *   BUILD_ID_DEBUG   file /usr/lib/debug/.build-id/xx/yyyy.debug and
 *                    provides debuginfo(build-id) = <hex>. The links without
 *                    .debug there point at the binary; before Fedora 27 they
 *                    are the only build-id links of a binary at all, but the
 *                    debuginfo package does not ship the binary, so they give
 *                    no BUILD_ID_BINARY key (the worker falls back to the
 *                    mapped path).
 *                    A ".N" before the end (duplicate build-ids: yyyy.1,
 *                    yyyy.1.debug) is not part of the build-id.
 *   PATHS            every file of the file list (directories included),
 *                    except below /usr/share/doc, /usr/share/man,
 *                    /usr/share/locale, /usr/share/licenses, /usr/include and
 *                    /usr/src/debug, which no lookup needs.
 *
 * Damage: repoindex_open() checks the header (magic, version, byte order,
 * the file size it records) and every section's offset and count against
 * the file size, and that the string section starts and ends with a NUL;
 * anything wrong there is -EBADMSG. That is all it reads, so opening costs
 * the same for any release. Entries are checked when used: a string offset
 * outside the string section reads as "", a package index outside the
 * package table (in a key or a companion) is skipped, a companion range
 * outside its section gives none, unknown flag bits are ignored. So a
 * damaged entry gives a wrong or missing answer, never a read outside the
 * file. A published lookup.tbl is never modified in place (each update
 * writes a new generation), so a mapping stays valid while it is in use.
 *
 * An opened index is read-only: after repoindex_open() returns nothing in it
 * changes, so one index may serve several threads.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <solv/dataiterator.h>
#include <solv/evr.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/queue.h>
#include <solv/repo.h>
#include <solv/repo_rpmdb.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repodata.h>
#include <solv/solvable.h>
#include <solv/strpool.h>

#include "fsutil.h"
#include "release.h"
#include "repoindex.h"

#define FILE_MODE 0644
#define DIR_MODE 0755
#define GEN_PREFIX ".index-"
#define TMP_LINK_PREFIX ".index.tmp."
#define OPEN_ATTEMPTS 5
#define BUILD_ID_HEX_MAX 128    /* 64 bytes; GNU ld writes 8 to 20 */

/* ---- the table format ------------------------------------------------------ */

#define TBL_MAGIC "RTLOOKUP"
#define TBL_VERSION 1u
#define TBL_BYTE_ORDER 0x01020304u
#define TBL_FLAG_DEBUGINFO 1u

enum tbl_section_id {
        SEC_STRINGS,
        SEC_PACKAGES,
        SEC_COMPANIONS,
        SEC_NEVRA,
        SEC_BUILD_ID_BINARY,
        SEC_BUILD_ID_DEBUG,
        SEC_PATHS,
        SEC_COUNT
};

struct tbl_section {
        uint64_t offset, count;
};

struct tbl_header {
        char magic[8];
        uint32_t version;
        uint32_t byte_order;
        uint32_t header_size;
        uint32_t section_count;
        uint64_t file_size;
        uint64_t generation;
        struct tbl_section sections[SEC_COUNT];
};

struct tbl_package {
        uint32_t name, epoch, version, release, arch, location, sourcerpm;
        uint32_t flags;
        uint32_t companions, ncompanions;
};

struct tbl_key {
        uint64_t hash;
        uint32_t check;
        uint32_t pkg;
};

_Static_assert(sizeof(struct tbl_header) == 152, "header layout");
_Static_assert(sizeof(struct tbl_package) == 40, "package layout");
_Static_assert(sizeof(struct tbl_key) == 16, "key layout");

static const size_t entry_size[SEC_COUNT] = {
        [SEC_STRINGS] = 1,
        [SEC_PACKAGES] = sizeof(struct tbl_package),
        [SEC_COMPANIONS] = sizeof(uint32_t),
        [SEC_NEVRA] = sizeof(struct tbl_key),
        [SEC_BUILD_ID_BINARY] = sizeof(struct tbl_key),
        [SEC_BUILD_ID_DEBUG] = sizeof(struct tbl_key),
        [SEC_PATHS] = sizeof(struct tbl_key),
};

static uint64_t key_hash(const char *s, size_t len)
{
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static uint32_t key_check(const char *s, size_t len)
{
        uint32_t h = UINT32_C(0x811c9dc5);
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= UINT32_C(0x01000193);
        }
        return h;
}

/* ---- helpers ------------------------------------------------------------- */

static void quiet_debug(Pool *pool, void *data, int type, const char *str)
{
        /* libsolv prints errors on its own unless a callback takes them;
         * they reach us through pool_errstr() instead. */
        (void)pool;
        (void)data;
        (void)type;
        (void)str;
}

/* The libsolv architecture whose policy covers a release's packages. */
static const char *pool_arch_of(const char *release_id)
{
        static const struct {
                const char *release, *pool;
        } map[] = {
                { "i386", "i686" },     /* ABRT's name; packages are i686 */
                { "armhfp", "armv7hl" },
        };
        const char *arch = strrchr(release_id, '-');
        arch = arch ? arch + 1 : release_id;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (strcmp(arch, map[i].release) == 0)
                        return map[i].pool;
        return arch;
}

static int quiet_pool_new(const char *release_id, Pool **out,
                          struct error *err)
{
        Pool *pool = pool_create();
        /* Debian's libsolv defaults to Debian semantics; this must come
         * before pool_setarch() (noarch, version comparison). */
        if (pool_setdisttype(pool, DISTTYPE_RPM) < 0) {
                pool_free(pool);
                *out = NULL;
                return error_set(err, ENOTSUP, "cannot use libsolv: it was "
                                 "built without RPM semantics");
        }
        pool_setdebugcallback(pool, quiet_debug, NULL);
        pool_setdebugmask(pool, 0);
        pool_setarch(pool, pool_arch_of(release_id));
        *out = pool;
        return 0;
}

static int path_fmt(char *buf, size_t len, const char *a, const char *b,
                    const char *c)
{
        int n = c ? snprintf(buf, len, "%s/%s/%s", a, b, c)
                  : snprintf(buf, len, "%s/%s", a, b);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* libsolv's messages often start with the file name we already quote. */
static const char *solv_reason(Pool *pool, const char *path)
{
        const char *msg = pool_errstr(pool);
        size_t len = strlen(path);
        if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
                return msg + len + 2;
        return msg;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t len = strlen(s), slen = strlen(suffix);
        return len >= slen && memcmp(s + len - slen, suffix, slen) == 0;
}

static bool is_debug_name(const char *name)
{
        return ends_with(name, "-debuginfo") || ends_with(name, "-debugsource");
}

/* ".index-N" with N a decimal number from 1 up, without leading zeros. */
static bool parse_gen_name(const char *name, uint64_t *gen)
{
        if (strncmp(name, GEN_PREFIX, strlen(GEN_PREFIX)) != 0)
                return false;
        const char *p = name + strlen(GEN_PREFIX);
        if (*p < '1' || *p > '9')
                return false;
        uint64_t n = 0;
        for (; *p; p++) {
                if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
                        return false;
                n = n * 10 + (uint64_t)(*p - '0');
        }
        *gen = n;
        return true;
}

static int rel_dir_of(const char *repo_dir, const char *release_id, const char *what,
                      char *buf, size_t len, struct error *err)
{
        char q[QUOTE_BUF];
        if (!release_id || !release_id_valid(release_id))
                return error_set(err, EINVAL, "cannot %s the index of release '%s': "
                                 "not a valid release id", what,
                                 error_quote(release_id ? release_id : "", q));
        if (path_fmt(buf, len, repo_dir, release_id, NULL) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'",
                                 repo_dir, release_id);
        return 0;
}

/* ---- releases ------------------------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
        return strcmp((const char *)a, (const char *)b);
}

static bool has_index(int dir_fd, const char *name)
{
        char rel[RELEASE_ID_MAX + sizeof "/" REPOINDEX_LINK "/" REPOINDEX_TABLES];
        struct stat st;
        if (snprintf(rel, sizeof rel, "%s/" REPOINDEX_LINK "/" REPOINDEX_TABLES,
                     name) >= (int)sizeof rel)
                return false;
        return fstatat(dir_fd, rel, &st, 0) == 0 && S_ISREG(st.st_mode);
}

int repo_list_releases(const char *repo_dir, struct release_list *out,
                       struct error *err)
{
        typedef char id_buf[sizeof *out->ids];

        out->count = 0;
        out->ids = NULL;

        DIR *dir = opendir(repo_dir);
        if (!dir) {
                if (errno == ENOENT)
                        return 0;
                return error_set_errno(err, errno,
                                       "cannot open repository directory '%s'",
                                       repo_dir);
        }

        id_buf *ids = NULL;
        size_t count = 0, alloc = 0;
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(dir);
                if (!de) {
                        if (errno)
                                r = error_set_errno(err, errno, "cannot read "
                                                    "repository directory '%s'",
                                                    repo_dir);
                        break;
                }
                const char *name = de->d_name;
                if (strlen(name) >= sizeof(id_buf) || !release_id_valid(name) ||
                    !has_index(dirfd(dir), name))
                        continue;
                if (count == REPOINDEX_MAX_RELEASES) {
                        r = error_set(err, E2BIG,
                                      "cannot list releases in '%s': more than %d "
                                      "release directories hold an index",
                                      repo_dir, REPOINDEX_MAX_RELEASES);
                        break;
                }
                if (count == alloc) {
                        size_t n = alloc ? alloc * 2 : 16;
                        id_buf *p = realloc(ids, n * sizeof *ids);
                        if (!p) {
                                r = error_set_errno(err, ENOMEM,
                                                    "cannot list releases in '%s'",
                                                    repo_dir);
                                break;
                        }
                        ids = p;
                        alloc = n;
                }
                memcpy(ids[count++], name, strlen(name) + 1);
        }
        closedir(dir);

        if (r < 0) {
                free(ids);
                return r;
        }
        if (count)
                qsort(ids, count, sizeof *ids, cmp_id);
        out->count = count;
        out->ids = ids;
        return 0;
}

void release_list_free(struct release_list *list)
{
        if (!list)
                return;
        free(list->ids);
        list->ids = NULL;
        list->count = 0;
}

bool release_list_contains(const struct release_list *list, const char *id)
{
        if (!list || !list->count || !id)
                return false;
        return bsearch(id, list->ids, list->count, sizeof *list->ids, cmp_id) != NULL;
}

/* ---- reading -------------------------------------------------------------- */

struct repoindex {
        const unsigned char *map;
        size_t size;
        const char *strings;
        uint64_t nstrings;                      /* bytes */
        const struct tbl_package *pkgs;
        uint32_t npkgs;
        const uint32_t *companions;
        uint64_t ncompanions;
        const struct tbl_key *keys[SEC_COUNT];  /* the key sections */
        uint64_t nkeys[SEC_COUNT];
        uint64_t generation;
        dev_t dev;                              /* of the generation directory */
        ino_t ino;
        char link[PATH_MAX];                    /* RepoDir/<release>/index */
};

/* Checks a mapped table (see the top of this file) and fills idx's views of
 * it. On failure why says what is wrong. */
static int tbl_parse(struct repoindex *idx, const unsigned char *map, size_t size,
                     char *why, size_t why_len)
{
        struct tbl_header h;
        if (size < sizeof h) {
                snprintf(why, why_len, "%zu bytes, shorter than its header", size);
                return -EBADMSG;
        }
        memcpy(&h, map, sizeof h);
        if (memcmp(h.magic, TBL_MAGIC, sizeof h.magic) != 0) {
                snprintf(why, why_len, "not a lookup table");
                return -EBADMSG;
        }
        if (h.byte_order != TBL_BYTE_ORDER) {
                snprintf(why, why_len, "written on a host of another byte order");
                return -EBADMSG;
        }
        if (h.version != TBL_VERSION) {
                snprintf(why, why_len, "format version %" PRIu32 ", expected %u",
                         h.version, TBL_VERSION);
                return -EBADMSG;
        }
        if (h.header_size != sizeof h || h.section_count != SEC_COUNT) {
                snprintf(why, why_len, "header of %" PRIu32 " bytes with %" PRIu32
                         " sections", h.header_size, h.section_count);
                return -EBADMSG;
        }
        if (h.file_size != size) {
                snprintf(why, why_len, "%zu bytes, its header says %" PRIu64
                         " (truncated?)", size, h.file_size);
                return -EBADMSG;
        }
        for (int i = 0; i < SEC_COUNT; i++) {
                uint64_t off = h.sections[i].offset, count = h.sections[i].count;
                if (off % 8 || off < sizeof h || off > size ||
                    count > (size - off) / entry_size[i]) {
                        snprintf(why, why_len, "section %d (%" PRIu64 " entries at %"
                                 PRIu64 ") lies outside the file", i, count, off);
                        return -EBADMSG;
                }
        }

        idx->map = map;
        idx->size = size;
        idx->generation = h.generation;
        idx->strings = (const char *)map + h.sections[SEC_STRINGS].offset;
        idx->nstrings = h.sections[SEC_STRINGS].count;
        if (idx->nstrings == 0 || idx->strings[0] != '\0' ||
            idx->strings[idx->nstrings - 1] != '\0') {
                snprintf(why, why_len, "string section not terminated");
                return -EBADMSG;
        }
        if (h.sections[SEC_PACKAGES].count >= UINT32_MAX) {
                snprintf(why, why_len, "too many packages");
                return -EBADMSG;
        }
        idx->pkgs = (const struct tbl_package *)(map + h.sections[SEC_PACKAGES].offset);
        idx->npkgs = (uint32_t)h.sections[SEC_PACKAGES].count;
        idx->companions = (const uint32_t *)(map + h.sections[SEC_COMPANIONS].offset);
        idx->ncompanions = h.sections[SEC_COMPANIONS].count;
        for (int i = SEC_NEVRA; i < SEC_COUNT; i++) {
                idx->keys[i] = (const struct tbl_key *)(map + h.sections[i].offset);
                idx->nkeys[i] = h.sections[i].count;
        }
        return 0;
}

/* Every entry of a table tbl_parse() accepted: what readers check on use,
 * all at once. For the writer, which repairs a damaged table. */
static bool tbl_entries_sound(const struct repoindex *idx)
{
        for (uint32_t i = 0; i < idx->npkgs; i++) {
                const struct tbl_package *p = &idx->pkgs[i];
                if (p->name >= idx->nstrings || p->epoch >= idx->nstrings ||
                    p->version >= idx->nstrings || p->release >= idx->nstrings ||
                    p->arch >= idx->nstrings || p->location >= idx->nstrings ||
                    p->sourcerpm >= idx->nstrings || (p->flags & ~TBL_FLAG_DEBUGINFO) ||
                    (uint64_t)p->companions + p->ncompanions > idx->ncompanions)
                        return false;
        }
        for (uint64_t i = 0; i < idx->ncompanions; i++)
                if (idx->companions[i] >= idx->npkgs)
                        return false;
        for (int sec = SEC_NEVRA; sec < SEC_COUNT; sec++) {
                const struct tbl_key *k = idx->keys[sec];
                for (uint64_t i = 0; i < idx->nkeys[sec]; i++)
                        if (k[i].pkg >= idx->npkgs || (i && k[i].hash < k[i - 1].hash))
                                return false;
        }
        return true;
}

/* Maps and checks dir_fd/lookup.tbl. -ENOENT (errno) when it is missing. */
static int tbl_map(int dir_fd, const char *dir_path, struct repoindex *idx,
                   struct error *err)
{
        int fd = openat(dir_fd, REPOINDEX_TABLES, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot open '%s/%s'", dir_path,
                                       REPOINDEX_TABLES);
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = errno;
                close(fd);
                return error_set_errno(err, e, "cannot open '%s/%s'", dir_path,
                                       REPOINDEX_TABLES);
        }
        if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct tbl_header) ||
            (uint64_t)st.st_size > SIZE_MAX) {
                close(fd);
                return error_set(err, EBADMSG, "damaged index '%s/%s': %s", dir_path,
                                 REPOINDEX_TABLES, S_ISREG(st.st_mode)
                                 ? "shorter than its header" : "not a regular file");
        }
        size_t size = (size_t)st.st_size;
        void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        int e = errno;
        close(fd);
        if (map == MAP_FAILED)
                return error_set_errno(err, e, "cannot map '%s/%s'", dir_path,
                                       REPOINDEX_TABLES);
        char why[160];
        if (tbl_parse(idx, map, size, why, sizeof why) < 0) {
                munmap(map, size);
                idx->map = NULL;
                return error_set(err, EBADMSG, "damaged index '%s/%s': %s", dir_path,
                                 REPOINDEX_TABLES, why);
        }
        return 0;
}

int repoindex_open(const char *repo_dir, const char *release_id,
                   struct repoindex **out, struct error *err)
{
        *out = NULL;
        char rel_dir[PATH_MAX];
        int r = rel_dir_of(repo_dir, release_id, "open", rel_dir, sizeof rel_dir, err);
        if (r < 0)
                return r;

        struct repoindex *idx = calloc(1, sizeof *idx);
        if (!idx)
                return error_set_errno(err, ENOMEM, "cannot open the index of '%s'",
                                       rel_dir);
        if (path_fmt(idx->link, sizeof idx->link, rel_dir, REPOINDEX_LINK, NULL) < 0) {
                free(idx);
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'", rel_dir,
                                 REPOINDEX_LINK);
        }

        /* The directory once, then the table through it: the generation
         * cannot change in between. An update removes the old generation
         * after switching; losing that race is an ENOENT here, and the link
         * then leads to the new one. */
        for (int attempt = 0;; attempt++) {
                int dir_fd = open(idx->link, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd < 0) {
                        int e = errno;
                        free(idx);
                        if (e == ENOENT || e == ENOTDIR)
                                return error_set(err, ENOENT, "release '%s' is not "
                                                 "supported: no index '%s'", release_id,
                                                 rel_dir);
                        return error_set_errno(err, e, "cannot open index '%s'", rel_dir);
                }
                struct stat st;
                if (fstat(dir_fd, &st) < 0) {
                        r = error_set_errno(err, errno, "cannot open index '%s'",
                                            idx->link);
                } else {
                        idx->dev = st.st_dev;
                        idx->ino = st.st_ino;
                        r = tbl_map(dir_fd, idx->link, idx, err);
                }
                close(dir_fd);
                if (r == -ENOENT && attempt + 1 < OPEN_ATTEMPTS)
                        continue;
                break;
        }
        if (r < 0) {
                free(idx);
                if (r == -ENOENT)
                        return error_set(err, ENOENT, "release '%s' is not supported: "
                                         "no '%s/" REPOINDEX_LINK "/" REPOINDEX_TABLES "'",
                                         release_id, rel_dir);
                return r;
        }
        *out = idx;
        return 0;
}

void repoindex_free(struct repoindex *idx)
{
        if (!idx)
                return;
        if (idx->map)
                munmap((void *)idx->map, idx->size);
        free(idx);
}

bool repoindex_is_current(struct repoindex *idx)
{
        if (!idx)
                return false;
        char target[PATH_MAX];
        ssize_t n = readlink(idx->link, target, sizeof target - 1);
        if (n < 0)
                return false;
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        base = base ? base + 1 : target;
        uint64_t gen;
        struct stat st;
        return parse_gen_name(base, &gen) && gen == idx->generation &&
               stat(idx->link, &st) == 0 && st.st_dev == idx->dev &&
               st.st_ino == idx->ino;
}

size_t repoindex_package_count(const struct repoindex *idx)
{
        return idx ? idx->npkgs : 0;
}

static const char *tbl_str(const struct repoindex *idx, uint32_t off)
{
        return off < idx->nstrings ? idx->strings + off : "";
}

void repoindex_package(const struct repoindex *idx, repo_pkg pkg, struct repo_pkg_info *info)
{
        if (!idx || pkg >= idx->npkgs) {
                info->name = info->epoch = info->version = info->release = "";
                info->arch = info->location = info->sourcerpm = "";
                info->debuginfo = false;
                return;
        }
        const struct tbl_package *p = &idx->pkgs[pkg];
        info->name = tbl_str(idx, p->name);
        info->epoch = tbl_str(idx, p->epoch);
        info->version = tbl_str(idx, p->version);
        info->release = tbl_str(idx, p->release);
        info->arch = tbl_str(idx, p->arch);
        info->location = tbl_str(idx, p->location);
        info->sourcerpm = tbl_str(idx, p->sourcerpm);
        info->debuginfo = p->flags & TBL_FLAG_DEBUGINFO;
}

static const char *or_empty(const char *s)
{
        return s ? s : "";
}

/* Epochs compare as numbers: "", "0" and "00" are the same epoch. */
static bool epoch_equal(const char *a, const char *b)
{
        for (const char *p = a; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        for (const char *p = b; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        while (*a == '0')
                a++;
        while (*b == '0')
                b++;
        return strcmp(a, b) == 0;
}

/* The first key of section sec with this hash, or the section's end. */
static uint64_t key_first(const struct repoindex *idx, int sec, uint64_t hash)
{
        const struct tbl_key *k = idx->keys[sec];
        uint64_t lo = 0, hi = idx->nkeys[sec];
        while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (k[mid].hash < hash)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

typedef bool (*key_verify)(const struct repoindex *idx, const struct tbl_package *p,
                           const void *data);

/* Packages whose key in section sec is the len bytes at s and which verify
 * accepts (NULL: all). */
static size_t key_find(const struct repoindex *idx, int sec, const char *s, size_t len,
                       key_verify verify, const void *data, repo_pkg *out, size_t max)
{
        if (!idx)
                return 0;
        uint64_t hash = key_hash(s, len);
        uint32_t check = key_check(s, len);
        const struct tbl_key *k = idx->keys[sec];
        size_t found = 0;
        for (uint64_t i = key_first(idx, sec, hash); i < idx->nkeys[sec] &&
             k[i].hash == hash; i++) {
                if (k[i].check != check || k[i].pkg >= idx->npkgs)
                        continue;
                if (verify && !verify(idx, &idx->pkgs[k[i].pkg], data))
                        continue;
                if (out && found < max)
                        out[found] = k[i].pkg;
                found++;
        }
        return found;
}

static bool nevra_verify(const struct repoindex *idx, const struct tbl_package *p,
                         const void *data)
{
        const struct nevra *n = data;
        const char *arch = or_empty(n->arch);
        return strcmp(tbl_str(idx, p->name), n->name) == 0 &&
               strcmp(tbl_str(idx, p->version), or_empty(n->version)) == 0 &&
               strcmp(tbl_str(idx, p->release), or_empty(n->release)) == 0 &&
               epoch_equal(tbl_str(idx, p->epoch), or_empty(n->epoch)) &&
               (!arch[0] || strcmp(tbl_str(idx, p->arch), arch) == 0);
}

size_t repoindex_find_nevra(const struct repoindex *idx, const struct nevra *n,
                            repo_pkg *out, size_t max)
{
        if (!idx || !n || !n->name || !n->name[0])
                return 0;
        return key_find(idx, SEC_NEVRA, n->name, strlen(n->name), nevra_verify, n,
                        out, max);
}

bool repoindex_has_package(const struct repoindex *idx, const struct nevra *n)
{
        return repoindex_find_nevra(idx, n, NULL, 0) > 0;
}

size_t repoindex_find_build_id(const struct repoindex *idx, const char *build_id,
                               enum build_id_kind kind, repo_pkg *out, size_t max)
{
        if (!idx || !build_id || (kind != BUILD_ID_BINARY && kind != BUILD_ID_DEBUG))
                return 0;
        char hex[BUILD_ID_HEX_MAX + 1];
        size_t len = 0;
        for (; build_id[len]; len++) {
                char c = build_id[len];
                if (len == BUILD_ID_HEX_MAX)
                        return 0;
                if (c >= 'A' && c <= 'F')
                        c = (char)(c - 'A' + 'a');
                else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return 0;
                hex[len] = c;
        }
        if (len < 2)
                return 0;
        return key_find(idx, kind == BUILD_ID_BINARY ? SEC_BUILD_ID_BINARY
                                                     : SEC_BUILD_ID_DEBUG,
                        hex, len, NULL, NULL, out, max);
}

size_t repoindex_find_path(const struct repoindex *idx, const char *path,
                           repo_pkg *out, size_t max)
{
        /* Verified by the hash and the check only (see the top of this
         * file): the paths themselves are not in the table. */
        if (!idx || !path || path[0] != '/')
                return 0;
        return key_find(idx, SEC_PATHS, path, strlen(path), NULL, NULL, out, max);
}

size_t repoindex_debug_companions(const struct repoindex *idx, repo_pkg debuginfo,
                                  repo_pkg *out, size_t max)
{
        if (!idx || debuginfo >= idx->npkgs)
                return 0;
        const struct tbl_package *p = &idx->pkgs[debuginfo];
        uint64_t start = p->companions, n = p->ncompanions;
        if (start > idx->ncompanions || n > idx->ncompanions - start)
                return 0;
        size_t found = 0;
        for (uint64_t i = 0; i < n; i++) {
                uint32_t c = idx->companions[start + i];
                if (c >= idx->npkgs)
                        continue;
                if (out && found < max)
                        out[found] = c;
                found++;
        }
        return found;
}

/* ---- writing: the package files ------------------------------------------ */

struct pkg_file {
        char *name;
        uint64_t size, mtime;
};

struct file_list {
        struct pkg_file *v;
        size_t n, alloc;
};

static void file_list_free(struct file_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].name);
        free(l->v);
        memset(l, 0, sizeof *l);
}

static int cmp_file(const void *a, const void *b)
{
        return strcmp(((const struct pkg_file *)a)->name, ((const struct pkg_file *)b)->name);
}

static bool is_rpm_name(const char *name)
{
        size_t len = strlen(name);
        /* Hidden names are downloads in progress. */
        return name[0] != '.' && len > 4 && strcmp(name + len - 4, ".rpm") == 0;
}

static uint64_t mtime_ns(const struct stat *st)
{
        return (uint64_t)st->st_mtim.tv_sec * UINT64_C(1000000000) +
               (uint64_t)st->st_mtim.tv_nsec;
}

/* The *.rpm files of pkg_dir with their size and modification time, sorted,
 * so that the same directory always gives the same index. */
static int scan_packages(const char *pkg_dir, struct file_list *out,
                         struct error *err)
{
        DIR *dir = opendir(pkg_dir);
        if (!dir)
                return error_set_errno(err, errno,
                                       "cannot open package directory '%s'", pkg_dir);
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(dir);
                if (!de) {
                        if (errno)
                                r = error_set_errno(err, errno,
                                                    "cannot read package directory '%s'",
                                                    pkg_dir);
                        break;
                }
                if (!is_rpm_name(de->d_name))
                        continue;
                struct stat st;
                if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0) {
                        r = error_set_errno(err, errno, "cannot stat package '%s/%s'",
                                            pkg_dir, de->d_name);
                        break;
                }
                if (!S_ISREG(st.st_mode)) {
                        r = error_set(err, EINVAL,
                                      "cannot index package '%s/%s': not a regular file",
                                      pkg_dir, de->d_name);
                        break;
                }
                if (out->n == out->alloc) {
                        size_t n = out->alloc ? out->alloc * 2 : 256;
                        struct pkg_file *v = realloc(out->v, n * sizeof *v);
                        if (!v) {
                                r = error_set_errno(err, ENOMEM,
                                                    "cannot list packages in '%s'", pkg_dir);
                                break;
                        }
                        out->v = v;
                        out->alloc = n;
                }
                char *name = strdup(de->d_name);
                if (!name) {
                        r = error_set_errno(err, ENOMEM, "cannot list packages in '%s'",
                                            pkg_dir);
                        break;
                }
                out->v[out->n++] = (struct pkg_file){ name, (uint64_t)st.st_size,
                                                      mtime_ns(&st) };
        }
        closedir(dir);
        if (r < 0) {
                file_list_free(out);
                return r;
        }
        if (out->n)
                qsort(out->v, out->n, sizeof *out->v, cmp_file);
        return 0;
}

static uint32_t be32(const unsigned char *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* NULL when the file is long enough for the headers its lead and signature
 * announce (or is no RPM at all, which repo_add_rpm() says better); else
 * why not. libsolv 0.7.23 leaks the header buffer when the main header is
 * cut short, so such files never reach it. */
static const char *rpm_cut_short(const char *path, uint64_t size)
{
        unsigned char lead[96 + 16], head[16];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        const char *why = NULL;
        if (pread(fd, lead, sizeof lead, 0) == (ssize_t)sizeof lead &&
            be32(lead) == 0xedabeedb && be32(lead + 96) == 0x8eade801) {
                uint64_t sigcnt = be32(lead + 96 + 8), sigdsize = be32(lead + 96 + 12);
                uint64_t start = sizeof lead + sigcnt * 16 + sigdsize + (8 - sigdsize % 8) % 8;
                if (start + sizeof head > size ||
                    pread(fd, head, sizeof head, (off_t)start) != (ssize_t)sizeof head)
                        why = "cut short in its signature";
                else if (be32(head) == 0x8eade801 &&
                         start + sizeof head + (uint64_t)be32(head + 8) * 16 + be32(head + 12) > size)
                        why = "cut short in its header";
        }
        close(fd);
        return why;
}

/* ---- writing: the tables ---------------------------------------------------- */

struct keyvec {
        struct tbl_key *v;
        size_t n, alloc;
};

struct tables {
        char *strings;
        size_t nstrings, astrings;
        uint32_t *slots;                /* hash set of string offsets + 1; 0: free */
        size_t nslots, nused;
        struct tbl_package *pkgs;
        size_t npkgs;
        uint32_t *companions;
        size_t ncompanions, acompanions;
        struct keyvec keys[SEC_COUNT];
};

static void tables_free(struct tables *t)
{
        free(t->strings);
        free(t->slots);
        free(t->pkgs);
        free(t->companions);
        for (int i = 0; i < SEC_COUNT; i++)
                free(t->keys[i].v);
        memset(t, 0, sizeof *t);
}

static int grow(void **v, size_t *alloc, size_t need, size_t size)
{
        if (need <= *alloc)
                return 0;
        size_t n = *alloc ? *alloc : 64;
        while (n < need) {
                if (n > SIZE_MAX / 2 / size)
                        return -ENOMEM;
                n *= 2;
        }
        void *p = realloc(*v, n * size);
        if (!p)
                return -ENOMEM;
        *v = p;
        *alloc = n;
        return 0;
}

static void slot_put(uint32_t *slots, size_t nslots, uint64_t hash, uint32_t value)
{
        size_t i = (size_t)hash & (nslots - 1);
        while (slots[i])
                i = (i + 1) & (nslots - 1);
        slots[i] = value;
}

/* The offset of s[0..len) in the string section, stored once. s must not
 * point into the section itself. (Not libsolv's string pool: adding to it
 * may move the strings that pointers from it refer to.) */
static int intern(struct tables *t, const char *s, size_t len, uint32_t *off)
{
        if (len == 0) {
                *off = 0;
                return 0;
        }
        uint64_t hash = key_hash(s, len);
        if (t->nslots) {
                for (size_t i = (size_t)hash & (t->nslots - 1); t->slots[i];
                     i = (i + 1) & (t->nslots - 1)) {
                        const char *have = t->strings + t->slots[i] - 1;
                        if (memcmp(have, s, len) == 0 && have[len] == '\0') {
                                *off = t->slots[i] - 1;
                                return 0;
                        }
                }
        }
        if (t->nstrings + len + 1 >= UINT32_MAX)
                return -E2BIG;
        if ((t->nused + 1) * 2 > t->nslots) {
                size_t n = t->nslots ? t->nslots * 2 : 4096;
                uint32_t *slots = calloc(n, sizeof *slots);
                if (!slots)
                        return -ENOMEM;
                for (size_t i = 0; i < t->nslots; i++)
                        if (t->slots[i]) {
                                const char *str = t->strings + t->slots[i] - 1;
                                slot_put(slots, n, key_hash(str, strlen(str)), t->slots[i]);
                        }
                free(t->slots);
                t->slots = slots;
                t->nslots = n;
        }
        if (grow((void **)&t->strings, &t->astrings, t->nstrings + len + 1, 1) < 0)
                return -ENOMEM;
        memcpy(t->strings + t->nstrings, s, len);
        t->strings[t->nstrings + len] = '\0';
        *off = (uint32_t)t->nstrings;
        slot_put(t->slots, t->nslots, hash, *off + 1);
        t->nused++;
        t->nstrings += len + 1;
        return 0;
}

static int intern_str(struct tables *t, const char *s, uint32_t *off)
{
        return intern(t, s ? s : "", s ? strlen(s) : 0, off);
}

static int key_add(struct tables *t, int sec, const char *s, size_t len, uint32_t pkg)
{
        struct keyvec *kv = &t->keys[sec];
        if (grow((void **)&kv->v, &kv->alloc, kv->n + 1, sizeof *kv->v) < 0)
                return -ENOMEM;
        kv->v[kv->n++] = (struct tbl_key){ key_hash(s, len), key_check(s, len), pkg };
        return 0;
}

static int cmp_key(const void *a, const void *b)
{
        const struct tbl_key *x = a, *y = b;
        if (x->hash != y->hash)
                return x->hash < y->hash ? -1 : 1;
        if (x->check != y->check)
                return x->check < y->check ? -1 : 1;
        return x->pkg < y->pkg ? -1 : x->pkg > y->pkg;
}

static void keys_sort_unique(struct keyvec *kv)
{
        if (!kv->n)
                return;
        qsort(kv->v, kv->n, sizeof *kv->v, cmp_key);
        size_t o = 1;
        for (size_t i = 1; i < kv->n; i++)
                if (cmp_key(&kv->v[i], &kv->v[o - 1]) != 0)
                        kv->v[o++] = kv->v[i];
        kv->n = o;
}

static bool is_hex(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* The build-id of a link path below prefix: "xx/yyyy[.N][suffix]" gives
 * "xxyyyy" in buf. */
static size_t build_id_of_link(const char *path, const char *prefix, const char *suffix,
                               char *buf)
{
        size_t plen = strlen(prefix), slen = suffix ? strlen(suffix) : 0;
        size_t len = strlen(path);
        if (strncmp(path, prefix, plen) != 0)
                return 0;
        const char *p = path + plen;
        len -= plen;
        if (slen) {
                if (len < slen || memcmp(p + len - slen, suffix, slen) != 0)
                        return 0;
                len -= slen;
        }
        /* yyyy.1, yyyy.2: rpm's names for a second file with one build-id */
        size_t dot = len;
        while (dot > 0 && p[dot - 1] >= '0' && p[dot - 1] <= '9')
                dot--;
        if (dot > 0 && dot < len && p[dot - 1] == '.')
                len = dot - 1;
        if (len < 4 || len - 1 > BUILD_ID_HEX_MAX || p[2] != '/' || !is_hex(p, 2) ||
            !is_hex(p + 3, len - 3))
                return 0;
        memcpy(buf, p, 2);
        memcpy(buf + 2, p + 3, len - 3);
        return len - 1;
}

static bool path_indexed(const char *path)
{
        static const char *const skip[] = {
                "/usr/share/doc", "/usr/share/man", "/usr/share/locale",
                "/usr/share/licenses", "/usr/include", "/usr/src/debug",
        };
        for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
                size_t len = strlen(skip[i]);
                if (strncmp(path, skip[i], len) == 0 && (path[len] == '\0' || path[len] == '/'))
                        return false;
        }
        return true;
}

/* The directory names of one repodata, each made once. libsolv's
 * repodata_dir2str() finds a directory's parent by walking back through its
 * block of siblings, for every file: quadratic over a release's millions of
 * files, where /usr/share or /usr/src/debug have thousands of children. The
 * dirpool is a list of blocks, each a header -parent followed by the
 * component names of that parent's children, so one pass gives every
 * parent. */
struct dir_names {
        Repodata *data;
        Id *parent;             /* -1: a block header, not a directory */
        char **name;            /* made on first use */
        int n;
};

struct dir_cache {
        struct dir_names *v;
        int n;
};

static void dir_cache_free(struct dir_cache *c)
{
        for (int i = 0; i < c->n; i++) {
                for (int j = 0; c->v[i].name && j < c->v[i].n; j++)
                        free(c->v[i].name[j]);
                free(c->v[i].name);
                free(c->v[i].parent);
        }
        free(c->v);
        memset(c, 0, sizeof *c);
}

static struct dir_names *dir_names_of(struct dir_cache *c, Repodata *data)
{
        for (int i = 0; i < c->n; i++)
                if (c->v[i].data == data)
                        return &c->v[i];
        struct dir_names *v = realloc(c->v, (size_t)(c->n + 1) * sizeof *v);
        if (!v)
                return NULL;
        c->v = v;
        struct dir_names *dn = &v[c->n];
        const Dirpool *dp = &data->dirpool;
        int n = dp->ndirs > 0 ? dp->ndirs : 0;
        dn->data = data;
        dn->n = n;
        dn->parent = malloc((size_t)(n ? n : 1) * sizeof *dn->parent);
        dn->name = calloc((size_t)(n ? n : 1), sizeof *dn->name);
        if (!dn->parent || !dn->name) {
                free(dn->parent);
                free(dn->name);
                return NULL;
        }
        Id cur = 0;
        for (int i = 0; i < n; i++) {
                if (dp->dirs[i] <= 0) {
                        cur = -dp->dirs[i];
                        dn->parent[i] = -1;
                } else {
                        dn->parent[i] = cur;
                }
        }
        c->n++;
        return dn;
}

/* "/usr/lib64" for a directory id ("" for the root), NULL when unknown. */
static const char *dir_name(struct dir_names *dn, Id did)
{
        if (did <= 0 || did >= dn->n || dn->parent[did] < 0 || dn->parent[did] >= did)
                return NULL;
        if (dn->name[did])
                return dn->name[did];
        Id parent = dn->parent[did];
        const char *up = parent ? dir_name(dn, parent) : "";
        if (!up)
                return NULL;
        Repodata *data = dn->data;
        const char *comp = stringpool_id2str(data->localpool ? &data->spool
                                                             : &data->repo->pool->ss,
                                             data->dirpool.dirs[did]);
        size_t ulen = strlen(up), clen = strlen(comp);
        char *name = malloc(ulen + 1 + clen + 1);
        if (!name)
                return NULL;
        memcpy(name, up, ulen);
        size_t o = ulen;
        if (parent)
                name[o++] = '/';
        memcpy(name + o, comp, clen + 1);
        dn->name[did] = name;
        return name;
}

/* File and provides keys of the package at index pkg. */
static int add_package_keys(struct tables *t, struct dir_cache *dirs, Repo *repo, Id p,
                            uint32_t pkg, Id buildid_dep)
{
        Pool *pool = repo->pool;
        Solvable *s = pool->solvables + p;
        char hex[BUILD_ID_HEX_MAX + 1], path[2 * PATH_MAX];
        int r = 0;

        Dataiterator di;
        dataiterator_init(&di, pool, repo, p, SOLVABLE_FILELIST, 0, 0);
        while (r == 0 && dataiterator_step(&di)) {
                struct dir_names *dn = dir_names_of(dirs, di.data);
                if (!dn) {
                        r = -ENOMEM;
                        break;
                }
                const char *dir = dir_name(dn, di.kv.id);
                if (!dir || !di.kv.str ||
                    (size_t)snprintf(path, sizeof path, "%s/%s", dir, di.kv.str) >= sizeof path)
                        continue;
                if (path[0] != '/' || !path_indexed(path))
                        continue;
                size_t n;
                r = key_add(t, SEC_PATHS, path, strlen(path), pkg);
                if (r == 0 && !ends_with(path, ".debug") &&
                    (n = build_id_of_link(path, "/usr/lib/.build-id/", NULL, hex)))
                        r = key_add(t, SEC_BUILD_ID_BINARY, hex, n, pkg);
                if (r == 0 &&
                    (n = build_id_of_link(path, "/usr/lib/debug/.build-id/", ".debug", hex)))
                        r = key_add(t, SEC_BUILD_ID_DEBUG, hex, n, pkg);
        }
        dataiterator_free(&di);

        if (r == 0 && buildid_dep && s->provides) {
                for (Id *dp = repo->idarraydata + s->provides; r == 0 && *dp; dp++) {
                        if (!ISRELDEP(*dp))
                                continue;
                        Reldep *rd = GETRELDEP(pool, *dp);
                        if (rd->name != buildid_dep || rd->flags != REL_EQ ||
                            ISRELDEP(rd->evr))
                                continue;
                        const char *id = pool_id2str(pool, rd->evr);
                        size_t len = strlen(id);
                        if (len >= 2 && len <= BUILD_ID_HEX_MAX && is_hex(id, len))
                                r = key_add(t, SEC_BUILD_ID_DEBUG, id, len, pkg);
                }
        }
        return r;
}

/* A package of a repo and its location (Packages/x.rpm). */
struct solv_pkg {
        char *location;
        Id p;
};

static int cmp_solv_pkg(const void *a, const void *b)
{
        return strcmp(((const struct solv_pkg *)a)->location,
                      ((const struct solv_pkg *)b)->location);
}

static void solv_pkgs_free(struct solv_pkg *pkgs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(pkgs[i].location);
        free(pkgs);
}

/* The packages of repo sorted by location: the table's order, and what
 * an update compares the directory's files with. 0, or -ENOMEM. */
static int solv_pkgs_by_location(Repo *repo, struct solv_pkg **out, size_t *count)
{
        struct solv_pkg *pkgs = NULL;
        size_t n = 0;
        *out = NULL;
        *count = 0;
        if (repo->nsolvables > 0 && !(pkgs = calloc((size_t)repo->nsolvables, sizeof *pkgs)))
                return -ENOMEM;
        Id p;
        Solvable *s;
        FOR_REPO_SOLVABLES(repo, p, s) {
                unsigned int medianr;
                const char *loc = solvable_lookup_location(s, &medianr);
                if (n == (size_t)repo->nsolvables)
                        break;
                pkgs[n].location = strdup(loc ? loc : "");
                pkgs[n].p = p;
                if (!pkgs[n++].location) {
                        solv_pkgs_free(pkgs, n);
                        return -ENOMEM;
                }
        }
        if (n)
                qsort(pkgs, n, sizeof *pkgs, cmp_solv_pkg);
        *out = pkgs;
        *count = n;
        return 0;
}

struct name_entry {
        Id name;
        uint32_t pkg;
};

static int cmp_name_entry(const void *a, const void *b)
{
        const struct name_entry *x = a, *y = b;
        if (x->name != y->name)
                return x->name < y->name ? -1 : 1;
        return x->pkg < y->pkg ? -1 : x->pkg > y->pkg;
}

/* The source package's name of s, or NULL when it has none. */
static const char *source_name(Solvable *s)
{
        if (solvable_lookup_void(s, SOLVABLE_SOURCENAME))
                return pool_id2str(s->repo->pool, s->name);
        return solvable_lookup_str(s, SOLVABLE_SOURCENAME);
}

/* Puts candidate c (a package index) into chosen, one per name: the one
 * with the EVR of s, then the arch of s, then the highest EVR. */
static void choose(Pool *pool, const struct solv_pkg *pkgs, Solvable *s, Queue *chosen,
                   Id c)
{
        Solvable *cs = pool->solvables + pkgs[c].p;
        int rank = (cs->evr == s->evr) * 2 + (cs->arch == s->arch);
        for (int i = 0; i < chosen->count; i++) {
                Solvable *os = pool->solvables + pkgs[chosen->elements[i]].p;
                if (os->name != cs->name)
                        continue;
                int orank = (os->evr == s->evr) * 2 + (os->arch == s->arch);
                if (rank > orank ||
                    (rank == orank && pool_evrcmp(pool, cs->evr, os->evr, EVRCMP_COMPARE) > 0))
                        chosen->elements[i] = c;
                return;
        }
        queue_push(chosen, c);
}

/* What the -debuginfo package pkgs[i] needs: its -debugsource (by source
 * name, EVR and arch) and the -debuginfo/-debugsource packages providing
 * its Requires and Recommends (dwz). */
static void find_companions(Pool *pool, Repo *repo, const struct solv_pkg *pkgs,
                            const int32_t *index_of, const struct name_entry *names,
                            size_t npkgs, size_t i, Queue *out)
{
        Solvable *s = pool->solvables + pkgs[i].p;
        queue_empty(out);

        const char *src = source_name(s);
        if (src && *src) {
                char buf[NEVRA_MAX];
                Id name = 0;
                if ((size_t)snprintf(buf, sizeof buf, "%s-debugsource", src) < sizeof buf)
                        name = pool_str2id(pool, buf, 0);
                /* names is sorted by (name, package): the first of the name */
                size_t lo = 0, hi = name ? npkgs : 0;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (names[mid].name < name)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                const struct name_entry *e = names + lo;
                for (; name && e < names + npkgs && e->name == name; e++) {
                        Solvable *ds = pool->solvables + pkgs[e->pkg].p;
                        if (ds->evr == s->evr && ds->arch == s->arch)
                                choose(pool, pkgs, s, out, (Id)e->pkg);
                }
        }

        const Offset deps[] = { s->requires, s->recommends };
        for (size_t d = 0; d < sizeof deps / sizeof deps[0]; d++) {
                if (!deps[d])
                        continue;
                for (Id *dp = repo->idarraydata + deps[d]; *dp; dp++) {
                        if (*dp == SOLVABLE_PREREQMARKER)
                                continue;
                        Id q, qq;
                        FOR_PROVIDES(q, qq, *dp) {
                                if (q == pkgs[i].p || pool->solvables[q].repo != repo ||
                                    index_of[q] < 0 ||
                                    !is_debug_name(pool_id2str(pool, pool->solvables[q].name)))
                                        continue;
                                choose(pool, pkgs, s, out, index_of[q]);
                        }
                }
        }
}

static int split_evr(struct tables *t, const char *evr, struct tbl_package *tp)
{
        const char *p = evr;
        while (*p >= '0' && *p <= '9')
                p++;
        const char *vr = evr;
        int r = 0;
        if (p != evr && *p == ':') {
                r = intern(t, evr, (size_t)(p - evr), &tp->epoch);
                vr = p + 1;
        } else {
                tp->epoch = 0;
        }
        const char *dash = strrchr(vr, '-');
        if (r == 0 && dash) {
                r = intern(t, vr, (size_t)(dash - vr), &tp->version);
                if (r == 0)
                        r = intern_str(t, dash + 1, &tp->release);
        } else if (r == 0) {
                r = intern_str(t, vr, &tp->version);
                tp->release = 0;
        }
        return r;
}

/* Builds the tables of every package of repo (internalized, with
 * whatprovides made). */
static int tables_build(struct tables *t, Pool *pool, Repo *repo, struct error *err)
{
        struct solv_pkg *pkgs = NULL;
        int32_t *index_of = NULL;
        struct name_entry *names = NULL;
        struct dir_cache dirs = { 0 };
        Queue comp;
        queue_init(&comp);
        size_t n = 0;
        int r = 0;

        if (repo->nsolvables > 0)
                names = calloc((size_t)repo->nsolvables, sizeof *names);
        index_of = malloc((size_t)pool->nsolvables * sizeof *index_of);
        if ((repo->nsolvables > 0 && !names) || !index_of ||
            solv_pkgs_by_location(repo, &pkgs, &n) < 0) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < pool->nsolvables; i++)
                index_of[i] = -1;
        for (size_t i = 0; i < n; i++) {
                index_of[pkgs[i].p] = (int32_t)i;
                names[i] = (struct name_entry){ pool->solvables[pkgs[i].p].name, (uint32_t)i };
        }
        if (n)
                qsort(names, n, sizeof *names, cmp_name_entry);

        t->pkgs = calloc(n ? n : 1, sizeof *t->pkgs);
        if (!t->pkgs) {
                r = -ENOMEM;
                goto out;
        }
        t->npkgs = n;

        /* Nothing below adds to the pool: that could move its strings. */
        for (size_t i = 0; i < n; i++) {
                Solvable *s = pool->solvables + pkgs[i].p;
                struct tbl_package *tp = &t->pkgs[i];
                tp->companions = (uint32_t)t->ncompanions;
                if (!ends_with(pool_id2str(pool, s->name), "-debuginfo"))
                        continue;
                find_companions(pool, repo, pkgs, index_of, names, n, i, &comp);
                if (grow((void **)&t->companions, &t->acompanions,
                         t->ncompanions + (size_t)comp.count, sizeof *t->companions) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                for (int j = 0; j < comp.count; j++)
                        t->companions[t->ncompanions++] = (uint32_t)comp.elements[j];
                tp->ncompanions = (uint32_t)comp.count;
        }

        if (grow((void **)&t->strings, &t->astrings, 1, 1) < 0) {
                r = -ENOMEM;
                goto out;
        }
        t->strings[0] = '\0';
        t->nstrings = 1;
        Id buildid_dep = pool_str2id(pool, "debuginfo(build-id)", 0);
        for (size_t i = 0; i < n && r == 0; i++) {
                Solvable *s = pool->solvables + pkgs[i].p;
                struct tbl_package *tp = &t->pkgs[i];
                const char *name = pool_id2str(pool, s->name);
                r = intern_str(t, name, &tp->name);
                if (r == 0)
                        r = intern_str(t, pool_id2str(pool, s->arch), &tp->arch);
                if (r == 0)
                        r = split_evr(t, pool_id2str(pool, s->evr), tp);
                if (r == 0)
                        r = intern_str(t, pkgs[i].location, &tp->location);
                if (r == 0) {
                        /* pool temporary space: interned before the next call */
                        const char *srpm = solvable_lookup_sourcepkg(s);
                        r = intern_str(t, srpm, &tp->sourcerpm);
                }
                tp->flags = is_debug_name(name) ? TBL_FLAG_DEBUGINFO : 0;
                if (r == 0)
                        r = key_add(t, SEC_NEVRA, name, strlen(name), (uint32_t)i);
                if (r == 0)
                        r = add_package_keys(t, &dirs, repo, pkgs[i].p, (uint32_t)i,
                                             buildid_dep);
        }
        for (int i = SEC_NEVRA; i < SEC_COUNT; i++)
                keys_sort_unique(&t->keys[i]);

out:
        solv_pkgs_free(pkgs, n);
        free(names);
        free(index_of);
        queue_free(&comp);
        dir_cache_free(&dirs);
        if (r < 0)
                return error_set(err, -r, "cannot build the lookup tables: %s",
                                 r == -E2BIG ? "more than 4 GiB of strings"
                                             : strerror(-r));
        return 0;
}

static int write_pad(FILE *fp, uint64_t *pos)
{
        static const char zeros[8];
        size_t pad = (size_t)((8 - *pos % 8) % 8);
        if (pad && fwrite(zeros, 1, pad, fp) != pad)
                return -1;
        *pos += pad;
        return 0;
}

static int tables_write(const struct tables *t, uint64_t generation, FILE *fp)
{
        struct tbl_header h;
        memset(&h, 0, sizeof h);
        memcpy(h.magic, TBL_MAGIC, sizeof h.magic);
        h.version = TBL_VERSION;
        h.byte_order = TBL_BYTE_ORDER;
        h.header_size = sizeof h;
        h.section_count = SEC_COUNT;
        h.generation = generation;

        const void *data[SEC_COUNT] = {
                [SEC_STRINGS] = t->strings,
                [SEC_PACKAGES] = t->pkgs,
                [SEC_COMPANIONS] = t->companions,
        };
        h.sections[SEC_STRINGS].count = t->nstrings;
        h.sections[SEC_PACKAGES].count = t->npkgs;
        h.sections[SEC_COMPANIONS].count = t->ncompanions;
        for (int i = SEC_NEVRA; i < SEC_COUNT; i++) {
                data[i] = t->keys[i].v;
                h.sections[i].count = t->keys[i].n;
        }
        uint64_t pos = sizeof h;
        for (int i = 0; i < SEC_COUNT; i++) {
                pos = (pos + 7) & ~(uint64_t)7;
                h.sections[i].offset = pos;
                pos += h.sections[i].count * entry_size[i];
        }
        h.file_size = pos;

        pos = 0;
        if (fwrite(&h, sizeof h, 1, fp) != 1)
                return -1;
        pos += sizeof h;
        for (int i = 0; i < SEC_COUNT; i++) {
                if (write_pad(fp, &pos) < 0)
                        return -1;
                size_t len = (size_t)(h.sections[i].count * entry_size[i]);
                if (len && fwrite(data[i], 1, len, fp) != len)
                        return -1;
                pos += len;
        }
        return pos == h.file_size ? 0 : -1;
}

/* ---- writing: generations ------------------------------------------------ */

struct gen_names {
        char (*v)[32];
        size_t n, alloc;
};

/* The .index-N and .index.tmp.* entries of the release directory. */
static int list_generations(int rel_fd, struct gen_names *out, uint64_t *max_gen)
{
        int fd = openat(rel_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *dir = fdopendir(fd);
        if (!dir) {
                int e = errno;
                close(fd);
                return -e;
        }
        *max_gen = 0;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
                uint64_t gen;
                bool is_gen = parse_gen_name(de->d_name, &gen);
                if (!is_gen && strncmp(de->d_name, TMP_LINK_PREFIX,
                                       strlen(TMP_LINK_PREFIX)) != 0)
                        continue;
                if (strlen(de->d_name) >= sizeof *out->v)
                        continue;
                if (is_gen && gen > *max_gen)
                        *max_gen = gen;
                if (grow((void **)&out->v, &out->alloc, out->n + 1, sizeof *out->v) < 0) {
                        closedir(dir);
                        return -ENOMEM;
                }
                memcpy(out->v[out->n++], de->d_name, strlen(de->d_name) + 1);
        }
        closedir(dir);
        return 0;
}

/* Removes a generation directory (it holds files only). */
static int remove_generation(int rel_fd, const char *name)
{
        int fd = openat(rel_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                DIR *dir = fdopendir(fd);
                if (!dir) {
                        close(fd);
                } else {
                        struct dirent *de;
                        while ((de = readdir(dir)) != NULL)
                                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                        (void)unlinkat(dirfd(dir), de->d_name, 0);
                        closedir(dir);
                }
        }
        if (unlinkat(rel_fd, name, AT_REMOVEDIR) < 0 && errno == ENOTDIR)
                return unlinkat(rel_fd, name, 0);
        return 0;
}

/* Removes every generation but keep, and temporary links left by a writer
 * that died. The caller holds the lock. */
static void remove_stale(int rel_fd, uint64_t keep)
{
        struct gen_names names = { 0 };
        uint64_t max_gen;
        if (list_generations(rel_fd, &names, &max_gen) == 0) {
                for (size_t i = 0; i < names.n; i++) {
                        uint64_t gen;
                        if (!parse_gen_name(names.v[i], &gen))
                                (void)unlinkat(rel_fd, names.v[i], 0);
                        else if (gen != keep)
                                (void)remove_generation(rel_fd, names.v[i]);
                }
        }
        free(names.v);
}

/* The generation `index` names, 0 when none. */
static uint64_t current_generation(int rel_fd)
{
        char target[PATH_MAX];
        ssize_t n = readlinkat(rel_fd, REPOINDEX_LINK, target, sizeof target - 1);
        if (n < 0)
                return 0;
        target[n] = '\0';
        uint64_t gen;
        return strchr(target, '/') == NULL && parse_gen_name(target, &gen) ? gen : 0;
}

typedef int (*file_writer)(FILE *fp, const void *data);

/* Writes dir_fd/name through writer, fsynced. */
static int write_file_at(int dir_fd, const char *dir_path, const char *name,
                         file_writer writer, const void *data, struct error *err)
{
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot create '%s/%s'", dir_path, name);
        FILE *fp = fdopen(fd, "w");
        if (!fp) {
                int e = errno;
                close(fd);
                return error_set_errno(err, e, "cannot write '%s/%s'", dir_path, name);
        }
        int r = 0;
        errno = 0;
        if (writer(fp, data) != 0)
                r = error_set_errno(err, errno ? errno : EIO, "cannot write '%s/%s'",
                                    dir_path, name);
        else if (fflush(fp) != 0 || fchmod(fd, FILE_MODE) < 0 || fsync(fd) < 0)
                r = error_set_errno(err, errno, "cannot write '%s/%s'", dir_path, name);
        if (fclose(fp) != 0 && r == 0)
                r = error_set_errno(err, errno, "cannot write '%s/%s'", dir_path, name);
        return r;
}

static int solv_writer(FILE *fp, const void *data)
{
        return repo_write((Repo *)data, fp);
}

struct tables_out {
        const struct tables *t;
        uint64_t generation;
};

static int tables_writer(FILE *fp, const void *data)
{
        const struct tables_out *o = data;
        return tables_write(o->t, o->generation, fp);
}

/* Writes generation gen completely, then switches `index` to it. On failure
 * nothing of it is left. */
static int publish(int rel_fd, const char *rel_dir, uint64_t gen, Repo *repo,
                   const struct tables *t, struct error *err)
{
        char name[32], tmp[48], gen_path[PATH_MAX];
        snprintf(name, sizeof name, GEN_PREFIX "%" PRIu64, gen);
        snprintf(tmp, sizeof tmp, TMP_LINK_PREFIX "%ld", (long)getpid());
        if (path_fmt(gen_path, sizeof gen_path, rel_dir, name, NULL) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'", rel_dir, name);

        if (mkdirat(rel_fd, name, DIR_MODE) < 0)
                return error_set_errno(err, errno, "cannot create '%s'", gen_path);
        int r = 0;
        int gen_fd = openat(rel_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (gen_fd < 0) {
                r = error_set_errno(err, errno, "cannot open '%s'", gen_path);
                goto fail;
        }
        struct tables_out o = { t, gen };
        r = write_file_at(gen_fd, gen_path, REPOINDEX_SOLV, solv_writer, repo, err);
        if (r == 0)
                r = write_file_at(gen_fd, gen_path, REPOINDEX_TABLES, tables_writer, &o, err);
        if (r == 0 && (fchmod(gen_fd, DIR_MODE) < 0 || fsync(gen_fd) < 0))
                r = error_set_errno(err, errno, "cannot write '%s'", gen_path);
        close(gen_fd);
        if (r < 0)
                goto fail;

        (void)unlinkat(rel_fd, tmp, 0);
        if (symlinkat(name, rel_fd, tmp) < 0) {
                r = error_set_errno(err, errno, "cannot create '%s/%s'", rel_dir, tmp);
                goto fail;
        }
        if (renameat(rel_fd, tmp, rel_fd, REPOINDEX_LINK) < 0) {
                r = error_set_errno(err, errno, "cannot rename '%s/%s' to '%s/%s'",
                                    rel_dir, tmp, rel_dir, REPOINDEX_LINK);
                (void)unlinkat(rel_fd, tmp, 0);
                goto fail;
        }
        /* Make the switch durable; it has happened either way. */
        (void)fsync(rel_fd);
        return 0;

fail:
        (void)remove_generation(rel_fd, name);
        return r;
}

/* ---- writing: the update --------------------------------------------------- */

/* Loads the current generation's packages.solv into a new pool. False
 * (and an empty repository) when there is none or it is unreadable. */
static bool load_previous(int rel_fd, const char *release_id, Pool **pool, Repo **repo,
                          struct error *err, int *r)
{
        *r = quiet_pool_new(release_id, pool, err);
        if (*r < 0)
                return false;
        *repo = repo_create(*pool, release_id);
        int fd = openat(rel_fd, REPOINDEX_LINK "/" REPOINDEX_SOLV, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        FILE *fp = fdopen(fd, "r");
        if (!fp) {
                close(fd);
                return false;
        }
        int failed = repo_add_solv(*repo, fp, 0);
        fclose(fp);
        if (!failed)
                return true;
        /* Start from nothing: every package is read again. */
        pool_free(*pool);
        *r = quiet_pool_new(release_id, pool, err);
        if (*r == 0)
                *repo = repo_create(*pool, release_id);
        return false;
}

/* True when the current generation has a sound lookup table of this
 * format version. */
static bool have_tables(int rel_fd, const char *rel_dir)
{
        int fd = openat(rel_fd, REPOINDEX_LINK, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        struct repoindex idx;
        memset(&idx, 0, sizeof idx);
        bool ok = tbl_map(fd, rel_dir, &idx, NULL) == 0;
        close(fd);
        if (ok) {
                ok = tbl_entries_sound(&idx);
                munmap((void *)idx.map, idx.size);
        }
        return ok;
}

int repoindex_update(const char *repo_dir, const char *release_id,
                     struct repoindex_stats *stats, struct error *err)
{
        struct repoindex_stats st = { 0 };
        if (stats)
                *stats = st;

        char rel_dir[PATH_MAX], pkg_dir[PATH_MAX];
        int r = rel_dir_of(repo_dir, release_id, "update", rel_dir, sizeof rel_dir, err);
        if (r < 0)
                return r;
        if (path_fmt(pkg_dir, sizeof pkg_dir, rel_dir, REPOINDEX_PACKAGES, NULL) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'", rel_dir,
                                 REPOINDEX_PACKAGES);

        struct file_list files = { 0 };
        r = scan_packages(pkg_dir, &files, err);
        if (r < 0)
                return r;
        int rel_fd = open(rel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rel_fd < 0) {
                r = error_set_errno(err, errno, "cannot open '%s'", rel_dir);
                file_list_free(&files);
                return r;
        }

        Pool *pool = NULL;
        Repo *repo = NULL;
        struct solv_pkg *old = NULL;
        size_t nold = 0;
        struct tables t = { 0 };
        uint64_t cur_gen = current_generation(rel_fd);
        bool have_prev = load_previous(rel_fd, release_id, &pool, &repo, err, &r);
        if (r < 0)
                goto out;
        bool have_tbl = have_prev && have_tables(rel_fd, rel_dir);

        /* The packages indexed before, by location. */
        if (solv_pkgs_by_location(repo, &old, &nold) < 0) {
                r = error_set_errno(err, ENOMEM, "cannot update '%s'", rel_dir);
                goto out;
        }

        Id key_size = pool_str2id(pool, REPOINDEX_SOLV_KEY_SIZE, 1);
        Id key_mtime = pool_str2id(pool, REPOINDEX_SOLV_KEY_MTIME, 1);
        /* New headers go into the repodata loaded from packages.solv (or a
         * new one): one repodata with one directory pool. With two,
         * repo_write() merges their directory pools at a cost quadratic in
         * the number of children of a directory (minutes for a release).
         * Full file lists (no RPM_ADD_FILTERED_FILELIST): build-id links and
         * library paths are looked up. */
        const int flags = REPO_REUSE_REPODATA | REPO_NO_INTERNALIZE |
                          REPO_NO_LOCATION | RPM_ADD_NO_RPMLIBREQS;
        size_t i = 0, j = 0;
        while (i < nold || j < files.n) {
                char loc[PATH_MAX], path[PATH_MAX];
                if (j < files.n &&
                    (path_fmt(loc, sizeof loc, REPOINDEX_PACKAGES, files.v[j].name, NULL) < 0 ||
                     path_fmt(path, sizeof path, pkg_dir, files.v[j].name, NULL) < 0)) {
                        r = error_set(err, ENAMETOOLONG, "path too long: '%s/%s'",
                                      pkg_dir, files.v[j].name);
                        goto out;
                }
                int c = i == nold ? 1 : j == files.n ? -1 : strcmp(old[i].location, loc);
                if (c < 0) {
                        /* its file is gone */
                        repo_free_solvable(repo, old[i++].p, 0);
                        st.removed++;
                        continue;
                }
                if (c == 0) {
                        Solvable *s = pool->solvables + old[i].p;
                        if (solvable_lookup_num(s, key_size, UINT64_MAX) == files.v[j].size &&
                            solvable_lookup_num(s, key_mtime, UINT64_MAX) == files.v[j].mtime) {
                                i++;
                                j++;
                                continue;
                        }
                        /* replaced: read it again */
                        repo_free_solvable(repo, old[i++].p, 0);
                }
                const char *cut = rpm_cut_short(path, files.v[j].size);
                if (cut) {
                        r = error_set(err, EINVAL, "cannot index package '%s': %s", path, cut);
                        goto out;
                }
                Id np = repo_add_rpm(repo, path, flags);
                if (!np) {
                        r = error_set(err, EINVAL, "cannot index package '%s': %s", path,
                                      solv_reason(pool, path));
                        goto out;
                }
                Repodata *data = repo_last_repodata(repo);
                repodata_set_location(data, np, 0, NULL, loc);
                repodata_set_num(data, np, key_size, files.v[j].size);
                repodata_set_num(data, np, key_mtime, files.v[j].mtime);
                st.added++;
                j++;
        }
        st.packages = (size_t)repo->nsolvables;

        if (!st.added && !st.removed && have_prev && have_tbl) {
                /* Nothing to do; leftovers of a writer that died may go. */
                remove_stale(rel_fd, cur_gen);
                goto out;
        }

        repo_internalize(repo);
        pool_createwhatprovides(pool);
        r = tables_build(&t, pool, repo, err);
        if (r < 0)
                goto out;

        struct gen_names names = { 0 };
        uint64_t max_gen = 0;
        r = list_generations(rel_fd, &names, &max_gen);
        free(names.v);
        if (r < 0) {
                r = error_set_errno(err, -r, "cannot read '%s'", rel_dir);
                goto out;
        }
        uint64_t gen = (max_gen > cur_gen ? max_gen : cur_gen) + 1;
        r = publish(rel_fd, rel_dir, gen, repo, &t, err);
        if (r == 0)
                remove_stale(rel_fd, gen);

out:
        if (r == 0 && stats)
                *stats = st;
        tables_free(&t);
        solv_pkgs_free(old, nold);
        if (pool)
                pool_free(pool);
        close(rel_fd);
        file_list_free(&files);
        return r;
}

/* ---- locking ----------------------------------------------------------------- */

int repoindex_lock(const char *repo_dir, const char *release_id, bool wait,
                   struct error *err)
{
        char rel_dir[PATH_MAX], path[PATH_MAX];
        int r = rel_dir_of(repo_dir, release_id, "lock", rel_dir, sizeof rel_dir, err);
        if (r < 0)
                return r;
        if (path_fmt(path, sizeof path, rel_dir, REPOINDEX_LOCK, NULL) < 0)
                return error_set(err, ENAMETOOLONG, "path too long: '%s/%s'", rel_dir,
                                 REPOINDEX_LOCK);
        r = mkdir_parents(rel_dir, DIR_MODE);
        if (r < 0)
                return error_set_errno(err, -r, "cannot create '%s'", rel_dir);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot open lock '%s'", path);
        if ((r = fd_lock(fd, wait)) < 0) {
                close(fd);
                if (r == -EWOULDBLOCK)
                        return error_set(err, EWOULDBLOCK, "cannot lock '%s': another "
                                         "process is updating release '%s'", path,
                                         release_id);
                return error_set_errno(err, -r, "cannot lock '%s'", path);
        }
        return fd;
}

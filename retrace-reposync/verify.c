/* verify.c: RPM signatures, checked with librpm against our own keyring.
 *
 * The keyring holds only the keys of the given files (rpmPubkeyNew and
 * rpmKeyringAddKey, subkeys included); no rpm database is opened, the
 * system's or any other. A package is checked twice on one open file:
 *
 *  1. rpmReadPackageFile() verifies the header's signature and digests
 *     and tells the reasons apart: not a package, a bad header signature
 *     or digest (RPMRC_FAIL), a key not in the keyring (RPMRC_NOKEY), an
 *     untrusted key; a package without any signature tag is refused here
 *     too (rpmReadPackageFile itself accepts it).
 *  2. rpmVerifySignatures(), what `rpmkeys -K` runs, with the
 *     transaction's verify level set to RPMSIG_SIGNATURE_TYPE |
 *     RPMSIG_DIGEST_TYPE: it reads the payload too, so a payload that does
 *     not match the signed header's digest (or a v3 signature over header
 *     and payload) fails here.
 *
 * librpm reports through rpmlog; while a package is checked its messages
 * go to a callback of ours (the detail in our error message) instead of
 * stderr. The previous callback is put back afterwards (its data pointer
 * is not: rpmlogSetCallback() does not return it), and the records rpmlog
 * keeps of warnings and errors are dropped with rpmlogClose().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmcli.h>
#include <rpm/rpmcrypto.h>
#include <rpm/rpmio.h>
#include <rpm/rpmkeyring.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>

#include "verify.h"

/* Paths are quoted longer than QUOTE_MAX: their last component matters. */
#define PATH_QUOTE_MAX 300
#define PATH_QUOTE_BUF QUOTE_SIZE(PATH_QUOTE_MAX)

static const char *qpath(const char *path, char buf[PATH_QUOTE_BUF])
{
        return error_quote_n(path, SIZE_MAX, PATH_QUOTE_MAX, buf);
}

#define KEY_FILE_MAX (1 << 20)
#define ARMOR_MARK "-----BEGIN PGP "

struct verifier {
        rpmKeyring keyring;
};

/* ---- keys ----------------------------------------------------------------- */

static int read_text(const char *path, char **out, struct error *err)
{
        char q[PATH_QUOTE_BUF];
        struct stat st;
        *out = NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_set_errno(err, errno, "cannot open key file '%s'",
                                       qpath(path, q));
        if (fstat(fd, &st) < 0) {
                int e = errno;
                close(fd);
                return error_set_errno(err, e, "cannot read key file '%s'",
                                       qpath(path, q));
        }
        if (!S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
                close(fd);
                return error_set(err, EFBIG, "key file '%s' is not a regular file of at most "
                                 "%d bytes", qpath(path, q), KEY_FILE_MAX);
        }
        char *buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                close(fd);
                return error_set(err, ENOMEM, "out of memory");
        }
        size_t len = 0;
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        close(fd);
                        free(buf);
                        return error_set_errno(err, e, "cannot read key file '%s'",
                                               qpath(path, q));
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        buf[len] = '\0';
        *out = buf;
        return 0;
}

static int add_key(rpmKeyring kr, const uint8_t *pkt, size_t len)
{
        rpmPubkey key = rpmPubkeyNew(pkt, len);
        if (!key)
                return -1;
        int r = rpmKeyringAddKey(kr, key) < 0 ? -1 : 0;
        int nsub = 0;
        rpmPubkey *subs = rpmGetSubkeys(key, &nsub);
        for (int i = 0; i < nsub; i++) {
                if (r == 0 && rpmKeyringAddKey(kr, subs[i]) < 0)
                        r = -1;
                rpmPubkeyFree(subs[i]);
        }
        free(subs);
        rpmPubkeyFree(key);
        return r;
}

/* Every public key certificate in every armored block of the file. */
static int load_key_file(rpmKeyring kr, const char *path, struct error *err)
{
        char q[PATH_QUOTE_BUF];
        char *text;
        int r = read_text(path, &text, err);
        if (r < 0)
                return r;
        unsigned keys = 0;
        for (char *start = strstr(text, ARMOR_MARK); start;
             start = strstr(start + strlen(ARMOR_MARK), ARMOR_MARK)) {
                uint8_t *pkt = NULL;
                size_t pktlen = 0;
                if (pgpParsePkts(start, &pkt, &pktlen) != PGPARMOR_PUBKEY) {
                        free(pkt);
                        continue;       /* a signature block or the like */
                }
                const uint8_t *p = pkt;
                while (pktlen > 0) {
                        size_t certlen = 0;
                        if (pgpPubKeyCertLen(p, pktlen, &certlen) || certlen == 0 ||
                            certlen > pktlen || add_key(kr, p, certlen) < 0) {
                                free(pkt);
                                free(text);
                                return error_set(err, EBADMSG, "key file '%s': key %u is "
                                                 "not a usable OpenPGP public key",
                                                 qpath(path, q), keys + 1);
                        }
                        keys++;
                        p += certlen;
                        pktlen -= certlen;
                }
                free(pkt);
        }
        free(text);
        if (keys == 0)
                return error_set(err, EBADMSG, "key file '%s' holds no ASCII-armored "
                                 "public key", qpath(path, q));
        return 0;
}

int verifier_new(const char *const *key_files, size_t count, struct verifier **out,
                 struct error *err)
{
        *out = NULL;
        if (count == 0)
                return error_set(err, EINVAL, "no key to check signatures with (gpgkey)");
        if (rpmInitCrypto() != 0)
                return error_set(err, EIO, "cannot initialise librpm's cryptography");
        struct verifier *v = calloc(1, sizeof *v);
        if (!v || !(v->keyring = rpmKeyringNew())) {
                free(v);
                return error_set(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < count; i++) {
                int r = load_key_file(v->keyring, key_files[i], err);
                if (r < 0) {
                        verifier_free(v);
                        return r;
                }
        }
        *out = v;
        return 0;
}

void verifier_free(struct verifier *v)
{
        if (!v)
                return;
        rpmKeyringFree(v->keyring);
        free(v);
}

/* ---- packages ------------------------------------------------------------- */

struct capture {
        char text[512];         /* the first message that is not "OK" */
};

static int capture_log(rpmlogRec rec, rpmlogCallbackData data)
{
        struct capture *c = data;
        const char *msg = rpmlogRecMessage(rec);
        if (!msg || c->text[0])
                return 0;
        while (*msg == ' ' || *msg == '\t')
                msg++;
        size_t len = strcspn(msg, "\n");
        /* Verbose verification lists every item, good ones too; the
         * per-file header line ends with ':'. */
        if (len == 0 || msg[len - 1] == ':' ||
            (len >= 4 && memcmp(msg + len - 4, ": OK", 4) == 0) ||
            (len >= 10 && memcmp(msg + len - 10, ": NOTFOUND", 10) == 0))
                return 0;
        if (len >= sizeof c->text)
                len = sizeof c->text - 1;
        memcpy(c->text, msg, len);
        c->text[len] = '\0';
        return 0;
}

static const char SIG_FORMAT[] =
        "%|DSAHEADER?{%{DSAHEADER:pgpsig}}:{%|RSAHEADER?{%{RSAHEADER:pgpsig}}:"
        "{%|SIGGPG?{%{SIGGPG:pgpsig}}:{%|SIGPGP?{%{SIGPGP:pgpsig}}:{(none)}|}|}|}|";

static bool has_signature(Header h)
{
        return headerIsEntry(h, RPMTAG_RSAHEADER) || headerIsEntry(h, RPMTAG_DSAHEADER) ||
               headerIsEntry(h, RPMTAG_SIGPGP) || headerIsEntry(h, RPMTAG_SIGGPG);
}

static int check(struct verifier *v, int fdno, const char *path, struct capture *cap,
                 struct error *err)
{
        char q[PATH_QUOTE_BUF], d[QUOTE_SIZE(300)];
        rpmts ts = rpmtsCreate();
        if (!ts)
                return error_set(err, ENOMEM, "out of memory");
        rpmtsSetKeyring(ts, v->keyring);
        rpmtsSetVSFlags(ts, RPMVSF_DEFAULT);
        rpmtsSetVfyFlags(ts, RPMVSF_DEFAULT);
        rpmtsSetVfyLevel(ts, RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE);

        /* 1: the header, its signature, and why it fails. */
        Header h = NULL;
        FD_t fd = fdDup(fdno);
        rpmRC rc = fd ? rpmReadPackageFile(ts, fd, path, &h) : RPMRC_FAIL;
        if (fd)
                Fclose(fd);
        char *sig = h ? headerFormat(h, SIG_FORMAT, NULL) : NULL;
        const char *sigd = error_quote_n(sig ? sig : "", SIZE_MAX, 300, d);
        bool signed_ = h && has_signature(h);
        headerFree(h);
        free(sig);
        int r = 0;
        switch (rc) {
        case RPMRC_OK:
                if (!signed_)
                        r = error_set(err, EPERM, "package '%s' is not signed",
                                      qpath(path, q));
                break;
        case RPMRC_NOTFOUND:
                r = error_set(err, EPERM, "'%s' is not an RPM package", qpath(path, q));
                break;
        case RPMRC_NOKEY:
                r = error_set(err, EPERM, "package '%s' is signed with a key that is not "
                              "among the repository's keys (%s)", qpath(path, q), sigd);
                break;
        case RPMRC_NOTTRUSTED:
                r = error_set(err, EPERM, "package '%s' is signed with an untrusted key (%s)",
                              qpath(path, q), sigd);
                break;
        default:
                r = error_set(err, EPERM, "package '%s' has a bad signature or digest: %s",
                              qpath(path, q),
                              error_quote_n(cap->text[0] ? cap->text : "cannot read it",
                                            SIZE_MAX, 300, d));
                break;
        }

        /* 2: everything, the payload included, as `rpmkeys -K` does. */
        if (r == 0) {
                cap->text[0] = '\0';
                int mask = rpmlogSetMask(RPMLOG_UPTO(RPMLOG_INFO));
                struct rpmQVKArguments_s qva;
                memset(&qva, 0, sizeof qva);
                if (lseek(fdno, 0, SEEK_SET) < 0 || !(fd = fdDup(fdno))) {
                        r = error_set_errno(err, errno, "cannot read '%s'", qpath(path, q));
                } else {
                        if (rpmVerifySignatures(&qva, ts, fd, path) != 0)
                                r = error_set(err, EPERM, "package '%s' has a bad signature "
                                              "or digest: %s", qpath(path, q),
                                              error_quote_n(cap->text[0] ? cap->text
                                                            : "verification failed",
                                                            SIZE_MAX, 300, d));
                        Fclose(fd);
                }
                rpmlogSetMask(mask);
        }
        rpmtsFree(ts);
        return r;
}

int verify_package(struct verifier *v, const char *path, struct error *err)
{
        char q[PATH_QUOTE_BUF];
        int fdno = open(path, O_RDONLY | O_CLOEXEC);
        if (fdno < 0)
                return error_set_errno(err, errno, "cannot open package '%s'",
                                       qpath(path, q));
        struct capture cap = { .text = "" };
        int mask = rpmlogSetMask(RPMLOG_UPTO(RPMLOG_WARNING));
        rpmlogCallback old = rpmlogSetCallback(capture_log, &cap);
        int r = check(v, fdno, path, &cap, err);
        rpmlogSetCallback(old, NULL);
        rpmlogSetMask(mask);
        rpmlogClose();
        close(fdno);
        return r;
}

int verify_readable(const char *path, struct error *err)
{
        char q[PATH_QUOTE_BUF], d[QUOTE_SIZE(300)];
        int fdno = open(path, O_RDONLY | O_CLOEXEC);
        if (fdno < 0)
                return error_set(err, EINVAL, "cannot open package '%s': %s",
                                 qpath(path, q), strerror(errno));
        if (rpmInitCrypto() != 0) {
                close(fdno);
                return error_set(err, EINVAL, "cannot check '%s': librpm's cryptography "
                                 "does not start", qpath(path, q));
        }
        struct capture cap = { .text = "" };
        int mask = rpmlogSetMask(RPMLOG_UPTO(RPMLOG_WARNING));
        rpmlogCallback old = rpmlogSetCallback(capture_log, &cap);
        rpmts ts = rpmtsCreate();
        rpmKeyring empty = rpmKeyringNew();
        int r = 0;
        if (!ts || !empty) {
                r = error_set(err, EINVAL, "cannot check '%s': out of memory",
                              qpath(path, q));
        } else {
                /* Digests only: no key is asked for, none is missed. */
                rpmtsSetKeyring(ts, empty);
                rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
                rpmtsSetVfyLevel(ts, 0);
                Header h = NULL;
                FD_t fd = fdDup(fdno);
                rpmRC rc = fd ? rpmReadPackageFile(ts, fd, path, &h) : RPMRC_FAIL;
                if (fd)
                        Fclose(fd);
                headerFree(h);
                if (rc == RPMRC_NOTFOUND)
                        r = error_set(err, EINVAL, "'%s' is not an RPM package",
                                      qpath(path, q));
                else if (rc != RPMRC_OK)
                        r = error_set(err, EINVAL, "package '%s' does not read: %s",
                                      qpath(path, q),
                                      error_quote_n(cap.text[0] ? cap.text : "damaged header",
                                                    SIZE_MAX, 300, d));
        }
        rpmKeyringFree(empty);
        if (ts)
                rpmtsFree(ts);
        rpmlogSetCallback(old, NULL);
        rpmlogSetMask(mask);
        rpmlogClose();
        close(fdno);
        return r;
}

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fsutil.h"
#include "password.h"
#include "spool.h"

static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
#define ALPHABET_LEN 62

#define SALT_BYTES 16
#define HASH_PREFIX "sha256$"

static int random_bytes(void *buf, size_t len)
{
        unsigned char *p = buf;
        while (len) {
                ssize_t n = getrandom(p, len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int password_generate(char out[PASSWORD_LEN + 1], struct error *err)
{
        size_t filled = 0;
        while (filled < PASSWORD_LEN) {
                unsigned char buf[64];
                int r = random_bytes(buf, sizeof buf);
                if (r < 0)
                        return error_set_errno(err, -r, "cannot read random bytes for a password");
                /* Rejection sampling: 248 = 4 * 62, so every character is
                 * equally likely. */
                for (size_t i = 0; i < sizeof buf && filled < PASSWORD_LEN; i++)
                        if (buf[i] < 4 * ALPHABET_LEN)
                                out[filled++] = alphabet[buf[i] % ALPHABET_LEN];
        }
        out[PASSWORD_LEN] = '\0';
        return 0;
}

bool password_well_formed(const char *password)
{
        size_t i;
        for (i = 0; i < PASSWORD_LEN; i++) {
                char c = password[i];
                if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                      (c >= 'a' && c <= 'z')))
                        return false;
        }
        return password[i] == '\0';
}

static void hex(const unsigned char *in, size_t len, char *out)
{
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * len] = '\0';
}

static int digest(const char salt_hex[2 * SALT_BYTES + 1], const char *password,
                  char out[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = ctx &&
                 EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
                 EVP_DigestUpdate(ctx, salt_hex, 2 * SALT_BYTES) &&
                 EVP_DigestUpdate(ctx, password, strlen(password)) &&
                 EVP_DigestFinal_ex(ctx, md, &md_len) && md_len == 32;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return -EIO;
        hex(md, 32, out);
        return 0;
}

int password_hash(const char *password, char out[PASSWORD_HASH_LEN + 1],
                  struct error *err)
{
        unsigned char salt[SALT_BYTES];
        char salt_hex[2 * SALT_BYTES + 1], sum[65];
        int r = random_bytes(salt, sizeof salt);
        if (r < 0)
                return error_set_errno(err, -r, "cannot read random bytes for a salt");
        hex(salt, sizeof salt, salt_hex);
        if (digest(salt_hex, password, sum) < 0)
                return error_set(err, EIO, "SHA-256 failed in libcrypto");
        snprintf(out, PASSWORD_HASH_LEN + 1, HASH_PREFIX "%s$%s", salt_hex, sum);
        return 0;
}

bool password_verify(const char *password, const char *stored)
{
        const size_t prefix = sizeof HASH_PREFIX - 1;
        char salt_hex[2 * SALT_BYTES + 1], sum[65];

        if (strlen(stored) != PASSWORD_HASH_LEN ||
            memcmp(stored, HASH_PREFIX, prefix) != 0 ||
            stored[prefix + 2 * SALT_BYTES] != '$')
                return false;
        /* Hash whatever was presented: a malformed password costs the
         * same time as a wrong one. */
        memcpy(salt_hex, stored + prefix, 2 * SALT_BYTES);
        salt_hex[2 * SALT_BYTES] = '\0';
        if (digest(salt_hex, password, sum) < 0)
                return false;
        bool same = CRYPTO_memcmp(sum, stored + prefix + 2 * SALT_BYTES + 1, 64) == 0;
        return same && password_well_formed(password);
}

int task_password_set(const char *task_dir, const char *password, struct error *err)
{
        char stored[PASSWORD_HASH_LEN + 2];
        int r = password_hash(password, stored, err);
        if (r < 0)
                return r;
        stored[PASSWORD_HASH_LEN] = '\n';
        return spool_write_file(task_dir, TASK_PASSWORD_FILE, stored,
                                PASSWORD_HASH_LEN + 1, TASK_FILE_MODE, err);
}

static int check_stored(const char *task_dir, const char *presented, struct error *err)
{
        char path[PATH_MAX], stored[PASSWORD_HASH_LEN + 8];
        if (snprintf(path, sizeof path, "%s/" TASK_PASSWORD_FILE, task_dir) >= (int)sizeof path)
                return error_set(err, ENAMETOOLONG, "task path too long: '%s'", task_dir);
        int r = spool_read_file(path, stored, sizeof stored, NULL, err);
        if (r < 0)
                return r;
        stored[strcspn(stored, "\n")] = '\0';
        if (!password_verify(presented, stored))
                return error_set(err, EACCES, "wrong password for task '%s'", task_dir);
        return 0;
}

int task_password_check(const char *task_dir, const char *presented, bool rotate,
                        char new_password[PASSWORD_LEN + 1], struct error *err)
{
        if (!rotate)
                return check_stored(task_dir, presented, err);

        /* The lock is on the directory: the password file itself is
         * replaced by rename, and a lock on the old inode would not stop a
         * second request from reading the new one. */
        int dir = open(task_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return error_set_errno(err, errno, "cannot open task directory '%s'", task_dir);
        int r = fd_lock(dir, true);
        if (r < 0) {
                r = error_set_errno(err, -r, "cannot lock task directory '%s'", task_dir);
                goto out;
        }
        r = check_stored(task_dir, presented, err);
        if (r < 0)
                goto out;
        r = password_generate(new_password, err);
        if (r < 0)
                goto out;
        r = task_password_set(task_dir, new_password, err);
out:
        close(dir); /* releases the lock */
        return r;
}

/* fuzz-headers: the values a client sends in HTTP headers and the server
 * stores in the spool: task ids (the URL's /<id>, X-Task-Id), passwords
 * (X-Task-Password) and their stored hashes, task stages (the status
 * file), and Retry-After as the client reads it. The input is one header
 * value; after its first newline, a stored password hash. */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "fuzz.h"
#include "http.h"
#include "password.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A task id is exactly TASK_ID_LEN digits with no leading zero,
         * and prints back as itself. */
        task_id id;
        if (task_id_parse((const char *)data, size, &id)) {
                char back[16];
                snprintf(back, sizeof back, "%u", id);
                if (size != TASK_ID_LEN || memcmp(back, data, size) != 0)
                        fuzz_fail("task id '%.*s' parses as %u", (int)size, (const char *)data, id);
        }

        char *text = fuzz_string(data, size);
        bool formed = password_well_formed(text);
        size_t len = strlen(text);
        bool expect = len == PASSWORD_LEN;
        for (size_t i = 0; expect && i < len; i++)
                expect = (text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'z') ||
                         (text[i] >= 'A' && text[i] <= 'Z');
        if (formed != expect)
                fuzz_fail("password_well_formed('%s') = %d", text, formed);

        /* A hash made of a password verifies it exactly when it is well
         * formed; a stored hash from the spool never crashes the check. */
        char stored[PASSWORD_HASH_LEN + 1];
        struct error err = { 0 };
        if (password_hash(text, stored, &err) == 0) {
                fuzz_assert(strlen(stored) == PASSWORD_HASH_LEN);
                if (password_verify(text, stored) != formed)
                        fuzz_fail("password '%s' against its own hash: %d", text, !formed);
        }
        char *value, *hash;
        fuzz_split(data, size, &value, &hash);
        (void)password_verify(value, hash);
        (void)password_verify(hash, value);

        enum task_stage stage;
        if (task_stage_parse(value, &stage) == 0) {
                fuzz_assert(stage < TASK_STAGE_COUNT);
                fuzz_assert(strcmp(task_stage_word(stage), value) == 0);
                fuzz_assert(task_stage_status(stage) && task_stage_progress(stage));
        }

        long now = 1700000000;
        long wait = http_parse_retry_after(value, now);
        fuzz_assert(wait >= -1);
        free(value);
        free(hash);
        free(text);
        return 0;
}

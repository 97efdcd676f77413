/* fuzz-headers: the values a client sends in HTTP headers and the server
 * stores in the spool: task ids (the URL's /<id>, X-Task-Id), passwords
 * (X-Task-Password) and their stored hashes, task stages (the status
 * file); and what the client reads from a server: Retry-After and the
 * /settings body. The input is one header value, and after its first
 * newline a stored password hash; the whole of it is also a /settings
 * body. */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "fuzz.h"
#include "http.h"
#include "password.h"
#include "settings.h"
#include "spool.h"

/* A /settings body parses; what it said, written out again, parses to the
 * same; every word of its lists is found in them. */
static void check_settings(const char *text)
{
        struct settings s = { 0 }, again = { 0 };
        settings_clear(&s);
        if (settings_parse(text, &s) < 0)
                abort();        /* only -ENOMEM */
        const char *lists[] = { s.formats, s.releases };
        for (size_t i = 0; i < 2; i++) {
                const char *p = lists[i];
                while (p && *p) {
                        p += strspn(p, " \t");
                        size_t n = strcspn(p, " \t");
                        if (n == 0)
                                break;
                        char *word = strndup(p, n);
                        if (!word)
                                abort();
                        if (!settings_list_has(lists[i], word))
                                fuzz_fail("'%s' is in '%s' but not found", word, lists[i]);
                        free(word);
                        p += n;
                }
        }
        size_t len = 256 + (s.formats ? strlen(s.formats) : 0) + (s.releases ? strlen(s.releases) : 0);
        char *body = malloc(len);
        if (!body)
                abort();
        int n = snprintf(body, len, "running_tasks %ld\nmax_running_tasks %ld\n"
                         "max_packed_size %llu\nmax_unpacked_size %llu\n",
                         s.running_tasks, s.max_running_tasks,
                         (unsigned long long)(s.max_packed >> 20),
                         (unsigned long long)(s.max_unpacked >> 20));
        if (s.formats)
                n += snprintf(body + n, len - (size_t)n, "supported_formats %s\n", s.formats);
        if (s.releases)
                snprintf(body + n, len - (size_t)n, "supported_releases %s\n", s.releases);
        if (settings_parse(body, &again) < 0)
                abort();
        if (again.running_tasks != s.running_tasks ||
            again.max_running_tasks != s.max_running_tasks ||
            again.max_packed != s.max_packed || again.max_unpacked != s.max_unpacked ||
            !s.formats != !again.formats || (s.formats && strcmp(s.formats, again.formats)) ||
            !s.releases != !again.releases || (s.releases && strcmp(s.releases, again.releases)))
                fuzz_fail("/settings written out again parses differently:\n%s", body);
        free(body);
        settings_clear(&s);
        settings_clear(&again);
}

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
        check_settings(text);
        free(value);
        free(hash);
        free(text);
        return 0;
}

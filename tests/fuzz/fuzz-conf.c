/* fuzz-conf: retrace-server.conf (common/conf.c over common/ini.c and
 * inih). The input is the whole file; its first line is also given to
 * every key as a value, the way an httpd directive sets one. */
#include "config.h"

#include <errno.h>

#include "conf.h"
#include "fuzz.h"

/* Every setting formats as text that sets it to the same value. */
static void check_round_trip(const struct retrace_conf *conf, const char *what)
{
        struct retrace_conf again;
        struct error err = { 0 };
        char text[PATH_MAX + 32], back[PATH_MAX + 32];

        conf_init(&again);
        for (size_t i = 0; i < conf_keys_count; i++) {
                const struct conf_key *key = &conf_keys[i];
                conf_format_value(conf, key, text, sizeof text);
                if (conf_set(&again, key, text, "fuzz", &err) != 0)
                        fuzz_fail("%s: %s formats as '%s', which does not set it: %s",
                                  what, key->name, text, err.msg);
                conf_format_value(&again, key, back, sizeof back);
                if (strcmp(text, back) != 0)
                        fuzz_fail("%s: %s '%s' sets it to '%s'", what, key->name, text, back);
                fuzz_assert(conf_key_find(key->section, key->name) == key);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct retrace_conf conf;
        struct error err = { 0 };

        conf_init(&conf);
        const char *path = fuzz_file(data, size);
        int r = conf_load(&conf, path, &err);
        if (r < 0)
                fuzz_assert(err.msg[0] != '\0');
        else
                check_round_trip(&conf, "the file");

        char *line, *rest;
        fuzz_split(data, size, &line, &rest);
        conf_init(&conf);
        for (size_t i = 0; i < conf_keys_count; i++) {
                r = conf_set(&conf, &conf_keys[i], line, "RetraceFuzz", &err);
                fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE || r == -ENAMETOOLONG);
        }
        check_round_trip(&conf, "directives");
        (void)conf_key_by_directive(line);
        (void)conf_key_find(line, rest);
        free(line);
        free(rest);
        return 0;
}

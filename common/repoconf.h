/* repoconf.h: the upstream repositories retrace-reposync mirrors, in dnf's
 * .repo format (a directory of *.repo files, [paths] RepoConfDir):
 *
 *     [fedora-40-updates-debuginfo]
 *     name = Fedora 40 updates, debuginfo
 *     baseurl = https://dl.fedoraproject.org/pub/fedora/linux/updates/$releasever/Everything/$basearch/debug/
 *     enabled = 1
 *     gpgcheck = 1
 *     gpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch
 *     release = fedora-40-x86_64
 *
 * `release` (ours; dnf ignores it) names the release id the repository
 * feeds, with the architecture as release ids write it (i386, not i686);
 * several repositories may feed one release. $releasever and $basearch
 * (also ${...}; $arch as $basearch) expand from that id in name, baseurl
 * and gpgkey, as dnf would expand them on such a machine: 40 (or rawhide)
 * and x86_64 (i386 for i386, armhfp for armv7hl).
 * baseurl may list several URLs (separated by spaces or commas, or on
 * indented continuation lines): the first that answers is used. gpgkey
 * may list several keys (file:// or http(s)://) the same way. enabled and
 * gpgcheck (or dnf5's pkg_gpgcheck) take 1/0, yes/no, true/false, on/off.
 * A repository id is made of letters, digits and -_.: as dnf's, and does
 * not start with '.' (it names a directory).
 * Other dnf keys are accepted and ignored; an unknown key, a key given
 * twice, a repository without baseurl or release, a metalink or
 * mirrorlist without baseurl (this tool does not follow mirrors), an
 * unknown $variable, or a line that is not INI is an error naming the
 * file and line (a missing key: the line of the [section]).
 */
#ifndef RETRACE_REPOCONF_H
#define RETRACE_REPOCONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define REPOCONF_MAX_URLS 8

struct repo_source {
        char id[128];                   /* the [section] name */
        char name[256];
        char release[64];               /* release id it feeds */
        char *baseurls[REPOCONF_MAX_URLS];      /* expanded, malloc'ed */
        size_t baseurl_count;
        char *gpgkeys[REPOCONF_MAX_URLS];       /* expanded, malloc'ed */
        size_t gpgkey_count;
        bool enabled;                   /* default true */
        bool gpgcheck;                  /* default false, as dnf's */
        char file[PATH_MAX];            /* where it was defined */
        unsigned line;
};

struct repo_config {
        struct repo_source *repos;
        size_t count;
};

/* Loads every *.repo file of dir (not those whose name starts with '.'),
 * in strcmp() order, into out (which it overwrites). A missing dir is an
 * empty configuration. Two sections with one id are an error naming both
 * places. On error out is empty. */
int repoconf_load_dir(const char *dir, struct repo_config *out, struct error *err);

/* Adds the repositories of one file to cfg (zeroed, or filled by earlier
 * calls). On error cfg is left as it was. */
int repoconf_load_file(const char *path, struct repo_config *cfg, struct error *err);

/* Frees the URLs and the array; cfg is then empty. NULL is a no-op. */
void repoconf_free(struct repo_config *cfg);

/* Expands $releasever, $basearch, $arch (and ${...}) in text for release
 * id release into out (len bytes). An unknown $variable, ${...} with other
 * than a name between the braces, an invalid release id, or a result
 * that does not fit (-ENOSPC) is an error; out is then "". A '$' that no
 * name follows stays as it is. */
int repoconf_expand(const char *text, const char *release, char *out, size_t len,
                    struct error *err);

#endif

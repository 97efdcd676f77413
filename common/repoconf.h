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
 * feeds; several repositories may feed one release. $releasever and
 * $basearch (also ${...}; $arch as $basearch) expand from that id, as dnf
 * would expand them on such a machine: 40 (or rawhide) and x86_64.
 * baseurl may list several URLs (space- or line-separated): the first that
 * answers is used. gpgkey may list several keys (file:// or http(s)://).
 * Other dnf keys are accepted and ignored; an unknown key, a repository
 * without baseurl or release, a metalink or mirrorlist without baseurl
 * (this tool does not follow mirrors), or a line that is not INI is an
 * error naming the file and line.
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

/* Loads every *.repo file of dir, in name order. A missing dir is an
 * empty configuration. Two sections with one id are an error. */
int repoconf_load_dir(const char *dir, struct repo_config *out, struct error *err);

/* Adds the repositories of one file to cfg. */
int repoconf_load_file(const char *path, struct repo_config *cfg, struct error *err);

void repoconf_free(struct repo_config *cfg);

/* Expands $releasever, $basearch, $arch (and ${...}) in text for release
 * id release. An unknown $variable is an error. */
int repoconf_expand(const char *text, const char *release, char *out, size_t len,
                    struct error *err);

#endif

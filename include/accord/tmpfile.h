/* SPDX-License-Identifier: MIT */
/*
 * Private temporary directories and files with unique names, for accord's
 * run directory and for the tests: DIR/PREFIX- and six random characters.
 */
#ifndef ACCORD_TMPFILE_H
#define ACCORD_TMPFILE_H

#include <stddef.h>

/* Make a new directory (mode 0700); @buf gets its path. 0 or -errno. */
int acc_mkdtemp(char *buf, size_t cap, const char *dir, const char *prefix);
/* Make and open a new file (mode 0600); @buf gets its path. An fd or -errno. */
int acc_mkstemp(char *buf, size_t cap, const char *dir, const char *prefix);

#endif

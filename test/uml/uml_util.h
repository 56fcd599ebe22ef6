/* SPDX-License-Identifier: MIT */
/* What the User-mode Linux tests share: reading the console, scripts, process groups. */
#ifndef ACCORD_TEST_UML_UTIL_H
#define ACCORD_TEST_UML_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

/* A file's whole text, without the CRs the console's tty puts before each LF ("" if absent). */
char *uml_slurp(const char *path);
/* @in base64-encoded (for accord.run=b64:), malloc'd. */
char *uml_base64(const char *in);
double uml_now_s(void);
/* Remove @dir and everything below it. */
void uml_remove_tree(const char *dir);
/*
 * Was anything of process group @pgid still there after @grace_ms? It is
 * killed either way, and the call fails the test if it survives SIGKILL.
 */
bool uml_group_left(pid_t pgid, int grace_ms);
/* Does a process of group @pgid still run? Zombies waiting for their reaper do not count. */
bool uml_group_running(pid_t pgid);
/* accord @accord's child: UML's kernel process, the leader of UML's process group (0 if none). */
pid_t uml_kernel_pid(pid_t accord);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A host directory shared read-only with the guest through the
 * virtio-resource file queue. Paths come from the guest and are resolved
 * by the kernel strictly beneath the directory (openat2 with
 * RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS and RESOLVE_NO_XDEV): symlinks
 * that stay inside are followed; ".." or symlinks that lead outside (and
 * every absolute symlink), /proc magic links and other mounts (bind
 * mounts inside the share too) are refused. Only regular files are
 * opened, into a small table of handles; FIFOs and device nodes are never
 * opened at all.
 *
 * Every function returns 0 (or a byte count) or a negative errno that
 * share__status() turns into the answer's status. Not thread-safe: the
 * device serialises calls.
 */
#ifndef ACCORD_SHARE_H
#define ACCORD_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accord/error.h"
#include "uapi/linux/virtio_resource.h"

#define SHARE_MAX_OPEN		    16
#define SHARE_DEFAULT_MAX_FILE_SIZE (1ull << 30)

struct share_file {
	uint32_t handle; /* 0: free */
	int fd;
};

struct share {
	int root_fd;		/* O_PATH, or -1 */
	uint64_t max_file_size; /* larger files are refused on open */
	uint32_t next_handle;
	struct share_file files[SHARE_MAX_OPEN];
};

/* What STAT answers (and OPEN, for the file it opened). */
struct share_stat {
	uint32_t mode; /* st_mode: type and permission bits */
	uint64_t size;
	uint64_t mtime_ns;
};

/*
 * Share @dir. max_file_size starts at SHARE_DEFAULT_MAX_FILE_SIZE; set
 * it afterwards to change it. -errno with @err (including when the kernel
 * has no openat2, Linux 5.6 and later).
 */
int share__open_root(struct share *s, const char *dir, struct acc_err *err);

/* Close every open file and the directory; safe to call again, or after a failed open_root. */
void share__close_root(struct share *s);

/*
 * Open the regular file at guest path @rel (@len bytes, no NUL, relative
 * to the share) and fill @handle and @st. Errors:
 *   -EINVAL        empty path or a NUL inside it            MALFORMED
 *   -ENAMETOOLONG  longer than VIRTIO_RESOURCE_MAX_PATH     TOO_BIG
 *   -EXDEV         absolute, or leaves the share            FORBIDDEN
 *   -ELOOP         through a magic link, or a symlink loop  FORBIDDEN
 *   -EPERM         not a regular file                       FORBIDDEN
 *   -EACCES        the host may not read it                 FORBIDDEN
 *   -ENOENT        no such file                             NOENT
 *   -EFBIG         larger than max_file_size                TOO_BIG
 *   -EMFILE        SHARE_MAX_OPEN files are open            BUSY
 */
int share__open(struct share *s, const char *rel, size_t len, uint32_t *handle,
		struct share_stat *st);

/*
 * Read up to @len (at most VIRTIO_RESOURCE_MAX_READ, else -E2BIG) bytes at
 * @offset into @buf: the count read, short only at the end of the file.
 * -EBADF for an unknown handle, -ERANGE for an offset past 2^63 - 1.
 */
ssize_t share__read(struct share *s, uint32_t handle, uint64_t offset, size_t len, void *buf);

int share__stat(struct share *s, uint32_t handle, struct share_stat *st);

int share__close(struct share *s, uint32_t handle);

/* Close every open file (a device reset); the share stays open. */
void share__close_all(struct share *s);

/* The answer status for a share__* result (0 or positive is OK). */
enum virtio_resource_status share__status(long ret);

#endif

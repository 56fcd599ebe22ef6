// SPDX-License-Identifier: MIT
/*
 * The file share: guest paths resolved by the kernel beneath one host
 * directory, regular files only, read through a table of handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "accord/share.h"

#define RESOLVE_SHARE (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* openat2 fails with EAGAIN when a rename races with a ".." lookup. */
#define RESOLVE_RETRIES 8

static int resolve(int root_fd, const char *path, uint64_t flags)
{
	struct open_how how = {
		.flags = flags,
		.resolve = RESOLVE_SHARE,
	};

	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno == EINTR || (errno == EAGAIN && tries < RESOLVE_RETRIES))
			continue;
		return -errno;
	}
}

int share__open_root(struct share *s, const char *dir, struct acc_err *err)
{
	int fd, probe, ret;

	memset(s, 0, sizeof(*s));
	s->root_fd = -1;
	for (unsigned int i = 0; i < SHARE_MAX_OPEN; i++)
		s->files[i].fd = -1;

	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return acc_errf(err, errno, "share %s: %s", dir, strerror(errno));
	probe = resolve(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (probe == -ENOSYS) {
		ret = acc_errf(err, ENOSYS, "share %s: the kernel has no openat2 (Linux 5.6+)",
			       dir);
		goto close_root;
	}
	if (probe < 0) {
		ret = acc_errf(err, -probe, "share %s: %s", dir, strerror(-probe));
		goto close_root;
	}
	close(probe);

	s->root_fd = fd;
	s->max_file_size = SHARE_DEFAULT_MAX_FILE_SIZE;
	s->next_handle = 1;
	return 0;

close_root:
	close(fd);
	return ret;
}

void share__close_all(struct share *s)
{
	for (unsigned int i = 0; i < SHARE_MAX_OPEN; i++) {
		struct share_file *f = &s->files[i];

		if (!f->handle)
			continue;
		close(f->fd);
		f->fd = -1;
		f->handle = 0;
	}
}

void share__close_root(struct share *s)
{
	share__close_all(s);
	if (s->root_fd >= 0)
		close(s->root_fd);
	s->root_fd = -1;
}

static struct share_file *share_file(struct share *s, uint32_t handle)
{
	for (unsigned int i = 0; handle && i < SHARE_MAX_OPEN; i++)
		if (s->files[i].handle == handle)
			return &s->files[i];
	return NULL;
}

/* A handle no open file has; never 0. */
static uint32_t new_handle(struct share *s)
{
	uint32_t h;

	do {
		h = s->next_handle++;
		if (!s->next_handle)
			s->next_handle = 1;
	} while (!h || share_file(s, h));
	return h;
}

static void fill_stat(const struct stat *st, struct share_stat *out)
{
	out->mode = st->st_mode;
	out->size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
	out->mtime_ns = st->st_mtim.tv_sec < 0 ? 0
					       : (uint64_t)st->st_mtim.tv_sec * 1000000000u +
							 (uint64_t)st->st_mtim.tv_nsec;
}

/* Resolve errors as the answer names them; see share.h. */
static int open_errno(int ret)
{
	return ret == -ENOTDIR ? -ENOENT : ret;
}

/*
 * Open @path for reading if it is a regular file. The first look is
 * through an O_PATH descriptor, which opens nothing, so a FIFO or device
 * node in the share is refused without side effects; the second opens
 * (without blocking) and must find the same inode.
 */
static int open_regular(struct share *s, const char *path, struct stat *st)
{
	struct stat first;
	int pfd, fd, ret;

	pfd = resolve(s->root_fd, path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return open_errno(pfd);
	if (fstat(pfd, &first)) {
		ret = -EIO;
		goto close_path;
	}
	if (!S_ISREG(first.st_mode)) {
		ret = -EPERM;
		goto close_path;
	}
	fd = resolve(s->root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		ret = open_errno(fd);
		goto close_path;
	}
	if (fstat(fd, st)) {
		ret = -EIO;
		goto close_fd;
	}
	if (!S_ISREG(st->st_mode) || st->st_dev != first.st_dev || st->st_ino != first.st_ino) {
		ret = -EPERM;
		goto close_fd;
	}
	if ((uint64_t)st->st_size > s->max_file_size) {
		ret = -EFBIG;
		goto close_fd;
	}
	close(pfd);
	return fd;

close_fd:
	close(fd);
close_path:
	close(pfd);
	return ret;
}

int share__open(struct share *s, const char *rel, size_t len, uint32_t *handle,
		struct share_stat *st)
{
	char path[VIRTIO_RESOURCE_MAX_PATH + 1];
	struct share_file *f = NULL;
	struct stat sb;
	int fd;

	if (len > VIRTIO_RESOURCE_MAX_PATH)
		return -ENAMETOOLONG;
	if (!len || memchr(rel, '\0', len))
		return -EINVAL;
	if (rel[0] == '/')
		return -EXDEV;
	if (s->root_fd < 0)
		return -EIO;
	for (unsigned int i = 0; !f && i < SHARE_MAX_OPEN; i++)
		if (!s->files[i].handle)
			f = &s->files[i];
	if (!f)
		return -EMFILE;

	memcpy(path, rel, len);
	path[len] = '\0';
	fd = open_regular(s, path, &sb);
	if (fd < 0)
		return fd;
	f->fd = fd;
	f->handle = new_handle(s);
	*handle = f->handle;
	if (st)
		fill_stat(&sb, st);
	return 0;
}

ssize_t share__read(struct share *s, uint32_t handle, uint64_t offset, size_t len, void *buf)
{
	struct share_file *f = share_file(s, handle);
	size_t done = 0;

	if (!f)
		return -EBADF;
	if (len > VIRTIO_RESOURCE_MAX_READ)
		return -E2BIG;
	if (offset > INT64_MAX)
		return -ERANGE;
	if (len > INT64_MAX - offset)
		len = (size_t)(INT64_MAX - offset);
	while (done < len) {
		ssize_t n = pread(f->fd, (char *)buf + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int share__stat(struct share *s, uint32_t handle, struct share_stat *st)
{
	struct share_file *f = share_file(s, handle);
	struct stat sb;

	if (!f)
		return -EBADF;
	if (fstat(f->fd, &sb))
		return -EIO;
	fill_stat(&sb, st);
	return 0;
}

int share__close(struct share *s, uint32_t handle)
{
	struct share_file *f = share_file(s, handle);

	if (!f)
		return -EBADF;
	close(f->fd);
	f->fd = -1;
	f->handle = 0;
	return 0;
}

enum virtio_resource_status share__status(long ret)
{
	if (ret >= 0)
		return VIRTIO_RESOURCE_S_OK;
	switch (-ret) {
	case EINVAL:
	case EBADF:
		return VIRTIO_RESOURCE_S_MALFORMED;
	case ENAMETOOLONG:
	case EFBIG:
	case E2BIG:
		return VIRTIO_RESOURCE_S_TOO_BIG;
	case EXDEV:
	case ELOOP:
	case EPERM:
	case EACCES:
	case EISDIR:
		return VIRTIO_RESOURCE_S_FORBIDDEN;
	case ENOENT:
	case ENOTDIR:
		return VIRTIO_RESOURCE_S_NOENT;
	case EMFILE:
	case ENFILE:
	case EBUSY:
		return VIRTIO_RESOURCE_S_BUSY;
	case ERANGE:
		return VIRTIO_RESOURCE_S_RANGE;
	default:
		return VIRTIO_RESOURCE_S_IO;
	}
}

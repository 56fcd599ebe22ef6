// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_host runner): the file share. Real directories, links,
 * FIFOs and files in a temporary tree; every escape must fail.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "accord/share.h"
#include "fake_sysfs.h"
#include "valgrind_test.h"

#define HELLO "hello, share\n"
#define INNER "inside a subdirectory\n"

/* tree/share is shared; tree/outside is not. */
static struct fake_tree tree;
static struct share share;
static struct acc_err err;
static char share_dir[4096];

static void setup(void)
{
	char path[4096];
	int fd;

	fake_init(&tree, "share");
	fake_write(&tree, "share/hello.txt", HELLO);
	fake_write(&tree, "share/sub/inner.txt", INNER);
	fake_write(&tree, "outside/secret", "secret\n");
	fake_mkdirs(&tree, "share/a", 1);
	fake_mkdirs(&tree, "share/dir", 1);
	fake_symlink(&tree, "share/link_in", "sub/inner.txt");
	fake_symlink(&tree, "share/sub/link_up", "../hello.txt");
	fake_symlink(&tree, "share/link_passwd", "/etc/passwd");
	fake_symlink(&tree, "share/link_outdir", "../outside");
	fake_symlink(&tree, "share/link_dotdot", "..");
	fake_symlink(&tree, "share/link_abs_share", fake_path(&tree, "share", path, sizeof(path)));
	fake_symlink(&tree, "share/loop", "loop");
	fake_symlink(&tree, "share/link_dir", "dir");
	ck_assert(!mkfifo(fake_path(&tree, "share/fifo", path, sizeof(path)), 0644));
	/* A sparse file just past the default limit. */
	fd = open(fake_path(&tree, "share/big", path, sizeof(path)), O_WRONLY | O_CREAT, 0644);
	ck_assert(fd >= 0);
	ck_assert(!ftruncate(fd, (off_t)SHARE_DEFAULT_MAX_FILE_SIZE + 1));
	close(fd);

	fake_path(&tree, "share", share_dir, sizeof(share_dir));
	memset(&err, 0, sizeof(err));
	ck_assert_msg(share__open_root(&share, share_dir, &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
	share__close_root(&share);
	fake_cleanup(&tree);
}

static int open_str(const char *path, uint32_t *handle)
{
	return share__open(&share, path, strlen(path), handle, NULL);
}

static enum virtio_resource_status open_status(const char *path)
{
	uint32_t h = 0;
	int ret = open_str(path, &h);

	if (!ret)
		share__close(&share, h);
	return share__status(ret);
}

/* Open @path and check that it reads as @content. */
static void expect_content(const char *path, const char *content)
{
	struct share_stat st;
	char buf[256];
	uint32_t h = 0;
	ssize_t n;
	int ret;

	ret = share__open(&share, path, strlen(path), &h, &st);
	ck_assert_msg(ret == 0, "%s: %d", path, ret);
	ck_assert_uint_ne(h, 0);
	ck_assert(S_ISREG(st.mode));
	ck_assert_uint_eq(st.size, strlen(content));
	n = share__read(&share, h, 0, sizeof(buf), buf);
	ck_assert_int_eq(n, (ssize_t)strlen(content));
	ck_assert_mem_eq(buf, content, (size_t)n);
	ck_assert_int_eq(share__close(&share, h), 0);
}

START_TEST(test_share_reads_files_and_inside_links)
{
	expect_content("hello.txt", HELLO);
	expect_content("sub/inner.txt", INNER);
	expect_content("./sub/../hello.txt", HELLO);
	expect_content("sub//inner.txt", INNER);
	expect_content("link_in", INNER);
	expect_content("sub/link_up", HELLO);
}
END_TEST

START_TEST(test_share_refuses_escapes)
{
	static const char *const forbidden[] = {
		"..",
		"../outside/secret",
		"a/../../outside/secret",
		"sub/../../outside/secret",
		"/etc/passwd",
		"/",
		"link_passwd",
		"link_outdir/secret",
		"link_dotdot/outside/secret",
		"link_abs_share/hello.txt",
		"loop",
		".",
		"dir",
		"link_dir",
		"sub",
		"fifo",
	};

	for (unsigned int i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		ck_assert_msg(open_status(forbidden[i]) == VIRTIO_RESOURCE_S_FORBIDDEN,
			      "'%s' gave status %d", forbidden[i], open_status(forbidden[i]));
	/* Nothing was left open. */
	for (unsigned int i = 0; i < SHARE_MAX_OPEN; i++)
		ck_assert_uint_eq(share.files[i].handle, 0);
}
END_TEST

START_TEST(test_share_magic_links_and_mounts)
{
	struct share proc;

	/* /proc/self/root and /proc/self/fd/N are magic links. */
	ck_assert_msg(share__open_root(&proc, "/proc/self", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(
		share__status(share__open(&proc, "root/etc/passwd", 15, &(uint32_t){ 0 }, NULL)),
		VIRTIO_RESOURCE_S_FORBIDDEN);
	ck_assert_int_eq(share__status(share__open(&proc, "fd/0", 4, &(uint32_t){ 0 }, NULL)),
			 VIRTIO_RESOURCE_S_FORBIDDEN);
	share__close_root(&proc);
	share__close_root(&proc);

	/* From /, /proc is another mount. */
	ck_assert_msg(share__open_root(&proc, "/", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(
		share__status(share__open(&proc, "proc/version", 12, &(uint32_t){ 0 }, NULL)),
		VIRTIO_RESOURCE_S_FORBIDDEN);
	share__close_root(&proc);
}
END_TEST

START_TEST(test_share_fifo_does_not_block)
{
	uint32_t h = 0;

	/* No writer: a blocking open would hang here until the test times out. */
	ck_assert_int_eq(open_str("fifo", &h), -EPERM);
	ck_assert_int_eq(share__status(-EPERM), VIRTIO_RESOURCE_S_FORBIDDEN);
}
END_TEST

START_TEST(test_share_malformed_paths)
{
	char path[VIRTIO_RESOURCE_MAX_PATH + 2];
	uint32_t h = 0;

	ck_assert_int_eq(open_status("missing"), VIRTIO_RESOURCE_S_NOENT);
	ck_assert_int_eq(open_status("sub/missing"), VIRTIO_RESOURCE_S_NOENT);
	ck_assert_int_eq(open_status("hello.txt/x"), VIRTIO_RESOURCE_S_NOENT);
	ck_assert_int_eq(share__open(&share, "hello.txt", 0, &h, NULL), -EINVAL);
	ck_assert_int_eq(share__open(&share, NULL, 0, &h, NULL), -EINVAL);
	ck_assert_int_eq(share__open(&share, "hel\0lo.txt", 10, &h, NULL), -EINVAL);
	ck_assert_int_eq(share__open(&share, "hello.txt\0", 10, &h, NULL), -EINVAL);
	ck_assert_int_eq(share__status(-EINVAL), VIRTIO_RESOURCE_S_MALFORMED);
	/* The length given counts, not a NUL after it. */
	ck_assert_int_eq(share__open(&share, "hello.txtXYZ", 9, &h, NULL), 0);
	ck_assert_int_eq(share__close(&share, h), 0);

	/* Exactly the limit is looked up; one more byte is refused unread. */
	memset(path, 'a', sizeof(path));
	for (unsigned int i = 200; i < VIRTIO_RESOURCE_MAX_PATH; i += 200)
		path[i] = '/';
	ck_assert_int_eq(share__open(&share, path, VIRTIO_RESOURCE_MAX_PATH, &h, NULL), -ENOENT);
	ck_assert_int_eq(share__open(&share, path, VIRTIO_RESOURCE_MAX_PATH + 1, &h, NULL),
			 -ENAMETOOLONG);
	ck_assert_int_eq(share__status(-ENAMETOOLONG), VIRTIO_RESOURCE_S_TOO_BIG);
	/* One component longer than NAME_MAX. */
	memset(path, 'b', 300);
	ck_assert_int_eq(share__status(share__open(&share, path, 300, &h, NULL)),
			 VIRTIO_RESOURCE_S_TOO_BIG);
}
END_TEST

START_TEST(test_share_file_size_limit)
{
	uint32_t h = 0;

	ck_assert_int_eq(open_str("big", &h), -EFBIG);
	ck_assert_int_eq(share__status(-EFBIG), VIRTIO_RESOURCE_S_TOO_BIG);
	share.max_file_size = SHARE_DEFAULT_MAX_FILE_SIZE + 1;
	ck_assert_int_eq(open_str("big", &h), 0);
	ck_assert_int_eq(share__close(&share, h), 0);
	share.max_file_size = strlen(HELLO) - 1;
	ck_assert_int_eq(open_str("hello.txt", &h), -EFBIG);
	share.max_file_size = strlen(HELLO);
	ck_assert_int_eq(open_str("hello.txt", &h), 0);
	ck_assert_int_eq(share__close(&share, h), 0);
}
END_TEST

START_TEST(test_share_handle_table)
{
	uint32_t handles[SHARE_MAX_OPEN], h = 0;
	int fds = fake_count_fds();

	for (unsigned int i = 0; i < SHARE_MAX_OPEN; i++) {
		ck_assert_int_eq(open_str(i % 2 ? "hello.txt" : "link_in", &handles[i]), 0);
		for (unsigned int j = 0; j < i; j++)
			ck_assert_uint_ne(handles[i], handles[j]);
	}
	ck_assert_int_eq(open_str("hello.txt", &h), -EMFILE);
	ck_assert_int_eq(share__status(-EMFILE), VIRTIO_RESOURCE_S_BUSY);
	/* A bad path is still reported as such when the table is full. */
	ck_assert_int_eq(open_str("/etc/passwd", &h), -EXDEV);

	/* Close one: its slot is free again, and its old handle is dead. */
	ck_assert_int_eq(share__close(&share, handles[3]), 0);
	ck_assert_int_eq(open_str("hello.txt", &h), 0);
	ck_assert_uint_ne(h, handles[3]);
	ck_assert_int_eq(share__close(&share, handles[3]), -EBADF);
	handles[3] = h;

	/* Every handle reads its own file. */
	for (unsigned int i = 0; i < SHARE_MAX_OPEN; i++) {
		char c = 0;

		ck_assert_int_eq(share__read(&share, handles[i], 0, 1, &c), 1);
		ck_assert_int_eq(c, i % 2 || i == 3 ? 'h' : 'i');
	}

	share__close_all(&share);
	ck_assert_int_eq(fake_count_fds(), fds);
	for (unsigned int i = 0; i < SHARE_MAX_OPEN; i++)
		ck_assert_int_eq(share__stat(&share, handles[i], &(struct share_stat){ 0 }),
				 -EBADF);
	for (unsigned int i = 0; i < SHARE_MAX_OPEN; i++)
		ck_assert_int_eq(open_str("hello.txt", &handles[i]), 0);
	share__close_root(&share);
	ck_assert_int_eq(fake_count_fds(), fds - 1);
	ck_assert_int_eq(open_str("hello.txt", &h), -EIO);
}
END_TEST

START_TEST(test_share_bad_handles)
{
	struct share_stat st;
	uint32_t h = 0;
	char buf[8];

	ck_assert_int_eq(share__read(&share, 0, 0, sizeof(buf), buf), -EBADF);
	ck_assert_int_eq(share__read(&share, 12345, 0, sizeof(buf), buf), -EBADF);
	ck_assert_int_eq(share__read(&share, UINT32_MAX, 0, sizeof(buf), buf), -EBADF);
	ck_assert_int_eq(share__stat(&share, 0, &st), -EBADF);
	ck_assert_int_eq(share__close(&share, 0), -EBADF);
	ck_assert_int_eq(share__status(-EBADF), VIRTIO_RESOURCE_S_MALFORMED);

	ck_assert_int_eq(open_str("hello.txt", &h), 0);
	ck_assert_int_eq(share__read(&share, h + 1, 0, sizeof(buf), buf), -EBADF);
	ck_assert_int_eq(share__close(&share, h), 0);
	ck_assert_int_eq(share__read(&share, h, 0, sizeof(buf), buf), -EBADF);
	ck_assert_int_eq(share__stat(&share, h, &st), -EBADF);
	ck_assert_int_eq(share__close(&share, h), -EBADF);
}
END_TEST

START_TEST(test_share_read_limits)
{
	static char buf[VIRTIO_RESOURCE_MAX_READ + 1];
	char path[4096];
	struct share_stat st;
	struct stat sb;
	uint32_t h = 0;
	size_t len = strlen(HELLO);

	ck_assert_int_eq(open_str("hello.txt", &h), 0);
	ck_assert_int_eq(share__read(&share, h, 7, 5, buf), 5);
	ck_assert_mem_eq(buf, "share", 5);
	/* Short at the end, empty past it. */
	ck_assert_int_eq(share__read(&share, h, len - 3, 100, buf), 3);
	ck_assert_int_eq(share__read(&share, h, len, 100, buf), 0);
	ck_assert_int_eq(share__read(&share, h, len + 1000000, 100, buf), 0);
	ck_assert_int_eq(share__read(&share, h, INT64_MAX, 100, buf), 0);
	ck_assert_int_eq(share__read(&share, h, (uint64_t)INT64_MAX + 1, 100, buf), -ERANGE);
	ck_assert_int_eq(share__read(&share, h, UINT64_MAX, 100, buf), -ERANGE);
	ck_assert_int_eq(share__status(-ERANGE), VIRTIO_RESOURCE_S_RANGE);
	ck_assert_int_eq(share__read(&share, h, 0, 0, buf), 0);
	/* The whole read limit is fine; a byte more is not. */
	ck_assert_int_eq(share__read(&share, h, 0, VIRTIO_RESOURCE_MAX_READ, buf), (ssize_t)len);
	ck_assert_int_eq(share__read(&share, h, 0, VIRTIO_RESOURCE_MAX_READ + 1, buf), -E2BIG);
	ck_assert_int_eq(share__status(-E2BIG), VIRTIO_RESOURCE_S_TOO_BIG);

	ck_assert_int_eq(share__stat(&share, h, &st), 0);
	ck_assert_uint_eq(st.size, len);
	ck_assert(S_ISREG(st.mode));
	ck_assert(!stat(fake_path(&tree, "share/hello.txt", path, sizeof(path)), &sb));
	ck_assert_uint_eq(st.mode, sb.st_mode);
	ck_assert_uint_eq(st.mtime_ns, (uint64_t)sb.st_mtim.tv_sec * 1000000000ull +
					       (uint64_t)sb.st_mtim.tv_nsec);
	ck_assert_int_eq(share__close(&share, h), 0);

	/* A large read of the sparse file: all zeros, the whole length. */
	share.max_file_size = UINT64_MAX;
	ck_assert_int_eq(open_str("big", &h), 0);
	memset(buf, 1, sizeof(buf));
	ck_assert_int_eq(share__read(&share, h, 4096, VIRTIO_RESOURCE_MAX_READ, buf),
			 VIRTIO_RESOURCE_MAX_READ);
	ck_assert_int_eq(buf[0] | buf[VIRTIO_RESOURCE_MAX_READ - 1], 0);
	ck_assert_int_eq(share__read(&share, h, SHARE_DEFAULT_MAX_FILE_SIZE, 100, buf), 1);
	ck_assert_int_eq(share__close(&share, h), 0);
}
END_TEST

START_TEST(test_share_dir_removed_while_open)
{
	struct share_stat st;
	uint32_t h = 0, h2 = 0;
	char buf[64];

	ck_assert_int_eq(open_str("sub/inner.txt", &h), 0);
	ck_assert_int_eq(open_str("hello.txt", &h2), 0);
	fake_remove(&tree, "share");
	ck_assert_int_eq(access(share_dir, F_OK), -1);

	/* Open files keep reading; new opens find nothing. */
	ck_assert_int_eq(share__read(&share, h, 0, sizeof(buf), buf), (ssize_t)strlen(INNER));
	ck_assert_mem_eq(buf, INNER, strlen(INNER));
	ck_assert_int_eq(share__stat(&share, h2, &st), 0);
	ck_assert_uint_eq(st.size, strlen(HELLO));
	ck_assert_int_eq(open_status("hello.txt"), VIRTIO_RESOURCE_S_NOENT);
	ck_assert_int_eq(share__close(&share, h), 0);
	ck_assert_int_eq(share__read(&share, h2, 0, 5, buf), 5);

	/* A new directory at the same path is not the share. */
	fake_write(&tree, "share/hello.txt", "replaced\n");
	ck_assert_int_eq(open_status("hello.txt"), VIRTIO_RESOURCE_S_NOENT);
	share__close_all(&share);
}
END_TEST

START_TEST(test_share_open_root_errors)
{
	struct share s;
	char path[4096];

	ck_assert_int_eq(
		share__open_root(&s, fake_path(&tree, "nowhere", path, sizeof(path)), &err),
		-ENOENT);
	ck_assert_msg(strstr(err.msg, "nowhere"), "%s", err.msg);
	share__close_root(&s);
	ck_assert_int_eq(
		share__open_root(&s, fake_path(&tree, "share/hello.txt", path, sizeof(path)), &err),
		-ENOTDIR);
	share__close_root(&s);
}
END_TEST

START_TEST(test_share_status_mapping)
{
	static const struct {
		long ret;
		enum virtio_resource_status status;
	} map[] = {
		{ 0, VIRTIO_RESOURCE_S_OK },
		{ 42, VIRTIO_RESOURCE_S_OK },
		{ -ENOENT, VIRTIO_RESOURCE_S_NOENT },
		{ -ENOTDIR, VIRTIO_RESOURCE_S_NOENT },
		{ -EXDEV, VIRTIO_RESOURCE_S_FORBIDDEN },
		{ -ELOOP, VIRTIO_RESOURCE_S_FORBIDDEN },
		{ -EPERM, VIRTIO_RESOURCE_S_FORBIDDEN },
		{ -EACCES, VIRTIO_RESOURCE_S_FORBIDDEN },
		{ -EISDIR, VIRTIO_RESOURCE_S_FORBIDDEN },
		{ -EINVAL, VIRTIO_RESOURCE_S_MALFORMED },
		{ -EBADF, VIRTIO_RESOURCE_S_MALFORMED },
		{ -ENAMETOOLONG, VIRTIO_RESOURCE_S_TOO_BIG },
		{ -EFBIG, VIRTIO_RESOURCE_S_TOO_BIG },
		{ -E2BIG, VIRTIO_RESOURCE_S_TOO_BIG },
		{ -EMFILE, VIRTIO_RESOURCE_S_BUSY },
		{ -ENFILE, VIRTIO_RESOURCE_S_BUSY },
		{ -ERANGE, VIRTIO_RESOURCE_S_RANGE },
		{ -EIO, VIRTIO_RESOURCE_S_IO },
		{ -ENOSYS, VIRTIO_RESOURCE_S_IO },
	};

	for (unsigned int i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		ck_assert_msg(share__status(map[i].ret) == map[i].status, "%ld", map[i].ret);
}
END_TEST

/* Where openat2 is missing, the share refuses to start, saying why. */
START_TEST(test_share_needs_openat2)
{
	struct share s;

	ck_assert_int_eq(share__open_root(&s, "/tmp", &err), -ENOSYS);
	ck_assert_msg(strstr(err.msg, "openat2"), "%s", err.msg);
	share__close_root(&s);
}
END_TEST

Suite *share_suite(void)
{
	Suite *s = suite_create("share");
	TCase *tc = tcase_create("files");

	if (valgrind_lacks_openat2()) {
		fprintf(stderr, "share: valgrind has no openat2; only its absence is tested\n");
		tcase_add_test(tc, test_share_needs_openat2);
		suite_add_tcase(s, tc);
		return s;
	}

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_share_reads_files_and_inside_links);
	tcase_add_test(tc, test_share_refuses_escapes);
	tcase_add_test(tc, test_share_magic_links_and_mounts);
	tcase_add_test(tc, test_share_fifo_does_not_block);
	tcase_add_test(tc, test_share_malformed_paths);
	tcase_add_test(tc, test_share_file_size_limit);
	tcase_add_test(tc, test_share_handle_table);
	tcase_add_test(tc, test_share_bad_handles);
	tcase_add_test(tc, test_share_read_limits);
	tcase_add_test(tc, test_share_dir_removed_while_open);
	tcase_add_test(tc, test_share_open_root_errors);
	tcase_add_test(tc, test_share_status_mapping);
	suite_add_tcase(s, tc);
	return s;
}

// SPDX-License-Identifier: MIT
/*
 * KVM integration for virtio over PCI: the probe guest drives virtio-rng and
 * virtio-blk as a driver would (MSI-X, interrupt and polling paths, direct
 * and indirect chains), and afterwards the test reads the image file and
 * finds exactly the bytes the probe wrote.
 */
#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "harness.h"
#include "accord/tmpfile.h"

#define TIMEOUT_S  60
#define SECTOR	   512
#define IMAGE_SIZE (16u << 20)

/* The probe's write pattern (guest/probe/README.md). */
static uint8_t pattern(unsigned int k, unsigned int seed)
{
	return (uint8_t)(k * 7 + seed * 13 + (k >> 9));
}

static void fill_pattern(uint8_t *img, unsigned int sector, unsigned int count, unsigned int seed)
{
	for (unsigned int k = 0; k < count * SECTOR; k++)
		img[(size_t)sector * SECTOR + k] = pattern(k, seed);
}

static char *make_image(const uint8_t *content)
{
	char *path = malloc(64);
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = acc_mkstemp(path, 64, "/tmp", "accord-disk");

	ck_assert_int_ge(fd, 0);
	if (content)
		ck_assert_int_eq(write(fd, content, IMAGE_SIZE), IMAGE_SIZE);
	else
		ck_assert_int_eq(ftruncate(fd, IMAGE_SIZE), 0);
	close(fd);
	return path;
}

static uint8_t *read_image(const char *path)
{
	uint8_t *img = malloc(IMAGE_SIZE);
	int fd = open(path, O_RDONLY);

	ck_assert_ptr_nonnull(img);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, img, IMAGE_SIZE), IMAGE_SIZE);
	close(fd);
	return img;
}

static void dump(const struct accord_run *r)
{
	fprintf(stderr, "--- console ---\n%s--- stderr ---\n%s--- status %d%s\n", r->console,
		r->err, r->status, r->timed_out ? " (timed out)" : "");
}

static void expect_pass(const struct accord_run *r)
{
	if (r->status != 0 || r->timed_out || strstr(r->console, " FAIL"))
		dump(r);
	ck_assert(!r->timed_out);
	ck_assert_int_eq(r->status, 0);
	ck_assert_ptr_null(strstr(r->console, " FAIL"));
}

/* First differing byte of two images, or -1. */
static long first_difference(const uint8_t *a, const uint8_t *b)
{
	for (size_t i = 0; i < IMAGE_SIZE; i++) {
		if (a[i] != b[i])
			return (long)i;
	}
	return -1;
}

/* The image at @path holds exactly @want. */
static void expect_image(const char *path, const uint8_t *want)
{
	uint8_t *got = read_image(path);
	long diff = first_difference(want, got);

	ck_assert_msg(diff < 0, "image byte %ld (sector %ld) is 0x%02x, expected 0x%02x", diff,
		      diff / SECTOR, diff < 0 ? 0 : got[diff], diff < 0 ? 0 : want[diff]);
	free(got);
}

/* Boot the probe with rng and blk in @irq_mode and compare the whole image afterwards. */
static void check_probe_writes_its_pattern(const char *irq_mode, unsigned int seed)
{
	char *path = make_image(NULL), disk[256], cmdline[128];
	const char *args[] = { "--kernel", PROBE_ELF, "--cpus", "2",	     "--memory", "128M",
			       "--rng",	   "--disk",  disk,	"--cmdline", cmdline,	 NULL };
	uint8_t *want = calloc(1, IMAGE_SIZE);
	struct accord_run r;

	snprintf(disk, sizeof(disk), "%s,serial=probe-disk", path);
	snprintf(cmdline, sizeof(cmdline), "expect-virtio=rng,blk blk-seed=%u virtio-irq=%s", seed,
		 irq_mode);
	harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	expect_pass(&r);
	ck_assert_ptr_nonnull(strstr(r.console, "virtio-rng"));
	ck_assert_ptr_nonnull(strstr(r.console, "probe-disk"));

	/* What the probe reports writing: two 4 KiB runs, then 2 sectors of which one is zeroed. */
	fill_pattern(want, 2048, 8, seed);
	fill_pattern(want, 4096, 8, seed + 1);
	fill_pattern(want, 6144, 2, seed);
	memset(want + 6144 * SECTOR, 0, SECTOR);
	expect_image(path, want);
	free(want);
	harness_free(&r);
	unlink(path);
	free(path);
}

START_TEST(test_probe_writes_exactly_its_pattern_to_the_disk_image)
{
	check_probe_writes_its_pattern("msix", 7);
}
END_TEST

/* MSI-X left disabled: INTx through the IOAPIC pin the MP table names. */
START_TEST(test_probe_drives_both_devices_over_intx)
{
	check_probe_writes_its_pattern("intx", 11);
}
END_TEST

START_TEST(test_readonly_disk_is_read_but_never_written)
{
	uint8_t *orig = malloc(IMAGE_SIZE), *got;
	char *path, disk[256];
	const char *args[] = { "--kernel",  PROBE_ELF,		 "--disk", disk,
			       "--cmdline", "expect-virtio=blk", NULL };
	struct accord_run r;

	ck_assert_ptr_nonnull(orig);
	for (size_t i = 0; i < IMAGE_SIZE; i++)
		orig[i] = (uint8_t)(i * 131 + (i >> 12));
	path = make_image(orig);
	snprintf(disk, sizeof(disk), "%s,readonly=on", path);
	harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	expect_pass(&r);
	ck_assert_ptr_nonnull(strstr(r.console, "IOERR"));
	got = read_image(path);
	ck_assert_int_eq(first_difference(orig, got), -1);
	free(orig);
	free(got);
	harness_free(&r);
	unlink(path);
	free(path);
}
END_TEST

/*
 * The image's file system fills up (a one-page tmpfs in a private mount
 * namespace): the probe's first 4 KiB run fits, its later writes do not.
 * accord names the error, the guest gets IOERR for those requests, the VM
 * runs on to the probe's own end, and the image holds exactly the run that
 * was written.
 */
START_TEST(test_full_file_system_fails_writes_cleanly)
{
	char dir[64], path[96], disk[128];
	const char *args[] = { "--kernel", PROBE_ELF,	"--disk",
			       disk,	   "--cmdline", "expect-virtio=blk blk-seed=5",
			       NULL };
	uint8_t *want = calloc(1, IMAGE_SIZE);
	struct accord_run r;
	int fd;

	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(acc_mkdtemp(dir, sizeof(dir), "/tmp", "accord-full"), 0);
	ck_assert_int_eq(mount("tmpfs", dir, "tmpfs", 0, "size=4k,mode=0700"), 0);
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, IMAGE_SIZE), 0); /* sparse: takes no space yet */
	close(fd);
	snprintf(disk, sizeof(disk), "%s", path);

	harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	if (r.status != 2 || !strstr(r.err, "No space left on device"))
		dump(&r);
	ck_assert(!r.timed_out);
	ck_assert_int_eq(r.status, 2); /* the probe's failed checks, not accord's */
	ck_assert_ptr_nonnull(strstr(r.err, "I/O error: No space left on device"));
	ck_assert_ptr_nonnull(strstr(r.console, "IOERR"));
	fill_pattern(want, 2048, 8, 5);
	expect_image(path, want);
	free(want);
	harness_free(&r);
	unlink(path);
	umount(dir);
	rmdir(dir);
}
END_TEST

START_TEST(test_rng_alone_passes_the_probe)
{
	const char *args[] = { "--kernel",  PROBE_ELF,		 "--rng",
			       "--cmdline", "expect-virtio=rng", NULL };
	struct accord_run r;

	harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	expect_pass(&r);
	ck_assert_int_gt(harness_count(r.console, "check virtio-rng"), 0);
	harness_free(&r);
}
END_TEST

START_TEST(test_probe_fails_when_an_expected_device_is_missing)
{
	const char *args[] = { "--kernel", PROBE_ELF, "--rng", "--cmdline", "expect-virtio=rng,blk",
			       NULL };
	struct accord_run r;

	harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.console, " FAIL"));
	harness_free(&r);
}
END_TEST

static void expect_start_failure(const char *const args[], const char *message)
{
	struct accord_run r;

	harness_run(&r, args, 20, NULL, HARNESS_AS_IS);
	if (r.status != 1 || !strstr(r.err, message))
		dump(&r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, message));
	ck_assert_int_eq(harness_count(r.err, "\n"), 1);
	harness_free(&r);
}

START_TEST(test_missing_disk_image_is_named)
{
	const char *args[] = { "--kernel", PROBE_ELF, "--disk", "/nonexistent/disk.img", NULL };

	expect_start_failure(args, "disk '/nonexistent/disk.img': No such file or directory");
}
END_TEST

START_TEST(test_disk_in_use_by_another_writer_is_refused)
{
	char *path = make_image(NULL);
	const char *args[] = { "--kernel", PROBE_ELF, "--disk", path, NULL };
	struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR);

	/* Another process's image lock, as a second accord would hold it. */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &lock), 0);
	expect_start_failure(args, "in use by another process");
	close(fd);
	unlink(path);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm_virtio");
	TCase *io = tcase_create("io");
	TCase *bad = tcase_create("bad_input");
	SRunner *sr;
	int failed;

	tcase_set_timeout(io, 2 * TIMEOUT_S);
	tcase_add_test(io, test_probe_writes_exactly_its_pattern_to_the_disk_image);
	tcase_add_test(io, test_probe_drives_both_devices_over_intx);
	tcase_add_test(io, test_readonly_disk_is_read_but_never_written);
	tcase_add_test(io, test_full_file_system_fails_writes_cleanly);
	tcase_add_test(io, test_rng_alone_passes_the_probe);
	tcase_add_test(io, test_probe_fails_when_an_expected_device_is_missing);
	suite_add_tcase(s, io);
	tcase_set_timeout(bad, 60);
	tcase_add_test(bad, test_missing_disk_image_is_named);
	tcase_add_test(bad, test_disk_in_use_by_another_writer_is_refused);
	suite_add_tcase(s, bad);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

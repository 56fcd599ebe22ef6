// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accord/bootparams.h"
#include "accord/bzimage.h"
#include "accord/e820.h"
#include "accord/elf_kernel.h"
#include "accord/layout.h"
#include "accord/loader.h"
#include "accord/mptable.h"
#include "accord/pvh.h"

#define PAGE_SIZE 4096ull
/* Command-line limit of boot protocols before 2.06 declared one. */
#define LEGACY_CMDLINE_SIZE 255

struct kernel_placement {
	uint64_t end;	      /* first byte above the kernel */
	uint64_t initrd_max;  /* highest address + 1 the initrd may use */
	uint64_t cmdline_max; /* longest command line the kernel takes */
};

static int load_bzimage(const struct guest_mem *m, const struct boot_image *img, struct bzimage *bz,
			struct kernel_placement *kp, struct acc_err *err)
{
	int ret;

	ret = bzimage__parse(img->kernel, img->kernel_len, bz, err);
	if (ret)
		return ret;
	kp->end = bzimage__mem_end(bz);
	if (kp->end > guest_mem__low_end(m))
		return acc_errf(err, ENOMEM,
				"the kernel needs %llu MiB of RAM to decompress (more --memory)",
				(unsigned long long)((kp->end + (1 << 20) - 1) >> 20));
	if (guest_mem__write(m, bz->load_addr, bz->payload, bz->payload_len))
		return acc_errf(err, EFAULT, "kernel does not fit in guest RAM");
	kp->initrd_max = (uint64_t)bz->initrd_addr_max + 1;
	kp->cmdline_max = bz->version >= 0x0206 ? bz->cmdline_size : LEGACY_CMDLINE_SIZE;
	return 0;
}

static int load_elf(const struct guest_mem *m, const struct boot_image *img, struct elf_kernel *k,
		    struct kernel_placement *kp, struct acc_err *err)
{
	int ret;

	ret = elf__parse(img->kernel, img->kernel_len, k, err);
	if (ret)
		return ret;
	ret = elf__load(img->kernel, k, m, err);
	if (ret)
		return ret;
	kp->end = k->highest;
	kp->initrd_max = UINT64_MAX;
	kp->cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	return 0;
}

static int place_initrd(const struct guest_mem *m, const struct boot_image *img,
			const struct kernel_placement *kp, struct boot_args *args,
			struct acc_err *err)
{
	uint64_t top = guest_mem__low_end(m), addr;

	if (!img->initrd)
		return 0;
	if (kp->initrd_max < top)
		top = kp->initrd_max;
	top &= ~(PAGE_SIZE - 1);
	if (img->initrd_len > top || (addr = (top - img->initrd_len) & ~(PAGE_SIZE - 1)) < kp->end)
		return acc_errf(err, ENOMEM,
				"initrd of %zu KiB does not fit between the kernel and the top of "
				"RAM (more --memory)",
				img->initrd_len >> 10);
	if (guest_mem__write(m, addr, img->initrd, img->initrd_len))
		return acc_errf(err, EFAULT, "initrd does not fit in guest RAM");
	args->initrd_gpa = addr;
	args->initrd_size = img->initrd_len;
	return 0;
}

static int write_mptable(const struct guest_mem *m, unsigned int ncpus, struct acc_err *err)
{
	uint8_t *bda = guest_mem__ptr(m, 0, 0x500);
	void *mp = guest_mem__ptr(m, LAYOUT_MPTABLE, LAYOUT_MPTABLE_MAX);
	uint16_t ebda_seg = LAYOUT_EBDA >> 4, base_kb = LAYOUT_EBDA >> 10;

	if (!bda || !mp)
		return acc_errf(err, EFAULT, "low memory is missing");
	/* The BIOS data area fields where the MP spec's search begins. */
	memcpy(bda + BDA_EBDA_SEGMENT, &ebda_seg, 2);
	memcpy(bda + BDA_BASE_MEM_KB, &base_kb, 2);
	if (mptable__write(mp, LAYOUT_MPTABLE_MAX, LAYOUT_MPTABLE, ncpus) < 0)
		return acc_errf(err, ENOSPC, "MP table for %u CPUs does not fit", ncpus);
	return 0;
}

int loader__load_image(const struct guest_mem *m, const struct boot_image *img,
		       struct boot_entry *entry, struct acc_err *err)
{
	const char *cmdline = img->cmdline ? img->cmdline : "";
	size_t cmdline_len = strlen(cmdline);
	struct kernel_placement kp = { 0 };
	struct boot_args args = { 0 };
	struct e820_map e820;
	struct elf_kernel elf;
	struct bzimage bz;
	bool is_bzimage = false;
	int ret;

	if (elf__is_elf(img->kernel, img->kernel_len)) {
		ret = load_elf(m, img, &elf, &kp, err);
	} else if (bzimage__is_bzimage(img->kernel, img->kernel_len)) {
		is_bzimage = true;
		ret = load_bzimage(m, img, &bz, &kp, err);
	} else {
		ret = acc_errf(err, ENOEXEC, "neither a bzImage nor an ELF64 kernel");
	}
	if (ret) {
		if (img->kernel_name)
			acc_err_prefix(err, "kernel '%s': ", img->kernel_name);
		return ret;
	}

	if (cmdline_len > kp.cmdline_max || cmdline_len >= LAYOUT_CMDLINE_MAX)
		return acc_errf(err, E2BIG,
				"command line of %zu bytes exceeds the kernel's limit of %llu",
				cmdline_len, (unsigned long long)kp.cmdline_max);
	if (guest_mem__write(m, LAYOUT_CMDLINE, cmdline, cmdline_len + 1))
		return acc_errf(err, EFAULT, "no room for the command line");
	args.cmdline_gpa = LAYOUT_CMDLINE;

	ret = place_initrd(m, img, &kp, &args, err);
	if (ret)
		return ret;
	e820__build(m->size, &e820);
	args.e820 = &e820;
	ret = write_mptable(m, img->ncpus, err);
	if (ret)
		return ret;

	if (!is_bzimage && elf.has_pvh) {
		entry->mode = BOOT_PVH32;
		entry->rip = elf.pvh_entry;
		entry->boot_info = LAYOUT_PVH_INFO;
		ret = pvh__write_start_info(m, LAYOUT_PVH_INFO, LAYOUT_PVH_INFO_END, &args);
	} else {
		struct boot_params *bp = guest_mem__ptr(m, LAYOUT_BOOT_PARAMS, sizeof(*bp));

		if (!bp)
			return acc_errf(err, EFAULT, "no room for boot_params");
		entry->mode = BOOT_LINUX64;
		entry->rip = is_bzimage ? bz.load_addr + BZIMAGE_ENTRY64 : elf.entry;
		entry->boot_info = LAYOUT_BOOT_PARAMS;
		bootparams__build(bp, is_bzimage ? bz.hdr : NULL, is_bzimage ? bz.hdr_len : 0,
				  &args);
		ret = 0;
	}
	if (ret)
		return acc_errf(err, -ret, "cannot write the boot information");
	if (cpu__write_boot_tables(m, entry->mode))
		return acc_errf(err, EFAULT, "cannot write the boot page tables");
	return 0;
}

struct mapped_file {
	const uint8_t *data;
	size_t len;
};

static int map_file(const char *what, const char *path, struct mapped_file *f, struct acc_err *err)
{
	struct stat st;
	void *p;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return acc_errf(err, errno, "%s '%s': %s", what, path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = acc_errf(err, errno, "%s '%s': %s", what, path, strerror(errno));
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = acc_errf(err, EINVAL, "%s '%s': not a regular file", what, path);
		goto close_fd;
	}
	if (st.st_size == 0) {
		ret = acc_errf(err, EINVAL, "%s '%s': file is empty", what, path);
		goto close_fd;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = acc_errf(err, errno, "%s '%s': %s", what, path, strerror(errno));
		goto close_fd;
	}
	f->data = p;
	f->len = (size_t)st.st_size;
	ret = 0;
close_fd:
	close(fd);
	return ret;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->len);
}

int loader__load_files(const struct guest_mem *m, const char *kernel_path, const char *initrd_path,
		       const char *cmdline, unsigned int ncpus, struct boot_entry *entry,
		       struct acc_err *err)
{
	struct mapped_file kernel = { 0 }, initrd = { 0 };
	struct boot_image img;
	int ret;

	ret = map_file("kernel", kernel_path, &kernel, err);
	if (ret)
		return ret;
	if (initrd_path) {
		ret = map_file("initrd", initrd_path, &initrd, err);
		if (ret)
			goto unmap_kernel;
	}
	img = (struct boot_image){
		.kernel = kernel.data,
		.kernel_len = kernel.len,
		.initrd = initrd.data,
		.initrd_len = initrd.len,
		.cmdline = cmdline,
		.ncpus = ncpus,
		.kernel_name = kernel_path,
	};
	ret = loader__load_image(m, &img, entry, err);
	unmap_file(&initrd);
unmap_kernel:
	unmap_file(&kernel);
	return ret;
}

// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "accord/elf_kernel.h"
#include "accord/layout.h"
#include "accord/pvh.h"

bool elf__is_elf(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG);
}

/* [off, off+size) lies within a buffer of @len bytes. */
static bool in_bounds(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~3ull;
}

/* Walk the notes of one PT_NOTE segment looking for the PVH entry. */
static int elf__scan_notes(const uint8_t *buf, const Elf64_Phdr *ph, struct elf_kernel *k,
			   struct acc_err *err)
{
	uint64_t pos = ph->p_offset, end = ph->p_offset + ph->p_filesz;

	while (end - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, buf + pos, sizeof(nh));
		name_off = pos + sizeof(nh);
		desc_off = name_off + align4(nh.n_namesz);
		next = desc_off + align4(nh.n_descsz);
		if (nh.n_namesz > end - name_off || desc_off > end || next > end)
			return acc_errf(err, EINVAL, "ELF note at offset %llu overruns its segment",
					(unsigned long long)pos);
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(buf + name_off, "Xen", 4)) {
			uint64_t entry = 0;

			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return acc_errf(err, EINVAL,
						"PVH entry note has %u bytes, not 4 or 8",
						nh.n_descsz);
			memcpy(&entry, buf + desc_off, nh.n_descsz);
			if (entry > UINT32_MAX)
				return acc_errf(err, EINVAL, "PVH entry 0x%llx is above 4 GiB",
						(unsigned long long)entry);
			k->has_pvh = true;
			k->pvh_entry = (uint32_t)entry;
		}
		pos = next;
	}
	return 0;
}

static int elf__add_load(const Elf64_Phdr *ph, size_t len, struct elf_kernel *k,
			 struct acc_err *err)
{
	struct elf_segment *s;

	if (!ph->p_memsz)
		return 0;
	if (k->nr_segs == ELF_MAX_LOAD)
		return acc_errf(err, E2BIG, "more than %d loadable segments", ELF_MAX_LOAD);
	if (!in_bounds(ph->p_offset, ph->p_filesz, len))
		return acc_errf(err, EINVAL, "segment at offset %llu runs past the end of the file",
				(unsigned long long)ph->p_offset);
	if (ph->p_filesz > ph->p_memsz)
		return acc_errf(err, EINVAL, "segment file size exceeds its memory size");
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return acc_errf(err, EINVAL, "segment address wraps around");
	s = &k->segs[k->nr_segs++];
	*s = (struct elf_segment){ ph->p_offset, ph->p_paddr, ph->p_filesz, ph->p_memsz };
	if (k->nr_segs == 1 || s->paddr < k->lowest)
		k->lowest = s->paddr;
	if (s->paddr + s->memsz > k->highest)
		k->highest = s->paddr + s->memsz;
	return 0;
}

int elf__parse(const uint8_t *buf, size_t len, struct elf_kernel *k, struct acc_err *err)
{
	Elf64_Ehdr eh;
	int ret;

	memset(k, 0, sizeof(*k));
	if (!elf__is_elf(buf, len))
		return acc_errf(err, ENOEXEC, "not an ELF file");
	if (len < sizeof(eh))
		return acc_errf(err, ENOEXEC, "ELF header is truncated");
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return acc_errf(err, ENOEXEC, "not a 64-bit little-endian ELF file");
	if (eh.e_machine != EM_X86_64)
		return acc_errf(err, ENOEXEC, "ELF machine %u is not x86-64", eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return acc_errf(err, ENOEXEC, "ELF type %u is not an executable", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum)
		return acc_errf(err, ENOEXEC, "ELF program header table is malformed");
	if (!in_bounds(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return acc_errf(err, ENOEXEC, "ELF program headers run past the end of the file");

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD) {
			ret = elf__add_load(&ph, len, k, err);
		} else if (ph.p_type == PT_NOTE) {
			if (!in_bounds(ph.p_offset, ph.p_filesz, len))
				return acc_errf(err, ENOEXEC,
						"note segment runs past the end of the file");
			ret = elf__scan_notes(buf, &ph, k, err);
		} else {
			ret = 0;
		}
		if (ret)
			return ret;
	}
	if (!k->nr_segs)
		return acc_errf(err, ENOEXEC, "ELF file has nothing to load");
	k->entry = eh.e_entry;
	return 0;
}

int elf__load(const uint8_t *buf, const struct elf_kernel *k, const struct guest_mem *m,
	      struct acc_err *err)
{
	for (unsigned int i = 0; i < k->nr_segs; i++) {
		const struct elf_segment *s = &k->segs[i];
		uint8_t *dst;

		if (s->paddr < LAYOUT_HIMEM)
			return acc_errf(err, EINVAL, "segment at 0x%llx is below 1 MiB",
					(unsigned long long)s->paddr);
		dst = guest_mem__ptr(m, s->paddr, s->memsz);
		if (!dst)
			return acc_errf(
				err, ENOMEM,
				"segment at 0x%llx-0x%llx is outside guest RAM (more --memory?)",
				(unsigned long long)s->paddr,
				(unsigned long long)(s->paddr + s->memsz));
		memcpy(dst, buf + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

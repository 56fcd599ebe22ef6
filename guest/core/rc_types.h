/* SPDX-License-Identifier: MIT */
/*
 * guest/core: the fixed-width types, error codes and byte-order helpers every
 * other rc_ file uses. The same source builds in three settings:
 *
 *   - hosted userspace (the VMM and the unit tests, gcc -std=gnu11),
 *   - freestanding (the probe guest: -ffreestanding -nostdlib, which still
 *     provides <stdint.h>, <stddef.h> and <stdbool.h>),
 *   - the Linux kernel (__KERNEL__ defined; <linux/types.h>).
 *
 * Nothing here or in any rc_ file uses libc, allocates memory, uses floating
 * point or keeps global mutable state. GCC may still emit calls to memcpy and
 * memset for struct copies; every one of the three settings provides them.
 */
#ifndef ACCORD_GUEST_CORE_RC_TYPES_H
#define ACCORD_GUEST_CORE_RC_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/math64.h>
/* virtio_resource.h uses static_assert under __KERNEL__ without including it. */
#include <linux/build_bug.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#define RC_U32_MAX ((uint32_t)0xffffffffu)
#define RC_U64_MAX ((uint64_t)0xffffffffffffffffull)
#define RC_S64_MAX ((int64_t)0x7fffffffffffffffll)

#define RC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Error codes: every rc_ function returns 0 (or a non-negative offset where
 * it says so) or one of these. They are distinct so that tests and logs can
 * tell the reasons apart; rc_status_of() (rc_codec.h) maps them onto the
 * wire's enum virtio_resource_status.
 */
enum rc_err {
	RC_OK = 0,
	RC_EMALFORMED = -1,   /* structure wrong: sizes, lengths, reserved fields */
	RC_ETRUNC = -2,	      /* the buffer is shorter than the data claims */
	RC_EFLAGS = -3,	      /* a flags field that must be 0 is not */
	RC_ETYPE = -4,	      /* a message of another type than the decoder's */
	RC_EUNSUPPORTED = -5, /* unknown message type or resource kind */
	RC_ERANGE = -6,	      /* an enum or an amount outside what is allowed */
	RC_EALIGN = -7,	      /* an address or length not granule-aligned */
	RC_EOVERFLOW = -8,    /* an address range or product wraps */
	RC_ETOOBIG = -9,      /* larger than the configured maximum */
	RC_ENOSPC = -10,      /* the output buffer is too small */
	RC_EORDER = -11,      /* not allowed in the transaction's state */
	RC_EBUSY = -12,	      /* a fixed-capacity table is full */
	RC_ENOENT = -13,      /* no such entry, node or property */
	RC_EINVAL = -14,      /* a bad argument from the caller (not the peer) */
	RC_EVERSION = -15,    /* a version this code does not speak */
};

/* A human-readable name for an rc_err (for logs; never NULL). */
const char *rc_strerror(int err);

/* ---- byte order: unaligned little- and big-endian access, byte by byte ---- */

static inline uint16_t rc_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t rc_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rc_get_le64(const uint8_t *p)
{
	return (uint64_t)rc_get_le32(p) | (uint64_t)rc_get_le32(p + 4) << 32;
}

static inline void rc_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void rc_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void rc_put_le64(uint8_t *p, uint64_t v)
{
	rc_put_le32(p, (uint32_t)v);
	rc_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t rc_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- 64-bit division: a plain '/' except in the kernel (32-bit targets) ---- */

static inline uint64_t rc_div_u64(uint64_t a, uint64_t b)
{
#ifdef __KERNEL__
	return div64_u64(a, b);
#else
	return a / b;
#endif
}

/* The value of hex digit @c, or -1. */
static inline int rc_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline bool rc_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif /* ACCORD_GUEST_CORE_RC_TYPES_H */

/* SPDX-License-Identifier: MIT */
/* guest/core codec internals shared by rc_codec.c and rc_codec_xfer.c. */
#ifndef ACCORD_GUEST_CORE_RC_CODEC_PRIV_H
#define ACCORD_GUEST_CORE_RC_CODEC_PRIV_H

#include "rc_codec.h"

/* Offsets and sizes come from the ABI header itself, never from the rc_ structs. */
#define RC_OFF(s, f) offsetof(struct virtio_resource_##s, f)
#define RC_SZ(s)     sizeof(struct virtio_resource_##s)

#define RC_HDR_SIZE RC_SZ(hdr)

#define RC_GET16(b, s, f)    rc_get_le16((b) + RC_OFF(s, f))
#define RC_GET32(b, s, f)    rc_get_le32((b) + RC_OFF(s, f))
#define RC_GET64(b, s, f)    rc_get_le64((b) + RC_OFF(s, f))
#define RC_PUT16(b, s, f, v) rc_put_le16((b) + RC_OFF(s, f), (v))
#define RC_PUT32(b, s, f, v) rc_put_le32((b) + RC_OFF(s, f), (v))
#define RC_PUT64(b, s, f, v) rc_put_le64((b) + RC_OFF(s, f), (v))

/* Zero n bytes at b (the encoders' reserved fields). */
void rc_codec_zero(uint8_t *b, size_t n);
/* Whether the n bytes at b are all zero (the decoders' reserved fields). */
bool rc_codec_is_zero(const uint8_t *b, size_t n);
/* Zero size bytes of buf and write h with len = size; 0 if size > cap. */
size_t rc_codec_start(void *buf, size_t cap, const struct rc_hdr *h, size_t size);
/*
 * Decode and check the header of a fixed-size message: one of types t1/t2
 * (RC_ETYPE), exactly size bytes long (RC_EMALFORMED).
 */
int rc_codec_fixed(const uint8_t *b, size_t len, struct rc_hdr *h, size_t size, uint16_t t1,
		   uint16_t t2);

#endif /* ACCORD_GUEST_CORE_RC_CODEC_PRIV_H */

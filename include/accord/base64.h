/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648, with padding): binary payloads inside JSON. */
#ifndef ACCORD_BASE64_H
#define ACCORD_BASE64_H

#include <stddef.h>

/* Bytes base64__encode writes for @len bytes, with the NUL. */
#define BASE64_ENCODED_SIZE(len) (4 * (((len) + 2) / 3) + 1)

/* Encode @len bytes of @in into @out (BASE64_ENCODED_SIZE(len) bytes); returns the length. */
size_t base64__encode(const void *in, size_t len, char *out);
/* Decode @len characters of @in into at most @cap bytes; returns the length or -EINVAL. */
long base64__decode(const char *in, size_t len, void *out, size_t cap);

#endif

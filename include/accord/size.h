/* SPDX-License-Identifier: MIT */
#ifndef ACCORD_SIZE_H
#define ACCORD_SIZE_H

#include <stdint.h>

#include "accord/error.h"

/*
 * Parse a size such as "512M", "2G", "1536MiB" or "64k" (binary units,
 * case-insensitive, optional "B"/"iB"). A bare number is taken in
 * @default_unit bytes, as QEMU's -m takes a bare number in MiB.
 */
int size__parse(const char *s, uint64_t default_unit, uint64_t *out, struct acc_err *err);

/* Parse a decimal unsigned integer in [min, max] with nothing after it. */
int uint__parse(const char *s, uint64_t min, uint64_t max, uint64_t *out, struct acc_err *err);

/* Format @bytes as "128M", "2G", "1536K" (exact, largest unit that divides). */
void size__format(uint64_t bytes, char *buf, unsigned long len);

#endif

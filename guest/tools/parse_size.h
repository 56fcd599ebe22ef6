/* SPDX-License-Identifier: MIT */
/* Sizes on the command lines of the guest tools, parsed one way for all. */
#ifndef ACCORD_GUEST_TOOLS_PARSE_SIZE_H
#define ACCORD_GUEST_TOOLS_PARSE_SIZE_H

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "64M", "1G", "4096": bytes (K, M, G, T: powers of 1024, optionally with "B" or "iB"). */
static inline bool parse_size(const char *s, unsigned long long *out)
{
	static const char units[] = "KMGT";
	unsigned int shift = 0;
	unsigned long long v;
	const char *u;
	char *end;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if (*end && (u = strchr(units, toupper((unsigned char)*end)))) {
		shift = 10 * (unsigned int)(u - units + 1);
		end++;
		if (!strcasecmp(end, "iB"))
			end += 2;
	}
	if (!strcasecmp(end, "B"))
		end++;
	if (*end || (shift && v > (ULLONG_MAX >> shift)))
		return false;
	*out = v << shift;
	return true;
}

#endif

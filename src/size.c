// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "accord/size.h"

static int digits__parse(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

int uint__parse(const char *s, uint64_t min, uint64_t max, uint64_t *out, struct acc_err *err)
{
	const char *end;
	uint64_t v;
	int ret;

	ret = digits__parse(s, &end, &v);
	if (ret == -ERANGE || (!ret && (v < min || v > max)))
		return acc_errf(err, ERANGE, "'%s' is out of range (%llu to %llu)", s,
				(unsigned long long)min, (unsigned long long)max);
	if (ret || *end)
		return acc_errf(err, EINVAL, "'%s' is not a whole number", s);
	*out = v;
	return 0;
}

static int unit__shift(const char *suffix, int *shift)
{
	static const char units[] = "KMGTPE";
	const char *u;

	if (!*suffix)
		return -ENOENT;
	u = strchr(units, toupper((unsigned char)suffix[0]));
	if (u && suffix[0] != '\0') {
		*shift = 10 * (int)(u - units + 1);
		suffix++;
	} else if (toupper((unsigned char)suffix[0]) == 'B') {
		*shift = 0;
		return suffix[1] ? -EINVAL : 0;
	} else {
		return -EINVAL;
	}
	if (!*suffix || !strcasecmp(suffix, "B") || !strcasecmp(suffix, "iB"))
		return 0;
	return -EINVAL;
}

int size__parse(const char *s, uint64_t default_unit, uint64_t *out, struct acc_err *err)
{
	const char *end;
	uint64_t v, mult;
	int shift, ret;

	ret = digits__parse(s, &end, &v);
	if (ret == -ERANGE)
		return acc_errf(err, ERANGE, "'%s' is too large", s);
	if (ret)
		return acc_errf(err, EINVAL, "'%s' is not a size (use e.g. 512M or 2G)", s);
	ret = unit__shift(end, &shift);
	if (ret == -ENOENT)
		mult = default_unit;
	else if (ret)
		return acc_errf(err, EINVAL, "'%s' is not a size (use e.g. 512M or 2G)", s);
	else
		mult = 1ull << shift;
	if (mult && v > UINT64_MAX / mult)
		return acc_errf(err, ERANGE, "'%s' is too large", s);
	*out = v * mult;
	return 0;
}

void size__format(uint64_t bytes, char *buf, unsigned long len)
{
	static const char units[] = "KMGTPE";
	int i = -1;

	while (bytes && i < 5 && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[i]);
}

// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>

#include "accord/base64.h"

static const char base64_table[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64__encode(const void *in, size_t len, char *out)
{
	const unsigned char *p = in;
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		v |= i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0;
		v |= i + 2 < len ? (uint32_t)p[i + 2] : 0;
		out[o++] = base64_table[v >> 18];
		out[o++] = base64_table[(v >> 12) & 63];
		out[o++] = i + 1 < len ? base64_table[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? base64_table[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long base64__decode(const char *in, size_t len, void *out, size_t cap)
{
	unsigned char *p = out;
	size_t o = 0;

	if (len % 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		uint32_t w;

		for (int j = 0; j < 4; j++) {
			/* Padding only at the very end, and at most two. */
			if (in[i + j] == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			v[j] = pad ? -1 : base64_value(in[i + j]);
			if (v[j] < 0)
				return -EINVAL;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		if (o + 3 - (size_t)pad > cap)
			return -EINVAL;
		p[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			p[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			p[o++] = (unsigned char)w;
	}
	return (long)o;
}

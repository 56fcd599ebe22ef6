// SPDX-License-Identifier: MIT
/*
 * The few libc pieces the probe needs. memset/memcpy use string instructions:
 * one instruction to the CPL0 interpreter instead of a loop.
 */
#include "probe.h"

void *memset(void *d, int c, size_t n)
{
	void *ret = d;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}

/* The offset of the first byte that differs, or n: one repe cmpsb. */
size_t mem_mismatch(const void *a, const void *b, size_t n)
{
	size_t left = n;
	bool ne;

	if (!n)
		return 0;
	__asm__ volatile("repe cmpsb" : "+S"(a), "+D"(b), "+c"(left), "=@ccne"(ne) : : "memory");
	return ne ? n - left - 1 : n;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strlcpy(char *d, const char *s, size_t size)
{
	size_t n = 0;

	for (; s[n] && n + 1 < size; n++)
		d[n] = s[n];
	if (size)
		d[n] = 0;
	return n;
}

/*
 * Parse a decimal or 0x-prefixed hexadecimal number of exactly len chars,
 * optionally followed by a binary K/M/G/T suffix.
 */
bool parse_u64(const char *s, size_t len, uint64_t *out, bool allow_suffix)
{
	uint64_t v = 0, base = 10, mult = 1;
	size_t i = 0, digits = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (allow_suffix && len > i) {
		switch (s[len - 1]) {
		case 'k':
		case 'K':
			mult = 1ULL << 10;
			break;
		case 'm':
		case 'M':
			mult = 1ULL << 20;
			break;
		case 'g':
		case 'G':
			mult = 1ULL << 30;
			break;
		case 't':
		case 'T':
			mult = 1ULL << 40;
			break;
		}
		if (mult != 1)
			len--;
	}
	for (; i < len; i++, digits++) {
		char c = s[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (!digits || v > UINT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

/*
 * Busy-wait about cycles TSC ticks. The loop cap bounds the wait if the TSC
 * does not advance; at CPL0 here an iteration costs several microseconds.
 */
void delay_cycles(uint64_t cycles)
{
	uint64_t t0 = rdtsc();

	for (unsigned int i = 0; i < 1000000 && rdtsc() - t0 < cycles; i++)
		cpu_relax();
}

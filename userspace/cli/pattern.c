// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pattern.c - data patterns for fill and verify (pure functions)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!(*s >= '0' && *s <= '9'))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -EINVAL : 0;
}

int pattern_parse(const char *str, struct pattern *pat)
{
	memset(pat, 0, sizeof(*pat));
	if (!strcmp(str, "offset")) {
		pat->kind = PATTERN_OFFSET;
	} else if (!strcmp(str, "zero")) {
		pat->kind = PATTERN_ZERO;
	} else if (!strncmp(str, "byte:", 5)) {
		pat->kind = PATTERN_BYTE;
		if (parse_u64(str + 5, &pat->value) || pat->value > 0xff)
			return -EINVAL;
	} else if (!strncmp(str, "seed:", 5)) {
		pat->kind = PATTERN_SEED;
		if (parse_u64(str + 5, &pat->value))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

char *pattern_name(const struct pattern *pat, char *buf, size_t len)
{
	switch (pat->kind) {
	case PATTERN_OFFSET:
		snprintf(buf, len, "offset");
		break;
	case PATTERN_ZERO:
		snprintf(buf, len, "zero");
		break;
	case PATTERN_BYTE:
		snprintf(buf, len, "byte:0x%02" PRIx64, pat->value);
		break;
	case PATTERN_SEED:
		snprintf(buf, len, "seed:%" PRIu64, pat->value);
		break;
	}
	return buf;
}

/* splitmix64's output function: a good mix of seed and offset. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t pattern_word(const struct pattern *pat, uint64_t off)
{
	switch (pat->kind) {
	case PATTERN_OFFSET:
		return off;
	case PATTERN_ZERO:
		return 0;
	case PATTERN_BYTE:
		return pat->value * 0x0101010101010101ULL;
	case PATTERN_SEED:
		return mix(pat->value ^ mix(off));
	}
	return 0;
}

uint8_t pattern_byte(const struct pattern *pat, uint64_t off)
{
	return (uint8_t)(pattern_word(pat, off & ~7ULL) >> (8 * (off & 7)));
}

/* Little-endian store and load, whatever the host and the alignment. */
static void store_le64(unsigned char *p, uint64_t w)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(w >> (8 * i));
}

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t w = 0;

	for (int i = 0; i < 8; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

void pattern_fill(const struct pattern *pat, void *buf, uint64_t base,
		  uint64_t len)
{
	unsigned char *p = buf;
	uint64_t i = 0;

	for (; i < len && (base + i) % 8; i++)
		p[i] = pattern_byte(pat, base + i);
	for (; len - i >= 8; i += 8)
		store_le64(p + i, pattern_word(pat, base + i));
	for (; i < len; i++)
		p[i] = pattern_byte(pat, base + i);
}

int pattern_verify(const struct pattern *pat, const void *buf, uint64_t base,
		   uint64_t len, uint64_t *bad, uint8_t *expected,
		   uint8_t *found)
{
	const unsigned char *p = buf;
	uint64_t i = 0;

	for (; i < len; i++) {
		if ((base + i) % 8 == 0 && len - i >= 8) {
			if (load_le64(p + i) == pattern_word(pat, base + i)) {
				i += 7;
				continue;
			}
		}
		if (p[i] != pattern_byte(pat, base + i)) {
			*bad = base + i;
			*expected = pattern_byte(pat, base + i);
			*found = p[i];
			return 1;
		}
	}
	return 0;
}

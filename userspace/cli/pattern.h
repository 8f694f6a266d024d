/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pattern.h - the data patterns of `hpage-map fill` and `hpage-map verify`
 *
 * A pattern gives every byte of the buffer a value that depends only on the
 * byte's offset in the buffer, so any range can be written by one process
 * and checked by another.  Byte o is byte (o % 8) of the little-endian
 * 64-bit word pattern_word(o - o % 8).
 */
#ifndef HPAGE_MAP_PATTERN_H
#define HPAGE_MAP_PATTERN_H

#include <stddef.h>
#include <stdint.h>

enum pattern_kind {
	PATTERN_OFFSET,	/* "offset": every 8-byte word holds its own offset */
	PATTERN_ZERO,	/* "zero" */
	PATTERN_BYTE,	/* "byte:V": every byte is V (0-255) */
	PATTERN_SEED,	/* "seed:N": pseudo-random words from seed N */
};

struct pattern {
	enum pattern_kind kind;
	uint64_t value;		/* the byte or the seed */
};

/* Parse "offset", "zero", "byte:0xAB", "seed:42": 0 or -EINVAL. */
int pattern_parse(const char *str, struct pattern *pat);
/* The pattern's canonical name ("seed:42"), into @buf; returns @buf. */
char *pattern_name(const struct pattern *pat, char *buf, size_t len);

/* The word at buffer offset @off (a multiple of 8). */
uint64_t pattern_word(const struct pattern *pat, uint64_t off);
/* The byte at buffer offset @off. */
uint8_t pattern_byte(const struct pattern *pat, uint64_t off);

/* Write the pattern into @buf, which holds buffer offsets [@base, @base + @len). */
void pattern_fill(const struct pattern *pat, void *buf, uint64_t base,
		  uint64_t len);

/*
 * Check @buf (buffer offsets [@base, @base + @len)) against the pattern.
 * Returns 0 if it matches, else 1 with the first bad buffer offset in
 * *@bad and the byte expected and found there.
 */
int pattern_verify(const struct pattern *pat, const void *buf, uint64_t base,
		   uint64_t len, uint64_t *bad, uint8_t *expected,
		   uint8_t *found);

#endif /* HPAGE_MAP_PATTERN_H */

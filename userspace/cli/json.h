/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.h - a tiny streaming JSON writer for --json output
 *
 * Pretty-printed with two-space indents.  @key is NULL inside arrays and
 * for the top-level value.
 */
#ifndef HPAGE_MAP_JSON_H
#define HPAGE_MAP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];	/* nothing written at this level yet */
};

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_string(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
/* A count that is -1 when unknown: null then. */
void json_count(struct json *j, const char *key, long long val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif /* HPAGE_MAP_JSON_H */

/* How the fuzz targets of __consumer_offsets and __transaction_state records
 * read their input: two bytes choose where the key ends, the rest is the key
 * then the value, each copied to an exactly sized buffer so that a read past
 * either end is caught. A value of exactly ff ff stands for a tombstone
 * where the target asks for one. */
#ifndef SLUICE_TESTS_FUZZ_RECORD_INPUT_H
#define SLUICE_TESTS_FUZZ_RECORD_INPUT_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cursor.h"

struct fuzz_record {
	uint8_t *key_buf;
	uint8_t *value_buf;
	struct kbytes key;
	struct kbytes value;
};

/* false when the input is too short to hold the split. */
static inline bool fuzz_record_split(const uint8_t *data, size_t size, bool tombstone_marker,
				     struct fuzz_record *r)
{
	if (size < 2)
		return false;
	size_t rest = size - 2;
	size_t key_len = ((size_t)data[0] << 8 | data[1]) % (rest + 1);
	r->key_buf = malloc(key_len + 1);
	r->value_buf = malloc(rest - key_len + 1);
	assert(r->key_buf && r->value_buf);
	memcpy(r->key_buf, data + 2, key_len);
	memcpy(r->value_buf, data + 2 + key_len, rest - key_len);
	r->key = (struct kbytes){ r->key_buf, (int32_t)key_len };
	r->value = (struct kbytes){ r->value_buf, (int32_t)(rest - key_len) };
	if (tombstone_marker && r->value.len == 2 && r->value_buf[0] == 0xff && r->value_buf[1] == 0xff)
		r->value = (struct kbytes){ NULL, -1 };
	return true;
}

static inline void fuzz_record_free(struct fuzz_record *r)
{
	free(r->key_buf);
	free(r->value_buf);
}

#endif

/* Fuzz target: one consumer-protocol group record of __consumer_offsets as
 * the replay reads it from a log (sluice's, Kafka's or anyone's), through the
 * proto/consumer_group_records.h decoders. The first two bytes give the key's
 * length (modulo what is left); the key follows, then the value; a value that
 * is exactly "\xff\xff" stands for a null one (a tombstone).
 *
 * The value is read as every record type, whatever the key says. A key or
 * value that decodes is encoded again and decoded once more: the encoder must
 * fill exactly the size its *_size function computed, and a second round must
 * give the same bytes as the first (the encoding is canonical: what sluice
 * writes replays as it was meant). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/consumer_group_records.h"
#include "fuzz_record_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_ARENA_BYTES = 1 << 22 };

static const int16_t types[] = {
	CG_RECORD_METADATA,
	CG_RECORD_PARTITION_METADATA,
	CG_RECORD_MEMBER_METADATA,
	CG_RECORD_TARGET_ASSIGNMENT_METADATA,
	CG_RECORD_TARGET_ASSIGNMENT_MEMBER,
	CG_RECORD_CURRENT_MEMBER_ASSIGNMENT,
	CG_RECORD_REGULAR_EXPRESSION,
};

struct encoded {
	uint8_t *buf;
	size_t len;
};

static struct encoded encode_key(const struct cg_record_key *k)
{
	struct encoded e = { .len = cg_record_key_size(k) };
	e.buf = malloc(e.len);
	assert(e.buf);
	struct wcursor w;
	wc_init(&w, e.buf, e.len, NULL, 0);
	cg_record_key_write(&w, k);
	assert(!w.overflow && w.pos == w.end);
	return e;
}

static struct encoded encode_value(const struct cg_record_value *v)
{
	struct encoded e = { .len = cg_record_value_size(v) };
	e.buf = malloc(e.len);
	assert(e.buf);
	struct wcursor w;
	wc_init(&w, e.buf, e.len, NULL, 0);
	cg_record_value_write(&w, v);
	assert(!w.overflow && w.pos == w.end);
	return e;
}

static struct kbytes view(const struct encoded *e)
{
	return (struct kbytes){ e->buf, (int32_t)e->len };
}

static void fuzz_key(struct kbytes key)
{
	struct cg_record_key k;
	const char *reason = NULL;
	enum cg_record_result r = cg_record_key_read(key, &k, &reason);
	assert(r != CG_RECORD_MALFORMED || reason);
	if (r != CG_RECORD_OK)
		return;
	assert(cg_record_key_fits(&k));
	struct encoded e = encode_key(&k);
	struct cg_record_key again;
	assert(cg_record_key_read(view(&e), &again, &reason) == CG_RECORD_OK);
	assert(again.type == k.type && kstr_eq(again.group_id, k.group_id));
	assert(kstr_eq(again.member_id, k.member_id) && kstr_eq(again.regex, k.regex));
	free(e.buf);
}

static void fuzz_value(int16_t type, struct kbytes value)
{
	struct arena a;
	arena_init(&a, FUZZ_ARENA_BYTES);
	struct cg_record_value v;
	const char *reason = NULL;
	enum cg_record_result r = cg_record_value_read(type, value, &a, &v, &reason);
	assert(r != CG_RECORD_MALFORMED || reason);
	assert(r != CG_RECORD_TOMBSTONE || value.len < 0);
	if (r == CG_RECORD_OK) {
		struct encoded first = encode_value(&v);
		struct cg_record_value again;
		assert(cg_record_value_read(type, view(&first), &a, &again, &reason) == CG_RECORD_OK);
		struct encoded second = encode_value(&again);
		assert(second.len == first.len && memcmp(second.buf, first.buf, first.len) == 0);
		free(second.buf);
		free(first.buf);
	}
	arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_record r;
	if (!fuzz_record_split(data, size, true, &r))
		return 0;
	fuzz_key(r.key);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		fuzz_value(types[i], r.value);
	fuzz_record_free(&r);
	return 0;
}

/* Fuzz target: one record of __transaction_state as the replay reads it from
 * a log (sluice's, Kafka's or anyone's), through the proto/txn_records.h
 * decoders. The first two bytes give the key's length (modulo what is left);
 * the key follows, then the value.
 *
 * A value that decodes is written again in its own version, from the
 * partitions the reader handed out, and read once more: the writer must fill
 * exactly the size it computed and every field must come back, else a record
 * the coordinator writes would not replay as meant. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/txn_records.h"
#include "fuzz_record_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_PARTITIONS_MAX = 4096 };

/* The partitions as read, one topic per partition (the writer does not care
 * whether a topic repeats). */
struct collected {
	struct txn_log_topic topics[FUZZ_PARTITIONS_MAX];
	int32_t partitions[FUZZ_PARTITIONS_MAX];
	int32_t count;
};

static bool collect(void *ctx, struct kstr topic, int32_t partition)
{
	struct collected *c = ctx;
	if (c->count >= FUZZ_PARTITIONS_MAX)
		return false;
	c->partitions[c->count] = partition;
	c->topics[c->count] = (struct txn_log_topic){ topic, 1, &c->partitions[c->count] };
	c->count++;
	return true;
}

static void fuzz_key(struct kbytes key)
{
	struct kstr id;
	if (txn_log_key_read(key, &id) != 0)
		return;
	size_t n = txn_log_key_size(id);
	uint8_t *buf = malloc(n);
	assert(buf);
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	txn_log_key_write(&w, id);
	assert(!w.overflow && w.pos == w.end);
	assert(n == (size_t)key.len && memcmp(buf, key.ptr, n) == 0);
	free(buf);
}

static void fuzz_value(struct kbytes value)
{
	static struct collected c, again;
	c.count = 0;
	struct txn_log_value v;
	if (txn_log_value_read(value, &v, collect, &c) != 0)
		return;
	if (v.topic_count >= 0) {
		v.topic_count = c.count;
		v.topics = c.topics;
	}
	if (!txn_log_value_fits(&v))
		return;
	size_t n = txn_log_value_size(&v);
	uint8_t *buf = malloc(n);
	assert(buf);
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	txn_log_value_write(&w, &v);
	assert(!w.overflow && w.pos == w.end);
	again.count = 0;
	struct txn_log_value r;
	assert(txn_log_value_read((struct kbytes){ buf, (int32_t)n }, &r, collect, &again) == 0);
	assert(r.version == v.version && r.producer_id == v.producer_id);
	assert(r.producer_epoch == v.producer_epoch && r.timeout_ms == v.timeout_ms);
	assert(r.status == v.status && r.topic_count == v.topic_count);
	assert(r.last_update_ms == v.last_update_ms && r.start_ms == v.start_ms);
	if (v.version >= TXN_VALUE_FLEXIBLE_FROM) {
		assert(r.previous_producer_id == v.previous_producer_id);
		assert(r.next_producer_id == v.next_producer_id);
		assert(r.client_transaction_version == v.client_transaction_version);
	}
	assert(again.count == c.count);
	for (int32_t i = 0; i < c.count; i++) {
		assert(again.partitions[i] == c.partitions[i]);
		assert(kstr_eq(again.topics[i].topic, c.topics[i].topic));
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_record r;
	if (!fuzz_record_split(data, size, false, &r))
		return 0;
	fuzz_key(r.key);
	fuzz_value(r.value);
	fuzz_record_free(&r);
	return 0;
}

/* __transaction_state keys and values; see txn_records.h. */
#include "proto/txn_records.h"

#include <assert.h>

enum {
	TAG_PREVIOUS_PRODUCER_ID = 0,
	TAG_NEXT_PRODUCER_ID = 1,
	TAG_CLIENT_TRANSACTION_VERSION = 2,
	NO_PRODUCER_ID = -1,
	TOPIC_MIN_BYTES = 2 + 4,         /* empty string, empty array (version 0) */
	FLEX_TOPIC_MIN_BYTES = 1 + 1 + 1, /* compact string, compact array, tags */
};

static size_t str_size(struct kstr s, bool flex)
{
	size_t len = s.len > 0 ? (size_t)s.len : 0;
	return flex ? uvarint_size((uint32_t)len + 1) + len : 2 + len;
}

int txn_log_key_read(struct kbytes key, struct kstr *transactional_id)
{
	if (key.len < 2)
		return -1;
	struct rcursor c;
	rc_init(&c, (uint8_t *)key.ptr, (size_t)key.len);
	if (rc_int16(&c) != TXN_KEY_VERSION)
		return -1;
	*transactional_id = rc_string(&c);
	return c.err == RC_OK && rc_left(&c) == 0 ? 0 : -1;
}

size_t txn_log_key_size(struct kstr transactional_id)
{
	return 2 + str_size(transactional_id, false);
}

void txn_log_key_write(struct wcursor *w, struct kstr transactional_id)
{
	wc_int16(w, TXN_KEY_VERSION);
	wc_string(w, transactional_id);
}

static bool value_tag_read(struct rcursor *f, uint32_t tag, void *ctx)
{
	struct txn_log_value *out = ctx;
	switch (tag) {
	case TAG_PREVIOUS_PRODUCER_ID:
		out->previous_producer_id = rc_int64(f);
		return true;
	case TAG_NEXT_PRODUCER_ID:
		out->next_producer_id = rc_int64(f);
		return true;
	case TAG_CLIENT_TRANSACTION_VERSION:
		out->client_transaction_version = rc_int16(f);
		return true;
	default:
		return false;
	}
}

static bool topic_read(struct rcursor *c, bool flex, txn_log_partition_fn fn, void *ctx)
{
	struct kstr topic = flex ? rc_compact_string(c) : rc_string(c);
	int32_t n = flex ? rc_compact_array_len(c, false, TXN_RECORD_PARTITIONS_MAX, 4)
			 : rc_array_len(c, false, TXN_RECORD_PARTITIONS_MAX, 4);
	for (int32_t i = 0; i < n && c->err == RC_OK; i++) {
		int32_t partition = rc_int32(c);
		if (c->err == RC_OK && fn && !fn(ctx, topic, partition))
			return false;
	}
	if (flex)
		rc_skip_tagged_fields(c);
	return c->err == RC_OK;
}

int txn_log_value_read(struct kbytes value, struct txn_log_value *out, txn_log_partition_fn fn,
		       void *ctx)
{
	if (value.len < 2)
		return -1;
	struct rcursor c;
	rc_init(&c, (uint8_t *)value.ptr, (size_t)value.len);
	*out = (struct txn_log_value){ .previous_producer_id = NO_PRODUCER_ID,
				       .next_producer_id = NO_PRODUCER_ID };
	out->version = rc_int16(&c);
	if (out->version < 0 || out->version > TXN_VALUE_VERSION_MAX)
		return -1;
	bool flex = out->version >= TXN_VALUE_FLEXIBLE_FROM;
	out->producer_id = rc_int64(&c);
	out->producer_epoch = rc_int16(&c);
	out->timeout_ms = rc_int32(&c);
	out->status = rc_int8(&c);
	out->topic_count = flex ? rc_compact_array_len(&c, true, TXN_RECORD_TOPICS_MAX, FLEX_TOPIC_MIN_BYTES)
				: rc_array_len(&c, true, TXN_RECORD_TOPICS_MAX, TOPIC_MIN_BYTES);
	for (int32_t i = 0; i < out->topic_count && c.err == RC_OK; i++)
		if (!topic_read(&c, flex, fn, ctx))
			return -1;
	out->last_update_ms = rc_int64(&c);
	out->start_ms = rc_int64(&c);
	if (flex)
		rc_read_tagged_fields(&c, value_tag_read, out);
	if (c.err != RC_OK || out->status < 0 || out->status >= TXN_STATUS_COUNT)
		return -1;
	return 0;
}

bool txn_log_value_fits(const struct txn_log_value *v)
{
	for (int32_t i = 0; i < v->topic_count; i++)
		if (v->topics[i].topic.len > INT16_MAX)
			return false;
	return v->version >= 0 && v->version <= TXN_VALUE_VERSION_MAX;
}

/* The tagged fields a version-1 value carries: those not at their default. */
static uint32_t value_tag_count(const struct txn_log_value *v)
{
	return (v->previous_producer_id != NO_PRODUCER_ID) + (v->next_producer_id != NO_PRODUCER_ID) +
	       (v->client_transaction_version != 0);
}

size_t txn_log_value_size(const struct txn_log_value *v)
{
	bool flex = v->version >= TXN_VALUE_FLEXIBLE_FROM;
	size_t n = 2 + 8 + 2 + 4 + 1 + 8 + 8;
	n += flex ? uvarint_size((uint32_t)(v->topic_count < 0 ? 0 : v->topic_count + 1)) : 4;
	for (int32_t i = 0; i < v->topic_count; i++) {
		const struct txn_log_topic *t = &v->topics[i];
		n += str_size(t->topic, flex) + 4 * (size_t)t->partition_count;
		n += flex ? uvarint_size((uint32_t)t->partition_count + 1) + 1 : 4;
	}
	if (flex) {
		n += 1; /* the tag count: at most 3 */
		n += v->previous_producer_id != NO_PRODUCER_ID ? 1 + 1 + 8 : 0;
		n += v->next_producer_id != NO_PRODUCER_ID ? 1 + 1 + 8 : 0;
		n += v->client_transaction_version != 0 ? 1 + 1 + 2 : 0;
	}
	return n;
}

void txn_log_value_write(struct wcursor *w, const struct txn_log_value *v)
{
	assert(txn_log_value_fits(v));
	bool flex = v->version >= TXN_VALUE_FLEXIBLE_FROM;
	wc_int16(w, v->version);
	wc_int64(w, v->producer_id);
	wc_int16(w, v->producer_epoch);
	wc_int32(w, v->timeout_ms);
	wc_int8(w, v->status);
	if (flex)
		wc_compact_array_len(w, v->topic_count);
	else
		wc_array_len(w, v->topic_count);
	for (int32_t i = 0; i < v->topic_count; i++) {
		const struct txn_log_topic *t = &v->topics[i];
		if (flex) {
			wc_compact_string(w, t->topic);
			wc_compact_array_len(w, t->partition_count);
		} else {
			wc_string(w, t->topic);
			wc_array_len(w, t->partition_count);
		}
		for (int32_t p = 0; p < t->partition_count; p++)
			wc_int32(w, t->partitions[p]);
		if (flex)
			wc_uvarint(w, 0);
	}
	wc_int64(w, v->last_update_ms);
	wc_int64(w, v->start_ms);
	if (!flex)
		return;
	wc_uvarint(w, value_tag_count(v));
	if (v->previous_producer_id != NO_PRODUCER_ID) {
		wc_uvarint(w, TAG_PREVIOUS_PRODUCER_ID);
		wc_uvarint(w, 8);
		wc_int64(w, v->previous_producer_id);
	}
	if (v->next_producer_id != NO_PRODUCER_ID) {
		wc_uvarint(w, TAG_NEXT_PRODUCER_ID);
		wc_uvarint(w, 8);
		wc_int64(w, v->next_producer_id);
	}
	if (v->client_transaction_version != 0) {
		wc_uvarint(w, TAG_CLIENT_TRANSACTION_VERSION);
		wc_uvarint(w, 2);
		wc_int16(w, v->client_transaction_version);
	}
}

/* Fuzz target: one record of __consumer_offsets as the replay reads it from a
 * log (a file sluice, Kafka or anyone else wrote), through the
 * proto/group_records.h decoders. The first two bytes give the key's length
 * (modulo what is left); the key follows, then the value; a value that is
 * exactly "\xff\xff" stands for a null one (a tombstone).
 *
 * Both value decoders run on every value, whatever the key says. A value that
 * decodes is encoded again (the encoders write what the coordinator appends)
 * and decoded once more when its strings fit the format the writers use
 * (*_fits; the coordinator records nothing that does not): the encoder must
 * fill exactly the size its *_size function computed, and the fields must
 * come back as they were, else a record sluice writes would not replay as it
 * was meant. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/group_records.h"
#include "fuzz_record_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(struct kstr a, struct kstr rt)
{
	if (a.len < 0 || rt.len < 0)
		return a.len == rt.len;
	return a.len == rt.len && (a.len == 0 || memcmp(a.ptr, rt.ptr, (size_t)a.len) == 0);
}

static bool same_bytes(struct kbytes a, struct kbytes rt)
{
	/* The writers keep a null as null and an empty value as empty. */
	if (a.len < 0 || rt.len < 0)
		return a.len == rt.len;
	return a.len == rt.len && (a.len == 0 || memcmp(a.ptr, rt.ptr, (size_t)a.len) == 0);
}

/* An encoded copy of something, exactly sized. */
struct encoded {
	uint8_t *buf;
	size_t len;
};

static struct kbytes encoded_view(const struct encoded *e)
{
	return (struct kbytes){ e->buf, (int32_t)e->len };
}

static void fuzz_key(struct kbytes key)
{
	struct group_record_key k;
	enum group_record_kind kind = group_record_key_read(key, &k);
	if (kind != GROUP_RECORD_OFFSET && kind != GROUP_RECORD_METADATA)
		return;
	struct encoded e;
	e.len = kind == GROUP_RECORD_OFFSET ? group_offset_key_size(k.group, k.topic)
					    : group_metadata_key_size(k.group);
	e.buf = malloc(e.len);
	assert(e.buf);
	struct wcursor w;
	wc_init(&w, e.buf, e.len, NULL, 0);
	if (kind == GROUP_RECORD_OFFSET)
		group_offset_key_write(&w, k.group, k.topic, k.partition);
	else
		group_metadata_key_write(&w, k.group);
	assert(!w.overflow && w.pos == w.end);
	struct group_record_key again;
	assert(group_record_key_read(encoded_view(&e), &again) == kind);
	assert(same_str(again.group, k.group));
	if (kind == GROUP_RECORD_OFFSET) {
		assert(same_str(again.topic, k.topic));
		assert(again.partition == k.partition);
	}
	free(e.buf);
}

static void fuzz_offset_value(struct kbytes value)
{
	struct group_offset_value v;
	if (group_offset_value_read(value, &v) != 0 || !group_offset_value_fits(&v))
		return;
	struct encoded e = { .len = group_offset_value_size(&v) };
	e.buf = malloc(e.len);
	assert(e.buf);
	struct wcursor w;
	wc_init(&w, e.buf, e.len, NULL, 0);
	group_offset_value_write(&w, &v);
	assert(!w.overflow && w.pos == w.end);
	struct group_offset_value again;
	assert(group_offset_value_read(encoded_view(&e), &again) == 0);
	assert(again.offset == v.offset);
	assert(same_str(again.metadata, v.metadata));
	assert(again.commit_timestamp == v.commit_timestamp);
	assert(again.expire_timestamp == v.expire_timestamp);
	/* The expiring version (v1) has no leader epoch. */
	assert(v.expire_timestamp >= 0 || again.leader_epoch == v.leader_epoch);
	free(e.buf);
}

static void check_member(const struct group_member_value *a, const struct group_member_value *rt)
{
	assert(same_str(a->member_id, rt->member_id));
	assert(same_str(a->instance_id, rt->instance_id));
	assert(same_str(a->client_id, rt->client_id));
	assert(same_str(a->client_host, rt->client_host));
	assert(a->rebalance_timeout_ms == rt->rebalance_timeout_ms);
	assert(a->session_timeout_ms == rt->session_timeout_ms);
	assert(same_bytes(a->subscription, rt->subscription));
	assert(same_bytes(a->assignment, rt->assignment));
}

static void fuzz_metadata_value(struct kbytes value)
{
	struct group_metadata_value v;
	if (group_metadata_value_read(value, &v, NULL, 0) != 0)
		return;
	/* As the replay does: size the members from a first pass, then read. */
	struct group_member_value *mv = calloc((size_t)v.member_count + 1, sizeof(*mv));
	assert(mv);
	if (group_metadata_value_read(value, &v, mv, v.member_count) != 0 ||
	    !group_metadata_value_fits(&v)) {
		free(mv);
		return;
	}
	struct encoded e = { .len = group_metadata_value_size(&v) };
	e.buf = malloc(e.len);
	assert(e.buf);
	struct wcursor w;
	wc_init(&w, e.buf, e.len, NULL, 0);
	group_metadata_value_write(&w, &v);
	assert(!w.overflow && w.pos == w.end);
	struct group_metadata_value again;
	struct group_member_value *mv2 = calloc((size_t)v.member_count + 1, sizeof(*mv2));
	assert(mv2);
	assert(group_metadata_value_read(encoded_view(&e), &again, mv2, v.member_count) == 0);
	assert(same_str(again.protocol_type, v.protocol_type));
	assert(again.generation == v.generation);
	assert(same_str(again.protocol, v.protocol));
	assert(same_str(again.leader, v.leader));
	assert(again.state_timestamp == v.state_timestamp);
	assert(again.member_count == v.member_count);
	for (int32_t i = 0; i < v.member_count; i++)
		check_member(&mv2[i], &mv[i]);
	free(mv2);
	free(e.buf);
	free(mv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_record r;
	if (!fuzz_record_split(data, size, true, &r))
		return 0;
	fuzz_key(r.key);
	fuzz_offset_value(r.value);
	fuzz_metadata_value(r.value);
	fuzz_record_free(&r);
	return 0;
}

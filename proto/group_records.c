/* __consumer_offsets keys and values; see group_records.h. */
#include "proto/group_records.h"

#include <assert.h>
#include <stdint.h>

enum {
	GROUP_VALUE_FLEXIBLE_FROM = 4,
	MEMBER_MIN_BYTES = 2 + 2 + 2 + 4 + 4 + 4, /* strings, timeouts, bytes lengths */
};

static struct kstr read_str(struct rcursor *c, bool flex, bool nullable)
{
	if (flex)
		return nullable ? rc_compact_nstring(c) : rc_compact_string(c);
	return nullable ? rc_nstring(c) : rc_string(c);
}

static struct kbytes read_bytes(struct rcursor *c, bool flex)
{
	return flex ? rc_compact_bytes(c) : rc_bytes(c);
}

static size_t str_size(struct kstr s)
{
	return 2 + (size_t)(s.len > 0 ? s.len : 0);
}

bool group_record_str_fits(struct kstr s)
{
	return s.len <= INT16_MAX;
}

bool group_offset_value_fits(const struct group_offset_value *v)
{
	return group_record_str_fits(v->metadata);
}

bool group_metadata_value_fits(const struct group_metadata_value *v)
{
	bool fits = group_record_str_fits(v->protocol_type) && group_record_str_fits(v->protocol) &&
		    group_record_str_fits(v->leader);
	for (int32_t i = 0; fits && i < v->member_count; i++) {
		const struct group_member_value *m = &v->members[i];
		fits = group_record_str_fits(m->member_id) && group_record_str_fits(m->instance_id) &&
		       group_record_str_fits(m->client_id) && group_record_str_fits(m->client_host);
	}
	return fits;
}

enum group_record_kind group_record_key_read(struct kbytes key, struct group_record_key *out)
{
	if (key.len < 2)
		return GROUP_RECORD_MALFORMED;
	struct rcursor c;
	rc_init(&c, (uint8_t *)key.ptr, (size_t)key.len);
	int16_t version = rc_int16(&c);
	enum group_record_kind kind;
	out->group = rc_string(&c);
	out->topic = (struct kstr){ "", 0 };
	out->partition = -1;
	if (version == 0 || version == GROUP_KEY_OFFSET_VERSION) {
		out->topic = rc_string(&c);
		out->partition = rc_int32(&c);
		kind = GROUP_RECORD_OFFSET;
	} else if (version == GROUP_KEY_METADATA_VERSION) {
		kind = GROUP_RECORD_METADATA;
	} else {
		return GROUP_RECORD_OTHER;
	}
	return c.err == RC_OK ? kind : GROUP_RECORD_MALFORMED;
}

size_t group_offset_key_size(struct kstr group, struct kstr topic)
{
	return 2 + str_size(group) + str_size(topic) + 4;
}

void group_offset_key_write(struct wcursor *w, struct kstr group, struct kstr topic, int32_t partition)
{
	wc_int16(w, GROUP_KEY_OFFSET_VERSION);
	wc_string(w, group);
	wc_string(w, topic);
	wc_int32(w, partition);
}

size_t group_metadata_key_size(struct kstr group)
{
	return 2 + str_size(group);
}

void group_metadata_key_write(struct wcursor *w, struct kstr group)
{
	wc_int16(w, GROUP_KEY_METADATA_VERSION);
	wc_string(w, group);
}

int group_offset_value_read(struct kbytes value, struct group_offset_value *out)
{
	if (value.len < 2)
		return -1;
	struct rcursor c;
	rc_init(&c, (uint8_t *)value.ptr, (size_t)value.len);
	int16_t version = rc_int16(&c);
	if (version < 0 || version > GROUP_VALUE_VERSION_MAX)
		return -1;
	bool flex = version >= GROUP_VALUE_FLEXIBLE_FROM;
	out->offset = rc_int64(&c);
	out->leader_epoch = version >= 3 ? rc_int32(&c) : -1;
	out->metadata = read_str(&c, flex, false);
	out->commit_timestamp = rc_int64(&c);
	out->expire_timestamp = version == 1 ? rc_int64(&c) : -1;
	/* Only -1 means "none" (Kafka's sentinel); any other time before the
	 * epoch is one long past, which 0 says in our representation. */
	if (out->expire_timestamp < -1)
		out->expire_timestamp = 0;
	if (flex)
		rc_skip_tagged_fields(&c);
	return c.err == RC_OK ? 0 : -1;
}

size_t group_offset_value_size(const struct group_offset_value *v)
{
	size_t n = 2 + 8 + str_size(v->metadata) + 8;
	return v->expire_timestamp >= 0 ? n + 8 : n + 4;
}

void group_offset_value_write(struct wcursor *w, const struct group_offset_value *v)
{
	bool expiring = v->expire_timestamp >= 0;
	wc_int16(w, expiring ? GROUP_VALUE_OFFSET_EXPIRING_VERSION : GROUP_VALUE_OFFSET_VERSION);
	wc_int64(w, v->offset);
	if (!expiring)
		wc_int32(w, v->leader_epoch);
	wc_string(w, v->metadata);
	wc_int64(w, v->commit_timestamp);
	if (expiring)
		wc_int64(w, v->expire_timestamp);
}

static void member_read(struct rcursor *c, int16_t version, bool flex, struct group_member_value *m)
{
	m->member_id = read_str(c, flex, false);
	m->instance_id = version >= 3 ? read_str(c, flex, true) : (struct kstr){ NULL, -1 };
	m->client_id = read_str(c, flex, false);
	m->client_host = read_str(c, flex, false);
	m->rebalance_timeout_ms = version >= 1 ? rc_int32(c) : -1;
	m->session_timeout_ms = rc_int32(c);
	m->subscription = read_bytes(c, flex);
	m->assignment = read_bytes(c, flex);
	if (flex)
		rc_skip_tagged_fields(c);
}

int group_metadata_value_read(struct kbytes value, struct group_metadata_value *out,
			      struct group_member_value *members, int32_t members_cap)
{
	if (value.len < 2)
		return -1;
	struct rcursor c;
	rc_init(&c, (uint8_t *)value.ptr, (size_t)value.len);
	int16_t version = rc_int16(&c);
	if (version < 0 || version > GROUP_VALUE_VERSION_MAX)
		return -1;
	bool flex = version >= GROUP_VALUE_FLEXIBLE_FROM;
	out->protocol_type = read_str(&c, flex, false);
	out->generation = rc_int32(&c);
	out->protocol = read_str(&c, flex, true);
	out->leader = read_str(&c, flex, true);
	out->state_timestamp = version >= 2 ? rc_int64(&c) : -1;
	out->member_count = flex ? rc_compact_array_len(&c, false, GROUP_RECORD_MEMBERS_MAX, MEMBER_MIN_BYTES / 2)
				 : rc_array_len(&c, false, GROUP_RECORD_MEMBERS_MAX, MEMBER_MIN_BYTES);
	out->members = members;
	if (c.err != RC_OK)
		return -1;
	if (!members)
		return 0;
	if (out->member_count > members_cap)
		return -1;
	for (int32_t i = 0; i < out->member_count; i++)
		member_read(&c, version, flex, &members[i]);
	if (flex)
		rc_skip_tagged_fields(&c);
	return c.err == RC_OK ? 0 : -1;
}

static size_t member_size(const struct group_member_value *m)
{
	return str_size(m->member_id) + str_size(m->instance_id) + str_size(m->client_id) +
	       str_size(m->client_host) + 4 + 4 + 4 +
	       (size_t)(m->subscription.len > 0 ? m->subscription.len : 0) + 4 +
	       (size_t)(m->assignment.len > 0 ? m->assignment.len : 0);
}

size_t group_metadata_value_size(const struct group_metadata_value *v)
{
	size_t n = 2 + str_size(v->protocol_type) + 4 + str_size(v->protocol) + str_size(v->leader) +
		   8 + 4;
	for (int32_t i = 0; i < v->member_count; i++)
		n += member_size(&v->members[i]);
	return n;
}

void group_metadata_value_write(struct wcursor *w, const struct group_metadata_value *v)
{
	wc_int16(w, GROUP_VALUE_METADATA_VERSION);
	wc_string(w, v->protocol_type);
	wc_int32(w, v->generation);
	wc_string(w, v->protocol);
	wc_string(w, v->leader);
	wc_int64(w, v->state_timestamp);
	wc_array_len(w, v->member_count);
	for (int32_t i = 0; i < v->member_count; i++) {
		const struct group_member_value *m = &v->members[i];
		wc_string(w, m->member_id);
		wc_string(w, m->instance_id);
		wc_string(w, m->client_id);
		wc_string(w, m->client_host);
		wc_int32(w, m->rebalance_timeout_ms);
		wc_int32(w, m->session_timeout_ms);
		wc_bytes(w, m->subscription);
		wc_bytes(w, m->assignment);
	}
}

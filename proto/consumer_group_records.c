/* Consumer-protocol group records of __consumer_offsets; see
 * consumer_group_records.h. */
#include "proto/consumer_group_records.h"

#include <assert.h>

#include "proto/group_records.h"

enum {
	UUID_BYTES = 16,
	/* The fewest bytes each array element can take, so that a count is
	 * checked against the bytes left before anything is allocated. */
	STRING_MIN_BYTES = 1,
	INT32_BYTES = 4,
	TOPIC_PARTITIONS_MIN_BYTES = UUID_BYTES + 1 + 1,            /* id, partitions, tags */
	TOPIC_METADATA_MIN_BYTES = UUID_BYTES + 1 + 4 + 1 + 1,      /* id, name, count, partitions, tags */
	PARTITION_RACKS_MIN_BYTES = 4 + 1 + 1,                      /* partition, racks, tags */
	CLASSIC_PROTOCOL_MIN_BYTES = 1 + 1 + 1,                     /* name, metadata, tags */
	/* The one tagged field each value that has one defines. */
	TAG_METADATA_HASH = 0,
	TAG_ASSIGNMENT_TIMESTAMP = 0,
	TAG_CLASSIC_MEMBER_METADATA = 0,
	TAG_ASSIGNMENT_EPOCHS = 0,
	/* A nullable struct starts with a byte: 0 for null, else present. */
	STRUCT_NULL = 0,
	STRUCT_PRESENT = 1,
};

/* ---- reading ---- */

static const char *failure_reason(const struct rcursor *c)
{
	if (c->err == RC_ALLOC)
		return "the arena's bound was reached";
	return c->err_what ? c->err_what : rc_error_name(c->err);
}

/* An array's count and its elements' memory from the arena; NULL for an
 * empty or null array, or after a failure (latched). */
static void *read_array(struct rcursor *c, struct arena *a, bool nullable, size_t elem_size,
			size_t min_elem_bytes, int32_t *count, const char *what)
{
	int32_t n = rc_compact_array_len(c, nullable, CG_RECORD_ARRAY_MAX, min_elem_bytes);
	*count = c->err == RC_OK ? n : 0;
	if (*count <= 0)
		return NULL;
	void *p = arena_calloc(a, (size_t)n, elem_size);
	if (!p) {
		rc_fail(c, RC_ALLOC, what);
		*count = 0;
	}
	return p;
}

static int32_t *read_int32s(struct rcursor *c, struct arena *a, bool nullable, int32_t *count,
			    const char *what)
{
	int32_t *v = read_array(c, a, nullable, sizeof(*v), INT32_BYTES, count, what);
	for (int32_t i = 0; v && i < *count; i++)
		v[i] = rc_int32(c);
	return v;
}

static struct kstr *read_strings(struct rcursor *c, struct arena *a, int32_t *count, const char *what)
{
	struct kstr *v = read_array(c, a, false, sizeof(*v), STRING_MIN_BYTES, count, what);
	for (int32_t i = 0; v && i < *count; i++)
		v[i] = rc_compact_string(c);
	return v;
}

static bool metadata_tag(struct rcursor *f, uint32_t tag, void *ctx)
{
	if (tag != TAG_METADATA_HASH)
		return false;
	((struct cg_metadata_value *)ctx)->metadata_hash = rc_int64(f);
	return true;
}

static bool target_metadata_tag(struct rcursor *f, uint32_t tag, void *ctx)
{
	if (tag != TAG_ASSIGNMENT_TIMESTAMP)
		return false;
	((struct cg_target_metadata_value *)ctx)->assignment_timestamp_ms = rc_int64(f);
	return true;
}

struct epochs_ctx {
	struct cg_topic_partitions *tp;
	struct arena *a;
};

static bool epochs_tag(struct rcursor *f, uint32_t tag, void *ctx)
{
	if (tag != TAG_ASSIGNMENT_EPOCHS)
		return false;
	struct epochs_ctx *e = ctx;
	e->tp->assignment_epochs = read_int32s(f, e->a, true, &e->tp->epoch_count, "assignment epochs");
	return true;
}

/* with_epochs: the current assignment's form, whose entries may carry the
 * partitions' assignment epochs; the target assignment's has none. */
static struct cg_topic_partitions *read_topic_partitions(struct rcursor *c, struct arena *a,
							 bool with_epochs, int32_t *count)
{
	struct cg_topic_partitions *v = read_array(c, a, false, sizeof(*v), TOPIC_PARTITIONS_MIN_BYTES,
						   count, "topic partitions");
	for (int32_t i = 0; v && i < *count && c->err == RC_OK; i++) {
		struct cg_topic_partitions *tp = &v[i];
		tp->topic_id = rc_uuid(c);
		tp->partitions = read_int32s(c, a, false, &tp->partition_count, "partitions");
		struct epochs_ctx e = { tp, a };
		rc_read_tagged_fields(c, with_epochs ? epochs_tag : NULL, &e);
	}
	return v;
}

static void read_metadata(struct rcursor *c, struct cg_metadata_value *v)
{
	v->epoch = rc_int32(c);
	v->metadata_hash = 0;
	rc_read_tagged_fields(c, metadata_tag, v);
}

static void read_partition_metadata(struct rcursor *c, struct arena *a, struct cg_partition_metadata_value *v)
{
	v->topics = read_array(c, a, false, sizeof(*v->topics), TOPIC_METADATA_MIN_BYTES, &v->topic_count,
			       "topics");
	for (int32_t i = 0; v->topics && i < v->topic_count && c->err == RC_OK; i++) {
		struct cg_topic_metadata *t = &v->topics[i];
		t->topic_id = rc_uuid(c);
		t->topic_name = rc_compact_string(c);
		t->num_partitions = rc_int32(c);
		t->partitions = read_array(c, a, false, sizeof(*t->partitions), PARTITION_RACKS_MIN_BYTES,
					   &t->partition_count, "partition racks");
		for (int32_t k = 0; t->partitions && k < t->partition_count && c->err == RC_OK; k++) {
			struct cg_partition_racks *p = &t->partitions[k];
			p->partition = rc_int32(c);
			p->racks = read_strings(c, a, &p->rack_count, "racks");
			rc_skip_tagged_fields(c);
		}
		rc_skip_tagged_fields(c);
	}
	rc_skip_tagged_fields(c);
}

struct member_ctx {
	struct cg_member_value *m;
	struct arena *a;
};

static bool member_tag(struct rcursor *f, uint32_t tag, void *ctx)
{
	if (tag != TAG_CLASSIC_MEMBER_METADATA)
		return false;
	struct member_ctx *mc = ctx;
	struct cg_member_value *m = mc->m;
	m->classic = rc_int8(f) != STRUCT_NULL;
	if (!m->classic)
		return true;
	m->classic_session_timeout_ms = rc_int32(f);
	m->classic_protocols = read_array(f, mc->a, false, sizeof(*m->classic_protocols),
					  CLASSIC_PROTOCOL_MIN_BYTES, &m->classic_protocol_count,
					  "supported protocols");
	for (int32_t i = 0; m->classic_protocols && i < m->classic_protocol_count && f->err == RC_OK; i++) {
		m->classic_protocols[i].name = rc_compact_string(f);
		m->classic_protocols[i].metadata = rc_compact_bytes(f);
		rc_skip_tagged_fields(f);
	}
	rc_skip_tagged_fields(f);
	return true;
}

static void read_member(struct rcursor *c, struct arena *a, struct cg_member_value *m)
{
	m->instance_id = rc_compact_nstring(c);
	m->rack_id = rc_compact_nstring(c);
	m->client_id = rc_compact_string(c);
	m->client_host = rc_compact_string(c);
	m->subscribed_topic_names = read_strings(c, a, &m->topic_count, "subscribed topic names");
	m->subscribed_topic_regex = rc_compact_nstring(c);
	m->rebalance_timeout_ms = rc_int32(c);
	m->server_assignor = rc_compact_nstring(c);
	/* Kafka's default when the tag is absent: classic metadata, empty. */
	m->classic = true;
	m->classic_session_timeout_ms = 0;
	m->classic_protocol_count = 0;
	m->classic_protocols = NULL;
	struct member_ctx mc = { m, a };
	rc_read_tagged_fields(c, member_tag, &mc);
}

static void read_target_metadata(struct rcursor *c, struct cg_target_metadata_value *v)
{
	v->assignment_epoch = rc_int32(c);
	v->assignment_timestamp_ms = 0;
	rc_read_tagged_fields(c, target_metadata_tag, v);
}

static void read_target_member(struct rcursor *c, struct arena *a, struct cg_target_member_value *v)
{
	v->topics = read_topic_partitions(c, a, false, &v->topic_count);
	rc_skip_tagged_fields(c);
}

static void read_current_assignment(struct rcursor *c, struct arena *a, struct cg_current_assignment_value *v)
{
	v->member_epoch = rc_int32(c);
	v->previous_member_epoch = rc_int32(c);
	v->state = rc_int8(c);
	v->assigned = read_topic_partitions(c, a, true, &v->assigned_count);
	v->pending_revocation = read_topic_partitions(c, a, true, &v->pending_revocation_count);
	rc_skip_tagged_fields(c);
}

static void read_regex(struct rcursor *c, struct arena *a, struct cg_regex_value *v)
{
	v->topics = read_strings(c, a, &v->topic_count, "resolved topics");
	v->version = rc_int64(c);
	v->timestamp_ms = rc_int64(c);
	rc_skip_tagged_fields(c);
}

static bool is_key_with_member(int16_t type)
{
	return type == CG_RECORD_MEMBER_METADATA || type == CG_RECORD_TARGET_ASSIGNMENT_MEMBER ||
	       type == CG_RECORD_CURRENT_MEMBER_ASSIGNMENT;
}

static bool is_known_type(int16_t type)
{
	return type == CG_RECORD_METADATA || type == CG_RECORD_PARTITION_METADATA ||
	       type == CG_RECORD_TARGET_ASSIGNMENT_METADATA || type == CG_RECORD_REGULAR_EXPRESSION ||
	       is_key_with_member(type);
}

enum cg_record_result cg_record_key_read(struct kbytes key, struct cg_record_key *out, const char **reason)
{
	if (key.len < 2) {
		*reason = "a key shorter than its record type";
		return CG_RECORD_MALFORMED;
	}
	struct rcursor c;
	rc_init(&c, (uint8_t *)key.ptr, (size_t)key.len);
	out->type = rc_int16(&c);
	if (!is_known_type(out->type))
		return CG_RECORD_OTHER;
	out->group_id = rc_string(&c);
	out->member_id = is_key_with_member(out->type) ? rc_string(&c) : (struct kstr){ "", 0 };
	out->regex = out->type == CG_RECORD_REGULAR_EXPRESSION ? rc_string(&c) : (struct kstr){ "", 0 };
	if (c.err != RC_OK) {
		*reason = failure_reason(&c);
		return CG_RECORD_MALFORMED;
	}
	return CG_RECORD_OK;
}

enum cg_record_result cg_record_value_read(int16_t type, struct kbytes value, struct arena *a,
					   struct cg_record_value *out, const char **reason)
{
	if (!is_known_type(type))
		return CG_RECORD_OTHER;
	out->type = type;
	if (value.len < 0)
		return CG_RECORD_TOMBSTONE;
	struct rcursor c;
	rc_init(&c, (uint8_t *)value.ptr, (size_t)value.len);
	int16_t version = rc_int16(&c);
	if (c.err == RC_OK && version != CG_RECORD_VALUE_VERSION) {
		*reason = "a value version Kafka 4.x does not write (it stops loading on one)";
		return CG_RECORD_MALFORMED;
	}
	switch (type) {
	case CG_RECORD_METADATA:
		read_metadata(&c, &out->metadata);
		break;
	case CG_RECORD_PARTITION_METADATA:
		read_partition_metadata(&c, a, &out->partition_metadata);
		break;
	case CG_RECORD_MEMBER_METADATA:
		read_member(&c, a, &out->member);
		break;
	case CG_RECORD_TARGET_ASSIGNMENT_METADATA:
		read_target_metadata(&c, &out->target_metadata);
		break;
	case CG_RECORD_TARGET_ASSIGNMENT_MEMBER:
		read_target_member(&c, a, &out->target_member);
		break;
	case CG_RECORD_CURRENT_MEMBER_ASSIGNMENT:
		read_current_assignment(&c, a, &out->current_assignment);
		break;
	default:
		read_regex(&c, a, &out->regex);
		break;
	}
	if (c.err != RC_OK) {
		*reason = failure_reason(&c);
		return CG_RECORD_MALFORMED;
	}
	return CG_RECORD_OK;
}

/* ---- sizes ---- */

static size_t key_str_size(struct kstr s)
{
	return 2 + (size_t)(s.len > 0 ? s.len : 0);
}

static size_t str_size(struct kstr s)
{
	return uvarint_size((uint32_t)(s.len < 0 ? 0 : s.len + 1)) + (size_t)(s.len > 0 ? s.len : 0);
}

static size_t bytes_size(struct kbytes b)
{
	return str_size((struct kstr){ (const char *)b.ptr, b.len });
}

static size_t array_len_size(int32_t count)
{
	return uvarint_size((uint32_t)(count < 0 ? 0 : count + 1));
}

static size_t strings_size(const struct kstr *v, int32_t count)
{
	size_t n = array_len_size(count);
	for (int32_t i = 0; i < count; i++)
		n += str_size(v[i]);
	return n;
}

static size_t int32s_size(int32_t count)
{
	return array_len_size(count) + INT32_BYTES * (size_t)(count > 0 ? count : 0);
}

/* A tagged-field section of one field whose value takes field_bytes. */
static size_t one_tag_size(uint32_t tag, size_t field_bytes)
{
	return uvarint_size(1) + uvarint_size(tag) + uvarint_size((uint32_t)field_bytes) + field_bytes;
}

static size_t no_tags_size(void)
{
	return uvarint_size(0);
}

static size_t topic_partitions_size(const struct cg_topic_partitions *v, int32_t count, bool with_epochs)
{
	size_t n = array_len_size(count);
	for (int32_t i = 0; i < count; i++) {
		n += UUID_BYTES + int32s_size(v[i].partition_count);
		bool epochs = with_epochs && v[i].epoch_count != 0;
		n += epochs ? one_tag_size(TAG_ASSIGNMENT_EPOCHS, int32s_size(v[i].epoch_count)) : no_tags_size();
	}
	return n;
}

static size_t partition_metadata_size(const struct cg_partition_metadata_value *v)
{
	size_t n = array_len_size(v->topic_count);
	for (int32_t i = 0; i < v->topic_count; i++) {
		const struct cg_topic_metadata *t = &v->topics[i];
		n += UUID_BYTES + str_size(t->topic_name) + 4 + array_len_size(t->partition_count);
		for (int32_t k = 0; k < t->partition_count; k++)
			n += 4 + strings_size(t->partitions[k].racks, t->partitions[k].rack_count) + no_tags_size();
		n += no_tags_size();
	}
	return n + no_tags_size();
}

/* Kafka leaves the field out only when it equals its default, which is an
 * empty classic metadata: a consumer-protocol member's null is written. */
static bool classic_is_default(const struct cg_member_value *m)
{
	return m->classic && m->classic_session_timeout_ms == 0 && m->classic_protocol_count == 0;
}

static size_t classic_size(const struct cg_member_value *m)
{
	if (!m->classic)
		return 1;
	size_t n = 1 + 4 + array_len_size(m->classic_protocol_count);
	for (int32_t i = 0; i < m->classic_protocol_count; i++)
		n += str_size(m->classic_protocols[i].name) + bytes_size(m->classic_protocols[i].metadata) +
		     no_tags_size();
	return n + no_tags_size();
}

static size_t member_size(const struct cg_member_value *m)
{
	size_t n = str_size(m->instance_id) + str_size(m->rack_id) + str_size(m->client_id) +
		   str_size(m->client_host) + strings_size(m->subscribed_topic_names, m->topic_count) +
		   str_size(m->subscribed_topic_regex) + 4 + str_size(m->server_assignor);
	return n + (classic_is_default(m) ? no_tags_size()
					  : one_tag_size(TAG_CLASSIC_MEMBER_METADATA, classic_size(m)));
}

static size_t int64_tag_size(uint32_t tag, int64_t v)
{
	return v != 0 ? one_tag_size(tag, 8) : no_tags_size();
}

size_t cg_record_value_size(const struct cg_record_value *v)
{
	size_t n = 2;
	switch (v->type) {
	case CG_RECORD_METADATA:
		return n + 4 + int64_tag_size(TAG_METADATA_HASH, v->metadata.metadata_hash);
	case CG_RECORD_PARTITION_METADATA:
		return n + partition_metadata_size(&v->partition_metadata);
	case CG_RECORD_MEMBER_METADATA:
		return n + member_size(&v->member);
	case CG_RECORD_TARGET_ASSIGNMENT_METADATA:
		return n + 4 + int64_tag_size(TAG_ASSIGNMENT_TIMESTAMP, v->target_metadata.assignment_timestamp_ms);
	case CG_RECORD_TARGET_ASSIGNMENT_MEMBER:
		return n + topic_partitions_size(v->target_member.topics, v->target_member.topic_count, false) +
		       no_tags_size();
	case CG_RECORD_CURRENT_MEMBER_ASSIGNMENT: {
		const struct cg_current_assignment_value *c = &v->current_assignment;
		return n + 4 + 4 + 1 + topic_partitions_size(c->assigned, c->assigned_count, true) +
		       topic_partitions_size(c->pending_revocation, c->pending_revocation_count, true) +
		       no_tags_size();
	}
	default:
		assert(v->type == CG_RECORD_REGULAR_EXPRESSION);
		return n + strings_size(v->regex.topics, v->regex.topic_count) + 8 + 8 + no_tags_size();
	}
}

bool cg_record_key_fits(const struct cg_record_key *k)
{
	return group_record_str_fits(k->group_id) && group_record_str_fits(k->member_id) &&
	       group_record_str_fits(k->regex);
}

size_t cg_record_key_size(const struct cg_record_key *k)
{
	size_t n = 2 + key_str_size(k->group_id);
	if (is_key_with_member(k->type))
		n += key_str_size(k->member_id);
	if (k->type == CG_RECORD_REGULAR_EXPRESSION)
		n += key_str_size(k->regex);
	return n;
}

/* ---- writing ---- */

void cg_record_key_write(struct wcursor *w, const struct cg_record_key *k)
{
	wc_int16(w, k->type);
	wc_string(w, k->group_id);
	if (is_key_with_member(k->type))
		wc_string(w, k->member_id);
	if (k->type == CG_RECORD_REGULAR_EXPRESSION)
		wc_string(w, k->regex);
}

static void write_strings(struct wcursor *w, const struct kstr *v, int32_t count)
{
	wc_compact_array_len(w, count);
	for (int32_t i = 0; i < count; i++)
		wc_compact_string(w, v[i]);
}

static void write_int32s(struct wcursor *w, const int32_t *v, int32_t count)
{
	wc_compact_array_len(w, count);
	for (int32_t i = 0; i < count; i++)
		wc_int32(w, v[i]);
}

static void write_tag_header(struct wcursor *w, uint32_t tag, size_t field_bytes)
{
	wc_uvarint(w, 1);
	wc_uvarint(w, tag);
	wc_uvarint(w, (uint32_t)field_bytes);
}

static void write_no_tags(struct wcursor *w)
{
	wc_uvarint(w, 0);
}

static void write_int64_tag(struct wcursor *w, uint32_t tag, int64_t v)
{
	if (v == 0) {
		write_no_tags(w);
		return;
	}
	write_tag_header(w, tag, 8);
	wc_int64(w, v);
}

static void write_topic_partitions(struct wcursor *w, const struct cg_topic_partitions *v, int32_t count,
				   bool with_epochs)
{
	wc_compact_array_len(w, count);
	for (int32_t i = 0; i < count; i++) {
		wc_uuid(w, v[i].topic_id);
		write_int32s(w, v[i].partitions, v[i].partition_count);
		if (with_epochs && v[i].epoch_count != 0) {
			write_tag_header(w, TAG_ASSIGNMENT_EPOCHS, int32s_size(v[i].epoch_count));
			write_int32s(w, v[i].assignment_epochs, v[i].epoch_count);
		} else {
			write_no_tags(w);
		}
	}
}

static void write_partition_metadata(struct wcursor *w, const struct cg_partition_metadata_value *v)
{
	wc_compact_array_len(w, v->topic_count);
	for (int32_t i = 0; i < v->topic_count; i++) {
		const struct cg_topic_metadata *t = &v->topics[i];
		wc_uuid(w, t->topic_id);
		wc_compact_string(w, t->topic_name);
		wc_int32(w, t->num_partitions);
		wc_compact_array_len(w, t->partition_count);
		for (int32_t k = 0; k < t->partition_count; k++) {
			wc_int32(w, t->partitions[k].partition);
			write_strings(w, t->partitions[k].racks, t->partitions[k].rack_count);
			write_no_tags(w);
		}
		write_no_tags(w);
	}
	write_no_tags(w);
}

static void write_classic(struct wcursor *w, const struct cg_member_value *m)
{
	if (!m->classic) {
		wc_int8(w, STRUCT_NULL);
		return;
	}
	wc_int8(w, STRUCT_PRESENT);
	wc_int32(w, m->classic_session_timeout_ms);
	wc_compact_array_len(w, m->classic_protocol_count);
	for (int32_t i = 0; i < m->classic_protocol_count; i++) {
		wc_compact_string(w, m->classic_protocols[i].name);
		wc_compact_bytes(w, m->classic_protocols[i].metadata);
		write_no_tags(w);
	}
	write_no_tags(w);
}

static void write_member(struct wcursor *w, const struct cg_member_value *m)
{
	wc_compact_string(w, m->instance_id);
	wc_compact_string(w, m->rack_id);
	wc_compact_string(w, m->client_id);
	wc_compact_string(w, m->client_host);
	write_strings(w, m->subscribed_topic_names, m->topic_count);
	wc_compact_string(w, m->subscribed_topic_regex);
	wc_int32(w, m->rebalance_timeout_ms);
	wc_compact_string(w, m->server_assignor);
	if (classic_is_default(m)) {
		write_no_tags(w);
		return;
	}
	write_tag_header(w, TAG_CLASSIC_MEMBER_METADATA, classic_size(m));
	write_classic(w, m);
}

static void write_current_assignment(struct wcursor *w, const struct cg_current_assignment_value *c)
{
	wc_int32(w, c->member_epoch);
	wc_int32(w, c->previous_member_epoch);
	wc_int8(w, c->state);
	write_topic_partitions(w, c->assigned, c->assigned_count, true);
	write_topic_partitions(w, c->pending_revocation, c->pending_revocation_count, true);
	write_no_tags(w);
}

void cg_record_value_write(struct wcursor *w, const struct cg_record_value *v)
{
	wc_int16(w, CG_RECORD_VALUE_VERSION);
	switch (v->type) {
	case CG_RECORD_METADATA:
		wc_int32(w, v->metadata.epoch);
		write_int64_tag(w, TAG_METADATA_HASH, v->metadata.metadata_hash);
		break;
	case CG_RECORD_PARTITION_METADATA:
		write_partition_metadata(w, &v->partition_metadata);
		break;
	case CG_RECORD_MEMBER_METADATA:
		write_member(w, &v->member);
		break;
	case CG_RECORD_TARGET_ASSIGNMENT_METADATA:
		wc_int32(w, v->target_metadata.assignment_epoch);
		write_int64_tag(w, TAG_ASSIGNMENT_TIMESTAMP, v->target_metadata.assignment_timestamp_ms);
		break;
	case CG_RECORD_TARGET_ASSIGNMENT_MEMBER:
		write_topic_partitions(w, v->target_member.topics, v->target_member.topic_count, false);
		write_no_tags(w);
		break;
	case CG_RECORD_CURRENT_MEMBER_ASSIGNMENT:
		write_current_assignment(w, &v->current_assignment);
		break;
	default:
		assert(v->type == CG_RECORD_REGULAR_EXPRESSION);
		write_strings(w, v->regex.topics, v->regex.topic_count);
		wc_int64(w, v->regex.version);
		wc_int64(w, v->regex.timestamp_ms);
		write_no_tags(w);
		break;
	}
}

/* The replay of __consumer_offsets at start (group_load.h): offsets,
 * group metadata and members, transactional offsets and their markers. */
#include "core/group/group_load.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/group_coordinator.h"
#include "core/group/group_internal.h"
#include "core/group/group_store.h"
#include "core/group/group_txn.h"
#include "core/log/log_replay.h"
#include "core/meta/topics.h"
#include "core/shard/shard.h"
#include "core/slog.h"
#include "proto/group_records.h"
#include "proto/kafka_errors.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

struct group_load {
	struct group_coordinator *gc;
	struct group_table *table;
	int32_t partition;
	int64_t offset;      /* of the record being applied, for log lines */
	uint64_t records;
	uint64_t skipped;
};

static struct group *load_group(struct group_load *ld, struct kstr id)
{
	struct group *g = group_table_find(ld->table, id);
	if (!g)
		g = group_table_add(ld->table, id, ld->partition, ld->gc);
	return g;
}

static void load_skip(struct group_load *ld, const char *why)
{
	slog_warn("group", "%s-%d offset %" PRId64 ": %s; skipped", GROUP_STORE_TOPIC, ld->partition,
		  ld->offset, why);
	ld->skipped++;
}

/* An offset record of producer_id's transaction (-1: none), at ld->offset. */
static void load_offset(struct group_load *ld, const struct group_record_key *k, struct kbytes value,
			int64_t producer_id)
{
	struct group *g = value.len >= 0 ? load_group(ld, k->group) : group_table_find(ld->table, k->group);
	if (!g)
		return;
	if (value.len < 0) {
		/* A tombstone removes the committed offset and every pending one. */
		struct group_offset *o = group_offset_find(&g->offsets, k->topic, k->partition);
		if (o)
			group_offset_remove(&g->offsets, o);
		group_txn_forget(g, k->topic, k->partition);
		return;
	}
	struct group_offset_value v;
	if (group_offset_value_read(value, &v) != 0) {
		load_skip(ld, "malformed offset commit value");
		return;
	}
	if (producer_id >= 0) {
		if (group_txn_put(g, producer_id, k->topic, k->partition, &v, ld->offset) != 0)
			load_skip(ld, "out of memory");
		return;
	}
	struct group_offset *o = group_offset_put(&g->offsets, k->topic, k->partition);
	if (!o || !group_offset_set(o, &v, ld->offset)) {
		if (o && o->metadata.len < 0)
			group_offset_remove(&g->offsets, o);
		load_skip(ld, "out of memory");
	}
}

static void load_members_clear(struct group *g)
{
	for (struct group_member *m = g->members; m;) {
		struct group_member *next = m->next;
		group_member_free(m);
		m = next;
	}
	g->members = NULL;
	g->member_count = 0;
}

static bool copy_or_empty(struct kstr *dst, struct kstr s)
{
	return kstr_copy(dst, s.len >= 0 ? s : kstr_from_cstr(""));
}

static bool load_member(struct group *g, const struct group_member_value *mv, struct kstr protocol)
{
	struct group_member *m = calloc(1, sizeof(*m));
	if (!m)
		return false;
	m->group = g;
	io_timer_init(&m->session_timer);
	bool ok = copy_or_empty(&m->id, mv->member_id);
	ok = kstr_copy(&m->instance_id, mv->instance_id) && ok;
	ok = copy_or_empty(&m->client_id, mv->client_id) && ok;
	ok = copy_or_empty(&m->client_host, mv->client_host) && ok;
	m->session_timeout_ms = mv->session_timeout_ms;
	m->rebalance_timeout_ms = mv->rebalance_timeout_ms >= 0 ? mv->rebalance_timeout_ms
								 : mv->session_timeout_ms;
	int32_t sub = mv->subscription.len > 0 ? mv->subscription.len : 0;
	int32_t asg = mv->assignment.len > 0 ? mv->assignment.len : 0;
	m->protocols = calloc(1, sizeof(*m->protocols));
	m->assignment = malloc((size_t)asg + 1);
	bool has_protocol = protocol.len >= 0;
	if (m->protocols && has_protocol) {
		m->protocol_count = 1;
		ok = kstr_copy(&m->protocols[0].name, protocol) && ok;
		m->protocols[0].metadata = malloc((size_t)sub + 1);
		m->protocols[0].metadata_len = sub;
	}
	ok = ok && m->protocols && m->assignment && (!has_protocol || m->protocols[0].metadata);
	if (!ok) {
		group_member_free(m);
		return false;
	}
	if (has_protocol && sub)
		memcpy(m->protocols[0].metadata, mv->subscription.ptr, (size_t)sub);
	if (asg)
		memcpy(m->assignment, mv->assignment.ptr, (size_t)asg);
	m->assignment_len = asg;
	m->synced = true;
	m->next = NULL;
	struct group_member **tail = &g->members;
	while (*tail)
		tail = &(*tail)->next;
	*tail = m;
	g->member_count++;
	return true;
}

static void load_metadata(struct group_load *ld, const struct group_record_key *k, struct kbytes value)
{
	if (value.len < 0) {
		/* The group is gone; offsets written after its last metadata keep
		 * their own records and tombstones. */
		struct group *g = group_table_find(ld->table, k->group);
		if (g && g->offsets.count == 0) {
			group_table_remove(ld->table, g);
		} else if (g) {
			load_members_clear(g);
			g->state = GROUP_EMPTY;
		}
		return;
	}
	struct group_metadata_value v;
	if (group_metadata_value_read(value, &v, NULL, 0) != 0) {
		load_skip(ld, "malformed group metadata value");
		return;
	}
	struct group_member_value *mv = calloc((size_t)v.member_count + 1, sizeof(*mv));
	struct group *g = load_group(ld, k->group);
	if (!mv || !g || group_metadata_value_read(value, &v, mv, v.member_count) != 0) {
		free(mv);
		load_skip(ld, !mv || !g ? "out of memory" : "malformed group metadata value");
		return;
	}
	load_members_clear(g);
	kstr_free(&g->protocol_type);
	kstr_free(&g->protocol_name);
	kstr_free(&g->leader_id);
	bool ok = v.protocol_type.len <= 0 || kstr_copy(&g->protocol_type, v.protocol_type);
	ok = kstr_copy(&g->protocol_name, v.protocol) && ok;
	ok = kstr_copy(&g->leader_id, v.leader) && ok;
	g->generation = v.generation;
	g->state_timestamp = v.state_timestamp >= 0 ? v.state_timestamp : group_now_ms();
	for (int32_t i = 0; i < v.member_count && ok; i++)
		ok = load_member(g, &mv[i], g->protocol_name);
	free(mv);
	if (!ok) {
		load_members_clear(g);
		load_skip(ld, "out of memory loading members");
	}
	g->state = g->members ? GROUP_STABLE : GROUP_EMPTY;
	if (!group_member_find(g, g->leader_id)) {
		kstr_free(&g->leader_id);
		if (g->members && !kstr_copy(&g->leader_id, g->members->id))
			load_skip(ld, "out of memory choosing the group's leader");
	}
}

static void load_record(struct group_load *ld, const struct record_view *r, int64_t producer_id)
{
	struct group_record_key k;
	switch (group_record_key_read(r->key, &k)) {
	case GROUP_RECORD_OFFSET:
		load_offset(ld, &k, r->value, producer_id);
		break;
	case GROUP_RECORD_METADATA:
		load_metadata(ld, &k, r->value);
		break;
	case GROUP_RECORD_OTHER:
		break;
	case GROUP_RECORD_MALFORMED:
		load_skip(ld, "malformed key");
		return;
	}
	ld->records++;
}

/* A control record of producer_id: key int16 version + int16 type (Kafka's
 * ControlRecordType; a newer version is read as version 0, as Kafka does).
 * A COMMIT or ABORT marker completes the producer's pending offsets in this
 * partition; other types are not the coordinator's. */
static void load_marker(struct group_load *ld, const struct record_view *r, int64_t producer_id)
{
	enum { CONTROL_TYPE_ABORT = 0, CONTROL_TYPE_COMMIT = 1 };
	struct rcursor c;
	rc_init(&c, (uint8_t *)r->key.ptr, r->key.len > 0 ? (size_t)r->key.len : 0);
	int16_t version = rc_int16(&c);
	int16_t type = rc_int16(&c);
	if (r->key.len < 0 || c.err != RC_OK || version < 0) {
		load_skip(ld, "malformed control record");
		return;
	}
	if (producer_id < 0) {
		load_skip(ld, "control record without a producer");
		return;
	}
	if (type == CONTROL_TYPE_ABORT || type == CONTROL_TYPE_COMMIT)
		group_txn_complete(ld->gc, ld->partition, producer_id, type == CONTROL_TYPE_COMMIT);
	ld->records++;
}

/* Offsets of a batch with a producer are its transaction's until the marker
 * (Kafka's loader goes by the producer id alone: only TxnOffsetCommit writes
 * one here); any other batch's are committed. */
static bool load_batch_wanted(void *ctx, const struct record_batch_header *h)
{
	struct group_load *ld = ctx;
	if (!(h->attributes & BATCH_ATTR_CONTROL) && (h->attributes & BATCH_ATTR_TRANSACTIONAL) &&
	    h->producer_id < 0) {
		ld->offset = h->base_offset;
		load_skip(ld, "transactional batch without a producer");
		return false;
	}
	return true;
}

static void load_record_at(void *ctx, const struct record_batch_header *h, int64_t offset,
			   const struct record_view *r)
{
	struct group_load *ld = ctx;
	ld->offset = offset;
	if (h->attributes & BATCH_ATTR_CONTROL)
		load_marker(ld, r, h->producer_id);
	else
		load_record(ld, r, h->producer_id >= 0 ? h->producer_id : -1);
}

static void load_skip_at(void *ctx, int64_t offset, const char *why)
{
	struct group_load *ld = ctx;
	ld->offset = offset;
	load_skip(ld, why);
}

int group_load(struct runtime *rt, struct group_coordinator *gc, struct group_table *t)
{
	struct topic *topic = topics_find(topics_registry(rt), kstr_from_cstr(GROUP_STORE_TOPIC));
	if (!topic)
		return 0;
	struct group_load ld = { .gc = gc, .table = t };
	for (int32_t i = 0; i < topic->partition_count; i++) {
		struct partition *p = &topic->partitions[i];
		if (!p->log || &rt->shards[p->shard] != gc->shard)
			continue;
		ld.partition = i;
		struct log_replay rp = { .component = "group", .topic = GROUP_STORE_TOPIC,
					 .partition = i, .ctx = &ld, .batch = load_batch_wanted,
					 .record = load_record_at, .skip = load_skip_at };
		if (log_replay_partition(p->log, &rp) != 0)
			return -1;
	}
	slog_info("group", "loaded %zu group(s) from %" PRIu64 " record(s) of %s (%" PRIu64
		  " skipped)", t->count, ld.records, GROUP_STORE_TOPIC, ld.skipped);
	return 0;
}

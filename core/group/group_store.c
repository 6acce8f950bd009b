/* __consumer_offsets: partitioning, creation, appends and replay; see
 * group_store.h. */
#include "core/group/group_store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta/internal_topics.h"
#include "core/meta/topics.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_internal.h"
#include "core/group/group_txn.h"
#include "core/slog.h"
#include "core/log/partition_log.h"
#include "core/log/log_replay.h"
#include "core/shard/shard.h"
#include "core/meta/topics.h"
#include "proto/kafka_errors.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

const char GROUP_STORE_TOPIC[] = "__consumer_offsets";

/* Decodes one UTF-8 sequence; invalid bytes count as themselves (Java would
 * see U+FFFD, but such ids never come from Kafka clients). */
static uint32_t utf8_next(const uint8_t *p, size_t n, size_t *used)
{
	uint32_t c = p[0];
	size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
	if (len > n)
		len = 1;
	if (len > 1) {
		c &= 0xffu >> (len + 1);
		for (size_t i = 1; i < len; i++)
			c = (c << 6) | (p[i] & 0x3f);
	}
	*used = len;
	return c;
}

int32_t group_store_partition_of(struct kstr group_id, int32_t partitions)
{
	assert(partitions > 0);
	uint32_t h = 0;
	const uint8_t *p = (const uint8_t *)group_id.ptr;
	size_t n = group_id.len > 0 ? (size_t)group_id.len : 0;
	while (n > 0) {
		size_t used;
		uint32_t c = utf8_next(p, n, &used);
		p += used;
		n -= used;
		if (c >= 0x10000) {
			c -= 0x10000;
			h = 31 * h + (0xd800 + (c >> 10));
			h = 31 * h + (0xdc00 + (c & 0x3ff));
		} else {
			h = 31 * h + c;
		}
	}
	int32_t s = (int32_t)h;
	int32_t abs = s == INT32_MIN ? 0 : s < 0 ? -s : s;
	return abs % partitions;
}

struct topic *group_store_topic(struct runtime *rt)
{
	return internal_topic_get(rt, GROUP_STORE_TOPIC, rt->cfg.offsets_topic_num_partitions, rt->cfg.offsets_topic_segment_bytes, "group");
}

/* ---- appends ---------------------------------------------------------- */

struct group_store_write {
	struct log_append append;
	uint8_t *batch;
	struct group *group;
	group_store_done_fn done;     /* one of done and placed */
	group_store_placed_fn placed;
	void *ctx;
};

static void group_store_written(struct log_append *a, int16_t err)
{
	struct group_store_write *w = container_of(a, struct group_store_write, append);
	struct group *g = w->group;
	/* The group stays counted until its callback returns, so the callback
	 * may remove it from the table without freeing it under us. */
	if (w->placed)
		w->placed(w->ctx, err, a->base_offset);
	else
		w->done(w->ctx, err);
	assert(g->writes_in_flight > 0);
	g->writes_in_flight--;
	if (g->removed && g->writes_in_flight == 0)
		group_free(g);
	free(w->batch);
	free(w);
}

/* Encodes the group's current state as a GroupMetadataValue into a fresh
 * buffer; *len receives its size. */
static uint8_t *group_metadata_encode(const struct group *g, size_t *len)
{
	struct group_member_value *mv = calloc(g->member_count + 1, sizeof(*mv));
	if (!mv)
		return NULL;
	int32_t n = 0;
	for (const struct group_member *m = g->members; m; m = m->next) {
		const struct group_protocol *p = NULL;
		for (uint32_t i = 0; g->protocol_name && i < m->protocol_count; i++)
			if (strcmp(m->protocols[i].name, g->protocol_name) == 0)
				p = &m->protocols[i];
		mv[n++] = (struct group_member_value){
			.member_id = kstr_from_cstr(m->id),
			.instance_id = m->instance_id ? kstr_from_cstr(m->instance_id) : (struct kstr){ NULL, -1 },
			.client_id = kstr_from_cstr(m->client_id),
			.client_host = kstr_from_cstr(m->client_host),
			.rebalance_timeout_ms = m->rebalance_timeout_ms,
			.session_timeout_ms = m->session_timeout_ms,
			.subscription = { p ? p->metadata : NULL, p ? p->metadata_len : 0 },
			.assignment = { m->assignment, m->assignment_len },
		};
	}
	struct group_metadata_value v = {
		.protocol_type = kstr_from_cstr(g->protocol_type ? g->protocol_type : ""),
		.generation = g->generation,
		.protocol = g->protocol_name ? kstr_from_cstr(g->protocol_name) : (struct kstr){ NULL, -1 },
		.leader = g->leader_id ? kstr_from_cstr(g->leader_id) : (struct kstr){ NULL, -1 },
		.state_timestamp = g->state_timestamp,
		.member_count = n,
		.members = mv,
	};
	if (!group_metadata_value_fits(&v)) {
		slog_error("group", "group %s: a member's or protocol's name is longer than %d bytes; "
			   "its metadata cannot be recorded", g->id, INT16_MAX);
		free(mv);
		return NULL;
	}
	*len = group_metadata_value_size(&v);
	uint8_t *buf = malloc(*len);
	if (buf) {
		struct wcursor w;
		wc_init(&w, buf, *len, NULL, 0);
		group_metadata_value_write(&w, &v);
		assert(!w.overflow && w.pos == w.end);
	}
	free(mv);
	return buf;
}

static int16_t store_append(struct group *g, const struct group_store_record *recs, uint32_t count,
			    const struct group_store_producer *txn, group_store_done_fn done,
			    group_store_placed_fn placed, void *ctx)
{
	assert(count > 0);
	struct runtime *rt = g->coord->rt;
	struct topic *t = topics_lookup(rt, kstr_from_cstr(GROUP_STORE_TOPIC));
	struct partition *p = t ? topic_partition(t, g->partition) : NULL;
	if (!p || !p->log)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	/* Only the partition's own shard may write to its log; a coordinator
	 * elsewhere (the topic's placement changed under it) is refused, in
	 * Release builds too. */
	if (&rt->shards[p->shard] != g->coord->shard) {
		slog_error("group", "group %s: %s-%d is owned by shard %u, not by the coordinator's "
			   "shard %u; append refused", g->id, GROUP_STORE_TOPIC, g->partition,
			   p->shard, g->coord->shard->id);
		return KERR_NOT_COORDINATOR;
	}
	struct kstr gid = kstr_from_cstr(g->id);
	/* The records' keys and values have int16 string lengths: a longer
	 * string would be written as a record that never replays. */
	bool fits = group_record_str_fits(gid);
	for (uint32_t i = 0; fits && i < count; i++)
		fits = recs[i].is_metadata || (group_record_str_fits(recs[i].topic) &&
						(recs[i].tombstone || group_offset_value_fits(recs[i].offset)));
	if (!fits) {
		slog_error("group", "group %.64s%s: an id, topic or metadata string is longer than %d "
			   "bytes; not recorded", g->id, strlen(g->id) > 64 ? "..." : "", INT16_MAX);
		return KERR_INVALID_REQUEST;
	}
	size_t meta_len = 0;
	uint8_t *meta = NULL;
	size_t scratch_len = 0;
	for (uint32_t i = 0; i < count; i++) {
		const struct group_store_record *r = &recs[i];
		if (r->is_metadata) {
			scratch_len += group_metadata_key_size(gid);
			if (!r->tombstone && !meta && !(meta = group_metadata_encode(g, &meta_len)))
				return KERR_COORDINATOR_NOT_AVAILABLE;
		} else {
			scratch_len += group_offset_key_size(gid, r->topic);
			if (!r->tombstone)
				scratch_len += group_offset_value_size(r->offset);
		}
	}
	uint8_t *scratch = malloc(scratch_len + 1);
	struct record_kv *kv = calloc(count, sizeof(*kv));
	if (!scratch || !kv) {
		free(meta);
		free(scratch);
		free(kv);
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	struct wcursor w;
	wc_init(&w, scratch, scratch_len, NULL, 0);
	for (uint32_t i = 0; i < count; i++) {
		const struct group_store_record *r = &recs[i];
		uint8_t *key = w.pos;
		if (r->is_metadata)
			group_metadata_key_write(&w, gid);
		else
			group_offset_key_write(&w, gid, r->topic, r->partition);
		kv[i].key = (struct kbytes){ key, (int32_t)(w.pos - key) };
		kv[i].value = (struct kbytes){ NULL, -1 };
		if (r->tombstone)
			continue;
		if (r->is_metadata) {
			kv[i].value = (struct kbytes){ meta, (int32_t)meta_len };
		} else {
			uint8_t *value = w.pos;
			group_offset_value_write(&w, r->offset);
			kv[i].value = (struct kbytes){ value, (int32_t)(w.pos - value) };
		}
	}
	assert(!w.overflow && w.pos == w.end);
	size_t batch_len = record_batch_build_size(kv, count);
	int16_t err = KERR_NONE;
	struct group_store_write *gw = NULL;
	uint8_t *batch = NULL;
	if (batch_len > rt->cfg.message_max_bytes) {
		err = KERR_MESSAGE_TOO_LARGE;
	} else if (!(gw = calloc(1, sizeof(*gw))) || !(batch = malloc(batch_len))) {
		err = KERR_COORDINATOR_NOT_AVAILABLE;
	} else {
		if (txn) {
			/* As Kafka's coordinator writes a transactional commit:
			 * the producer's id and epoch, base sequence 0. */
			struct record_batch_producer as = { .producer_id = txn->producer_id,
							    .producer_epoch = txn->producer_epoch,
							    .base_sequence = 0,
							    .attributes = BATCH_ATTR_TRANSACTIONAL };
			record_batch_build_as(batch, batch_len, kv, count, group_now_ms(), &as);
		} else {
			record_batch_build(batch, batch_len, kv, count, group_now_ms());
		}
		struct record_batch_header h;
		record_batch_header_read(batch, &h);
		*gw = (struct group_store_write){ .batch = batch, .group = g, .done = done,
						  .placed = placed, .ctx = ctx };
		gw->append.done = group_store_written;
		gw->append.log_append_time = -1;
		err = partition_log_append(p->log, batch, batch_len, &h, &gw->append);
		if (err == KERR_NONE)
			g->writes_in_flight++;
	}
	if (err != KERR_NONE) {
		free(batch);
		free(gw);
	}
	free(meta);
	free(scratch);
	free(kv);
	return err;
}

int16_t group_store_append(struct group *g, const struct group_store_record *recs, uint32_t count,
			   group_store_done_fn done, void *ctx)
{
	return store_append(g, recs, count, NULL, done, NULL, ctx);
}

int16_t group_store_append_placed(struct group *g, const struct group_store_record *recs,
				  uint32_t count, const struct group_store_producer *txn,
				  group_store_placed_fn placed, void *ctx)
{
	return store_append(g, recs, count, txn, NULL, placed, ctx);
}

/* ---- replay ----------------------------------------------------------- */

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
	char *meta = group_strdup(v.metadata);
	if (!o || !meta) {
		free(meta);
		load_skip(ld, "out of memory");
		return;
	}
	o->offset = v.offset;
	o->leader_epoch = v.leader_epoch;
	free(o->metadata);
	o->metadata = meta;
	o->commit_timestamp = v.commit_timestamp;
	o->expire_timestamp = v.expire_timestamp;
	o->record_offset = ld->offset;
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

static char *dup_or_empty(struct kstr s)
{
	return group_strdup(s.len >= 0 ? s : kstr_from_cstr(""));
}

static bool load_member(struct group *g, const struct group_member_value *mv, const char *protocol)
{
	struct group_member *m = calloc(1, sizeof(*m));
	if (!m)
		return false;
	m->group = g;
	io_timer_init(&m->session_timer);
	m->id = dup_or_empty(mv->member_id);
	m->instance_id = group_strdup(mv->instance_id);
	m->client_id = dup_or_empty(mv->client_id);
	m->client_host = dup_or_empty(mv->client_host);
	m->session_timeout_ms = mv->session_timeout_ms;
	m->rebalance_timeout_ms = mv->rebalance_timeout_ms >= 0 ? mv->rebalance_timeout_ms
								 : mv->session_timeout_ms;
	int32_t sub = mv->subscription.len > 0 ? mv->subscription.len : 0;
	int32_t asg = mv->assignment.len > 0 ? mv->assignment.len : 0;
	m->protocols = calloc(1, sizeof(*m->protocols));
	m->assignment = malloc((size_t)asg + 1);
	if (m->protocols && protocol) {
		m->protocol_count = 1;
		m->protocols[0].name = strdup(protocol);
		m->protocols[0].metadata = malloc((size_t)sub + 1);
		m->protocols[0].metadata_len = sub;
	}
	bool ok = m->id && m->client_id && m->client_host && m->protocols && m->assignment &&
		  (mv->instance_id.len < 0 || m->instance_id) &&
		  (!protocol || (m->protocols[0].name && m->protocols[0].metadata));
	if (!ok) {
		group_member_free(m);
		return false;
	}
	if (protocol && sub)
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
	free(g->protocol_type);
	free(g->protocol_name);
	free(g->leader_id);
	g->protocol_type = v.protocol_type.len > 0 ? group_strdup(v.protocol_type) : NULL;
	g->protocol_name = group_strdup(v.protocol);
	g->leader_id = group_strdup(v.leader);
	g->generation = v.generation;
	g->state_timestamp = v.state_timestamp >= 0 ? v.state_timestamp : group_now_ms();
	bool ok = true;
	for (int32_t i = 0; i < v.member_count && ok; i++)
		ok = load_member(g, &mv[i], g->protocol_name);
	free(mv);
	if (!ok) {
		load_members_clear(g);
		load_skip(ld, "out of memory loading members");
	}
	g->state = g->members ? GROUP_STABLE : GROUP_EMPTY;
	bool leader_present = g->leader_id && group_member_find(g, g->leader_id, strlen(g->leader_id));
	if (!leader_present) {
		free(g->leader_id);
		g->leader_id = g->members ? strdup(g->members->id) : NULL;
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

int group_store_load(struct runtime *rt, struct group_coordinator *gc, struct group_table *t)
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

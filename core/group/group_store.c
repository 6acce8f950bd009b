/* __consumer_offsets: partitioning, creation, appends and replay; see
 * group_store.h. */
#include "core/group/group_store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/meta/internal_topics.h"
#include "core/group/group_coordinator.h"
#include "core/group/group_internal.h"
#include "core/slog.h"
#include "core/log/partition_log.h"
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
		const struct group_protocol *p = member_protocol(m, g->protocol_name);
		mv[n++] = (struct group_member_value){
			.member_id = m->id,
			.instance_id = m->instance_id,
			.client_id = m->client_id,
			.client_host = m->client_host,
			.rebalance_timeout_ms = m->rebalance_timeout_ms,
			.session_timeout_ms = m->session_timeout_ms,
			.subscription = { p ? p->metadata : NULL, p ? p->metadata_len : 0 },
			.assignment = { m->assignment, m->assignment_len },
		};
	}
	struct group_metadata_value v = {
		.protocol_type = g->protocol_type.len >= 0 ? g->protocol_type : kstr_from_cstr(""),
		.generation = g->generation,
		.protocol = g->protocol_name,
		.leader = g->leader_id,
		.state_timestamp = g->state_timestamp,
		.member_count = n,
		.members = mv,
	};
	if (!group_metadata_value_fits(&v)) {
		slog_error("group", "group %s: a member's or protocol's name is longer than %d bytes; "
			   "its metadata cannot be recorded", SLOG_STR(g->id), INT16_MAX);
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

bool group_store_txn_open(struct runtime *rt, int32_t partition, int64_t producer_id,
			  int16_t producer_epoch)
{
	struct topic *t = topics_lookup(rt, kstr_from_cstr(GROUP_STORE_TOPIC));
	struct partition *p = t ? topic_partition(t, partition) : NULL;
	if (!p || !p->log)
		return false;
	return producer_state_txn_open(partition_log_producers(p->log), producer_id, producer_epoch);
}

/* The partition the group's records go to, when the calling shard owns it
 * (NULL with *err set otherwise). */
static struct partition *store_partition(struct group *g, int16_t *err)
{
	struct runtime *rt = g->coord->rt;
	struct topic *t = topics_lookup(rt, kstr_from_cstr(GROUP_STORE_TOPIC));
	struct partition *p = t ? topic_partition(t, g->partition) : NULL;
	if (!p || !p->log) {
		*err = KERR_COORDINATOR_NOT_AVAILABLE;
		return NULL;
	}
	/* Only the partition's own shard may write to its log; a coordinator
	 * elsewhere (the topic's placement changed under it) is refused, in
	 * Release builds too. */
	if (&rt->shards[p->shard] != g->coord->shard) {
		slog_error("group", "group %s: %s-%d is owned by shard %u, not by the coordinator's "
			   "shard %u; append refused", SLOG_STR(g->id), GROUP_STORE_TOPIC, g->partition,
			   p->shard, g->coord->shard->id);
		*err = KERR_NOT_COORDINATOR;
		return NULL;
	}
	return p;
}

/* Writes the encoded records as one batch to the group's partition. */
static int16_t append_batch(struct group *g, struct partition *p, const struct record_kv *kv,
			    uint32_t count, const struct group_store_producer *txn,
			    group_store_done_fn done, group_store_placed_fn placed, void *ctx)
{
	struct runtime *rt = g->coord->rt;
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
	return err;
}

int16_t group_store_append_kv(struct group *g, const struct record_kv *kv, uint32_t count,
			      group_store_done_fn done, void *ctx)
{
	assert(count > 0);
	int16_t err;
	struct partition *p = store_partition(g, &err);
	return p ? append_batch(g, p, kv, count, NULL, done, NULL, ctx) : err;
}

static int16_t store_append(struct group *g, const struct group_store_record *recs, uint32_t count,
			    const struct group_store_producer *txn, group_store_done_fn done,
			    group_store_placed_fn placed, void *ctx)
{
	assert(count > 0);
	int16_t perr;
	struct partition *p = store_partition(g, &perr);
	if (!p)
		return perr;
	struct kstr gid = g->id;
	/* The records' keys and values have int16 string lengths: a longer
	 * string would be written as a record that never replays. */
	bool fits = group_record_str_fits(gid);
	for (uint32_t i = 0; fits && i < count; i++)
		fits = recs[i].is_metadata || (group_record_str_fits(recs[i].topic) &&
						(recs[i].tombstone || group_offset_value_fits(recs[i].offset)));
	if (!fits) {
		slog_error("group", "group %s: an id, topic or metadata string is longer than %d "
			   "bytes; not recorded", SLOG_STR(g->id), INT16_MAX);
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
	int16_t err = append_batch(g, p, kv, count, txn, done, placed, ctx);
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

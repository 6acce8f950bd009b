/* __transaction_state: partitioning, creation, appends and replay; see
 * txn_store.h. */
#include "core/txn/txn_store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/group_store.h"
#include "core/log/partition_log.h"
#include "core/log/log_replay.h"
#include "core/meta/internal_topics.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"
#include "proto/record_batch.h"
#include "proto/record_codec.h"

const char TXN_STORE_TOPIC[] = "__transaction_state";

int32_t txn_store_partition_of(struct kstr transactional_id, int32_t partitions)
{
	/* The same hash as the group coordinator's: Kafka's String.hashCode. */
	return group_store_partition_of(transactional_id, partitions);
}

struct topic *txn_store_topic(struct runtime *rt)
{
	return internal_topic_get(rt, TXN_STORE_TOPIC, rt->cfg.transaction_state_log_num_partitions, rt->cfg.transaction_state_log_segment_bytes, "txn");
}

/* ---- appends ---------------------------------------------------------- */

struct txn_store_write {
	struct log_append append;
	uint8_t *batch;
	txn_store_done_fn done;
	void *ctx;
};

static void txn_store_written(struct log_append *a, int16_t err)
{
	struct txn_store_write *w = container_of(a, struct txn_store_write, append);
	w->done(w->ctx, err);
	free(w->batch);
	free(w);
}

/* The value of state t, encoded into a fresh buffer (*len its size). The
 * flexible version only when the client speaks KIP-890 part 2, as Kafka
 * writes it once transaction.version 2 is in force. */
static uint8_t *value_encode(const struct txn_transit *t, size_t *len)
{
	uint32_t n = t->partitions.count;
	struct txn_log_topic *topics = calloc(n + 1, sizeof(*topics));
	int32_t *parts = calloc(n + 1, sizeof(*parts));
	uint8_t *buf = NULL;
	if (!topics || !parts)
		goto out;
	/* One entry per topic, its partitions in the order added. */
	int32_t tc = 0;
	uint32_t used = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct kstr name = t->partitions.items[i].topic;
		bool seen = false;
		for (int32_t k = 0; k < tc && !seen; k++)
			seen = kstr_eq(topics[k].topic, name);
		if (seen)
			continue;
		topics[tc] = (struct txn_log_topic){ name, 0, &parts[used] };
		for (uint32_t j = i; j < n; j++)
			if (kstr_eq(t->partitions.items[j].topic, name))
				parts[used + (uint32_t)topics[tc].partition_count++] =
					t->partitions.items[j].partition;
		used += (uint32_t)topics[tc].partition_count;
		tc++;
	}
	struct txn_log_value v = {
		.version = t->client_txn_version >= 2 ? 1 : 0,
		.producer_id = t->producer_id,
		.previous_producer_id = t->last_producer_id,
		.next_producer_id = t->next_producer_id,
		.producer_epoch = t->epoch,
		.timeout_ms = t->timeout_ms,
		.status = (int8_t)t->state,
		.topic_count = tc,
		.topics = topics,
		.last_update_ms = t->last_update_ms,
		.start_ms = t->start_ms,
		.client_transaction_version = t->client_txn_version,
	};
	if (!txn_log_value_fits(&v))
		goto out;
	*len = txn_log_value_size(&v);
	buf = malloc(*len);
	if (buf) {
		struct wcursor w;
		wc_init(&w, buf, *len, NULL, 0);
		txn_log_value_write(&w, &v);
		assert(!w.overflow && w.pos == w.end);
	}
out:
	free(topics);
	free(parts);
	return buf;
}

int16_t txn_store_append(struct txn_coordinator *tc, const struct txn_meta *m,
			 const struct txn_transit *t, txn_store_done_fn done, void *ctx)
{
	struct runtime *rt = tc->rt;
	struct topic *topic = topics_lookup(rt, kstr_from_cstr(TXN_STORE_TOPIC));
	struct partition *p = topic ? topic_partition(topic, m->state_partition) : NULL;
	if (!p || !p->log)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	/* Only the partition's own shard may write to its log. */
	if (&rt->shards[p->shard] != tc->shard) {
		slog_error("txn", "%s-%d is owned by shard %u, not by the coordinator's shard %u; "
			   "append refused", TXN_STORE_TOPIC, m->state_partition, p->shard, tc->shard->id);
		return KERR_NOT_COORDINATOR;
	}
	struct kstr id = m->id;
	if (id.len > INT16_MAX)
		return KERR_INVALID_REQUEST;
	size_t key_len = txn_log_key_size(id);
	uint8_t *key = malloc(key_len);
	size_t value_len = 0;
	uint8_t *value = t ? value_encode(t, &value_len) : NULL;
	int16_t err = KERR_NONE;
	struct txn_store_write *w = NULL;
	uint8_t *batch = NULL;
	if (!key || (t && !value)) {
		err = KERR_COORDINATOR_NOT_AVAILABLE;
		goto out;
	}
	struct wcursor wc;
	wc_init(&wc, key, key_len, NULL, 0);
	txn_log_key_write(&wc, id);
	assert(!wc.overflow && wc.pos == wc.end);
	struct record_kv kv = { .key = { key, (int32_t)key_len },
				.value = t ? (struct kbytes){ value, (int32_t)value_len }
					   : (struct kbytes){ NULL, -1 } };
	size_t batch_len = record_batch_build_size(&kv, 1);
	if (batch_len > rt->cfg.message_max_bytes) {
		err = KERR_MESSAGE_TOO_LARGE;
	} else if (!(w = calloc(1, sizeof(*w))) || !(batch = malloc(batch_len))) {
		err = KERR_COORDINATOR_NOT_AVAILABLE;
	} else {
		record_batch_build(batch, batch_len, &kv, 1, txn_now_ms());
		struct record_batch_header h;
		record_batch_header_read(batch, &h);
		*w = (struct txn_store_write){ .batch = batch, .done = done, .ctx = ctx };
		w->append.done = txn_store_written;
		w->append.log_append_time = -1;
		err = partition_log_append(p->log, batch, batch_len, &h, &w->append);
	}
	if (err != KERR_NONE) {
		free(batch);
		free(w);
	}
out:
	free(key);
	free(value);
	return err;
}

/* ---- replay ----------------------------------------------------------- */

struct txn_load {
	struct txn_coordinator *tc;
	int32_t partition;
	int64_t offset;      /* of the record being applied, for log lines */
	uint64_t records;
	uint64_t skipped;
	struct txn_partitions parts; /* of the value being read */
};

static void load_skip(struct txn_load *ld, const char *why)
{
	slog_warn("txn", "%s-%d offset %" PRId64 ": %s; skipped", TXN_STORE_TOPIC, ld->partition,
		  ld->offset, why);
	ld->skipped++;
}

static bool load_partition_seen(void *ctx, struct kstr topic, int32_t partition)
{
	struct txn_load *ld = ctx;
	return txn_partitions_add(&ld->parts, topic, partition);
}

static void load_record(struct txn_load *ld, const struct record_view *r)
{
	struct kstr id;
	if (txn_log_key_read(r->key, &id) != 0) {
		load_skip(ld, "malformed or unknown key");
		return;
	}
	struct txn_table *table = &ld->tc->ids;
	struct txn_meta *m = txn_table_find(table, id);
	if (r->value.len < 0) {
		if (m)
			txn_table_remove(table, m);
		ld->records++;
		return;
	}
	struct txn_log_value v;
	txn_partitions_free(&ld->parts);
	if (txn_log_value_read(r->value, &v, load_partition_seen, ld) != 0) {
		load_skip(ld, "malformed transaction state value");
		return;
	}
	if (v.status == TXN_STATUS_DEAD) {
		/* Kafka writes a tombstone for an expired id, never Dead: a log
		 * that says Dead says the id is gone. */
		if (m)
			txn_table_remove(table, m);
		ld->records++;
		return;
	}
	if (v.status == TXN_STATUS_PREPARE_EPOCH_FENCE)
		v.status = TXN_STATUS_PREPARE_ABORT; /* in-memory only in Kafka: its abort resumes */
	if (!m && !(m = txn_table_add(table, id, ld->partition))) {
		load_skip(ld, "out of memory");
		return;
	}
	struct txn_transit t = {
		.state = (enum txn_status)v.status,
		.producer_id = v.producer_id,
		.last_producer_id = v.previous_producer_id,
		.next_producer_id = v.next_producer_id,
		.epoch = v.producer_epoch,
		.last_epoch = TXN_NO_PRODUCER_EPOCH,
		.timeout_ms = v.timeout_ms,
		.start_ms = v.start_ms,
		.last_update_ms = v.last_update_ms,
		.client_txn_version = v.client_transaction_version,
		.partitions = ld->parts,
	};
	ld->parts = (struct txn_partitions){ 0 };
	txn_state_apply(m, &t);
	ld->records++;
}

static bool load_batch_wanted(void *ctx, const struct record_batch_header *h)
{
	(void)ctx;
	return !(h->attributes & BATCH_ATTR_CONTROL);
}

static void load_record_at(void *ctx, const struct record_batch_header *h, int64_t offset,
			   const struct record_view *r)
{
	(void)h;
	struct txn_load *ld = ctx;
	ld->offset = offset;
	load_record(ld, r);
}

static void load_skip_at(void *ctx, int64_t offset, const char *why)
{
	struct txn_load *ld = ctx;
	ld->offset = offset;
	load_skip(ld, why);
}

int txn_store_load(struct txn_coordinator *tc)
{
	struct runtime *rt = tc->rt;
	struct topic *topic = topics_find(topics_registry(rt), kstr_from_cstr(TXN_STORE_TOPIC));
	if (!topic)
		return 0;
	struct txn_load ld = { .tc = tc };
	int rc = 0;
	for (int32_t i = 0; i < topic->partition_count && rc == 0; i++) {
		struct partition *p = &topic->partitions[i];
		if (!p->log || &rt->shards[p->shard] != tc->shard)
			continue;
		ld.partition = i;
		struct log_replay rp = { .component = "txn", .topic = TXN_STORE_TOPIC, .partition = i,
					 .ctx = &ld, .batch = load_batch_wanted,
					 .record = load_record_at, .skip = load_skip_at };
		rc = log_replay_partition(p->log, &rp);
	}
	txn_partitions_free(&ld.parts);
	if (rc == 0)
		slog_info("txn", "shard %u: loaded %zu transactional id(s) from %" PRIu64
			  " record(s) of %s (%" PRIu64 " skipped)", tc->shard->id, tc->ids.count,
			  ld.records, TXN_STORE_TOPIC, ld.skipped);
	return rc;
}

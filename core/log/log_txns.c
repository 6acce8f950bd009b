/* A partition log's transactions: transactional batches and markers kept
 * in the producer state as they are appended or read back, the markers the
 * coordinator writes, and the last stable offset (see partition_log.h). */
#include "core/log/log_internal.h"

#include "proto/kafka_errors.h"

int log_txns_note(struct partition_log *l, const uint8_t *batch, const struct record_batch_header *h,
		  int64_t base, int64_t ts)
{
	if (!producer_batch_idempotent(h))
		return 0;
	if (!(h->attributes & BATCH_ATTR_CONTROL))
		return producer_state_record(&l->producers, h, base, ts);
	struct control_marker m;
	/* Other control records (Kafka's KRaft ones) end no transaction. */
	if (!control_batch_read(batch, record_batch_total_bytes(h), &m))
		return 0;
	struct producer_txn_end end;
	return producer_state_end_txn(&l->producers, m.producer_id, m.producer_epoch,
				      m.coordinator_epoch, base, ts, &end);
}

int16_t partition_log_append_marker(struct partition_log *l, const struct control_marker *m,
				    struct log_marker_append *out)
{
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	int16_t err = producer_state_check_marker(&l->producers, m->producer_id, m->producer_epoch,
						  m->coordinator_epoch);
	if (err != KERR_NONE)
		return err;
	control_batch_build(out->batch, m, log_now_ms());
	struct record_batch_header h;
	record_batch_header_read(out->batch, &h);
	out->append.log_append_time = -1;
	return partition_log_append(l, out->batch, sizeof(out->batch), &h, &out->append);
}

int64_t partition_log_last_stable_offset(const struct partition_log *l)
{
	int64_t readable = log_flush_readable_end(l);
	int64_t first = producer_state_first_unstable(&l->producers, l->hw);
	return first >= 0 && first < readable ? first : readable;
}

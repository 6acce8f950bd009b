/* OffsetForLeaderEpoch (key 23), v2-v4: per partition, the end offset of the
 * largest leader epoch at or below the one asked (Kafka's
 * LeaderEpochFileCache.endOffsetFor, partition_log.h), which consumers use to
 * detect truncation after a leader change (KIP-320). A current_leader_epoch
 * other than -1 is checked first against the partition's epoch: older answers
 * FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. The leader answers every
 * replica_id alike (consumers send -1, followers their id), as Kafka's does.
 * An offline partition (its log not opened, or a failed fsync) answers
 * KAFKA_STORAGE_ERROR.
 * The connection's shard resolves the topics; each partition is answered by
 * its owning io shard (partition_fanout.h). */
#include "core/api/handlers.h"
#include "core/api/partition_fanout.h"
#include "core/log/partition_log.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

typedef struct offset_for_leader_epoch_request_partition epoch_in;
typedef struct offset_for_leader_epoch_response_epoch_end_offset epoch_out;

/* Kafka's Partition.checkCurrentLeaderEpoch. */
static int16_t epoch_check_current(int32_t current_leader_epoch)
{
	if (current_leader_epoch == PARTITION_LOG_NO_EPOCH ||
	    current_leader_epoch == PARTITION_LOG_LEADER_EPOCH)
		return KERR_NONE;
	return current_leader_epoch < PARTITION_LOG_LEADER_EPOCH ? KERR_FENCED_LEADER_EPOCH
								 : KERR_UNKNOWN_LEADER_EPOCH;
}

/* On the owning shard. */
static void epoch_partition(struct fanout_slot *slot, struct partition *p)
{
	const epoch_in *in = slot->in;
	epoch_out *out = slot->out;
	if (!p)
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
	else if (!p->log || partition_log_offline(p->log))
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
	else
		out->error_code = epoch_check_current(in->current_leader_epoch);
	if (out->error_code == KERR_NONE)
		partition_log_epoch_end_offset(p->log, in->leader_epoch, &out->leader_epoch,
					       &out->end_offset);
}

static void epoch_respond(struct fanout *f)
{
	struct request *req = f->req;
	const struct offset_for_leader_epoch_response *r = f->ctx;
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, offset_for_leader_epoch, version, r);
}

/* The response's topics, each partition answered (an unknown topic or
 * partition) or queued for its owner; false when the request's arena bound
 * was reached. */
static bool epoch_route_all(struct fanout *f, const struct offset_for_leader_epoch_request *q,
			    struct offset_for_leader_epoch_response *r)
{
	struct request *req = f->req;
	r->topics = request_alloc(req, (size_t)q->topics_count + 1, sizeof(*r->topics));
	if (!r->topics)
		return false;
	r->topics_count = q->topics_count;
	for (int32_t i = 0; i < q->topics_count; i++) {
		const struct offset_for_leader_epoch_request_topic *qt = &q->topics[i];
		struct offset_for_leader_epoch_response_topic *tr = &r->topics[i];
		offset_for_leader_epoch_response_topic_init(tr);
		tr->topic = qt->topic;
		tr->partitions = request_alloc(req, (size_t)qt->partitions_count + 1,
					       sizeof(*tr->partitions));
		struct fanout_slot *slots = request_alloc(req, (size_t)qt->partitions_count + 1,
							  sizeof(*slots));
		if (!tr->partitions || !slots)
			return false;
		tr->partitions_count = qt->partitions_count;
		struct topic *t = topics_lookup(request_runtime(req), qt->topic);
		for (int32_t j = 0; j < qt->partitions_count; j++) {
			epoch_out *out = &tr->partitions[j];
			offset_for_leader_epoch_response_epoch_end_offset_init(out);
			out->partition = qt->partitions[j].partition;
			struct partition *p = t ? topic_partition(t, out->partition) : NULL;
			slots[j] = (struct fanout_slot){ .topic = qt->topic, .partition = out->partition,
							 .in = &qt->partitions[j], .out = out };
			if (p)
				fanout_add(f, p, &slots[j]);
			else
				out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		}
	}
	return true;
}

void handle_offset_for_leader_epoch(struct request *req)
{
	int16_t version = req->header.api_version;
	struct offset_for_leader_epoch_request q;
	struct offset_for_leader_epoch_response *r = request_alloc(req, 1, sizeof(*r));
	struct fanout *f = request_alloc(req, 1, sizeof(*f));
	if (!r || !f ||
	    offset_for_leader_epoch_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	offset_for_leader_epoch_response_init(r);
	if (!fanout_init(f, req, epoch_partition, epoch_respond, r) || !epoch_route_all(f, &q, r)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	fanout_start(f);
}

/* ListOffsets (key 2), v1-v10: earliest, latest, max timestamp, and the first
 * offset at or after a timestamp (through the time index). */
#include "core/broker.h"
#include "core/handlers.h"
#include "core/partition_log.h"
#include "core/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum {
	LIST_OFFSETS_LATEST = -1,
	LIST_OFFSETS_EARLIEST = -2,
	LIST_OFFSETS_MAX_TIMESTAMP = -3,
	LIST_OFFSETS_EARLIEST_LOCAL = -4,
	LIST_OFFSETS_LATEST_TIERED = -5,
};

static void list_offsets_partition(struct topic *t,
				   const struct list_offsets_request_list_offsets_partition *in,
				   struct list_offsets_response_list_offsets_partition_response *out)
{
	list_offsets_response_list_offsets_partition_response_init(out);
	out->partition_index = in->partition_index;
	out->timestamp = -1;
	out->offset = -1;
	struct partition *p = t ? topic_partition(t, in->partition_index) : NULL;
	if (!p) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	struct partition_log *log = p->log;
	if (partition_log_offline(log)) {
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	out->leader_epoch = 0;
	switch (in->timestamp) {
	case LIST_OFFSETS_LATEST:
		out->offset = partition_log_high_watermark(log);
		break;
	case LIST_OFFSETS_EARLIEST:
	case LIST_OFFSETS_EARLIEST_LOCAL:
		out->offset = partition_log_start_offset(log);
		break;
	case LIST_OFFSETS_MAX_TIMESTAMP:
		partition_log_max_timestamp(log, &out->offset, &out->timestamp);
		break;
	case LIST_OFFSETS_LATEST_TIERED:
		/* Nothing is tiered: there is no such offset. */
		break;
	default:
		if (in->timestamp < 0) {
			out->error_code = KERR_INVALID_REQUEST;
			break;
		}
		partition_log_offset_for_time(log, in->timestamp, &out->offset, &out->timestamp);
		break;
	}
}

void handle_list_offsets(struct request *req)
{
	struct broker *b = request_broker(req);
	int16_t version = req->header.api_version;
	struct list_offsets_request q;
	if (list_offsets_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct list_offsets_response r;
	list_offsets_response_init(&r);
	r.topics = request_alloc(req, (size_t)q.topics_count + 1, sizeof(*r.topics));
	if (!r.topics)
		goto no_memory;
	r.topics_count = q.topics_count;
	for (int32_t i = 0; i < q.topics_count; i++) {
		const struct list_offsets_request_list_offsets_topic *qt = &q.topics[i];
		struct list_offsets_response_list_offsets_topic_response *rt = &r.topics[i];
		list_offsets_response_list_offsets_topic_response_init(rt);
		rt->name = qt->name;
		rt->partitions = request_alloc(req, (size_t)qt->partitions_count + 1,
					       sizeof(*rt->partitions));
		if (!rt->partitions)
			goto no_memory;
		rt->partitions_count = qt->partitions_count;
		struct topic *t = topics_find(&b->topics, qt->name);
		for (int32_t j = 0; j < qt->partitions_count; j++)
			list_offsets_partition(t, &qt->partitions[j], &rt->partitions[j]);
	}
	size_t size = list_offsets_response_size(&r, version);
	list_offsets_response_encode(request_response_begin(req, size, 0, 0), version, &r);
	request_finish(req);
	return;
no_memory:
	req->body.err = RC_ALLOC;
	request_reject_malformed(req);
}

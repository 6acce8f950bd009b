/* ListOffsets (key 2), v1-v10: earliest, latest, max timestamp, and the first
 * offset at or after a timestamp (through the time index). The connection's
 * shard resolves the topics and asks each io shard about the partitions it
 * owns. A lookup by timestamp may have to inflate a compressed batch (up to
 * LOG_DECOMPRESS_MAX_BYTES, which a peer can make costly), so the owner only
 * locates the batch and its offload helper reads and searches it; the owner
 * returns the call when every partition is answered. Each search holds a
 * descriptor, so a shard runs at most LIST_OFFSETS_SEARCHES_MAX at once; a
 * call that finds no room waits, in order, and its partitions are looked up
 * again by name when it resumes (the topic may have been deleted meanwhile). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/api/handler_shard.h"
#include "core/api/handlers.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "core/log/partition_log.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "io/offload.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"
#include "proto/record_batch.h"

enum {
	LIST_OFFSETS_LATEST = -1,
	LIST_OFFSETS_EARLIEST = -2,
	LIST_OFFSETS_MAX_TIMESTAMP = -3,
	LIST_OFFSETS_EARLIEST_LOCAL = -4,
	LIST_OFFSETS_LATEST_TIERED = -5,
	LIST_OFFSETS_SEARCHES_MAX = OFFLOAD_QUEUE_MAX, /* per shard, in flight */
};

struct list_offsets_ctx;
struct list_offsets_shard;

/* One partition to answer, queued for its owner. */
struct list_offsets_slot {
	struct list_offsets_slot *next;
	struct partition *partition;
	struct kstr topic;
	const struct list_offsets_request_list_offsets_partition *in;
	struct list_offsets_response_list_offsets_partition_response *out;
};

/* A time lookup's search, on the owner's offload helper. Everything it reads
 * is its own while it is in flight: a dup() of the segment's descriptor, so
 * that a partition deleted meanwhile loses nothing under it, and the batch
 * buffer while it runs. Allocated and freed by the owner. */
struct list_offsets_search {
	struct offload_job job;
	struct list_offsets_shard *ls;
	struct list_offsets_slot *slot;
	int fd;
	uint64_t file_off;
	uint32_t len;
	int64_t ts;
	bool max_timestamp;           /* for MAX_TIMESTAMP: a batch without the record answers none */
	struct record_batch_header header;
	int find_rc;                  /* record_batch_find_time's, or -errno of the read */
	int64_t offset;
	int64_t timestamp;
};

struct list_offsets_shard {
	struct shard_call call;
	struct list_offsets_ctx *ctx;
	struct list_offsets_slot *slots;
	/* On the owner. */
	struct list_offsets_slot *next_slot; /* not looked at yet */
	uint32_t searching;           /* searches not yet back, + 1 while slots remain */
	bool resumed;                 /* has waited: its partitions are looked up again */
	bool waiting;                 /* in the shard's queue of calls waiting for room */
	struct list_offsets_shard *next_waiting;
};

struct list_offsets_ctx {
	struct request *req;
	struct list_offsets_response resp;
	bool read_committed;             /* isolation_level 1: nothing at or past the LSO */
	struct list_offsets_shard *shards; /* per io shard */
	uint32_t pending;
};

static void list_offsets_continue(struct shard *s, struct list_offsets_shard *ls);

/* On the helper thread, which holds one batch at a time: the buffer is the
 * job's for as long as it runs. */
static void list_offsets_search_run(struct offload_job *job)
{
	struct list_offsets_search *se = container_of(job, struct list_offsets_search, job);
	uint8_t *batch = malloc(se->len);
	se->find_rc = batch ? 0 : -ENOMEM;
	for (uint32_t got = 0; batch && got < se->len;) {
		ssize_t n = pread(se->fd, batch + got, se->len - got, (off_t)(se->file_off + got));
		if (n <= 0) {
			se->find_rc = n < 0 ? -errno : -ENODATA;
			break;
		}
		got += (uint32_t)n;
	}
	if (se->find_rc == 0)
		se->find_rc = record_batch_find_time(batch, se->len, se->ts, LOG_DECOMPRESS_MAX_BYTES,
						     &se->offset, &se->timestamp);
	free(batch);
}

static void list_offsets_part_answered(struct list_offsets_shard *ls)
{
	if (--ls->searching == 0)
		shard_call_return(&ls->call);
}

/* The last time this shard logged a failed search: a peer that asks again
 * and again about one bad batch gets one line per interval. Thread-local:
 * each shard's own. */
static __thread uint64_t list_offsets_warned_ns;
static const uint64_t LIST_OFFSETS_WARN_INTERVAL_NS = 10ull * 1000 * 1000 * 1000;

static void list_offsets_warn_search_failed(const struct list_offsets_slot *slot,
					    const struct list_offsets_search *se)
{
	uint64_t now = reactor_now_ns();
	if (list_offsets_warned_ns && now - list_offsets_warned_ns < LIST_OFFSETS_WARN_INTERVAL_NS)
		return;
	list_offsets_warned_ns = now;
	slog_warn("list_offsets", "%.*s-%d: the batch at offset %" PRId64 " (file position %" PRIu64
		  ") cannot be searched by time: %s (one line per %llu s)", (int)slot->topic.len,
		  slot->topic.ptr, slot->in->partition_index, se->header.base_offset, se->file_off,
		  strerror(-se->find_rc),
		  (unsigned long long)(LIST_OFFSETS_WARN_INTERVAL_NS / 1000000000ull));
}

/* Back on the owner: the answer as of the batch the lookup located, even
 * if the partition was deleted since (the slot, not the partition, is read). */
static void list_offsets_search_done(struct offload_job *job)
{
	struct list_offsets_search *se = container_of(job, struct list_offsets_search, job);
	struct list_offsets_slot *slot = se->slot;
	struct list_offsets_response_list_offsets_partition_response *out = slot->out;
	if (se->find_rc == 1) {
		out->offset = se->offset;
		out->timestamp = se->timestamp;
	} else if (se->find_rc == 0 && !se->max_timestamp) {
		/* The batch's max timestamp promised a record it does not
		 * hold: its first offset, as for a LogAppendTime batch. */
		out->offset = se->header.base_offset;
		out->timestamp = se->header.max_timestamp;
	} else if (se->find_rc < 0) {
		bool corrupt = se->find_rc == -EINVAL || se->find_rc == -EMSGSIZE;
		out->error_code = corrupt ? KERR_CORRUPT_MESSAGE : KERR_KAFKA_STORAGE_ERROR;
		list_offsets_warn_search_failed(slot, se);
	}
	struct list_offsets_shard *ls = se->ls;
	struct shard *s = ls->call.target;
	io_close_file(s->reactor, se->fd); /* the segment may have been deleted since */
	free(se);
	handler_shard_of(s)->time_searches--;
	list_offsets_part_answered(ls);
	while (handler_shard_of(s)->time_search_waiting && handler_shard_of(s)->time_searches < LIST_OFFSETS_SEARCHES_MAX)
		list_offsets_continue(s, handler_shard_of(s)->time_search_waiting);
}

/* On the owner: the first record at or after `timestamp`, in the batch the
 * time index points at; answered here when its records need no search, else
 * searched by the helper. With max_timestamp, a batch that holds no record
 * with it (one the cleaner emptied, which keeps its max timestamp) answers
 * none, as Kafka's offsetOfMaxTimestamp finds none there. */
static void list_offsets_by_time(struct shard *s, struct list_offsets_shard *ls,
				 struct list_offsets_slot *slot, int64_t timestamp, bool max_timestamp)
{
	struct list_offsets_response_list_offsets_partition_response *out = slot->out;
	bool found = false;
	struct log_time_batch tb;
	out->error_code = partition_log_time_locate(slot->partition->log, timestamp, &found, &tb);
	if (out->error_code != KERR_NONE || !found)
		return;
	/* The LSO is a batch boundary: a batch below it holds the answer
	 * below it, one at or past it none that read_committed may see. */
	if (ls->ctx->read_committed &&
	    tb.header.base_offset >= partition_log_last_stable_offset(slot->partition->log))
		return;
	if (max_timestamp && tb.header.record_count == 0)
		return;
	if (!tb.search_records) {
		out->offset = tb.header.base_offset;
		out->timestamp = tb.header.max_timestamp;
		return;
	}
	struct list_offsets_search *se = malloc(sizeof(*se));
	int fd = se ? fcntl(tb.fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (fd < 0) {
		slog_warn("list_offsets", "shard %u: cannot search a batch by time: %s", s->id,
			  se ? strerror(errno) : "out of memory");
		free(se);
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	*se = (struct list_offsets_search){ .ls = ls, .slot = slot, .fd = fd, .file_off = tb.file_off,
					    .len = tb.len, .ts = timestamp,
					    .max_timestamp = max_timestamp, .header = tb.header };
	se->job.run = list_offsets_search_run;
	se->job.done = list_offsets_search_done;
	ls->searching++;
	handler_shard_of(s)->time_searches++;
	offload_submit(s->offload, &se->job);
}

/* On the owner: Kafka (since KAFKA-16310) answers the first record that
 * holds the largest timestamp, not the last offset of its batch: the first
 * record at or after that timestamp, in the first batch whose max timestamp
 * it is (a LogAppendTime batch's first record: all of them carry it). With
 * no timestamp above -1 (records without timestamps), -1 is the largest:
 * the first record of the log answers, with timestamp -1, as Kafka's. What
 * read_committed may not see is not answered, as Kafka's; nor is a batch
 * that holds no record with its max timestamp. */
static void list_offsets_max_timestamp(struct shard *s, struct list_offsets_shard *ls,
				       struct list_offsets_slot *slot)
{
	struct partition_log *log = slot->partition->log;
	int64_t offset = -1, timestamp = -1;
	partition_log_max_timestamp(log, &offset, &timestamp);
	assert(timestamp >= -1 && (timestamp == -1) == (offset == -1));
	if (ls->ctx->read_committed && offset >= partition_log_last_stable_offset(log))
		return;
	list_offsets_by_time(s, ls, slot, timestamp, true);
}

/* On the owning shard. */
static void list_offsets_partition(struct shard *s, struct list_offsets_shard *ls,
				   struct list_offsets_slot *slot)
{
	const struct list_offsets_request_list_offsets_partition *in = slot->in;
	struct list_offsets_response_list_offsets_partition_response *out = slot->out;
	struct partition_log *log = slot->partition->log;
	if (!log || partition_log_offline(log)) {
		out->error_code = KERR_KAFKA_STORAGE_ERROR;
		return;
	}
	out->leader_epoch = 0;
	switch (in->timestamp) {
	case LIST_OFFSETS_LATEST:
		out->offset = ls->ctx->read_committed ? partition_log_last_stable_offset(log)
						      : partition_log_high_watermark(log);
		break;
	case LIST_OFFSETS_EARLIEST:
	case LIST_OFFSETS_EARLIEST_LOCAL:
		out->offset = partition_log_start_offset(log);
		break;
	case LIST_OFFSETS_MAX_TIMESTAMP:
		list_offsets_max_timestamp(s, ls, slot);
		break;
	case LIST_OFFSETS_LATEST_TIERED:
		/* Nothing is tiered: there is no such offset. */
		break;
	default:
		/* Kafka takes a special timestamp it does not know for one of a newer
		 * version than it serves. */
		if (in->timestamp < 0) {
			out->error_code = KERR_UNSUPPORTED_VERSION;
			break;
		}
		list_offsets_by_time(s, ls, slot, in->timestamp, false);
		break;
	}
}

/* A resumed call's partition, looked up again in the current image: the
 * topic may have been deleted while the call waited. */
static bool list_offsets_resolve(struct shard *s, struct list_offsets_slot *slot)
{
	struct topic *t = topics_lookup(s->rt, slot->topic);
	struct partition *p = t ? topic_partition(t, slot->in->partition_index) : NULL;
	if (!p || p->shard != s->id || !p->log) {
		slot->out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return false;
	}
	slot->partition = p;
	return true;
}

/* Answers the call's slots in order while the shard has room for searches;
 * a call that runs out waits at the end of the shard's queue (the queue is
 * only ever non-empty while the shard has no room). */
static void list_offsets_continue(struct shard *s, struct list_offsets_shard *ls)
{
	while (ls->next_slot && handler_shard_of(s)->time_searches < LIST_OFFSETS_SEARCHES_MAX) {
		struct list_offsets_slot *slot = ls->next_slot;
		ls->next_slot = slot->next;
		if (!ls->resumed || list_offsets_resolve(s, slot))
			list_offsets_partition(s, ls, slot);
	}
	if (ls->next_slot) {
		ls->resumed = true;
		if (!ls->waiting) {
			ls->waiting = true;
			ls->next_waiting = NULL;
			if (handler_shard_of(s)->time_search_waiting_tail)
				handler_shard_of(s)->time_search_waiting_tail->next_waiting = ls;
			else
				handler_shard_of(s)->time_search_waiting = ls;
			handler_shard_of(s)->time_search_waiting_tail = ls;
		}
		return;
	}
	if (ls->waiting) {
		assert(handler_shard_of(s)->time_search_waiting == ls);
		handler_shard_of(s)->time_search_waiting = ls->next_waiting;
		if (!handler_shard_of(s)->time_search_waiting)
			handler_shard_of(s)->time_search_waiting_tail = NULL;
		ls->waiting = false;
	}
	list_offsets_part_answered(ls);
}

/* The call counts itself while slots remain, so that no search coming back
 * can return it before every partition has been looked at. */
static void list_offsets_shard_run(struct shard_call *call)
{
	struct list_offsets_shard *ls = container_of(call, struct list_offsets_shard, call);
	ls->next_slot = ls->slots;
	ls->searching = 1;
	ls->resumed = false;
	ls->waiting = false;
	list_offsets_continue(call->target, ls);
}

/* No offset found (an error, a time past every record, nothing tiered) has no
 * leader epoch either: Kafka answers -1 for both. */
static void list_offsets_unfound_epochs(struct list_offsets_response *r)
{
	for (int32_t i = 0; i < r->topics_count; i++)
		for (int32_t j = 0; j < r->topics[i].partitions_count; j++)
			if (r->topics[i].partitions[j].offset == -1)
				r->topics[i].partitions[j].leader_epoch = -1;
}

static void list_offsets_respond(struct list_offsets_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	list_offsets_unfound_epochs(&ctx->resp);
	REQUEST_RESPOND(req, list_offsets, version, &ctx->resp);
}

static void list_offsets_shard_done(struct shard_call *call)
{
	struct list_offsets_shard *ls = container_of(call, struct list_offsets_shard, call);
	if (--ls->ctx->pending == 0)
		list_offsets_respond(ls->ctx);
}

/* Fills what the connection's shard knows and queues the rest. */
static void list_offsets_route(struct list_offsets_ctx *ctx, struct topic *t,
			       const struct list_offsets_request_list_offsets_partition *in,
			       struct list_offsets_response_list_offsets_partition_response *out,
			       struct kstr topic, struct list_offsets_slot *slot)
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
	struct list_offsets_shard *ls = &ctx->shards[p->shard];
	slot->partition = p;
	slot->topic = topic;
	slot->in = in;
	slot->out = out;
	slot->next = ls->slots;
	ls->slots = slot;
}

void handle_list_offsets(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct list_offsets_request q;
	struct list_offsets_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || list_offsets_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	ctx->read_committed = version >= 2 && q.isolation_level == 1;
	struct list_offsets_response *r = &ctx->resp;
	list_offsets_response_init(r);
	r->topics = request_alloc(req, (size_t)q.topics_count + 1, sizeof(*r->topics));
	ctx->shards = request_alloc(req, rt->io_shards, sizeof(*ctx->shards));
	if (!r->topics || !ctx->shards)
		goto no_memory;
	r->topics_count = q.topics_count;
	for (int32_t i = 0; i < q.topics_count; i++) {
		const struct list_offsets_request_list_offsets_topic *qt = &q.topics[i];
		struct list_offsets_response_list_offsets_topic_response *tr = &r->topics[i];
		list_offsets_response_list_offsets_topic_response_init(tr);
		tr->name = qt->name;
		tr->partitions = request_alloc(req, (size_t)qt->partitions_count + 1,
					       sizeof(*tr->partitions));
		if (!tr->partitions)
			goto no_memory;
		struct list_offsets_slot *slots = request_alloc(req, (size_t)qt->partitions_count + 1,
								sizeof(*slots));
		if (!slots)
			goto no_memory;
		tr->partitions_count = qt->partitions_count;
		struct topic *t = topics_lookup(rt, qt->name);
		for (int32_t j = 0; j < qt->partitions_count; j++)
			list_offsets_route(ctx, t, &qt->partitions[j], &tr->partitions[j], qt->name,
					   &slots[j]);
	}
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct list_offsets_shard *ls = &ctx->shards[k];
		ls->ctx = ctx;
		ls->call = (struct shard_call){ .origin = request_shard(req), .target = &rt->shards[k],
						.run = ls->slots ? list_offsets_shard_run : NULL,
						.done = list_offsets_shard_done };
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), rt->io_shards,
				   &ctx->pending))
		list_offsets_respond(ctx);
	return;
no_memory:
	req->body.err = RC_ALLOC;
	request_reject_malformed(req);
}

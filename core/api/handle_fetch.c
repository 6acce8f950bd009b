/* Fetch (key 1), v4-v17: plan file ranges of whole batches per partition
 * within max_bytes and partition_max_bytes (the first batch of the first
 * non-empty partition always whole, KIP-74), answer at once when min_bytes is
 * met, max_wait_ms is 0 or a partition has an error, and otherwise wait on the
 * partitions until an append brings enough or the timer fires. Log bytes are
 * never read here: the response carries file ranges that the connection
 * splices from the segment to the socket.
 *
 * The connection's shard runs the fetch in rounds, each sending every io
 * shard the requested partitions it owns (topics are looked up anew in the
 * metadata image each round, so a deleted topic is never reached):
 *   plan     the owner reads its partitions' state and plans ranges, holding
 *            each segment by a duplicated descriptor (a reference that keeps
 *            a segment retention deletes meanwhile readable; once the file
 *            is unlinked it is closed in the kernel's workers, where the last
 *            close frees its blocks without stalling a loop);
 *   watch    the owner attaches waiters; the first append (or the partition
 *            going away, or the owner stopping) sends one wake back;
 *   unwatch  the owner detaches them; after it nothing of the owner refers to
 *            the fetch, and every wake it sent has arrived.
 * Plans are trimmed to max_bytes in request order on the connection's shard.
 * A waiting fetch is plan, watch, (wake or timer), unwatch, plan, ...
 *
 * Cold reads (KAFKA-7504): a plan touches only segment pages that are in the
 * page cache (partition_log_read_resident). A partition whose first batch is
 * not gets no data in this round; its owner reads the cold bytes in off the
 * loop (cold_read.h, at most sluice.fetch.cold.reads.max at once per shard)
 * and the read's end wakes the partition's waiters, so the fetch waits for it
 * as for an append. A fetch that cannot wait (max_wait_ms is 0 or spent,
 * min_bytes is 0, or the shard took no read for it) is planned without the
 * gate instead, as
 * Kafka answers data that exists whatever max_wait_ms says: the walk reads
 * the few batch headers it needs and the batches' bytes go file -> pipe in
 * the kernel's workers (conn.h), never an empty answer for data that exists.
 *
 * Fetch sessions (KIP-227) are declined the way Kafka allows: every response
 * carries session id 0, so clients send full fetches. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/net/conn.h"
#include "core/net/metrics_topics.h"
#include "core/log/fetch_wait.h"
#include "core/log/residency.h"
#include "core/meta/topics_shard.h"
#include "core/api/handlers.h"
#include "core/meta/topics.h"
#include "core/slog.h"
#include "core/log/partition_log.h"
#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "core/shard/shard_mail.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

static const uint64_t NS_PER_MS = 1000000;

enum {
	/* Aborted transactions one read_committed partition lists at most: a
	 * range that overlaps more is read shorter (halved, down to its first
	 * batch) until they fit. */
	FETCH_ABORTED_MAX = 128,
	FETCH_ABORTED_SHORTEN_MAX = 32,
	FETCH_READ_COMMITTED = 1,
};

struct fetch_ctx;
struct fetch_shard;

/* One requested partition. */
struct fetch_slot {
	struct fetch_waiter waiter;     /* the owner's, while watching */
	struct fetch_shard *owner;      /* this round's */
	struct fetch_slot *next;        /* in the owner's list */
	struct partition *partition;    /* this round's */
	const struct fetch_request_fetch_partition *in;
	struct fetch_response_partition_data *out;
	uint64_t limit;                 /* partition_max_bytes within the budget */
	/* read_committed: room for FETCH_ABORTED_MAX, from the request's arena
	 * (allocated on the connection's shard, filled by the owner). */
	struct fetch_response_aborted_transaction *aborted;
	bool cold;                      /* this round's plan waits for a cold read */
};

enum fetch_round { FETCH_PLAN, FETCH_WATCH, FETCH_UNWATCH };

/* One io shard's partitions of the fetch. */
struct fetch_shard {
	struct shard_call call;
	struct fetch_ctx *ctx;
	struct fetch_slot *slots;
	enum fetch_round round;
	bool woken;      /* owner: its wake for this watch is sent */
	bool last_plan;  /* plan: the fetch answers after it (cannot wait for a cold read) */
	bool refused;    /* owner: stopping, so it did not watch */
};

enum fetch_state { FETCH_IN_ROUND, FETCH_WAITING, FETCH_ANSWERED };

struct fetch_ctx {
	struct request *req;
	struct fetch_request q;
	struct fetch_response resp;
	struct fetch_slot *slots;    /* request order */
	uint32_t slot_count;
	struct fetch_shard *shards;  /* per io shard */
	struct io_timer timer;
	uint64_t budget;
	uint64_t planned_bytes;
	uint32_t planned_ranges;
	uint32_t pending;            /* shard calls out in this round */
	enum fetch_round round;
	enum fetch_state state;
	bool timer_armed;
	bool expired;                /* answer after the next plan */
	bool wake_pending;           /* a wake came while watches went out */
	bool any_error;
};

static void fetch_round_start(struct fetch_ctx *ctx, enum fetch_round round);

/* ---- on the owning shard ---- */

/* A partition answered with an error carries no offsets: Kafka sends -1 for
 * the high watermark, the last stable offset and the log start. */
static void fetch_partition_error(struct fetch_response_partition_data *out, int16_t err)
{
	out->error_code = err;
	out->high_watermark = -1;
	out->last_stable_offset = -1;
	out->log_start_offset = -1;
}

/* A read_committed read: below the last stable offset, with Kafka's
 * aborted transactions overlapping the range read (collectAbortedTransactions
 * up to the offset after its last batch). A range overlapping more than the
 * slot holds is read shorter; only a single batch overlapping more lists the
 * first FETCH_ABORTED_MAX (logged). */
static int16_t fetch_read_committed(struct fetch_slot *slot, struct partition_log *log,
				    struct log_read *rd, struct log_cold_range *cold)
{
	int64_t offset = slot->in->fetch_offset;
	int64_t below = partition_log_last_stable_offset(log);
	int16_t err = partition_log_read_resident(log, offset, (uint32_t)slot->limit, true, below, rd,
						  cold);
	for (uint32_t tries = 0; err == KERR_NONE && rd->len > 0; tries++) {
		struct aborted_txn found[FETCH_ABORTED_MAX];
		uint32_t n = partition_log_aborted_txns(log, offset, rd->next_offset, found,
							FETCH_ABORTED_MAX);
		int64_t half = (rd->next_offset - offset) / 2;
		if (n > FETCH_ABORTED_MAX && half > 0 && tries < FETCH_ABORTED_SHORTEN_MAX) {
			err = partition_log_read_resident(log, offset, (uint32_t)slot->limit, true,
							  offset + half, rd, cold);
			continue;
		}
		if (n > FETCH_ABORTED_MAX) {
			slog_warn("fetch", "%s-%d: %u aborted transactions overlap offset %lld; listing "
				  "the first %d", slot->partition->topic->name, slot->partition->index, n,
				  (long long)offset, FETCH_ABORTED_MAX);
			n = FETCH_ABORTED_MAX;
		}
		for (uint32_t k = 0; k < n; k++)
			slot->aborted[k] = (struct fetch_response_aborted_transaction){
				.producer_id = found[k].producer_id, .first_offset = found[k].first_offset };
		slot->out->aborted_transactions = slot->aborted;
		slot->out->aborted_transactions_count = (int32_t)n;
		break;
	}
	return err;
}

/* Plans one partition: fills its state and, when there is data, a range
 * on a duplicated descriptor that the response owns. */
/* The slot's read: behind the residency gate when cold is not NULL (then
 * *cold names what the gate found cold), else through every page. */
static int16_t fetch_plan_read(struct fetch_slot *slot, struct partition_log *log,
			       struct log_read *rd, struct log_cold_range *cold)
{
	if (slot->aborted)
		return fetch_read_committed(slot, log, rd, cold);
	return partition_log_read_resident(log, slot->in->fetch_offset, (uint32_t)slot->limit, true,
					   INT64_MAX, rd, cold);
}

static void fetch_plan_partition(struct fetch_slot *slot)
{
	struct fetch_response_partition_data *out = slot->out;
	struct partition_log *log = slot->partition->log;
	if (!log) {
		fetch_partition_error(out, KERR_KAFKA_STORAGE_ERROR);
		return;
	}
	out->high_watermark = partition_log_high_watermark(log);
	out->last_stable_offset = partition_log_last_stable_offset(log);
	out->log_start_offset = partition_log_start_offset(log);
	struct log_read rd;
	struct log_cold_range cold;
	int16_t err = fetch_plan_read(slot, log, &rd, &cold);
	if (err == KERR_NONE && rd.len == 0 && cold.len > 0) {
		struct cold_reads *cr = &topics_shard_of(slot->owner->call.target)->cold;
		if (!slot->owner->last_plan) {
			cold_reads_request(cr, cold.fd, cold.off, cold.len, &slot->partition->waiters);
			slot->cold = cold_reads_pending(cr, &slot->partition->waiters);
			if (slot->cold)
				return;
		}
		SHARD_COUNTER_ADD(cr->stats.unwaited, 1);
		err = fetch_plan_read(slot, log, &rd, NULL);
	}
	if (err != KERR_NONE) {
		fetch_partition_error(out, err);
		return;
	}
	if (rd.len == 0)
		return;
	int fd = fcntl(rd.fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		slog_warn("fetch", "cannot hold a segment of %s-%d: %s; answering without its data",
			  slot->partition->topic->name, slot->partition->index, strerror(errno));
		return;
	}
	out->records.fd = fd;
	out->records.file_off = rd.file_off;
	out->records.len = (int32_t)rd.len;
	metrics_topic_out(slot->owner->call.target, slot->partition->topic, rd.len,
			  (uint64_t)(rd.next_offset - slot->in->fetch_offset));
}

static void fetch_wake_arrived(void *arg);

/* The owner's waiter callback: one wake per watch is enough, and the waiter
 * leaves the partition at once (which a partition going away requires). */
static void fetch_on_owner_wake(struct fetch_waiter *w, bool final)
{
	(void)final;
	struct fetch_slot *slot = container_of(w, struct fetch_slot, waiter);
	struct fetch_shard *fs = slot->owner;
	fetch_waiter_detach(w);
	if (fs->woken)
		return;
	fs->woken = true;
	if (shard_call_is_local(&fs->call))
		fetch_wake_arrived(fs);
	else
		shard_post(fs->call.target, fs->call.origin->id, fetch_wake_arrived, fs);
}

/* Attaches the slot's waiter; a cold read it waits for that ended between
 * the plan and now wakes it at once (its wake went by unheard). */
static void fetch_watch_partition(struct fetch_slot *slot, struct shard *owner)
{
	struct fetch_waiter **list = &slot->partition->waiters;
	fetch_waiter_attach(&slot->waiter, list, fetch_on_owner_wake);
	if (slot->cold && !cold_reads_pending(&topics_shard_of(owner)->cold, list))
		fetch_on_owner_wake(&slot->waiter, false);
}

static void fetch_shard_run(struct shard_call *call)
{
	struct fetch_shard *fs = container_of(call, struct fetch_shard, call);
	switch (fs->round) {
	case FETCH_PLAN:
		for (struct fetch_slot *slot = fs->slots; slot; slot = slot->next) {
			slot->cold = false;
			fetch_plan_partition(slot);
		}
		break;
	case FETCH_WATCH:
		fs->woken = false;
		fs->refused = call->target->stopping;
		for (struct fetch_slot *slot = fs->slots; slot && !fs->refused; slot = slot->next)
			fetch_watch_partition(slot, call->target);
		break;
	case FETCH_UNWATCH:
		for (struct fetch_slot *slot = fs->slots; slot; slot = slot->next)
			fetch_waiter_detach(&slot->waiter);
		break;
	}
	shard_call_return(call);
}

/* ---- on the connection's shard ---- */

static struct topic *fetch_topic_lookup(struct fetch_ctx *ctx, const struct fetch_request_fetch_topic *ft,
					int16_t *err)
{
	struct runtime *rt = request_runtime(ctx->req);
	if (ctx->req->header.api_version >= 13) {
		struct topic *t = topics_lookup_id(rt, ft->topic_id);
		*err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_ID;
		return t;
	}
	struct topic *t = topics_lookup(rt, ft->topic);
	*err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
	return t;
}

static void fetch_release_ranges(struct fetch_ctx *ctx)
{
	for (uint32_t i = 0; i < ctx->slot_count; i++) {
		struct krecords *r = &ctx->slots[i].out->records;
		if (r->len > 0)
			io_close_file(request_shard(ctx->req)->reactor, r->fd);
		r->fd = -1;
		r->len = 0;
	}
}

/* Keeps ranges in request order while they fit max_bytes: the first
 * non-empty one whole (KIP-74), later ones only within their partition's
 * limit and what is left of the budget. */
static void fetch_trim(struct fetch_ctx *ctx)
{
	ctx->planned_bytes = 0;
	ctx->planned_ranges = 0;
	for (uint32_t i = 0; i < ctx->slot_count; i++) {
		struct fetch_slot *slot = &ctx->slots[i];
		struct krecords *r = &slot->out->records;
		ctx->any_error |= slot->out->error_code != KERR_NONE;
		if (r->len <= 0)
			continue;
		uint64_t len = (uint64_t)r->len;
		bool fits = len <= slot->limit && ctx->planned_bytes + len <= ctx->budget;
		if (ctx->planned_bytes == 0 || fits) {
			ctx->planned_bytes += len;
			ctx->planned_ranges++;
			continue;
		}
		io_close_file(request_shard(ctx->req)->reactor, r->fd);
		r->fd = -1;
		r->len = 0;
	}
}

static void fetch_respond(struct fetch_ctx *ctx)
{
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	ctx->state = FETCH_ANSWERED;
	if (ctx->timer_armed)
		io_timer_stop(request_shard(req)->reactor, &ctx->timer);
	ctx->timer_armed = false;
	size_t size = fetch_response_size(&ctx->resp, version);
	struct wcursor *w = request_response_begin(req, size, ctx->planned_bytes,
						   ctx->planned_ranges);
	fetch_response_encode(w, version, &ctx->resp);
	fetch_response_errors(&ctx->resp, version, request_count_response_error, req);
	request_finish(req);
}

static void fetch_on_timer(struct io_timer *t)
{
	struct fetch_ctx *ctx = container_of(t, struct fetch_ctx, timer);
	ctx->timer_armed = false;
	ctx->expired = true;
	if (ctx->state == FETCH_WAITING)
		fetch_round_start(ctx, FETCH_UNWATCH);
	else
		ctx->wake_pending = true;
}

static void fetch_wake_arrived(void *arg)
{
	struct fetch_shard *fs = arg;
	struct fetch_ctx *ctx = fs->ctx;
	if (ctx->state == FETCH_WAITING)
		fetch_round_start(ctx, FETCH_UNWATCH);
	else if (ctx->state == FETCH_IN_ROUND && ctx->round == FETCH_WATCH)
		ctx->wake_pending = true;
}

static void fetch_round_done(struct fetch_ctx *ctx)
{
	switch (ctx->round) {
	case FETCH_PLAN: {
		fetch_trim(ctx);
		bool enough = ctx->planned_bytes >= (uint64_t)(ctx->q.min_bytes > 0 ? ctx->q.min_bytes : 0);
		if (enough || ctx->any_error || ctx->expired || ctx->q.max_wait_ms <= 0 ||
		    ctx->slot_count == 0) {
			fetch_respond(ctx);
			return;
		}
		fetch_release_ranges(ctx);
		if (!ctx->timer_armed) {
			ctx->timer_armed = true;
			io_timer_arm(request_shard(ctx->req)->reactor, &ctx->timer,
				     (uint64_t)ctx->q.max_wait_ms * NS_PER_MS, fetch_on_timer);
		}
		ctx->wake_pending = false;
		fetch_round_start(ctx, FETCH_WATCH);
		return;
	}
	case FETCH_WATCH:
		for (uint32_t k = 0; k < request_runtime(ctx->req)->io_shards; k++)
			if (ctx->shards[k].slots && ctx->shards[k].refused)
				ctx->expired = ctx->wake_pending = true;
		ctx->state = FETCH_WAITING;
		if (ctx->wake_pending)
			fetch_round_start(ctx, FETCH_UNWATCH);
		return;
	case FETCH_UNWATCH:
		fetch_round_start(ctx, FETCH_PLAN);
		return;
	}
}

static void fetch_shard_done(struct shard_call *call)
{
	struct fetch_shard *fs = container_of(call, struct fetch_shard, call);
	struct fetch_ctx *ctx = fs->ctx;
	if (--ctx->pending == 0)
		fetch_round_done(ctx);
}

/* Assigns this round's slots to their owners: plan and watch resolve the
 * partitions anew (a plan answers a missing one with an error); unwatch goes
 * to exactly the owners that watched. */
static void fetch_route(struct fetch_ctx *ctx, enum fetch_round round)
{
	struct runtime *rt = request_runtime(ctx->req);
	if (round == FETCH_UNWATCH)
		return;
	for (uint32_t k = 0; k < rt->io_shards; k++)
		ctx->shards[k].slots = NULL;
	uint32_t n = 0;
	for (int32_t i = 0; i < ctx->q.topics_count; i++) {
		const struct fetch_request_fetch_topic *ft = &ctx->q.topics[i];
		int16_t topic_err;
		struct topic *t = fetch_topic_lookup(ctx, ft, &topic_err);
		for (int32_t j = 0; j < ft->partitions_count; j++) {
			struct fetch_slot *slot = &ctx->slots[n++];
			struct partition *p = t ? topic_partition(t, slot->in->partition) : NULL;
			if (round == FETCH_PLAN) {
				int32_t index = slot->out->partition_index;
				fetch_response_partition_data_init(slot->out);
				slot->out->partition_index = index;
				slot->out->records.fd = -1;
				slot->out->records.len = 0;
				/* Aborted transactions are listed only to read_committed
				 * fetchers; others get null, as from Kafka, except for a
				 * partition it does not know, which gets an empty list. */
				if (ctx->q.isolation_level == 0 && p)
					slot->out->aborted_transactions_count = -1;
				if (!p)
					fetch_partition_error(slot->out, t ? KERR_UNKNOWN_TOPIC_OR_PARTITION
									   : topic_err);
			}
			if (!p)
				continue;
			struct fetch_shard *fs = &ctx->shards[p->shard];
			slot->partition = p;
			slot->owner = fs;
			slot->next = fs->slots;
			fs->slots = slot;
		}
	}
}

static void fetch_round_start(struct fetch_ctx *ctx, enum fetch_round round)
{
	struct request *req = ctx->req;
	struct runtime *rt = request_runtime(req);
	ctx->round = round;
	ctx->state = FETCH_IN_ROUND;
	if (round == FETCH_PLAN)
		ctx->any_error = false;
	fetch_route(ctx, round);
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct fetch_shard *fs = &ctx->shards[k];
		fs->round = round;
		/* min_bytes 0 is met by an empty plan, which then answers. */
		fs->last_plan = ctx->expired || ctx->q.max_wait_ms <= 0 || ctx->q.min_bytes <= 0;
		fs->call.run = fs->slots ? fetch_shard_run : NULL;
	}
	if (shard_calls_start_each(&ctx->shards[0].call, sizeof(ctx->shards[0]), rt->io_shards,
				   &ctx->pending))
		fetch_round_done(ctx);
}

/* Allocates the response arrays and slots once; rounds refill them. */
static bool fetch_ctx_alloc(struct fetch_ctx *ctx)
{
	struct request *req = ctx->req;
	struct runtime *rt = request_runtime(req);
	const struct fetch_request *q = &ctx->q;
	uint32_t partitions = 0;
	ctx->resp.responses = request_alloc(req, (size_t)q->topics_count + 1, sizeof(*ctx->resp.responses));
	ctx->shards = request_alloc(req, rt->io_shards, sizeof(*ctx->shards));
	if (!ctx->resp.responses || !ctx->shards)
		return false;
	ctx->resp.responses_count = q->topics_count;
	for (int32_t i = 0; i < q->topics_count; i++) {
		struct fetch_response_fetchable_topic_response *tr = &ctx->resp.responses[i];
		fetch_response_fetchable_topic_response_init(tr);
		tr->topic = q->topics[i].topic;
		tr->topic_id = q->topics[i].topic_id;
		tr->partitions = request_alloc(req, (size_t)q->topics[i].partitions_count + 1,
					       sizeof(*tr->partitions));
		if (!tr->partitions)
			return false;
		tr->partitions_count = q->topics[i].partitions_count;
		partitions += (uint32_t)q->topics[i].partitions_count;
	}
	ctx->slots = request_alloc(req, (size_t)partitions + 1, sizeof(*ctx->slots));
	if (!ctx->slots)
		return false;
	ctx->budget = req->header.api_version >= 3 && q->max_bytes >= 0 ? (uint64_t)q->max_bytes
									 : UINT64_MAX;
	if (ctx->budget > rt->cfg.fetch_max_bytes)
		ctx->budget = rt->cfg.fetch_max_bytes;
	uint32_t n = 0;
	for (int32_t i = 0; i < q->topics_count; i++) {
		for (int32_t j = 0; j < q->topics[i].partitions_count; j++) {
			struct fetch_slot *slot = &ctx->slots[n++];
			slot->in = &q->topics[i].partitions[j];
			slot->out = &ctx->resp.responses[i].partitions[j];
			slot->out->partition_index = slot->in->partition;
			slot->out->records.fd = -1;
			if (q->isolation_level == FETCH_READ_COMMITTED &&
			    !(slot->aborted = request_alloc(req, FETCH_ABORTED_MAX,
							    sizeof(*slot->aborted))))
				return false;
			uint64_t limit = slot->in->partition_max_bytes > 0
						 ? (uint64_t)slot->in->partition_max_bytes : 0;
			slot->limit = limit < ctx->budget ? limit : ctx->budget;
		}
	}
	ctx->slot_count = n;
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		ctx->shards[k].ctx = ctx;
		ctx->shards[k].call = (struct shard_call){ .origin = request_shard(req),
							   .target = &rt->shards[k],
							   .done = fetch_shard_done };
	}
	return true;
}

void handle_fetch(struct request *req)
{
	int16_t version = req->header.api_version;
	struct fetch_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || fetch_request_decode(&req->body, version, &req->arena, &ctx->q) != 0) {
		request_reject_malformed(req);
		return;
	}
	ctx->req = req;
	io_timer_init(&ctx->timer);
	fetch_response_init(&ctx->resp);
	ctx->resp.session_id = 0;
	if (ctx->q.session_id != 0) {
		ctx->resp.error_code = KERR_FETCH_SESSION_ID_NOT_FOUND;
		fetch_respond(ctx);
		return;
	}
	if (!fetch_ctx_alloc(ctx)) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	fetch_round_start(ctx, FETCH_PLAN);
}

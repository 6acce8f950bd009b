/* Each io shard's part of topic storage (see topics_shard.h): making it at
 * start, with the shard's flush scheduler and log cleaner; the cleaners'
 * settings changed while the broker runs; the retention
 * check on its timer; and the topics service's hooks on the shard's loop
 * (serve, turn, quiet, stop). */
#include "core/meta/topics_shard.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "core/log/fetch_wait.h"
#include "core/log/log_cleaner.h"
#include "core/log/partition_log.h"
#include "core/meta/broker_dynamic.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topic_registry.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "core/slog.h"

struct topics_cleaner_round {
	struct shard *shard;
	struct log_cleaner *cleaner;
};

static void topics_offer_compacted(struct topic *t, void *ctx)
{
	struct topics_cleaner_round *r = ctx;
	const struct topic_config *cfg = topic_config_current(t);
	if (!cfg->cleanup_compact)
		return;
	struct log_cleaner_policy pol = {
		.min_cleanable_ratio = cfg->min_cleanable_dirty_ratio,
		.min_compaction_lag_ms = cfg->min_compaction_lag_ms,
		.max_compaction_lag_ms = cfg->max_compaction_lag_ms,
		.delete_retention_ms = cfg->delete_retention_ms,
	};
	for (int32_t i = 0; i < t->partition_count; i++)
		if (t->partitions[i].shard == r->shard->id && t->partitions[i].log)
			log_cleaner_offer(r->cleaner, t->partitions[i].log, &pol);
}

/* A cleaner round on an io shard: its compacted partitions, from the image. */
static void topics_cleaner_each(struct log_cleaner *c, void *ctx)
{
	struct shard *s = ctx;
	struct topics_cleaner_round r = { .shard = s, .cleaner = c };
	struct metadata_image *im = metadata_current(s->rt);
	for (size_t i = 0; i < im->topic_count; i++)
		topics_offer_compacted(im->topics[i], &r);
}

static void topics_cleaner_config(const struct broker_config *b, struct log_cleaner_config *cc)
{
	*cc = (struct log_cleaner_config){
		.enable = b->log_cleaner_enable,
		.threads = b->log_cleaner_threads,
		.io_max_bytes_per_second = (uint64_t)b->log_cleaner_io_max_bytes_per_second,
		.dedupe_buffer_bytes = b->log_cleaner_dedupe_buffer_size,
		.backoff_ms = b->log_cleaner_backoff_ms,
		.inflated_max = (size_t)b->batch_inflated_max_bytes,
	};
}

/* With the settings in force: the static ones under the dynamic configs
 * recorded before the last stop. */
static struct log_cleaner *topics_cleaner_create(struct runtime *rt, uint32_t k,
						 _Atomic uint32_t *cleaning)
{
	struct log_cleaner_config cc;
	topics_cleaner_config(broker_dynamic_effective(rt), &cc);
	char err[256];
	struct log_cleaner *c = log_cleaner_create(rt->shards[k].reactor, &cc, cleaning,
						   &rt->worker_cpus, k, topics_cleaner_each,
						   &rt->shards[k], err, sizeof(err));
	if (!c)
		slog_error("topics", "shard %u: cannot start the log cleaner: %s", k, err);
	return c;
}

/* One io shard's part of a reconfiguration: the settings, by copy. */
struct topics_cleaner_part {
	struct shard_call call;
	struct log_cleaner_config cfg;
	struct topics_cleaner_push *push;
};

struct topics_cleaner_push {
	uint32_t pending;
	struct topics_cleaner_part parts[];
};

static void topics_cleaner_on_owner(struct shard_call *call)
{
	struct topics_cleaner_part *part = (struct topics_cleaner_part *)call;
	struct topics_shard *ts = topics_shard_of(call->target);
	if (ts && ts->cleaner)
		log_cleaner_reconfigure(ts->cleaner, &part->cfg);
	shard_call_return(call);
}

static void topics_cleaner_owner_done(struct shard_call *call)
{
	struct topics_cleaner_push *push = ((struct topics_cleaner_part *)call)->push;
	if (--push->pending == 0)
		free(push);
}

int topics_cleaners_reconfigure(struct runtime *rt, const struct broker_config *b)
{
	struct topics_cleaner_push *push =
		calloc(1, sizeof(*push) + rt->io_shards * sizeof(push->parts[0]));
	if (!push)
		return -1;
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct topics_cleaner_part *part = &push->parts[k];
		part->call = (struct shard_call){ .origin = &rt->shards[SHARD_CONTROL],
						  .target = &rt->shards[k],
						  .run = topics_cleaner_on_owner,
						  .done = topics_cleaner_owner_done };
		topics_cleaner_config(b, &part->cfg);
		part->push = push;
	}
	if (shard_calls_start_each(&push->parts[0].call, sizeof(push->parts[0]), rt->io_shards,
				   &push->pending))
		free(push);
	return 0;
}

int topics_shards_create(struct runtime *rt)
{
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct topics_shard *ts = calloc(1, sizeof(*ts));
		if (!ts) {
			slog_error("topics", "out of memory for shard %u's topics", k);
			return -1;
		}
		ts->shard = &rt->shards[k];
		io_timer_init(&ts->reaper_timer);
		log_flush_shard_init(&ts->flush, rt->shards[k].reactor,
				     (uint64_t)rt->cfg.log_flush_scheduler_interval_ms);
		io_timer_init(&ts->retention_timer);
		cold_reads_init(&ts->cold, rt->shards[k].reactor, rt->cfg.fetch_cold_reads_max);
		atomic_init(&ts->cleaning, 0);
		rt->shards[k].slots[SHARD_SLOT_TOPICS] = ts;
		struct topics_shard *first = topics_shard_of(&rt->shards[0]);
		ts->cleaner = topics_cleaner_create(rt, k, &first->cleaning);
		if (!ts->cleaner)
			return -1;
	}
	return 0;
}

static void topics_finish_fetches_of(struct topic *t, void *ctx)
{
	struct shard *s = ctx;
	for (int32_t i = 0; i < t->partition_count; i++)
		if (t->partitions[i].shard == s->id)
			fetch_waiters_finish(&t->partitions[i].waiters);
}

/* ---- retention ---- */

static void topics_arm_retention(struct shard *s, struct topics_shard *ts);

/* Every log.retention.check.interval.ms, each io shard applies retention to
 * the partitions it owns (log_retention.h). */
static void topics_on_retention_check(struct io_timer *timer)
{
	struct topics_shard *ts = container_of(timer, struct topics_shard, retention_timer);
	struct shard *s = ts->shard;
	struct metadata_image *im = metadata_current(s->rt);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	for (size_t i = 0; i < im->topic_count; i++) {
		struct topic *t = im->topics[i];
		for (int32_t k = 0; k < t->partition_count; k++)
			if (t->partitions[k].shard == s->id && t->partitions[k].log)
				partition_log_retain(t->partitions[k].log, now_ms);
	}
	topics_arm_retention(s, ts);
}

static void topics_arm_retention(struct shard *s, struct topics_shard *ts)
{
	io_timer_arm(s->reactor, &ts->retention_timer,
		     s->rt->cfg.log_retention_check_interval_ms * 1000000ull, topics_on_retention_check);
}

static void topics_shard_serve(struct shard *s)
{
	struct topics_shard *ts = topics_shard_of(s);
	if (s->id == SHARD_CONTROL)
		log_space_start(&topics_registry(s->rt)->space, s->reactor);
	if (s->io && ts)
		topics_arm_retention(s, ts);
	if (s->io && ts && ts->cleaner)
		log_cleaner_start(ts->cleaner);
}

/* Group commit: the fsyncs that became due in the last batch of
 * completions start now, each covering all of that batch (log_flush.h). */
static void topics_shard_turn(struct shard *s)
{
	if (s->io)
		log_flush_shard_turn(&topics_shard_of(s)->flush);
}

/* A due fsync holds answers that only a turn can release. */
static bool topics_shard_quiet(const struct shard *s)
{
	if (!s->io)
		return true;
	struct topics_shard *ts = topics_shard_of(s);
	return !ts->flush.due_head && (!ts->cleaner || log_cleaner_quiet(ts->cleaner));
}

static void topics_shard_stop(struct shard *s)
{
	if (s->id == SHARD_CONTROL)
		log_space_stop(&topics_registry(s->rt)->space);
	if (!s->io)
		return;
	log_flush_shard_stop(&topics_shard_of(s)->flush);
	struct topics_shard *ts = topics_shard_of(s);
	if (ts && io_timer_armed(&ts->retention_timer))
		io_timer_stop(s->reactor, &ts->retention_timer);
	if (ts && ts->cleaner)
		log_cleaner_stop(ts->cleaner);
	if (ts)
		cold_reads_stop(&ts->cold);
	struct metadata_image *im = metadata_current(s->rt);
	for (size_t i = 0; i < im->topic_count; i++)
		topics_finish_fetches_of(im->topics[i], s);
}

const struct shard_service topics_shard_service = {
	.name = "topics",
	.serve = topics_shard_serve,
	.turn = topics_shard_turn,
	.stop = topics_shard_stop,
	.quiet = topics_shard_quiet,
};

/* Per-partition work on the partitions' owning io shards (see
 * partition_fanout.h). */
#include "core/api/partition_fanout.h"

#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/shard/shard.h"

bool fanout_init(struct fanout *f, struct request *req, fanout_each_fn each,
		 fanout_finish_fn finish, void *ctx)
{
	struct runtime *rt = request_runtime(req);
	*f = (struct fanout){ .req = req, .each = each, .finish = finish, .ctx = ctx };
	f->shards = request_alloc(req, rt->io_shards, sizeof(*f->shards));
	return f->shards != NULL;
}

void fanout_add(struct fanout *f, const struct partition *p, struct fanout_slot *slot)
{
	struct fanout_shard *fs = &f->shards[p->shard];
	slot->next = fs->slots;
	fs->slots = slot;
}

static void fanout_shard_run(struct shard_call *call)
{
	struct fanout_shard *fs = container_of(call, struct fanout_shard, call);
	struct shard *s = call->target;
	for (struct fanout_slot *slot = fs->slots; slot; slot = slot->next) {
		struct topic *t = topics_lookup(s->rt, slot->topic);
		struct partition *p = t ? topic_partition(t, slot->partition) : NULL;
		fs->fanout->each(slot, p && p->shard == s->id ? p : NULL);
	}
	shard_call_return(call);
}

static void fanout_shard_done(struct shard_call *call)
{
	struct fanout_shard *fs = container_of(call, struct fanout_shard, call);
	if (--fs->fanout->pending == 0)
		fs->fanout->finish(fs->fanout);
}

void fanout_start(struct fanout *f)
{
	struct runtime *rt = request_runtime(f->req);
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct fanout_shard *fs = &f->shards[k];
		fs->fanout = f;
		fs->call = (struct shard_call){ .origin = request_shard(f->req), .target = &rt->shards[k],
						.run = fs->slots ? fanout_shard_run : NULL,
						.done = fanout_shard_done };
	}
	if (shard_calls_start_each(&f->shards[0].call, sizeof(f->shards[0]), rt->io_shards,
				   &f->pending))
		f->finish(f);
}

/* Per-partition work of one request on the partitions' owning io shards: the
 * connection's shard queues each partition for its owner, every owner looks
 * each one up again in its own image (the topic may have been deleted since)
 * and runs the handler's `each` on it, and once every owner has returned,
 * `finish` runs on the connection's shard. Everything lives in the request's
 * arena; the owners touch only their own slots. */
#ifndef SLUICE_CORE_API_PARTITION_FANOUT_H
#define SLUICE_CORE_API_PARTITION_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/shard/shard_call.h"
#include "proto/cursor.h"

struct partition;
struct request;

/* One partition: the handler's request and answer for it. */
struct fanout_slot {
	struct fanout_slot *next;
	struct kstr topic;
	int32_t partition;
	const void *in;
	void *out;
};

/* On the owner: p is the partition, or NULL when this shard no longer owns
 * it (deleted, or never its own). */
typedef void (*fanout_each_fn)(struct fanout_slot *slot, struct partition *p);

struct fanout;
typedef void (*fanout_finish_fn)(struct fanout *f);

struct fanout_shard {
	struct shard_call call;
	struct fanout *fanout;
	struct fanout_slot *slots;
};

struct fanout {
	struct request *req;
	fanout_each_fn each;
	fanout_finish_fn finish;
	void *ctx;                   /* the handler's */
	struct fanout_shard *shards; /* per io shard */
	uint32_t pending;
};

/* False when the request's arena bound is reached. */
bool fanout_init(struct fanout *f, struct request *req, fanout_each_fn each,
		 fanout_finish_fn finish, void *ctx);
/* Queues slot (its topic, partition, in and out set) for the owner of p, as
 * the connection's shard sees it. */
void fanout_add(struct fanout *f, const struct partition *p, struct fanout_slot *slot);
/* Runs the queued work; finish runs once all of it has (maybe before this
 * returns, when nothing crosses shards). */
void fanout_start(struct fanout *f);

#endif

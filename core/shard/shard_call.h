/* A piece of work that runs on another shard and comes back: the origin
 * starts it, `run` executes on the target (the shard that owns the data), and
 * when the target returns it, `done` executes on the origin. Both legs travel
 * through the shards' mailboxes (shard_mail.h); when target and origin are the
 * same shard both run directly, so `done` may run before start returns. The
 * call's memory belongs to the origin, which must not touch it between start
 * and done; the target must not touch it after returning it. */
#ifndef SLUICE_CORE_SHARD_SHARD_CALL_H
#define SLUICE_CORE_SHARD_SHARD_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shard;
struct shard_call;

typedef void (*shard_call_fn)(struct shard_call *call);

struct shard_call {
	struct shard *origin;
	struct shard *target;
	shard_call_fn run;   /* on target */
	shard_call_fn done;  /* on origin */
};

void shard_call_start(struct shard_call *call);
void shard_call_return(struct shard_call *call);

/* Fans out one request's parts: an array of `count` parts of `stride` bytes,
 * `first` being the call inside the first part (every part holds its call at
 * the same place); a part whose call has no `run` has nothing to
 * do. Counts the started calls in *pending (plus one for the fan-out itself,
 * so that local calls finishing at once cannot complete it early), starts
 * them, and drops its own count: returns true when *pending reached zero,
 * i.e. every call is already done and the caller must finish now. */
bool shard_calls_start_each(struct shard_call *first, size_t stride, uint32_t count,
			    uint32_t *pending);

static inline bool shard_call_is_local(const struct shard_call *call)
{
	return call->origin == call->target;
}

#endif

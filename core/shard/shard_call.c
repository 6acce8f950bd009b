/* Cross-shard calls over the shards' mailboxes (see shard_call.h). */
#include "core/shard/shard_call.h"

#include <assert.h>

#include "core/shard/runtime.h"
#include "core/shard/shard_mail.h"

static void shard_call_run_here(void *arg)
{
	struct shard_call *call = arg;
	call->run(call);
}

static void shard_call_done_here(void *arg)
{
	struct shard_call *call = arg;
	call->done(call);
}

void shard_call_start(struct shard_call *call)
{
	assert(call->origin && call->target && call->run && call->done);
	if (shard_call_is_local(call)) {
		call->run(call);
		return;
	}
	SHARD_COUNTER_ADD(call->origin->calls_started, 1);
	shard_post(call->origin, call->target->id, shard_call_run_here, call);
}

void shard_call_return(struct shard_call *call)
{
	if (shard_call_is_local(call)) {
		call->done(call);
		return;
	}
	shard_post(call->target, call->origin->id, shard_call_done_here, call);
}

static struct shard_call *shard_call_at(struct shard_call *first, size_t stride, uint32_t k)
{
	return (struct shard_call *)((char *)first + (size_t)k * stride);
}

bool shard_calls_start_each(struct shard_call *first, size_t stride, uint32_t count,
			    uint32_t *pending)
{
	*pending = 1;
	for (uint32_t k = 0; k < count; k++)
		*pending += shard_call_at(first, stride, k)->run != NULL;
	for (uint32_t k = 0; k < count; k++) {
		struct shard_call *call = shard_call_at(first, stride, k);
		if (call->run)
			shard_call_start(call);
	}
	return --*pending == 0;
}

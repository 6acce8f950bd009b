/* Taking a transaction API's request to its coordinator; see txn_route.h. */
#include "core/api/txn_route.h"

#include <assert.h>

#include "core/net/request.h"
#include "core/shard/shard.h"
#include "core/txn/txn_coordinator.h"
#include "proto/kafka_errors.h"

bool txn_route_relay(struct request *req, struct kstr id, void (*fn)(struct request *req),
		     int16_t *err)
{
	struct txn_coordinator *tc = txn_coordinator_route(request_runtime(req), id, err);
	if (!tc)
		return false;
	if (tc->shard == request_shard(req))
		fn(req);
	else
		request_relay(req, tc->shard->id, fn);
	return true;
}

struct txn_coordinator *txn_route_here(const struct request *req)
{
	struct txn_coordinator *tc = txn_coordinator_of(request_shard(req));
	assert(tc);
	return tc;
}

int16_t txn_route_error_for_version(int16_t err, int16_t version, int16_t fenced_from)
{
	return err == KERR_PRODUCER_FENCED && version < fenced_from ? KERR_INVALID_PRODUCER_EPOCH : err;
}

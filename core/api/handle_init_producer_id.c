/* InitProducerId (key 22), v0-v5, on the control shard: an idempotent
 * producer (null transactional id) gets a producer id never handed out
 * before in the cluster's life, with epoch 0, from the metadata store's
 * durable blocks. As in Kafka, the id and epoch a v3+ producer sends
 * (KIP-360: it asks again after UNKNOWN_PRODUCER_ID or a timeout) only
 * have to be both set or both -1: an idempotent producer always gets a
 * fresh id, since nothing else could fence it.
 *
 * sluice has no transaction coordinator yet, so a transactional id is
 * answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as FindCoordinator (key
 * type 1) and a transactional Produce are: one fatal answer everywhere
 * instead of a coordinator error that clients retry until they time out
 * (tests/differential/known_differences.md). */
#include "core/api/handlers.h"
#include "core/meta/metadata_store.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { NO_PRODUCER_ID = -1, NO_PRODUCER_EPOCH = -1 };

static int16_t init_producer_id_answer(struct request *req, const struct init_producer_id_request *q,
				       struct init_producer_id_response *r)
{
	if (q->transactional_id.len >= 0)
		return KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	if ((q->producer_id == NO_PRODUCER_ID) != (q->producer_epoch == NO_PRODUCER_EPOCH))
		return KERR_INVALID_REQUEST;
	struct metadata_store *ms = topics_registry(request_runtime(req))->store;
	int rc = metadata_store_producer_id_take(ms, &r->producer_id);
	if (rc != 0) {
		/* Logged by the store; the producer may ask again. */
		r->producer_id = NO_PRODUCER_ID;
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	r->producer_epoch = 0;
	return KERR_NONE;
}

void handle_init_producer_id(struct request *req)
{
	int16_t version = req->header.api_version;
	struct init_producer_id_request q;
	if (init_producer_id_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct init_producer_id_response r;
	init_producer_id_response_init(&r);
	r.producer_epoch = NO_PRODUCER_EPOCH;
	r.error_code = init_producer_id_answer(req, &q, &r);
	size_t size = init_producer_id_response_size(&r, version);
	init_producer_id_response_encode(request_response_begin(req, size, 0, 0), version, &r);
	request_finish(req);
}

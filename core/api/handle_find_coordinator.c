/* FindCoordinator (key 10), v0-v6: this broker coordinates every group and
 * every transactional id (their __consumer_offsets and __transaction_state
 * partitions are all here, created on first use); batched keys from v4. */
#include "core/meta/topics.h"
#include "core/group/group_coordinator.h"
#include "core/txn/txn_coordinator.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { KEY_TYPE_GROUP = 0, KEY_TYPE_TRANSACTION = 1 };

struct coordinator_answer {
	int16_t error;
	struct kstr message;
	int32_t node_id;
	struct kstr host;
	int32_t port;
};

static void coordinator_find(struct runtime *rt, struct kstr key, int8_t key_type,
			     struct coordinator_answer *out)
{
	*out = (struct coordinator_answer){ .error = KERR_NONE, .message = { NULL, -1 },
					    .node_id = -1, .host = { "", 0 }, .port = -1 };
	if ((key_type != KEY_TYPE_GROUP && key_type != KEY_TYPE_TRANSACTION) || key.len < 0) {
		out->error = KERR_INVALID_REQUEST;
		out->message = kstr_from_cstr("unknown coordinator key type");
		return;
	}
	int32_t partition;
	if (key_type == KEY_TYPE_TRANSACTION) {
		if (!txn_coordinator_route(rt, key, &out->error)) {
			out->message = kstr_from_cstr("the transaction coordinator is not available");
			return;
		}
	} else if (!group_coordinator_route(rt, key, &partition, &out->error)) {
		out->message = kstr_from_cstr("the group coordinator is not available");
		return;
	}
	out->node_id = rt->cfg.node_id;
	out->host = kstr_from_cstr(rt->cfg.advertised_host);
	out->port = rt->cfg.advertised_port;
}

/* Kafka's message on success: the error's name "NONE" in the single-key
 * versions (v0-v3), an empty string per key from v4. */
static struct kstr coordinator_success_message(int16_t version)
{
	return kstr_from_cstr(version < 4 ? "NONE" : "");
}

void handle_find_coordinator(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct find_coordinator_request q;
	if (find_coordinator_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct find_coordinator_response r;
	find_coordinator_response_init(&r);
	if (version < 4) {
		struct coordinator_answer a;
		coordinator_find(rt, q.key, q.key_type, &a);
		r.error_code = a.error;
		r.error_message = a.error == KERR_NONE ? coordinator_success_message(version) : a.message;
		r.node_id = a.node_id;
		r.host = a.host;
		r.port = a.port;
	} else {
		r.coordinators = request_alloc(req, (size_t)q.coordinator_keys_count + 1,
					       sizeof(*r.coordinators));
		if (!r.coordinators) {
			req->body.err = RC_ALLOC;
			request_reject_malformed(req);
			return;
		}
		r.coordinators_count = q.coordinator_keys_count;
		for (int32_t i = 0; i < q.coordinator_keys_count; i++) {
			struct find_coordinator_response_coordinator *c = &r.coordinators[i];
			struct coordinator_answer a;
			find_coordinator_response_coordinator_init(c);
			coordinator_find(rt, q.coordinator_keys[i], q.key_type, &a);
			c->key = q.coordinator_keys[i];
			c->error_code = a.error;
			c->error_message = a.error == KERR_NONE ? coordinator_success_message(version)
								 : a.message;
			c->node_id = a.node_id;
			c->host = a.host;
			c->port = a.port;
		}
	}
	REQUEST_RESPOND(req, find_coordinator, version, &r);
}

/* DescribeCluster (key 60), v0-v1: the cluster id, the controller and the
 * brokers, as Metadata gives them (KIP-700). A broker's listener serves the
 * broker endpoint type only (KIP-919): asking it for controllers answers
 * MISMATCHED_ENDPOINT_TYPE, an unknown type UNSUPPORTED_ENDPOINT_TYPE, with
 * Kafka's messages. On one node this broker is also the controller Kafka's
 * brokers name (a live broker's id). Runs on the connection's shard. */
#include "core/api/api_message.h"
#include "core/api/handlers.h"
#include "core/meta/metadata_store.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* Kafka's EndpointType ids. */
enum { ENDPOINT_UNKNOWN = 0, ENDPOINT_BROKER = 1, ENDPOINT_CONTROLLER = 2 };

/* The endpoint type's check: NONE, or the error with Kafka's message. */
static int16_t describe_cluster_endpoint_error(struct request *req, int8_t type, struct kstr *msg)
{
	if (type == ENDPOINT_BROKER)
		return KERR_NONE;
	if (type != ENDPOINT_CONTROLLER) {
		*msg = api_message(req, "Unsupported endpoint type %d", type);
		return KERR_UNSUPPORTED_ENDPOINT_TYPE;
	}
	*msg = api_message(req, "The request was sent to an endpoint of type BROKER, but we wanted "
			   "an endpoint of type CONTROLLER");
	return KERR_MISMATCHED_ENDPOINT_TYPE;
}

static void describe_cluster_fill(struct request *req, const struct describe_cluster_request *q,
				  struct describe_cluster_response *r)
{
	struct runtime *rt = request_runtime(req);
	r->cluster_id = kstr_from_cstr(metadata_store_cluster_id(topics_registry(rt)->store));
	r->controller_id = rt->cfg.node_id;
	r->brokers = request_alloc(req, 1, sizeof(*r->brokers));
	if (!r->brokers) {
		req->body.err = RC_ALLOC;
		return;
	}
	describe_cluster_response_broker_init(&r->brokers[0]);
	r->brokers_count = 1;
	r->brokers[0].broker_id = rt->cfg.node_id;
	r->brokers[0].host = kstr_from_cstr(rt->cfg.advertised_host);
	r->brokers[0].port = rt->cfg.advertised_port;
	if (q->include_cluster_authorized_operations)
		r->cluster_authorized_operations = API_CLUSTER_OPERATIONS_ALL;
}

void handle_describe_cluster(struct request *req)
{
	int16_t version = req->header.api_version;
	struct describe_cluster_request q;
	if (describe_cluster_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct describe_cluster_response r;
	describe_cluster_response_init(&r);
	r.cluster_id = kstr_from_cstr("");
	r.error_code = describe_cluster_endpoint_error(req, q.endpoint_type, &r.error_message);
	if (r.error_code == KERR_NONE)
		describe_cluster_fill(req, &q, &r);
	if (req->body.err != RC_OK) {
		request_reject_malformed(req);
		return;
	}
	REQUEST_RESPOND(req, describe_cluster, version, &r);
}

/* Metadata (key 3), v0-v12: brokers, the cluster id, and topics with their
 * partitions. A single node leads every partition; topics named in the
 * request are auto-created when both the broker and the request allow it.
 * Authorized operations, when asked, are every operation (handlers.h), on
 * each topic answered, as Kafka without an authorizer.
 * Runs on the connection's shard from the metadata image; a topic to create
 * sends the request to the control shard, which owns the registry. */
#include "core/api/handlers.h"
#include "core/log/partition_log.h"
#include "core/meta/topics.h"
#include "core/meta/metadata_image.h"
#include "core/meta/metadata_store.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

struct metadata_fill {
	struct request *req;
	struct metadata_response *resp;
	int32_t *self;  /* the one-element replica list: this node */
	bool failed;
};

static void metadata_topic_fill(struct metadata_fill *f, struct metadata_response_metadata_response_topic *out,
				struct topic *t)
{
	out->error_code = KERR_NONE;
	out->name.ptr = t->name;
	out->name.len = (int32_t)t->name_len;
	out->topic_id = t->id;
	out->is_internal = t->internal;
	out->partitions = request_alloc(f->req, (size_t)t->partition_count, sizeof(*out->partitions));
	if (!out->partitions) {
		f->failed = true;
		return;
	}
	out->partitions_count = t->partition_count;
	for (int32_t i = 0; i < t->partition_count; i++) {
		struct metadata_response_metadata_response_partition *p = &out->partitions[i];
		metadata_response_metadata_response_partition_init(p);
		p->partition_index = i;
		p->leader_id = f->self[0];
		p->leader_epoch = PARTITION_LOG_LEADER_EPOCH;
		p->replica_nodes = f->self;
		p->replica_nodes_count = 1;
		p->isr_nodes = f->self;
		p->isr_nodes_count = 1;
		p->offline_replicas_count = 0;
	}
}

static void metadata_all_topics_add(struct metadata_fill *f, struct topic *t)
{
	if (f->failed)
		return;
	struct metadata_response_metadata_response_topic *out = &f->resp->topics[f->resp->topics_count++];
	metadata_response_metadata_response_topic_init(out);
	metadata_topic_fill(f, out, t);
}

/* A topic named (or identified) in the request. */
static void metadata_requested_topic(struct metadata_fill *f, const struct metadata_request *q,
				     const struct metadata_request_metadata_request_topic *tr,
				     struct metadata_response_metadata_response_topic *out)
{
	struct runtime *rt = request_runtime(f->req);
	metadata_response_metadata_response_topic_init(out);
	out->name = tr->name;
	out->topic_id = tr->topic_id;
	if (tr->name.len < 0) {
		struct topic *t = topics_lookup_id(rt, tr->topic_id);
		if (!t)
			out->error_code = KERR_UNKNOWN_TOPIC_ID;
		else
			metadata_topic_fill(f, out, t);
		return;
	}
	int16_t err = KERR_NONE;
	struct topic *t = topics_get_or_create(rt, tr->name, q->allow_auto_topic_creation, &err);
	if (!t)
		out->error_code = err;
	else
		metadata_topic_fill(f, out, t);
}

/* Requests name topics by id (a null name) only from v12 on; before that a
 * null name is the peer's mistake, and Kafka fails the whole request: every
 * listed topic INVALID_REQUEST, with no brokers, cluster id or controller. */
enum { METADATA_ID_LOOKUP_FROM_VERSION = 12 };

static bool metadata_nameless_before_ids(const struct metadata_request *q, int16_t version)
{
	if (version >= METADATA_ID_LOOKUP_FROM_VERSION)
		return false;
	for (int32_t i = 0; i < q->topics_count; i++)
		if (q->topics[i].name.len < 0)
			return true;
	return false;
}

static void metadata_reject_nameless(struct request *req, const struct metadata_request *q)
{
	struct metadata_response r;
	metadata_response_init(&r);
	r.topics = request_alloc(req, (size_t)q->topics_count, sizeof(*r.topics));
	if (!r.topics) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	r.topics_count = q->topics_count;
	for (int32_t i = 0; i < q->topics_count; i++) {
		struct metadata_response_metadata_response_topic *out = &r.topics[i];
		metadata_response_metadata_response_topic_init(out);
		out->error_code = KERR_INVALID_REQUEST;
		out->name = q->topics[i].name.len < 0 ? kstr_from_cstr("") : q->topics[i].name;
		out->topic_id = q->topics[i].topic_id;
	}
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, metadata, version, &r);
}

void handle_metadata(struct request *req)
{
	struct runtime *rt = request_runtime(req);
	int16_t version = req->header.api_version;
	struct metadata_request q;
	if (metadata_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	if (metadata_nameless_before_ids(&q, version)) {
		metadata_reject_nameless(req, &q);
		return;
	}
	for (int32_t i = 0; !request_on_control(req) && i < q.topics_count; i++) {
		struct kstr name = q.topics[i].name;
		if (name.len >= 0 && !topics_lookup(rt, name) &&
		    topics_auto_creatable(rt, name, q.allow_auto_topic_creation)) {
			request_forward_to_control(req);
			return;
		}
	}
	struct metadata_response r;
	metadata_response_init(&r);
	struct metadata_fill f = { .req = req, .resp = &r };
	f.self = request_alloc(req, 1, sizeof(int32_t));
	r.brokers = request_alloc(req, 1, sizeof(*r.brokers));
	if (!f.self || !r.brokers) {
		request_reject_malformed(req);
		return;
	}
	f.self[0] = rt->cfg.node_id;
	metadata_response_metadata_response_broker_init(&r.brokers[0]);
	r.brokers_count = 1;
	r.brokers[0].node_id = rt->cfg.node_id;
	r.brokers[0].host = kstr_from_cstr(rt->cfg.advertised_host);
	r.brokers[0].port = rt->cfg.advertised_port;
	r.cluster_id = kstr_from_cstr(metadata_store_cluster_id(topics_registry(rt)->store));
	r.controller_id = rt->cfg.node_id;
	if (q.include_cluster_authorized_operations)
		r.cluster_authorized_operations = API_CLUSTER_OPERATIONS_ALL;

	/* v0 sends an empty list for "all topics"; v1+ sends null. */
	bool all = q.topics_count < 0 || (version == 0 && q.topics_count == 0);
	if (all) {
		struct metadata_image *im = metadata_current(rt);
		r.topics = request_alloc(req, im->topic_count ? im->topic_count : 1, sizeof(*r.topics));
		if (!r.topics)
			f.failed = true;
		for (size_t i = 0; !f.failed && i < im->topic_count; i++)
			metadata_all_topics_add(&f, im->topics[i]);
	} else {
		r.topics = request_alloc(req, (size_t)q.topics_count ? (size_t)q.topics_count : 1,
					 sizeof(*r.topics));
		if (!r.topics)
			f.failed = true;
		for (int32_t i = 0; !f.failed && i < q.topics_count; i++) {
			metadata_requested_topic(&f, &q, &q.topics[i], &r.topics[i]);
			r.topics_count = i + 1;
		}
	}
	if (f.failed) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; q.include_topic_authorized_operations && i < r.topics_count; i++)
		r.topics[i].topic_authorized_operations = API_TOPIC_OPERATIONS_ALL;
	REQUEST_RESPOND(req, metadata, version, &r);
}

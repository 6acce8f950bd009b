/* ElectLeaders (key 43), v0-v2: on one node every partition already has its
 * preferred leader, so each one asked answers ELECTION_NOT_NEEDED and an
 * unknown one UNKNOWN_TOPIC_OR_PARTITION, with Kafka's controller's
 * messages. Null partitions ask for every partition: Kafka then lists every
 * topic and leaves out the partitions that needed no election, i.e. all of
 * them here. An election type other than preferred (0) or unclean (1) fails
 * the request with INVALID_REQUEST, repeated on each partition asked. Runs on
 * the connection's shard from the metadata image. */
#include "core/api/api_message.h"
#include "core/api/handlers.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { ELECTION_PREFERRED = 0, ELECTION_UNCLEAN = 1 };

/* One partition asked. */
static void elect_partition(struct request *req, int8_t election_type, struct topic *t,
			    struct kstr topic, int32_t index,
			    struct elect_leaders_response_partition_result *out)
{
	elect_leaders_response_partition_result_init(out);
	out->partition_id = index;
	if (election_type != ELECTION_PREFERRED && election_type != ELECTION_UNCLEAN) {
		out->error_code = KERR_INVALID_REQUEST;
		out->error_message = api_message(req, "Unknown election type %d", election_type);
	} else if (!t) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		out->error_message = api_message(req, "No such topic as %.*s",
						   (int)topic.len, topic.ptr);
	} else if (!topic_partition(t, index)) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		out->error_message = api_message(req, "No such partition as %.*s-%d",
						   (int)topic.len, topic.ptr, index);
	} else {
		out->error_code = KERR_ELECTION_NOT_NEEDED;
		out->error_message = kstr_from_cstr("Leader election not needed for topic partition.");
	}
}

static bool elect_asked(struct request *req, const struct elect_leaders_request *q,
			struct elect_leaders_response *r)
{
	struct runtime *rt = request_runtime(req);
	r->replica_election_results = request_alloc(req, (size_t)q->topic_partitions_count + 1,
						    sizeof(*r->replica_election_results));
	if (!r->replica_election_results)
		return false;
	r->replica_election_results_count = q->topic_partitions_count;
	for (int32_t i = 0; i < q->topic_partitions_count; i++) {
		const struct elect_leaders_request_topic_partitions *qt = &q->topic_partitions[i];
		struct elect_leaders_response_replica_election_result *out =
			&r->replica_election_results[i];
		elect_leaders_response_replica_election_result_init(out);
		out->topic = qt->topic;
		out->partition_result = request_alloc(req, (size_t)qt->partitions_count + 1,
						      sizeof(*out->partition_result));
		if (!out->partition_result)
			return false;
		out->partition_result_count = qt->partitions_count;
		struct topic *t = topics_lookup(rt, qt->topic);
		for (int32_t j = 0; j < qt->partitions_count; j++)
			elect_partition(req, q->election_type, t, qt->topic, qt->partitions[j],
					&out->partition_result[j]);
	}
	return req->body.err == RC_OK;
}

/* Null partitions: every topic, none of its partitions needing an election. */
static bool elect_all(struct request *req, struct elect_leaders_response *r)
{
	struct metadata_image *im = metadata_current(request_runtime(req));
	r->replica_election_results = request_alloc(req, im->topic_count + 1,
						    sizeof(*r->replica_election_results));
	if (!r->replica_election_results)
		return false;
	r->replica_election_results_count = (int32_t)im->topic_count;
	for (size_t i = 0; i < im->topic_count; i++) {
		struct elect_leaders_response_replica_election_result *out =
			&r->replica_election_results[i];
		elect_leaders_response_replica_election_result_init(out);
		out->topic = request_copy_cstr(req, im->topics[i]->name);
	}
	return req->body.err == RC_OK;
}

void handle_elect_leaders(struct request *req)
{
	int16_t version = req->header.api_version;
	struct elect_leaders_request q;
	if (elect_leaders_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct elect_leaders_response r;
	elect_leaders_response_init(&r);
	bool known_type = q.election_type == ELECTION_PREFERRED || q.election_type == ELECTION_UNCLEAN;
	if (!known_type)
		r.error_code = KERR_INVALID_REQUEST;
	bool ok = q.topic_partitions_count >= 0 ? elect_asked(req, &q, &r)
		  : known_type ? elect_all(req, &r) : true;
	if (!ok) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	REQUEST_RESPOND(req, elect_leaders, version, &r);
}

/* DeleteTopics (key 20), v1-v6: by name, or from v6 by name or topic id. The
 * topic leaves the registry, its waiting fetches answer, and its partition
 * directories are removed. */
#include <string.h>

#include "core/broker.h"
#include "core/handlers.h"
#include "core/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

static void delete_topics_one(struct broker *b, struct kstr name, struct kuuid id,
			      struct delete_topics_response_deletable_topic_result *out)
{
	delete_topics_response_deletable_topic_result_init(out);
	out->name = name;
	out->topic_id = id;
	struct topic *t = NULL;
	if (name.len >= 0)
		t = topics_find(&b->topics, name);
	else if (!kuuid_is_zero(id))
		t = topics_find_id(&b->topics, id);
	if (!t) {
		out->error_code = name.len >= 0 ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
		return;
	}
	if (name.len >= 0 && !kuuid_is_zero(id) && memcmp(id.b, t->id.b, 16) != 0) {
		out->error_code = KERR_INCONSISTENT_TOPIC_ID;
		return;
	}
	out->topic_id = t->id;
	out->error_code = topics_delete(b, t);
	/* The registry entry is gone: the name must not point into it. */
	out->name = name;
}

void handle_delete_topics(struct request *req)
{
	struct broker *b = request_broker(req);
	int16_t version = req->header.api_version;
	struct delete_topics_request q;
	if (delete_topics_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	int32_t n = version >= 6 ? q.topics_count : q.topic_names_count;
	struct delete_topics_response r;
	delete_topics_response_init(&r);
	r.responses = request_alloc(req, (size_t)(n > 0 ? n : 0) + 1, sizeof(*r.responses));
	if (!r.responses) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	r.responses_count = n > 0 ? n : 0;
	static const struct kuuid no_id;
	for (int32_t i = 0; i < r.responses_count; i++) {
		if (version >= 6)
			delete_topics_one(b, q.topics[i].name, q.topics[i].topic_id, &r.responses[i]);
		else
			delete_topics_one(b, q.topic_names[i], no_id, &r.responses[i]);
	}
	size_t size = delete_topics_response_size(&r, version);
	delete_topics_response_encode(request_response_begin(req, size, 0, 0), version, &r);
	request_finish(req);
}

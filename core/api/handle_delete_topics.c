/* DeleteTopics (key 20), v1-v6: by name, or from v6 by name or topic id. Runs
 * on the control shard: each topic leaves the registry at once, and the
 * response waits until every owning shard has answered the topic's waiting
 * fetches and removed its partition directories, so that a client may create
 * the name again as soon as it has the answer. Internal topics belong to
 * their coordinators: no client may delete them (TOPIC_AUTHORIZATION_FAILED,
 * what Kafka answers a principal its authorizer denies DELETE on a topic). */
#include <stdio.h>
#include <string.h>

#include "core/api/handlers.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { DELETE_TOPICS_MESSAGE_BYTES = 128 };

struct delete_topics_ctx;

struct delete_topics_item {
	struct topic_deletion deletion;
	struct delete_topics_ctx *ctx;
};

struct delete_topics_ctx {
	struct request *req;
	struct delete_topics_response resp;
	struct delete_topics_item *items; /* one per requested topic */
	uint32_t pending;
};

static void delete_topics_settle(struct delete_topics_ctx *ctx)
{
	if (--ctx->pending > 0)
		return;
	struct request *req = ctx->req;
	int16_t version = req->header.api_version;
	REQUEST_RESPOND(req, delete_topics, version, &ctx->resp);
}

static void delete_topics_item_done(struct topic_deletion *d)
{
	delete_topics_settle(container_of(d, struct delete_topics_item, deletion)->ctx);
}

static void delete_topics_refuse_internal(struct request *req, struct kstr name,
					  struct delete_topics_response_deletable_topic_result *out)
{
	out->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
	char *msg = request_alloc(req, DELETE_TOPICS_MESSAGE_BYTES, 1);
	if (!msg)
		return;
	int n = snprintf(msg, DELETE_TOPICS_MESSAGE_BYTES,
			 "Topic %.*s is an internal topic and cannot be deleted.", name.len, name.ptr);
	out->error_message = (struct kstr){ msg, n < DELETE_TOPICS_MESSAGE_BYTES ? n : DELETE_TOPICS_MESSAGE_BYTES - 1 };
}

static void delete_topics_one(struct delete_topics_ctx *ctx, struct kstr name, struct kuuid id,
			      struct delete_topics_response_deletable_topic_result *out,
			      struct delete_topics_item *item)
{
	struct runtime *rt = request_runtime(ctx->req);
	delete_topics_response_deletable_topic_result_init(out);
	out->name = name;
	out->topic_id = id;
	if (name.len >= 0 && topic_name_is_internal(name.ptr, (size_t)name.len)) {
		delete_topics_refuse_internal(ctx->req, name, out);
		return;
	}
	struct topic *t = NULL;
	if (name.len >= 0)
		t = topics_find(topics_registry(rt), name);
	else if (!kuuid_is_zero(id))
		t = topics_find_id(topics_registry(rt), id);
	if (!t) {
		/* From v5 the result carries a message: Kafka's text for the code. */
		bool by_name = name.len >= 0;
		out->error_code = by_name ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
		out->error_message = kstr_from_cstr(by_name ? "This server does not host this topic-partition."
							    : "This server does not host this topic ID.");
		return;
	}
	if (name.len >= 0 && !kuuid_is_zero(id) && memcmp(id.b, t->id.b, 16) != 0) {
		out->error_code = KERR_INCONSISTENT_TOPIC_ID;
		return;
	}
	out->topic_id = t->id;
	if (t->internal) {
		out->name = (struct kstr){ t->name, (int32_t)t->name_len };
		delete_topics_refuse_internal(ctx->req, out->name, out);
		return;
	}
	item->ctx = ctx;
	item->deletion.done = delete_topics_item_done;
	out->error_code = topics_delete(rt, t, &item->deletion);
	if (out->error_code == KERR_NONE)
		ctx->pending++;
}

void handle_delete_topics(struct request *req)
{
	int16_t version = req->header.api_version;
	struct delete_topics_request q;
	struct delete_topics_ctx *ctx = request_alloc(req, 1, sizeof(*ctx));
	if (!ctx || delete_topics_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	int32_t n = version >= 6 ? q.topics_count : q.topic_names_count;
	size_t count = (size_t)(n > 0 ? n : 0);
	ctx->req = req;
	delete_topics_response_init(&ctx->resp);
	ctx->resp.responses = request_alloc(req, count + 1, sizeof(*ctx->resp.responses));
	ctx->items = request_alloc(req, count + 1, sizeof(*ctx->items));
	if (!ctx->resp.responses || !ctx->items) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	ctx->resp.responses_count = (int32_t)count;
	static const struct kuuid no_id;
	/* One count for the loop itself. */
	ctx->pending = 1;
	for (size_t i = 0; i < count; i++) {
		if (version >= 6)
			delete_topics_one(ctx, q.topics[i].name, q.topics[i].topic_id,
					  &ctx->resp.responses[i], &ctx->items[i]);
		else
			delete_topics_one(ctx, q.topic_names[i], no_id, &ctx->resp.responses[i],
					  &ctx->items[i]);
	}
	delete_topics_settle(ctx);
}

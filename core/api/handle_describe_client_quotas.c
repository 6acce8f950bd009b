/* DescribeClientQuotas (key 48), v0-v1: the client quotas matching a filter.
 * sluice defines no quotas yet (AlterClientQuotas stores none), so a valid
 * filter matches nothing: an empty set, with Kafka's empty error message. A
 * filter is checked as Kafka's broker checks it, component by component (an
 * empty or unknown entity type, a type twice, a match string that
 * contradicts the match type), then the IP-with-user/client-id combination,
 * each answered with Kafka's code and message and no entries. Runs on the
 * connection's shard. */
#include "core/api/api_message.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

/* Kafka's match types. */
enum { MATCH_EXACT = 0, MATCH_DEFAULT = 1, MATCH_SPECIFIED = 2 };

/* Kafka's quota entity types, and the bit each one sets in a seen mask. */
static const char *const QUOTA_ENTITY_TYPES[] = { "user", "client-id", "ip" };
enum { QUOTA_USER = 1, QUOTA_CLIENT_ID = 2, QUOTA_IP = 4, QUOTA_TYPES = 3 };

struct quota_filter_error {
	int16_t code;
	struct kstr message;
};

/* Sets the error and its message; returns true. */
#define quota_fail(req, e, error, ...)                                   \
	((e)->code = (error), (e)->message = api_message(req, __VA_ARGS__), true)

static int quota_entity_bit(struct kstr type)
{
	for (int i = 0; i < QUOTA_TYPES; i++)
		if (kstr_eq_cstr(type, QUOTA_ENTITY_TYPES[i]))
			return 1 << i;
	return 0;
}

static bool quota_match_error(struct request *req,
			      const struct describe_client_quotas_request_component *c,
			      struct quota_filter_error *e)
{
	const char *what = NULL;
	if (c->match_type == MATCH_EXACT && c->match.len < 0)
		what = "Request specified MATCH_TYPE_EXACT, but set match string to null.";
	else if (c->match_type == MATCH_DEFAULT && c->match.len >= 0)
		what = "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.";
	else if (c->match_type == MATCH_SPECIFIED && c->match.len >= 0)
		what = "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.";
	if (what)
		return quota_fail(req, e, KERR_INVALID_REQUEST, "%s", what);
	if (c->match_type < MATCH_EXACT || c->match_type > MATCH_SPECIFIED)
		return quota_fail(req, e, KERR_INVALID_REQUEST, "Unknown match type %d",
				  c->match_type);
	return false;
}

/* The filter's first mistake, in Kafka's order; false when it is valid. */
static bool quota_filter_error(struct request *req, const struct describe_client_quotas_request *q,
			       struct quota_filter_error *e)
{
	int seen = 0;
	for (int32_t i = 0; i < q->components_count; i++) {
		const struct describe_client_quotas_request_component *c = &q->components[i];
		struct kstr type = c->entity_type;
		int bit = quota_entity_bit(type);
		if (type.len <= 0)
			return quota_fail(req, e, KERR_INVALID_REQUEST, "Invalid empty entity type.");
		if (!bit)
			return quota_fail(req, e, KERR_UNSUPPORTED_VERSION,
					  "Unsupported entity type %.*s", (int)type.len, type.ptr);
		if (seen & bit)
			return quota_fail(req, e, KERR_INVALID_REQUEST,
					  "Entity type %.*s cannot appear more than once in the filter.",
					  (int)type.len, type.ptr);
		if (quota_match_error(req, c, e))
			return true;
		seen |= bit;
	}
	if ((seen & QUOTA_IP) && (seen & (QUOTA_USER | QUOTA_CLIENT_ID)))
		return quota_fail(req, e, KERR_INVALID_REQUEST, "%s",
				  "Invalid entity filter component combination. IP filter component "
				  "should not be used with user or clientId filter component.");
	return false;
}

void handle_describe_client_quotas(struct request *req)
{
	int16_t version = req->header.api_version;
	struct describe_client_quotas_request q;
	if (describe_client_quotas_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct describe_client_quotas_response r;
	describe_client_quotas_response_init(&r);
	struct quota_filter_error e;
	if (quota_filter_error(req, &q, &e)) {
		r.error_code = e.code;
		r.error_message = e.message;
		r.entries_count = -1;
	} else {
		r.error_message = kstr_from_cstr("");
		r.entries_count = 0;
	}
	if (req->body.err != RC_OK) {
		request_reject_malformed(req);
		return;
	}
	REQUEST_RESPOND(req, describe_client_quotas, version, &r);
}

/* CreateTopics (key 19), v2-v7: Kafka's rules for names, partitions, the
 * replication factor (1 on a single node), manual assignments and configs;
 * validate_only checks everything and creates nothing. From v5 the result
 * carries the topic's partitions, replication factor and every config.
 * Internal topics are created by their coordinators with their own settings:
 * a client's request for one is refused with INVALID_REQUEST, as Kafka
 * refuses __cluster_metadata. */
#include <stdio.h>
#include <string.h>

#include "core/api/config_resource.h"
#include "core/api/handlers.h"
#include "core/meta/topic_config.h"
#include "core/meta/topics.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

enum { CREATE_TOPICS_MESSAGE_BYTES = 256 };

static struct kstr create_topics_copy(struct request *req, const char *s)
{
	size_t len = strlen(s);
	char *p = request_alloc(req, len + 1, 1);
	struct kstr k = { NULL, -1 };
	if (p) {
		memcpy(p, s, len);
		k.ptr = p;
		k.len = (int32_t)len;
	}
	return k;
}

/* Manual assignments: every partition 0..n-1 exactly once, one replica, this
 * node. Returns the partition count or -1 with a message. */
static int32_t create_topics_check_assignments(struct request *req,
					       const struct create_topics_request_creatable_topic *ct,
					       char *msg, size_t msglen)
{
	int32_t n = ct->assignments_count;
	int32_t node = request_runtime(req)->cfg.node_id;
	for (int32_t i = 0; i < n; i++) {
		const struct create_topics_request_creatable_replica_assignment *a = &ct->assignments[i];
		if (a->partition_index < 0 || a->partition_index >= n) {
			snprintf(msg, msglen, "Partitions should be a consecutive 0-based integer sequence");
			return -1;
		}
		for (int32_t k = 0; k < i; k++) {
			if (ct->assignments[k].partition_index == a->partition_index) {
				snprintf(msg, msglen, "Duplicate partition %d in the assignment",
					 a->partition_index);
				return -1;
			}
		}
		if (a->broker_ids_count != 1 || a->broker_ids[0] != node) {
			snprintf(msg, msglen, "Partition %d: replicas must be exactly [%d] on this "
				 "single-node cluster", a->partition_index, node);
			return -1;
		}
	}
	return n;
}

/* The value the request gives a key, or NULL. */
static const struct kstr *create_topics_given(const struct topic_create_args *a, const char *key)
{
	for (size_t k = 0; k < a->config_count; k++)
		if (kstr_eq_cstr(a->config_keys[k], key))
			return &a->config_values[k];
	return NULL;
}

/* The v5+ description of a created (or validated) topic's configs: every
 * key DescribeConfigs would list for it, with the same values and sources. */
static void create_topics_describe(struct request *req, const struct topic_config *cfg,
				   const struct topic_create_args *a,
				   struct create_topics_response_creatable_topic_result *out)
{
	size_t n = topic_config_key_count();
	out->configs = request_alloc(req, n + 1, sizeof(*out->configs));
	if (!out->configs)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct topic_config_key *k = topic_config_key_at(i);
		const struct kstr *given = create_topics_given(a, k->name);
		if (k->described_when_set && !given)
			continue;
		struct create_topics_response_creatable_topic_configs *c =
			&out->configs[out->configs_count++];
		create_topics_response_creatable_topic_configs_init(c);
		c->name = kstr_from_cstr(k->name);
		char value[TOPIC_CONFIG_VALUE_BYTES];
		if (given) {
			c->value = *given;
		} else {
			if (k->stored_default)
				snprintf(value, sizeof(value), "%s", k->stored_default);
			else
				topic_config_value(cfg, k->name, value, sizeof(value));
			c->value = create_topics_copy(req, value);
		}
		c->read_only = false;
		c->is_sensitive = false;
		c->config_source = given ? CONFIG_SOURCE_DYNAMIC_TOPIC
					 : config_resource_inherited_source(request_runtime(req), k);
	}
}

/* How often the request names a topic: a name given more than once gets one
 * result, INVALID_REQUEST, and creates nothing (as Kafka answers). */
static int32_t create_topics_name_count(const struct create_topics_request *q, struct kstr name)
{
	int32_t n = 0;
	for (int32_t k = 0; k < q->topics_count; k++)
		n += kstr_eq(q->topics[k].name, name);
	return n;
}

static bool create_topics_named_before(const struct create_topics_request *q, int32_t index)
{
	for (int32_t k = 0; k < index; k++)
		if (kstr_eq(q->topics[k].name, q->topics[index].name))
			return true;
	return false;
}

static void create_topics_one(struct request *req, const struct create_topics_request *q,
			      int32_t index, struct create_topics_response_creatable_topic_result *out)
{
	struct runtime *rt = request_runtime(req);
	const struct create_topics_request_creatable_topic *ct = &q->topics[index];
	char msg[CREATE_TOPICS_MESSAGE_BYTES] = "";
	create_topics_response_creatable_topic_result_init(out);
	out->name = ct->name;
	out->error_message = (struct kstr){ NULL, -1 };
	if (create_topics_name_count(q, ct->name) > 1) {
		out->error_code = KERR_INVALID_REQUEST;
		out->error_message = create_topics_copy(req, "Duplicate topic name.");
		return;
	}
	if (topic_name_is_internal(ct->name.ptr, ct->name.len > 0 ? (size_t)ct->name.len : 0)) {
		snprintf(msg, sizeof(msg), "Creation of internal topic %.*s is prohibited.",
			 ct->name.len, ct->name.ptr);
		out->error_code = KERR_INVALID_REQUEST;
		out->error_message = create_topics_copy(req, msg);
		return;
	}
	struct topic_create_args a = {
		.name = ct->name,
		.partitions = ct->num_partitions,
		.replication_factor = ct->replication_factor,
		.validate_only = q->validate_only,
	};
	if (ct->assignments_count > 0) {
		if (ct->num_partitions != -1 || ct->replication_factor != -1) {
			out->error_code = KERR_INVALID_REQUEST;
			out->error_message = create_topics_copy(req, "Both numPartitions or "
				"replicationFactor and replicasAssignments were set. Both cannot be used "
				"at the same time.");
			return;
		}
		a.partitions = create_topics_check_assignments(req, ct, msg, sizeof(msg));
		if (a.partitions < 0) {
			out->error_code = KERR_INVALID_REPLICA_ASSIGNMENT;
			out->error_message = create_topics_copy(req, msg);
			return;
		}
		a.replication_factor = 1;
	}
	int32_t nconf = ct->configs_count > 0 ? ct->configs_count : 0;
	struct kstr *keys = request_alloc(req, (size_t)nconf + 1, sizeof(*keys));
	struct kstr *values = request_alloc(req, (size_t)nconf + 1, sizeof(*values));
	if (!keys || !values) {
		out->error_code = KERR_INVALID_REQUEST;
		return;
	}
	for (int32_t k = 0; k < nconf; k++) {
		keys[k] = ct->configs[k].name;
		values[k] = ct->configs[k].value;
	}
	a.config_count = (size_t)nconf;
	a.config_keys = keys;
	a.config_values = values;
	struct topic_config described;
	out->error_code = topics_create(rt, &a, NULL, &described, msg, sizeof(msg));
	if (out->error_code != KERR_NONE) {
		out->error_message = create_topics_copy(req, msg);
		return;
	}
	struct topic *t = q->validate_only ? NULL : topics_find(topics_registry(rt), ct->name);
	if (t)
		out->topic_id = t->id;
	else
		topics_random_id(&out->topic_id); /* v7+: Kafka names even a validation */
	out->num_partitions = a.partitions == -1 ? rt->cfg.num_partitions : a.partitions;
	out->replication_factor = 1;
	create_topics_describe(req, &described, &a, out);
}

void handle_create_topics(struct request *req)
{
	int16_t version = req->header.api_version;
	struct create_topics_request q;
	if (create_topics_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct create_topics_response r;
	create_topics_response_init(&r);
	r.topics = request_alloc(req, (size_t)q.topics_count + 1, sizeof(*r.topics));
	if (!r.topics) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	for (int32_t i = 0; i < q.topics_count; i++)
		if (!create_topics_named_before(&q, i))
			create_topics_one(req, &q, i, &r.topics[r.topics_count++]);
	REQUEST_RESPOND(req, create_topics, version, &r);
}

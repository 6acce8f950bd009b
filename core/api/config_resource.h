/* What the three config APIs (DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs) share: Kafka's resource types and config
 * sources, and finding the resource a request names. */
#ifndef SLUICE_CORE_API_CONFIG_RESOURCE_H
#define SLUICE_CORE_API_CONFIG_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/meta/metadata_store.h"
#include "proto/cursor.h"

struct request;
struct runtime;
struct topic;
struct topic_config_key;

enum config_resource_type {
	CONFIG_RESOURCE_TOPIC = 2,
	CONFIG_RESOURCE_BROKER = 4,
	CONFIG_RESOURCE_BROKER_LOGGER = 8,
};

/* Kafka's ConfigSource numbers. */
enum config_source {
	CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
	CONFIG_SOURCE_DYNAMIC_BROKER = 2,
	CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
	CONFIG_SOURCE_STATIC_BROKER = 4,
	CONFIG_SOURCE_DEFAULT = 5,
};

enum { CONFIG_RESOURCE_MESSAGE_BYTES = 512 };

/* Where a broker key's value in force comes from: this node's dynamic
 * config, the cluster's, or the broker's file or --set; 0 when none sets it. */
int8_t config_resource_broker_source(struct runtime *rt, const char *name);
/* Where a topic key's value comes from when the topic does not set it: the
 * source of the first of its broker synonyms that is set, else
 * CONFIG_SOURCE_DEFAULT. */
int8_t config_resource_inherited_source(struct runtime *rt, const struct topic_config_key *k);

/* A copy of s in the request's arena (null on allocation failure). */
struct kstr config_resource_copy(struct request *req, const char *s);

/* A broker resource's name, as DescribeConfigs takes it: "" (the cluster's
 * defaults) or this node's id. Returns NONE or INVALID_REQUEST with Kafka's
 * message. */
int16_t config_resource_broker_check(struct request *req, struct kstr name, char *msg,
				     size_t msglen);

/* An alteration's broker resource: "" names the cluster's defaults, this
 * node's id its own configs. Returns NONE with *level, or INVALID_REQUEST
 * with Kafka's message. */
int16_t config_resource_broker_level(struct request *req, struct kstr name,
				     enum meta_broker_level *level, char *msg, size_t msglen);

/* A topic resource: the topic, or NULL with UNKNOWN_TOPIC_OR_PARTITION in
 * *err and Kafka's message. */
struct topic *config_resource_topic(struct request *req, struct kstr name, int16_t *err, char *msg,
				    size_t msglen);

/* A resource's error_message: null on success, else msg (null when empty). */
struct kstr config_resource_message(struct request *req, int16_t error_code, const char *msg);

/* Any other resource type: the error and message Kafka answers with. */
int16_t config_resource_unsupported(int8_t type, char *msg, size_t msglen);

/* The whole handler of AlterConfigs and IncrementalAlterConfigs, whose
 * messages differ only in their configs' fields: decodes the request with
 * the generated codec `msg`, answers each resource with
 * one(req, resource, validate_only, text, text_len) and its message, and
 * encodes the response (`elem`: its resource type's init). */
#define CONFIG_RESOURCE_ALTER_HANDLER(req, msg, elem, one)                                      \
	do {                                                                                    \
		int16_t version_ = (req)->header.api_version;                                   \
		struct msg##_request q_;                                                        \
		struct msg##_response r_;                                                       \
		msg##_response_init(&r_);                                                       \
		if (msg##_request_decode(&(req)->body, version_, &(req)->arena, &q_) == 0)      \
			r_.responses = request_alloc((req), (size_t)q_.resources_count + 1,     \
						     sizeof(*r_.responses));                    \
		if (!r_.responses) {                                                            \
			if ((req)->body.err == RC_OK)                                           \
				(req)->body.err = RC_ALLOC; /* decoded, no room to answer */    \
			request_reject_malformed(req);                                          \
			break;                                                                  \
		}                                                                               \
		for (int32_t i_ = 0; i_ < q_.resources_count; i_++) {                           \
			char text_[CONFIG_RESOURCE_MESSAGE_BYTES] = "";                         \
			elem(&r_.responses[i_]);                                                \
			r_.responses[i_].resource_type = q_.resources[i_].resource_type;        \
			r_.responses[i_].resource_name = q_.resources[i_].resource_name;        \
			r_.responses[i_].error_code = one((req), &q_.resources[i_],             \
							  q_.validate_only, text_,              \
							  sizeof(text_));                       \
			r_.responses[i_].error_message =                                        \
				config_resource_message((req), r_.responses[i_].error_code, text_); \
			r_.responses_count++;                                                   \
		}                                                                               \
		REQUEST_RESPOND((req), msg, version_, &r_);                                     \
	} while (0)

#endif

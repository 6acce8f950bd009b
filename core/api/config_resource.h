/* What the three config APIs (DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs) share: Kafka's resource types and config
 * sources, and finding the resource a request names. */
#ifndef SLUICE_CORE_API_CONFIG_RESOURCE_H
#define SLUICE_CORE_API_CONFIG_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

struct request;
struct topic;

enum config_resource_type {
	CONFIG_RESOURCE_TOPIC = 2,
	CONFIG_RESOURCE_BROKER = 4,
	CONFIG_RESOURCE_BROKER_LOGGER = 8,
};

/* Kafka's ConfigSource numbers. */
enum config_source {
	CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
	CONFIG_SOURCE_STATIC_BROKER = 4,
	CONFIG_SOURCE_DEFAULT = 5,
};

enum { CONFIG_RESOURCE_MESSAGE_BYTES = 512 };

/* A copy of s in the request's arena (null on allocation failure). */
struct kstr config_resource_copy(struct request *req, const char *s);

/* A broker resource's name: "" (the cluster's defaults) when allow_default,
 * or this node's id. Returns NONE or INVALID_REQUEST with Kafka's message. */
int16_t config_resource_broker_check(struct request *req, struct kstr name, bool allow_default,
				     char *msg, size_t msglen);

/* A topic resource: the topic, or NULL with UNKNOWN_TOPIC_OR_PARTITION (or
 * INVALID_TOPIC_EXCEPTION for a name Kafka could never have) in *err. */
struct topic *config_resource_topic(struct request *req, struct kstr name, int16_t *err, char *msg,
				    size_t msglen);

/* Any other resource type: the error and message Kafka answers with. */
int16_t config_resource_unsupported(int8_t type, char *msg, size_t msglen);

#endif

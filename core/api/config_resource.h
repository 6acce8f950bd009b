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

/* A broker resource's name, as DescribeConfigs takes it: "" (the cluster's
 * defaults) or this node's id. Returns NONE or INVALID_REQUEST with Kafka's
 * message. */
int16_t config_resource_broker_check(struct request *req, struct kstr name, char *msg,
				     size_t msglen);

/* An alteration of the broker's settings (named by "" or this node's id):
 * sluice changes none of them while it runs, so every key is refused with
 * INVALID_REQUEST in Kafka's words for a key that cannot change. */
int16_t config_resource_broker_alter(struct request *req, struct kstr name, const struct kstr *keys,
				     size_t count, char *msg, size_t msglen);

/* A topic resource: the topic, or NULL with UNKNOWN_TOPIC_OR_PARTITION in
 * *err and Kafka's message. */
struct topic *config_resource_topic(struct request *req, struct kstr name, int16_t *err, char *msg,
				    size_t msglen);

/* Any other resource type: the error and message Kafka answers with. */
int16_t config_resource_unsupported(int8_t type, char *msg, size_t msglen);

#endif

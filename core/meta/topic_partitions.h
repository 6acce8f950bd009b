/* Raising a topic's partition count (CreatePartitions), with Kafka's rules.
 *
 * A published topic's fields are fixed (metadata_image.h), so growing one
 * builds a new topic object: the existing partitions keep their logs and
 * shards, the new ones are placed over the io shards as creation places
 * them and their logs are opened on their owning shards. Only then is the
 * topic recorded again in the metadata store (a crash before leaves the old
 * record and empty directories past its count, which the broker keeps and
 * the next growth of the topic removes before it opens its logs), it
 * replaces the old object in the registry and a new image is published. The
 * old object is retired once every shard has moved past the images that had
 * it: each owner moves its partitions' waiting fetches and log hooks to the
 * new object first. */
#ifndef SLUICE_CORE_META_TOPIC_PARTITIONS_H
#define SLUICE_CORE_META_TOPIC_PARTITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta/topic_registry.h"

struct runtime;

enum {
	/* Kafka's bound on partitions one request may add to one topic. */
	TOPIC_PARTITIONS_ADDED_MAX = 10000,
	TOPIC_GROWTH_MESSAGE_BYTES = 256,
};

/* Whether t may grow to `count` partitions: Kafka's error code and message
 * (INVALID_PARTITIONS for a count not above the current one, POLICY_VIOLATION
 * beyond TOPIC_PARTITIONS_ADDED_MAX more, INVALID_PARTITIONS beyond
 * TOPIC_PARTITIONS_MAX in all). */
int16_t topic_partitions_check(const struct topic *t, int32_t count, char *msg, size_t msglen);

/* Called on the control shard when the growth is answered: its error code
 * and message (empty on success). */
typedef void (*topic_growth_done_fn)(void *ctx, int16_t error, const char *msg);

/* A request waiting for the growth of its topic in flight to end. */
struct topic_growth_waiter {
	struct topic_growth_waiter *next;
	void (*ready)(struct topic_growth_waiter *w);
};

/* Control shard: whether t has a growth in flight, and waiting for it: once
 * that growth was answered (the registry then holds the grown topic, or t
 * still), w->ready runs. Kafka's controller applies one change after the
 * other: a request for a topic being grown is checked once it has grown. */
bool topic_partitions_busy(struct runtime *rt, const struct topic *t);
void topic_partitions_wait(struct runtime *rt, const struct topic *t,
			   struct topic_growth_waiter *w);

/* Control shard: grows t, which is not busy, to `count` partitions (checked
 * first with topic_partitions_check). Returns NONE and calls done once
 * (possibly before returning), or an error code with a message without
 * calling done. A growth that
 * fails on the way (KAFKA_STORAGE_ERROR; the topic deleted meanwhile:
 * UNKNOWN_TOPIC_OR_PARTITION) leaves neither a record nor new files. */
int16_t topic_partitions_grow(struct runtime *rt, struct topic *t, int32_t count,
			      topic_growth_done_fn done, void *ctx, char *msg, size_t msglen);

#endif

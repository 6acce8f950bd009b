/* The coordinators' state topics (__consumer_offsets, __transaction_state):
 * created on first use as Kafka creates them, compacted, with their own
 * partition count and segment size, records kept in the producer's
 * compression. */
#ifndef SLUICE_CORE_META_INTERNAL_TOPICS_H
#define SLUICE_CORE_META_INTERNAL_TOPICS_H

#include <stdint.h>

struct runtime;
struct topic;

/* The topic `name`, created when missing. NULL (logged under `component`)
 * when it cannot be. */
struct topic *internal_topic_get(struct runtime *rt, const char *name, uint32_t partitions,
				 uint64_t segment_bytes, const char *component);

#endif

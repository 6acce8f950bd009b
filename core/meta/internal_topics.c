/* The coordinators' state topics, created on first use (internal_topics.h). */
#include "core/meta/internal_topics.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/meta/topics.h"
#include "core/slog.h"
#include "proto/kafka_errors.h"

struct topic *internal_topic_get(struct runtime *rt, const char *name, uint32_t partitions,
				 uint64_t segment_bytes, const char *component)
{
	struct kstr topic_name = kstr_from_cstr(name);
	struct topic *t = topics_find(topics_registry(rt), topic_name);
	if (t)
		return t;
	char segment[32];
	snprintf(segment, sizeof(segment), "%" PRIu64, segment_bytes);
	struct kstr keys[] = { kstr_from_cstr("cleanup.policy"), kstr_from_cstr("segment.bytes"),
			       kstr_from_cstr("compression.type") };
	struct kstr values[] = { kstr_from_cstr("compact"), kstr_from_cstr(segment),
				 kstr_from_cstr("producer") };
	struct topic_create_args a = {
		.name = topic_name,
		.partitions = (int32_t)partitions,
		.replication_factor = 1,
		.config_count = sizeof(keys) / sizeof(keys[0]),
		.config_keys = keys,
		.config_values = values,
	};
	char msg[256];
	int16_t err = topics_create(rt, &a, &t, NULL, msg, sizeof(msg));
	if (err != KERR_NONE) {
		slog_error(component, "cannot create %s: %s (error %d)", name, msg, err);
		return NULL;
	}
	return t;
}

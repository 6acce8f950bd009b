/* What the groups commands share between groups.c (list, describe, delete)
 * and groups_reset.c (reset-offsets). */
#ifndef SLUICE_ADMIN_GROUPS_H
#define SLUICE_ADMIN_GROUPS_H

#include "admin.h"

/* DescribeConsumerGroups of one group; the event owns *out. NULL (printed)
 * when the request or the group failed. */
rd_kafka_event_t *groups_describe_one(struct admin_ctx *ctx, const char *group,
				      const rd_kafka_ConsumerGroupDescription_t **out);
/* The group's committed offsets (all its partitions); NULL (printed) when
 * failed. The caller destroys the list. */
rd_kafka_topic_partition_list_t *groups_committed(struct admin_ctx *ctx, const char *group);

int groups_reset_check(struct admin_ctx *ctx);
int groups_reset_offsets(struct admin_ctx *ctx);
extern const struct arg_spec groups_reset_specs[];

#endif

/* Read-only answers about one partition log for the describe APIs, on its
 * owning shard: its size (DescribeLogDirs) and the end offset of a leader
 * epoch (OffsetForLeaderEpoch); see partition_log.h. */
#include "core/log/log_internal.h"

uint64_t partition_log_size_bytes(const struct partition_log *l)
{
	return l->closed_bytes + l->segs[l->nsegs - 1].visible_size;
}

void partition_log_epoch_end_offset(const struct partition_log *l, int32_t epoch,
				    int32_t *found_epoch, int64_t *end_offset)
{
	*found_epoch = PARTITION_LOG_NO_EPOCH;
	*end_offset = PARTITION_LOG_NO_EPOCH_OFFSET;
	if (epoch == PARTITION_LOG_NO_EPOCH || epoch > PARTITION_LOG_LEADER_EPOCH)
		return;
	*found_epoch = epoch;
	*end_offset = epoch == PARTITION_LOG_LEADER_EPOCH ? l->end_offset : l->log_start;
}

/* Each io shard's part of topic storage (SHARD_SLOT_TOPICS): the logs of
 * deleted partitions whose writes are still in flight, the shard's flush
 * scheduler, its retention timer and the log cleaner of its compacted
 * partitions; the topics service's hooks on the shard's loop. */
#ifndef SLUICE_CORE_META_TOPICS_SHARD_H
#define SLUICE_CORE_META_TOPICS_SHARD_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/log/cold_read.h"
#include "core/log/log_flush.h"
#include "core/shard/shard.h"

struct runtime;
struct broker_config;
struct log_grave;
struct log_cleaner;

struct topics_shard {
	struct shard *shard;
	struct log_grave *graveyard;
	struct io_timer reaper_timer;
	struct log_flush_shard flush;   /* the shard's flush scheduler and counters */
	struct io_timer retention_timer; /* every log.retention.check.interval.ms */
	struct log_cleaner *cleaner;
	struct cold_reads cold;         /* fetches' reads of what is not in memory */
	/* Shard 0's: how many shards are cleaning (log.cleaner.threads). */
	_Atomic uint32_t cleaning;
};

static inline struct topics_shard *topics_shard_of(const struct shard *s)
{
	return s->slots[SHARD_SLOT_TOPICS];
}

/* The topics' shard hooks: the control shard checks the log dir's free
 * space (log_space.h); when the broker stops, the fetches long-polling on an
 * io shard's partitions answer. */
extern const struct shard_service topics_shard_service;

/* Every io shard's part, before the logs open; the cleaners take the
 * settings in force (broker_dynamic_effective). */
int topics_shards_create(struct runtime *rt);

/* Control shard: every io shard's cleaner takes b's settings, by message
 * on its own thread (log_cleaner_reconfigure). -1 when out of memory. */
int topics_cleaners_reconfigure(struct runtime *rt, const struct broker_config *b);

#endif

/* The group coordinator's replay of its __consumer_offsets partitions at
 * start, before the listener opens. */
#ifndef SLUICE_CORE_GROUP_GROUP_LOAD_H
#define SLUICE_CORE_GROUP_GROUP_LOAD_H

#include "core/group/group.h"

struct runtime;
struct group_coordinator;

/* Replays every partition of the topic (when it exists) into the table:
 * offsets, then the last group metadata of each group. Offsets of a
 * transactional batch wait for their producer's marker (group_txn.h); those
 * whose marker is not in the log stay pending. Malformed records are logged
 * with partition and offset and skipped. Returns 0, or -1 when a
 * partition cannot be read. */
int group_load(struct runtime *rt, struct group_coordinator *gc, struct group_table *t);

#endif

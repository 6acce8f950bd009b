/* A consumer-protocol group's changes as __consumer_offsets records: the
 * keys and values (Kafka 4.4's formats, proto/consumer_group_records.h) of
 * what a heartbeat listed (cgroup_heartbeat.h), encoded from the group's
 * state, and their append to the group's partition as one batch. */
#ifndef SLUICE_CORE_GROUP_CGROUP_STORE_H
#define SLUICE_CORE_GROUP_CGROUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/group/cgroup.h"
#include "core/group/cgroup_heartbeat.h"
#include "core/group/group_store.h"
#include "proto/record_codec.h"

enum {
	/* What the record forms of one write may take (a group of thousands
	 * of members with all their partitions fits). */
	CGROUP_STORE_ARENA_BYTES = 64u << 20,
};

/* The encoded records: kv[i] for refs[i], their bytes in `bytes`. */
struct cgroup_encoded {
	struct record_kv *kv;
	uint32_t count;
	uint8_t *bytes;
};

/* Encodes the listed records from the group's current state. 0; -1 when out
 * of memory; -2 when a string does not fit the records' int16 lengths or a
 * listed member is gone (logged: our bug). */
int cgroup_records_encode(const struct cgroup *cg, struct kstr group_id,
			  const struct cgroup_records *refs, struct cgroup_encoded *out);
void cgroup_encoded_free(struct cgroup_encoded *e);

/* Encodes and appends the records for group g (whose consumer state is cg);
 * `done` runs once written. An error code, without calling done, when
 * nothing was written (group_store_append_kv's, INVALID_REQUEST for a
 * string too long for the records, COORDINATOR_NOT_AVAILABLE without
 * memory). refs lists at least one record. */
int16_t cgroup_store_append(struct group *g, const struct cgroup *cg,
			    const struct cgroup_records *refs, group_store_done_fn done, void *ctx);

#endif

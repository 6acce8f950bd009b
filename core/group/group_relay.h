/* Requests naming several groups (DescribeGroups, DeleteGroups, OffsetFetch
 * v8+): they start on the control shard, which routes every group (creating
 * __consumer_offsets when needed), and then travel to each shard coordinating
 * one of them, in shard order, each answering its own groups with the
 * request's arena (request_relay: one shard holds the request at a time).
 * Whatever an answer takes from a group is copied into the arena, since the
 * response is encoded on the last shard visited. */
#ifndef SLUICE_CORE_GROUP_GROUP_RELAY_H
#define SLUICE_CORE_GROUP_GROUP_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/cursor.h"

struct request;
struct shard;

enum { GROUP_RELAY_NONE = UINT32_MAX };

struct group_relay {
	uint32_t *owners; /* per group: its coordinating shard, or GROUP_RELAY_NONE */
	int16_t *errors;  /* per group: why it has no owner */
	int32_t count;
};

/* On the control shard. Returns false when out of the request's memory. */
bool group_relay_init(struct group_relay *gr, struct request *req, const struct kstr *ids,
		      int32_t count);
/* Whether group i is coordinated by the shard the request is on. */
bool group_relay_mine(const struct group_relay *gr, const struct request *req, int32_t i);
/* The next shard after the request's own (in shard order) coordinating one of
 * the groups, or GROUP_RELAY_NONE when this is the last. */
uint32_t group_relay_next(const struct group_relay *gr, const struct request *req);

#endif

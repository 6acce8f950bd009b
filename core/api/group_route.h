/* A group API's request travels to the shard coordinating its group: one
 * group's request is forwarded there (group_route_here), and a request naming
 * several groups is relayed across their shards (struct group_relay).
 *
 * Requests naming several groups (DescribeGroups, DeleteGroups, OffsetFetch
 * v8+): they start on the control shard, which routes every group (creating
 * __consumer_offsets when needed), and then travel to each shard coordinating
 * one of them, in shard order, each answering its own groups with the
 * request's arena (request_relay: one shard holds the request at a time).
 * Whatever an answer takes from a group is copied into the arena, since the
 * response is encoded on the last shard visited. */
#ifndef SLUICE_CORE_API_GROUP_ROUTE_H
#define SLUICE_CORE_API_GROUP_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/net/conn.h"
#include "proto/cursor.h"

struct group_coordinator;
struct request;
struct shard;

/* For a handler of one group: true when gc (possibly NULL) may be used here;
 * otherwise the request has been sent to gc's shard to run anew there. */
bool group_route_here(struct request *req, const struct group_coordinator *gc);

enum { GROUP_CLIENT_HOST_BYTES = CONN_PEER_NAME_BYTES + 2 };

/* A member's client host as Kafka reports it (Java's
 * InetAddress.toString): "/address". */
void group_client_host(const struct conn *c, char *out, size_t cap);

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

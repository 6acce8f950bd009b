/* A shard: one thread, one reactor, the connections and partitions it owns.
 *
 * This broker runs one shard; every piece of data-path state lives
 * here and not in globals, so that more shards only add mailboxes between
 * them. */
#ifndef SLUICE_CORE_SHARD_H
#define SLUICE_CORE_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/metrics.h"
#include "io/reactor.h"

struct broker;
struct conn;
struct group_coordinator;

struct shard {
	uint32_t id;
	struct broker *broker;
	struct reactor *reactor;

	int listen_fd;
	struct io_op accept_op;
	struct io_op listen_cancel_op;
	bool accept_armed;

	struct conn *conns;
	uint32_t conn_count;
	uint64_t next_conn_id;

	/* Back-pressure: bytes of requests received and not yet freed. */
	uint64_t request_bytes_in_flight;
	uint64_t request_bytes_max;
	struct conn *paused_head;

	struct group_coordinator *groups; /* groups whose __consumer_offsets partition is ours */
	struct io_timer housekeeping_timer;
	struct shard_metrics metrics;
	bool stopping;
};

/* Request bytes accounting; resuming paused connections when under budget. */
void shard_request_bytes_add(struct shard *s, uint64_t n);
void shard_request_bytes_sub(struct shard *s, uint64_t n);
bool shard_over_budget(const struct shard *s);
void shard_pause_conn(struct shard *s, struct conn *c);

int shard_start_listener(struct shard *s, char *err, size_t errlen);
void shard_run(struct shard *s);

#endif

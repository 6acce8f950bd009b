/* The transaction coordinators' figures for the metrics endpoint: open
 * transactions, their ends (commits, aborts, aborts by timeout), producers
 * fenced by an epoch bump, and transactional ids expired; one sample per io
 * shard, read with relaxed loads of the coordinators' single-writer
 * counters. */
#include <stddef.h>

#include "core/net/metrics.h"
#include "core/net/metrics_out.h"
#include "core/shard/shard.h"
#include "core/txn/txn_coordinator.h"

static void metrics_txn_one(struct metrics_out *o, struct runtime *rt, const char *name,
			    const char *type, const char *help, size_t field_offset)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (uint32_t i = 0; i < rt->io_shards; i++) {
		struct txn_coordinator *tc = txn_coordinator_of(&rt->shards[i]);
		if (!tc)
			continue;
		uint64_t v = SHARD_COUNTER_READ(*(uint64_t *)((char *)tc + field_offset));
		metrics_printf(o, "%s{shard=\"%u\"} %llu\n", name, i, (unsigned long long)v);
	}
}

#define METRICS_TXN(o, rt, name, type, field, help) \
	metrics_txn_one(o, rt, name, type, help, offsetof(struct txn_coordinator, field))

void metrics_txn_render(struct metrics_out *o, struct runtime *rt)
{
	METRICS_TXN(o, rt, "sluice_transactions_ongoing", "gauge", ongoing,
		    "Transactions open or ending (their markers not yet all written).");
	METRICS_TXN(o, rt, "sluice_transactions_committed_total", "counter", committed,
		    "Transactions committed (CompleteCommit written).");
	METRICS_TXN(o, rt, "sluice_transactions_aborted_total", "counter", aborted,
		    "Transactions aborted (CompleteAbort written), by their producer or the coordinator.");
	METRICS_TXN(o, rt, "sluice_transactions_aborted_by_timeout_total", "counter",
		    aborted_by_timeout, "Transactions the coordinator aborted for outliving their timeout.");
	METRICS_TXN(o, rt, "sluice_transaction_producers_fenced_total", "counter", fenced,
		    "Epoch bumps of a transactional id that fenced its older producer.");
	METRICS_TXN(o, rt, "sluice_transactional_ids_expired_total", "counter", ids_expired,
		    "Transactional ids forgotten after transactional.id.expiration.ms without a transaction.");
}

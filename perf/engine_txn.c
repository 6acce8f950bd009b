/* The rdkafka engine's transactional produce: librdkafka's transactional
 * producer (init_transactions once, then begin, --txn-records sends, commit,
 * again and again), counting only committed records. Two latencies per
 * transaction: commit latency, from its begin to commit_transaction returned
 * (the records' delivery and the commit), and the EndTxn alone, the
 * commit_transaction call made once the records are delivered, when only the
 * coordinator's EndTxn is left to do. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "perf.h"
#include "rdkafka_client.h"
#include "run.h"

enum {
	PERF_TXN_CALL_MS = 60000,   /* bound on each transactional call and flush */
};

/* What the current transaction has delivered: counted once it commits. */
struct txn_pending {
	uint64_t messages;
	uint64_t bytes;
	uint64_t failed;
};

static void on_txn_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct txn_pending *p = opaque;
	if (m->err) {
		p->failed++;
		return;
	}
	p->messages++;
	p->bytes += m->len;
}

/* Whether a transactional call succeeded; logs and frees its error. */
static bool txn_ok(rd_kafka_error_t *e, const char *what, bool *abortable)
{
	if (!e)
		return true;
	fprintf(stderr, "sluice-perf: %s: %s\n", what, rd_kafka_error_string(e));
	if (abortable)
		*abortable = rd_kafka_error_txn_requires_abort(e);
	rd_kafka_error_destroy(e);
	return false;
}

/* Queues n records of the current transaction; false when the client refuses one. */
static bool txn_send(rd_kafka_t *rk, const struct perf_args *a, const char *payload, long n)
{
	for (long i = 0; i < n && !perf_stop;) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_VALUE((void *)payload, (size_t)a->size),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			rd_kafka_poll(rk, 1);
			continue;
		}
		if (e) {
			fprintf(stderr, "sluice-perf: produce: %s\n", rd_kafka_err2str(e));
			return false;
		}
		i++;
		rd_kafka_poll(rk, 0);
	}
	return true;
}

/* One transaction: true when it committed (its latencies recorded). */
static bool txn_once(rd_kafka_t *rk, const struct perf_args *a, const char *payload,
		     struct txn_pending *p, bool *fatal)
{
	bool abortable = true;
	*p = (struct txn_pending){ 0 };
	uint64_t begun = perf_now_ns();
	if (!txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction", NULL)) {
		*fatal = true;
		return false;
	}
	bool sent = txn_send(rk, a, payload, a->txn_records);
	rd_kafka_flush(rk, PERF_TXN_CALL_MS);
	uint64_t delivered = perf_now_ns();
	if (sent && !p->failed && txn_ok(rd_kafka_commit_transaction(rk, PERF_TXN_CALL_MS),
					 "commit_transaction", &abortable)) {
		uint64_t committed = perf_now_ns();
		histogram_record(&perf_stats.latency_us, (committed - begun) / 1000);
		histogram_record(&perf_stats.second_us, (committed - delivered) / 1000);
		return true;
	}
	*fatal = !abortable ||
		 !txn_ok(rd_kafka_abort_transaction(rk, PERF_TXN_CALL_MS), "abort_transaction", NULL);
	return false;
}

int perf_rdkafka_txn_produce(const struct perf_args *a)
{
	struct txn_pending pending = { 0 };
	rd_kafka_conf_t *conf = perf_producer_conf(a);
	perf_conf_set(conf, "enable.idempotence", "true");
	perf_conf_set(conf, "transactional.id", a->transactional_id);
	rd_kafka_conf_set_opaque(conf, &pending);
	rd_kafka_conf_set_dr_msg_cb(conf, on_txn_delivery);
	rd_kafka_t *rk = perf_client_new(RD_KAFKA_PRODUCER, conf);
	if (!rk)
		return 1;
	if (a->partitions)
		perf_create_topic(rk, a);
	if (!txn_ok(rd_kafka_init_transactions(rk, PERF_TXN_CALL_MS), "init_transactions", NULL)) {
		rd_kafka_destroy(rk);
		return 1;
	}
	perf_stats.latency_what = "commit: begin -> commit_transaction returned";
	perf_stats.second_what = "EndTxn: commit_transaction once the records are delivered";
	char *payload = malloc((size_t)a->size + 1);
	memset(payload, 'p', (size_t)a->size);
	/* One unmeasured transaction first: the producer learns the partition
	 * leaders and connects before the clock starts. */
	bool fatal = false;
	txn_once(rk, a, payload, &pending, &fatal);
	memset(&perf_stats.latency_us, 0, sizeof(perf_stats.latency_us));
	memset(&perf_stats.second_us, 0, sizeof(perf_stats.second_us));
	uint64_t start = perf_now_ns(), last = start;
	while (!fatal && !perf_done(a, perf_stats.messages, start)) {
		if (txn_once(rk, a, payload, &pending, &fatal)) {
			perf_stats.messages += pending.messages;
			perf_stats.bytes += pending.bytes;
			perf_stats.requests++;
		} else {
			perf_stats.errors += (uint64_t)a->txn_records;
		}
		perf_progress(&perf_stats, start, &last);
	}
	perf_stats.seconds = (double)(perf_now_ns() - start) / 1e9;
	free(payload);
	rd_kafka_destroy(rk);
	return 0;
}

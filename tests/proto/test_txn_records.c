/* __transaction_state records in Kafka's format: bytes laid out by hand from
 * TransactionLogKey/TransactionLogValue, read, written back, and refused when
 * truncated or oversized. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto/txn_records.h"

static struct kbytes view(const uint8_t *p, size_t n)
{
	return (struct kbytes){ p, (int32_t)n };
}

struct seen {
	int count;
	char topics[4][16];
	int32_t partitions[4];
};

static bool collect(void *ctx, struct kstr topic, int32_t partition)
{
	struct seen *s = ctx;
	if (s->count >= 4 || topic.len >= 16)
		return false;
	memcpy(s->topics[s->count], topic.ptr, (size_t)topic.len);
	s->topics[s->count][topic.len] = 0;
	s->partitions[s->count++] = partition;
	return true;
}

/* Version 0: producer 7 epoch 3, timeout 60000, Ongoing, topic "t" with
 * partitions 0 and 2, last update 1000, start 900. */
static const uint8_t value_v0[] = {
	0, 0,                         /* version */
	0, 0, 0, 0, 0, 0, 0, 7,       /* producer id */
	0, 3,                         /* epoch */
	0, 0, 0xea, 0x60,             /* timeout */
	1,                            /* Ongoing */
	0, 0, 0, 1,                   /* one topic */
	0, 1, 't',
	0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2,
	0, 0, 0, 0, 0, 0, 0x03, 0xe8, /* last update */
	0, 0, 0, 0, 0, 0, 0x03, 0x84, /* start */
};

/* Version 1, the same transaction committed: compact forms, and the tags
 * PreviousProducerId 5, NextProducerId 9, ClientTransactionVersion 2, plus
 * an unknown tag 7 that is skipped. */
static const uint8_t value_v1[] = {
	0, 1,
	0, 0, 0, 0, 0, 0, 0, 7,
	0, 3,
	0, 0, 0xea, 0x60,
	4,                            /* CompleteCommit */
	2,                            /* one topic */
	2, 't',
	3, 0, 0, 0, 0, 0, 0, 0, 2,
	0,                            /* the topic's tags */
	0, 0, 0, 0, 0, 0, 0x03, 0xe8,
	0, 0, 0, 0, 0, 0, 0x03, 0x84,
	4,
	0, 8, 0, 0, 0, 0, 0, 0, 0, 5,
	1, 8, 0, 0, 0, 0, 0, 0, 0, 9,
	2, 2, 0, 2,
	7, 1, 0xaa,
};

static void test_key(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct kstr id = kstr_from_cstr("my-txn");
	size_t n = txn_log_key_size(id);
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	txn_log_key_write(&w, id);
	assert_true(!w.overflow && w.pos == w.end);
	const uint8_t expected[] = { 0, 0, 0, 6, 'm', 'y', '-', 't', 'x', 'n' };
	assert_int_equal(n, sizeof(expected));
	assert_memory_equal(buf, expected, n);
	struct kstr back;
	assert_int_equal(txn_log_key_read(view(buf, n), &back), 0);
	assert_true(kstr_eq(back, id));
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(txn_log_key_read(view(buf, cut), &back), -1);
	buf[1] = 1; /* another key version */
	assert_int_equal(txn_log_key_read(view(buf, n), &back), -1);
}

static void check_common(const struct txn_log_value *v)
{
	assert_int_equal(v->producer_id, 7);
	assert_int_equal(v->producer_epoch, 3);
	assert_int_equal(v->timeout_ms, 60000);
	assert_int_equal(v->topic_count, 1);
	assert_int_equal(v->last_update_ms, 1000);
	assert_int_equal(v->start_ms, 900);
}

static void test_value_v0(void **state)
{
	(void)state;
	struct txn_log_value v;
	struct seen s = { 0 };
	assert_int_equal(txn_log_value_read(view(value_v0, sizeof(value_v0)), &v, collect, &s), 0);
	check_common(&v);
	assert_int_equal(v.version, 0);
	assert_int_equal(v.status, TXN_STATUS_ONGOING);
	assert_int_equal(v.previous_producer_id, -1);
	assert_int_equal(v.next_producer_id, -1);
	assert_int_equal(v.client_transaction_version, 0);
	assert_int_equal(s.count, 2);
	assert_string_equal(s.topics[1], "t");
	assert_int_equal(s.partitions[0], 0);
	assert_int_equal(s.partitions[1], 2);
	for (size_t cut = 0; cut < sizeof(value_v0); cut++)
		assert_int_equal(txn_log_value_read(view(value_v0, cut), &v, NULL, NULL), -1);
}

static void test_value_v1_tags(void **state)
{
	(void)state;
	struct txn_log_value v;
	struct seen s = { 0 };
	assert_int_equal(txn_log_value_read(view(value_v1, sizeof(value_v1)), &v, collect, &s), 0);
	check_common(&v);
	assert_int_equal(v.version, 1);
	assert_int_equal(v.status, TXN_STATUS_COMPLETE_COMMIT);
	assert_int_equal(v.previous_producer_id, 5);
	assert_int_equal(v.next_producer_id, 9);
	assert_int_equal(v.client_transaction_version, 2);
	assert_int_equal(s.count, 2);
	for (size_t cut = 0; cut < sizeof(value_v1); cut++)
		assert_int_equal(txn_log_value_read(view(value_v1, cut), &v, NULL, NULL), -1);
}

static void test_value_written_as_kafka_lays_it_out(void **state)
{
	(void)state;
	const int32_t parts[] = { 0, 2 };
	struct txn_log_topic t = { kstr_from_cstr("t"), 2, parts };
	struct txn_log_value v = { .version = 0, .producer_id = 7, .previous_producer_id = -1,
				   .next_producer_id = -1, .producer_epoch = 3, .timeout_ms = 60000,
				   .status = TXN_STATUS_ONGOING, .topic_count = 1, .topics = &t,
				   .last_update_ms = 1000, .start_ms = 900 };
	uint8_t buf[128];
	size_t n = txn_log_value_size(&v);
	struct wcursor w;
	wc_init(&w, buf, n, NULL, 0);
	txn_log_value_write(&w, &v);
	assert_true(!w.overflow && w.pos == w.end);
	assert_int_equal(n, sizeof(value_v0));
	assert_memory_equal(buf, value_v0, n);

	v.version = 1;
	v.status = TXN_STATUS_COMPLETE_COMMIT;
	v.previous_producer_id = 5;
	v.next_producer_id = 9;
	v.client_transaction_version = 2;
	n = txn_log_value_size(&v);
	wc_init(&w, buf, n, NULL, 0);
	txn_log_value_write(&w, &v);
	assert_true(!w.overflow && w.pos == w.end);
	/* What Kafka writes, without the unknown tag of the test's input. */
	assert_int_equal(n, sizeof(value_v1) - 3);
	assert_int_equal(buf[46], 3); /* three tags */
	buf[46] = 4;
	assert_memory_equal(buf, value_v1, n);
}

static void test_value_refused(void **state)
{
	(void)state;
	struct txn_log_value v;
	uint8_t bad[sizeof(value_v0)];
	memcpy(bad, value_v0, sizeof(bad));
	bad[1] = 2; /* unknown version */
	assert_int_equal(txn_log_value_read(view(bad, sizeof(bad)), &v, NULL, NULL), -1);
	memcpy(bad, value_v0, sizeof(bad));
	bad[16] = 8; /* unknown status */
	assert_int_equal(txn_log_value_read(view(bad, sizeof(bad)), &v, NULL, NULL), -1);
	memcpy(bad, value_v0, sizeof(bad));
	bad[17] = 0x7f; /* a topic count far beyond the bytes */
	assert_int_equal(txn_log_value_read(view(bad, sizeof(bad)), &v, NULL, NULL), -1);
	memcpy(bad, value_v0, sizeof(bad));
	bad[27] = 0x7f; /* a partition count beyond the bytes */
	assert_int_equal(txn_log_value_read(view(bad, sizeof(bad)), &v, NULL, NULL), -1);
	/* Null partitions (an Empty transaction) read as no topics. */
	const uint8_t empty[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 1, 0,
				  0xff, 0xff, 0xff, 0xff,
				  0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_int_equal(txn_log_value_read(view(empty, sizeof(empty)), &v, NULL, NULL), 0);
	assert_int_equal(v.topic_count, -1);
	/* A known tag of the wrong size. */
	uint8_t tag[sizeof(value_v1)];
	memcpy(tag, value_v1, sizeof(tag));
	tag[48] = 7;
	assert_int_equal(txn_log_value_read(view(tag, sizeof(tag)), &v, NULL, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_value_v0),
		cmocka_unit_test(test_value_v1_tags),
		cmocka_unit_test(test_value_written_as_kafka_lays_it_out),
		cmocka_unit_test(test_value_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

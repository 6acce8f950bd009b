/* Transactional ids' table and state: lookup, growth, removal while a
 * write is in flight, partition sets, transits, and Kafka's state names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/txn/txn_state.h"

static void test_table_find_add_remove(void **state)
{
	(void)state;
	struct txn_table t;
	assert_int_equal(txn_table_init(&t), 0);
	char id[32];
	enum { IDS = 1000 };
	for (int i = 0; i < IDS; i++) {
		snprintf(id, sizeof(id), "txn-%d", i);
		struct txn_meta *m = txn_table_add(&t, kstr_from_cstr(id), i % 50);
		assert_non_null(m);
		assert_int_equal(m->cur.state, TXN_STATUS_EMPTY);
		assert_int_equal(m->cur.producer_id, TXN_NO_PRODUCER_ID);
		assert_int_equal(m->cur.start_ms, -1);
	}
	assert_int_equal(t.count, IDS);
	for (int i = 0; i < IDS; i++) {
		snprintf(id, sizeof(id), "txn-%d", i);
		struct txn_meta *m = txn_table_find(&t, kstr_from_cstr(id));
		assert_non_null(m);
		assert_true(kstr_eq_cstr(m->id, id));
		assert_int_equal(m->state_partition, i % 50);
	}
	assert_null(txn_table_find(&t, kstr_from_cstr("txn-")));
	txn_table_remove(&t, txn_table_find(&t, kstr_from_cstr("txn-7")));
	assert_null(txn_table_find(&t, kstr_from_cstr("txn-7")));
	assert_non_null(txn_table_find(&t, kstr_from_cstr("txn-8")));
	assert_int_equal(t.count, IDS - 1);
	txn_table_free(&t);
}

/* Transactional ids are Kafka strings: a NUL is one of their bytes, and ids
 * that differ after it are two ids. */
static void test_ids_with_nul_are_distinct(void **state)
{
	(void)state;
	struct txn_table t;
	assert_int_equal(txn_table_init(&t), 0);
	struct kstr a = { "tx\0a", 4 }, z = { "tx\0z", 4 }, prefix = { "tx", 2 };
	struct txn_meta *ma = txn_table_add(&t, a, 1);
	assert_non_null(ma);
	assert_null(txn_table_find(&t, z));
	assert_null(txn_table_find(&t, prefix));
	struct txn_meta *mz = txn_table_add(&t, z, 2);
	assert_non_null(mz);
	assert_ptr_equal(txn_table_find(&t, a), ma);
	assert_ptr_equal(txn_table_find(&t, z), mz);
	assert_int_equal(ma->id.len, 4);
	assert_memory_equal(ma->id.ptr, "tx\0a", 4);
	txn_table_free(&t);
}

static void test_partitions_and_transit(void **state)
{
	(void)state;
	struct txn_table t;
	assert_int_equal(txn_table_init(&t), 0);
	struct txn_meta *m = txn_table_add(&t, kstr_from_cstr("a"), 0);
	struct txn_transit tr;
	assert_true(txn_transit_from(&tr, m, true));
	assert_true(txn_partitions_add(&tr.partitions, kstr_from_cstr("orders"), 1));
	assert_true(txn_partitions_add(&tr.partitions, kstr_from_cstr("orders"), 1));
	assert_true(txn_partitions_add(&tr.partitions, kstr_from_cstr("orders"), 0));
	assert_true(txn_partitions_add(&tr.partitions, kstr_from_cstr("audit"), 1));
	assert_int_equal(tr.partitions.count, 3);
	tr.state = TXN_STATUS_ONGOING;
	txn_state_apply(m, &tr);
	assert_int_equal(tr.partitions.count, 0);
	assert_true(txn_partitions_has(&m->cur.partitions, kstr_from_cstr("orders"), 0));
	assert_false(txn_partitions_has(&m->cur.partitions, kstr_from_cstr("audit"), 0));
	/* A transit that drops the partitions leaves the current ones alone
	 * until applied. */
	assert_true(txn_transit_from(&tr, m, false));
	assert_int_equal(tr.partitions.count, 0);
	assert_int_equal(m->cur.partitions.count, 3);
	txn_partitions_free(&tr.partitions);
	assert_true(txn_transit_from(&tr, m, true));
	assert_int_equal(tr.partitions.count, 3);
	assert_ptr_not_equal(tr.partitions.items[0].topic.ptr, m->cur.partitions.items[0].topic.ptr);
	txn_partitions_free(&tr.partitions);
	txn_table_free(&t);
}

static void test_state_names(void **state)
{
	(void)state;
	const char *names[] = { "Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
				"CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence" };
	for (int s = 0; s < TXN_STATUS_COUNT; s++) {
		assert_string_equal(txn_state_name((enum txn_status)s), names[s]);
		assert_int_equal(txn_state_parse(kstr_from_cstr(names[s])), s);
	}
	assert_int_equal(txn_state_parse(kstr_from_cstr("ongoing")), -1);
	assert_true(txn_state_preparing(TXN_STATUS_PREPARE_ABORT));
	assert_false(txn_state_preparing(TXN_STATUS_ONGOING));
	assert_true(txn_state_has_partitions(TXN_STATUS_ONGOING));
	assert_false(txn_state_has_partitions(TXN_STATUS_COMPLETE_COMMIT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_find_add_remove),
		cmocka_unit_test(test_ids_with_nul_are_distinct),
		cmocka_unit_test(test_partitions_and_transit),
		cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

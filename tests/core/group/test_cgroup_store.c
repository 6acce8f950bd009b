/* Consumer-protocol groups' records (core/group/cgroup_store.c): what a
 * join, a revocation and a leave list is encoded from the group's state in
 * Kafka 4.4's formats, and reads back (proto/consumer_group_records.c) as
 * that state: the group and assignment epochs, the member's subscription,
 * its target, and its current assignment with each partition's assignment
 * epoch; a leave's records are tombstones but the group's. */
#include "cgroup_hb_fixture.h"

#include "core/group/cgroup_hash.h"
#include "core/group/cgroup_store.h"
#include "proto/arena.h"

enum { ARENA_BYTES = 1 << 20 };

struct readback {
	struct arena ar;
	struct cg_record_key key;
	struct cg_record_value value;
	enum cg_record_result r;
};

static void read_record(const struct cgroup_encoded *e, uint32_t i, struct readback *rb)
{
	const char *why = NULL;
	assert_int_equal(cg_record_key_read(e->kv[i].key, &rb->key, &why), CG_RECORD_OK);
	assert_true(kstr_eq(rb->key.group_id, GROUP));
	rb->r = cg_record_value_read(rb->key.type, e->kv[i].value, &rb->ar, &rb->value, &why);
	assert_true(rb->r == CG_RECORD_OK || rb->r == CG_RECORD_TOMBSTONE);
}

static void test_join_records_read_back(void **state)
{
	struct fx *x = *state;
	struct cgroup_heartbeat_args a = join_args(S("A"), T12, 2, &x->owned);
	a.server_assignor = S("range");
	a.rack_id = S("r1");
	run(x, &a);
	assert_int_equal(x->r.error, KERR_NONE);
	struct cgroup_encoded e;
	assert_int_equal(cgroup_records_encode(&x->cg, GROUP, &x->r.records, &e), 0);
	assert_int_equal(e.count, 5);
	struct readback rb;
	arena_init(&rb.ar, ARENA_BYTES);

	read_record(&e, 0, &rb);
	assert_int_equal(rb.key.type, CG_RECORD_MEMBER_METADATA);
	assert_true(kstr_eq(rb.key.member_id, S("A")));
	const struct cg_member_value *mv = &rb.value.member;
	assert_int_equal(mv->topic_count, 2);
	assert_true(kstr_eq(mv->subscribed_topic_names[1], S("t2")));
	assert_true(kstr_eq(mv->server_assignor, S("range")));
	assert_true(kstr_eq(mv->rack_id, S("r1")));
	assert_true(mv->instance_id.len < 0);
	assert_int_equal(mv->rebalance_timeout_ms, 30000);
	assert_true(kstr_eq(mv->client_id, S("client")));
	assert_true(kstr_eq(mv->subscribed_topic_regex, S("")));
	assert_false(mv->classic);

	read_record(&e, 1, &rb);
	assert_int_equal(rb.key.type, CG_RECORD_METADATA);
	assert_int_equal(rb.value.metadata.epoch, 1);
	assert_int_equal(rb.value.metadata.metadata_hash, x->cg.metadata_hash);
	/* Kafka's hash of t1 (6 partitions) and t2 (4), no racks. */
	const struct kstr names[] = { S("t2"), S("t1") };
	const int64_t topic_hashes[] = { cgroup_topic_hash(cf_topic(2), S("t2"), 4, NULL),
					 cgroup_topic_hash(cf_topic(1), S("t1"), 6, NULL) };
	assert_int_equal(x->cg.metadata_hash, cgroup_group_hash(names, topic_hashes, 2));
	assert_true(x->cg.metadata_hash != 0);

	read_record(&e, 2, &rb);
	assert_int_equal(rb.key.type, CG_RECORD_TARGET_ASSIGNMENT_MEMBER);
	struct cg_assignment back;
	cg_assignment_init(&back);
	bool mismatch = false;
	const char *why = NULL;
	assert_int_equal(cg_assignment_from_records(&back, rb.value.target_member.topics,
						    rb.value.target_member.topic_count, CG_EPOCH_NONE,
						    &mismatch, &why), CG_LOAD_OK);
	assert_int_equal(cg_assignment_count(&back), 10);
	assert_true(cg_assignment_same_partitions(&back, &x->r.member->target));

	read_record(&e, 3, &rb);
	assert_int_equal(rb.key.type, CG_RECORD_TARGET_ASSIGNMENT_METADATA);
	assert_int_equal(rb.value.target_metadata.assignment_epoch, 1);
	assert_int_equal(rb.value.target_metadata.assignment_timestamp_ms, 1000);

	read_record(&e, 4, &rb);
	assert_int_equal(rb.key.type, CG_RECORD_CURRENT_MEMBER_ASSIGNMENT);
	struct cg_member_assignment cur;
	cg_member_assignment_init(&cur);
	assert_int_equal(cg_member_assignment_from_record(&cur, &rb.value.current_assignment,
							  &mismatch, &why), CG_LOAD_OK);
	assert_false(mismatch);
	assert_true(cg_member_assignment_equal(&cur, &x->r.member->current));
	assert_int_equal(cur.member_epoch, 1);
	assert_int_equal(cg_assignment_count(&cur.assigned), 10);
	assert_int_equal(cur.assigned.tps[0].epoch, 1);

	cg_member_assignment_free(&cur);
	cg_assignment_free(&back);
	arena_release(&rb.ar);
	cgroup_encoded_free(&e);
}

static void test_leave_records_are_tombstones(void **state)
{
	struct fx *x = *state;
	struct cgroup_heartbeat_args a = join_args(S("A"), T1, 1, &x->owned);
	run(x, &a);
	struct cgroup_heartbeat_args leave = args(S("A"), -1);
	run(x, &leave);
	assert_int_equal(x->r.error, KERR_NONE);
	struct cgroup_encoded e;
	assert_int_equal(cgroup_records_encode(&x->cg, GROUP, &x->r.records, &e), 0);
	assert_int_equal(e.count, 4);
	struct readback rb;
	arena_init(&rb.ar, ARENA_BYTES);
	const int16_t types[] = { CG_RECORD_CURRENT_MEMBER_ASSIGNMENT,
				  CG_RECORD_TARGET_ASSIGNMENT_MEMBER, CG_RECORD_MEMBER_METADATA };
	for (uint32_t i = 0; i < 3; i++) {
		read_record(&e, i, &rb);
		assert_int_equal(rb.key.type, types[i]);
		assert_true(kstr_eq(rb.key.member_id, S("A")));
		assert_int_equal(rb.r, CG_RECORD_TOMBSTONE);
	}
	read_record(&e, 3, &rb);
	assert_int_equal(rb.key.type, CG_RECORD_METADATA);
	assert_int_equal(rb.r, CG_RECORD_OK);
	assert_int_equal(rb.value.metadata.epoch, 2);
	/* Nobody subscribes any more: the hash of no topics. */
	assert_int_equal(rb.value.metadata.metadata_hash, 0);
	arena_release(&rb.ar);
	cgroup_encoded_free(&e);
}

static void test_gone_member_is_refused(void **state)
{
	struct fx *x = *state;
	struct cgroup_records refs = { 0 };
	struct cgroup_heartbeat_args a = join_args(S("A"), T1, 1, &x->owned);
	run(x, &a);
	assert_non_null(x->r.records.refs);
	/* A record for a member the group no longer has is our bug: refused,
	 * not written with made-up values. */
	refs = x->r.records;
	struct cgroup_heartbeat_args leave = args(S("A"), -1);
	struct cgroup_heartbeat_result saved = x->r;
	memset(&x->r, 0, sizeof(x->r));
	run(x, &leave);
	struct cgroup_encoded e;
	assert_int_equal(cgroup_records_encode(&x->cg, GROUP, &refs, &e), -2);
	assert_null(e.kv);
	cgroup_heartbeat_result_free(&saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_records_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave_records_are_tombstones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_member_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

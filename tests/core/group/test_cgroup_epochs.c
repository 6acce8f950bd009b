/* The group's partition epochs (core/group/cgroup_epochs.c): lookups,
 * single ownership refused as a whole on add, remove and member update
 * (Kafka's IllegalStateException cases), and the hash map against a plain
 * array over many random adds and removals (growth, backward-shift
 * deletion). */
#include "cgroup_fixture.h"

#include <stdlib.h>

#include "core/group/cgroup_epochs.h"

static void test_add_get_remove(void **state)
{
	(void)state;
	struct cg_epochs m;
	cg_epochs_init(&m);
	struct cg_assignment a;
	cg_assignment_init(&a);
	char err[160];
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 0, NULL), CG_EPOCHS_FREE);
	cf_set(&a, 1, 0, 0, 1, -1, 2, 0, 7, -1, -1);
	assert_int_equal(cg_epochs_add(&m, 3, 10, &a, err, sizeof(err)), CG_EPOCHS_OK);
	int32_t owner = -1;
	assert_int_equal(cg_epochs_get(&m, cf_topic(2), 7, &owner), 10);
	assert_int_equal(owner, 3);
	assert_int_equal(cg_epochs_get(&m, cf_topic(2), 6, NULL), CG_EPOCHS_FREE);
	assert_int_equal(cg_epochs_count(&m), 3);
	cf_set(&a, 1, 0, 1, -1, -1);
	assert_int_equal(cg_epochs_remove(&m, 3, 10, &a, err, sizeof(err)), CG_EPOCHS_OK);
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 1, NULL), CG_EPOCHS_FREE);
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 0, NULL), 10);
	assert_int_equal(cg_epochs_count(&m), 2);
	cg_assignment_free(&a);
	cg_epochs_free(&m);
}

static void test_second_owner_is_refused(void **state)
{
	(void)state;
	struct cg_epochs m;
	cg_epochs_init(&m);
	struct cg_assignment a;
	cg_assignment_init(&a);
	char err[160] = "";
	cf_set(&a, 1, 0, 2, -1, -1);
	assert_int_equal(cg_epochs_add(&m, 1, 4, &a, err, sizeof(err)), CG_EPOCHS_OK);
	cf_set(&a, 1, 0, 0, 1, 2, 3, -1, -1);
	assert_int_equal(cg_epochs_add(&m, 2, 5, &a, err, sizeof(err)), CG_EPOCHS_CONFLICT);
	assert_non_null(strstr(err, "held by member 1 at epoch 4"));
	/* Nothing of the refused add went in. */
	assert_int_equal(cg_epochs_count(&m), 1);
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 0, NULL), CG_EPOCHS_FREE);
	/* Released only by its holder at its epoch. */
	cf_set(&a, 1, 0, 2, -1, -1);
	assert_int_equal(cg_epochs_remove(&m, 2, 4, &a, err, sizeof(err)), CG_EPOCHS_CONFLICT);
	assert_int_equal(cg_epochs_remove(&m, 1, 5, &a, err, sizeof(err)), CG_EPOCHS_CONFLICT);
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 2, NULL), 4);
	cf_set(&a, 1, 0, 9, -1, -1);
	assert_int_equal(cg_epochs_remove(&m, 1, 4, &a, err, sizeof(err)), CG_EPOCHS_CONFLICT);
	cg_assignment_free(&a);
	cg_epochs_free(&m);
}

static void test_update_member_moves_and_rolls_back(void **state)
{
	(void)state;
	struct cg_epochs m;
	cg_epochs_init(&m);
	struct cg_member_assignment a1, a2, b;
	cg_member_assignment_init(&a1);
	cg_member_assignment_init(&a2);
	cg_member_assignment_init(&b);
	char err[160];
	cf_member(&a1, CG_MEMBER_UNREVOKED_PARTITIONS, 3, 2);
	cf_set(&a1.assigned, 1, 3, 0, -1, -1);
	cf_set(&a1.pending_revocation, 1, 3, 1, -1, -1);
	assert_int_equal(cg_epochs_update_member(&m, 0, NULL, &a1, err, sizeof(err)), CG_EPOCHS_OK);
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 1, NULL), 3);
	/* a revokes 1 and moves to epoch 4. */
	cf_member(&a2, CG_MEMBER_STABLE, 4, 3);
	cf_set(&a2.assigned, 1, 4, 0, -1, -1);
	assert_int_equal(cg_epochs_update_member(&m, 0, &a1, &a2, err, sizeof(err)), CG_EPOCHS_OK);
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 0, NULL), 4);
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 1, NULL), CG_EPOCHS_FREE);
	/* b takes 1, then would also take 0, which a holds: refused, b keeps 1. */
	cf_member(&b, CG_MEMBER_STABLE, 4, 0);
	cf_set(&b.assigned, 1, 4, 1, -1, -1);
	assert_int_equal(cg_epochs_update_member(&m, 1, NULL, &b, err, sizeof(err)), CG_EPOCHS_OK);
	struct cg_member_assignment b2;
	cg_member_assignment_init(&b2);
	cf_member(&b2, CG_MEMBER_STABLE, 5, 4);
	cf_set(&b2.assigned, 1, 5, 0, 1, -1, -1);
	assert_int_equal(cg_epochs_update_member(&m, 1, &b, &b2, err, sizeof(err)),
			 CG_EPOCHS_CONFLICT);
	int32_t owner = -1;
	assert_int_equal(cg_epochs_get(&m, cf_topic(1), 1, &owner), 4);
	assert_int_equal(owner, 1);
	assert_int_equal(cg_epochs_count(&m), 2);
	/* Stale old state (wrong epoch) is refused before anything moves. */
	assert_int_equal(cg_epochs_update_member(&m, 0, &a1, NULL, err, sizeof(err)),
			 CG_EPOCHS_CONFLICT);
	assert_int_equal(cg_epochs_update_member(&m, 0, &a2, NULL, err, sizeof(err)), CG_EPOCHS_OK);
	assert_int_equal(cg_epochs_count(&m), 1);
	cg_member_assignment_free(&a1);
	cg_member_assignment_free(&a2);
	cg_member_assignment_free(&b);
	cg_member_assignment_free(&b2);
	cg_epochs_free(&m);
}

enum { RANDOM_TOPICS = 37, RANDOM_PARTITIONS = 997, RANDOM_STEPS = 200000 };

/* Random adds and removals of single partitions, checked against a plain
 * array of epochs after every step for the touched key and at the end for
 * all keys. */
static void test_against_reference(void **state)
{
	(void)state;
	struct cg_epochs m;
	cg_epochs_init(&m);
	int32_t *ref = malloc(sizeof(int32_t) * RANDOM_TOPICS * RANDOM_PARTITIONS);
	assert_non_null(ref);
	for (int i = 0; i < RANDOM_TOPICS * RANDOM_PARTITIONS; i++)
		ref[i] = CG_EPOCHS_FREE;
	struct cg_assignment one;
	cg_assignment_init(&one);
	char err[160];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int32_t count = 0;
	for (int step = 0; step < RANDOM_STEPS; step++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int t = (int)(x % RANDOM_TOPICS), p = (int)((x >> 20) % RANDOM_PARTITIONS);
		int32_t *r = &ref[t * RANDOM_PARTITIONS + p];
		int32_t epoch = (int32_t)((x >> 40) % 1000);
		cf_set(&one, t, 0, p, -1, -1);
		if (*r == CG_EPOCHS_FREE) {
			assert_int_equal(cg_epochs_add(&m, 7, epoch, &one, err, sizeof(err)), CG_EPOCHS_OK);
			*r = epoch;
			count++;
		} else {
			assert_int_equal(cg_epochs_add(&m, 8, epoch, &one, err, sizeof(err)),
					 CG_EPOCHS_CONFLICT);
			assert_int_equal(cg_epochs_remove(&m, 7, *r, &one, err, sizeof(err)), CG_EPOCHS_OK);
			*r = CG_EPOCHS_FREE;
			count--;
		}
		assert_int_equal(cg_epochs_get(&m, cf_topic(t), p, NULL), *r);
	}
	assert_int_equal(cg_epochs_count(&m), count);
	for (int t = 0; t < RANDOM_TOPICS; t++)
		for (int p = 0; p < RANDOM_PARTITIONS; p++)
			assert_int_equal(cg_epochs_get(&m, cf_topic(t), p, NULL),
					 ref[t * RANDOM_PARTITIONS + p]);
	free(ref);
	cg_assignment_free(&one);
	cg_epochs_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_remove),
		cmocka_unit_test(test_second_owner_is_refused),
		cmocka_unit_test(test_update_member_moves_and_rolls_back),
		cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

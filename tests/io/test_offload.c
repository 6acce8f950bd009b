/* The offload helper: jobs run on the helper thread and their done callbacks
 * on the owner's, from its reactor, in submission order; more jobs than the
 * handoff holds wait on the owner and run in order; done may submit more;
 * destroy waits for jobs in flight; an idle offload leaves the reactor idle.
 * Exits 77 without io_uring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "io/offload.h"

enum { JOBS = 5000, CHAINED = 100 };
static const uint64_t TURN_NS = 100ull * 1000 * 1000;
static const uint64_t DEADLINE_NS = 10ull * 1000 * 1000 * 1000;

struct owner {
	struct reactor *r;
	struct offload *o;
	pthread_t thread;             /* the owner's */
	uint64_t done, out_of_order, done_elsewhere, run_here;
	_Atomic uint64_t ran;
	_Atomic bool gate_open;       /* jobs with `gated` wait for it */
	uint32_t chain_left;
};

struct job {
	struct offload_job job;
	struct owner *w;
	uint64_t seq;
	uint64_t ran_as;              /* the helper's count when this one ran */
	bool gated;
	bool ran_on_owner;
	uint32_t sleep_us;
};

static struct owner *owner_new(void)
{
	struct owner *w = calloc(1, sizeof(*w));
	struct reactor_config rc = { .sq_entries = 64, .timers_max = 4 };
	char err[256];
	w->r = reactor_create(&rc, err, sizeof(err));
	if (!w->r) {
		fprintf(stderr, "skipping: %s\n", err);
		exit(77);
	}
	w->o = offload_create(w->r, NULL, "test-offload", err, sizeof(err));
	assert_non_null(w->o);
	w->thread = pthread_self();
	atomic_init(&w->ran, 0);
	atomic_init(&w->gate_open, true);
	return w;
}

static void owner_free(struct owner *w)
{
	offload_destroy(w->o);
	assert_int_equal(reactor_inflight(w->r), 0);
	reactor_destroy(w->r);
	free(w);
}

static void job_run(struct offload_job *oj)
{
	struct job *j = container_of(oj, struct job, job);
	while (j->gated && !atomic_load(&j->w->gate_open)) {
		struct timespec pause = { 0, 100000 };
		nanosleep(&pause, NULL);
	}
	if (j->sleep_us) {
		struct timespec pause = { 0, (long)j->sleep_us * 1000 };
		nanosleep(&pause, NULL);
	}
	j->ran_on_owner = pthread_equal(pthread_self(), j->w->thread);
	j->ran_as = atomic_fetch_add(&j->w->ran, 1);
}

static void job_done(struct offload_job *oj)
{
	struct job *j = container_of(oj, struct job, job);
	struct owner *w = j->w;
	if (j->seq != w->done || j->ran_as != j->seq)
		w->out_of_order++;
	if (!pthread_equal(pthread_self(), w->thread))
		w->done_elsewhere++;
	w->run_here += j->ran_on_owner;
	w->done++;
}

static void job_init(struct job *j, struct owner *w, uint64_t seq)
{
	*j = (struct job){ .w = w, .seq = seq };
	j->job.run = job_run;
	j->job.done = job_done;
}

static void run_until_done(struct owner *w, uint64_t want)
{
	uint64_t deadline = reactor_now_ns() + DEADLINE_NS;
	while (w->done < want && reactor_now_ns() < deadline)
		reactor_run_once(w->r, TURN_NS);
	assert_int_equal(w->done, want);
}

static void test_jobs_run_off_the_loop_in_order(void **state)
{
	(void)state;
	struct owner *w = owner_new();
	struct job *jobs = calloc(JOBS, sizeof(*jobs));
	for (uint64_t i = 0; i < JOBS; i++) {
		job_init(&jobs[i], w, i);
		offload_submit(w->o, &jobs[i].job);
	}
	assert_int_equal(offload_in_flight(w->o), JOBS);
	run_until_done(w, JOBS);
	assert_int_equal(w->out_of_order, 0);
	assert_int_equal(w->done_elsewhere, 0);
	assert_int_equal(w->run_here, 0);
	assert_int_equal(offload_in_flight(w->o), 0);
	/* Nothing in flight: the reactor is idle, as an owner stopping needs. */
	assert_int_equal(reactor_inflight(w->r), 0);
	owner_free(w);
	free(jobs);
}

static void test_full_handoff_waits_on_the_owner(void **state)
{
	(void)state;
	struct owner *w = owner_new();
	enum { MANY = 2 * OFFLOAD_QUEUE_MAX + 5 };
	struct job jobs[MANY];
	atomic_store(&w->gate_open, false);
	for (uint64_t i = 0; i < MANY; i++) {
		job_init(&jobs[i], w, i);
		jobs[i].gated = true;
		offload_submit(w->o, &jobs[i].job);
	}
	assert_int_equal(offload_in_flight(w->o), MANY);
	assert_int_equal(offload_waiting(w->o), MANY - OFFLOAD_QUEUE_MAX);
	reactor_run_once(w->r, 0);
	assert_int_equal(w->done, 0);
	assert_true(atomic_load(&w->ran) == 0);
	atomic_store(&w->gate_open, true);
	run_until_done(w, MANY);
	assert_int_equal(w->out_of_order, 0);
	assert_int_equal(offload_waiting(w->o), 0);
	owner_free(w);
}

static void chain_done(struct offload_job *oj)
{
	struct job *j = container_of(oj, struct job, job);
	struct owner *w = j->w;
	job_done(oj);
	if (w->chain_left == 0)
		return;
	w->chain_left--;
	job_init(j, w, j->seq + 1);
	j->job.done = chain_done;
	offload_submit(w->o, &j->job);
}

static void test_done_submits_more(void **state)
{
	(void)state;
	struct owner *w = owner_new();
	struct job j;
	job_init(&j, w, 0);
	j.job.done = chain_done;
	w->chain_left = CHAINED;
	offload_submit(w->o, &j.job);
	run_until_done(w, CHAINED + 1);
	assert_int_equal(w->out_of_order, 0);
	owner_free(w);
}

static void test_destroy_waits_for_jobs_in_flight(void **state)
{
	(void)state;
	struct owner *w = owner_new();
	enum { SLOW = 20 };
	struct job jobs[SLOW];
	for (uint64_t i = 0; i < SLOW; i++) {
		job_init(&jobs[i], w, i);
		jobs[i].sleep_us = 5000;
		offload_submit(w->o, &jobs[i].job);
	}
	struct reactor *r = w->r;
	offload_destroy(w->o);
	assert_int_equal(w->done, SLOW);
	assert_int_equal(w->out_of_order, 0);
	assert_int_equal(reactor_inflight(r), 0);
	reactor_destroy(r);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_run_off_the_loop_in_order),
		cmocka_unit_test(test_full_handoff_waits_on_the_owner),
		cmocka_unit_test(test_done_submits_more),
		cmocka_unit_test(test_destroy_waits_for_jobs_in_flight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

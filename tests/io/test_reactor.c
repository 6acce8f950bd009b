/* The reactor: accept, recv/send, sendmsg, file writes, splice, unlink and
 * close, cancel and timers, against real sockets and files; a doorbell into a ring not yet
 * enabled; worker CPUs of a ring enabled by another thread. Exits 77 without io_uring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/reactor.h"

static const uint64_t MS = 1000000;

struct result_op {
	struct io_op op;
	int32_t res;
	uint32_t flags;
	int calls;
};

static void result_done(struct io_op *op, int32_t res, uint32_t flags)
{
	struct result_op *r = container_of(op, struct result_op, op);
	r->res = res;
	r->flags = flags;
	r->calls++;
}

static struct reactor *new_reactor(unsigned sq)
{
	struct reactor_config cfg = { .sq_entries = sq, .timers_max = 64 };
	char err[256];
	struct reactor *r = reactor_create(&cfg, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "skipping: %s\n", err);
		exit(77);
	}
	return r;
}

static void run_until(struct reactor *r, const int *calls, int want)
{
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (*calls < want && reactor_now_ns() < deadline)
		reactor_run_once(r, 50 * MS);
	assert_true(*calls >= want);
}

static int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_loopback(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void test_accept_recv_send(void **state)
{
	(void)state;
	struct reactor *r = new_reactor(64);
	uint16_t port;
	int lfd = listen_loopback(&port);
	struct result_op acc = { .op.done = result_done };
	io_accept_multishot(r, lfd, &acc.op);
	int clients[3];
	for (int i = 0; i < 3; i++)
		clients[i] = connect_loopback(port);
	run_until(r, &acc.calls, 3);
	assert_true(acc.res >= 0);
	assert_true(acc.flags & IO_MORE);
	int server = acc.res;
	assert_int_equal(write(clients[2], "ping", 4), 4);
	char buf[16];
	struct result_op rcv = { .op.done = result_done };
	io_recv(r, server, buf, sizeof(buf), &rcv.op);
	run_until(r, &rcv.calls, 1);
	assert_int_equal(rcv.res, 4);
	assert_memory_equal(buf, "ping", 4);
	struct iovec iov[2] = { { "po", 2 }, { "ng", 2 } };
	struct result_op snd = { .op.done = result_done };
	io_sendmsg(r, server, iov, 2, 0, &snd.op);
	run_until(r, &snd.calls, 1);
	assert_int_equal(snd.res, 4);
	assert_int_equal(read(clients[2], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	struct result_op cancel = { .op.done = result_done };
	io_cancel_fd(r, lfd, &cancel.op);
	run_until(r, &cancel.calls, 1);
	assert_int_equal(cancel.res, 1);
	run_until(r, &acc.calls, 4);
	assert_int_equal(acc.res, -ECANCELED);
	for (int i = 0; i < 3; i++)
		close(clients[i]);
	close(server);
	close(lfd);
	assert_int_equal(reactor_inflight(r), 0);
	reactor_destroy(r);
}

static void test_file_write_and_splice(void **state)
{
	(void)state;
	struct reactor *r = new_reactor(8);
	char path[] = "/tmp/sluice-reactor-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	/* More writes than SQ entries: the reactor must submit to make room. */
	struct result_op w[100];
	char data[100];
	for (int i = 0; i < 100; i++) {
		data[i] = (char)('a' + i % 26);
		w[i] = (struct result_op){ .op.done = result_done };
		io_write(r, fd, &data[i], 1, (uint64_t)i, &w[i].op);
	}
	int done = 0;
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (done < 100 && reactor_now_ns() < deadline) {
		reactor_run_once(r, 10 * MS);
		done = 0;
		for (int i = 0; i < 100; i++)
			done += w[i].calls;
	}
	assert_int_equal(done, 100);
	char back[100];
	assert_int_equal(pread(fd, back, sizeof(back), 0), 100);
	assert_memory_equal(back, data, sizeof(data));

	int sv[2], pipefd[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(pipefd), 0);
	struct result_op in = { .op.done = result_done };
	io_splice(r, fd, 10, pipefd[1], -1, 50, &in.op);
	run_until(r, &in.calls, 1);
	assert_int_equal(in.res, 50);
	struct result_op out = { .op.done = result_done };
	io_splice(r, pipefd[0], -1, sv[0], -1, 50, &out.op);
	run_until(r, &out.calls, 1);
	assert_int_equal(out.res, 50);
	char got[50];
	assert_int_equal(read(sv[1], got, sizeof(got)), 50);
	assert_memory_equal(got, data + 10, 50);
	close(sv[0]);
	close(sv[1]);
	close(pipefd[0]);
	close(pipefd[1]);
	close(fd);
	reactor_destroy(r);
}

/* unlink, close and madvise as ring ops, and io_close_file's two ways: a named
 * file's descriptor is closed at once, an unlinked one's by the ring (it
 * counts in reactor_inflight until the close completes). */
static void test_unlink_and_close(void **state)
{
	(void)state;
	struct reactor *r = new_reactor(8);
	char path[] = "/tmp/sluice-reactor-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct result_op u = { .op.done = result_done };
	io_unlink(r, path, &u.op);
	run_until(r, &u.calls, 1);
	assert_int_equal(u.res, 0);
	assert_int_equal(access(path, F_OK), -1);
	io_unlink(r, path, &u.op);
	run_until(r, &u.calls, 2);
	assert_int_equal(u.res, -ENOENT);
	struct result_op c = { .op.done = result_done };
	io_close(r, fd, &c.op);
	run_until(r, &c.calls, 1);
	assert_int_equal(c.res, 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	char named[] = "/tmp/sluice-reactor-XXXXXX";
	fd = mkstemp(named);
	assert_int_equal(write(fd, "mapped", 6), 6);
	const char *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(map[0], 'm');
	struct result_op m = { .op.done = result_done };
	io_madvise(r, map, 4096, MADV_DONTNEED, &m.op);
	run_until(r, &m.calls, 1);
	assert_int_equal(m.res, 0);
	assert_memory_equal(map, "mapped", 6); /* a shared file mapping refaults its bytes */
	munmap((void *)map, 4096);
	io_close_file(r, fd);
	assert_int_equal(reactor_inflight(r), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	fd = open(named, O_RDONLY);
	unlink(named);
	io_close_file(r, fd);
	assert_int_equal(reactor_inflight(r), 1);
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (reactor_inflight(r) > 0 && reactor_now_ns() < deadline)
		reactor_run_once(r, 10 * MS);
	assert_int_equal(reactor_inflight(r), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	reactor_destroy(r);
}

static int fired_order[8];
static int fired_count;

static void timer_record(struct io_timer *t)
{
	fired_order[fired_count++] = (int)(t->deadline_ns % 1000);
}

static void test_timers(void **state)
{
	(void)state;
	struct reactor *r = new_reactor(8);
	struct io_timer t[5];
	const int delays_ms[5] = { 40, 10, 30, 20, 50 };
	for (int i = 0; i < 5; i++) {
		io_timer_init(&t[i]);
		io_timer_arm(r, &t[i], (uint64_t)delays_ms[i] * MS, timer_record);
		/* tag the deadline's low digits with the delay for the check */
		t[i].deadline_ns = t[i].deadline_ns - t[i].deadline_ns % 1000 + (uint64_t)delays_ms[i];
	}
	io_timer_stop(r, &t[2]);
	assert_false(io_timer_armed(&t[2]));
	uint64_t start = reactor_now_ns();
	while (fired_count < 4 && reactor_now_ns() - start < 2000 * MS)
		reactor_run_once(r, 100 * MS);
	assert_int_equal(fired_count, 4);
	assert_int_equal(fired_order[0], 10);
	assert_int_equal(fired_order[1], 20);
	assert_int_equal(fired_order[2], 40);
	assert_int_equal(fired_order[3], 50);
	/* Nothing armed, nothing in flight: a bounded wait returns. */
	start = reactor_now_ns();
	assert_int_equal(reactor_run_once(r, 20 * MS), 0);
	assert_true(reactor_now_ns() - start < 1000 * MS);
	reactor_destroy(r);
}

/* A doorbell into a ring that is not enabled yet is refused (EBADFD), counts
 * in flight on the ringing reactor while it is retried, and arrives once the
 * ring is enabled. */
static void test_doorbell_waits_for_a_disabled_ring(void **state)
{
	(void)state;
	struct reactor *from = new_reactor(8);
	struct reactor_config cfg = { .sq_entries = 8, .timers_max = 4, .owner_enables = true };
	char err[256];
	struct reactor *to = reactor_create(&cfg, err, sizeof(err));
	assert_non_null(to);
	if (!reactor_has_msg_ring(from)) {
		reactor_destroy(from);
		reactor_destroy(to);
		skip();
	}
	struct result_op target = { .op.done = result_done };
	struct io_doorbell bell;
	io_doorbell_init(&bell, to, &target.op);
	io_doorbell_ring(from, &bell);
	reactor_run_once(from, 0);
	assert_int_equal(reactor_inflight(from), 1); /* refused, being retried */
	for (int i = 0; i < 3; i++)
		reactor_run_once(from, 5 * MS);
	assert_int_equal(reactor_inflight(from), 1);
	assert_int_equal(reactor_enable(to), 0);
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (reactor_inflight(from) > 0 && reactor_now_ns() < deadline)
		reactor_run_once(from, 50 * MS);
	assert_int_equal(reactor_inflight(from), 0);
	run_until(to, &target.calls, 1);
	assert_int_equal(target.res, 0);
	assert_int_equal(reactor_inflight(to), 0);
	reactor_destroy(from);
	reactor_destroy(to);
}

struct taken_over {
	struct reactor *r;
	int enable_rc, workers_rc;
};

static void *take_over(void *arg)
{
	struct taken_over *t = arg;
	t->enable_rc = reactor_enable(t->r);
	cpu_set_t cpus;
	sched_getaffinity(0, sizeof(cpus), &cpus);
	t->workers_rc = reactor_set_worker_cpus(t->r, &cpus);
	return NULL;
}

/* A ring created by one thread and enabled by another (as every shard's but
 * the first): its owner can still choose where its kernel workers run. */
static void test_worker_cpus_of_a_taken_over_ring(void **state)
{
	(void)state;
	struct reactor_config cfg = { .sq_entries = 8, .timers_max = 4, .owner_enables = true };
	char err[256];
	struct taken_over t = { .r = reactor_create(&cfg, err, sizeof(err)) };
	assert_non_null(t.r);
	pthread_t thread;
	pthread_create(&thread, NULL, take_over, &t);
	pthread_join(thread, NULL);
	assert_int_equal(t.enable_rc, 0);
	assert_int_equal(t.workers_rc, 0);
	reactor_destroy(t.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_recv_send),
		cmocka_unit_test(test_file_write_and_splice),
		cmocka_unit_test(test_unlink_and_close),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_doorbell_waits_for_a_disabled_ring),
		cmocka_unit_test(test_worker_cpus_of_a_taken_over_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

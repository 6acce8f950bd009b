/* Offset checkpoint files: written at once or on a reactor's loop with the
 * fsyncs in the kernel's workers, read back, and refused when malformed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log/log_checkpoint.h"

static const uint64_t MS = 1000000;

struct written {
	struct checkpoint_async w;
	int rc;
	bool done;
};

static void on_written(struct checkpoint_async *w, int rc)
{
	struct written *x = (struct written *)w;
	x->rc = rc;
	x->done = true;
}

static void test_async_write_then_read(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-ckpt-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint", dir);
	struct reactor_config rc = { .sq_entries = 16, .timers_max = 4 };
	char err[256];
	struct reactor *r = reactor_create(&rc, err, sizeof(err));
	if (!r)
		exit(77);
	struct checkpoint_entry e[2] = { { "t", 0, 40 }, { "u", 3, 7 } };
	assert_int_equal(log_checkpoint_write(path, e, 1), 0);
	struct written x = { .w.done = on_written };
	assert_int_equal(log_checkpoint_write_async(r, path, e, 2, &x.w), 0);
	assert_false(x.done);
	uint64_t deadline = reactor_now_ns() + 5000 * MS;
	while (!x.done && reactor_now_ns() < deadline)
		reactor_run_once(r, 10 * MS);
	assert_true(x.done);
	assert_int_equal(x.rc, 0);
	assert_int_equal(reactor_inflight(r), 0);
	struct checkpoint_entry *got;
	size_t n;
	assert_int_equal(log_checkpoint_read(path, &got, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[1].topic, "u");
	assert_int_equal(got[1].partition, 3);
	assert_int_equal(got[1].offset, 7);
	free(got);
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	FILE *f = fopen(path, "w");
	fputs("0\n1\nt zero 5\n", f);
	fclose(f);
	assert_int_equal(log_checkpoint_read(path, &got, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":3:"));
	reactor_destroy(r);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_async_write_then_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The logger: one line per call whatever the message holds; control bytes,
 * backslashes, malformed UTF-8 and C1 controls escaped; well-formed UTF-8
 * kept; a long message cut at an escape boundary and marked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/slog.h"

/* Runs one slog call with stderr sent to a file; returns what was written
 * after the "<time> <LEVEL> " prefix (caller frees). */
static char *logged(const char *component, const char *arg)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(f), STDERR_FILENO), STDERR_FILENO);
	slog_warn(component, "group %s joined", arg);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	off_t size = lseek(fileno(f), 0, SEEK_END);
	assert_true(size > 0);
	char *buf = calloc(1, (size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fileno(f), buf, (size_t)size, 0), size);
	fclose(f);
	/* exactly one line */
	assert_ptr_equal(strchr(buf, '\n'), buf + size - 1);
	char *warn = strstr(buf, " WARN ");
	assert_non_null(warn);
	char *out = strdup(warn + 6);
	free(buf);
	return out;
}

static void expect_logged(const char *arg, const char *want)
{
	char *got = logged("group", arg);
	char line[4200];
	snprintf(line, sizeof(line), "group: group %s joined\n", want);
	assert_string_equal(got, line);
	free(got);
}

static void test_forged_line_stays_one_line(void **state)
{
	(void)state;
	expect_logged("g\n2026-01-01T00:00:00.000Z ERROR broker: forged",
		      "g\\n2026-01-01T00:00:00.000Z ERROR broker: forged");
	expect_logged("a\rb\tc", "a\\rb\\tc");
}

static void test_control_bytes_escaped(void **state)
{
	(void)state;
	expect_logged("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	expect_logged("del\x7f bell\x07", "del\\x7f bell\\x07");
	expect_logged("back\\slash", "back\\\\slash");
}

static void test_utf8(void **state)
{
	(void)state;
	/* Well-formed: kept. */
	expect_logged("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* C1 control U+009B (CSI): escaped. */
	expect_logged("\xc2\x9b" "31m", "\\xc2\\x9b31m");
	/* Malformed: stray continuation, overlong '/', surrogate, past U+10FFFF,
	 * truncated sequence. */
	expect_logged("\x80", "\\x80");
	expect_logged("\xc0\xaf", "\\xc0\\xaf");
	expect_logged("\xed\xa0\x80", "\\xed\\xa0\\x80");
	expect_logged("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	expect_logged("\xe2\x82", "\\xe2\\x82");
	expect_logged("\xff", "\\xff");
}

static void test_long_message_cut_at_escape(void **state)
{
	(void)state;
	char arg[3000];
	memset(arg, '\n', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	char *got = logged("group", arg);
	size_t len = strlen(got);
	assert_true(len < 4096);
	assert_string_equal(got + len - 4, "...\n");
	/* Only whole escapes before the marker. */
	const char *p = got + strlen("group: group ");
	while (p < got + len - 4) {
		assert_memory_equal(p, "\\n", 2);
		p += 2;
	}
	free(got);
}

/* A peer's string with a NUL, through slog_str: the NUL is printed as \x00
 * and what follows it is kept; a long one is cut and marked; null says so.
 * An overlong NUL from a peer reads as the NUL it encodes. */
static void test_view_with_nul(void **state)
{
	(void)state;
	char buf[SLOG_STR_BYTES];
	char *got = logged("group", slog_str(buf, sizeof(buf), "g\0a\\", 4));
	assert_string_equal(got, "group: group g\\x00a\\\\ joined\n");
	free(got);
	assert_string_equal(slog_str(buf, sizeof(buf), NULL, -1), "null");
	char nuls[SLOG_STR_BYTES * 2] = { 0 };
	const char *cut = slog_str(buf, sizeof(buf), nuls, (int32_t)sizeof(nuls));
	size_t n = strlen(cut);
	assert_true(n < sizeof(buf));
	assert_string_equal(cut + n - 3, "...");
	assert_int_equal((n - 3) % 2, 0); /* whole two-byte NULs only */
	expect_logged("\xc0\x80", "\\x00");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forged_line_stays_one_line),
		cmocka_unit_test(test_control_bytes_escaped),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_long_message_cut_at_escape),
		cmocka_unit_test(test_view_with_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

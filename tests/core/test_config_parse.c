/* The properties parser at its bounds: a physical line longer than the
 * parser's line buffer must fail the load, not be cut into pieces that are
 * each read as a line of their own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

enum { LONG_LINE_BYTES = 20000 }; /* more than twice the parser's line buffer */

static void write_properties(char *path, const char *text)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A long comment whose tail looks like a setting: before the fix, the tail
 * past the buffer was parsed as "log.dirs=/elsewhere". */
static void test_long_comment_is_not_split_into_settings(void **state)
{
	(void)state;
	char *text = malloc(LONG_LINE_BYTES + 64);
	assert_non_null(text);
	text[0] = '#';
	memset(text + 1, ' ', LONG_LINE_BYTES);
	strcpy(text + LONG_LINE_BYTES - strlen("log.dirs=/elsewhere"), "log.dirs=/elsewhere\n");
	char path[] = "/tmp/sluice-props-XXXXXX";
	write_properties(path, text);
	free(text);

	struct broker_config c;
	char err[256];
	config_defaults(&c);
	assert_int_not_equal(config_load_file(&c, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "line too long"));
	assert_non_null(strstr(err, ":1:"));
	assert_string_equal(c.log_dir, "/tmp/sluice-logs");
	unlink(path);
}

/* The longest line the buffer holds (8 KiB with its terminator), then its
 * newline in the next read: complete, and the next line is read as usual;
 * the same at the end of a file without a final newline. */
static void test_longest_line_loads(void **state)
{
	(void)state;
	enum { LINE_BUFFER_BYTES = 8192 };
	char text[LINE_BUFFER_BYTES + 64];
	text[0] = '#';
	memset(text + 1, '-', LINE_BUFFER_BYTES - 2);
	strcpy(text + LINE_BUFFER_BYTES - 1, "\nnum.partitions=5\n");
	char path[] = "/tmp/sluice-props-XXXXXX";
	write_properties(path, text);
	struct broker_config c;
	char err[256];
	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.num_partitions, 5);
	unlink(path);

	text[LINE_BUFFER_BYTES - 1] = '\0';
	char path2[] = "/tmp/sluice-props-XXXXXX";
	write_properties(path2, text);
	assert_int_equal(config_load_file(&c, path2, err, sizeof(err)), 0);
	unlink(path2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_comment_is_not_split_into_settings),
		cmocka_unit_test(test_longest_line_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

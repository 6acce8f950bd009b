/* sluice-admin's output: JSON strings are escaped (quotes, backslashes,
 * control bytes), commas fall between items only, and tables align. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/output.h"

#define CAPTURE_BYTES 4096

/* Runs write() with stdout sent to a temporary file; returns what it wrote. */
static char *captured(void (*write)(void))
{
	static char text[CAPTURE_BYTES];
	fflush(stdout);
	int saved = dup(1);
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	dup2(fileno(tmp), 1);
	write();
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(tmp);
	size_t n = fread(text, 1, sizeof(text) - 1, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}

static void write_json(void)
{
	struct json j = {0};
	json_object_begin(&j, NULL);
	json_string(&j, "name", "a \"b\"\\c\n\t\x01");
	json_null(&j, "none");
	json_array_begin(&j, "list");
	json_int(&j, NULL, -1);
	json_bool(&j, NULL, true);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	json_array_end(&j);
	json_end(&j);
}

static void test_json_is_escaped_and_well_formed(void **state)
{
	(void)state;
	assert_string_equal(captured(write_json),
			    "{\"name\":\"a \\\"b\\\"\\\\c\\n\\t\\u0001\",\"none\":null,"
			    "\"list\":[-1,true,{}]}\n");
}

static void write_listing_table(void)
{
	static const char *const headers[] = {"A", "LONGER"};
	struct listing l;
	listing_begin(&l, false, "rows", 2, headers);
	listing_row_begin(&l);
	listing_str(&l, "a", "wide cell");
	listing_offset(&l, "b", -1);
	listing_row_end(&l);
	listing_end(&l);
}

static void write_listing_json(void)
{
	static const char *const headers[] = {"A", "LONGER"};
	struct listing l;
	listing_begin(&l, true, "rows", 2, headers);
	listing_row_begin(&l);
	listing_str(&l, "a", NULL);
	listing_offset(&l, "b", 5);
	listing_row_end(&l);
	listing_end(&l);
}

static void test_listings_write_tables_or_json(void **state)
{
	(void)state;
	assert_string_equal(captured(write_listing_table), "A          LONGER\nwide cell  -\n");
	assert_string_equal(captured(write_listing_json), "{\"rows\":[{\"a\":null,\"b\":5}]}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_is_escaped_and_well_formed),
		cmocka_unit_test(test_listings_write_tables_or_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

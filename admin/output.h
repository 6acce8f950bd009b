/* What sluice-admin prints: aligned text tables for people and a streaming
 * JSON writer (strings escaped) for scripts, both to stdout. */
#ifndef SLUICE_ADMIN_OUTPUT_H
#define SLUICE_ADMIN_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TABLE_COLS_MAX 10
/* A longer cell is cut (tables are for people; --json carries it whole). */
#define TABLE_CELL_BYTES_MAX 256
#define TABLE_ROWS_MAX 1000000
#define JSON_DEPTH_MAX 16

struct table {
	size_t cols;
	const char *headers[TABLE_COLS_MAX];
	char **cells; /* rows * cols, each owned */
	size_t cell_count, cell_cap;
};

/* headers: cols names; the table owns nothing of theirs (static strings). */
void table_init(struct table *t, size_t cols, const char *const *headers);
/* Appends one cell (printf-style) to the current row; rows fill left to
 * right. A table over TABLE_ROWS_MAX rows drops the rest. */
void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the headers and rows with columns aligned, then frees the cells. */
void table_print_free(struct table *t);
/* Frees the cells unprinted. */
void table_free(struct table *t);

struct json {
	size_t depth;
	bool has_items[JSON_DEPTH_MAX]; /* a comma is due before the next item */
	char closer[JSON_DEPTH_MAX];    /* '}' or ']' per open level */
};

/* One command's output: a JSON object (its array named key open, when key
 * is not NULL) or a table, so that rows are added to whichever is chosen. */
struct listing {
	bool json;
	struct json j;
	struct table t;
};
void listing_begin(struct listing *l, bool json, const char *key, size_t cols,
		   const char *const *headers);
/* Closes every open JSON level, or prints the table. */
void listing_end(struct listing *l);
/* A row: a JSON object in the array, or the table's next cells. */
void listing_row_begin(struct listing *l);
void listing_row_end(struct listing *l);
/* One field of the row: a member named key, or a cell (NULL: "-"). */
void listing_str(struct listing *l, const char *key, const char *value);
void listing_int(struct listing *l, const char *key, int64_t value);
/* An offset or lag: null in JSON and "-" in tables when negative. */
void listing_offset(struct listing *l, const char *key, int64_t value);

/* key is NULL inside arrays and at the top, the member's name in objects. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
/* Closes the innermost open object or array. */
void json_end(struct json *j);
/* value NULL prints null. */
void json_string(struct json *j, const char *key, const char *value);
void json_int(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);

#endif

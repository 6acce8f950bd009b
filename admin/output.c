/* Tables and JSON on stdout (output.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

void table_init(struct table *t, size_t cols, const char *const *headers)
{
	assert(cols > 0 && cols <= TABLE_COLS_MAX);
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	for (size_t i = 0; i < cols; i++)
		t->headers[i] = headers[i];
}

void table_cell(struct table *t, const char *fmt, ...)
{
	if (t->cell_count / t->cols >= TABLE_ROWS_MAX)
		return;
	if (t->cell_count == t->cell_cap) {
		size_t cap = t->cell_cap ? t->cell_cap * 2 : 64;
		char **grown = realloc(t->cells, cap * sizeof(*grown));
		if (!grown)
			abort();
		t->cells = grown;
		t->cell_cap = cap;
	}
	char text[TABLE_CELL_BYTES_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	char *copy = strdup(text);
	if (!copy)
		abort();
	t->cells[t->cell_count++] = copy;
}

static void print_cell(const struct table *t, size_t col, const size_t *width, const char *text)
{
	if (col + 1 < t->cols)
		printf("%-*s  ", (int)width[col], text);
	else
		printf("%s\n", text);
}

void table_print_free(struct table *t)
{
	size_t width[TABLE_COLS_MAX];
	for (size_t c = 0; c < t->cols; c++)
		width[c] = strlen(t->headers[c]);
	for (size_t i = 0; i < t->cell_count; i++) {
		size_t len = strlen(t->cells[i]);
		if (len > width[i % t->cols])
			width[i % t->cols] = len;
	}
	for (size_t c = 0; c < t->cols; c++)
		print_cell(t, c, width, t->headers[c]);
	for (size_t i = 0; i < t->cell_count; i++) {
		size_t c = i % t->cols;
		print_cell(t, c, width, t->cells[i]);
	}
	if (t->cell_count % t->cols != 0)
		printf("\n");
	table_free(t);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cell_count; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* Writes s as a JSON string: quotes, backslashes and control bytes escaped;
 * other bytes (UTF-8 from the broker) pass as they are. */
static void json_quoted(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

/* The comma and key before an item at the current depth. */
static void json_item(struct json *j, const char *key)
{
	if (j->depth > 0 && j->has_items[j->depth - 1])
		putchar(',');
	if (j->depth > 0)
		j->has_items[j->depth - 1] = true;
	if (key) {
		json_quoted(key);
		putchar(':');
	}
}

static void json_open(struct json *j, const char *key, char opener)
{
	assert(j->depth < JSON_DEPTH_MAX);
	json_item(j, key);
	putchar(opener);
	j->closer[j->depth] = opener == '{' ? '}' : ']';
	j->has_items[j->depth++] = false;
}

static void json_close(struct json *j, char closer)
{
	assert(j->depth > 0 && j->closer[j->depth - 1] == closer);
	j->depth--;
	putchar(closer);
	if (j->depth == 0)
		putchar('\n');
}

void json_object_begin(struct json *j, const char *key) { json_open(j, key, '{'); }
void json_object_end(struct json *j) { json_close(j, '}'); }
void json_array_begin(struct json *j, const char *key) { json_open(j, key, '['); }
void json_array_end(struct json *j) { json_close(j, ']'); }

void json_end(struct json *j)
{
	assert(j->depth > 0);
	json_close(j, j->closer[j->depth - 1]);
}

void listing_begin(struct listing *l, bool json, const char *key, size_t cols,
		   const char *const *headers)
{
	memset(l, 0, sizeof(*l));
	l->json = json;
	table_init(&l->t, cols, headers);
	if (!json)
		return;
	json_object_begin(&l->j, NULL);
	if (key)
		json_array_begin(&l->j, key);
}

void listing_end(struct listing *l)
{
	if (!l->json) {
		table_print_free(&l->t);
		return;
	}
	while (l->j.depth > 0)
		json_end(&l->j);
	table_free(&l->t);
}

void listing_row_begin(struct listing *l)
{
	if (l->json)
		json_object_begin(&l->j, NULL);
}

void listing_row_end(struct listing *l)
{
	if (l->json)
		json_object_end(&l->j);
}

void listing_str(struct listing *l, const char *key, const char *value)
{
	if (l->json)
		json_string(&l->j, key, value);
	else
		table_cell(&l->t, "%s", value ? value : "-");
}

void listing_int(struct listing *l, const char *key, int64_t value)
{
	if (l->json)
		json_int(&l->j, key, value);
	else
		table_cell(&l->t, "%" PRId64, value);
}

void listing_offset(struct listing *l, const char *key, int64_t value)
{
	if (value >= 0)
		listing_int(l, key, value);
	else if (l->json)
		json_null(&l->j, key);
	else
		table_cell(&l->t, "-");
}

void json_string(struct json *j, const char *key, const char *value)
{
	json_item(j, key);
	if (value)
		json_quoted(value);
	else
		fputs("null", stdout);
}

void json_int(struct json *j, const char *key, int64_t value)
{
	json_item(j, key);
	printf("%" PRId64, value);
}

void json_bool(struct json *j, const char *key, bool value)
{
	json_item(j, key);
	fputs(value ? "true" : "false", stdout);
}

void json_null(struct json *j, const char *key)
{
	json_item(j, key);
	fputs("null", stdout);
}

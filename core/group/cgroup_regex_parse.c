/* The topic-regex parser (cgroup_regex_internal.h): RE2's syntax by
 * recursive descent, left to right as RE2's own parser meets it, so the
 * first error found is the one RE2/J reports, with its description. Inline
 * flags belong to the group they appear in; literals under (?i) become
 * classes of their case-folded forms. */
#include "core/group/cgroup_regex_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RE2/J's error descriptions (com.google.re2j.Parser). */
#define E_INTERNAL "regexp/syntax: internal error"
#define E_RANGE "invalid character class range"
#define E_ESCAPE "invalid escape sequence"
#define E_NAMED "invalid named capture"
#define E_PERL "invalid or unsupported Perl syntax"
#define E_REPEAT_OP "invalid nested repetition operator"
#define E_REPEAT_SIZE "invalid repeat count"
#define E_BRACKET "missing closing ]"
#define E_PAREN "missing closing )"
#define E_ARGUMENT "missing argument to repetition operator"
#define E_BACKSLASH "trailing backslash at end of expression"
#define E_DUPLICATE "duplicate capture group name"

enum flag { F_FOLD = 1, F_MULTILINE = 2, F_DOTNL = 4, F_UNGREEDY = 8 };

struct parser {
	const uint8_t *p;
	size_t n;
	size_t pos;
	struct node *nodes;
	int32_t nodes_n;
	struct range *ranges;
	int32_t ranges_n;
	struct kstr names[CGROUP_REGEX_NAMES_MAX];
	int32_t names_n;
	int depth;
	int rc;
	char *err;
	size_t err_len;
};

static void fail(struct parser *ps, int rc, const char *msg)
{
	assert(rc == CGROUP_REGEX_INVALID || rc == CGROUP_REGEX_LIMIT);
	if (ps->rc != CGROUP_REGEX_OK)
		return;
	ps->rc = rc;
	if (ps->err_len > 0)
		snprintf(ps->err, ps->err_len, "%s", msg);
}

static bool is_cont(uint8_t b)
{
	return (b & 0xC0) == 0x80;
}

/* E0 followed by 80..9F: an overlong three-byte form. */
static bool overlong3(uint8_t b1, uint8_t b2)
{
	return b1 == 0xE0 && (b2 & 0xE0) == 0x80;
}

/* F0 90..BF and F4 80..8F are the only second bytes that can start a code
 * point <= U+10FFFF in its shortest form. */
static bool bad4_second(uint8_t b1, uint8_t b2)
{
	return (b1 == 0xF0 && (b2 < 0x90 || b2 > 0xBF)) || (b1 == 0xF4 && (b2 & 0xF0) != 0x80) || !is_cont(b2);
}

static uint32_t utf8_three(const uint8_t *s, size_t n, size_t *i, uint8_t b1)
{
	size_t left = n - *i;
	if (left >= 2) {
		uint8_t b2 = s[*i], b3 = s[*i + 1];
		if (overlong3(b1, b2) || !is_cont(b2) || !is_cont(b3)) {
			if (!overlong3(b1, b2) && is_cont(b2))
				(*i)++;
			return RX_RUNE_BAD;
		}
		*i += 2;
		uint32_t c = ((b1 & 0x0Fu) << 12) | ((b2 & 0x3Fu) << 6) | (b3 & 0x3Fu);
		return c >= 0xD800 && c <= 0xDFFF ? RX_RUNE_BAD : c;
	}
	/* Truncated at the end: a bad second byte is read again, a good one
	 * goes with the lead into one U+FFFD. */
	if (left == 1 && !(overlong3(b1, s[*i]) || !is_cont(s[*i])))
		*i = n;
	return RX_RUNE_BAD;
}

static uint32_t utf8_four(const uint8_t *s, size_t n, size_t *i, uint8_t b1)
{
	size_t left = n - *i;
	if (left >= 3) {
		uint8_t b2 = s[*i], b3 = s[*i + 1], b4 = s[*i + 2];
		uint32_t c = ((b1 & 0x07u) << 18) | ((b2 & 0x3Fu) << 12) | ((b3 & 0x3Fu) << 6) | (b4 & 0x3Fu);
		if (!is_cont(b2) || !is_cont(b3) || !is_cont(b4) || c < 0x10000 || c > RX_RUNE_MAX) {
			if (!(b1 > 0xF4 || bad4_second(b1, b2)))
				*i += is_cont(b3) ? 2 : 1;
			return RX_RUNE_BAD;
		}
		*i += 3;
		return c;
	}
	if (b1 > 0xF4 || (left >= 1 && bad4_second(b1, s[*i])))
		return RX_RUNE_BAD;
	/* Truncated at the end after a good second byte (or none): one
	 * U+FFFD up to a bad third byte, which is read again, or the end. */
	if (left == 2 && !is_cont(s[*i + 1]))
		*i += 1;
	else
		*i = n;
	return RX_RUNE_BAD;
}

/* Java's String(bytes, UTF_8) replacement rules (JDK 17's decoder), as
 * RE2/J sees the pattern and topic Kafka decoded from the wire. */
uint32_t rx_utf8_next(const uint8_t *s, size_t n, size_t *i)
{
	assert(*i < n);
	uint8_t b1 = s[(*i)++];
	if (b1 < 0x80)
		return b1;
	if (b1 >= 0xC2 && b1 <= 0xDF) {
		if (*i >= n || !is_cont(s[*i]))
			return RX_RUNE_BAD;
		return ((b1 & 0x1Fu) << 6) | (s[(*i)++] & 0x3Fu);
	}
	if ((b1 & 0xF0) == 0xE0)
		return utf8_three(s, n, i, b1);
	if ((b1 & 0xF8) == 0xF0)
		return utf8_four(s, n, i, b1);
	return RX_RUNE_BAD;
}

static bool at_end(const struct parser *ps)
{
	return ps->pos >= ps->n;
}

static int peek(const struct parser *ps, size_t ahead)
{
	return ps->pos + ahead < ps->n ? ps->p[ps->pos + ahead] : -1;
}

static int32_t node_new(struct parser *ps, enum node_kind kind)
{
	if (ps->nodes_n >= CGROUP_REGEX_NODES_MAX) {
		fail(ps, CGROUP_REGEX_LIMIT, "pattern has too many nodes");
		return -1;
	}
	struct node *nd = &ps->nodes[ps->nodes_n];
	*nd = (struct node){ .kind = (uint8_t)kind, .a = 0, .b = 0, .child = -1, .next = -1 };
	return ps->nodes_n++;
}

/* ---- character classes: ranges appended at the pool's end ---- */

static void range_add(struct parser *ps, uint32_t lo, uint32_t hi)
{
	assert(lo <= hi && hi <= RX_RUNE_MAX);
	if (ps->ranges_n >= CGROUP_REGEX_RANGES_MAX) {
		fail(ps, CGROUP_REGEX_LIMIT, "pattern has too many character ranges");
		return;
	}
	ps->ranges[ps->ranges_n++] = (struct range){ lo, hi };
}

static void range_clip_add(struct parser *ps, uint32_t lo, uint32_t hi, uint32_t a, uint32_t b,
			   int32_t shift)
{
	uint32_t l = lo > a ? lo : a, h = hi < b ? hi : b;
	if (l <= h)
		range_add(ps, (uint32_t)((int32_t)l + shift), (uint32_t)((int32_t)h + shift));
}

static bool range_has(uint32_t lo, uint32_t hi, uint32_t c)
{
	return lo <= c && c <= hi;
}

/* Adds [lo, hi] and, under (?i), what its letters fold to (ASCII letters,
 * and U+017F / U+212A, which RE2 folds with s and k). */
static void range_add_folded(struct parser *ps, uint32_t lo, uint32_t hi, bool fold)
{
	range_add(ps, lo, hi);
	if (!fold)
		return;
	range_clip_add(ps, lo, hi, 'A', 'Z', 'a' - 'A');
	range_clip_add(ps, lo, hi, 'a', 'z', 'A' - 'a');
	if (range_has(lo, hi, 'k') || range_has(lo, hi, 'K'))
		range_add(ps, 0x212A, 0x212A);
	if (range_has(lo, hi, 's') || range_has(lo, hi, 'S'))
		range_add(ps, 0x17F, 0x17F);
	if (range_has(lo, hi, 0x212A)) {
		range_add(ps, 'k', 'k');
		range_add(ps, 'K', 'K');
	}
	if (range_has(lo, hi, 0x17F)) {
		range_add(ps, 's', 's');
		range_add(ps, 'S', 'S');
	}
}

static int range_compare(const void *x, const void *y)
{
	const struct range *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Sorts and merges ranges[start..], negating them when negate; returns the
 * new count. */
static int32_t class_finish(struct parser *ps, int32_t start, bool negate)
{
	assert(start <= ps->ranges_n);
	struct range *r = ps->ranges + start;
	int32_t n = ps->ranges_n - start;
	qsort(r, (size_t)n, sizeof(*r), range_compare);
	int32_t m = 0;
	for (int32_t k = 0; k < n; k++) {
		if (m > 0 && r[k].lo <= r[m - 1].hi + 1) {
			if (r[k].hi > r[m - 1].hi)
				r[m - 1].hi = r[k].hi;
		} else {
			r[m++] = r[k];
		}
	}
	ps->ranges_n = start + m;
	if (!negate)
		return m;
	/* The complement has at most m + 1 ranges; build it after the merged
	 * ones and move it down. */
	int32_t out = ps->ranges_n;
	uint32_t next = 0;
	for (int32_t k = 0; k < m; k++) {
		if (r[k].lo > next)
			range_add(ps, next, r[k].lo - 1);
		next = r[k].hi + 1;
	}
	if (next <= RX_RUNE_MAX)
		range_add(ps, next, RX_RUNE_MAX);
	if (ps->rc != CGROUP_REGEX_OK)
		return 0;
	int32_t c = ps->ranges_n - out;
	memmove(r, ps->ranges + out, (size_t)c * sizeof(*r));
	ps->ranges_n = start + c;
	return c;
}

/* A class node over ranges[start..]. */
static int32_t class_node(struct parser *ps, int32_t start, bool negate)
{
	int32_t count = class_finish(ps, start, negate);
	if (ps->rc != CGROUP_REGEX_OK)
		return -1;
	int32_t id = node_new(ps, N_CLASS);
	if (id >= 0) {
		ps->nodes[id].a = start;
		ps->nodes[id].b = count;
	}
	return id;
}

struct named_class {
	const char *name;
	const char *ranges; /* lo, hi pairs of bytes */
};

static const struct named_class POSIX_CLASSES[] = {
	{ "alnum", "09AZaz" },   { "alpha", "AZaz" },
	{ "ascii", "\x01\x7f" }, { "blank", "\t\t  " },
	{ "cntrl", "\x01\x1f\x7f\x7f" }, { "digit", "09" },
	{ "graph", "!~" },       { "lower", "az" },
	{ "print", " ~" },       { "punct", "!/:@[`{~" },
	{ "space", "\t\r  " },   { "upper", "AZ" },
	{ "word", "09AZ__az" },  { "xdigit", "09AFaf" },
};

/* Adds a named class's ranges (negated when negate), folded under (?i).
 * "ascii" and "cntrl" start at NUL, which the table cannot hold. */
static void class_add_named(struct parser *ps, const struct named_class *nc, bool negate, bool fold)
{
	int32_t start = ps->ranges_n;
	const char *s = nc->ranges;
	size_t len = strlen(s);
	for (size_t k = 0; k + 1 < len; k += 2) {
		uint32_t lo = (uint8_t)s[k], hi = (uint8_t)s[k + 1];
		if (lo == 1)
			lo = 0;
		range_add_folded(ps, lo, hi, fold);
	}
	if (ps->rc != CGROUP_REGEX_OK)
		return;
	if (negate) {
		class_finish(ps, start, true);
	}
}

static const struct named_class *perl_class(int c)
{
	static const struct named_class d = { "d", "09" };
	static const struct named_class s = { "s", "\t\n\f\r  " };
	static const struct named_class w = { "w", "09AZ__az" };
	switch (c | 0x20) {
	case 'd':
		return &d;
	case 's':
		return &s;
	case 'w':
		return &w;
	default:
		return NULL;
	}
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_alnum(uint32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The code point of the escape whose backslash was just consumed (RE2's
 * parseEscape); RX_RUNE_EOF after fail(). */
static uint32_t parse_escape(struct parser *ps)
{
	if (at_end(ps)) {
		fail(ps, CGROUP_REGEX_INVALID, E_BACKSLASH);
		return RX_RUNE_EOF;
	}
	uint32_t c = rx_utf8_next(ps->p, ps->n, &ps->pos);
	switch (c) {
	case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		if (peek(ps, 0) < '0' || peek(ps, 0) > '7')
			break;
		/* fall through */
	case '0': {
		uint32_t r = c - '0';
		for (int k = 1; k < 3 && peek(ps, 0) >= '0' && peek(ps, 0) <= '7'; k++)
			r = r * 8 + (uint32_t)(ps->p[ps->pos++] - '0');
		return r;
	}
	case 'x': {
		if (peek(ps, 0) == '{') {
			ps->pos++;
			uint32_t r = 0;
			int digits = 0;
			while (hex_value(peek(ps, 0)) >= 0) {
				r = r * 16 + (uint32_t)hex_value(ps->p[ps->pos++]);
				digits++;
				if (r > RX_RUNE_MAX)
					break;
			}
			if (digits == 0 || r > RX_RUNE_MAX || peek(ps, 0) != '}')
				break;
			ps->pos++;
			return r;
		}
		int h1 = hex_value(peek(ps, 0)), h2 = hex_value(peek(ps, 1));
		if (h1 < 0 || h2 < 0)
			break;
		ps->pos += 2;
		return (uint32_t)(h1 * 16 + h2);
	}
	case 'a':
		return 7;
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'v':
		return '\v';
	default:
		/* RE2/J: any code point but an ASCII letter or digit stands for
		 * itself (RE2 in C++ and Go allow only ASCII punctuation). */
		if (!is_alnum(c))
			return c;
		break;
	}
	fail(ps, CGROUP_REGEX_INVALID, E_ESCAPE);
	return RX_RUNE_EOF;
}

static bool unicode_class_ahead(const struct parser *ps)
{
	return peek(ps, 0) == '\\' && (peek(ps, 1) == 'p' || peek(ps, 1) == 'P');
}

/* One class member or range end (RE2's parseClassChar). */
static uint32_t parse_class_char(struct parser *ps)
{
	if (at_end(ps)) {
		fail(ps, CGROUP_REGEX_INVALID, E_BRACKET);
		return RX_RUNE_EOF;
	}
	if (ps->p[ps->pos] == '\\') {
		ps->pos++;
		return parse_escape(ps);
	}
	return rx_utf8_next(ps->p, ps->n, &ps->pos);
}

/* [:name:] or [:^name:] at pos: true when one was added (or failed). */
static bool parse_posix_class(struct parser *ps, bool fold)
{
	if (peek(ps, 0) != '[' || peek(ps, 1) != ':' || ps->pos + 2 >= ps->n)
		return false;
	const uint8_t *s = ps->p + ps->pos + 2;
	size_t left = ps->n - ps->pos - 2, end = 0;
	while (end + 1 < left && !(s[end] == ':' && s[end + 1] == ']'))
		end++;
	if (end + 1 >= left)
		return false;
	bool negate = end > 0 && s[0] == '^';
	const uint8_t *name = s + (negate ? 1 : 0);
	size_t name_len = end - (negate ? 1 : 0);
	for (size_t k = 0; k < sizeof(POSIX_CLASSES) / sizeof(POSIX_CLASSES[0]); k++) {
		const struct named_class *nc = &POSIX_CLASSES[k];
		if (strlen(nc->name) == name_len && memcmp(nc->name, name, name_len) == 0) {
			ps->pos += 2 + end + 2;
			class_add_named(ps, nc, negate, fold);
			return true;
		}
	}
	fail(ps, CGROUP_REGEX_INVALID, E_RANGE);
	return true;
}

/* \d \s \w \D \S \W at pos: true when one was added. */
static bool parse_perl_class(struct parser *ps, bool fold)
{
	if (peek(ps, 0) != '\\' || !perl_class(peek(ps, 1)))
		return false;
	int c = ps->p[ps->pos + 1];
	ps->pos += 2;
	class_add_named(ps, perl_class(c), c >= 'A' && c <= 'Z', fold);
	return true;
}

/* A bracketed class; the '[' was consumed (RE2's parseClass). */
static int32_t parse_class(struct parser *ps, int flags)
{
	bool fold = flags & F_FOLD;
	int32_t start = ps->ranges_n;
	bool negate = peek(ps, 0) == '^';
	if (negate)
		ps->pos++;
	bool first = true;
	while (ps->rc == CGROUP_REGEX_OK && (at_end(ps) || ps->p[ps->pos] != ']' || first)) {
		first = false;
		if (parse_posix_class(ps, fold))
			continue;
		if (unicode_class_ahead(ps)) {
			fail(ps, CGROUP_REGEX_LIMIT, "Unicode classes \\p are not supported");
			break;
		}
		if (parse_perl_class(ps, fold))
			continue;
		uint32_t lo = parse_class_char(ps), hi = lo;
		if (ps->rc != CGROUP_REGEX_OK)
			break;
		if (peek(ps, 0) == '-' && peek(ps, 1) != -1 && peek(ps, 1) != ']') {
			ps->pos++;
			hi = parse_class_char(ps);
			if (ps->rc != CGROUP_REGEX_OK)
				break;
			if (hi < lo) {
				fail(ps, CGROUP_REGEX_INVALID, E_RANGE);
				break;
			}
		}
		range_add_folded(ps, lo, hi, fold);
	}
	if (ps->rc != CGROUP_REGEX_OK)
		return -1;
	ps->pos++;
	return class_node(ps, start, negate);
}

/* A one-code-point literal, folded under (?i). */
static int32_t literal_node(struct parser *ps, uint32_t c, int flags)
{
	int32_t start = ps->ranges_n;
	range_add_folded(ps, c, c, flags & F_FOLD);
	return class_node(ps, start, false);
}

static int32_t dot_node(struct parser *ps, int flags)
{
	int32_t start = ps->ranges_n;
	if (flags & F_DOTNL) {
		range_add(ps, 0, RX_RUNE_MAX);
	} else {
		range_add(ps, 0, '\n' - 1);
		range_add(ps, '\n' + 1, RX_RUNE_MAX);
	}
	return class_node(ps, start, false);
}

static int32_t assert_node(struct parser *ps, enum assert_kind kind)
{
	int32_t id = node_new(ps, N_ASSERT);
	if (id >= 0)
		ps->nodes[id].a = kind;
	return id;
}

/* ---- the grammar: alternation of concatenations of repeated atoms ---- */

struct concat {
	int32_t first, last;
};

static void concat_push(struct concat *cat, struct parser *ps, int32_t id)
{
	assert(id >= 0 && id < ps->nodes_n);
	if (cat->last < 0)
		cat->first = id;
	else
		ps->nodes[cat->last].next = id;
	cat->last = id;
}

static int32_t parse_alt(struct parser *ps, int *flags);

/* \Q...\E: literals up to \E or the end; the last one stays open to a
 * repetition, as RE2 pushes them one by one. */
static void parse_quoted(struct parser *ps, struct concat *cat, int flags)
{
	while (!at_end(ps) && ps->rc == CGROUP_REGEX_OK) {
		if (peek(ps, 0) == '\\' && peek(ps, 1) == 'E') {
			ps->pos += 2;
			return;
		}
		uint32_t c = rx_utf8_next(ps->p, ps->n, &ps->pos);
		int32_t id = literal_node(ps, c, flags);
		if (id >= 0)
			concat_push(cat, ps, id);
	}
}

/* An escape outside a class, pushed onto cat. */
static void parse_escape_atom(struct parser *ps, struct concat *cat, int flags)
{
	int c = peek(ps, 1);
	int32_t id = -1;
	if (c == 'A' || c == 'z' || c == 'b' || c == 'B') {
		ps->pos += 2;
		enum assert_kind k = c == 'A' ? A_BOT : c == 'z' ? A_EOT : c == 'b' ? A_WORD : A_NOT_WORD;
		id = assert_node(ps, k);
	} else if (c == 'Q') {
		ps->pos += 2;
		parse_quoted(ps, cat, flags);
		return;
	} else if (c == 'p' || c == 'P') {
		fail(ps, CGROUP_REGEX_LIMIT, "Unicode classes \\p are not supported");
		return;
	} else if (c >= 0 && perl_class(c)) {
		int32_t start = ps->ranges_n;
		parse_perl_class(ps, flags & F_FOLD);
		id = ps->rc == CGROUP_REGEX_OK ? class_node(ps, start, false) : -1;
	} else {
		ps->pos++;
		uint32_t r = parse_escape(ps);
		if (ps->rc == CGROUP_REGEX_OK)
			id = literal_node(ps, r, flags);
	}
	if (id >= 0)
		concat_push(cat, ps, id);
}

/* Digits of a repeat count: -1 when none, a value above
 * CGROUP_REGEX_REPEAT_MAX when too large. */
static int32_t parse_count(struct parser *ps, size_t *i)
{
	int32_t v = -1;
	/* A leading zero makes it no count, as in RE2's parseInt. */
	if (*i + 1 < ps->n && ps->p[*i] == '0' && ps->p[*i + 1] >= '0' && ps->p[*i + 1] <= '9')
		return -1;
	while (*i < ps->n && ps->p[*i] >= '0' && ps->p[*i] <= '9') {
		int32_t d = ps->p[(*i)++] - '0';
		v = v < 0 ? d : (v > CGROUP_REGEX_REPEAT_MAX ? v : v * 10 + d);
	}
	return v;
}

/* {n}, {n,} or {n,m} at pos: true and *min, *max (-1 unbounded) and pos
 * past it when it is one; otherwise the '{' is a literal. */
static bool parse_braces(struct parser *ps, int32_t *min, int32_t *max)
{
	size_t i = ps->pos + 1;
	int32_t lo = parse_count(ps, &i), hi = lo;
	if (lo < 0)
		return false;
	if (i < ps->n && ps->p[i] == ',') {
		i++;
		hi = parse_count(ps, &i);
	}
	if (i >= ps->n || ps->p[i] != '}')
		return false;
	ps->pos = i + 1;
	*min = lo;
	*max = hi;
	return true;
}

/* A repetition operator at pos: true with its bounds (pos past it and its
 * lazy '?'), false when there is none. */
static bool parse_repeat_op(struct parser *ps, int32_t *min, int32_t *max)
{
	int c = peek(ps, 0);
	if (c == '*' || c == '+' || c == '?') {
		ps->pos++;
		*min = c == '+' ? 1 : 0;
		*max = c == '?' ? 1 : -1;
	} else if (c != '{' || !parse_braces(ps, min, max)) {
		return false;
	}
	if (peek(ps, 0) == '?')
		ps->pos++;
	return true;
}

/* Applies the repetition at pos to the last item of cat (RE2's repeat:
 * nested operators refused first, then a missing operand). */
static void parse_repeat(struct parser *ps, struct concat *cat, bool after_repeat)
{
	int32_t min = 0, max = 0;
	bool ok = parse_repeat_op(ps, &min, &max);
	assert(ok);
	(void)ok;
	if (min > CGROUP_REGEX_REPEAT_MAX || max > CGROUP_REGEX_REPEAT_MAX || (max >= 0 && min > max)) {
		fail(ps, CGROUP_REGEX_INVALID, E_REPEAT_SIZE);
		return;
	}
	if (after_repeat) {
		fail(ps, CGROUP_REGEX_INVALID, E_REPEAT_OP);
		return;
	}
	if (cat->last < 0) {
		fail(ps, CGROUP_REGEX_INVALID, E_ARGUMENT);
		return;
	}
	int32_t id = node_new(ps, N_REP);
	if (id < 0)
		return;
	int32_t sub = cat->last;
	/* Replace the last item by the repetition of it. */
	ps->nodes[id].a = min;
	ps->nodes[id].b = max;
	ps->nodes[id].child = sub;
	if (cat->first == sub) {
		cat->first = id;
	} else {
		int32_t k = cat->first;
		while (ps->nodes[k].next != sub)
			k = ps->nodes[k].next;
		ps->nodes[k].next = id;
	}
	cat->last = id;
}

bool rx_is_word(uint32_t c)
{
	return c == '_' || is_alnum(c);
}

/* (?P<name> or (?<name>: the name's validity and uniqueness. */
static bool parse_group_name(struct parser *ps, size_t skip)
{
	size_t start = ps->pos + skip, end = start;
	while (end < ps->n && ps->p[end] != '>')
		end++;
	if (end >= ps->n) {
		fail(ps, CGROUP_REGEX_INVALID, E_NAMED);
		return false;
	}
	bool ok = end > start;
	for (size_t k = start; k < end; k++)
		ok = ok && rx_is_word(ps->p[k]);
	if (!ok) {
		fail(ps, CGROUP_REGEX_INVALID, E_NAMED);
		return false;
	}
	struct kstr name = { (const char *)ps->p + start, (int32_t)(end - start) };
	for (int32_t k = 0; k < ps->names_n; k++) {
		if (ps->names[k].len == name.len && memcmp(ps->names[k].ptr, name.ptr, (size_t)name.len) == 0) {
			fail(ps, CGROUP_REGEX_INVALID, E_DUPLICATE);
			return false;
		}
	}
	if (ps->names_n >= CGROUP_REGEX_NAMES_MAX) {
		fail(ps, CGROUP_REGEX_LIMIT, "pattern has too many named groups");
		return false;
	}
	ps->names[ps->names_n++] = name;
	ps->pos = end + 1;
	return true;
}

/* After "(?": flags, then ')' (they hold for the rest of the group: false)
 * or ':' (a group follows: true). RE2's parsePerlFlags. */
static bool parse_flags(struct parser *ps, int *flags, bool *group)
{
	int on = 0, off = 0;
	bool negative = false, saw = false;
	while (!at_end(ps)) {
		int c = ps->p[ps->pos++];
		int bit = c == 'i' ? F_FOLD : c == 'm' ? F_MULTILINE : c == 's' ? F_DOTNL : c == 'U' ? F_UNGREEDY : 0;
		if (bit) {
			*(negative ? &off : &on) |= bit;
			saw = true;
		} else if (c == '-' && !negative) {
			negative = true;
			saw = false;
		} else if ((c == ':' || c == ')') && (!negative || saw)) {
			*flags = (*flags | on) & ~off;
			*group = c == ':';
			return true;
		} else {
			break;
		}
	}
	fail(ps, CGROUP_REGEX_INVALID, E_PERL);
	return false;
}

/* A group; pos is at '('. Inline flags without a group change *flags and
 * push nothing. */
static void parse_group(struct parser *ps, struct concat *cat, int *flags)
{
	ps->pos++;
	int inner = *flags;
	if (peek(ps, 0) == '?') {
		if (peek(ps, 1) == 'P' && peek(ps, 2) == '<') {
			if (!parse_group_name(ps, 3))
				return;
		} else if (peek(ps, 1) == '<') {
			if (!parse_group_name(ps, 2))
				return;
		} else {
			ps->pos++;
			bool group;
			if (!parse_flags(ps, &inner, &group))
				return;
			if (!group) {
				*flags = inner;
				return;
			}
		}
	}
	if (++ps->depth > CGROUP_REGEX_DEPTH_MAX) {
		fail(ps, CGROUP_REGEX_LIMIT, "pattern nests too deeply");
		return;
	}
	int32_t id = parse_alt(ps, &inner);
	ps->depth--;
	if (ps->rc != CGROUP_REGEX_OK)
		return;
	if (at_end(ps)) {
		fail(ps, CGROUP_REGEX_INVALID, E_PAREN);
		return;
	}
	assert(ps->p[ps->pos] == ')');
	ps->pos++;
	concat_push(cat, ps, id);
}

/* Items up to '|', ')' or the end, as one N_CAT node. */
static int32_t parse_concat(struct parser *ps, int *flags)
{
	struct concat cat = { -1, -1 };
	bool after_repeat = false;
	while (!at_end(ps) && ps->rc == CGROUP_REGEX_OK) {
		int c = ps->p[ps->pos];
		if (c == '|' || c == ')')
			break;
		int32_t min, max;
		size_t save = ps->pos;
		if (c == '*' || c == '+' || c == '?' || (c == '{' && parse_braces(ps, &min, &max))) {
			ps->pos = save;
			parse_repeat(ps, &cat, after_repeat);
			after_repeat = true;
			continue;
		}
		/* RE2/J counts a '{' that starts no repetition as one for the
		 * nested-operator check: "{*" is refused. */
		after_repeat = c == '{';
		int32_t id = -1;
		if (c == '(') {
			parse_group(ps, &cat, flags);
		} else if (c == '[') {
			ps->pos++;
			id = parse_class(ps, *flags);
		} else if (c == '\\') {
			parse_escape_atom(ps, &cat, *flags);
		} else if (c == '.') {
			ps->pos++;
			id = dot_node(ps, *flags);
		} else if (c == '^' || c == '$') {
			ps->pos++;
			bool multi = *flags & F_MULTILINE;
			id = assert_node(ps, c == '^' ? (multi ? A_BOL : A_BOT) : (multi ? A_EOL : A_EOT));
		} else {
			id = literal_node(ps, rx_utf8_next(ps->p, ps->n, &ps->pos), *flags);
		}
		if (id >= 0)
			concat_push(&cat, ps, id);
	}
	int32_t id = node_new(ps, N_CAT);
	if (id >= 0)
		ps->nodes[id].child = cat.first;
	return id;
}

/* Concatenations separated by '|', as one N_ALT node. */
static int32_t parse_alt(struct parser *ps, int *flags)
{
	struct concat alt = { -1, -1 };
	for (;;) {
		int32_t id = parse_concat(ps, flags);
		if (ps->rc != CGROUP_REGEX_OK)
			return -1;
		concat_push(&alt, ps, id);
		if (peek(ps, 0) != '|')
			break;
		ps->pos++;
	}
	int32_t id = node_new(ps, N_ALT);
	if (id >= 0)
		ps->nodes[id].child = alt.first;
	return id;
}

int rx_parse(struct kstr pattern, struct rx_tree *t, char *err, size_t err_len)
{
	assert(pattern.len >= 0 && pattern.len <= CGROUP_REGEX_PATTERN_MAX);
	assert(err || err_len == 0);
	struct parser ps = { .p = (const uint8_t *)pattern.ptr, .n = (size_t)pattern.len,
			     .rc = CGROUP_REGEX_OK, .err = err, .err_len = err_len };
	ps.nodes = malloc(sizeof(*ps.nodes) * CGROUP_REGEX_NODES_MAX);
	ps.ranges = malloc(sizeof(*ps.ranges) * CGROUP_REGEX_RANGES_MAX);
	int32_t root = -1;
	if (!ps.nodes || !ps.ranges) {
		fail(&ps, CGROUP_REGEX_LIMIT, "out of memory");
	} else {
		int flags = 0;
		root = parse_alt(&ps, &flags);
		/* RE2/J reports a stray ')' as an internal error. */
		if (ps.rc == CGROUP_REGEX_OK && !at_end(&ps))
			fail(&ps, CGROUP_REGEX_INVALID, E_INTERNAL);
	}
	*t = (struct rx_tree){ .nodes = ps.nodes, .nodes_n = ps.nodes_n, .ranges = ps.ranges,
			       .ranges_n = ps.ranges_n, .root = root };
	assert(ps.rc != CGROUP_REGEX_OK || (root >= 0 && root < ps.nodes_n));
	return ps.rc;
}

void rx_tree_free(struct rx_tree *t)
{
	assert(t);
	free(t->nodes);
	free(t->ranges);
	t->nodes = NULL;
	t->ranges = NULL;
}

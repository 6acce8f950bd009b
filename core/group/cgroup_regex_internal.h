/* What the topic-regex parser (cgroup_regex_parse.c) hands the compiler
 * (cgroup_regex.c): a syntax tree of nodes in one array, character classes
 * as sorted, merged code-point ranges in one pool. Private to the two. */
#ifndef SLUICE_CORE_GROUP_CGROUP_REGEX_INTERNAL_H
#define SLUICE_CORE_GROUP_CGROUP_REGEX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/group/cgroup_regex.h"

#define RX_RUNE_MAX 0x10FFFFu
#define RX_RUNE_BAD 0xFFFDu
#define RX_RUNE_EOF UINT32_MAX

enum node_kind { N_CLASS, N_ASSERT, N_CAT, N_ALT, N_REP };

enum assert_kind { A_BOT, A_EOT, A_BOL, A_EOL, A_WORD, A_NOT_WORD };

struct node {
	uint8_t kind;
	int32_t a;     /* N_CLASS: first range; N_ASSERT: kind; N_REP: min */
	int32_t b;     /* N_CLASS: range count; N_REP: max, -1 unbounded */
	int32_t child; /* N_CAT, N_ALT, N_REP: first child, -1 none */
	int32_t next;  /* next sibling, -1 none */
};

struct range {
	uint32_t lo, hi;
};

/* A parsed pattern; root is an N_ALT. */
struct rx_tree {
	struct node *nodes;
	int32_t nodes_n;
	struct range *ranges;
	int32_t ranges_n;
	int32_t root;
};

/* Parses pattern (at most CGROUP_REGEX_PATTERN_MAX bytes) into *t:
 * CGROUP_REGEX_OK, or _INVALID / _LIMIT with err set as for
 * cgroup_regex_compile. *t owns its arrays either way (free them with
 * rx_tree_free). */
int rx_parse(struct kstr pattern, struct rx_tree *t, char *err, size_t err_len);

void rx_tree_free(struct rx_tree *t);

/* The code point at s[*i], advancing *i past it; a malformed sequence is
 * U+FFFD, for as many bytes as Java's String(bytes, UTF_8) gives one. */
uint32_t rx_utf8_next(const uint8_t *s, size_t n, size_t *i);

/* \b's word characters: ASCII letters, digits and '_'. */
bool rx_is_word(uint32_t c);

#endif

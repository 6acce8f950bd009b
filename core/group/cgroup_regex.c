/* RE2-syntax topic regexes (cgroup_regex.h): the compiler (the parser's
 * tree -> Thompson-NFA program, repetitions expanded, bounded by
 * CGROUP_REGEX_PROG_MAX) and the full-match simulation (two sparse sets of
 * program counters, epsilon closure by an explicit stack). */
#include "core/group/cgroup_regex.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/cgroup_regex_internal.h"

enum op { OP_CLASS, OP_SPLIT, OP_JMP, OP_ASSERT, OP_MATCH };

struct inst {
	uint8_t op;
	int32_t x; /* OP_CLASS: first range; OP_SPLIT/OP_JMP: target; OP_ASSERT: kind */
	int32_t y; /* OP_CLASS: range count; OP_SPLIT: second target */
};

struct cgroup_regex {
	struct inst *prog;
	int32_t prog_n;
	struct range *ranges;
	int32_t ranges_n;
	/* Match scratch, prog_n entries each. */
	int32_t *dense[2];
	int32_t *sparse[2];
	int32_t *stack;
	size_t last_steps;
};

/* ---- the compiler: tree -> program; holes are chained through x or y ---- */

struct compiler {
	const struct node *nodes;
	struct inst *prog;
	int32_t n;
	int rc;
};

static int32_t emit(struct compiler *cc, enum op op, int32_t x, int32_t y)
{
	if (cc->n >= CGROUP_REGEX_PROG_MAX) {
		cc->rc = CGROUP_REGEX_LIMIT;
		return -1;
	}
	cc->prog[cc->n] = (struct inst){ .op = (uint8_t)op, .x = x, .y = y };
	return cc->n++;
}

/* Points every hole of a chain (through y when in_y, else x) at target. */
static void patch(struct compiler *cc, int32_t hole, bool in_y, int32_t target)
{
	while (hole >= 0) {
		struct inst *in = &cc->prog[hole];
		int32_t next = in_y ? in->y : in->x;
		*(in_y ? &in->y : &in->x) = target;
		hole = next;
	}
}

static void compile_node(struct compiler *cc, int32_t id);

static void compile_alt(struct compiler *cc, int32_t child)
{
	int32_t holes = -1;
	for (; child >= 0 && cc->rc == CGROUP_REGEX_OK; child = cc->nodes[child].next) {
		if (cc->nodes[child].next < 0) {
			compile_node(cc, child);
			break;
		}
		int32_t split = emit(cc, OP_SPLIT, 0, 0);
		if (split < 0)
			return;
		cc->prog[split].x = split + 1;
		compile_node(cc, child);
		int32_t jmp = emit(cc, OP_JMP, holes, 0);
		if (jmp < 0)
			return;
		holes = jmp;
		cc->prog[split].y = cc->n;
	}
	if (cc->rc == CGROUP_REGEX_OK)
		patch(cc, holes, false, cc->n);
}

static void compile_rep(struct compiler *cc, const struct node *nd)
{
	for (int32_t k = 0; k < nd->a && cc->rc == CGROUP_REGEX_OK; k++)
		compile_node(cc, nd->child);
	if (nd->b < 0) {
		int32_t loop = emit(cc, OP_SPLIT, 0, -1);
		if (loop < 0)
			return;
		cc->prog[loop].x = loop + 1;
		compile_node(cc, nd->child);
		if (emit(cc, OP_JMP, loop, 0) >= 0)
			cc->prog[loop].y = cc->n;
		return;
	}
	int32_t holes = -1;
	for (int32_t k = nd->a; k < nd->b && cc->rc == CGROUP_REGEX_OK; k++) {
		int32_t split = emit(cc, OP_SPLIT, 0, holes);
		if (split < 0)
			return;
		cc->prog[split].x = split + 1;
		holes = split;
		compile_node(cc, nd->child);
	}
	if (cc->rc == CGROUP_REGEX_OK)
		patch(cc, holes, true, cc->n);
}

static void compile_node(struct compiler *cc, int32_t id)
{
	assert(id >= 0);
	if (cc->rc != CGROUP_REGEX_OK)
		return;
	const struct node *nd = &cc->nodes[id];
	switch ((enum node_kind)nd->kind) {
	case N_CLASS:
		emit(cc, OP_CLASS, nd->a, nd->b);
		break;
	case N_ASSERT:
		emit(cc, OP_ASSERT, nd->a, 0);
		break;
	case N_CAT:
		for (int32_t k = nd->child; k >= 0 && cc->rc == CGROUP_REGEX_OK; k = cc->nodes[k].next)
			compile_node(cc, k);
		break;
	case N_ALT:
		compile_alt(cc, nd->child);
		break;
	case N_REP:
		compile_rep(cc, nd);
		break;
	}
}

/* ---- compile: parse, emit, keep exactly what the regex needs ---- */

static void set_err(char *err, size_t err_len, const char *msg)
{
	if (err_len > 0)
		snprintf(err, err_len, "%s", msg);
}

/* The regex of a parsed tree, or NULL with err set (out of memory or too
 * large a program). */
static struct cgroup_regex *regex_build(const struct rx_tree *t, char *err, size_t err_len)
{
	assert(t->root >= 0 && t->root < t->nodes_n);
	struct compiler cc = { .nodes = t->nodes, .n = 0, .rc = CGROUP_REGEX_OK };
	cc.prog = malloc(sizeof(*cc.prog) * CGROUP_REGEX_PROG_MAX);
	if (!cc.prog) {
		set_err(err, err_len, "out of memory");
		return NULL;
	}
	compile_node(&cc, t->root);
	emit(&cc, OP_MATCH, 0, 0);
	if (cc.rc != CGROUP_REGEX_OK) {
		free(cc.prog);
		set_err(err, err_len, "pattern compiles to too large a program");
		return NULL;
	}
	size_t n = (size_t)cc.n;
	struct cgroup_regex *re = calloc(1, sizeof(*re));
	if (!re) {
		free(cc.prog);
		set_err(err, err_len, "out of memory");
		return NULL;
	}
	struct inst *prog = realloc(cc.prog, sizeof(*prog) * n);
	re->prog = prog ? prog : cc.prog;
	re->prog_n = cc.n;
	re->ranges_n = t->ranges_n;
	re->ranges = malloc(sizeof(*re->ranges) * ((size_t)t->ranges_n + 1));
	for (int k = 0; k < 2; k++) {
		/* Sparse sets read sparse[] before trusting it: defined values
		 * keep the sanitizers quiet. */
		re->dense[k] = malloc(sizeof(int32_t) * n);
		re->sparse[k] = calloc(n, sizeof(int32_t));
	}
	re->stack = malloc(sizeof(int32_t) * n);
	if (!re->ranges || !re->dense[0] || !re->dense[1] || !re->sparse[0] || !re->sparse[1] || !re->stack) {
		cgroup_regex_free(re);
		set_err(err, err_len, "out of memory");
		return NULL;
	}
	memcpy(re->ranges, t->ranges, sizeof(*re->ranges) * (size_t)t->ranges_n);
	return re;
}

int cgroup_regex_compile(struct kstr pattern, struct cgroup_regex **out, char *err, size_t err_len)
{
	assert(out && pattern.len >= 0 && (pattern.ptr || pattern.len == 0));
	assert(err || err_len == 0);
	*out = NULL;
	if (err_len > 0)
		err[0] = '\0';
	if (pattern.len > CGROUP_REGEX_PATTERN_MAX) {
		set_err(err, err_len, "pattern is too long");
		return CGROUP_REGEX_LIMIT;
	}
	struct rx_tree t;
	int rc = rx_parse(pattern, &t, err, err_len);
	if (rc == CGROUP_REGEX_OK) {
		*out = regex_build(&t, err, err_len);
		if (!*out)
			rc = CGROUP_REGEX_LIMIT;
	}
	rx_tree_free(&t);
	assert((rc == CGROUP_REGEX_OK) == (*out != NULL));
	return rc;
}

void cgroup_regex_free(struct cgroup_regex *re)
{
	if (!re)
		return;
	free(re->prog);
	free(re->ranges);
	for (int k = 0; k < 2; k++) {
		free(re->dense[k]);
		free(re->sparse[k]);
	}
	free(re->stack);
	free(re);
}

size_t cgroup_regex_last_steps(const struct cgroup_regex *re)
{
	assert(re);
	return re->last_steps;
}

size_t cgroup_regex_prog_size(const struct cgroup_regex *re)
{
	assert(re);
	return (size_t)re->prog_n;
}

/* ---- the simulation ---- */

struct pcset {
	int32_t *dense, *sparse;
	int32_t n;
};

static bool pcset_has(const struct pcset *s, int32_t pc)
{
	int32_t k = s->sparse[pc];
	return k >= 0 && k < s->n && s->dense[k] == pc;
}

static void pcset_add(struct pcset *s, int32_t pc)
{
	s->sparse[pc] = s->n;
	s->dense[s->n++] = pc;
}

static bool assert_holds(int32_t kind, uint32_t prev, uint32_t next)
{
	switch ((enum assert_kind)kind) {
	case A_BOT:
		return prev == RX_RUNE_EOF;
	case A_EOT:
		return next == RX_RUNE_EOF;
	case A_BOL:
		return prev == RX_RUNE_EOF || prev == '\n';
	case A_EOL:
		return next == RX_RUNE_EOF || next == '\n';
	case A_WORD:
		return rx_is_word(prev) != rx_is_word(next);
	case A_NOT_WORD:
		return rx_is_word(prev) == rx_is_word(next);
	}
	return false;
}

static bool class_has(const struct cgroup_regex *re, const struct inst *in, uint32_t c)
{
	const struct range *r = re->ranges + in->x;
	int32_t lo = 0, hi = in->y;
	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;
		if (c > r[mid].hi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < in->y && r[lo].lo <= c;
}

/* Adds pc and everything it reaches without consuming, between prev and
 * next, to s. Each pc is pushed at most once, so the stack never holds more
 * than prog_n entries. */
static void closure(struct cgroup_regex *re, struct pcset *s, int32_t pc, uint32_t prev, uint32_t next)
{
	int32_t top = 0;
	if (pcset_has(s, pc))
		return;
	pcset_add(s, pc);
	re->stack[top++] = pc;
	while (top > 0) {
		const struct inst *in = &re->prog[re->stack[--top]];
		re->last_steps++;
		int32_t to[2];
		int n = 0;
		if (in->op == OP_JMP)
			to[n++] = in->x;
		else if (in->op == OP_SPLIT) {
			to[n++] = in->y;
			to[n++] = in->x;
		} else if (in->op == OP_ASSERT && assert_holds(in->x, prev, next))
			to[n++] = (int32_t)(in - re->prog) + 1;
		for (int k = 0; k < n; k++) {
			if (pcset_has(s, to[k]))
				continue;
			assert(top < re->prog_n);
			pcset_add(s, to[k]);
			re->stack[top++] = to[k];
		}
	}
}

bool cgroup_regex_full_match(struct cgroup_regex *re, struct kstr text)
{
	assert(re && re->prog_n > 0 && re->prog[re->prog_n - 1].op == OP_MATCH);
	assert(text.len >= 0 && (text.ptr || text.len == 0));
	const uint8_t *t = (const uint8_t *)text.ptr;
	size_t n = (size_t)text.len, i = 0;
	struct pcset cur = { re->dense[0], re->sparse[0], 0 }, nxt = { re->dense[1], re->sparse[1], 0 };
	re->last_steps = 0;
	uint32_t prev = RX_RUNE_EOF;
	uint32_t c = n > 0 ? rx_utf8_next(t, n, &i) : RX_RUNE_EOF;
	closure(re, &cur, 0, prev, c);
	while (c != RX_RUNE_EOF && cur.n > 0) {
		uint32_t after = i < n ? rx_utf8_next(t, n, &i) : RX_RUNE_EOF;
		nxt.n = 0;
		for (int32_t k = 0; k < cur.n; k++) {
			const struct inst *in = &re->prog[cur.dense[k]];
			re->last_steps++;
			if (in->op == OP_CLASS && class_has(re, in, c))
				closure(re, &nxt, cur.dense[k] + 1, c, after);
		}
		struct pcset swap = cur;
		cur = nxt;
		nxt = swap;
		prev = c;
		c = after;
	}
	return c == RX_RUNE_EOF && pcset_has(&cur, re->prog_n - 1);
}

/* Topic regular expressions of the consumer protocol (KIP-848's
 * SubscribedTopicRegex), matched the way Kafka 4.4's group coordinator does:
 * compiled with RE2/J's syntax and default flags (Pattern.compile(regex)),
 * and tested against each topic name as a full match (matcher().matches()).
 *
 * Our own engine: a recursive-descent parser to a small syntax tree, then a
 * Thompson-NFA program run as a set simulation, so a match costs at most
 * (text code points + 1) x program size steps and never backtracks: a
 * pattern from the wire cannot cost exponential time. Pure: no I/O, no
 * globals. A compiled regex holds its own match scratch, so it is used by
 * one caller at a time (the group's shard owns it).
 *
 * Syntax: RE2's (literals, ., [...] with ranges, escapes, [:posix:] and
 * Perl classes, \d \w \s and negations, ^ $ \A \z \b \B, |, ( ), (?: ),
 * (?P<name> ) and (?<name> ), * + ? {n} {n,} {n,m} and their lazy forms,
 * inline flags i m s U, \Q...\E, octal and \x escapes). Refused with RE2/J's
 * descriptions (PatternSyntaxException.getDescription): backreferences,
 * lookaround, possessive and nested repetition, counts over 1000, bad
 * escapes and ranges, unbalanced parentheses and brackets.
 *
 * Where it differs from RE2/J, said once here: the Unicode classes \pX and
 * \p{Name} are not supported (compile returns -2); (?i) folds ASCII letters
 * and the two non-ASCII code points that fold to them (U+017F, U+212A) only;
 * patterns whose program exceeds CGROUP_REGEX_PROG_MAX, nest deeper than
 * CGROUP_REGEX_DEPTH_MAX or are longer than CGROUP_REGEX_PATTERN_MAX return
 * -2. Bytes that are not UTF-8 (in the pattern or the text) become U+FFFD
 * by the rules of Java's String(bytes, UTF_8), which is how the wire string
 * reaches RE2/J in Kafka: such a pattern is not refused. */
#ifndef SLUICE_CORE_GROUP_CGROUP_REGEX_H
#define SLUICE_CORE_GROUP_CGROUP_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/cursor.h"

enum {
	/* Bytes of one pattern. */
	CGROUP_REGEX_PATTERN_MAX = 4096,
	/* Instructions of one compiled program (repetitions are expanded). */
	CGROUP_REGEX_PROG_MAX = 32768,
	/* Syntax-tree nodes of one pattern before expansion. */
	CGROUP_REGEX_NODES_MAX = 2 * CGROUP_REGEX_PATTERN_MAX + 16,
	/* Code-point ranges over all character classes of one pattern. */
	CGROUP_REGEX_RANGES_MAX = 16384,
	/* Nested groups and repetitions. */
	CGROUP_REGEX_DEPTH_MAX = 256,
	/* Named groups of one pattern. */
	CGROUP_REGEX_NAMES_MAX = 256,
	/* RE2's largest repetition count. */
	CGROUP_REGEX_REPEAT_MAX = 1000,
};

enum {
	CGROUP_REGEX_OK = 0,
	CGROUP_REGEX_INVALID = -1,
	CGROUP_REGEX_LIMIT = -2,
};

struct cgroup_regex;

/* Compiles pattern. 0: *out owns the regex. -1: not a valid RE2 pattern,
 * err holds RE2/J's description. -2: out of memory, beyond one of the limits
 * above or using syntax this engine lacks (err says which). *out is NULL on
 * failure. err_len may be 0. */
int cgroup_regex_compile(struct kstr pattern, struct cgroup_regex **out, char *err, size_t err_len);

/* True when all of text matches re (RE2/J's Matcher.matches()). */
bool cgroup_regex_full_match(struct cgroup_regex *re, struct kstr text);

/* Steps the last full match took (closure visits): for the tests' bound. */
size_t cgroup_regex_last_steps(const struct cgroup_regex *re);

/* Instructions of re's program. */
size_t cgroup_regex_prog_size(const struct cgroup_regex *re);

void cgroup_regex_free(struct cgroup_regex *re);

#endif

/* Topic regexes (core/group/cgroup_regex.c) against what Kafka 4.4's RE2/J
 * says: a table of (pattern, text, full match?) cases and a table of
 * invalid patterns with RE2/J's descriptions, both checked against
 * com.google.re2j 1.8 by tests/core/group/re2j_check.py; the limits; and
 * pathological patterns whose cost is bounded in steps, not timed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/cgroup_regex.h"

struct match_case {
	const char *pattern;
	const char *text;
	bool match;
};

/* One case per line: re2j_check.py reads them. */
static const struct match_case MATCHES[] = {
	{ "", "", true },
	{ "", "a", false },
	{ "abc", "abc", true },
	{ "abc", "abcd", false },
	{ "abc", "xabc", false },
	{ "topic-.*", "topic-1", true },
	{ "topic-.*", "topic-", true },
	{ "topic-.*", "topic", false },
	{ "topic\\..*", "topic.a", true },
	{ "topic\\..*", "topicXa", false },
	{ "a.c", "a\nc", false },
	{ "(?s)a.c", "a\nc", true },
	{ "a|b|c", "b", true },
	{ "a|b|c", "d", false },
	{ "ab|cd", "abd", false },
	{ "(ab|cd)+", "abcdab", true },
	{ "(ab|cd)+", "", false },
	{ "(?:ab)*", "", true },
	{ "a+", "aaa", true },
	{ "a+?", "aaa", true },
	{ "a*?b", "aab", true },
	{ "a??b", "b", true },
	{ "a?b", "aab", false },
	{ "a{3}", "aaa", true },
	{ "a{3}", "aa", false },
	{ "a{3}", "aaaa", false },
	{ "a{2,}", "aaaaa", true },
	{ "a{2,}", "a", false },
	{ "a{2,3}", "aaa", true },
	{ "a{2,3}", "aaaa", false },
	{ "a{2,3}?", "aa", true },
	{ "a{0}", "", true },
	{ "a{0,0}b", "b", true },
	{ "a{,3}", "a{,3}", true },
	{ "a{,3}", "aaa", false },
	{ "a{01}", "a{01}", true },
	{ "a{1,01}", "a{1,01}", true },
	{ "a{0}b", "b", true },
	{ "a{0,1}", "a", true },
	{ "a{10}", "aaaaaaaaaa", true },
	{ "\\\xc3\xa9", "\xc3\xa9", true },
	{ "\\\xe6\x97\xa5+", "\xe6\x97\xa5\xe6\x97\xa5", true },
	{ "a{", "a{", true },
	{ "a{1", "a{1", true },
	{ "a{1,2", "a{1,2", true },
	{ "{", "{", true },
	{ "}", "}", true },
	{ "]", "]", true },
	{ "x{1000}", "x", false },
	{ "[a-c]+", "abcab", true },
	{ "[a-c]+", "abd", false },
	{ "[^a-c]", "d", true },
	{ "[^a-c]", "b", false },
	{ "[^a]", "\n", true },
	{ "[]a]+", "]a]", true },
	{ "[^]a]", "b", true },
	{ "[^]a]", "]", false },
	{ "[a-]+", "a-a", true },
	{ "[-a]+", "-a", true },
	{ "[a-c-e]+", "a-e", true },
	{ "[a-c-e]", "d", false },
	{ "[.]", ".", true },
	{ "[.]", "a", false },
	{ "[\\]]", "]", true },
	{ "[\\d]+", "0123", true },
	{ "[\\D]", "0", false },
	{ "[\\w.-]+", "my.topic-1_a", true },
	{ "[\\s]", "\t", true },
	{ "[\\S]", " ", false },
	{ "[\\d-z]+", "1-z", true },
	{ "[[:alpha:]]+", "abcXYZ", true },
	{ "[[:alpha:]]", "1", false },
	{ "[[:^alpha:]]", "1", true },
	{ "[[:digit:][:upper:]]+", "A1B2", true },
	{ "[[:punct:]]+", "!/:@[`{~", true },
	{ "[[:word:]]+", "a_1", true },
	{ "[[:space:]]", "\v", true },
	{ "[[:blank:]]", "\n", false },
	{ "[[:xdigit:]]+", "09afAF", true },
	{ "[[:xdigit:]]", "g", false },
	{ "[[:cntrl:]]", "\x01", true },
	{ "[[:ascii:]]+", "a~", true },
	{ "[[:print:]]", "\x7f", false },
	{ "[[:graph:]]", " ", false },
	{ "[[:lower:]]", "A", false },
	{ "(?i)[[:lower:]]", "A", true },
	{ "[[:x]", "[", true },
	{ "[[:x]", ":", true },
	{ "\\d+", "123", true },
	{ "\\d", "a", false },
	{ "\\D", "a", true },
	{ "\\w+", "Ab_9", true },
	{ "\\W", "-", true },
	{ "\\W", "_", false },
	{ "\\s", " ", true },
	{ "\\s", "\v", false },
	{ "\\S", "x", true },
	{ "^abc$", "abc", true },
	{ "^abc", "abc", true },
	{ "a^b", "ab", false },
	{ "a$b", "ab", false },
	{ "a$", "a\n", false },
	{ "(?m)a$\\n^b", "a\nb", true },
	{ "a$\\n^b", "a\nb", false },
	{ "(?m)^a$", "a", true },
	{ "\\Aabc\\z", "abc", true },
	{ "^*a", "a", true },
	{ "$+", "", true },
	{ "a\\b", "a", true },
	{ "a\\bb", "ab", false },
	{ "a\\b-", "a-", true },
	{ "a\\Bb", "ab", true },
	{ "\\b", "", false },
	{ "\\B", "", true },
	{ "(?i)topic", "ToPiC", true },
	{ "(?i)TOPIC", "topic", true },
	{ "(?i)[a-c]+", "AbC", true },
	{ "(?i)[^a]", "A", false },
	{ "(?i)[^k]", "K", false },
	{ "(?i)\\x{212a}", "k", true },
	{ "(?i)\\x{17f}", "S", true },
	{ "(?i)k", "\xe2\x84\xaa", true },
	{ "(?i)a(?-i)b", "Ab", true },
	{ "(?i)a(?-i)b", "AB", false },
	{ "(?i:a)b", "Ab", true },
	{ "(?i:a)b", "AB", false },
	{ "a(?i)b|c", "C", true },
	{ "(a(?i)b)c", "aBc", true },
	{ "(a(?i)b)c", "aBC", false },
	{ "(?i-i)a", "A", false },
	{ "(?)a", "a", true },
	{ "(?U)a+", "aa", true },
	{ "(?U)a+?", "aa", true },
	{ "(?ms)^a.$", "a\n", true },
	{ "(?P<name>a)b", "ab", true },
	{ "(?<name>a)(?<other>b)", "ab", true },
	{ "()", "", true },
	{ "(|)", "", true },
	{ "a|", "", true },
	{ "|a", "a", true },
	{ "\\Qa.b\\E", "a.b", true },
	{ "\\Qa.b\\E", "axb", false },
	{ "\\Qa.b", "a.b", true },
	{ "\\Qab\\E+", "abb", true },
	{ "\\Qab\\E+", "abab", false },
	{ "x\\Q\\E*", "xxx", true },
	{ "a(?i)*", "aaa", true },
	{ "a*(?i)*", "aaa", true },
	{ "a{,2}*", "a{,2}}}", true },
	{ "{a*", "{aa", true },
	{ "\\{*", "{{", true },
	{ "{}*", "{}}", true },
	{ "\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\", ".*+?()[]{}|^$\\", true },
	{ "\\_\\ \\-", "_ -", true },
	{ "\\x41\\x{42}", "AB", true },
	{ "\\x{10FFFF}", "\xf4\x8f\xbf\xbf", true },
	{ "\\101", "A", true },
	{ "\\12", "\n", true },
	{ "\\0", "\x01", false },
	{ "\\1234", "S4", true },
	{ "\\a\\f\\t\\n\\r\\v", "\a\f\t\n\r\v", true },
	{ "caf\xc3\xa9", "caf\xc3\xa9", true },
	{ "caf.", "caf\xc3\xa9", true },
	{ "caf..", "caf\xc3\xa9", false },
	{ "[\xc3\xa0-\xc3\xbf]", "\xc3\xa9", true },
	{ "\xe2\x82\xac+", "\xe2\x82\xac\xe2\x82\xac", true },
	{ ".", "\xf0\x9f\x98\x80", true },
	{ "..", "\xf0\x9f\x98\x80", false },
	{ "\\x{FFFD}", "\xff", true },
	{ "\xff", "\xef\xbf\xbd", true },
	{ "a\xe2\x82", "a\xef\xbf\xbd", true },
	{ "\xed\xa0\x80", "\xef\xbf\xbd", true },
	{ "\xed\xa0", "\xef\xbf\xbd", true },
	{ "\xe0\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", true },
	{ "\xe2\x82\x61", "\xef\xbf\xbd\x61", true },
	{ "\xe2\x61", "\xef\xbf\xbd\x61", true },
	{ "\xf0\x9f\x98", "\xef\xbf\xbd", true },
	{ "\xf0\x9f\x61", "\xef\xbf\xbd\x61", true },
	{ "\xf0\x9f\x61\x80", "\xef\xbf\xbd\x61\xef\xbf\xbd", true },
	{ "\xf0\x80\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", true },
	{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", true },
	{ "\xf8\x88", "\xef\xbf\xbd\xef\xbf\xbd", true },
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", true },
	{ "\\x{FFFD}\\x{FFFD}", "\xed\xa0\x80", false },
	{ ".", "\xe2\x82", true },
	{ "..", "\xe2\x82", false },
	{ "..", "\xf0\x9f\x98", false },
	{ "[^a]+", "\xff\xfe\xc3", true },
	{ "(a*)*", "aaaa", true },
	{ "(a*)*b", "aaaa", false },
	{ "(a|aa)*", "aaaaa", true },
	{ "(a?){5}a{5}", "aaaaa", true },
	{ "(x+x+)+y", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", false },
	{ "(?:(?:a{2}){3}){2}", "aaaaaaaaaaaa", true },
	{ "(?:(?:a{2}){3}){2}", "aaaaaaaaaaa", false },
	{ "(a{100}){10}", "a", false },
	{ "__consumer_offsets|_.*", "__consumer_offsets", true },
};

struct invalid_case {
	const char *pattern;
	const char *description;
};

/* One case per line: re2j_check.py reads them. */
static const struct invalid_case INVALID[] = {
	{ "(a", "missing closing )" },
	{ "((a)", "missing closing )" },
	{ "a)", "regexp/syntax: internal error" },
	{ ")", "regexp/syntax: internal error" },
	{ "a|)", "regexp/syntax: internal error" },
	{ "*a", "missing argument to repetition operator" },
	{ "+", "missing argument to repetition operator" },
	{ "a|*", "missing argument to repetition operator" },
	{ "(*)", "missing argument to repetition operator" },
	{ "{2}", "missing argument to repetition operator" },
	{ "(?i)*", "missing argument to repetition operator" },
	{ "\\Q\\E*", "missing argument to repetition operator" },
	{ "a**", "invalid nested repetition operator" },
	{ "a*+", "invalid nested repetition operator" },
	{ "a++", "invalid nested repetition operator" },
	{ "a?+", "invalid nested repetition operator" },
	{ "a{2}{3}", "invalid nested repetition operator" },
	{ "a{2}*", "invalid nested repetition operator" },
	{ "a*??", "invalid nested repetition operator" },
	{ "{*", "invalid nested repetition operator" },
	{ "x{?", "invalid nested repetition operator" },
	{ "{{2}", "invalid nested repetition operator" },
	{ "a{1001}", "invalid repeat count" },
	{ "a{1,1001}", "invalid repeat count" },
	{ "a{99999999999}", "invalid repeat count" },
	{ "x{2,1}", "invalid repeat count" },
	{ "a**{1001}", "invalid nested repetition operator" },
	{ "a*{1001}", "invalid repeat count" },
	{ "{1001}", "invalid repeat count" },
	{ "\\1", "invalid escape sequence" },
	{ "(a)\\1", "invalid escape sequence" },
	{ "\\8", "invalid escape sequence" },
	{ "\\C", "invalid escape sequence" },
	{ "\\Z", "invalid escape sequence" },
	{ "\\e", "invalid escape sequence" },
	{ "\\N", "invalid escape sequence" },
	{ "\\xg", "invalid escape sequence" },
	{ "\\x{", "invalid escape sequence" },
	{ "\\x{}", "invalid escape sequence" },
	{ "\\x{110000}", "invalid escape sequence" },
	{ "\\x{41", "invalid escape sequence" },
	{ "\\x4", "invalid escape sequence" },
	{ "[\\Q]\\E]", "invalid escape sequence" },
	{ "[a-\\d]", "invalid escape sequence" },
	{ "[\\b]", "invalid escape sequence" },
	{ "[\\A]", "invalid escape sequence" },
	{ "\\", "trailing backslash at end of expression" },
	{ "a\\", "trailing backslash at end of expression" },
	{ "[a\\", "trailing backslash at end of expression" },
	{ "[z-a]", "invalid character class range" },
	{ "[\\x{10}-\\x{0F}]", "invalid character class range" },
	{ "[[:foo:]]", "invalid character class range" },
	{ "[[:a]b:]]", "invalid character class range" },
	{ "[a", "missing closing ]" },
	{ "[]", "missing closing ]" },
	{ "[^]", "missing closing ]" },
	{ "[a-", "missing closing ]" },
	{ "[[:alpha:]", "missing closing ]" },
	{ "(?=a)", "invalid or unsupported Perl syntax" },
	{ "(?!a)", "invalid or unsupported Perl syntax" },
	{ "(?-)", "invalid or unsupported Perl syntax" },
	{ "(?x)", "invalid or unsupported Perl syntax" },
	{ "(?i", "invalid or unsupported Perl syntax" },
	{ "(?", "invalid or unsupported Perl syntax" },
	{ "(?i-)", "invalid or unsupported Perl syntax" },
	{ "(?--i)", "invalid or unsupported Perl syntax" },
	{ "(?P=n)", "invalid or unsupported Perl syntax" },
	{ "(?P>n)", "invalid or unsupported Perl syntax" },
	{ "(?<=a)", "invalid named capture" },
	{ "(?<!a)", "invalid named capture" },
	{ "(?<>a)", "invalid named capture" },
	{ "(?P<>a)", "invalid named capture" },
	{ "(?P<a-b>x)", "invalid named capture" },
	{ "(?P<n", "invalid named capture" },
	{ "(?P<n>a)(?P<n>b)", "duplicate capture group name" },
	{ "(?<n>a)(?P<n>b)", "duplicate capture group name" },
};

static struct cgroup_regex *compile_ok(const char *pattern)
{
	struct cgroup_regex *re = NULL;
	char err[128];
	int rc = cgroup_regex_compile((struct kstr){ pattern, (int32_t)strlen(pattern) }, &re, err, sizeof(err));
	if (rc != CGROUP_REGEX_OK)
		fail_msg("pattern `%s`: %d %s", pattern, rc, err);
	return re;
}

static bool full_match(struct cgroup_regex *re, const char *text)
{
	return cgroup_regex_full_match(re, (struct kstr){ text, (int32_t)strlen(text) });
}

static void test_match_table(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(MATCHES) / sizeof(MATCHES[0]); k++) {
		const struct match_case *mc = &MATCHES[k];
		struct cgroup_regex *re = compile_ok(mc->pattern);
		if (full_match(re, mc->text) != mc->match)
			fail_msg("pattern `%s` on \"%s\": expected %d", mc->pattern, mc->text, mc->match);
		cgroup_regex_free(re);
	}
}

static void test_invalid_table(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(INVALID) / sizeof(INVALID[0]); k++) {
		const struct invalid_case *ic = &INVALID[k];
		struct cgroup_regex *re = (struct cgroup_regex *)&re;
		char err[128];
		int rc = cgroup_regex_compile((struct kstr){ ic->pattern, (int32_t)strlen(ic->pattern) }, &re, err,
					      sizeof(err));
		if (rc != CGROUP_REGEX_INVALID || strcmp(err, ic->description) != 0)
			fail_msg("pattern `%s`: %d \"%s\", expected \"%s\"", ic->pattern, rc, err, ic->description);
		assert_null(re);
	}
}

static int compile_rc(const char *pattern, size_t len)
{
	struct cgroup_regex *re = NULL;
	char err[128];
	int rc = cgroup_regex_compile((struct kstr){ pattern, (int32_t)len }, &re, err, sizeof(err));
	assert_true(rc == CGROUP_REGEX_OK || err[0] != '\0');
	cgroup_regex_free(re);
	return rc;
}

/* Patterns beyond this engine's limits or syntax: -2, never a wrong answer. */
static void test_limits(void **state)
{
	(void)state;
	assert_int_equal(compile_rc("(a{1000}){1000}", 15), CGROUP_REGEX_LIMIT);
	assert_int_equal(compile_rc("\\pN", 3), CGROUP_REGEX_LIMIT);
	assert_int_equal(compile_rc("[\\p{Greek}]", 11), CGROUP_REGEX_LIMIT);
	size_t n = CGROUP_REGEX_PATTERN_MAX + 1;
	char *long_pattern = malloc(n);
	assert_non_null(long_pattern);
	memset(long_pattern, 'a', n);
	assert_int_equal(compile_rc(long_pattern, n), CGROUP_REGEX_LIMIT);
	assert_int_equal(compile_rc(long_pattern, n - 1), CGROUP_REGEX_OK);
	/* Nesting: DEPTH_MAX groups compile, one more does not. */
	int depth = CGROUP_REGEX_DEPTH_MAX;
	for (int k = 0; k < depth; k++) {
		long_pattern[k] = '(';
		long_pattern[depth + k] = ')';
	}
	assert_int_equal(compile_rc(long_pattern, 2 * (size_t)depth), CGROUP_REGEX_OK);
	for (int k = 0; k <= depth; k++) {
		long_pattern[k] = '(';
		long_pattern[depth + 1 + k] = ')';
	}
	assert_int_equal(compile_rc(long_pattern, 2 * (size_t)depth + 2), CGROUP_REGEX_LIMIT);
	free(long_pattern);
}

/* Patterns that make a backtracking engine take exponential time cost at
 * most (text code points + 1) x program size closure steps here. */
static void test_pathological_bounded(void **state)
{
	(void)state;
	static const char *const patterns[] = {
		"(a*)*b", "(a+)+b", "(a|a)*b", "(a|aa)+b", "(x+x+)+y", "((a*)*)*b",
		"(a?){30}a{30}b", "(a{1000})*b", "(?:a*a*a*a*a*a*a*)*b", "(a|a?)+b",
	};
	size_t n = 5000;
	char *text = malloc(n + 1);
	assert_non_null(text);
	for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
		char c = strchr(patterns[k], 'x') ? 'x' : 'a';
		memset(text, c, n);
		text[n] = '\0';
		struct cgroup_regex *re = compile_ok(patterns[k]);
		assert_false(full_match(re, text));
		size_t bound = (n + 1) * 2 * cgroup_regex_prog_size(re);
		if (cgroup_regex_last_steps(re) > bound)
			fail_msg("`%s`: %zu steps, bound %zu", patterns[k], cgroup_regex_last_steps(re), bound);
		cgroup_regex_free(re);
	}
	free(text);
}

/* A compiled regex is reused across texts (its scratch is reset). */
static void test_reuse(void **state)
{
	(void)state;
	struct cgroup_regex *re = compile_ok("orders-(eu|us)-[0-9]+");
	assert_true(full_match(re, "orders-eu-1"));
	assert_false(full_match(re, "orders-asia-1"));
	assert_true(full_match(re, "orders-us-42"));
	assert_false(full_match(re, "orders-us-"));
	cgroup_regex_free(re);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_invalid_table),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pathological_bounded),
		cmocka_unit_test(test_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

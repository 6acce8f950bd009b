/* The OMB workload parser: a standard file parses into its fields; unknown
 * keys, malformed values, values out of bounds, over-long lines, repeated or
 * missing keys and nested YAML are refused with the line named. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/omb_workload.h"

static const char GOOD[] =
	"# a comment\n"
	"---\n"
	"name: 1 topic / 100 partitions / 1Kb / 4p 4c\n"
	"\n"
	"topics: 1\r\n"
	"partitionsPerTopic: 100\n"
	"messageSize: 1024\n"
	"payloadFile: \"payload/payload-1Kb.data\"   # OMB's payload\n"
	"subscriptionsPerTopic: 1\n"
	"consumerPerSubscription: 4\n"
	"producersPerTopic: 4\n"
	"producerRate: 200000\n"
	"consumerBacklogSizeGB: 0\n"
	"testDurationMinutes: 15\n"
	"warmupDurationMinutes: 0.5";

static int parse(const char *text, char *err)
{
	struct omb_workload w;
	return omb_workload_parse(text, strlen(text), &w, err, OMB_ERR_BYTES);
}

/* GOOD with line `n` (1-based) replaced by `line`. */
static char *good_with(int n, const char *line)
{
	char *out = calloc(1, sizeof(GOOD) + strlen(line) + 1);
	const char *p = GOOD;
	for (int i = 1; *p; i++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (i == n) {
			strcat(out, line);
			strcat(out, "\n");
		} else {
			strncat(out, p, len);
		}
		p += len;
	}
	return out;
}

static void test_good_file(void **state)
{
	(void)state;
	struct omb_workload w;
	char err[OMB_ERR_BYTES] = "";
	assert_int_equal(omb_workload_parse(GOOD, strlen(GOOD), &w, err, sizeof(err)), 0);
	assert_string_equal(w.name, "1 topic / 100 partitions / 1Kb / 4p 4c");
	assert_string_equal(w.payload_file, "payload/payload-1Kb.data");
	assert_int_equal(w.topics, 1);
	assert_int_equal(w.partitions_per_topic, 100);
	assert_int_equal(w.message_size, 1024);
	assert_int_equal(w.subscriptions_per_topic, 1);
	assert_int_equal(w.consumer_per_subscription, 4);
	assert_int_equal(w.producers_per_topic, 4);
	assert_true(w.producer_rate == 200000);
	assert_true(w.test_duration_minutes == 15);
	assert_true(w.warmup_duration_minutes == 0.5);
}

static void test_warmup_defaults_to_one_minute(void **state)
{
	(void)state;
	char *text = good_with(15, "");
	struct omb_workload w;
	char err[OMB_ERR_BYTES];
	assert_int_equal(omb_workload_parse(text, strlen(text), &w, err, sizeof(err)), 0);
	assert_true(w.warmup_duration_minutes == 1);
	free(text);
}

/* Line `n` replaced by `line` is refused with `why`, naming line `n`. */
static void refused(int n, const char *line, const char *why)
{
	char *text = good_with(n, line);
	char err[OMB_ERR_BYTES] = "", want[64];
	assert_int_equal(parse(text, err), -1);
	snprintf(want, sizeof(want), "line %d: ", n);
	if (!strstr(err, want) || !strstr(err, why))
		fail_msg("'%s' gave '%s'", line, err);
	free(text);
}

static void test_unknown_key(void **state)
{
	(void)state;
	refused(6, "keyDistributor: NO_KEY", "unknown key 'keyDistributor'");
	refused(6, "partitionsPerTopics: 3", "unknown key");
}

static void test_malformed_values(void **state)
{
	(void)state;
	refused(6, "partitionsPerTopic: many", "is not a number");
	refused(6, "partitionsPerTopic: 1.5", "is not an integer");
	refused(6, "partitionsPerTopic: 0", "is not from 1");
	refused(6, "partitionsPerTopic: 100000", "is not from 1");
	refused(6, "partitionsPerTopic:", "no value");
	refused(7, "messageSize: 4", "is not from 8");
	refused(12, "producerRate: -1", "is not from 0");
	refused(13, "consumerBacklogSizeGB: 1", "builds no backlog");
	refused(8, "payloadFile: \"open", "quote is not closed");
	refused(8, "payloadFile: \"a\" b", "text follows");
	refused(6, "  partitionsPerTopic: 1", "indented");
	refused(6, "partitionsPerTopic 1", "not a 'key: value' line");
	refused(7, "topics: 2", "topics given twice");
}

static void test_too_long_line(void **state)
{
	(void)state;
	char line[OMB_LINE_BYTES_MAX + 16];
	snprintf(line, sizeof(line), "name: ");
	memset(line + 6, 'x', OMB_LINE_BYTES_MAX);
	line[OMB_LINE_BYTES_MAX + 1] = '\0';
	refused(3, line, "longer than 256 bytes");
	char name[OMB_STRING_BYTES + 16];
	snprintf(name, sizeof(name), "name: ");
	memset(name + 6, 'n', OMB_STRING_BYTES);
	name[OMB_STRING_BYTES + 6] = '\0';
	refused(3, name, "longer than 199 bytes");
}

static void test_missing_key_and_totals(void **state)
{
	(void)state;
	char *text = good_with(12, "");
	char err[OMB_ERR_BYTES] = "";
	assert_int_equal(parse(text, err), -1);
	assert_non_null(strstr(err, "producerRate is missing"));
	free(text);
	text = good_with(10, "consumerPerSubscription: 65");
	assert_int_equal(parse(text, err), -1);
	free(text);
	text = good_with(5, "topics: 16"); /* 16 x 4 producers, 16 x 1 x 4 consumers: at the bounds */
	assert_int_equal(parse(text, err), 0);
	free(text);
	text = good_with(5, "topics: 17");
	assert_int_equal(parse(text, err), -1);
	assert_non_null(strstr(err, "topics x producersPerTopic is over 64"));
	free(text);
}

static void test_load_names_the_file(void **state)
{
	(void)state;
	char path[] = "/tmp/omb-workload-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("topics: x\n", f);
	fclose(f);
	struct omb_workload w;
	char err[OMB_ERR_BYTES] = "";
	assert_int_equal(omb_workload_load(path, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 1: topics: 'x' is not a number"));
	remove(path);
	assert_int_equal(omb_workload_load(path, &w, err, sizeof(err)), -1);
}

/* Every workload shipped in perf/workloads/ parses. */
static void test_shipped_workloads_parse(void **state)
{
	(void)state;
	DIR *d = opendir(OMB_WORKLOADS_DIR);
	assert_non_null(d);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 5, ".yaml"))
			continue;
		char path[1024], err[OMB_ERR_BYTES] = "";
		snprintf(path, sizeof(path), "%s/%s", OMB_WORKLOADS_DIR, e->d_name);
		struct omb_workload w;
		if (omb_workload_load(path, &w, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		files++;
	}
	closedir(d);
	assert_true(files >= 5);
}

static void test_control_bytes(void **state)
{
	(void)state;
	refused(3, "name: a\x01" "b", "a control byte (0x01)");
	struct omb_workload w;
	char err[OMB_ERR_BYTES] = "";
	const char nul[] = "topics: 1\n\0topics: 2\n";
	assert_int_equal(omb_workload_parse(nul, sizeof(nul) - 1, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2: a control byte (0x00)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_warmup_defaults_to_one_minute),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_malformed_values),
		cmocka_unit_test(test_too_long_line),
		cmocka_unit_test(test_missing_key_and_totals),
		cmocka_unit_test(test_load_names_the_file),
		cmocka_unit_test(test_shipped_workloads_parse),
		cmocka_unit_test(test_control_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

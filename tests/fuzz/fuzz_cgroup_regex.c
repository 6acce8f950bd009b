/* Fuzz target: a consumer group's SubscribedTopicRegex (which any client
 * sends in ConsumerGroupHeartbeat) through cgroup_regex_compile, then a full
 * match. The input is the pattern, then optionally '\n' and the text (else
 * the text is a few topic names). Compile returns 0 with a regex, or -1/-2
 * with a description and nothing allocated; a match takes at most
 * (text code points + 1) x 2 x program size steps, and gives the same answer
 * twice. Seeds: corpus/cgroup_regex/ (topic patterns as clients write them,
 * and pathological ones). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/cgroup_regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_match(struct cgroup_regex *re, const char *text, size_t len)
{
	struct kstr t = { text, (int32_t)len };
	bool first = cgroup_regex_full_match(re, t);
	size_t steps = cgroup_regex_last_steps(re);
	assert(steps <= (len + 1) * 2 * cgroup_regex_prog_size(re));
	assert(cgroup_regex_full_match(re, t) == first);
	assert(cgroup_regex_last_steps(re) == steps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INT32_MAX)
		return 0;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t pattern_len = nl ? (size_t)(nl - data) : size;
	struct cgroup_regex *re = NULL;
	char err[128];
	int rc = cgroup_regex_compile((struct kstr){ (const char *)data, (int32_t)pattern_len }, &re, err,
				      sizeof(err));
	if (rc != CGROUP_REGEX_OK) {
		assert(rc == CGROUP_REGEX_INVALID || rc == CGROUP_REGEX_LIMIT);
		assert(!re && err[0] != '\0');
		return 0;
	}
	assert(re);
	if (nl) {
		check_match(re, (const char *)nl + 1, size - pattern_len - 1);
	} else {
		static const char *const topics[] = { "", "a", "orders-eu-1", "__consumer_offsets", "Topic.A_b-9" };
		for (size_t k = 0; k < sizeof(topics) / sizeof(topics[0]); k++)
			check_match(re, topics[k], strlen(topics[k]));
	}
	cgroup_regex_free(re);
	return 0;
}

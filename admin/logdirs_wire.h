/* DescribeLogDirs (35) from one broker over a socket of our own:
 * librdkafka 2.0 has no call for it. ApiVersions picks the version (1 to 4;
 * 4 adds each volume's total and usable bytes); the answer is decoded with
 * proto/cursor.h's bounds-checked readers. */
#ifndef SLUICE_ADMIN_LOGDIRS_WIRE_H
#define SLUICE_ADMIN_LOGDIRS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGDIRS_DIRS_MAX 256
#define LOGDIRS_PARTITIONS_MAX 1000000
#define LOGDIRS_RESPONSE_BYTES_MAX (64u << 20)
#define LOGDIRS_NAME_BYTES 256
#define LOGDIRS_PATH_BYTES 1024
#define LOGDIRS_ERROR_BYTES 512

struct logdir_partition {
	char topic[LOGDIRS_NAME_BYTES];
	int32_t partition;
	int64_t size_bytes, offset_lag;
	bool is_future;
};

struct logdir {
	int16_t error_code;
	char path[LOGDIRS_PATH_BYTES];
	int64_t total_bytes, usable_bytes; /* -1 below version 4 */
	size_t first, count;               /* its partitions in logdirs_answer.parts */
};

struct logdirs_answer {
	int16_t version, error_code;
	struct logdir *dirs;
	size_t dir_count;
	struct logdir_partition *parts;
	size_t part_count, part_cap;
};

/* Asks host:port, each wait within deadline_ms (CLOCK_MONOTONIC). 0, or -1
 * with why in err: a socket error, a malformed answer, or a broker that does
 * not serve DescribeLogDirs. The caller frees with logdirs_answer_free. */
int logdirs_ask(const char *host, int port, int64_t deadline_ms, struct logdirs_answer *out,
		char *err, size_t err_size);
void logdirs_answer_free(struct logdirs_answer *a);
/* The highest DescribeLogDirs version (1 to 4) in an ApiVersions v0 answer
 * (frame: after its size), or -1 when none or malformed. */
int16_t logdirs_pick_version(uint8_t *frame, uint32_t len);
/* Decodes a DescribeLogDirs answer of version out->version (frame: after
 * its size) into out; -1 when malformed (out still to be freed). */
int logdirs_decode(uint8_t *frame, uint32_t len, struct logdirs_answer *out);
int64_t logdirs_now_ms(void);

#endif

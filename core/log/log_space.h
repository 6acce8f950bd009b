/* The free-space floor of log.dirs (sluice.log.dir.min.free.bytes, after
 * Redpanda's storage_min_free_bytes): while the filesystem holding the logs
 * has less free space than the floor, produce is refused with
 * KAFKA_STORAGE_ERROR, before the disk is really full, so that checkpoints,
 * indexes at roll and metadata can still be written; when space comes back
 * (a topic deleted, retention ran) produce resumes without a restart. Each
 * change is logged once.
 *
 * statvfs runs on the control shard's timer every LOG_SPACE_CHECK_INTERVAL_MS,
 * never on the append path; the verdict is one atomic flag that every
 * shard's produce path loads (relaxed: a refusal a few microseconds late is
 * as good as one on time). */
#ifndef SLUICE_CORE_LOG_LOG_SPACE_H
#define SLUICE_CORE_LOG_LOG_SPACE_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/reactor.h"

enum {
	/* How often the free space is measured. Between two checks a producer
	 * can write at most its rate times this: 100 ms at 1 GB/s is 100 MB,
	 * below the default floor of a filesystem larger than 2 GB. */
	LOG_SPACE_CHECK_INTERVAL_MS = 100,
	/* The default floor: 1/20 (5%) of the filesystem... */
	LOG_SPACE_DEFAULT_FLOOR_DIVISOR = 20,
};
/* ...at most this much (Redpanda's 5 GiB would refuse everything on a small
 * test filesystem and is more than checkpoints and metadata need). */
static const uint64_t LOG_SPACE_DEFAULT_FLOOR_MAX_BYTES = 1ull << 30;

struct log_space {
	char dir[PATH_MAX];
	int64_t min_free_bytes;        /* as configured: -1 default, 0 none */
	_Atomic bool refusing;         /* written by the control shard, read by all */
	_Atomic uint64_t free_bytes;   /* at the last check, for the metrics page */
	_Atomic uint64_t floor_bytes;
	struct reactor *reactor;       /* the control shard's, once started */
	struct io_timer timer;
	bool check_failed;             /* the last statvfs failed (logged once) */
};

/* The floor for a filesystem of fs_bytes: the configured one, or with -1
 * 1/LOG_SPACE_DEFAULT_FLOOR_DIVISOR of it, at most
 * LOG_SPACE_DEFAULT_FLOOR_MAX_BYTES. */
uint64_t log_space_floor(int64_t min_free_bytes, uint64_t fs_bytes);

void log_space_init(struct log_space *s, const char *dir, int64_t min_free_bytes);
/* Measures now (statvfs) and updates the verdict, logging a change. Returns
 * 0 or -errno (the verdict is then left as it was). */
int log_space_check(struct log_space *s);
/* On the control shard: checks every LOG_SPACE_CHECK_INTERVAL_MS until
 * log_space_stop. */
void log_space_start(struct log_space *s, struct reactor *r);
void log_space_stop(struct log_space *s);

/* The log dir as DescribeLogDirs reports it: its absolute path and its
 * filesystem's total bytes and the bytes an unprivileged writer may use. */
struct log_space_volume {
	char path[PATH_MAX];
	uint64_t total_bytes;
	uint64_t usable_bytes;
};

/* Any shard: measures the log dir now (realpath, statvfs). Returns 0 or
 * -errno (out->path is then the configured dir). */
int log_space_describe(const struct log_space *s, struct log_space_volume *out);

/* Any shard: whether produce is refused for lack of space. */
static inline bool log_space_refusing(const struct log_space *s)
{
	return atomic_load_explicit(&((struct log_space *)s)->refusing, memory_order_relaxed);
}

#endif

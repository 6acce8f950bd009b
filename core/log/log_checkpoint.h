/* Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
 * log-start-offset-checkpoint): a version line `0`, a count line, then
 * `topic partition offset` lines; written atomically. */
#ifndef SLUICE_CORE_LOG_LOG_CHECKPOINT_H
#define SLUICE_CORE_LOG_LOG_CHECKPOINT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/reactor.h"

enum { CHECKPOINT_TOPIC_BYTES = 250, CHECKPOINT_ENTRIES_MAX = 1000000 };

struct checkpoint_entry {
	char topic[CHECKPOINT_TOPIC_BYTES];
	int32_t partition;
	int64_t offset;
};

/* tmp file + fsync + rename + directory fsync. Returns 0 or -errno. */
int log_checkpoint_write(const char *path, const struct checkpoint_entry *e, size_t n);

/* The same on a reactor's loop, which never waits for the disk: the tmp file
 * is written to the page cache, then its fsync, the rename and the
 * directory's fsync follow as completions arrive; done runs with 0 or -errno
 * (never from inside the call). The caller owns w until done. */
struct checkpoint_async {
	void (*done)(struct checkpoint_async *w, int rc);
	/* private: */
	struct reactor *reactor;
	struct io_op op;
	int fd;
	bool renamed;
	char path[PATH_MAX];
	char tmp[PATH_MAX + 8];
};
/* Returns 0 (done will run) or -errno (it will not). */
int log_checkpoint_write_async(struct reactor *r, const char *path, const struct checkpoint_entry *e,
			       size_t n, struct checkpoint_async *w);
/* A missing file is empty (0, n = 0). A malformed one returns -1 with the file
 * and line in err, and no entries. *out is malloc'd (free it). */
int log_checkpoint_read(const char *path, struct checkpoint_entry **out, size_t *n, char *err,
			size_t errlen);

#endif

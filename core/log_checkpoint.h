/* Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
 * log-start-offset-checkpoint): a version line `0`, a count line, then
 * `topic partition offset` lines; written atomically. */
#ifndef SLUICE_CORE_LOG_CHECKPOINT_H
#define SLUICE_CORE_LOG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

enum { CHECKPOINT_TOPIC_BYTES = 250, CHECKPOINT_ENTRIES_MAX = 1000000 };

struct checkpoint_entry {
	char topic[CHECKPOINT_TOPIC_BYTES];
	int32_t partition;
	int64_t offset;
};

/* tmp file + fsync + rename + directory fsync. Returns 0 or -errno. */
int log_checkpoint_write(const char *path, const struct checkpoint_entry *e, size_t n);
/* A missing file is empty (0, n = 0). A malformed one returns -1 with the file
 * and line in err, and no entries. *out is malloc'd (free it). */
int log_checkpoint_read(const char *path, struct checkpoint_entry **out, size_t *n, char *err,
			size_t errlen);

#endif

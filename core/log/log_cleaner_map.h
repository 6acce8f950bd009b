/* The cleaner's key map ("dedupe buffer" in Kafka): for every key in the
 * dirty part of a log, the offset of its last record there.
 *
 * Keys are not stored: each is replaced by a 128-bit keyed hash (SipHash-2-4
 * under a random key drawn per map), as Kafka keeps an MD5 of each key. A
 * producer cannot aim keys at each other without the hash key, and two keys
 * collide with a chance near 2^-128 per pair; a collision could only make the
 * cleaner drop the older of two keys' records too early.
 *
 * The table is a fixed array sized from log.cleaner.dedupe.buffer.size at
 * creation (24 bytes a slot), open addressing with linear probing, filled to
 * at most LOG_CLEANER_MAP_LOAD_PERCENT percent (Kafka's
 * log.cleaner.io.buffer.load.factor, 0.9): full means the pass stops taking
 * more of the log, never that it grows. */
#ifndef SLUICE_CORE_LOG_LOG_CLEANER_MAP_H
#define SLUICE_CORE_LOG_LOG_CLEANER_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	LOG_CLEANER_MAP_SLOT_BYTES = 24,
	LOG_CLEANER_MAP_LOAD_PERCENT = 90,
	LOG_CLEANER_MAP_SLOTS_MIN = 16,
};

struct log_cleaner_key_hash {
	uint64_t lo, hi;
};

struct log_cleaner_map_slot {
	struct log_cleaner_key_hash hash;
	int64_t offset; /* -1: empty */
};

struct log_cleaner_map {
	struct log_cleaner_map_slot *slots;
	size_t cap;     /* slots */
	size_t used;
	size_t limit;   /* most slots used: cap * load factor */
	uint64_t sip_key[2];
};

/* A map within `bytes` of memory (at least LOG_CLEANER_MAP_SLOTS_MIN slots).
 * Returns 0 or -ENOMEM. */
int log_cleaner_map_init(struct log_cleaner_map *m, size_t bytes);
void log_cleaner_map_free(struct log_cleaner_map *m);
/* Forgets every key and draws a new hash key. */
void log_cleaner_map_clear(struct log_cleaner_map *m);

struct log_cleaner_key_hash log_cleaner_map_hash(const struct log_cleaner_map *m,
						 const uint8_t *key, size_t len);
/* Whether one more new key fits. */
static inline bool log_cleaner_map_full(const struct log_cleaner_map *m)
{
	return m->used >= m->limit;
}
/* Records that the key's latest record is at `offset` (offsets arrive in
 * increasing order, so the last put wins). Returns false when the key is
 * new and the map is full. */
bool log_cleaner_map_put(struct log_cleaner_map *m, struct log_cleaner_key_hash h, int64_t offset);
/* The offset last put for the key, or -1. */
int64_t log_cleaner_map_get(const struct log_cleaner_map *m, struct log_cleaner_key_hash h);

#endif

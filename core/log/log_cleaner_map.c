/* The cleaner's key map: SipHash-2-4 with 128-bit output over each key, and
 * a fixed open-addressing table of (hash, offset) slots (see
 * log_cleaner_map.h). */
#include "core/log/log_cleaner_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3)                                              \
	do {                                                                  \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);     \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                        \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                        \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);     \
	} while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* SipHash-2-4, 128-bit output variant (Aumasson and Bernstein). */
static struct log_cleaner_key_hash siphash128(const uint64_t k[2], const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k[0], v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ k[0], v3 = 0x7465646279746573ULL ^ k[1];
	v1 ^= 0xee;
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = load_le64(in + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[whole + i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xee;
	for (int r = 0; r < 4; r++)
		SIPROUND(v0, v1, v2, v3);
	struct log_cleaner_key_hash h;
	h.lo = v0 ^ v1 ^ v2 ^ v3;
	v1 ^= 0xdd;
	for (int r = 0; r < 4; r++)
		SIPROUND(v0, v1, v2, v3);
	h.hi = v0 ^ v1 ^ v2 ^ v3;
	return h;
}

static void log_cleaner_map_rekey(struct log_cleaner_map *m)
{
	if (getrandom(m->sip_key, sizeof(m->sip_key), 0) != (ssize_t)sizeof(m->sip_key)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		m->sip_key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL;
		m->sip_key[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)m;
	}
}

int log_cleaner_map_init(struct log_cleaner_map *m, size_t bytes)
{
	memset(m, 0, sizeof(*m));
	size_t cap = bytes / LOG_CLEANER_MAP_SLOT_BYTES;
	if (cap < LOG_CLEANER_MAP_SLOTS_MIN)
		cap = LOG_CLEANER_MAP_SLOTS_MIN;
	m->slots = malloc(cap * sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	m->cap = cap;
	/* Below cap, so that a probe always meets an empty slot. */
	m->limit = cap / 100 * LOG_CLEANER_MAP_LOAD_PERCENT + cap % 100 * LOG_CLEANER_MAP_LOAD_PERCENT / 100;
	if (m->limit >= cap)
		m->limit = cap - 1;
	log_cleaner_map_clear(m);
	return 0;
}

void log_cleaner_map_free(struct log_cleaner_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void log_cleaner_map_clear(struct log_cleaner_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		m->slots[i].offset = -1;
	m->used = 0;
	log_cleaner_map_rekey(m);
}

struct log_cleaner_key_hash log_cleaner_map_hash(const struct log_cleaner_map *m,
						 const uint8_t *key, size_t len)
{
	return siphash128(m->sip_key, key, len);
}

/* The key's slot, or the empty one where it would go. The table never
 * fills (limit < cap), so the probe ends. */
static struct log_cleaner_map_slot *log_cleaner_map_find(const struct log_cleaner_map *m,
							 struct log_cleaner_key_hash h)
{
	size_t i = (size_t)(h.lo % m->cap);
	for (;;) {
		struct log_cleaner_map_slot *s = &m->slots[i];
		if (s->offset < 0 || (s->hash.lo == h.lo && s->hash.hi == h.hi))
			return s;
		i = i + 1 == m->cap ? 0 : i + 1;
	}
}

bool log_cleaner_map_put(struct log_cleaner_map *m, struct log_cleaner_key_hash h, int64_t offset)
{
	struct log_cleaner_map_slot *s = log_cleaner_map_find(m, h);
	if (s->offset < 0) {
		if (log_cleaner_map_full(m))
			return false;
		m->used++;
		s->hash = h;
	}
	s->offset = offset;
	return true;
}

int64_t log_cleaner_map_get(const struct log_cleaner_map *m, struct log_cleaner_key_hash h)
{
	return log_cleaner_map_find(m, h)->offset;
}

/* The group's (topic id, partition) -> (holder's member epoch, holder) map
 * (cgroup_epochs.h): open addressing with linear probing over a power-of-two
 * table kept at most half full, deletion by backward shift so that no
 * tombstones build up. Updates check everything before they change
 * anything, so that a refused one leaves the map as it was. */
#include "core/group/cgroup_epochs.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	EPOCHS_CAP_MIN = 16,
	/* Past CG_EPOCHS_MAX entries at half load. */
	EPOCHS_CAP_MAX = CG_EPOCHS_MAX * 2,
	SLOT_EMPTY = -1, /* owner of an unused slot */
};

struct cg_epochs_slot {
	struct kuuid topic_id;
	int32_t partition;
	int32_t epoch;
	int32_t owner; /* SLOT_EMPTY: unused */
};

void cg_epochs_init(struct cg_epochs *m)
{
	assert(m);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

void cg_epochs_free(struct cg_epochs *m)
{
	assert(m);
	free(m->slots);
	cg_epochs_init(m);
}

int32_t cg_epochs_count(const struct cg_epochs *m)
{
	assert(m && m->count >= 0);
	return m->count;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_key(struct kuuid t, int32_t partition)
{
	uint64_t hi, lo;
	memcpy(&hi, t.b, 8);
	memcpy(&lo, t.b + 8, 8);
	return mix64(hi ^ mix64(lo ^ (uint64_t)(uint32_t)partition));
}

static bool key_is(const struct cg_epochs_slot *s, struct kuuid t, int32_t partition)
{
	return s->owner != SLOT_EMPTY && s->partition == partition &&
	       memcmp(s->topic_id.b, t.b, 16) == 0;
}

/* The slot holding the key, or the empty slot where it would go. */
static int32_t probe(const struct cg_epochs *m, struct kuuid t, int32_t partition)
{
	assert(m->cap > 0 && m->count < m->cap);
	uint32_t mask = (uint32_t)m->cap - 1;
	uint32_t i = (uint32_t)hash_key(t, partition) & mask;
	while (m->slots[i].owner != SLOT_EMPTY && !key_is(&m->slots[i], t, partition))
		i = (i + 1) & mask;
	return (int32_t)i;
}

int32_t cg_epochs_get(const struct cg_epochs *m, struct kuuid topic_id, int32_t partition,
		      int32_t *owner)
{
	assert(m);
	if (m->count == 0)
		return CG_EPOCHS_FREE;
	const struct cg_epochs_slot *s = &m->slots[probe(m, topic_id, partition)];
	if (s->owner == SLOT_EMPTY)
		return CG_EPOCHS_FREE;
	if (owner)
		*owner = s->owner;
	return s->epoch;
}

static void put(struct cg_epochs *m, struct kuuid t, int32_t partition, int32_t epoch,
		int32_t owner)
{
	struct cg_epochs_slot *s = &m->slots[probe(m, t, partition)];
	assert(s->owner == SLOT_EMPTY);
	*s = (struct cg_epochs_slot){ t, partition, epoch, owner };
	m->count++;
	assert(m->count * 2 <= m->cap);
}

/* Empties slot i and shifts later entries of its probe run back into the
 * hole, so that every entry stays reachable from its home slot. */
static void erase(struct cg_epochs *m, int32_t i)
{
	uint32_t mask = (uint32_t)m->cap - 1;
	uint32_t hole = (uint32_t)i, j = (uint32_t)i;
	for (;;) {
		j = (j + 1) & mask;
		struct cg_epochs_slot *s = &m->slots[j];
		if (s->owner == SLOT_EMPTY)
			break;
		uint32_t home = (uint32_t)hash_key(s->topic_id, s->partition) & mask;
		/* s may move to the hole unless its home lies in (hole, j]. */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (stays)
			continue;
		m->slots[hole] = *s;
		hole = j;
	}
	m->slots[hole].owner = SLOT_EMPTY;
	m->count--;
	assert(m->count >= 0);
}

/* Room for n entries at half load; rehashes into a new table. */
static enum cg_epochs_result reserve(struct cg_epochs *m, int64_t n)
{
	if (n > CG_EPOCHS_MAX)
		return CG_EPOCHS_FULL;
	if (n * 2 <= m->cap)
		return CG_EPOCHS_OK;
	int64_t cap = m->cap > 0 ? m->cap : EPOCHS_CAP_MIN;
	while (cap < n * 2)
		cap *= 2;
	assert(cap <= EPOCHS_CAP_MAX);
	struct cg_epochs_slot *slots = malloc((size_t)cap * sizeof(*slots));
	if (!slots)
		return CG_EPOCHS_NOMEM;
	for (int64_t i = 0; i < cap; i++)
		slots[i].owner = SLOT_EMPTY;
	struct cg_epochs old = *m;
	m->slots = slots;
	m->cap = (int32_t)cap;
	m->count = 0;
	for (int32_t i = 0; i < old.cap; i++)
		if (old.slots[i].owner != SLOT_EMPTY)
			put(m, old.slots[i].topic_id, old.slots[i].partition, old.slots[i].epoch,
			    old.slots[i].owner);
	assert(m->count == old.count);
	free(old.slots);
	return CG_EPOCHS_OK;
}

static void format_uuid(char out[33], struct kuuid t)
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", t.b[i]);
}

static enum cg_epochs_result conflict(char *err, size_t err_len, const char *what,
				      const struct cg_tp *tp, int32_t epoch, int32_t owner,
				      int32_t held_epoch, int32_t held_owner)
{
	if (err_len > 0) {
		char id[33];
		format_uuid(id, tp->topic_id);
		snprintf(err, err_len,
			 "cannot %s partition %s-%" PRId32 " for member %" PRId32 " at epoch %" PRId32
			 ": held by member %" PRId32 " at epoch %" PRId32,
			 what, id, tp->partition, owner, epoch, held_owner, held_epoch);
	}
	return CG_EPOCHS_CONFLICT;
}

/* The first partition of a that breaks the expectation, as a refusal:
 * taking needs each free, releasing needs each held by owner at epoch. */
static enum cg_epochs_result check(const struct cg_epochs *m, bool take, int32_t owner,
				   int32_t epoch, const struct cg_assignment *a, char *err,
				   size_t err_len)
{
	for (int32_t i = 0; i < a->count; i++) {
		int32_t held_owner = SLOT_EMPTY;
		int32_t held = cg_epochs_get(m, a->tps[i].topic_id, a->tps[i].partition, &held_owner);
		bool ok = take ? held == CG_EPOCHS_FREE : held == epoch && held_owner == owner;
		if (!ok)
			return conflict(err, err_len, take ? "take" : "release", &a->tps[i], epoch,
					owner, held, held_owner);
	}
	return CG_EPOCHS_OK;
}

static void add_all(struct cg_epochs *m, int32_t owner, int32_t epoch, const struct cg_assignment *a)
{
	for (int32_t i = 0; i < a->count; i++)
		put(m, a->tps[i].topic_id, a->tps[i].partition, epoch, owner);
}

static void remove_all(struct cg_epochs *m, const struct cg_assignment *a)
{
	for (int32_t i = 0; i < a->count; i++) {
		int32_t s = probe(m, a->tps[i].topic_id, a->tps[i].partition);
		assert(m->slots[s].owner != SLOT_EMPTY);
		erase(m, s);
	}
}

enum cg_epochs_result cg_epochs_add(struct cg_epochs *m, int32_t owner, int32_t epoch,
				    const struct cg_assignment *a, char *err, size_t err_len)
{
	assert(m && a && owner >= 0);
	enum cg_epochs_result r = check(m, true, owner, epoch, a, err, err_len);
	if (r == CG_EPOCHS_OK)
		r = reserve(m, (int64_t)m->count + a->count);
	if (r == CG_EPOCHS_OK)
		add_all(m, owner, epoch, a);
	return r;
}

enum cg_epochs_result cg_epochs_remove(struct cg_epochs *m, int32_t owner, int32_t epoch,
				       const struct cg_assignment *a, char *err, size_t err_len)
{
	assert(m && a && owner >= 0);
	enum cg_epochs_result r = check(m, false, owner, epoch, a, err, err_len);
	if (r == CG_EPOCHS_OK && a->count > 0)
		remove_all(m, a);
	return r;
}

/* Takes new_ma's partitions once old_ma's are released: room is reserved
 * first and a refusal puts the old ones back, which needs no more room than
 * they had. A member's assigned and pending sets never overlap, so each
 * pair of checks covers the whole assignment. */
enum cg_epochs_result cg_epochs_update_member(struct cg_epochs *m, int32_t owner,
					      const struct cg_member_assignment *old_ma,
					      const struct cg_member_assignment *new_ma, char *err,
					      size_t err_len)
{
	assert(m && owner >= 0);
	assert(!old_ma || !cg_assignment_intersects(&old_ma->assigned, &old_ma->pending_revocation));
	assert(!new_ma || !cg_assignment_intersects(&new_ma->assigned, &new_ma->pending_revocation));
	enum cg_epochs_result r = CG_EPOCHS_OK;
	if (old_ma) {
		r = check(m, false, owner, old_ma->member_epoch, &old_ma->assigned, err, err_len);
		if (r == CG_EPOCHS_OK)
			r = check(m, false, owner, old_ma->member_epoch, &old_ma->pending_revocation,
				       err, err_len);
	}
	int64_t added = new_ma ? (int64_t)new_ma->assigned.count + new_ma->pending_revocation.count : 0;
	if (r == CG_EPOCHS_OK)
		r = reserve(m, (int64_t)m->count + added);
	if (r != CG_EPOCHS_OK)
		return r;
	if (old_ma) {
		remove_all(m, &old_ma->assigned);
		remove_all(m, &old_ma->pending_revocation);
	}
	if (new_ma) {
		r = check(m, true, owner, new_ma->member_epoch, &new_ma->assigned, err, err_len);
		if (r == CG_EPOCHS_OK)
			r = check(m, true, owner, new_ma->member_epoch, &new_ma->pending_revocation,
				       err, err_len);
		if (r == CG_EPOCHS_OK) {
			add_all(m, owner, new_ma->member_epoch, &new_ma->assigned);
			add_all(m, owner, new_ma->member_epoch, &new_ma->pending_revocation);
			return CG_EPOCHS_OK;
		}
	}
	if (old_ma && r != CG_EPOCHS_OK) {
		add_all(m, owner, old_ma->member_epoch, &old_ma->assigned);
		add_all(m, owner, old_ma->member_epoch, &old_ma->pending_revocation);
	}
	return r;
}

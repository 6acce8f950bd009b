/* The topic registry's table: topics by name and id, Kafka's name rules. See
 * topic_registry.h. */
#include "core/meta/topic_registry.h"

#include <assert.h>
#include <string.h>

static uint32_t topics_hash(const char *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h % TOPIC_REGISTRY_BUCKETS;
}

struct topic *topics_find(struct topic_registry *r, struct kstr name)
{
	if (name.len <= 0 || name.len > TOPIC_NAME_MAX)
		return NULL;
	for (struct topic *t = r->buckets[topics_hash(name.ptr, (size_t)name.len)]; t;
	     t = t->next_by_name)
		if (t->name_len == (size_t)name.len && memcmp(t->name, name.ptr, t->name_len) == 0)
			return t;
	return NULL;
}

struct topic *topics_find_id(struct topic_registry *r, struct kuuid id)
{
	if (kuuid_is_zero(id))
		return NULL;
	for (size_t i = 0; i < TOPIC_REGISTRY_BUCKETS; i++)
		for (struct topic *t = r->buckets[i]; t; t = t->next_by_name)
			if (memcmp(t->id.b, id.b, sizeof(id.b)) == 0)
				return t;
	return NULL;
}

void topics_for_each(struct topic_registry *r, void (*fn)(struct topic *t, void *ctx), void *ctx)
{
	for (size_t i = 0; i < TOPIC_REGISTRY_BUCKETS; i++) {
		struct topic *t = r->buckets[i];
		while (t) {
			struct topic *next = t->next_by_name;
			fn(t, ctx);
			t = next;
		}
	}
}

struct partition *topic_partition(struct topic *t, int32_t index)
{
	if (index < 0 || index >= t->partition_count)
		return NULL;
	return &t->partitions[index];
}

const char *topic_name_invalid(struct kstr name)
{
	if (name.len <= 0)
		return "Topic name is illegal, it can't be empty";
	if (name.len > TOPIC_NAME_MAX)
		return "Topic name is illegal, it can't be longer than 249 characters";
	if ((name.len == 1 && name.ptr[0] == '.') ||
	    (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.'))
		return "Topic name cannot be \".\" or \"..\"";
	for (int32_t i = 0; i < name.len; i++) {
		char ch = name.ptr[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		if (!ok)
			return "Topic name is illegal, it contains a character other than "
			       "ASCII alphanumerics, '.', '_' and '-'";
	}
	return NULL;
}

/* Kafka refuses names that differ only in '.' versus '_' (metric names
 * would collide). */
struct topic *topics_find_colliding(struct topic_registry *r, struct kstr name)
{
	for (size_t i = 0; i < TOPIC_REGISTRY_BUCKETS; i++) {
		for (struct topic *t = r->buckets[i]; t; t = t->next_by_name) {
			if (t->name_len != (size_t)name.len)
				continue;
			bool same = true;
			for (size_t k = 0; k < t->name_len && same; k++) {
				char a = t->name[k] == '.' ? '_' : t->name[k];
				char b = name.ptr[k] == '.' ? '_' : name.ptr[k];
				same = a == b;
			}
			if (same)
				return t;
		}
	}
	return NULL;
}

void topics_insert(struct topic_registry *r, struct topic *t)
{
	uint32_t h = topics_hash(t->name, t->name_len);
	t->next_by_name = r->buckets[h];
	r->buckets[h] = t;
	r->count++;
}

void topics_unlink(struct topic_registry *r, struct topic *t)
{
	for (struct topic **p = &r->buckets[topics_hash(t->name, t->name_len)]; *p;
	     p = &(*p)->next_by_name) {
		if (*p == t) {
			*p = t->next_by_name;
			r->count--;
			return;
		}
	}
	assert(!"topic not in registry");
}

bool topic_name_is_internal(const char *name, size_t len)
{
	static const char *const internal[] = { "__consumer_offsets", "__transaction_state" };
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		if (strlen(internal[i]) == len && memcmp(internal[i], name, len) == 0)
			return true;
	return false;
}

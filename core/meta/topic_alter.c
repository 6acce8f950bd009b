/* Putting a topic's altered configs in force and on record (topic_alter.h). */
#include "core/meta/topic_alter.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log/partition_log.h"
#include "core/meta/broker_dynamic.h"
#include "core/meta/metadata_image.h"
#include "core/meta/topics.h"
#include "core/meta/topics_shard.h"
#include "core/shard/metadata_sync.h"
#include "core/slog.h"
#include "io/reactor.h"
#include "proto/kafka_errors.h"

enum { TOPIC_ALTER_STORED_NOTE_BYTES = 512 };

/* A config object no shard may read once the round after its replacement
 * has completed. */
struct topic_alter_retired {
	struct metadata_sync_waiter sync;
	struct topic_config *cfg;
};

/* One io shard's part: its partitions of the topic get the new log config. */
struct topic_alter_part {
	struct shard_call call;
	struct topic *topic;
	struct log_config log_cfg;
	struct topic_alter_push *push;
};

struct topic_alter_push {
	uint32_t pending;
	struct topic_alter_part parts[];
};

static void topic_alter_retired_free(struct metadata_sync_waiter *w)
{
	struct topic_alter_retired *r = container_of(w, struct topic_alter_retired, sync);
	free(r->cfg);
	free(r);
}

static void topic_alter_on_owner(struct shard_call *call)
{
	struct topic_alter_part *part = (struct topic_alter_part *)call;
	struct topic *t = part->topic;
	for (int32_t i = 0; i < t->partition_count; i++) {
		struct partition *p = &t->partitions[i];
		if (p->shard == call->target->id && p->log)
			partition_log_set_config(p->log, &part->log_cfg);
	}
	shard_call_return(call);
}

static void topic_alter_owner_done(struct shard_call *call)
{
	struct topic_alter_push *push = ((struct topic_alter_part *)call)->push;
	if (--push->pending == 0)
		free(push);
}

int topic_alter_push_logs(struct runtime *rt, struct topic *t, const struct topic_config *cfg)
{
	struct topic_alter_push *push =
		calloc(1, sizeof(*push) + rt->io_shards * sizeof(push->parts[0]));
	if (!push)
		return -1;
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		struct topic_alter_part *part = &push->parts[k];
		bool owns = false;
		for (int32_t i = 0; i < t->partition_count && !owns; i++)
			owns = t->partitions[i].shard == k;
		part->call = (struct shard_call){ .origin = &rt->shards[SHARD_CONTROL],
						  .target = &rt->shards[k],
						  .run = owns ? topic_alter_on_owner : NULL,
						  .done = topic_alter_owner_done };
		part->topic = t;
		part->push = push;
		topic_config_to_log(cfg, &rt->cfg, &part->log_cfg);
	}
	if (shard_calls_start_each(&push->parts[0].call, sizeof(push->parts[0]), rt->io_shards,
				   &push->pending))
		free(push);
	return 0;
}

/* Makes cfg t's config in force for every shard that loads it from now on.
 * Returns the config it replaces, to be retired once the next published
 * image's round completes (topic_alter_retire); NULL when there was none,
 * or (*failed) when out of memory. */
static struct topic_config *topic_alter_swap(struct topic *t, const struct topic_config *cfg,
					     bool *failed)
{
	struct topic_config *fresh = malloc(sizeof(*fresh));
	*failed = !fresh;
	if (!fresh)
		return NULL;
	*fresh = *cfg;
	return (struct topic_config *)atomic_exchange_explicit(&t->altered_cfg, fresh,
								memory_order_acq_rel);
}

/* After the publish that followed the swap: old is freed once every shard
 * has moved past the images that may have led to it. */
static void topic_alter_retire(struct runtime *rt, struct topic_config *old)
{
	if (!old)
		return;
	struct topic_alter_retired *retired = malloc(sizeof(*retired));
	if (!retired) {
		slog_error("topics", "out of memory retiring a topic config: kept until exit");
		return;
	}
	retired->cfg = old;
	retired->sync.done = topic_alter_retired_free;
	metadata_sync_wait(rt, &retired->sync);
}

static void topic_overrides_free(struct topic_override *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].key);
		free(o[i].value);
	}
	free(o);
}

static struct topic_override *topic_overrides_make(size_t n, const struct kstr *keys,
						   const struct kstr *values)
{
	struct topic_override *o = calloc(n ? n : 1, sizeof(*o));
	for (size_t i = 0; o && i < n; i++) {
		o[i].key = kstr_dup(keys[i]);
		o[i].value = kstr_dup(values[i]);
		if (!o[i].key || !o[i].value) {
			topic_overrides_free(o, i + 1);
			return NULL;
		}
	}
	return o;
}

/* One warning naming the overrides sluice keeps but does not act on. */
static void topic_alter_note_stored(const struct topic *t)
{
	char note[TOPIC_ALTER_STORED_NOTE_BYTES] = "";
	size_t used = 0;
	for (size_t i = 0; i < t->override_count && used < sizeof(note); i++) {
		if (!topic_config_not_enforced(t->overrides[i].key, t->overrides[i].value))
			continue;
		int w = snprintf(note + used, sizeof(note) - used, "%s%s=%s", used ? ", " : "",
				 t->overrides[i].key, t->overrides[i].value);
		used += w > 0 ? (size_t)w : 0;
	}
	if (used)
		slog_warn("topics", "topic %s: %s: stored and described, not acted on yet", t->name,
			  note);
}

static int16_t topic_alter_validate(struct runtime *rt, size_t n, const struct kstr *keys,
				    const struct kstr *values, struct topic_config *cfg, char *msg,
				    size_t msglen)
{
	topic_config_from_broker(cfg, broker_dynamic_effective(rt));
	if (n > TOPIC_CONFIGS_MAX) {
		snprintf(msg, msglen, "too many topic configs (%zu > %d)", n, TOPIC_CONFIGS_MAX);
		return KERR_INVALID_CONFIG;
	}
	for (size_t i = 0; i < n; i++) {
		if (values[i].len < 0) {
			snprintf(msg, msglen, "Null value not supported for : %.*s",
				 keys[i].len, keys[i].ptr);
			return KERR_INVALID_REQUEST;
		}
		int16_t err = topic_config_set(cfg, keys[i].ptr, (size_t)keys[i].len, values[i].ptr,
					       (size_t)values[i].len, msg, msglen);
		if (err != KERR_NONE)
			return err;
	}
	return KERR_NONE;
}

int16_t topic_alter(struct runtime *rt, struct topic *t, size_t n, const struct kstr *keys,
		    const struct kstr *values, bool validate_only, char *msg, size_t msglen)
{
	assert(shard_current() == NULL || shard_current()->id == SHARD_CONTROL);
	struct topic_config cfg;
	msg[0] = '\0';
	int16_t err = topic_alter_validate(rt, n, keys, values, &cfg, msg, msglen);
	if (err != KERR_NONE || validate_only)
		return err;
	struct topic_override *fresh = topic_overrides_make(n, keys, values);
	if (!fresh)
		return KERR_UNKNOWN_SERVER_ERROR;
	struct topic_override *old = t->overrides;
	size_t old_count = t->override_count;
	t->overrides = fresh;
	t->override_count = n;
	if (topics_persist(rt, t) != 0) {
		t->overrides = old;
		t->override_count = old_count;
		topic_overrides_free(fresh, n);
		snprintf(msg, msglen, "the metadata store could not record the change");
		return KERR_KAFKA_STORAGE_ERROR;
	}
	topic_overrides_free(old, old_count);
	topic_alter_note_stored(t);
	bool failed;
	struct topic_config *replaced = topic_alter_swap(t, &cfg, &failed);
	metadata_publish(rt);
	topic_alter_retire(rt, replaced);
	if (failed || topic_alter_push_logs(rt, t, &cfg) != 0)
		slog_error("topics", "topic %s: out of memory putting altered configs in force; "
			   "they are recorded and apply after a restart", t->name);
	return KERR_NONE;
}

/* The config a topic has under the broker's dynamic defaults and its own
 * overrides (each checked when it was set). */
static void topic_alter_recompute(struct runtime *rt, const struct topic *t, struct topic_config *cfg)
{
	char msg[TOPIC_ALTER_STORED_NOTE_BYTES];
	topic_config_from_broker(cfg, broker_dynamic_effective(rt));
	for (size_t i = 0; i < t->override_count; i++)
		if (topic_config_set(cfg, t->overrides[i].key, strlen(t->overrides[i].key),
				     t->overrides[i].value, strlen(t->overrides[i].value), msg,
				     sizeof(msg)) != KERR_NONE)
			slog_warn("topics", "topic %s: %s", t->name, msg);
}

struct topic_alter_refresh {
	struct runtime *rt;
	struct topic_config **replaced; /* per topic visited, to retire */
	size_t count, cap;
	bool failed;
};

static void topic_alter_refresh_one(struct topic *t, void *ctx)
{
	struct topic_alter_refresh *r = ctx;
	struct topic_config cfg;
	topic_alter_recompute(r->rt, t, &cfg);
	bool failed;
	struct topic_config *old = topic_alter_swap(t, &cfg, &failed);
	if (failed || topic_alter_push_logs(r->rt, t, &cfg) != 0)
		r->failed = true;
	if (old && r->count < r->cap)
		r->replaced[r->count++] = old;
	else if (old)
		r->failed = true; /* kept until exit rather than freed under a reader */
}

static void topic_alter_refresh_all(struct runtime *rt)
{
	struct topic_registry *reg = topics_registry(rt);
	struct topic_alter_refresh r = { .rt = rt, .cap = reg->count };
	r.replaced = calloc(r.cap + 1, sizeof(*r.replaced));
	if (!r.replaced) {
		slog_error("topics", "out of memory putting broker configs in force on topics; "
			   "they are recorded and apply after a restart");
		return;
	}
	topics_for_each(reg, topic_alter_refresh_one, &r);
	metadata_publish(rt);
	for (size_t i = 0; i < r.count; i++)
		topic_alter_retire(rt, r.replaced[i]);
	free(r.replaced);
	if (r.failed)
		slog_error("topics", "out of memory putting broker configs in force on some topics; "
			   "they are recorded and apply after a restart");
}

int16_t topic_alter_broker(struct runtime *rt, enum meta_broker_level level, size_t n,
			   const struct kstr *keys, const struct kstr *values, bool validate_only,
			   char *msg, size_t msglen)
{
	int16_t rc = broker_dynamic_alter(rt, level, n, keys, values, validate_only, msg, msglen);
	if (rc != KERR_NONE || validate_only)
		return rc;
	topic_alter_refresh_all(rt);
	if (topics_cleaners_reconfigure(rt, broker_dynamic_effective(rt)) != 0)
		slog_error("topics", "out of memory putting the log cleaner's configs in force; "
			   "they are recorded and apply after a restart");
	return rc;
}

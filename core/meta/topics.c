/* Topics' lives: lookups in the image, creation with Kafka's rules,
 * deletion, and loading every topic's logs at start. See topics.h. */
#include "core/meta/topics.h"
#include "core/meta/topics_impl.h"
#include "core/meta/topics_shard.h"

#include <assert.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "core/log/fetch_wait.h"
#include "core/slog.h"
#include "core/log/log_checkpoint.h"
#include "core/log/log_cleaner.h"
#include "core/meta/metadata_image.h"
#include "core/meta/metadata_store.h"
#include "core/shard/metadata_sync.h"
#include "core/log/partition_log.h"
#include "core/meta/broker_dynamic.h"
#include "core/shard/shard.h"
#include "core/shard/shard_call.h"
#include "proto/kafka_errors.h"

struct topic *topics_lookup(struct runtime *rt, struct kstr name)
{
	return metadata_image_find(metadata_current(rt), name);
}

struct topic *topics_lookup_id(struct runtime *rt, struct kuuid id)
{
	return metadata_image_find_id(metadata_current(rt), id);
}

/* Directories nftw may hold open while removing a failed creation's files. */
enum { TOPICS_DISCARD_FDS = 4 };

void topics_on_advance(void *ctx)
{
	fetch_waiters_wake(&((struct partition *)ctx)->waiters);
}

static int topics_partition_dir(const struct runtime *rt, const struct topic *t, int32_t index,
				char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s-%d", rt->cfg.log_dir, t->name, index);
	return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* The broker's checkpoint files, read at start. */
struct topics_checkpoints {
	const struct checkpoint_entry *recovery;
	size_t recovery_count;
	const struct checkpoint_entry *start;
	size_t start_count;
	const struct checkpoint_entry *cleaned;
	size_t cleaned_count;
};

static int64_t topics_checkpointed(const struct checkpoint_entry *e, size_t n, const struct topic *t,
				   int32_t i)
{
	for (size_t k = 0; k < n; k++)
		if (e[k].partition == i && strcmp(e[k].topic, t->name) == 0)
			return e[k].offset;
	return 0;
}

/* Opens (creating when new) the log of t's partition i. Returns 0, or
 * -errno with the reason, naming the directory, in err. */
int topics_open_partition(struct runtime *rt, struct topic *t, int32_t i, bool clean_shutdown,
				 const struct topics_checkpoints *cp, char *err, size_t errlen)
{
	char dir[PATH_MAX + 320];
	struct log_config lc;
	topic_config_to_log(topic_config_current(t), &rt->cfg, &lc);
	struct partition *p = &t->partitions[i];
	if (topics_partition_dir(rt, t, i, dir, sizeof(dir)) != 0) {
		snprintf(err, errlen, "%s/%s-%d: directory name too long", rt->cfg.log_dir, t->name, i);
		return -ENAMETOOLONG;
	}
	struct log_open_params params = {
		.dir = dir,
		.topic_id = t->id,
		.recovery_point = cp ? topics_checkpointed(cp->recovery, cp->recovery_count, t, i) : 0,
		.log_start_offset = cp ? topics_checkpointed(cp->start, cp->start_count, t, i) : 0,
		.clean_shutdown = clean_shutdown,
		.cfg = &lc,
		.reactor = rt->shards[p->shard].reactor,
		.flush_shard = &topics_shard_of(&rt->shards[p->shard])->flush,
	};
	int rc = partition_log_open(&params, &p->log, err, errlen);
	if (rc != 0) {
		p->log = NULL;
		return rc;
	}
	partition_log_set_advance_hook(p->log, topics_on_advance, p);
	return 0;
}

static const char *topics_errno_name(int e)
{
	const char *name = strerrorname_np(e);
	return name ? name : "unknown errno";
}

static int topics_unlink_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int topics_remove_tree(const char *dir)
{
	if (nftw(dir, topics_unlink_entry, TOPICS_DISCARD_FDS, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

/* Removes the directory of t's partition i and what it holds, for a
 * partition without an open log. */
int topics_remove_partition_dir(struct runtime *rt, const struct topic *t, int32_t i)
{
	char dir[PATH_MAX + 320];
	if (topics_partition_dir(rt, t, i, dir, sizeof(dir)) != 0)
		return -ENAMETOOLONG;
	return topics_remove_tree(dir);
}

/* Undoes a creation that failed: removes the files of the partitions
 * [0, upto] of t, opened or not. Nothing was recorded, so no topic owns them. */
static void topics_discard_logs(struct runtime *rt, struct topic *t, int32_t upto)
{
	for (int32_t i = 0; i <= upto && i < t->partition_count; i++) {
		struct partition *p = &t->partitions[i];
		int rc;
		if (p->log) {
			rc = partition_log_delete(p->log);
			p->log = NULL;
		} else {
			rc = topics_remove_partition_dir(rt, t, i);
		}
		if (rc != 0)
			slog_error("topics", "could not remove every file of %s-%d", t->name, i);
	}
}

/* Placed partitions per io shard, of every topic in the registry but `skip`. */
uint32_t *topics_shard_load(struct runtime *rt, const struct topic *skip)
{
	uint32_t *load = calloc(rt->shard_count, sizeof(*load));
	if (!load)
		return NULL;
	for (size_t i = 0; i < TOPIC_REGISTRY_BUCKETS; i++)
		for (struct topic *o = topics_registry(rt)->buckets[i]; o; o = o->next_by_name)
			for (int32_t k = 0; o != skip && k < o->partition_count; k++)
				if (o->partitions[k].shard != TOPICS_UNPLACED)
					load[o->partitions[k].shard]++;
	return load;
}

uint32_t topics_least_loaded(const struct runtime *rt, const uint32_t *load)
{
	uint32_t best = 0;
	for (uint32_t s = 1; s < rt->io_shards; s++)
		if (load[s] < load[best])
			best = s;
	return best;
}

/* Each new partition goes to the io shard with the fewest partitions. */
static int topics_place(struct runtime *rt, struct topic *t)
{
	uint32_t *load = topics_shard_load(rt, t);
	if (!load)
		return -ENOMEM;
	for (int32_t k = 0; k < t->partition_count; k++) {
		uint32_t best = topics_least_loaded(rt, load);
		t->partitions[k].shard = best;
		load[best]++;
	}
	free(load);
	return 0;
}

struct topic *topic_alloc(const char *name, size_t name_len, int32_t partitions)
{
	struct topic *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->partitions = calloc((size_t)partitions, sizeof(*t->partitions));
	if (!t->partitions) {
		free(t);
		return NULL;
	}
	memcpy(t->name, name, name_len);
	t->name_len = name_len;
	t->internal = topic_name_is_internal(name, name_len);
	t->partition_count = partitions;
	for (int32_t i = 0; i < partitions; i++) {
		t->partitions[i].topic = t;
		t->partitions[i].index = i;
	}
	return t;
}

void topic_free(struct topic *t)
{
	for (size_t i = 0; i < t->override_count; i++) {
		free(t->overrides[i].key);
		free(t->overrides[i].value);
	}
	free(t->overrides);
	free((void *)atomic_load(&t->altered_cfg));
	free(t->partitions);
	free(t);
}

static char *topics_strndup(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Applies configs to t->cfg and keeps them as overrides. */
static int16_t topics_apply_configs(struct runtime *rt, struct topic *t, size_t n,
				    const struct kstr *keys, const struct kstr *values, char *msg,
				    size_t msglen)
{
	topic_config_from_broker(&t->cfg, broker_dynamic_effective(rt));
	if (n > TOPIC_CONFIGS_MAX) {
		snprintf(msg, msglen, "too many topic configs (%zu > %d)", n, TOPIC_CONFIGS_MAX);
		return KERR_INVALID_CONFIG;
	}
	t->overrides = calloc(n ? n : 1, sizeof(*t->overrides));
	if (!t->overrides)
		return KERR_UNKNOWN_SERVER_ERROR;
	for (size_t i = 0; i < n; i++) {
		if (values[i].len < 0) {
			snprintf(msg, msglen, "Null value not supported for topic config %.*s",
				 keys[i].len, keys[i].ptr);
			return KERR_INVALID_CONFIG;
		}
		int16_t err = topic_config_set(&t->cfg, keys[i].ptr, (size_t)keys[i].len,
					       values[i].ptr, (size_t)values[i].len, msg, msglen);
		if (err != KERR_NONE)
			return err;
		t->overrides[i].key = topics_strndup(keys[i].ptr, (size_t)keys[i].len);
		t->overrides[i].value = topics_strndup(values[i].ptr, (size_t)values[i].len);
		t->override_count = i + 1;
		if (!t->overrides[i].key || !t->overrides[i].value)
			return KERR_UNKNOWN_SERVER_ERROR;
		const char *why = topic_config_not_enforced(t->overrides[i].key, t->overrides[i].value);
		if (why)
			slog_warn("topics", "topic %s: %s=%s: %s", t->name, t->overrides[i].key,
				  t->overrides[i].value, why);
	}
	return KERR_NONE;
}

static int16_t topics_check_args(struct runtime *rt, const struct topic_create_args *a,
				 int32_t *partitions, char *msg, size_t msglen)
{
	const char *bad = topic_name_invalid(a->name);
	if (bad) {
		snprintf(msg, msglen, "%s", bad);
		return KERR_INVALID_TOPIC_EXCEPTION;
	}
	if (topics_find(topics_registry(rt), a->name)) {
		snprintf(msg, msglen, "Topic '%.*s' already exists.", a->name.len, a->name.ptr);
		return KERR_TOPIC_ALREADY_EXISTS;
	}
	struct topic *other = topics_find_colliding(topics_registry(rt), a->name);
	if (other) {
		snprintf(msg, msglen, "Topic '%.*s' collides with existing topic: %s", a->name.len,
			 a->name.ptr, other->name);
		return KERR_INVALID_TOPIC_EXCEPTION;
	}
	*partitions = a->partitions == -1 ? rt->cfg.num_partitions : a->partitions;
	if (*partitions < 1 || *partitions > TOPIC_PARTITIONS_MAX) {
		snprintf(msg, msglen, "Number of partitions must be between 1 and %d.",
			 TOPIC_PARTITIONS_MAX);
		return KERR_INVALID_PARTITIONS;
	}
	int32_t rf = a->replication_factor == -1 ? rt->cfg.default_replication_factor
						 : a->replication_factor;
	if (rf < 1) {
		snprintf(msg, msglen, "Replication factor must be larger than 0, or -1 to use the "
			 "default value.");
		return KERR_INVALID_REPLICATION_FACTOR;
	}
	if (rf != 1) {
		snprintf(msg, msglen, "Unable to replicate the partition %d time(s): The target "
			 "replication factor of %d cannot be reached because only 1 broker(s) "
			 "are registered or some brokers have all their log directories "
			 "cordoned.", rf, rf);
		return KERR_INVALID_REPLICATION_FACTOR;
	}
	return KERR_NONE;
}

void topics_random_id(struct kuuid *id)
{
	do {
		if (getrandom(id->b, sizeof(id->b), 0) != (ssize_t)sizeof(id->b)) {
			slog_error("topics", "getrandom: %s", strerror(errno));
			abort();
		}
	} while (kuuid_is_zero(*id));
}

int topics_persist(struct runtime *rt, const struct topic *t)
{
	struct meta_topic mt;
	memset(&mt, 0, sizeof(mt));
	memcpy(mt.name, t->name, t->name_len + 1);
	mt.id = t->id;
	mt.partition_count = t->partition_count;
	int32_t *shards = calloc((size_t)t->partition_count, sizeof(*shards));
	struct meta_kv *kv = calloc(t->override_count + 1, sizeof(*kv));
	int rc = -ENOMEM;
	if (shards && kv) {
		for (int32_t i = 0; i < t->partition_count; i++)
			shards[i] = (int32_t)t->partitions[i].shard;
		for (size_t i = 0; i < t->override_count; i++) {
			kv[i].key = t->overrides[i].key;
			kv[i].value = t->overrides[i].value;
		}
		mt.partition_shard = shards;
		mt.config_count = t->override_count;
		mt.configs = kv;
		rc = metadata_store_topic_create(topics_registry(rt)->store, &mt);
	}
	free(shards);
	free(kv);
	return rc;
}

int16_t topics_create(struct runtime *rt, const struct topic_create_args *a, struct topic **out,
		      struct topic_config *effective, char *msg, size_t msglen)
{
	int32_t partitions = 0;
	msg[0] = '\0';
	int16_t err = topics_check_args(rt, a, &partitions, msg, msglen);
	if (err != KERR_NONE)
		return err;
	struct topic *t = topic_alloc(a->name.ptr, (size_t)a->name.len, partitions);
	if (!t)
		return KERR_UNKNOWN_SERVER_ERROR;
	err = topics_apply_configs(rt, t, a->config_count, a->config_keys, a->config_values, msg,
				   msglen);
	if (err == KERR_NONE && effective)
		*effective = t->cfg;
	if (err != KERR_NONE || a->validate_only) {
		topic_free(t);
		return err;
	}
	topics_random_id(&t->id);
	if (topics_place(rt, t) != 0) {
		topic_free(t);
		return KERR_UNKNOWN_SERVER_ERROR;
	}
	/* The creation is recorded only once every log is open: a failed one
	 * leaves neither a record nor files behind. */
	for (int32_t i = 0; i < t->partition_count; i++) {
		char why[PATH_MAX + 400];
		int rc = topics_open_partition(rt, t, i, true, NULL, why, sizeof(why));
		if (rc != 0) {
			slog_error("topics", "creating topic %s: %s [%s]; nothing created", t->name, why,
				   topics_errno_name(-rc));
			snprintf(msg, msglen, "cannot create partition %d in %s: %s", i, rt->cfg.log_dir,
				 strerror(-rc));
			topics_discard_logs(rt, t, i);
			topic_free(t);
			return KERR_KAFKA_STORAGE_ERROR;
		}
	}
	if (topics_persist(rt, t) != 0) {
		snprintf(msg, msglen, "cannot record the topic in the metadata store");
		topics_discard_logs(rt, t, t->partition_count - 1);
		topic_free(t);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	topics_insert(topics_registry(rt), t);
	metadata_publish(rt);
	slog_info("topics", "created topic %s with %d partition(s)", t->name, t->partition_count);
	if (out)
		*out = t;
	return KERR_NONE;
}

bool topics_auto_creatable(const struct runtime *rt, struct kstr name, bool allow_create)
{
	/* Internal topics are created by their owner, with their own settings. */
	return allow_create && rt->cfg.auto_create_topics_enable && !topic_name_invalid(name) &&
	       !topic_name_is_internal(name.ptr, (size_t)name.len);
}

struct topic *topics_get_or_create(struct runtime *rt, struct kstr name, bool allow_create,
				   int16_t *err)
{
	/* Before the shards run, the main thread is the control shard. */
	struct shard *self = shard_current();
	bool control = !self || self->id == SHARD_CONTROL;
	struct topic *t = control ? topics_find(topics_registry(rt), name) : topics_lookup(rt, name);
	if (t) {
		*err = KERR_NONE;
		return t;
	}
	if (topic_name_invalid(name)) {
		*err = KERR_INVALID_TOPIC_EXCEPTION;
		return NULL;
	}
	if (!control || !topics_auto_creatable(rt, name, allow_create)) {
		*err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return NULL;
	}
	struct topic_create_args a = { .name = name, .partitions = -1, .replication_factor = -1 };
	char msg[256];
	*err = topics_create(rt, &a, &t, NULL, msg, sizeof(msg));
	if (*err != KERR_NONE) {
		slog_warn("topics", "auto-creating %.*s: %s", name.len, name.ptr, msg);
		return NULL;
	}
	return t;
}

/* ---- deletion ---- */

static const uint64_t TOPICS_REAP_INTERVAL_NS = 10ull * 1000 * 1000;

/* A deleted partition's log whose writes are still in flight, and the
 * owner's part of the deletion, which returns once its files are gone: the
 * name may be created anew as soon as the deletion is answered. */
struct log_grave {
	struct log_grave *next;
	struct partition_log *log;
	struct shard_call *deletion;
	char name[TOPIC_NAME_MAX + 16];
};

static bool topics_grave_of(const struct log_grave *g, const struct shard_call *deletion)
{
	for (; g; g = g->next)
		if (g->deletion == deletion)
			return true;
	return false;
}

static void topics_remove_log(struct partition_log *log, const char *name)
{
	if (partition_log_delete(log) != 0)
		slog_error("topics", "could not remove every file of %s", name);
}

/* The owner's graveyard: removes logs whose writes have completed, and
 * returns the deletions that waited for them (`answer`: the loops still
 * run; at stop, after them, nobody is left to answer). */
static void topics_reap_graves(struct topics_shard *ts, bool answer)
{
	struct log_grave **pp = &ts->graveyard;
	while (*pp) {
		struct log_grave *g = *pp;
		if (partition_log_ops_in_flight(g->log) > 0) {
			pp = &g->next;
			continue;
		}
		topics_remove_log(g->log, g->name);
		*pp = g->next;
		if (answer && !topics_grave_of(ts->graveyard, g->deletion))
			shard_call_return(g->deletion);
		free(g);
	}
}

static void topics_on_reaper(struct io_timer *timer)
{
	struct topics_shard *ts = container_of(timer, struct topics_shard, reaper_timer);
	topics_reap_graves(ts, true);
	if (ts->graveyard)
		io_timer_arm(ts->shard->reactor, &ts->reaper_timer, TOPICS_REAP_INTERVAL_NS,
			     topics_on_reaper);
}

/* On an owning shard: its partitions of the deleted topic answer their
 * waiting fetches and lose their logs (at once, or once their writes are
 * done). Nothing else can reach them any more (metadata_sync.h). */
static void topics_delete_on_owner(struct shard_call *call)
{
	struct shard *s = call->target;
	struct topics_shard *ts = topics_shard_of(s);
	struct topic *t = ((struct topic_owner_call *)call)->topic;
	for (int32_t i = 0; i < t->partition_count; i++) {
		struct partition *p = &t->partitions[i];
		if (p->shard != s->id)
			continue;
		if (!p->log) {
			/* Offline since start: its directory goes too, so that the name
			 * can be created anew without meeting old files. */
			fetch_waiters_finish(&p->waiters);
			if (topics_remove_partition_dir(s->rt, t, i) != 0)
				slog_error("topics", "could not remove every file of %s-%d", t->name, i);
			continue;
		}
		fetch_waiters_finish(&p->waiters);
		struct partition_log *log = p->log;
		p->log = NULL;
		/* Its last writes must not wake waiters of a freed partition. */
		partition_log_set_advance_hook(log, NULL, NULL);
		char name[TOPIC_NAME_MAX + 16];
		snprintf(name, sizeof(name), "%s-%d", t->name, i);
		if (partition_log_ops_in_flight(log) == 0) {
			topics_remove_log(log, name);
			continue;
		}
		struct log_grave *g = calloc(1, sizeof(*g));
		if (!g) {
			slog_error("topics", "out of memory: %s keeps its files until restart", name);
			partition_log_close(log);
			continue;
		}
		g->log = log;
		g->deletion = call;
		snprintf(g->name, sizeof(g->name), "%s", name);
		g->next = ts->graveyard;
		ts->graveyard = g;
		if (!io_timer_armed(&ts->reaper_timer))
			io_timer_arm(s->reactor, &ts->reaper_timer, TOPICS_REAP_INTERVAL_NS,
				     topics_on_reaper);
	}
	if (!topics_grave_of(ts->graveyard, call))
		shard_call_return(call);
}

static void topics_deletion_finish(struct topic_deletion *d)
{
	slog_info("topics", "deleted topic %s", d->topic->name);
	topic_free(d->topic);
	free(d->owners);
	d->topic = NULL;
	d->owners = NULL;
	d->done(d);
}

static void topics_deleted_on_owner(struct shard_call *call)
{
	struct topic_deletion *d = ((struct topic_owner_call *)call)->deletion;
	if (--d->owners_pending == 0)
		topics_deletion_finish(d);
}

/* Every shard has moved past the image that still had the topic: its
 * owners may now let go of its partitions. */
static void topics_deletion_synced(struct metadata_sync_waiter *w)
{
	struct topic_deletion *d = container_of(w, struct topic_deletion, sync);
	struct runtime *rt = d->rt;
	struct topic *t = d->topic;
	d->owners_pending = 1;
	for (uint32_t k = 0; k < rt->io_shards; k++) {
		bool owns = false;
		for (int32_t i = 0; i < t->partition_count && !owns; i++)
			owns = t->partitions[i].shard == k;
		if (!owns)
			continue;
		struct topic_owner_call *oc = &d->owners[k];
		oc->call = (struct shard_call){ .origin = &rt->shards[SHARD_CONTROL], .target = &rt->shards[k],
						.run = topics_delete_on_owner,
						.done = topics_deleted_on_owner };
		oc->topic = t;
		oc->deletion = d;
		d->owners_pending++;
		shard_call_start(&oc->call);
	}
	if (--d->owners_pending == 0)
		topics_deletion_finish(d);
}

int16_t topics_delete(struct runtime *rt, struct topic *t, struct topic_deletion *d)
{
	assert(shard_current() == NULL || shard_current()->id == SHARD_CONTROL);
	d->owners = calloc(rt->io_shards, sizeof(*d->owners));
	if (!d->owners)
		return KERR_UNKNOWN_SERVER_ERROR;
	if (metadata_store_topic_delete(topics_registry(rt)->store, t->name) != 0) {
		slog_error("topics", "cannot record the deletion of %s", t->name);
		free(d->owners);
		d->owners = NULL;
		return KERR_KAFKA_STORAGE_ERROR;
	}
	topics_unlink(topics_registry(rt), t);
	metadata_publish(rt);
	d->rt = rt;
	d->topic = t;
	d->sync.done = topics_deletion_synced;
	metadata_sync_wait(rt, &d->sync);
	return KERR_NONE;
}

/* ---- start and stop ---- */

/* Moves one partition from shard `from` to `to`; returns its topic, or NULL
 * when `from` has none. */
static struct topic *topics_move_one(struct runtime *rt, uint32_t from, uint32_t to)
{
	for (size_t i = 0; i < TOPIC_REGISTRY_BUCKETS; i++)
		for (struct topic *t = topics_registry(rt)->buckets[i]; t; t = t->next_by_name)
			for (int32_t k = 0; k < t->partition_count; k++)
				if (t->partitions[k].shard == from) {
					t->partitions[k].shard = to;
					return t;
				}
	return NULL;
}

/* Placement follows the core layout. Under the layout it was recorded with it
 * stays exactly as it is; after num.io.threads changed, partitions of shards
 * that are gone go to the least-loaded shard, then partitions move from the
 * most- to the least-loaded shard until no two differ by more than one, and
 * every moved topic is recorded again. Runs before any log is opened, since a
 * log writes through its shard's ring. */
static int topics_rebalance(struct runtime *rt)
{
	uint32_t recorded = metadata_store_layout(topics_registry(rt)->store);
	if (recorded == rt->io_shards)
		return 0;
	uint32_t *load = topics_shard_load(rt, NULL);
	struct topic **changed = calloc(topics_registry(rt)->count + 1, sizeof(*changed));
	size_t changed_count = 0;
	uint32_t moved = 0;
	int rc = load && changed ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < TOPIC_REGISTRY_BUCKETS; i++) {
		for (struct topic *t = topics_registry(rt)->buckets[i]; t; t = t->next_by_name) {
			bool moved_here = false;
			for (int32_t k = 0; k < t->partition_count; k++) {
				struct partition *p = &t->partitions[k];
				uint32_t want = p->shard;
				if (want == TOPICS_UNPLACED) {
					want = topics_least_loaded(rt, load);
					load[want]++;
				}
				moved_here |= want != p->shard;
				moved += want != p->shard;
				p->shard = want;
			}
			if (moved_here)
				changed[changed_count++] = t;
		}
	}
	while (rc == 0) {
		uint32_t most = 0, least = 0;
		for (uint32_t k = 1; k < rt->io_shards; k++) {
			if (load[k] > load[most])
				most = k;
			if (load[k] < load[least])
				least = k;
		}
		if (load[most] <= load[least] + 1)
			break;
		struct topic *t = topics_move_one(rt, most, least);
		assert(t);
		load[most]--;
		load[least]++;
		moved++;
		bool listed = false;
		for (size_t i = 0; i < changed_count && !listed; i++)
			listed = changed[i] == t;
		if (!listed)
			changed[changed_count++] = t;
	}
	for (size_t i = 0; rc == 0 && i < changed_count; i++)
		rc = topics_persist(rt, changed[i]);
	if (rc == 0)
		rc = metadata_store_set_layout(topics_registry(rt)->store, rt->io_shards);
	if (rc == 0 && recorded != 0)
		slog_info("topics", "core layout changed from %u to %u io shard(s): %u partition(s) "
			  "of %zu topic(s) moved", recorded, rt->io_shards, moved, changed_count);
	else if (rc == 0 && moved != 0)
		slog_info("topics", "no core layout was recorded: %u partition(s) of %zu topic(s) "
			  "placed for %u io shard(s)", moved, changed_count, rt->io_shards);
	if (rc != 0)
		slog_error("topics", "cannot record the partitions' placement for %u io shard(s)",
			   rt->io_shards);
	free(load);
	free(changed);
	return rc == 0 ? 0 : -1;
}

static struct topic *topics_load_one(struct runtime *rt, const struct meta_topic *mt)
{
	struct topic *t = topic_alloc(mt->name, strlen(mt->name), mt->partition_count);
	if (!t)
		return NULL;
	t->id = mt->id;
	struct kstr *keys = calloc(mt->config_count + 1, sizeof(*keys));
	struct kstr *values = calloc(mt->config_count + 1, sizeof(*values));
	for (size_t k = 0; keys && values && k < mt->config_count; k++) {
		keys[k] = kstr_from_cstr(mt->configs[k].key);
		values[k] = kstr_from_cstr(mt->configs[k].value);
	}
	char msg[256] = "";
	int16_t cerr = keys && values ? topics_apply_configs(rt, t, mt->config_count, keys, values,
							      msg, sizeof(msg))
				      : KERR_UNKNOWN_SERVER_ERROR;
	free(keys);
	free(values);
	if (cerr != KERR_NONE)
		slog_warn("topics", "topic %s: stored config rejected (%s); using defaults", t->name,
			  msg);
	for (int32_t k = 0; k < t->partition_count; k++) {
		int32_t s = mt->partition_shard ? mt->partition_shard[k] : -1;
		t->partitions[k].shard = s >= 0 && (uint32_t)s < rt->io_shards ? (uint32_t)s
									    : TOPICS_UNPLACED;
	}
	return t;
}

struct topics_open_all {
	struct runtime *rt;
	bool clean_shutdown;
	struct topics_checkpoints cp;
	uint32_t offline;
};

/* A partition whose log cannot be opened stays offline (no log: every
 * request for it answers KAFKA_STORAGE_ERROR) and the broker starts anyway;
 * what a topic's files hold must never make a start impossible. */
static void topics_open_one(struct topic *t, void *ctx)
{
	struct topics_open_all *o = ctx;
	for (int32_t i = 0; i < t->partition_count; i++) {
		char why[PATH_MAX + 400];
		int rc = topics_open_partition(o->rt, t, i, o->clean_shutdown, &o->cp, why, sizeof(why));
		if (rc == 0)
			log_cleaner_set_offset(t->partitions[i].log,
					       topics_checkpointed(o->cp.cleaned, o->cp.cleaned_count, t, i));
		if (rc == 0)
			continue;
		o->offline++;
		slog_error("topics", "partition %s-%d: %s [%s]; offline (KAFKA_STORAGE_ERROR) until "
			   "this is fixed and the broker restarts", t->name, i, why,
			   topics_errno_name(-rc));
	}
}

int topics_load(struct runtime *rt, bool clean_shutdown)
{
	if (topics_shards_create(rt) != 0)
		return -1;
	struct log_space *space = &topics_registry(rt)->space;
	log_space_init(space, rt->cfg.log_dir, rt->cfg.log_dir_min_free_bytes);
	int space_rc = log_space_check(space);
	if (space_rc != 0)
		slog_warn("topics", "statvfs %s: %s", rt->cfg.log_dir, strerror(-space_rc));
	char path[PATH_MAX + 64];
	char err[256];
	struct checkpoint_entry *recovery = NULL, *start = NULL;
	size_t recovery_count = 0, start_count = 0;
	snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint", rt->cfg.log_dir);
	if (log_checkpoint_read(path, &recovery, &recovery_count, err, sizeof(err)) != 0)
		slog_warn("topics", "%s: %s; recovering every log from its start", path, err);
	snprintf(path, sizeof(path), "%s/log-start-offset-checkpoint", rt->cfg.log_dir);
	if (log_checkpoint_read(path, &start, &start_count, err, sizeof(err)) != 0)
		slog_warn("topics", "%s: %s; every log starts at its first segment", path, err);
	struct checkpoint_entry *cleaned = NULL;
	size_t cleaned_count = 0;
	snprintf(path, sizeof(path), "%s/cleaner-offset-checkpoint", rt->cfg.log_dir);
	if (log_checkpoint_read(path, &cleaned, &cleaned_count, err, sizeof(err)) != 0)
		slog_warn("topics", "%s: %s; compacted logs are cleaned from their start", path, err);
	size_t n = 0;
	const struct meta_topic *mt = metadata_store_topics(topics_registry(rt)->store, &n);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct topic *t = topics_load_one(rt, &mt[i]);
		if (t)
			topics_insert(topics_registry(rt), t);
		else
			rc = -1;
	}
	if (rc == 0)
		rc = topics_rebalance(rt);
	struct topics_open_all o = { .rt = rt, .clean_shutdown = clean_shutdown,
				     .cp = { .recovery = recovery, .recovery_count = recovery_count,
					     .start = start, .start_count = start_count,
					     .cleaned = cleaned, .cleaned_count = cleaned_count } };
	if (rc == 0)
		topics_for_each(topics_registry(rt), topics_open_one, &o);
	if (o.offline)
		slog_error("topics", "%u partition(s) offline: their logs could not be opened", o.offline);
	free(recovery);
	free(start);
	free(cleaned);
	if (rc == 0)
		rc = metadata_publish(rt);
	return rc;
}

static void topics_close_one(struct topic *t, void *ctx)
{
	(void)ctx;
	for (int32_t i = 0; i < t->partition_count; i++)
		if (t->partitions[i].log)
			partition_log_close(t->partitions[i].log);
	topic_free(t);
}

void topics_close_all(struct runtime *rt)
{
	/* The cleaners first: their passes hold logs (none is in flight once the
	 * loops have stopped), and shard 0's part holds their shared count. */
	for (uint32_t k = 0; rt->shards && k < rt->shard_count; k++) {
		struct topics_shard *ts = topics_shard_of(&rt->shards[k]);
		if (ts) {
			log_cleaner_destroy(ts->cleaner);
			ts->cleaner = NULL;
		}
	}
	for (uint32_t k = 0; rt->shards && k < rt->shard_count; k++) {
		struct shard *s = &rt->shards[k];
		struct topics_shard *ts = topics_shard_of(s);
		if (!ts)
			continue;
		topics_reap_graves(ts, false);
		if (io_timer_armed(&ts->reaper_timer))
			io_timer_stop(s->reactor, &ts->reaper_timer);
		if (io_timer_armed(&ts->retention_timer))
			io_timer_stop(s->reactor, &ts->retention_timer);
		while (ts->graveyard) {
			struct log_grave *g = ts->graveyard;
			ts->graveyard = g->next;
			slog_warn("topics", "deleted partition %s still had writes in flight at "
				  "shutdown; its files stay", g->name);
			partition_log_close(g->log);
			free(g);
		}
		free(ts);
		s->slots[SHARD_SLOT_TOPICS] = NULL;
	}
	struct topic_registry *r = topics_registry(rt);
	topics_for_each(r, topics_close_one, NULL);
	memset(r->buckets, 0, sizeof(r->buckets));
	r->count = 0;
}

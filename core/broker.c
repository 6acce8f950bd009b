/* Broker start and stop, the composition root: the data directory, the
 * clean-shutdown marker, the metadata store, topics and their logs, the
 * shards and the services wired into them, and periodic checkpoints. */
#include "core/broker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/api/handler_shard.h"
#include "core/api/handlers.h"
#include "core/group/group_coordinator.h"
#include "core/txn/txn_coordinator.h"
#include "core/log/log_checkpoint.h"
#include "core/log/log_cleaner.h"
#include "core/log/partition_log.h"
#include "core/meta/metadata_image.h"
#include "core/meta/metadata_store.h"
#include "core/meta/topics.h"
#include "core/meta/topics_shard.h"
#include "core/net/metrics_http.h"
#include "core/net/request.h"
#include "core/shard/metadata_sync.h"
#include "core/shard/shard.h"
#include "core/shard/shard_mail.h"
#include "core/slog.h"
#include "io/offload.h"

/* Kafka's name for the marker, so that either can tell how the other stopped. */
static const char CLEAN_SHUTDOWN_MARKER[] = ".kafka_cleanshutdown";

enum {
	SHARD_SQ_ENTRIES = 4096,
	SHARD_TIMERS_MAX = 65536,
};

static int broker_mkdirs(const char *dir)
{
	char path[PATH_MAX + 64];
	int n = snprintf(path, sizeof(path), "%s", dir);
	if (n <= 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A log dir that is missing or empty: a first start, which has nothing to
 * recover and must not be reported as an unclean shutdown. */
static bool broker_log_dir_is_new(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT;
	bool empty = true;
	for (struct dirent *e; empty && (e = readdir(d));)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

static void broker_marker_path(const struct broker *b, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", b->rt.cfg.log_dir, CLEAN_SHUTDOWN_MARKER);
}

/* Reads and removes the marker: from now on a crash must look unclean. */
static bool broker_take_clean_marker(const struct broker *b)
{
	char path[PATH_MAX + 64];
	broker_marker_path(b, path, sizeof(path));
	bool clean = access(path, F_OK) == 0;
	if (clean && unlink(path) != 0)
		slog_warn("broker", "cannot remove %s: %s", path, strerror(errno));
	return clean;
}

static void broker_write_clean_marker(const struct broker *b)
{
	char path[PATH_MAX + 64];
	broker_marker_path(b, path, sizeof(path));
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fsync(fd) != 0)
		slog_error("broker", "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	int dfd = open(b->rt.cfg.log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

struct checkpoint_fill {
	struct checkpoint_entry *recovery;
	struct checkpoint_entry *start;
	struct checkpoint_entry *cleaned; /* only the logs the cleaner has cleaned */
	size_t n;
	size_t n_cleaned;
	size_t cap;
};

static void broker_checkpoint_count(struct topic *t, void *ctx)
{
	((struct checkpoint_fill *)ctx)->cap += (size_t)t->partition_count;
}

static void broker_checkpoint_add(struct topic *t, void *ctx)
{
	struct checkpoint_fill *f = ctx;
	for (int32_t i = 0; i < t->partition_count && f->n < f->cap; i++) {
		struct partition_log *log = t->partitions[i].log;
		if (!log)
			continue;
		struct checkpoint_entry *r = &f->recovery[f->n];
		struct checkpoint_entry *s = &f->start[f->n];
		snprintf(r->topic, sizeof(r->topic), "%s", t->name);
		snprintf(s->topic, sizeof(s->topic), "%s", t->name);
		r->partition = s->partition = i;
		/* The log belongs to its io shard: read what it published. */
		partition_log_checkpoint_offsets(log, &r->offset, &s->offset);
		f->n++;
		int64_t cleaned;
		uint32_t dirty_ppm;
		log_cleaner_published(log, &cleaned, &dirty_ppm);
		if (cleaned > 0) {
			struct checkpoint_entry *c = &f->cleaned[f->n_cleaned++];
			snprintf(c->topic, sizeof(c->topic), "%s", t->name);
			c->partition = i;
			c->offset = cleaned;
		}
	}
}

static const char *const CHECKPOINT_FILES[] = { "recovery-point-offset-checkpoint",
						 "log-start-offset-checkpoint",
						 "cleaner-offset-checkpoint" };
enum { CHECKPOINT_FILE_COUNT = sizeof(CHECKPOINT_FILES) / sizeof(CHECKPOINT_FILES[0]) };

/* Both files' entries for every partition, as the logs last published them. */
static int broker_checkpoint_collect(struct broker *b, struct checkpoint_fill *f)
{
	memset(f, 0, sizeof(*f));
	topics_for_each(&b->topics, broker_checkpoint_count, f);
	f->recovery = calloc(f->cap + 1, sizeof(*f->recovery));
	f->start = calloc(f->cap + 1, sizeof(*f->start));
	f->cleaned = calloc(f->cap + 1, sizeof(*f->cleaned));
	if (!f->recovery || !f->start || !f->cleaned) {
		free(f->recovery);
		free(f->start);
		free(f->cleaned);
		slog_error("broker", "out of memory writing checkpoints");
		return -ENOMEM;
	}
	topics_for_each(&b->topics, broker_checkpoint_add, f);
	return 0;
}

static const struct checkpoint_entry *broker_checkpoint_entries(const struct checkpoint_fill *f,
								 int file)
{
	return file == 0 ? f->recovery : file == 1 ? f->start : f->cleaned;
}

static size_t broker_checkpoint_entry_count(const struct checkpoint_fill *f, int file)
{
	return file == 2 ? f->n_cleaned : f->n;
}

static void broker_checkpoint_path(const struct broker *b, int file, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", b->rt.cfg.log_dir, CHECKPOINT_FILES[file]);
}

void broker_write_checkpoints(struct broker *b)
{
	struct checkpoint_fill f;
	if (broker_checkpoint_collect(b, &f) != 0)
		return;
	for (int k = 0; k < CHECKPOINT_FILE_COUNT; k++) {
		char path[PATH_MAX + 64];
		broker_checkpoint_path(b, k, path, sizeof(path));
		int rc = log_checkpoint_write(path, broker_checkpoint_entries(&f, k),
					      broker_checkpoint_entry_count(&f, k));
		if (rc != 0)
			slog_error("broker", "cannot write %s: %s", path, strerror(-rc));
	}
	free(f.recovery);
	free(f.start);
	free(f.cleaned);
}

/* A periodic round writing both files, one after the other, without
 * blocking shard 0's loop; the next round is timed from its end. */
struct checkpoint_round {
	struct broker *broker;
	struct checkpoint_fill fill;
	struct checkpoint_async write;
	int file;
};

static void broker_on_housekeeping(struct io_timer *t);

static void broker_arm_housekeeping(struct broker *b)
{
	io_timer_arm(b->rt.shards[SHARD_CONTROL].reactor, &b->housekeeping_timer,
		     (uint64_t)b->rt.cfg.log_flush_offset_checkpoint_interval_ms * 1000000,
		     broker_on_housekeeping);
}

static void broker_checkpoint_next(struct checkpoint_round *c);

static void broker_on_checkpoint_written(struct checkpoint_async *w, int rc)
{
	struct checkpoint_round *c = container_of(w, struct checkpoint_round, write);
	if (rc != 0)
		slog_error("broker", "cannot write %s: %s", w->path, strerror(-rc));
	c->file++;
	broker_checkpoint_next(c);
}

static void broker_checkpoint_next(struct checkpoint_round *c)
{
	struct broker *b = c->broker;
	struct shard *s = &b->rt.shards[SHARD_CONTROL];
	for (; c->file < CHECKPOINT_FILE_COUNT; c->file++) {
		char path[PATH_MAX + 64];
		broker_checkpoint_path(b, c->file, path, sizeof(path));
		c->write.done = broker_on_checkpoint_written;
		int rc = log_checkpoint_write_async(s->reactor, path,
						    broker_checkpoint_entries(&c->fill, c->file),
						    broker_checkpoint_entry_count(&c->fill, c->file),
						    &c->write);
		if (rc == 0)
			return;
		slog_error("broker", "cannot write %s: %s", path, strerror(-rc));
	}
	free(c->fill.recovery);
	free(c->fill.start);
	free(c->fill.cleaned);
	free(c);
	broker_arm_housekeeping(b);
}

static void broker_on_housekeeping(struct io_timer *t)
{
	struct broker *b = container_of(t, struct broker, housekeeping_timer);
	struct checkpoint_round *c = calloc(1, sizeof(*c));
	if (!c || broker_checkpoint_collect(b, &c->fill) != 0) {
		free(c);
		broker_arm_housekeeping(b);
		return;
	}
	c->broker = b;
	broker_checkpoint_next(c);
}

/* The core layout: num.network.threads shards own connections and
 * num.io.threads own partitions, shard k doing each job while k is below its
 * count, pinned round-robin over cpu.affinity. Shard 0 is also the control
 * shard: the topic registry and the group coordinator. */
static int broker_layout(struct broker *b, int *cpus, int *ncpus)
{
	char err[256];
	*ncpus = config_cpus(&b->rt.cfg, cpus, CONFIG_CPUS_MAX, err, sizeof(err));
	if (*ncpus < 1) {
		slog_error("broker", "%s", err);
		return -1;
	}
	CPU_ZERO(&b->rt.worker_cpus);
	for (int i = 0; i < *ncpus; i++)
		CPU_SET(cpus[i], &b->rt.worker_cpus);
	b->rt.network_shards = b->rt.cfg.num_network_threads;
	b->rt.io_shards = b->rt.cfg.num_io_threads;
	b->rt.shard_count = b->rt.network_shards > b->rt.io_shards ? b->rt.network_shards : b->rt.io_shards;
	return 0;
}

static void broker_log_layout(const struct broker *b)
{
	for (uint32_t i = 0; i < b->rt.shard_count; i++) {
		const struct shard *s = &b->rt.shards[i];
		slog_info("broker", "core layout: shard %u on CPU %d: %s%s%s%s", i, s->cpu,
			  s->network ? "network" : "", s->network && s->io ? " + " : "",
			  s->io ? "io (partitions)" : "",
			  i == 0 ? " + control (topics, groups)" : "");
	}
}

static int broker_shards_create(struct broker *b)
{
	int cpus[CONFIG_CPUS_MAX], ncpus;
	if (broker_layout(b, cpus, &ncpus) != 0)
		return -1;
	b->rt.shards = calloc(b->rt.shard_count, sizeof(*b->rt.shards));
	if (!b->rt.shards)
		return -1;
	for (uint32_t i = 0; i < b->rt.shard_count; i++) {
		struct shard *s = &b->rt.shards[i];
		s->id = i;
		s->rt = &b->rt;
		s->network = i < b->rt.network_shards;
		s->io = i < b->rt.io_shards;
		s->cpu = cpus[i % (uint32_t)ncpus];
	}
	/* Every shard is initialised above before any ring is made: a start
	 * that fails below stops the shards it never reached, too. */
	for (uint32_t i = 0; i < b->rt.shard_count; i++) {
		struct shard *s = &b->rt.shards[i];
		char err[256];
		/* Rings are single-issuer: every shard but the first (the main
		 * thread's) takes its ring over on its own thread. */
		struct reactor_config rc = { .sq_entries = SHARD_SQ_ENTRIES,
					     .timers_max = SHARD_TIMERS_MAX, .owner_enables = i > 0 };
		s->reactor = reactor_create(&rc, err, sizeof(err));
		if (!s->reactor) {
			slog_error("broker", "shard %u: %s", i, err);
			return -1;
		}
		char name[32];
		snprintf(name, sizeof(name), "sluice-off%u", i);
		if (s->io && !(s->offload = offload_create(s->reactor, &b->rt.worker_cpus, name, err,
							   sizeof(err)))) {
			slog_error("broker", "shard %u: %s", i, err);
			return -1;
		}
	}
	atomic_store(&b->rt.shards_running, b->rt.shard_count);
	return shard_mail_init(&b->rt);
}

/* The layers' broker-wide state in the runtime's slots, and the shard hooks:
 * the metadata rounds' turn, then, in the order the stop runs them,
 * long-polling fetches answer, waiting group members answer, and the
 * connections close. */
static void broker_wire_services(struct broker *b)
{
	b->rt.slots[RUNTIME_SLOT_TOPICS] = &b->topics;
	b->rt.slots[RUNTIME_SLOT_NET] = &b->net;
	b->net.apis = api_table_init();
	b->net.conn_handlers = &request_conn_handlers;
	runtime_service_add(&b->rt, &metadata_sync_service);
	runtime_service_add(&b->rt, &topics_shard_service);
	runtime_service_add(&b->rt, &group_shard_service);
	runtime_service_add(&b->rt, &txn_shard_service);
	runtime_service_add(&b->rt, &net_shard_service);
}

int broker_start(struct broker *b)
{
	broker_wire_services(b);
	io_timer_init(&b->housekeeping_timer);
	bool fresh = broker_log_dir_is_new(b->rt.cfg.log_dir);
	int rc = broker_mkdirs(b->rt.cfg.log_dir);
	if (rc != 0) {
		slog_error("broker", "log.dirs: cannot create %s: %s", b->rt.cfg.log_dir, strerror(-rc));
		return -1;
	}
	char err[512];
	if (metadata_store_open(b->rt.cfg.log_dir, b->rt.cfg.node_id, &b->topics.store, err, sizeof(err)) != 0) {
		slog_error("broker", "%s", err);
		return -1;
	}
	bool clean = broker_take_clean_marker(b) || fresh;
	if (fresh)
		slog_info("broker", "log.dirs %s is new: a first start, nothing to recover",
			  b->rt.cfg.log_dir);
	else if (!clean)
		slog_info("broker", "no clean-shutdown marker in %s: recovering logs after their "
			  "recovery points", b->rt.cfg.log_dir);
	struct runtime *rt = &b->rt;
	if (broker_shards_create(b) != 0 || net_shards_create(rt) != 0 ||
	    handler_shards_create(rt) != 0 || metadata_sync_init(rt) != 0 ||
	    metadata_publish(rt) != 0)
		return -1;
	topics_adopt_dirs(rt);
	if (topics_load(rt, clean) != 0)
		return -1;
	for (uint32_t i = 0; i < rt->io_shards; i++)
		if (group_coordinator_start(rt, &rt->shards[i]) != 0 ||
		    txn_coordinator_start(rt, &rt->shards[i]) != 0)
			return -1;
	for (uint32_t i = 0; i < rt->network_shards; i++) {
		if (net_open_listener(&rt->shards[i], err, sizeof(err)) != 0) {
			slog_error("broker", "%s", err);
			return -1;
		}
	}
	if (rt->cfg.metrics_port && metrics_http_start(rt, &rt->shards[0], err, sizeof(err)) != 0) {
		slog_error("broker", "%s", err);
		return -1;
	}
	broker_log_layout(b);
	broker_arm_housekeeping(b);
	slog_info("broker", "sluice ready: listening on %s:%u (advertised %s:%u), node %d, "
		  "cluster %s, data in %s, %zu topic(s)",
		  b->rt.cfg.listen_host[0] ? b->rt.cfg.listen_host : "*", b->rt.cfg.listen_port,
		  b->rt.cfg.advertised_host, b->rt.cfg.advertised_port, b->rt.cfg.node_id,
		  metadata_store_cluster_id(b->topics.store), b->rt.cfg.log_dir, b->topics.count);
	b->started = true;
	return 0;
}

int broker_run(struct broker *b)
{
	struct shard *s0 = &b->rt.shards[0];
	uint32_t spawned = 1;
	b->rt.shards_running_loops = true;
	for (; spawned < b->rt.shard_count; spawned++) {
		int rc = shard_spawn(&b->rt.shards[spawned]);
		if (rc != 0) {
			slog_error("broker", "cannot start shard %u: %s", spawned, strerror(-rc));
			atomic_store(&b->rt.start_abandoned, true);
			break;
		}
	}
	if (b->rt.thread_init)
		b->rt.thread_init(0);
	int rc = shard_pin(s0, pthread_self());
	if (rc != 0)
		slog_warn("broker", "shard 0: cannot pin to CPU %d: %s", s0->cpu, strerror(rc));
	shard_run(s0);
	for (uint32_t i = 1; i < spawned; i++)
		pthread_join(b->rt.shards[i].thread, NULL);
	return atomic_load(&b->rt.start_abandoned) ? -1 : 0;
}

static void broker_sync_topic(struct topic *t, void *ctx)
{
	(void)ctx;
	for (int32_t i = 0; i < t->partition_count; i++)
		if (t->partitions[i].log && partition_log_sync(t->partitions[i].log) != 0)
			slog_error("broker", "cannot sync %s-%d at shutdown", t->name, i);
}

void broker_stop(struct broker *b)
{
	slog_info("broker", "shutting down");
	struct runtime *rt = &b->rt;
	metrics_http_free(rt);
	if (rt->shards && rt->shards[SHARD_CONTROL].reactor)
		io_timer_stop(rt->shards[SHARD_CONTROL].reactor, &b->housekeeping_timer);
	for (uint32_t i = 0; b->rt.shards && i < b->rt.shard_count; i++)
		group_coordinator_free(&b->rt.shards[i]);
	for (uint32_t i = 0; b->rt.shards && i < b->rt.shard_count; i++)
		txn_coordinator_free(&b->rt.shards[i]);
	topics_for_each(&b->topics, broker_sync_topic, NULL);
	broker_write_checkpoints(b);
	topics_close_all(rt);
	metadata_sync_free(rt);
	if (b->topics.store) {
		metadata_store_close(b->topics.store);
		b->topics.store = NULL;
		/* Only a broker that recovered and ran may vouch for its logs. */
		if (b->started)
			broker_write_clean_marker(b);
	}
	net_shards_free(rt);
	handler_shards_free(rt);
	if (rt->shards)
		shard_mail_free(rt);
	for (uint32_t i = 0; b->rt.shards && i < b->rt.shard_count; i++) {
		/* The loops have ended, so no job is in flight. */
		if (b->rt.shards[i].offload)
			offload_destroy(b->rt.shards[i].offload);
		if (b->rt.shards[i].reactor)
			reactor_destroy(b->rt.shards[i].reactor);
	}
	free(b->rt.shards);
	b->rt.shards = NULL;
	slog_info("broker", "stopped");
}

/* The settings table, its parser and the derived values (see config.h). */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/slog.h"

enum { OFFSETS_TOPIC_PARTITIONS_MAX = 10000 }; /* TOPIC_PARTITIONS_MAX in topics.h */

/* Kafka 4.4's group.consumer.assignors: its class names, uniform first. */
static const char DEFAULT_GROUP_CONSUMER_ASSIGNORS[] =
	"org.apache.kafka.coordinator.group.assignor.UniformAssignor,"
	"org.apache.kafka.coordinator.group.assignor.RangeAssignor";

enum config_type { CT_BOOL, CT_I16, CT_I32, CT_I64, CT_U16, CT_U32, CT_U64, CT_F64, CT_STR, CT_ENUM };

struct config_key {
	const char *key;
	enum config_type type;
	size_t offset;
	size_t size;       /* for strings: buffer size */
	int64_t min, max;  /* for numbers */
	const char *choices; /* for enums: '|'-separated */
	size_t set_flag;   /* offset of the "given" flag, or 0 */
};

#define CFG_OFF(f) offsetof(struct broker_config, f)
#define CFG_NUM(k, t, f, lo, hi) { k, t, CFG_OFF(f), 0, lo, hi, NULL, 0 }
#define CFG_NUM_SET(k, t, f, lo, hi, s) { k, t, CFG_OFF(f), 0, lo, hi, NULL, CFG_OFF(s) }
#define CFG_STR(k, f, s) { k, CT_STR, CFG_OFF(f), sizeof(((struct broker_config *)0)->f), 0, 0, NULL, s }

static const struct config_key config_keys[] = {
	CFG_STR("listeners", listeners, 0),
	CFG_STR("advertised.listeners", advertised_listeners, CFG_OFF(set_advertised)),
	CFG_STR("log.dirs", log_dir, CFG_OFF(set_log_dir)),
	CFG_STR("log.dir", log_dir, CFG_OFF(set_log_dir)),
	CFG_NUM_SET("node.id", CT_I32, node_id, 0, INT32_MAX, set_node_id),
	CFG_NUM_SET("broker.id", CT_I32, broker_id, -1, INT32_MAX, set_broker_id),
	CFG_NUM("num.partitions", CT_I32, num_partitions, 1, 10000),
	{ "auto.create.topics.enable", CT_BOOL, CFG_OFF(auto_create_topics_enable), 0, 0, 0, NULL, 0 },
	CFG_NUM("default.replication.factor", CT_I16, default_replication_factor, 1, INT16_MAX),
	CFG_NUM("log.segment.bytes", CT_U64, log_segment_bytes, 14, INT32_MAX),
	CFG_NUM_SET("log.roll.ms", CT_U64, log_roll_ms, 1, INT64_MAX, set_roll_ms),
	CFG_NUM("log.roll.hours", CT_U64, log_roll_hours, 1, INT32_MAX),
	CFG_NUM_SET("log.roll.jitter.ms", CT_U64, log_roll_jitter_ms, 0, INT64_MAX, set_roll_jitter_ms),
	CFG_NUM("log.roll.jitter.hours", CT_U64, log_roll_jitter_hours, 0, INT32_MAX),
	CFG_NUM("log.index.interval.bytes", CT_U32, log_index_interval_bytes, 0, INT32_MAX),
	CFG_NUM("log.index.size.max.bytes", CT_U32, log_index_size_max_bytes, 4, INT32_MAX),
	CFG_NUM_SET("log.retention.ms", CT_I64, log_retention_ms, -1, INT64_MAX, set_retention_ms),
	CFG_NUM_SET("log.retention.minutes", CT_I64, log_retention_minutes, -1, INT32_MAX,
		    set_retention_minutes),
	CFG_NUM("log.retention.hours", CT_I64, log_retention_hours, -1, INT32_MAX),
	CFG_NUM("log.retention.bytes", CT_I64, log_retention_bytes, -1, INT64_MAX),
	CFG_NUM("log.retention.check.interval.ms", CT_U64, log_retention_check_interval_ms, 1,
		INT64_MAX),
	CFG_NUM("log.segment.delete.delay.ms", CT_U64, log_segment_delete_delay_ms, 0, INT64_MAX),
	CFG_NUM("log.flush.interval.messages", CT_I64, log_flush_interval_messages, 1, INT64_MAX),
	CFG_NUM("log.flush.interval.ms", CT_I64, log_flush_interval_ms, -1, INT64_MAX),
	CFG_NUM("log.flush.scheduler.interval.ms", CT_I64, log_flush_scheduler_interval_ms, 1,
		INT64_MAX),
	CFG_NUM("sluice.log.dir.min.free.bytes", CT_I64, log_dir_min_free_bytes, -1, INT64_MAX),
	CFG_NUM("sluice.log.append.mapped.max.bytes", CT_U32, log_append_mapped_max_bytes, 0,
		INT32_MAX),
	CFG_NUM("sluice.log.append.prefault.max.bytes", CT_U64, log_append_prefault_max_bytes, 4096,
		1 << 30),
	CFG_NUM("log.flush.offset.checkpoint.interval.ms", CT_I64,
		log_flush_offset_checkpoint_interval_ms, 1, INT32_MAX),
	CFG_NUM("message.max.bytes", CT_U32, message_max_bytes, 0, INT32_MAX),
	CFG_NUM("socket.request.max.bytes", CT_U32, socket_request_max_bytes, 1, INT32_MAX),
	CFG_NUM("queued.max.request.bytes", CT_U64, queued_max_request_bytes, 1, INT64_MAX),
	CFG_NUM("num.network.threads", CT_U32, num_network_threads, 1, 1024),
	CFG_NUM("num.io.threads", CT_U32, num_io_threads, 1, 1024),
	CFG_STR("cpu.affinity", cpu_affinity, 0),
	CFG_NUM("fetch.max.bytes", CT_U32, fetch_max_bytes, 1024, INT32_MAX),
	CFG_NUM("max.connections", CT_U32, max_connections, 1, INT32_MAX),
	CFG_NUM("connections.max.idle.ms", CT_U32, connections_max_idle_ms, 1, INT32_MAX),
	CFG_NUM("sluice.request.receive.timeout.ms", CT_U32, request_receive_timeout_ms, 1,
		INT32_MAX),
	{ "log.message.timestamp.type", CT_ENUM, CFG_OFF(log_message_timestamp_type),
	  sizeof(((struct broker_config *)0)->log_message_timestamp_type), 0, 0,
	  "CreateTime|LogAppendTime", 0 },
	CFG_NUM("sluice.metrics.port", CT_U16, metrics_port, 0, 65535),
	{ "sluice.metrics.partition.level", CT_BOOL, CFG_OFF(metrics_partition_level), 0, 0, 0, NULL, 0 },
	CFG_NUM("group.min.session.timeout.ms", CT_U32, group_min_session_timeout_ms, 0, INT32_MAX),
	CFG_NUM("group.max.session.timeout.ms", CT_U32, group_max_session_timeout_ms, 1, INT32_MAX),
	CFG_NUM("group.initial.rebalance.delay.ms", CT_U32, group_initial_rebalance_delay_ms, 0,
		INT32_MAX),
	CFG_NUM("group.max.size", CT_U32, group_max_size, 1, INT32_MAX),
	CFG_NUM("group.consumer.heartbeat.interval.ms", CT_U32, group_consumer_heartbeat_interval_ms, 1,
		INT32_MAX),
	CFG_NUM("group.consumer.session.timeout.ms", CT_U32, group_consumer_session_timeout_ms, 1,
		INT32_MAX),
	CFG_NUM("group.consumer.max.size", CT_U32, group_consumer_max_size, 1, INT32_MAX),
	CFG_STR("group.consumer.assignors", group_consumer_assignors, 0),
	CFG_NUM("offsets.topic.num.partitions", CT_U32, offsets_topic_num_partitions, 1,
		OFFSETS_TOPIC_PARTITIONS_MAX),
	CFG_NUM("offsets.topic.segment.bytes", CT_U64, offsets_topic_segment_bytes, 14, INT32_MAX),
	CFG_NUM("offsets.retention.minutes", CT_U32, offsets_retention_minutes, 1, INT32_MAX),
	CFG_NUM("offsets.retention.check.interval.ms", CT_U64, offsets_retention_check_interval_ms,
		1, INT64_MAX),
	CFG_NUM("producer.id.expiration.ms", CT_I64, producer_id_expiration_ms, 1, INT64_MAX),
	CFG_NUM("producer.id.expiration.check.interval.ms", CT_I64,
		producer_id_expiration_check_interval_ms, 1, INT64_MAX),
	CFG_NUM("transaction.state.log.num.partitions", CT_U32, transaction_state_log_num_partitions,
		1, OFFSETS_TOPIC_PARTITIONS_MAX),
	CFG_NUM("transaction.state.log.segment.bytes", CT_U64, transaction_state_log_segment_bytes,
		14, INT32_MAX),
	CFG_NUM("transaction.max.timeout.ms", CT_U32, transaction_max_timeout_ms, 1, INT32_MAX),
	CFG_NUM("transaction.abort.timed.out.transaction.cleanup.interval.ms", CT_U64,
		transaction_abort_timed_out_transaction_cleanup_interval_ms, 1, INT32_MAX),
	CFG_NUM("transactional.id.expiration.ms", CT_I64, transactional_id_expiration_ms, 1, INT32_MAX),
	CFG_NUM("transaction.remove.expired.transaction.cleanup.interval.ms", CT_U64,
		transaction_remove_expired_transaction_cleanup_interval_ms, 1, INT32_MAX),
	CFG_NUM("offset.metadata.max.bytes", CT_U32, offset_metadata_max_bytes, 0, INT32_MAX),
	CFG_NUM("sluice.batch.inflated.max.bytes", CT_U64, batch_inflated_max_bytes, 1, INT64_MAX),
	CFG_NUM("sluice.fetch.cold.reads.max", CT_U32, fetch_cold_reads_max, 1, 1024),
	{ "log.cleaner.enable", CT_BOOL, CFG_OFF(log_cleaner_enable), 0, 0, 0, NULL, 0 },
	CFG_NUM("log.cleaner.threads", CT_U32, log_cleaner_threads, 0, 1024),
	CFG_NUM("log.cleaner.io.max.bytes.per.second", CT_F64, log_cleaner_io_max_bytes_per_second,
		0, INT64_MAX),
	CFG_NUM("log.cleaner.dedupe.buffer.size", CT_U64, log_cleaner_dedupe_buffer_size,
		LOG_CLEANER_DEDUPE_MIN_BYTES, INT64_MAX),
	CFG_NUM("log.cleaner.backoff.ms", CT_U64, log_cleaner_backoff_ms, 0, INT64_MAX),
	CFG_NUM("log.cleaner.min.cleanable.ratio", CT_F64, log_cleaner_min_cleanable_ratio, 0, 1),
	CFG_NUM("log.cleaner.delete.retention.ms", CT_I64, log_cleaner_delete_retention_ms, 0,
		INT64_MAX),
	CFG_NUM("log.cleaner.min.compaction.lag.ms", CT_I64, log_cleaner_min_compaction_lag_ms, 0,
		INT64_MAX),
	CFG_NUM("log.cleaner.max.compaction.lag.ms", CT_I64, log_cleaner_max_compaction_lag_ms, 1,
		INT64_MAX),
};

/* Kafka keys that sluice accepts but does not act on yet: a warning says so. */
static const char *const config_known_inert[] = {
	"zookeeper.connect", "zookeeper.connection.timeout.ms", "listener.security.protocol.map",
	"inter.broker.listener.name", "process.roles", "controller.quorum.voters",
	"controller.listener.names", "num.recovery.threads.per.data.dir",
	"offsets.topic.replication.factor", "transaction.state.log.replication.factor",
	"transaction.state.log.min.isr",
	"offsets.commit.timeout.ms", "offsets.load.buffer.size", "socket.send.buffer.bytes",
	"socket.receive.buffer.bytes",
};

enum {
	DEFAULT_PORT = 9092,
	DEFAULT_SEGMENT_BYTES = 1 << 30,
	DEFAULT_ROLL_HOURS = 168,
	DEFAULT_RETENTION_HOURS = 168,
	DEFAULT_RETENTION_CHECK_MS = 300000, /* Kafka's log.retention.check.interval.ms */
	DEFAULT_SEGMENT_DELETE_DELAY_MS = 60000,
	DEFAULT_FETCH_COLD_READS_MAX = 2,
	DEFAULT_INDEX_INTERVAL_BYTES = 4096,
	/* Batches up to this size reach the page cache by a copy on the shard
	 * (segment_write.c); larger ones by io_uring write, in parallel with
	 * the shard. Measured at the maximum rate on 2 cores: 1 KiB batches
	 * as fast with 20% less CPU by the copy; 4 KiB batches 5-18% slower,
	 * 10 KiB batches 17-29% slower (the shard copies alone, and each
	 * pre-faulted page is zeroed first).
	 * At 10k msg/s of 1 KiB, once the pre-fault went in 64 KiB steps
	 * (one of megabytes kept the shard off its core for 3-5 ms), e2e p99
	 * was 0.88 ms against 1.35 ms by write, p99.9 3.6 against 4.9 ms
	 * (medians of 12 alternating runs each, same build). */
	DEFAULT_APPEND_MAPPED_MAX_BYTES = 4096,
	DEFAULT_APPEND_PREFAULT_MAX_BYTES = 4 << 20,
	DEFAULT_INDEX_MAX_BYTES = 10 * 1024 * 1024,
	DEFAULT_MESSAGE_MAX_BYTES = 1048588,
	DEFAULT_BATCH_INFLATED_MAX_BYTES = 16 << 20,
	DEFAULT_REQUEST_MAX_BYTES = 100 * 1024 * 1024,
	DEFAULT_FETCH_MAX_BYTES = 57671680,
	DEFAULT_MAX_CONNECTIONS = 10000,
	DEFAULT_CONNECTIONS_MAX_IDLE_MS = 600000, /* Kafka's */
	/* Kafka has no deadline for a request still arriving; clients give up on
	 * a request after request.timeout.ms (30000 by default), so a frame
	 * still incomplete by then is from a client that has given up. */
	DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS = 30000,
	DEFAULT_CHECKPOINT_INTERVAL_MS = 60000,
	DEFAULT_GROUP_MIN_SESSION_MS = 6000,
	DEFAULT_GROUP_MAX_SESSION_MS = 1800000,
	DEFAULT_GROUP_INITIAL_DELAY_MS = 3000,
	DEFAULT_GROUP_CONSUMER_HEARTBEAT_MS = 5000,
	DEFAULT_GROUP_CONSUMER_SESSION_MS = 45000,
	DEFAULT_OFFSETS_PARTITIONS = 50,
	DEFAULT_OFFSETS_SEGMENT_BYTES = 100 * 1024 * 1024,
	DEFAULT_OFFSETS_RETENTION_MINUTES = 7 * 24 * 60,
	DEFAULT_OFFSETS_RETENTION_CHECK_MS = 600000,
	DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86400000,
	DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_MS = 600000,
	DEFAULT_TXN_STATE_PARTITIONS = 50,
	DEFAULT_TXN_STATE_SEGMENT_BYTES = 100 * 1024 * 1024,
	DEFAULT_TXN_MAX_TIMEOUT_MS = 900000,
	DEFAULT_TXN_ABORT_TIMED_OUT_INTERVAL_MS = 10000,
	DEFAULT_TXN_ID_EXPIRATION_MS = 604800000,
	DEFAULT_TXN_REMOVE_EXPIRED_INTERVAL_MS = 3600000,
	DEFAULT_OFFSET_METADATA_MAX_BYTES = 4096,
	DEFAULT_CLEANER_DEDUPE_BYTES = 128 << 20,
	DEFAULT_CLEANER_BACKOFF_MS = 15000,
	DEFAULT_CLEANER_DELETE_RETENTION_MS = 86400000,
};
/* Kafka's queued.max.request.bytes is unbounded (-1); sluice bounds it. */
static const uint64_t DEFAULT_QUEUED_REQUEST_BYTES = 512ull << 20;

static uint32_t config_usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (uint32_t)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (uint32_t)n : 1;
}

void config_defaults(struct broker_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listeners, sizeof(c->listeners), "PLAINTEXT://127.0.0.1:%d", DEFAULT_PORT);
	snprintf(c->log_dir, sizeof(c->log_dir), "/tmp/sluice-logs");
	c->broker_id = -1;
	c->num_partitions = 1;
	c->auto_create_topics_enable = true;
	c->default_replication_factor = 1;
	c->log_segment_bytes = DEFAULT_SEGMENT_BYTES;
	c->log_roll_hours = DEFAULT_ROLL_HOURS;
	c->log_index_interval_bytes = DEFAULT_INDEX_INTERVAL_BYTES;
	c->log_index_size_max_bytes = DEFAULT_INDEX_MAX_BYTES;
	c->log_retention_hours = DEFAULT_RETENTION_HOURS;
	c->log_retention_bytes = -1;
	c->log_retention_check_interval_ms = DEFAULT_RETENTION_CHECK_MS;
	c->log_segment_delete_delay_ms = DEFAULT_SEGMENT_DELETE_DELAY_MS;
	c->log_flush_interval_messages = INT64_MAX;
	c->log_flush_interval_ms = -1;
	c->log_flush_scheduler_interval_ms = INT64_MAX;
	c->log_dir_min_free_bytes = -1;
	c->log_append_mapped_max_bytes = DEFAULT_APPEND_MAPPED_MAX_BYTES;
	c->log_append_prefault_max_bytes = DEFAULT_APPEND_PREFAULT_MAX_BYTES;
	c->log_flush_offset_checkpoint_interval_ms = DEFAULT_CHECKPOINT_INTERVAL_MS;
	c->message_max_bytes = DEFAULT_MESSAGE_MAX_BYTES;
	c->socket_request_max_bytes = DEFAULT_REQUEST_MAX_BYTES;
	c->queued_max_request_bytes = DEFAULT_QUEUED_REQUEST_BYTES;
	c->num_network_threads = config_usable_cpus();
	c->num_io_threads = c->num_network_threads;
	c->fetch_max_bytes = DEFAULT_FETCH_MAX_BYTES;
	c->max_connections = DEFAULT_MAX_CONNECTIONS;
	c->connections_max_idle_ms = DEFAULT_CONNECTIONS_MAX_IDLE_MS;
	c->request_receive_timeout_ms = DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS;
	snprintf(c->log_message_timestamp_type, sizeof(c->log_message_timestamp_type), "CreateTime");
	c->group_min_session_timeout_ms = DEFAULT_GROUP_MIN_SESSION_MS;
	c->group_max_session_timeout_ms = DEFAULT_GROUP_MAX_SESSION_MS;
	c->group_initial_rebalance_delay_ms = DEFAULT_GROUP_INITIAL_DELAY_MS;
	c->group_max_size = INT32_MAX;
	c->group_consumer_heartbeat_interval_ms = DEFAULT_GROUP_CONSUMER_HEARTBEAT_MS;
	c->group_consumer_session_timeout_ms = DEFAULT_GROUP_CONSUMER_SESSION_MS;
	c->group_consumer_max_size = INT32_MAX;
	snprintf(c->group_consumer_assignors, sizeof(c->group_consumer_assignors), "%s",
		 DEFAULT_GROUP_CONSUMER_ASSIGNORS);
	c->offsets_topic_num_partitions = DEFAULT_OFFSETS_PARTITIONS;
	c->offsets_topic_segment_bytes = DEFAULT_OFFSETS_SEGMENT_BYTES;
	c->offsets_retention_minutes = DEFAULT_OFFSETS_RETENTION_MINUTES;
	c->offsets_retention_check_interval_ms = DEFAULT_OFFSETS_RETENTION_CHECK_MS;
	c->producer_id_expiration_ms = DEFAULT_PRODUCER_ID_EXPIRATION_MS;
	c->producer_id_expiration_check_interval_ms = DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_MS;
	c->transaction_state_log_num_partitions = DEFAULT_TXN_STATE_PARTITIONS;
	c->transaction_state_log_segment_bytes = DEFAULT_TXN_STATE_SEGMENT_BYTES;
	c->transaction_max_timeout_ms = DEFAULT_TXN_MAX_TIMEOUT_MS;
	c->transaction_abort_timed_out_transaction_cleanup_interval_ms =
		DEFAULT_TXN_ABORT_TIMED_OUT_INTERVAL_MS;
	c->transactional_id_expiration_ms = DEFAULT_TXN_ID_EXPIRATION_MS;
	c->transaction_remove_expired_transaction_cleanup_interval_ms =
		DEFAULT_TXN_REMOVE_EXPIRED_INTERVAL_MS;
	c->offset_metadata_max_bytes = DEFAULT_OFFSET_METADATA_MAX_BYTES;
	c->batch_inflated_max_bytes = DEFAULT_BATCH_INFLATED_MAX_BYTES;
	c->fetch_cold_reads_max = DEFAULT_FETCH_COLD_READS_MAX;
	/* Kafka's cleaner defaults (its io.max.bytes.per.second is
	 * Double.MAX_VALUE: no throttle, here 0). */
	c->log_cleaner_enable = true;
	c->metrics_partition_level = true;
	c->log_cleaner_threads = 1;
	c->log_cleaner_dedupe_buffer_size = DEFAULT_CLEANER_DEDUPE_BYTES;
	c->log_cleaner_backoff_ms = DEFAULT_CLEANER_BACKOFF_MS;
	c->log_cleaner_min_cleanable_ratio = 0.5;
	c->log_cleaner_delete_retention_ms = DEFAULT_CLEANER_DELETE_RETENTION_MS;
	c->log_cleaner_max_compaction_lag_ms = INT64_MAX;
}

static int config_number(const struct config_key *k, const char *value, int64_t *out, char *err,
			 size_t errlen)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno || end == value || *end != '\0') {
		snprintf(err, errlen, "%s: '%s' is not an integer", k->key, value);
		return -1;
	}
	if (v < k->min || v > k->max) {
		snprintf(err, errlen, "%s: %lld is outside [%" PRId64 ", %" PRId64 "]", k->key, v,
			 k->min, k->max);
		return -1;
	}
	*out = v;
	return 0;
}

static int config_apply(struct broker_config *c, const struct config_key *k, const char *value,
			char *err, size_t errlen)
{
	char *field = (char *)c + k->offset;
	int64_t v = 0;
	switch (k->type) {
	case CT_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(err, errlen, "%s: '%s' is not true or false", k->key, value);
			return -1;
		}
		*(bool *)field = strcmp(value, "true") == 0;
		break;
	case CT_F64: {
		char *end = NULL;
		errno = 0;
		double d = strtod(value, &end);
		/* A bound of INT64_MAX is no bound: Kafka's own default for
		 * log.cleaner.io.max.bytes.per.second is Double.MAX_VALUE. */
		if (k->max == INT64_MAX && d > (double)INT64_MAX)
			d = (double)INT64_MAX;
		if (errno || end == value || *end != '\0' || !(d >= (double)k->min) ||
		    d > (double)k->max) {
			snprintf(err, errlen, "%s: '%s' is not a number in [%" PRId64 ", %" PRId64 "]",
				 k->key, value, k->min, k->max);
			return -1;
		}
		*(double *)field = d;
		break;
	}
	case CT_STR:
	case CT_ENUM:
		if (k->type == CT_ENUM) {
			const char *p = strstr(k->choices, value);
			size_t n = strlen(value);
			if (!n || !p || (p != k->choices && p[-1] != '|') || (p[n] && p[n] != '|')) {
				snprintf(err, errlen, "%s: '%s' is not one of %s", k->key, value, k->choices);
				return -1;
			}
		}
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: value longer than %zu bytes", k->key, k->size - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		break;
	default:
		if (config_number(k, value, &v, err, errlen) != 0)
			return -1;
		switch (k->type) {
		case CT_I16: *(int16_t *)field = (int16_t)v; break;
		case CT_I32: *(int32_t *)field = (int32_t)v; break;
		case CT_I64: *(int64_t *)field = v; break;
		case CT_U16: *(uint16_t *)field = (uint16_t)v; break;
		case CT_U32: *(uint32_t *)field = (uint32_t)v; break;
		case CT_U64: *(uint64_t *)field = (uint64_t)v; break;
		default: break;
		}
	}
	if (k->set_flag)
		*((bool *)((char *)c + k->set_flag)) = true;
	size_t row = (size_t)(k - config_keys);
	c->given[row / 64] |= 1ull << (row % 64);
	return 0;
}

enum { CONFIG_ROWS = sizeof(config_keys) / sizeof(config_keys[0]) };
_Static_assert(CONFIG_ROWS <= CONFIG_GIVEN_WORDS * 64, "broker_config.given holds every row");

size_t config_key_count(void)
{
	return CONFIG_ROWS;
}

const char *config_key_name(size_t row)
{
	return row < CONFIG_ROWS ? config_keys[row].key : NULL;
}

int config_key_row(const char *key)
{
	for (size_t i = 0; i < CONFIG_ROWS; i++)
		if (strcmp(config_keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

enum config_kafka_type config_key_type(size_t row)
{
	switch (config_keys[row].type) {
	case CT_BOOL: return CONFIG_KAFKA_BOOLEAN;
	case CT_I16: return CONFIG_KAFKA_SHORT;
	case CT_I32: case CT_U16: case CT_U32: return CONFIG_KAFKA_INT;
	case CT_I64: case CT_U64: return CONFIG_KAFKA_LONG;
	case CT_F64: return CONFIG_KAFKA_DOUBLE;
	default: return CONFIG_KAFKA_STRING;
	}
}

bool config_key_given(const struct broker_config *c, size_t row)
{
	return row < CONFIG_ROWS && (c->given[row / 64] >> (row % 64) & 1);
}

void config_key_format(const struct broker_config *c, size_t row, char *out, size_t cap)
{
	const struct config_key *k = &config_keys[row];
	const char *f = (const char *)c + k->offset;
	switch (k->type) {
	case CT_BOOL: snprintf(out, cap, "%s", *(const bool *)f ? "true" : "false"); break;
	case CT_I16: snprintf(out, cap, "%d", *(const int16_t *)f); break;
	case CT_I32: snprintf(out, cap, "%" PRId32, *(const int32_t *)f); break;
	case CT_I64: snprintf(out, cap, "%" PRId64, *(const int64_t *)f); break;
	case CT_U16: snprintf(out, cap, "%u", *(const uint16_t *)f); break;
	case CT_U32: snprintf(out, cap, "%" PRIu32, *(const uint32_t *)f); break;
	case CT_U64: snprintf(out, cap, "%" PRIu64, *(const uint64_t *)f); break;
	case CT_F64: snprintf(out, cap, "%g", *(const double *)f); break;
	default: snprintf(out, cap, "%s", f); break;
	}
}

int config_set(struct broker_config *c, const char *key, const char *value, char *err,
	       size_t errlen)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (strcmp(config_keys[i].key, key) == 0)
			return config_apply(c, &config_keys[i], value, err, errlen);
	for (size_t i = 0; i < sizeof(config_known_inert) / sizeof(config_known_inert[0]); i++) {
		if (strcmp(config_known_inert[i], key) == 0) {
			slog_warn("config", "%s is a Kafka setting sluice does not use yet; ignored", key);
			return 0;
		}
	}
	slog_warn("config", "unknown setting %s ignored", key);
	return 0;
}

static char *config_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Undoes the properties escapes that matter in values: \t \n \r \\ \: \= \<space>. */
static void config_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

enum { CONFIG_LINE_BYTES = 8192 };

/* fgets, and whether the line was longer than the buffer: its rest would
 * come back from the next fgets as a line of its own (a comment's tail read
 * as a setting). fgets ends what it read with a NUL, in the last byte only
 * when it filled the buffer, so NUL bytes in the line cannot hide a cut. A
 * full buffer is a whole line when its end (newline or end of file) is next. */
static char *config_read_line(char *line, size_t size, FILE *f, bool *cut)
{
	line[size - 1] = 1;
	if (!fgets(line, (int)size, f))
		return NULL;
	*cut = false;
	if (line[size - 1] == '\0' && line[size - 2] != '\n') {
		int next = getc(f);
		*cut = next != EOF && next != '\n';
	}
	return line;
}

int config_load_file(struct broker_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "--config %s: %s", path, strerror(errno));
		return -1;
	}
	char line[CONFIG_LINE_BYTES];
	char logical[CONFIG_LINE_BYTES];
	size_t logical_len = 0;
	int lineno = 0, rc = 0;
	bool cut = false;
	while (rc == 0 && config_read_line(line, sizeof(line), f, &cut)) {
		lineno++;
		if (cut) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		char *t = logical_len ? config_trim(line) : line;
		size_t n = strlen(t);
		while (n && (t[n - 1] == '\n' || t[n - 1] == '\r'))
			t[--n] = '\0';
		bool cont = n && t[n - 1] == '\\' && (n < 2 || t[n - 2] != '\\');
		if (cont)
			t[--n] = '\0';
		if (logical_len + n >= sizeof(logical)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		memcpy(logical + logical_len, t, n + 1);
		logical_len += n;
		if (cont)
			continue;
		logical_len = 0;
		char *s = config_trim(logical);
		if (!*s || *s == '#' || *s == '!')
			continue;
		char *sep = s + strcspn(s, "=: \t");
		char *value = sep;
		if (*sep) {
			*sep = '\0';
			value = config_trim(sep + 1);
			if (*value == '=' || *value == ':')
				value = config_trim(value + 1);
		}
		config_unescape(value);
		char kerr[512];
		if (config_set(c, s, value, kerr, sizeof(kerr)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, kerr);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

/* PLAINTEXT://host:port (host may be empty or [v6]). */
static int config_listener(const char *key, const char *text, char *host, size_t hostlen,
			   uint16_t *port, char *err, size_t errlen)
{
	if (strchr(text, ',')) {
		snprintf(err, errlen, "%s: only one listener is supported, got '%s'", key, text);
		return -1;
	}
	const char *p = strstr(text, "://");
	if (!p || (size_t)(p - text) != strlen("PLAINTEXT") || strncmp(text, "PLAINTEXT", 9) != 0) {
		snprintf(err, errlen, "%s: '%s': only PLAINTEXT://host:port is supported", key, text);
		return -1;
	}
	p += 3;
	const char *colon = strrchr(p, ':');
	if (!colon) {
		snprintf(err, errlen, "%s: '%s' has no port", key, text);
		return -1;
	}
	size_t hl = (size_t)(colon - p);
	if (hl && p[0] == '[' && p[hl - 1] == ']') {
		p++;
		hl -= 2;
	}
	if (hl >= hostlen) {
		snprintf(err, errlen, "%s: host name too long", key);
		return -1;
	}
	memcpy(host, p, hl);
	host[hl] = '\0';
	char *end = NULL;
	long v = strtol(colon + 1, &end, 10);
	if (!*(colon + 1) || *end || v < 0 || v > 65535) {
		snprintf(err, errlen, "%s: '%s' has an invalid port", key, text);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

int config_finish(struct broker_config *c, char *err, size_t errlen)
{
	if (strchr(c->log_dir, ',')) {
		snprintf(err, errlen, "log.dirs: only one directory is supported, got '%s'", c->log_dir);
		return -1;
	}
	if (!c->log_dir[0]) {
		snprintf(err, errlen, "log.dirs: empty");
		return -1;
	}
	int cpus[CONFIG_CPUS_MAX];
	if (config_cpus(c, cpus, CONFIG_CPUS_MAX, err, errlen) < 0)
		return -1;
	if (c->group_min_session_timeout_ms > c->group_max_session_timeout_ms) {
		snprintf(err, errlen, "group.min.session.timeout.ms (%u) exceeds "
			 "group.max.session.timeout.ms (%u)", c->group_min_session_timeout_ms,
			 c->group_max_session_timeout_ms);
		return -1;
	}
	if (c->set_node_id && c->set_broker_id && c->broker_id != c->node_id) {
		snprintf(err, errlen, "node.id (%d) and broker.id (%d) differ", c->node_id, c->broker_id);
		return -1;
	}
	if (!c->set_node_id && c->set_broker_id && c->broker_id >= 0)
		c->node_id = c->broker_id;
	if (config_listener("listeners", c->listeners, c->listen_host, sizeof(c->listen_host),
			    &c->listen_port, err, errlen) != 0)
		return -1;
	if (c->set_advertised && c->advertised_listeners[0]) {
		if (config_listener("advertised.listeners", c->advertised_listeners, c->advertised_host,
				    sizeof(c->advertised_host), &c->advertised_port, err, errlen) != 0)
			return -1;
	} else {
		snprintf(c->advertised_host, sizeof(c->advertised_host), "%s", c->listen_host);
		c->advertised_port = c->listen_port;
	}
	if (!c->advertised_host[0] || strcmp(c->advertised_host, "0.0.0.0") == 0) {
		if (gethostname(c->advertised_host, sizeof(c->advertised_host)) != 0)
			snprintf(c->advertised_host, sizeof(c->advertised_host), "localhost");
	}
	if (strcmp(c->listen_host, "0.0.0.0") == 0)
		c->listen_host[0] = '\0';
	if (!c->set_roll_ms)
		c->log_roll_ms = c->log_roll_hours * 3600ull * 1000ull;
	if (!c->set_roll_jitter_ms)
		c->log_roll_jitter_ms = c->log_roll_jitter_hours * 3600ull * 1000ull;
	if (!c->set_retention_ms)
		c->log_retention_ms = c->set_retention_minutes ? c->log_retention_minutes * 60000
							       : c->log_retention_hours * 3600000;
	if (c->message_max_bytes > c->socket_request_max_bytes)
		slog_warn("config", "message.max.bytes (%u) exceeds socket.request.max.bytes (%u)",
			  c->message_max_bytes, c->socket_request_max_bytes);
	return 0;
}

void config_log(const struct broker_config *c, FILE *out)
{
	fprintf(out, "sluice config: listeners=PLAINTEXT://%s:%u advertised=%s:%u log.dirs=%s "
		"node.id=%d num.partitions=%d auto.create.topics.enable=%s log.segment.bytes=%llu "
		"message.max.bytes=%u socket.request.max.bytes=%u num.network.threads=%u "
		"num.io.threads=%u queued.max.request.bytes=%llu\n",
		c->listen_host, c->listen_port, c->advertised_host, c->advertised_port, c->log_dir,
		c->node_id, c->num_partitions, c->auto_create_topics_enable ? "true" : "false",
		(unsigned long long)c->log_segment_bytes, c->message_max_bytes,
		c->socket_request_max_bytes, c->num_network_threads, c->num_io_threads,
		(unsigned long long)c->queued_max_request_bytes);
}

int config_cpus(const struct broker_config *c, int *cpus, int max, char *err, size_t errlen)
{
	cpu_set_t allowed;
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) == 0)
		CPU_SET(0, &allowed);
	int n = 0;
	if (!c->cpu_affinity[0]) {
		for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
			if (CPU_ISSET(cpu, &allowed))
				cpus[n++] = cpu;
		return n;
	}
	const char *p = c->cpu_affinity;
	while (*p) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p || lo < 0)
			goto bad;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			if (end == p + 1 || hi < lo)
				goto bad;
			p = end;
		}
		for (long cpu = lo; cpu <= hi; cpu++) {
			if (cpu >= CPU_SETSIZE || !CPU_ISSET((int)cpu, &allowed)) {
				snprintf(err, errlen, "cpu.affinity: CPU %ld is not one this process may use",
					 cpu);
				return -1;
			}
			if (n < max)
				cpus[n++] = (int)cpu;
		}
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	if (n > 0)
		return n;
bad:
	snprintf(err, errlen, "cpu.affinity: expected CPU numbers and ranges like 0-3,6, got '%s'",
		 c->cpu_affinity);
	return -1;
}

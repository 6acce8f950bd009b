/* Broker configuration: Kafka's key names, one table of settings with their
 * types, defaults and bounds, read from server.properties and --set. */
#ifndef SLUICE_CORE_CONFIG_H
#define SLUICE_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CONFIG_HOST_BYTES = 256, CONFIG_PATH_BYTES = 4096, CONFIG_LISTENER_BYTES = 512, CONFIG_ASSIGNORS_BYTES = 512,
       CONFIG_CPUS_MAX = 1024, CONFIG_GIVEN_WORDS = 4,
       /* The smallest key map worth a pass: a few hundred keys. */
       LOG_CLEANER_DEDUPE_MIN_BYTES = 4096 };

struct broker_config {
	char listeners[CONFIG_LISTENER_BYTES];
	char advertised_listeners[CONFIG_LISTENER_BYTES];
	char listen_host[CONFIG_HOST_BYTES];
	uint16_t listen_port;
	char advertised_host[CONFIG_HOST_BYTES];
	uint16_t advertised_port;
	char log_dir[CONFIG_PATH_BYTES];
	int32_t node_id;
	int32_t broker_id;
	int32_t num_partitions;
	bool auto_create_topics_enable;
	int16_t default_replication_factor;
	uint64_t log_segment_bytes;
	uint64_t log_roll_ms;
	uint64_t log_roll_hours;
	uint64_t log_roll_jitter_ms;
	uint64_t log_roll_jitter_hours;
	uint32_t log_index_interval_bytes;
	uint32_t log_index_size_max_bytes;
	int64_t log_retention_ms;
	int64_t log_retention_minutes;
	int64_t log_retention_hours;
	int64_t log_retention_bytes;
	uint64_t log_retention_check_interval_ms;
	uint64_t log_segment_delete_delay_ms;
	int64_t log_flush_interval_messages;
	int64_t log_flush_interval_ms;
	/* How often flush.ms is checked; Kafka's default (INT64_MAX) never does. */
	int64_t log_flush_scheduler_interval_ms;
	/* sluice.log.dir.min.free.bytes (after Redpanda's storage_min_free_bytes):
	 * produce is refused with KAFKA_STORAGE_ERROR while log.dirs' filesystem
	 * has less free than this, so that checkpoints and metadata can still be
	 * written. -1 (the default): 5% of the filesystem, at most 1 GiB (log_space.h);
	 * 0: no floor. */
	int64_t log_dir_min_free_bytes;
	/* sluice.log.append.mapped.max.bytes: batches up to this size are copied
	 * into the active segment's mapping on the shard, in a range the kernel's
	 * workers pre-fault ahead, at most sluice.log.append.prefault.max.bytes
	 * at a time (core/log/segment_write.c); 0: every append is an io_uring
	 * write. */
	uint32_t log_append_mapped_max_bytes;
	uint64_t log_append_prefault_max_bytes;
	int64_t log_flush_offset_checkpoint_interval_ms;
	uint32_t message_max_bytes;
	uint32_t socket_request_max_bytes;
	uint64_t queued_max_request_bytes;
	uint32_t num_network_threads;
	uint32_t num_io_threads;
	char cpu_affinity[CONFIG_LISTENER_BYTES]; /* "0-3,6"; empty: every allowed CPU */
	uint32_t fetch_max_bytes;
	uint32_t max_connections;
	uint32_t connections_max_idle_ms;    /* no request in progress, no byte moving */
	uint32_t request_receive_timeout_ms; /* sluice.request.receive.timeout.ms: a started
						request must arrive whole by then */
	char log_message_timestamp_type[16];
	uint16_t metrics_port;
	bool metrics_partition_level; /* sluice.metrics.partition.level: per-partition series */
	uint32_t group_min_session_timeout_ms;
	uint32_t group_max_session_timeout_ms;
	uint32_t group_initial_rebalance_delay_ms;
	uint32_t group_max_size;
	/* KIP-848 groups (Kafka's keys and defaults); the assignors' names are
	 * checked by the group coordinator (core/group/group_consumer.c). */
	uint32_t group_consumer_heartbeat_interval_ms;
	uint32_t group_consumer_session_timeout_ms;
	uint32_t group_consumer_max_size;
	char group_consumer_assignors[CONFIG_ASSIGNORS_BYTES];
	uint32_t offsets_topic_num_partitions;
	uint64_t offsets_topic_segment_bytes;
	uint32_t offsets_retention_minutes;
	uint64_t offsets_retention_check_interval_ms;
	/* Producers idle this long are forgotten by each partition, checked
	 * every check interval (Kafka's keys and defaults). */
	int64_t producer_id_expiration_ms;
	int64_t producer_id_expiration_check_interval_ms;
	/* The transaction coordinator (Kafka's keys and defaults). */
	uint32_t transaction_state_log_num_partitions;
	uint64_t transaction_state_log_segment_bytes;
	uint32_t transaction_max_timeout_ms;
	uint64_t transaction_abort_timed_out_transaction_cleanup_interval_ms;
	int64_t transactional_id_expiration_ms;
	uint64_t transaction_remove_expired_transaction_cleanup_interval_ms;
	uint32_t offset_metadata_max_bytes;
	/* sluice.batch.inflated.max.bytes: the most a compressed batch's records
	 * may inflate to (no Kafka key exists for this). Produce refuses a batch
	 * beyond it with MESSAGE_TOO_LARGE, and it bounds what validating one
	 * batch costs the shard's loop (a decompression bomb: gzip, the slowest
	 * codec, inflates about 0.4 GB/s here, so 16 MiB holds a shard ~40 ms).
	 * Default 16 MiB: 16 times librdkafka's default message.max.bytes and far
	 * above what a client's batch.size (16 KiB Java, 1 MB librdkafka)
	 * inflates to; the Java producer splits a batch refused this way. */
	uint64_t batch_inflated_max_bytes;
	/* sluice.fetch.cold.reads.max: per io shard, how many fetches may read
	 * segment bytes that are not in the page cache at once (core/log/
	 * cold_read.h; Kafka has no such key). Each holds a kernel worker on the
	 * disk; more queue, their fetches waiting up to max_wait_ms, then read
	 * through the cold pages (core/api/handle_fetch.c). */
	uint32_t fetch_cold_reads_max;
	/* The log cleaner (core/log/log_cleaner.h): Kafka's keys and defaults;
	 * io.max.bytes.per.second 0 means no throttle. */
	bool log_cleaner_enable;
	uint32_t log_cleaner_threads;
	double log_cleaner_io_max_bytes_per_second;
	uint64_t log_cleaner_dedupe_buffer_size;
	uint64_t log_cleaner_backoff_ms;
	double log_cleaner_min_cleanable_ratio;
	int64_t log_cleaner_delete_retention_ms;
	int64_t log_cleaner_min_compaction_lag_ms;
	int64_t log_cleaner_max_compaction_lag_ms;
	/* per row of the settings table: given in the file or by --set
	 * (DescribeConfigs tells a static setting from a default by it) */
	uint64_t given[CONFIG_GIVEN_WORDS];
	/* keys given explicitly (to tell "unset" from "default") */
	bool set_log_dir, set_node_id, set_broker_id, set_roll_ms, set_roll_jitter_ms, set_retention_ms,
		set_retention_minutes, set_advertised;
};

void config_defaults(struct broker_config *c);
/* Java properties syntax. Returns 0, or -1 with a message naming file, line
 * and key in err. Unknown keys only warn. */
int config_load_file(struct broker_config *c, const char *path, char *err, size_t errlen);
/* One setting; a bad value fails with a message naming the key. */
int config_set(struct broker_config *c, const char *key, const char *value, char *err,
	       size_t errlen);
/* Cross-field checks and derived values (listeners, ids, time units). */
int config_finish(struct broker_config *c, char *err, size_t errlen);
void config_log(const struct broker_config *c, FILE *out);

/* Kafka's ConfigType numbers (DescribeConfigs' config_type). */
enum config_kafka_type {
	CONFIG_KAFKA_BOOLEAN = 1, CONFIG_KAFKA_STRING = 2, CONFIG_KAFKA_INT = 3,
	CONFIG_KAFKA_SHORT = 4, CONFIG_KAFKA_LONG = 5, CONFIG_KAFKA_DOUBLE = 6,
	CONFIG_KAFKA_LIST = 7,
};

/* The settings table, row by row, for describing the broker: how many rows,
 * a row's key (or -1 for a key not in the table), its Kafka type, whether
 * it was given, and its value as text. */
size_t config_key_count(void);
const char *config_key_name(size_t row);
int config_key_row(const char *key);
enum config_kafka_type config_key_type(size_t row);
bool config_key_given(const struct broker_config *c, size_t row);
void config_key_format(const struct broker_config *c, size_t row, char *out, size_t cap);
/* The CPUs shards are pinned to, in order: cpu.affinity, or every CPU the
 * process may run on. Returns how many (>= 1), or -1 with a message naming
 * the key in err. */
int config_cpus(const struct broker_config *c, int *cpus, int max, char *err, size_t errlen);

#endif

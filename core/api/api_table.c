/* The dispatch table: API key -> versions (from the generated schema table),
 * handler, where it runs, and the bound on a request's decoded structures. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/messages.h"

enum {
	ARENA_SMALL_BYTES = 1u << 20,  /* header-sized requests */
	ARENA_LARGE_BYTES = 16u << 20, /* requests listing many partitions */
};

struct api_handler_row {
	int16_t key;
	api_handler_fn handle;
	uint32_t arena_bytes_max;
	enum api_home home;
	int16_t group_first_until;
	bool unlisted;
};

enum {
	/* For group APIs: the first version whose body does not start with the
	 * group's id (none, or OffsetFetch v8+, which lists several groups). */
	GROUP_FIRST_EVERY_VERSION = INT16_MAX,
	OFFSET_FETCH_GROUPS_FROM = 8,
};

enum {
	/* Kafka 4 lists Produce from v0 though it serves v3+ and closes the
	 * connection of a v0-v2 request (KAFKA-18659): older librdkafka (2.0.2
	 * here) compresses with gzip, snappy or lz4 only when its feature probes
	 * see Produce v2 or lower listed, and otherwise sends them uncompressed. */
	PRODUCE_LISTED_FROM = 0,
};

/* The lowest version ApiVersions lists for an API: what it serves, except
 * where Kafka lists versions it refuses. */
static int16_t listed_min_version(const struct proto_api_info *info)
{
	return info->key == API_PRODUCE ? PRODUCE_LISTED_FROM : info->min_version;
}

static const struct api_handler_row api_handler_rows[] = {
	{ API_PRODUCE, handle_produce, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_FETCH, handle_fetch, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_LIST_OFFSETS, handle_list_offsets, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_METADATA, handle_metadata, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_OFFSET_COMMIT, handle_offset_commit, ARENA_LARGE_BYTES, API_ON_GROUP, GROUP_FIRST_EVERY_VERSION },
	{ API_OFFSET_FETCH, handle_offset_fetch, ARENA_LARGE_BYTES, API_ON_GROUP, OFFSET_FETCH_GROUPS_FROM },
	{ API_FIND_COORDINATOR, handle_find_coordinator, ARENA_SMALL_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_JOIN_GROUP, handle_join_group, ARENA_LARGE_BYTES, API_ON_GROUP, GROUP_FIRST_EVERY_VERSION },
	{ API_HEARTBEAT, handle_heartbeat, ARENA_SMALL_BYTES, API_ON_GROUP, GROUP_FIRST_EVERY_VERSION },
	{ API_LEAVE_GROUP, handle_leave_group, ARENA_SMALL_BYTES, API_ON_GROUP, GROUP_FIRST_EVERY_VERSION },
	{ API_SYNC_GROUP, handle_sync_group, ARENA_LARGE_BYTES, API_ON_GROUP, GROUP_FIRST_EVERY_VERSION },
	{ API_DESCRIBE_GROUPS, handle_describe_groups, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_LIST_GROUPS, handle_list_groups, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_API_VERSIONS, handle_api_versions, ARENA_SMALL_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_CREATE_TOPICS, handle_create_topics, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_DELETE_TOPICS, handle_delete_topics, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_DELETE_RECORDS, handle_delete_records, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_INIT_PRODUCER_ID, handle_init_producer_id, ARENA_SMALL_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_OFFSET_FOR_LEADER_EPOCH, handle_offset_for_leader_epoch, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_ADD_PARTITIONS_TO_TXN, handle_add_partitions_to_txn, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_ADD_OFFSETS_TO_TXN, handle_add_offsets_to_txn, ARENA_SMALL_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_END_TXN, handle_end_txn, ARENA_SMALL_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_WRITE_TXN_MARKERS, handle_write_txn_markers, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	/* Its body starts with the transactional id: the control shard routes it. */
	{ API_TXN_OFFSET_COMMIT, handle_txn_offset_commit, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_DESCRIBE_CONFIGS, handle_describe_configs, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_ALTER_CONFIGS, handle_alter_configs, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_DESCRIBE_LOG_DIRS, handle_describe_log_dirs, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_CREATE_PARTITIONS, handle_create_partitions, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_DELETE_GROUPS, handle_delete_groups, ARENA_SMALL_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_ELECT_LEADERS, handle_elect_leaders, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_INCREMENTAL_ALTER_CONFIGS, handle_incremental_alter_configs, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_OFFSET_DELETE, handle_offset_delete, ARENA_LARGE_BYTES, API_ON_GROUP, GROUP_FIRST_EVERY_VERSION },
	{ API_DESCRIBE_CLIENT_QUOTAS, handle_describe_client_quotas, ARENA_SMALL_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_ALTER_CLIENT_QUOTAS, handle_alter_client_quotas, ARENA_LARGE_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_DESCRIBE_CLUSTER, handle_describe_cluster, ARENA_SMALL_BYTES, API_ON_CONNECTION, GROUP_FIRST_EVERY_VERSION },
	{ API_DESCRIBE_PRODUCERS, handle_describe_producers, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_DESCRIBE_TRANSACTIONS, handle_describe_transactions, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	{ API_LIST_TRANSACTIONS, handle_list_transactions, ARENA_LARGE_BYTES, API_ON_CONTROL, GROUP_FIRST_EVERY_VERSION },
	/* Unlisted until consumer-protocol groups replay at start and their
	 * offsets, DescribeGroups and migration are as Kafka's (issue 17). */
	{ API_CONSUMER_GROUP_HEARTBEAT, handle_consumer_group_heartbeat, ARENA_LARGE_BYTES, API_ON_GROUP, GROUP_FIRST_EVERY_VERSION, true },
};

enum { API_ROWS = sizeof(api_handler_rows) / sizeof(api_handler_rows[0]) };

static struct api_entry api_rows_joined[API_ROWS];
static struct api_table api_table;

/* Joins handler rows with the generated version table; called once at start,
 * before any shard runs, so the table is read-only afterwards. A row without a
 * schema is our bug. */
const struct api_table *api_table_init(void)
{
	for (size_t i = 0; i < API_ROWS; i++) {
		const struct proto_api_info *info = proto_api_find(api_handler_rows[i].key);
		assert(info);
		api_rows_joined[i] = (struct api_entry){
			.key = info->key,
			.name = info->name,
			.min_version = info->min_version,
			.max_version = info->max_version,
			.listed_min_version = listed_min_version(info),
			.flexible_from = info->flexible_from,
			.handle = api_handler_rows[i].handle,
			.arena_bytes_max = api_handler_rows[i].arena_bytes_max,
			.home = api_handler_rows[i].home,
			.group_first_until = api_handler_rows[i].group_first_until,
			.unlisted = api_handler_rows[i].unlisted,
		};
	}
	for (size_t i = 1; i < API_ROWS; i++)
		assert(api_rows_joined[i - 1].key < api_rows_joined[i].key);
	api_table = (struct api_table){ .entries = api_rows_joined, .count = API_ROWS,
					.unsupported_version = handle_api_versions_unsupported };
	return &api_table;
}

const struct api_entry *api_entries(size_t *count)
{
	assert(api_table.count == API_ROWS);
	*count = api_table.count;
	return api_table.entries;
}

/* The Kafka API handlers, one file each (core/api/handle_<api>.c), and the
 * dispatch table that names them (api_table.c). */
#ifndef SLUICE_CORE_API_HANDLERS_H
#define SLUICE_CORE_API_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

struct request;
struct api_entry;
struct api_table;

/* Builds the dispatch table; once, at start, before any shard runs. */
const struct api_table *api_table_init(void);
/* Every served API, in key order (ApiVersions advertises exactly these). */
const struct api_entry *api_entries(size_t *count);

void handle_produce(struct request *req);
void handle_fetch(struct request *req);
void handle_list_offsets(struct request *req);
void handle_metadata(struct request *req);
void handle_api_versions(struct request *req);
void handle_create_topics(struct request *req);
void handle_delete_topics(struct request *req);
void handle_create_partitions(struct request *req);
void handle_delete_records(struct request *req);
void handle_find_coordinator(struct request *req);
void handle_join_group(struct request *req);
void handle_sync_group(struct request *req);
void handle_heartbeat(struct request *req);
void handle_consumer_group_heartbeat(struct request *req);
void handle_leave_group(struct request *req);
void handle_offset_commit(struct request *req);
void handle_offset_fetch(struct request *req);
void handle_list_groups(struct request *req);
void handle_describe_groups(struct request *req);
void handle_delete_groups(struct request *req);
void handle_offset_delete(struct request *req);
void handle_init_producer_id(struct request *req);
void handle_describe_producers(struct request *req);
void handle_write_txn_markers(struct request *req);
void handle_add_partitions_to_txn(struct request *req);
void handle_add_offsets_to_txn(struct request *req);
void handle_end_txn(struct request *req);
void handle_describe_transactions(struct request *req);
void handle_list_transactions(struct request *req);
void handle_txn_offset_commit(struct request *req);
void handle_describe_configs(struct request *req);
void handle_alter_configs(struct request *req);
void handle_incremental_alter_configs(struct request *req);
void handle_offset_for_leader_epoch(struct request *req);
void handle_describe_log_dirs(struct request *req);
void handle_elect_leaders(struct request *req);
void handle_describe_client_quotas(struct request *req);
void handle_alter_client_quotas(struct request *req);
void handle_describe_cluster(struct request *req);

/* Authorized operations, Kafka's 32-bit fields (bit n: AclOperation code n):
 * with no authorizer Kafka grants every operation a resource type supports
 * (AclEntry.supportedOperations), and sluice has no ACLs yet. */
enum api_acl_operation {
	API_ACL_READ = 3, API_ACL_WRITE = 4, API_ACL_CREATE = 5, API_ACL_DELETE = 6,
	API_ACL_ALTER = 7, API_ACL_DESCRIBE = 8, API_ACL_CLUSTER_ACTION = 9,
	API_ACL_DESCRIBE_CONFIGS = 10, API_ACL_ALTER_CONFIGS = 11, API_ACL_IDEMPOTENT_WRITE = 12,
};
#define API_ACL_BIT(op) (1 << (op))
static const int32_t API_CLUSTER_OPERATIONS_ALL =
	API_ACL_BIT(API_ACL_CREATE) | API_ACL_BIT(API_ACL_CLUSTER_ACTION) |
	API_ACL_BIT(API_ACL_DESCRIBE_CONFIGS) | API_ACL_BIT(API_ACL_ALTER_CONFIGS) |
	API_ACL_BIT(API_ACL_IDEMPOTENT_WRITE) | API_ACL_BIT(API_ACL_ALTER) |
	API_ACL_BIT(API_ACL_DESCRIBE);
static const int32_t API_TOPIC_OPERATIONS_ALL =
	API_ACL_BIT(API_ACL_READ) | API_ACL_BIT(API_ACL_WRITE) | API_ACL_BIT(API_ACL_CREATE) |
	API_ACL_BIT(API_ACL_DESCRIBE) | API_ACL_BIT(API_ACL_DELETE) | API_ACL_BIT(API_ACL_ALTER) |
	API_ACL_BIT(API_ACL_DESCRIBE_CONFIGS) | API_ACL_BIT(API_ACL_ALTER_CONFIGS);

/* ApiVersions at a version we do not serve: answered in v0 with
 * UNSUPPORTED_VERSION and our ranges, as Kafka does. */
void handle_api_versions_unsupported(struct request *req);

#endif

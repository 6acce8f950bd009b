/* The Kafka API handlers, one file each (core/api/handle_<api>.c), and the
 * dispatch table that names them (api_table.c). */
#ifndef SLUICE_CORE_API_HANDLERS_H
#define SLUICE_CORE_API_HANDLERS_H

#include <stddef.h>

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

/* ApiVersions at a version we do not serve: answered in v0 with
 * UNSUPPORTED_VERSION and our ranges, as Kafka does. */
void handle_api_versions_unsupported(struct request *req);

#endif

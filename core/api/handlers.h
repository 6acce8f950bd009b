/* The Kafka API handlers, one file each (core/handle_<api>.c). */
#ifndef SLUICE_CORE_API_HANDLERS_H
#define SLUICE_CORE_API_HANDLERS_H

struct request;

void handle_produce(struct request *req);
void handle_fetch(struct request *req);
void handle_list_offsets(struct request *req);
void handle_metadata(struct request *req);
void handle_api_versions(struct request *req);
void handle_create_topics(struct request *req);
void handle_delete_topics(struct request *req);
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

/* ApiVersions at a version we do not serve: answered in v0 with
 * UNSUPPORTED_VERSION and our ranges, as Kafka does. */
void handle_api_versions_unsupported(struct request *req);

#endif

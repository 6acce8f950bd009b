/* What a Kafka KRaft node's own metadata log (`__cluster_metadata-0` in its
 * log dir) says of its topics: names, ids, partition counts and topic
 * configs. Read once at start, so that sluice can adopt a log dir Kafka
 * wrote with the topics Kafka had; sluice never writes that log.
 *
 * The newest snapshot (`<end offset>-<epoch>.checkpoint`) is the state below
 * its end offset; the log's batches from there on are applied in order.
 * Records are Kafka's metadata records: a frame version, the record type and
 * its version as unsigned varints, then the (flexible) record. Only
 * TopicRecord, PartitionRecord, ConfigRecord (topic resources) and
 * RemoveTopicRecord matter here; the others are skipped. Records between a
 * BeginTransactionRecord and an AbortTransactionRecord, or with no end by the
 * log's end, are discarded as Kafka discards them. Every length comes from
 * the files and is checked; a batch that fails its CRC ends the read with
 * an error naming the file and position. */
#ifndef SLUICE_CORE_META_KRAFT_IMAGE_H
#define SLUICE_CORE_META_KRAFT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/meta/metadata_store.h"
#include "proto/cursor.h"

enum {
	KRAFT_TOPICS_MAX = 100000,
	KRAFT_PARTITIONS_MAX = 100000,
	KRAFT_TOPIC_CONFIGS_MAX = 256,
	/* A metadata batch is small (Kafka caps them at 8 KiB of records by
	 * default); this bounds what one read of the files may allocate. */
	KRAFT_BATCH_MAX_BYTES = 16 << 20,
};

struct kraft_topic {
	char name[250];
	struct kuuid id;
	int32_t partition_count; /* the highest partition id seen, plus one */
	size_t config_count;
	struct meta_kv *configs;
};

struct kraft_image {
	bool found;               /* the directory exists */
	int64_t end_offset;       /* offset after the last record applied */
	struct kraft_topic *topics;
	size_t count, cap;
};

/* Reads <log_dir>/__cluster_metadata-0 into img (found=false when there is
 * none). Returns 0, or -1 with the file and position in err; img is then
 * empty and not found. */
int kraft_image_read(const char *log_dir, struct kraft_image *img, char *err, size_t errlen);
void kraft_image_free(struct kraft_image *img);
const struct kraft_topic *kraft_image_find(const struct kraft_image *img, const char *name);

/* The directory's name in a log dir. */
extern const char KRAFT_METADATA_DIR[];

#endif

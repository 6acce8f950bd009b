/* The replay of a coordinator's state partition (log_replay.h): reads the
 * log in bounded chunks, walks batches and records, inflates compressed
 * batches within a bound. */
#include "core/log/log_replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/slog.h"
#include "proto/compression.h"
#include "proto/kafka_errors.h"

static void replay_batch(const struct log_replay *rp, uint8_t *batch,
			 const struct record_batch_header *h)
{
	if (rp->batch && !rp->batch(rp->ctx, h))
		return;
	uint8_t *recs = batch + RECORD_BATCH_HEADER_BYTES;
	size_t len = record_batch_total_bytes(h) - RECORD_BATCH_HEADER_BYTES;
	uint8_t *plain = NULL;
	int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
	if (codec != CODEC_NONE) {
		plain = malloc(LOG_REPLAY_INFLATED_MAX_BYTES);
		if (!plain || compression_decompress((enum compression_codec)codec, recs, len, plain,
						     LOG_REPLAY_INFLATED_MAX_BYTES, &len) != 0) {
			rp->skip(rp->ctx, h->base_offset, plain ? "batch does not decompress"
								: "out of memory inflating a batch");
			free(plain);
			return;
		}
		recs = plain;
	}
	struct rcursor c;
	rc_init(&c, recs, len);
	for (int32_t i = 0; i < h->record_count; i++) {
		struct record_view r;
		if (!record_read(&c, &r)) {
			rp->skip(rp->ctx, h->base_offset + i, "malformed record");
			break;
		}
		rp->record(rp->ctx, h, h->base_offset + r.offset_delta, &r);
	}
	free(plain);
}

int log_replay_partition(struct partition_log *log, const struct log_replay *rp)
{
	int64_t offset = partition_log_start_offset(log);
	int64_t end = partition_log_high_watermark(log);
	while (offset < end) {
		struct log_read rd;
		int16_t err = partition_log_read(log, offset, LOG_REPLAY_READ_BYTES, true, &rd);
		if (err != KERR_NONE) {
			slog_error(rp->component, "%s-%d: cannot read at offset %" PRId64 " (error %d)",
				   rp->topic, rp->partition, offset, err);
			return -1;
		}
		if (rd.len == 0)
			break;
		uint8_t *buf = malloc(rd.len);
		if (!buf || pread(rd.fd, buf, rd.len, (off_t)rd.file_off) != (ssize_t)rd.len) {
			slog_error(rp->component, "%s-%d: cannot read %u bytes at offset %" PRId64 ": %s",
				   rp->topic, rp->partition, rd.len, offset,
				   buf ? strerror(errno) : "out of memory");
			free(buf);
			return -1;
		}
		size_t pos = 0;
		while (pos < rd.len) {
			struct record_batch_header h;
			if (record_batch_scan(buf + pos, rd.len - pos, true, &h) != RECORD_SCAN_OK)
				break;
			replay_batch(rp, buf + pos, &h);
			pos += record_batch_total_bytes(&h);
			offset = h.base_offset + h.last_offset_delta + 1;
		}
		free(buf);
		if (pos == 0) {
			slog_error(rp->component, "%s-%d: unreadable batch at offset %" PRId64,
				   rp->topic, rp->partition, offset);
			return -1;
		}
	}
	return 0;
}

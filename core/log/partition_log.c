/* A partition's appends (client batches and transaction markers) through
 * the reactor, segment rolls and the flush of rolled segments off the loop,
 * write failures and the way back from them, and closing (see
 * partition_log.h; recovery is log_recovery.c, reads log_read.c, segment
 * files log_segment.c). */
#include "core/log/log_internal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/slog.h"
#include "proto/kafka_errors.h"

static const uint64_t NS_PER_MS = 1000000;

void partition_log_stats(const struct partition_log *l, struct log_stats *out)
{
	out->start_offset = atomic_load_explicit(&l->published_start_offset, memory_order_relaxed);
	out->high_watermark = atomic_load_explicit(&l->published_hw, memory_order_relaxed);
	out->size_bytes = atomic_load_explicit(&l->published_bytes, memory_order_relaxed);
	out->segments = atomic_load_explicit(&l->published_segments, memory_order_relaxed);
	out->deleted_segments = atomic_load_explicit(&l->published_deleted_segments,
						     memory_order_relaxed);
	out->deleted_bytes = atomic_load_explicit(&l->published_deleted_bytes, memory_order_relaxed);
	out->mapped_appends = atomic_load_explicit(&l->writer.published_mapped, memory_order_relaxed);
	out->written_appends = atomic_load_explicit(&l->writer.published_written,
						    memory_order_relaxed);
}

void log_free(struct partition_log *l)
{
	log_doomed_free(l);
	segment_writer_free(l);
	producer_state_clear(&l->producers);
	for (uint32_t i = 0; i < l->nsegs; i++)
		segment_free(&l->segs[i]);
	free(l->segs);
	free(l);
}

/* Closing a log with operations in flight would hand freed memory to the
 * kernel: checked in every build. */
static void log_check_idle(const struct partition_log *l, const char *what)
{
	if (partition_log_ops_in_flight(l) == 0)
		return;
	slog_error("log", "%s: %s with %u append(s), %u flush(es), %u deletion op(s) and %u held "
		   "answer(s) or fsync in flight", l->dir, what, l->pending, l->flushes, l->doomed_ops,
		   log_flush_in_flight(l));
	abort();
}

void partition_log_close(struct partition_log *l)
{
	log_check_idle(l, "closing");
	log_flush_leave(l);
	int cut = l->nsegs ? segment_writer_detach(l, log_active(l), true) : 0;
	if (cut != 0)
		slog_error("log", "%s: cannot cut the active segment back to its batches: %s", l->dir,
			   strerror(-cut));
	if (l->nsegs && !l->offline) {
		segment_seal_time_index(log_active(l));
		int rc = segment_write_indexes(l, log_active(l), NULL);
		if (rc != 0)
			slog_error("log", "%s: cannot write indexes: %s", l->dir, strerror(-rc));
		log_producers_snapshot(l, true);
	}
	log_free(l);
}

int partition_log_delete(struct partition_log *l)
{
	log_check_idle(l, "deleting");
	log_flush_leave(l);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", l->dir);
	log_free(l);
	DIR *d = opendir(dir);
	int rc = 0;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char path[PATH_MAX + 256];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) != 0)
				rc = -errno;
		}
		closedir(d);
	}
	if (rmdir(dir) != 0)
		rc = -errno;
	return rc;
}

int64_t partition_log_start_offset(const struct partition_log *l)
{
	return l->log_start;
}

int64_t partition_log_end_offset(const struct partition_log *l)
{
	return l->end_offset;
}

int64_t partition_log_high_watermark(const struct partition_log *l)
{
	return log_flush_readable_end(l);
}

bool partition_log_offline(const struct partition_log *l)
{
	return l->offline;
}

uint32_t partition_log_ops_in_flight(const struct partition_log *l)
{
	return l->pending + l->flushes + l->doomed_ops + log_flush_in_flight(l) +
	       (l->cleaning ? 1 : 0) + (l->writer.in_flight ? 1 : 0);
}

void partition_log_set_advance_hook(struct partition_log *l, void (*hook)(void *ctx), void *ctx)
{
	l->hook = hook;
	l->hook_ctx = ctx;
}

void partition_log_set_config(struct partition_log *l, const struct log_config *cfg)
{
	l->cfg = *cfg;
	if (l->cfg.flush_messages <= 0)
		l->cfg.flush_messages = INT64_MAX;
	if (l->cfg.flush_ms < 0)
		l->cfg.flush_ms = INT64_MAX;
}

int64_t partition_log_recovery_point(const struct partition_log *l)
{
	return l->recovery_point;
}

void partition_log_checkpoint_offsets(const struct partition_log *l, int64_t *recovery_point,
				      int64_t *start_offset)
{
	*recovery_point = atomic_load_explicit(&l->published_recovery_point, memory_order_relaxed);
	*start_offset = atomic_load_explicit(&l->published_start_offset, memory_order_relaxed);
}

/* Starts refusing appends (logged once per failure, however many appends it
 * refuses and retries fail) until an append at or after `from` succeeds.
 * `what` failed on `path` with err; in_flight: the appends in flight fail
 * too. */
static void log_refuse(struct partition_log *l, int64_t from, const char *path, const char *what,
		       int err, bool in_flight)
{
	if (!l->refusing)
		slog_error("log", "%s: %s failed: %s; answering KAFKA_STORAGE_ERROR to %s "
			   "appends, retrying after %d ms; reads below the high watermark "
			   "%" PRId64 " go on", path, what, strerror(err),
			   in_flight ? "the pending and new" : "new", LOG_WRITE_RETRY_BACKOFF_MS,
			   l->hw);
	l->refusing = true;
	l->refusal_offset = from;
	l->refusal_errno = err;
	l->retry_ns = reactor_now_ns() + LOG_WRITE_RETRY_BACKOFF_MS * NS_PER_MS;
}

/* Kafka's epoch file holds "epoch startOffset" lines under the checkpoint
 * header; a single node has one epoch from the log start. */
static void log_write_epoch_checkpoint(struct partition_log *l)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", l->dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		slog_warn("log", "cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "0\n1\n%d %" PRId64 "\n", PARTITION_LOG_LEADER_EPOCH, partition_log_start_offset(l));
	fclose(f);
	l->epoch_written = true;
}

/* ---- flushing rolled segments ---- */

static void log_flush_close(struct log_flush *f)
{
	for (int k = 1; k < LOG_FLUSH_FILES; k++)
		if (f->fds[k] >= 0)
			close(f->fds[k]);
	free(f);
}

/* Completed flushes move the recovery point, in roll order. */
static void log_flushes_complete(struct partition_log *l)
{
	while (l->flush_head && l->flush_head->done) {
		struct log_flush *f = l->flush_head;
		l->flush_head = f->next;
		if (!l->flush_head)
			l->flush_tail = NULL;
		l->flushes--;
		if (!l->offline && f->end_offset > l->recovery_point) {
			struct segment *s = &l->segs[log_segment_for(l, f->segment_base)];
			l->recovery_point = f->end_offset;
			/* Retention may have removed the segment meanwhile. */
			if (s->base_offset == f->segment_base)
				s->dirty = false;
		}
		log_flush_close(f);
	}
	log_flush_after_rolled(l);
	log_publish_offsets(l);
}

static void log_on_flushed(struct io_op *op, int32_t res, uint32_t flags)
{
	(void)flags;
	struct log_flush *f = container_of(op, struct log_flush_op, op)->flush;
	struct partition_log *l = f->log;
	if (res < 0 && f->error == 0)
		f->error = -res;
	if (--f->ops_pending > 0)
		return;
	f->done = true;
	if (f->error)
		log_go_offline(l, f->segment_base, "flushing the rolled segment", f->error);
	log_flushes_complete(l);
}

/* Starts the flushes whose segments have no write in flight any more. */
static void log_start_flushes(struct partition_log *l)
{
	for (struct log_flush *f = l->flush_head; f && l->hw >= f->end_offset; f = f->next) {
		if (f->started)
			continue;
		f->started = true;
		f->ops_pending = 0;
		for (int k = 0; k < LOG_FLUSH_FILES; k++)
			f->ops_pending += f->fds[k] >= 0;
		for (int k = 0; k < LOG_FLUSH_FILES; k++) {
			if (f->fds[k] < 0)
				continue;
			f->ops[k].op.done = log_on_flushed;
			f->ops[k].flush = f;
			io_fsync(l->reactor, f->fds[k], k != LOG_FLUSH_DIR, &f->ops[k].op);
		}
	}
}

/* Unstarted flushes of segments that the log went back into. */
static void log_drop_flushes_after(struct partition_log *l, int64_t offset)
{
	struct log_flush **pp = &l->flush_head;
	l->flush_tail = NULL;
	while (*pp) {
		struct log_flush *f = *pp;
		if (f->started || f->end_offset <= offset) {
			l->flush_tail = f;
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		l->flushes--;
		log_flush_close(f);
	}
}

/* ---- rolls ---- */

/* Seals the active segment, writes its indexes, opens the next segment and
 * queues the old one's flush. Nothing here waits for the disk. */
static int log_roll(struct partition_log *l)
{
	struct segment *old = log_active(l);
	struct log_flush *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->log = l;
	f->segment_base = old->base_offset;
	f->end_offset = l->end_offset;
	f->fds[0] = old->fd;
	for (int k = 1; k < LOG_FLUSH_FILES; k++)
		f->fds[k] = -1;
	segment_seal_time_index(old);
	int rc = segment_writer_detach(l, old, true);
	if (rc == 0)
		rc = segment_write_indexes(l, old, &f->fds[1]);
	if (rc == 0 && (f->fds[LOG_FLUSH_DIR] = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = -errno;
	if (rc == 0)
		f->fds[LOG_FLUSH_TXN_INDEX] = log_txn_index_open_for_flush(l, old);
	struct segment s;
	if (rc == 0 && (rc = segment_open(l, l->end_offset, true, &s)) == 0 &&
	    (rc = log_add_segment(l, &s)) != 0)
		segment_remove(l, &s);
	if (rc != 0) {
		log_flush_close(f);
		return rc;
	}
	if (l->flush_tail)
		l->flush_tail->next = f;
	else
		l->flush_head = f;
	l->flush_tail = f;
	l->flushes++;
	l->closed_bytes += l->segs[l->nsegs - 2].size;
	segment_writer_attach(l, log_active(l));
	log_start_flushes(l);
	log_publish_offsets(l);
	log_producers_snapshot(l, false);
	return 0;
}

/* Kafka's time waited for a roll: from the segment's first batch's max
 * timestamp to the incoming batch's (max_ts), or from the segment's creation
 * when the first batch has none. */
static int64_t log_time_waited_ms(struct partition_log *l, int64_t max_ts)
{
	struct segment *s = log_active(l);
	if (s->rolling_ts < 0 && s->visible_size > 0) {
		struct record_batch_header first;
		const char *why;
		if (log_batch_at(l, l->nsegs - 1, 0, s->base_offset, &first, &why) == LOG_BATCH_OK)
			s->rolling_ts = first.max_timestamp;
	}
	return s->rolling_ts >= 0 ? max_ts - s->rolling_ts : log_now_ms() - s->created_ms;
}

static bool log_should_roll(struct partition_log *l, const struct record_batch_header *h, size_t len,
			    int64_t max_ts)
{
	struct segment *s = log_active(l);
	if (s->size == 0)
		return false;
	if (s->size + len > l->cfg.segment_bytes || s->size + len > UINT32_MAX)
		return true;
	if ((uint64_t)(s->idx_len + 1) * OFFSET_ENTRY_BYTES > l->cfg.segment_index_bytes ||
	    (uint64_t)(s->tidx_len + 1) * TIME_ENTRY_BYTES > l->cfg.segment_index_bytes)
		return true;
	/* Kafka's offset-overflow rule: the indexes hold offsets relative to the
	 * segment's base as int32. */
	if (l->end_offset + h->last_offset_delta - s->base_offset > INT32_MAX)
		return true;
	/* Kafka's: segment.ms less this segment's random jitter. */
	return log_time_waited_ms(l, max_ts) > (int64_t)l->cfg.segment_ms - s->roll_jitter_ms;
}

/* ---- write failures ---- */

/* Every append after the failed one has been answered: removes the segments
 * rolled since, cuts the active one back to its last acknowledged byte and
 * its indexes to their state then, and takes the log end back to the high
 * watermark. */
static void log_revert(struct partition_log *l)
{
	/* The file is cut back below: no copy may reach past its end. */
	segment_writer_detach(l, log_active(l), false);
	while (l->nsegs > 1 && log_active(l)->base_offset > l->hw) {
		segment_remove(l, log_active(l));
		l->nsegs--;
	}
	log_drop_flushes_after(l, l->hw);
	struct segment *s = log_active(l);
	const struct segment_mark *m = &l->revert_to;
	if (s->base_offset == m->segment_base) {
		s->bytes_since_index = m->bytes_since_index;
		s->idx_len = m->idx_len;
		s->tidx_len = m->tidx_len;
		s->max_ts = m->max_ts;
		s->max_ts_offset = m->max_ts_offset;
	}
	s->size = s->visible_size;
	l->closed_bytes = 0;
	for (uint32_t i = 0; i + 1 < l->nsegs; i++)
		l->closed_bytes += l->segs[i].size;
	l->end_offset = l->hw;
	producer_state_truncate(&l->producers, l->hw);
	log_txn_index_truncate(l, l->hw);
	log_producers_publish(l);
	l->reverting = false;
	l->retry_ns = reactor_now_ns() + LOG_WRITE_RETRY_BACKOFF_MS * NS_PER_MS;
	if (ftruncate(s->fd, (off_t)s->visible_size) != 0)
		log_go_offline(l, s->base_offset, "cutting the segment back after a failed write",
			       errno);
}

static void log_write_failed(struct partition_log *l, const struct log_append *a)
{
	char path[PATH_MAX + 32], what[64];
	segment_path(l, a->segment_base, ".log", path, sizeof(path));
	snprintf(what, sizeof(what), "writing at byte %" PRIu64, a->end_pos - a->len);
	log_refuse(l, a->base_offset, path, what, -a->result, true);
	l->reverting = true;
	l->revert_to = (struct segment_mark){
		.segment_base = a->segment_base,
		.size = a->end_pos - a->len,
		.bytes_since_index = a->mark_bytes_since_index,
		.idx_len = a->mark_idx_len,
		.tidx_len = a->mark_tidx_len,
		.max_ts = a->mark_max_ts,
		.max_ts_offset = a->mark_max_ts_offset,
	};
}

/* ---- appends ---- */

static void log_refusal_over(struct partition_log *l)
{
	slog_info("log", "%s: writes resumed after %s (%" PRIu64 " append(s) refused meanwhile)",
		  l->dir, strerror(l->refusal_errno), l->refused_appends);
	l->refusing = false;
	l->refused_appends = 0;
}

/* Answers completed appends in offset order, advancing the high watermark;
 * from a failed write on, every append is answered KAFKA_STORAGE_ERROR. */
static void log_drain(struct partition_log *l)
{
	bool advanced = false;
	while (l->pending_head && l->pending_head->completed) {
		struct log_append *a = l->pending_head;
		l->pending_head = a->next;
		if (!l->pending_head)
			l->pending_tail = NULL;
		l->pending--;
		if (a->result < 0 && !l->reverting && !l->offline)
			log_write_failed(l, a);
		int16_t err = KERR_NONE;
		if (l->reverting || l->offline) {
			err = KERR_KAFKA_STORAGE_ERROR;
		} else if (!a->echo) {
			struct segment *s = &l->segs[log_segment_for(l, a->segment_base)];
			s->visible_size = a->end_pos;
			l->hw = a->end_offset;
			advanced = true;
			if (l->refusing && a->base_offset >= l->refusal_offset)
				log_refusal_over(l);
		}
		if (log_flush_holds_answers(l))
			log_flush_hold(l, a, err);
		else
			a->done(a, err);
	}
	if (l->reverting && l->pending == 0)
		log_revert(l);
	if (advanced) {
		producer_state_settle(&l->producers, l->hw);
		log_start_flushes(l);
		log_publish_offsets(l);
	}
	log_flush_after_drain(l);
	if (advanced && l->hook)
		l->hook(l->hook_ctx);
}

/* A short write is resumed: the kernel names the real cause (ENOSPC) on
 * the retry. */
static void log_on_write(struct io_op *op, int32_t res, uint32_t flags)
{
	struct log_append *a = container_of(op, struct log_append, write_op);
	struct partition_log *l = a->log;
	(void)flags;
	if (res > 0 && a->written + (uint32_t)res < a->len) {
		a->written += (uint32_t)res;
		const struct segment *s = &l->segs[log_segment_for(l, a->segment_base)];
		uint64_t pos = a->end_pos - a->len + a->written;
		io_write(l->reactor, s->fd, a->batch + a->written, a->len - a->written, pos, op);
		return;
	}
	a->result = res < 0 ? res : res == 0 ? -EIO : 0;
	a->completed = true;
	log_drain(l);
}

/* A batch copied into the segment's mapping, answered from the loop. */
static void log_on_mapped_write(struct io_op *op, int32_t res, uint32_t flags)
{
	struct log_append *a = container_of(op, struct log_append, write_op);
	(void)res;
	(void)flags;
	a->completed = true;
	log_drain(a->log);
}

/* Whether appends may go on: not offline, and not refusing, or refusing
 * with the backoff over: then the append is a retry, and the refusal ends
 * when a write succeeds (a failing retry starts another backoff, with no new
 * log line). */
static bool log_accepting(struct partition_log *l)
{
	if (l->offline)
		return false;
	if (l->refusing && (l->reverting || reactor_now_ns() < l->retry_ns)) {
		l->refused_appends++;
		return false;
	}
	return true;
}


int16_t partition_log_append(struct partition_log *l, uint8_t *batch, size_t len,
			     const struct record_batch_header *h, struct log_append *a)
{
	assert(len == record_batch_total_bytes(h));
	if (!log_accepting(l))
		return KERR_KAFKA_STORAGE_ERROR;
	int64_t max_ts = a->log_append_time >= 0 ? a->log_append_time : h->max_timestamp;
	if (log_should_roll(l, h, len, max_ts)) {
		int rc = log_roll(l);
		if (rc != 0) {
			char path[PATH_MAX + 32];
			segment_path(l, l->end_offset, ".log", path, sizeof(path));
			log_refuse(l, l->end_offset, path, "rolling to this new segment", -rc, false);
			return KERR_KAFKA_STORAGE_ERROR;
		}
	}
	if (!l->epoch_written)
		log_write_epoch_checkpoint(l);
	struct segment *s = log_active(l);
	int64_t base = l->end_offset;
	log_producers_expire(l);
	if (log_txns_note(l, batch, h, base, max_ts) != 0)
		return KERR_KAFKA_STORAGE_ERROR;
	log_producers_publish(l);
	record_batch_assign_offset(batch, base, PARTITION_LOG_LEADER_EPOCH);
	struct record_batch_header placed = *h;
	placed.base_offset = base;
	if (a->log_append_time >= 0)
		placed.max_timestamp = a->log_append_time;
	a->mark_bytes_since_index = s->bytes_since_index;
	a->mark_idx_len = s->idx_len;
	a->mark_tidx_len = s->tidx_len;
	a->mark_max_ts = s->max_ts;
	a->mark_max_ts_offset = s->max_ts_offset;
	uint64_t pos = s->size;
	if (pos == 0)
		s->rolling_ts = placed.max_timestamp;
	s->dirty = true;
	segment_note_batch(l, s, pos, &placed);
	s->size += len;
	l->end_offset = base + h->last_offset_delta + 1;
	a->base_offset = base;
	a->end_offset = l->end_offset;
	a->segment_base = s->base_offset;
	a->end_pos = s->size;
	a->len = (uint32_t)len;
	a->written = 0;
	a->batch = batch;
	a->log = l;
	a->next = NULL;
	a->completed = false;
	a->echo = false;
	a->result = 0;
	log_pending_push(l, a);
	if (segment_writer_append(l, s, pos, batch, len)) {
		a->write_op.done = log_on_mapped_write;
		io_nop(l->reactor, &a->write_op);
	} else {
		segment_writer_count_written(l);
		a->write_op.done = log_on_write;
		io_write(l->reactor, s->fd, batch, len, pos, &a->write_op);
	}
	return KERR_NONE;
}

/* A transaction marker the coordinator writes: checked against the
 * producer state first (a fenced epoch or coordinator is refused unwritten). */
int16_t partition_log_append_marker(struct partition_log *l, const struct control_marker *m,
				    struct log_marker_append *out)
{
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	int16_t err = producer_state_check_marker(&l->producers, m->producer_id, m->producer_epoch,
						  m->coordinator_epoch);
	if (err != KERR_NONE)
		return err;
	control_batch_build(out->batch, m, log_now_ms());
	struct record_batch_header h;
	record_batch_header_read(out->batch, &h);
	out->append.log_append_time = -1;
	return partition_log_append(l, out->batch, sizeof(out->batch), &h, &out->append);
}

int partition_log_sync(struct partition_log *l)
{
	if (l->offline)
		return -EIO;
	if (partition_log_ops_in_flight(l) > 0)
		return -EBUSY;
	for (uint32_t i = 0; i < l->nsegs; i++) {
		struct segment *seg = &l->segs[i];
		if (!seg->dirty)
			continue;
		if (fdatasync(seg->fd) != 0) {
			log_go_offline(l, seg->base_offset, "fdatasync", errno);
			return -EIO;
		}
		seg->dirty = false;
	}
	int rc = segment_write_indexes(l, log_active(l), NULL);
	if (rc != 0)
		return rc;
	int txn_fd = log_txn_index_open_for_flush(l, log_active(l));
	if (txn_fd >= 0) {
		rc = fdatasync(txn_fd) != 0 ? -errno : 0;
		close(txn_fd);
		if (rc != 0)
			return rc;
	}
	l->recovery_point = l->hw;
	log_publish_offsets(l);
	return 0;
}

/* ---- retention and DeleteRecords ---- */

/* Removes the segments retention (or only the log start, for DeleteRecords)
 * lets go of; the active segment is rolled first when it is among them, so
 * that the log always has one. */
static uint32_t log_retain(struct partition_log *l, int64_t now_ms, bool start_only)
{
	const char *why;
	uint32_t n = log_retention_due(l, now_ms, start_only, &why);
	if (n > 0 && n == l->nsegs) {
		int rc = log_roll(l);
		if (rc != 0) {
			slog_error("log", "%s: cannot roll the active segment to delete it: %s", l->dir,
				   strerror(-rc));
			n--;
		}
	}
	return log_retention_remove(l, n, why);
}

uint32_t partition_log_retain(struct partition_log *l, int64_t now_ms)
{
	return log_retain(l, now_ms, false);
}

int16_t partition_log_delete_records(struct partition_log *l, int64_t offset,
				     int64_t *low_watermark)
{
	*low_watermark = -1;
	if (l->offline)
		return KERR_KAFKA_STORAGE_ERROR;
	if (!l->cfg.delete_enabled)
		return KERR_POLICY_VIOLATION;
	int64_t target = offset == -1 ? l->hw : offset;
	if (target < 0 || target > l->hw)
		return KERR_OFFSET_OUT_OF_RANGE;
	if (target > l->log_start) {
		l->log_start = target;
		l->epoch_written = false;
		log_publish_offsets(l);
	}
	log_retain(l, log_now_ms(), true);
	*low_watermark = l->log_start;
	return KERR_NONE;
}

/* One cleaning pass on the cleaner's helper thread: the key map from the
 * dirty range, then every run of segments below its end rewritten into
 * `.cleaned` files (see log_cleaner_pass.h). */
#include "core/log/log_cleaner_pass.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log/log_cleaner_batch.h"
#include "core/log/log_internal.h"

enum {
	PASS_WINDOW_BYTES = 1 << 20,     /* read from a segment at a time */
	PASS_WRITE_BYTES = 1 << 20,      /* written to a cleaned segment at a time */
	PASS_SLEEP_MAX_MS = 100,         /* a throttled pass checks for a cancel this often */
};

static const uint64_t NS_PER_SEC = 1000000000;

static uint64_t pass_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Reads one segment's batches through a window, trusting no header. */
struct pass_reader {
	int fd;
	const struct log_cleaner_source *src;
	uint64_t pos;
	int64_t next;          /* no batch may start below this offset */
	struct cleaner_buf win;
	uint64_t win_off;      /* file position of win.p[0] */
};

struct pass_state {
	struct log_cleaner_pass *p;
	uint64_t started_ns;
	struct log_cleaner_filter filter;
	struct log_cleaner_txns txns;  /* the walk in progress */
};

static const char *const PASS_CLEANED_EXTS[] = { ".log", ".index", ".timeindex", ".txnindex" };
enum { PASS_CLEANED_EXT_COUNT = sizeof(PASS_CLEANED_EXTS) / sizeof(PASS_CLEANED_EXTS[0]) };

static void pass_fail(struct log_cleaner_pass *p, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pass_fail(struct log_cleaner_pass *p, int rc, const char *fmt, ...)
{
	if (p->rc != 0)
		return;
	p->rc = rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* Sleeps as long as the bytes moved so far are ahead of the rate. */
static void pass_throttle(struct pass_state *st)
{
	struct log_cleaner_pass *p = st->p;
	if (p->io_max_bytes_per_second == 0)
		return;
	for (;;) {
		uint64_t moved = p->bytes_read + p->bytes_written;
		uint64_t due_ns = (uint64_t)((double)moved / (double)p->io_max_bytes_per_second *
					     (double)NS_PER_SEC);
		uint64_t elapsed = pass_now_ns() - st->started_ns;
		if (due_ns <= elapsed || atomic_load(p->cancel))
			return;
		uint64_t wait = due_ns - elapsed;
		if (wait > (uint64_t)PASS_SLEEP_MAX_MS * 1000000)
			wait = (uint64_t)PASS_SLEEP_MAX_MS * 1000000;
		struct timespec ts = { (time_t)(wait / NS_PER_SEC), (long)(wait % NS_PER_SEC) };
		nanosleep(&ts, NULL);
		p->throttled_ns += wait;
	}
}

/* After each batch: the throttle, then whether to go on (not cancelled,
 * no error). */
static bool pass_go_on(struct pass_state *st)
{
	pass_throttle(st);
	if (atomic_load(st->p->cancel))
		pass_fail(st->p, -ECANCELED, "cancelled");
	return st->p->rc == 0;
}

static int pass_reader_open(struct log_cleaner_pass *p, const struct log_cleaner_source *src,
			    struct pass_reader *r)
{
	memset(r, 0, sizeof(*r));
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%020" PRId64 ".log", p->dir, src->base);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		pass_fail(p, -errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	r->src = src;
	r->next = src->base;
	return 0;
}

static void pass_reader_close(struct pass_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	cleaner_buf_free(&r->win);
}

/* Makes [pos, pos + n) of the file present in the window. */
static int pass_reader_fill(struct log_cleaner_pass *p, struct pass_reader *r, uint64_t n)
{
	if (r->pos >= r->win_off && r->pos + n <= r->win_off + r->win.len)
		return 0;
	uint64_t want = n > PASS_WINDOW_BYTES ? n : PASS_WINDOW_BYTES;
	if (want > r->src->size - r->pos)
		want = r->src->size - r->pos;
	r->win.len = 0;
	if (cleaner_buf_reserve(&r->win, want) != 0) {
		pass_fail(p, -ENOMEM, "out of memory reading %" PRIu64 " bytes", want);
		return -1;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t k = pread(r->fd, r->win.p + got, want - got, (off_t)(r->pos + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			pass_fail(p, k < 0 ? -errno : -EIO, "%s/%020" PRId64 ".log: read at byte %" PRIu64
				  ": %s", p->dir, r->src->base, r->pos + got,
				  k < 0 ? strerror(errno) : "the file is shorter than it was");
			return -1;
		}
		got += (size_t)k;
	}
	r->win.len = got;
	r->win_off = r->pos;
	p->bytes_read += got;
	return 0;
}

/* The next batch: 1 with *batch (valid until the next call) and h, 0 at the
 * segment's end, -1 (p->rc set) on damage or an error. */
static int pass_reader_next(struct log_cleaner_pass *p, struct pass_reader *r,
			    const uint8_t **batch, struct record_batch_header *h)
{
	const struct log_cleaner_source *s = r->src;
	if (r->pos == s->size)
		return 0;
	const char *why = NULL;
	if (s->size - r->pos < RECORD_BATCH_HEADER_BYTES) {
		why = "batch header cut short";
	} else if (pass_reader_fill(p, r, RECORD_BATCH_HEADER_BYTES) != 0) {
		return -1;
	} else {
		record_batch_header_read(r->win.p + (r->pos - r->win_off), h);
		uint64_t total = record_batch_total_bytes(h);
		if (h->magic != RECORD_BATCH_MAGIC_V2)
			why = "bad magic";
		else if (h->batch_length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD)
			why = "batch length below the header's";
		else if (total > s->size - r->pos || total > LOG_DECOMPRESS_MAX_BYTES)
			why = "batch runs past the segment's end";
		else if (h->last_offset_delta < 0 || h->record_count < 0)
			why = "negative offset delta or record count";
		else if (h->base_offset < r->next)
			why = "offsets go backwards";
		else if (h->base_offset >= s->limit || s->limit - h->base_offset <= h->last_offset_delta)
			why = "offsets beyond the segment's";
		else if (pass_reader_fill(p, r, total) != 0)
			return -1;
	}
	if (why) {
		pass_fail(p, -EINVAL, "%s/%020" PRId64 ".log: %s at byte %" PRIu64 "; not cleaned",
			  p->dir, s->base, why, r->pos);
		return -1;
	}
	*batch = r->win.p + (r->pos - r->win_off);
	r->pos += record_batch_total_bytes(h);
	r->next = h->base_offset + h->last_offset_delta + 1;
	return 1;
}

/* Puts the keys of one batch; false when the map filled up. */
static bool pass_map_batch(struct pass_state *st, const uint8_t *batch, size_t len)
{
	struct log_cleaner_pass *p = st->p;
	struct cleaner_batch b;
	if (log_cleaner_batch_open(batch, len, p->inflated_max, &st->filter.scratch, &b) != 0) {
		p->batches_damaged++;
		return true;
	}
	struct cleaner_record r;
	while (log_cleaner_batch_next(&b, &r) == 1) {
		if (r.key.len < 0)
			continue;
		struct log_cleaner_key_hash h = log_cleaner_map_hash(p->map, r.key.ptr, (size_t)r.key.len);
		if (!log_cleaner_map_put(p->map, h, r.offset))
			return false;
	}
	return true;
}

/* The walk's verdict on a batch below the dirty range's end: whether it is
 * aborted data (a data batch) or a done marker (a control batch). */
static int pass_txn_verdict(struct pass_state *st, const uint8_t *batch,
			    const struct record_batch_header *h, bool *verdict)
{
	int rc = (h->attributes & BATCH_ATTR_CONTROL)
			 ? log_cleaner_txns_on_control(&st->txns, batch, record_batch_total_bytes(h), h,
						       verdict)
			 : log_cleaner_txns_on_data(&st->txns, h, verdict);
	if (rc != 0)
		pass_fail(st->p, rc, "out of memory cleaning %s", st->p->dir);
	return rc;
}

/* Step 1: the key map over the dirty range; sets clean_end. */
static int pass_build_map(struct pass_state *st)
{
	struct log_cleaner_pass *p = st->p;
	log_cleaner_map_clear(p->map);
	p->clean_end = p->first_dirty;
	bool full = false;
	if (log_cleaner_txns_begin(&st->txns, p->aborted, p->naborted, p->first_dirty,
				   p->first_uncleanable) != 0) {
		pass_fail(p, -ENOMEM, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < p->nsegs && !full; i++) {
		const struct log_cleaner_source *s = &p->segs[i];
		if (s->limit <= p->first_dirty)
			continue;
		if (s->base >= p->first_uncleanable)
			break;
		struct pass_reader r;
		if (pass_reader_open(p, s, &r) != 0)
			return -1;
		const uint8_t *batch;
		struct record_batch_header h;
		int got = 0;
		while (!full && (got = pass_reader_next(p, &r, &batch, &h)) == 1) {
			int64_t last = h.base_offset + h.last_offset_delta;
			if (h.base_offset >= p->first_uncleanable)
				break;
			bool verdict = false;
			if (last >= p->first_dirty && pass_txn_verdict(st, batch, &h, &verdict) != 0)
				break;
			/* Aborted data: its keys are no one's latest value. */
			if (last < p->first_dirty || (h.attributes & BATCH_ATTR_CONTROL) || verdict) {
				p->clean_end = last + 1 > p->clean_end ? last + 1 : p->clean_end;
				continue;
			}
			full = !pass_map_batch(st, batch, record_batch_total_bytes(&h));
			if (!full)
				p->clean_end = last + 1;
			if (!pass_go_on(st))
				break;
		}
		pass_reader_close(&r);
		if (p->rc != 0)
			break;
		if (!full && got == 0 && s->limit <= p->first_uncleanable)
			p->clean_end = s->limit;
	}
	log_cleaner_txns_free(&st->txns);
	if (p->rc != 0)
		return -1;
	if (p->clean_end <= p->first_dirty && !full) {
		pass_fail(p, -ENODATA, "%s: nothing to clean below offset %" PRId64, p->dir,
			  p->first_uncleanable);
		return -1;
	}
	if (p->clean_end <= p->first_dirty) {
		pass_fail(p, -ENOBUFS, "log.cleaner.dedupe.buffer.size holds too few keys (%zu) for "
			  "even one batch of %s", p->map->limit, p->dir);
		return -1;
	}
	return 0;
}

/* Step 2: the runs of the segments below clean_end. */
static int pass_group(struct log_cleaner_pass *p)
{
	p->runs = calloc(p->nsegs + 1, sizeof(*p->runs));
	if (!p->runs) {
		pass_fail(p, -ENOMEM, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < p->nsegs && p->segs[i].base < p->clean_end;) {
		struct log_cleaner_run *run = &p->runs[p->nruns++];
		run->base = p->segs[i].base;
		run->first = i;
		uint64_t bytes = 0;
		do {
			bytes += p->segs[i].size;
			i++;
		} while (i < p->nsegs && p->segs[i].base < p->clean_end &&
			 bytes + p->segs[i].size <= p->cfg.segment_bytes &&
			 p->segs[i].limit - run->base - 1 <= INT32_MAX);
		run->count = i - run->first;
	}
	return 0;
}

static bool pass_keep(void *ctx, const struct cleaner_record *r)
{
	const struct log_cleaner_map *m = ctx;
	/* Kafka's cleaner drops a record without a key: a compacted log
	 * cannot say which later record replaces it. */
	if (r->key.len < 0)
		return false;
	int64_t latest = log_cleaner_map_get(m, log_cleaner_map_hash(m, r->key.ptr, (size_t)r->key.len));
	return latest < 0 || r->offset >= latest;
}

static void pass_cleaned_path(const struct log_cleaner_pass *p, int64_t base, const char *ext,
			      char *out, size_t cap)
{
	snprintf(out, cap, "%s/%020" PRId64 "%s.cleaned", p->dir, base, ext);
}

static int pass_write_out(struct log_cleaner_pass *p, int fd, struct cleaner_buf *out,
			  uint64_t *file_pos)
{
	size_t done = 0;
	while (done < out->len) {
		ssize_t k = pwrite(fd, out->p + done, out->len - done, (off_t)(*file_pos + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			pass_fail(p, k < 0 ? -errno : -EIO, "%s: writing a cleaned segment: %s", p->dir,
				  k < 0 ? strerror(errno) : "short write");
			return -1;
		}
		done += (size_t)k;
	}
	p->bytes_written += out->len;
	*file_pos += out->len;
	out->len = 0;
	return 0;
}

/* Kafka's checkBatchRetention: aborted data goes whole; a done marker
 * takes a delete horizon, and goes once it has passed; a producer's last
 * batch stays, emptied if need be. */
static int pass_plan(struct pass_state *st, const uint8_t *batch, const struct record_batch_header *h,
		     struct log_cleaner_batch_plan *plan)
{
	bool verdict = false;
	if (pass_txn_verdict(st, batch, h, &verdict) != 0)
		return -1;
	*plan = (struct log_cleaner_batch_plan){
		.keep_empty = log_cleaner_producers_last(&st->p->producers, h),
	};
	if (!(h->attributes & BATCH_ATTR_CONTROL)) {
		plan->discard = verdict;
		return 0;
	}
	bool has_horizon = (h->attributes & BATCH_ATTR_DELETE_HORIZON) != 0;
	plan->marker_done = verdict;
	plan->discard = verdict && has_horizon && h->base_timestamp <= st->p->now_ms;
	return 0;
}

/* Filters every batch of one source segment into the run's file. */
static int pass_clean_segment(struct pass_state *st, const struct log_cleaner_source *s, int fd,
			      struct partition_log *ix, struct segment *seg, struct cleaner_buf *out,
			      uint64_t *file_pos)
{
	struct log_cleaner_pass *p = st->p;
	struct pass_reader r;
	if (pass_reader_open(p, s, &r) != 0)
		return -1;
	const uint8_t *batch;
	struct record_batch_header h;
	int got;
	while ((got = pass_reader_next(p, &r, &batch, &h)) == 1) {
		struct log_cleaner_batch_result res;
		size_t at = out->len;
		struct log_cleaner_batch_plan plan;
		if (pass_plan(st, batch, &h, &plan) != 0)
			break;
		if (log_cleaner_batch_filter(&st->filter, &plan, batch, record_batch_total_bytes(&h), out,
					     &res) != 0) {
			pass_fail(p, -ENOMEM, "out of memory cleaning %s", p->dir);
			break;
		}
		p->records_kept += res.records_kept;
		p->records_dropped += res.records_dropped;
		p->batches_damaged += res.damaged;
		if (res.fate != LOG_CLEANER_BATCH_DROPPED)
			segment_note_batch(ix, seg, *file_pos + at, &res.out);
		if (out->len >= PASS_WRITE_BYTES && pass_write_out(p, fd, out, file_pos) != 0)
			break;
		if (!pass_go_on(st))
			break;
	}
	pass_reader_close(&r);
	return p->rc == 0 && got == 0 ? 0 : -1;
}

/* Creates the run's `<base><ext>.cleaned` (its path in path); -1 on failure. */
static int pass_create_cleaned(struct log_cleaner_pass *p, int64_t base, const char *ext,
			       char *path, size_t cap)
{
	pass_cleaned_path(p, base, ext, path, cap);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		pass_fail(p, -errno, "%s: %s", path, strerror(errno));
	return fd;
}

/* The run's `.txnindex.cleaned`, synced (none when it lists nothing). */
static int pass_write_txn_index(struct log_cleaner_pass *p, const struct log_cleaner_run *run)
{
	if (run->naborted == 0)
		return 0;
	char path[PATH_MAX + 64];
	int fd = pass_create_cleaned(p, run->base, ".txnindex", path, sizeof(path));
	if (fd < 0)
		return -1;
	struct cleaner_buf out = { 0 };
	int rc = cleaner_buf_reserve(&out, (size_t)run->naborted * TXN_INDEX_ENTRY_BYTES);
	if (rc != 0)
		pass_fail(p, rc, "out of memory");
	for (uint32_t k = 0; rc == 0 && k < run->naborted; k++) {
		txn_index_encode(out.p + out.len, &run->aborted[k]);
		out.len += TXN_INDEX_ENTRY_BYTES;
	}
	uint64_t pos = 0;
	if (rc == 0)
		rc = pass_write_out(p, fd, &out, &pos);
	if (rc == 0 && fdatasync(fd) != 0)
		pass_fail(p, rc = -errno, "%s: fdatasync: %s", path, strerror(errno));
	close(fd);
	cleaner_buf_free(&out);
	return rc;
}

/* Step 3 for one run: its `.cleaned` files, written and synced. */
static int pass_clean_run(struct pass_state *st, struct log_cleaner_run *run, struct partition_log *ix)
{
	struct log_cleaner_pass *p = st->p;
	char path[PATH_MAX + 64];
	int fd = pass_create_cleaned(p, run->base, ".log", path, sizeof(path));
	if (fd < 0)
		return -1;
	struct segment seg;
	memset(&seg, 0, sizeof(seg));
	seg.fd = -1;
	seg.base_offset = run->base;
	segment_reset_indexes(&seg);
	struct cleaner_buf out = { 0 };
	uint64_t file_pos = 0;
	int rc = 0;
	for (uint32_t k = 0; k < run->count && rc == 0; k++)
		rc = pass_clean_segment(st, &p->segs[run->first + k], fd, ix, &seg, &out, &file_pos);
	if (rc == 0)
		rc = pass_write_out(p, fd, &out, &file_pos);
	if (rc == 0 && fdatasync(fd) != 0)
		pass_fail(p, rc = -errno, "%s: fdatasync: %s", path, strerror(errno));
	close(fd);
	cleaner_buf_free(&out);
	run->bytes = file_pos;
	if (rc == 0) {
		segment_seal_time_index(&seg);
		int e = segment_write_indexes_named(ix, &seg, ".cleaned", NULL);
		if (e != 0)
			pass_fail(p, rc = e, "%s: writing the cleaned indexes: %s", p->dir, strerror(-e));
	}
	if (rc == 0) {
		run->aborted = st->txns.kept;
		run->naborted = st->txns.nkept;
		st->txns.kept = NULL;
		st->txns.nkept = st->txns.cap_kept = 0;
		rc = pass_write_txn_index(p, run);
	}
	free(seg.idx);
	free(seg.tidx);
	return rc;
}

/* Step 3: every run, in one walk through the transactions: a marker
 * stays while this pass meets data of its transaction in any run. */
static void pass_clean_runs(struct pass_state *st, struct partition_log *ix)
{
	struct log_cleaner_pass *p = st->p;
	if (p->nruns == 0)
		return;
	const struct log_cleaner_run *last = &p->runs[p->nruns - 1];
	if (log_cleaner_txns_begin(&st->txns, p->aborted, p->naborted, p->runs[0].base,
				   p->segs[last->first + last->count - 1].limit) != 0) {
		pass_fail(p, -ENOMEM, "out of memory");
		return;
	}
	for (uint32_t k = 0; k < p->nruns && p->rc == 0; k++)
		pass_clean_run(st, &p->runs[k], ix);
	log_cleaner_txns_free(&st->txns);
}

/* The end of the cleanable part: the active segment's base, the recovery
 * point, the first unstable offset, or the first closed segment with a
 * record newer than the lag. */
int64_t log_cleaner_first_uncleanable(const struct partition_log *l, int64_t min_lag_ms,
				      int64_t now_ms)
{
	int64_t end = log_active((struct partition_log *)l)->base_offset;
	if (l->recovery_point < end)
		end = l->recovery_point;
	if (l->hw < end)
		end = l->hw;
	int64_t stable = partition_log_last_stable_offset(l);
	if (stable < end)
		end = stable;
	for (uint32_t i = 0; i + 1 < l->nsegs && l->segs[i].base_offset < end; i++) {
		if (min_lag_ms > 0 &&
		    l->segs[i].max_ts > now_ms - min_lag_ms) {
			end = l->segs[i].base_offset;
			break;
		}
	}
	return end;
}

static void pass_collect_producer(const struct producer_entry *e, void *ctx)
{
	struct log_cleaner_producers *ps = ctx;
	const struct producer_batch *last = producer_entry_last(e);
	ps->v[ps->len++] = (struct log_cleaner_producer){
		.producer_id = e->producer_id,
		.last_data_offset = last ? last->last_offset : -1,
		.epoch = e->epoch,
	};
}

/* Copies of what the pass's walks read on the owner's side: every
 * segment's aborted transactions, and the producers' last batches. */
static int pass_prepare_txns(struct log_cleaner_pass *p, const struct partition_log *l)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < l->nsegs; i++)
		n += l->segs[i].aborted_len;
	const struct producer_state *ps = partition_log_producers(l);
	p->aborted = calloc(n + 1, sizeof(*p->aborted));
	p->producers.v = calloc(ps->count + 1, sizeof(*p->producers.v));
	if (!p->aborted || !p->producers.v)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->nsegs; i++)
		for (uint32_t k = 0; k < l->segs[i].aborted_len; k++)
			p->aborted[p->naborted++] = l->segs[i].aborted[k];
	producer_state_for_each(ps, pass_collect_producer, &p->producers);
	log_cleaner_producers_sort(&p->producers);
	return 0;
}

int log_cleaner_pass_prepare(struct log_cleaner_pass *p, struct partition_log *l,
			     int64_t min_lag_ms, int64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	int64_t start = partition_log_start_offset(l);
	p->first_dirty = l->cleaner_offset > start ? l->cleaner_offset : start;
	p->first_uncleanable = log_cleaner_first_uncleanable(l, min_lag_ms, now_ms);
	p->segs = calloc(l->nsegs, sizeof(*p->segs));
	if (!p->segs)
		return -ENOMEM;
	for (uint32_t i = 0; i + 1 < l->nsegs && l->segs[i + 1].base_offset <= p->first_uncleanable; i++)
		p->segs[p->nsegs++] = (struct log_cleaner_source){ .base = l->segs[i].base_offset,
								   .size = l->segs[i].visible_size,
								   .limit = l->segs[i + 1].base_offset };
	snprintf(p->dir, sizeof(p->dir), "%s", l->dir);
	p->cfg = l->cfg;
	p->now_ms = now_ms;
	if (pass_prepare_txns(p, l) != 0) {
		log_cleaner_pass_free(p);
		return -ENOMEM;
	}
	return 0;
}

void log_cleaner_pass_run(struct log_cleaner_pass *p)
{
	struct pass_state st = { .p = p, .started_ns = pass_now_ns() };
	st.filter.keep = pass_keep;
	st.filter.ctx = p->map;
	st.filter.now_ms = p->now_ms;
	st.filter.delete_retention_ms = p->delete_retention_ms;
	st.filter.inflated_max = p->inflated_max;
	p->rc = 0;
	/* The index bookkeeping of log_segment.c reads only the directory and
	 * the config of the log it is given: a private copy, never the
	 * owner's. */
	struct partition_log *ix = calloc(1, sizeof(*ix));
	if (!ix) {
		pass_fail(p, -ENOMEM, "out of memory");
		return;
	}
	snprintf(ix->dir, sizeof(ix->dir), "%s", p->dir);
	ix->cfg = p->cfg;
	if (pass_build_map(&st) == 0 && pass_group(p) == 0)
		pass_clean_runs(&st, ix);
	free(ix);
	cleaner_buf_free(&st.filter.scratch);
	cleaner_buf_free(&st.filter.plain);
	if (p->rc != 0)
		log_cleaner_pass_discard(p);
}

void log_cleaner_pass_discard(const struct log_cleaner_pass *p)
{
	for (uint32_t k = 0; k < p->nruns; k++) {
		for (size_t e = 0; e < PASS_CLEANED_EXT_COUNT; e++) {
			char path[PATH_MAX + 64];
			pass_cleaned_path(p, p->runs[k].base, PASS_CLEANED_EXTS[e], path, sizeof(path));
			unlink(path);
		}
	}
}

void log_cleaner_pass_free(struct log_cleaner_pass *p)
{
	for (uint32_t k = 0; p->runs && k < p->nruns; k++)
		free(p->runs[k].aborted);
	free(p->aborted);
	free(p->producers.v);
	p->aborted = NULL;
	p->producers = (struct log_cleaner_producers){ 0 };
	p->naborted = 0;
	free(p->segs);
	free(p->runs);
	free(p->doomed);
	p->segs = NULL;
	p->runs = NULL;
	p->doomed = NULL;
	p->nsegs = p->nruns = p->ndoomed = 0;
}

void log_cleaner_pass_unlink_doomed(const struct log_cleaner_pass *p)
{
	for (uint32_t k = 0; k < p->ndoomed; k++) {
		for (size_t e = 0; e < PASS_CLEANED_EXT_COUNT; e++) {
			char path[PATH_MAX + 64];
			snprintf(path, sizeof(path), "%s/%020" PRId64 "%s.deleted", p->dir, p->doomed[k],
				 PASS_CLEANED_EXTS[e]);
			unlink(path);
		}
	}
	int dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

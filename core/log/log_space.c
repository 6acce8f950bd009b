/* The free-space floor of log.dirs: measuring it on a timer and the
 * verdict every shard reads; and the volume DescribeLogDirs reports (see
 * log_space.h). */
#include "core/log/log_space.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "core/slog.h"

static const uint64_t NS_PER_MS = 1000000;
/* Produce resumes only once the free space is this share (1/n) of the floor
 * above it, so that a log dir hovering at the floor does not flap. */
enum { LOG_SPACE_RESUME_MARGIN_DIVISOR = 20 };

uint64_t log_space_floor(int64_t min_free_bytes, uint64_t fs_bytes)
{
	if (min_free_bytes >= 0)
		return (uint64_t)min_free_bytes;
	uint64_t floor = fs_bytes / LOG_SPACE_DEFAULT_FLOOR_DIVISOR;
	return floor < LOG_SPACE_DEFAULT_FLOOR_MAX_BYTES ? floor : LOG_SPACE_DEFAULT_FLOOR_MAX_BYTES;
}

void log_space_init(struct log_space *s, const char *dir, int64_t min_free_bytes)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->min_free_bytes = min_free_bytes;
	io_timer_init(&s->timer);
}

int log_space_describe(const struct log_space *s, struct log_space_volume *out)
{
	snprintf(out->path, sizeof(out->path), "%s", s->dir);
	out->total_bytes = 0;
	out->usable_bytes = 0;
	char abs[PATH_MAX];
	if (!realpath(s->dir, abs))
		return -errno;
	snprintf(out->path, sizeof(out->path), "%s", abs);
	struct statvfs st;
	if (statvfs(abs, &st) != 0)
		return -errno;
	out->total_bytes = (uint64_t)st.f_blocks * st.f_frsize;
	out->usable_bytes = (uint64_t)st.f_bavail * st.f_frsize;
	return 0;
}

int log_space_check(struct log_space *s)
{
	struct statvfs st;
	if (statvfs(s->dir, &st) != 0)
		return -errno;
	/* What an unprivileged writer may use: the broker need not be root. */
	uint64_t free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
	uint64_t floor = log_space_floor(s->min_free_bytes, (uint64_t)st.f_blocks * st.f_frsize);
	atomic_store_explicit(&s->free_bytes, free_bytes, memory_order_relaxed);
	atomic_store_explicit(&s->floor_bytes, floor, memory_order_relaxed);
	bool refusing = atomic_load_explicit(&s->refusing, memory_order_relaxed);
	if (!refusing && free_bytes < floor) {
		slog_error("log", "%s: %" PRIu64 " bytes free, below sluice.log.dir.min.free.bytes "
			   "(%" PRIu64 "): produce answers KAFKA_STORAGE_ERROR until space is freed; "
			   "fetches go on", s->dir, free_bytes, floor);
		atomic_store_explicit(&s->refusing, true, memory_order_relaxed);
	} else if (refusing && free_bytes >= floor + floor / LOG_SPACE_RESUME_MARGIN_DIVISOR) {
		slog_info("log", "%s: %" PRIu64 " bytes free again (floor %" PRIu64 "): produce "
			  "accepted", s->dir, free_bytes, floor);
		atomic_store_explicit(&s->refusing, false, memory_order_relaxed);
	}
	return 0;
}

static void log_space_on_timer(struct io_timer *t)
{
	struct log_space *s = container_of(t, struct log_space, timer);
	int rc = log_space_check(s);
	if (rc != 0 && !s->check_failed)
		slog_warn("log", "statvfs %s: %s; the free-space floor is not checked until it "
			  "works again", s->dir, strerror(-rc));
	s->check_failed = rc != 0;
	io_timer_arm(s->reactor, &s->timer, LOG_SPACE_CHECK_INTERVAL_MS * NS_PER_MS,
		     log_space_on_timer);
}

void log_space_start(struct log_space *s, struct reactor *r)
{
	s->reactor = r;
	if (s->min_free_bytes != 0)
		io_timer_arm(r, &s->timer, LOG_SPACE_CHECK_INTERVAL_MS * NS_PER_MS,
			     log_space_on_timer);
}

void log_space_stop(struct log_space *s)
{
	if (s->reactor && io_timer_armed(&s->timer))
		io_timer_stop(s->reactor, &s->timer);
}

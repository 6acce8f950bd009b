/* Reading and atomically writing Kafka's offset checkpoint files, at once
 * or with the fsyncs in the kernel's workers. */
#include "core/log/log_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void checkpoint_dir(const char *path, char *out, size_t cap)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(out, cap, "%s", dirname(copy));
}

static int checkpoint_fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	checkpoint_dir(path, dir, sizeof(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

/* Writes the file's text into path.tmp (page cache only); returns its
 * descriptor or -errno. */
static int checkpoint_write_tmp(const char *path, const struct checkpoint_entry *e, size_t n,
				char *tmp, size_t tmpcap)
{
	if (snprintf(tmp, tmpcap, "%s.tmp", path) >= (int)tmpcap)
		return -ENAMETOOLONG;
	int fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(dup(fd), "w");
	int rc = f ? 0 : -errno;
	if (f) {
		fprintf(f, "0\n%zu\n", n);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s %d %" PRId64 "\n", e[i].topic, e[i].partition, e[i].offset);
		if (fflush(f) != 0)
			rc = -errno;
		if (fclose(f) != 0 && rc == 0)
			rc = -errno;
	}
	if (rc != 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	return fd;
}

int log_checkpoint_write(const char *path, const struct checkpoint_entry *e, size_t n)
{
	char tmp[PATH_MAX];
	int fd = checkpoint_write_tmp(path, e, n, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0)
		rc = checkpoint_fsync_dir(path);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static void checkpoint_async_finish(struct checkpoint_async *w, int rc)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (rc != 0 && !w->renamed)
		unlink(w->tmp);
	w->done(w, rc);
}

static void checkpoint_async_on_fsync(struct io_op *op, int32_t res, uint32_t flags)
{
	struct checkpoint_async *w = container_of(op, struct checkpoint_async, op);
	(void)flags;
	if (res < 0 || w->renamed) {
		checkpoint_async_finish(w, res < 0 ? res : 0);
		return;
	}
	close(w->fd);
	w->fd = -1;
	if (rename(w->tmp, w->path) != 0) {
		checkpoint_async_finish(w, -errno);
		return;
	}
	w->renamed = true;
	char dir[PATH_MAX];
	checkpoint_dir(w->path, dir, sizeof(dir));
	w->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->fd < 0) {
		checkpoint_async_finish(w, -errno);
		return;
	}
	io_fsync(w->reactor, w->fd, false, &w->op);
}

int log_checkpoint_write_async(struct reactor *r, const char *path, const struct checkpoint_entry *e,
			       size_t n, struct checkpoint_async *w)
{
	w->reactor = r;
	w->renamed = false;
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->fd = checkpoint_write_tmp(path, e, n, w->tmp, sizeof(w->tmp));
	if (w->fd < 0)
		return w->fd;
	w->op.done = checkpoint_async_on_fsync;
	io_fsync(r, w->fd, false, &w->op);
	return 0;
}

int log_checkpoint_read(const char *path, struct checkpoint_entry **out, size_t *n, char *err,
			size_t errlen)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int version = -1;
	long long count = -1;
	struct checkpoint_entry *e = NULL;
	int rc = 0, line = 2;
	if (fscanf(f, "%d\n%lld\n", &version, &count) != 2 || version != 0 || count < 0 ||
	    count > CHECKPOINT_ENTRIES_MAX) {
		snprintf(err, errlen, "%s: bad header (version %d, count %lld)", path, version, count);
		rc = -1;
	} else if (count > 0 && !(e = calloc((size_t)count, sizeof(*e)))) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -1;
	}
	for (long long i = 0; rc == 0 && i < count; i++) {
		line++;
		long long off;
		int part;
		if (fscanf(f, "%249s %d %lld\n", e[i].topic, &part, &off) != 3 || part < 0) {
			snprintf(err, errlen, "%s:%d: expected 'topic partition offset'", path, line);
			rc = -1;
			break;
		}
		e[i].partition = part;
		e[i].offset = off;
	}
	fclose(f);
	if (rc != 0) {
		free(e);
		return -1;
	}
	*out = e;
	*n = (size_t)count;
	return 0;
}

/* Reading and atomically writing Kafka's offset checkpoint files. */
#include "core/log_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int checkpoint_fsync_dir(const char *path)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

int log_checkpoint_write(const char *path, const struct checkpoint_entry *e, size_t n)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "0\n%zu\n", n);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %d %" PRId64 "\n", e[i].topic, e[i].partition, e[i].offset);
	int rc = 0;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0)
		rc = checkpoint_fsync_dir(path);
	if (rc != 0)
		unlink(tmp);
	return rc;
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

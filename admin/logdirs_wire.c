/* DescribeLogDirs over a plain socket (logdirs_wire.h): connect with a
 * deadline, ApiVersions v0 for the served range, one DescribeLogDirs, its
 * answer decoded into bounded arrays. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "logdirs_wire.h"
#include "proto/cursor.h"

#define API_VERSIONS_KEY 18
#define DESCRIBE_LOG_DIRS_KEY 35
#define DESCRIBE_LOG_DIRS_MIN 1
#define DESCRIBE_LOG_DIRS_MAX 4
#define DESCRIBE_LOG_DIRS_FLEXIBLE 2
#define API_KEYS_MAX 1000
#define CLIENT_ID "sluice-admin"
#define REQUEST_BYTES_MAX 64

int64_t logdirs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events, within the deadline; -1 on timeout. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - logdirs_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int dial(const char *host, int port, int64_t deadline_ms, char *err, size_t err_size)
{
	char service[16];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(host, service, &hints, &ai);
	if (rc != 0) {
		snprintf(err, err_size, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	int so_error = 0;
	socklen_t len = sizeof(so_error);
	if (fd >= 0 && (wait_fd(fd, POLLOUT, deadline_ms) != 0 ||
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		snprintf(err, err_size, "cannot connect to %s:%d: %s", host, port,
			 so_error ? strerror(so_error) : "timed out");
	return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n, int64_t deadline_ms)
{
	while (n > 0) {
		if (wait_fd(fd, POLLOUT, deadline_ms) != 0)
			return -1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n, int64_t deadline_ms)
{
	while (n > 0) {
		if (wait_fd(fd, POLLIN, deadline_ms) != 0)
			return -1;
		ssize_t r = recv(fd, p, n, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		}
	}
	return 0;
}

/* Sends a request with an empty (ApiVersions v0) or null-topics
 * (DescribeLogDirs) body and reads the answer's frame into *frame (malloc'd). */
static int exchange(int fd, int16_t key, int16_t version, int64_t deadline_ms, uint8_t **frame,
		    uint32_t *frame_len)
{
	bool flexible = key == DESCRIBE_LOG_DIRS_KEY && version >= DESCRIBE_LOG_DIRS_FLEXIBLE;
	uint8_t buf[REQUEST_BYTES_MAX];
	struct wcursor w;
	wc_init(&w, buf, sizeof(buf), NULL, 0);
	wc_int32(&w, 0);
	wc_int16(&w, key);
	wc_int16(&w, version);
	wc_int32(&w, key);
	wc_int16(&w, (int16_t)strlen(CLIENT_ID));
	memcpy(wc_take(&w, strlen(CLIENT_ID)), CLIENT_ID, strlen(CLIENT_ID));
	if (flexible)
		wc_int8(&w, 0); /* header tagged fields */
	if (key == DESCRIBE_LOG_DIRS_KEY) {
		if (flexible)
			wc_int8(&w, 0); /* compact null array: every topic */
		else
			wc_int32(&w, -1);
	}
	if (flexible)
		wc_int8(&w, 0); /* body tagged fields */
	size_t len = (size_t)(w.pos - w.start);
	be_store(buf, len - 4, 4);
	uint8_t size[4];
	if (send_all(fd, buf, len, deadline_ms) != 0 || recv_all(fd, size, 4, deadline_ms) != 0)
		return -1;
	*frame_len = (uint32_t)be_load(size, 4);
	if (*frame_len < 4 || *frame_len > LOGDIRS_RESPONSE_BYTES_MAX)
		return -1;
	*frame = malloc(*frame_len);
	if (!*frame)
		abort();
	return recv_all(fd, *frame, *frame_len, deadline_ms);
}

int16_t logdirs_pick_version(uint8_t *frame, uint32_t len)
{
	struct rcursor c;
	rc_init(&c, frame, len);
	rc_int32(&c); /* correlation id */
	int16_t error = rc_int16(&c);
	int32_t n = rc_array_len(&c, false, API_KEYS_MAX, 6);
	int16_t best = -1;
	for (int32_t i = 0; i < n && !c.err; i++) {
		int16_t key = rc_int16(&c), min = rc_int16(&c), max = rc_int16(&c);
		if (key != DESCRIBE_LOG_DIRS_KEY)
			continue;
		int16_t top = max < DESCRIBE_LOG_DIRS_MAX ? max : DESCRIBE_LOG_DIRS_MAX;
		if (top >= DESCRIBE_LOG_DIRS_MIN && top >= min)
			best = top;
	}
	return c.err || error ? -1 : best;
}

static void copy_kstr(char *out, size_t size, struct kstr s)
{
	snprintf(out, size, "%.*s", s.len > 0 ? (int)s.len : 0, s.len > 0 ? s.ptr : "");
}

static int32_t array_len(struct rcursor *c, bool flexible, uint32_t max, size_t min_bytes)
{
	return flexible ? rc_compact_array_len(c, false, max, min_bytes)
			: rc_array_len(c, false, max, min_bytes);
}

static struct kstr string_at(struct rcursor *c, bool flexible)
{
	return flexible ? rc_compact_string(c) : rc_string(c);
}

static void decode_partitions(struct rcursor *c, bool flexible, struct kstr topic,
			      struct logdirs_answer *a)
{
	int32_t n = array_len(c, flexible, LOGDIRS_PARTITIONS_MAX, 21);
	for (int32_t i = 0; i < n && !c->err; i++) {
		if (a->part_count == a->part_cap) {
			rc_fail(c, RC_TOO_MANY, "partitions");
			return;
		}
		struct logdir_partition *p = &a->parts[a->part_count++];
		copy_kstr(p->topic, sizeof(p->topic), topic);
		p->partition = rc_int32(c);
		p->size_bytes = rc_int64(c);
		p->offset_lag = rc_int64(c);
		p->is_future = rc_bool(c);
		if (flexible)
			rc_skip_tagged_fields(c);
	}
}

static void decode_dir(struct rcursor *c, struct logdirs_answer *a, struct logdir *d)
{
	bool flexible = a->version >= DESCRIBE_LOG_DIRS_FLEXIBLE;
	d->error_code = rc_int16(c);
	copy_kstr(d->path, sizeof(d->path), string_at(c, flexible));
	d->first = a->part_count;
	int32_t topics = array_len(c, flexible, LOGDIRS_PARTITIONS_MAX, 2);
	for (int32_t t = 0; t < topics && !c->err; t++) {
		struct kstr name = string_at(c, flexible);
		decode_partitions(c, flexible, name, a);
		if (flexible)
			rc_skip_tagged_fields(c);
	}
	d->count = a->part_count - d->first;
	d->total_bytes = a->version >= 4 ? rc_int64(c) : -1;
	d->usable_bytes = a->version >= 4 ? rc_int64(c) : -1;
	if (flexible)
		rc_skip_tagged_fields(c);
}

int logdirs_decode(uint8_t *frame, uint32_t len, struct logdirs_answer *a)
{
	bool flexible = a->version >= DESCRIBE_LOG_DIRS_FLEXIBLE;
	struct rcursor c;
	rc_init(&c, frame, len);
	rc_int32(&c);
	if (flexible)
		rc_skip_tagged_fields(&c);
	rc_int32(&c); /* throttle time */
	a->error_code = a->version >= 3 ? rc_int16(&c) : 0;
	int32_t n = array_len(&c, flexible, LOGDIRS_DIRS_MAX, 4);
	a->dirs = calloc(n > 0 ? (size_t)n : 1, sizeof(*a->dirs));
	/* A partition's entry takes at least 21 bytes on the wire. */
	a->part_cap = len / 21 < LOGDIRS_PARTITIONS_MAX ? len / 21 : LOGDIRS_PARTITIONS_MAX;
	a->parts = calloc(a->part_cap + 1, sizeof(*a->parts));
	if (!a->dirs || !a->parts)
		abort();
	for (int32_t i = 0; i < n && !c.err; i++)
		decode_dir(&c, a, &a->dirs[a->dir_count++]);
	if (flexible)
		rc_skip_tagged_fields(&c);
	return c.err ? -1 : 0;
}

/* The exchanges on a connected socket; -1 with err filled. */
static int ask_on(int fd, int64_t deadline_ms, struct logdirs_answer *out, char *err,
		  size_t err_size)
{
	uint8_t *frame = NULL;
	uint32_t len = 0;
	if (exchange(fd, API_VERSIONS_KEY, 0, deadline_ms, &frame, &len) != 0) {
		free(frame);
		snprintf(err, err_size, "no ApiVersions answer in time");
		return -1;
	}
	out->version = logdirs_pick_version(frame, len);
	free(frame);
	frame = NULL;
	if (out->version < 0) {
		snprintf(err, err_size, "UNSUPPORTED_VERSION: DescribeLogDirs (35) versions %d-%d are not served",
			 DESCRIBE_LOG_DIRS_MIN, DESCRIBE_LOG_DIRS_MAX);
		return -1;
	}
	int rc = exchange(fd, DESCRIBE_LOG_DIRS_KEY, out->version, deadline_ms, &frame, &len);
	if (rc == 0 && logdirs_decode(frame, len, out) != 0) {
		snprintf(err, err_size, "malformed DescribeLogDirs v%d answer", out->version);
		rc = -1;
	} else if (rc != 0) {
		snprintf(err, err_size, "no DescribeLogDirs answer in time");
	}
	free(frame);
	return rc;
}

int logdirs_ask(const char *host, int port, int64_t deadline_ms, struct logdirs_answer *out,
		char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	int fd = dial(host, port, deadline_ms, err, err_size);
	if (fd < 0)
		return -1;
	int rc = ask_on(fd, deadline_ms, out, err, err_size);
	close(fd);
	if (rc != 0)
		logdirs_answer_free(out);
	return rc;
}

void logdirs_answer_free(struct logdirs_answer *a)
{
	free(a->dirs);
	free(a->parts);
	a->dirs = NULL;
	a->parts = NULL;
	a->dir_count = a->part_count = 0;
}

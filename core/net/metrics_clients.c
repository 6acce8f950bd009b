/* Connections by client software (KIP-511), see metrics_clients.h. A
 * connection's software_id is 0 before its ApiVersions v3+, k for the
 * shard's software[k - 1], and METRICS_CLIENT_SOFTWARE_MAX + 1 for "other"
 * (the table was full). */
#include "core/net/metrics_clients.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "core/net/counters.h"

enum { METRICS_SOFTWARE_OTHER = METRICS_CLIENT_SOFTWARE_MAX + 1 };

_Static_assert(METRICS_SOFTWARE_OTHER <= UINT8_MAX, "a connection's software id is a uint8_t");

bool metrics_clients_field_valid(struct kstr s)
{
	if (s.len <= 0)
		return false;
	for (int32_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.ptr[i];
		bool edge = i == 0 || i == s.len - 1;
		if (!isalnum(ch) && (edge || (ch != '-' && ch != '.')))
			return false;
	}
	return true;
}

/* Whether the entry holds the pair (as stored: cut at the table's width). */
static bool metrics_clients_same(const struct metrics_client_software *e, struct kstr name,
				 struct kstr version)
{
	size_t nl = (size_t)name.len < METRICS_CLIENT_SOFTWARE_BYTES ? (size_t)name.len
								      : METRICS_CLIENT_SOFTWARE_BYTES;
	size_t vl = (size_t)version.len < METRICS_CLIENT_SOFTWARE_BYTES
			    ? (size_t)version.len
			    : METRICS_CLIENT_SOFTWARE_BYTES;
	return strlen(e->name) == nl && memcmp(e->name, name.ptr, nl) == 0 &&
	       strlen(e->version) == vl && memcmp(e->version, version.ptr, vl) == 0;
}

static void metrics_clients_copy(char *dst, struct kstr s)
{
	size_t n = (size_t)s.len < METRICS_CLIENT_SOFTWARE_BYTES ? (size_t)s.len
								  : METRICS_CLIENT_SOFTWARE_BYTES;
	memcpy(dst, s.ptr, n);
	dst[n] = '\0';
}

/* The id of the pair in the shard's table, adding it while there is room. */
static uint8_t metrics_clients_id(struct shard_metrics *m, struct kstr name, struct kstr version)
{
	uint32_t n = m->software_count;
	for (uint32_t i = 0; i < n; i++)
		if (metrics_clients_same(&m->software[i], name, version))
			return (uint8_t)(i + 1);
	if (n == METRICS_CLIENT_SOFTWARE_MAX)
		return METRICS_SOFTWARE_OTHER;
	metrics_clients_copy(m->software[n].name, name);
	metrics_clients_copy(m->software[n].version, version);
	__atomic_store_n(&m->software_count, n + 1, __ATOMIC_RELEASE);
	return (uint8_t)(n + 1);
}

static uint64_t *metrics_clients_gauge(struct shard_metrics *m, uint8_t id)
{
	return id == METRICS_SOFTWARE_OTHER ? &m->software_other : &m->software[id - 1].connections;
}

void metrics_clients_note(struct shard_metrics *m, uint8_t *software_id, struct rcursor body)
{
	struct kstr name = rc_compact_string(&body);
	struct kstr version = rc_compact_string(&body);
	if (body.err != RC_OK || !metrics_clients_field_valid(name) ||
	    !metrics_clients_field_valid(version))
		return;
	metrics_clients_closed(m, software_id);
	*software_id = metrics_clients_id(m, name, version);
	METRIC_ADD(*metrics_clients_gauge(m, *software_id), 1);
}

void metrics_clients_closed(struct shard_metrics *m, uint8_t *software_id)
{
	if (*software_id == 0)
		return;
	METRIC_ADD(*metrics_clients_gauge(m, *software_id), (uint64_t)-1);
	*software_id = 0;
}

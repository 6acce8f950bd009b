/* A member of a classic group: its id, its protocols, its waiting JoinGroup
 * and SyncGroup, and its place in the group's member lists. The state machine
 * that moves members in and out is group_rebalance.c. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/group/group_internal.h"
#include "core/slog.h"

enum {
	MEMBER_ID_BYTES_MAX = 512,  /* client id prefix + '-' + UUID */
	UUID_TEXT_BYTES = 37,
};

/* Kafka's member ids: the client id (or instance id) + '-' + a random UUID. */
char *member_id_new(struct kstr prefix)
{
	uint8_t u[16];
	if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) {
		slog_error("group", "getrandom: %s", strerror(errno));
		abort();
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	char uuid[UUID_TEXT_BYTES];
	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	int plen = prefix.len > 0 ? prefix.len : 0;
	if (plen > MEMBER_ID_BYTES_MAX - UUID_TEXT_BYTES - 1)
		plen = MEMBER_ID_BYTES_MAX - UUID_TEXT_BYTES - 1;
	char *id = malloc(MEMBER_ID_BYTES_MAX);
	if (id)
		snprintf(id, MEMBER_ID_BYTES_MAX, "%.*s-%s", plen, prefix.ptr ? prefix.ptr : "", uuid);
	return id;
}

bool member_set_protocols(struct group_member *m, const struct group_join_args *a)
{
	struct group_protocol *p = calloc(a->protocol_count, sizeof(*p));
	if (!p)
		return false;
	for (uint32_t i = 0; i < a->protocol_count; i++) {
		const struct group_join_protocol *in = &a->protocols[i];
		p[i].name = kstr_dup(in->name);
		int32_t len = in->metadata.len > 0 ? in->metadata.len : 0;
		p[i].metadata = malloc((size_t)len + 1);
		p[i].metadata_len = len;
		if (!p[i].name || !p[i].metadata) {
			for (uint32_t j = 0; j <= i; j++) {
				free(p[j].name);
				free(p[j].metadata);
			}
			free(p);
			return false;
		}
		if (len)
			memcpy(p[i].metadata, in->metadata.ptr, (size_t)len);
	}
	for (uint32_t i = 0; i < m->protocol_count; i++) {
		free(m->protocols[i].name);
		free(m->protocols[i].metadata);
	}
	free(m->protocols);
	m->protocols = p;
	m->protocol_count = a->protocol_count;
	m->session_timeout_ms = a->session_timeout_ms;
	m->rebalance_timeout_ms = a->rebalance_timeout_ms;
	return true;
}

bool member_protocols_match(const struct group_member *m, const struct group_join_args *a)
{
	if (m->protocol_count != a->protocol_count)
		return false;
	for (uint32_t i = 0; i < a->protocol_count; i++) {
		const struct group_join_protocol *p = &a->protocols[i];
		int32_t len = p->metadata.len > 0 ? p->metadata.len : 0;
		if (!kstr_is(p->name, m->protocols[i].name) || len != m->protocols[i].metadata_len ||
		    (len && memcmp(p->metadata.ptr, m->protocols[i].metadata, (size_t)len) != 0))
			return false;
	}
	return true;
}

const struct group_protocol *member_protocol(const struct group_member *m, const char *name)
{
	for (uint32_t i = 0; name && i < m->protocol_count; i++)
		if (strcmp(m->protocols[i].name, name) == 0)
			return &m->protocols[i];
	return NULL;
}

struct group_member *member_new(struct group *g, char *id, const struct group_join_args *a)
{
	struct group_member *m = calloc(1, sizeof(*m));
	if (!m) {
		free(id);
		return NULL;
	}
	m->group = g;
	m->id = id;
	io_timer_init(&m->session_timer);
	m->instance_id = kstr_dup(a->instance_id);
	m->client_id = kstr_dup(a->client_id.len >= 0 ? a->client_id : kstr_from_cstr(""));
	m->client_host = strdup(a->client_host ? a->client_host : "");
	if ((a->instance_id.len >= 0 && !m->instance_id) || !m->client_id || !m->client_host ||
	    !member_set_protocols(m, a)) {
		group_member_free(m);
		return NULL;
	}
	return m;
}

void join_answer_error(struct group_join_waiter *w, int16_t err, const char *member_id)
{
	struct group_join_result r = { .error = err, .generation = -1, .leader = "",
				       .member_id = member_id ? member_id : "" };
	w->done(w, &r);
}

void sync_answer_error(struct group_sync_waiter *w, int16_t err)
{
	struct group_sync_result r = { .error = err, .assignment = { NULL, 0 } };
	w->done(w, &r);
}

/* Answers the member's waiting JoinGroup and SyncGroup, if any, with err. */
void member_answer_waiters(struct group_member *m, int16_t err)
{
	if (m->join_wait) {
		struct group_join_waiter *w = m->join_wait;
		m->join_wait = NULL;
		join_answer_error(w, err, m->id);
	}
	if (m->sync_wait) {
		struct group_sync_waiter *w = m->sync_wait;
		m->sync_wait = NULL;
		sync_answer_error(w, err);
	}
}

static void list_unlink(struct group_member **head, struct group_member *m)
{
	for (struct group_member **p = head; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			m->next = NULL;
			return;
		}
	}
	assert(!"member not in its list");
}

void list_append(struct group_member **head, struct group_member *m)
{
	struct group_member **p = head;
	while (*p)
		p = &(*p)->next;
	m->next = NULL;
	*p = m;
}

/* Takes a member out without touching the group's state; its waiting
 * requests get `err`. */
void member_remove_raw(struct group *g, struct group_member *m, int16_t err)
{
	io_timer_stop(group_reactor(g), &m->session_timer);
	if (m->pending) {
		list_unlink(&g->pending_members, m);
	} else {
		list_unlink(&g->members, m);
		g->member_count--;
		if (g->leader_id && strcmp(g->leader_id, m->id) == 0) {
			free(g->leader_id);
			g->leader_id = NULL;
		}
	}
	member_answer_waiters(m, err);
	group_member_free(m);
}

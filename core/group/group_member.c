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

/* Kafka's member ids: the client id (or instance id) + '-' + a random UUID;
 * the prefix's bytes are kept as they are, NULs too. */
bool member_id_new(struct kstr prefix, struct kstr *out)
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
	size_t plen = prefix.len > 0 ? (size_t)prefix.len : 0;
	if (plen > MEMBER_ID_BYTES_MAX - UUID_TEXT_BYTES - 1)
		plen = MEMBER_ID_BYTES_MAX - UUID_TEXT_BYTES - 1;
	char id[MEMBER_ID_BYTES_MAX];
	if (plen)
		memcpy(id, prefix.ptr, plen);
	id[plen] = '-';
	memcpy(id + plen + 1, uuid, UUID_TEXT_BYTES - 1);
	return kstr_copy(out, (struct kstr){ id, (int32_t)(plen + UUID_TEXT_BYTES) });
}

bool member_set_protocols(struct group_member *m, const struct group_join_args *a)
{
	struct group_protocol *p = calloc(a->protocol_count, sizeof(*p));
	if (!p)
		return false;
	for (uint32_t i = 0; i < a->protocol_count; i++) {
		const struct group_join_protocol *in = &a->protocols[i];
		int32_t len = in->metadata.len > 0 ? in->metadata.len : 0;
		bool named = kstr_copy(&p[i].name, in->name.len >= 0 ? in->name : kstr_from_cstr(""));
		p[i].metadata = malloc((size_t)len + 1);
		p[i].metadata_len = len;
		if (!named || !p[i].metadata) {
			for (uint32_t j = 0; j <= i; j++) {
				kstr_free(&p[j].name);
				free(p[j].metadata);
			}
			free(p);
			return false;
		}
		if (len)
			memcpy(p[i].metadata, in->metadata.ptr, (size_t)len);
	}
	for (uint32_t i = 0; i < m->protocol_count; i++) {
		kstr_free(&m->protocols[i].name);
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

const struct group_protocol *member_protocol(const struct group_member *m, struct kstr name)
{
	for (uint32_t i = 0; name.len >= 0 && i < m->protocol_count; i++)
		if (kstr_eq(m->protocols[i].name, name))
			return &m->protocols[i];
	return NULL;
}

struct group_member *member_new(struct group *g, struct kstr id, const struct group_join_args *a)
{
	struct group_member *m = calloc(1, sizeof(*m));
	if (!m) {
		kstr_free(&id);
		return NULL;
	}
	m->group = g;
	m->id = id;
	io_timer_init(&m->session_timer);
	bool ok = kstr_copy(&m->instance_id, a->instance_id);
	ok = kstr_copy(&m->client_id, a->client_id.len >= 0 ? a->client_id : kstr_from_cstr("")) && ok;
	ok = kstr_copy(&m->client_host, kstr_from_cstr(a->client_host ? a->client_host : "")) && ok;
	if (!ok || !member_set_protocols(m, a)) {
		group_member_free(m);
		return NULL;
	}
	return m;
}

void join_answer_error(struct group_join_waiter *w, int16_t err, struct kstr member_id)
{
	struct group_join_result r = { .error = err, .generation = -1, .protocol_type = KSTR_NULL,
				       .protocol_name = KSTR_NULL, .leader = kstr_from_cstr(""),
				       .member_id = member_id.len >= 0 ? member_id : kstr_from_cstr("") };
	w->done(w, &r);
}

void sync_answer_error(struct group_sync_waiter *w, int16_t err)
{
	struct group_sync_result r = { .error = err, .protocol_type = KSTR_NULL,
					.protocol_name = KSTR_NULL, .assignment = { NULL, 0 } };
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
		if (kstr_is(g->leader_id, m->id))
			kstr_free(&g->leader_id);
	}
	member_answer_waiters(m, err);
	group_member_free(m);
}

/* Cross-shard posting over per-pair mailboxes; see shard_mail.h. */
#include "core/shard/shard_mail.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/shard/runtime.h"
#include "core/slog.h"
#include "io/mailbox.h"

static struct mailbox *mail_box(struct runtime *rt, uint32_t from, uint32_t to)
{
	return &rt->mailboxes[from * rt->shard_count + to];
}

static void mail_on_messages(struct mailbox *m)
{
	mailbox_drain(m, SHARD_DRAIN_BATCH);
}

static void mail_flush(struct shard_outbox *o)
{
	while (o->head && mailbox_post(o->box, o->head->fn, o->head->arg)) {
		struct shard_outbox_msg *msg = o->head;
		o->head = msg->next;
		if (!o->head)
			o->tail = NULL;
		free(msg);
	}
}

static void mail_on_space(struct mailbox *m)
{
	mail_flush(m->user);
}

int shard_mail_init(struct runtime *rt)
{
	uint32_t n = rt->shard_count;
	rt->mailboxes = calloc((size_t)n * n, sizeof(*rt->mailboxes));
	if (!rt->mailboxes) {
		slog_error("broker", "out of memory for %u x %u mailboxes", n, n);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		rt->shards[i].outbox = calloc(n, sizeof(*rt->shards[i].outbox));
		if (!rt->shards[i].outbox) {
			slog_error("broker", "out of memory for shard %u's outboxes", i);
			return -1;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			struct mailbox *m = mail_box(rt, i, j);
			int rc = mailbox_init(m, rt->shards[i].reactor, rt->shards[j].reactor,
					      SHARD_MAILBOX_SLOTS, MAILBOX_DOORBELL_AUTO,
					      mail_on_messages, mail_on_space);
			if (rc != 0) {
				slog_error("broker", "mailbox from shard %u to %u: %s", i, j, strerror(-rc));
				return -1;
			}
			rt->shards[i].outbox[j].box = m;
			m->user = &rt->shards[i].outbox[j];
		}
	}
	rt->mailboxes_ready = true;
	return 0;
}

void shard_mail_free(struct runtime *rt)
{
	uint32_t n = rt->shard_count;
	for (uint32_t i = 0; rt->mailboxes_ready && i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			if (i != j)
				mailbox_destroy(mail_box(rt, i, j));
	for (uint32_t i = 0; rt->shards && i < n; i++) {
		struct shard_outbox *o = rt->shards[i].outbox;
		for (uint32_t j = 0; o && j < n; j++)
			assert(!o[j].head);
		free(o);
		rt->shards[i].outbox = NULL;
	}
	free(rt->mailboxes);
	rt->mailboxes = NULL;
	rt->mailboxes_ready = false;
}

void shard_mail_attach(struct shard *s)
{
	struct runtime *rt = s->rt;
	for (uint32_t j = 0; j < rt->shard_count; j++) {
		if (j == s->id)
			continue;
		mailbox_attach(&mail_box(rt, j, s->id)->to_consumer);
		mailbox_attach(&mail_box(rt, s->id, j)->to_producer);
	}
}

void shard_mail_detach(struct shard *s)
{
	struct runtime *rt = s->rt;
	for (uint32_t j = 0; j < rt->shard_count; j++) {
		if (j == s->id)
			continue;
		mailbox_detach(&mail_box(rt, j, s->id)->to_consumer);
		mailbox_detach(&mail_box(rt, s->id, j)->to_producer);
	}
}

bool shard_mail_detached(const struct shard *s)
{
	struct runtime *rt = s->rt;
	for (uint32_t j = 0; j < rt->shard_count; j++) {
		if (j == s->id)
			continue;
		if (mailbox_bell_armed(&mail_box(rt, j, s->id)->to_consumer) ||
		    mailbox_bell_armed(&mail_box(rt, s->id, j)->to_producer))
			return false;
	}
	return true;
}

void shard_post(struct shard *from, uint32_t to, void (*fn)(void *arg), void *arg)
{
	assert(to != from->id && to < from->rt->shard_count);
	struct shard_outbox *o = &from->outbox[to];
	if (!o->head && mailbox_post(o->box, fn, arg))
		return;
	struct shard_outbox_msg *msg = malloc(sizeof(*msg));
	if (!msg) {
		/* The message carries a request's life: losing it would hang a
		 * connection, so running out here is fatal. */
		slog_error("shard", "out of memory queueing a message to shard %u", to);
		abort();
	}
	*msg = (struct shard_outbox_msg){ .fn = fn, .arg = arg };
	if (o->tail)
		o->tail->next = msg;
	else
		o->head = msg;
	o->tail = msg;
	mail_flush(o);
}

bool shard_mail_drain(struct shard *s)
{
	struct runtime *rt = s->rt;
	bool more = false;
	for (uint32_t j = 0; j < rt->shard_count; j++) {
		if (j == s->id)
			continue;
		struct mailbox *m = mail_box(rt, j, s->id);
		if (mailbox_pending(m))
			mailbox_drain(m, SHARD_DRAIN_BATCH);
		more |= mailbox_pending(m) > 0;
		mail_flush(&s->outbox[j]);
	}
	return more;
}

bool shard_mail_sent(const struct shard *s)
{
	for (uint32_t j = 0; j < s->rt->shard_count; j++)
		if (j != s->id && s->outbox[j].head)
			return false;
	return true;
}

/* Messages between shards: each ordered pair of shards has one mailbox
 * (io/mailbox.h); a post that finds it full waits in the sender's outbox, in
 * order, and leaves when the receiver makes room. Senders and receivers are
 * always the shards' own threads. */
#ifndef SLUICE_CORE_SHARD_SHARD_MAIL_H
#define SLUICE_CORE_SHARD_SHARD_MAIL_H

#include <stdbool.h>
#include <stdint.h>

struct runtime;
struct shard;
struct mailbox;

enum {
	SHARD_MAILBOX_SLOTS = 4096,   /* messages in flight from one shard to another */
	SHARD_DRAIN_BATCH = 1024,     /* messages run per mailbox per loop turn */
};

struct shard_outbox_msg {
	struct shard_outbox_msg *next;
	void (*fn)(void *arg);
	void *arg;
};

/* The sender's side of one destination. */
struct shard_outbox {
	struct mailbox *box;
	struct shard_outbox_msg *head;
	struct shard_outbox_msg *tail;
};

/* Creates every mailbox (after the reactors exist, before threads run).
 * Returns 0 or -1 after logging why. */
int shard_mail_init(struct runtime *rt);
void shard_mail_free(struct runtime *rt);
/* On the shard's own thread, first and last. */
void shard_mail_attach(struct shard *s);
void shard_mail_detach(struct shard *s);
bool shard_mail_detached(const struct shard *s);

/* Runs fn(arg) on shard `to`'s thread, in the order posted from this shard. */
void shard_post(struct shard *from, uint32_t to, void (*fn)(void *arg), void *arg);
/* Runs what has arrived (a bounded batch per sender); true if more waits. */
bool shard_mail_drain(struct shard *s);
/* True when nothing of this shard's waits in an outbox. */
bool shard_mail_sent(const struct shard *s);

#endif

/* A network shard's request-byte budget and its paused connections (see
 * budget.h). */
#include "core/net/budget.h"

#include <assert.h>

#include "core/net/conn.h"

void budget_charge(struct shard *s, uint64_t n)
{
	conn_shard_of(s)->request_bytes_in_flight += n;
}

bool budget_exceeded(const struct shard *s)
{
	const struct conn_shard *n = conn_shard_of(s);
	return n->request_bytes_in_flight > n->request_bytes_max;
}

void budget_pause(struct shard *s, struct conn *c)
{
	if (c->paused)
		return;
	struct conn_shard *n = conn_shard_of(s);
	c->paused = true;
	METRIC_ADD(n->metrics.receive_pauses, 1);
	c->paused_next = n->paused_head;
	n->paused_head = c;
}

void budget_release(struct shard *s, uint64_t bytes)
{
	struct conn_shard *n = conn_shard_of(s);
	assert(n->request_bytes_in_flight >= bytes);
	n->request_bytes_in_flight -= bytes;
	if ((budget_exceeded(s) && !conn_budget_needs_a_finisher(s)) || !n->paused_head)
		return;
	/* Detach first: a connection still at its own request limit pauses
	 * itself again onto the fresh list. */
	struct conn *list = n->paused_head;
	n->paused_head = NULL;
	while (list) {
		struct conn *c = list;
		list = c->paused_next;
		c->paused_next = NULL;
		conn_resume(c);
	}
}

/* queued.max.request.bytes: each network shard's share of it is a budget of
 * request bytes received and not yet freed. A connection that would take the
 * shard over it pauses its receives; paused connections resume once the
 * shard is back under it (conn.c lets one frame finish when only frames
 * still arriving hold the budget). */
#ifndef SLUICE_CORE_NET_BUDGET_H
#define SLUICE_CORE_NET_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct shard;

void budget_charge(struct shard *s, uint64_t n);
/* Gives n bytes back; resumes the paused connections when under budget. */
void budget_release(struct shard *s, uint64_t n);
bool budget_exceeded(const struct shard *s);
void budget_pause(struct shard *s, struct conn *c);

#endif

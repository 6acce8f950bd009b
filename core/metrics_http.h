/* The Prometheus endpoint (`sluice.metrics.port`): GET /metrics over plain
 * HTTP/1.0 on the listener's host, served by one shard's reactor. */
#ifndef SLUICE_CORE_METRICS_HTTP_H
#define SLUICE_CORE_METRICS_HTTP_H

#include <stddef.h>

struct broker;
struct shard;

int metrics_http_start(struct broker *b, struct shard *s, char *err, size_t errlen);
/* Stops accepting (from the shard's loop, before it drains its ring). */
void metrics_http_stop(struct broker *b);
/* Releases the endpoint once the ring is drained. */
void metrics_http_free(struct broker *b);

#endif

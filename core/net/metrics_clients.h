/* KIP-511's connection counts by client software: what ApiVersions v3+ names
 * (client_software_name, client_software_version), tallied per shard in a
 * bounded table (counters.h) that the metrics endpoint reads. */
#ifndef SLUICE_CORE_NET_METRICS_CLIENTS_H
#define SLUICE_CORE_NET_METRICS_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/cursor.h"

struct shard_metrics;

/* Kafka's rule for client_software_name and client_software_version:
 * [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? (ApiVersions answers
 * INVALID_REQUEST otherwise). */
bool metrics_clients_field_valid(struct kstr s);

/* On the connection's shard, with that shard's metrics and the connection's
 * software id (0: none yet): `body` is an ApiVersions v3+ request body. The
 * connection counts under the (name, version) it names from now on (a
 * second ApiVersions moves it); a body that does not decode, or names
 * strings Kafka would refuse, changes nothing (the handler answers it). */
void metrics_clients_note(struct shard_metrics *m, uint8_t *software_id, struct rcursor body);
/* The connection closes: it no longer counts. */
void metrics_clients_closed(struct shard_metrics *m, uint8_t *software_id);

#endif

/* The name of every Kafka API key the protocol defines (served by sluice or
 * not), for messages that name a request by its API. */
#ifndef SLUICE_PROTO_API_NAMES_H
#define SLUICE_PROTO_API_NAMES_H

#include <stdint.h>

/* Kafka's name for the API key ("CreatePartitions" for 37), or "unknown API
 * key" for a key the protocol does not define. */
const char *proto_api_name(int16_t key);

#endif

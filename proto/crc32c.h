/* CRC32C (Castagnoli), as Kafka's record batch v2 uses it. */
#ifndef SLUICE_PROTO_CRC32C_H
#define SLUICE_PROTO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* isa-l's accelerated implementation. crc32c(0, p, n) is the batch CRC. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* A plain table-driven software version, for tests and benchmarks. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif

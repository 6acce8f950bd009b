/* CRC32C: isa-l's accelerated version for the data path, a table-driven one
 * for tests and benchmarks. */
#include "proto/crc32c.h"

#include <isa-l/crc.h>

enum { CRC32C_POLY_REFLECTED = 0x82F63B78u };

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* isa-l takes and returns the register without the final inversions. */
	return ~crc32_iscsi((unsigned char *)buf, (int)len, ~crc);
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
			table[i] = c;
		}
	}
	const uint8_t *p = buf;
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

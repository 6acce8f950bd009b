// Builds valid uncompressed record batches for the benchmarks.
#ifndef SLUICE_BENCH_BATCH_FIXTURE_H
#define SLUICE_BENCH_BATCH_FIXTURE_H

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "proto/crc32c.h"
#include "proto/cursor.h"
#include "proto/record_batch.h"
}

// A batch of `count` records with `value_bytes`-byte values and no keys.
static inline void bench_varint(std::vector<uint8_t> &out, int64_t v)
{
	uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
	do {
		uint8_t byte = u & 0x7f;
		u >>= 7;
		out.push_back(byte | (u ? 0x80 : 0));
	} while (u);
}

inline std::vector<uint8_t> bench_batch(int count, int value_bytes)
{
	std::vector<uint8_t> b(RECORD_BATCH_HEADER_BYTES);
	for (int i = 0; i < count; i++) {
		std::vector<uint8_t> rec;
		rec.push_back(0);
		bench_varint(rec, i);
		bench_varint(rec, i);
		bench_varint(rec, -1);
		bench_varint(rec, value_bytes);
		rec.insert(rec.end(), static_cast<size_t>(value_bytes), 'v');
		bench_varint(rec, 0);
		bench_varint(b, static_cast<int64_t>(rec.size()));
		b.insert(b.end(), rec.begin(), rec.end());
	}
	be_store(b.data() + 8, b.size() - 12, 4);
	b[16] = 2;
	be_store(b.data() + 23, static_cast<uint32_t>(count - 1), 4);
	be_store(b.data() + 57, static_cast<uint32_t>(count), 4);
	be_store(b.data() + 17, crc32c(0, b.data() + 21, b.size() - 21), 4);
	return b;
}

#endif

// CRC32C: isa-l's accelerated version against the table-driven one.
#include <benchmark/benchmark.h>

#include <vector>

extern "C" {
#include "proto/crc32c.h"
}

static void BM_crc32c_isal(benchmark::State &state)
{
	std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5a);
	for (auto _ : state)
		benchmark::DoNotOptimize(crc32c(0, buf.data(), buf.size()));
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

static void BM_crc32c_table(benchmark::State &state)
{
	std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5a);
	for (auto _ : state)
		benchmark::DoNotOptimize(crc32c_sw(0, buf.data(), buf.size()));
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK(BM_crc32c_isal)->Arg(64)->Arg(1024)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_crc32c_table)->Arg(64)->Arg(1024)->Arg(64 << 10)->Arg(1 << 20);

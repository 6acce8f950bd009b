// The partition log: appends through the reactor (page cache), the offset
// index lookup alone, and fetch planning (segment search, offset index lookup,
// header scan) at random offsets of a populated log.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "batch_fixture.h"

extern "C" {
#include "core/log/offset_index.h"
#include "core/log/partition_log.h"
}

namespace {

struct bench_log {
	char dir[64];
	struct reactor *reactor = nullptr;
	struct partition_log *log = nullptr;
	struct log_config cfg = { 64u << 20, UINT64_MAX / 2, 4096, 10u << 20 };
	int pending = 0;

	bench_log()
	{
		snprintf(dir, sizeof(dir), "/tmp/sluice-bench-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		struct reactor_config rc = { 256, 16 };
		char err[256];
		reactor = reactor_create(&rc, err, sizeof(err));
		std::string part = std::string(dir) + "/b-0";
		struct log_open_params p = {};
		p.dir = part.c_str();
		p.clean_shutdown = true;
		p.cfg = &cfg;
		p.reactor = reactor;
		if (!reactor || partition_log_open(&p, &log, err, sizeof(err)) != 0)
			abort();
	}

	~bench_log()
	{
		/* A roll's flush may still be in flight. */
		while (partition_log_ops_in_flight(log) > 0)
			reactor_run_once(reactor, 1000000000ull);
		partition_log_delete(log);
		reactor_destroy(reactor);
		std::string cmd = std::string("rm -rf ") + dir;
		if (system(cmd.c_str()) != 0)
			abort();
	}
};

struct bench_append {
	struct log_append a;
	bench_log *owner;
};

void bench_on_append(struct log_append *a, int16_t err)
{
	auto *ba = reinterpret_cast<bench_append *>(a);
	if (err)
		abort();
	ba->owner->pending--;
}

// Appends n copies of batch (offsets rewritten each time) and waits.
void bench_append_n(bench_log &l, std::vector<uint8_t> &batch, std::vector<bench_append> &slots)
{
	struct record_batch_header h;
	record_batch_header_read(batch.data(), &h);
	for (auto &s : slots) {
		s.owner = &l;
		s.a.done = bench_on_append;
		s.a.log_append_time = -1;
		l.pending++;
		if (partition_log_append(l.log, batch.data(), batch.size(), &h, &s.a) != 0)
			abort();
	}
	while (l.pending > 0)
		reactor_run_once(l.reactor, 1000000);
}

}  // namespace

static void BM_segment_append(benchmark::State &state)
{
	bench_log l;
	std::vector<uint8_t> batch = bench_batch(16, static_cast<int>(state.range(0)) / 16);
	std::vector<bench_append> slots(64);
	for (auto _ : state)
		bench_append_n(l, batch, slots);
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * slots.size() * batch.size()));
}

static void BM_fetch_plan(benchmark::State &state)
{
	bench_log l;
	std::vector<uint8_t> batch = bench_batch(10, 400);
	std::vector<bench_append> slots(1000);
	bench_append_n(l, batch, slots);
	int64_t end = partition_log_high_watermark(l.log);
	uint64_t x = 88172645463325252ull;
	for (auto _ : state) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		struct log_read rd;
		benchmark::DoNotOptimize(partition_log_read(l.log, static_cast<int64_t>(x % static_cast<uint64_t>(end)),
							    static_cast<uint32_t>(state.range(0)), true, &rd));
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// The binary search alone, over an index of n entries (a full 10 MiB index
// holds 1.3M), at random offsets.
static void BM_offset_index_lookup(benchmark::State &state)
{
	std::vector<struct offset_entry> idx(static_cast<size_t>(state.range(0)));
	for (size_t i = 0; i < idx.size(); i++)
		idx[i] = { static_cast<int32_t>(i * 10 + 9), static_cast<uint32_t>(i * 4096) };
	int64_t span = static_cast<int64_t>(idx.size()) * 10;
	uint64_t x = 88172645463325252ull;
	for (auto _ : state) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		benchmark::DoNotOptimize(offset_index_find(idx.data(), static_cast<uint32_t>(idx.size()),
							   static_cast<int64_t>(x % static_cast<uint64_t>(span))));
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_offset_index_lookup)->Arg(1 << 10)->Arg(1 << 20);
BENCHMARK(BM_segment_append)->Arg(16 << 10)->Arg(256 << 10)->UseRealTime();
BENCHMARK(BM_fetch_plan)->Arg(4 << 10)->Arg(1 << 20);

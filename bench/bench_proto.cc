// Wire hot paths: varint decoding, record batch validation, and decoding of
// Produce and Fetch requests as clients send them.
#include <benchmark/benchmark.h>

#include <vector>

#include "batch_fixture.h"

extern "C" {
#include "proto/arena.h"
#include "proto/messages.h"
}

static void BM_varint_decode(benchmark::State &state)
{
	std::vector<uint8_t> buf;
	for (int i = 0; i < 4096; i++) {
		uint64_t u = static_cast<uint64_t>(i * 2654435761u % (1u << (i % 28)));
		do {
			uint8_t byte = u & 0x7f;
			u >>= 7;
			buf.push_back(byte | (u ? 0x80 : 0));
		} while (u);
	}
	for (auto _ : state) {
		struct rcursor c;
		rc_init(&c, buf.data(), buf.size());
		int64_t sum = 0;
		while (rc_left(&c) > 0)
			sum += rc_varint(&c);
		benchmark::DoNotOptimize(sum);
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}

static void BM_record_batch_validate(benchmark::State &state)
{
	int value_bytes = 1024;
	int count = static_cast<int>(state.range(0) / (value_bytes + 8));
	std::vector<uint8_t> batch = bench_batch(count, value_bytes);
	struct batch_limits lim = { 1u << 30 };
	for (auto _ : state) {
		struct batch_verdict v;
		record_batch_validate(batch.data(), batch.size(), &lim, &v);
		benchmark::DoNotOptimize(v.error_code);
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}

// A Produce v9 (flexible) request for `partitions` partitions of one topic,
// encoded with our own generated encoder, then decoded in the loop.
static void BM_produce_request_decode(benchmark::State &state)
{
	int partitions = static_cast<int>(state.range(0));
	std::vector<uint8_t> batch = bench_batch(16, 100);
	std::vector<produce_request_partition_produce_data> parts(static_cast<size_t>(partitions));
	for (int i = 0; i < partitions; i++) {
		produce_request_partition_produce_data_init(&parts[static_cast<size_t>(i)]);
		parts[static_cast<size_t>(i)].index = i;
		parts[static_cast<size_t>(i)].records.mem = batch.data();
		parts[static_cast<size_t>(i)].records.len = static_cast<int32_t>(batch.size());
	}
	produce_request_topic_produce_data topic;
	produce_request_topic_produce_data_init(&topic);
	topic.name = kstr_from_cstr("bench");
	topic.partition_data = parts.data();
	topic.partition_data_count = partitions;
	produce_request q;
	produce_request_init(&q);
	q.acks = -1;
	q.topic_data = &topic;
	q.topic_data_count = 1;
	std::vector<uint8_t> wire(produce_request_size(&q, 9));
	struct wcursor w;
	wc_init(&w, wire.data(), wire.size(), nullptr, 0);
	produce_request_encode(&w, 9, &q);
	for (auto _ : state) {
		struct arena a;
		arena_init(&a, 1 << 24);
		struct rcursor c;
		rc_init(&c, wire.data(), wire.size());
		produce_request out;
		benchmark::DoNotOptimize(produce_request_decode(&c, 9, &a, &out));
		arena_release(&a);
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * partitions);
}

static void BM_fetch_request_decode(benchmark::State &state)
{
	int partitions = static_cast<int>(state.range(0));
	std::vector<fetch_request_fetch_partition> parts(static_cast<size_t>(partitions));
	for (int i = 0; i < partitions; i++) {
		fetch_request_fetch_partition_init(&parts[static_cast<size_t>(i)]);
		parts[static_cast<size_t>(i)].partition = i;
		parts[static_cast<size_t>(i)].fetch_offset = 1000000 + i;
		parts[static_cast<size_t>(i)].partition_max_bytes = 1 << 20;
	}
	fetch_request_fetch_topic topic;
	fetch_request_fetch_topic_init(&topic);
	topic.topic_id.b[0] = 1;
	topic.partitions = parts.data();
	topic.partitions_count = partitions;
	fetch_request q;
	fetch_request_init(&q);
	q.topics = &topic;
	q.topics_count = 1;
	std::vector<uint8_t> wire(fetch_request_size(&q, 13));
	struct wcursor w;
	wc_init(&w, wire.data(), wire.size(), nullptr, 0);
	fetch_request_encode(&w, 13, &q);
	for (auto _ : state) {
		struct arena a;
		arena_init(&a, 1 << 24);
		struct rcursor c;
		rc_init(&c, wire.data(), wire.size());
		fetch_request out;
		benchmark::DoNotOptimize(fetch_request_decode(&c, 13, &a, &out));
		arena_release(&a);
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * partitions);
}

BENCHMARK(BM_varint_decode);
BENCHMARK(BM_record_batch_validate)->Arg(16 << 10)->Arg(1 << 20);
BENCHMARK(BM_produce_request_decode)->Arg(1)->Arg(100);
BENCHMARK(BM_fetch_request_decode)->Arg(1)->Arg(100);

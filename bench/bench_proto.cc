// Wire hot paths: varint decoding, record batch validation (plain, and
// compressed with each codec against the codec's plain one-shot
// decompression), and decoding of Produce and Fetch requests as clients send
// them.
#include <benchmark/benchmark.h>

#include <map>
#include <utility>
#include <vector>

#include "batch_fixture.h"

extern "C" {
#include "proto/arena.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"
#include "tests/proto/batch_make.h"
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
	struct batch_limits lim = { 1u << 30, 64u << 20 };
	for (auto _ : state) {
		struct batch_verdict v;
		record_batch_validate(batch.data(), batch.size(), &lim, &v);
		benchmark::DoNotOptimize(v.error_code);
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}

// `count` 1 KiB records (1000: about 1 MiB, as a client batches them under
// load; 16: a batch of a lightly loaded producer) whose values are text of a
// few hundred words, compressing 3-5x as log lines and JSON do.
static const struct bytes_buf &bench_text_records(int count)
{
	static std::map<int, struct bytes_buf> cache;
	struct bytes_buf &recs = cache[count];
	if (recs.n)
		return recs;
	static const char *const words[] = {
		"order", "user", "id", "status", "shipped", "pending", "\"amount\":", "eur",
		"2026-12-01T07:", "warehouse", "sku", "{\"event\":", "click", "session", "cart",
		"true", "false", "null", "region", "eu-west", "latency_ms", "retry",
	};
	uint32_t seed = 12345;
	std::vector<uint8_t> value;
	for (int i = 0; i < count; i++) {
		value.clear();
		while (value.size() < 1024) {
			seed = seed * 1103515245u + 12345u;
			const char *w = words[(seed >> 16) % (sizeof(words) / sizeof(words[0]))];
			value.insert(value.end(), w, w + strlen(w));
			value.push_back(static_cast<uint8_t>('0' + (seed >> 8) % 10));
			value.push_back(' ');
		}
		value.resize(1024);
		bb_record_value(&recs, i, i, value.data(), value.size());
	}
	return recs;
}

static const struct bytes_buf &bench_compressed_batch(int codec, int count)
{
	static std::map<std::pair<int, int>, struct bytes_buf> cache;
	struct bytes_buf &b = cache[{ codec, count }];
	if (!b.n)
		b = batch_make(codec, &bench_text_records(count), count);
	return b;
}

static const char *bench_codec_name(int codec)
{
	static const char *const names[] = { "none", "gzip", "snappy", "lz4", "zstd", "snappy-xerial" };
	return names[codec];
}

// Validates b in the benchmark's loop, which fails unless every verdict is
// `expected`.
static void bench_validate_loop(benchmark::State &state, const struct bytes_buf &b,
				size_t inflated_max, int16_t expected)
{
	struct batch_limits lim = { 1u << 30, inflated_max };
	for (auto _ : state) {
		struct batch_verdict v;
		record_batch_validate(b.b, b.n, &lim, &v);
		if (v.error_code != expected)
			state.SkipWithError(v.reason ? v.reason : "accepted");
		benchmark::DoNotOptimize(v.error_code);
	}
}

// Produce's validation of a compressed batch: streaming inflate through the
// walk's window, every inner record checked. Bytes are inflated bytes.
static void BM_batch_validate_compressed(benchmark::State &state)
{
	int codec = static_cast<int>(state.range(0));
	int count = static_cast<int>(state.range(1));
	const struct bytes_buf &b = bench_compressed_batch(codec, count);
	size_t inflated = bench_text_records(count).n;
	bench_validate_loop(state, b, 64u << 20, KERR_NONE);
	state.SetLabel(bench_codec_name(codec));
	state.counters["ratio"] = static_cast<double>(inflated) / static_cast<double>(b.n);
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * inflated));
}

// The floor: the codec's own one-shot decompression of the same payload into
// a buffer of the whole inflated size, no record walk.
static void BM_batch_decompress_plain(benchmark::State &state)
{
	int codec = static_cast<int>(state.range(0));
	int count = static_cast<int>(state.range(1));
	const struct bytes_buf &b = bench_compressed_batch(codec, count);
	const uint8_t *in = b.b + RECORD_BATCH_HEADER_BYTES;
	size_t in_len = b.n - RECORD_BATCH_HEADER_BYTES;
	size_t inflated = bench_text_records(count).n;
	std::vector<uint8_t> out(inflated);
	ZSTD_DCtx *zd = ZSTD_createDCtx();
	LZ4F_dctx *ld = nullptr;
	LZ4F_createDecompressionContext(&ld, LZ4F_VERSION);
	for (auto _ : state) {
		size_t got = out.size();
		if (codec == CODEC_ZSTD) {
			got = ZSTD_decompressDCtx(zd, out.data(), out.size(), in, in_len);
		} else if (codec == CODEC_LZ4) {
			size_t src = in_len;
			LZ4F_decompress(ld, out.data(), &got, in, &src, nullptr);
		} else if (codec == CODEC_GZIP) {
			z_stream z;
			memset(&z, 0, sizeof(z));
			inflateInit2(&z, 16 + MAX_WBITS);
			z.next_in = const_cast<Bytef *>(in);
			z.avail_in = static_cast<uInt>(in_len);
			z.next_out = out.data();
			z.avail_out = static_cast<uInt>(out.size());
			inflate(&z, Z_FINISH);
			got = z.total_out;
			inflateEnd(&z);
		} else {
			snappy_uncompress(reinterpret_cast<const char *>(in), in_len,
					  reinterpret_cast<char *>(out.data()), &got);
		}
		if (got != inflated)
			state.SkipWithError("short decompression");
		benchmark::DoNotOptimize(out.data());
	}
	ZSTD_freeDCtx(zd);
	LZ4F_freeDecompressionContext(ld);
	state.SetLabel(bench_codec_name(codec));
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * inflated));
}

// A decompression bomb just past the default bound (one record of 64 MiB + 1
// zero bytes): what refusing it costs the shard's loop. Bytes are the
// inflated bytes inspected before the refusal.
static void BM_batch_validate_bomb(benchmark::State &state)
{
	int codec = static_cast<int>(state.range(0));
	static struct bytes_buf bombs[TEST_CODECS];
	const size_t bound = 64u << 20;
	if (!bombs[codec].n) {
		struct bytes_buf recs = { 0 };
		bb_record(&recs, 0, 0, bound + 1);
		bombs[codec] = batch_make(codec, &recs, 1);
		bb_free(&recs);
	}
	const struct bytes_buf &b = bombs[codec];
	bench_validate_loop(state, b, bound, KERR_MESSAGE_TOO_LARGE);
	state.SetLabel(bench_codec_name(codec));
	state.counters["bomb_bytes"] = static_cast<double>(b.n);
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bound));
}

// The most records per inflated byte: 2^20 empty records (null key and
// value, no headers) in one batch, plain and with each codec. Items are
// records walked; the other bound on a batch's cost, after inflated bytes.
static void BM_batch_validate_tiny_records(benchmark::State &state)
{
	int codec = static_cast<int>(state.range(0));
	const int32_t count = 1 << 20;
	static struct bytes_buf batches[TEST_CODECS];
	if (!batches[codec].n) {
		struct bytes_buf recs = { 0 };
		for (int32_t i = 0; i < count; i++) {
			uint8_t body[16] = { 0 };
			struct bytes_buf rec = { body, 1, sizeof(body) }; /* attributes 0 */
			bb_varint(&rec, 0);
			bb_varint(&rec, i);
			bb_varint(&rec, -1);
			bb_varint(&rec, -1);
			bb_varint(&rec, 0);
			bb_varint(&recs, static_cast<int64_t>(rec.n));
			bb_put(&recs, rec.b, rec.n);
		}
		batches[codec] = batch_make(codec, &recs, count);
		bb_free(&recs);
	}
	const struct bytes_buf &b = batches[codec];
	bench_validate_loop(state, b, 64u << 20, KERR_NONE);
	state.SetLabel(bench_codec_name(codec));
	state.counters["batch_bytes"] = static_cast<double>(b.n);
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * count);
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
BENCHMARK(BM_batch_validate_compressed)
	->ArgsProduct({ { CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD, TEST_SNAPPY_XERIAL }, { 16, 1000 } });
BENCHMARK(BM_batch_decompress_plain)->ArgsProduct({ benchmark::CreateDenseRange(CODEC_GZIP, CODEC_ZSTD, 1), { 16, 1000 } });
BENCHMARK(BM_batch_validate_bomb)->DenseRange(CODEC_GZIP, CODEC_ZSTD)->Arg(TEST_SNAPPY_XERIAL)
	->Unit(benchmark::kMillisecond);
BENCHMARK(BM_batch_validate_tiny_records)->DenseRange(CODEC_NONE, CODEC_ZSTD)
	->Unit(benchmark::kMillisecond);
BENCHMARK(BM_produce_request_decode)->Arg(1)->Arg(100);
BENCHMARK(BM_fetch_request_decode)->Arg(1)->Arg(100);

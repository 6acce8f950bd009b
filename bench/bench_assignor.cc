// The consumer-group assignors (core/group/assignor.h) on a group of 1,000
// members over 100 topics of 100 partitions (Kafka's
// ServerSideAssignorBenchmark's shape): a first assignment, and an
// incremental one (the previous target given back, one member more), for
// uniform homogeneous, uniform heterogeneous (three topics a member) and range.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" {
#include "core/group/assignor.h"
#include "proto/kafka_errors.h"
}

namespace {

constexpr int kMembers = 1000;
constexpr int kTopics = 100;
constexpr int kPartitionsPerTopic = 100;
constexpr int kHeterogeneousTopicsPerMember = 3;

struct kuuid topic_uuid(int n)
{
	struct kuuid u = {};
	u.b[0] = static_cast<uint8_t>(n * 37);
	u.b[15] = static_cast<uint8_t>(n);
	return u;
}

struct bench_group {
	std::vector<std::string> ids;
	std::vector<std::vector<struct kuuid>> subs;
	std::vector<std::vector<struct assignor_topic_partitions>> current;
	std::vector<std::vector<int32_t>> current_partitions;
	std::vector<struct assignor_member> members;
	std::vector<struct assignor_topic> topics;
	enum assignor_subscription subscription;

	bench_group(int member_count, bool heterogeneous)
	{
		subscription = heterogeneous ? ASSIGNOR_HETEROGENEOUS : ASSIGNOR_HOMOGENEOUS;
		for (int t = 0; t < kTopics; t++)
			topics.push_back({ topic_uuid(t), kPartitionsPerTopic });
		ids.resize(member_count);
		subs.resize(member_count);
		current.resize(member_count);
		current_partitions.resize(member_count);
		for (int i = 0; i < member_count; i++) {
			char name[32];
			snprintf(name, sizeof(name), "consumer-%05d", i);
			ids[i] = name;
			for (int t = 0; t < (heterogeneous ? kHeterogeneousTopicsPerMember : kTopics); t++)
				subs[i].push_back(topic_uuid(heterogeneous ? (i + 31 * t) % kTopics : t));
		}
	}

	struct assignor_spec spec()
	{
		members.clear();
		for (size_t i = 0; i < ids.size(); i++) {
			struct assignor_member m = {};
			m.member_id = { ids[i].data(), static_cast<int32_t>(ids[i].size()) };
			m.instance_id = { nullptr, -1 };
			m.topic_ids = subs[i].data();
			m.topic_count = static_cast<int32_t>(subs[i].size());
			m.current = current[i].data();
			m.current_count = static_cast<int32_t>(current[i].size());
			members.push_back(m);
		}
		return { subscription, members.data(), static_cast<int32_t>(members.size()), topics.data(),
			 static_cast<int32_t>(topics.size()) };
	}

	// The result becomes the current target assignment of the first members.
	void adopt(const struct assignor_result &r)
	{
		for (int32_t i = 0; i < r.member_count; i++) {
			const struct assignor_member_result &m = r.members[i];
			current_partitions[i].assign(m.partition_count, 0);
			current[i].clear();
			int32_t at = 0;
			for (int32_t k = 0; k < m.topic_count; k++) {
				const struct assignor_partitions &e = m.topics[k];
				std::copy(e.partitions, e.partitions + e.partition_count, current_partitions[i].begin() + at);
				current[i].push_back({ e.topic_id, current_partitions[i].data() + at, e.partition_count });
				at += e.partition_count;
			}
		}
	}
};

void run_assignor(benchmark::State &state, enum assignor_kind kind, bool heterogeneous, bool incremental)
{
	bench_group group(kMembers + (incremental ? 1 : 0), heterogeneous);
	char err[256];
	if (incremental) {
		bench_group before(kMembers, heterogeneous);
		struct assignor_spec spec = before.spec();
		struct assignor_result r;
		if (assignor_assign(kind, &spec, &r, err, sizeof(err)) != KERR_NONE)
			state.SkipWithError(err);
		group.adopt(r);
		assignor_result_free(&r);
	}
	struct assignor_spec spec = group.spec();
	for (auto _ : state) {
		struct assignor_result r;
		if (assignor_assign(kind, &spec, &r, err, sizeof(err)) != KERR_NONE)
			state.SkipWithError(err);
		benchmark::DoNotOptimize(r.members);
		assignor_result_free(&r);
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kTopics * kPartitionsPerTopic);
}

void BM_assign_uniform_homogeneous(benchmark::State &state)
{
	run_assignor(state, ASSIGNOR_UNIFORM, false, state.range(0) != 0);
}

void BM_assign_uniform_heterogeneous(benchmark::State &state)
{
	run_assignor(state, ASSIGNOR_UNIFORM, true, state.range(0) != 0);
}

void BM_assign_range(benchmark::State &state)
{
	run_assignor(state, ASSIGNOR_RANGE, false, state.range(0) != 0);
}

}  // namespace

// Arg 0: first assignment; 1: incremental (one member joins).
BENCHMARK(BM_assign_uniform_homogeneous)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_assign_uniform_heterogeneous)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_assign_range)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

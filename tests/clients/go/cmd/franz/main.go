// The franz-go (+ kadm) driver of tests/integration/test_modern_clients.py:
// one scenario per run (produce CODEC, group GROUP, times, admin, ops,
// produce_default), one JSON line of results on stdout.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"sluice.test/clients/internal/scenario"
)

var codecs = map[string]kgo.CompressionCodec{
	"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
	"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
}

// served: whether the pinned release (SLUICE_FRANZ_MAX_VERSIONS, if any)
// has API key k at all; a call to an API a release lacks would fail in the
// client before reaching the broker.
func served(k int16) bool {
	release := os.Getenv("SLUICE_FRANZ_MAX_VERSIONS")
	if release == "" {
		return true
	}
	_, ok := kversion.FromString(release).LookupMaxKeyVersion(k)
	return ok
}

// client: SLUICE_FRANZ_MAX_VERSIONS (a Kafka release, "v2.4") caps every
// request at the versions that release knows, as for a cluster of that age.
func client(a scenario.Args, opts ...kgo.Opt) *kgo.Client {
	base := []kgo.Opt{kgo.SeedBrokers(a.Brokers()...)}
	if release := os.Getenv("SLUICE_FRANZ_MAX_VERSIONS"); release != "" {
		versions := kversion.FromString(release)
		if versions == nil {
			scenario.Fail(fmt.Errorf("unknown Kafka release %q", release))
		}
		base = append(base, kgo.MaxVersions(versions))
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	scenario.Check("new client", err)
	return cl
}

func deadline(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	time.AfterFunc(d, cancel)
	return ctx
}

func produce(a scenario.Args) {
	codec, ok := codecs[a.Arg]
	if !ok {
		scenario.Fail(fmt.Errorf("unknown codec %q", a.Arg))
	}
	for _, acks := range []int{0, 1, -1} {
		ack := map[int]kgo.Acks{0: kgo.NoAck(), 1: kgo.LeaderAck(), -1: kgo.AllISRAcks()}[acks]
		cl := client(a, kgo.RequiredAcks(ack), kgo.DisableIdempotentWrite(),
			kgo.ProducerBatchCompression(codec), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		var recs []*kgo.Record
		for _, m := range scenario.ProduceSet(acks) {
			recs = append(recs, &kgo.Record{Topic: a.Topic, Partition: m.Partition, Key: []byte(m.Key),
				Value: []byte(m.Value), Headers: []kgo.RecordHeader{{Key: m.HeaderKey, Value: []byte(m.HeaderValue)}}})
		}
		scenario.Check(fmt.Sprintf("produce acks=%d", acks), cl.ProduceSync(deadline(30*time.Second), recs...).FirstErr())
		cl.Close()
	}
	parts := map[int32]kgo.Offset{}
	for p := int32(0); p < scenario.Partitions; p++ {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl := client(a, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{a.Topic: parts}))
	defer cl.Close()
	want := 3 * scenario.PerAcks
	var got []scenario.Record
	ctx := deadline(scenario.ConsumeWait)
	for len(got) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				scenario.Fail(fmt.Errorf("fetch: %w", e.Err))
			}
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, record(r)) })
	}
	scenario.Done(map[string]any{"records": got})
}

func record(r *kgo.Record) scenario.Record {
	out := scenario.Record{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value),
		Headers: [][]string{}}
	for _, h := range r.Headers {
		out.Headers = append(out.Headers, []string{h.Key, string(h.Value)})
	}
	return out
}

// member is one consumer of the group scenario and the partitions it holds.
type member struct {
	cl       *kgo.Client
	assigned map[int32]bool
	ever     map[int32]bool
}

func newMember(a scenario.Args, group string) *member {
	m := &member{assigned: map[int32]bool{}, ever: map[int32]bool{}}
	m.cl = client(a, kgo.ConsumerGroup(group), kgo.ConsumeTopics(a.Topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(500*time.Millisecond), kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m2 map[string][]int32) {
			for _, p := range m2[a.Topic] {
				m.assigned[p] = true
				m.ever[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m2 map[string][]int32) {
			scenario.Check("commit on revoke", cl.CommitUncommittedOffsets(ctx))
			for _, p := range m2[a.Topic] {
				delete(m.assigned, p)
			}
		}))
	return m
}

func sorted(set map[int32]bool) []int32 {
	out := []int32{}
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// group: two members share the topic's partitions, consume every message,
// commit; then kadm lists, describes and fetches the group's offsets.
func group(a scenario.Args) {
	want := map[string]bool{}
	members := []*member{newMember(a, a.Arg), newMember(a, a.Arg)}
	ctx := deadline(scenario.GroupWait)
	var balanced [][]int32
	var balancedAt time.Time
	for ctx.Err() == nil {
		for _, m := range members {
			pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			fs := m.cl.PollFetches(pctx)
			cancel()
			fs.EachRecord(func(r *kgo.Record) { want[string(r.Value)] = true })
			m.cl.AllowRebalance()
		}
		a0, a1 := sorted(members[0].assigned), sorted(members[1].assigned)
		if balanced == nil && len(a0) > 0 && len(a1) > 0 && len(a0)+len(a1) == 4 {
			balanced, balancedAt = [][]int32{a0, a1}, time.Now()
		}
		if balanced != nil && time.Since(balancedAt) >= scenario.MembershipMin && len(want) >= 200 {
			break
		}
	}
	for _, m := range members {
		scenario.Check("commit", m.cl.CommitUncommittedOffsets(deadline(10*time.Second)))
	}
	for _, m := range members {
		m.cl.LeaveGroup()
		m.cl.Close()
	}
	cl := client(a)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	actx := deadline(30 * time.Second)
	listed, err := adm.ListGroups(actx)
	scenario.Check("list groups", err)
	described, err := adm.DescribeGroups(actx, a.Arg)
	scenario.Check("describe groups", err)
	offsets, err := adm.FetchOffsets(actx, a.Arg)
	scenario.Check("fetch offsets", err)
	committed := map[string]int64{}
	offsets.Each(func(o kadm.OffsetResponse) { committed[fmt.Sprint(o.Partition)] = o.At })
	d := described[a.Arg]
	values := []string{}
	for v := range want {
		values = append(values, v)
	}
	scenario.Done(map[string]any{"values": values, "balanced": balanced, "groups": listed.Groups(),
		"state": d.State, "protocol_type": d.ProtocolType, "committed": committed})
}

func times(a scenario.Args) {
	cl := client(a, kgo.DisableIdempotentWrite(), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.ProducerLinger(200*time.Millisecond))
	defer cl.Close()
	var recs []*kgo.Record
	for i := 0; i < scenario.TimesCount; i++ {
		recs = append(recs, &kgo.Record{Topic: a.Topic, Partition: 0, Value: []byte(fmt.Sprint(i)),
			Timestamp: time.UnixMilli(int64(scenario.TimesBase + 1000*i))})
	}
	scenario.Check("produce", cl.ProduceSync(deadline(30*time.Second), recs...).FirstErr())
	adm := kadm.NewClient(cl)
	ctx := deadline(30 * time.Second)
	at := func(ms int64) int64 {
		l, err := adm.ListOffsetsAfterMilli(ctx, ms, a.Topic)
		scenario.Check("list offsets", err)
		o, _ := l.Lookup(a.Topic, 0)
		scenario.Check("list offsets partition", o.Err)
		return o.Offset
	}
	start, err := adm.ListStartOffsets(ctx, a.Topic)
	scenario.Check("start offsets", err)
	end, err := adm.ListEndOffsets(ctx, a.Topic)
	scenario.Check("end offsets", err)
	s, _ := start.Lookup(a.Topic, 0)
	e, _ := end.Lookup(a.Topic, 0)
	scenario.Done(map[string]any{"exact": at(scenario.TimesBase + 5000), "between": at(scenario.TimesBase + 4500),
		"future": at(time.Now().Add(time.Hour).UnixMilli()), "earliest": s.Offset, "latest": e.Offset})
}

func errName(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func admin(a scenario.Args) {
	cl := client(a)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := deadline(30 * time.Second)
	retention := "3600000"
	created, err := adm.CreateTopics(ctx, 2, 1, map[string]*string{"retention.ms": &retention}, a.Topic)
	scenario.Check("create topics", err)
	again, err := adm.CreateTopics(ctx, 2, 1, nil, a.Topic)
	scenario.Check("create topics again", err)
	badRF, err := adm.CreateTopics(ctx, 1, 3, nil, a.Topic+"-rf")
	scenario.Check("create topics rf", err)
	listed, err := adm.ListTopics(ctx, a.Topic)
	scenario.Check("list topics", err)
	cluster := clusterCalls(ctx, adm, a.Topic)
	deleted, err := adm.DeleteTopics(ctx, a.Topic)
	scenario.Check("delete topics", err)
	after, err := adm.ListTopics(ctx)
	scenario.Check("list topics after", err)
	scenario.Done(map[string]any{
		"created": errName(created[a.Topic].Err), "again": errName(again[a.Topic].Err),
		"bad_rf": errName(badRF[a.Topic+"-rf"].Err), "partitions": len(listed[a.Topic].Partitions),
		"deleted": errName(deleted[a.Topic].Err), "after": after.Has(a.Topic), "cluster": cluster})
}

// clusterCalls: the cluster APIs on the admin scenario's new, empty topic
// (a pinned release that lacks one answers with franz-go's error): the end
// offset of epoch 0 of partition 0, how many of its partitions the log dirs
// list, the preferred election of partition 0, how many client quotas exist.
func clusterCalls(ctx context.Context, adm *kadm.Client, topic string) map[string]any {
	out := map[string]any{}
	var epochs kadm.OffsetForLeaderEpochRequest
	epochs.Add(topic, 0, 0)
	if got, err := adm.OffsetForLeaderEpoch(ctx, epochs); err != nil {
		out["epoch_end"] = errName(err)
	} else {
		out["epoch_end"] = got[topic][0].EndOffset
	}
	var set kadm.TopicsSet
	set.Add(topic, 0, 1)
	if dirs, err := adm.DescribeAllLogDirs(ctx, set); err != nil {
		out["log_dir_partitions"] = errName(err)
	} else {
		n := 0
		dirs.Each(func(d kadm.DescribedLogDir) { d.Topics.Each(func(kadm.DescribedLogDirPartition) { n++ }) })
		out["log_dir_partitions"] = n
	}
	var one kadm.TopicsSet
	one.Add(topic, 0)
	if elected, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, one); err != nil {
		out["elect"] = errName(err)
	} else {
		out["elect"] = errName(elected[topic][0].Err)
	}
	if quotas, err := adm.DescribeClientQuotas(ctx, false, nil); err != nil {
		out["quotas"] = errName(err)
	} else {
		out["quotas"] = len(quotas)
	}
	return out
}

// configValue is one value of a resource's DescribeConfigs answer.
func configValue(rs kadm.ResourceConfigs, err error, name, key string) string {
	scenario.Check("describe configs", err)
	r, err := rs.On(name, nil)
	scenario.Check("describe configs of "+name, err)
	scenario.Check("describe configs of "+name, r.Err)
	for _, c := range r.Configs {
		if c.Key == key {
			return c.MaybeValue()
		}
	}
	scenario.Fail(fmt.Errorf("no %s in the configs of %s", key, name))
	return ""
}

// ops: the operator's admin calls on a topic of 2 partitions
// (CreatePartitions, DescribeConfigs, IncrementalAlterConfigs, Metadata and
// DescribeCluster; the admin scenario calls the other cluster APIs).
func ops(a scenario.Args) {
	cl := client(a)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := deadline(60 * time.Second)
	grown, err := adm.UpdatePartitions(ctx, 4, a.Topic)
	scenario.Check("update partitions", err)
	lower, err := adm.UpdatePartitions(ctx, 3, a.Topic)
	scenario.Check("update partitions lower", err)
	// Kafka applies a change a moment after it answers: read until it shows.
	partitions := scenario.Eventually(func() any {
		listed, err := adm.ListTopics(ctx, a.Topic)
		scenario.Check("list topics", err)
		return len(listed[a.Topic].Partitions)
	}, 4)
	topicConfig := func() string {
		rs, err := adm.DescribeTopicConfigs(ctx, a.Topic)
		return configValue(rs, err, a.Topic, "retention.ms")
	}
	def := topicConfig()
	// Releases before 2.3 have AlterConfigs only: the whole state is set.
	alter := adm.AlterTopicConfigs
	if !served(kmsg.IncrementalAlterConfigs.Int16()) {
		alter = adm.AlterTopicConfigsState
	}
	set := func(value string) string {
		rs, err := alter(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &value}},
			a.Topic)
		scenario.Check("alter topic configs", err)
		r, err := rs.On(a.Topic, nil)
		scenario.Check("alter topic configs of "+a.Topic, err)
		return errName(r.Err)
	}
	altered := set(scenario.OpsRetentionMs)
	retention := scenario.Eventually(func() any { return topicConfig() }, scenario.OpsRetentionMs)
	badConfig := set("abc")
	md, err := adm.BrokerMetadata(ctx)
	scenario.Check("broker metadata", err)
	broker := md.Brokers[0].NodeID
	rs, err := adm.DescribeBrokerConfigs(ctx, broker)
	numPartitions := configValue(rs, err, fmt.Sprint(broker), "num.partitions")
	more := map[string]any{"controller": md.Controller}
	if served(kmsg.DescribeCluster.Int16()) {
		described, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
		scenario.Check("describe cluster", err)
		more["described_cluster_id"] = described.ClusterID
		more["described_brokers"] = len(described.Brokers)
	}
	scenario.Done(scenario.OpsResult(errName(grown[a.Topic].Err), errName(lower[a.Topic].Err),
		partitions.(int), def, altered, retention.(string), badConfig, numPartitions, len(md.Brokers), md.Cluster,
		more))
}

// produceDefault: the producer as franz-go configures it by default
// (idempotent writes), bounded by a deadline.
func produceDefault(a scenario.Args) {
	cl := client(a, kgo.RecordRetries(3), kgo.ProduceRequestTimeout(10*time.Second))
	defer cl.Close()
	err := cl.ProduceSync(deadline(20*time.Second), &kgo.Record{Topic: a.Topic, Value: []byte("default")}).FirstErr()
	scenario.Done(map[string]any{"produce_error": errName(err)})
}

// produceIdempotent sends scenario.IdempotentRecords records to partition 0
// with franz-go's default, idempotent writes (uncompressed, so that the test
// reads the values back).
func produceIdempotent(a scenario.Args) {
	cl := client(a, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProduceRequestTimeout(10*time.Second))
	defer cl.Close()
	recs := make([]*kgo.Record, 0, scenario.IdempotentRecords)
	for i := 0; i < scenario.IdempotentRecords; i++ {
		recs = append(recs, &kgo.Record{Topic: a.Topic, Partition: 0, Value: []byte(fmt.Sprint(i))})
	}
	err := cl.ProduceSync(deadline(30*time.Second), recs...).FirstErr()
	scenario.Done(map[string]any{"produce_error": errName(err), "sent": scenario.IdempotentRecords})
}

func main() {
	scenario.Run(map[string]func(scenario.Args){
		"produce": produce, "group": group, "times": times, "admin": admin,
		"produce_default": produceDefault, "produce_idempotent": produceIdempotent, "ops": ops,
	})
}

// The IBM/sarama driver of tests/integration/test_modern_clients.py: one
// scenario per run (produce CODEC, group GROUP, times, admin, ops), one JSON line
// of results on stdout. cfg.Version is sarama's newest, so it sends the
// newest request versions it knows.
package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"sluice.test/clients/internal/scenario"
)

var codecs = map[string]sarama.CompressionCodec{
	"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
	"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
}

func config() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.MaxVersion
	cfg.ClientID = "sluice-sarama"
	cfg.Metadata.Timeout = 30 * time.Second
	return cfg
}

func produce(a scenario.Args) {
	codec, ok := codecs[a.Arg]
	if !ok {
		scenario.Fail(fmt.Errorf("unknown codec %q", a.Arg))
	}
	for _, acks := range []int{0, 1, -1} {
		cfg := config()
		cfg.Producer.RequiredAcks = sarama.RequiredAcks(acks)
		cfg.Producer.Compression = codec
		cfg.Producer.Partitioner = sarama.NewManualPartitioner
		cfg.Producer.Return.Successes = true
		p, err := sarama.NewSyncProducer(a.Brokers(), cfg)
		scenario.Check("new producer", err)
		var msgs []*sarama.ProducerMessage
		for _, m := range scenario.ProduceSet(acks) {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: a.Topic, Partition: m.Partition,
				Key: sarama.StringEncoder(m.Key), Value: sarama.StringEncoder(m.Value),
				Headers: []sarama.RecordHeader{{Key: []byte(m.HeaderKey), Value: []byte(m.HeaderValue)}}})
		}
		scenario.Check(fmt.Sprintf("produce acks=%d", acks), p.SendMessages(msgs))
		scenario.Check("close producer", p.Close())
	}
	c, err := sarama.NewConsumer(a.Brokers(), config())
	scenario.Check("new consumer", err)
	defer c.Close()
	records := make(chan scenario.Record)
	for p := int32(0); p < scenario.Partitions; p++ {
		pc, err := c.ConsumePartition(a.Topic, p, sarama.OffsetOldest)
		scenario.Check("consume partition", err)
		go func() {
			for m := range pc.Messages() {
				records <- record(m)
			}
		}()
	}
	var got []scenario.Record
	timeout := time.After(scenario.ConsumeWait)
	for len(got) < 3*scenario.PerAcks {
		select {
		case r := <-records:
			got = append(got, r)
		case <-timeout:
			scenario.Fail(fmt.Errorf("consumed %d of %d", len(got), 3*scenario.PerAcks))
		}
	}
	scenario.Done(map[string]any{"records": got})
}

func record(m *sarama.ConsumerMessage) scenario.Record {
	out := scenario.Record{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value),
		Headers: [][]string{}}
	for _, h := range m.Headers {
		out.Headers = append(out.Headers, []string{string(h.Key), string(h.Value)})
	}
	return out
}

// handler is one member of the group scenario.
type handler struct {
	mu       *sync.Mutex
	values   map[string]bool
	assigned []int32
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.assigned = nil
	for _, ps := range s.Claims() {
		h.assigned = append(h.assigned, ps...)
	}
	sort.Slice(h.assigned, func(i, j int) bool { return h.assigned[i] < h.assigned[j] })
	return nil
}

func (h *handler) Cleanup(s sarama.ConsumerGroupSession) error {
	s.Commit()
	return nil
}

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		h.mu.Lock()
		h.values[string(m.Value)] = true
		h.mu.Unlock()
	}
	return nil
}

// group: two members share the topic's partitions, consume every message,
// commit; then the cluster admin lists, describes and fetches the group.
func group(a scenario.Args) {
	var mu sync.Mutex
	values := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), scenario.GroupWait)
	defer cancel()
	var handlers []*handler
	var groups []sarama.ConsumerGroup
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		cfg := config()
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Consumer.Offsets.AutoCommit.Enable = false
		cfg.Consumer.Group.Session.Timeout = 6 * time.Second
		cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
		g, err := sarama.NewConsumerGroup(a.Brokers(), a.Arg, cfg)
		scenario.Check("new consumer group", err)
		h := &handler{mu: &mu, values: values}
		handlers, groups = append(handlers, h), append(groups, g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{a.Topic}, h); err != nil && !errors.Is(err, context.Canceled) &&
					!errors.Is(err, context.DeadlineExceeded) {
					scenario.Fail(fmt.Errorf("consume: %w", err))
				}
			}
		}()
	}
	var balanced [][]int32
	var balancedAt time.Time
	for ctx.Err() == nil {
		mu.Lock()
		a0, a1, n := handlers[0].assigned, handlers[1].assigned, len(values)
		mu.Unlock()
		if balanced == nil && len(a0) > 0 && len(a1) > 0 && len(a0)+len(a1) == 4 {
			balanced, balancedAt = [][]int32{a0, a1}, time.Now()
		}
		if balanced != nil && time.Since(balancedAt) >= scenario.MembershipMin && n >= 200 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for _, g := range groups {
		scenario.Check("close group", g.Close())
	}
	adm, err := sarama.NewClusterAdmin(a.Brokers(), config())
	scenario.Check("new admin", err)
	defer adm.Close()
	listed, err := adm.ListConsumerGroups()
	scenario.Check("list groups", err)
	described, err := adm.DescribeConsumerGroups([]string{a.Arg})
	scenario.Check("describe groups", err)
	offsets, err := adm.ListConsumerGroupOffsets(a.Arg, nil)
	scenario.Check("list group offsets", err)
	committed := map[string]int64{}
	for _, ps := range offsets.Blocks {
		for p, b := range ps {
			committed[fmt.Sprint(p)] = b.Offset
		}
	}
	names := []string{}
	for n := range listed {
		names = append(names, n)
	}
	vals := []string{}
	for v := range values {
		vals = append(vals, v)
	}
	state, ptype := "", ""
	if len(described) == 1 {
		state, ptype = described[0].State, described[0].ProtocolType
	}
	scenario.Done(map[string]any{"values": vals, "balanced": balanced, "groups": names, "state": state,
		"protocol_type": ptype, "committed": committed})
}

func times(a scenario.Args) {
	cfg := config()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Return.Successes = true
	cfg.Producer.Compression = sarama.CompressionLZ4
	cfg.Producer.Flush.Messages = scenario.TimesCount
	cfg.Producer.Flush.Frequency = 200 * time.Millisecond
	p, err := sarama.NewSyncProducer(a.Brokers(), cfg)
	scenario.Check("new producer", err)
	var msgs []*sarama.ProducerMessage
	for i := 0; i < scenario.TimesCount; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: a.Topic, Partition: 0,
			Value: sarama.StringEncoder(fmt.Sprint(i)), Timestamp: time.UnixMilli(int64(scenario.TimesBase + 1000*i))})
	}
	scenario.Check("produce", p.SendMessages(msgs))
	scenario.Check("close producer", p.Close())
	cl, err := sarama.NewClient(a.Brokers(), config())
	scenario.Check("new client", err)
	defer cl.Close()
	at := func(ms int64) int64 {
		o, err := cl.GetOffset(a.Topic, 0, ms)
		scenario.Check("get offset", err)
		return o
	}
	scenario.Done(map[string]any{"exact": at(scenario.TimesBase + 5000), "between": at(scenario.TimesBase + 4500),
		"future": at(time.Now().Add(time.Hour).UnixMilli()), "earliest": at(sarama.OffsetOldest),
		"latest": at(sarama.OffsetNewest)})
}

// errName is "code N" for a Kafka error (sarama's texts are its own).
func errName(err error) string {
	var te *sarama.TopicError
	if errors.As(err, &te) {
		return fmt.Sprintf("code %d", te.Err)
	}
	var ke sarama.KError
	if errors.As(err, &ke) {
		return fmt.Sprintf("code %d", ke)
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func admin(a scenario.Args) {
	adm, err := sarama.NewClusterAdmin(a.Brokers(), config())
	scenario.Check("new admin", err)
	defer adm.Close()
	retention := "3600000"
	created := adm.CreateTopic(a.Topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}, false)
	again := adm.CreateTopic(a.Topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false)
	badRF := adm.CreateTopic(a.Topic+"-rf", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 3}, false)
	described, err := adm.DescribeTopics([]string{a.Topic})
	scenario.Check("describe topics", err)
	deleted := adm.DeleteTopic(a.Topic)
	after, err := adm.DescribeTopics([]string{a.Topic})
	scenario.Check("describe topics after", err)
	scenario.Done(map[string]any{"created": errName(created), "again": errName(again), "bad_rf": errName(badRF),
		"partitions": len(described[0].Partitions), "deleted": errName(deleted),
		"after": errors.Is(after[0].Err, sarama.ErrNoError)})
}

// topicConfig is one value of a topic's DescribeConfigs answer.
func topicConfig(adm sarama.ClusterAdmin, typ sarama.ConfigResourceType, name, key string) string {
	entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: typ, Name: name})
	scenario.Check("describe configs", err)
	for _, e := range entries {
		if e.Name == key {
			return e.Value
		}
	}
	scenario.Fail(fmt.Errorf("no %s in the configs of %s", key, name))
	return ""
}

// ops: the operator's admin calls on a topic of 2 partitions (CreatePartitions,
// DescribeConfigs, IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs,
// ElectLeaders, DescribeClientQuotas).
func ops(a scenario.Args) {
	adm, err := sarama.NewClusterAdmin(a.Brokers(), config())
	scenario.Check("new admin", err)
	defer adm.Close()
	grown := errName(adm.CreatePartitions(a.Topic, 4, nil, false))
	lower := errName(adm.CreatePartitions(a.Topic, 3, nil, false))
	// Kafka applies a change a moment after it answers: read until it shows.
	partitions := scenario.Eventually(func() any {
		described, err := adm.DescribeTopics([]string{a.Topic})
		scenario.Check("describe topics", err)
		return len(described[0].Partitions)
	}, 4)
	def := topicConfig(adm, sarama.TopicResource, a.Topic, "retention.ms")
	set := func(value string) string {
		return errName(adm.IncrementalAlterConfig(sarama.TopicResource, a.Topic,
			map[string]sarama.IncrementalAlterConfigsEntry{"retention.ms": {
				Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &value}}, false))
	}
	altered := set(scenario.OpsRetentionMs)
	retention := scenario.Eventually(func() any {
		return topicConfig(adm, sarama.TopicResource, a.Topic, "retention.ms")
	}, scenario.OpsRetentionMs)
	badConfig := set("abc")
	brokers, controller, err := adm.DescribeCluster()
	scenario.Check("describe cluster", err)
	brokerID := strconv.Itoa(int(brokers[0].ID()))
	numPartitions := topicConfig(adm, sarama.BrokerResource, brokerID, "num.partitions")
	dirs, err := adm.DescribeLogDirs([]int32{brokers[0].ID()})
	scenario.Check("describe log dirs", err)
	var logdirPartitions []int
	for _, d := range dirs[brokers[0].ID()] {
		for _, t := range d.Topics {
			if t.Topic == a.Topic {
				for _, p := range t.Partitions {
					logdirPartitions = append(logdirPartitions, int(p.PartitionID))
				}
			}
		}
	}
	sort.Ints(logdirPartitions)
	elected, err := adm.ElectLeaders(sarama.PreferredElection, map[string][]int32{a.Topic: {0}})
	scenario.Check("elect leaders", err)
	quotas, err := adm.DescribeClientQuotas(nil, false)
	scenario.Check("describe client quotas", err)
	scenario.Done(scenario.OpsResult(grown, lower, partitions.(int), def, altered, retention.(string),
		badConfig, numPartitions, len(brokers), "", map[string]any{
			"controller": controller, "logdir_partitions": logdirPartitions,
			"elect_codes": []int{int(elected[a.Topic][0].ErrorCode)}, "quotas": len(quotas)}))
}

// listTopics: ClusterAdmin.ListTopics, which asks DescribeConfigs for every
// topic's configuration besides Metadata.
func listTopics(a scenario.Args) {
	adm, err := sarama.NewClusterAdmin(a.Brokers(), config())
	scenario.Check("new admin", err)
	defer adm.Close()
	listed, err := adm.ListTopics()
	scenario.Check("list topics", err)
	scenario.Done(map[string]any{"partitions": listed[a.Topic].NumPartitions})
}

// produceDefault: a sync producer with sarama's defaults (Return.Successes
// is what a sync producer requires), bounded by its retries and timeouts.
func produceDefault(a scenario.Args) {
	cfg := config()
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(a.Brokers(), cfg)
	scenario.Check("new producer", err)
	defer p.Close()
	_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: a.Topic, Value: sarama.StringEncoder("default")})
	scenario.Done(map[string]any{"produce_error": errName(err)})
}

// produceIdempotent sends scenario.IdempotentRecords records to partition 0
// with Producer.Idempotent (which sarama allows with acks=all and one
// request in flight only).
func produceIdempotent(a scenario.Args) {
	cfg := config()
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Return.Successes = true
	cfg.Net.MaxOpenRequests = 1
	p, err := sarama.NewSyncProducer(a.Brokers(), cfg)
	scenario.Check("new producer", err)
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, 0, scenario.IdempotentRecords)
	for i := 0; i < scenario.IdempotentRecords; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: a.Topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprint(i))})
	}
	err = p.SendMessages(msgs)
	scenario.Done(map[string]any{"produce_error": errName(err), "sent": scenario.IdempotentRecords})
}

// produceNumbered sends Arg records numbered 0..Arg-1, record i to partition
// i % scenario.Partitions, with Producer.Idempotent, retrying through lost
// connections (the test puts a proxy that drops them in front of the broker).
func produceNumbered(a scenario.Args) {
	count, err := strconv.Atoi(a.Arg)
	scenario.Check("record count", err)
	cfg := config()
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 1000
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Producer.Flush.Messages = 200
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Net.MaxOpenRequests = 1
	cfg.Net.ReadTimeout = 10 * time.Second
	p, err := sarama.NewAsyncProducer(a.Brokers(), cfg)
	scenario.Check("new producer", err)
	acked, failed, firstErr := 0, 0, ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		for acked+failed < count {
			select {
			case <-p.Successes():
				acked++
			case e := <-p.Errors():
				if failed++; firstErr == "" {
					firstErr = errName(e.Err)
				}
			}
		}
	}()
	for i := 0; i < count; i++ {
		p.Input() <- &sarama.ProducerMessage{Topic: a.Topic, Partition: int32(i % scenario.Partitions),
			Value: sarama.StringEncoder(strconv.Itoa(i))}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		firstErr = "timed out"
	}
	scenario.Check("close producer", p.Close())
	scenario.Done(map[string]any{"acked": acked, "failed": failed, "produce_error": firstErr})
}

func main() {
	scenario.Run(map[string]func(scenario.Args){
		"produce": produce, "group": group, "times": times, "admin": admin,
		"list_topics": listTopics, "produce_default": produceDefault,
		"produce_idempotent": produceIdempotent, "produce_numbered": produceNumbered, "ops": ops,
	})
}

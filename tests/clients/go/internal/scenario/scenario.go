// Package scenario holds what the Go client drivers share: the command line
// (SCENARIO BOOTSTRAP TOPIC [ARG]), the messages every client produces, and
// the one JSON line a driver prints for tests/integration/test_modern_clients.py.
package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Messages per acks level in the produce scenario, and per partition.
const (
	PerAcks    = 60
	Partitions = 3
	// TimesBase is the timestamp of the first of the ten "times" messages;
	// each next one is one second later.
	TimesBase  = 1_000_000
	TimesCount = 10
	GroupWait  = 60 * time.Second
	// MembershipMin: a group run lasts this long past the balance, so
	// members heartbeat (every 500 ms) and the Heartbeat versions are sent.
	MembershipMin = 1500 * time.Millisecond
	ConsumeWait   = 60 * time.Second
	// IdempotentRecords: what the idempotent scenario sends, in order, to
	// partition 0.
	IdempotentRecords = 500
	// The ops scenario's retention.ms, set on its topic.
	OpsRetentionMs = "3600000"
)

// Args is one driver run.
type Args struct {
	Scenario, Bootstrap, Topic, Arg string
}

// Parse reads os.Args or exits with a usage line.
func Parse() Args {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: driver SCENARIO BOOTSTRAP TOPIC [ARG]")
		os.Exit(2)
	}
	a := Args{Scenario: os.Args[1], Bootstrap: os.Args[2], Topic: os.Args[3]}
	if len(os.Args) > 4 {
		a.Arg = os.Args[4]
	}
	return a
}

// Brokers splits the bootstrap list.
func (a Args) Brokers() []string { return strings.Split(a.Bootstrap, ",") }

// Message is one produced record of the produce scenario: acks level a, index i.
type Message struct {
	Partition   int32
	Key, Value  string
	HeaderKey   string
	HeaderValue string
}

// ProduceSet is what the produce scenario sends at one acks level.
func ProduceSet(acks int) []Message {
	out := make([]Message, 0, PerAcks)
	for i := 0; i < PerAcks; i++ {
		out = append(out, Message{
			Partition:   int32(i % Partitions),
			Key:         fmt.Sprintf("k%d", i),
			Value:       fmt.Sprintf("%d-%d-%s", acks, i, strings.Repeat("x", i%50)),
			HeaderKey:   "n",
			HeaderValue: fmt.Sprint(i),
		})
	}
	return out
}

// Record is one consumed record as the test compares it.
type Record struct {
	Partition int32      `json:"p"`
	Offset    int64      `json:"o"`
	Key       string     `json:"k"`
	Value     string     `json:"v"`
	Headers   [][]string `json:"h"`
}

// Done prints the result and exits 0.
func Done(result map[string]any) {
	out, err := json.Marshal(result)
	if err != nil {
		Fail(err)
	}
	fmt.Println(string(out))
	os.Exit(0)
}

// Fail prints the error as the result and exits 1.
func Fail(err error) {
	out, _ := json.Marshal(map[string]any{"error": err.Error()})
	fmt.Println(string(out))
	os.Exit(1)
}

// Check fails on a non-nil error, naming the step.
func Check(step string, err error) {
	if err != nil {
		Fail(fmt.Errorf("%s: %w", step, err))
	}
}

// Run parses the command line and runs the scenario it names.
func Run(scenarios map[string]func(Args)) {
	a := Parse()
	run, ok := scenarios[a.Scenario]
	if !ok {
		Fail(fmt.Errorf("unknown scenario %q", a.Scenario))
	}
	run(a)
}

// OpsResult is the ops scenario's JSON, the same keys in every driver
// (tests/clients/python/driver.py ops_result): errors as the client names
// them ("" for none), config values as strings.
func OpsResult(grown, lower string, partitions int, retentionDefault, altered, retention, badConfig,
	brokerNumPartitions string, brokers int, clusterID string, more map[string]any) map[string]any {
	out := map[string]any{"grown": grown, "lower": lower, "partitions": partitions,
		"retention_default": retentionDefault, "altered": altered, "retention": retention,
		"bad_config": badConfig, "broker_num_partitions": brokerNumPartitions, "brokers": brokers,
		"cluster_id": clusterID}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// EventuallyWait bounds Eventually: Kafka applies an admin change (new
// partitions, a config) a moment after it answers the request.
const EventuallyWait = 10 * time.Second

// Eventually calls read until it returns want or EventuallyWait passes, and
// returns the last value read.
func Eventually(read func() any, want any) any {
	deadline := time.Now().Add(EventuallyWait)
	for {
		got := read()
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

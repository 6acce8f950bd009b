// A sarama consumer group for the group tests: consumes -count messages of
// -topic in -group, marks each consumed, and prints how many distinct values
// it saw and the smallest one.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

type handler struct {
	mu     sync.Mutex
	seen   map[int]bool
	total  int
	want   int
	min    int
	cancel context.CancelFunc
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		v, err := strconv.Atoi(string(m.Value))
		if err != nil {
			return err
		}
		s.MarkMessage(m, "")
		h.mu.Lock()
		h.seen[v] = true
		h.total++
		if h.min < 0 || v < h.min {
			h.min = v
		}
		done := h.total >= h.want
		h.mu.Unlock()
		if done {
			h.cancel()
		}
	}
	return nil
}

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap brokers")
	topic := flag.String("topic", "", "topic")
	group := flag.String("group", "", "group id")
	count := flag.Int("count", 1, "messages to consume")
	flag.Parse()

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_0_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	cfg.Consumer.Return.Errors = false
	cg, err := sarama.NewConsumerGroup(strings.Split(*brokers, ","), *group, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "consumer group:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	h := &handler{seen: map[int]bool{}, want: *count, min: -1, cancel: cancel}
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{*topic}, h); err != nil {
			fmt.Fprintln(os.Stderr, "consume:", err)
			os.Exit(1)
		}
	}
	if err := cg.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		os.Exit(1)
	}
	fmt.Printf("consumed %d distinct %d min %d\n", h.total, len(h.seen), h.min)
}

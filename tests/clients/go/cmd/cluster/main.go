// The cluster-API driver of tests/integration/test_cluster_apis.py: one
// scenario per run, one JSON line of results on stdout.
//
//	cluster franz_epochs BOOTSTRAP TOPIC PARTITIONS: franz-go's kadm
//	    OffsetForLeaderEpoch at epochs 0 and 1 of each partition
//	cluster sarama_log_dirs BOOTSTRAP TOPIC: sarama's DescribeLogDirs, the
//	    topic's partition sizes
package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"sluice.test/clients/internal/scenario"
)

const callTimeout = 30 * time.Second

func franzEpochs(a scenario.Args) {
	partitions, err := strconv.Atoi(a.Arg)
	scenario.Check("partition count", err)
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.Brokers()...))
	scenario.Check("new client", err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := map[string]any{}
	for _, epoch := range []int32{0, 1} {
		var req kadm.OffsetForLeaderEpochRequest
		for p := 0; p < partitions; p++ {
			req.Add(a.Topic, int32(p), epoch)
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		got, err := adm.OffsetForLeaderEpoch(ctx, req)
		cancel()
		scenario.Check("offset for leader epoch", err)
		rows := map[string]any{}
		for p, o := range got[a.Topic] {
			e := ""
			if o.Err != nil {
				e = o.Err.Error()
			}
			rows[fmt.Sprint(p)] = map[string]any{"epoch": o.LeaderEpoch, "end": o.EndOffset, "err": e}
		}
		out[fmt.Sprintf("epoch %d", epoch)] = rows
	}
	scenario.Done(out)
}

func saramaLogDirs(a scenario.Args) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.MaxVersion
	cfg.ClientID = "sluice-sarama"
	cfg.Metadata.Timeout = callTimeout
	adm, err := sarama.NewClusterAdmin(a.Brokers(), cfg)
	scenario.Check("new admin", err)
	defer adm.Close()
	brokers, _, err := adm.DescribeCluster()
	scenario.Check("describe cluster", err)
	ids := make([]int32, 0, len(brokers))
	for _, b := range brokers {
		ids = append(ids, b.ID())
	}
	dirs, err := adm.DescribeLogDirs(ids)
	scenario.Check("describe log dirs", err)
	out := []map[string]any{}
	for id, list := range dirs {
		for _, d := range list {
			sizes := map[string]int64{}
			for _, t := range d.Topics {
				for _, p := range t.Partitions {
					if t.Topic == a.Topic {
						sizes[fmt.Sprint(p.PartitionID)] = p.Size
					}
				}
			}
			out = append(out, map[string]any{"broker": id, "path": d.Path, "error": int(d.ErrorCode),
				"total": d.TotalBytes, "usable": d.UsableBytes, "sizes": sizes})
		}
	}
	scenario.Done(map[string]any{"dirs": out})
}

func main() {
	scenario.Run(map[string]func(scenario.Args){
		"franz_epochs": franzEpochs, "sarama_log_dirs": saramaLogDirs,
	})
}

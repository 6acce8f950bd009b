// An IBM/sarama driver for tests/compat/test_create_partitions_clients.py:
// ClusterAdmin.CreatePartitions on TOPIC (created with 2 partitions): a
// validate-only growth to 6, a growth to 4, and a lower count 3. Prints one
// JSON line with the partition count after each step and the error sarama
// returned for the lower count.
//
//	sarama_partitions BOOTSTRAP TOPIC
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

func fail(err error) {
	out, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Println(string(out))
	os.Exit(1)
}

func count(admin sarama.ClusterAdmin, topic string) int {
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		fail(err)
	}
	return len(md[0].Partitions)
}

func main() {
	if len(os.Args) != 3 {
		fail(errors.New("usage: sarama_partitions BOOTSTRAP TOPIC"))
	}
	topic := os.Args[2]
	cfg := sarama.NewConfig()
	cfg.Version = sarama.MaxVersion
	cfg.ClientID = "sluice-sarama-partitions"
	cfg.Admin.Timeout = 30 * time.Second
	admin, err := sarama.NewClusterAdmin(strings.Split(os.Args[1], ","), cfg)
	if err != nil {
		fail(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
		fail(err)
	}
	result := map[string]interface{}{"created": count(admin, topic)}
	if err := admin.CreatePartitions(topic, 6, nil, true); err != nil {
		fail(err)
	}
	result["validated"] = count(admin, topic)
	if err := admin.CreatePartitions(topic, 4, nil, false); err != nil {
		fail(err)
	}
	result["grown"] = count(admin, topic)
	result["lower"] = "accepted"
	if err := admin.CreatePartitions(topic, 3, nil, false); err != nil {
		var kerr *sarama.TopicPartitionError
		if errors.As(err, &kerr) {
			result["lower"] = kerr.Err.Error()
		} else {
			result["lower"] = err.Error()
		}
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}

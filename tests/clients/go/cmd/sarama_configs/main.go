// The IBM/sarama driver of tests/compat/test_admin_configs.py: DescribeConfigs,
// AlterConfigs and IncrementalAlterConfigs through sarama's ClusterAdmin on a
// topic and on the broker (ARG: its node id), one JSON line of results.
//
//	sarama_configs configs BOOTSTRAP TOPIC NODE_ID
package main

import (
	"time"

	"github.com/IBM/sarama"

	"sluice.test/clients/internal/scenario"
)

func config() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.MaxVersion
	cfg.ClientID = "sluice-sarama-configs"
	cfg.Metadata.Timeout = 30 * time.Second
	return cfg
}

// describe returns name -> [value, source] of the resource's configs.
func describe(admin sarama.ClusterAdmin, t sarama.ConfigResourceType, name string, keys []string) map[string][]any {
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: t, Name: name, ConfigNames: keys})
	scenario.Check("describe "+name, err)
	out := map[string][]any{}
	for _, e := range entries {
		out[e.Name] = []any{e.Value, int(e.Source), e.ReadOnly}
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func configs(a scenario.Args) {
	admin, err := sarama.NewClusterAdmin(a.Brokers(), config())
	scenario.Check("new admin", err)
	defer admin.Close()
	scenario.Check("create topic", admin.CreateTopic(a.Topic,
		&sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false))
	keys := []string{"retention.ms", "cleanup.policy", "segment.ms"}
	retention, policy := "99000", "compact"
	result := map[string]any{}
	result["alter"] = errText(admin.AlterConfig(sarama.TopicResource, a.Topic,
		map[string]*string{"retention.ms": &retention, "cleanup.policy": &policy}, false))
	result["altered"] = describe(admin, sarama.TopicResource, a.Topic, keys)
	segment := "600000"
	result["incremental"] = errText(admin.IncrementalAlterConfig(sarama.TopicResource, a.Topic,
		map[string]sarama.IncrementalAlterConfigsEntry{
			"segment.ms":   {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &segment},
			"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationDelete},
		}, false))
	result["incremented"] = describe(admin, sarama.TopicResource, a.Topic, keys)
	bad := "later"
	result["bad"] = errText(admin.AlterConfig(sarama.TopicResource, a.Topic,
		map[string]*string{"segment.ms": &bad}, false))
	result["broker"] = describe(admin, sarama.BrokerResource, a.Arg,
		[]string{"log.retention.ms", "log.dirs"})
	result["unknown_topic"] = errText(admin.AlterConfig(sarama.TopicResource, a.Topic+"-missing",
		map[string]*string{"segment.ms": &segment}, false))
	scenario.Done(result)
}

func main() {
	scenario.Run(map[string]func(scenario.Args){"configs": configs})
}

// The AdminClient calls sluice serves: topics (create incl. validateOnly and its
// errors, delete, list, describe), the cluster, consumer groups (list, describe,
// delete, their offsets altered and deleted) and ListOffsets by spec. A call to
// an API sluice does not serve (DescribeConfigs, until it does) must fail
// clearly and quickly.
package sluice.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.Test;

class AdminTest {
    static final long T = Sluice.CALL_TIMEOUT_S;

    private static <V> V get(KafkaFuture<V> f) throws Exception {
        return f.get(T, TimeUnit.SECONDS);
    }

    /** The cause of a failed admin future, which must fail within the call timeout. */
    private static Throwable failure(KafkaFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(T, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void createListDescribeDeleteTopics() throws Exception {
        String topic = Sluice.unique("java-admin");
        String probe = Sluice.unique("java-admin-validate");
        try (Admin admin = Sluice.admin()) {
            get(admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1)
                    .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "delete")))).all());
            get(admin.createTopics(List.of(new NewTopic(probe, 2, (short) 1)),
                                   new CreateTopicsOptions().validateOnly(true)).all());

            Set<String> names = get(admin.listTopics().names());
            assertTrue(names.contains(topic), "listTopics shows " + topic);
            assertFalse(names.contains(probe), "validateOnly created nothing");

            TopicDescription d = get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic);
            assertEquals(3, d.partitions().size());
            assertFalse(d.isInternal());
            assertFalse(d.topicId().toString().isEmpty());
            int node = get(admin.describeCluster().nodes()).iterator().next().id();
            d.partitions().forEach(p -> {
                assertEquals(node, p.leader().id(), "leader of " + p.partition());
                assertEquals(1, p.replicas().size());
                assertEquals(1, p.isr().size());
            });

            get(admin.deleteTopics(List.of(topic)).all());
            assertTrue(Sluice.eventually(() -> !topicListed(admin, topic), () -> {}),
                       "deleted topic leaves listTopics");
            assertInstanceOf(UnknownTopicOrPartitionException.class,
                             failure(admin.deleteTopics(List.of(Sluice.unique("java-never"))).all()));
        }
    }

    private static boolean topicListed(Admin admin, String topic) {
        try {
            return get(admin.listTopics().names()).contains(topic);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void createTopicsErrors() throws Exception {
        String existing = Sluice.unique("java-admin-exists");
        Sluice.createTopic(existing, 1);
        Map<NewTopic, Class<? extends Throwable>> cases = Map.of(
                new NewTopic(existing, 1, (short) 1), TopicExistsException.class,
                new NewTopic("bad/name", 1, (short) 1), InvalidTopicException.class,
                new NewTopic(Sluice.unique("java-zero"), 0, (short) 1), InvalidPartitionsException.class,
                new NewTopic(Sluice.unique("java-rf"), 1, (short) 3), InvalidReplicationFactorException.class,
                new NewTopic(Sluice.unique("java-value"), 1, (short) 1).configs(Map.of("retention.ms", "soon")),
                InvalidConfigurationException.class,
                new NewTopic(Sluice.unique("java-key"), 1, (short) 1).configs(Map.of("no.such.config", "1")),
                InvalidConfigurationException.class);
        try (Admin admin = Sluice.admin()) {
            for (boolean validateOnly : new boolean[] {false, true}) {
                Map<String, KafkaFuture<Void>> r = admin.createTopics(cases.keySet(),
                        new CreateTopicsOptions().validateOnly(validateOnly)).values();
                for (Map.Entry<NewTopic, Class<? extends Throwable>> c : cases.entrySet())
                    assertInstanceOf(c.getValue(), failure(r.get(c.getKey().name())),
                                     c.getKey() + (validateOnly ? " (validateOnly)" : ""));
            }
        }
    }

    @Test
    void describeClusterNamesTheOneBroker() throws Exception {
        try (Admin admin = Sluice.admin()) {
            DescribeClusterResult c = admin.describeCluster();
            Collection<org.apache.kafka.common.Node> nodes = get(c.nodes());
            assertEquals(1, nodes.size());
            assertEquals(nodes.iterator().next(), get(c.controller()));
            assertFalse(get(c.clusterId()).isEmpty());
        }
    }

    @Test
    void listOffsetsBySpec() throws Exception {
        String topic = Sluice.unique("java-offsets");
        Sluice.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = 1_700_000_000_000L;
        long[] stamps = {base, base + 3000, base + 1000, base + 2000};
        try (KafkaProducer<String, String> producer = Sluice.producer(Map.of())) {
            List<ProducerRecord<String, String>> records = new ArrayList<>();
            for (long ts : stamps)
                records.add(new ProducerRecord<>(topic, 0, ts, "k", "v"));
            Sluice.produceAll(producer, records);
        }
        try (Admin admin = Sluice.admin()) {
            assertEquals(0, offsetFor(admin, tp, OffsetSpec.earliest()).offset());
            assertEquals(4, offsetFor(admin, tp, OffsetSpec.latest()).offset());
            ListOffsetsResult.ListOffsetsResultInfo max = offsetFor(admin, tp, OffsetSpec.maxTimestamp());
            assertEquals(1, max.offset(), "max timestamp's offset");
            assertEquals(base + 3000, max.timestamp());
            assertEquals(1, offsetFor(admin, tp, OffsetSpec.forTimestamp(base + 1500)).offset(),
                         "first offset with timestamp >= the one asked");
            assertEquals(-1, offsetFor(admin, tp, OffsetSpec.forTimestamp(base + 9000)).offset(),
                         "no record that late");
        }
    }

    private static ListOffsetsResult.ListOffsetsResultInfo offsetFor(Admin admin, TopicPartition tp, OffsetSpec spec)
            throws Exception {
        return get(admin.listOffsets(Map.of(tp, spec)).partitionResult(tp));
    }

    @Test
    void consumerGroupsListDescribeOffsetsDelete() throws Exception {
        String topic = Sluice.unique("java-groups");
        String group = Sluice.unique("java-admin-group");
        Sluice.createTopic(topic, 2);
        TopicPartition p0 = new TopicPartition(topic, 0), p1 = new TopicPartition(topic, 1);
        try (KafkaProducer<String, String> producer = Sluice.producer(Map.of())) {
            List<ProducerRecord<String, String>> records = new ArrayList<>();
            for (int i = 0; i < 10; i++)
                records.add(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i));
            Sluice.produceAll(producer, records);
        }
        try (Admin admin = Sluice.admin()) {
            try (KafkaConsumer<String, String> member =
                         Sluice.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
                                                ConsumerConfig.CLIENT_ID_CONFIG, "admin-test-member"))) {
                member.subscribe(List.of(topic));
                assertEquals(10, Sluice.pollRecords(member, 10).size());
                member.commitSync();

                Set<String> listed = get(admin.listGroups().all()).stream().map(GroupListing::groupId)
                                                                   .collect(Collectors.toSet());
                assertTrue(listed.contains(group), "listGroups shows " + group + ": " + listed);
                Set<String> consumerGroups = get(admin.listConsumerGroups().all()).stream()
                        .map(l -> l.groupId()).collect(Collectors.toSet());
                assertTrue(consumerGroups.contains(group), "listConsumerGroups shows " + group);

                ConsumerGroupDescription d = get(admin.describeConsumerGroups(List.of(group)).all()).get(group);
                assertEquals(GroupState.STABLE, d.groupState());
                assertEquals(1, d.members().size());
                assertTrue(d.members().iterator().next().consumerId().startsWith("admin-test-member-"),
                           "member id is client.id + '-' + uuid: " + d.members().iterator().next().consumerId());
                assertEquals(Set.of(p0, p1), d.members().iterator().next().assignment().topicPartitions());

                assertInstanceOf(GroupNotEmptyException.class,
                                 failure(admin.deleteConsumerGroups(List.of(group)).all()));
            }
            assertEquals(Map.of(p0, 5L, p1, 5L), committed(admin, group));
            get(admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(2, "moved"))).all());
            Map<TopicPartition, OffsetAndMetadata> after = get(admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata());
            assertEquals(2, after.get(p0).offset());
            assertEquals("moved", after.get(p0).metadata());
            get(admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all());
            assertEquals(Map.of(p0, 2L), committed(admin, group));

            ConsumerGroupDescription empty = get(admin.describeConsumerGroups(List.of(group)).all()).get(group);
            assertEquals(GroupState.EMPTY, empty.groupState());
            get(admin.deleteConsumerGroups(List.of(group)).all());
            assertInstanceOf(GroupIdNotFoundException.class,
                             failure(admin.deleteConsumerGroups(List.of(group)).all()));
        }
    }

    private static Map<TopicPartition, Long> committed(Admin admin, String group) throws Exception {
        return get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()).entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    @Test
    void describeConfigsOfATopic() throws Exception {
        String topic = Sluice.unique("java-configs");
        try (Admin admin = Sluice.admin()) {
            get(admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                    .configs(Map.of("retention.ms", "3600000")))).all());
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            KafkaFuture<Map<ConfigResource, Config>> f = admin.describeConfigs(List.of(resource)).all();
            if (Expectations.servesDescribeConfigs()) {
                assertEquals("3600000", get(f).get(resource).get("retention.ms").value());
            } else {
                long start = System.nanoTime();
                Throwable cause = failure(f);
                System.out.printf("DescribeConfigs not served: failed after %d ms: %s%n",
                                  (System.nanoTime() - start) / 1_000_000, cause);
                assertInstanceOf(UnsupportedVersionException.class, cause);
            }
        }
    }
}

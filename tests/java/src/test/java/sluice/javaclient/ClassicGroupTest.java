// A consumer group on the classic protocol: two consumers split the partitions
// when the second joins, the survivor takes all back when one leaves (by
// LeaveGroup, well before the session would expire), and commits carry each
// partition's position from one member to the next.
package sluice.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ClassicGroupTest {
    static final int PARTITIONS = 4;
    static final int PER_PARTITION = 10;
    /** Longer than the test waits for the leave to rebalance: a rebalance in
     * time proves LeaveGroup did it, not the session's expiry. */
    static final int SESSION_TIMEOUT_MS = 45000;
    /** Consumers whose last commit fell into a rebalance. */
    private final Set<KafkaConsumer<String, String>> uncommitted = new HashSet<>();

    @ParameterizedTest(name = "assignor {0}")
    @ValueSource(strings = {"range", "cooperative-sticky"})
    void joinAndLeaveRebalanceAndCommitsCarryOver(String assignor) throws Exception {
        String topic = Sluice.unique("java-classic");
        String group = Sluice.unique("java-classic-group");
        Sluice.createTopic(topic, PARTITIONS);
        Map<String, Object> settings = Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic",
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignorClass(assignor),
                ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SESSION_TIMEOUT_MS,
                ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000,
                ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 60000);
        try (KafkaProducer<String, String> producer = Sluice.producer(Map.of());
             KafkaConsumer<String, String> first = Sluice.consumer(settings)) {
            produceRound(producer, topic, "r1");
            first.subscribe(List.of(topic));
            assertRound("r1", consumeRound(List.of(first)));
            assertEquals(PARTITIONS, first.assignment().size(), "a lone member owns every partition");

            produceRound(producer, topic, "r2");
            List<ConsumerRecord<String, String>> secondRound = new ArrayList<>();
            try (KafkaConsumer<String, String> second = Sluice.consumer(settings)) {
                second.subscribe(List.of(topic));
                List<KafkaConsumer<String, String>> both = List.of(first, second);
                boolean split = Sluice.eventually(
                        () -> !first.assignment().isEmpty() && !second.assignment().isEmpty()
                              && disjointCover(first.assignment(), second.assignment()),
                        () -> secondRound.addAll(pollAndCommit(both)));
                assertTrue(split, "two members split the partitions: " + Sluice.describe(first.assignment())
                                  + " / " + Sluice.describe(second.assignment()));
                secondRound.addAll(consumeRound(both, PARTITIONS * PER_PARTITION - distinct(secondRound)));
                assertEquals(PARTITIONS * PER_PARTITION, distinct(secondRound), "round 2 read whole");
                assertTrue(Sluice.eventually(uncommitted::isEmpty, () -> pollAndCommit(both)),
                           "both members commit once the group is stable");
                describeGroup(group, 2, assignor);
            }
            boolean back = Sluice.eventually(() -> first.assignment().size() == PARTITIONS,
                                             () -> pollAndCommit(List.of(first)));
            assertTrue(back, "the survivor owns every partition after the other left");

            produceRound(producer, topic, "r3");
            assertRound("r3", consumeRound(List.of(first)));
            describeGroup(group, 1, assignor);
        }
        try (Admin admin = Sluice.admin()) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(Sluice.CALL_TIMEOUT_S, TimeUnit.SECONDS);
            for (TopicPartition tp : Sluice.partitions(topic, PARTITIONS))
                assertEquals(3L * PER_PARTITION, committed.get(tp).offset(), "commit of " + tp);
        }
    }

    private static String assignorClass(String name) {
        return name.equals("range") ? "org.apache.kafka.clients.consumer.RangeAssignor"
                                    : "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
    }

    private static void produceRound(KafkaProducer<String, String> producer, String topic, String round)
            throws Exception {
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++)
            for (int i = 0; i < PER_PARTITION; i++)
                records.add(new ProducerRecord<>(topic, p, round + "-" + p + "-" + i, round));
        Sluice.produceAll(producer, records);
    }

    /** Polls every consumer once and commits what each got. A commit during a
     * rebalance fails with RebalanceInProgressException (the client's rule, as
     * with Kafka); the next poll finishes the rebalance and a later commit
     * covers the position. */
    private List<ConsumerRecord<String, String>> pollAndCommit(List<KafkaConsumer<String, String>> consumers) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        for (KafkaConsumer<String, String> c : consumers) {
            c.poll(Sluice.POLL).forEach(got::add);
            try {
                c.commitSync();
            } catch (RebalanceInProgressException e) {
                uncommitted.add(c);
                continue;
            }
            uncommitted.remove(c);
        }
        return got;
    }

    private List<ConsumerRecord<String, String>> consumeRound(List<KafkaConsumer<String, String>> consumers) {
        return consumeRound(consumers, PARTITIONS * PER_PARTITION);
    }

    private List<ConsumerRecord<String, String>> consumeRound(List<KafkaConsumer<String, String>> consumers,
                                                                     int count) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        Sluice.eventually(() -> distinct(got) >= count, () -> got.addAll(pollAndCommit(consumers)));
        return got;
    }

    /** A round read exactly once: every record of it, none twice, none of another round. */
    private static void assertRound(String round, List<ConsumerRecord<String, String>> got) {
        assertEquals(PARTITIONS * PER_PARTITION, got.size(), "records of " + round);
        assertEquals(PARTITIONS * PER_PARTITION, distinct(got), "distinct records of " + round);
        for (ConsumerRecord<String, String> r : got)
            assertEquals(round, r.value(), "record " + r.key() + " from an earlier round: commits lost");
    }

    private static int distinct(List<ConsumerRecord<String, String>> records) {
        return records.stream().map(ConsumerRecord::key).collect(Collectors.toSet()).size();
    }

    private static boolean disjointCover(Set<TopicPartition> a, Set<TopicPartition> b) {
        Set<TopicPartition> union = new HashSet<>(a);
        union.addAll(b);
        return union.size() == PARTITIONS && a.size() + b.size() == PARTITIONS;
    }

    private static void describeGroup(String group, int members, String assignor) throws Exception {
        try (Admin admin = Sluice.admin()) {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                    .get(Sluice.CALL_TIMEOUT_S, TimeUnit.SECONDS).get(group);
            assertEquals(GroupState.STABLE, d.groupState(), "group state");
            assertEquals(members, d.members().size(), "members");
            assertEquals(assignor, d.partitionAssignor(), "assignor");
            int assigned = d.members().stream().mapToInt(m -> m.assignment().topicPartitions().size()).sum();
            assertEquals(PARTITIONS, assigned, "partitions assigned over the members");
        }
    }
}

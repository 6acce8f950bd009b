// A consumer group on the `consumer` protocol (KIP-848, group.protocol=consumer).
// Until sluice serves ConsumerGroupHeartbeat, the client must see a clear error
// quickly, not hang; once sluice advertises it (Expectations), the same test
// runs the real flow: two members split the partitions and read every record.
package sluice.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.Test;

class ConsumerProtocolGroupTest {
    static final int PARTITIONS = 4;
    static final int RECORDS = 80;
    /** A client that learns the protocol is missing says so within this, not
     * after a session or poll timeout. */
    static final Duration CLEAR_ERROR_WITHIN = Duration.ofSeconds(20);

    @Test
    void consumerProtocolGroup() throws Exception {
        String topic = Sluice.unique("java-kip848");
        Sluice.createTopic(topic, PARTITIONS);
        Map<String, Object> settings = Map.of(ConsumerConfig.GROUP_ID_CONFIG, Sluice.unique("java-kip848-group"),
                                              ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        if (Expectations.servesConsumerGroupProtocol())
            twoMembersShareTheTopic(topic, settings);
        else
            missingProtocolIsAClearQuickError(topic, settings);
    }

    private static void missingProtocolIsAClearQuickError(String topic, Map<String, Object> settings) {
        try (KafkaConsumer<String, String> consumer = Sluice.consumer(settings)) {
            consumer.subscribe(List.of(topic));
            long start = System.nanoTime();
            UnsupportedVersionException e = assertThrows(UnsupportedVersionException.class, () -> {
                long deadline = start + CLEAR_ERROR_WITHIN.toNanos();
                while (System.nanoTime() < deadline)
                    consumer.poll(Sluice.POLL);
            }, "poll() must fail with UnsupportedVersionException within " + CLEAR_ERROR_WITHIN);
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("KIP-848 not served: poll() failed after %d ms: %s%n", tookMs, e.getMessage());
            assertTrue(e.getMessage().contains("CONSUMER group protocol"), "message names the protocol: " + e.getMessage());
        }
    }

    private static void twoMembersShareTheTopic(String topic, Map<String, Object> settings) throws Exception {
        try (KafkaProducer<String, String> producer = Sluice.producer(Map.of())) {
            List<ProducerRecord<String, String>> records = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++)
                records.add(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "v" + i));
            Sluice.produceAll(producer, records);
        }
        try (KafkaConsumer<String, String> a = Sluice.consumer(settings);
             KafkaConsumer<String, String> b = Sluice.consumer(settings)) {
            a.subscribe(List.of(topic));
            b.subscribe(List.of(topic));
            Set<String> keys = new HashSet<>();
            boolean done = Sluice.eventually(() -> {
                Set<TopicPartition> union = new HashSet<>(a.assignment());
                union.addAll(b.assignment());
                return keys.size() == RECORDS && !a.assignment().isEmpty() && !b.assignment().isEmpty()
                       && union.size() == PARTITIONS;
            }, () -> {
                for (KafkaConsumer<String, String> c : List.of(a, b))
                    for (ConsumerRecord<String, String> r : c.poll(Sluice.POLL))
                        keys.add(r.key());
            });
            assertTrue(done, "two members split " + PARTITIONS + " partitions and read " + RECORDS
                             + " records; got " + keys.size() + ", " + Sluice.describe(a.assignment())
                             + " / " + Sluice.describe(b.assignment()));
            Set<TopicPartition> overlap = new HashSet<>(a.assignment());
            overlap.retainAll(b.assignment());
            assertFalse(overlap.iterator().hasNext(), "no partition owned twice: " + overlap);
            assertEquals(RECORDS, keys.size());
        }
    }
}

// The Java producer/consumer flow: N records with each codec, read back whole
// (key, value, header, timestamp) by assignment and by subscription in a group,
// with the group's commits landing on the log end.
package sluice.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProduceConsumeTest {
    static final int RECORDS = 600;
    static final int PARTITIONS = 3;
    /** Fixed, so the test can check the broker kept the producer's CreateTime. */
    static final long TIMESTAMP_BASE_MS = 1_700_000_000_000L;

    @ParameterizedTest(name = "codec {0}, acks {1}")
    @CsvSource({"none,all", "gzip,all", "snappy,1", "lz4,all", "zstd,1"})
    void everyRecordComesBackByAssignAndBySubscribe(String codec, String acks) throws Exception {
        String topic = Sluice.unique("java-" + codec);
        Sluice.createTopic(topic, PARTITIONS);
        Map<String, Object> settings = Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                                              ProducerConfig.ACKS_CONFIG, acks,
                                              ProducerConfig.LINGER_MS_CONFIG, 5);
        try (KafkaProducer<String, String> producer = Sluice.producer(settings)) {
            List<ProducerRecord<String, String>> records = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++) {
                RecordHeaders headers = new RecordHeaders();
                headers.add("n", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                records.add(new ProducerRecord<>(topic, i % PARTITIONS, TIMESTAMP_BASE_MS + i,
                                                 "k" + i, "value-" + i + "-" + codec, headers));
            }
            Sluice.produceAll(producer, records);
        }

        try (KafkaConsumer<String, String> byAssign = Sluice.consumer(Map.of())) {
            byAssign.assign(Sluice.partitions(topic, PARTITIONS));
            byAssign.seekToBeginning(byAssign.assignment());
            checkAll(codec, Sluice.pollRecords(byAssign, RECORDS));
        }

        String group = Sluice.unique("java-group");
        try (KafkaConsumer<String, String> inGroup =
                     Sluice.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group))) {
            inGroup.subscribe(List.of(topic));
            checkAll(codec, Sluice.pollRecords(inGroup, RECORDS));
            inGroup.commitSync();
        }
        try (Admin admin = Sluice.admin()) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(Sluice.CALL_TIMEOUT_S, TimeUnit.SECONDS);
            Map<TopicPartition, Long> offsets = committed.entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
            Map<TopicPartition, Long> expected = new HashMap<>();
            for (TopicPartition tp : Sluice.partitions(topic, PARTITIONS))
                expected.put(tp, (long) (RECORDS / PARTITIONS));
            assertEquals(expected, offsets, "the group's commits are the log ends");
        }
    }

    /** Every record exactly once, as produced, in offset order per partition. */
    private static void checkAll(String codec, List<ConsumerRecord<String, String>> got) {
        assertEquals(RECORDS, got.size(), "records consumed");
        Set<String> keys = got.stream().map(ConsumerRecord::key).collect(Collectors.toSet());
        assertEquals(RECORDS, keys.size(), "distinct keys");
        Map<Integer, Long> nextOffset = new HashMap<>();
        for (ConsumerRecord<String, String> r : got) {
            int i = Integer.parseInt(r.key().substring(1));
            assertEquals("value-" + i + "-" + codec, r.value());
            assertEquals(i % PARTITIONS, r.partition());
            assertEquals(TIMESTAMP_BASE_MS + i, r.timestamp());
            assertEquals(Integer.toString(i),
                         new String(r.headers().lastHeader("n").value(), StandardCharsets.UTF_8));
            long expectedOffset = nextOffset.getOrDefault(r.partition(), 0L);
            assertEquals(expectedOffset, r.offset(), "offsets dense and in order");
            assertEquals((long) (i / PARTITIONS), r.offset(), "record i lands at offset i/partitions");
            nextOffset.put(r.partition(), expectedOffset + 1);
        }
    }
}

// The producer with Kafka's defaults: since 3.0 that means enable.idempotence=true
// and acks=all, so the producer's first act is InitProducerId. Until sluice
// serves it (the exactly-once issue) the send must fail clearly and quickly;
// once sluice advertises it (Expectations) the same test checks the records
// land, once each, with a producer id on their batches.
package sluice.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class ProducerDefaultsTest {
    static final int RECORDS = 50;
    /** Far below the default delivery.timeout.ms (120 s): the failure must come
     * from the broker's answer, not from the producer giving up. */
    static final Duration CLEAR_ERROR_WITHIN = Duration.ofSeconds(30);

    /** Only what a user must give: the address and the serializers. */
    private static KafkaProducer<String, String> defaultProducer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, Sluice.bootstrap());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    @Test
    void defaultProducerIsIdempotent() throws Exception {
        String topic = Sluice.unique("java-defaults");
        Sluice.createTopic(topic, 1);
        if (Expectations.servesIdempotentProducer())
            recordsLandOnce(topic);
        else
            missingInitProducerIdIsAClearQuickError(topic);
    }

    private static void missingInitProducerIdIsAClearQuickError(String topic) {
        long start = System.nanoTime();
        try (KafkaProducer<String, String> producer = defaultProducer()) {
            // send() throws once the failed InitProducerId has put the producer in
            // its error state; before that, the record's future fails.
            Exception e = assertThrows(Exception.class,
                    () -> producer.send(new ProducerRecord<>(topic, "k", "v"))
                                  .get(CLEAR_ERROR_WITHIN.toSeconds(), TimeUnit.SECONDS),
                    "the default producer must fail within " + CLEAR_ERROR_WITHIN);
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("InitProducerId not served: default producer failed after %d ms: %s%n", tookMs, e);
            assertFalse(e instanceof TimeoutException, "the producer hung: " + e);
            Throwable cause = e;
            while (cause != null && !(cause instanceof UnsupportedVersionException))
                cause = cause.getCause();
            assertNotNull(cause, "the failure names the missing API: " + e);
            assertTrue(cause.getMessage().contains("INIT_PRODUCER_ID"), cause.getMessage());
        }
    }

    private static void recordsLandOnce(String topic) throws Exception {
        try (KafkaProducer<String, String> producer = defaultProducer()) {
            List<ProducerRecord<String, String>> records = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++)
                records.add(new ProducerRecord<>(topic, 0, "k" + i, "v" + i));
            Sluice.produceAll(producer, records);
        }
        try (KafkaConsumer<String, String> consumer = Sluice.consumer(Map.of())) {
            consumer.assign(Sluice.partitions(topic, 1));
            List<ConsumerRecord<String, String>> got = Sluice.pollRecords(consumer, RECORDS);
            assertEquals(RECORDS, got.size());
            for (int i = 0; i < RECORDS; i++) {
                assertEquals("k" + i, got.get(i).key());
                assertEquals(i, got.get(i).offset());
            }
        }
    }
}

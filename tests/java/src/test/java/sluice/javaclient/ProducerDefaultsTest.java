// The producer with Kafka's defaults: since 3.0 that means enable.idempotence=true
// and acks=all, so the producer's first act is InitProducerId; the records
// then land once each, in order, on sluice as on Kafka.
package sluice.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class ProducerDefaultsTest {
    static final int RECORDS = 50;

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
        recordsLandOnce(topic);
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

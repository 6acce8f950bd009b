// The broker under test and the client settings every test starts from: the
// address comes from -Dsluice.bootstrap or SLUICE_BOOTSTRAP, and a run without
// one fails instead of skipping.
package sluice.javaclient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

final class Sluice {
    /** Bound on one admin call or one producer flush; generous for a shared machine. */
    static final long CALL_TIMEOUT_S = 30;
    /** Bound on a consumer loop waiting for records or an assignment. */
    static final Duration WAIT = Duration.ofSeconds(60);
    static final Duration POLL = Duration.ofMillis(100);

    private Sluice() {}

    static String bootstrap() {
        String address = System.getProperty("sluice.bootstrap", "");
        if (address.isEmpty())
            address = System.getenv().getOrDefault("SLUICE_BOOTSTRAP", "");
        if (address.isEmpty())
            throw new IllegalStateException("no broker: set -Dsluice.bootstrap=HOST:PORT or SLUICE_BOOTSTRAP");
        return address;
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(CALL_TIMEOUT_S));
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        return Admin.create(p);
    }

    static void createTopic(String topic, int partitions) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
                 .all().get(CALL_TIMEOUT_S, TimeUnit.SECONDS);
        }
    }

    static List<TopicPartition> partitions(String topic, int count) {
        return IntStream.range(0, count).mapToObj(i -> new TopicPartition(topic, i))
                        .collect(Collectors.toList());
    }

    /** A producer with the client's defaults (idempotent unless `extra` asks
     * for acks that rule it out), plus the given settings. */
    static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30000);
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    /** Sends every record and waits until all are acknowledged. */
    static void produceAll(KafkaProducer<String, String> producer, List<ProducerRecord<String, String>> records)
            throws Exception {
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        for (ProducerRecord<String, String> r : records)
            sent.add(producer.send(r));
        producer.flush();
        for (java.util.concurrent.Future<?> f : sent)
            f.get(CALL_TIMEOUT_S, TimeUnit.SECONDS);
    }

    static KafkaConsumer<String, String> consumer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        p.putAll(extra);
        return new KafkaConsumer<>(p);
    }

    /** Polls until `count` records arrived or WAIT passed; returns what came. */
    static List<ConsumerRecord<String, String>> pollRecords(KafkaConsumer<String, String> consumer, int count) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (got.size() < count && System.nanoTime() < deadline)
            consumer.poll(POLL).forEach(got::add);
        return got;
    }

    /** Waits (bounded) until the condition holds; polling is the caller's. */
    static boolean eventually(BooleanSupplier condition, Runnable step) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean())
                return true;
            step.run();
        }
        return condition.getAsBoolean();
    }

    static String describe(Collection<?> items) {
        return items.stream().map(Object::toString).sorted().collect(Collectors.joining(","));
    }
}

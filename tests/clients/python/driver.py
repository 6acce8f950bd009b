"""The PyPI Python clients' driver for tests/integration/test_modern_clients.py,
run by the virtualenv's python (scripts/install-clients.sh):

    driver.py CLIENT SCENARIO BOOTSTRAP TOPIC [ARG]

CLIENT is confluent-kafka or kafka-python; SCENARIO is produce CODEC, group
GROUP, times, admin, ops, produce_default or produce_idempotent. Prints one
JSON line of results."""
import json
import sys
import threading
import time

PER_ACKS = 60
PARTITIONS = 3
TIMES_BASE = 1_000_000
TIMES_COUNT = 10
GROUP_MESSAGES = 200
GROUP_PARTITIONS = 4
WAIT_S = 60
# Records the idempotent scenario sends, in order, to partition 0.
IDEMPOTENT_RECORDS = 500
# A group run lasts this long past the balance, so members heartbeat
# (every 500 ms) and the Heartbeat versions are on the wire.
MEMBERSHIP_MIN_S = 1.5


def produce_set(acks):
    """What the produce scenario sends at one acks level (as the Go drivers)."""
    return [(i % PARTITIONS, "k%d" % i, "%d-%d-%s" % (acks, i, "x" * (i % 50)), ("n", str(i)))
            for i in range(PER_ACKS)]


def done(result):
    print(json.dumps(result))
    sys.exit(0)


class Confluent:
    """confluent-kafka 2.x (its bundled librdkafka)."""

    def __init__(self, bootstrap):
        import confluent_kafka
        from confluent_kafka import admin
        self.ck, self.admin_mod, self.bootstrap = confluent_kafka, admin, bootstrap
        self.admin = admin.AdminClient({"bootstrap.servers": bootstrap})

    def produce(self, topic, codec):
        ck = self.ck
        for acks in (0, 1, -1):
            p = ck.Producer({"bootstrap.servers": self.bootstrap, "acks": acks, "linger.ms": 5,
                             "compression.type": codec, "enable.idempotence": False})
            errors = []
            for part, key, value, header in produce_set(acks):
                p.produce(topic, key=key, value=value, partition=part, headers=[header],
                          on_delivery=lambda err, _msg: err and errors.append(str(err)))
            assert p.flush(30) == 0, "messages left unsent"
            assert not errors, errors
        c = ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": "unused",
                         "enable.auto.commit": False})
        c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got, deadline = [], time.time() + WAIT_S
        while len(got) < 3 * PER_ACKS and time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise RuntimeError(str(m.error()))
            got.append({"p": m.partition(), "o": m.offset(), "k": m.key().decode(),
                        "v": m.value().decode(),
                        "h": [[k, v.decode()] for k, v in (m.headers() or [])]})
        c.close()
        done({"records": got})

    def group(self, topic, group):
        ck = self.ck
        conf = {"bootstrap.servers": self.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                "enable.auto.commit": False, "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500}
        members = [ck.Consumer(conf), ck.Consumer(conf)]
        for m in members:
            m.subscribe([topic])
        values, balanced, deadline = set(), None, time.time() + WAIT_S
        positions = [{}, {}]
        while time.time() < deadline and not group_done(balanced, values, owned_now(members), positions):
            for i, m in enumerate(members):
                msg = m.poll(0.1)
                if msg is not None and not msg.error():
                    values.add(msg.value().decode())
                    positions[i][msg.partition()] = msg.offset() + 1
            owned = owned_now(members)
            if balanced is None and all(owned) and len(owned[0]) + len(owned[1]) == GROUP_PARTITIONS:
                balanced = owned + [time.time()]
        for m in members:
            if m.assignment():
                m.commit(asynchronous=False)
        for m in members:
            m.close()
        groups = self.admin.list_consumer_groups().result(30)
        described = self.admin.describe_consumer_groups([group])[group].result(30)
        spec = [ck.ConsumerGroupTopicPartitions(group)]
        offsets = self.admin.list_consumer_group_offsets(spec)[group].result(30)
        self.admin.delete_consumer_groups([group])[group].result(30)
        after = self.admin.list_consumer_groups().result(30)
        done({"values": sorted(values), "balanced": balanced[:2],
              "groups": [g.group_id for g in groups.valid], "state": described.state.name,
              "protocol_type": "consumer" if not described.is_simple_consumer_group else "",
              "committed": {str(tp.partition): tp.offset for tp in offsets.topic_partitions},
              "after_delete": [g.group_id for g in after.valid]})

    def times(self, topic):
        ck = self.ck
        p = ck.Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 200,
                         "compression.type": "lz4", "enable.idempotence": False})
        for i in range(TIMES_COUNT):
            p.produce(topic, value=b"%d" % i, partition=0, timestamp=TIMES_BASE + 1000 * i)
        assert p.flush(30) == 0
        c = ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": "unused"})

        def at(ms):
            return c.offsets_for_times([ck.TopicPartition(topic, 0, ms)], timeout=10)[0].offset
        lo, hi = c.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10)
        result = {"exact": at(TIMES_BASE + 5000), "between": at(TIMES_BASE + 4500),
                  "future": at(int(time.time() * 1000) + 3_600_000), "earliest": lo, "latest": hi}
        c.close()
        done(result)

    def _error(self, future):
        try:
            future.result(30)
            return ""
        except self.ck.KafkaException as e:
            return e.args[0].name()

    def admin_scenario(self, topic):
        New = self.admin_mod.NewTopic
        created = self._error(self.admin.create_topics(
            [New(topic, 2, 1, config={"retention.ms": "3600000"})])[topic])
        again = self._error(self.admin.create_topics([New(topic, 2, 1)])[topic])
        bad_rf = self._error(self.admin.create_topics([New(topic + "-rf", 1, 3)])[topic + "-rf"])
        md = self.admin.list_topics(timeout=10)
        deleted = self._error(self.admin.delete_topics([topic])[topic])
        after = topic in self.admin.list_topics(timeout=10).topics
        done({"created": created, "again": again, "bad_rf": bad_rf,
              "partitions": len(md.topics[topic].partitions), "deleted": deleted, "after": after})

    def ops(self, topic):
        """The operator's admin calls on TOPIC (2 partitions): see ops_result."""
        adm, ck = self.admin_mod, self.ck
        grown = self._error(self.admin.create_partitions([adm.NewPartitions(topic, 4)])[topic])
        lower = self._error(self.admin.create_partitions([adm.NewPartitions(topic, 3)])[topic])
        partitions = eventually(lambda: len(self.admin.list_topics(topic, timeout=10)
                                            .topics[topic].partitions), 4)
        resource = adm.ConfigResource(adm.ResourceType.TOPIC, topic)

        def topic_config(key):
            return self.admin.describe_configs([resource])[resource].result(30)[key].value
        default = topic_config("retention.ms")
        entry = adm.ConfigEntry("retention.ms", str(OPS_RETENTION_MS),
                                incremental_operation=adm.AlterConfigOpType.SET)
        altered = self._error(self.admin.incremental_alter_configs(
            [adm.ConfigResource(adm.ResourceType.TOPIC, topic, incremental_configs=[entry])])[resource])
        retention = eventually(lambda: topic_config("retention.ms"), str(OPS_RETENTION_MS))
        bad = adm.ConfigEntry("retention.ms", "abc", incremental_operation=adm.AlterConfigOpType.SET)
        bad_config = self._error(self.admin.incremental_alter_configs(
            [adm.ConfigResource(adm.ResourceType.TOPIC, topic, incremental_configs=[bad])])[resource])
        cluster = self.admin.describe_cluster().result(30)
        broker = adm.ConfigResource(adm.ResourceType.BROKER, str(cluster.nodes[0].id))
        num_partitions = self.admin.describe_configs([broker])[broker].result(30)["num.partitions"].value
        done(ops_result(grown, lower, partitions, default, altered, retention, bad_config,
                        num_partitions, len(cluster.nodes), cluster.cluster_id,
                        controller=cluster.controller.id if cluster.controller else None))

    def produce_default(self, topic):
        p = self.ck.Producer({"bootstrap.servers": self.bootstrap, "message.timeout.ms": 15000})
        errors = []
        p.produce(topic, value=b"default", on_delivery=lambda err, _m: errors.append(err))
        p.flush(20)
        done({"produce_error": errors[0].name() if errors and errors[0] else ""})

    def produce_idempotent(self, topic):
        p = self.ck.Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True,
                              "message.timeout.ms": 30000, "linger.ms": 2})
        errors = []
        for i in range(IDEMPOTENT_RECORDS):
            p.produce(topic, value=b"%d" % i, partition=0,
                      on_delivery=lambda err, _m: err and errors.append(err))
            p.poll(0)
        p.flush(40)
        done({"produce_error": errors[0].name() if errors else "", "sent": IDEMPOTENT_RECORDS})


class KafkaPython:
    """kafka-python 3.x."""

    def __init__(self, bootstrap):
        import kafka
        from kafka import admin
        self.kafka, self.admin_mod, self.bootstrap = kafka, admin, bootstrap

    def produce(self, topic, codec):
        kafka = self.kafka
        for acks in (0, 1, -1):
            p = kafka.KafkaProducer(bootstrap_servers=self.bootstrap, acks=acks,
                                    compression_type=None if codec == "none" else codec,
                                    enable_idempotence=False)
            futures = [p.send(topic, key=key.encode(), value=value.encode(), partition=part,
                              headers=[(header[0], header[1].encode())])
                       for part, key, value, header in produce_set(acks)]
            p.flush(30)
            for f in futures:
                f.get(30)
            p.close()
        c = kafka.KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
        c.assign([kafka.TopicPartition(topic, p) for p in range(PARTITIONS)])
        got, deadline = [], time.time() + WAIT_S
        while len(got) < 3 * PER_ACKS and time.time() < deadline:
            for records in c.poll(timeout_ms=500).values():
                got.extend({"p": r.partition, "o": r.offset, "k": r.key.decode(), "v": r.value.decode(),
                            "h": [[k, v.decode()] for k, v in r.headers]} for r in records)
        c.close()
        done({"records": got})

    def group(self, topic, group):
        kafka = self.kafka
        members = [kafka.KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=group,
                                       client_id=f"{group}-{i}", enable_auto_commit=False,
                                       auto_offset_reset="earliest", session_timeout_ms=6000,
                                       heartbeat_interval_ms=500)
                   for i in range(2)]
        # The topic's metadata after subscribing and before joining:
        # kafka-python 3.0.12 keeps a snapshot of the subscribed topics'
        # partitions, refreshed only when a metadata answer arrives. A leader
        # whose snapshot is still empty when it assigns rejoins at the next
        # answer and then spins in poll() without heartbeating until its
        # session times out (its debug log: "need_rejoin: True
        # (assignment_snapshot != metadata_snapshot: {} != {'g': {0, 1, 2,
        # 3}})", about one run in 25 under ASan). topics() always asks the
        # broker, so the snapshot is filled before the first poll() joins.
        for m in members:
            m.subscribe([topic])
            assert topic in m.topics()
        # One thread each: a kafka-python member blocks in poll() while its
        # JoinGroup waits for the other member to join too.
        values, owned, positions, stop = set(), [[], []], [{}, {}], threading.Event()
        lock = threading.Lock()
        commit_errors = []

        def commit(i):
            # A commit that meets a rebalance (REBALANCE_IN_PROGRESS, as Kafka
            # answers while the group prepares one) is retried after a poll()
            # that completes the rebalance, as kafka-python's error asks; the
            # errors are kept for the test's message.
            deadline = time.time() + WAIT_S
            while True:
                try:
                    members[i].commit()
                    return
                except (kafka.errors.RebalanceInProgressError, kafka.errors.CommitFailedError) as e:
                    with lock:
                        commit_errors.append("member %d: %s" % (i, type(e).__name__))
                    if time.time() > deadline:
                        return
                    members[i].poll(timeout_ms=100)

        def run(i):
            while not stop.is_set():
                for tp, records in members[i].poll(timeout_ms=100).items():
                    with lock:
                        values.update(r.value.decode() for r in records)
                        positions[i][tp.partition] = records[-1].offset + 1
                with lock:
                    owned[i] = sorted(tp.partition for tp in members[i].assignment())
            commit(i)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        balanced, deadline = None, time.time() + WAIT_S
        while time.time() < deadline:
            with lock:
                if group_done(balanced, values, owned, positions):
                    break
                if balanced is None and all(owned) and len(owned[0]) + len(owned[1]) == GROUP_PARTITIONS:
                    balanced = [list(o) for o in owned] + [time.time()]
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(WAIT_S)
        for m in members:
            m.close()
        admin = self.admin_mod.KafkaAdminClient(bootstrap_servers=self.bootstrap)
        groups = admin.list_groups()
        described = admin.describe_groups([group])
        offsets = admin.list_group_offsets({group: None})[group]
        admin.delete_group_offsets(group, [kafka.TopicPartition(topic, 0)])
        after_offsets = admin.list_group_offsets({group: None})[group]
        admin.delete_groups([group])
        after = admin.list_groups()
        admin.close()
        done({"values": sorted(values), "balanced": balanced[:2],
              "groups": [_field(g, "group_id") for g in groups],
              "state": _field(described[group], "group_state"),
              "protocol_type": _field(described[group], "protocol_type"),
              "committed": {str(tp.partition): om.offset for tp, om in offsets.items()},
              "commit_errors": commit_errors,
              "after_offset_delete": sorted(tp.partition for tp in after_offsets),
              "after_delete": [_field(g, "group_id") for g in after]})

    def times(self, topic):
        kafka = self.kafka
        p = kafka.KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=200,
                                compression_type="lz4", enable_idempotence=False)
        for i in range(TIMES_COUNT):
            p.send(topic, value=b"%d" % i, partition=0, timestamp_ms=TIMES_BASE + 1000 * i)
        p.flush(30)
        p.close()
        c = kafka.KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        tp = kafka.TopicPartition(topic, 0)

        def at(ms):
            found = c.offsets_for_times({tp: ms})[tp]
            return -1 if found is None else found.offset
        result = {"exact": at(TIMES_BASE + 5000), "between": at(TIMES_BASE + 4500),
                  "future": at(int(time.time() * 1000) + 3_600_000),
                  "earliest": c.beginning_offsets([tp])[tp], "latest": c.end_offsets([tp])[tp]}
        c.close()
        done(result)

    def admin_scenario(self, topic):
        Errors = self.kafka.errors
        New = self.admin_mod.NewTopic
        admin = self.admin_mod.KafkaAdminClient(bootstrap_servers=self.bootstrap)

        def error(call, *args):
            try:
                call(*args)
                return ""
            except Errors.KafkaError as e:
                return type(e).__name__
        created = error(admin.create_topics, [New(topic, 2, 1, topic_configs={"retention.ms": "3600000"})])
        again = error(admin.create_topics, [New(topic, 2, 1)])
        bad_rf = error(admin.create_topics, [New(topic + "-rf", 1, 3)])
        described = admin.describe_topics([topic])
        deleted = error(admin.delete_topics, [topic])
        after = topic in admin.list_topics()
        admin.close()
        done({"created": created, "again": again, "bad_rf": bad_rf,
              "partitions": len(described[0]["partitions"]), "deleted": deleted, "after": after})

    def ops(self, topic):
        """The operator's admin calls on TOPIC (2 partitions): see ops_result."""
        Errors, adm = self.kafka.errors, self.admin_mod
        admin = adm.KafkaAdminClient(bootstrap_servers=self.bootstrap)

        def error(call, *args, **kwargs):
            try:
                call(*args, **kwargs)
                return ""
            except Errors.KafkaError as e:
                return type(e).__name__
        grown = error(admin.create_partitions, {topic: 4})
        lower = error(admin.create_partitions, {topic: 3})
        partitions = eventually(lambda: len(admin.describe_topics([topic])[0]["partitions"]), 4)
        topic_type = adm.ConfigResourceType.TOPIC

        def topic_config(key):
            got = admin.describe_configs([adm.ConfigResource(topic_type, topic)], config_filter="all")
            return got["topic"][topic][key]["value"]
        default = topic_config("retention.ms")

        def alter(value):
            """kafka-python reports each resource as "OK" or "[Error N] Name: message"."""
            outcome = admin.alter_configs([adm.ConfigResource(topic_type, topic,
                                                              configs={"retention.ms": value})],
                                          raise_on_unknown=False)["topic"][topic]
            return "" if outcome == "OK" else outcome.split("] ", 1)[-1].split(":", 1)[0]
        altered = alter(str(OPS_RETENTION_MS))
        retention = eventually(lambda: topic_config("retention.ms"), str(OPS_RETENTION_MS))
        bad_config = alter("abc")
        cluster = admin.describe_cluster()
        broker_id = str(cluster["brokers"][0]["broker_id"])
        got = admin.describe_configs([adm.ConfigResource(adm.ConfigResourceType.BROKER, broker_id)],
                                     config_filter="all")
        num_partitions = got["broker"][broker_id]["num.partitions"]["value"]
        logdirs = admin.describe_log_dirs([topic])
        logdir_partitions = sorted(p["partition_index"] for d in logdirs[0]["log_dirs"]
                                   for t in d["topics"] if t["name"] == topic for p in t["partitions"])
        elect = admin.elect_leaders(0, {topic: [0]}, raise_errors=False)
        elected = [p.error_code for r in elect.replica_election_results for p in r.partition_result]
        admin.close()
        done(ops_result(grown, lower, partitions, default, altered, retention, bad_config,
                        num_partitions, len(cluster["brokers"]), cluster["cluster_id"],
                        controller=cluster["controller_id"], logdir_partitions=logdir_partitions,
                        elect_codes=elected))

    def produce_default(self, topic):
        p = self.kafka.KafkaProducer(bootstrap_servers=self.bootstrap, request_timeout_ms=10000,
                                     max_block_ms=15000, delivery_timeout_ms=15000)
        try:
            p.send(topic, value=b"default").get(20)
            error = ""
        except Exception as e:  # the test shows whatever the client raises
            error = "%s: %s" % (type(e).__name__, e)
        p.close(5)
        done({"produce_error": error})

    def produce_idempotent(self, topic):
        """kafka-python 3's default is idempotent: nothing to turn on."""
        p = self.kafka.KafkaProducer(bootstrap_servers=self.bootstrap, request_timeout_ms=10000,
                                     max_block_ms=15000, delivery_timeout_ms=30000)
        error = ""
        try:
            futures = [p.send(topic, value=b"%d" % i, partition=0)
                       for i in range(IDEMPOTENT_RECORDS)]
            for f in futures:
                f.get(30)
        except Exception as e:  # the test shows whatever the client raises
            error = "%s: %s" % (type(e).__name__, e)
        p.close(5)
        done({"produce_error": error, "sent": IDEMPOTENT_RECORDS})


OPS_RETENTION_MS = 3_600_000


EVENTUALLY_WAIT_S = 10


def eventually(read, want):
    """read() until it returns want, for EVENTUALLY_WAIT_S at most: Kafka
    applies an admin change (new partitions, a config) a moment after it
    answers the request. Returns the last value read."""
    deadline = time.time() + EVENTUALLY_WAIT_S
    while True:
        got = read()
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.1)


def ops_result(grown, lower, partitions, retention_default, altered, retention, bad_config,
               broker_num_partitions, brokers, cluster_id, **more):
    """The ops scenario's JSON, the same keys in every driver: errors as the
    client names them ("" for none), config values as strings."""
    return dict({"grown": grown, "lower": lower, "partitions": partitions,
                 "retention_default": retention_default, "altered": altered,
                 "retention": retention, "bad_config": bad_config,
                 "broker_num_partitions": broker_num_partitions, "brokers": brokers,
                 "cluster_id": cluster_id}, **more)


def owned_now(members):
    return [sorted(tp.partition for tp in m.assignment()) for m in members]


def group_done(balanced, values, owned, positions):
    """Both members held partitions at once, every message was seen, and each
    member has consumed to the end of what it holds now, so its commit
    covers those partitions."""
    per_partition = GROUP_MESSAGES // GROUP_PARTITIONS
    return balanced is not None and time.time() - balanced[2] >= MEMBERSHIP_MIN_S and \
        len(values) >= GROUP_MESSAGES and all(
        positions[i].get(p) == per_partition for i in range(2) for p in owned[i])


def _field(obj, *names):
    """A field of a kafka-python admin result, a namedtuple or a dict."""
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    raise KeyError(f"none of {names} in {obj!r}")


def main():
    client, scenario, bootstrap, topic = sys.argv[1:5]
    arg = sys.argv[5] if len(sys.argv) > 5 else None
    c = {"confluent-kafka": Confluent, "kafka-python": KafkaPython}[client](bootstrap)
    try:
        if scenario == "admin":
            c.admin_scenario(topic)
        elif arg is not None:
            getattr(c, scenario)(topic, arg)
        else:
            getattr(c, scenario)(topic)
    except Exception as e:  # the test reads the failure from the JSON line
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        raise


if __name__ == "__main__":
    main()

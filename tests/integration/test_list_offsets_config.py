"""ListOffsets over the wire (latest, earliest, by time, max timestamp), topic
configs that survive a restart, and start-up refusing bad settings."""
import os
import subprocess

from conftest import SLUICE_BIN, run
from kafka_wire import Conn, list_offsets_v7, produce_v3, record_batch


def test_list_offsets_kinds(broker):
    c = Conn(broker.bootstrap)
    for i, ts in enumerate([5000, 9000, 7000]):
        assert produce_v3(c, "lo", 0, record_batch([b"a", b"b"], ts=ts)) == (0, 2 * i)
    assert list_offsets_v7(c, "lo", 0, -1)[2] == 6
    assert list_offsets_v7(c, "lo", 0, -2)[2] == 0
    err, ts, off = list_offsets_v7(c, "lo", 0, -3)
    assert (err, ts, off) == (0, 9000, 2)  # the first record with the max, as Kafka
    assert list_offsets_v7(c, "lo", 0, 8000)[1:] == (9000, 2)
    assert list_offsets_v7(c, "lo", 0, 10000)[1:] == (-1, -1)
    assert list_offsets_v7(c, "lo", 7, -1)[0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    c.close()


def test_topic_config_survives_restart(make_broker, tmp_path):
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, NewTopic
    b = make_broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic("small-seg", 1, 1, config={"segment.bytes": "100000"})])["small-seg"].result(30)
    assert b.stop() == 0
    b.start()
    src = tmp_path / "in.txt"
    with open(src, "wb") as f:
        for i in range(2000):
            f.write(b"%d" % i + b"q" * 500 + b"\n")
    run(["kcat", "-b", b.bootstrap, "-t", "small-seg", "-P", "-X", "batch.size=20000", "-l", str(src)])
    logs = [f for f in os.listdir(os.path.join(b.data_dir, "small-seg-0")) if f.endswith(".log")]
    assert len(logs) >= 8, f"segment.bytes override lost across the restart: {logs}"
    del confluent_kafka


def test_bad_setting_stops_start(tmp_path):
    for key, value in [("num.partitions", "many"), ("listeners", "SSL://127.0.0.1:1"),
                       ("log.segment.bytes", "1")]:
        p = subprocess.run([SLUICE_BIN, "--set", f"log.dirs={tmp_path}/d", "--set", f"{key}={value}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        assert p.returncode != 0
        assert key.encode() in p.stdout, p.stdout
    p = subprocess.run([SLUICE_BIN, "--config", str(tmp_path / "missing.properties")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert p.returncode != 0 and b"missing.properties" in p.stdout


def test_unknown_setting_warns(make_broker):
    b = make_broker({"made.up.setting": "1"})
    assert "unknown setting made.up.setting" in b.log_text()

"""A topic's files can never cost the broker its start, and a creation that
failed is not recorded: a CreateTopics that runs out of file descriptors
answers KAFKA_STORAGE_ERROR and the topic does not exist, then or after a
restart under the same limit; a partition whose directory cannot be opened at
start is logged (directory and errno) and served as offline
(KAFKA_STORAGE_ERROR) while every other partition is served, and deleting
its topic removes its files."""
import contextlib
import os
import resource
import shutil
import subprocess

import pytest

import kafka_wire as kw

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NONE, STORAGE_ERROR = 0, 56
MANY_PARTITIONS = 300
# Descriptors above what the broker holds once started: enough for a few
# client connections and a small topic, far too few for MANY_PARTITIONS.
FD_HEADROOM = 40


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


@contextlib.contextmanager
def nofile_limit(limit):
    """Brokers started inside get RLIMIT_NOFILE = limit (soft and hard, so
    that raising the soft limit at start cannot lift it)."""
    real = subprocess.Popen

    def limited(*a, **kw):
        return real(*a, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                              (limit, limit)), **kw)

    subprocess.Popen = limited
    try:
        yield
    finally:
        subprocess.Popen = real


def create(admin, name, partitions):
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])[name].result(60)
        return NONE
    except confluent_kafka.KafkaException as e:
        return e.args[0].code()


def produce_one(bootstrap, topic, partition, value):
    c = kw.Conn(bootstrap)
    err, base = kw.produce_v3(c, topic, partition, kw.record_batch([value]))
    c.close()
    return err, base


def test_create_out_of_descriptors_is_not_recorded(make_broker):
    b = make_broker({"num.partitions": "1"})
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    assert create(admin, "keep", 1) == NONE
    assert produce_one(b.bootstrap, "keep", 0, b"before") == (NONE, 0)
    limit = open_fds(b.proc.pid) + FD_HEADROOM
    resource.prlimit(b.proc.pid, resource.RLIMIT_NOFILE, (limit, limit))

    assert create(admin, "many", MANY_PARTITIONS) == STORAGE_ERROR
    assert "many" not in admin.list_topics(timeout=10).topics
    assert not [d for d in os.listdir(b.data_dir) if d.startswith("many-")]
    # What the failed creation held is given back: the broker goes on serving.
    assert produce_one(b.bootstrap, "keep", 0, b"after") == (NONE, 1)
    assert create(admin, "small", 2) == NONE
    assert b.stop() == 0

    with nofile_limit(limit):
        b.start()
    assert "many" not in admin.list_topics(timeout=10).topics
    assert produce_one(b.bootstrap, "keep", 0, b"restarted") == (NONE, 2)
    assert produce_one(b.bootstrap, "small", 1, b"x") == (NONE, 0)


def test_unopenable_partition_is_offline_not_fatal(make_broker):
    b = make_broker()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    assert create(admin, "good", 1) == NONE
    assert create(admin, "bad", 2) == NONE
    for topic, partition in (("good", 0), ("bad", 0), ("bad", 1)):
        assert produce_one(b.bootstrap, topic, partition, b"v") == (NONE, 0)
    assert b.stop() == 0
    # The directory of bad-0 becomes a file: its log cannot be opened.
    bad0 = os.path.join(b.data_dir, "bad-0")
    shutil.rmtree(bad0)
    with open(bad0, "w") as f:
        f.write("not a directory")

    b.start()
    assert any(bad0 in line and "Not a directory" in line and "offline" in line
               for line in b.log_text().splitlines()), b.log_tail()
    c = kw.Conn(b.bootstrap)
    assert kw.produce_v3(c, "bad", 0, kw.record_batch([b"w"]))[0] == STORAGE_ERROR
    assert kw.fetch_v4(c, "bad", 0, 0)[0] == STORAGE_ERROR
    assert kw.list_offsets_v7(c, "bad", 0, -1)[0] == STORAGE_ERROR
    assert kw.produce_v3(c, "bad", 1, kw.record_batch([b"w"])) == (NONE, 1)
    assert kw.produce_v3(c, "good", 0, kw.record_batch([b"w"])) == (NONE, 1)
    err, hw, records = kw.fetch_v4(c, "good", 0, 0)
    assert (err, hw, len(kw.batches(records))) == (NONE, 2, 2)
    c.close()
    # Deleting the topic removes the offline partition's files too: the name
    # is created anew, empty.
    admin.delete_topics(["bad"])["bad"].result(30)
    assert not os.path.exists(bad0)
    assert create(admin, "bad", 2) == NONE
    assert produce_one(b.bootstrap, "bad", 0, b"new") == (NONE, 0)
    assert b.stop() == 0

"""Partition directories in the log dir without a record in sluice's
metadata store: adopted with the id their partition.metadata names (or a new
one), with missing partitions started empty; left alone, with a log line,
when they cannot be trusted; and removed when they are what a crash left of
a topic sluice had deleted (never brought back to life)."""
import os
import re
import shutil

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic

from test_restart import consume, produce


def create(bootstrap, topic, partitions=1):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def topics_of(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.list_topics(timeout=30).topics


def test_deleted_topic_leftovers_are_removed_not_adopted(make_broker):
    b = make_broker({"auto.create.topics.enable": "false"})
    create(b.bootstrap, "doomed")
    assert len(produce(b.bootstrap, "doomed", 5)) == 5
    assert b.stop() == 0
    part = os.path.join(b.data_dir, "doomed-0")
    saved = os.path.join(os.path.dirname(b.data_dir), "doomed-0.saved")
    shutil.copytree(part, saved)
    b.start()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.delete_topics(["doomed"])["doomed"].result(30)
    assert b.stop() == 0
    # What a stop between recording the deletion and removing the files
    # leaves behind.
    shutil.copytree(saved, part)
    log_start = len(b.log_text())
    b.start()
    assert "doomed" not in topics_of(b.bootstrap)
    assert not os.path.exists(part)
    assert re.search(r"topic doomed was deleted but a stop came before its 1 directory went: "
                     r"removed now", b.log_text()[log_start:]), b.log_tail()


def test_bare_dirs_adopted_with_their_id_and_gaps_filled(make_broker):
    b = make_broker({"auto.create.topics.enable": "false"})
    create(b.bootstrap, "travels", partitions=3)
    for p in range(3):
        prod = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap})
        prod.produce("travels", value=b"p%d" % p, partition=p)
        assert prod.flush(30) == 0
    assert b.stop() == 0
    with open(os.path.join(b.data_dir, "travels-0", "partition.metadata")) as f:
        text = f.read()
    assert not text.endswith("\n"), "Kafka writes partition.metadata without a final newline"
    topic_id = re.search(r"topic_id: (\S+)", text).group(1)
    # The store forgets every topic (as in a log dir sluice did not write),
    # and one partition's directory is gone.
    os.remove(os.path.join(b.data_dir, "__sluice_metadata.log"))
    shutil.rmtree(os.path.join(b.data_dir, "travels-1"))
    # A directory with no partition.metadata at all takes a new id.
    os.makedirs(os.path.join(b.data_dir, "plain-0"))
    log_start = len(b.log_text())
    b.start()
    text = b.log_text()[log_start:]
    assert re.search(rf"adopted topic travels \(id {topic_id}, 3 partitions", text), b.log_tail()
    assert "topic travels: 1 of its 3 partition directories are missing" in text
    assert re.search(r"adopted topic plain \(id \S+, 1 partition,", text)
    assert [v for _, v in consume(b.bootstrap, "travels", 1)] == [b"p0"]
    assert len(produce(b.bootstrap, "plain", 3)) == 3


def test_untrusted_dirs_left_alone(make_broker):
    b = make_broker({"auto.create.topics.enable": "false"})
    assert b.stop() == 0
    odd = os.path.join(b.data_dir, "odd-0")
    os.makedirs(odd)
    with open(os.path.join(odd, "partition.metadata"), "w") as f:
        f.write("version: 7\ntopic_id: \x1b[31mnot-an-id")
    split = [os.path.join(b.data_dir, f"split-{p}") for p in (0, 1)]
    for n, d in enumerate(split):
        os.makedirs(d)
        with open(os.path.join(d, "partition.metadata"), "w") as f:
            f.write("version: 0\ntopic_id: %s" % ("AAAAAAAAAAAAAAAAAAAAAA", "AQAAAAAAAAAAAAAAAAAAAA")[n])
    # Not a partition directory: Kafka's own names for logs being deleted.
    os.makedirs(os.path.join(b.data_dir, "gone-0.abc-delete"))
    b.start()
    text = b.log_text()
    assert "odd-0/partition.metadata cannot be read as Kafka writes it; topic odd is not adopted" in text
    assert "the directories of topic split name different topic ids; it is not adopted" in text
    assert "\x1b" not in text
    assert set(topics_of(b.bootstrap)) & {"odd", "split", "gone"} == set()
    assert os.path.isdir(odd) and all(os.path.isdir(d) for d in split)

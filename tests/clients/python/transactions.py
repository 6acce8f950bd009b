"""confluent-kafka's transactional producer for tests/compat/test_transactions.py.
The same file runs under the virtualenv's python (confluent-kafka 2.x, from
scripts/install-clients.sh) and under Debian's /usr/bin/python3
(python3-confluent-kafka 1.7 over librdkafka 2.0.2):

    transactions.py ctp BOOTSTRAP SOURCE DEST GROUP TXN_ID RECORDS PER_ROUND
    transactions.py fence BOOTSTRAP DEST TXN_ID
    transactions.py timeout BOOTSTRAP DEST TXN_ID TIMEOUT_MS WAIT_S

ctp: consume-transform-produce, committing and aborting alternately (an
aborted round's input is read again, from the round's start, by the next).
fence: two producers share a transactional id; the older one tries to commit.
timeout: a transaction left open past its transaction.timeout.ms.
Prints one JSON line; the test checks the logs with its own consumers."""
import json
import sys
import time

import confluent_kafka as ck

CALL_TIMEOUT_S = 30
POLL_S = 0.2


def done(result):
    print(json.dumps(result))
    sys.exit(0)


def error_name(exc):
    """A KafkaException's error name and its kind (fatal, abortable)."""
    err = exc.args[0] if exc.args and isinstance(exc.args[0], ck.KafkaError) else None
    if err is None:
        return {"name": f"{type(exc).__name__}: {exc}", "fatal": False, "abortable": False}
    return {"name": err.name(), "fatal": err.fatal(), "abortable": err.txn_requires_abort()}


def producer(bootstrap, txn_id, extra=None):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 2,
            "message.timeout.ms": 60000}
    conf.update(extra or {})
    return ck.Producer(conf)


def consume(c, count, deadline_s):
    """The next `count` records of an assigned consumer (fewer at the deadline)."""
    got, deadline = [], time.time() + deadline_s
    while len(got) < count and time.time() < deadline:
        m = c.poll(POLL_S)
        if m is None:
            continue
        if m.error():
            if m.error().code() == ck.KafkaError._PARTITION_EOF:
                continue
            raise RuntimeError(str(m.error()))
        got.append(m)
    return got


def committed(c, topic):
    """The group's committed offset of topic/0 as c sees it (-1001: none)."""
    return c.committed([ck.TopicPartition(topic, 0)], timeout=CALL_TIMEOUT_S)[0].offset


def ctp(bootstrap, source, dest, group, txn_id, records, per_round):
    records, per_round = int(records), int(per_round)
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                            "enable.auto.commit": False, "isolation.level": "read_committed"})
    # Two views of the group's offsets: one that ignores pending transactional
    # offsets (read_uncommitted: no require_stable) and one that waits for
    # them to settle (read_committed asks with require_stable).
    loose = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "isolation.level": "read_uncommitted"})
    stable = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                          "isolation.level": "read_committed"})
    p = producer(bootstrap, txn_id)
    p.init_transactions(CALL_TIMEOUT_S)
    rounds, start, n = [], 0, 0
    while start < records:
        commit = n % 2 == 0
        consumer.assign([ck.TopicPartition(source, 0, start)])
        msgs = consume(consumer, per_round, CALL_TIMEOUT_S)
        if len(msgs) != per_round:
            raise RuntimeError(f"round {n}: {len(msgs)} of {per_round} records from offset {start}")
        p.begin_transaction()
        for m in msgs:
            p.produce(dest, value=b"%s:r%d" % (m.value(), n), partition=0)
        end = msgs[-1].offset() + 1
        p.send_offsets_to_transaction([ck.TopicPartition(source, 0, end)],
                                      consumer.consumer_group_metadata(), CALL_TIMEOUT_S)
        p.flush(CALL_TIMEOUT_S)
        pending_view = committed(loose, source)
        if commit:
            p.commit_transaction(CALL_TIMEOUT_S)
        else:
            p.abort_transaction(CALL_TIMEOUT_S)
        rounds.append({"round": n, "start": start, "end": end, "commit": commit,
                       "pending_view": pending_view, "after": committed(stable, source)})
        if commit:
            start = end
        n += 1
    for c in (consumer, loose, stable):
        c.close()
    done({"rounds": rounds})


def fence(bootstrap, dest, txn_id):
    old = producer(bootstrap, txn_id)
    old.init_transactions(CALL_TIMEOUT_S)
    old.begin_transaction()
    old.produce(dest, value=b"old-1", partition=0)
    old.flush(CALL_TIMEOUT_S)
    new = producer(bootstrap, txn_id)
    new.init_transactions(CALL_TIMEOUT_S)
    new.begin_transaction()
    new.produce(dest, value=b"new-1", partition=0)
    old_error = None
    try:
        old.produce(dest, value=b"old-2", partition=0)
        old.commit_transaction(CALL_TIMEOUT_S)
    except ck.KafkaException as e:
        old_error = error_name(e)
    new.commit_transaction(CALL_TIMEOUT_S)
    done({"old_commit_error": old_error})


def timeout(bootstrap, dest, txn_id, timeout_ms, wait_s):
    """The open transaction holds back a read_committed consumer (its last
    stable offset) until the coordinator aborts it; a record written after
    it outside any transaction shows when that happened."""
    p = producer(bootstrap, txn_id, {"transaction.timeout.ms": int(timeout_ms),
                                     "message.timeout.ms": int(timeout_ms)})
    p.init_transactions(CALL_TIMEOUT_S)
    p.begin_transaction()
    p.produce(dest, value=b"open", partition=0)
    p.flush(CALL_TIMEOUT_S)
    plain = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False})
    plain.produce(dest, value=b"after", partition=0)
    plain.flush(CALL_TIMEOUT_S)
    started = time.time()
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": txn_id + "-reader",
                     "isolation.level": "read_committed", "enable.auto.commit": False})
    c.assign([ck.TopicPartition(dest, 0, ck.OFFSET_BEGINNING)])
    seen = [m.value().decode() for m in consume(c, 1, float(wait_s))]
    waited = time.time() - started
    c.close()
    commit_error = None
    try:
        p.commit_transaction(CALL_TIMEOUT_S)
    except ck.KafkaException as e:
        commit_error = error_name(e)
    done({"seen": seen, "waited_s": round(waited, 2), "commit_error": commit_error})


def main():
    scenario, args = sys.argv[1], sys.argv[2:]
    try:
        {"ctp": ctp, "fence": fence, "timeout": timeout}[scenario](*args)
    except Exception as e:  # the test reads the failure from the JSON line
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        raise


if __name__ == "__main__":
    main()

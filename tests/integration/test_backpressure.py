"""A request-byte budget far below the load: connections pause and resume,
large frames in flight always complete, and every record arrives."""
import threading

import confluent_kafka

from conftest import run


def test_budget_smaller_than_the_load(make_broker):
    b = make_broker({"queued.max.request.bytes": 1048576, "num.partitions": 4})
    acked = []
    errors = []

    def producer(n):
        p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 20,
                                      "batch.size": 900000, "acks": "1"})
        for i in range(3000):
            p.produce("bp", value=(b"%d-%d-" % (n, i)) + b"w" * 900,
                      on_delivery=lambda err, msg: (errors if err else acked).append(msg.value()))
            p.poll(0)
        p.flush(60)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(acked) == 18000
    out = run(["kcat", "-b", b.bootstrap, "-t", "bp", "-C", "-e", "-o", "beginning", "-q"], timeout=120)
    got = sorted(out.split(b"\n")[:-1])
    assert got == sorted(acked)
    assert b.alive()
    assert b.metrics()["sluice_receive_pauses_total"] > 0, "the budget was never reached" 

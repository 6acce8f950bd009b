"""Start-up with clients already knocking: the broker restarts many times while
eight clients reconnect as fast as they can and ask about partitions on every
shard, so that the first shard to run sends work to the others at once. No
restart may abort (a shard used to ring another's ring before that shard had
enabled it: EBADFD, abort), and every client is answered after each start."""
import struct
import threading
import time

from confluent_kafka.admin import AdminClient, NewTopic

from conftest import SANITIZED
from kafka_wire import Conn, list_offsets_v7, produce_v3, record_batch

RESTARTS = 10 if SANITIZED else 30
CLIENTS = 8
PARTITIONS = 4
LAYOUT = {"num.network.threads": 2, "num.io.threads": 2, "num.partitions": PARTITIONS}


def knock(bootstrap, stop, answered):
    """Reconnects in a loop; each connection asks every partition's latest
    offset (each on its owning shard) and counts the answers."""
    while not stop.is_set():
        try:
            c = Conn(bootstrap, timeout=5)
        except OSError:
            time.sleep(0.002)
            continue
        try:
            for p in range(PARTITIONS):
                if list_offsets_v7(c, "race", p, -1)[0] == 0:
                    answered[0] += 1
        except (OSError, ConnectionError, struct.error):
            pass
        finally:
            c.close()


def test_restarts_with_clients_reconnecting(make_broker):
    b = make_broker(LAYOUT)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic("race", PARTITIONS, 1)])["race"].result(30)
    del admin
    c = Conn(b.bootstrap)
    for p in range(PARTITIONS):
        assert produce_v3(c, "race", p, record_batch([b"x"]))[0] == 0
    c.close()
    for i in range(RESTARTS):
        assert b.stop() == 0, f"restart {i}: unclean stop:\n{b.log_tail()}"
        stop = threading.Event()
        answered = [0]
        clients = [threading.Thread(target=knock, args=(b.bootstrap, stop, answered))
                   for _ in range(CLIENTS)]
        for t in clients:
            t.start()
        try:
            b.start()
            deadline = time.time() + 10
            while answered[0] < CLIENTS and time.time() < deadline and b.alive():
                time.sleep(0.01)
        finally:
            stop.set()
            for t in clients:
                t.join(10)
        assert b.alive(), f"restart {i}: the broker died during start:\n{b.log_tail()}"
        assert answered[0] >= CLIENTS, f"restart {i}: clients were not answered"

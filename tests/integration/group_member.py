"""A kafka-python group member for the group tests, run as its own process:
prints one JSON line per assignment change ({"t": time, "parts": [...]}) and
leaves the group cleanly on SIGTERM (close() sends LeaveGroup)."""
import json
import signal
import sys
import time

from kafka import KafkaConsumer

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
stop = False


def on_term(sig, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
consumer = KafkaConsumer(topic, group_id=group, bootstrap_servers=bootstrap,
                         session_timeout_ms=6000, heartbeat_interval_ms=500,
                         max_poll_interval_ms=60000, auto_offset_reset="earliest")
last = None
while not stop:
    consumer.poll(timeout_ms=100)
    parts = sorted(tp.partition for tp in consumer.assignment())
    if parts != last:
        print(json.dumps({"t": time.time(), "parts": parts}), flush=True)
        last = parts
consumer.close()
print(json.dumps({"t": time.time(), "closed": True}), flush=True)

"""The status page at / on the metrics port, in a real browser: headless
Chromium (Debian's) loads it; its DOM names the topics and the groups (a
group id full of HTML's special characters comes out as text, escaped in the
served bytes), and a screenshot is saved in the test's temporary
directory. Every wait is bounded."""
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

CHROMIUM = shutil.which("chromium")
BROWSER_TIMEOUT_S = 90
TOPICS = {"orders": 3, "payments": 1}
GROUPS = ["billing", "audit<b>&'\"x"]


def chromium(tmp_path, *args):
    profile = tmp_path / "chromium-profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=BROWSER_TIMEOUT_S,
                       env=env)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    return p.stdout.decode()


def populate(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(t, n, 1) for t, n in TOPICS.items()]).values():
        f.result(20)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(60):
        p.produce("orders", value=b"o%d" % i, partition=i % 3)
    assert p.flush(30) == 0
    for group in GROUPS:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                      "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition("orders", i, 10) for i in range(3)], asynchronous=False)
        c.close()


@pytest.mark.skipif(not CHROMIUM, reason="Debian's chromium is not installed")
def test_status_page_in_headless_chromium(broker, tmp_path):
    populate(broker.bootstrap)
    url = f"http://127.0.0.1:{broker.metrics_port}/"
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/html")
        raw = r.read().decode()
    assert '<meta http-equiv="refresh"' in raw
    assert "<script" not in raw and "http://" not in raw.replace(url, "")
    assert "audit&lt;b&gt;&amp;&#39;&quot;x" in raw and "audit<b>" not in raw
    dom = chromium(tmp_path, "--dump-dom", url)
    for topic, partitions in TOPICS.items():
        assert f'<td class="name">{topic}</td><td>{partitions}</td>' in dom, dom
    assert '<td class="name">billing</td><td class="name">Empty</td>' in dom
    # The browser re-serialises text: what it read as text is the group id.
    assert "audit&lt;b&gt;&amp;'\"x" in dom
    # 3 partitions committed at 10 of 20: lag 30 for each group.
    assert '<td class="lag">30</td>' in dom
    assert "network" in dom and "utilisation" in dom
    shot = tmp_path / "status-page.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900",
             "--hide-scrollbars", url)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_status_page_rates_and_refresh(broker):
    populate(broker.bootstrap)
    url = f"http://127.0.0.1:{broker.metrics_port}/"
    urllib.request.urlopen(url, timeout=10).read()
    time.sleep(0.5)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(30):
        p.produce("payments", value=b"p")
    assert p.flush(30) == 0
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    row = page[page.index('<td class="name">payments</td>'):]
    row = row[:row.index("</tr>")]
    # records in 30, and a rate measured since the previous rendering
    assert "<td>30</td>" in row and "/s</td>" in row, row

"""kcat (librdkafka) produces 100,000 keyed messages with headers, uncompressed
and with each codec, and consumes them back byte-exact with offsets 0..N-1."""
import os

import pytest

from conftest import run

COUNT = 100_000
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def payloads(path):
    """Keys and values of varied length, one 'key<TAB>value' line each."""
    lines = []
    for i in range(COUNT):
        value = (f"value-{i}-" + "x" * (i % 251)).encode()
        lines.append(b"key-%d\t%s" % (i % 997, value))
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    return lines


@pytest.mark.parametrize("codec", CODECS)
def test_kcat_roundtrip(broker, tmp_path, codec):
    src = tmp_path / "in.txt"
    lines = payloads(src)
    topic = f"kcat-{codec}"
    run(["kcat", "-b", broker.bootstrap, "-t", topic, "-P", "-K", "\t", "-z", codec,
         "-H", "source=kcat", "-H", "codec=" + codec, "-X", "acks=all", "-l", str(src)])
    out = run(["kcat", "-b", broker.bootstrap, "-t", topic, "-C", "-e", "-o", "beginning",
               "-f", "%k\t%s\t%o\t%h\n"], timeout=300)
    got = out.split(b"\n")[:-1]
    assert len(got) == COUNT, f"consumed {len(got)} of {COUNT}"
    for i, line in enumerate(got):
        key, value, offset, headers = line.split(b"\t")
        assert key + b"\t" + value == lines[i], f"message {i} differs"
        assert int(offset) == i
        assert headers == b"source=kcat,codec=" + codec.encode()
    files = os.listdir(os.path.join(broker.data_dir, f"{topic}-0"))
    assert "00000000000000000000.log" in files

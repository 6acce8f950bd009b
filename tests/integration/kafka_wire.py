"""A minimal Kafka wire encoder/decoder for tests that need exact bytes:
request headers, record batch v2 with CRC32C, Produce v3, Fetch v4,
ApiVersions, Metadata. Written for the tests, from the protocol page."""
import gzip
import socket
import struct
import time

_CRC_TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _CRC_TABLE.append(c)


# Record batch v2 attributes (the protocol page's bits).
TRANSACTIONAL = 0x10
CONTROL = 0x20


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def varint(n):
    return uvarint(((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF)


def read_uvarint(buf, pos):
    """The unsigned varint at buf[pos]: (value, position after it)."""
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def record_batch(values, ts=None, corrupt_crc=False, producer=(-1, -1, -1), attributes=0):
    """A record batch v2 of the values; `producer`: (producer id, epoch,
    first sequence) of an idempotent producer; `attributes` its batch
    attributes (TRANSACTIONAL for a transaction's batch)."""
    ts = int(time.time() * 1000) if ts is None else ts
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", attributes, len(values) - 1, ts, ts, *producer, len(values)) + recs
    crc = crc32c(after_crc) ^ (1 if corrupt_crc else 0)
    after_len = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


def record_batch_timed(values, timestamps, attributes=0, max_ts=None, gzip_records=False,
                       producer=(-1, -1, -1), key=None):
    """A record batch v2 whose records carry their own timestamps (the first
    is the batch's base timestamp, the others deltas from it); max_ts is the
    header's max timestamp (default: the largest of them, as clients write
    it); gzip_records compresses the records (codec 1); key (bytes) is every
    record's key (None: no key)."""
    assert len(values) == len(timestamps) and values
    base = timestamps[0]
    recs = b""
    for i, (v, t) in enumerate(zip(values, timestamps)):
        v = v.encode() if isinstance(v, str) else v
        k = varint(-1) if key is None else varint(len(key)) + key
        body = b"\x00" + varint(t - base) + varint(i) + k + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    if gzip_records:
        recs = gzip.compress(recs)
        attributes |= 1
    max_ts = max(timestamps) if max_ts is None else max_ts
    after_crc = struct.pack(">hiqqqhii", attributes, len(values) - 1, base, max_ts, *producer,
                            len(values)) + recs
    after_len = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_len)) + after_len


class Conn:
    def __init__(self, bootstrap, timeout=10):
        host, port = bootstrap.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.corr = 0
        self.topics_seen = set()

    def close(self):
        self.sock.close()

    def send_raw(self, payload):
        self.sock.sendall(payload)

    def request(self, key, version, body, flexible=False, client_id="it"):
        self.corr += 1
        hdr = struct.pack(">hhi", key, version, self.corr) + string(client_id)
        if flexible:
            hdr += b"\x00"
        frame = hdr + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        return self.corr

    def response(self):
        size = struct.unpack(">i", self._read(4))[0]
        return self._read(size)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by broker")
            buf += chunk
        return buf

    def closed_by_peer(self, wait_s=5):
        self.sock.settimeout(wait_s)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def api_versions(conn, version=0):
    conn.request(18, version, b"")
    r = conn.response()
    corr, err, n = struct.unpack(">ihi", r[:10])
    ranges = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", r[10 + 6 * i:16 + 6 * i])
        ranges[k] = (lo, hi)
    return err, ranges


def metadata_v4(conn, topic, allow_auto_topic_creation=True):
    """Metadata v4 for one topic: its error code. With auto-creation allowed
    this is how a client has a topic made (Kafka creates topics for Metadata,
    never for Produce)."""
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">?", allow_auto_topic_creation)
    conn.request(3, 4, body)
    r = conn.response()
    pos = 4 + 4  # correlation id, throttle time
    (nbrokers,) = struct.unpack(">i", r[pos:pos + 4])
    pos += 4
    for _ in range(nbrokers):
        pos += 4
        (hlen,) = struct.unpack(">h", r[pos:pos + 2])
        pos += 2 + hlen + 4
        (rlen,) = struct.unpack(">h", r[pos:pos + 2])
        pos += 2 + max(rlen, 0)
    (clen,) = struct.unpack(">h", r[pos:pos + 2])
    pos += 2 + max(clen, 0) + 4 + 4  # cluster id, controller id, topic count
    (err,) = struct.unpack(">h", r[pos:pos + 2])
    return err


def produce_v3(conn, topic, partition, records, acks=1, transactional_id=None):
    """As a client does: Metadata for a topic first (creating it when
    auto.create.topics.enable allows), then the Produce."""
    if topic not in conn.topics_seen:
        metadata_v4(conn, topic)
        conn.topics_seen.add(topic)
    produce_v3_send(conn, topic, partition, records, acks, transactional_id)
    return produce_v3_answer(conn)


def produce_v3_send(conn, topic, partition, records, acks=1, transactional_id=None):
    """Sends a Produce v3 of one partition without reading its answer (to
    pipeline requests)."""
    body = string(transactional_id) + struct.pack(">hii", acks, 10000, 1) + string(topic)
    body += struct.pack(">ii", 1, partition) + struct.pack(">i", len(records)) + records
    conn.request(0, 3, body)


def produce_v3_answer(conn):
    """The next Produce v3 answer of one partition: (error, base offset)."""
    r = conn.response()
    pos = 4 + 4
    (tlen,) = struct.unpack(">h", r[pos:pos + 2])
    pos += 2 + tlen + 4
    part, err, base = struct.unpack(">ihq", r[pos:pos + 14])
    return err, base


def fetch_v4(conn, topic, partition, offset, max_wait_ms=0, min_bytes=0, max_bytes=50 << 20,
             partition_max_bytes=1 << 20):
    err, hw, _lso, _aborted, records = fetch_v4_partition(
        conn, topic, partition, offset, max_wait_ms, min_bytes, max_bytes, partition_max_bytes)
    return err, hw, records


def fetch_v4_partition(conn, topic, partition, offset, max_wait_ms=0, min_bytes=0,
                       max_bytes=50 << 20, partition_max_bytes=1 << 20, isolation_level=0):
    """Fetch v4 of one partition: (error, high watermark, last stable
    offset, aborted transactions [(producer id, first offset)] or None,
    records)."""
    return fetch_v4_partitions(conn, topic, [(partition, offset)], max_wait_ms, min_bytes,
                               max_bytes, partition_max_bytes, isolation_level)[partition]


def fetch_v4_partitions(conn, topic, partitions, max_wait_ms=0, min_bytes=0, max_bytes=50 << 20,
                        partition_max_bytes=1 << 20, isolation_level=0):
    """Fetch v4 of [(partition, offset)] of one topic: {partition: as
    fetch_v4_partition answers}."""
    body = struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, isolation_level)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", len(partitions))
    body += b"".join(struct.pack(">iqi", p, o, partition_max_bytes) for p, o in partitions)
    conn.request(1, 4, body)
    r = conn.response()
    pos = 4 + 4 + 4
    (tlen,) = struct.unpack(">h", r[pos:pos + 2])
    pos += 2 + tlen
    (n,) = struct.unpack(">i", r[pos:pos + 4])
    pos += 4
    out = {}
    for _ in range(n):
        part, err, hw, lso = struct.unpack(">ihqq", r[pos:pos + 22])
        pos += 22
        (naborted,) = struct.unpack(">i", r[pos:pos + 4])
        pos += 4
        aborted = None
        if naborted >= 0:
            aborted = [struct.unpack(">qq", r[pos + 16 * i:pos + 16 * i + 16])
                       for i in range(naborted)]
            pos += 16 * naborted
        (rlen,) = struct.unpack(">i", r[pos:pos + 4])
        records = r[pos + 4:pos + 4 + rlen] if rlen > 0 else b""
        pos += 4 + max(rlen, 0)
        out[part] = (err, hw, lso, aborted, records)
    return out


def read_varint(buf, pos):
    """The zig-zag varint at buf[pos]: (value, position after it)."""
    v, pos = read_uvarint(buf, pos)
    return (v >> 1) ^ -(v & 1), pos


def batch_records(batch):
    """(key, value) of each record of one uncompressed record batch v2, in
    order (None for a null key or value)."""
    assert struct.unpack(">h", batch[21:23])[0] & 0x07 == 0, "a compressed batch"
    count = struct.unpack(">i", batch[57:61])[0]
    pos, out = 61, []
    for _ in range(count):
        _length, pos = read_varint(batch, pos)
        pos += 1                           # attributes
        for _ in range(2):                 # timestamp and offset deltas
            _, pos = read_varint(batch, pos)
        key_len, pos = read_varint(batch, pos)
        key = batch[pos:pos + key_len] if key_len >= 0 else None
        pos += max(key_len, 0)
        value_len, pos = read_varint(batch, pos)
        out.append((key, batch[pos:pos + value_len] if value_len >= 0 else None))
        pos += max(value_len, 0)
        headers, pos = read_varint(batch, pos)
        for _ in range(headers):
            for _ in range(2):
                n, pos = read_varint(batch, pos)
                pos += max(n, 0)
    return out


def batch_values(batch):
    """The record values of one uncompressed record batch v2, in order (a
    null value as b"")."""
    return [v or b"" for _, v in batch_records(batch)]


def partition_batches(bootstrap, topic, partition):
    """Every batch of a partition up to its high watermark, whole, in order
    (Fetch v4 from offset 0)."""
    conn = Conn(bootstrap)
    out, offset = [], 0
    try:
        while True:
            err, hw, records = fetch_v4(conn, topic, partition, offset)
            assert err == 0, err
            if offset >= hw or not records:
                return out
            pos = 0
            while pos + 61 <= len(records):
                base, length = struct.unpack(">qi", records[pos:pos + 12])
                if pos + 12 + length > len(records):
                    break
                batch = records[pos:pos + 12 + length]
                out.append(batch)
                offset = base + struct.unpack(">i", batch[23:27])[0] + 1
                pos += 12 + length
    finally:
        conn.close()


def batches(records):
    """(base offset, total bytes) of each batch in a records blob or a
    segment file. A batch's length is never 0: where one reads 0 the zeros
    of an active segment begin (sparse up to segment.bytes while mapped
    appends write it, and left so by kill -9), and the batches end."""
    out, pos = [], 0
    while pos + 12 <= len(records):
        base, length = struct.unpack(">qi", records[pos:pos + 12])
        if length <= 0:
            break
        out.append((base, length + 12))
        pos += length + 12
    return out


def batches_end(data):
    """Where a segment file's batches end (see batches(): the zeros of a
    sparse active segment are not batches)."""
    return sum(total for _, total in batches(data))


def list_offsets_v7(conn, topic, partition, timestamp, isolation_level=0):
    """ListOffsets v7 (flexible): returns (error, timestamp, offset)."""
    body = struct.pack(">ib", -1, isolation_level) + uvarint(2) + uvarint(len(topic) + 1)
    body += topic.encode()
    body += uvarint(2) + struct.pack(">iiq", partition, -1, timestamp) + b"\x00" + b"\x00" + b"\x00"
    conn.request(2, 7, body, flexible=True)
    r = conn.response()
    pos = 4 + 1 + 4          # correlation id, header tags, throttle time
    pos += 1                 # topics count
    tlen = r[pos] - 1
    pos += 1 + tlen + 1      # name, partitions count
    part, err, ts, off, epoch = struct.unpack(">ihqqi", r[pos:pos + 26])
    return err, ts, off

"""A generic Kafka wire codec for the differential tests, driven by sluice's own
schema files (proto/schema/*.ks, parsed by proto/codegen.py): encodes any
request of any API and version the schemas describe from a dict, and decodes
any response into a dict. Flexible versions (compact strings, bytes and arrays,
tagged fields), nullable values, uuids and record sets (as raw bytes) follow
the protocol page; request headers are v1, or v2 from the API's first flexible
version; response headers v0, or v1 from it, except ApiVersions' (always v0).

Values: ints and bools as Python ints/bools, strings as str (None = null),
bytes and records as bytes (None = null), uuids as 16 bytes, arrays as lists
(None = null), structs as dicts (None = null: a nullable struct is an int8
marker, -1 for null or 1 before the struct, as Kafka's generated code does). A field missing from a request dict takes its
schema default. A decoded dict holds exactly the fields of that version, and
`_unknown_tags` ({tag: bytes}) when the peer sent tags the schema lacks."""
import glob
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "proto"))
import codegen  # noqa: E402  (the schema parser; its format is documented there)

SCHEMA_GLOB = os.path.join(REPO, "proto", "schema", "*.ks")
UNKNOWN_TAGS = "_unknown_tags"
API_VERSIONS_KEY = 18
# Bound on any decoded array or tag count, so a garbled length fails fast.
ARRAY_MAX = 1_000_000

_FIXED = {"int8": ">b", "int16": ">h", "int32": ">i", "int64": ">q",
          "uint16": ">H", "uint32": ">I", "float64": ">d"}


class CodecError(Exception):
    pass


def load_apis():
    apis = {}
    for path in sorted(glob.glob(SCHEMA_GLOB)):
        api = codegen.parse_file(path)
        apis[api.key] = api
    return apis


APIS = load_apis()
API_BY_NAME = {a.name: a for a in APIS.values()}


def api(key_or_name):
    return API_BY_NAME[key_or_name] if isinstance(key_or_name, str) else APIS[key_or_name]


def _in(rng, version):
    return rng is not None and rng[0] <= version <= rng[1]


def is_flexible(api_key, version):
    return version >= api(api_key).flex


def request_header_version(api_key, version):
    return 2 if is_flexible(api_key, version) else 1


def response_header_version(api_key, version):
    if api_key == API_VERSIONS_KEY:
        return 0
    return 1 if is_flexible(api_key, version) else 0


# ---- primitives ----

def uvarint(n):
    if n < 0:
        raise CodecError(f"uvarint of negative {n}")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class Reader:
    def __init__(self, data, pos=0, end=None):
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end

    def left(self):
        return self.end - self.pos

    def take(self, n, what):
        if n < 0 or n > self.left():
            raise CodecError(f"{what}: need {n} bytes at {self.pos}, {self.left()} left")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(b)

    def fixed(self, fmt, what):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size, what))[0]

    def uvarint(self, what):
        n, shift = 0, 0
        while True:
            b = self.take(1, what)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 35:
                raise CodecError(f"{what}: uvarint longer than 5 bytes")


# ---- defaults ----

def default_value(f):
    d = f.default
    if f.is_array:
        return None if d == "null" else []
    if f.nullable_struct and d == "null":
        return None
    if f.is_struct:
        return {c.name: default_value(c) for c in f.children}
    e = f.elem
    if e in ("string", "bytes", "records"):
        if d == "null":
            return None
        if e == "string":
            return d or ""
        return b""
    if e == "uuid":
        return bytes(16)
    if e == "bool":
        return d == "true"
    if d is None:
        return 0.0 if e == "float64" else 0
    return int(d, 16) if d.startswith("0x") else (float(d) if e == "float64" else int(d))


def _is_default(f, value):
    return value == default_value(f)


# ---- encoder ----

def _encode_value(f, value, version, flex, nullable, out):
    e = f.elem
    if e in _FIXED:
        out += struct.pack(_FIXED[e], value)
    elif e == "bool":
        out += b"\x01" if value else b"\x00"
    elif e == "uuid":
        if len(value) != 16:
            raise CodecError(f"{f.name}: uuid needs 16 bytes")
        out += value
    elif e in ("string", "bytes", "records"):
        if value is None:
            if not nullable:
                raise CodecError(f"{f.name} is not nullable at v{version}")
            out += uvarint(0) if flex else struct.pack(">h" if e == "string" else ">i", -1)
            return
        raw = value.encode() if e == "string" else bytes(value)
        if flex:
            out += uvarint(len(raw) + 1)
        else:
            out += struct.pack(">h" if e == "string" else ">i", len(raw))
        out += raw
    elif f.nullable_struct and nullable:
        out += struct.pack(">b", -1 if value is None else 1)
        if value is not None:
            _encode_struct(f.children, value, version, flex, out)
    else:
        _encode_struct(f.children, value, version, flex, out)


def _encode_field(f, value, version, flex, out):
    nullable = _in(f.nullable, version)
    if not f.is_array:
        _encode_value(f, value, version, flex, nullable, out)
        return
    if value is None:
        if not nullable:
            raise CodecError(f"array {f.name} is not nullable at v{version}")
        out += uvarint(0) if flex else struct.pack(">i", -1)
        return
    out += uvarint(len(value) + 1) if flex else struct.pack(">i", len(value))
    for item in value:
        _encode_value(f, item, version, flex, False, out)


def _tagged_here(f, version, flex):
    return f.tag is not None and flex and _in(f.tagged, version)


def _encode_struct(fields, values, version, flex, out):
    values = values or {}
    known = {f.name for f in fields}
    extra = set(values) - known - {UNKNOWN_TAGS}
    if extra:
        raise CodecError(f"fields not in the schema: {sorted(extra)}")
    tagged = []
    for f in fields:
        if not _in(f.versions, version):
            continue
        value = values.get(f.name, default_value(f))
        if _tagged_here(f, version, flex):
            if not _is_default(f, value):
                tagged.append((f.tag, f, value))
            continue
        _encode_field(f, value, version, flex, out)
    if not flex:
        return
    raw_tags = [(t, None, b) for t, b in (values.get(UNKNOWN_TAGS) or {}).items()]
    entries = sorted(tagged + raw_tags, key=lambda x: x[0])
    out += uvarint(len(entries))
    for tag, f, value in entries:
        body = bytearray()
        if f is None:
            body += value
        else:
            _encode_field(f, value, version, flex, body)
        out += uvarint(tag) + uvarint(len(body)) + body


def encode_body(api_key, version, kind, values):
    a = api(api_key)
    out = bytearray()
    _encode_struct(a.messages[kind].fields, values, version, version >= a.flex, out)
    return bytes(out)


def encode_request(api_key, version, correlation_id, values=None, client_id="differential"):
    """A whole request frame (size prefix, header, body) for api_key at version."""
    a = api(api_key)
    hdr = struct.pack(">hhi", a.key, version, correlation_id)
    cid = client_id.encode() if client_id is not None else None
    hdr += struct.pack(">h", -1) if cid is None else struct.pack(">h", len(cid)) + cid
    if request_header_version(a.key, version) == 2:
        hdr += uvarint(0)
    frame = hdr + encode_body(a.key, version, "request", values)
    return struct.pack(">i", len(frame)) + frame


# ---- decoder ----

def _decode_value(f, r, version, flex, nullable):
    e = f.elem
    if e in _FIXED:
        return r.fixed(_FIXED[e], f.name)
    if e == "bool":
        return r.take(1, f.name)[0] != 0
    if e == "uuid":
        return r.take(16, f.name)
    if e in ("string", "bytes", "records"):
        if flex:
            n = r.uvarint(f.name) - 1
        else:
            n = r.fixed(">h" if e == "string" else ">i", f.name)
        if n < 0:
            if n != -1 or not nullable:
                raise CodecError(f"{f.name}: length {n} at v{version} (nullable: {nullable})")
            return None
        raw = r.take(n, f.name)
        return raw.decode() if e == "string" else raw
    if f.nullable_struct and nullable and r.fixed(">b", f.name) < 0:
        return None
    return _decode_struct(f.children, r, version, flex)


def _decode_field(f, r, version, flex):
    nullable = _in(f.nullable, version)
    if not f.is_array:
        return _decode_value(f, r, version, flex, nullable)
    n = r.uvarint(f.name) - 1 if flex else r.fixed(">i", f.name)
    if n < 0:
        if n != -1 or not nullable:
            raise CodecError(f"array {f.name}: count {n} at v{version} (nullable: {nullable})")
        return None
    if n > min(ARRAY_MAX, r.left()):
        raise CodecError(f"array {f.name}: count {n} exceeds the {r.left()} bytes left")
    return [_decode_value(f, r, version, flex, False) for _ in range(n)]


def _decode_struct(fields, r, version, flex):
    out = {}
    by_tag = {}
    for f in fields:
        if not _in(f.versions, version):
            continue
        if _tagged_here(f, version, flex):
            out[f.name] = default_value(f)
            by_tag[f.tag] = f
            continue
        out[f.name] = _decode_field(f, r, version, flex)
    if not flex:
        return out
    count = r.uvarint("tagged field count")
    if count > r.left():
        raise CodecError(f"tagged field count {count} exceeds the bytes left")
    last = -1
    for _ in range(count):
        tag = r.uvarint("tag")
        size = r.uvarint("tag size")
        if tag <= last:
            raise CodecError(f"tags out of order: {tag} after {last}")
        last = tag
        body = r.take(size, f"tag {tag}")
        f = by_tag.get(tag)
        if f is None:
            out.setdefault(UNKNOWN_TAGS, {})[tag] = body
            continue
        sub = Reader(body)
        out[f.name] = _decode_field(f, sub, version, flex)
        if sub.left():
            raise CodecError(f"tag {tag} ({f.name}): {sub.left()} bytes left over")
    return out


def decode_body(api_key, version, kind, data):
    """Decodes a whole message body; bytes left over are an error (a schema
    that misses a field shows up here)."""
    a = api(api_key)
    r = Reader(data)
    out = _decode_struct(a.messages[kind].fields, r, version, version >= a.flex)
    if r.left():
        raise CodecError(f"{a.name} v{version} {kind}: {r.left()} bytes left over")
    return out


def decode_response(api_key, version, frame):
    """frame: a response without its size prefix -> (correlation id, dict)."""
    r = Reader(frame)
    corr = r.fixed(">i", "correlation id")
    if response_header_version(api_key, version) == 1:
        count = r.uvarint("header tag count")
        for _ in range(count):
            r.uvarint("header tag")
            r.take(r.uvarint("header tag size"), "header tag")
    return corr, decode_body(api_key, version, "response", frame[r.pos:])


def decode_request(frame):
    """frame: a request without its size prefix -> (api key, version,
    correlation id, client id, dict). Used by the codec's own tests."""
    r = Reader(frame)
    key, version, corr = r.fixed(">h", "api key"), r.fixed(">h", "version"), r.fixed(">i", "corr")
    n = r.fixed(">h", "client id")
    client_id = None if n < 0 else r.take(n, "client id").decode()
    if request_header_version(key, version) == 2:
        for _ in range(r.uvarint("header tag count")):
            r.uvarint("header tag")
            r.take(r.uvarint("header tag size"), "header tag")
    return key, version, corr, client_id, decode_body(key, version, "request", frame[r.pos:])


def encode_response(api_key, version, correlation_id, values):
    """A whole response frame; used by the codec's own tests."""
    hdr = struct.pack(">i", correlation_id)
    if response_header_version(api_key, version) == 1:
        hdr += uvarint(0)
    frame = hdr + encode_body(api_key, version, "response", values)
    return struct.pack(">i", len(frame)) + frame

"""The differential tests' codec (kafka_codec.py) against itself (every API,
version and message round-trips, defaults and filled-in values) and against
byte strings written by hand from the protocol page. Needs no broker."""
import struct

import pytest

import kafka_codec as codec

CASES = [(a.key, v, kind) for a in codec.APIS.values() for v in range(a.lo, a.hi + 1)
         for kind in ("request", "response")]


def sample(fields, version, flex, depth=0):
    """Non-default values for every field of a version (tagged ones too)."""
    out = {}
    for i, f in enumerate(fields):
        if not codec._in(f.versions, version):
            continue
        e = f.elem
        if f.is_struct:
            one = sample(f.children, version, flex, depth + 1)
        elif e == "bool":
            one = not codec.default_value(f)
        elif e == "uuid":
            one = bytes(range(i, i + 16))
        elif e == "string":
            one = f"s{i}-{depth}"
        elif e in ("bytes", "records"):
            one = bytes([i, depth, 0xFF])
        elif e == "float64":
            one = 1.5
        else:
            one = 7 + i
        out[f.name] = [one, one] if f.is_array else one
    return out


@pytest.mark.parametrize("key,version,kind", CASES)
def test_round_trip_defaults(key, version, kind):
    msg = codec.api(key).messages[kind]
    data = codec.encode_body(key, version, kind, {})
    decoded = codec.decode_body(key, version, kind, data)
    expected = {f.name: codec.default_value(f) for f in msg.fields if codec._in(f.versions, version)}
    assert decoded == expected


@pytest.mark.parametrize("key,version,kind", CASES)
def test_round_trip_values(key, version, kind):
    a = codec.api(key)
    values = sample(a.messages[kind].fields, version, version >= a.flex)
    data = codec.encode_body(key, version, kind, values)
    assert codec.decode_body(key, version, kind, data) == values
    with pytest.raises(codec.CodecError):
        codec.decode_body(key, version, kind, data + b"\x00")
    if data:
        with pytest.raises(codec.CodecError):
            codec.decode_body(key, version, kind, data[:-1])


def test_request_frames_round_trip():
    frame = codec.encode_request(3, 12, 77, {"topics": [{"name": "t", "topic_id": bytes(16)}]},
                                 client_id="me")
    key, version, corr, client_id, body = codec.decode_request(frame[4:])
    assert (key, version, corr, client_id) == (3, 12, 77, "me")
    assert body["topics"] == [{"name": "t", "topic_id": bytes(16)}]


# ---- hand-written bytes (protocol page: header and primitive types) ----

def test_api_versions_v0_request_bytes():
    # size, api_key 18, version 0, correlation 1, client_id "ab" (int16 length); empty body
    assert codec.encode_request(18, 0, 1, {}, client_id="ab") == \
        bytes.fromhex("0000000c" "0012" "0000" "00000001" "0002" "6162")


def test_api_versions_v3_request_bytes():
    # header v2: + empty tag buffer; body: compact strings "a", "1", empty tag buffer
    assert codec.encode_request(18, 3, 2, {"client_software_name": "a",
                                           "client_software_version": "1"}, client_id="ab") == \
        bytes.fromhex("00000012" "0012" "0003" "00000002" "0002" "6162" "00" "0261" "0231" "00")


def test_metadata_v1_null_topics_bytes():
    # non-flexible nullable array: int32 -1
    assert codec.encode_body(3, 1, "request", {"topics": None}) == bytes.fromhex("ffffffff")


def test_metadata_v9_request_bytes():
    # compact array of one (02), compact string "t" (02 74), struct tags (00),
    # allow_auto_topic_creation, include_cluster/topic_authorized_operations, tags
    body = {"topics": [{"name": "t"}], "allow_auto_topic_creation": True,
            "include_cluster_authorized_operations": False, "include_topic_authorized_operations": True}
    assert codec.encode_body(3, 9, "request", body) == bytes.fromhex("02" "0274" "00" "01" "00" "01" "00")


def test_heartbeat_v4_response_bytes():
    # response header v1 (correlation + tags), throttle 0, error 25, tags
    frame = bytes.fromhex("00000005" "00" "00000000" "0019" "00")
    assert codec.decode_response(12, 4, frame) == (5, {"throttle_time_ms": 0, "error_code": 25})


def test_api_versions_v3_response_tagged_bytes():
    # header v0 (no tag buffer, even though v3 is flexible); error 0; api_keys
    # compact array of one {18, 0, 4, tags}; throttle 0; one tag: 1 (finalized
    # features epoch), size 8, int64 5
    frame = bytes.fromhex("00000009" "0000" "02" "0012" "0000" "0004" "00" "00000000"
                          "01" "01" "08" "0000000000000005")
    corr, r = codec.decode_response(18, 3, frame)
    assert corr == 9
    assert r["api_keys"] == [{"api_key": 18, "min_version": 0, "max_version": 4}]
    assert r["finalized_features_epoch"] == 5
    assert r["supported_features"] == [] and r["finalized_features"] == []
    assert codec.encode_response(18, 3, 9, r)[4:] == frame


def test_unknown_tag_kept():
    # Heartbeat v4 response with tag 7 (3 bytes) the schema does not know
    frame = bytes.fromhex("00000001" "00" "00000000" "0000" "01" "07" "03" "aabbcc")
    _, r = codec.decode_response(12, 4, frame)
    assert r[codec.UNKNOWN_TAGS] == {7: bytes.fromhex("aabbcc")}


def test_produce_v9_records_compact_bytes():
    body = {"transactional_id": None, "acks": -1, "timeout_ms": 1000, "topic_data": [
        {"name": "t", "partition_data": [{"index": 0, "records": b"\x01\x02\x03"}]}]}
    # null compact string (00), acks, timeout, topics [name "t", partitions
    # [index 0, compact records of 3 bytes (04 ...), tags], tags], tags
    assert codec.encode_body(0, 9, "request", body) == bytes.fromhex(
        "00" "ffff" "000003e8" "02" "0274" "02" "00000000" "04010203" "00" "00" "00")


def test_non_nullable_null_refused():
    with pytest.raises(codec.CodecError):
        codec.encode_body(12, 0, "request", {"group_id": None})
    # a v0 string of length -1 where the field is not nullable
    with pytest.raises(codec.CodecError):
        codec.decode_body(12, 0, "request", struct.pack(">h", -1))


def test_consumer_group_heartbeat_v1_response_assignment_bytes():
    # throttle 0, error 0, error_message null, member_id "m", epoch 1,
    # interval 5000, then the nullable Assignment struct: int8 -1 for null,
    # or int8 1 and [topic_partitions [topic id, partitions [0]], tags]; tags
    head = "00000000" "0000" "00" "026d" "00000001" "00001388"
    values = {"member_id": "m", "member_epoch": 1, "heartbeat_interval_ms": 5000}
    null = bytes.fromhex(head + "ff" "00")
    assert codec.encode_body(68, 1, "response", values) == null
    assert codec.decode_body(68, 1, "response", null)["assignment"] is None
    tp = {"topic_id": bytes(range(16)), "partitions": [0]}
    present = bytes.fromhex(head + "01" "02" + bytes(range(16)).hex() + "02" "00000000" "00"
                            "00" "00")
    body = dict(values, assignment={"topic_partitions": [tp]})
    assert codec.encode_body(68, 1, "response", body) == present
    assert codec.decode_body(68, 1, "response", present)["assignment"] == {"topic_partitions": [tp]}

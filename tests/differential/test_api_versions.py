"""Differential scenarios for ApiVersions: every version both serve, a version
newer than any, the lowest Produce version listed, and other APIs asked at a
version neither serves."""
import struct

import pytest

import kafka_codec as codec
from differ import Known, check
from peers import schema_versions

# Kafka advertises its KRaft feature levels (metadata.version, group.version,
# transaction.version, ...); sluice serves none of those features.
FEATURES = Known("KD-01", "*:supported_features", "*:finalized_features",
                 "*:finalized_features_epoch")
SOFTWARE = {"client_software_name": "sluice-differential", "client_software_version": "1.0"}


@pytest.mark.parametrize("v", schema_versions("ApiVersions"))
def test_api_versions(peers, v):
    peers.require("ApiVersions", v)
    check(peers.run(lambda c: c.call("ApiVersions", v, SOFTWARE)),
          FEATURES if v >= 3 else None)


def test_api_versions_too_new(peers):
    """A version past every broker's: UNSUPPORTED_VERSION in a v0 response."""
    a = codec.api("ApiVersions")
    too_new = max(max(r.get(a.key, (0, 0))[1] for r in peers.ranges.values()), a.hi) + 1

    def scenario(c):
        frame = codec.encode_request(18, too_new, 7, SOFTWARE)
        c.call_raw("ApiVersions", 0, frame, f"ApiVersions v{too_new}")
    check(peers.run(scenario))


def test_api_versions_bad_software_name(peers):
    """v3+ validates client_software_name/version: INVALID_REQUEST."""
    v = max(peers.versions("ApiVersions"))

    def scenario(c):
        c.call("ApiVersions", v, {"client_software_name": "bad name!",
                                  "client_software_version": "1.0"})
    check(peers.run(scenario))


@pytest.mark.parametrize("api", ["Metadata", "Produce", "Fetch", "JoinGroup", "CreateTopics"])
def test_unsupported_version(peers, api):
    """An API asked at a version past what both serve."""
    a = codec.api(api)
    too_new = max(max(r.get(a.key, (0, 0))[1] for r in peers.ranges.values()), a.hi) + 1

    def scenario(c):
        hdr = struct.pack(">hhi", a.key, too_new, 9) + struct.pack(">h", 4) + b"diff"
        frame = hdr + b"\x00" * 16
        c.call_raw(api, 0, struct.pack(">i", len(frame)) + frame, f"{api} v{too_new}")
    check(peers.run(scenario))


@pytest.mark.parametrize("v", schema_versions("ApiVersions"))
def test_api_versions_produce_from_v0(peers, v):
    """Produce is listed from v0, though v0-v2 are refused (KAFKA-18659):
    librdkafka's feature probes need them listed to compress. The differ
    leaves api_keys out (each broker lists what it serves), so the scenario
    records Produce's lowest listed version itself."""
    peers.require("ApiVersions", v)

    def scenario(c):
        r = c.call("ApiVersions", v, SOFTWARE, record=False)
        produce = [k for k in r["api_keys"] if k["api_key"] == codec.api("Produce").key]
        c.note(f"ApiVersions v{v}: Produce", {"min_version": [k["min_version"] for k in produce]})
    check(peers.run(scenario))

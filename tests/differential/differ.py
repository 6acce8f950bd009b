"""Compares what Kafka and sluice answered to the same scenario, field by
field. Every rule that lets a field differ lives in RULES or ERROR_MESSAGES
below, each with the reason it must differ; everything else must be equal.
Known divergences (known_differences.md) are asserted by Known: a test that
expects one fails when it is no longer seen, so the list stays true."""
import re

import pytest

# Unary rules: applied to each side's decoded response before comparing.
IGNORE = "ignore"        # the field is dropped from both sides
PRESENCE = "presence"    # only null / zero / set is compared
NODE = "node"            # a broker id: only "a broker" (>= 0) versus -1 is compared
MEMBER = "member"        # a member id: the random UUID part is dropped
SORT = "sort"            # an array Kafka does not order: sorted by the given key

# (API name glob, path glob, rule[, sort key], why). Paths name fields by their
# schema names; "[]" steps into an array's elements.
RULES = [
    ("*", "throttle_time_ms", IGNORE,
     "quota throttling depends on each broker's load, not on the request"),
    ("ApiVersions", "api_keys", IGNORE,
     "each broker lists what it serves; the other scenarios run on the intersection"),
    ("*", "*node_id", NODE, "node ids are each broker's own configuration"),
    ("*", "*leader_id", NODE, "a leader is a node id"),
    ("*", "*controller_id", NODE, "the controller is a node id"),
    ("*", "*replica_nodes", NODE, "replicas are node ids"),
    ("*", "*isr_nodes", NODE, "in-sync replicas are node ids"),
    ("*", "*host", IGNORE, "each broker's own listener address"),
    ("*", "*port", IGNORE, "each broker's own listener port"),
    ("*", "cluster_id", PRESENCE, "each cluster has its own id"),
    ("*", "*topic_id", PRESENCE, "topic ids are random per broker"),
    ("*", "*log_append_time_ms", PRESENCE, "broker-assigned time"),
    ("InitProducerId", "producer_id", NODE,
     "each cluster hands out its own producer ids: only an id (>= 0) versus -1 is compared"),
    ("DescribeProducers", "*producer_id", NODE, "each cluster hands out its own producer ids"),
    ("*", "*member_id", MEMBER, "member ids end in a random UUID"),
    ("JoinGroup", "leader", MEMBER, "the leader is a member id"),
    ("Metadata", "topics", SORT, "name", "Kafka lists topics in no defined order"),
    ("Metadata", "brokers", SORT, "node_id", "Kafka lists brokers in no defined order"),
    ("*", "*partitions", SORT, "partition_index", "partitions come in no defined order"),
    ("*", "*responses", SORT, "name", "topics come in no defined order"),
    ("*", "*topics", SORT, "name", "topics come in no defined order"),
    ("ListGroups", "groups", SORT, "group_id", "Kafka lists groups in no defined order"),
    ("DescribeGroups", "groups[].members", SORT, "client_id",
     "members are listed in no defined order"),
    ("CreateTopics", "topics[].configs", SORT, "name", "configs come in no defined order"),
    ("DescribeConfigs", "results[].configs", SORT, "name", "configs come in no defined order"),
    ("DescribeConfigs", "results[].configs[].documentation", PRESENCE,
     "each broker documents its keys in its own words"),
    ("DescribeGroups", "groups", SORT, "group_id",
     "Kafka answers groups by coordinator partition, not in request order"),
    ("DeleteGroups", "results", SORT, "group_id",
     "Kafka answers groups by coordinator partition, not in request order"),
    ("JoinGroup", "members", SORT, "member_id", "members are listed in no defined order"),
]

# Error messages are compared as text, except where Kafka's text is one of the
# variants listed here for that error code: then only "a message" versus null
# is compared. Keys: (API name, error code); values: regexes of Kafka's text.
ERROR_MESSAGES = {
    # sluice names the rule that was broken in its own words
    ("CreateTopics", 17): [r"Topic name is invalid: .*"],
    ("CreateTopics", 37): [r"Number of partitions was set to an invalid non-positive value\."],
    # Kafka's generic text for the code; sluice names what was wrong
    ("FindCoordinator", 42): [r"This most likely occurs because of a request being malformed "
                              r"by the client library or the message was sent to an "
                              r"incompatible broker\. See the broker logs for more details\."],
    # Kafka appends the validator's words ("Not a number of type LONG", ...)
    ("CreateTopics", 40): [r"Invalid value .* for configuration .*: .*",
                           r"Null value not supported for topic configs: .*"],
    # Kafka's bounds for some keys are not sluice's (segment.bytes >= 1 MiB there)
    ("AlterConfigs", 40): [r"Invalid value .* for configuration .*: Value must be .*"],
    ("IncrementalAlterConfigs", 40): [r"Invalid value .* for configuration .*: Value must be .*"],
}

_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DROP = object()


def glob_match(pattern, text):
    """'*' matches any run of characters; everything else, brackets too, is
    literal (paths are full of '[]')."""
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), text) is not None


def _rules(api, path):
    for rule in RULES:
        if glob_match(rule[0], api) and glob_match(rule[1], path):
            yield rule


def _node(v):
    if isinstance(v, list):
        return [_node(x) for x in v]
    return "<node>" if isinstance(v, int) and v >= 0 else v


def _presence(v):
    if v is None:
        return None
    if v in (0, -1, b"", "", bytes(16)):
        return v
    return "<set>"


def _member(v):
    return _UUID_RE.sub("<uuid>", v) if isinstance(v, str) else v


def _sort_key(key):
    def k(item):
        v = item.get(key) if isinstance(item, dict) else item
        return (str(type(v)), v if v is not None else "")
    return k


def normalize(api, value, path=""):
    """One side's response with the unary rules applied."""
    for rule in _rules(api, path):
        kind = rule[2]
        if kind == IGNORE:
            return _DROP
        if kind == NODE:
            value = _node(value)
        elif kind == PRESENCE:
            value = _presence(value)
        elif kind == MEMBER:
            value = _member(value)
        elif kind == SORT and isinstance(value, list):
            value = sorted(value, key=_sort_key(rule[3]))
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            n = normalize(api, v, f"{path}.{k}" if path else k)
            if n is not _DROP:
                out[k] = n
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [normalize(api, v, f"{path}[]") for v in value]
    return value


def _message_variant(api, code, kafka_text):
    for pattern in ERROR_MESSAGES.get((api, code), ()):
        if kafka_text is not None and re.fullmatch(pattern, kafka_text):
            return True
    return False


def _diff(api, k, s, path, out, code=None):
    if isinstance(k, dict) and isinstance(s, dict):
        code = k.get("error_code", code)
        for key in sorted(set(k) | set(s)):
            p = f"{path}.{key}" if path else key
            if key not in k or key not in s:
                out.append((p, k.get(key, "<absent>"), s.get(key, "<absent>")))
            elif key == "error_message" and _message_variant(api, code, k[key]):
                if (k[key] is None) != (s[key] is None):
                    out.append((p, k[key], s[key]))
            else:
                _diff(api, k[key], s[key], p, out, code)
        return
    if isinstance(k, list) and isinstance(s, list) and k and s and \
            all(isinstance(x, dict) for x in k + s):
        if len(k) == len(s):
            for i, (a, b) in enumerate(zip(k, s)):
                _diff(api, a, b, f"{path}[{i}]", out, code)
            return
        if all("name" in x for x in k + s):
            # named entries (configs, topics): pair them by name
            kn, sn = {x["name"]: x for x in k}, {x["name"]: x for x in s}
            for name in sorted(set(kn) | set(sn), key=str):
                _diff(api, kn.get(name, "<absent>"), sn.get(name, "<absent>"),
                      f"{path}[{name}]", out, code)
            return
    if k != s:
        out.append((path, k, s))


def compare(transcripts):
    """-> [(step label, api, path, kafka value, sluice value)] for each field
    that differs after the rules."""
    kt, st = transcripts["kafka"], transcripts["sluice"]
    out = []
    for i in range(max(len(kt), len(st))):
        if i >= len(kt) or i >= len(st) or kt[i][0] != st[i][0]:
            out.append((f"step {i}", "-", "", kt[i][0] if i < len(kt) else "<none>",
                        st[i][0] if i < len(st) else "<none>"))
            break
        label, api, kv = kt[i]
        sv = st[i][2]
        diffs = []
        _diff(api, normalize(api, kv), normalize(api, sv), "", diffs)
        out += [(label, api, p, a, b) for p, a, b in diffs]
    return out


def _short(v):
    r = repr(v)
    return r if len(r) <= 200 else r[:200] + "..."


def describe(diffs):
    return "\n".join(f"  {label} [{api}] {path or '<value>'}: kafka={_short(a)} sluice={_short(b)}"
                     for label, api, path, a, b in diffs)


class Known:
    """A divergence listed in known_differences.md under `ident`, expected at
    the fields whose 'label:path' matches one of `paths` (globs)."""

    def __init__(self, ident, *paths):
        self.ident, self.paths = ident, paths

    def covers(self, diff):
        label, _api, path = diff[0], diff[1], diff[2]
        return any(glob_match(p, f"{label}:{path}") for p in self.paths)


def check(transcripts, known=None):
    """Passes when the transcripts agree; with `known`, passes (as xfail) only
    when they differ exactly where the known divergence says, and fails when
    that divergence is gone."""
    diffs = compare(transcripts)
    if known is None:
        if diffs:
            pytest.fail("Kafka and sluice differ:\n" + describe(diffs), pytrace=False)
        return
    other = [d for d in diffs if not known.covers(d)]
    if other:
        pytest.fail(f"besides {known.ident}, Kafka and sluice differ:\n" + describe(other),
                    pytrace=False)
    if not diffs:
        pytest.fail(f"{known.ident} is no longer seen: Kafka and sluice agree; remove it "
                    "from known_differences.md and from this test", pytrace=False)
    pytest.xfail(f"{known.ident}:\n" + describe(diffs))
